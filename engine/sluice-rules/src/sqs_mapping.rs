//! The SQS event source mapping on a standard queue (services-sqs-scaling,
//! services-sqs-parameters, services-sqs-configure, services-sqs-errorhandling).

use std::time::Duration;

/// Concurrent batches a mapping starts with: "it starts with 5 batches / 5 concurrent
/// invokes" (services-sqs-scaling).
pub const START_CONCURRENCY: u32 = 5;

/// "Up to 300 concurrent invokes per minute" more while messages are available
/// (services-sqs-scaling; AWS Compute Blog, "Introducing faster polling scale-up for AWS Lambda
/// functions configured with Amazon SQS"): one more every 200 ms.
pub const SCALE_UP_INTERVAL: Duration = Duration::from_millis(200);

/// The most concurrent invocations one mapping reaches on a standard queue
/// (services-sqs-scaling; AWS re:Post knowledge center, "lambda-sqs-scaling": 1,250).
pub const MAXIMUM_MAPPING_CONCURRENCY: u32 = 1_250;

/// `ScalingConfig.MaximumConcurrency`: 2 to 1,000 (API `ScalingConfig`).
pub const MAXIMUM_CONCURRENCY_RANGE: (u32, u32) = (2, 1_000);

/// `BatchSize` when none is set (services-sqs-parameters).
pub const DEFAULT_BATCH_SIZE: u32 = 10;

/// The largest `BatchSize` on a standard queue (services-sqs-parameters); above 10 a batching
/// window of at least 1 s is required (API `CreateEventSourceMapping`).
pub const MAXIMUM_BATCH_SIZE: u32 = 10_000;

/// The longest `MaximumBatchingWindowInSeconds` (API `CreateEventSourceMapping`: 0 to 300).
pub const MAXIMUM_BATCHING_WINDOW: Duration = Duration::from_secs(300);

/// Provisioned mode: each event poller runs up to 10 concurrent invocations
/// (services-sqs-parameters, `ProvisionedPollerConfig`).
pub const INVOCATIONS_PER_POLLER: u32 = 10;

/// Provisioned mode's `MinimumPollers` range, 2 to 200, and `MaximumPollers`, 2 to 2,000
/// (services-sqs-parameters).
pub const PROVISIONED_POLLERS_RANGE: ((u32, u32), (u32, u32)) = ((2, 200), (2, 2_000));

/// An SQS long poll waits at most 20 s (SQS API `ReceiveMessage`, `WaitTimeSeconds` 0 to 20):
/// an idle mapping makes one `ReceiveMessage` per poller every 20 s.
pub const LONG_POLL: Duration = Duration::from_secs(20);

/// A `ReceiveMessage` returns at most 10 messages (SQS API `ReceiveMessage`,
/// `MaxNumberOfMessages` 1 to 10).
pub const MESSAGES_PER_RECEIVE: u32 = 10;

/// A message is moved to the dead-letter queue when it is received again after
/// `maxReceiveCount` receives (SQS Developer Guide, sqs-dead-letter-queues): the receive that
/// would be number `maxReceiveCount + 1` moves it instead.
///
/// ```
/// assert!(!sluice_rules::sqs_mapping::redriven(5, 5));
/// assert!(sluice_rules::sqs_mapping::redriven(6, 5));
/// ```
pub fn redriven(receive_count: u32, max_receive_count: u32) -> bool {
    receive_count > max_receive_count
}

/// The concurrency a mapping may reach: its `MaximumConcurrency` (or, in provisioned mode,
/// `pollers x 10`), never more than [`MAXIMUM_MAPPING_CONCURRENCY`] nor what the function may
/// run.
///
/// ```
/// use sluice_rules::sqs_mapping::ceiling;
/// assert_eq!(ceiling(None, 1_000), 1_000);
/// assert_eq!(ceiling(Some(5), 1_000), 5);
/// assert_eq!(ceiling(None, 3_000), 1_250);
/// ```
pub fn ceiling(maximum_concurrency: Option<u32>, function_may_run: u32) -> u32 {
    maximum_concurrency.unwrap_or(MAXIMUM_MAPPING_CONCURRENCY).min(MAXIMUM_MAPPING_CONCURRENCY).min(function_may_run)
}

/// How long a received batch may wait for a free slot: while the function could still finish
/// before the messages become visible again (the visibility timeout less the function's
/// timeout). After that the batch is given back to the queue rather than run late, when its
/// messages may already be delivered again. This is sluice's choice, not a documented AWS rule,
/// and both the local service and the model play it.
///
/// ```
/// use std::time::Duration;
/// use sluice_rules::sqs_mapping::slot_wait_budget;
/// assert_eq!(slot_wait_budget(Duration::from_secs(200), Duration::from_secs(30)), Duration::from_secs(170));
/// assert_eq!(slot_wait_budget(Duration::from_secs(20), Duration::from_secs(30)), Duration::ZERO);
/// ```
pub fn slot_wait_budget(visibility_timeout: Duration, function_timeout: Duration) -> Duration {
    visibility_timeout.saturating_sub(function_timeout)
}
