//! Framework overhead in process: the same batch bytes through sluice's `SqsBatchHandler`, a
//! bare borrowed decode, and Powertools' `BatchProcessor` (a Python process per round), each
//! with a no-op record handler, in rounds that alternate the sides.
//!
//! An iteration is what one invocation costs the framework: from the event's bytes to the
//! serialised batch response. sluice runs as a worker would, idempotency included (an
//! in-memory store, fresh for each iteration so every record is new) and JSON logs (to a sink);
//! a second sluice row has neither, to show what they cost.

use std::path::Path;
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::SqsEvent;
use sluice::{Idempotency, ItemContext, SqsBatchHandler, processor_fn};
use sluice_events::s3::S3ObjectEvent;
use sluice_idempotency::MemoryStore;
use tracing_subscriber::layer::SubscriberExt;

use crate::error::BenchError;
use crate::fixture::BATCH_SIZE;
use crate::rows::Row;
use crate::settings::Settings;

/// sluice as a worker runs it.
pub const SLUICE: &str = "sluice: SqsBatchHandler, in-memory idempotency, JSON logs";
/// sluice without idempotency and logs.
pub const SLUICE_BARE: &str = "sluice: SqsBatchHandler, no idempotency, no logs";
/// The decode floor.
pub const FLOOR: &str = "floor: borrowed serde_json decode of the three layers";
/// Powertools with its Logger, one line per record.
pub const POWERTOOLS: &str = "Powertools: BatchProcessor + parser, Logger";
/// Powertools without logs.
pub const POWERTOOLS_BARE: &str = "Powertools: BatchProcessor + parser";

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BenchError {
    let what = what.into();
    move |source| BenchError::Io { what, source }
}

pub(crate) fn context() -> lambda_runtime::Context {
    sluice::testing::context_for("bench", Duration::from_secs(3600))
}

fn handler(idempotency: Idempotency) -> SqsBatchHandler<S3ObjectEvent> {
    SqsBatchHandler::builder(processor_fn(|_: S3ObjectEvent, _: ItemContext| async { Ok(()) }), idempotency).build()
}

/// The JSON lines `sluice::telemetry::log_layer` writes under `AWS_LAMBDA_LOG_FORMAT=JSON`, to a
/// sink.
pub(crate) fn json_logs() -> impl tracing::Subscriber + Send + Sync {
    let lines = tracing_subscriber::fmt::layer()
        .fmt_fields(sluice::telemetry::JsonFields)
        .event_format(sluice::telemetry::JsonFormat)
        .with_writer(std::io::sink);
    tracing_subscriber::registry().with(lines)
}

/// `iterations` runs of the handler on `bytes`, each with a handler from `make`; times in ns.
fn time_sluice(
    rt: &tokio::runtime::Runtime,
    bytes: &[u8],
    iterations: usize,
    make: impl Fn() -> SqsBatchHandler<S3ObjectEvent>,
) -> Result<Vec<u64>, BenchError> {
    let ctx = context();
    let handlers: Vec<_> = (0..iterations).map(|_| make()).collect();
    let mut times = Vec::with_capacity(iterations);
    for handler in handlers {
        let started = Instant::now();
        let event: SqsEvent = serde_json::from_slice(bytes).map_err(|e| BenchError::Sluice(e.to_string()))?;
        let response = rt.block_on(handler.handle(event, &ctx)).map_err(|e| BenchError::Sluice(e.to_string()))?;
        let answer = serde_json::to_vec(&response).map_err(|e| BenchError::Sluice(e.to_string()))?;
        times.push(started.elapsed().as_nanos() as u64);
        if !response.batch_item_failures.is_empty() || answer.is_empty() {
            return Err(BenchError::Sluice(format!("records failed: {:?}", response.batch_item_failures)));
        }
    }
    Ok(times)
}

fn time_floor(bytes: &[u8], iterations: usize) -> Result<Vec<u64>, BenchError> {
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        let (records, weight) = crate::floor::decode(bytes).map_err(|e| BenchError::Sluice(e.to_string()))?;
        times.push(started.elapsed().as_nanos() as u64);
        std::hint::black_box(weight);
        if records != BATCH_SIZE {
            return Err(BenchError::Sluice(format!("decoded {records} records, not {BATCH_SIZE}")));
        }
    }
    Ok(times)
}

/// What the Python side printed.
#[derive(serde::Deserialize)]
pub(crate) struct PythonRun {
    pub times_ns: Vec<u64>,
    pub python: String,
    pub powertools: String,
}

fn time_powertools(settings: &Settings, file: &Path, variant: &str) -> Result<PythonRun, BenchError> {
    run_python(settings, &settings.script, file, &["--variant", variant])
}

/// One round of a Python side: `script` on the batch in `file`, `settings.iterations` times.
pub(crate) fn run_python(
    settings: &Settings,
    script: &Path,
    file: &Path,
    args: &[&str],
) -> Result<PythonRun, BenchError> {
    let out = std::process::Command::new(&settings.python)
        .arg(script)
        .arg("--batch")
        .arg(file)
        .args(["--iterations", &settings.iterations.to_string()])
        .args(args)
        .output()
        .map_err(|e| {
            BenchError::Python(format!("{} did not start: {e} (run scripts/setup)", settings.python.display()))
        })?;
    if !out.status.success() {
        return Err(BenchError::Python(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| BenchError::Python(format!("unreadable output ({e}): {}", String::from_utf8_lossy(&out.stdout))))
}

/// Runs every side `settings.rounds` times, in turn, on `bytes` (also in `file` for the
/// Python side): the rows, and the Python and Powertools versions.
pub(crate) fn measure(
    settings: &Settings,
    file: &Path,
    bytes: &[u8],
) -> Result<(Vec<Row>, String, String), BenchError> {
    let rt =
        tokio::runtime::Builder::new_current_thread().enable_time().build().map_err(io("starting a tokio runtime"))?;

    let names = [SLUICE, SLUICE_BARE, FLOOR, POWERTOOLS, POWERTOOLS_BARE];
    // Each side's times, round by round.
    let mut samples: Vec<Vec<Vec<u64>>> = vec![Vec::new(); names.len()];
    let (mut python, mut powertools) = (String::new(), String::new());
    // The Rust sides, by their index in `names`.
    let rust_side = |side: usize| match side {
        0 => tracing::subscriber::with_default(json_logs(), || {
            time_sluice(&rt, bytes, settings.iterations, || handler(Idempotency::new(MemoryStore::new())))
        }),
        1 => time_sluice(&rt, bytes, settings.iterations, || handler(Idempotency::disabled())),
        _ => time_floor(bytes, settings.iterations),
    };
    // One round of the Rust sides, not counted: the first round would otherwise also measure
    // cold caches, a fresh allocator and the subscriber's first use (each Python round is a
    // process of its own, warmed by its script).
    for side in 0..3 {
        rust_side(side)?;
    }
    for round in 0..settings.rounds {
        // Alternate the order, so neither side always runs on a machine just warmed by the other.
        let order: Vec<usize> =
            if round % 2 == 0 { (0..names.len()).collect() } else { (0..names.len()).rev().collect() };
        for side in order {
            let times = match side {
                0..3 => rust_side(side)?,
                _ => {
                    let run = time_powertools(settings, file, if side == 3 { "logs" } else { "bare" })?;
                    (python, powertools) = (run.python, run.powertools);
                    run.times_ns
                }
            };
            samples[side].push(times);
        }
    }
    let rows = names.iter().zip(samples).map(|(name, rounds)| Row::of_rounds(name, rounds, BATCH_SIZE)).collect();
    Ok((rows, python, powertools))
}
