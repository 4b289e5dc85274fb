//! One message, start to finish: decode, then send each item through the item stack
//! ([`crate::layers`]).
//!
//! Both handlers share this. The SQS handler adds batching, FIFO ordering and partial-batch
//! responses around it; the SNS handler adds the error-return contract of asynchronous
//! invocation.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use sluice_events::{DecodeError, Decoded, Payload};
use sluice_trace::TraceContext;
use tokio::time::Instant;
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

use crate::deadline::{DEFAULT_DEADLINE_MARGIN, DEFAULT_FINISH_RESERVE, Deadline};
use crate::item::{Item, MessageMeta};
use crate::layers::{ItemOutcome, ItemRequest, panic_message};
use crate::processor::{ItemContext, Path, ProcessError, Timeline};
use crate::report::Counts;

/// A user function that names an item's idempotency key.
pub(crate) type KeyFn<T> = Arc<dyn Fn(&T, &MessageMeta) -> Option<String> + Send + Sync>;

/// Deadline settings shared by both handlers.
///
/// The end of an invocation is divided like this:
/// - no item starts with less than `margin` left (never less than the finish reserve);
/// - items still running `finish_reserve` before the deadline are abandoned (the *processing
///   cutoff*), so the handler can answer before Lambda kills it (a timeout would fail and
///   redeliver the whole batch);
/// - the bookkeeping after that (storing outputs, releasing claims, dead-letter sends) must be
///   done a fifth of the finish reserve before the deadline (the *wrap-up cutoff*); what is not
///   is abandoned too, and the handler answers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// No item starts with less than this left before the deadline.
    pub margin: Duration,
    /// Time kept at the end of the invocation for the bookkeeping and the answer.
    pub finish_reserve: Duration,
}

impl Timing {
    /// The time below which no item starts: the margin, and never less than the finish reserve.
    pub(crate) fn start_margin(&self) -> Duration {
        self.margin.max(self.finish_reserve)
    }
}

impl Default for Timing {
    fn default() -> Self {
        Timing { margin: DEFAULT_DEADLINE_MARGIN, finish_reserve: DEFAULT_FINISH_RESERVE }
    }
}

/// Facts about the current invocation.
#[derive(Debug)]
pub(crate) struct Invocation {
    pub request_id: Arc<str>,
    /// The invocation's trace: Lambda's `Lambda-Runtime-Trace-Id` (`Context::xray_trace_id`).
    pub trace: Option<TraceContext>,
    /// Each item's age when it started, in milliseconds, for the invocation's metrics.
    pub record_ages_ms: Mutex<Vec<u64>>,
    pub deadline: Deadline,
    pub path: Path,
    /// Items still running then are abandoned.
    pub processing_cutoff: Instant,
    /// Store and dead-letter calls still running then are abandoned, and the handler answers.
    pub wrap_up_cutoff: Instant,
}

/// A failure reason is cut to this many bytes (then `… (N bytes)`): it goes into log lines, dead
/// letters and the error an asynchronous invocation returns, and a processor's error may quote
/// anything. With the ending, a reason stays within 512 bytes.
pub const MAX_REASON_BYTES: usize = 480;

/// Why a message failed. The reason is bounded ([`MAX_REASON_BYTES`]): build it only through
/// the constructors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub retryable: bool,
    pub reason: String,
}

impl Failure {
    pub(crate) fn new(retryable: bool, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let reason = match sluice_excerpt::clip(&reason, MAX_REASON_BYTES) {
            std::borrow::Cow::Borrowed(_) => reason,
            std::borrow::Cow::Owned(clipped) => clipped,
        };
        Failure { retryable, reason }
    }

    pub(crate) fn retryable(reason: impl Into<String>) -> Self {
        Failure::new(true, reason)
    }

    pub(crate) fn permanent(reason: impl Into<String>) -> Self {
        Failure::new(false, reason)
    }

    pub(crate) fn kind(&self) -> &'static str {
        if self.retryable { "retryable" } else { "permanent" }
    }

    /// Combines the failures of several items: retryable wins, since a retry can still help.
    fn merge(self, other: Failure) -> Failure {
        match (self.retryable, other.retryable) {
            (true, false) => self,
            (false, true) => other,
            _ => Failure::new(self.retryable, format!("{}; {}", self.reason, other.reason)),
        }
    }
}

/// The result of one message.
#[derive(Debug, Clone)]
pub(crate) struct MessageOutcome {
    pub failure: Option<Failure>,
    pub counts: Counts,
}

