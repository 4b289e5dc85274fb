//! Modelled against measured: the figures of a local run beside the model's prediction for
//! the same run, each with its tolerance, and what a disagreement means, in words.

use serde::Serialize;

use crate::figures::PathFigures;
use crate::model::{Modelled, ModelledPath};

/// How close a modelled figure must be to the measured one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Tolerance {
    /// Equal.
    Exact,
    /// Within this fraction of the measured figure (and, for counts, of 2 whatever the
    /// fraction, so that 0 against 1 is not a disagreement).
    Relative {
        /// The fraction.
        fraction: f64,
    },
    /// Shown, not held.
    Shown,
}

/// One figure of one path, measured and modelled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckRow {
    /// `queue` or `direct`.
    pub path: &'static str,
    /// The figure.
    pub figure: &'static str,
    /// Measured.
    pub measured: f64,
    /// Modelled.
    pub modelled: f64,
    /// How close they must be.
    pub tolerance: Tolerance,
    /// Whether they are.
    pub agrees: bool,
}

/// The whole check.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Agreement {
    /// Every row.
    pub rows: Vec<CheckRow>,
    /// Every held row agrees.
    pub agrees: bool,
    /// What each disagreement means, in words (empty when they agree).
    pub disagreements: Vec<String>,
    /// The model run itself.
    pub modelled: Modelled,
}

const EXACT: Tolerance = Tolerance::Exact;
const SHOWN: Tolerance = Tolerance::Shown;

fn within(t: Tolerance, measured: f64, modelled: f64, count: bool) -> bool {
    match t {
        Tolerance::Exact => measured == modelled,
        Tolerance::Relative { fraction } => {
            let slack = (measured.abs() * fraction).max(if count { 2.0 } else { 0.0 });
            (modelled - measured).abs() <= slack
        }
        Tolerance::Shown => true,
    }
}

/// The rows of one path: processed and DLQ exact, invocations within 10 %, throttles within
/// 30 %, p50 within 25 %, p99 within 40 %; dropped, batches, retries and records per
/// invocation shown.
fn rows(path: &'static str, measured: &PathFigures, modelled: &ModelledPath) -> Vec<CheckRow> {
    let rel = |fraction| Tolerance::Relative { fraction };
    let m = measured;
    let figures: [(&str, f64, f64, Tolerance, bool); 10] = [
        ("processed", m.outcomes.processed as f64, modelled.processed as f64, EXACT, true),
        ("in a DLQ", m.outcomes.dead_lettered as f64, modelled.dead_lettered as f64, EXACT, true),
        ("dropped or lost", m.outcomes.lost as f64, modelled.dropped as f64, SHOWN, true),
        ("invocations", m.invocations as f64, modelled.invocations as f64, rel(0.10), true),
        ("batches", m.batches as f64, modelled.batches as f64, SHOWN, true),
        ("throttles", m.throttles as f64, modelled.throttles as f64, rel(0.30), true),
        ("retries and redeliveries", m.retries as f64, modelled.retries as f64, SHOWN, true),
        ("records per invocation", m.records_per_invocation, records_per_invocation(modelled), SHOWN, false),
        ("latency p50 (ms)", m.latency.p50_ms as f64, modelled.latency.p50_ms, rel(0.25), false),
        ("latency p99 (ms)", m.latency.p99_ms as f64, modelled.latency.p99_ms, rel(0.40), false),
    ];
    figures
        .into_iter()
        .map(|(figure, measured, modelled, tolerance, count)| CheckRow {
            path,
            figure,
            measured,
            modelled,
            tolerance,
            agrees: within(tolerance, measured, modelled, count),
        })
        .collect()
}

fn records_per_invocation(p: &ModelledPath) -> f64 {
    if p.invocations == 0 { 0.0 } else { (p.retries + p.objects) as f64 / p.invocations as f64 }
}

/// What a disagreement of `row` means.
fn words(row: &CheckRow) -> String {
    let (path, m, d) = (row.path, row.measured, row.modelled);
    let more = if d > m { "more" } else { "fewer" };
    let meaning = match row.figure {
        "processed" | "in a DLQ" => {
            "an object ended elsewhere than AWS's rules put it: the local service retried, redrove or timed an \
             outage differently from the model, or an object was lost"
        }
        "invocations" => "the local service batched or retried differently from the rules the model plays",
        "throttles" => {
            "the local service met its concurrency limit a different number of times: its backoff or its slots differ"
        }
        _ => {
            "the local run's timing differs from the rules in virtual time: a loaded machine, or a rule played differently"
        }
    };
    format!("{path} path, {}: measured {m:.0}, modelled {d:.0} ({more} modelled): {meaning}", row.figure)
}

/// Checks `modelled` against the measured `queue` and `direct` figures.
pub fn agreement(queue: &PathFigures, direct: &PathFigures, modelled: Modelled) -> Agreement {
    let mut all = rows("queue", queue, modelled.queue());
    all.extend(rows("direct", direct, modelled.direct()));
    let disagreements: Vec<String> = all.iter().filter(|r| !r.agrees).map(words).collect();
    Agreement { agrees: disagreements.is_empty(), rows: all, disagreements, modelled }
}
