//! Concurrency and scaling (lambda-concurrency, scaling-behavior).

use std::time::Duration;

/// An account's concurrency in a Region unless raised: 1,000 (lambda-concurrency, "Lambda
/// quotas").
pub const DEFAULT_ACCOUNT_CONCURRENCY: u32 = 1_000;

/// Reserved concurrency leaves at least 100 unreserved in the account (lambda-concurrency:
/// "Lambda requires at least 100 unreserved concurrency").
pub const MINIMUM_UNRESERVED_CONCURRENCY: u32 = 100;

/// Each function gets at most this many new execution environments per
/// [`SCALING_PERIOD`] (scaling-behavior: "For each Lambda function in your account, your
/// concurrency scaling rate is 1,000 execution environment instances every 10 seconds"):
/// invocations that would need more are throttled.
pub const NEW_ENVIRONMENTS_PER_PERIOD: u32 = 1_000;

/// The period of [`NEW_ENVIRONMENTS_PER_PERIOD`].
pub const SCALING_PERIOD: Duration = Duration::from_secs(10);

/// The synchronous payload limit, 6 MB, which also caps an SQS batch (with-sqs: "up to the
/// payload limit for synchronous invocation").
pub const SYNC_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;
