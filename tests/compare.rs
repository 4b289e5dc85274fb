//! `sluice compare` on the local stack: its figures checked against the local Lambda service's
//! own records, the reliability row under a downstream outage longer than the direct path's
//! retries, the model's agreement with the run it models, and the HTML report rendered in
//! headless Chromium. Run by `scripts/test`;
//! `#[ignore]`d for a bare `cargo test`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use sluice_compare::{Comparison, Outage, Pattern, Setup, Workload};
use sluice_e2e::scenario::workers;
use sluice_harness::deployment::{SNS_WORKER, SQS_WORKER};

/// The machine, shared by the comparisons of this file (the test harness runs them two at a
/// time). The model's agreement is checked on a run that had it alone: the model follows the
/// load the run recorded, not a neighbour's that comes and goes.
static MACHINE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("sluice-compare-tests").join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn small(objects: usize) -> Workload {
    let mut w = Workload::default();
    w.objects = objects;
    w.pattern = Pattern::Burst;
    w.max_bytes = 8 * 1024;
    w.outage = None;
    w
}

async fn compare(name: &str, workload: &Workload) -> Comparison {
    assert!(std::env::var_os("AWS_ENDPOINT_URL").is_some(), "AWS_ENDPOINT_URL is not set: run scripts/test");
    let aws = aws_config::load_from_env().await;
    let setup = Setup { workers: workers(), log_dir: scratch(name), drain_limit: Duration::from_secs(180) };
    let c = sluice_compare::compare(&aws, &setup, workload, &|_| {}).await.expect("the comparison ran");
    assert!(c.settled, "{name}: did not drain\n{}", sluice_compare::report::text(&c));
    c
}

/// The `sluice` binary beside the workers.
fn sluice() -> PathBuf {
    let binary = workers().join("sluice");
    assert!(binary.exists(), "{} is missing: cargo build -p sluice-cli", binary.display());
    binary
}

