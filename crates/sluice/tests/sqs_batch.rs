//! Behaviour of the SQS batch handler.

mod common;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use sluice::layers::ProcessorService;
use sluice::{EmfMetrics, HandlerBuilder, Idempotency, SqsBatchError, SqsBatchHandler, builder::ForSqs};
use sluice_events::Json;
use sluice_idempotency::MemoryStore;

const PLENTY: Duration = Duration::from_secs(60);

fn builder(
    processor: Scripted,
    store: MemoryStore,
) -> HandlerBuilder<Json<Job>, ProcessorService<Json<Job>, Scripted>, ForSqs> {
    SqsBatchHandler::builder(processor, Idempotency::new(store))
        .idempotency_key(|Json(job): &Json<Job>, _| Some(job.id.clone()))
}

#[tokio::test]
async fn only_failed_records_are_reported() {
    let p = Scripted::default();
    let handler = builder(p.clone(), MemoryStore::new()).build();
    let event = sqs_event(&[("m1", &job("a", "ok")), ("m2", &job("b", "retry")), ("m3", &job("c", "ok"))]);
    let response = handler.handle(event, &context(PLENTY)).await.unwrap();
    assert_eq!(failed_ids(&response), ["m2"]);
    assert_eq!(p.calls().len(), 3);
}

#[tokio::test]
async fn an_empty_batch_is_an_empty_response() {
    let handler = builder(Scripted::default(), MemoryStore::new()).fail_invocation_when_all_fail(true).build();
    let response = handler.handle(sqs_event(&[]), &context(PLENTY)).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
}

