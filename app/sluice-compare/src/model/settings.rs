//! What a model run is given: the arrivals, the account, each path's AWS settings, the
//! downstream and how long each step takes. Plain data, checked before anything runs, so a bad
//! option fails at once with its name.

use std::time::Duration;

use serde::Serialize;
use sluice_rules::{async_invoke, scaling, sqs_mapping};

use crate::model::service_times::ServiceTimes;
use crate::workload::{Outage, Pattern, Workload, WorkloadError};

/// When the objects are uploaded.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Arrivals {
    /// `objects` objects on a pattern, generated as the model goes (10 million take no memory).
    Pattern {
        /// How many.
        objects: u64,
        /// How they arrive.
        pattern: Pattern,
    },
    /// Each object's upload time, from the first: a measured run's own uploads.
    Times {
        /// The upload times, in arrival order.
        at: Vec<Duration>,
    },
}

impl Arrivals {
    /// How many objects arrive.
    pub fn objects(&self) -> u64 {
        match self {
            Arrivals::Pattern { objects, .. } => *objects,
            Arrivals::Times { at } => at.len() as u64,
        }
    }

    /// When object `k` (in arrival order) is uploaded.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sluice_compare::Pattern;
    /// use sluice_compare::model::Arrivals;
    /// let a = Arrivals::Pattern { objects: 30, pattern: Pattern::BurstOnSteady { per_second: 10.0, burst: 10 } };
    /// assert_eq!(a.at(9), Duration::from_millis(900));
    /// assert_eq!(a.at(10), Duration::from_secs(1));
    /// assert_eq!(a.at(20), Duration::from_secs(1));
    /// assert_eq!(a.at(29), Duration::from_millis(1900));
    /// ```
    pub fn at(&self, k: u64) -> Duration {
        match self {
            Arrivals::Times { at } => at[k as usize],
            Arrivals::Pattern { pattern, objects } => {
                let paced = |i: u64, rate: f64| Duration::from_secs_f64(i as f64 / rate);
                match *pattern {
                    Pattern::Burst => Duration::ZERO,
                    Pattern::Steady { per_second } => paced(k, per_second),
                    Pattern::BurstOnSteady { per_second, burst } => {
                        let burst = burst as u64;
                        let half = (objects - burst) / 2;
                        if k < half {
                            paced(k, per_second)
                        } else if k < half + burst {
                            paced(half, per_second)
                        } else {
                            paced(k - burst, per_second)
                        }
                    }
                }
            }
        }
    }
}

/// The direct path's settings: the function's event invoke config.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DirectSettings {
    /// `MaximumRetryAttempts`, 0 to 2.
    pub maximum_retry_attempts: u32,
    /// `MaximumEventAgeInSeconds`, 60 s to 6 h.
    pub maximum_event_age: Duration,
    /// A DLQ or on-failure destination keeps what Lambda gives up (false: dropped).
    pub on_failure: bool,
    /// The function's reserved concurrency (`None`: the account's unreserved pool).
    pub reserved_concurrency: Option<u32>,
}

impl Default for DirectSettings {
    fn default() -> Self {
        DirectSettings {
            maximum_retry_attempts: async_invoke::DEFAULT_MAXIMUM_RETRY_ATTEMPTS,
            maximum_event_age: async_invoke::DEFAULT_MAXIMUM_EVENT_AGE,
            on_failure: true,
            reserved_concurrency: None,
        }
    }
}

/// How the event source mapping scales.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Pollers {
    /// On-demand: from 5 up by 300 a minute, to `MaximumConcurrency` (or 1,250).
    OnDemand {
        /// `ScalingConfig.MaximumConcurrency` (`None`: none set).
        maximum_concurrency: Option<u32>,
    },
    /// Provisioned mode: between `minimum` and `maximum` pollers, 10 invocations each, scaling
    /// at the on-demand rate in between.
    Provisioned {
        /// `MinimumPollers`.
        minimum: u32,
        /// `MaximumPollers`.
        maximum: u32,
    },
}

/// The queue path's settings: the mapping and the queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueSettings {
    /// `BatchSize`.
    pub batch_size: u32,
    /// `MaximumBatchingWindowInSeconds`.
    pub batching_window: Duration,
    /// How the mapping scales.
    pub pollers: Pollers,
    /// The queue's visibility timeout.
    pub visibility_timeout: Duration,
    /// The redrive policy's `maxReceiveCount`.
    pub max_receive_count: u32,
    /// The function's reserved concurrency (`None`: the account's unreserved pool).
    pub reserved_concurrency: Option<u32>,
}

