//! The innermost service: a [`Processor`] run on one item.

use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::FutureExt;
use tracing::Instrument;

use super::{ItemFuture, ItemOutcome, ItemRequest};
use crate::export::exported_span;
use crate::processor::{ProcessError, Processor};

/// A [`Processor`] as a `tower::Service` over [`ItemRequest`]s: the bottom of an item stack.
///
/// A panic in the processor becomes a retryable failure of its item alone, and
/// [`ProcessError::Skip`] becomes [`ItemOutcome::Skipped`].
///
/// ```
/// use sluice::layers::ProcessorService;
/// use sluice::{processor_fn, ItemContext, ProcessError};
/// use sluice_events::s3::S3ObjectEvent;
///
/// let sizes = processor_fn(|record: S3ObjectEvent, _ctx: ItemContext| async move {
///     record.size.ok_or_else(|| ProcessError::permanent("no size in the event"))
/// });
/// let service: ProcessorService<S3ObjectEvent, _> = ProcessorService::new(sizes);
/// # let _ = service;
/// ```
pub struct ProcessorService<T, P> {
    processor: Arc<P>,
    _item: PhantomData<fn(T)>,
}

impl<T, P> ProcessorService<T, P> {
    /// Runs `processor`.
    pub fn new(processor: P) -> Self {
        ProcessorService { processor: Arc::new(processor), _item: PhantomData }
    }

    /// The processor.
    pub fn processor(&self) -> &Arc<P> {
        &self.processor
    }
}

impl<T, P> Clone for ProcessorService<T, P> {
    fn clone(&self) -> Self {
        ProcessorService { processor: self.processor.clone(), _item: PhantomData }
    }
}

impl<T: Send + 'static, P: Processor<T>> tower::Service<ItemRequest<T>> for ProcessorService<T, P> {
    type Response = ItemOutcome;
    type Error = ProcessError;
    type Future = ItemFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), ProcessError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: ItemRequest<T>) -> Self::Future {
        let processor = self.processor.clone();
        Box::pin(async move {
            // A span for the `otel` export only (`crate::export`).
            let span = exported_span!("process");
            let run =
                AssertUnwindSafe(processor.process(request.item, request.ctx)).catch_unwind().instrument(span).await;
            match run {
                Ok(Ok(output)) => {
                    let output = serde_json::to_value(&output).unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "output is not serialisable; storing null");
                        serde_json::Value::Null
                    });
                    Ok(ItemOutcome::Processed { output, recorded: true })
                }
                Ok(Err(ProcessError::Skip(reason))) => Ok(ItemOutcome::Skipped(reason.into())),
                Ok(Err(e)) => Err(e),
                Err(panic) => Err(ProcessError::retryable(format!("processor panicked: {}", panic_message(&*panic)))),
            }
        })
    }
}

/// The text of a panic payload.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}
