//! `sluice bench`: sluice and Powertools for AWS Lambda (Python) on identical inputs, in one
//! run, alternating, reported as medians and ratios.
//!
//! Absolute times on a shared machine drift from run to run; a ratio measured in one run, the
//! two sides taking turns, does not. Each side reads the same bytes from one file.
//!
//! - [`fixture`]: the batch both sides read (S3 events in SNS envelopes in SQS messages);
//! - [`floor`]: the least any Rust handler must do, a borrowed `serde_json` decode of it;
//! - [`inprocess`]: framework overhead in process, sluice's `SqsBatchHandler` against
//!   Powertools' `BatchProcessor`, each with a no-op record handler;
//! - [`streams`]: the same for streams, `KinesisBatchHandler` and `DynamoDbStreamHandler`
//!   against `BatchProcessor` on Kinesis and DynamoDB Streams batches;
//! - [`runtime`]: both as functions under the local Lambda service: warm invocations, and cold
//!   starts next to the real `sqs-worker` and a minimal `lambda_runtime` function;
//! - [`idempotency`]: DynamoDB idempotency on moto behind a delaying proxy, sluice's handler
//!   against Powertools' `idempotent_function` per record: wall time and requests;
//! - [`memory`]: peak resident memory of the real `sqs-worker` and of the same work in Python
//!   with boto3, summarising S3 objects on the local stack, at a small and a large object size;
//! - [`rows`]: one side's medians; [`report`]: the table, with the machine, the versions and
//!   the date.

/// The SDK configuration for the local stack.
mod aws;
/// Why the benchmark could not run.
pub mod error;
pub mod fixture;
pub mod floor;
pub mod idempotency;
pub mod inprocess;
pub mod memory;
pub mod report;
/// One side's medians.
pub mod rows;
pub mod runtime;
/// How much to run.
pub mod settings;
pub mod streams;

pub use error::BenchError;
pub use idempotency::IdempotencySettings;
pub use memory::MemorySettings;
pub use report::Report;
pub use runtime::RuntimeSettings;
pub use settings::Settings;

/// Runs the benchmark: in process, then (with `settings.runtime`) through the Runtime API.
///
/// ```no_run
/// let settings = sluice_bench::Settings {
///     rounds: 5,
///     iterations: 200,
///     python: ".venv-bench/bin/python".into(),
///     script: "app/sluice-bench/python/powertools_inprocess.py".into(),
///     dir: "target/bench".into(),
///     runtime: None,
///     idempotency: None,
///     memory: None,
/// };
/// let report = sluice_bench::run(&settings)?;
/// println!("{}", report.markdown());
/// # Ok::<(), sluice_bench::BenchError>(())
/// ```
pub fn run(settings: &Settings) -> Result<Report, BenchError> {
    let io = |what: String| move |source| BenchError::Io { what, source };
    std::fs::create_dir_all(&settings.dir).map_err(io(format!("creating {}", settings.dir.display())))?;
    let file = settings.dir.join("batch.json");
    let bytes = fixture::batch(0, fixture::BATCH_SIZE);
    std::fs::write(&file, &bytes).map_err(io(format!("writing {}", file.display())))?;
    let (mut rows, python, powertools) = inprocess::measure(settings, &file, &bytes)?;
    rows.extend(streams::measure(settings, &settings.dir)?);
    let mut peaks = Vec::new();
    if settings.runtime.is_some() || settings.idempotency.is_some() || settings.memory.is_some() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(io("starting a tokio runtime".into()))?;
        if let Some(runtime) = &settings.runtime {
            rows.extend(rt.block_on(runtime::run(runtime, &bytes))?);
        }
        if let Some(idempotency) = &settings.idempotency {
            rows.extend(rt.block_on(idempotency::run(idempotency, &settings.dir))?);
        }
        if let Some(memory) = &settings.memory {
            peaks = rt.block_on(memory::run(memory))?;
        }
    }
    let mut report = Report::new(rows, settings, &python, &powertools);
    report.peaks = peaks;
    Ok(report)
}
