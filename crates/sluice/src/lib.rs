//! Lambda handlers for S3 event pipelines: one processor, two delivery paths.
//!
//! An S3 upload reaches a worker along one of two paths, and sluice runs the same
//! [`Processor`] on both:
//! - **S3 -> SNS -> SQS -> Lambda**: [`SqsBatchHandler`] processes a batch with bounded
//!   batch concurrency and answers with the failed message ids, so only those are redelivered.
//! - **S3 -> SNS -> Lambda**: [`SnsHandler`] processes an asynchronous invocation and returns an
//!   error only when Lambda's retries can help.
//!
//! The same engine takes streams, behind the features `kinesis` and `dynamodb-streams`:
//! `KinesisBatchHandler` and `DynamoDbStreamHandler` run each shard's records in order, stop a
//! shard at its first failure and answer with that record's sequence number, Lambda's checkpoint
//! (the guide's chapter "Streams").
//!
//! Every item runs under an idempotency claim ([`Idempotency`]), so duplicate deliveries do
//! their side effects once. The same protocol makes any async function idempotent
//! ([`Idempotency::call`]), for work that is not an SQS or SNS item.
//!
//! Handlers are `tower::Service`s: run them with `lambda_runtime::run`, or `run_concurrent` on
//! Lambda Managed Instances. Inside, each item goes through a stack of tower layers
//! ([`layers`]: item log, skip, idempotency, deadline guard) around the processor;
//! [`HandlerBuilder::layer`] adds your own (a rate limit, a timeout) around the processor.
//!
//! ```no_run
//! use sluice::{processor_fn, Idempotency, ProcessError, SqsBatchHandler};
//! use sluice_events::s3::S3ObjectEvent;
//! use sluice_idempotency::MemoryStore;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_runtime::Error> {
//!     sluice::telemetry::init_logs();
//!     let processor = processor_fn(|record: S3ObjectEvent, ctx: sluice::ItemContext| async move {
//!         let size = record.size.ok_or_else(|| ProcessError::permanent("no size in event"))?;
//!         tracing::info!(key = %record.key, size, idempotency_key = ?ctx.idempotency_key, "summarised");
//!         Ok(size)
//!     });
//!     let handler = SqsBatchHandler::builder(processor, Idempotency::new(MemoryStore::new())).build();
//!     lambda_runtime::run(handler).await
//! }
//! ```

//! # Crates in the API
//!
//! The package is `sluice-lambda`; its library is `sluice`. Its public signatures name types of
//! two crates it depends on: `lambda_runtime` (`Context`, `Error`, `LambdaEvent`,
//! `Diagnostic`) and `aws_lambda_events` (`SqsEvent`, `SnsEvent`, `SqsBatchResponse`). A major
//! version of either is a breaking change of sluice; sluice moves to it in a new minor version
//! (before 1.0), named in its changelog. [`prelude`] holds what a worker's `main.rs` needs, so a
//! hello worker depends on `sluice-lambda`, `lambda_runtime` and `tokio` only.
//!
//! # Glossary
//!
//! One word per concept, in this crate, its siblings and the README:
//! - **path**: how an S3 event reaches a worker, the *queue path* (S3 -> SNS -> SQS -> Lambda,
//!   [`Path::Sqs`]) or the *direct path* (S3 -> SNS -> Lambda, [`Path::Sns`]); a stream is a
//!   path too ([`Path::Kinesis`], [`Path::DynamoDbStreams`]);
//! - **message**: what Lambda hands the handler, one SQS message, one SNS notification or one
//!   stream record ([`MessageMeta`]);
//! - **item**: one unit of work decoded from a message, such as one S3 object version; a
//!   message holds one or more ([`Item`]);
//! - **record**: an *idempotency record*, the store's entry for one item's key (claimed,
//!   completed); an S3 notification's entries are *S3 events*, SQS's are *messages*, a
//!   stream's are *stream records*;
//! - **shard** and **sequence number**: where a stream record sits; a stream handler's answer
//!   names the sequence number Lambda *checkpoints* at;
//! - **key**: an item's idempotency key; the **key prefix** names the function's records
//!   ([`Idempotency::key_prefix`]); a store's **namespace** (`DynamoDbStore::namespace`,
//!   `RedisStore::namespace`) keeps a shared table or Redis database apart;
//! - **claim** and **lease**: the in-progress record and how long it holds without a renewal;
//! - **trigger** (the local Lambda service's records): how an invocation started, `Invoke`
//!   sync or async, or an event source mapping; not a path;
//! - **batch concurrency**: messages of one batch processed at once; **Lambda concurrency**:
//!   invocations running at once, which the account and reserved concurrency bound.

