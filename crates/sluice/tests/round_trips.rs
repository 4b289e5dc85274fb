//! How many idempotency round trips a batch costs, counted through a store that adds a fixed
//! latency per request, on tokio's paused clock (so elapsed time / latency is exact).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{context, failed_ids};
use serde_json::json;
use sluice::{Idempotency, ItemContext, SqsBatchHandler, processor_fn};
use sluice_events::s3::S3ObjectEvent;
use sluice_idempotency::{
    BoxError, CachedStore, Claim, ClaimRequest, IdempotencyStore, InstrumentedStore, Lease, MemoryStore, StoreError,
};
use tokio::time::Instant;

const LATENCY: Duration = Duration::from_millis(10);

fn batch(n: usize) -> aws_lambda_events::sqs::SqsEvent {
    let bodies: Vec<(String, String)> = (0..n)
        .map(|i| {
            let body = json!({"Records": [{"eventVersion": "2.1", "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": "ingest"}, "object": {"key": format!("incoming/{i}.csv"), "size": 1,
                "eTag": "e", "versionId": "v1"}}}]});
            (format!("m{i}"), body.to_string())
        })
        .collect();
    let refs: Vec<(&str, &str)> = bodies.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    common::sqs_event(&refs)
}

fn handler(store: Arc<dyn IdempotencyStore>) -> SqsBatchHandler<S3ObjectEvent> {
    let noop = processor_fn(|_r: S3ObjectEvent, _c: ItemContext| async { Ok(()) });
    SqsBatchHandler::builder(noop, Idempotency::with_store(store)).build()
}

/// Runs one batch and returns (requests, sequential round trips).
async fn measure(h: &SqsBatchHandler<S3ObjectEvent>, store: &InstrumentedStore<impl IdempotencyStore>) -> (u64, u64) {
    store.reset();
    let started = Instant::now();
    let response = h.handle(batch(10), &context(Duration::from_secs(60))).await.unwrap();
    assert!(failed_ids(&response).is_empty());
    (store.requests(), (started.elapsed().as_nanos() / LATENCY.as_nanos()) as u64)
}

#[tokio::test(start_paused = true)]
async fn a_batch_of_ten_costs_two_sequential_round_trips_and_a_duplicate_one() {
    let store = Arc::new(InstrumentedStore::new(MemoryStore::new()).latency(LATENCY));
    let h = handler(store.clone());
    assert_eq!(measure(&h, &store).await, (20, 2), "first run: 10 claims + 10 completes, concurrently");
    assert_eq!(measure(&h, &store).await, (10, 1), "duplicate: 10 claims answered with the stored output");
}

#[tokio::test(start_paused = true)]
async fn the_local_cache_answers_warm_duplicates_without_a_request() {
    let inner = Arc::new(InstrumentedStore::new(MemoryStore::new()).latency(LATENCY));
    let cached: Arc<dyn IdempotencyStore> = Arc::new(CachedStore::new(inner.clone(), 64));
    let h = handler(cached);
    assert_eq!(measure(&h, &inner).await, (20, 2));
    assert_eq!(measure(&h, &inner).await, (0, 0), "every record completed here is answered from memory");
}

/// A store that is down.
struct Down;

#[async_trait::async_trait]
impl IdempotencyStore for Down {
    async fn claim(&self, r: ClaimRequest<'_>) -> Result<Claim, StoreError> {
        let source: BoxError =
            "ProvisionedThroughputExceededException: rate of requests exceeds the allowed throughput".into();
        Err(StoreError::Unavailable { operation: "claim", key: r.key.to_owned(), source })
    }
    async fn renew(&self, _: &Lease, _: std::time::SystemTime) -> Result<(), StoreError> {
        unreachable!("nothing is claimed")
    }
    async fn complete(&self, _: &Lease, _: &str, _: std::time::SystemTime) -> Result<(), StoreError> {
        unreachable!("nothing is claimed")
    }
    async fn release(&self, _: &Lease) -> Result<(), StoreError> {
        unreachable!("nothing is claimed")
    }
}

#[tokio::test]
async fn a_store_error_fails_the_record_as_retryable_without_running_it() {
    let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = runs.clone();
    let processor = processor_fn(move |_r: S3ObjectEvent, _c: ItemContext| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async { Ok(()) }
    });
    let dlq = common::FakeDeadLetters::default();
    let h = SqsBatchHandler::builder(processor, Idempotency::new(Down)).dead_letter_queue(dlq.clone()).build();
    let response = h.handle(batch(3), &context(Duration::from_secs(60))).await.unwrap();
    assert_eq!(failed_ids(&response), ["m0", "m1", "m2"], "redelivered later");
    assert!(dlq.sent().is_empty(), "retryable: not dead-lettered");
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 0, "no side effect without a claim");
}
