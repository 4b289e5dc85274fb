//! The JSON receipts the worker writes: one per object version, and a "latest" view per key.
//!
//! S3 does not order its event notifications, and a standard queue and concurrent batches
//! reorder them more: the events of two uploads of one key can be processed in either order.
//! So the worker keeps:
//! - **one receipt per object version**, at `<prefix><key>.versions/<version>.json`: written
//!   by whichever invocation summarises that version, always with the same facts;
//! - **the latest receipt**, at `<prefix><key>.json`, which only moves forward: it is replaced
//!   only by a receipt of a later event, compared by S3's `sequencer` (right-pad the shorter one
//!   with zeros, then compare as hex strings: S3 User Guide, "Event message structure"), else
//!   by `eventTime`. The write is an S3 conditional write (`If-None-Match: *` for the first,
//!   `If-Match: <ETag>` over the one it compared with), so two invocations racing on one key
//!   cannot put an older receipt over a newer one. The ordering travels as the latest object's
//!   metadata (`x-amz-meta-sequencer`, `x-amz-meta-event-time`), read with one `HeadObject`.

use std::cmp::Ordering;

use aws_sdk_s3::operation::head_object::HeadObjectError;
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};
use sluice::ProcessError;
use sluice_events::s3::S3ObjectEvent;

use sluice::aws::classify;

/// What the worker found in one object version, and through which path and when it found it.
///
/// The JSON is flat: the [`VersionSummary`] fields, then `path` and `processed_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The facts of the version.
    #[serde(flatten)]
    pub version: VersionSummary,
    /// `sqs` or `sns`: the path the event came through.
    pub path: String,
    /// When the object was summarised, RFC 3339 UTC.
    pub processed_at: String,
}

/// The facts of one object version: the part of a [`Receipt`] that never changes, whichever
/// invocation, path or retry produced it. It is the webhook's body, so that a redelivery
/// posts the same bytes under the same `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionSummary {
    /// Source bucket.
    pub bucket: String,
    /// Decoded object key.
    pub key: String,
    /// Object version, when the bucket is versioned.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version_id: Option<String>,
    /// The object's entity tag, as the event gave it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub e_tag: Option<String>,
    /// S3 event sequencer.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sequencer: Option<String>,
    /// S3 event time.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub event_time: Option<String>,
    /// Bytes read.
    pub size: u64,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    /// Lines (a final line without newline counts).
    pub lines: u64,
}

impl VersionSummary {
    /// Where in the event order of its key this version's event stands.
    pub fn position(&self) -> Position {
        Position { sequencer: self.sequencer.clone(), event_time: self.event_time.clone() }
    }
}

/// Where the latest receipt of `key` is written in the results bucket, with the default prefix.
///
/// ```
/// assert_eq!(sluice_object_summary::receipt_key("incoming/보고서 2026.csv"), "receipts/incoming/보고서 2026.csv.json");
/// ```
pub fn receipt_key(key: &str) -> String {
    receipt_key_under(crate::config::DEFAULT_RESULTS_PREFIX, key)
}

/// Where the latest receipt of `key` is written under `prefix`.
pub fn receipt_key_under(prefix: &str, key: &str) -> String {
    format!("{prefix}{key}.json")
}

/// Where the receipt of one version of `key` is written under `prefix`. The version is named
/// by its `versionId`, else its sequencer, else its ETag.
///
/// ```
/// use sluice_object_summary::version_receipt_key_under;
/// assert_eq!(version_receipt_key_under("r/", "a.csv", Some("3HL4kq"), None, None), "r/a.csv.versions/v-3HL4kq.json");
/// assert_eq!(version_receipt_key_under("r/", "a.csv", None, Some("0055AED6"), None), "r/a.csv.versions/s-0055AED6.json");
/// ```
pub fn version_receipt_key_under(
    prefix: &str,
    key: &str,
    version_id: Option<&str>,
    sequencer: Option<&str>,
    e_tag: Option<&str>,
) -> String {
    let tag = match (version_id, sequencer, e_tag) {
        (Some(v), _, _) => format!("v-{v}"),
        (None, Some(s), _) => format!("s-{s}"),
        (None, None, Some(e)) => format!("e-{}", e.trim_matches('"')),
        (None, None, None) => "unknown".to_owned(),
    };
    format!("{prefix}{key}.versions/{tag}.json")
}

/// The place of an event in the order of events of its key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Position {
    /// S3's `sequencer` (hex, variable length).
    pub sequencer: Option<String>,
    /// S3's `eventTime` (ISO 8601, as S3 writes it).
    pub event_time: Option<String>,
}

impl Position {
    /// The position of an event.
    pub fn of(event: &S3ObjectEvent) -> Self {
        Position { sequencer: event.sequencer.clone(), event_time: event.event_time.clone() }
    }