impl Default for QueueSettings {
    /// The template's: batches of 10, no window, `MaximumConcurrency` 5, a 200 s visibility
    /// timeout, `maxReceiveCount` 5.
    fn default() -> Self {
        QueueSettings {
            batch_size: sqs_mapping::DEFAULT_BATCH_SIZE,
            batching_window: Duration::ZERO,
            pollers: Pollers::OnDemand { maximum_concurrency: Some(5) },
            visibility_timeout: Duration::from_secs(200),
            max_receive_count: 5,
            reserved_concurrency: None,
        }
    }
}

/// Everything a model run is given.
///
/// ```
/// use sluice_compare::model::ModelSettings;
/// let mut settings = ModelSettings::default();
/// settings.account_concurrency = 0;
/// assert_eq!(settings.check().unwrap_err().option, "--account-concurrency");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ModelSettings {
    /// When the objects arrive.
    pub arrivals: Arrivals,
    /// The account's concurrency, shared by both functions.
    pub account_concurrency: u32,
    /// The direct path.
    pub direct: DirectSettings,
    /// The queue path.
    pub queue: QueueSettings,
    /// Windows in which each path's downstream fails every call, timed from that path's first
    /// call (as the local run times them).
    pub outages: Vec<Outage>,
    /// How long each step takes.
    pub times: ServiceTimes,
    /// The function's timeout (never scaled).
    pub function_timeout: Duration,
    /// The function's memory, MB (GB-seconds).
    pub memory_mb: u32,
    /// AWS's waits (retry delays, backoffs, visibility timeouts, scaling steps) run this many
    /// times faster: 1 at AWS scale, the local run's scale when checking a local run.
    pub time_scale: f64,
    /// Seed of every draw: the same seed, the same run.
    pub seed: u64,
}

impl Default for ModelSettings {
    /// AWS scale: 100,000 objects at once, the account's default 1,000 concurrency, the
    /// template's settings, AWS's published service times, no outage.
    fn default() -> Self {
        ModelSettings {
            arrivals: Arrivals::Pattern { objects: 100_000, pattern: Pattern::Burst },
            account_concurrency: scaling::DEFAULT_ACCOUNT_CONCURRENCY,
            direct: DirectSettings::default(),
            queue: QueueSettings::default(),
            outages: Vec::new(),
            times: ServiceTimes::published(Duration::from_millis(50)),
            function_timeout: Duration::from_secs(30),
            memory_mb: 256,
            time_scale: 1.0,
            seed: 1,
        }
    }
}

fn bad(option: &'static str, problem: impl Into<String>) -> Result<(), WorkloadError> {
    Err(WorkloadError { option, problem: problem.into() })
}

/// The most objects a model run takes.
pub const MAX_OBJECTS: u64 = 10_000_000;

impl ModelSettings {
    /// The settings of a `sluice compare` workload: its objects and pattern, account and
    /// reserved concurrency, batch size, batching window, mapping cap, outage and DLQ, seed,
    /// and AWS's published service times with its processing time; the rest as
    /// [`Default`] (the template's settings, AWS time).
    ///
    /// ```
    /// use sluice_compare::Workload;
    /// use sluice_compare::model::ModelSettings;
    /// let mut w = Workload::default();
    /// w.batch_size = 7;
    /// let s = ModelSettings::of_workload(&w);
    /// assert_eq!((s.arrivals.objects(), s.queue.batch_size, s.time_scale), (w.objects as u64, 7, 1.0));
    /// ```
    pub fn of_workload(w: &Workload) -> ModelSettings {
        ModelSettings {
            arrivals: Arrivals::Pattern { objects: w.objects as u64, pattern: w.pattern },
            account_concurrency: w.account_concurrency,
            direct: DirectSettings {
                on_failure: w.direct_dlq,
                reserved_concurrency: w.reserved_concurrency,
                ..DirectSettings::default()
            },
            queue: QueueSettings {
                batch_size: w.batch_size,
                batching_window: w.batching_window,
                pollers: Pollers::OnDemand { maximum_concurrency: w.maximum_concurrency },
                reserved_concurrency: w.reserved_concurrency,
                ..QueueSettings::default()
            },
            outages: w.outage.into_iter().collect(),
            times: ServiceTimes::published(w.processing),
            seed: w.seed,
            ..ModelSettings::default()
        }
    }

