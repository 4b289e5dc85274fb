//! Where each object's time went: the upload-to-result latency of a path broken into hops.
//!
//! Every stamp is measured. The upload's completion comes from the run, the partner's first
//! application from the partner. The stamps in between come from the worker's `item done`
//! log line, which names the item's timeline (`sluice::Timeline`): the S3 event's
//! `eventTime`, SNS's `Timestamp`, SQS's `SentTimestamp` and `ApproximateFirstReceiveTimestamp`;
//! the worker started the item at the line's `timestamp` minus its `duration_ms`.
//!
//! The hops, in order:
//! - queue: upload → S3 event → SNS publish → in the queue (SNS's delivery) → polled (the
//!   queue wait, with the batching window) → handler start (the invocation, a cold start
//!   included) → partner answered;
//! - direct: upload → S3 event → SNS publish → handler start (Lambda's async queue and the
//!   invocation) → partner answered.
//!
//! Stamps come from different clocks: the uploader's, S3's, SNS's, SQS's, the worker's. On one
//! machine they are one clock, but the services write whole milliseconds, or an event time
//! taken before the upload's answer, so a hop can come out a millisecond or two below zero. Such
//! a hop counts as 0.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use crate::latency::Latency;

/// One processed item's stamps, epoch milliseconds, from its `item done` line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemTimeline {
    /// The webhook `Idempotency-Key` of the object (the key its upload and its partner call
    /// are recorded under).
    pub key: String,
    /// The S3 event's `eventTime`.
    pub event_ms: Option<u64>,
    /// SNS's `Timestamp`.
    pub published_ms: Option<u64>,
    /// SQS's `SentTimestamp`.
    pub sent_ms: Option<u64>,
    /// SQS's `ApproximateFirstReceiveTimestamp`.
    pub received_ms: Option<u64>,
    /// The worker started the item: the line's `timestamp` minus its `duration_ms` (within a
    /// millisecond, the duration being whole milliseconds).
    pub started_ms: Option<u64>,
}

/// The timelines in a worker's JSON log: one per object, its first `item done` with the outcome
/// `processed` (a duplicate's line names the run that did the work, not a hop).
///
/// ```
/// let log = r#"{"timestamp":"2026-12-05T12:00:00.250Z","fields":{"message":"item done","outcome":"processed","idempotency_key":"b/k@v:1","duration_ms":50}}"#;
/// let timelines = sluice_compare::hops::read_log(log);
/// assert_eq!(timelines[0].started_ms, sluice_clock::rfc3339_millis("2026-12-05T12:00:00.200Z"));
/// assert_eq!(timelines[0].key, sluice_object_summary::idempotency_key("b/k@v:1"));
/// ```
pub fn read_log(text: &str) -> Vec<ItemTimeline> {
    let mut seen = std::collections::HashSet::new();
    text.lines()
        .filter(|line| line.contains("\"item done\""))
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["fields"]["outcome"] == "processed")
        .filter_map(|line| {
            let fields = &line["fields"];
            let identity = fields["idempotency_key"].as_str()?;
            let key = sluice_object_summary::idempotency_key(identity);
            seen.insert(key.clone()).then(|| ItemTimeline {
                key,
                event_ms: fields["event_ms"].as_u64(),
                published_ms: fields["published_ms"].as_u64(),
                sent_ms: fields["sent_ms"].as_u64(),
                received_ms: fields["received_ms"].as_u64(),
                started_ms: line["timestamp"]
                    .as_str()
                    .and_then(sluice_clock::rfc3339_millis)
                    .map(|done| done.saturating_sub(fields["duration_ms"].as_u64().unwrap_or(0))),
            })
        })
        .collect()
}

/// One hop of a path: its median and 99th percentile over the objects that have both ends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hop {
    /// From where to where.
    pub hop: &'static str,
    /// Objects measured.
    pub samples: usize,
    /// Median, milliseconds.
    pub p50_ms: u64,
    /// 99th percentile, milliseconds.
    pub p99_ms: u64,
}

/// A stamp of one object on its way.
type Stamp = fn(&Ends<'_>) -> Option<u64>;

/// What one object's stamps are read from.
struct Ends<'a> {
    uploaded: Option<u64>,
    timeline: &'a ItemTimeline,
    answered: Option<u64>,
}

