//! Retry policies: exponential backoff with AWS's jitter kinds, bounded by attempts, total
//! elapsed time and a deadline.
//!
//! The formulas are those of "Exponential Backoff and Jitter" (Marc Brooker, AWS Architecture
//! Blog, 2015), as written in its simulator (`aws-samples/aws-arch-backoff-simulator`), with
//! `expo(n) = min(cap, base * 2^n)` for the n-th retry (n from 0):
//! - [`Jitter::None`]: `expo(n)`
//! - [`Jitter::Full`] (the default, as AWS recommends): `uniform(0, expo(n))`
//! - [`Jitter::Equal`]: `expo(n)/2 + uniform(0, expo(n)/2)`
//! - [`Jitter::Decorrelated`]: `min(cap, uniform(base, previous * 3))`, `previous` starting at `base`
//!
//! backon's own `with_jitter()` adds `uniform(0, d)` on top of `d`, which is none of these; so
//! [`RetryPolicy::delays`] is the iterator backon is fed.

use std::time::Duration;

use tokio::time::Instant;

/// How delays are randomised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// No randomness: `expo(n)`.
    None,
    /// `uniform(0, expo(n))`: the AWS recommendation, least total work under contention.
    #[default]
    Full,
    /// `expo(n)/2 + uniform(0, expo(n)/2)`: never less than half the exponential delay.
    Equal,
    /// `min(cap, uniform(base, previous * 3))`.
    Decorrelated,
}

/// When to give up, and how long to wait between attempts.
///
/// ```
/// use std::time::Duration;
/// use sluice_retry::{Jitter, RetryPolicy};
///
/// let policy = RetryPolicy::default()
///     .base(Duration::from_millis(50))
///     .cap(Duration::from_secs(2))
///     .max_attempts(5)
///     .max_elapsed(Duration::from_secs(10))
///     .jitter(Jitter::Full);
/// let delays: Vec<Duration> = policy.with_seed(7).delays().collect();
/// assert_eq!(delays.len(), 4, "5 attempts, 4 waits");
/// assert!(delays.iter().all(|d| *d <= Duration::from_secs(2)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub(crate) jitter: Jitter,
    pub(crate) base: Duration,
    pub(crate) cap: Duration,
    pub(crate) max_attempts: u32,
    pub(crate) max_elapsed: Option<Duration>,
    pub(crate) deadline: Option<(Instant, Duration)>,
    pub(crate) seed: Option<u64>,
}

impl Default for RetryPolicy {
    /// Full jitter, 100 ms base, 5 s cap, 3 attempts (the SDK's standard-mode count).
    fn default() -> Self {
        RetryPolicy {
            jitter: Jitter::Full,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(5),
            max_attempts: 3,
            max_elapsed: None,
            deadline: None,
            seed: None,
        }
    }
}

impl RetryPolicy {
    /// The jitter kind (default [`Jitter::Full`]).
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The first delay's upper bound, `base` (default 100 ms).
    pub fn base(mut self, base: Duration) -> Self {
        self.base = base;
        self
    }

    /// The longest single delay (default 5 s).
    pub fn cap(mut self, cap: Duration) -> Self {
        self.cap = cap;
        self
    }

    /// Attempts in all, the first included (default 3; at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Gives up rather than wait past `elapsed` since the first attempt.
    pub fn max_elapsed(mut self, elapsed: Duration) -> Self {
        self.max_elapsed = Some(elapsed);
        self
    }

    /// Never sleeps past `deadline - margin` (a Lambda invocation's deadline): gives up with
    /// the last error instead.
    pub fn deadline(mut self, deadline: Instant, margin: Duration) -> Self {
        self.deadline = Some((deadline, margin));
        self
    }

    /// Seeds the random source, for reproducible delays in tests.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The longest single delay.
    pub fn max_delay(&self) -> Duration {
        self.cap
    }

    /// Attempts in all.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The delays before retries 1, 2, ...: `max_attempts - 1` of them.
    pub fn delays(&self) -> Delays {
        let rng = match self.seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        Delays { policy: self.clone(), rng, retry: 0, previous: self.base }
    }

    /// The latest instant a retry may start: the deadline minus its margin, if any.
    pub(crate) fn latest_start(&self) -> Option<Instant> {
        self.deadline.map(|(at, margin)| at.checked_sub(margin).unwrap_or(at))
    }
}

/// The delay sequence of a [`RetryPolicy`]; a `backon::Backoff`.
#[derive(Debug, Clone)]
pub struct Delays {
    policy: RetryPolicy,
    rng: fastrand::Rng,
    retry: u32,
    previous: Duration,
}

impl Delays {
    fn expo(&self, n: u32) -> Duration {
        let factor = 2u32.checked_pow(n).unwrap_or(u32::MAX);
        self.policy.base.saturating_mul(factor).min(self.policy.cap)
    }

    fn uniform(&mut self, low: Duration, high: Duration) -> Duration {
        if high <= low {
            return low;
        }
        let span = (high - low).as_nanos().min(u64::MAX as u128) as u64;
        low + Duration::from_nanos(self.rng.u64(0..=span))
    }
}

impl Iterator for Delays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        if self.retry + 1 >= self.policy.max_attempts {
            return None;
        }
        let n = self.retry;
        self.retry += 1;
        let expo = self.expo(n);
        Some(match self.policy.jitter {
            Jitter::None => expo,
            Jitter::Full => self.uniform(Duration::ZERO, expo),
            Jitter::Equal => expo / 2 + self.uniform(Duration::ZERO, expo / 2),
            Jitter::Decorrelated => {
                let next = self.uniform(self.policy.base, self.previous.saturating_mul(3)).min(self.policy.cap);
                self.previous = next;
                next
            }
        })
    }
}
