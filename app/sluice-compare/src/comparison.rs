//! The result of a run: the workload, the time scale and what it compresses, each path's
//! figures, and the four rows of the question (speed, scalability, reliability, efficiency)
//! with a reading written from the measured figures, never from the usual table.

use std::time::Duration;

use serde::Serialize;

use crate::figures::PathFigures;
use crate::model::check::Agreement;
use crate::prices::Prices;
use crate::workload::Workload;

/// An AWS timing the run compressed by its time scale.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompressedTiming {
    /// What it is.
    pub what: &'static str,
    /// As AWS runs it, seconds.
    pub aws_seconds: f64,
    /// As this run ran it, seconds.
    pub local_seconds: f64,
}

impl CompressedTiming {
    /// The timings a run at `scale` compresses.
    pub fn at(scale: f64, workload: &Workload, visibility: Duration) -> Vec<CompressedTiming> {
        let [first, second] = sluice_local::config::ASYNC_RETRY_DELAYS;
        let timings = [
            ("direct path: first retry after a failure", first),
            ("direct path: second retry", second),
            ("queue path: a failed message's visibility timeout", visibility),
            ("queue path: batching window", workload.batching_window),
            ("queue path: mapping scale-up step", sluice_local::sqs_mapping::SCALE_UP_INTERVAL.mul_f64(scale)),
        ];
        timings
            .into_iter()
            .map(|(what, aws)| CompressedTiming {
                what,
                aws_seconds: aws.as_secs_f64(),
                local_seconds: aws.as_secs_f64() / scale,
            })
            .collect()
    }
}

/// One row of the question: both paths' figures and what they say.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// `speed`, `scalability`, `reliability` or `efficiency`.
    pub row: &'static str,
    /// The queue path's figures.
    pub queue: String,
    /// The direct path's figures.
    pub direct: String,
    /// What the measurement says.
    pub reading: String,
}

/// A comparison of the two paths on one workload.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Comparison {
    /// What was uploaded and how the paths were set.
    pub workload: Workload,
    /// The stack's name.
    pub stack: String,
    /// AWS waits ran this many times faster.
    pub time_scale: f64,
    /// Which AWS timings that compressed, and to what.
    pub compressed: Vec<CompressedTiming>,
    /// When the first upload was made (RFC 3339).
    pub started: String,
    /// How long the run took, seconds, deployment included.
    pub wall_seconds: f64,
    /// Both paths drained within the limit; when false, unsettled objects count as lost.
    pub settled: bool,
    /// The queue path, then the direct path.
    pub paths: Vec<PathFigures>,
    /// The prices the costs use.
    pub prices: Prices,
    /// Where the function logs are.
    pub log_dir: String,
    /// The local Lambda service's records of the run (JSON), which the figures come from.
    pub records_file: String,
    /// The model of the same run (its uploads, settings and recorded service times) beside
    /// the measured figures: labelled modelled.
    pub check: Agreement,
}

fn ms(v: u64) -> String {
    if v >= 10_000 { format!("{:.1} s", v as f64 / 1000.0) } else { format!("{v} ms") }
}

impl Comparison {
    /// The queue path's figures.
    pub fn queue(&self) -> &PathFigures {
        self.paths.iter().find(|p| p.path == "queue").expect("a comparison measures the queue path")
    }

    /// The direct path's figures.
    pub fn direct(&self) -> &PathFigures {
        self.paths.iter().find(|p| p.path == "direct").expect("a comparison measures the direct path")
    }

    /// The four rows, each with its reading.
    pub fn rows(&self) -> Vec<Row> {
        let (q, d) = (self.queue(), self.direct());
        vec![self.speed(q, d), self.scalability(q, d), self.reliability(q, d), self.efficiency(q, d)]
    }