#[tokio::test]
async fn an_undecodable_record_fails_only_itself() {
    let p = Scripted::default();
    let handler = builder(p.clone(), MemoryStore::new()).build();
    let event = sqs_event(&[("m1", "{not json"), ("m2", &job("b", "ok")), ("m3", r#"{"id":"no action"}"#)]);
    let response = handler.handle(event, &context(PLENTY)).await.unwrap();
    assert_eq!(failed_ids(&response), ["m1", "m3"]);
    assert_eq!(p.calls(), ["b"]);
}

#[tokio::test]
async fn a_panic_fails_only_its_record_and_releases_its_claim() {
    let p = Scripted::default();
    let store = MemoryStore::new();
    let handler = builder(p.clone(), store.clone()).build();
    let event = sqs_event(&[("m1", &job("a", "panic")), ("m2", &job("b", "ok"))]);
    let response = handler.handle(event, &context(PLENTY)).await.unwrap();
    assert_eq!(failed_ids(&response), ["m1"]);
    // The claim of the panicked item was released: a redelivery runs it again.
    let again = handler.handle(sqs_event(&[("m1", &job("a", "ok"))]), &context(PLENTY)).await.unwrap();
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(p.calls().iter().filter(|c| *c == "a").count(), 2);
}

#[tokio::test]
async fn all_failed_returns_the_partial_response_by_default() {
    let handler = builder(Scripted::default(), MemoryStore::new()).build();
    let event = sqs_event(&[("m1", &job("a", "retry")), ("m2", &job("b", "poison"))]);
    let response = handler.handle(event, &context(PLENTY)).await.unwrap();
    assert_eq!(failed_ids(&response), ["m1", "m2"]);
}

#[tokio::test]
async fn all_failed_can_fail_the_invocation_instead() {
    let handler = builder(Scripted::default(), MemoryStore::new()).fail_invocation_when_all_fail(true).build();
    let event = sqs_event(&[("m1", &job("a", "retry")), ("m2", &job("b", "poison"))]);
    let err = handler.handle(event, &context(PLENTY)).await.unwrap_err();
    assert!(matches!(err, SqsBatchError::AllFailed { count: 2, .. }), "{err}");
    assert!(err.to_string().contains("503"), "{err}");
    // Not all failed: still a partial response.
    let event = sqs_event(&[("m3", &job("c", "retry")), ("m4", &job("d", "ok"))]);
    let response = handler.handle(event, &context(PLENTY)).await.unwrap();
    assert_eq!(failed_ids(&response), ["m3"]);
}

#[tokio::test]
async fn duplicates_are_not_processed_again() {
    let p = Scripted::default();
    let handler = builder(p.clone(), MemoryStore::new()).batch_concurrency(1).build();
    let event = sqs_event(&[("m1", &job("a", "ok")), ("m2", &job("a", "ok"))]);
    // One at a time: m1 completes "a", so m2 is a duplicate, a success without processing.
    // (Two at a time, m2 would find m1's claim in progress: see the test below.)
    let response = handler.handle(event, &context(PLENTY)).await.unwrap();
    assert_eq!(p.calls(), ["a"]);
    assert!(failed_ids(&response).is_empty(), "{:?}", failed_ids(&response));
    // A redelivery after completion is a duplicate: success without processing.
    let response = handler.handle(sqs_event(&[("m9", &job("a", "ok"))]), &context(PLENTY)).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(p.calls(), ["a"]);
}

#[tokio::test(start_paused = true)]
async fn an_item_claimed_by_a_running_record_is_retryable() {
    let p = Scripted::default();
    let handler = builder(p.clone(), MemoryStore::new()).batch_concurrency(2).build();
    // m1 holds the claim of "a" while it sleeps; m2 finds it in progress and is redelivered.
    let event = sqs_event(&[("m1", &job("a", "sleep:50")), ("m2", &job("a", "ok"))]);
    let response = handler.handle(event, &context(PLENTY)).await.unwrap();
    assert_eq!(failed_ids(&response), ["m2"]);
    assert_eq!(p.calls(), ["a"]);
}

#[tokio::test(start_paused = true)]
async fn an_item_completed_earlier_in_the_batch_is_a_duplicate() {
    let p = Scripted::default();
    let handler = builder(p.clone(), MemoryStore::new()).batch_concurrency(1).build();
    let event = sqs_event(&[("m1", &job("a", "sleep:50")), ("m2", &job("a", "ok"))]);
    let response = handler.handle(event, &context(PLENTY)).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(p.calls(), ["a"]);
}

#[tokio::test]
async fn items_without_a_key_fail_unless_allowed() {
    let p = Scripted::default();
    // Json<T> on SQS without an SNS envelope has no default key.
    let strict = SqsBatchHandler::builder(p.clone(), Idempotency::new(MemoryStore::new())).build();
    let response = strict.handle(sqs_event(&[("m1", &job("a", "ok"))]), &context(PLENTY)).await.unwrap();
    assert_eq!(failed_ids(&response), ["m1"]);
    assert!(p.calls().is_empty());

    let lenient =
        SqsBatchHandler::builder(p.clone(), Idempotency::new(MemoryStore::new()).allow_missing_keys()).build();
    let response = lenient.handle(sqs_event(&[("m1", &job("a", "ok"))]), &context(PLENTY)).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(p.calls(), ["a"]);
}

#[tokio::test]
async fn the_sns_message_id_is_the_default_key_of_enveloped_json() {
    let p = Scripted::default();
    let handler =
        SqsBatchHandler::builder(p.clone(), Idempotency::new(MemoryStore::new())).batch_concurrency(1).build();
    let envelope = |id: &str| {
        serde_json::json!({"Type": "Notification", "MessageId": id, "TopicArn": "arn:aws:sns:us-east-1:0:t",
                           "Message": job("a", "ok")})
        .to_string()
    };
    // Two SQS deliveries of one SNS message (distinct SQS ids), then a new SNS message.
    let event = sqs_event(&[("m1", &envelope("sns-1")), ("m2", &envelope("sns-1")), ("m3", &envelope("sns-2"))]);
    let response = handler.handle(event, &context(PLENTY)).await.unwrap();
    assert_eq!(p.calls().len(), 2, "sns-1 runs once, sns-2 once");
    assert!(failed_ids(&response).is_empty(), "the second sns-1 delivery is a duplicate: {:?}", failed_ids(&response));
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_bounded() {
    let p = Scripted::default();
    let handler = builder(p.clone(), MemoryStore::new()).batch_concurrency(3).build();
    let records: Vec<(String, String)> =
        (0..10).map(|i| (format!("m{i}"), job(&format!("j{i}"), "sleep:100"))).collect();
    let refs: Vec<(&str, &str)> = records.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let response = handler.handle(sqs_event(&refs), &context(PLENTY)).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(p.max_in_flight.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn fifo_groups_keep_order_and_stop_after_a_failure() {
    let p = Scripted::default();
    let handler = builder(p.clone(), MemoryStore::new()).build();
    let event = sqs_event_with(vec![
        ("m1", &job("g1-a", "ok"), Some("g1")),
        ("m2", &job("g2-a", "ok"), Some("g2")),
        ("m3", &job("g1-b", "retry"), Some("g1")),
        ("m4", &job("g2-b", "ok"), Some("g2")),
        ("m5", &job("g1-c", "ok"), Some("g1")),
        ("m6", &job("g1-d", "ok"), Some("g1")),
    ]);
    let response = handler.handle(event, &context(PLENTY)).await.unwrap();
    assert_eq!(failed_ids(&response), ["m3", "m5", "m6"]);
    let calls = p.calls();
    let g1: Vec<_> = calls.iter().filter(|c| c.starts_with("g1")).collect();
    let g2: Vec<_> = calls.iter().filter(|c| c.starts_with("g2")).collect();
    assert_eq!(g1, ["g1-a", "g1-b"], "g1-c and g1-d never run");
    assert_eq!(g2, ["g2-a", "g2-b"], "the other group goes on, in order");
}

#[tokio::test(start_paused = true)]
async fn a_standard_queue_ignores_message_groups() {
    // SQS fair queues are standard queues whose messages carry a MessageGroupId: no order to keep.
    let p = Scripted::default();
    let handler = builder(p.clone(), MemoryStore::new()).build();
    let event = sqs_event_from(
        STANDARD_QUEUE_ARN,
        vec![
            ("m1", &job("t1-a", "retry"), Some("tenant-1")),
            ("m2", &job("t1-b", "sleep:50"), Some("tenant-1")),
            ("m3", &job("t1-c", "sleep:50"), Some("tenant-1")),
        ],
    );
    let response = handler.handle(event, &context(PLENTY)).await.unwrap();
    assert_eq!(failed_ids(&response), ["m1"], "the later messages of the group were not held back");
    assert_eq!(p.max_in_flight.load(Ordering::SeqCst), 2, "the group's records ran concurrently");
}

#[tokio::test]
async fn an_item_found_needing_no_work_is_skipped_and_so_are_its_duplicates() {
    let p = Scripted::default();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let metrics = EmfMetrics::new("t", "w").with_sink(move |l: &str| sink.lock().unwrap().push(l.into()));
    let handler = builder(p.clone(), MemoryStore::new()).metrics(metrics).build();
    let response = handler.handle(sqs_event(&[("m1", &job("old", "skip"))]), &context(PLENTY)).await.unwrap();
    assert!(response.batch_item_failures.is_empty(), "a skip is not a failure");
    let again = handler.handle(sqs_event(&[("m2", &job("old", "skip"))]), &context(PLENTY)).await.unwrap();
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(p.calls(), ["old"], "the duplicate was answered from the record of the skip");
    let first: serde_json::Value = serde_json::from_str(&lines.lock().unwrap()[0]).unwrap();
    assert_eq!((first["Skipped"].as_u64(), first["Processed"].as_u64()), (Some(1), Some(0)));
}

#[tokio::test(start_paused = true)]
async fn fifo_groups_run_concurrently_with_each_other() {
    let p = Scripted::default();
    let handler = builder(p.clone(), MemoryStore::new()).build();
    let event = sqs_event_with(vec![
        ("m1", &job("g1-a", "sleep:50"), Some("g1")),
        ("m2", &job("g2-a", "sleep:50"), Some("g2")),
        ("m3", &job("g1-b", "sleep:50"), Some("g1")),
    ]);
    handler.handle(event, &context(PLENTY)).await.unwrap();
    assert_eq!(p.max_in_flight.load(Ordering::SeqCst), 2, "one record per group at a time");
}

#[tokio::test(start_paused = true)]
async fn no_record_starts_inside_the_deadline_margin() {
    let p = Scripted::default();
    let handler = builder(p.clone(), MemoryStore::new())
        .batch_concurrency(1)
        .deadline_margin(Duration::from_millis(500))
        .finish_reserve(Duration::from_millis(100))
        .build();
    // 1000 ms left; each record takes 300 ms: starts at 0 (1000 left), 300 (700 left);
    // at 600 only 400 ms are left, below the margin, so the third and fourth never start.
    let event = sqs_event(&[
        ("m1", &job("a", "sleep:300")),
        ("m2", &job("b", "sleep:300")),
        ("m3", &job("c", "sleep:300")),
        ("m4", &job("d", "ok")),
    ]);
    let response = handler.handle(event, &context(Duration::from_millis(1000))).await.unwrap();
    assert_eq!(p.calls(), ["a", "b"]);
    assert_eq!(failed_ids(&response), ["m3", "m4"]);
}

#[tokio::test(start_paused = true)]
async fn records_still_running_at_the_finish_reserve_are_abandoned_and_reported() {
    let p = Scripted::default();
    let store = MemoryStore::new();
    let handler = builder(p.clone(), store.clone())
        .deadline_margin(Duration::from_millis(100))
        .finish_reserve(Duration::from_millis(200))
        .build();
    let event = sqs_event(&[("m1", &job("slow", "sleep:5000")), ("m2", &job("fast", "ok"))]);
    let response = handler.handle(event, &context(Duration::from_millis(1000))).await.unwrap();
    assert_eq!(failed_ids(&response), ["m1"]);
    // The abandoned item's claim was released, so its redelivery can run.
    let again = handler.handle(sqs_event(&[("m1", &job("slow", "ok"))]), &context(PLENTY)).await.unwrap();
    assert!(again.batch_item_failures.is_empty());
}

#[tokio::test]
async fn permanent_failures_go_to_the_dead_letter_queue_and_count_as_handled() {
    let dlq = FakeDeadLetters::default();
    let handler = builder(Scripted::default(), MemoryStore::new()).dead_letter_queue(dlq.clone()).build();
    let event = sqs_event(&[
        ("m1", &job("a", "poison")),
        ("m2", &job("b", "retry")),
        ("m3", "{garbage"),
        ("m4", &job("d", "ok")),
    ]);
    let response = handler.handle(event, &context(PLENTY)).await.unwrap();
    assert_eq!(failed_ids(&response), ["m2"], "retryable failures are still redelivered");
    let sent = dlq.sent();
    let mut ids: Vec<_> = sent.iter().map(|l| l.source_message_id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["m1", "m3"]);
    let poison = sent.iter().find(|l| l.source_message_id == "m1").unwrap();
    assert_eq!(poison.body, job("a", "poison"), "the body is sent unchanged");
    assert_eq!(poison.error_kind, "permanent");
    assert!(poison.reason.contains("not CSV"), "{}", poison.reason);
    assert_eq!(poison.request_id, "req-1");
    assert_eq!(poison.receive_count, Some(1));
    assert_eq!(poison.source_arn.as_deref(), Some("arn:aws:sqs:us-east-1:000000000000:work"));
    let garbage = sent.iter().find(|l| l.source_message_id == "m3").unwrap();
    assert!(garbage.reason.contains("undecodable"), "{}", garbage.reason);
}

#[tokio::test]
async fn a_failed_dead_letter_send_leaves_the_record_failed() {
    let handler =
        builder(Scripted::default(), MemoryStore::new()).dead_letter_queue(FakeDeadLetters::refusing()).build();
    let event = sqs_event(&[("m1", &job("a", "poison")), ("m2", &job("b", "ok"))]);
    let response = handler.handle(event, &context(PLENTY)).await.unwrap();
    assert_eq!(failed_ids(&response), ["m1"]);
}

#[tokio::test]
async fn one_emf_line_per_invocation_carries_the_counts() {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let metrics =
        EmfMetrics::new("sluice-test", "worker").with_sink(move |l: &str| sink.lock().unwrap().push(l.into()));
    let handler = builder(Scripted::default(), MemoryStore::new()).batch_concurrency(1).metrics(metrics).build();
    let event = sqs_event(&[("m1", &job("a", "ok")), ("m2", &job("b", "retry")), ("m3", &job("a", "ok"))]);
    handler.handle(event, &context(PLENTY)).await.unwrap();
    let lines = lines.lock().unwrap();
    assert_eq!(lines.len(), 1);
    let doc: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(doc["Messages"], 3);
    assert_eq!(doc["Processed"], 1);
    assert_eq!(doc["Path"], "sqs");
    assert_eq!(doc["FunctionName"], "worker");
    assert_eq!(doc["Failed"], 1, "b");
    assert_eq!(doc["Duplicate"], 1, "the second a, after the first completed");
    assert_eq!(doc["Unrecorded"], 0);
}

#[tokio::test]
async fn the_handler_is_a_tower_service() {
    use tower::{Service, ServiceExt};
    let mut handler = builder(Scripted::default(), MemoryStore::new()).build();
    let event = lambda_runtime::LambdaEvent::new(sqs_event(&[("m1", &job("a", "retry"))]), context(PLENTY));
    let response = handler.ready().await.unwrap().call(event).await.unwrap();
    assert_eq!(failed_ids(&response), ["m1"]);
}
