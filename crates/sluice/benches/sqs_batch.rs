//! Framework overhead of the SQS batch handler: a 10-record batch of S3 events inside SNS
//! envelopes inside SQS records, a no-op processor and the in-memory idempotency store.
//!
//! `cargo bench -p sluice-lambda --bench sqs_batch`; per-record overhead = time per batch / 10.
//! - `first_run`: every record is new (claim, process, complete).
//! - `duplicate`: every record was completed before (one claim each, no processing).
//!
//! The JSON log subscriber is installed as in production, writing to a sink, so the figures
//! include formatting the per-record and per-invocation log lines.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_lambda_events::sqs::SqsEvent;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use lambda_runtime::Context;
use sluice::{Idempotency, ItemContext, SqsBatchHandler, processor_fn};
use sluice_events::s3::S3ObjectEvent;
use sluice_idempotency::MemoryStore;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

const BATCH: usize = sluice_events::sample::BATCH_SIZE;

fn s3_in_sns_in_sqs(round: u64) -> SqsEvent {
    serde_json::from_slice(&sluice_events::sample::batch(round, BATCH)).unwrap()
}

fn context() -> Context {
    sluice::testing::context_for("bench", Duration::from_secs(3600))
}

fn bench(c: &mut Criterion) {
    let lines = tracing_subscriber::fmt::layer()
        .fmt_fields(sluice::telemetry::JsonFields)
        .event_format(sluice::telemetry::JsonFormat)
        .with_writer(std::io::sink);
    tracing_subscriber::registry().with(lines).init();
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