/// The item stack a handler sends items through, its layers' types erased.
pub(crate) type ItemStack<T> = BoxCloneSyncService<ItemRequest<T>, ItemOutcome, ProcessError>;

pub(crate) struct Engine<T> {
    pub stack: ItemStack<T>,
    pub key_fn: Option<KeyFn<T>>,
    pub timing: Timing,
    /// Each item's timeline goes on its `item done` line.
    pub log_timeline: bool,
}

impl Invocation {
    /// The ages recorded so far, leaving none.
    pub(crate) fn take_record_ages(&self) -> Vec<u64> {
        std::mem::take(&mut *self.record_ages_ms.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl<T: Item> Engine<T> {
    /// The invocation `ctx` describes. A deadline that has already passed when it starts (a
    /// clock far off, a wrong `Lambda-Runtime-Deadline-Ms`) is logged as such: every item will
    /// be refused.
    pub(crate) fn invocation(&self, ctx: &lambda_runtime::Context, path: Path) -> Invocation {
        let deadline = Deadline::from_context(ctx);
        if deadline.remaining().is_zero() {
            let now_ms = sluice_clock::now_millis();
            tracing::error!(
                deadline_ms = ctx.deadline,
                now_ms,
                late_by_ms = now_ms.saturating_sub(ctx.deadline),
                "the invocation deadline had already passed when the invocation started: every item is refused \
                 and redelivered (is the clock right, and is Lambda-Runtime-Deadline-Ms an epoch in milliseconds?)"
            );
        }
        let reserve = self.timing.finish_reserve;
        Invocation {
            request_id: Arc::from(ctx.request_id.as_str()),
            trace: ctx.xray_trace_id.as_deref().and_then(|header| trace_header("Lambda-Runtime-Trace-Id", header)),
            record_ages_ms: Mutex::new(Vec::new()),
            deadline,
            path,
            processing_cutoff: deadline.minus(reserve),
            wrap_up_cutoff: deadline.minus(reserve / 5),
        }
    }

    /// A failure if no new work may start now.
    pub(crate) fn start_refusal(&self, deadline: &Deadline) -> Option<Failure> {
        deadline.start_refusal(self.timing.start_margin()).map(Failure::retryable)
    }

    /// Decodes `payload` (a message with any SNS envelope already removed) and sends its items
    /// through the item stack, one after another.
    pub(crate) async fn process_payload(&self, payload: &str, meta: &MessageMeta, inv: &Invocation) -> MessageOutcome
    where
        T: Payload,
    {
        self.process_message(|| T::decode(payload), meta, inv).await
    }

    /// Decodes a message with `decode`, unless no new work may start now, and sends its items
    /// through the item stack, one after another. A message that does not decode fails alone,
    /// permanently.
    pub(crate) async fn process_message(
        &self,
        decode: impl FnOnce() -> Result<Decoded<T>, DecodeError>,
        meta: &MessageMeta,
        inv: &Invocation,
    ) -> MessageOutcome {
        let mut counts = Counts::default();
        if let Some(failure) = self.start_refusal(&inv.deadline) {
            counts.failed += 1;
            log_message_failure(meta, &failure);
            return MessageOutcome { failure: Some(failure), counts };
        }
        let items = match decode() {
            Ok(Decoded::Items(items)) => items,
            Ok(Decoded::Skip(reason)) => {
                counts.skipped += 1;
                tracing::info!(message_id = %meta.message_id, outcome = "skipped", reason, "message skipped");
                return MessageOutcome { failure: None, counts };
            }
            Err(e) => {
                counts.failed += 1;
                let failure = Failure::permanent(format!("undecodable message: {e}"));
                log_message_failure(meta, &failure);
                return MessageOutcome { failure: Some(failure), counts };
            }
        };
        let mut failure: Option<Failure> = None;
        for item in items {
            match self.process_item(item, meta, inv).await {
                Ok(ItemOutcome::Processed { recorded, .. }) => {
                    counts.processed += 1;
                    counts.unrecorded += u32::from(!recorded);
                }
                Ok(ItemOutcome::Duplicate) => counts.duplicate += 1,
                Ok(ItemOutcome::Skipped(_)) => counts.skipped += 1,
                Err(f) => {
                    counts.failed += 1;
                    failure = Some(match failure {
                        Some(prev) => prev.merge(f),
                        None => f,
                    });
                }
            }
        }
        MessageOutcome { failure, counts }
    }

    /// One item through a clone of the stack. A panic in a layer fails the item alone.
    async fn process_item(&self, item: T, meta: &MessageMeta, inv: &Invocation) -> Result<ItemOutcome, Failure> {
        let key = match &self.key_fn {
            Some(f) => f(&item, meta),
            None => item.default_key(meta),
        };
        let timeline = Timeline {
            event_ms: item.event_time_ms(),
            published_ms: meta.published_at_ms,
            sent_ms: meta.sent_at_ms,
            received_ms: meta.first_received_at_ms,
            started_ms: sluice_clock::now_millis(),
        };
        let ctx = ItemContext {
            request_id: inv.request_id.clone(),
            trace: meta.trace,
            timeline,
            log_timeline: self.log_timeline,
            message_id: meta.message_id.clone(),
            idempotency_key: key.map(Arc::from),
            path: inv.path,
            receive_count: meta.receive_count,
            deadline: inv.deadline,
            processing_cutoff: inv.processing_cutoff,
            wrap_up_cutoff: inv.wrap_up_cutoff,
        };
        if let Some(age) = ctx.age() {
            inv.record_ages_ms.lock().unwrap_or_else(|e| e.into_inner()).push(age.as_millis() as u64);
        }
        let call = self.stack.clone().oneshot(ItemRequest { item, ctx });
        match AssertUnwindSafe(call).catch_unwind().await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(e)) => Err(Failure::new(e.is_retryable(), e.chain())),
            Err(panic) => Err(Failure::retryable(format!("an item layer panicked: {}", panic_message(&*panic)))),
        }
    }
}

/// Reads a trace header, or logs at debug why not: a malformed header never fails a message.
pub(crate) fn trace_header(source: &str, header: &str) -> Option<TraceContext> {
    TraceContext::parse(header).inspect_err(|error| tracing::debug!(source, %error, "trace header ignored")).ok()
}

/// The span a message runs in, and the trace calls made for it carry (`sluice_trace::current`
/// inside it).
///
/// A message whose trace is its own (an SQS message's sender's) runs in a span `message`
/// naming the request and that trace, so its lines name it. Any other message runs in the
/// invocation's span, which names the same trace: one span less per message, where log lines
/// cost the most. Once `otel::init` has run, every message gets its span (an exported one);
/// one with its own trace continues it, and the invocation span (the current one) links to it.
pub(crate) fn message_span(meta: &MessageMeta, inv: &Invocation) -> (tracing::Span, Option<TraceContext>) {
    let own = meta.trace.filter(|t| Some(t.trace_id) != inv.trace.map(|i| i.trace_id));
    #[cfg(feature = "otel")]
    if crate::otel::active() {
        let span = match meta.trace {
            Some(trace) => tracing::info_span!("message", requestId = &*inv.request_id, trace_id = %trace.trace_id),
            None => tracing::info_span!("message", requestId = &*inv.request_id),
        };
        if let Some(trace) = own {
            crate::otel::link(&tracing::Span::current(), &trace);
            crate::otel::continue_trace(&span, Some(&trace));
        }
        let outgoing = crate::otel::outgoing(&span, meta.trace);
        return (span, outgoing);
    }
    let span = match own {
        Some(trace) => tracing::info_span!("message", requestId = &*inv.request_id, trace_id = %trace.trace_id),
        None => tracing::Span::none(),
    };
    (span, meta.trace)
}

/// The span an invocation runs in, naming its request and trace. Without a trace there is
/// none: the lines keep the span `lambda_runtime` opens (its `requestId`). Once `otel::init`
/// has run there always is one, continuing the invocation's trace.
pub(crate) fn invocation_span(inv: &Invocation) -> tracing::Span {
    #[cfg(feature = "otel")]
    if crate::otel::active() {
        let span = match inv.trace {
            Some(trace) => tracing::info_span!("invocation", requestId = &*inv.request_id, trace_id = %trace.trace_id),
            None => tracing::info_span!("invocation", requestId = &*inv.request_id),
        };
        crate::otel::continue_trace(&span, inv.trace.as_ref());
        return span;
    }
    match inv.trace {
        Some(trace) => tracing::info_span!("invocation", requestId = &*inv.request_id, trace_id = %trace.trace_id),
        None => tracing::Span::none(),
    }
}

/// Exports the invocation's spans, now closed, before the handler answers (`otel` feature).
pub(crate) async fn flush_spans() {
    #[cfg(feature = "otel")]
    crate::otel::flush().await;
}

fn log_message_failure(meta: &MessageMeta, failure: &Failure) {
    tracing::warn!(
        message_id = %meta.message_id, outcome = failure.kind(), error = %failure.reason, "message failed"
    );
}
