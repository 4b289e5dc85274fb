//! Delay bounds of each jitter kind over many seeded draws.

use std::time::Duration;

use sluice_retry::{Jitter, RetryPolicy};

const BASE: Duration = Duration::from_millis(5);
const CAP: Duration = Duration::from_millis(2000);

fn policy(jitter: Jitter, seed: u64) -> RetryPolicy {
    RetryPolicy::default().jitter(jitter).base(BASE).cap(CAP).max_attempts(20).with_seed(seed)
}

fn expo(n: u32) -> Duration {
    BASE.saturating_mul(2u32.saturating_pow(n)).min(CAP)
}

#[test]
fn full_jitter_lies_in_zero_to_expo() {
    let mut below_half = 0;
    for seed in 0..500 {
        for (n, d) in policy(Jitter::Full, seed).delays().enumerate() {
            assert!(d <= expo(n as u32), "seed {seed} retry {n}: {d:?} > {:?}", expo(n as u32));
            if d < expo(n as u32) / 2 {
                below_half += 1;
            }
        }
    }
    // Uniform on [0, expo]: about half the draws fall below expo/2 (here of 9500 draws).
    assert!((4000..5500).contains(&below_half), "{below_half}");
}

#[test]
fn equal_jitter_lies_in_half_expo_to_expo() {
    for seed in 0..500 {
        for (n, d) in policy(Jitter::Equal, seed).delays().enumerate() {
            let e = expo(n as u32);
            assert!(d >= e / 2 && d <= e, "seed {seed} retry {n}: {d:?} not in [{:?}, {e:?}]", e / 2);
        }
    }
}

#[test]
fn decorrelated_jitter_lies_in_base_to_three_times_previous_capped() {
    for seed in 0..500 {
        let mut previous = BASE;
        for d in policy(Jitter::Decorrelated, seed).delays() {
            assert!(d >= BASE && d <= (previous * 3).min(CAP), "seed {seed}: {d:?} after {previous:?}");
            previous = d;
        }
    }
}

#[test]
fn no_jitter_is_capped_exponential() {
    let delays: Vec<_> = policy(Jitter::None, 0).delays().take(12).collect();
    assert_eq!(delays[..4], [5, 10, 20, 40].map(Duration::from_millis));
    assert_eq!(delays[9], CAP, "5 ms * 2^9 = 2560 ms, capped");
}

#[test]
fn max_attempts_bounds_the_number_of_delays() {
    assert_eq!(RetryPolicy::default().max_attempts(1).delays().count(), 0);
    assert_eq!(RetryPolicy::default().max_attempts(4).delays().count(), 3);
}

#[test]
fn the_same_seed_gives_the_same_delays() {
    let a: Vec<_> = policy(Jitter::Full, 42).delays().collect();
    let b: Vec<_> = policy(Jitter::Full, 42).delays().collect();
    let c: Vec<_> = policy(Jitter::Full, 43).delays().collect();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn huge_retry_counts_do_not_overflow() {
    let p = RetryPolicy::default()
        .jitter(Jitter::None)
        .base(Duration::from_secs(1))
        .cap(Duration::from_secs(30))
        .max_attempts(200);
    assert!(p.delays().all(|d| d <= Duration::from_secs(30)));
}
