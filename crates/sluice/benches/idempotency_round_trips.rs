//! Idempotency requests and sequential round trips per 10-record SQS batch.
//!
//! `cargo bench -p sluice-lambda --bench idempotency_round_trips`. Each store request costs a fixed
//! 10 ms (an `InstrumentedStore` over the in-memory store) on tokio's paused clock, so elapsed
//! time / 10 ms is exactly the number of round trips the batch waited for in sequence.

use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::Context;
use serde_json::json;
use sluice::{Idempotency, ItemContext, SqsBatchHandler, processor_fn};
use sluice_events::s3::S3ObjectEvent;
use sluice_idempotency::{CachedStore, IdempotencyStore, InstrumentedStore, MemoryStore};
use tokio::time::Instant;

const LATENCY: Duration = Duration::from_millis(10);

fn batch(fifo_groups: Option<usize>) -> aws_lambda_events::sqs::SqsEvent {
    let records: Vec<_> = (0..10)
        .map(|i| {
            let body = json!({"Records": [{"eventVersion": "2.1", "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": "ingest"}, "object": {"key": format!("incoming/{i}.csv"), "size": 1,
                "eTag": "e", "versionId": "v1"}}}]});
            let mut attributes = json!({"ApproximateReceiveCount": "1"});
            if let Some(groups) = fifo_groups {
                attributes["MessageGroupId"] = json!(format!("g{}", i % groups));
            }
            json!({"messageId": format!("m{i}"), "body": body.to_string(), "attributes": attributes,
                   "eventSourceARN": "arn:aws:sqs:us-east-1:0:q"})
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn context() -> Context {
    sluice::testing::context(Duration::from_secs(60))
}

async fn row(name: &str, cached: bool, fifo_groups: Option<usize>) {
    let counted = Arc::new(InstrumentedStore::new(MemoryStore::new()).latency(LATENCY));
    let store: Arc<dyn IdempotencyStore> =
        if cached { Arc::new(CachedStore::new(counted.clone(), 1024)) } else { counted.clone() };
    let noop = processor_fn(|_r: S3ObjectEvent, _c: ItemContext| async { Ok(()) });
    let handler = SqsBatchHandler::builder(noop, Idempotency::with_store(store)).build();
    for run in ["first run", "duplicate run"] {
        counted.reset();
        let started = Instant::now();
        let response = handler.handle(batch(fifo_groups), &context()).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        let trips = started.elapsed().as_nanos() / LATENCY.as_nanos();
        println!(
            "| {name} | {run} | {} ({} claims, {} completes) | {trips} |",
            counted.requests(),
            counted.claims(),
            counted.completes()
        );
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    rt.block_on(async {
        println!("| batch of 10 | run | store requests | sequential round trips |");
        println!("|---|---|---|---|");
        row("standard queue", false, None).await;
        row("standard queue, local cache", true, None).await;
        row("FIFO, 10 groups", false, Some(10)).await;
        row("FIFO, 2 groups of 5", false, Some(2)).await;
    });
}
