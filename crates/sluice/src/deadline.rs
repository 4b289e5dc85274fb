//! The invocation deadline, read once and then measured on tokio's clock.
//!
//! Lambda passes the deadline as an absolute epoch in milliseconds
//! (`Lambda-Runtime-Deadline-Ms`, Runtime API 2018-06-01). The handler converts it once, at the
//! start of the invocation, into a [`tokio::time::Instant`]: every later check is then monotonic,
//! immune to wall-clock steps, and deterministic under tokio's paused test clock.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// Default time kept free at the end of an invocation: no item starts later than this.
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_millis(1000);
/// Default time kept to finish: items still running then are abandoned.
pub const DEFAULT_FINISH_RESERVE: Duration = Duration::from_millis(500);

/// When the current invocation must have answered.
///
/// ```
/// use std::time::Duration;
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let deadline = sluice::Deadline::after(Duration::from_secs(30));
/// assert!(deadline.remaining() <= Duration::from_secs(30));
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    instant: Instant,
    wall: SystemTime,
}

impl Deadline {
    /// The deadline of a Lambda invocation (`Context::deadline`, epoch milliseconds).
    pub fn from_context(ctx: &lambda_runtime::Context) -> Self {
        Self::at_system_time(ctx.deadline())
    }

    /// A deadline at the wall-clock time `wall`.
    pub fn at_system_time(wall: SystemTime) -> Self {
        let remaining = wall.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
        Deadline { instant: Instant::now() + remaining, wall }
    }

    /// A deadline `remaining` from now.
    pub fn after(remaining: Duration) -> Self {
        Deadline { instant: Instant::now() + remaining, wall: SystemTime::now() + remaining }
    }

    /// Time left before the deadline (zero once it has passed).
    pub fn remaining(&self) -> Duration {
        self.instant.saturating_duration_since(Instant::now())
    }

    /// The deadline on tokio's clock.
    pub fn instant(&self) -> Instant {
        self.instant
    }

    /// The deadline on the wall clock, as stored in idempotency records.
    pub fn system_time(&self) -> SystemTime {
        self.wall
    }

    /// The instant `reserve` before the deadline.
    pub fn minus(&self, reserve: Duration) -> Instant {
        self.instant.checked_sub(reserve).unwrap_or(self.instant)
    }

    /// Why no new work may start now, if less than `margin` is left: the one wording both the
    /// handler (per message) and the deadline layer (per item) use.
    pub(crate) fn start_refusal(&self, margin: Duration) -> Option<String> {
        let left = self.remaining();
        (left < margin).then(|| {
            format!(
                "not started: {} ms left before the invocation deadline, below the {} ms margin",
                left.as_millis(),
                margin.as_millis()
            )
        })
    }
}
