//! Sending poison straight to a dead-letter queue.
//!
//! A message that fails *permanently* (undecodable, a missing object, a payload mismatch) will
//! fail on every redelivery. Left to the queue's redrive policy it is received
//! `maxReceiveCount` times, each time costing an invocation and a visibility timeout, before SQS
//! moves it to the DLQ without saying why. A handler given a [`DeadLetterSink`] sends it there at
//! once, with the reason as message attributes, and counts it as handled. If that send fails, or
//! does not finish before the handler must answer, the message is reported as an ordinary
//! failure, so nothing is lost.

use async_trait::async_trait;
use aws_sdk_sqs::types::MessageAttributeValue;

use crate::BoxError;
use crate::engine::{Failure, Invocation};
use crate::item::MessageMeta;

/// SQS message attributes are limited in size; reasons are cut to this many bytes.
const MAX_REASON_BYTES: usize = 4096;

/// A message on its way to a dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeadLetter {
    /// The message as received: the SQS body, or the SNS `Message` on the direct path.
    pub body: String,
    /// Why it failed.
    pub reason: String,
    /// The failure class, `permanent`.
    pub error_kind: String,
    /// The SQS (or SNS) message id it had.
    pub source_message_id: String,
    /// The queue or topic ARN it came from.
    pub source_arn: Option<String>,
    /// The Lambda request id that gave up on it.
    pub request_id: String,
    /// SQS `ApproximateReceiveCount` at that time.
    pub receive_count: Option<u32>,
    /// FIFO message group, kept for a FIFO dead-letter queue.
    pub message_group_id: Option<String>,
}

/// Sends a permanent `failure` of the message `body` to `sink`, if there is one.
///
/// Returns the failure that remains (`None` once the letter was sent) and whether it was sent.
/// A retryable failure, or a send that fails, leaves the failure in place for redelivery.
pub(crate) async fn divert(
    sink: Option<&dyn DeadLetterSink>,
    failure: Option<Failure>,
    body: &str,
    meta: &MessageMeta,
    inv: &Invocation,
) -> (Option<Failure>, bool) {
    let (Some(sink), Some(f)) = (sink, &failure) else {
        return (failure, false);
    };
    if f.retryable {
        return (failure, false);
    }
    let letter = DeadLetter {
        body: body.to_owned(),
        reason: f.reason.clone(),
        error_kind: f.kind().to_owned(),
        source_message_id: meta.message_id.to_string(),
        source_arn: meta.source_arn.clone(),
        request_id: inv.request_id.to_string(),
        receive_count: meta.receive_count,
        message_group_id: meta.message_group_id.clone(),
    };
    let sent = match tokio::time::timeout_at(inv.wrap_up_cutoff, sink.send(&letter)).await {
        Ok(sent) => sent,
        Err(_) => Err("no answer before the handler had to answer".into()),
    };
    match sent {
        Ok(()) => {
            tracing::info!(
                message_id = %meta.message_id, outcome = "dead_lettered", reason = %letter.reason,
                "message sent to the dead-letter queue"
            );
            (None, true)
        }
        Err(e) => {
            tracing::error!(
                message_id = %meta.message_id, error = %crate::processor::error_chain(e.as_ref()),
                "dead-letter send failed; the message stays failed"
            );
            (failure, false)
        }
    }
}

/// Where permanent failures go.
#[async_trait]
pub trait DeadLetterSink: Send + Sync + 'static {
    /// Sends one dead letter.
    async fn send(&self, letter: &DeadLetter) -> Result<(), BoxError>;
}

/// An SQS dead-letter queue.
///
/// The body is sent unchanged, so the DLQ can be redriven to its source queue. The reason
/// travels as message attributes: `ErrorKind`, `ErrorMessage`, `SourceMessageId`,
/// `SourceArn`, `RequestId` and `ApproximateReceiveCount`. A `.fifo` queue gets the original
/// message group and the source message id as deduplication id.
///
/// ```no_run
/// # async fn example() {
/// let config = aws_config::load_from_env().await;
/// let dlq = sluice::SqsDeadLetterQueue::new(
///     aws_sdk_sqs::Client::new(&config),
///     "https://sqs.eu-west-1.amazonaws.com/123456789012/work-dlq",
/// );
/// # let _ = dlq; }
/// ```
#[derive(Debug, Clone)]
pub struct SqsDeadLetterQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsDeadLetterQueue {
    /// The queue at `queue_url`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        SqsDeadLetterQueue { client, queue_url: queue_url.into() }
    }

    /// The queue URL.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, BoxError> {
    Ok(MessageAttributeValue::builder().data_type("String").string_value(value).build()?)
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[async_trait]
impl DeadLetterSink for SqsDeadLetterQueue {
    async fn send(&self, letter: &DeadLetter) -> Result<(), BoxError> {
        if letter.body.is_empty() {
            // SQS requires a message body of at least one character (SendMessage, MessageBody).
            return Err("the message has no body, and SQS cannot carry an empty one: it stays failed, for the \
                        source queue's redrive policy"
                .into());
        }
        let mut request = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(&letter.body)
            .message_attributes("ErrorKind", string_attribute(&letter.error_kind)?)
            .message_attributes("ErrorMessage", string_attribute(truncate(&letter.reason, MAX_REASON_BYTES))?)
            .message_attributes("SourceMessageId", string_attribute(&letter.source_message_id)?)
            .message_attributes("RequestId", string_attribute(&letter.request_id)?);
        if let Some(arn) = &letter.source_arn {
            request = request.message_attributes("SourceArn", string_attribute(arn)?);
        }
        if let Some(count) = letter.receive_count {
            request = request.message_attributes(
                "ApproximateReceiveCount",
                MessageAttributeValue::builder().data_type("Number").string_value(count.to_string()).build()?,
            );
        }
        if self.queue_url.ends_with(".fifo") {
            request = request
                .message_group_id(letter.message_group_id.as_deref().unwrap_or("sluice-dead-letters"))
                .message_deduplication_id(&letter.source_message_id);
        }
        request.send().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn truncation_keeps_utf8_boundaries() {
        assert_eq!(truncate("보고서", 4), "보");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