    /// Checks every option against what AWS allows, naming the first that is out of range.
    pub fn check(&self) -> Result<(), WorkloadError> {
        let objects = self.arrivals.objects();
        if objects == 0 || objects > MAX_OBJECTS {
            return bad("--objects", format!("must be 1 to {MAX_OBJECTS}"));
        }
        if let Arrivals::Pattern { pattern, objects } = &self.arrivals {
            match *pattern {
                Pattern::Steady { per_second } | Pattern::BurstOnSteady { per_second, .. }
                    if !(per_second.is_finite() && per_second > 0.0) =>
                {
                    return bad("--rate", "must be a positive number of objects per second");
                }
                Pattern::BurstOnSteady { burst, .. } if burst as u64 >= *objects => {
                    return bad("--burst", format!("must be fewer than --objects ({objects})"));
                }
                _ => {}
            }
        }
        if self.account_concurrency == 0 {
            return bad("--account-concurrency", "must be at least 1");
        }
        let reserved: u32 = [self.direct.reserved_concurrency, self.queue.reserved_concurrency].iter().flatten().sum();
        if reserved > self.account_concurrency {
            return bad(
                "--reserved-concurrency",
                format!("both functions' reservations ({reserved}) exceed --account-concurrency"),
            );
        }
        if self.direct.maximum_retry_attempts > async_invoke::MAXIMUM_RETRY_ATTEMPTS_LIMIT {
            return bad("--maximum-retry-attempts", "must be 0 to 2 (FunctionEventInvokeConfig)");
        }
        let (shortest, longest) = async_invoke::MAXIMUM_EVENT_AGE_RANGE;
        if !(shortest..=longest).contains(&self.direct.maximum_event_age) {
            return bad("--maximum-event-age-s", "must be 60 to 21,600 (FunctionEventInvokeConfig)");
        }
        let q = &self.queue;
        if !(1..=sqs_mapping::MAXIMUM_BATCH_SIZE).contains(&q.batch_size) {
            return bad("--batch-size", "must be 1 to 10,000 (services-sqs-parameters)");
        }
        if q.batch_size > 10 && q.batching_window < Duration::from_secs(1) {
            return bad("--batching-window-s", "must be at least 1 when --batch-size is over 10");
        }
        if q.batching_window > sqs_mapping::MAXIMUM_BATCHING_WINDOW {
            return bad("--batching-window-s", "must be at most 300");
        }
        match q.pollers {
            Pollers::OnDemand { maximum_concurrency: Some(cap) } => {
                let (least, most) = sqs_mapping::MAXIMUM_CONCURRENCY_RANGE;
                if !(least..=most).contains(&cap) {
                    return bad("--maximum-concurrency", "must be 2 to 1,000 (ScalingConfig)");
                }
            }
            Pollers::OnDemand { maximum_concurrency: None } => {}
            Pollers::Provisioned { minimum, maximum } => {
                let ((min_lo, min_hi), (max_lo, max_hi)) = sqs_mapping::PROVISIONED_POLLERS_RANGE;
                if !(min_lo..=min_hi).contains(&minimum) {
                    return bad("--minimum-pollers", "must be 2 to 200 (ProvisionedPollerConfig)");
                }
                if !(max_lo..=max_hi).contains(&maximum) || maximum < minimum {
                    return bad("--maximum-pollers", "must be --minimum-pollers to 2,000 (ProvisionedPollerConfig)");
                }
            }
        }
        if q.visibility_timeout < self.function_timeout || q.visibility_timeout > Duration::from_secs(43_200) {
            return bad("--visibility-timeout-s", "must be the function's timeout to 43,200 (12 hours)");
        }
        if !(1..=1000).contains(&q.max_receive_count) {
            return bad("--max-receive-count", "must be 1 to 1,000 (SQS RedrivePolicy)");
        }
        if self.function_timeout < Duration::from_secs(1) || self.function_timeout > Duration::from_secs(900) {
            return bad("--function-timeout-s", "must be 1 to 900");
        }
        if !(self.time_scale.is_finite() && self.time_scale >= 1.0) {
            return bad("--time-scale", "must be at least 1");
        }
        if self.outages.iter().any(|o| o.length.is_zero()) {
            return bad("--outage-s", "must be more than 0");
        }
        self.times.check()
    }
}
