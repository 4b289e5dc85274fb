//! The modelled report's charts: each path over time (arrivals, concurrency in use, throttles,
//! backlog, the oldest event's age), the latency CDF, outcomes and cost. Every title says
//! "modelled".

use crate::model::{Modelled, ModelledPath, Sample};
use crate::plot::{Chart, ChartError, Series, grouped_bars, lines};

/// All charts of a model run.
pub fn all(m: &Modelled) -> Result<Vec<Chart>, ChartError> {
    let over_time = |id, title, unit, value: fn(&Sample) -> f64| {
        let series: Vec<_> = m
            .paths
            .iter()
            .map(|p| Series { path: p.path, data: p.timeline.iter().map(|s| (s.at_s, value(s))).collect() })
            .collect();
        lines(id, title, "seconds since the first upload (modelled)", unit, &series)
    };
    let cdf: Vec<_> = m
        .paths
        .iter()
        .filter(|p| p.processed > 0)
        .map(|p| Series { path: p.path, data: p.latency.cdf.iter().map(|(ms, f)| (ms / 1000.0, *f)).collect() })
        .collect();
    Ok(vec![
        over_time("modelled-arrivals", "Objects uploaded (modelled)", "objects", |s| s.arrived as f64)?,
        over_time("modelled-concurrency", "Concurrent executions (modelled)", "executions", |s| s.concurrency as f64)?,
        over_time("modelled-throttles", "Throttles so far (modelled)", "throttles", |s| s.throttles as f64)?,
        over_time(
            "modelled-backlog",
            "Backlog: queue depth, or the async queue's depth (modelled)",
            "events waiting",
            |s| s.backlog as f64,
        )?,
        over_time("modelled-oldest-age", "Age of the oldest event not finished (modelled)", "seconds", |s| {
            s.oldest_age_s
        })?,
        lines(
            "modelled-latency-cdf",
            "Upload-to-result latency, cumulative (modelled)",
            "seconds",
            "share of processed objects",
            &cdf,
        )?,
        bars(
            m,
            "modelled-outcomes",
            "Outcomes per path (modelled, objects)",
            &["processed", "in a DLQ", "dropped"],
            |p| vec![p.processed as f64, p.dead_lettered as f64, p.dropped as f64],
        )?,
        bars(
            m,
            "modelled-cost",
            "USD per million objects, by service (modelled)",
            &["Lambda", "SQS", "SNS", "DynamoDB", "total"],
            |p| {
                let k = &p.cost_per_million_objects;
                vec![k.lambda, k.sqs, k.sns, k.dynamodb, k.total()]
            },
        )?,
    ])
}

fn bars(
    m: &Modelled,
    id: &'static str,
    title: &'static str,
    categories: &'static [&'static str],
    values: fn(&ModelledPath) -> Vec<f64>,
) -> Result<Chart, ChartError> {
    let series: Vec<_> = m.paths.iter().map(|p| Series { path: p.path, data: values(p) }).collect();
    grouped_bars(id, title, categories, &series)
}
