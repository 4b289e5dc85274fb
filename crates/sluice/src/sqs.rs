//! The SQS batch handler: S3 -> SNS -> SQS -> Lambda through an event source mapping.
//!
//! The handler answers with `batchItemFailures`, so only the failed messages come back after the
//! visibility timeout and the others are deleted (Lambda Developer Guide, "Reporting batch item
//! failures"; the mapping must have `ReportBatchItemFailures` on). Within a batch:
//! - messages run concurrently, at most [`HandlerBuilder::batch_concurrency`] at once;
//! - on a FIFO queue (its ARN ends in `.fifo`), the messages of one `MessageGroupId` run in order
//!   and, after a failure, the rest of that group is reported failed without being processed, so
//!   order is kept; other groups go on. Standard queues run every message on its own, even when
//!   its messages carry a `MessageGroupId` (SQS fair queues are standard queues that do);
//! - no message starts too close to the deadline, and messages still running at the end are
//!   abandoned: both are reported failed and redelivered, never dropped;
//! - a panic or an undecodable body fails only its own message;
//! - permanent failures can go straight to a dead-letter queue.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::StreamExt;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use sluice_events::Payload;
use tokio::time::Instant;
use tracing::Instrument;

use crate::dead_letter::{self, DeadLetterSink};
use crate::engine::{Engine, Failure, Invocation, flush_spans, invocation_span, message_span, trace_header};
use crate::item::{Item, MessageMeta};
use crate::parts::HandlerParts;
use crate::processor::Path;
use crate::report::{Counts, EmfMetrics, InvocationReport};

/// A `tower::Service` that processes an SQS batch and answers with its failures.
///
/// ```no_run
/// use sluice::{processor_fn, Idempotency, SqsBatchHandler};
/// use sluice_events::s3::S3ObjectEvent;
/// use sluice_idempotency::MemoryStore;
///
/// #[tokio::main]
/// async fn main() -> Result<(), lambda_runtime::Error> {
///     let handler = SqsBatchHandler::builder(
///         processor_fn(|record: S3ObjectEvent, _ctx| async move { Ok(record.size) }),
///         Idempotency::new(MemoryStore::new()),
///     )
///     .batch_concurrency(4)
///     .build();
///     lambda_runtime::run(handler).await
/// }
/// ```
pub struct SqsBatchHandler<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    engine: Engine<T>,
    dead_letters: Option<Arc<dyn DeadLetterSink>>,
    metrics: EmfMetrics,
    batch_concurrency: usize,
    fail_when_all_fail: bool,
}

impl<T> Clone for SqsBatchHandler<T> {
    fn clone(&self) -> Self {
        SqsBatchHandler { inner: self.inner.clone() }
    }
}

/// Why an SQS batch invocation failed as a whole (every message is then redelivered).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqsBatchError {
    /// Every message failed and the handler was told to fail the invocation.
    #[error("all {count} messages failed; first failure: {first}")]
    AllFailed {
        /// Messages in the batch.
        count: usize,
        /// The first message's failure.
        first: String,
    },
    /// A failed message has no `messageId`, so it cannot be reported alone.
    #[error("message {index} failed and has no messageId to report; failing the whole batch")]
    MissingMessageId {
        /// Its position in the batch.
        index: usize,
    },
}

impl From<SqsBatchError> for Diagnostic {
    fn from(e: SqsBatchError) -> Diagnostic {
        let error_type = match e {
            SqsBatchError::AllFailed { .. } => "Sluice.AllMessagesFailed",
            SqsBatchError::MissingMessageId { .. } => "Sluice.MissingMessageId",
        };
        Diagnostic { error_type: error_type.into(), error_message: e.to_string() }
    }
}

/// The result of one message.
struct MessageResult {
    failure: Option<Failure>,
    counts: Counts,
}

impl<T: Item + Payload> SqsBatchHandler<T> {
    pub(crate) fn from_parts(parts: HandlerParts<T>) -> Self {
        SqsBatchHandler {
            inner: Arc::new(Inner {
                engine: parts.engine,
                dead_letters: parts.dead_letters,
                metrics: parts.metrics,
                batch_concurrency: parts.batch_concurrency,
                fail_when_all_fail: parts.fail_when_all_fail,
            }),
        }
    }

