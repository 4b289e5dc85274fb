//! The SQS dead-letter queue (cargo feature `sqs-dead-letter`, on by default): a
//! [`DeadLetterSink`] that sends each letter with the AWS SDK for SQS.

use async_trait::async_trait;
use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeNameForSends, MessageSystemAttributeValue};

use crate::BoxError;
use crate::dead_letter::{DeadLetter, DeadLetterSink};

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
            // Within SQS's attribute size: a reason is at most `crate::MAX_REASON_BYTES` long.
            .message_attributes("ErrorMessage", string_attribute(&letter.reason)?)
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
        if let Some(trace) = sluice_trace::current() {
            // The failed message's trace continues in the dead-letter queue (SQS keeps an
            // `AWSTraceHeader` system attribute for its consumer).
            let header = MessageSystemAttributeValue::builder().data_type("String").string_value(trace.xray_header());
            request =
                request.message_system_attributes(MessageSystemAttributeNameForSends::AwsTraceHeader, header.build()?);
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
