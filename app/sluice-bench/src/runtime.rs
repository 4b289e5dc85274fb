//! Through the Runtime API: both handlers as functions under the local Lambda service, the
//! Python one run by AWS's runtime interface client (`awslambdaric`).
//!
//! - **Warm invocations**: the same batch invoked over and over, the sides taking turns; each
//!   invocation's time as the service records it (from the Invoke call to the runtime's
//!   answer, microseconds).
//! - **Cold starts**: a fresh service per sample, so every invocation starts a process; the
//!   time from process start to the first answer, and the init phase (start to the first
//!   `/next`), for the real `sqs-worker` (its AWS clients built, an empty batch), the sluice
//!   no-op function, the Powertools function and a minimal `lambda_runtime` function.

use std::path::PathBuf;

use serde_json::{Value, json};
use sluice_local::{FunctionConfig, InvocationRecord, LocalLambda, ServiceConfig, ServiceOptions};

use crate::error::BenchError;
use crate::rows::Row;

/// Where the functions are and how much to run.
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    /// Rounds of warm invocations, the sides taking turns.
    pub rounds: usize,
    /// Warm invocations of each side per round.
    pub invocations: usize,
    /// Cold starts per function.
    pub cold_starts: usize,
    /// The directory with `bench-function`, `bench-minimal` and `sqs-worker`.
    pub binaries: PathBuf,
    /// The Powertools function's bootstrap (`app/sluice-bench/python/bootstrap`).
    pub python_bootstrap: PathBuf,
    /// The Python interpreter with Powertools and awslambdaric.
    pub python: PathBuf,
    /// Where function logs go.
    pub log_dir: PathBuf,
}

/// The row of `function`'s cold starts.
pub fn cold(function: &str) -> String {
    format!("{function} function, cold start to first answer")
}

/// The sluice function, warm.
pub const SLUICE_WARM: &str = "sluice function, warm invocation (Runtime API)";
/// The Powertools function, warm.
pub const POWERTOOLS_WARM: &str = "Powertools function, warm invocation (Runtime API)";

/// A function of the benchmark; `timeout_ms` as Lambda's timeout.
pub(crate) fn function(
    name: &str,
    bootstrap: PathBuf,
    runtime: &str,
    environment: Value,
    timeout_ms: u64,
) -> Result<FunctionConfig, BenchError> {
    serde_json::from_value(json!({
        "name": name, "bootstrap": bootstrap, "timeout": timeout_ms, "memory_mb": 256,
        "runtime": runtime, "environment": environment,
    }))
    .map_err(|e| BenchError::Sluice(format!("function {name}: {e}")))
}

fn functions(s: &RuntimeSettings) -> Result<Vec<FunctionConfig>, BenchError> {
    let python = json!({ "SLUICE_PYTHON": s.python, "POWERTOOLS_SERVICE_NAME": "bench" });
    // The real worker's configuration; nothing is called with it (the batch is empty).
    let worker = json!({
        "RESULTS_BUCKET": "bench-results", "IDEMPOTENCY_TABLE": "bench-idempotency",
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    });
    Ok(vec![
        function("sluice", s.binaries.join("bench-function"), "provided.al2023", json!({}), 30_000)?,
        function("powertools", s.python_bootstrap.clone(), "python3.12", python, 30_000)?,
        function("minimal", s.binaries.join("bench-minimal"), "provided.al2023", json!({}), 30_000)?,
        function("sqs-worker", s.binaries.join("sqs-worker"), "provided.al2023", worker, 30_000)?,
    ])
}

pub(crate) async fn start(config: ServiceConfig, log_dir: &std::path::Path) -> Result<LocalLambda, BenchError> {
    let options = ServiceOptions { port: 0, log_dir: log_dir.to_owned(), aws: crate::aws::local(None) };
    LocalLambda::start(config, options).await.map_err(|e| BenchError::Sluice(format!("the local Lambda service: {e}")))
}