    /// Processes one batch. Its log lines carry the request id through the span
    /// `lambda_runtime` opens for each invocation.
    pub async fn handle(&self, event: SqsEvent, ctx: &Context) -> Result<SqsBatchResponse, SqsBatchError> {
        self.inner.handle(event, ctx).await
    }
}

impl<T: Item + Payload> Inner<T> {
    async fn handle(&self, event: SqsEvent, ctx: &Context) -> Result<SqsBatchResponse, SqsBatchError> {
        let started = Instant::now();
        let inv = self.engine.invocation(ctx, Path::Sqs);
        let span = invocation_span(&inv);
        let answer = sluice_trace::scope(inv.trace, self.handle_batch(event, &inv, started)).instrument(span).await;
        flush_spans().await;
        answer
    }

    async fn handle_batch(
        &self,
        event: SqsEvent,
        inv: &Invocation,
        started: Instant,
    ) -> Result<SqsBatchResponse, SqsBatchError> {
        let records = event.records;
        inv.record_ages_ms.lock().unwrap_or_else(|e| e.into_inner()).reserve_exact(records.len());
        let groups = fifo_groups(&records);
        let mut results: Vec<Option<MessageResult>> = (0..records.len()).map(|_| None).collect();
        let mut finished = futures::stream::iter(groups)
            .map(|group| self.run_group(&records, group, inv))
            .buffer_unordered(self.batch_concurrency);
        while let Some(group_results) = finished.next().await {
            for (index, result) in group_results {
                results[index] = Some(result);
            }
        }
        drop(finished);

        let mut counts = Counts::default();
        let mut response = SqsBatchResponse::default();
        let mut first_failure = None;
        for (index, (record, result)) in records.iter().zip(results).enumerate() {
            let result = result.expect("every message belongs to exactly one group");
            counts += result.counts;
            let Some(failure) = result.failure else {
                continue;
            };
            first_failure.get_or_insert(failure.reason);
            let Some(id) = record.message_id.clone().filter(|id| !id.is_empty()) else {
                return Err(SqsBatchError::MissingMessageId { index });
            };
            let mut item = BatchItemFailure::default();
            item.item_identifier = id;
            response.batch_item_failures.push(item);
        }
        let report = InvocationReport {
            path: Path::Sqs,
            messages: records.len() as u32,
            failed_messages: response.batch_item_failures.len() as u32,
            counts,
            duration: started.elapsed(),
            record_ages_ms: inv.take_record_ages(),
        };
        report.log();
        self.metrics.emit(&report);
        if self.fail_when_all_fail && !records.is_empty() && response.batch_item_failures.len() == records.len() {
            return Err(SqsBatchError::AllFailed { count: records.len(), first: first_failure.unwrap_or_default() });
        }
        Ok(response)
    }

    /// Runs the messages of one group in order. After a failure in a FIFO group, the rest of the
    /// group is reported failed unprocessed, so a later message never overtakes an earlier one.
    async fn run_group(&self, records: &[SqsMessage], group: Group, inv: &Invocation) -> Vec<(usize, MessageResult)> {
        let mut results = Vec::with_capacity(1 + group.rest.len());
        let mut blocked_by: Option<String> = None;
        for index in std::iter::once(group.first).chain(group.rest) {
            if let Some(failed_id) = &blocked_by {
                let reason = format!(
                    "not processed: message {failed_id} before it in FIFO group {:?} failed",
                    group.id.as_deref().unwrap_or_default()
                );
                results.push((
                    index,
                    MessageResult { failure: Some(Failure::retryable(reason)), counts: Counts::default() },
                ));
                continue;
            }
            let result = self.run_message(&records[index], inv).await;
            if result.failure.is_some() && group.id.is_some() {
                blocked_by = Some(records[index].message_id.clone().unwrap_or_default());
            }
            results.push((index, result));
        }
        results
    }

