//! The handler always answers before Lambda's deadline, and claims are short leases kept alive
//! by a heartbeat: store calls and dead-letter sends that hang are abandoned in time, a failed
//! `complete` is retried and then counted, and a crashed invocation's claim frees within one
//! lease.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use common::*;
use sluice::{BoxError, DeadLetter, DeadLetterSink, EmfMetrics, Idempotency, SqsBatchHandler};
use sluice_events::Json;
use sluice_idempotency::{Claim, ClaimRequest, IdempotencyStore, InstrumentedStore, Lease, MemoryStore, StoreError};
use tokio::time::Instant;

/// A memory store whose operations can hang or fail.
#[derive(Default)]
struct Faulty {
    store: MemoryStore,
    claim_hangs: bool,
    complete_hangs: bool,
    /// `complete` answers Unavailable this many times before it works.
    complete_failures: AtomicUsize,
    completes: AtomicUsize,
}

fn unavailable(operation: &'static str, key: &str) -> StoreError {
    let source: BoxError = "ThrottlingException: rate exceeded".into();
    StoreError::Unavailable { operation, key: key.to_owned(), source }
}

#[async_trait]
impl IdempotencyStore for Faulty {
    async fn claim(&self, request: ClaimRequest<'_>) -> Result<Claim, StoreError> {
        if self.claim_hangs {
            std::future::pending::<()>().await;
        }
        self.store.claim(request).await
    }
    async fn renew(&self, lease: &Lease, until: SystemTime) -> Result<(), StoreError> {
        self.store.renew(lease, until).await
    }
    async fn complete(&self, lease: &Lease, output: &str, expires_at: SystemTime) -> Result<(), StoreError> {
        self.completes.fetch_add(1, Ordering::SeqCst);
        if self.complete_hangs {
            std::future::pending::<()>().await;
        }
        let failing = self.complete_failures.load(Ordering::SeqCst);
        if failing > 0 {
            self.complete_failures.store(failing - 1, Ordering::SeqCst);
            return Err(unavailable("complete", lease.key()));
        }
        self.store.complete(lease, output, expires_at).await
    }
    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        self.store.release(lease).await
    }
}

/// A dead-letter queue that never answers.
struct Silent;

#[async_trait]
impl DeadLetterSink for Silent {
    async fn send(&self, _: &DeadLetter) -> Result<(), BoxError> {
        std::future::pending().await
    }
}

fn keyed(
    p: Scripted,
    store: Arc<dyn IdempotencyStore>,
) -> sluice::HandlerBuilder<Json<Job>, sluice::layers::ProcessorService<Json<Job>, Scripted>, sluice::builder::ForSqs> {
    SqsBatchHandler::builder(p, Idempotency::with_store(store))
        .idempotency_key(|Json(job): &Json<Job>, _| Some(job.id.clone()))
}

type Lines = Arc<Mutex<Vec<String>>>;

fn metrics() -> (EmfMetrics, Lines) {
    let lines: Lines = Arc::default();
    let sink = lines.clone();
    (EmfMetrics::new("t", "w").with_sink(move |l: &str| sink.lock().unwrap().push(l.into())), lines)
}

fn metric(lines: &Lines, name: &str) -> u64 {
    let doc: serde_json::Value = serde_json::from_str(lines.lock().unwrap().last().unwrap()).unwrap();
    doc[name].as_u64().unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_claim_that_hangs_is_abandoned_before_the_deadline() {
    let p = Scripted::default();
    let handler = keyed(p.clone(), Arc::new(Faulty { claim_hangs: true, ..Faulty::default() })).build();
    let started = Instant::now();
    let response =
        handler.handle(sqs_event(&[("m1", &job("a", "ok"))]), &context(Duration::from_secs(3))).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "answered after {:?}", started.elapsed());
    assert_eq!(failed_ids(&response), ["m1"], "retryable: redelivered");
    assert!(p.calls().is_empty(), "nothing runs without a claim");
}

