//! The figures of one path, computed from what the run observed: the local Lambda service's
//! invocation records, the partner's applied effects, the accounting of every object, the
//! queue depth samples and the request meters. Nothing here is estimated: every figure is a
//! count or a statistic of recorded events.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sluice_harness::accounting::PathAccount;
use sluice_local::{InvocationRecord, Outcome};

use crate::hops::{Hop, ItemTimeline};
pub use crate::latency::Latency;
use crate::prices::{Cost, Prices, Usage};

/// Concurrent executions of a path's function.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Concurrency {
    /// The most at once.
    pub peak: u32,
    /// The time-weighted mean while any ran (first start to last end).
    pub mean: f64,
    /// Executions in flight after each change: (seconds since the first upload, count).
    pub curve: Vec<(f64, u32)>,
}

impl Concurrency {
    /// The concurrency of `invocations` (start and duration), with times relative to `t0_ms`.
    pub fn of(invocations: &[&InvocationRecord], t0_ms: u64) -> Concurrency {
        let points = step_curve(invocations.iter().map(|r| (r.start_ms, r.start_ms + r.duration_ms)));
        let peak = points.iter().map(|p| p.1).max().unwrap_or(0) as u32;
        let area: f64 = points.windows(2).map(|w| w[0].1 as f64 * (w[1].0 - w[0].0) as f64).sum();
        let span = match (points.first(), points.last()) {
            (Some(first), Some(last)) => last.0 - first.0,
            _ => 0,
        };
        let mut curve: Vec<(f64, u32)> = Vec::with_capacity(points.len());
        for (at, level) in points {
            let seconds = at.saturating_sub(t0_ms) as f64 / 1000.0;
            match curve.last_mut() {
                Some((s, n)) if *s == seconds => *n = level as u32,
                _ => curve.push((seconds, level as u32)),
            }
        }
        Concurrency { peak, mean: if span == 0 { 0.0 } else { area / span as f64 }, curve }
    }
}

/// How many of `intervals` (start, end, in ms) are open after each change: one (time, count)
/// per distinct time, in order. At one instant ends count before starts: a slot freed and taken
/// again is not two at once.
///
/// ```
/// let curve = sluice_compare::figures::step_curve([(0, 10), (5, 10), (10, 20)]);
/// assert_eq!(curve, [(0, 1), (5, 2), (10, 1), (20, 0)]);
/// ```
pub fn step_curve(intervals: impl IntoIterator<Item = (u64, u64)>) -> Vec<(u64, u64)> {
    let mut changes: Vec<(u64, i64)> = Vec::new();
    for (start, end) in intervals {
        changes.push((start, 1));
        changes.push((end, -1));
    }
    changes.sort_unstable();
    let mut level = 0i64;
    let mut curve: Vec<(u64, u64)> = Vec::with_capacity(changes.len());
    for (at, delta) in changes {
        level += delta;
        match curve.last_mut() {
            Some((t, n)) if *t == at => *n = level.max(0) as u64,
            _ => curve.push((at, level.max(0) as u64)),
        }
    }
    curve
}

/// Where the uploaded objects ended on a path.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Outcomes {
    /// Objects uploaded.
    pub uploaded: usize,
    /// Processed: receipt written, effect applied.
    pub processed: usize,
    /// Deliveries the idempotency store recognised as repeats and skipped.
    pub duplicates_suppressed: u64,
    /// Not processed, kept in the path's dead-letter queue or on-failure destination.
    pub dead_lettered: usize,
    /// Neither processed nor kept anywhere.
    pub lost: usize,
}

impl From<&PathAccount> for Outcomes {
    fn from(a: &PathAccount) -> Self {
        Outcomes {
            uploaded: a.uploaded,
            processed: a.processed,
            duplicates_suppressed: a.duplicates_suppressed,
            dead_lettered: a.kept_in_dlq,
            lost: a.lost.len(),
        }
    }
}

