//! The two paths modelled in virtual time: a deterministic discrete-event simulation of
//! S3 -> SNS -> Lambda (asynchronous invocation) and S3 -> SNS -> SQS -> Lambda (event source
//! mapping) sharing one account's concurrency, at any scale from a hundred objects to ten
//! million, in seconds and without a stack.
//!
//! Every rule it plays is [`sluice_rules`]'s, the same definitions the local Lambda service
//! plays, each cited there once:
//! - the async queue: throttled events back off from 1 s to 5 minutes while the maximum event
//!   age allows; failed attempts are retried `MaximumRetryAttempts` times, 1 and 2 minutes
//!   later; then the DLQ or on-failure destination, or dropped;
//! - the mapping: 5 concurrent batches to start, one more every 200 ms while messages wait, to
//!   `MaximumConcurrency` or 1,250 (or provisioned pollers); batch size and window; the
//!   visibility timeout; partial batch responses; `maxReceiveCount` redrive to the DLQ; a
//!   throttled batch waits for the next free slot;
//! - the account's concurrency, reserved concurrency, and 1,000 new execution environments
//!   every 10 s per function, with a cold start for each new one.
//!
//! What it simplifies, and says so in the guide: the async queue's events back off one by one
//! (Lambda's readers also slow down on a long queue); a throttled mapping waits for a free slot
//! rather than shrinking its pollers; execution environments never expire; a batch's records
//! all meet the downstream at one moment, so they succeed or fail together.
//!
//! The service times ([`ServiceTimes`](crate::model::ServiceTimes)) are AWS's published
//! figures at AWS scale, or a local run's own records when the model checks that run
//! ([`calibrate`](crate::model::calibrate), [`check`](crate::model::check)).
//!
//! ```
//! use sluice_compare::Pattern;
//! use sluice_compare::model::{Arrivals, ModelSettings};
//!
//! let mut settings = ModelSettings::default();
//! settings.arrivals = Arrivals::Pattern { objects: 2_000, pattern: Pattern::Burst };
//! let modelled = sluice_compare::model::run(&settings, &|_, _| {}).unwrap();
//! for path in &modelled.paths {
//!     assert_eq!(path.processed + path.dead_lettered + path.dropped, 2_000);
//! }
//! ```

mod direct;
mod queue;
mod sim;

/// Fitting the model to a local run, and the check of one against the other.
pub mod calibrate;
/// The modelled report's charts.
pub mod charts;
/// The modelled-against-measured check.
pub mod check;
/// A model run as HTML.
pub mod html;
/// What a model run found.
pub mod outcome;
/// A model run as text.
pub mod report;
/// How long each step takes.
pub mod service_times;
/// What a model run is given.
pub mod settings;

use std::collections::BTreeMap;

use serde::Serialize;

pub use outcome::{ModelledLatency, ModelledPath, Sample};
pub use service_times::{Dist, InvocationTime, ServiceTimes};
pub use settings::{Arrivals, DirectSettings, ModelSettings, Pollers, QueueSettings};

use crate::prices::{Prices, US_EAST_1, Usage};
use crate::workload::WorkloadError;

/// The rules the model plays, with their sources: printed with every modelled figure.
pub const RULES: [(&str, &str); 9] = [
    (
        "async: throttled events retried 1 s doubling to 5 min, up to the maximum event age",
        "invocation-async-error-handling",
    ),
    (
        "async: failed events retried MaximumRetryAttempts (0-2) times, about 1 and 2 minutes later",
        "invocation-async-error-handling",
    ),
    ("async: then the DLQ or on-failure destination, else dropped", "invocation-async-retain-records"),
    (
        "mapping: 5 concurrent batches, +300 a minute while messages wait, to MaximumConcurrency or 1,250",
        "services-sqs-scaling",
    ),
    (
        "mapping: BatchSize, batching window, partial batch responses",
        "services-sqs-parameters, services-sqs-errorhandling",
    ),
    (
        "queue: a failed message reappears after the visibility timeout; past maxReceiveCount it moves to the DLQ",
        "services-sqs-configure, SQS sqs-dead-letter-queues",
    ),
    ("account concurrency shared by both functions; reserved concurrency carved out of it", "lambda-concurrency"),
    ("1,000 new execution environments every 10 s per function; a cold start for each", "scaling-behavior"),
    ("costs: list prices of Lambda, SQS, SNS, DynamoDB on demand", "crate::prices::US_EAST_1"),
];

