//! The invocation deadline, item by item: no start too late, no item running into the time the
//! handler needs to answer.

use std::task::{Context, Poll};
use std::time::Duration;

use super::{ItemFuture, ItemOutcome, ItemRequest, ItemService, process_error};
use crate::deadline::DEFAULT_DEADLINE_MARGIN;
use crate::processor::ProcessError;

/// Refuses to start an item with less than `margin` left before the invocation deadline, and
/// abandons one still running at the processing cutoff (the handler's finish reserve before the
/// deadline). Both are retryable failures: the item is redelivered, never dropped. A timeout
/// would fail and redeliver the whole batch instead.
///
/// ```
/// use std::time::Duration;
/// use sluice::layers::DeadlineLayer;
///
/// let layer = DeadlineLayer::new(Duration::from_secs(2));
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct DeadlineLayer {
    margin: Duration,
}

impl DeadlineLayer {
    /// No item starts with less than `margin` left.
    pub fn new(margin: Duration) -> Self {
        DeadlineLayer { margin }
    }
}

impl Default for DeadlineLayer {
    fn default() -> Self {
        DeadlineLayer::new(DEFAULT_DEADLINE_MARGIN)
    }
}

impl<S> tower::Layer<S> for DeadlineLayer {
    type Service = DeadlineGuard<S>;

    fn layer(&self, inner: S) -> DeadlineGuard<S> {
        DeadlineGuard { inner, margin: self.margin }
    }
}

/// The service [`DeadlineLayer`] makes.
#[derive(Debug, Clone)]
pub struct DeadlineGuard<S> {
    inner: S,
    margin: Duration,
}

impl<T, S> tower::Service<ItemRequest<T>> for DeadlineGuard<S>
where
    T: Send + 'static,
    S: ItemService<T>,
{
    type Response = ItemOutcome;
    type Error = ProcessError;
    type Future = ItemFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ProcessError>> {
        self.inner.poll_ready(cx).map_err(process_error)
    }

    fn call(&mut self, request: ItemRequest<T>) -> Self::Future {
        let ctx = &request.ctx;
        let cutoff = ctx.processing_cutoff();
        let reserve = ctx.deadline.instant().saturating_duration_since(cutoff);
        if let Some(refusal) = ctx.deadline.start_refusal(self.margin.max(reserve)) {
            return Box::pin(async move { Err(ProcessError::retryable(refusal)) });
        }
        let call = self.inner.call(request);
        Box::pin(async move {
            match tokio::time::timeout_at(cutoff, call).await {
                Ok(result) => result.map_err(process_error),
                Err(_) => Err(ProcessError::retryable(format!(
                    "abandoned {} ms before the invocation deadline; it will be redelivered",
                    reserve.as_millis()
                ))),
            }
        })
    }
}
