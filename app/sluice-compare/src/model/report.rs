//! A model run as text: what it was given, each path's modelled figures, the rules it played
//! with their sources, and where its service times come from. Markdown tables, labelled
//! modelled on every heading, so a table pasted elsewhere still says what it is.

use std::fmt::Write;

use crate::model::check::{Agreement, CheckRow, DRAWS, Tolerance};
use crate::model::settings::{Arrivals, ModelSettings, Pollers};
use crate::model::{Modelled, ModelledPath};
use crate::workload::Pattern;

/// One line describing what the model was given.
///
/// ```
/// use sluice_compare::model::{ModelSettings, report};
/// let line = report::settings_line(&ModelSettings::default());
/// assert!(line.starts_with("100000 objects (all at once)"), "{line}");
/// ```
pub fn settings_line(s: &ModelSettings) -> String {
    let arrivals = match &s.arrivals {
        Arrivals::Pattern { objects, pattern } => {
            let pattern = match *pattern {
                Pattern::Burst => "all at once".to_owned(),
                Pattern::Steady { per_second } => format!("{per_second}/s"),
                Pattern::BurstOnSteady { per_second, burst } => {
                    format!("{per_second}/s with a burst of {burst} halfway")
                }
            };
            format!("{objects} objects ({pattern})")
        }
        Arrivals::Times { at } => format!("{} objects (a run's recorded uploads)", at.len()),
    };
    let outages: String = s
        .outages
        .iter()
        .map(|o| {
            format!(
                ", downstream down {:.0} s from {:.0} s after its first request",
                o.length.as_secs_f64(),
                o.start.as_secs_f64()
            )
        })
        .collect();
    let reserved = |r: Option<u32>| r.map(|r| r.to_string()).unwrap_or_else(|| "none".into());
    let pollers = match s.queue.pollers {
        Pollers::OnDemand { maximum_concurrency: Some(cap) } => format!("MaximumConcurrency {cap}"),
        Pollers::OnDemand { maximum_concurrency: None } => "no MaximumConcurrency".into(),
        Pollers::Provisioned { minimum, maximum } => format!("provisioned pollers {minimum}-{maximum}"),
    };
    format!(
        "{arrivals}{outages}; account concurrency {}; queue path: batch {}, window {} s, {pollers}, visibility {} s, \
         maxReceiveCount {}, reserved {}; direct path: {} retries, maximum event age {} s, {}, reserved {}; \
         function timeout {} s, {} MB; AWS waits x{}; seed {}",
        s.account_concurrency,
        s.queue.batch_size,
        s.queue.batching_window.as_secs_f64(),
        s.queue.visibility_timeout.as_secs(),
        s.queue.max_receive_count,
        reserved(s.queue.reserved_concurrency),
        s.direct.maximum_retry_attempts,
        s.direct.maximum_event_age.as_secs(),
        if s.direct.on_failure { "a DLQ" } else { "no DLQ" },
        reserved(s.direct.reserved_concurrency),
        s.function_timeout.as_secs(),
        s.memory_mb,
        s.time_scale,
        s.seed
    )
}

/// One modelled figure of a path, as text.
pub(crate) type Figure = fn(&ModelledPath) -> String;

/// The modelled figures, by name.
pub(crate) fn details() -> Vec<(&'static str, Figure)> {
    vec![
        ("objects processed", |p| p.processed.to_string()),
        ("in a DLQ", |p| p.dead_lettered.to_string()),
        ("dropped: lost", |p| p.dropped.to_string()),
        ("given up: retries exhausted / too old", |p| {
            format!("{} / {}", p.gave_up.retries_exhausted, p.gave_up.event_age_exceeded)
        }),
        ("latency p50 / p95 / p99 / max (s)", |p| {
            let l = &p.latency;
            format!("{:.2} / {:.2} / {:.2} / {:.2}", l.p50_ms / 1e3, l.p95_ms / 1e3, l.p99_ms / 1e3, l.max_ms / 1e3)
        }),
        ("last outcome after (s)", |p| format!("{:.0}", p.drained_s)),
        ("peak concurrent executions", |p| p.peak_concurrency.to_string()),
        ("throttles", |p| p.throttles.to_string()),
        ("peak events waiting", |p| p.peak_backlog.to_string()),
        ("invocations", |p| p.invocations.to_string()),
        ("batches received (queue)", |p| p.batches.to_string()),
        ("retries and redeliveries", |p| p.retries.to_string()),
        ("cold starts", |p| p.cold_starts.to_string()),
        ("billed GB-seconds", |p| format!("{:.1}", p.usage.gb_seconds)),
        ("SQS requests", |p| p.usage.sqs_requests.to_string()),
        ("DynamoDB writes", |p| p.usage.dynamodb_writes.to_string()),
        ("USD per million objects: Lambda", |p| format!("{:.2}", p.cost_per_million_objects.lambda)),
        ("USD per million objects: SQS", |p| format!("{:.2}", p.cost_per_million_objects.sqs)),
        ("USD per million objects: SNS", |p| format!("{:.2}", p.cost_per_million_objects.sns)),
        ("USD per million objects: DynamoDB", |p| format!("{:.2}", p.cost_per_million_objects.dynamodb)),
        ("USD per million objects: total", |p| format!("{:.2}", p.cost_per_million_objects.total())),
    ]
}

