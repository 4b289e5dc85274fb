//! The model's behaviour at small sizes, without a stack: every object is accounted for, the
//! same seed gives the same run, AWS's rules decide where a failed object ends, and a model run
//! serializes whole (what `sluice compare --model --json` prints).

use std::time::Duration;

use sluice_compare::model::{Arrivals, ModelSettings, Modelled, Pollers};
use sluice_compare::{Outage, Pattern};

fn settings(objects: u64, pattern: Pattern) -> ModelSettings {
    let mut s = ModelSettings::default();
    s.arrivals = Arrivals::Pattern { objects, pattern };
    s
}

fn run(s: &ModelSettings) -> Modelled {
    sluice_compare::model::run(s, &|_, _| {}).expect("the settings are valid")
}

fn accounted(m: &Modelled, objects: u64) {
    for p in &m.paths {
        assert_eq!(p.processed + p.dead_lettered + p.dropped, objects, "{}: {p:?}", p.path);
    }
}

#[test]
fn a_burst_is_processed_whole_on_both_paths() {
    let m = run(&settings(5_000, Pattern::Burst));
    accounted(&m, 5_000);
    assert_eq!(m.kind, "modelled");
    assert_eq!((m.queue().processed, m.direct().processed), (5_000, 5_000));
    // The queue path's mapping starts at 5 batches and MaximumConcurrency holds it there.
    assert!(m.queue().peak_concurrency <= 5, "{}", m.queue().peak_concurrency);
    assert!(m.queue().invocations < m.direct().invocations, "the queue path batches");
    assert_eq!(m.direct().invocations, 5_000, "one invocation per event, none failed");
    assert_eq!(m.direct().retries, 0, "a throttled event is retried, but it never ran");
}

#[test]
fn the_same_seed_gives_the_same_run_and_another_seed_another() {
    let s = settings(3_000, Pattern::BurstOnSteady { per_second: 100.0, burst: 1_000 });
    let (a, b) = (run(&s), run(&s));
    let json = |m: &Modelled| serde_json::to_string(m).unwrap();
    assert_eq!(json(&a), json(&b));
    let mut other = s.clone();
    other.seed = 2;
    assert_ne!(json(&a), json(&run(&other)), "the seed is used");
}

#[test]
fn an_outage_longer_than_the_async_retries_drops_events_without_a_dlq_and_the_queue_keeps_them() {
    let mut s = settings(200, Pattern::Steady { per_second: 10.0 });
    // Three attempts of the direct path take about 3 minutes; the queue's five receives take
    // 5 x 200 s.
    s.outages = vec![Outage { start: Duration::ZERO, length: Duration::from_secs(600) }];
    s.direct.on_failure = false;
    let m = run(&s);
    accounted(&m, 200);
    assert_eq!(m.direct().dead_lettered, 0, "no DLQ to keep anything");
    assert!(m.direct().dropped > 0, "{:?}", m.direct());
    assert_eq!(m.queue().dropped, 0, "SQS drops nothing");
    s.direct.on_failure = true;
    let kept = run(&s);
    assert_eq!(kept.direct().dropped, 0);
    assert_eq!(kept.direct().dead_lettered, m.direct().dropped, "the same events, kept");
}

#[test]
fn reserved_concurrency_throttles_the_direct_path_and_backs_it_off() {
    let mut s = settings(2_000, Pattern::Burst);
    s.direct.reserved_concurrency = Some(10);
    let m = run(&s);
    accounted(&m, 2_000);
    assert!(m.direct().peak_concurrency <= 10);
    assert!(m.direct().throttles > 0);
    assert!(m.direct().drained_s > m.queue().drained_s.min(60.0), "backed off: {}", m.direct().drained_s);
    assert_eq!(m.direct().processed, 2_000, "within the 6 h maximum event age");
}

#[test]
fn provisioned_pollers_start_at_their_minimum() {
    let mut s = settings(20_000, Pattern::Burst);
    s.queue.pollers = Pollers::Provisioned { minimum: 20, maximum: 200 };
    let m = run(&s);
    accounted(&m, 20_000);
    assert!(m.queue().peak_concurrency > 5, "{}", m.queue().peak_concurrency);
}

#[test]
fn a_run_from_recorded_uploads_serializes_whole() {
    let mut s = ModelSettings::default();
    s.arrivals = Arrivals::Times { at: (0..50).map(|i| Duration::from_millis(i * 20)).collect() };
    let m = run(&s);
    accounted(&m, 50);
    let json: serde_json::Value = serde_json::to_value(&m).unwrap();
    assert_eq!(json["settings"]["arrivals"]["kind"], "times");
    assert_eq!(json["paths"][0]["path"], "queue");
}

#[test]
fn an_option_out_of_aws_range_is_named() {
    let mut s = settings(100, Pattern::Burst);
    s.direct.maximum_retry_attempts = 3;
    let e = sluice_compare::model::run(&s, &|_, _| {}).unwrap_err();
    assert_eq!(e.option, "--maximum-retry-attempts");
    let mut s = settings(0, Pattern::Burst);
    s.seed = 1;
    assert_eq!(sluice_compare::model::run(&s, &|_, _| {}).unwrap_err().option, "--objects");
}
