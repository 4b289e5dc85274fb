//! What a comparison uploads and how the deployment is set: plain data, checked before
//! anything starts, so a bad option fails at once with the option's name instead of minutes
//! into a run.

use std::time::Duration;

use serde::Serialize;

/// How the uploads arrive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pattern {
    /// Everything at once: a mass upload.
    Burst,
    /// A steady rate, objects per second.
    Steady {
        /// Objects per second.
        per_second: f64,
    },
    /// A steady rate with a burst of `burst` objects halfway through: the usual day of a
    /// pipeline that also takes batch imports.
    BurstOnSteady {
        /// Objects per second of the steady part.
        per_second: f64,
        /// Objects in the burst.
        burst: usize,
    },
}

/// A window in which the downstream API (the workers' webhook) answers 503 to everything.
///
/// Each path's downstream times it from the first request it receives, so both paths meet the
/// same window whatever delays their first invocation (cold starts, a loaded machine).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Outage {
    /// Local time after the downstream's first request at which it starts.
    pub start: Duration,
    /// How long it lasts, local time.
    pub length: Duration,
}

/// A comparison's workload and deployment settings.
///
/// ```
/// use std::time::Duration;
/// use sluice_compare::{Outage, Pattern, Workload};
///
/// let mut workload = Workload::default();
/// workload.objects = 50;
/// workload.pattern = Pattern::Burst;
/// workload.outage = Some(Outage { start: Duration::ZERO, length: Duration::from_secs(10) });
/// workload.check().unwrap();
/// assert_eq!(workload.schedule().len(), 50);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Workload {
    /// Objects uploaded (each one S3 event, seen by both paths).
    pub objects: usize,
    /// Smallest object, bytes.
    pub min_bytes: u64,
    /// Largest object, bytes (sizes are drawn evenly between the two).
    pub max_bytes: u64,
    /// How the uploads arrive.
    pub pattern: Pattern,
    /// The downstream API's time to answer each object's POST: the processing time per object.
    pub processing: Duration,
    /// The account's concurrency (both functions share it, as in one AWS account).
    pub account_concurrency: u32,
    /// Reserved concurrency of each function (`None`: they draw on the account pool).
    pub reserved_concurrency: Option<u32>,
    /// The queue path's batch size.
    pub batch_size: u32,
    /// The queue path's batching window, AWS time.
    pub batching_window: Duration,
    /// The queue path's event source mapping maximum concurrency (`None`: uncapped).
    pub maximum_concurrency: Option<u32>,
    /// A downstream outage, if any.
    pub outage: Option<Outage>,
    /// The direct path keeps failed events in its on-failure destination (false: deployed
    /// without one, as many direct paths are).
    pub direct_dlq: bool,
    /// AWS waits (retry delays, visibility timeouts, batching windows) run this many times
    /// faster.
    pub time_scale: f64,
    /// Seed of the object sizes and contents.
    pub seed: u64,
}

impl Default for Workload {
    /// Sized to take about two minutes on a 2-core machine: 600 objects, a steady 5 per
    /// second with a burst of 300 halfway, 1 KiB to 64 KiB, 50 ms downstream that is down for
    /// the first 12 s (12 AWS minutes at this scale: longer than the direct path's three
    /// attempts, shorter than the queue's five receives), the template's settings, AWS time
    /// 60 times faster.
    fn default() -> Self {
        Workload {
            objects: 600,
            min_bytes: 1024,
            max_bytes: 64 * 1024,
            pattern: Pattern::BurstOnSteady { per_second: 5.0, burst: 300 },
            processing: Duration::from_millis(50),
            account_concurrency: 20,
            reserved_concurrency: None,
            // The template's parameter defaults (BatchSize, BatchingWindowSeconds,
            // MaximumConcurrency); the run deploys it with these values.
            batch_size: 10,
            batching_window: Duration::ZERO,
            maximum_concurrency: Some(5),
            outage: Some(Outage { start: Duration::ZERO, length: Duration::from_secs(12) }),
            direct_dlq: true,
            time_scale: 60.0,
            seed: 1,
        }
    }
}

