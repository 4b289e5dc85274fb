//! Asynchronous invocation: Lambda's internal queue, its retries and the event age
//! (invocation-async, invocation-async-error-handling, API `PutFunctionEventInvokeConfig`).

use std::time::Duration;

/// Lambda waits about 1 minute before the second attempt of a failed event and about 2 before
/// the third (invocation-async-error-handling: "Lambda retries the function two more times,
/// with a one-minute wait between the first two attempts, and two minutes between the second
/// and third attempts").
pub const RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(120)];

/// `MaximumRetryAttempts` when none is set: 2 (API `FunctionEventInvokeConfig`, 0 to 2).
pub const DEFAULT_MAXIMUM_RETRY_ATTEMPTS: u32 = 2;

/// The most `MaximumRetryAttempts` may be.
pub const MAXIMUM_RETRY_ATTEMPTS_LIMIT: u32 = 2;

/// `MaximumEventAgeInSeconds` when none is set: 6 hours (API `FunctionEventInvokeConfig`,
/// 60 to 21,600 s).
pub const DEFAULT_MAXIMUM_EVENT_AGE: Duration = Duration::from_secs(21_600);

/// The shortest and longest `MaximumEventAgeInSeconds`.
pub const MAXIMUM_EVENT_AGE_RANGE: (Duration, Duration) = (Duration::from_secs(60), Duration::from_secs(21_600));

/// A throttled event goes back to the queue and is tried again after 1 s, then exponentially
/// longer up to 5 minutes (invocation-async-error-handling: "The retry interval increases
/// exponentially from 1 second after the first attempt to a maximum of 5 minutes"), for as long
/// as its event age allows. Throttles are not retries: they do not count against
/// `MaximumRetryAttempts`.
pub const THROTTLE_BACKOFF_FIRST: Duration = Duration::from_secs(1);

/// The longest wait between two tries of a throttled event.
pub const THROTTLE_BACKOFF_MAX: Duration = Duration::from_secs(300);

/// The wait after the `throttles_so_far + 1`-th throttle of one event: 1 s doubling, at most
/// 5 minutes.
///
/// ```
/// use std::time::Duration;
/// use sluice_rules::async_invoke::throttle_backoff;
/// assert_eq!(throttle_backoff(0), Duration::from_secs(1));
/// assert_eq!(throttle_backoff(3), Duration::from_secs(8));
/// assert_eq!(throttle_backoff(40), Duration::from_secs(300));
/// ```
pub fn throttle_backoff(throttles_so_far: u32) -> Duration {
    THROTTLE_BACKOFF_FIRST.saturating_mul(1u32 << throttles_so_far.min(16)).min(THROTTLE_BACKOFF_MAX)
}

/// [`throttle_backoff`] spread over its upper half by `unit` (0 to 1, drawn uniformly by the
/// caller): the wait is `backoff × (0.5 + unit / 2)`.
///
/// AWS does not document jitter, so this is sluice's assumption, stated in the guide. Without
/// it, every event of a burst that met the same throttle comes back at the same instant, and a
/// million events drain a thousand at a time once every five minutes; Lambda's internal queue
/// does not behave that way.
///
/// ```
/// use std::time::Duration;
/// use sluice_rules::async_invoke::throttle_backoff_jittered;
/// assert_eq!(throttle_backoff_jittered(3, 0.0), Duration::from_secs(4));
/// assert_eq!(throttle_backoff_jittered(3, 1.0), Duration::from_secs(8));
/// assert_eq!(throttle_backoff_jittered(40, 0.5), Duration::from_secs(225));
/// ```
pub fn throttle_backoff_jittered(throttles_so_far: u32, unit: f64) -> Duration {
    throttle_backoff(throttles_so_far).mul_f64(0.5 + unit.clamp(0.0, 1.0) / 2.0)
}

/// The delay before retry number `retries_done + 1` of a failed event, or `None` when
/// `maximum_retry_attempts` are spent.
///
/// ```
/// use std::time::Duration;
/// use sluice_rules::async_invoke::retry_delay;
/// assert_eq!(retry_delay(0, 2), Some(Duration::from_secs(60)));
/// assert_eq!(retry_delay(1, 2), Some(Duration::from_secs(120)));
/// assert_eq!(retry_delay(2, 2), None);
/// assert_eq!(retry_delay(0, 0), None);
/// ```
pub fn retry_delay(retries_done: u32, maximum_retry_attempts: u32) -> Option<Duration> {
    if retries_done >= maximum_retry_attempts.min(MAXIMUM_RETRY_ATTEMPTS_LIMIT) {
        return None;
    }
    RETRY_DELAYS.get(retries_done as usize).copied()
}

/// Why Lambda gave an event up, as the invocation record's `requestContext.condition` says it
/// (invocation-async-retain-records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GiveUp {
    /// Every attempt failed (or reserved concurrency 0 sent it straight on).
    RetriesExhausted,
    /// The next try would come after `MaximumEventAgeInSeconds`.
    EventAgeExceeded,
}

impl GiveUp {
    /// `RetriesExhausted` or `EventAgeExceeded`.
    pub fn as_str(self) -> &'static str {
        match self {
            GiveUp::RetriesExhausted => "RetriesExhausted",
            GiveUp::EventAgeExceeded => "EventAgeExceeded",
        }
    }
}
