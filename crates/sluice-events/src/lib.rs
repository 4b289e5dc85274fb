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

pub use sluice_excerpt::Excerpt;

/// At most this many bytes of a JSON parser's message are kept in [`DecodeError::Json`], before
/// its line and column. The parser quotes the offending value (`invalid type: string "…",
/// expected u64`), and the value is the sender's.
pub const MAX_PARSER_MESSAGE_BYTES: usize = 80;

/// At most this many bytes of the reason are kept in [`DecodeError::Invalid`]: a reason may quote
/// another decoder's message, and that may quote the input.
pub const MAX_INVALID_REASON_BYTES: usize = 240;

/// Why a message could not be decoded. Every variant names what was wrong, and quotes the input
/// only as a short [`Excerpt`]: a message of any size gives an error of a few hundred bytes.
///
/// ```
/// let hostile = format!(r#"{{"Event":"s3:{}"}}"#, "E".repeat(1 << 20));
/// let error = sluice_events::s3::S3Notification::from_json(&hostile).unwrap_err();
/// assert!(error.to_string().len() < 200);
/// assert!(error.to_string().contains("(1,048,579 bytes)"), "{error}");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The text is not the JSON the decoder expected.
    #[error("{what} is not valid JSON: {detail}")]
    Json {
        /// What was being decoded.
        what: &'static str,
        /// The parser's message, cut to [`MAX_PARSER_MESSAGE_BYTES`], with its line and column.
        detail: String,
        /// Whether the text was cut short, wrong JSON, or JSON of the wrong shape.
        category: serde_json::error::Category,
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
    #[error("unsupported S3 eventVersion {found}: only {supported}.x is understood")]
    UnsupportedVersion {
        /// The `eventVersion` found.
        found: Excerpt,
        /// The major version supported.
        supported: u32,
    },
}

impl DecodeError {
    /// `what` has the wrong shape, for `reason`. The reason is cut to
    /// [`MAX_INVALID_REASON_BYTES`]: it may quote a decoder's message, which may quote the input.
    ///
    /// ```
    /// let e = sluice_events::DecodeError::invalid("NewImage", "x".repeat(10_000));
    /// assert!(e.to_string().len() < 300, "{e}");
    /// ```
    pub fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let reason = match sluice_excerpt::clip(&reason, MAX_INVALID_REASON_BYTES) {
            std::borrow::Cow::Borrowed(_) => reason,
            std::borrow::Cow::Owned(clipped) => clipped,
        };
        DecodeError::Invalid { what, reason }
    }

    /// The parser's error on `what`, its message bounded to [`MAX_PARSER_MESSAGE_BYTES`] and
    /// its line and column kept.
    ///
    /// ```
    /// let parse = serde_json::from_str::<u32>("\"seven\"").unwrap_err();
    /// let e = sluice_events::DecodeError::json("count", parse);
    /// assert_eq!(e.to_string(), "count is not valid JSON: invalid type: string \"seven\", expected u32 at line 1 column 7");
    /// ```
    pub fn json(what: &'static str, error: serde_json::Error) -> Self {
        // serde_json's text is "<message> at line L column C": the position is kept whole.
        let text = error.to_string();
        let position = match error.line() {
            0 => String::new(),
            line => format!(" at line {line} column {}", error.column()),
        };
        let message = text.strip_suffix(&position).unwrap_or(&text);
        let detail = format!("{}{position}", sluice_excerpt::clip(message, MAX_PARSER_MESSAGE_BYTES));
        DecodeError::Json { what, detail, category: error.classify() }
    }
}