#[test]
#[ignore = "needs the local stack: run scripts/test"]
fn the_json_figures_agree_with_the_local_services_records() {
    let _shared = MACHINE.blocking_read();
    let dir = scratch("json");
    let out = Command::new(sluice())
        .args(["compare", "--objects", "24", "--pattern", "burst", "--max-bytes", "4096", "--no-outage", "--json"])
        .arg("--report")
        .arg(dir.join("report.html"))
        .arg("--log-dir")
        .arg(dir.join("logs"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert!(dir.join("report.html").exists(), "the HTML report is written");
    let records: Value =
        serde_json::from_slice(&std::fs::read(json["records_file"].as_str().unwrap()).unwrap()).unwrap();
    let invocations = records["invocations"].as_array().unwrap();
    let ran = |function: &str| -> Vec<&Value> {
        invocations.iter().filter(|r| r["function"] == function && r["outcome"] != "throttled").collect()
    };
    let path = |name: &str| json["paths"].as_array().unwrap().iter().find(|p| p["path"] == name).unwrap().clone();
    for (name, function) in [("queue", SQS_WORKER), ("direct", SNS_WORKER)] {
        let figures = path(name);
        let mine = ran(function);
        let records_in: u64 = mine.iter().map(|r| r["batch_size"].as_u64().unwrap()).sum();
        assert_eq!(figures["invocations"].as_u64().unwrap(), mine.len() as u64, "{name}: invocations");
        let per = figures["records_per_invocation"].as_f64().unwrap();
        assert!((per - records_in as f64 / mine.len() as f64).abs() < 1e-9, "{name}: records per invocation {per}");
        assert_eq!(figures["retries"].as_u64().unwrap(), records_in - 24, "{name}: deliveries beyond the first");
        let outcomes = &figures["outcomes"];
        assert_eq!(outcomes["uploaded"], 24);
        assert_eq!(outcomes["processed"], 24, "{name}: {outcomes}");
        assert_eq!((outcomes["lost"].as_u64(), outcomes["dead_lettered"].as_u64()), (Some(0), Some(0)), "{name}");
        assert_eq!(figures["latency"]["samples"], 24, "{name}: one latency per object");
        // The latency hop by hop, every object in every hop: each stamp is on its timeline.
        let hops: Vec<(String, u64)> = figures["hops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h["hop"].as_str().unwrap().to_owned(), h["samples"].as_u64().unwrap()))
            .collect();
        let expected: &[&str] = match name {
            "queue" => &[
                "upload → S3 event",
                "S3 event → SNS publish",
                "SNS → in the queue",
                "queue wait → polled",
                "polled → handler start",
                "handler → partner answered",
            ],
            _ => &["upload → S3 event", "S3 event → SNS publish", "SNS → handler start", "handler → partner answered"],
        };
        assert_eq!(hops, expected.iter().map(|h| (h.to_string(), 24)).collect::<Vec<_>>(), "{name}: hops");
        let billed: f64 = mine
            .iter()
            .map(|r| r["billed_duration_ms"].as_f64().unwrap() / 1000.0 * r["memory_mb"].as_f64().unwrap() / 1024.0)
            .sum();
        assert!((figures["usage"]["gb_seconds"].as_f64().unwrap() - billed).abs() < 1e-6, "{name}: GB-seconds");
    }
    // The direct path: one event per object, each succeeded once, as the async queue recorded.
    let events: Vec<&Value> =
        records["async_events"].as_array().unwrap().iter().filter(|e| e["function"] == SNS_WORKER).collect();
    assert_eq!(events.len(), 24);
    assert!(events.iter().all(|e| e["succeeded"] == true));
    // The queue path: every message the mapping deleted is one the worker finished.
    let deleted: u64 = records["batches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["function"] == SQS_WORKER)
        .map(|b| b["deleted"].as_u64().unwrap())
        .sum();
    assert_eq!(deleted, 24, "each queued event deleted once");
    let received = records["batches"].as_array().unwrap().iter().filter(|b| b["function"] == SQS_WORKER).count();
    assert_eq!(path("queue")["batches"].as_u64(), Some(received as u64), "every batch the mapping received");
    assert_eq!(path("direct")["batches"], 0);
    assert!(path("queue")["records_per_invocation"].as_f64().unwrap() > 1.0, "the queue path batches");
    assert_eq!(path("direct")["records_per_invocation"].as_f64().unwrap(), 1.0, "one event per direct invocation");
}

/// The model, fitted to a local run's uploads, settings and recorded service times, agrees with
/// what that run measured: processed and DLQ exactly, invocations within 10 %, throttles within
/// 30 %, latency p50 within 25 % and p99 within 40 % (`model::check`).
fn assert_agrees(name: &str, c: &Comparison) {
    let check = &c.check;
    assert!(check.agrees, "{name}: the model disagrees\n{}", sluice_compare::model::report::agreement(check));
    assert_eq!(check.modelled.kind, "modelled");
    assert!(check.rows.iter().any(|r| r.figure == "latency p99 (ms)" && r.path == "direct"), "every row is there");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the local stack: run scripts/test"]
async fn the_model_agrees_with_a_local_run_of_the_default_pattern() {
    let _alone = MACHINE.write().await;
    // The default pattern, steady with a burst halfway, at CI size (about 40 s). The burst is a
    // third of the objects rather than half: with half, the median falls exactly between the
    // steady objects (fast) and the burst's (slow), where any run's p50 jumps between the two;
    // and 250 objects, so that a p99 is not the slowest object but one of three.
    let mut w = small(250);
    w.pattern = Pattern::BurstOnSteady { per_second: 5.0, burst: 80 };
    let c = compare("agree-default", &w).await;
    assert_agrees("burst on steady", &c);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the local stack: run scripts/test"]
async fn the_model_agrees_with_a_local_run_of_a_burst() {
    let _alone = MACHINE.write().await;
    let c = compare("agree-burst", &small(150)).await;
    assert_agrees("burst", &c);
}

fn outage_workload(direct_dlq: bool) -> Workload {
    let mut w = small(16);
    // Timed from each path's first webhook call, so a slow start does not eat into it: longer
    // than the direct path's three attempts (1 s and 2 s apart at x60, plus the worker's own
    // webhook retries), so the first event's attempts all fail; shorter than the queue's five
    // receives (3.3 s apart), so the queue path processes some.
    w.outage = Some(Outage { start: Duration::ZERO, length: Duration::from_secs(9) });
    w.direct_dlq = direct_dlq;
    w
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the local stack: run scripts/test"]
async fn through_an_outage_the_queue_loses_nothing_and_the_direct_path_keeps_its_failures_in_its_dlq() {
    let _shared = MACHINE.read().await;
    let c = compare("outage-dlq", &outage_workload(true)).await;
    let (q, d) = (&c.queue().outcomes, &c.direct().outcomes);
    assert_eq!(q.lost, 0, "{q:?}");
    assert_eq!(q.processed + q.dead_lettered, 16, "{q:?}");
    assert!(q.processed > 0, "the queue path retried past the outage: {q:?}");
    assert_eq!(d.lost, 0, "{d:?}");
    assert!(d.dead_lettered > 0, "the outage outlasted the direct path's retries: {d:?}");
    assert_eq!(d.processed + d.dead_lettered, 16, "what the direct path did not process is in its DLQ: {d:?}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the local stack: run scripts/test"]
async fn through_an_outage_a_direct_path_without_a_dlq_loses_what_failed() {
    let _shared = MACHINE.read().await;
    let c = compare("outage-no-dlq", &outage_workload(false)).await;
    let (q, d) = (&c.queue().outcomes, &c.direct().outcomes);
    assert_eq!(q.lost, 0, "{q:?}");
    assert_eq!(q.processed + q.dead_lettered, 16, "{q:?}");
    assert_eq!(d.dead_lettered, 0, "no DLQ to keep anything: {d:?}");
    assert!(d.lost > 0, "the outage outlasted the direct path's retries: {d:?}");
    assert_eq!(d.processed + d.lost, 16, "{d:?}");
    // The lost ones are exactly the events the service gave up on and kept nowhere.
    let records: Value = serde_json::from_slice(&std::fs::read(&c.records_file).unwrap()).unwrap();
    let dropped = records["async_events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["function"] == SNS_WORKER && e["succeeded"] == false)
        .filter(|e| e["dead_lettered"] == false && e["sent_to_destination"] == false)
        .count();
    assert_eq!(d.lost, dropped);
    let reliability = c.rows().into_iter().find(|r| r.row == "reliability").unwrap();
    assert!(reliability.reading.contains(&format!("without a DLQ) lost {}", d.lost)), "{}", reliability.reading);
}

/// Chromium's flags for a closed machine: headless, no sandbox (root), no background traffic.
const CHROMIUM: [&str; 7] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// Renders `page` in headless Chromium: the screenshot (PNG) and the console messages.
fn render(page: &Path, dir: &Path) -> (png::Decoder<std::io::BufReader<std::fs::File>>, Vec<String>) {
    let shot = dir.join(format!("{}.png", page.file_stem().unwrap().to_string_lossy()));
    let profile = dir.join("chromium-profile");
    let out = Command::new("chromium")
        .args(CHROMIUM)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--enable-logging=stderr", "--v=0", "--window-size=1200,3600"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs: scripts/setup installs it");
    assert!(shot.exists(), "no screenshot: {}", String::from_utf8_lossy(&out.stderr));
    let console =
        String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains(":CONSOLE")).map(str::to_owned).collect();
    (png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap())), console)
}

/// Pixels of the screenshot of exactly each of `colours`.
fn pixels(decoder: png::Decoder<std::io::BufReader<std::fs::File>>, colours: &[[u8; 3]]) -> Vec<usize> {
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let mut counts = vec![0; colours.len()];
    for y in 0..info.height as usize {
        for px in buf[y * info.line_size..(y + 1) * info.line_size].chunks(channels) {
            if let Some(k) = colours.iter().position(|c| px[..3] == c[..]) {
                counts[k] += 1;
            }
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the local stack: run scripts/test"]
async fn the_html_report_renders_its_charts_in_headless_chromium_without_console_messages() {
    let _shared = MACHINE.read().await;
    let c = compare("html", &small(10)).await;
    let charts = sluice_compare::charts::all(&c).unwrap();
    let dir = scratch("html");
    let report = dir.join("report.html");
    std::fs::write(&report, sluice_compare::html::page(&c, &charts)).unwrap();
    let (_, console) = render(&report, &dir);
    assert!(console.is_empty(), "console messages: {console:#?}");
    // The series colours of the two paths (charts.rs): each chart, alone in the report's page,
    // draws both.
    const QUEUE: [u8; 3] = [31, 119, 180];
    const DIRECT: [u8; 3] = [230, 110, 20];
    for chart in &charts {
        let page = dir.join(format!("{}.html", chart.id));
        std::fs::write(&page, sluice_compare::html::page(&c, std::slice::from_ref(chart))).unwrap();
        let (shot, console) = render(&page, &dir);
        assert!(console.is_empty(), "{}: console messages: {console:#?}", chart.id);
        let counts = pixels(shot, &[QUEUE, DIRECT]);
        assert!(counts.iter().all(|n| *n >= 20), "the {} chart area is blank: {counts:?} pixels", chart.id);
    }

    // The checks can fail: a page with a console error and no charts fails both.
    let broken = dir.join("broken.html");
    std::fs::write(&broken, "<!DOCTYPE html><p>no charts</p><script>console.error('broken')</script>").unwrap();
    let (shot, console) = render(&broken, &dir);
    assert_eq!(console.len(), 1, "{console:#?}");
    assert_eq!(pixels(shot, &[QUEUE, DIRECT]), vec![0, 0]);
}
