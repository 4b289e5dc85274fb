//! The SNS direct handler: S3 -> SNS -> Lambda through asynchronous invocation.
//!
//! SNS invokes the function asynchronously with one record. There is no partial response: the
//! function either succeeds or returns an error, and on an error Lambda retries the event twice
//! (about one and two minutes later), then hands it to the function's dead-letter queue or
//! on-failure destination (Lambda Developer Guide, "Error handling and automatic retries in
//! Lambda", invocation-async-error-handling). So:
//! - a retryable failure returns an error, and Lambda's retries and DLQ apply;
//! - a permanent failure goes to the configured dead-letter queue and the invocation succeeds
//!   (retrying poison only delays it); with no queue configured it returns an error too.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use aws_lambda_events::sns::{SnsEvent, SnsRecord};
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use sluice_events::Payload;
use tokio::time::Instant;
use tracing::Instrument;

use crate::dead_letter::{self, DeadLetterSink};
use crate::engine::{Engine, Failure, Invocation, flush_spans, invocation_span, message_span};
use crate::item::{Item, MessageMeta};
use crate::parts::HandlerParts;
use crate::processor::Path;
use crate::report::{Counts, EmfMetrics, InvocationReport};

/// A `tower::Service` that processes an SNS event delivered to Lambda directly.
///
/// ```no_run
/// use sluice::{processor_fn, Idempotency, SnsHandler};
/// use sluice_events::s3::S3ObjectEvent;
/// use sluice_idempotency::MemoryStore;
///
/// #[tokio::main]
/// async fn main() -> Result<(), lambda_runtime::Error> {
///     let handler = SnsHandler::builder(
///         processor_fn(|record: S3ObjectEvent, _ctx| async move { Ok(record.size) }),
///         Idempotency::new(MemoryStore::new()),
///     )
///     .build();
///     lambda_runtime::run(handler).await
/// }
/// ```
pub struct SnsHandler<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    engine: Engine<T>,
    dead_letters: Option<Arc<dyn DeadLetterSink>>,
    metrics: EmfMetrics,
}

impl<T> Clone for SnsHandler<T> {
    fn clone(&self) -> Self {
        SnsHandler { inner: self.inner.clone() }
    }
}

/// Why an SNS invocation failed; Lambda then retries it (retryable) or, after its retries,
/// sends it to the function's DLQ or on-failure destination.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnsHandlerError {
    /// A transient failure: a retry may succeed.
    #[error("retryable failure of SNS message {message_id}: {reason}")]
    Retryable {
        /// The SNS message id.
        message_id: String,
        /// What failed.
        reason: String,
    },
    /// Poison, and no dead-letter queue was configured to take it.
    #[error("permanent failure of SNS message {message_id}: {reason}")]
    Permanent {
        /// The SNS message id.
        message_id: String,
        /// What failed.
        reason: String,
    },
}

impl From<SnsHandlerError> for Diagnostic {
    fn from(e: SnsHandlerError) -> Diagnostic {
        let error_type = match e {
            SnsHandlerError::Retryable { .. } => "Sluice.Retryable",
            SnsHandlerError::Permanent { .. } => "Sluice.Permanent",
        };
        Diagnostic { error_type: error_type.into(), error_message: e.to_string() }
    }
}

impl<T: Item + Payload> SnsHandler<T> {
    pub(crate) fn from_parts(parts: HandlerParts<T>) -> Self {
        SnsHandler {
            inner: Arc::new(Inner { engine: parts.engine, dead_letters: parts.dead_letters, metrics: parts.metrics }),
        }
    }

    /// Processes one SNS event. Its log lines carry the request id through the span
    /// `lambda_runtime` opens for each invocation.
    pub async fn handle(&self, event: SnsEvent, ctx: &Context) -> Result<(), SnsHandlerError> {
        self.inner.handle(event, ctx).await
    }
}

impl<T: Item + Payload> Inner<T> {
    async fn handle(&self, event: SnsEvent, ctx: &Context) -> Result<(), SnsHandlerError> {
        let started = Instant::now();
        let inv = self.engine.invocation(ctx, Path::Sns);
        let span = invocation_span(&inv);
        let answer = sluice_trace::scope(inv.trace, self.handle_event(event, &inv, started)).instrument(span).await;
        flush_spans().await;
        answer
    }

    async fn handle_event(&self, event: SnsEvent, inv: &Invocation, started: Instant) -> Result<(), SnsHandlerError> {
        let mut counts = Counts::default();
        let mut error: Option<SnsHandlerError> = None;
        for record in &event.records {
            let (failure, record_counts) = self.run_record(record, inv).await;
            counts += record_counts;
            let Some(failure) = failure else { continue };
            let message_id = record.sns.message_id.clone();
            let this = if failure.retryable {
                SnsHandlerError::Retryable { message_id, reason: failure.reason }
            } else {
                SnsHandlerError::Permanent { message_id, reason: failure.reason }
            };
            // A retryable failure decides: Lambda's retry may fix it.
            if !matches!(error, Some(SnsHandlerError::Retryable { .. })) {
                error = Some(this);
            }
        }
        let report = InvocationReport {
            path: Path::Sns,
            messages: event.records.len() as u32,
            failed_messages: u32::from(error.is_some()),
            counts,
            duration: started.elapsed(),
            record_ages_ms: inv.take_record_ages(),
        };
        report.log();
        self.metrics.emit(&report);
        error.map_or(Ok(()), Err)
    }

    async fn run_record(&self, record: &SnsRecord, inv: &Invocation) -> (Option<Failure>, Counts) {
        let sns = &record.sns;
        let meta = MessageMeta {
            message_id: Arc::from(sns.message_id.as_str()),
            sns_message_id: Some(sns.message_id.clone()),
            topic_arn: Some(sns.topic_arn.clone()),
            source_arn: Some(sns.topic_arn.clone()),
            // An asynchronous invocation carries one message: its trace is the invocation's
            // `Lambda-Runtime-Trace-Id`, never the process-wide `_X_AMZN_TRACE_ID`.
            trace: inv.trace,
            published_at_ms: u64::try_from(sns.timestamp.timestamp_millis()).ok(),
            ..MessageMeta::default()
        };
        let (span, trace) = message_span(&meta, inv);
        sluice_trace::scope(trace, self.run_message(record, meta, inv)).instrument(span).await
    }

    async fn run_message(&self, record: &SnsRecord, meta: MessageMeta, inv: &Invocation) -> (Option<Failure>, Counts) {
        let sns = &record.sns;
        let outcome = self.engine.process_payload(&sns.message, &meta, inv).await;
        let mut counts = outcome.counts;
        let (failure, sent) =
            dead_letter::divert(self.dead_letters.as_deref(), outcome.failure, &sns.message, &meta, inv).await;
        counts.dead_lettered += u32::from(sent);
        (failure, counts)
    }
}

impl<T: Item + Payload> tower::Service<LambdaEvent<SnsEvent>> for SnsHandler<T> {
    type Response = ();
    type Error = SnsHandlerError;
    type Future = Pin<Box<dyn Future<Output = Result<(), SnsHandlerError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, event: LambdaEvent<SnsEvent>) -> Self::Future {
        let handler = self.clone();
        Box::pin(async move { handler.handle(event.payload, &event.context).await })
    }
}
