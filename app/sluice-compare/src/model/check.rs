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
    /// Within this fraction of the measured figure; a count also within 2, and a count that
    /// races decide (throttles) within twice its Poisson noise, 2 √n, whichever is wider: 6
    /// throttles against a measured 12 is chance, 600 against 1,200 is not.
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
    /// The least difference allowed whatever the fraction: 2 for a count, 2 √n for a count
    /// that races decide, 0 for a time.
    pub slack: f64,
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

/// What kind of figure a row holds, for its slack beyond the fraction.
#[derive(Clone, Copy)]
enum Kind {
    /// A count: within 2 whatever the fraction, so that 0 against 1 is not a disagreement.
    Count,
    /// A count that races decide (a throttle is a moment with no free slot): within twice its
    /// Poisson noise, 2 √n.
    Chance,
    /// A time or a ratio: the fraction alone.
    Measure,
}

/// The least difference allowed for a figure of `kind` measured at `measured`.
fn slack(kind: Kind, measured: f64) -> f64 {
    match kind {
        Kind::Count => 2.0,
        Kind::Chance => (2.0 * measured.abs().sqrt()).max(2.0),
        Kind::Measure => 0.0,
    }
}

fn within(t: Tolerance, measured: f64, modelled: f64, kind: Kind) -> bool {
    match t {
        Tolerance::Exact => measured == modelled,
        Tolerance::Relative { fraction } => {
            (modelled - measured).abs() <= (measured.abs() * fraction).max(slack(kind, measured))
        }
        Tolerance::Shown => true,
    }
}

/// The rows of one path: processed and DLQ exact, invocations within 10 %, throttles within
/// 30 % (counts also within their Poisson noise), p50 within 25 %, p99 within 40 %; dropped, batches, retries and records per
/// invocation shown.
fn rows(path: &'static str, measured: &PathFigures, modelled: &ModelledPath) -> Vec<CheckRow> {
    let rel = |fraction| Tolerance::Relative { fraction };
    let m = measured;
    let figures: [(&str, f64, f64, Tolerance, Kind); 10] = [
        ("processed", m.outcomes.processed as f64, modelled.processed as f64, EXACT, Kind::Count),
        ("in a DLQ", m.outcomes.dead_lettered as f64, modelled.dead_lettered as f64, EXACT, Kind::Count),
        ("dropped or lost", m.outcomes.lost as f64, modelled.dropped as f64, SHOWN, Kind::Count),
        ("invocations", m.invocations as f64, modelled.invocations as f64, rel(0.10), Kind::Count),
        ("batches", m.batches as f64, modelled.batches as f64, SHOWN, Kind::Count),
        ("throttles", m.throttles as f64, modelled.throttles as f64, rel(0.30), Kind::Chance),
        ("retries and redeliveries", m.retries as f64, modelled.retries as f64, SHOWN, Kind::Count),
        ("records per invocation", m.records_per_invocation, records_per_invocation(modelled), SHOWN, Kind::Measure),
        ("latency p50 (ms)", m.latency.p50_ms as f64, modelled.latency.p50_ms, rel(0.25), Kind::Measure),
        ("latency p99 (ms)", m.latency.p99_ms as f64, modelled.latency.p99_ms, rel(0.40), Kind::Measure),
    ];
    figures
        .into_iter()
        .map(|(figure, measured, modelled, tolerance, kind)| CheckRow {
            path,
            figure,
            measured,
            modelled,
            tolerance,
            slack: slack(kind, measured),
            agrees: within(tolerance, measured, modelled, kind),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_held_to_its_fraction_or_its_noise_whichever_is_wider() {
        let t = Tolerance::Relative { fraction: 0.30 };
        assert!(within(t, 12.0, 6.0, Kind::Chance), "2 √12 = 6.9");
        assert!(!within(t, 1_200.0, 600.0, Kind::Chance));
        assert!(within(t, 1_200.0, 1_500.0, Kind::Chance), "30 %");
        assert!(!within(t, 12.0, 6.0, Kind::Count), "an invocation count is not left to chance");
        assert!(!within(t, 12.0, 6.0, Kind::Measure), "a latency has no counting noise");
        assert!(within(t, 0.0, 2.0, Kind::Count));
    }
}