/// An option out of range: which one and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{option}: {problem}")]
pub struct WorkloadError {
    /// The option, as the command line spells it.
    pub option: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

fn bad(option: &'static str, problem: impl Into<String>) -> Result<(), WorkloadError> {
    Err(WorkloadError { option, problem: problem.into() })
}

impl Workload {
    /// Checks every option against what the deployment and AWS allow.
    pub fn check(&self) -> Result<(), WorkloadError> {
        if self.objects == 0 {
            return bad("--objects", "must be at least 1");
        }
        if self.min_bytes == 0 || self.min_bytes > self.max_bytes {
            return bad("--min-bytes", format!("must be 1 to --max-bytes ({})", self.max_bytes));
        }
        if self.max_bytes > 1024 * 1024 {
            return bad("--max-bytes", "must be at most 1 MiB, the workers' object limit");
        }
        match self.pattern {
            Pattern::Burst => {}
            Pattern::Steady { per_second } | Pattern::BurstOnSteady { per_second, .. }
                if !(per_second.is_finite() && per_second > 0.0) =>
            {
                return bad("--rate", "must be a positive number of objects per second");
            }
            Pattern::BurstOnSteady { burst, .. } if burst >= self.objects => {
                return bad("--burst", format!("must be fewer than --objects ({})", self.objects));
            }
            _ => {}
        }
        if self.processing > Duration::from_secs(10) {
            return bad("--processing-ms", "must be at most 10,000 (the webhook's request timeout)");
        }
        if self.account_concurrency == 0 {
            return bad("--account-concurrency", "must be at least 1");
        }
        if let Some(reserved) = self.reserved_concurrency
            && (reserved == 0 || 2 * reserved > self.account_concurrency)
        {
            return bad(
                "--reserved-concurrency",
                format!(
                    "must be 1 to half of --account-concurrency ({}): both functions reserve it",
                    self.account_concurrency
                ),
            );
        }
        // services-sqs-configure: a standard queue takes batches of 1 to 10,000, more than 10
        // only with a batching window of at least 1 s.
        if !(1..=10_000).contains(&self.batch_size) {
            return bad("--batch-size", "must be 1 to 10,000 (services-sqs-configure)");
        }
        if self.batch_size > 10 && self.batching_window < Duration::from_secs(1) {
            return bad(
                "--batching-window-s",
                "must be at least 1 when --batch-size is over 10 (services-sqs-configure)",
            );
        }
        // services-sqs-scaling: MaximumConcurrency is 2 to 1,000.
        if let Some(cap) = self.maximum_concurrency
            && !(2..=1000).contains(&cap)
        {
            return bad("--maximum-concurrency", "must be 2 to 1,000 (services-sqs-scaling)");
        }
        if !(self.time_scale.is_finite() && (1.0..=600.0).contains(&self.time_scale)) {
            return bad("--time-scale", "must be 1 to 600");
        }
        if let Some(outage) = self.outage {
            if outage.length.is_zero() {
                return bad("--outage-s", "must be more than 0");
            }
            if outage.length > Duration::from_secs(600) {
                return bad("--outage-s", "must be at most 600");
            }
        }
        Ok(())
    }

    /// When each object is uploaded, after the first: one offset per object, in order.
    pub fn schedule(&self) -> Vec<Duration> {
        let steady = |i: usize, rate: f64| Duration::from_secs_f64(i as f64 / rate);
        match self.pattern {
            Pattern::Burst => vec![Duration::ZERO; self.objects],
            Pattern::Steady { per_second } => (0..self.objects).map(|i| steady(i, per_second)).collect(),
            Pattern::BurstOnSteady { per_second, burst } => {
                let paced = self.objects - burst;
                let middle = steady(paced / 2, per_second);
                let mut offsets: Vec<Duration> = (0..paced).map(|i| steady(i, per_second)).collect();
                offsets.extend(std::iter::repeat_n(middle, burst));
                offsets.sort();
                offsets
            }
        }
    }

    /// The size of each object, drawn from the seed.
    pub fn sizes(&self) -> Vec<u64> {
        let mut rng = fastrand::Rng::with_seed(self.seed);
        (0..self.objects).map(|_| rng.u64(self.min_bytes..=self.max_bytes)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_on_a_steady_rate_puts_the_burst_halfway() {
        let w = Workload {
            objects: 30,
            pattern: Pattern::BurstOnSteady { per_second: 10.0, burst: 10 },
            ..Workload::default()
        };
        let schedule = w.schedule();
        assert_eq!(schedule.len(), 30);
        let at_one_second = schedule.iter().filter(|d| **d == Duration::from_secs(1)).count();
        assert_eq!(at_one_second, 11, "the burst of 10 and the paced object due then");
        assert_eq!(schedule.last(), Some(&Duration::from_millis(1900)));
        assert!(schedule.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn options_out_of_range_name_the_option() {
        let cases = [
            (Workload { objects: 0, ..Workload::default() }, "--objects"),
            (Workload { batch_size: 20, ..Workload::default() }, "--batching-window-s"),
            (Workload { maximum_concurrency: Some(1), ..Workload::default() }, "--maximum-concurrency"),
            (Workload { reserved_concurrency: Some(15), ..Workload::default() }, "--reserved-concurrency"),
            (Workload { pattern: Pattern::Steady { per_second: 0.0 }, ..Workload::default() }, "--rate"),
            (Workload { time_scale: 0.5, ..Workload::default() }, "--time-scale"),
        ];
        for (workload, option) in cases {
            assert_eq!(workload.check().unwrap_err().option, option);
        }
        Workload::default().check().unwrap();
    }

    #[test]
    fn sizes_are_seeded_and_within_bounds() {
        let w = Workload { objects: 100, min_bytes: 10, max_bytes: 20, ..Workload::default() };
        assert_eq!(w.sizes(), w.sizes());
        assert!(w.sizes().iter().all(|s| (10..=20).contains(s)));
    }
}
