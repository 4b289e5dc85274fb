//! Items: what a message decodes into, and the idempotency key each one runs under.
//!
//! The key decides what counts as "the same work". Message ids are the wrong key for S3
//! events: S3 may notify twice through two distinct SNS messages, and SQS gives every delivery
//! of a message the same id but every *message* a new one. So an S3 record's key is its object
//! version: `bucket/key` plus the `versionId`, or the `sequencer` when the bucket is
//! unversioned. Other messages use the SNS `MessageId` (reused by SNS on its own retries), or a
//! key function the handler is given.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use sluice_events::Json;
use sluice_events::s3::S3ObjectEvent;

/// What the handler knows about the message an item came in.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct MessageMeta {
    /// The SQS message id (SQS path) or the SNS message id (SNS path).
    pub message_id: Arc<str>,
    /// The SNS message id, when the message went through SNS.
    pub sns_message_id: Option<String>,
    /// The SNS topic, when the message went through SNS.
    pub topic_arn: Option<String>,
    /// The FIFO message group.
    pub message_group_id: Option<String>,
    /// SQS `ApproximateReceiveCount`.
    pub receive_count: Option<u32>,
    /// The queue or topic ARN the message came from.
    pub source_arn: Option<String>,
    /// The message's trace: on SQS its `AWSTraceHeader` (the sender's), else the invocation's
    /// `Lambda-Runtime-Trace-Id`.
    pub trace: Option<sluice_trace::TraceContext>,
    /// When SNS published the message (its `Timestamp`), epoch milliseconds: from the SNS
    /// record, or from the SNS envelope in an SQS body.
    pub published_at_ms: Option<u64>,
    /// When SQS received the message (`SentTimestamp`), epoch milliseconds.
    pub sent_at_ms: Option<u64>,
    /// When SQS first handed the message to a consumer (`ApproximateFirstReceiveTimestamp`),
    /// epoch milliseconds.
    pub first_received_at_ms: Option<u64>,
}

/// A unit of work with an idempotency identity.
///
/// Implemented for [`S3ObjectEvent`] and [`Json<T>`], which the SQS and SNS handlers decode
/// from a message ([`Payload`](sluice_events::Payload)), and for the stream handlers' items
/// (`KinesisRecord`, `DynamoDbChange`). Implement it, with `Payload`, for your own message
/// format.
pub trait Item: Send + 'static {
    /// The idempotency key used when the handler has no key function; `None` if there is none.
    fn default_key(&self, message: &MessageMeta) -> Option<String>;

    /// Fields that must match for an equal key to be a true duplicate (payload validation).
    fn fingerprint(&self) -> Option<String> {
        None
    }

    /// A short description for log lines, such as `bucket/key`.
    fn label(&self) -> Option<String> {
        None
    }

    /// When the item's event happened, in epoch milliseconds (an S3 event's `eventTime`): its
    /// age is measured from it when the message has neither [`MessageMeta::sent_at_ms`] nor
    /// [`MessageMeta::published_at_ms`].
    fn event_time_ms(&self) -> Option<u64> {
        None
    }
}

impl Item for S3ObjectEvent {
    /// `bucket/key@v:<versionId>`, else `bucket/key@s:<sequencer>`, else none.
    ///
    /// ```
    /// use sluice::{Item, MessageMeta};
    /// let (_, decoded) = sluice_events::decode_body::<sluice_events::s3::S3ObjectEvent>(
    ///     r#"{"Records":[{"eventVersion":"2.1","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},
    ///        "object":{"key":"a+b","versionId":"v1","sequencer":"05"}}}]}"#).unwrap();
    /// let sluice_events::Decoded::Items(records) = decoded else { unreachable!() };
    /// assert_eq!(records[0].default_key(&MessageMeta::default()).unwrap(), "b/a b@v:v1");
    /// ```
    fn default_key(&self, _message: &MessageMeta) -> Option<String> {
        let (tag, id) = match (&self.version_id, &self.sequencer) {
            (Some(v), _) => ("v", v),
            (None, Some(s)) => ("s", s),
            (None, None) => return None,
        };
        Some(format!("{}/{}@{tag}:{id}", self.bucket, self.key))
    }

    /// `etag=<eTag>;size=<size>`: a second event for the same version must describe the same
    /// bytes.
    fn fingerprint(&self) -> Option<String> {
        match (&self.e_tag, self.size) {
            (None, None) => None,
            (e, s) => Some(format!(
                "etag={};size={}",
                e.as_deref().unwrap_or(""),
                s.map(|s| s.to_string()).unwrap_or_default()
            )),
        }
    }

    fn label(&self) -> Option<String> {
        Some(format!("{}/{}", self.bucket, self.key))
    }

    fn event_time_ms(&self) -> Option<u64> {
        self.event_time.as_deref().and_then(sluice_clock::rfc3339_millis)
    }
}

impl<T: DeserializeOwned + Send + 'static> Item for Json<T> {
    /// The SNS message id, when the message went through SNS.
    fn default_key(&self, message: &MessageMeta) -> Option<String> {
        message.sns_message_id.clone()
    }
}
