//! What a model run found for one path: outcomes, counts, latency, the timeline and the cost,
//! every figure labelled modelled.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::prices::{Cost, Usage};

/// Upload-to-result latency of the processed objects.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ModelledLatency {
    /// Median, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
    /// The CDF at up to 201 points: (latency ms, fraction of processed objects at or below).
    pub cdf: Vec<(f64, f64)>,
}

impl ModelledLatency {
    /// The statistics of `latencies_us` (nearest rank, as the measured figures use).
    ///
    /// ```
    /// let l = sluice_compare::model::ModelledLatency::of((1..=100).map(|ms| ms * 1000).collect());
    /// assert_eq!((l.p50_ms, l.p99_ms, l.max_ms), (50.0, 99.0, 100.0));
    /// ```
    pub fn of(mut latencies_us: Vec<u64>) -> ModelledLatency {
        if latencies_us.is_empty() {
            return ModelledLatency::default();
        }
        latencies_us.sort_unstable();
        let n = latencies_us.len();
        let rank = |p: f64| {
            let index = ((p / 100.0) * n as f64).ceil() as usize;
            latencies_us[index.clamp(1, n) - 1] as f64 / 1000.0
        };
        let cdf = (0..=200)
            .map(|i| {
                let fraction = i as f64 / 200.0;
                let index = ((fraction * n as f64).ceil() as usize).clamp(1, n) - 1;
                (latencies_us[index] as f64 / 1000.0, fraction)
            })
            .collect();
        ModelledLatency { p50_ms: rank(50.0), p95_ms: rank(95.0), p99_ms: rank(99.0), max_ms: rank(100.0), cdf }
    }
}

/// One point of a path's timeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Sample {
    /// Seconds since the first upload.
    pub at_s: f64,
    /// Objects uploaded so far.
    pub arrived: u64,
    /// Concurrent executions of the path's function.
    pub concurrency: u32,
    /// Throttles so far.
    pub throttles: u64,
    /// Events waiting: arrived, not finished and not running (the async queue's depth, or the
    /// queue's messages, visible or not).
    pub backlog: u64,
    /// Age of the oldest event not finished, seconds.
    pub oldest_age_s: f64,
}

/// Why the direct path gave events up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct GaveUp {
    /// Every attempt failed.
    pub retries_exhausted: u64,
    /// The next try would have come after the maximum event age.
    pub event_age_exceeded: u64,
}

/// One path, modelled.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ModelledPath {
    /// `queue` or `direct`.
    pub path: &'static str,
    /// What it is.
    pub label: &'static str,
    /// Objects uploaded.
    pub objects: u64,
    /// Processed.
    pub processed: u64,
    /// Kept in the DLQ or on-failure destination.
    pub dead_lettered: u64,
    /// Given up with nowhere to keep them: lost.
    pub dropped: u64,
    /// Why the direct path gave up (zero on the queue path).
    pub gave_up: GaveUp,
    /// Function invocations that ran.
    pub invocations: u64,
    /// Batches the mapping received (the queue path; the direct path: 0).
    pub batches: u64,
    /// Invocations refused for want of concurrency or scaling rate.
    pub throttles: u64,
    /// Deliveries beyond each object's first (retries and redeliveries).
    pub retries: u64,
    /// New execution environments.
    pub cold_starts: u64,
    /// The most executions at once.
    pub peak_concurrency: u32,
    /// The most events waiting at once.
    pub peak_backlog: u64,
    /// Seconds from the first upload to the last object's outcome.
    pub drained_s: f64,
    /// Upload to result.
    pub latency: ModelledLatency,
    /// The path over time.
    pub timeline: Vec<Sample>,
    /// What the path used, at AWS time.
    pub usage: Usage,
    /// Requests by service and action: where `usage` comes from.
    pub requests: BTreeMap<String, u64>,
    /// What a million objects cost at the recorded prices.
    pub cost_per_million_objects: Cost,
}