/// AWS SDK errors as item failures, and the S3 client.
pub mod aws;
/// The builder both handlers share.
pub mod builder;
/// Sending permanent failures to a dead-letter queue.
pub mod dead_letter;
/// The invocation deadline.
mod deadline;
/// The DynamoDB Streams handler.
#[cfg(feature = "dynamodb-streams")]
mod dynamodb_stream;
/// One message, start to finish.
mod engine;
/// The spans that exist only when exported.
mod export;
/// How handlers use idempotency records.
mod idempotency;
/// Any async function made idempotent.
mod idempotent;
/// Items and their idempotency keys.
mod item;
/// The Kinesis batch handler.
#[cfg(feature = "kinesis")]
mod kinesis;
pub mod layers;
/// OpenTelemetry export over OTLP/HTTP.
#[cfg(feature = "otel")]
pub mod otel;
/// What a built handler is made of.
mod parts;
/// One import for a worker's `main.rs`.
pub mod prelude;
/// The processor a worker author writes.
mod processor;
/// Invocation summaries and CloudWatch EMF metrics.
pub mod report;
/// The SNS direct handler.
mod sns;
/// The SQS batch handler.
mod sqs;
/// The SQS dead-letter queue.
#[cfg(feature = "sqs-dead-letter")]
mod sqs_dead_letter;
/// What the stream handlers share: shard order and checkpoints.
#[cfg(any(feature = "kinesis", feature = "dynamodb-streams"))]
mod stream;
/// Logs as Lambda's logging controls ask (format, level).
#[cfg(feature = "json-logs")]
pub mod telemetry;
/// Contexts and sample events for a worker's tests.
#[cfg(feature = "testing")]
pub mod testing;

pub use builder::HandlerBuilder;
pub use dead_letter::{DeadLetter, DeadLetterSink};
pub use deadline::{DEFAULT_DEADLINE_MARGIN, DEFAULT_FINISH_RESERVE, Deadline};
#[cfg(feature = "dynamodb-streams")]
pub use dynamodb_stream::{ChangeKind, DynamoDbChange, DynamoDbStreamHandler};
pub use engine::MAX_REASON_BYTES;
pub use idempotency::{DEFAULT_LEASE, DEFAULT_TTL, Idempotency};
pub use idempotent::IdempotentError;
pub use item::{Item, MessageMeta};
#[cfg(feature = "kinesis")]
pub use kinesis::{KinesisBatchHandler, KinesisData, KinesisRecord};
pub use processor::{BoxError, ItemContext, Path, ProcessError, Processor, ProcessorFn, Timeline, processor_fn};
pub use report::{EmfMetrics, InvocationReport};
/// The event decoders (`sluice-events`): S3 notifications raw or in SNS, JSON payloads.
pub use sluice_events as events;
pub use sluice_excerpt::Excerpt;
/// The idempotency stores (`sluice-idempotency`): memory, DynamoDB, Redis, and their trait.
pub use sluice_idempotency as stores;
/// Retry policies and error classes (`sluice-retry`).
pub use sluice_retry as retry;
/// Trace context (`sluice-trace`): X-Ray and W3C headers, the current record's trace, the SDK
/// interceptor.
pub use sluice_trace as trace;
pub use sns::{SnsHandler, SnsHandlerError};
pub use sqs::{SqsBatchError, SqsBatchHandler};
#[cfg(feature = "sqs-dead-letter")]
pub use sqs_dead_letter::SqsDeadLetterQueue;
#[cfg(any(feature = "kinesis", feature = "dynamodb-streams"))]
pub use stream::StreamBatchError;
