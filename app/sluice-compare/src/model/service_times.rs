//! How long each step takes in the model: the hops between the services, a function's
//! invocation and its cold start. At AWS scale they default to AWS's published figures, cited
//! here once; when the model checks a local run, they are that run's own records.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::published;
use crate::workload::WorkloadError;

/// A duration drawn for each event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Dist {
    /// Always the same.
    Fixed {
        /// The duration, µs.
        us: u64,
    },
    /// Published percentiles: drawn from the piecewise-linear distribution through
    /// (0, p50 / 2), (0.5, p50), (0.9, p90), (0.99, p99), (1, p99 x 1.5).
    Percentiles {
        /// Median, µs.
        p50_us: u64,
        /// 90th percentile, µs.
        p90_us: u64,
        /// 99th percentile, µs.
        p99_us: u64,
    },
    /// Drawn evenly from what a run measured, µs.
    Measured {
        /// The samples (never empty).
        samples_us: Vec<u64>,
    },
    /// Drawn from what a run measured nearest the same moment of the run: on one machine a
    /// call's duration follows the machine's load.
    MeasuredOverRun {
        /// (ms after the first upload, duration µs), sorted (never empty).
        samples: Vec<(u32, u64)>,
    },
}

impl Dist {
    /// A fixed duration.
    pub fn fixed(d: Duration) -> Dist {
        Dist::Fixed { us: d.as_micros() as u64 }
    }

    /// Samples of a run, or `fallback` if there are none.
    pub fn measured(samples_us: Vec<u64>, fallback: Dist) -> Dist {
        if samples_us.is_empty() { fallback } else { Dist::Measured { samples_us } }
    }

    /// Samples of a run with when they were taken (ms after the first upload), or `fallback`.
    pub fn measured_over_run(mut samples: Vec<(u32, u64)>, fallback: Dist) -> Dist {
        samples.sort_unstable();
        if samples.is_empty() { fallback } else { Dist::MeasuredOverRun { samples } }
    }

    /// Published percentiles in milliseconds.
    pub fn percentiles_ms(p50: f64, p90: f64, p99: f64) -> Dist {
        let us = |ms: f64| (ms * 1000.0) as u64;
        Dist::Percentiles { p50_us: us(p50), p90_us: us(p90), p99_us: us(p99) }
    }

    /// One draw at `at_ms` after the first upload, µs (only a [`Dist::MeasuredOverRun`] heeds
    /// the moment).
    pub fn draw_at(&self, at_ms: u32, rng: &mut fastrand::Rng) -> u64 {
        match self {
            Dist::MeasuredOverRun { samples } => nearest_start(samples, at_ms, rng),
            _ => self.draw(rng),
        }
    }

    /// One draw, µs.
    pub fn draw(&self, rng: &mut fastrand::Rng) -> u64 {
        match self {
            Dist::Fixed { us } => *us,
            Dist::MeasuredOverRun { samples } => samples[rng.usize(..samples.len())].1,
            Dist::Measured { samples_us } => samples_us[rng.usize(..samples_us.len())],
            Dist::Percentiles { p50_us, p90_us, p99_us } => {
                let (p50, p90, p99) = (*p50_us as f64, *p90_us as f64, *p99_us as f64);
                let knots = [(0.0, p50 / 2.0), (0.5, p50), (0.9, p90), (0.99, p99), (1.0, p99 * 1.5)];
                let u = rng.f64();
                let i = knots.iter().rposition(|k| k.0 <= u).unwrap_or(0).min(knots.len() - 2);
                let ((u0, v0), (u1, v1)) = (knots[i], knots[i + 1]);
                (v0 + (v1 - v0) * (u - u0) / (u1 - u0)) as u64
            }
        }
    }

    /// The median, µs (for reports).
    pub fn median_us(&self) -> u64 {
        match self {
            Dist::Fixed { us } => *us,
            Dist::Percentiles { p50_us, .. } => *p50_us,
            Dist::Measured { samples_us } => {
                let mut s = samples_us.clone();
                s.sort_unstable();
                s[s.len() / 2]
            }
            Dist::MeasuredOverRun { samples } => {
                let mut s: Vec<u64> = samples.iter().map(|(_, us)| *us).collect();
                s.sort_unstable();
                s[s.len() / 2]
            }
        }
    }
}

