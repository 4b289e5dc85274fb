//! Processing one item is a `tower::Service`; what sluice adds around it are `tower::Layer`s.
//!
//! A handler turns each message into [`ItemRequest`]s and sends each through an *item stack*:
//! a service answering with an [`ItemOutcome`] or an error. The builder composes the stack from
//! the outside in:
//!
//! ```text
//! ItemLogLayer        one log line per item: outcome, duration, key
//!   SkipLayer         items the processor says to skip never claim a key
//!     IdempotencyLayer  claim the key, hold its lease, store the result or release
//!       DeadlineLayer     refuse to start too late; abandon what runs into the finish reserve
//!         your layers     e.g. tower::limit::RateLimitLayer, added with HandlerBuilder::layer
//!           ProcessorService  your Processor, panics caught
//! ```
//!
//! Each layer is public, so a stack can be composed differently with `tower::ServiceBuilder` and
//! handed to [`crate::SqsBatchHandler::from_item_service`]. Your layers sit inside the deadline
//! guard: time spent waiting in a rate limiter counts against the invocation, and an item
//! abandoned there is released and redelivered.
//!
//! Two things are not item layers, because they are about messages and invocations, not items:
//! dead-letter diversion (an undecodable message never becomes an item, yet it must reach the
//! DLQ) and the per-invocation EMF metrics. Both stay handler settings
//! ([`crate::HandlerBuilder::dead_letter_queue`], [`crate::HandlerBuilder::metrics`]).
//!
//! Errors: the layers accept any inner error that converts into a [`BoxError`]. A
//! [`ProcessError`] keeps its meaning; any other error (a tower `Elapsed`, a buffer closed, a
//! load shedder's `Overloaded`) counts as retryable, since nothing says it is poison.

use std::borrow::Cow;

use crate::processor::{BoxError, ItemContext, ProcessError};

mod deadline;
mod idempotency;
mod log;
mod processor;
mod skip;

pub use deadline::{DeadlineGuard, DeadlineLayer};
pub use idempotency::{IdempotencyLayer, IdempotentItem};
pub use log::{ItemLog, ItemLogLayer};
pub use processor::ProcessorService;
pub(crate) use processor::panic_message;
pub use skip::{Skip, SkipLayer};

/// An item service: a `tower::Service` that takes [`ItemRequest`]s and answers with an
/// [`ItemOutcome`], with any error that converts into a [`BoxError`], cloneable and shareable
/// across the items of a batch and across concurrent invocations. Implemented for every
/// service that is all that; the sluice layers take one and make one.
///
/// ```
/// use sluice::layers::{ItemService, ProcessorService};
/// use sluice_events::Json;
///
/// fn check<S: ItemService<Json<u32>>>(_: &S) {}
/// check(&ProcessorService::new(sluice::processor_fn(|Json(n): Json<u32>, _ctx| async move { Ok(n) })));
/// ```
pub trait ItemService<T>:
    tower::Service<ItemRequest<T>, Response = ItemOutcome, Error: Into<BoxError>, Future: Send + 'static>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T, S> ItemService<T> for S where
    S: tower::Service<ItemRequest<T>, Response = ItemOutcome, Error: Into<BoxError>, Future: Send + 'static>
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// The future the sluice layers answer with.
pub type ItemFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Result<ItemOutcome, ProcessError>> + Send>>;

/// One item on its way through the item stack.
#[derive(Debug)]
#[non_exhaustive]
pub struct ItemRequest<T> {
    /// The item, decoded from its message.
    pub item: T,
    /// What the processor will know about it.
    pub ctx: ItemContext,
}

/// What became of an item that did not fail.
///
/// ```
/// use sluice::layers::ItemOutcome;
///
/// let outcome = ItemOutcome::Processed { output: serde_json::json!(42), recorded: true };
/// assert_eq!(outcome.name(), "processed");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ItemOutcome {
    /// The processor succeeded with `output`. `recorded` is false when the idempotency record
    /// could not be completed in time (a later duplicate may then run it again).
    Processed {
        /// The processor's output, as JSON.
        output: serde_json::Value,
        /// Whether the idempotency store holds the completion.
        recorded: bool,
    },
    /// Another delivery already completed it; the stored output was not recomputed.
    Duplicate,
    /// Nothing to do, for this reason.
    Skipped(Cow<'static, str>),
}

impl ItemOutcome {
    /// `processed`, `duplicate` or `skipped`, as the logs say.
    pub fn name(&self) -> &'static str {
        match self {
            ItemOutcome::Processed { .. } => "processed",
            ItemOutcome::Duplicate => "duplicate",
            ItemOutcome::Skipped(_) => "skipped",
        }
    }
}

/// Sends `request` on to `inner` untouched, for a layer with nothing to do for it.
pub(crate) fn forward<T, S: ItemService<T>>(inner: &mut S, request: ItemRequest<T>) -> ItemFuture {
    let call = inner.call(request);
    Box::pin(async move { call.await.map_err(process_error) })
}

/// An item stack's error as a [`ProcessError`]: a `ProcessError` as it was, anything else
/// retryable.
///
/// ```
/// use sluice::layers::process_error;
///
/// let overloaded: sluice::BoxError = "service overloaded".into();
/// assert!(process_error(overloaded).is_retryable());
/// let poison: sluice::BoxError = Box::new(sluice::ProcessError::permanent("bad input"));
/// assert!(!process_error(poison).is_retryable());
/// ```
pub fn process_error(error: impl Into<BoxError>) -> ProcessError {
    let error = error.into();
    match error.downcast::<ProcessError>() {
        Ok(e) => *e,
        Err(other) => ProcessError::Retryable(other),
    }
}
