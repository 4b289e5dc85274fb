//! Behaviour of the Kinesis batch handler: shard order, checkpoints, poison and replays.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use sluice::{
    Idempotency, KinesisBatchHandler, KinesisRecord, MAX_REASON_BYTES, ProcessError, Processor, StreamBatchError,
    processor_fn,
};
use sluice_events::Json;
use sluice_idempotency::MemoryStore;

const PLENTY: Duration = Duration::from_secs(60);

/// The scripted processor, on each record's data.
fn scripted(p: &Scripted) -> impl Processor<KinesisRecord<Json<Job>>> + Clone {
    let p = p.clone();
    processor_fn(move |record: KinesisRecord<Json<Job>>, ctx| {
        let p = p.clone();
        async move { p.process(record.data, ctx).await }
    })
}

fn handler(p: &Scripted, store: MemoryStore) -> KinesisBatchHandler<Json<Job>> {
    KinesisBatchHandler::builder(scripted(p), Idempotency::new(store)).build()
}

fn failures(response: &aws_lambda_events::streams::KinesisEventResponse) -> Vec<String> {
    failed_sequence_numbers(response.batch_item_failures.iter().map(|f| f.item_identifier.clone()))
}

const SHARD_0: &str = "shardId-000000000000";
const SHARD_1: &str = "shardId-000000000001";

#[tokio::test]
async fn the_public_fixture_decodes_into_text_with_its_place_in_the_stream() {
    let event: aws_lambda_events::kinesis::KinesisEvent =
        serde_json::from_str(include_str!("fixtures/streams/kinesis-event.json")).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = seen.clone();
    let processor = processor_fn(move |record: KinesisRecord<String>, _ctx| {
        let kept = kept.clone();
        async move {
            kept.lock().unwrap().push(record);
            Ok::<_, ProcessError>(())
        }
    });
    let handler = KinesisBatchHandler::builder(processor, Idempotency::new(MemoryStore::new())).build();
    let response = handler.handle(event, &context(PLENTY)).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].data, "Hello World");
    assert_eq!(seen[0].shard_id, "shardId-000000000000");
    assert_eq!(seen[0].partition_key, "s1");
    assert_eq!(seen[0].sequence_number, "49568167373333333333333333333333333333333333333333333333");
    assert_eq!(seen[0].stream_name(), Some("simple-stream"));
    assert_eq!(seen[0].arrived_at_ms, Some(1_480_641_523_477));
    assert_eq!(seen[1].sequence_number, "49568167373333333334444444444444444444444444444444444444");
}

#[tokio::test]
async fn a_shard_stops_at_its_first_failure_and_reports_it_as_the_checkpoint() {
    let p = Scripted::default();
    let event = kinesis_event(&[
        (SHARD_0, "101", &job("a", "ok")),
        (SHARD_0, "102", &job("b", "retry")),
        (SHARD_0, "103", &job("c", "ok")),
    ]);
    let response = handler(&p, MemoryStore::new()).handle(event, &context(PLENTY)).await.unwrap();
    // c is not run: Lambda sends b and c again, in order.
    assert_eq!(p.calls(), ["a", "b"]);
    assert_eq!(failures(&response), ["102"]);
}

#[tokio::test]
async fn other_shards_go_on_past_one_shards_failure_and_run_at_the_same_time() {
    let p = Scripted::default();
    let event = kinesis_event(&[
        (SHARD_0, "101", &job("a", "sleep:50")),
        (SHARD_1, "201", &job("x", "sleep:50")),
        (SHARD_0, "102", &job("b", "poison")),
        (SHARD_1, "202", &job("y", "ok")),
        (SHARD_0, "103", &job("c", "ok")),
    ]);
    let response = handler(&p, MemoryStore::new()).handle(event, &context(PLENTY)).await.unwrap();
    assert_eq!(failures(&response), ["102"]);
    let calls = p.calls();
    assert_eq!(calls.len(), 4, "{calls:?}");
    for (before, after) in [("a", "b"), ("x", "y")] {
        let at = |id| calls.iter().position(|c| c == id).unwrap();
        assert!(at(before) < at(after), "{calls:?}");
    }
    assert_eq!(p.max_in_flight.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_poison_record_goes_to_the_dead_letter_sink_and_the_shard_moves_on() {
    let p = Scripted::default();
    let dead_letters = FakeDeadLetters::default();
    let handler = KinesisBatchHandler::builder(scripted(&p), Idempotency::new(MemoryStore::new()))
        .dead_letter_queue(dead_letters.clone())
        .build();
    let event = kinesis_event(&[
        (SHARD_0, "101", &job("a", "ok")),
        (SHARD_0, "102", &job("b", "poison")),
        (SHARD_0, "103", &job("c", "ok")),
    ]);
    let response = handler.handle(event, &context(PLENTY)).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(p.calls(), ["a", "b", "c"]);
    let letters = dead_letters.sent();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].source_message_id, format!("{SHARD_0}:102"));
    assert!(letters[0].reason.contains("object is not CSV"), "{}", letters[0].reason);
    // The letter is the record as Lambda delivered it: it can be put back on a stream.
    let record: serde_json::Value = serde_json::from_str(&letters[0].body).unwrap();
    assert_eq!(record["kinesis"]["sequenceNumber"], "102");
}

