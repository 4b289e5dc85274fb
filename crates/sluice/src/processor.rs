//! The one thing a worker author writes: the processing of one item.
//!
//! A handler decodes each message into items (an S3 record, or one user value), runs the
//! processor on each item under an idempotency claim, and turns the results into what the
//! event source understands. The processor only says whether it succeeded, and if not, whether
//! trying again could help: a [`ProcessError::Retryable`] error (a throttled call, a timeout)
//! leaves the message to be redelivered; a [`ProcessError::Permanent`] one (a missing object, a
//! malformed document) is poison that no retry can fix, and can go straight to a dead-letter
//! queue instead of burning the queue's `maxReceiveCount`.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::Deadline;

/// A boxed error, the error type of user code.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why processing one item failed, and whether a retry could succeed.
///
/// ```
/// use sluice::ProcessError;
///
/// let e = ProcessError::permanent("object is larger than MAX_OBJECT_BYTES");
/// assert!(!e.is_retryable());
/// assert_eq!(e.to_string(), "permanent: object is larger than MAX_OBJECT_BYTES");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// Transient: the same item may succeed later (throttling, timeouts, 5xx).
    #[error("retryable: {0}")]
    Retryable(#[source] BoxError),
    /// Poison: the same item will fail again (bad input, missing object, 4xx).
    #[error("permanent: {0}")]
    Permanent(#[source] BoxError),
    /// Not a failure: the processor found that the item needs no processing, now or ever (for
    /// example, the object it describes was replaced). Counted as skipped, and recorded in the
    /// idempotency store so duplicates skip it too.
    #[error("skipped: {0}")]
    Skip(String),
}

impl ProcessError {
    /// A transient failure.
    pub fn retryable(error: impl Into<BoxError>) -> Self {
        ProcessError::Retryable(error.into())
    }

    /// A failure no retry can fix.
    pub fn permanent(error: impl Into<BoxError>) -> Self {
        ProcessError::Permanent(error.into())
    }

    /// The item needs no processing, for `reason`.
    ///
    /// ```
    /// let skip = sluice::ProcessError::skip("superseded by a newer upload");
    /// assert!(!skip.is_retryable());
    /// ```
    pub fn skip(reason: impl Into<String>) -> Self {
        ProcessError::Skip(reason.into())
    }

    /// True for [`ProcessError::Retryable`].
    pub fn is_retryable(&self) -> bool {
        matches!(self, ProcessError::Retryable(_))
    }

    /// The error with its whole source chain, `outer: inner: root`.
    pub fn chain(&self) -> String {
        match self {
            ProcessError::Retryable(e) | ProcessError::Permanent(e) => sluice_retry::error_chain(e.as_ref()),
            ProcessError::Skip(reason) => reason.clone(),
        }
    }
}

/// Which delivery path an item came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Path {
    /// S3 -> SNS -> SQS -> Lambda (event source mapping, batches).
    Sqs,
    /// S3 -> SNS -> Lambda (asynchronous invocation, one event at a time).
    Sns,
    /// A Kinesis data stream -> Lambda (event source mapping, batches of one shard).
    Kinesis,
    /// A DynamoDB table's stream -> Lambda (event source mapping, batches of one shard).
    DynamoDbStreams,
}

impl Path {
    /// `"sqs"`, `"sns"`, `"kinesis"` or `"dynamodb-streams"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Path::Sqs => "sqs",
            Path::Sns => "sns",
            Path::Kinesis => "kinesis",
            Path::DynamoDbStreams => "dynamodb-streams",
        }
    }
}

/// When an item passed each hop of its path, in epoch milliseconds: the item's `done` log line
/// carries them (`event_ms`, `published_ms`, `sent_ms`, `received_ms`; the start is the line's
/// timestamp minus its `duration_ms`), so the time between the upload and the worker can be
/// broken down hop by hop.
///
/// ```
/// let mut timeline = sluice::Timeline::default();
/// (timeline.event_ms, timeline.published_ms) = (Some(1_000), Some(1_040));
/// assert_eq!(timeline.entered_ms(), Some(1_040));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeline {
    /// The event's own time (an S3 event's `eventTime`).
    pub event_ms: Option<u64>,
    /// SNS published it (`Timestamp`).
    pub published_ms: Option<u64>,
    /// SQS received it (`SentTimestamp`).
    pub sent_ms: Option<u64>,
    /// SQS first handed it to a consumer (`ApproximateFirstReceiveTimestamp`).
    pub received_ms: Option<u64>,
    /// The worker started it.
    pub started_ms: u64,
}

impl Timeline {
    /// When the item entered its last hop before this worker: SQS's `SentTimestamp`, else the
    /// SNS `Timestamp`, else the event's time. Its age counts from here.
    pub fn entered_ms(&self) -> Option<u64> {
        self.sent_ms.or(self.published_ms).or(self.event_ms)
    }
}