/// Everything a run observed of one path.
#[derive(Debug, Clone, Default)]
pub struct Observed<'a> {
    /// Epoch milliseconds of the first upload: time zero of the curves.
    pub t0_ms: u64,
    /// Each object's upload completion, epoch ms, by its webhook `Idempotency-Key`.
    pub uploaded_at: HashMap<String, u64>,
    /// When the path's partner first applied each key, epoch ms.
    pub applied_at: HashMap<String, u64>,
    /// The path function's invocation records.
    pub invocations: Vec<&'a InvocationRecord>,
    /// Its throttles.
    pub throttles: u64,
    /// The accounting of the path.
    pub account: PathAccount,
    /// Messages waiting over time (epoch ms, count).
    pub queue_depth: Vec<(u64, u64)>,
    /// SQS requests made for the path, by action.
    pub sqs_requests: BTreeMap<String, u64>,
    /// DynamoDB requests the path's worker made, by operation.
    pub dynamodb_requests: BTreeMap<String, u64>,
    /// SNS publishes the path's events took.
    pub sns_publishes: u64,
    /// Batches the path's event source mapping received (0 on the direct path).
    pub batches: u64,
    /// The timeline of each processed object, from the path worker's log.
    pub timelines: Vec<ItemTimeline>,
}

/// The figures of one path.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PathFigures {
    /// `queue` or `direct`.
    pub path: &'static str,
    /// What it is.
    pub label: &'static str,
    /// Upload-to-result latency.
    pub latency: Latency,
    /// The same latency, hop by hop (p50 and p99 of each).
    pub hops: Vec<Hop>,
    /// Concurrent executions.
    pub concurrency: Concurrency,
    /// Invocations refused for want of concurrency.
    pub throttles: u64,
    /// Invocations that ran (throttles excluded).
    pub invocations: u64,
    /// Invocations per uploaded object.
    pub invocations_per_object: f64,
    /// Records (events) per invocation.
    pub records_per_invocation: f64,
    /// Batches the event source mapping received (0 on the direct path).
    pub batches: u64,
    /// Deliveries beyond the first per object: retries and redeliveries.
    pub retries: u64,
    /// Where the objects ended.
    pub outcomes: Outcomes,
    /// Events waiting over time: (seconds since the first upload, count).
    pub queue_depth: Vec<(f64, u64)>,
    /// The most events waiting at once.
    pub peak_queue_depth: u64,
    /// What the path used.
    pub usage: Usage,
    /// SQS requests by action, DynamoDB requests by operation: where `usage` comes from.
    pub requests: BTreeMap<String, u64>,
    /// What a million objects would cost at the recorded prices, by service.
    pub cost_per_million_objects: Cost,
}

/// DynamoDB operations that consume write units; the rest read.
const DYNAMODB_WRITES: [&str; 5] = ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"];

