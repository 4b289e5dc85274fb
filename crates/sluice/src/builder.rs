//! The builder both handlers share.
//!
//! `SqsBatchHandler::builder` and `SnsHandler::builder` return a [`HandlerBuilder`] whose
//! third type parameter says which handler it builds, so settings that only make sense for SQS
//! batches (batch concurrency, the all-failed policy) exist only on the SQS builder. Its second
//! type parameter is the item service so far: your processor, and the layers you added around
//! it with [`HandlerBuilder::layer`].

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt};

use crate::dead_letter::DeadLetterSink;
use crate::engine::{Engine, KeyFn, Timing};
use crate::item::{Item, MessageMeta};
use crate::layers::{
    DeadlineLayer, IdempotencyLayer, ItemLogLayer, ItemService, ProcessorService, SkipLayer, process_error,
};
use crate::parts::HandlerParts;
use crate::processor::Processor;
use crate::report::EmfMetrics;
use crate::{Idempotency, SnsHandler, SqsBatchHandler};
use sluice_events::Payload;

/// Marker: the builder makes an [`SqsBatchHandler`].
#[derive(Debug)]
pub enum ForSqs {}
/// Marker: the builder makes an [`SnsHandler`].
#[derive(Debug)]
pub enum ForSns {}
/// Marker: the builder makes a [`KinesisBatchHandler`](crate::KinesisBatchHandler).
#[cfg(feature = "kinesis")]
#[derive(Debug)]
pub enum ForKinesis {}
/// Marker: the builder makes a [`DynamoDbStreamHandler`](crate::DynamoDbStreamHandler).
#[cfg(feature = "dynamodb-streams")]
#[derive(Debug)]
pub enum ForDynamoDbStreams {}

/// Default number of messages of one batch processed at once (an SQS batch holds up to 10 by
/// default: `BatchSize` default, Lambda Developer Guide, services-sqs-parameters).
pub const DEFAULT_BATCH_CONCURRENCY: usize = 10;

/// Which layers the builder puts around the item service.
enum Layers<T> {
    /// Item log, skip, idempotency and deadline guard, as [`crate::layers`] draws them.
    Sluice { skip: SkipLayer<T>, idempotency: Idempotency },
    /// None: the item service is a whole stack already.
    Given,
}

/// Settings of a handler; see [`SqsBatchHandler::builder`] and [`SnsHandler::builder`].
pub struct HandlerBuilder<T, S, K> {
    service: S,
    layers: Layers<T>,
    key_fn: Option<KeyFn<T>>,
    timing: Timing,
    dead_letters: Option<Arc<dyn DeadLetterSink>>,
    metrics: EmfMetrics,
    batch_concurrency: usize,
    fail_when_all_fail: bool,
    log_timeline: bool,
    kind: PhantomData<K>,
}

impl<T: Item, P: Processor<T>, K> HandlerBuilder<T, ProcessorService<T, P>, K> {
    pub(crate) fn new(processor: P, idempotency: Idempotency) -> Self {
        let service = ProcessorService::new(processor);
        let processor = service.processor().clone();
        let skip = SkipLayer::new(move |item: &T| processor.skip_reason(item));
        Self::with(service, Layers::Sluice { skip, idempotency })
    }
}

impl<T: Item, S, K> HandlerBuilder<T, S, K> {
    fn with(service: S, layers: Layers<T>) -> Self {
        HandlerBuilder {
            service,
            layers,
            key_fn: None,
            timing: Timing::default(),
            dead_letters: None,
            metrics: EmfMetrics::disabled(),
            batch_concurrency: DEFAULT_BATCH_CONCURRENCY,
            fail_when_all_fail: false,
            log_timeline: false,
            kind: PhantomData,
        }
    }

    /// A builder for a handler that sends items through `service` as it is: a whole item stack,
    /// composed with `tower::ServiceBuilder` from [`crate::layers`] and your own.
    pub(crate) fn given(service: S) -> Self {
        Self::with(service, Layers::Given)
    }

