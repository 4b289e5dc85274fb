//! Decoding of the messages an S3 event pipeline delivers to Lambda workers.
//!
//! S3 notifies an SNS topic; the topic fans out to a Lambda function directly and to an SQS
//! queue that a second function drains. Depending on the path and on the subscription's raw
//! delivery setting, the same S3 event reaches a worker wrapped in zero or one SNS envelope.
//! This crate removes the envelope and decodes what is inside, with errors that say what was
//! wrong so a handler can fail exactly the one message that was bad.
//!
//! ```
//! use sluice_events::{decode_body, Decoded, s3::S3ObjectEvent};
//!
//! let raw = r#"{"Records":[{"eventVersion":"2.1","eventName":"ObjectCreated:Put",
//!   "s3":{"bucket":{"name":"ingest"},"object":{"key":"incoming/a+b.csv","size":3}}}]}"#;
//! let (envelope, decoded) = decode_body::<S3ObjectEvent>(raw)?;
//! assert!(envelope.is_none());
//! let Decoded::Items(records) = decoded else { unreachable!() };
//! assert_eq!(records[0].key, "incoming/a b.csv");
//! # Ok::<(), sluice_events::DecodeError>(())
//! ```

/// From a message body to items: envelope detection and the [`Payload`] trait.
pub mod message;
/// S3 event notification documents and object-key decoding.
pub mod s3;
/// Sample events for tests and benchmarks.
#[cfg(feature = "sample")]
pub mod sample;
/// The SNS notification envelope.
pub mod sns;

pub use message::{Decoded, Json, Opened, Payload, decode_body, open};

/// Why a message could not be decoded. Every variant names what was wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The text is not the JSON the decoder expected.
    #[error("{what} is not valid JSON: {source}")]
    Json {
        /// What was being decoded.
        what: &'static str,
        /// The parser's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The JSON has the wrong shape.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was being decoded.
        what: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// An S3 event of a major version this decoder does not understand.
    #[error("unsupported S3 eventVersion {found:?}: only {supported}.x is understood")]
    UnsupportedVersion {
        /// The `eventVersion` found.
        found: String,
        /// The major version supported.
        supported: u32,
    },
}

impl DecodeError {
    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        DecodeError::Invalid { what, reason: reason.into() }
    }
}
