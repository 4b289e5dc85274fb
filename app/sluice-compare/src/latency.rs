//! The statistics of a set of latencies: the percentiles the reports quote and the sorted
//! values a CDF draws.

use serde::Serialize;

/// Upload-to-result latency: from the upload's completion to the moment the partner applied
/// the object's effect (the last step of processing).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Objects with a result.
    pub samples: usize,
    /// Median, milliseconds.
    pub p50_ms: u64,
    /// 95th percentile, milliseconds.
    pub p95_ms: u64,
    /// 99th percentile, milliseconds.
    pub p99_ms: u64,
    /// Slowest, milliseconds.
    pub max_ms: u64,
    /// Every latency, sorted, milliseconds (the CDF).
    pub sorted_ms: Vec<u64>,
}

impl Latency {
    /// The statistics of `latencies_ms`.
    ///
    /// ```
    /// let l = sluice_compare::figures::Latency::of((1..=100).collect());
    /// assert_eq!((l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms), (50, 95, 99, 100));
    /// ```
    pub fn of(mut latencies_ms: Vec<u64>) -> Latency {
        latencies_ms.sort_unstable();
        let rank = |p: f64| {
            if latencies_ms.is_empty() {
                return 0;
            }
            // Nearest rank: the smallest value with at least p% of the samples at or below it.
            let index = ((p / 100.0) * latencies_ms.len() as f64).ceil() as usize;
            latencies_ms[index.clamp(1, latencies_ms.len()) - 1]
        };
        Latency {
            samples: latencies_ms.len(),
            p50_ms: rank(50.0),
            p95_ms: rank(95.0),
            p99_ms: rank(99.0),
            max_ms: latencies_ms.last().copied().unwrap_or(0),
            sorted_ms: latencies_ms,
        }
    }
}