    /// Wraps the item service so far in `layer`: inside the deadline guard and the
    /// idempotency claim, around the processor and the layers added before.
    ///
    /// A layer whose service is not `Clone` (tower's `RateLimit`) goes behind a
    /// `tower::buffer::BufferLayer`, so that every item of a batch shares it:
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use sluice::{processor_fn, Idempotency, SqsBatchHandler};
    /// use sluice_events::s3::S3ObjectEvent;
    /// use sluice_idempotency::MemoryStore;
    /// use tower::ServiceBuilder;
    ///
    /// #[tokio::main]
    /// async fn main() -> Result<(), lambda_runtime::Error> {
    ///     let processor = processor_fn(|record: S3ObjectEvent, _ctx| async move { Ok(record.size) });
    ///     let handler = SqsBatchHandler::builder(processor, Idempotency::new(MemoryStore::new()))
    ///         // at most 5 calls to the partner API per second, across the batch
    ///         .layer(ServiceBuilder::new().buffer(16).rate_limit(5, Duration::from_secs(1)).into_inner())
    ///         .build();
    ///     lambda_runtime::run(handler).await
    /// }
    /// ```
    pub fn layer<L: tower::Layer<S>>(self, layer: L) -> HandlerBuilder<T, L::Service, K> {
        HandlerBuilder {
            service: layer.layer(self.service),
            layers: self.layers,
            key_fn: self.key_fn,
            timing: self.timing,
            dead_letters: self.dead_letters,
            metrics: self.metrics,
            batch_concurrency: self.batch_concurrency,
            fail_when_all_fail: self.fail_when_all_fail,
            log_timeline: self.log_timeline,
            kind: self.kind,
        }
    }

    /// No item starts when less than `margin` is left before the invocation deadline; it is
    /// reported failed and redelivered instead (default 1 s; never less than the finish
    /// reserve).
    pub fn deadline_margin(mut self, margin: Duration) -> Self {
        self.timing.margin = margin;
        self
    }

    /// Items still running `reserve` before the deadline are abandoned and reported failed, so
    /// the handler answers before Lambda times it out (default 500 ms). Storing outputs,
    /// releasing claims and dead-letter sends get until a fifth of it before the deadline.
    pub fn finish_reserve(mut self, reserve: Duration) -> Self {
        self.timing.finish_reserve = reserve;
        self
    }

    /// Puts each item's [`Timeline`](crate::Timeline) on its `item done` line: `event_ms`,
    /// `published_ms`, `sent_ms`, `received_ms` (default off: four fields on every line). With
    /// them, the time between an upload and the worker breaks down hop by hop, as
    /// `sluice compare` does; the item's age (`age_ms`) is on the line either way.
    pub fn log_timeline(mut self, on: bool) -> Self {
        self.log_timeline = on;
        self
    }

    /// Names each item's idempotency key, instead of [`Item::default_key`].
    pub fn idempotency_key(mut self, key: impl Fn(&T, &MessageMeta) -> Option<String> + Send + Sync + 'static) -> Self {
        self.key_fn = Some(Arc::new(key));
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

    /// The item stack composed and boxed, and the handler's settings.
    pub(crate) fn into_parts(self) -> HandlerParts<T>
    where
        S: ItemService<T>,
    {
        if cfg!(panic = "abort") {
            // cargo-lambda builds release bootstraps with panic = "abort" unless the profile
            // names a strategy; then a panic cannot be caught and isolated to its item.
            tracing::warn!(
                "built with panic = \"abort\": a panicking item ends the process and fails its whole batch; \
                 set panic = \"unwind\" in [profile.release] to fail only that item"
            );
        }
        let stack = match self.layers {
            Layers::Sluice { skip, idempotency } => BoxCloneSyncService::new(
                ServiceBuilder::new()
                    .layer(ItemLogLayer)
                    .layer(skip)
                    .layer(IdempotencyLayer::new(idempotency))
                    .layer(DeadlineLayer::new(self.timing.margin))
                    .service(self.service),
            ),
            Layers::Given => BoxCloneSyncService::new(self.service.map_err(process_error as fn(S::Error) -> _)),
        };
        HandlerParts {
            engine: Engine { stack, key_fn: self.key_fn, timing: self.timing, log_timeline: self.log_timeline },
            dead_letters: self.dead_letters,
            metrics: self.metrics,
            batch_concurrency: self.batch_concurrency,
            fail_when_all_fail: self.fail_when_all_fail,
        }
    }
}

impl<T: Item + Payload, S> HandlerBuilder<T, S, ForSqs>
where
    S: ItemService<T>,
{
    /// How many messages of a batch are processed at once (default 10, at least 1). FIFO
    /// message groups count as one each: a group's messages always run one after another.
    pub fn batch_concurrency(mut self, batch_concurrency: usize) -> Self {
        self.batch_concurrency = batch_concurrency.max(1);
        self
    }

    /// When every message fails, return an error instead of a partial response listing them all.
    ///
    /// The default (a partial response) keeps Lambda's SQS poller from scaling down on a burst
    /// of failures; the error makes the failure visible in the `Errors` metric.
    pub fn fail_invocation_when_all_fail(mut self, yes: bool) -> Self {
        self.fail_when_all_fail = yes;
        self
    }

    /// The handler.
    pub fn build(self) -> SqsBatchHandler<T> {
        SqsBatchHandler::from_parts(self.into_parts())
    }
}

impl<T: Item + Payload, S> HandlerBuilder<T, S, ForSns>
where
    S: ItemService<T>,
{
    /// The handler.
    pub fn build(self) -> SnsHandler<T> {
        SnsHandler::from_parts(self.into_parts())
    }
}

#[cfg(feature = "kinesis")]
impl<D: crate::KinesisData, S> HandlerBuilder<crate::KinesisRecord<D>, S, ForKinesis>
where
    S: ItemService<crate::KinesisRecord<D>>,
{
    /// How many shards of a batch are processed at once (default 10, at least 1). A shard's
    /// records always run one after another; a batch from Lambda holds one shard.
    pub fn batch_concurrency(mut self, batch_concurrency: usize) -> Self {
        self.batch_concurrency = batch_concurrency.max(1);
        self
    }

    /// The handler.
    pub fn build(self) -> crate::KinesisBatchHandler<D> {
        crate::KinesisBatchHandler::from_parts(self.into_parts())
    }
}

#[cfg(feature = "dynamodb-streams")]
impl<T: serde::de::DeserializeOwned + Send + 'static, S> HandlerBuilder<crate::DynamoDbChange<T>, S, ForDynamoDbStreams>
where
    S: ItemService<crate::DynamoDbChange<T>>,
{
    /// The handler.
    pub fn build(self) -> crate::DynamoDbStreamHandler<T> {
        crate::DynamoDbStreamHandler::from_parts(self.into_parts())
    }
}

#[cfg(feature = "kinesis")]
impl<D: crate::KinesisData> crate::KinesisBatchHandler<D> {
    /// A builder for a handler running `processor` under `idempotency`.
    pub fn builder<P: Processor<crate::KinesisRecord<D>>>(
        processor: P,
        idempotency: Idempotency,
    ) -> HandlerBuilder<crate::KinesisRecord<D>, ProcessorService<crate::KinesisRecord<D>, P>, ForKinesis> {
        HandlerBuilder::new(processor, idempotency)
    }