    /// True when this event certainly comes after `stored`: by sequencer when both have one and
    /// they differ, else by event time. A stored receipt without either is older than any.
    ///
    /// ```
    /// use sluice_object_summary::Position;
    /// let at = |s: &str| Position { sequencer: Some(s.into()), event_time: None };
    /// assert!(at("0055AED6DCD90281E6").is_after(&at("0055AED6DCD90281E5")));
    /// assert!(at("0055AED6DCD90281E5A0").is_after(&at("0055AED6DCD90281E5")), "shorter is padded with zeros");
    /// assert!(!at("0055AED6DCD90281E5").is_after(&at("0055AED6DCD90281E5")));
    /// ```
    pub fn is_after(&self, stored: &Position) -> bool {
        if stored.sequencer.is_none() && stored.event_time.is_none() {
            return true;
        }
        if let (Some(mine), Some(theirs)) = (&self.sequencer, &stored.sequencer) {
            match compare_sequencers(mine, theirs) {
                Ordering::Equal => {}
                order => return order == Ordering::Greater,
            }
        }
        match (&self.event_time, &stored.event_time) {
            (Some(mine), Some(theirs)) => compare_times(mine, theirs) == Ordering::Greater,
            _ => false,
        }
    }

    fn metadata(&self) -> Vec<(&'static str, String)> {
        let mut m = Vec::new();
        if let Some(s) = &self.sequencer {
            m.push(("sequencer", s.clone()));
        }
        if let Some(t) = &self.event_time {
            m.push(("event-time", t.clone()));
        }
        m
    }

    fn from_metadata(metadata: Option<&std::collections::HashMap<String, String>>) -> Self {
        let get = |k: &str| metadata.and_then(|m| m.get(k)).cloned();
        Position { sequencer: get("sequencer"), event_time: get("event-time") }
    }
}

fn compare_sequencers(a: &str, b: &str) -> Ordering {
    let width = a.len().max(b.len());
    let pad = |s: &str| format!("{:0<width$}", s.to_ascii_uppercase());
    pad(a).cmp(&pad(b))
}

fn compare_times(a: &str, b: &str) -> Ordering {
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;
    match (OffsetDateTime::parse(a, &Rfc3339), OffsetDateTime::parse(b, &Rfc3339)) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => a.cmp(b),
    }
}

/// What happened to the latest receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latest {
    /// This receipt is now the latest.
    Advanced,
    /// A receipt of the same or a later event is the latest already; it was kept.
    Kept,
}

/// Writes the receipt of one version, then moves the latest receipt forward if it is newer.
pub(crate) async fn write(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    receipt: &Receipt,
) -> Result<Latest, ProcessError> {
    let body = serde_json::to_vec(receipt).map_err(ProcessError::permanent)?;
    let v = &receipt.version;
    let version_key =
        version_receipt_key_under(prefix, &v.key, v.version_id.as_deref(), v.sequencer.as_deref(), v.e_tag.as_deref());
    s3.put_object()
        .bucket(bucket)
        .key(&version_key)
        .content_type("application/json")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .map_err(|e| classify(&format!("PutObject s3://{bucket}/{version_key}"), e))?;
    advance_latest(s3, bucket, &receipt_key_under(prefix, &v.key), &body, &v.position()).await
}

/// Conditional writes of the latest receipt: a bounded number of compare-and-swap rounds.
const LATEST_ROUNDS: usize = 5;

async fn advance_latest(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    target: &str,
    body: &[u8],
    position: &Position,
) -> Result<Latest, ProcessError> {
    let what = format!("s3://{bucket}/{target}");
    for _ in 0..LATEST_ROUNDS {
        let current = match s3.head_object().bucket(bucket).key(target).send().await {
            Ok(head) => Some(head),
            Err(e) if matches!(e.as_service_error(), Some(HeadObjectError::NotFound(_))) => None,
            Err(e) => return Err(classify(&format!("HeadObject {what}"), e)),
        };
        let mut put = s3.put_object().bucket(bucket).key(target).content_type("application/json");
        for (name, value) in position.metadata() {
            put = put.metadata(name, value);
        }
        put = match &current {
            None => put.if_none_match("*"),
            Some(head) => {
                if !position.is_after(&Position::from_metadata(head.metadata())) {
                    return Ok(Latest::Kept);
                }
                put.if_match(head.e_tag().unwrap_or_default())
            }
        };
        match put.body(ByteStream::from(body.to_vec())).send().await {
            Ok(_) => return Ok(Latest::Advanced),
            // Another invocation wrote it in between: compare again with what it wrote.
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412 || r.status().as_u16() == 409) => {
                continue;
            }
            Err(e) => return Err(classify(&format!("PutObject {what}"), e)),
        }
    }
    Err(ProcessError::retryable(format!("{what}: still contended after {LATEST_ROUNDS} conditional writes")))
}