impl PathFigures {
    /// The figures of `observed`, priced at `prices`.
    pub fn measure(path: &'static str, label: &'static str, observed: &Observed<'_>, prices: &Prices) -> PathFigures {
        let ran: Vec<&InvocationRecord> =
            observed.invocations.iter().copied().filter(|r| r.outcome != Outcome::Throttled).collect();
        let latencies = observed
            .uploaded_at
            .iter()
            .filter_map(|(key, up)| observed.applied_at.get(key).map(|done| done.saturating_sub(*up)))
            .collect();
        let records: u64 = ran.iter().map(|r| r.batch_size as u64).sum();
        let uploaded = observed.account.uploaded.max(1) as f64;
        let invocations = ran.len() as u64;
        let gb_seconds = ran.iter().map(|r| r.billed_duration_ms as f64 / 1000.0 * r.memory_mb as f64 / 1024.0).sum();
        let count = |map: &BTreeMap<String, u64>, pick: &dyn Fn(&str) -> bool| -> u64 {
            map.iter().filter(|(k, _)| pick(k)).map(|(_, n)| n).sum()
        };
        let usage = Usage {
            invocations,
            gb_seconds,
            sqs_requests: observed.sqs_requests.values().sum(),
            sns_publishes: observed.sns_publishes,
            dynamodb_writes: count(&observed.dynamodb_requests, &|op| DYNAMODB_WRITES.contains(&op)),
            dynamodb_reads: count(&observed.dynamodb_requests, &|op| !DYNAMODB_WRITES.contains(&op)),
        };
        let mut requests = BTreeMap::new();
        for (action, n) in &observed.sqs_requests {
            requests.insert(format!("SQS {action}"), *n);
        }
        for (operation, n) in &observed.dynamodb_requests {
            requests.insert(format!("DynamoDB {operation}"), *n);
        }
        requests.insert("SNS Publish".into(), observed.sns_publishes);
        let queue_depth: Vec<(f64, u64)> = observed
            .queue_depth
            .iter()
            .map(|(at, n)| (at.saturating_sub(observed.t0_ms) as f64 / 1000.0, *n))
            .collect();
        PathFigures {
            path,
            label,
            latency: Latency::of(latencies),
            hops: crate::hops::measure(path, &observed.timelines, &observed.uploaded_at, &observed.applied_at),
            concurrency: Concurrency::of(&ran, observed.t0_ms),
            throttles: observed.throttles,
            invocations,
            invocations_per_object: invocations as f64 / uploaded,
            records_per_invocation: if invocations == 0 { 0.0 } else { records as f64 / invocations as f64 },
            batches: observed.batches,
            retries: records.saturating_sub(observed.account.uploaded as u64),
            outcomes: Outcomes::from(&observed.account),
            peak_queue_depth: queue_depth.iter().map(|(_, n)| *n).max().unwrap_or(0),
            queue_depth,
            cost_per_million_objects: prices.cost(&usage).scaled(1e6 / uploaded),
            usage,
            requests,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invocation(start_ms: u64, duration_ms: u64) -> InvocationRecord {
        serde_json::from_value(serde_json::json!({
            "function": "f", "request_id": "r", "trigger": "async", "attempt": 1, "throttles": 0,
            "queue_wait_ms": 0, "cold": false, "instance": 1, "start_ms": start_ms,
            "duration_ms": duration_ms, "billed_duration_ms": duration_ms, "init_duration_ms": null,
            "memory_mb": 1024, "batch_size": 1, "payload_bytes": 10, "outcome": "success", "error_type": null
        }))
        .unwrap()
    }

    #[test]
    fn concurrency_counts_overlaps_and_weighs_the_mean_by_time() {
        let (a, b, c) = (invocation(1000, 100), invocation(1050, 100), invocation(1100, 100));
        let c = Concurrency::of(&[&a, &b, &c], 1000);
        // 1000-1050: 1, 1050-1100: 2, 1100 (a ends, c starts)-1150: 2, 1150-1200: 1.
        assert_eq!(c.peak, 2);
        assert!((c.mean - 1.5).abs() < 1e-9, "{}", c.mean);
        assert_eq!(c.curve.first(), Some(&(0.0, 1)));
        assert_eq!(c.curve.last(), Some(&(0.2, 0)));
    }

    #[test]
    fn a_path_is_measured_from_its_records() {
        let records = [invocation(1000, 500), invocation(2000, 1500)];
        let observed = Observed {
            t0_ms: 900,
            uploaded_at: [("a".to_owned(), 900), ("b".to_owned(), 950)].into(),
            applied_at: [("a".to_owned(), 1500)].into(),
            invocations: records.iter().collect(),
            account: PathAccount { uploaded: 2, processed: 1, ..PathAccount::default() },
            sqs_requests: [("ReceiveMessage".to_owned(), 3)].into(),
            dynamodb_requests: [("PutItem".to_owned(), 2), ("GetItem".to_owned(), 1)].into(),
            sns_publishes: 2,
            ..Observed::default()
        };
        let f = PathFigures::measure("direct", "S3 -> SNS -> Lambda", &observed, &crate::prices::US_EAST_1);
        assert_eq!(f.latency.samples, 1);
        assert_eq!(f.latency.p50_ms, 600);
        assert_eq!(f.invocations, 2);
        assert!((f.usage.gb_seconds - 2.0).abs() < 1e-9);
        assert_eq!((f.usage.dynamodb_writes, f.usage.dynamodb_reads, f.usage.sqs_requests), (2, 1, 3));
        assert_eq!(f.outcomes.lost, 0);
        assert_eq!(f.retries, 0);
        assert_eq!(f.requests["SNS Publish"], 2);
    }
}