    /// A builder for a handler that sends each item through `service` as it is, a whole item
    /// stack you composed (see [`crate::layers`]); the builder adds no layer of its own.
    pub fn from_item_service<S>(service: S) -> HandlerBuilder<crate::KinesisRecord<D>, S, ForKinesis>
    where
        S: ItemService<crate::KinesisRecord<D>>,
    {
        HandlerBuilder::given(service)
    }
}

#[cfg(feature = "dynamodb-streams")]
impl<T: serde::de::DeserializeOwned + Send + 'static> crate::DynamoDbStreamHandler<T> {
    /// A builder for a handler running `processor` under `idempotency`.
    pub fn builder<P: Processor<crate::DynamoDbChange<T>>>(
        processor: P,
        idempotency: Idempotency,
    ) -> HandlerBuilder<crate::DynamoDbChange<T>, ProcessorService<crate::DynamoDbChange<T>, P>, ForDynamoDbStreams>
    {
        HandlerBuilder::new(processor, idempotency)
    }

    /// A builder for a handler that sends each item through `service` as it is, a whole item
    /// stack you composed (see [`crate::layers`]); the builder adds no layer of its own.
    pub fn from_item_service<S>(service: S) -> HandlerBuilder<crate::DynamoDbChange<T>, S, ForDynamoDbStreams>
    where
        S: ItemService<crate::DynamoDbChange<T>>,
    {
        HandlerBuilder::given(service)
    }
}

impl<T: Item + Payload> SqsBatchHandler<T> {
    /// A builder for a handler running `processor` under `idempotency`.
    pub fn builder<P: Processor<T>>(
        processor: P,
        idempotency: Idempotency,
    ) -> HandlerBuilder<T, ProcessorService<T, P>, ForSqs> {
        HandlerBuilder::new(processor, idempotency)
    }

    /// A builder for a handler that sends each item through `service` as it is, a whole item
    /// stack you composed (see [`crate::layers`]); the builder adds no layer of its own.
    pub fn from_item_service<S>(service: S) -> HandlerBuilder<T, S, ForSqs>
    where
        S: ItemService<T>,
    {
        HandlerBuilder::given(service)
    }
}

impl<T: Item + Payload> SnsHandler<T> {
    /// A builder for a handler running `processor` under `idempotency`.
    pub fn builder<P: Processor<T>>(
        processor: P,
        idempotency: Idempotency,
    ) -> HandlerBuilder<T, ProcessorService<T, P>, ForSns> {
        HandlerBuilder::new(processor, idempotency)
    }

    /// A builder for a handler that sends each item through `service` as it is, a whole item
    /// stack you composed (see [`crate::layers`]); the builder adds no layer of its own.
    pub fn from_item_service<S>(service: S) -> HandlerBuilder<T, S, ForSns>
    where
        S: ItemService<T>,
    {
        HandlerBuilder::given(service)
    }
}
