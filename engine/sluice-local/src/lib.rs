//! A local Lambda service that runs the real `bootstrap` binaries, faithfully enough to test a
//! worker's failure handling without AWS.
//!
//! - **Runtime API** 2018-06-01: a blocking `/next` with an absolute-epoch deadline, `/response`,
//!   `/error`, `/init/error`; instances are real processes, started on demand up to the
//!   function's concurrency and reused while warm; one past its timeout is killed.
//! - **Invoke API**: `RequestResponse` (200, with `X-Amz-Function-Error` on failure), `Event`
//!   (202, then the asynchronous queue: retries, event age, DLQ, on-failure destination) and
//!   `DryRun`.
//! - **Control plane, read side**: `GetFunction`, `GetFunctionConfiguration`, `ListFunctions`,
//!   `ListEventSourceMappings`, `GetEventSourceMapping`, by the same names `Invoke` takes.
//! - **SNS to Lambda**: an HTTP subscription on the topic, confirmed through the
//!   API, each notification turned into a Lambda SNS event and invoked asynchronously.
//! - **SQS event source mappings**: batch size, batching window, maximum concurrency,
//!   `ReportBatchItemFailures` with AWS's success and failure rules, deletion of successes.
//! - **Networks**: Lambda's own, or a VPC's private subnet with or without a NAT gateway and
//!   its Elastic IP, in Linux network namespaces (root only), with endpoints to the local stack.
//! - **Records** of every invocation and of concurrency over time (`GET /records`).
//!
//! It talks to SQS and SNS through the AWS SDK, so it runs against the local stack (moto), LocalStack or AWS alike.
//!
//! ```no_run
//! use sluice_local::{FunctionConfig, LocalLambda, ServiceConfig, ServiceOptions};
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let aws = aws_config::load_from_env().await;
//! let config: ServiceConfig = serde_json::from_str(r#"{"functions": [
//!     {"name": "echo", "bootstrap": "target/debug/test-function", "timeout": 3000}
//! ]}"#)?;
//! let service = LocalLambda::start(config, ServiceOptions { port: 0, log_dir: "target/local-lambda".into(), aws }).await?;
//! println!("AWS_ENDPOINT_URL_LAMBDA={}", service.endpoint());
//! service.shutdown().await;
//! # Ok(()) }
//! ```

/// Asynchronous invocation: the internal queue, retries, DLQ, destinations.
mod async_queue;
/// The account's concurrency pool and reserved concurrency.
pub mod concurrency;
/// Functions, their retry and mapping settings.
pub mod config;
/// The control plane's read side: GetFunction, ListFunctions, the event source mappings.
mod control_api;
/// Functions and their instances.
mod function;
/// One execution environment: its process, its queue, its answers.
mod instance;
/// The Invoke API.
mod invoke_api;
/// How an execution environment's process starts: a bootstrap or a managed runtime's client.
pub mod launch;
/// Function logs with Lambda's START, END and REPORT lines.
mod logs;
/// Network namespaces, veth links and sockets opened inside them.
pub mod netns;
/// The functions' network: Lambda's own, or a VPC with or without a NAT gateway.
pub mod network;
/// Invocation records.
pub mod records;
/// The Runtime API.
mod runtime_api;
/// The service: starting, stopping, records.
mod service;
/// The state the service's APIs serve from.
mod shared;
/// SNS subscriptions of functions.
mod sns_subscription;
/// SQS event source mappings.
pub mod sqs_mapping;
/// Why the service could not start.
mod start_error;
/// Kinesis and DynamoDB Streams event source mappings.
mod stream_mapping;
/// The trace header of each invocation.
mod trace;
/// Waiting on conditions with a deadline.
pub mod wait;

pub use config::{
    AsyncInvokeConfig, EventSourceMappingConfig, FaultInjection, FunctionConfig, NetworkConfig, ServiceConfig,
    SnsSubscriptionConfig, StartingPosition, StreamMappingConfig,
};
pub use function::InvokeResult;
pub use records::{BatchRecord, InvocationRecord, Outcome, Records, Trigger};
pub use service::{LocalLambda, ServiceOptions, StartError};
