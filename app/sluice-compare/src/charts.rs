//! The measured report's charts, drawn with [`crate::plot`]: latency CDF, concurrent executions
//! over time, events waiting over time, outcomes and cost per path. Each is an SVG document
//! as a string, for the HTML report or a file.

use plotters::prelude::*;

use crate::comparison::Comparison;
use crate::figures::PathFigures;
use crate::hops::Hop;
pub use crate::plot::{Chart, ChartError};
use crate::plot::{Series, StackedBar, grouped_bars, legend, lines, path_colour, steps, svg};

fn colour(p: &PathFigures) -> RGBColor {
    path_colour(p.path)
}

/// All charts of `c`.
pub fn all(c: &Comparison) -> Result<Vec<Chart>, ChartError> {
    Ok(vec![
        latency_cdf(c)?,
        hop_breakdown(c)?,
        over_time(c, "concurrency", "Concurrent executions over time", "executions", |p| {
            p.concurrency.curve.iter().map(|(t, n)| (*t, *n as f64)).collect()
        })?,
        over_time(
            c,
            "queue-depth",
            "Events waiting over time (queue: visible messages; direct: Lambda's async queue)",
            "events",
            |p| p.queue_depth.iter().map(|(t, n)| (*t, *n as f64)).collect(),
        )?,
        bars(
            c,
            "outcomes",
            "Outcomes per path (objects)",
            &["processed", "in a DLQ", "lost", "duplicates suppressed"],
            |p| {
                let o = &p.outcomes;
                vec![o.processed as f64, o.dead_lettered as f64, o.lost as f64, o.duplicates_suppressed as f64]
            },
        )?,
        bars(c, "cost", "USD per million objects, by service", &["Lambda", "SQS", "SNS", "DynamoDB", "total"], |p| {
            let k = &p.cost_per_million_objects;
            vec![k.lambda, k.sqs, k.sns, k.dynamodb, k.total()]
        })?,
    ])
}

fn latency_cdf(c: &Comparison) -> Result<Chart, ChartError> {
    let max = c.paths.iter().map(|p| p.latency.max_ms).max().unwrap_or(0).max(1) as f64;
    let svg = svg("latency-cdf", |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Upload-to-result latency (CDF)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..max * 1.02, 0f64..1.0)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("latency, ms (local stack)")
            .y_desc("share of objects")
            .draw()
            .map_err(|e| e.to_string())?;
        for p in &c.paths {
            let n = p.latency.sorted_ms.len().max(1) as f64;
            let points = p.latency.sorted_ms.iter().enumerate().map(|(i, ms)| (*ms as f64, (i + 1) as f64 / n));
            let colour = colour(p);
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(format!("{} (p50 {} ms)", p.path, p.latency.p50_ms))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    })?;
    Ok(Chart { id: "latency-cdf", title: "Upload-to-result latency, cumulative", svg })
}

/// Each path's latency, hop by hop, stacked: p50 and p99 of every hop.
fn hop_breakdown(c: &Comparison) -> Result<Chart, ChartError> {
    let mut bars = Vec::new();
    for p in &c.paths {
        for (quantile, value) in [("p50", (|h: &Hop| h.p50_ms) as fn(&Hop) -> u64), ("p99", |h: &Hop| h.p99_ms)] {
            bars.push(StackedBar {
                path: p.path,
                label: format!("{} {quantile}", p.path),
                segments: p.hops.iter().map(|h| (h.hop, value(h) as f64)).collect(),
            });
        }
    }
    crate::plot::stacked_bars(
        "hops",
        "Where the time goes: each hop's p50 and p99, stacked (measured)",
        "milliseconds (local stack)",
        &bars,
    )
}

/// A step curve per path over time.
fn over_time(
    c: &Comparison,
    id: &'static str,
    title: &'static str,
    unit: &'static str,
    curve: fn(&PathFigures) -> Vec<(f64, f64)>,
) -> Result<Chart, ChartError> {
    let series: Vec<_> = c.paths.iter().map(|p| Series { path: p.path, data: steps(&curve(p)) }).collect();
    lines(id, title, "seconds since the first upload", unit, &series)
}

/// Grouped bars: one group per category, one bar per path.
fn bars(
    c: &Comparison,
    id: &'static str,
    title: &'static str,
    categories: &'static [&'static str],
    values: fn(&PathFigures) -> Vec<f64>,
) -> Result<Chart, ChartError> {
    let series: Vec<_> = c.paths.iter().map(|p| Series { path: p.path, data: values(p) }).collect();
    grouped_bars(id, title, categories, &series)
}
