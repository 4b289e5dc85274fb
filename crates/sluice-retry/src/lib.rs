//! Retries with exponential backoff and jitter, for the calls a Lambda worker makes.
//!
//! Who retries what:
//! - An **asynchronous** invocation (S3 -> SNS -> Lambda) is retried by Lambda: twice, about
//!   one and two minutes apart, then sent to a DLQ or on-failure destination.
//! - An **SQS** message is retried by the queue: it reappears after the visibility timeout until
//!   `maxReceiveCount`, then moves to the DLQ.
//! - A **synchronous** caller (a CLI, an SDK, API Gateway) owns its retries: nobody else will.
//! - Inside a worker, **AWS SDK** calls are retried by the SDK ([`RetryPolicy::sdk_retry_config`]),
//!   and **other HTTP calls** (a partner webhook) by [`RetryPolicy::run`], within the
//!   invocation's deadline.
//!
//! ```
//! use std::time::Duration;
//! use sluice_retry::{Jitter, RetryPolicy};
//!
//! let policy = RetryPolicy::default()
//!     .jitter(Jitter::Full)
//!     .base(Duration::from_millis(100))
//!     .cap(Duration::from_secs(5))
//!     .max_attempts(4)
//!     .deadline(tokio::time::Instant::now() + Duration::from_secs(30), Duration::from_secs(1));
//! # let _ = policy;
//! ```

/// An error and its causes on one line.
mod chain;
/// Which errors are retryable.
mod classify;
/// Running an operation under a policy.
mod driver;
/// Policies and their delay sequences.
mod policy;
/// The AWS SDK's own retry configuration.
mod sdk;

pub use chain::error_chain;
pub use classify::{Classify, ErrorClass, THROTTLING_CODES, parse_retry_after};
pub use policy::{Delays, Jitter, RetryPolicy};
