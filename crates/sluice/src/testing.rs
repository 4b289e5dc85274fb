//! What a worker's own tests need: a Lambda context with a deadline, and sample events
//! (`sluice_events::sample`) for both paths.
//!
//! ```
//! use std::time::Duration;
//! let ctx = sluice::testing::context(Duration::from_secs(30));
//! assert_eq!(ctx.request_id, "test-request");
//! assert!(ctx.deadline > sluice_clock::now_millis());
//! ```

use std::time::{Duration, SystemTime};

pub use sluice_events::sample;

/// A `lambda_runtime::Context` for request `test-request` whose deadline is `remaining` from
/// now, as Lambda's `Lambda-Runtime-Deadline-Ms` header would set it.
pub fn context(remaining: Duration) -> lambda_runtime::Context {
    context_for("test-request", remaining)
}

/// [`context`] with the request id `request_id`.
///
/// ```
/// let ctx = sluice::testing::context_for("req-7", std::time::Duration::from_secs(5));
/// assert_eq!(ctx.request_id, "req-7");
/// ```
pub fn context_for(request_id: &str, remaining: Duration) -> lambda_runtime::Context {
    let mut ctx = lambda_runtime::Context::default();
    ctx.request_id = request_id.to_owned();
    ctx.deadline = sluice_clock::epoch_millis(SystemTime::now() + remaining);
    ctx
}
