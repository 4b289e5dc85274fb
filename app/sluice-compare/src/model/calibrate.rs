//! The model fitted to a local run: the same uploads, settings and time scale, and the service
//! times that run recorded (its invocations' durations, its cold starts, its hops), never AWS's.
//! What the model then predicts is what that run should have measured if the local Lambda
//! service plays AWS's rules as the model does.

use std::collections::BTreeMap;
use std::time::Duration;

use sluice_local::{BatchRecord, InvocationRecord, Outcome, Trigger};

use crate::model::service_times::{Dist, InvocationTime, ServiceTimes};
use crate::model::settings::{Arrivals, ModelSettings};
use crate::workload::Workload;

/// The template's redrive policy: a message is moved to the work DLQ after 5 receives
/// (`template.yaml`, `WorkQueue.RedrivePolicy.maxReceiveCount`).
pub const TEMPLATE_MAX_RECEIVE_COUNT: u32 = 5;

/// Where in an invocation the sample worker calls the downstream: after its claim and the S3
/// GET, a few milliseconds on the local stack.
const LOCAL_DOWNSTREAM_AT: Duration = Duration::from_millis(10);

/// What the model needs of a local run.
#[derive(Debug, Clone)]
pub struct LocalRun<'a> {
    /// The run's workload and settings.
    pub workload: &'a Workload,
    /// Each upload's completion, epoch ms.
    pub uploads_ms: Vec<u64>,
    /// The direct path's invocation records.
    pub direct: Vec<&'a InvocationRecord>,
    /// The queue path's invocation records.
    pub queue: Vec<&'a InvocationRecord>,
    /// The queue path's batches, as its mapping recorded them.
    pub queue_batches: Vec<&'a BatchRecord>,
    /// When the direct path's downstream applied each object's effect, epoch ms.
    pub direct_applied_ms: Vec<u64>,
    /// The same on the queue path.
    pub queue_applied_ms: Vec<u64>,
    /// The work queue's visibility timeout.
    pub visibility_timeout: Duration,
    /// The functions' timeout.
    pub function_timeout: Duration,
}

/// The model's settings for `run`: its uploads, its settings, its recorded service times.
pub fn settings_for(run: &LocalRun<'_>) -> ModelSettings {
    let w = run.workload;
    let mut uploads = run.uploads_ms.clone();
    uploads.sort_unstable();
    let t0 = uploads.first().copied().unwrap_or(0);
    let arrivals = Arrivals::Times { at: uploads.iter().map(|u| Duration::from_millis(u - t0)).collect() };
    let ran = |records: &[&InvocationRecord]| -> Vec<InvocationRecord> {
        records.iter().filter(|r| r.outcome != Outcome::Throttled).map(|r| (*r).clone()).collect()
    };
    let (direct, queue) = (ran(&run.direct), ran(&run.queue));
    let outage = w.outage;
    let first_start = |records: &[InvocationRecord]| records.iter().map(|r| r.start_ms).min().unwrap_or(0);
    let down_at = |records: &[InvocationRecord], r: &InvocationRecord| {
        let Some(o) = outage else { return false };
        let since = Duration::from_millis(r.start_ms.saturating_sub(first_start(records)));
        since >= o.start && since < o.start + o.length
    };
    // The direct path: one record each, failed when the function reported an error.
    let mut direct_up: Table = BTreeMap::new();
    let mut direct_down: Table = BTreeMap::new();
    for r in &direct {
        let table = if r.outcome == Outcome::Success { &mut direct_up } else { &mut direct_down };
        table.entry(1).or_default().push((since(r, t0), micros(r)));
    }
    // The queue path reports failures per record, so an invocation's outcome does not say
    // whether the downstream was down: its start inside the outage does.
    let mut queue_up: Table = BTreeMap::new();
    let mut queue_down: Table = BTreeMap::new();
    for r in &queue {
        let table = if down_at(&queue, r) { &mut queue_down } else { &mut queue_up };
        table.entry(r.batch_size as u32).or_default().push((since(r, t0), micros(r)));
    }
    for samples in
        [&mut direct_up, &mut direct_down, &mut queue_up, &mut queue_down].into_iter().flat_map(|t| t.values_mut())
    {
        samples.sort_unstable();
    }
    let init: Vec<u64> = direct
        .iter()
        .chain(&queue)
        .filter(|r| r.cold)
        .filter_map(|r| r.init_duration_us.or(r.init_duration_ms.map(|ms| ms * 1000)))
        .collect();
    let hop = direct_hops(&uploads, &direct);
    // A path that ran nothing (a run stopped before it) has no durations to draw from.
    let published = ServiceTimes::published(Duration::ZERO);
    let times = ServiceTimes {
        source: format!(
            "the local run's records: {} direct and {} queue invocations, {} cold starts",
            direct.len(),
            queue.len(),
            init.len()
        ),
        direct_hop: hop.clone(),
        // Moto delivers SNS to SQS within the publish, as it delivers SNS to the local
        // service's subscription: the same hop.
        queue_hop: hop,
        direct_invocation: measured_or(direct_up, direct_down, &published.direct_invocation),
        queue_invocation: measured_or(queue_up, queue_down, &published.queue_invocation),
        receive: Dist::measured_over_run(
            run.queue_batches.iter().map(|b| (since_ms(b.received_ms, t0), b.receive_us)).collect(),
            Dist::fixed(Duration::ZERO),
        ),
        delete: Dist::measured_over_run(
            run.queue_batches
                .iter()
                .filter(|b| b.deleted > 0)
                .map(|b| (since_ms(b.received_ms, t0), b.delete_us))
                .collect(),
            Dist::fixed(Duration::ZERO),
        ),
        // The local service's mapping has one receive loop.
        one_receive_at_a_time: true,
        init: Dist::measured(init, Dist::fixed(Duration::ZERO)),
        downstream_at_us: LOCAL_DOWNSTREAM_AT.as_micros() as u64,
        direct_effect_before_end_us: effect_before_end(&direct, &run.direct_applied_ms),
        queue_effect_before_end_us: effect_before_end(&queue, &run.queue_applied_ms),
        lease: sluice::DEFAULT_LEASE.min(run.function_timeout),
    };
    let memory_mb = direct.iter().chain(&queue).map(|r| r.memory_mb).next().unwrap_or(256);
    // The run's own uploads, settings, time scale and service times over the workload's.
    let mut settings = ModelSettings::of_workload(w);
    settings.arrivals = arrivals;
    settings.queue.visibility_timeout = run.visibility_timeout;
    settings.queue.max_receive_count = TEMPLATE_MAX_RECEIVE_COUNT;
    settings.times = times;
    settings.function_timeout = run.function_timeout;
    settings.memory_mb = memory_mb;
    settings.time_scale = w.time_scale;
    settings
}

