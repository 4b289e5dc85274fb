//! Items that need no processing skip the rest of the stack, before any key is claimed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::{ItemOutcome, ItemRequest, ItemService};
use crate::processor::BoxError;

type SkipFn<T> = Arc<dyn Fn(&T) -> Option<std::borrow::Cow<'static, str>> + Send + Sync>;

/// Answers [`ItemOutcome::Skipped`] for items `skip_reason` names a reason for, without calling
/// the inner service. The builder makes one from [`crate::Processor::skip_reason`].
///
/// ```
/// use sluice::layers::SkipLayer;
/// use sluice_events::s3::S3ObjectEvent;
///
/// let layer = SkipLayer::new(|record: &S3ObjectEvent| {
///     (!record.is_object_created()).then(|| "not an ObjectCreated event".into())
/// });
/// # let _ = layer;
/// ```
pub struct SkipLayer<T> {
    skip_reason: SkipFn<T>,
}

impl<T> SkipLayer<T> {
    /// Skips the items for which `skip_reason` says why.
    pub fn new(skip_reason: impl Fn(&T) -> Option<std::borrow::Cow<'static, str>> + Send + Sync + 'static) -> Self {
        SkipLayer { skip_reason: Arc::new(skip_reason) }
    }
}

impl<T> Clone for SkipLayer<T> {
    fn clone(&self) -> Self {
        SkipLayer { skip_reason: self.skip_reason.clone() }
    }
}

impl<T, S> tower::Layer<S> for SkipLayer<T> {
    type Service = Skip<T, S>;

    fn layer(&self, inner: S) -> Skip<T, S> {
        Skip { inner, skip_reason: self.skip_reason.clone() }
    }
}

/// The service [`SkipLayer`] makes.
pub struct Skip<T, S> {
    inner: S,
    skip_reason: SkipFn<T>,
}

impl<T, S: Clone> Clone for Skip<T, S> {
    fn clone(&self) -> Self {
        Skip { inner: self.inner.clone(), skip_reason: self.skip_reason.clone() }
    }
}

impl<T, S> tower::Service<ItemRequest<T>> for Skip<T, S>
where
    T: Send + 'static,
    S: ItemService<T>,
{
    type Response = ItemOutcome;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<ItemOutcome, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: ItemRequest<T>) -> Self::Future {
        if let Some(reason) = (self.skip_reason)(&request.item) {
            return Box::pin(async move { Ok(ItemOutcome::Skipped(reason)) });
        }
        let call = self.inner.call(request);
        Box::pin(async move { call.await.map_err(Into::into) })
    }
}