/// One synchronous invocation; an error if the function failed.
pub(crate) async fn invoke(
    client: &reqwest::Client,
    service: &LocalLambda,
    name: &str,
    payload: &[u8],
) -> Result<(), BenchError> {
    let response = client
        .post(format!("{}/2015-03-31/functions/{name}/invocations", service.endpoint()))
        .body(payload.to_vec())
        .send()
        .await
        .map_err(|e| BenchError::Sluice(format!("invoking {name}: {e}")))?;
    let failed = response.headers().contains_key("x-amz-function-error");
    let body = response.text().await.unwrap_or_default();
    if failed || body.contains("\"itemIdentifier\"") {
        let side = if ["powertools", "python"].contains(&name) { BenchError::Python } else { BenchError::Sluice };
        return Err(side(format!("{name} failed: {body}")));
    }
    Ok(())
}

fn durations_ns(records: &[InvocationRecord], name: &str, cold: bool) -> Vec<u64> {
    records.iter().filter(|r| r.function == name && r.cold == cold).map(|r| r.duration_us * 1000).collect()
}

/// Warm invocations of both sides with `batch`, and cold starts of every function.
pub async fn run(s: &RuntimeSettings, batch: &[u8]) -> Result<Vec<Row>, BenchError> {
    let client = reqwest::Client::new();
    let records = crate::fixture::BATCH_SIZE;
    let all = functions(s)?;
    let warm = ServiceConfig { functions: all[..2].to_vec(), ..ServiceConfig::default() };
    let service = start(warm, &s.log_dir).await?;
    let mut rows = Vec::new();
    let outcome = async {
        for round in 0..=s.rounds {
            // Round 0 is the cold start of each, not counted; then the sides take turns.
            let sides = if round % 2 == 0 { ["sluice", "powertools"] } else { ["powertools", "sluice"] };
            for name in sides {
                for _ in 0..if round == 0 { 1 } else { s.invocations } {
                    invoke(&client, &service, name, batch).await?;
                }
            }
        }
        let seen = service.records().invocations();
        // Each side's warm invocations ran `invocations` to a round, in order.
        let rounds =
            |name: &str| durations_ns(&seen, name, false).chunks(s.invocations.max(1)).map(<[u64]>::to_vec).collect();
        rows.push(Row::of_rounds(SLUICE_WARM, rounds("sluice"), records));
        rows.push(Row::of_rounds(POWERTOOLS_WARM, rounds("powertools"), records));
        Ok::<_, BenchError>(())
    }
    .await;
    service.shutdown().await;
    outcome?;

    let cold_payloads: [(&str, Vec<u8>); 4] = [
        ("minimal", b"{}".to_vec()),
        ("sqs-worker", br#"{"Records":[]}"#.to_vec()),
        ("sluice", batch.to_vec()),
        ("powertools", batch.to_vec()),
    ];
    let mut cold_ns: Vec<Vec<u64>> = vec![Vec::new(); cold_payloads.len()];
    let mut init: Vec<Vec<u64>> = vec![Vec::new(); cold_payloads.len()];
    for _ in 0..s.cold_starts {
        for (k, (name, payload)) in cold_payloads.iter().enumerate() {
            let only = all.iter().find(|f| f.name == *name).cloned().into_iter().collect();
            let service = start(ServiceConfig { functions: only, ..ServiceConfig::default() }, &s.log_dir).await?;
            let invoked = invoke(&client, &service, name, payload).await;
            let seen = service.records().invocations();
            service.shutdown().await;
            invoked?;
            cold_ns[k].extend(durations_ns(&seen, name, true));
            init[k].extend(seen.iter().filter_map(|r| r.init_duration_us).map(|us| us * 1000));
        }
    }
    for (k, (name, _)) in cold_payloads.iter().enumerate() {
        // The functions took turns, one cold start each: the k-th cold starts form a round.
        let rounds = cold_ns[k].iter().map(|&ns| vec![ns]).collect();
        rows.push(Row::of_rounds(&cold(name), rounds, 0));
        rows.push(Row::of(&format!("{name} function, init phase (start to first /next)"), init[k].clone(), 0));
    }
    Ok(rows)
}
