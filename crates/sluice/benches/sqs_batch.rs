//! Framework overhead of the SQS batch handler: a 10-record batch of S3 events inside SNS
//! envelopes inside SQS records, a no-op processor and the in-memory idempotency store.
//!
//! `cargo bench -p sluice --bench sqs_batch`; per-record overhead = time per batch / 10.
//! - `first_run`: every record is new (claim, process, complete).
//! - `duplicate`: every record was completed before (one claim each, no processing).
//!
//! The JSON log subscriber is installed as in production, writing to a sink, so the figures
//! include formatting the per-record and per-invocation log lines.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use aws_lambda_events::sqs::SqsEvent;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use lambda_runtime::Context;
use serde_json::json;
use sluice::{Idempotency, ItemContext, SqsBatchHandler, processor_fn};
use sluice_events::s3::S3ObjectEvent;
use sluice_idempotency::MemoryStore;

const BATCH: usize = 10;

fn s3_in_sns_in_sqs(batch: u64) -> SqsEvent {
    let records: Vec<_> = (0..BATCH)
        .map(|i| {
            let s3 = json!({"Records": [{
                "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                "eventTime": "2026-11-26T14:13:23.751Z", "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AIDAJDPLRKLG7UEXAMPLE"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": "fc4a1be6", "x-amz-id-2": "eftixk72aD6Ap51TnqcoF8eFidJG9Z/2"},
                "s3": {"s3SchemaVersion": "1.0", "configurationId": "943d7fa2",
                       "bucket": {"name": "ingest", "ownerIdentity": {"principalId": "A3NL1KOZZKExample"}, "arn": "arn:aws:s3:::ingest"},
                       "object": {"key": format!("incoming/%EB%B3%B4%EA%B3%A0%EC%84%9C+{i}.csv"), "size": 20,
                                  "eTag": "b6d279f30f1a9d827718723951466304", "versionId": format!("v{batch}-{i}"),
                                  "sequencer": "0055AED6DCD90281E5"}}}]});
            let envelope = json!({
                "Type": "Notification", "MessageId": format!("sns-{batch}-{i}"),
                "TopicArn": "arn:aws:sns:us-east-1:000000000000:uploads", "Subject": "Amazon S3 Notification",
                "Message": s3.to_string(), "Timestamp": "2026-11-26T14:13:23.773Z", "SignatureVersion": "1",
                "Signature": "IOmUGnghcgy8asWxqU3Eqj2LLMnW+apPBBfKzUOG50a+kWr3fSBF0yQLK6TCvKdJBGe+dFUEYGesZQgfcduIfw221rguhY/sTzf7q08Ucn+pdMoinRKBIGQiNMUWqwsJVdQlCPHwC7UC2Xun2SJAF9QRNBnvVQQIu/CuazJEGHmLCjS94C4YN6HtVd8PkjCl/uGTwjBVLKeTFVWmTmwSCE7NCY67KPLsdwQmgULq7IvKdSmmtYoFI/0w266txLw+nrjRarfcyUvKEA2m2vDV2K0qiSr68RyVDy7o6Bw5D8jykDxToWkqWpV1wuAraZ4SzyUXNCM31DMem4iOsA5ODg==",
                "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
                "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:000000000000:uploads:97554538"
            });
            json!({
                "messageId": format!("m-{batch}-{i}"), "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
                "body": envelope.to_string(),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183",
                               "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1545082649185"},
                "messageAttributes": {}, "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:work", "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn context() -> Context {
    let mut ctx = Context::default();
    ctx.request_id = "bench".into();
    let deadline = SystemTime::now() + Duration::from_secs(3600);
    ctx.deadline = deadline.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis() as u64;
    ctx
}

fn bench(c: &mut Criterion) {
    tracing_subscriber::fmt().json().with_current_span(true).with_writer(std::io::sink).init();
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let handler = SqsBatchHandler::builder(
        processor_fn(|_record: S3ObjectEvent, _ctx: ItemContext| async { Ok(()) }),
        Idempotency::new(MemoryStore::new()),
    )
    .build();
    let ctx = context();
    let mut group = c.benchmark_group("sqs_batch_10_records");
    group.throughput(Throughput::Elements(BATCH as u64));

    let next = AtomicU64::new(0);
    group.bench_function("first_run", |b| {
        b.to_async(&rt).iter_batched(
            || s3_in_sns_in_sqs(next.fetch_add(1, Ordering::Relaxed)),
            |event| async { assert!(handler.handle(event, &ctx).await.unwrap().batch_item_failures.is_empty()) },
            BatchSize::SmallInput,
        )
    });

    let seen = s3_in_sns_in_sqs(u64::MAX);
    rt.block_on(handler.handle(seen.clone(), &ctx)).unwrap();
    group.bench_function("duplicate", |b| {
        b.to_async(&rt).iter_batched(
            || seen.clone(),
            |event| async { assert!(handler.handle(event, &ctx).await.unwrap().batch_item_failures.is_empty()) },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