/// The stamps of a path, in order, each named for the hop that ends there.
fn stamps(path: &str) -> Vec<(&'static str, Stamp)> {
    let mut stamps: Vec<(&'static str, Stamp)> = vec![
        ("upload", |e| e.uploaded),
        ("upload → S3 event", |e| e.timeline.event_ms),
        ("S3 event → SNS publish", |e| e.timeline.published_ms),
    ];
    if path == "queue" {
        stamps.push(("SNS → in the queue", |e| e.timeline.sent_ms));
        stamps.push(("queue wait → polled", |e| e.timeline.received_ms));
        stamps.push(("polled → handler start", |e| e.timeline.started_ms));
    } else {
        stamps.push(("SNS → handler start", |e| e.timeline.started_ms));
    }
    stamps.push(("handler → partner answered", |e| e.answered));
    stamps
}

/// The hops of `path` (`queue` or `direct`) over `timelines`, with each object's upload and
/// partner answer by key.
///
/// ```
/// use std::collections::HashMap;
/// use sluice_compare::hops::{ItemTimeline, measure};
///
/// let t = ItemTimeline { key: "k".into(), event_ms: Some(110), published_ms: Some(150), started_ms: Some(400), ..Default::default() };
/// let hops = measure("direct", &[t], &HashMap::from([("k".into(), 100)]), &HashMap::from([("k".into(), 900)]));
/// let p50: Vec<(&str, u64)> = hops.iter().map(|h| (h.hop, h.p50_ms)).collect();
/// assert_eq!(p50, [("upload → S3 event", 10), ("S3 event → SNS publish", 40), ("SNS → handler start", 250), ("handler → partner answered", 500)]);
/// ```
pub fn measure(
    path: &str,
    timelines: &[ItemTimeline],
    uploaded_at: &HashMap<String, u64>,
    answered_at: &HashMap<String, u64>,
) -> Vec<Hop> {
    let stamps = stamps(path);
    let ends: Vec<Ends<'_>> = timelines
        .iter()
        .map(|t| Ends {
            uploaded: uploaded_at.get(&t.key).copied(),
            timeline: t,
            answered: answered_at.get(&t.key).copied(),
        })
        .collect();
    stamps
        .windows(2)
        .map(|pair| {
            let ((_, from), (hop, to)) = (pair[0], pair[1]);
            let durations: Vec<u64> = ends.iter().filter_map(|e| Some(to(e)?.saturating_sub(from(e)?))).collect();
            let latency = Latency::of(durations);
            Hop { hop, samples: latency.samples, p50_ms: latency.p50_ms, p99_ms: latency.p99_ms }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_path_has_its_queue_hops_and_a_missing_stamp_leaves_only_its_hops_out() {
        let full = ItemTimeline {
            key: "a".into(),
            event_ms: Some(105),
            published_ms: Some(120),
            sent_ms: Some(130),
            received_ms: Some(1_130),
            started_ms: Some(1_200),
        };
        let no_sqs = ItemTimeline { key: "b".into(), sent_ms: None, received_ms: None, ..full.clone() };
        let uploaded = HashMap::from([("a".to_owned(), 100), ("b".to_owned(), 100)]);
        let answered = HashMap::from([("a".to_owned(), 1_500), ("b".to_owned(), 1_300)]);
        let hops = measure("queue", &[full, no_sqs], &uploaded, &answered);
        let got: Vec<(&str, usize, u64, u64)> = hops.iter().map(|h| (h.hop, h.samples, h.p50_ms, h.p99_ms)).collect();
        assert_eq!(
            got,
            [
                ("upload → S3 event", 2, 5, 5),
                ("S3 event → SNS publish", 2, 15, 15),
                ("SNS → in the queue", 1, 10, 10),
                ("queue wait → polled", 1, 1_000, 1_000),
                ("polled → handler start", 1, 70, 70),
                ("handler → partner answered", 2, 100, 300),
            ]
        );
    }

    #[test]
    fn a_stamp_a_little_before_the_last_counts_as_no_time_and_only_processed_lines_count() {
        let t = ItemTimeline { key: "k".into(), event_ms: Some(99), ..Default::default() };
        let hops = measure("direct", &[t], &HashMap::from([("k".into(), 100)]), &HashMap::new());
        assert_eq!((hops[0].samples, hops[0].p50_ms), (1, 0));
        let log = concat!(
            r#"{"timestamp":"1970-01-01T00:00:00.001Z","fields":{"message":"item done","outcome":"duplicate","idempotency_key":"x"}}"#,
            "\nSTART RequestId: r\nnot json \"item done\"\n",
            r#"{"timestamp":"1970-01-01T00:00:00.002Z","fields":{"message":"item done","outcome":"processed","idempotency_key":"x"}}"#,
            "\n",
            r#"{"timestamp":"1970-01-01T00:00:00.003Z","fields":{"message":"item done","outcome":"processed","idempotency_key":"x"}}"#,
        );
        let timelines = read_log(log);
        assert_eq!(timelines.len(), 1);
        assert_eq!(timelines[0].started_ms, Some(2), "the first processing");
    }
}
