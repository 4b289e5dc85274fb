//! The HTML report: one self-contained file (inline CSS and SVG, no script, nothing fetched)
//! with the four rows, the charts, the detailed figures and the published AWS figures beside
//! them.

use std::fmt::Write;

use crate::comparison::Comparison;
use crate::page::{STYLE, esc};
use crate::plot::Chart;
use crate::published;
use crate::report::workload_line;

/// The report of `c` with `charts`, as one HTML document.
pub fn page(c: &Comparison, charts: &[Chart]) -> String {
    let (q, d) = (c.queue(), c.direct());
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>sluice compare: {}</title>\
         <style>{STYLE}</style></head><body>\n<h1>S3 &rarr; SNS &rarr; Lambda or S3 &rarr; SNS &rarr; SQS &rarr; Lambda?</h1>\n",
        esc(&c.stack)
    );
    let _ = writeln!(out, "<p>{}</p>", esc(&workload_line(c)));
    let _ = writeln!(
        out,
        "<p class=\"note\">Measured {} on the local stack (moto as CloudFormation and the AWS APIs, sluice's local Lambda service running the \
         real worker binaries), AWS waits {}&times; faster; the run took {:.0} s{}. Latencies are this machine's local \
         stack, not AWS's: published AWS figures are below, beside them.</p>",
        esc(&c.started),
        c.time_scale,
        c.wall_seconds,
        if c.settled { "" } else { ". It did not drain in time: unsettled objects count as lost" }
    );
    let _ = writeln!(
        out,
        "<table><tr><th>row</th><th>queue: {}</th><th>direct: {}</th><th>reading</th></tr>",
        esc(q.label),
        esc(d.label)
    );
    for row in c.rows() {
        let _ = writeln!(
            out,
            "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
            row.row,
            esc(&row.queue),
            esc(&row.direct),
            esc(&row.reading)
        );
    }
    out.push_str("</table>\n");
    for chart in charts {
        let _ =
            writeln!(out, "<figure id=\"{}\" aria-label=\"{}\">\n{}\n</figure>", chart.id, esc(chart.title), chart.svg);
    }
    // The detailed figures: the text report's list, as HTML.
    out.push_str("<h2>Detailed figures, measured</h2>\n<table><tr><th>figure (measured)</th><th>queue</th><th>direct</th></tr>\n");
    for (name, figure) in crate::report::details() {
        let _ =
            writeln!(out, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", esc(name), esc(&figure(q)), esc(&figure(d)));
    }
    out.push_str("</table>\n");
    out.push_str(
        "<h2>Where the time goes, hop by hop, measured</h2>\n<p class=\"note\">From each object's timeline: the upload, \
         S3's eventTime, SNS's Timestamp, SQS's SentTimestamp and first receive, the worker's start, the partner's answer. \
         Percentiles of hops do not add up to the path's.</p>\n<table id=\"hop-table\"><tr><th>path</th><th>hop</th>\
         <th>p50 ms</th><th>p99 ms</th><th>objects</th></tr>\n",
    );
    for row in crate::report::hop_rows(c) {
        let cells: String = row.iter().map(|cell| format!("<td>{}</td>", esc(cell))).collect();
        let _ = writeln!(out, "<tr>{cells}</tr>");
    }
    out.push_str("</table>\n");
    out.push_str(&crate::model::html::agreement(&c.check));
    out.push_str("<h2>Published AWS figures</h2>\n");
    let _ = writeln!(
        out,
        "<table><tr><th>path ({})</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th></tr>",
        esc(published::LATENCY_SOURCE)
    );
    for p in published::LATENCIES {
        let p90 = p.p90_ms.map(|v| v.to_string()).unwrap_or_else(|| "&ndash;".into());
        let _ =
            writeln!(out, "<tr><td>{}</td><td>{}</td><td>{p90}</td><td>{}</td></tr>", esc(p.path), p.p50_ms, p.p99_ms);
    }
    let _ =
        writeln!(out, "</table>\n<p>{}</p>\n<p>{}</p>", esc(published::MAPPING_SCALING), esc(published::ASYNC_RETRIES));
    out.push_str(
        "<h2>AWS timings this run compressed</h2>\n<table><tr><th>timing</th><th>AWS</th><th>this run</th></tr>\n",
    );
    for t in &c.compressed {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{:.1} s</td><td>{:.2} s</td></tr>",
            esc(t.what),
            t.aws_seconds,
            t.local_seconds
        );
    }
    let _ = writeln!(
        out,
        "</table>\n<p>Costs: {} list prices recorded {} ({}); SNS publishes are priced as if each path had its topic \
         alone; deliveries from SNS to SQS and Lambda are free, SNS's SendMessage into the queue is an SQS request.</p>",
        c.prices.region,
        c.prices.recorded,
        c.prices.sources.iter().map(|s| format!("<a href=\"{s}\">{s}</a>")).collect::<Vec<_>>().join(", ")
    );
    let _ = writeln!(
        out,
        "<p>Function logs: <code>{}</code>; the local Lambda service's records: <code>{}</code></p>\n</body></html>",
        esc(&c.log_dir),
        esc(&c.records_file)
    );
    out
}
