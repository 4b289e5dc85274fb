//! The retry driver on tokio's paused clock: attempts, elapsed budget, deadline, Retry-After.

use std::cell::RefCell;
use std::time::Duration;

use sluice_retry::{Classify, ErrorClass, Jitter, RetryPolicy};
use tokio::time::Instant;

#[derive(Debug, Clone)]
struct Fail {
    class: ErrorClass,
    retry_after: Option<Duration>,
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.class)
    }
}

impl Classify for Fail {
    fn error_class(&self) -> ErrorClass {
        self.class
    }
    fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

fn throttled() -> Fail {
    Fail { class: ErrorClass::Throttling, retry_after: None }
}

/// Runs `policy` against a script of results and returns (result, attempt start times).
async fn run(policy: RetryPolicy, script: Vec<Result<u32, Fail>>) -> (Result<u32, Fail>, Vec<Duration>) {
    let start = Instant::now();
    let calls = RefCell::new(Vec::new());
    let script = RefCell::new(script.into_iter());
    let result = policy
        .run(|| {
            calls.borrow_mut().push(start.elapsed());
            let next = script.borrow_mut().next().expect("script too short");
            async move { next }
        })
        .await;
    (result, calls.into_inner())
}

fn fixed(ms: u64) -> RetryPolicy {
    RetryPolicy::default().jitter(Jitter::None).base(Duration::from_millis(ms)).cap(Duration::from_secs(60))
}

#[tokio::test(start_paused = true)]
async fn retries_until_success_with_the_policy_delays() {
    let (result, calls) = run(fixed(100).max_attempts(5), vec![Err(throttled()), Err(throttled()), Ok(7)]).await;
    assert_eq!(result.unwrap(), 7);
    assert_eq!(calls, [0, 100, 300].map(Duration::from_millis));
}

#[tokio::test(start_paused = true)]
async fn gives_up_after_max_attempts_with_the_last_error() {
    let errors = vec![
        Err(Fail { class: ErrorClass::Server, retry_after: None }),
        Err(Fail { class: ErrorClass::Timeout, retry_after: None }),
        Err(Fail { class: ErrorClass::Connection, retry_after: None }),
    ];
    let (result, calls) = run(fixed(10).max_attempts(3), errors).await;
    assert_eq!(result.unwrap_err().class, ErrorClass::Connection);
    assert_eq!(calls.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn non_retryable_errors_return_at_once() {
    let client = Fail { class: ErrorClass::Client, retry_after: None };
    let (result, calls) = run(fixed(10).max_attempts(5), vec![Err(client)]).await;
    assert_eq!(result.unwrap_err().class, ErrorClass::Client);
    assert_eq!(calls, [Duration::ZERO]);
}

#[tokio::test(start_paused = true)]
async fn max_elapsed_is_respected() {
    // Delays 100, 200, 400: the third retry would start at 700 ms, past the 500 ms budget.
    let script = vec![Err(throttled()); 10];
    let (result, calls) = run(fixed(100).max_attempts(10).max_elapsed(Duration::from_millis(500)), script).await;
    assert!(result.is_err());
    assert_eq!(calls, [0, 100, 300].map(Duration::from_millis));
}

#[tokio::test(start_paused = true)]
async fn never_sleeps_past_the_deadline_minus_margin() {
    let deadline = Instant::now() + Duration::from_millis(1000);
    let policy = fixed(200).max_attempts(10).deadline(deadline, Duration::from_millis(300));
    let (result, calls) = run(policy, vec![Err(throttled()); 10]).await;
    assert!(result.is_err());
    // 0, 200, 600; the next would start at 1400 > 700 (deadline - margin): give up.
    assert_eq!(calls, [0, 200, 600].map(Duration::from_millis));
    assert!(calls.iter().all(|c| *c <= Duration::from_millis(700)));
}

#[tokio::test(start_paused = true)]
async fn retry_after_sets_the_next_delay() {
    let asked = Fail { class: ErrorClass::Throttling, retry_after: Some(Duration::from_millis(1500)) };
    let policy = fixed(10).cap(Duration::from_secs(2)).max_attempts(5);
    let (result, calls) = run(policy, vec![Err(asked), Ok(1)]).await;
    assert_eq!(result.unwrap(), 1);
    assert_eq!(calls, [0, 1500].map(Duration::from_millis), "1.5 s as asked");
}

#[tokio::test(start_paused = true)]
async fn retry_after_beyond_the_cap_ends_the_retries_instead_of_being_shortened() {
    let too_long = Fail { class: ErrorClass::Throttling, retry_after: Some(Duration::from_secs(3600)) };
    let policy = fixed(10).cap(Duration::from_secs(2)).max_attempts(5);
    let (result, calls) = run(policy, vec![Err(too_long), Ok(1)]).await;
    assert_eq!(result.unwrap_err().retry_after, Some(Duration::from_secs(3600)));
    assert_eq!(calls, [Duration::ZERO], "no retry after 2 s: the server asked for an hour");
}

#[tokio::test(start_paused = true)]
async fn retry_after_past_the_deadline_gives_up() {
    let deadline = Instant::now() + Duration::from_secs(2);
    let asked = Fail { class: ErrorClass::Throttling, retry_after: Some(Duration::from_secs(5)) };
    let policy = fixed(10).cap(Duration::from_secs(10)).max_attempts(5).deadline(deadline, Duration::ZERO);
    let (result, calls) = run(policy, vec![Err(asked)]).await;
    assert!(result.is_err());
    assert_eq!(calls.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn full_jitter_delays_stay_within_bounds_when_driven() {
    let policy = RetryPolicy::default()
        .base(Duration::from_millis(100))
        .cap(Duration::from_secs(1))
        .max_attempts(6)
        .with_seed(9);
    let (_, calls) = run(policy, vec![Err(throttled()); 6]).await;
    let gaps: Vec<_> = calls.windows(2).map(|w| w[1] - w[0]).collect();
    for (n, gap) in gaps.iter().enumerate() {
        let bound = Duration::from_millis(100 * 2u64.pow(n as u32)).min(Duration::from_secs(1));
        assert!(*gap <= bound, "retry {n}: {gap:?} > {bound:?}");
    }
}
