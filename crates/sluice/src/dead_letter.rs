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

use crate::BoxError;
use crate::engine::{Failure, Invocation};
use crate::item::MessageMeta;

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
                message_id = %meta.message_id, error = %sluice_retry::error_chain(e.as_ref()),
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
