//! The item stack as tower layers: a user's layer around item processing, an error from a
//! tower layer that is not a `ProcessError`, and a stack composed by hand.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use sluice::layers::{DeadlineLayer, IdempotencyLayer, ItemLogLayer, ItemOutcome, ItemRequest, ProcessorService};
use sluice::{Idempotency, ItemContext, ProcessError, SqsBatchHandler, processor_fn};
use sluice_events::Json;
use sluice_idempotency::MemoryStore;
use tokio::time::Instant;
use tower::ServiceBuilder;

const PLENTY: Duration = Duration::from_secs(60);

fn keyed(Json(job): &Json<Job>, _: &sluice::MessageMeta) -> Option<String> {
    Some(job.id.clone())
}

#[tokio::test]
async fn a_rate_limit_layer_added_by_the_user_paces_the_items_of_a_batch() {
    let starts: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let seen = starts.clone();
    let processor = processor_fn(move |Json(job): Json<Job>, _ctx: ItemContext| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push(Instant::now());
            Ok::<_, ProcessError>(job.id)
        }
    });
    let per = Duration::from_millis(300);
    let built = Instant::now();
    let handler = SqsBatchHandler::builder(processor, Idempotency::new(MemoryStore::new()))
        .idempotency_key(keyed)
        .layer(ServiceBuilder::new().buffer(16).rate_limit(2, per).into_inner())
        .build();
    let jobs: Vec<String> = (0..6).map(|i| job(&format!("j{i}"), "ok")).collect();
    let records: Vec<(String, &str)> = jobs.iter().enumerate().map(|(i, j)| (format!("m{i}"), j.as_str())).collect();
    let records: Vec<(&str, &str)> = records.iter().map(|(id, j)| (id.as_str(), *j)).collect();
    let response = handler.handle(sqs_event(&records), &context(PLENTY)).await.unwrap();
    assert!(response.batch_item_failures.is_empty(), "every item ran: {:?}", failed_ids(&response));
    let mut starts = starts.lock().unwrap().clone();
    starts.sort();
    assert_eq!(starts.len(), 6);
    // Two per period: the third item cannot start before one period has passed since the
    // limiter was made, the fifth not before two. Without the layer all six start at once.
    assert!(starts[2] - built >= per, "third start after {:?}", starts[2] - built);
    assert!(starts[4] - built >= per * 2, "fifth start after {:?}", starts[4] - built);
}

#[tokio::test]
async fn an_error_from_a_tower_layer_is_a_retryable_failure_and_releases_the_claim() {
    let p = Scripted::default();
    let handler = SqsBatchHandler::builder(p.clone(), Idempotency::new(MemoryStore::new()))
        .idempotency_key(keyed)
        .layer(tower::timeout::TimeoutLayer::new(Duration::from_millis(50)))
        .build();
    let event = sqs_event(&[("m1", &job("slow", "sleep:2000")), ("m2", &job("quick", "ok"))]);
    let response = handler.handle(event, &context(PLENTY)).await.unwrap();
    assert_eq!(failed_ids(&response), ["m1"], "the timed-out item alone failed, to be redelivered");
    // Its claim was released: the redelivery runs it (and succeeds once it is quick).
    let again = handler.handle(sqs_event(&[("m1", &job("slow", "ok"))]), &context(PLENTY)).await.unwrap();
    assert!(again.batch_item_failures.is_empty());
    let calls = p.calls();
    assert_eq!(calls.iter().filter(|c| *c == "slow").count(), 2, "{calls:?}");
    assert_eq!(calls.iter().filter(|c| *c == "quick").count(), 1, "{calls:?}");
}

#[tokio::test]
async fn a_stack_composed_by_hand_runs_only_the_layers_it_names() {
    let p = Scripted::default();
    let store = MemoryStore::new();
    let stack = ServiceBuilder::new()
        .layer(ItemLogLayer)
        .layer(IdempotencyLayer::new(Idempotency::new(store.clone())))
        .layer(DeadlineLayer::new(Duration::from_millis(100)))
        .service(ProcessorService::new(p.clone()));
    // One message at a time, so the second finds the first's record completed, not in progress.
    let handler = SqsBatchHandler::from_item_service(stack).idempotency_key(keyed).batch_concurrency(1).build();
    let event = sqs_event(&[("m1", &job("a", "ok")), ("m2", &job("a", "ok"))]);
    let first = handler.handle(event, &context(PLENTY)).await.unwrap();
    let second = handler.handle(sqs_event(&[("m3", &job("a", "ok"))]), &context(PLENTY)).await.unwrap();
    assert!(first.batch_item_failures.is_empty() && second.batch_item_failures.is_empty());
    assert_eq!(p.calls(), ["a"], "the idempotency layer suppressed both duplicates");
}

#[tokio::test]
async fn without_an_idempotency_layer_a_duplicate_runs_again() {
    let p = Scripted::default();
    let handler = SqsBatchHandler::from_item_service(ProcessorService::new(p.clone())).idempotency_key(keyed).build();
    for id in ["m1", "m2"] {
        let response = handler.handle(sqs_event(&[(id, &job("a", "ok"))]), &context(PLENTY)).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
    }
    assert_eq!(p.calls(), ["a", "a"], "a bare processor service has no claim");
}

#[tokio::test]
async fn an_item_request_reaches_the_processor_with_its_key_and_deadline() {
    type Seen = Option<(Option<String>, bool)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let log = seen.clone();
    let stack = tower::service_fn(move |request: ItemRequest<Json<Job>>| {
        let log = log.clone();
        async move {
            let ctx = &request.ctx;
            *log.lock().unwrap() = Some((
                ctx.idempotency_key.as_deref().map(str::to_owned),
                ctx.processing_cutoff() < ctx.deadline.instant(),
            ));
            Ok::<_, ProcessError>(ItemOutcome::Duplicate)
        }
    });
    let handler = SqsBatchHandler::from_item_service(stack).idempotency_key(keyed).build();
    let response = handler.handle(sqs_event(&[("m1", &job("k1", "ok"))]), &context(PLENTY)).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(*seen.lock().unwrap(), Some((Some("k1".to_owned()), true)));
}
