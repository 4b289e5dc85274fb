//! The builder both handlers share.
//!
//! `SqsBatchHandler::builder` and `SnsHandler::builder` return a [`HandlerBuilder`] whose
//! third type parameter says which handler it builds, so settings that only make sense for SQS
//! batches (concurrency, the all-failed policy) exist only on the SQS builder.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::dead_letter::DeadLetterSink;
use crate::engine::Engine;
use crate::item::{Item, MessageMeta};
use crate::processor::Processor;
use crate::report::EmfMetrics;
use crate::{Idempotency, SnsHandler, SqsBatchHandler};

/// Marker: the builder makes an [`SqsBatchHandler`].
#[derive(Debug)]
pub enum ForSqs {}
/// Marker: the builder makes an [`SnsHandler`].
#[derive(Debug)]
pub enum ForSns {}

/// Default number of records of one batch processed at once (an SQS batch holds up to 10 by
/// default: `BatchSize` default, Lambda Developer Guide, services-sqs-parameters).
pub const DEFAULT_CONCURRENCY: usize = 10;

/// Settings of a handler; see [`SqsBatchHandler::builder`] and [`SnsHandler::builder`].
pub struct HandlerBuilder<T, P, K> {
    pub(crate) engine: Engine<T, P>,
    pub(crate) dead_letters: Option<Arc<dyn DeadLetterSink>>,
    pub(crate) metrics: EmfMetrics,
    pub(crate) concurrency: usize,
    pub(crate) fail_when_all_fail: bool,
    kind: PhantomData<K>,
}

impl<T: Item, P: Processor<T>, K> HandlerBuilder<T, P, K> {
    pub(crate) fn new(processor: P, idempotency: Idempotency) -> Self {
        HandlerBuilder {
            engine: Engine::new(processor, idempotency),
            dead_letters: None,
            metrics: EmfMetrics::disabled(),
            concurrency: DEFAULT_CONCURRENCY,
            fail_when_all_fail: false,
            kind: PhantomData,
        }
    }

    /// No item starts when less than `margin` is left before the invocation deadline; it is
    /// reported failed and redelivered instead (default 1 s; never less than the finish
    /// reserve).
    pub fn deadline_margin(mut self, margin: Duration) -> Self {
        self.engine.timing.margin = margin;
        self
    }

    /// Items still running `reserve` before the deadline are abandoned and reported failed, so
    /// the handler answers before Lambda times it out (default 500 ms). Storing outputs,
    /// releasing claims and dead-letter sends get until a fifth of it before the deadline.
    pub fn finish_reserve(mut self, reserve: Duration) -> Self {
        self.engine.timing.finish_reserve = reserve;
        self
    }

    /// Names each item's idempotency key, instead of [`Item::default_key`].
    pub fn idempotency_key(mut self, key: impl Fn(&T, &MessageMeta) -> Option<String> + Send + Sync + 'static) -> Self {
        self.engine.key_fn = Some(Arc::new(key));
        self
    }

    /// Sends permanently failed messages to `sink` and counts them as handled.
    pub fn dead_letter_queue(mut self, sink: impl DeadLetterSink) -> Self {
        self.dead_letters = Some(Arc::new(sink));
        self
    }

    /// Emits one CloudWatch EMF line per invocation (default: none).
    pub fn metrics(mut self, metrics: EmfMetrics) -> Self {
        self.metrics = metrics;
        self
    }
}

impl<T: Item, P: Processor<T>> HandlerBuilder<T, P, ForSqs> {
    /// How many records of a batch are processed at once (default 10, at least 1). FIFO message
    /// groups count as one each: a group's records always run one after another.
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// When every record fails, return an error instead of a partial response listing them all.
    ///
    /// The default (a partial response) keeps Lambda's SQS poller from scaling down on a burst
    /// of failures; the error makes the failure visible in the `Errors` metric.
    pub fn fail_invocation_when_all_fail(mut self, yes: bool) -> Self {
        self.fail_when_all_fail = yes;
        self
    }

    /// The handler.
    pub fn build(self) -> SqsBatchHandler<T, P> {
        SqsBatchHandler::from_builder(self)
    }
}

impl<T: Item, P: Processor<T>> HandlerBuilder<T, P, ForSns> {
    /// The handler.
    pub fn build(self) -> SnsHandler<T, P> {
        SnsHandler::from_builder(self)
    }
}
