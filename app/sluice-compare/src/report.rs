//! The comparison as text: the four rows with their readings, then the detailed figures, the
//! published AWS figures beside them, and what the time scale compressed. Markdown tables, so
//! a run pastes into a README as it is.

use std::fmt::Write;

use crate::comparison::Comparison;
use crate::figures::PathFigures;
use crate::published;
use crate::workload::Pattern;

/// One line describing the workload.
pub fn workload_line(c: &Comparison) -> String {
    let w = &c.workload;
    let pattern = match w.pattern {
        Pattern::Burst => "all at once".to_owned(),
        Pattern::Steady { per_second } => format!("{per_second}/s"),
        Pattern::BurstOnSteady { per_second, burst } => format!("{per_second}/s with a burst of {burst} halfway"),
    };
    let outage = match w.outage {
        Some(o) if o.start.is_zero() => {
            format!(", downstream down {:.0} s from its first request", o.length.as_secs_f64())
        }
        Some(o) => format!(
            ", downstream down {:.0} s from {:.0} s after its first request",
            o.length.as_secs_f64(),
            o.start.as_secs_f64()
        ),
        None => String::new(),
    };
    let reserved = w.reserved_concurrency.map(|r| format!(", reserved {r} each")).unwrap_or_default();
    let cap = w.maximum_concurrency.map(|m| m.to_string()).unwrap_or_else(|| "none".into());
    format!(
        "{} objects ({pattern}), {}-{} bytes, {} ms downstream per object{outage}; account concurrency {}{reserved}; \
         batch {}, window {} s, mapping cap {cap}; direct path {} a DLQ",
        w.objects,
        w.min_bytes,
        w.max_bytes,
        w.processing.as_millis(),
        w.account_concurrency,
        w.batch_size,
        w.batching_window.as_secs_f64(),
        if w.direct_dlq { "with" } else { "without" }
    )
}

/// The whole report as text.
pub fn text(c: &Comparison) -> String {
    let mut out = String::new();
    let (q, d) = (c.queue(), c.direct());
    let _ = writeln!(out, "sluice compare: {}", workload_line(c));
    let _ = writeln!(
        out,
        "Measured on the local stack, AWS waits {}x faster; run took {:.0} s{}. Latencies are this machine's local stack, not AWS's.",
        c.time_scale,
        c.wall_seconds,
        if c.settled { "" } else { " and DID NOT DRAIN in time: unsettled objects count as lost" }
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| row | queue: {} | direct: {} |", q.label, d.label);
    let _ = writeln!(out, "|---|---|---|");
    let rows = c.rows();
    for row in &rows {
        let _ = writeln!(out, "| {} | {} | {} |", row.row, row.queue, row.direct);
    }
    let _ = writeln!(out);
    for row in &rows {
        let _ = writeln!(out, "- {}: {}.", row.row, row.reading);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "| figure (measured) | queue | direct |");
    let _ = writeln!(out, "|---|---|---|");
    for (name, figure) in details() {
        let _ = writeln!(out, "| {name} | {} | {} |", figure(q), figure(d));
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Where the time goes, hop by hop (measured; the p50s and p99s of hops do not add up to the path's):"
    );
    let _ = writeln!(out, "| path | hop | p50 ms | p99 ms | objects |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for [path, hop, p50, p99, samples] in hop_rows(c) {
        let _ = writeln!(out, "| {path} | {hop} | {p50} | {p99} | {samples} |");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Published AWS latencies, producer to consumer Lambda ({}):", published::LATENCY_SOURCE);
    for p in published::LATENCIES {
        let p90 = p.p90_ms.map(|v| format!("{v} ms")).unwrap_or_else(|| "-".into());
        let _ = writeln!(out, "  {:<38} p50 {} ms, p90 {p90}, p99 {} ms", p.path, p.p50_ms, p.p99_ms);
    }
    let _ = writeln!(out, "{}", published::MAPPING_SCALING);
    let _ = writeln!(out);
    out.push_str(&crate::model::report::agreement(&c.check));
    let _ = writeln!(out);
    let _ = writeln!(out, "AWS timings this run compressed (x{}):", c.time_scale);
    for t in &c.compressed {
        let _ = writeln!(out, "  {:<50} {:>7.1} s -> {:.2} s", t.what, t.aws_seconds, t.local_seconds);
    }
    let _ = writeln!(
        out,
        "Prices: {} list prices recorded {} ({}).",
        c.prices.region,
        c.prices.recorded,
        c.prices.sources.join(", ")
    );
    out
}

/// The hop table: path, hop, p50, p99 and the objects measured, one row per hop.
pub(crate) fn hop_rows(c: &Comparison) -> Vec<[String; 5]> {
    c.paths
        .iter()
        .flat_map(|p| {
            p.hops.iter().map(|h| {
                [p.path.to_owned(), h.hop.to_owned(), h.p50_ms.to_string(), h.p99_ms.to_string(), h.samples.to_string()]
            })
        })
        .collect()
}

/// One detailed figure of a path, as text.
pub(crate) type Figure = fn(&PathFigures) -> String;

/// The detailed figures, by name.
pub(crate) fn details() -> Vec<(&'static str, Figure)> {
    vec![
        ("objects processed", |p| p.outcomes.processed.to_string()),
        ("in a DLQ", |p| p.outcomes.dead_lettered.to_string()),
        ("lost", |p| p.outcomes.lost.to_string()),
        ("duplicates suppressed", |p| p.outcomes.duplicates_suppressed.to_string()),
        ("latency p50 / p95 / p99 / max (ms)", |p| {
            let l = &p.latency;
            format!("{} / {} / {} / {}", l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms)
        }),
        ("peak / mean concurrent executions", |p| format!("{} / {:.1}", p.concurrency.peak, p.concurrency.mean)),
        ("throttles", |p| p.throttles.to_string()),
        ("peak events waiting", |p| p.peak_queue_depth.to_string()),
        ("invocations", |p| p.invocations.to_string()),
        ("invocations per object", |p| format!("{:.2}", p.invocations_per_object)),
        ("records per invocation", |p| format!("{:.2}", p.records_per_invocation)),
        ("retries and redeliveries", |p| p.retries.to_string()),
        ("billed GB-seconds", |p| format!("{:.2}", p.usage.gb_seconds)),
        ("SQS requests", |p| p.usage.sqs_requests.to_string()),
        ("SNS publishes", |p| p.usage.sns_publishes.to_string()),
        ("DynamoDB writes / reads", |p| format!("{} / {}", p.usage.dynamodb_writes, p.usage.dynamodb_reads)),
        ("USD per million objects: Lambda", |p| format!("{:.2}", p.cost_per_million_objects.lambda)),
        ("USD per million objects: SQS", |p| format!("{:.2}", p.cost_per_million_objects.sqs)),
        ("USD per million objects: SNS", |p| format!("{:.2}", p.cost_per_million_objects.sns)),
        ("USD per million objects: DynamoDB", |p| format!("{:.2}", p.cost_per_million_objects.dynamodb)),
        ("USD per million objects: total", |p| format!("{:.2}", p.cost_per_million_objects.total())),
    ]
}
