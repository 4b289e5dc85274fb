//! Running an operation under a [`RetryPolicy`], on top of backon.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::Retryable;
use tokio::time::Instant;

use crate::{Classify, RetryPolicy};

impl RetryPolicy {
    /// Runs `operation` until it succeeds, fails with an error that is not retryable, or the
    /// policy gives up (attempts, elapsed time or deadline); then returns its last error.
    ///
    /// The delay before each retry comes from [`RetryPolicy::delays`]. A `Retry-After` from the
    /// server replaces it; one longer than the cap ends the retries (the server asked for more
    /// patience than the policy has, and a shorter wait would ignore it). Each retry logs the
    /// attempt, the delay and the error class at `warn`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sluice_retry::{Classify, ErrorClass, RetryPolicy};
    ///
    /// #[derive(Debug)]
    /// struct Busy;
    /// impl std::fmt::Display for Busy {
    ///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("busy") }
    /// }
    /// impl Classify for Busy {
    ///     fn error_class(&self) -> ErrorClass { ErrorClass::Throttling }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
    /// let mut calls = 0;
    /// let result: Result<&str, Busy> = RetryPolicy::default()
    ///     .max_attempts(3)
    ///     .run(|| { calls += 1; let n = calls; async move { if n < 3 { Err(Busy) } else { Ok("done") } } })
    ///     .await;
    /// assert_eq!(result.unwrap(), "done");
    /// # });
    /// ```
    pub async fn run<T, E, F, Fut>(&self, operation: F) -> Result<T, E>
    where
        E: Classify + std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.run_if(operation, |e: &E| e.error_class().is_retryable()).await
    }

    /// [`RetryPolicy::run`], retrying only the errors `retryable` accepts: for a call whose
    /// safety to repeat depends on more than the error's class (see `sluice-invoke`).
    pub async fn run_if<T, E, F, Fut>(&self, operation: F, retryable: impl Fn(&E) -> bool) -> Result<T, E>
    where
        E: Classify + std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let started = Instant::now();
        let attempt = AtomicU32::new(1);
        operation
            .retry(self.delays())
            .when(|e: &E| retryable(e))
            .adjust(|e: &E, planned: Option<Duration>| self.next_delay(e, planned, started))
            .notify(|e: &E, delay: Duration| {
                tracing::warn!(
                    attempt = attempt.fetch_add(1, Ordering::Relaxed),
                    delay_ms = delay.as_millis() as u64,
                    error_class = e.error_class().as_str(),
                    error = %e,
                    "attempt failed; retrying"
                );
            })
            .await
    }

    /// The delay before the next attempt, or `None` to give up.
    fn next_delay<E: Classify>(&self, error: &E, planned: Option<Duration>, started: Instant) -> Option<Duration> {
        // No planned delay: the attempts are used up.
        let planned = planned?;
        let delay = match error.retry_after() {
            Some(asked) if asked > self.cap => return None,
            Some(asked) => asked,
            None => planned,
        };
        let wake = Instant::now() + delay;
        if self.max_elapsed.is_some_and(|budget| wake > started + budget) {
            return None;
        }
        if self.latest_start().is_some_and(|latest| wake > latest) {
            return None;
        }
        Some(delay)
    }
}
