//! Each item under its idempotency claim: claimed before it runs, its lease held while it runs,
//! its result stored (or its claim released) after.

use std::task::{Context, Poll};

use tracing::Instrument;

use super::{ItemFuture, ItemOutcome, ItemRequest, ItemService, forward, process_error};
use crate::Idempotency;
use crate::export::exported_span;
use crate::idempotency::{Admission, Completion};
use crate::item::Item;
use crate::processor::ProcessError;

/// Runs each item under a claim on its key in `idempotency`'s store.
///
/// - a completed key answers [`ItemOutcome::Duplicate`] without calling the inner service;
/// - a key in progress elsewhere, or seen with another payload fingerprint, fails the item
///   (retryable, resp. permanent);
/// - while the inner service runs, the claim's lease is renewed every third of a lease; a
///   renewal that finds the claim taken over stops the item (retryable);
/// - a success is stored with its output, a skip as `{"skipped": reason}`, a failure releases
///   the claim; these calls get until the wrap-up cutoff.
///
/// ```
/// use sluice::Idempotency;
/// use sluice::layers::IdempotencyLayer;
/// use sluice_idempotency::MemoryStore;
///
/// let layer = IdempotencyLayer::new(Idempotency::new(MemoryStore::new()).key_prefix("orders"));
/// # let _ = layer;
/// ```
#[derive(Debug, Clone)]
pub struct IdempotencyLayer {
    idempotency: Idempotency,
}

impl IdempotencyLayer {
    /// Claims keys in `idempotency`'s store.
    pub fn new(idempotency: Idempotency) -> Self {
        IdempotencyLayer { idempotency }
    }
}

impl<S> tower::Layer<S> for IdempotencyLayer {
    type Service = IdempotentItem<S>;

    fn layer(&self, inner: S) -> IdempotentItem<S> {
        IdempotentItem { inner, idempotency: self.idempotency.clone() }
    }
}

/// The service [`IdempotencyLayer`] makes.
#[derive(Debug, Clone)]
pub struct IdempotentItem<S> {
    inner: S,
    idempotency: Idempotency,
}

impl<T, S> tower::Service<ItemRequest<T>> for IdempotentItem<S>
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

    fn call(&mut self, mut request: ItemRequest<T>) -> Self::Future {
        if !self.idempotency.is_enabled() {
            // Nothing to claim or record: the key stays as it is (`Idempotency::admit` would
            // hand it back unchanged), and the item goes straight on.
            return forward(&mut self.inner, request);
        }
        // The inner service was made ready for this call: take it, leave a clone for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let idempotency = self.idempotency.clone();
        Box::pin(async move {
            let ctx = &request.ctx;
            let (deadline, cutoff, wrap_up) = (ctx.deadline, ctx.processing_cutoff(), ctx.wrap_up_cutoff());
            let key = ctx.idempotency_key.as_deref().map(str::to_owned);
            let fingerprint = request.item.fingerprint();
            // Spans for the `otel` export only (`crate::export`).
            let claim = idempotency.admit(key, fingerprint.as_deref(), &deadline, cutoff);
            let lease = match claim.instrument(exported_span!("claim")).await {
                Admission::Run { lease, key } => {
                    request.ctx.idempotency_key = key;
                    lease
                }
                Admission::Duplicate { .. } => return Ok(ItemOutcome::Duplicate),
                Admission::Refused { retryable: true, reason } => return Err(ProcessError::retryable(reason)),
                Admission::Refused { retryable: false, reason } => return Err(ProcessError::permanent(reason)),
            };
            let Some(lease) = lease else {
                return inner.call(request).await.map_err(process_error);
            };
            let result = match idempotency.hold(&lease, &deadline, inner.call(request)).await {
                Ok(result) => result.map_err(process_error),
                Err(lost) => Err(ProcessError::retryable(format!("claim lost while processing, {lost}"))),
            };
            match result {
                Ok(ItemOutcome::Processed { output, .. }) => {
                    let stored = output.to_string();
                    let complete = idempotency.complete(&lease, &stored, wrap_up);
                    let completion = complete.instrument(exported_span!("complete")).await;
                    Ok(ItemOutcome::Processed { output, recorded: completion == Completion::Recorded })
                }
                Ok(ItemOutcome::Skipped(reason)) => {
                    // Nothing to do for this item, now or later: record that, so duplicates skip too.
                    let json = serde_json::json!({ "skipped": reason }).to_string();
                    idempotency.complete(&lease, &json, wrap_up).instrument(exported_span!("complete")).await;
                    Ok(ItemOutcome::Skipped(reason))
                }
                Ok(other) => {
                    idempotency.release(&lease, wrap_up).instrument(exported_span!("release")).await;
                    Ok(other)
                }
                Err(e) => {
                    idempotency.release(&lease, wrap_up).instrument(exported_span!("release")).await;
                    Err(e)
                }
            }
        })
    }
}