#[tokio::test(start_paused = true)]
async fn a_complete_that_hangs_is_abandoned_before_the_deadline_and_counted() {
    let (metrics, lines) = metrics();
    let handler = keyed(Scripted::default(), Arc::new(Faulty { complete_hangs: true, ..Faulty::default() }))
        .metrics(metrics)
        .build();
    let started = Instant::now();
    let response =
        handler.handle(sqs_event(&[("m1", &job("a", "ok"))]), &context(Duration::from_secs(3))).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "answered after {:?}", started.elapsed());
    assert!(response.batch_item_failures.is_empty(), "the work is done");
    assert_eq!(metric(&lines, "Unrecorded"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_dead_letter_send_that_hangs_is_abandoned_and_the_record_stays_failed() {
    let handler = keyed(Scripted::default(), Arc::new(Faulty::default())).dead_letter_queue(Silent).build();
    let started = Instant::now();
    let event = sqs_event(&[("m1", &job("a", "poison")), ("m2", &job("b", "ok"))]);
    let response = handler.handle(event, &context(Duration::from_secs(3))).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "answered after {:?}", started.elapsed());
    assert_eq!(failed_ids(&response), ["m1"], "not lost: left for the queue's own redrive");
}

#[tokio::test]
async fn a_failed_complete_is_retried_within_the_budget() {
    let store = Arc::new(Faulty { complete_failures: AtomicUsize::new(2), ..Faulty::default() });
    let (metrics, lines) = metrics();
    let p = Scripted::default();
    let handler = keyed(p.clone(), store.clone()).metrics(metrics).build();
    handler.handle(sqs_event(&[("m1", &job("a", "ok"))]), &context(Duration::from_secs(30))).await.unwrap();
    assert_eq!(store.completes.load(Ordering::SeqCst), 3, "two failures, then stored");
    assert_eq!(metric(&lines, "Unrecorded"), 0);
    handler.handle(sqs_event(&[("m2", &job("a", "ok"))]), &context(Duration::from_secs(30))).await.unwrap();
    assert_eq!(p.calls(), ["a"], "recorded: the duplicate did not run");
}

#[tokio::test]
async fn a_complete_that_keeps_failing_is_counted_unrecorded_not_silently_a_success() {
    let store = Arc::new(Faulty { complete_failures: AtomicUsize::new(100), ..Faulty::default() });
    let (metrics, lines) = metrics();
    let handler = keyed(Scripted::default(), store.clone()).metrics(metrics).build();
    let response =
        handler.handle(sqs_event(&[("m1", &job("a", "ok"))]), &context(Duration::from_secs(30))).await.unwrap();
    assert!(response.batch_item_failures.is_empty(), "the work is done: redelivering it would repeat it now");
    assert_eq!(store.completes.load(Ordering::SeqCst), 3, "retried, then given up");
    assert_eq!(metric(&lines, "Unrecorded"), 1);
    assert_eq!(metric(&lines, "Processed"), 1);
}

/// Redelivers `body` until it is processed, for at most `limit`; the number of deliveries.
async fn redeliver_until_processed(
    handler: &SqsBatchHandler<Json<Job>>,
    p: &Scripted,
    body: &str,
    limit: Duration,
) -> Option<usize> {
    let end = Instant::now() + limit;
    let mut deliveries = 0;
    while Instant::now() < end {
        deliveries += 1;
        let before = p.calls().len();
        handler.handle(sqs_event(&[("again", body)]), &context(Duration::from_secs(60))).await.unwrap();
        if p.calls().len() > before {
            return Some(deliveries);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

#[tokio::test]
async fn a_crashed_invocations_claim_frees_within_one_lease_not_at_its_deadline() {
    let lease = Duration::from_millis(300);
    let store: Arc<dyn IdempotencyStore> = Arc::new(MemoryStore::new());
    let build = |p: &Scripted| {
        SqsBatchHandler::builder(p.clone(), Idempotency::with_store(store.clone()).lease(lease))
            .idempotency_key(|Json(job): &Json<Job>, _| Some(job.id.clone()))
            .build()
    };
    // The first invocation (deadline 15 minutes away) claims "a" and is killed mid-work.
    let crashed = Scripted::default();
    let first = build(&crashed);
    let task = tokio::spawn(async move {
        let event = sqs_event(&[("m1", &job("a", "sleep:600000"))]);
        first.handle(event, &context(Duration::from_secs(900))).await
    });
    while crashed.calls().is_empty() {
        tokio::task::yield_now().await;
    }
    task.abort();
    let _ = task.await;
    // A retry soon after finds the claim held; within about one lease it is free and runs.
    let retry = Scripted::default();
    let handler = build(&retry);
    let deliveries = redeliver_until_processed(&handler, &retry, &job("a", "ok"), Duration::from_secs(5)).await;
    assert!(deliveries.is_some(), "the crashed claim was still held after 5 s (its deadline is 15 min away)");
    assert_eq!(retry.calls(), ["a"]);
}

#[tokio::test]
async fn a_running_invocation_renews_its_claim_so_duplicates_wait() {
    let lease = Duration::from_millis(300);
    let store = Arc::new(InstrumentedStore::new(MemoryStore::new()));
    let p = Scripted::default();
    let handler = SqsBatchHandler::builder(p.clone(), Idempotency::with_store(store.clone()).lease(lease))
        .idempotency_key(|Json(job): &Json<Job>, _| Some(job.id.clone()))
        .build();
    let long = handler.clone();
    let task = tokio::spawn(async move {
        long.handle(sqs_event(&[("m1", &job("a", "sleep:1200"))]), &context(Duration::from_secs(60))).await
    });
    while p.calls().is_empty() {
        tokio::task::yield_now().await;
    }
    // More than one lease into the work (renewals come every third of a lease): without them
    // the claim would have lapsed.
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.renewals() < 4 {
        assert!(Instant::now() < deadline, "no renewals within 10 s: {}", store.renewals());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let duplicate =
        handler.handle(sqs_event(&[("m2", &job("a", "ok"))]), &context(Duration::from_secs(60))).await.unwrap();
    assert_eq!(failed_ids(&duplicate), ["m2"], "still in progress: the duplicate is redelivered later");
    let first = task.await.unwrap().unwrap();
    assert!(first.batch_item_failures.is_empty());
    assert_eq!(p.calls(), ["a"], "ran once");
    assert!(store.renewals() >= 2, "renewed every third of a lease: {}", store.renewals());
}

#[tokio::test]
async fn a_deadline_already_past_is_logged_as_such() {
    let logs = sluice::testing::LogLines::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber());
    let p = Scripted::default();
    let handler = keyed(p.clone(), Arc::new(MemoryStore::new())).build();
    let mut ctx = context(Duration::ZERO);
    ctx.deadline -= 5_000;
    let response = handler.handle(sqs_event(&[("m1", &job("a", "ok"))]), &ctx).await.unwrap();
    assert_eq!(failed_ids(&response), ["m1"]);
    let text: String = logs.parsed().iter().map(|line| format!("{line}\n")).collect();
    assert!(text.contains("deadline had already passed when the invocation started"), "{text}");
    assert!(text.contains("late_by_ms"), "{text}");
}
