//! The main job on the local stack: deploy template.yaml, run both workers on the local
//! Lambda service, upload sample objects (one with a Korean name, one poison), and show each
//! object's receipts and what went to the dead-letter queues, for both paths.

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;

use crate::deployment::{Deployment, Settings};
use sluice_local::wait::{receive_one, wait_for};

/// Objects over this size are poison for the demo's workers.
pub const MAX_OBJECT_BYTES: u64 = 1024 * 1024;

/// A sample upload and whether the workers should accept it.
struct Sample {
    key: &'static str,
    body: Vec<u8>,
    poison: bool,
}

fn samples() -> Vec<Sample> {
    let numbers: String = (1..=1000).map(|i| format!("{i},{}\n", i * i)).collect();
    vec![
        Sample { key: "incoming/보고서 2026+final.csv", body: "id,amount\n1,100\n2,250".into(), poison: false },
        Sample { key: "incoming/hello world.txt", body: "hello\nworld\n".into(), poison: false },
        Sample { key: "incoming/squares.csv", body: numbers.into_bytes(), poison: false },
        Sample { key: "incoming/poison-too-large.bin", body: vec![b'x'; 2 * MAX_OBJECT_BYTES as usize], poison: true },
    ]
}

/// The report of a demo run.
#[derive(Debug, Default)]
pub struct Report {
    /// Lines to print.
    pub lines: Vec<String>,
    /// Expectations that were not met.
    pub missing: Vec<String>,
}

/// Runs the demo with the workers in `workers` (a directory holding `sqs-worker` and
/// `sns-worker`), waiting at most `limit` for the results.
pub async fn run(
    aws: &aws_config::SdkConfig,
    workers: &Path,
    log_dir: &Path,
    limit: Duration,
) -> Result<Report, Box<dyn std::error::Error>> {
    let name = format!("sluice-demo-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let settings = Settings::default().max_object_bytes(MAX_OBJECT_BYTES);
    let Deployment { resources, service, .. } = Deployment::start(aws, &name, workers, log_dir, &settings).await?;
    let s3 = sluice::aws::s3_client(aws);
    let sqs = aws_sdk_sqs::Client::new(aws);
    let mut report = Report::default();
    report.lines.push(format!(
        "stack {name}: ingest s3://{}, results s3://{}",
        resources.ingest_bucket, resources.results_bucket
    ));
    report.lines.push(format!(
        "local Lambda service at {} (function logs in {})",
        service.endpoint(),
        log_dir.display()
    ));

    let samples = samples();
    for sample in &samples {
        s3.put_object()
            .bucket(&resources.ingest_bucket)
            .key(sample.key)
            .body(ByteStream::from(sample.body.clone()))
            .send()
            .await?;
    }
    // Outside the notification prefix: never processed.
    s3.put_object()
        .bucket(&resources.ingest_bucket)
        .key("elsewhere/ignored.txt")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await?;
    report.lines.push(format!(
        "uploaded {} objects under {}, and one outside it",
        samples.len(),
        resources.upload_prefix
    ));

    let receipt = |path: &'static str, key: &'static str| {
        let (s3, bucket) = (s3.clone(), resources.results_bucket.clone());
        async move {
            let out = s3.get_object().bucket(&bucket).key(format!("receipts/{path}/{key}.json")).send().await.ok()?;
            let bytes = out.body.collect().await.ok()?.into_bytes();
            serde_json::from_slice::<serde_json::Value>(&bytes).ok()
        }
    };
    report.lines.push(String::new());
    report.lines.push(format!("{:<36} {:<5} {:>8} {:>6}  sha256", "object", "path", "bytes", "lines"));
    for sample in samples.iter().filter(|s| !s.poison) {
        for path in ["sqs", "sns"] {
            match wait_for(limit, || receipt(path, sample.key)).await {
                Some(r) => report.lines.push(format!(
                    "{:<36} {:<5} {:>8} {:>6}  {}",
                    sample.key,
                    path,
                    r["size"].as_u64().unwrap_or_default(),
                    r["lines"].as_u64().unwrap_or_default(),
                    r["sha256"].as_str().unwrap_or_default()
                )),
                None => report.missing.push(format!("no {path} receipt for {} within {limit:?}", sample.key)),
            }
        }
    }

    report.lines.push(String::new());
    let poison = samples.iter().find(|s| s.poison).map(|s| s.key).unwrap_or_default();
    match wait_for(limit, || receive_one(&sqs, &resources.work_dlq_url)).await {
        Some(m) => {
            let reason =
                m.message_attributes().and_then(|a| a.get("ErrorMessage")).and_then(|v| v.string_value()).unwrap_or("");
            report.lines.push(format!("sqs path: {poison} went straight to the work DLQ: {reason}"));
        }
        None => report.missing.push("nothing reached the work DLQ".into()),
    }
    match wait_for(limit, || receive_one(&sqs, &resources.direct_failures_url)).await {
        Some(m) => {
            let record: serde_json::Value = serde_json::from_str(m.body().unwrap_or("{}")).unwrap_or_default();
            report.lines.push(format!(
                "sns path: {poison} failed {} times ({}), then went to the on-failure destination: {}",
                record["requestContext"]["approximateInvokeCount"],
                record["requestContext"]["condition"].as_str().unwrap_or_default(),
                record["responsePayload"]["errorMessage"].as_str().unwrap_or_default()
            ));
        }
        None => report.missing.push("nothing reached the direct path's on-failure destination".into()),
    }

    report.lines.push(String::new());
    for function in [crate::deployment::SQS_WORKER, crate::deployment::SNS_WORKER] {
        let invocations: Vec<_> =
            service.records().invocations().into_iter().filter(|r| r.function == function).collect();
        let cold = invocations.iter().filter(|r| r.cold).count();
        let failed = invocations.iter().filter(|r| r.outcome != sluice_local::Outcome::Success).count();
        let records: usize = invocations.iter().map(|r| r.batch_size).sum();
        report.lines.push(format!(
            "{function}: {} invocations ({cold} cold, {failed} failed), {records} records, at most {} at once",
            invocations.len(),
            service.records().max_concurrency(function)
        ));
    }
    service.shutdown().await;
    Ok(report)
}