#[tokio::test]
async fn a_hostile_record_fails_alone_with_a_bounded_reason() {
    let p = Scripted::default();
    let dead_letters = FakeDeadLetters::default();
    let handler = KinesisBatchHandler::builder(scripted(&p), Idempotency::new(MemoryStore::new()))
        .dead_letter_queue(dead_letters.clone())
        .build();
    let hostile = format!(r#"{{"id":"h","action":{}}}"#, "[".repeat(100_000));
    let long_string = format!(r#"{{"id":"{}","action":7}}"#, "h".repeat(1 << 20));
    let event = kinesis_event(&[
        (SHARD_0, "101", &job("a", "ok")),
        (SHARD_0, "102", &hostile),
        (SHARD_0, "103", &long_string),
        (SHARD_0, "104", "\u{0}not json at all"),
        (SHARD_0, "105", &job("c", "ok")),
    ]);
    let response = handler.handle(event, &context(PLENTY)).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(p.calls(), ["a", "c"]);
    let letters = dead_letters.sent();
    assert_eq!(letters.len(), 3);
    for letter in &letters {
        assert!(letter.reason.len() <= MAX_REASON_BYTES + 32, "{}", letter.reason);
        assert!(letter.reason.contains("undecodable"), "{}", letter.reason);
    }
}

#[tokio::test]
async fn without_a_dead_letter_sink_a_hostile_record_is_the_checkpoint() {
    let p = Scripted::default();
    let event = kinesis_event(&[(SHARD_0, "101", "{not json"), (SHARD_0, "102", &job("c", "ok"))]);
    let response = handler(&p, MemoryStore::new()).handle(event, &context(PLENTY)).await.unwrap();
    assert_eq!(failures(&response), ["101"]);
    assert!(p.calls().is_empty());
}

#[tokio::test]
async fn a_replayed_batch_runs_only_what_was_not_done() {
    let p = Scripted::default();
    let store = MemoryStore::new();
    let first = kinesis_event(&[
        (SHARD_0, "101", &job("a", "ok")),
        (SHARD_0, "102", &job("b", "retry")),
        (SHARD_0, "103", &job("c", "ok")),
    ]);
    let response = handler(&p, store.clone()).handle(first, &context(PLENTY)).await.unwrap();
    assert_eq!(failures(&response), ["102"]);
    // The function crashed before Lambda saw the answer: the whole batch comes again, and b
    // succeeds this time. a was done and is not run again.
    let again = kinesis_event(&[
        (SHARD_0, "101", &job("a", "ok")),
        (SHARD_0, "102", &job("b", "ok")),
        (SHARD_0, "103", &job("c", "ok")),
    ]);
    let response = handler(&p, store).handle(again, &context(PLENTY)).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(p.calls(), ["a", "b", "b", "c"]);
}

#[tokio::test]
async fn a_failed_record_without_a_sequence_number_fails_the_batch() {
    let p = Scripted::default();
    let event = kinesis_event(&[(SHARD_0, "", &job("a", "retry"))]);
    let error = handler(&p, MemoryStore::new()).handle(event, &context(PLENTY)).await.unwrap_err();
    assert!(matches!(error, StreamBatchError::MissingSequenceNumber { index: 0 }), "{error}");
}

#[tokio::test]
async fn no_record_starts_too_close_to_the_deadline() {
    let p = Scripted::default();
    let event = kinesis_event(&[(SHARD_0, "101", &job("a", "ok")), (SHARD_0, "102", &job("b", "ok"))]);
    let response = handler(&p, MemoryStore::new()).handle(event, &context(Duration::from_millis(200))).await.unwrap();
    assert!(p.calls().is_empty());
    assert_eq!(failures(&response), ["101"]);
}

#[tokio::test]
async fn a_record_is_keyed_by_stream_shard_and_sequence_number() {
    let keys = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = keys.clone();
    let processor = processor_fn(move |_record: KinesisRecord<Vec<u8>>, ctx: sluice::ItemContext| {
        let kept = kept.clone();
        async move {
            kept.lock().unwrap().push(ctx.idempotency_key.as_deref().map(str::to_owned));
            Ok::<_, ProcessError>(())
        }
    });
    let handler = KinesisBatchHandler::builder(processor, Idempotency::new(MemoryStore::new())).build();
    let event = kinesis_event(&[(SHARD_1, "201", "\u{1}\u{2}binary")]);
    handler.handle(event, &context(PLENTY)).await.unwrap();
    assert_eq!(*keys.lock().unwrap(), [Some(format!("clicks/{SHARD_1}@201"))]);
}
