//! One log line per item: what became of it, how long it took, under which key.

use std::task::{Context, Poll};

use tokio::time::Instant;

use super::{ItemFuture, ItemOutcome, ItemRequest, ItemService, forward, process_error};
use crate::item::Item;
use crate::processor::{ProcessError, Timeline};

/// Logs each item's end: `item done` (processed or duplicate, at info), `item skipped` (info)
/// or `item failed` (warn), with the message id, the item's label, its idempotency key, the
/// outcome, the duration in milliseconds and the item's age when it started (`age_ms`). With
/// `HandlerBuilder::log_timeline`, an item done also names its [`Timeline`](crate::Timeline):
/// `event_ms`, `published_ms`, `sent_ms`, `received_ms` (its start is the line's timestamp
/// minus `duration_ms`).
///
/// ```
/// use sluice::layers::ItemLogLayer;
///
/// let layer = ItemLogLayer;
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ItemLogLayer;

impl<S> tower::Layer<S> for ItemLogLayer {
    type Service = ItemLog<S>;

    fn layer(&self, inner: S) -> ItemLog<S> {
        ItemLog { inner }
    }
}

/// The service [`ItemLogLayer`] makes.
#[derive(Debug, Clone)]
pub struct ItemLog<S> {
    inner: S,
}

impl<T, S> tower::Service<ItemRequest<T>> for ItemLog<S>
where
    T: Item,
    S: ItemService<T>,
{
    type Response = ItemOutcome;
    type Error = ProcessError;
    type Future = ItemFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ProcessError>> {
        self.inner.poll_ready(cx).map_err(process_error)
    }

    fn call(&mut self, request: ItemRequest<T>) -> Self::Future {
        // Its lines are at INFO (done, skipped) and WARN (failed): with neither enabled, the
        // label, key and age are not worth building.
        if !tracing::enabled!(tracing::Level::WARN) {
            return forward(&mut self.inner, request);
        }
        let started = Instant::now();
        let label = request.item.label().unwrap_or_default();
        let message_id = request.ctx.message_id.clone();
        let key = request.ctx.idempotency_key.clone().unwrap_or_else(|| "".into());
        let age_ms = request.ctx.age().map(|age| age.as_millis() as u64);
        let t = if request.ctx.log_timeline { request.ctx.timeline } else { Timeline::default() };
        let call = self.inner.call(request);
        Box::pin(async move {
            let result = call.await.map_err(process_error);
            let duration_ms = started.elapsed().as_millis() as u64;
            let key = &*key;
            match &result {
                Err(e) => {
                    let outcome = if e.is_retryable() { "failed_retryable" } else { "failed_permanent" };
                    tracing::warn!(
                        %message_id, key = label, idempotency_key = key, outcome, duration_ms, age_ms,
                        error = %e.chain(), "item failed"
                    );
                }
                Ok(ItemOutcome::Skipped(reason)) => tracing::info!(
                    %message_id, key = label, outcome = "skipped", duration_ms, age_ms, reason = %reason, "item skipped"
                ),
                Ok(done) => tracing::info!(
                    %message_id, key = label, idempotency_key = key, outcome = done.name(), duration_ms, age_ms,
                    event_ms = t.event_ms, published_ms = t.published_ms, sent_ms = t.sent_ms, received_ms = t.received_ms,
                    "item done"
                ),
            }
            result
        })
    }
}
