//! The JSON receipt the worker writes for each object.

use serde::{Deserialize, Serialize};

/// What the worker found in one object version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Source bucket.
    pub bucket: String,
    /// Decoded object key.
    pub key: String,
    /// Object version, when the bucket is versioned.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version_id: Option<String>,
    /// S3 event sequencer.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sequencer: Option<String>,
    /// Bytes read.
    pub size: u64,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    /// Lines (a final line without newline counts).
    pub lines: u64,
    /// `sqs` or `sns`: the path the event came through.
    pub path: String,
    /// When the object was summarised, RFC 3339 UTC.
    pub processed_at: String,
}

/// Where the receipt of `key` is written in the results bucket, with the default prefix.
///
/// ```
/// assert_eq!(sluice_object_summary::receipt_key("incoming/보고서 2026.csv"), "receipts/incoming/보고서 2026.csv.json");
/// ```
pub fn receipt_key(key: &str) -> String {
    receipt_key_under(crate::config::DEFAULT_RESULTS_PREFIX, key)
}

/// Where the receipt of `key` is written under `prefix`.
pub fn receipt_key_under(prefix: &str, key: &str) -> String {
    format!("{prefix}{key}.json")
}