/// How long one invocation of a path's function takes, by the records in it and whether the
/// downstream answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InvocationTime {
    /// A fixed cost per invocation plus each record's time, `records_at_once` records at a time.
    Linear {
        /// Per invocation, µs.
        per_invocation_us: u64,
        /// Per record while the downstream answers, µs.
        per_record_up_us: u64,
        /// Per record while it is down (the worker's own retries, then its answer), µs.
        per_record_down_us: u64,
        /// Records the handler runs at once.
        records_at_once: u32,
    },
    /// Drawn from a run's invocations of the same size (the nearest size measured) that began
    /// at about the same moment of the run: on one machine an invocation's duration follows
    /// the machine's load, and a model of the same run meets the same load at the same moment.
    Measured {
        /// (start, ms after the first upload; duration µs) while the downstream answered, by
        /// records in the invocation, sorted.
        up_us: BTreeMap<u32, Vec<(u32, u64)>>,
        /// The same while it was down.
        down_us: BTreeMap<u32, Vec<(u32, u64)>>,
    },
}

/// How many measured durations of the nearest start a draw picks among.
const NEAREST_STARTS: usize = 8;

/// One of the [`NEAREST_STARTS`] samples taken nearest `at_ms`, grown outwards from where
/// `at_ms` would sort; `samples` is sorted and not empty.
fn nearest_start(samples: &[(u32, u64)], at_ms: u32, rng: &mut fastrand::Rng) -> u64 {
    let (mut lo, mut hi) = {
        let at = samples.partition_point(|(start, _)| *start < at_ms);
        (at, at)
    };
    while hi - lo < NEAREST_STARTS.min(samples.len()) {
        let below = lo.checked_sub(1).map(|i| at_ms - samples[i].0.min(at_ms));
        let above = samples.get(hi).map(|s| s.0.saturating_sub(at_ms));
        match (below, above) {
            (Some(b), Some(a)) if b < a => lo -= 1,
            (_, Some(_)) => hi += 1,
            (Some(_), None) => lo -= 1,
            (None, None) => break,
        }
    }
    samples[lo + rng.usize(..hi - lo)].1
}

impl InvocationTime {
    /// The duration of an invocation of `records` records starting `at_ms` after the first
    /// upload, µs.
    pub fn draw(&self, records: u32, down: bool, at_ms: u32, rng: &mut fastrand::Rng) -> u64 {
        match self {
            InvocationTime::Linear { per_invocation_us, per_record_up_us, per_record_down_us, records_at_once } => {
                let rounds = records.div_ceil((*records_at_once).max(1)) as u64;
                per_invocation_us + rounds * if down { per_record_down_us } else { per_record_up_us }
            }
            InvocationTime::Measured { up_us, down_us } => {
                // A run whose downstream never answered (or never failed) measured one table
                // only: the other is drawn from it.
                let table = if (down && !down_us.is_empty()) || up_us.is_empty() { down_us } else { up_us };
                let above = table.range(records..).next();
                let below = table.range(..records).next_back();
                let nearest = match (below, above) {
                    (Some(b), Some(a)) => {
                        if records - b.0 < a.0 - records {
                            b
                        } else {
                            a
                        }
                    }
                    (Some(x), None) | (None, Some(x)) => x,
                    (None, None) => return 0,
                };
                nearest_start(nearest.1, at_ms, rng)
            }
        }
    }
}

/// How long each step takes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceTimes {
    /// Where these figures come from.
    pub source: String,
    /// Upload to the event in Lambda's asynchronous queue (S3 -> SNS -> Lambda).
    pub direct_hop: Dist,
    /// Upload to the message ready for a poller (S3 -> SNS -> SQS -> mapping).
    pub queue_hop: Dist,
    /// The direct path's function (one record per invocation).
    pub direct_invocation: InvocationTime,
    /// The queue path's function.
    pub queue_invocation: InvocationTime,
    /// A poller's receive, from its call (or the first message's arrival) to the batch in hand.
    /// The poller is busy through it; the function's concurrency is not.
    pub receive: Dist,
    /// A poller's delete of a processed batch, after the invocation: the poller is busy
    /// through it.
    pub delete: Dist,
    /// The mapping receives one batch at a time, as the local Lambda service's single receive
    /// loop does (AWS's pollers receive in parallel: `false`).
    pub one_receive_at_a_time: bool,
    /// A cold start's init phase.
    pub init: Dist,
    /// Where in an invocation the downstream is called, µs after its start: a record's outcome
    /// is whether the downstream answers then.
    pub downstream_at_us: u64,
    /// How long before its invocation ends a record's effect is applied on the direct path,
    /// µs (the worker's completion write and its response): latency runs to the effect.
    pub direct_effect_before_end_us: u64,
    /// The same on the queue path.
    pub queue_effect_before_end_us: u64,
    /// The idempotency lease: a record held longer renews its claim every third of it (one
    /// DynamoDB write each).
    pub lease: Duration,
}