    async fn run_message(&self, record: &SqsMessage, inv: &Invocation) -> MessageResult {
        let mut meta = MessageMeta {
            message_id: Arc::from(record.message_id.as_deref().unwrap_or("")),
            source_arn: record.event_source_arn.clone(),
            trace: inv.trace,
            ..MessageMeta::default()
        };
        // One pass over the system attributes: a handful, read for every message.
        for (name, value) in &record.attributes {
            match name.as_str() {
                "MessageGroupId" => meta.message_group_id = Some(value.clone()),
                "ApproximateReceiveCount" => meta.receive_count = value.parse().ok(),
                "SentTimestamp" => meta.sent_at_ms = value.parse().ok(),
                "ApproximateFirstReceiveTimestamp" => meta.first_received_at_ms = value.parse().ok(),
                // The sender's trace, which SQS keeps (SQS Developer Guide, "AWS X-Ray"); else
                // the invocation's.
                sluice_trace::SQS_TRACE_ATTRIBUTE => {
                    if let Some(trace) = trace_header(sluice_trace::SQS_TRACE_ATTRIBUTE, value) {
                        meta.trace = Some(trace);
                    }
                }
                _ => {}
            }
        }
        let (span, trace) = message_span(&meta, inv);
        sluice_trace::scope(trace, self.run_message_in(record, meta, inv)).instrument(span).await
    }

    async fn run_message_in(&self, record: &SqsMessage, mut meta: MessageMeta, inv: &Invocation) -> MessageResult {
        let Some(body) = record.body.as_deref() else {
            let failure = Failure::permanent("message has no body");
            tracing::warn!(message_id = %meta.message_id, error = %failure.reason, "message failed");
            let counts = Counts { failed: 1, ..Counts::default() };
            return self.dead_letter_or_fail(MessageResult { failure: Some(failure), counts }, "", &meta, inv).await;
        };
        let opened = sluice_events::open(body);
        if let Some(envelope) = &opened.envelope {
            meta.sns_message_id = Some(envelope.message_id.to_string());
            meta.topic_arn = Some(envelope.topic_arn.to_string());
            meta.published_at_ms = envelope.timestamp.as_deref().and_then(sluice_clock::rfc3339_millis);
        }
        let outcome = self.engine.process_payload(opened.payload(body), &meta, inv).await;
        let result = MessageResult { failure: outcome.failure, counts: outcome.counts };
        self.dead_letter_or_fail(result, body, &meta, inv).await
    }

    /// Diverts a permanent failure to the dead-letter queue, if there is one.
    async fn dead_letter_or_fail(
        &self,
        mut result: MessageResult,
        body: &str,
        meta: &MessageMeta,
        inv: &Invocation,
    ) -> MessageResult {
        let (failure, sent) =
            dead_letter::divert(self.dead_letters.as_deref(), result.failure.take(), body, meta, inv).await;
        result.failure = failure;
        result.counts.dead_lettered += u32::from(sent);
        result
    }
}

/// Messages that must run one after another: one FIFO message group, or a single message.
struct Group {
    id: Option<String>,
    /// The index of its first message.
    first: usize,
    /// The indices of the others, in order: none (and nothing allocated) for a single message.
    rest: Vec<usize>,
}

/// Splits a batch into groups, in the order their first message appears. On a FIFO queue (its
/// ARN ends in `.fifo`, SQS Developer Guide, FIFO queue naming) each message group keeps its
/// messages' order; on a standard queue every message is its own group, whatever attributes its
/// messages carry.
fn fifo_groups(records: &[SqsMessage]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (index, record) in records.iter().enumerate() {
        let fifo = record.event_source_arn.as_deref().is_some_and(|arn| arn.ends_with(".fifo"));
        match record.attributes.get("MessageGroupId").filter(|_| fifo) {
            Some(id) => match by_id.get(id.as_str()) {
                Some(&g) => groups[g].rest.push(index),
                None => {
                    by_id.insert(id, groups.len());
                    groups.push(Group { id: Some(id.clone()), first: index, rest: Vec::new() });
                }
            },
            None => groups.push(Group { id: None, first: index, rest: Vec::new() }),
        }
    }
    groups
}

impl<T: Item + Payload> tower::Service<LambdaEvent<SqsEvent>> for SqsBatchHandler<T> {
    type Response = SqsBatchResponse;
    type Error = SqsBatchError;
    type Future = Pin<Box<dyn Future<Output = Result<SqsBatchResponse, SqsBatchError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, event: LambdaEvent<SqsEvent>) -> Self::Future {
        let handler = self.clone();
        Box::pin(async move { handler.handle(event.payload, &event.context).await })
    }
}
