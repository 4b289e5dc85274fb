//! Idempotency cost: the same batch with DynamoDB idempotency, sluice's handler against
//! Powertools' `idempotent_function` on each record, both against moto behind a proxy that
//! makes every request take a fixed extra time, so the wall time of a batch counts the
//! sequential round trips. Per side and round: a first run (every record new) and a duplicate
//! run (the same batch again), with the requests the proxy saw and how many of them were made
//! one after another (sequential round trips: what a far store's latency multiplies).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::SqsEvent;
use sluice::{Idempotency, ItemContext, SqsBatchHandler, processor_fn};
use sluice_events::s3::S3ObjectEvent;
use sluice_harness::proxy::{FaultProxy, Faults, Service, sequential_round_trips};
use sluice_idempotency::DynamoDbStore;

use crate::error::BenchError;
use crate::rows::Row;

/// Where DynamoDB is and how much to run.
#[derive(Debug, Clone)]
pub struct IdempotencySettings {
    /// Rounds; each a fresh batch, first run then duplicate, for each side in turn.
    pub rounds: usize,
    /// moto's endpoint (`AWS_ENDPOINT_URL_DYNAMODB`).
    pub dynamodb: String,
    /// Added to every request on its way to moto.
    pub latency: Duration,
    /// The Python interpreter with Powertools.
    pub python: PathBuf,
    /// The Powertools side's script (`powertools_idempotency.py`).
    pub script: PathBuf,
}

/// Row names: `side`'s `phase` wall time, and its requests.
pub fn wall(side: &str, phase: &str) -> String {
    format!("{side}, DynamoDB idempotency, {phase} run: wall time per batch")
}

fn requests(side: &str, phase: &str) -> String {
    format!("{side}, DynamoDB idempotency, {phase} run: requests per batch (count, not µs)")
}

/// Row names: `side`'s `phase` round trips made one after another (the proxy's spans).
pub fn sequential(side: &str, phase: &str) -> String {
    format!("{side}, DynamoDB idempotency, {phase} run: sequential round trips per batch (count, not µs)")
}

/// Requests and sequential round trips since the proxy had seen `since` requests.
fn seen_since(proxy: &FaultProxy, since: usize) -> (u64, u64) {
    let spans = proxy.spans();
    let new = &spans[since.min(spans.len())..];
    (new.len() as u64, sequential_round_trips(new) as u64)
}

fn client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&crate::aws::local(Some(endpoint)))
}

fn python_phase(
    s: &IdempotencySettings,
    file: &Path,
    endpoint: &str,
    table: &str,
    phase: &str,
) -> Result<u64, BenchError> {
    let out = std::process::Command::new(&s.python)
        .arg(&s.script)
        .arg("--batch")
        .arg(file)
        .args(["--endpoint", endpoint, "--table", table, "--phase", phase])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .map_err(|e| BenchError::Python(format!("{} did not start: {e}", s.python.display())))?;
    if !out.status.success() {
        return Err(BenchError::Python(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
    }
    let answer: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| BenchError::Python(format!("unreadable output: {e}")))?;
    answer["wall_ns"].as_u64().ok_or_else(|| BenchError::Python(format!("no wall_ns in {answer}")))
}

/// Both sides, `s.rounds` rounds, batches written to `dir`.
pub async fn run(s: &IdempotencySettings, dir: &Path) -> Result<Vec<Row>, BenchError> {
    let failed = |e: &dyn std::fmt::Display| BenchError::Sluice(format!("DynamoDB on moto ({}): {e}", s.dynamodb));
    let faults = Faults { latency: s.latency, ..Faults::default() };
    let proxy = FaultProxy::start(&s.dynamodb, Service::DynamoDb, faults, 1).await.map_err(|e| failed(&e))?;
    let suffix = uuid_suffix();
    let (sluice_table, powertools_table) = (format!("bench-sluice-{suffix}"), format!("bench-powertools-{suffix}"));
    let direct = client(&s.dynamodb);
    for table in [&sluice_table, &powertools_table] {
        DynamoDbStore::create_table(&direct, table, None).await.map_err(|e| failed(&e))?;
    }
    let processor = processor_fn(|_: S3ObjectEvent, _: ItemContext| async { Ok(()) });
    let store = DynamoDbStore::new(client(&proxy.url), &sluice_table);
    let handler = SqsBatchHandler::builder(processor, Idempotency::new(store)).build();
    let ctx = sluice::testing::context_for("bench", std::time::Duration::from_secs(3600));
    // Per side (sluice, Powertools) and phase (first, duplicate): wall time, requests, round trips.
    let mut samples: [Vec<u64>; 12] = Default::default();
    for round in 0..s.rounds {
        let bytes = crate::fixture::batch(1000 + round as u64, crate::fixture::BATCH_SIZE);
        let file = dir.join(format!("idempotency-batch-{round}.json"));
        std::fs::write(&file, &bytes)
            .map_err(|e| BenchError::Io { what: format!("writing {}", file.display()), source: e })?;
        for (k, phase) in ["first", "duplicate"].into_iter().enumerate() {
            let before = proxy.spans().len();
            let started = Instant::now();
            let event: SqsEvent = serde_json::from_slice(&bytes).map_err(|e| BenchError::Sluice(e.to_string()))?;
            let response = handler.handle(event, &ctx).await.map_err(|e| BenchError::Sluice(e.to_string()))?;
            samples[k].push(started.elapsed().as_nanos() as u64);
            let (requests, round_trips) = seen_since(&proxy, before);
            samples[2 + k].push(requests * 1000);
            samples[4 + k].push(round_trips * 1000);
            if !response.batch_item_failures.is_empty() {
                return Err(BenchError::Sluice(format!(
                    "{phase} run: records failed: {:?}",
                    response.batch_item_failures
                )));
            }
            let before = proxy.spans().len();
            let (python, file, url, table) = (s.clone(), file.clone(), proxy.url.clone(), powertools_table.clone());
            let wall_ns = tokio::task::spawn_blocking(move || python_phase(&python, &file, &url, &table, phase))
                .await
                .map_err(|e| BenchError::Python(e.to_string()))??;
            samples[6 + k].push(wall_ns);
            let (requests, round_trips) = seen_since(&proxy, before);
            samples[8 + k].push(requests * 1000);
            samples[10 + k].push(round_trips * 1000);
        }
    }
    let names = [
        wall("sluice", "first"),
        wall("sluice", "duplicate"),
        requests("sluice", "first"),
        requests("sluice", "duplicate"),
        sequential("sluice", "first"),
        sequential("sluice", "duplicate"),
        wall("Powertools", "first"),
        wall("Powertools", "duplicate"),
        requests("Powertools", "first"),
        requests("Powertools", "duplicate"),
        sequential("Powertools", "first"),
        sequential("Powertools", "duplicate"),
    ];
    Ok(names.iter().zip(samples).map(|(name, times)| Row::of(name, times, 0)).collect())
}

/// A suffix that keeps this run's table apart from earlier runs': the time in epoch milliseconds.
fn uuid_suffix() -> String {
    format!("{:x}", sluice_clock::now_millis())
}