/// A Rust function's cold start: about 14 ms of init on `provided.al2023` arm64
/// (maxday/lambda-perf, hello world, zip package, data of 2026-08-22).
pub const PUBLISHED_RUST_INIT: Duration = Duration::from_millis(14);

/// A DynamoDB request: "single-digit millisecond performance at any scale"
/// (aws.amazon.com/dynamodb); taken as 5 ms.
pub const PUBLISHED_DYNAMODB_REQUEST: Duration = Duration::from_millis(5);

/// An S3 GET of a small object: "median latencies are often in the tens of milliseconds range"
/// for requests under 512 KB (AWS whitepaper "Best Practices Design Patterns: Optimizing
/// Amazon S3 Performance", "Timeouts and Retries for Latency-Sensitive Applications"); taken as
/// 30 ms.
pub const PUBLISHED_S3_GET: Duration = Duration::from_millis(30);

/// A poller's receive: the published median from a standard queue's message to its mapping's
/// invocation, 16.2 ms ([`published::LATENCIES`]).
pub const PUBLISHED_RECEIVE: Duration = Duration::from_micros(16_200);

/// A poller's `DeleteMessageBatch`: not published; taken as one SQS request like the receive.
pub const PUBLISHED_DELETE: Duration = PUBLISHED_RECEIVE;

/// A record on a down downstream: the sample worker's three attempts with full jitter from
/// 100 ms (`sluice_retry::RetryPolicy::default`), about 300 ms with the requests.
pub const WORKER_DOWNSTREAM_RETRIES: Duration = Duration::from_millis(300);

/// The sample worker runs 10 records of a batch at once (`BATCH_CONCURRENCY`, default 10).
pub const WORKER_RECORDS_AT_ONCE: u32 = 10;

impl ServiceTimes {
    /// AWS's published figures, with a downstream that takes `processing` per object:
    /// - the hops are the published producer-to-consumer latencies ([`published::LATENCIES`]):
    ///   SNS -> Lambda (async) for the direct path, SNS FIFO -> SQS -> Lambda for the queue
    ///   path (the closest published figure for SNS -> SQS -> mapping). S3's own delivery to
    ///   SNS is the same for both paths and is left out;
    /// - a record takes an S3 GET, two DynamoDB writes (claim, complete) and the downstream;
    /// - a cold start is a Rust function's init.
    pub fn published(processing: Duration) -> ServiceTimes {
        let [_, _, sns_lambda, sns_sqs_lambda] = published::LATENCIES;
        let record = PUBLISHED_S3_GET + 2 * PUBLISHED_DYNAMODB_REQUEST + processing;
        let down = PUBLISHED_S3_GET + 2 * PUBLISHED_DYNAMODB_REQUEST + WORKER_DOWNSTREAM_RETRIES;
        let invocation = |records_at_once| InvocationTime::Linear {
            per_invocation_us: 1_000,
            per_record_up_us: record.as_micros() as u64,
            per_record_down_us: down.as_micros() as u64,
            records_at_once,
        };
        ServiceTimes {
            source: format!(
                "AWS published figures: hops {}; init {} ms (maxday/lambda-perf); S3 GET {} ms, DynamoDB {} ms (AWS); \
                 SQS receive and delete {:.1} ms each; downstream {} ms per object",
                published::LATENCY_SOURCE,
                PUBLISHED_RUST_INIT.as_millis(),
                PUBLISHED_S3_GET.as_millis(),
                PUBLISHED_DYNAMODB_REQUEST.as_millis(),
                PUBLISHED_RECEIVE.as_secs_f64() * 1e3,
                processing.as_millis()
            ),
            direct_hop: Dist::percentiles_ms(
                sns_lambda.p50_ms,
                sns_lambda.p90_ms.unwrap_or(sns_lambda.p50_ms),
                sns_lambda.p99_ms,
            ),
            queue_hop: Dist::percentiles_ms(
                sns_sqs_lambda.p50_ms,
                // Not published: halfway between the median and the 99th percentile.
                sns_sqs_lambda.p90_ms.unwrap_or((sns_sqs_lambda.p50_ms + sns_sqs_lambda.p99_ms) / 2.0),
                sns_sqs_lambda.p99_ms,
            ),
            direct_invocation: invocation(1),
            queue_invocation: invocation(WORKER_RECORDS_AT_ONCE),
            receive: Dist::fixed(PUBLISHED_RECEIVE),
            delete: Dist::fixed(PUBLISHED_DELETE),
            one_receive_at_a_time: false,
            init: Dist::fixed(PUBLISHED_RUST_INIT),
            downstream_at_us: (PUBLISHED_S3_GET + PUBLISHED_DYNAMODB_REQUEST).as_micros() as u64,
            // The completion write after the downstream's answer.
            direct_effect_before_end_us: PUBLISHED_DYNAMODB_REQUEST.as_micros() as u64,
            queue_effect_before_end_us: PUBLISHED_DYNAMODB_REQUEST.as_micros() as u64,
            lease: sluice::DEFAULT_LEASE,
        }
    }