/// Both paths, modelled.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Modelled {
    /// Always `modelled`: every figure here comes from AWS's rules in virtual time.
    pub kind: &'static str,
    /// What the model was given.
    pub settings: ModelSettings,
    /// The queue path, then the direct path.
    pub paths: Vec<ModelledPath>,
    /// The rules it played and their sources (Lambda Developer Guide pages unless named).
    pub rules: Vec<(&'static str, &'static str)>,
    /// The prices the costs use.
    pub prices: Prices,
    /// Events the simulation processed.
    pub events: u64,
}

impl Modelled {
    /// The queue path.
    pub fn queue(&self) -> &ModelledPath {
        &self.paths[0]
    }

    /// The direct path.
    pub fn direct(&self) -> &ModelledPath {
        &self.paths[1]
    }
}

/// Runs the model; `progress` hears (objects finished on both paths, twice the objects).
pub fn run(settings: &ModelSettings, progress: &dyn Fn(u64, u64)) -> Result<Modelled, WorkloadError> {
    settings.check()?;
    let mut sim = sim::Sim::new(settings);
    sim.run(progress);
    let objects = settings.arrivals.objects();
    let empty_receives = sim.queue.empty_receives(settings.time_scale);
    let events = sim.events();
    let mut paths = Vec::with_capacity(2);
    for (f, path, label) in
        [(sim::QUEUE, "queue", "S3 -> SNS -> SQS -> Lambda"), (sim::DIRECT, "direct", "S3 -> SNS -> Lambda")]
    {
        let c = std::mem::take(&mut sim.counts[f]);
        let mut requests: BTreeMap<String, u64> = c.sqs.iter().map(|(a, n)| (format!("SQS {a}"), *n)).collect();
        if f == sim::QUEUE {
            requests.insert("SQS SendMessage (SNS delivery)".into(), objects);
            requests.insert("SQS ReceiveMessage (empty long polls)".into(), empty_receives);
        }
        let sqs_requests = requests.values().sum();
        requests.insert("SNS Publish".into(), objects);
        requests.insert("DynamoDB writes (claim, complete or release, renewals)".into(), c.dynamodb_writes);
        let usage = Usage {
            invocations: c.invocations,
            gb_seconds: c.billed_ms as f64 / 1000.0 * settings.memory_mb as f64 / 1024.0,
            sqs_requests,
            sns_publishes: objects,
            dynamodb_writes: c.dynamodb_writes,
            dynamodb_reads: 0,
        };
        paths.push(ModelledPath {
            path,
            label,
            objects,
            processed: c.processed,
            dead_lettered: c.dead_lettered,
            dropped: c.dropped,
            gave_up: c.gave_up,
            invocations: c.invocations,
            batches: c.batches,
            throttles: c.throttles,
            retries: c.deliveries.saturating_sub(objects),
            cold_starts: c.cold_starts,
            peak_concurrency: c.peak_concurrency,
            peak_backlog: c.peak_backlog,
            drained_s: c.last_outcome as f64 / 1e6,
            latency: ModelledLatency::of(c.latencies_us),
            timeline: c.timeline,
            cost_per_million_objects: US_EAST_1.cost(&usage).scaled(1e6 / objects as f64),
            usage,
            requests,
        });
    }
    Ok(Modelled {
        kind: "modelled",
        settings: settings.clone(),
        paths,
        rules: RULES.to_vec(),
        prices: US_EAST_1,
        events,
    })
}
