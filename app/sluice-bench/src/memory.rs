//! Memory: the peak resident memory of a function summarising a batch of real S3 objects.
//!
//! The objects are uploaded to the local stack's S3 (moto) and announced in one SQS batch
//! of S3-in-SNS events. The real `sqs-worker` streams each through its SHA-256, size and line
//! count and writes a receipt; the Python side does the same with boto3 under Powertools'
//! `BatchProcessor` (`python/boto3_summary.py`). Each sample is a fresh instance under the local
//! Lambda service, invoked once; its figure is Lambda's "Max Memory Used", the instance's peak
//! resident memory (`VmHWM`), which the service records per invocation. Measured at a small and
//! a large object size: a streaming worker's peak does not grow with the objects. The worker
//! runs twice, at its default batch concurrency (10 objects streamed at once) and at 1 (one at a
//! time, as the Python side does), which shows what each concurrent stream holds.

use std::path::PathBuf;

use aws_sdk_s3::primitives::ByteStream;
use serde_json::json;
use sluice_local::ServiceConfig;

use crate::error::BenchError;
use crate::fixture::{Announced, announcing};
use crate::rows::Peak;
use crate::runtime::{function, invoke, start};

/// What to upload and where the functions are.
#[derive(Debug, Clone)]
pub struct MemorySettings {
    /// Samples per side and object size, the sides taking turns.
    pub rounds: usize,
    /// Object sizes in MiB, each measured with a batch of [`MemorySettings::objects`] objects.
    pub object_mib: Vec<u64>,
    /// Objects per batch (10: the event source mapping's default batch size).
    pub objects: usize,
    /// The local stack's S3 endpoint (`AWS_ENDPOINT_URL`).
    pub s3_endpoint: String,
    /// The directory with the release `sqs-worker`.
    pub binaries: PathBuf,
    /// The Python functions' bootstrap (`app/sluice-bench/python/bootstrap`).
    pub python_bootstrap: PathBuf,
    /// The Python interpreter with Powertools, boto3 and awslambdaric.
    pub python: PathBuf,
    /// Where function logs go.
    pub log_dir: PathBuf,
}

/// The sluice side's name in the rows.
pub const SQS_WORKER: &str = "sqs-worker";
/// The sluice side with `BATCH_CONCURRENCY=1`: one object streamed at a time, as Python does.
pub const SQS_WORKER_SERIAL: &str = "sqs-worker, BATCH_CONCURRENCY=1";
/// The Python side's name in the rows.
pub const PYTHON: &str = "Python (Powertools batch, boto3)";

/// The row of `side`'s peak with `objects` objects of `mib` MiB.
pub fn peak(side: &str, objects: usize, mib: u64) -> String {
    format!("{side}, peak RSS summarising {objects} objects of {mib} MiB")
}

/// `mib` MiB of text lines, the same bytes for every object of that size.
fn content(mib: u64) -> Vec<u8> {
    const LINE: &[u8] = b"2026-11-27T12:00:00Z,sensor-0042,temperature,21.5,celsius,ok\n";
    LINE.iter().copied().cycle().take((mib * 1024 * 1024) as usize).collect()
}

fn s3_error<E: std::error::Error>(what: String) -> impl FnOnce(E) -> BenchError {
    move |e| BenchError::Sluice(format!("{what}: {}", aws_sdk_s3::error::DisplayErrorContext(&e)))
}

/// Uploads `objects` objects of `mib` MiB to `bucket` and returns them as a batch announces them.
async fn upload(s3: &aws_sdk_s3::Client, bucket: &str, objects: usize, mib: u64) -> Result<Vec<Announced>, BenchError> {
    let bytes = aws_sdk_s3::primitives::SdkBody::from(content(mib));
    let mut announced = Vec::with_capacity(objects);
    for i in 0..objects {
        let key = format!("objects/{mib}mib-{i}.csv");
        let body = bytes.try_clone().map(ByteStream::new).expect("in-memory bodies clone");
        let put = s3.put_object().bucket(bucket).key(&key).body(body).send().await;
        let put = put.map_err(s3_error(format!("uploading s3://{bucket}/{key}")))?;
        let e_tag = put.e_tag().unwrap_or_default().trim_matches('"').to_owned();
        announced.push(Announced { bucket: bucket.into(), key, size: mib * 1024 * 1024, e_tag, version_id: None });
    }
    Ok(announced)
}