/// What a processor knows about the item it is processing.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ItemContext {
    /// The Lambda request id of this invocation.
    pub request_id: Arc<str>,
    /// The SQS message id, or the SNS message id on the direct path.
    pub message_id: Arc<str>,
    /// The item's idempotency key as its key function names it, without the store's key
    /// prefix (`None` when there is none). It identifies the work, not the function: renaming
    /// the function or its key prefix does not change it.
    pub idempotency_key: Option<Arc<str>>,
    /// The path the item came through.
    pub path: Path,
    /// How many times SQS has delivered this message (1 on the first delivery; `None` on SNS).
    pub receive_count: Option<u32>,
    /// The invocation deadline.
    pub deadline: Deadline,
    /// The trace calls made for this item continue ([`MessageMeta::trace`](crate::MessageMeta)).
    /// The handler also makes it [`sluice_trace::current`] while the item runs, so the AWS SDK
    /// interceptor and HTTP middleware find it without being handed it.
    pub trace: Option<sluice_trace::TraceContext>,
    /// When the item passed each hop before this worker, and when it started here.
    pub timeline: Timeline,
    /// The timeline goes on the item's `item done` line (`HandlerBuilder::log_timeline`).
    pub(crate) log_timeline: bool,
    /// Items still running then are abandoned.
    pub(crate) processing_cutoff: Instant,
    /// Store and dead-letter calls still running then are abandoned, and the handler answers.
    pub(crate) wrap_up_cutoff: Instant,
}

impl ItemContext {
    /// How old the item was when it started: its start minus [`Timeline::entered_ms`] (SQS's
    /// `SentTimestamp`, the SNS `Timestamp` or the S3 `eventTime`, the first the message has).
    pub fn age(&self) -> Option<Duration> {
        let from = self.timeline.entered_ms()?;
        Some(Duration::from_millis(self.timeline.started_ms.saturating_sub(from)))
    }

    /// Time left before the invocation deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.remaining()
    }

    /// When an item still running is abandoned: the handler's finish reserve before the
    /// deadline ([`crate::HandlerBuilder::finish_reserve`]).
    pub fn processing_cutoff(&self) -> Instant {
        self.processing_cutoff
    }

    /// When the bookkeeping after an item (storing its output, releasing its claim) must be
    /// done, a fifth of the finish reserve before the deadline.
    pub fn wrap_up_cutoff(&self) -> Instant {
        self.wrap_up_cutoff
    }
}

/// Processes one item of type `T`.
///
/// Implement it for a worker struct (clients, configuration), or wrap a closure with
/// [`processor_fn`].
///
/// ```
/// use sluice::{ItemContext, ProcessError, Processor};
/// use sluice_events::s3::S3ObjectEvent;
///
/// struct Sizes;
///
/// impl Processor<S3ObjectEvent> for Sizes {
///     type Output = u64;
///
///     async fn process(&self, record: S3ObjectEvent, _ctx: ItemContext) -> Result<u64, ProcessError> {
///         record.size.ok_or_else(|| ProcessError::permanent("the event has no size"))
///     }
///
///     fn skip_reason(&self, record: &S3ObjectEvent) -> Option<std::borrow::Cow<'static, str>> {
///         (!record.is_object_created()).then(|| "not an ObjectCreated event".into())
///     }
/// }
/// ```
pub trait Processor<T>: Send + Sync + 'static {
    /// What a successful run produces; stored as JSON in the idempotency record.
    type Output: Serialize + Send + 'static;

    /// Processes one item.
    fn process(&self, item: T, ctx: ItemContext) -> impl Future<Output = Result<Self::Output, ProcessError>> + Send;

    /// `Some(reason)` to skip an item without processing it (counted as skipped, never failed).
    fn skip_reason(&self, item: &T) -> Option<Cow<'static, str>> {
        let _ = item;
        None
    }
}

/// A [`Processor`] made from an async closure; see [`processor_fn`].
#[derive(Clone, Copy, Debug)]
pub struct ProcessorFn<F>(F);

/// Wraps `f(item, ctx)` as a [`Processor`].
///
/// ```
/// use sluice::{processor_fn, ProcessError};
/// use sluice_events::Json;
///
/// #[derive(serde::Deserialize)]
/// struct Order { id: u64 }
///
/// let processor = processor_fn(|Json(order): Json<Order>, _ctx: sluice::ItemContext| async move {
///     if order.id == 0 {
///         return Err(ProcessError::permanent("order id 0 is invalid"));
///     }
///     Ok(order.id)
/// });
/// # let _ = processor;
/// ```
pub fn processor_fn<F>(f: F) -> ProcessorFn<F> {
    ProcessorFn(f)
}

impl<T, F, Fut, O> Processor<T> for ProcessorFn<F>
where
    F: Fn(T, ItemContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, ProcessError>> + Send,
    O: Serialize + Send + 'static,
{
    type Output = O;

    fn process(&self, item: T, ctx: ItemContext) -> impl Future<Output = Result<O, ProcessError>> + Send {
        (self.0)(item, ctx)
    }
}
