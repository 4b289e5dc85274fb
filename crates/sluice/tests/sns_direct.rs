//! Behaviour of the SNS direct handler.

mod common;

use std::time::Duration;

use common::*;
use sluice::{Idempotency, SnsHandler, SnsHandlerError};
use sluice_idempotency::MemoryStore;

const PLENTY: Duration = Duration::from_secs(60);

fn handler(p: Scripted) -> SnsHandler<sluice_events::Json<Job>> {
    // Json<T> on SNS is keyed by the SNS message id by default.
    SnsHandler::builder(p, Idempotency::new(MemoryStore::new())).build()
}

#[tokio::test]
async fn success_returns_ok_and_a_redelivery_is_a_duplicate() {
    let p = Scripted::default();
    let h = handler(p.clone());
    h.handle(sns_event("sns-1", &job("a", "ok")), &context(PLENTY)).await.unwrap();
    h.handle(sns_event("sns-1", &job("a", "ok")), &context(PLENTY)).await.unwrap();
    assert_eq!(p.calls(), ["a"]);
}

#[tokio::test]
async fn a_retryable_failure_returns_an_error_so_lambda_retries() {
    let p = Scripted::default();
    let h = handler(p.clone());
    let err = h.handle(sns_event("sns-1", &job("a", "retry")), &context(PLENTY)).await.unwrap_err();
    assert!(matches!(err, SnsHandlerError::Retryable { .. }), "{err}");
    let diagnostic: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diagnostic.error_type, "Sluice.Retryable");
    assert!(diagnostic.error_message.contains("503"));
    // The claim was released: Lambda's retry runs the item again.
    let err = h.handle(sns_event("sns-1", &job("a", "retry")), &context(PLENTY)).await.unwrap_err();
    assert!(matches!(err, SnsHandlerError::Retryable { .. }));
    assert_eq!(p.calls().len(), 2);
}

#[tokio::test]
async fn a_permanent_failure_without_a_queue_returns_an_error() {
    let err = handler(Scripted::default())
        .handle(sns_event("sns-1", &job("a", "poison")), &context(PLENTY))
        .await
        .unwrap_err();
    assert!(matches!(err, SnsHandlerError::Permanent { .. }), "{err}");
}

#[tokio::test]
async fn a_permanent_failure_goes_to_the_queue_and_the_invocation_succeeds() {
    let dlq = FakeDeadLetters::default();
    let h = SnsHandler::builder(Scripted::default(), Idempotency::new(MemoryStore::new()))
        .dead_letter_queue(dlq.clone())
        .build();
    h.handle(sns_event("sns-1", &job("a", "poison")), &context(PLENTY)).await.unwrap();
    h.handle(sns_event("sns-2", "{not json"), &context(PLENTY)).await.unwrap();
    let sent = dlq.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].body, job("a", "poison"));
    assert_eq!(sent[0].source_message_id, "sns-1");
    assert_eq!(sent[0].source_arn.as_deref(), Some("arn:aws:sns:us-east-1:000000000000:uploads"));
    assert!(sent[1].reason.contains("undecodable"));
}

#[tokio::test]
async fn a_failed_queue_send_returns_the_permanent_error() {
    let h = SnsHandler::builder(Scripted::default(), Idempotency::new(MemoryStore::new()))
        .dead_letter_queue(FakeDeadLetters::refusing())
        .build();
    let err = h.handle(sns_event("sns-1", &job("a", "poison")), &context(PLENTY)).await.unwrap_err();
    assert!(matches!(err, SnsHandlerError::Permanent { .. }));
}

#[tokio::test]
async fn a_retryable_failure_is_not_sent_to_the_queue() {
    let dlq = FakeDeadLetters::default();
    let h = SnsHandler::builder(Scripted::default(), Idempotency::new(MemoryStore::new()))
        .dead_letter_queue(dlq.clone())
        .build();
    assert!(h.handle(sns_event("sns-1", &job("a", "retry")), &context(PLENTY)).await.is_err());
    assert!(dlq.sent().is_empty());
}

#[tokio::test]
async fn a_panic_is_a_retryable_error() {
    let err = handler(Scripted::default())
        .handle(sns_event("sns-1", &job("a", "panic")), &context(PLENTY))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("panicked"), "{err}");
    assert!(matches!(err, SnsHandlerError::Retryable { .. }));
}

#[tokio::test(start_paused = true)]
async fn nothing_starts_inside_the_deadline_margin() {
    let p = Scripted::default();
    let h = SnsHandler::builder(p.clone(), Idempotency::new(MemoryStore::new()))
        .deadline_margin(Duration::from_millis(500))
        .build();
    let err = h.handle(sns_event("sns-1", &job("a", "ok")), &context(Duration::from_millis(300))).await.unwrap_err();
    assert!(matches!(err, SnsHandlerError::Retryable { .. }));
    assert!(err.to_string().contains("margin"), "{err}");
    assert!(p.calls().is_empty());
}

#[tokio::test]
async fn the_s3_test_event_succeeds_without_processing() {
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = runs.clone();
    let h = SnsHandler::builder(
        sluice::processor_fn(move |_r: sluice_events::s3::S3ObjectEvent, _: sluice::ItemContext| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { Ok(()) }
        }),
        Idempotency::new(MemoryStore::new()),
    )
    .build();
    let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"ingest"}"#;
    h.handle(sns_event("sns-1", test_event), &context(PLENTY)).await.unwrap();
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 0);
}