/// One cold instance of `name` summarising `batch`; its peak RSS in KiB.
async fn sample(config: sluice_local::FunctionConfig, batch: &[u8], s: &MemorySettings) -> Result<u64, BenchError> {
    let name = config.name.clone();
    let service = start(ServiceConfig { functions: vec![config], ..ServiceConfig::default() }, &s.log_dir).await?;
    let invoked = invoke(&reqwest::Client::new(), &service, &name, batch).await;
    let seen = service.records().invocations();
    service.shutdown().await;
    invoked?;
    seen.first()
        .and_then(|r| r.max_memory_used_kb)
        .ok_or_else(|| BenchError::Sluice(format!("no peak memory recorded for {name}")))
}

/// Uploads the objects of every size, then measures both sides on each, taking turns.
pub async fn run(s: &MemorySettings) -> Result<Vec<Peak>, BenchError> {
    let s3 = sluice::aws::s3_client(&crate::aws::local(Some(&s.s3_endpoint)));
    let bucket = format!("bench-memory-{}", std::process::id());
    let results = format!("{bucket}-receipts");
    for b in [&bucket, &results] {
        s3.create_bucket().bucket(b).send().await.map_err(s3_error(format!("creating bucket {b}")))?;
    }
    let environment = json!({
        "RESULTS_BUCKET": results, "AWS_ENDPOINT_URL": s.s3_endpoint,
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "BATCH_CONCURRENCY": "1",
    });
    let mut serial_environment = environment.clone();
    serial_environment["BATCH_CONCURRENCY"] = json!("1");
    let mut python_environment = environment.clone();
    python_environment["SLUICE_PYTHON"] = json!(s.python);
    python_environment["SLUICE_BENCH_HANDLER"] = json!("boto3_summary.handler");
    // Minutes, not Lambda's seconds: the Python side reads 640 MB through a local S3.
    let timeout_ms = 300_000;
    let sides = [
        function(SQS_WORKER, s.binaries.join("sqs-worker"), "provided.al2023", environment, timeout_ms)?,
        function(
            "sqs-worker-serial",
            s.binaries.join("sqs-worker"),
            "provided.al2023",
            serial_environment,
            timeout_ms,
        )?,
        function("python", s.python_bootstrap.clone(), "python3.12", python_environment, timeout_ms)?,
    ];
    let mut peaks = Vec::new();
    for &mib in &s.object_mib {
        let batch = announcing(0, &upload(&s3, &bucket, s.objects, mib).await?);
        let mut kib = [Vec::new(), Vec::new(), Vec::new()];
        for round in 0..s.rounds {
            let order = if round % 2 == 0 { [0, 1, 2] } else { [2, 1, 0] };
            for k in order {
                kib[k].push(sample(sides[k].clone(), &batch, s).await?);
            }
        }
        for (k, side) in [SQS_WORKER, SQS_WORKER_SERIAL, PYTHON].into_iter().enumerate() {
            peaks.push(Peak::of(&peak(side, s.objects, mib), std::mem::take(&mut kib[k])));
        }
    }
    Ok(peaks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_whole_lines_of_the_asked_size() {
        let one = content(1);
        assert_eq!(one.len(), 1024 * 1024);
        assert!(one.starts_with(b"2026-11-27T12:00:00Z,sensor-0042"));
        assert!(one.iter().filter(|&&b| b == b'\n').count() > 16_000);
    }
}
