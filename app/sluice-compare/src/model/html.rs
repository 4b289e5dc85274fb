//! A model run as one self-contained HTML page (inline CSS and SVG, nothing fetched), and the
//! "modelled against measured" section of a local run's page. Every heading, table and chart
//! says modelled, and the rules the figures come from are listed with their sources.

use std::fmt::Write;

use crate::model::Modelled;
use crate::model::check::{Agreement, Tolerance};
use crate::model::report::{details, modelled, number, settings_line, tolerance};
use crate::page::{STYLE, esc};
use crate::plot::Chart;

/// The page of model run `m` with its `charts` ([`crate::model::charts::all`]).
///
/// ```
/// use sluice_compare::Pattern;
/// use sluice_compare::model::{Arrivals, ModelSettings, charts, html};
/// let mut settings = ModelSettings::default();
/// settings.arrivals = Arrivals::Pattern { objects: 300, pattern: Pattern::Burst };
/// let m = sluice_compare::model::run(&settings, &|_, _| {}).unwrap();
/// let page = html::page(&m, &charts::all(&m).unwrap());
/// assert!(page.contains("<figure id=\"modelled-concurrency\""));
/// ```
pub fn page(m: &Modelled, charts: &[Chart]) -> String {
    let (q, d) = (m.queue(), m.direct());
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>sluice compare --model (modelled)</title>\
         <style>{STYLE}</style></head><body>\n<h1>S3 &rarr; SNS &rarr; Lambda or S3 &rarr; SNS &rarr; SQS &rarr; Lambda? \
         (modelled)</h1>\n"
    );
    let _ = writeln!(out, "<p>{}</p>", esc(&settings_line(&m.settings)));
    let _ = writeln!(
        out,
        "<p class=\"note\">Modelled, not measured: AWS's documented rules (below, with their sources) played in virtual \
         time, {} events, seeded. Service times: {}.</p>",
        m.events,
        esc(&m.settings.times.source)
    );
    let _ = writeln!(
        out,
        "<table><tr><th>figure (modelled)</th><th>queue: {}</th><th>direct: {}</th></tr>",
        esc(q.label),
        esc(d.label)
    );
    for (name, figure) in details() {
        let _ =
            writeln!(out, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", esc(name), esc(&figure(q)), esc(&figure(d)));
    }
    out.push_str("</table>\n");
    for chart in charts {
        let _ =
            writeln!(out, "<figure id=\"{}\" aria-label=\"{}\">\n{}\n</figure>", chart.id, esc(chart.title), chart.svg);
    }
    out.push_str(&rules(m));
    out.push_str("</body></html>\n");
    out
}

/// The rules a model run played, with their sources, and the prices.
fn rules(m: &Modelled) -> String {
    let mut out = String::from("<h2>Rules the model plays</h2>\n<table><tr><th>rule</th><th>source</th></tr>\n");
    for (rule, source) in &m.rules {
        let _ = writeln!(out, "<tr><td>{}</td><td>{}</td></tr>", esc(rule), esc(source));
    }
    let _ = writeln!(
        out,
        "</table>\n<p>Sources are pages of the AWS Lambda Developer Guide unless named. Costs: {} list prices recorded {} \
         ({}).</p>",
        m.prices.region,
        m.prices.recorded,
        esc(&m.prices.sources.join(", "))
    );
    out
}

/// The "modelled against measured" section of a local run's page.
pub fn agreement(a: &Agreement) -> String {
    let mut out = String::from("<h2>Modelled against measured</h2>\n");
    let _ = writeln!(
        out,
        "<p class=\"note\">The model played AWS's rules in virtual time on this run's own uploads, settings, time scale \
         and recorded service times: {}.</p>",
        if a.agrees { "every held figure agrees" } else { "<strong>it disagrees</strong>" }
    );
    out.push_str(
        "<table><tr><th>path</th><th>figure</th><th>measured</th><th>modelled</th><th>tolerance</th><th>agrees</th></tr>\n",
    );
    for r in &a.rows {
        let verdict = match (r.tolerance, r.agrees) {
            (Tolerance::Shown, _) => "&ndash;",
            (_, true) => "yes",
            (_, false) => "<strong>no</strong>",
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{verdict}</td></tr>",
            r.path,
            esc(r.figure),
            number(r.measured),
            esc(&modelled(r)),
            tolerance(r.tolerance, r.slack)
        );
    }
    out.push_str("</table>\n");
    if !a.disagreements.is_empty() {
        out.push_str("<ul>\n");
        for d in &a.disagreements {
            let _ = writeln!(out, "<li>{}</li>", esc(d));
        }
        out.push_str("</ul>\n");
    }
    out.push_str(&rules(&a.modelled));
    out
}