/// The whole model run as text.
///
/// ```
/// use sluice_compare::Pattern;
/// use sluice_compare::model::{Arrivals, ModelSettings, report};
/// let mut settings = ModelSettings::default();
/// settings.arrivals = Arrivals::Pattern { objects: 500, pattern: Pattern::Burst };
/// let text = report::text(&sluice_compare::model::run(&settings, &|_, _| {}).unwrap());
/// assert!(text.contains("| objects processed (modelled) | 500 | 500 |"), "{text}");
/// ```
pub fn text(m: &Modelled) -> String {
    let (q, d) = (m.queue(), m.direct());
    let mut out = String::new();
    let _ = writeln!(out, "sluice compare --model: {}", settings_line(&m.settings));
    let _ = writeln!(
        out,
        "MODELLED, not measured: AWS's documented rules played in virtual time ({} events), with service times \
         from {}.",
        m.events, m.settings.times.source
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| figure (modelled) | queue: {} | direct: {} |", q.label, d.label);
    let _ = writeln!(out, "|---|---|---|");
    for (name, figure) in details() {
        let _ = writeln!(out, "| {name} (modelled) | {} | {} |", figure(q), figure(d));
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Rules played (sources: AWS Lambda Developer Guide pages unless named):");
    for (rule, source) in &m.rules {
        let _ = writeln!(out, "  - {rule} [{source}]");
    }
    let _ = writeln!(
        out,
        "Prices: {} list prices recorded {} ({}).",
        m.prices.region,
        m.prices.recorded,
        m.prices.sources.join(", ")
    );
    out
}

/// How a modelled figure reads in a table: with the range of the model's draws, if it has one.
pub(crate) fn modelled(r: &CheckRow) -> String {
    match r.modelled_range {
        Some((low, high)) if low != high => {
            format!("{} ({}-{} over {} draws)", number(r.modelled), number(low), number(high), DRAWS)
        }
        _ => number(r.modelled),
    }
}

/// How a tolerance reads in a table.
pub(crate) fn tolerance(t: Tolerance, slack: f64) -> String {
    match t {
        Tolerance::Exact => "equal".into(),
        Tolerance::Relative { fraction } if slack > 0.0 => {
            format!("within {:.0} % or {}", fraction * 100.0, number((slack * 10.0).round() / 10.0))
        }
        Tolerance::Relative { fraction } => format!("within {:.0} %", fraction * 100.0),
        Tolerance::Shown => "shown".into(),
    }
}

/// The "modelled against measured" section of a local run's report: each figure of each path,
/// measured and modelled, its tolerance and whether it holds, then each disagreement in words.
pub fn agreement(a: &Agreement) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Modelled against measured: the model (AWS's rules in virtual time, this run's uploads, settings, time scale \
         and recorded service times) {}.",
        if a.agrees { "agrees with every held figure" } else { "DISAGREES" }
    );
    let _ = writeln!(
        out,
        "Service times from {}; {}.",
        a.modelled.settings.times.source,
        a.modelled.settings.times.summary()
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| path | figure | measured | modelled | tolerance | agrees |");
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for r in &a.rows {
        let verdict = match (r.tolerance, r.agrees) {
            (Tolerance::Shown, _) => "-",
            (_, true) => "yes",
            (_, false) => "NO",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {verdict} |",
            r.path,
            r.figure,
            number(r.measured),
            modelled(r),
            tolerance(r.tolerance, r.slack)
        );
    }
    for d in &a.disagreements {
        let _ = writeln!(out, "- {d}");
    }
    out
}

/// A figure: whole numbers without decimals.
pub(crate) fn number(v: f64) -> String {
    if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.2}") }
}