    fn speed(&self, q: &PathFigures, d: &PathFigures) -> Row {
        let figure = |p: &PathFigures| {
            format!(
                "p50 {}, p95 {}, p99 {}, max {} (of {} processed)",
                ms(p.latency.p50_ms),
                ms(p.latency.p95_ms),
                ms(p.latency.p99_ms),
                ms(p.latency.max_ms),
                p.latency.samples
            )
        };
        let (faster, slower) = if q.latency.p50_ms < d.latency.p50_ms { (q, d) } else { (d, q) };
        let mut reading = format!(
            "the {} path was faster at the median by {}",
            faster.path,
            ms(slower.latency.p50_ms - faster.latency.p50_ms)
        );
        if faster.path == "queue" && d.throttles > 0 {
            reading.push_str(&format!(
                ", against the usual table: the direct path was throttled {} times and its events waited in Lambda's queue",
                d.throttles
            ));
        }
        let tail = if q.latency.p99_ms < d.latency.p99_ms { "queue" } else { "direct" };
        reading.push_str(&format!("; the {tail} path had the shorter tail (p99)"));
        if q.latency.samples != d.latency.samples {
            reading.push_str(&format!(
                "; latencies count processed objects only ({} on the queue path, {} direct)",
                q.latency.samples, d.latency.samples
            ));
        }
        Row { row: "speed", queue: figure(q), direct: figure(d), reading }
    }

    fn scalability(&self, q: &PathFigures, d: &PathFigures) -> Row {
        let figure = |p: &PathFigures| {
            format!(
                "peak {} concurrent (mean {:.1}), {} throttles, at most {} waiting",
                p.concurrency.peak, p.concurrency.mean, p.throttles, p.peak_queue_depth
            )
        };
        let reading = format!(
            "under the burst the direct path ran up to {} executions at once and was throttled {} times; the queue \
             held up to {} messages and ran at most {} at once",
            d.concurrency.peak, d.throttles, q.peak_queue_depth, q.concurrency.peak
        );
        Row { row: "scalability", queue: figure(q), direct: figure(d), reading }
    }

    fn reliability(&self, q: &PathFigures, d: &PathFigures) -> Row {
        let figure = |p: &PathFigures| {
            let o = &p.outcomes;
            format!(
                "{} of {} processed, {} in a DLQ, {} lost, {} duplicates suppressed",
                o.processed, o.uploaded, o.dead_lettered, o.lost, o.duplicates_suppressed
            )
        };
        let outage = match self.workload.outage {
            Some(o) => format!("with each path's downstream down for {:.0} s, ", o.length.as_secs_f64()),
            None => "with no outage, ".into(),
        };
        let direct_dlq = if self.workload.direct_dlq { "with" } else { "without" };
        let reading = format!(
            "{outage}the queue path lost {} and kept {} in its DLQ; the direct path ({direct_dlq} a DLQ) lost {} and kept {}",
            q.outcomes.lost, q.outcomes.dead_lettered, d.outcomes.lost, d.outcomes.dead_lettered
        );
        Row { row: "reliability", queue: figure(q), direct: figure(d), reading }
    }

    fn efficiency(&self, q: &PathFigures, d: &PathFigures) -> Row {
        let figure = |p: &PathFigures| {
            format!(
                "{:.2} invocations per object, {:.1} records per invocation, {:.1} GB-s, ${:.2} per million objects",
                p.invocations_per_object,
                p.records_per_invocation,
                p.usage.gb_seconds,
                p.cost_per_million_objects.total()
            )
        };
        let cheaper = if q.cost_per_million_objects.total() < d.cost_per_million_objects.total() { q } else { d };
        let dearer = if cheaper.path == "queue" { d } else { q };
        let reading = format!(
            "the queue path ran {:.2} invocations per object against {:.2}; the {} path costs ${:.2} less per million \
             objects (${:.2} against ${:.2})",
            q.invocations_per_object,
            d.invocations_per_object,
            cheaper.path,
            dearer.cost_per_million_objects.total() - cheaper.cost_per_million_objects.total(),
            cheaper.cost_per_million_objects.total(),
            dearer.cost_per_million_objects.total()
        );
        Row { row: "efficiency", queue: figure(q), direct: figure(d), reading }
    }
}