/// Measured durations by records per invocation: (start, ms after the first upload; µs).
type Table = BTreeMap<u32, Vec<(u32, u64)>>;

/// When `r` started, ms after the first upload at `t0`.
fn since(r: &InvocationRecord, t0: u64) -> u32 {
    since_ms(r.start_ms, t0)
}

/// Epoch `ms`, as ms after the first upload at `t0`.
fn since_ms(ms: u64, t0: u64) -> u32 {
    ms.saturating_sub(t0) as u32
}

/// A path's measured durations, or `fallback` when it measured none.
fn measured_or(up_us: Table, down_us: Table, fallback: &InvocationTime) -> InvocationTime {
    if up_us.is_empty() && down_us.is_empty() { fallback.clone() } else { InvocationTime::Measured { up_us, down_us } }
}

fn micros(r: &InvocationRecord) -> u64 {
    if r.duration_us > 0 { r.duration_us } else { r.duration_ms * 1000 }
}

/// How long before its invocation's end a record's effect was applied, µs: the median over the
/// records of successful invocations, their ends in order paired with the effects in order
/// (the records do not say which object an invocation held).
fn effect_before_end(records: &[InvocationRecord], applied_ms: &[u64]) -> u64 {
    let mut ends: Vec<u64> = records
        .iter()
        .filter(|r| r.outcome == Outcome::Success)
        .flat_map(|r| std::iter::repeat_n(r.start_ms + r.duration_ms, r.batch_size))
        .collect();
    ends.sort_unstable();
    let mut applied = applied_ms.to_vec();
    applied.sort_unstable();
    let mut before: Vec<u64> = ends.iter().zip(&applied).map(|(end, at)| end.saturating_sub(*at)).collect();
    before.sort_unstable();
    before.get(before.len() / 2).map_or(0, |ms| ms * 1000)
}

/// Upload to Lambda's queue on the direct path: each first attempt's arrival (its start less
/// its queue wait), paired in order with the uploads in order.
fn direct_hops(uploads_ms: &[u64], direct: &[InvocationRecord]) -> Dist {
    let mut arrivals: Vec<u64> = direct
        .iter()
        .filter(|r| r.trigger == Trigger::Async && r.attempt == 1)
        .map(|r| r.start_ms.saturating_sub(r.queue_wait_ms))
        .collect();
    arrivals.sort_unstable();
    let hops: Vec<u64> = arrivals.iter().zip(uploads_ms).map(|(a, u)| a.saturating_sub(*u) * 1000).collect();
    Dist::measured(hops, Dist::fixed(Duration::ZERO))
}