    /// The medians, in one line: what a reader checks first when a model run surprises.
    ///
    /// ```
    /// use std::time::Duration;
    /// let line = sluice_compare::model::ServiceTimes::published(Duration::from_millis(50)).summary();
    /// assert!(line.contains("receive 16.2 ms"), "{line}");
    /// ```
    pub fn summary(&self) -> String {
        let ms = |d: &Dist| d.median_us() as f64 / 1e3;
        format!(
            "medians: hop {:.1} ms direct, {:.1} ms queue; receive {:.1} ms, delete {:.1} ms; init {:.1} ms; \
             effect {:.1} ms before the end direct, {:.1} ms queue",
            ms(&self.direct_hop),
            ms(&self.queue_hop),
            ms(&self.receive),
            ms(&self.delete),
            ms(&self.init),
            self.direct_effect_before_end_us as f64 / 1e3,
            self.queue_effect_before_end_us as f64 / 1e3
        )
    }

    /// Checks that the durations can be drawn.
    pub fn check(&self) -> Result<(), WorkloadError> {
        let empty = |t: &InvocationTime| matches!(t, InvocationTime::Measured { up_us, down_us } if up_us.is_empty() && down_us.is_empty());
        if empty(&self.direct_invocation) || empty(&self.queue_invocation) {
            return Err(WorkloadError {
                option: "service times",
                problem: "no measured invocation to draw from".into(),
            });
        }
        if self.lease.is_zero() {
            return Err(WorkloadError { option: "lease", problem: "must be more than 0".into() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_percentiles_are_drawn_around_their_median() {
        let d = Dist::percentiles_ms(73.0, 125.0, 225.0);
        let mut rng = fastrand::Rng::with_seed(7);
        let mut draws: Vec<u64> = (0..10_000).map(|_| d.draw(&mut rng)).collect();
        draws.sort_unstable();
        let p50 = draws[5_000] as f64 / 1000.0;
        let p90 = draws[9_000] as f64 / 1000.0;
        assert!((p50 - 73.0).abs() < 3.0, "{p50}");
        assert!((p90 - 125.0).abs() < 6.0, "{p90}");
    }

    #[test]
    fn measured_invocations_take_the_nearest_size() {
        let t = InvocationTime::Measured {
            up_us: [(1, vec![(0, 100)]), (10, vec![(0, 1_000)])].into(),
            down_us: [(1, vec![(0, 50)])].into(),
        };
        let mut rng = fastrand::Rng::with_seed(1);
        assert_eq!(t.draw(2, false, 0, &mut rng), 100);
        assert_eq!(t.draw(8, false, 0, &mut rng), 1_000);
        assert_eq!(t.draw(9, true, 0, &mut rng), 50);
    }

    #[test]
    fn measured_invocations_take_the_nearest_start() {
        let early: Vec<(u32, u64)> = (0..10).map(|_| (1, 100)).collect();
        let late: Vec<(u32, u64)> = (0..10).map(|_| (2_000, 900)).collect();
        let t = InvocationTime::Measured { up_us: [(1, [early, late].concat())].into(), down_us: BTreeMap::new() };
        let mut rng = fastrand::Rng::with_seed(1);
        assert!((0..50).all(|_| t.draw(1, false, 0, &mut rng) == 100));
        assert!((0..50).all(|_| t.draw(1, false, 1_900, &mut rng) == 900));
    }

    #[test]
    fn a_run_that_measured_only_failures_draws_from_them() {
        let t = InvocationTime::Measured { up_us: BTreeMap::new(), down_us: [(1, vec![(0, 70)])].into() };
        let mut rng = fastrand::Rng::with_seed(1);
        assert_eq!(t.draw(1, false, 0, &mut rng), 70);
        let mut times = ServiceTimes::published(Duration::ZERO);
        times.direct_invocation = t;
        assert_eq!(times.check(), Ok(()));
        times.queue_invocation = InvocationTime::Measured { up_us: BTreeMap::new(), down_us: BTreeMap::new() };
        assert!(times.check().is_err(), "nothing at all to draw from");
    }
}
