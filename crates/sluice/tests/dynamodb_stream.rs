//! Behaviour of the DynamoDB Streams handler: images decoded, order, checkpoints and poison.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::json;
use sluice::{ChangeKind, DynamoDbChange, DynamoDbStreamHandler, Idempotency, ProcessError, Processor, processor_fn};
use sluice_events::Json;
use sluice_idempotency::MemoryStore;

const PLENTY: Duration = Duration::from_secs(60);

/// The scripted processor, on each change's new image.
fn scripted(p: &Scripted) -> impl Processor<DynamoDbChange<Job>> + Clone {
    let p = p.clone();
    processor_fn(move |change: DynamoDbChange<Job>, ctx| {
        let p = p.clone();
        async move {
            let job = change.new_image.ok_or_else(|| ProcessError::permanent("no new image"))?;
            p.process(Json(job), ctx).await
        }
    })
}

fn handler(p: &Scripted, store: MemoryStore) -> DynamoDbStreamHandler<Job> {
    DynamoDbStreamHandler::builder(scripted(p), Idempotency::new(store)).build()
}

fn failures(response: &aws_lambda_events::streams::DynamoDbEventResponse) -> Vec<String> {
    failed_sequence_numbers(response.batch_item_failures.iter().map(|f| f.item_identifier.clone()))
}

/// The fixture's items: `NewImage` holds these and binary attributes this type ignores.
#[derive(serde::Deserialize, Debug, PartialEq)]
struct Example {
    key: String,
    val: String,
}

/// The changes a handler saw, in order.
type Seen = Arc<Mutex<Vec<DynamoDbChange<Example>>>>;

/// Every change a handler over `Example` sees, in order.
fn collecting() -> (Seen, DynamoDbStreamHandler<Example>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    let processor = processor_fn(move |change: DynamoDbChange<Example>, _ctx| {
        let kept = kept.clone();
        async move {
            kept.lock().unwrap().push(change);
            Ok::<_, ProcessError>(())
        }
    });
    // The fixture's two records share one sequence number: key them by eventID instead.
    let handler = DynamoDbStreamHandler::builder(processor, Idempotency::new(MemoryStore::new()))
        .idempotency_key(|change: &DynamoDbChange<Example>, _| Some(change.event_id.clone()))
        .build();
    (seen, handler)
}

#[tokio::test]
async fn the_public_fixture_decodes_its_images_and_keys() {
    let event: aws_lambda_events::dynamodb::Event =
        serde_json::from_str(include_str!("fixtures/streams/dynamodb-event.json")).unwrap();
    let (seen, handler) = collecting();
    let response = handler.handle(event, &context(PLENTY)).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let first = &seen[0];
    assert_eq!(first.kind, ChangeKind::Insert);
    assert_eq!(first.new_image, Some(Example { key: "binary".into(), val: "data".into() }));
    assert_eq!(first.old_image, None);
    assert_eq!(first.sequence_number, "1405400000000002063282832");
    assert_eq!(first.event_id, "f07f8ca4b0b26cb9c4e5e77e69f274ee");
    assert_eq!(first.stream_name(), Some("Example-Table/stream/2016-12-01T00:00:00.000"));
    assert_eq!(first.created_at_ms, Some(1_480_642_020_000));
    let key: Example = serde_dynamo::from_item(first.keys.clone()).unwrap();
    assert_eq!(key, Example { key: "binary".into(), val: "data".into() });
}

#[tokio::test]
async fn null_images_decode_as_none() {
    let event: aws_lambda_events::dynamodb::Event =
        serde_json::from_str(include_str!("fixtures/streams/dynamodb-event-null-items.json")).unwrap();
    let (seen, handler) = collecting();
    let response = handler.handle(event, &context(PLENTY)).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    let seen = seen.lock().unwrap();
    assert_eq!((seen[0].new_image.as_ref(), seen[0].old_image.as_ref()), (None, None));
    assert!(seen[1].new_image.is_some());
}

#[tokio::test]
async fn changes_run_in_order_up_to_the_first_failure_which_is_the_checkpoint() {
    let p = Scripted::default();
    let event = dynamodb_event(&[
        ("100", "INSERT", job_image("a", "ok")),
        ("200", "MODIFY", job_image("b", "retry")),
        ("300", "INSERT", job_image("c", "ok")),
    ]);
    let response = handler(&p, MemoryStore::new()).handle(event, &context(PLENTY)).await.unwrap();
    assert_eq!(p.calls(), ["a", "b"]);
    assert_eq!(failures(&response), ["200"]);
}

#[tokio::test]
async fn an_image_of_the_wrong_shape_fails_alone_and_names_the_type() {
    let p = Scripted::default();
    let dead_letters = FakeDeadLetters::default();
    let handler = DynamoDbStreamHandler::builder(scripted(&p), Idempotency::new(MemoryStore::new()))
        .dead_letter_queue(dead_letters.clone())
        .build();
    let wrong = json!({"id": {"N": "7"}, "action": {"S": "x".repeat(100_000)}});
    let event = dynamodb_event(&[
        ("100", "INSERT", job_image("a", "ok")),
        ("200", "INSERT", wrong),
        ("300", "TRUNCATE", job_image("t", "ok")),
        ("400", "INSERT", job_image("c", "ok")),
    ]);
    let response = handler.handle(event, &context(PLENTY)).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(p.calls(), ["a", "c"]);
    let letters = dead_letters.sent();
    assert_eq!(letters.len(), 2);
    assert!(letters[0].reason.contains("NewImage") && letters[0].reason.contains("Job"), "{}", letters[0].reason);
    assert!(letters[0].reason.len() < 400, "{}", letters[0].reason);
    assert!(letters[1].reason.contains("TRUNCATE"), "{}", letters[1].reason);
    let record: serde_json::Value = serde_json::from_str(&letters[0].body).unwrap();
    assert_eq!(record["dynamodb"]["SequenceNumber"], "200");
}

#[tokio::test]
async fn a_replayed_change_is_applied_once() {
    let p = Scripted::default();
    let store = MemoryStore::new();
    let event = || dynamodb_event(&[("100", "INSERT", job_image("a", "ok")), ("200", "INSERT", job_image("b", "ok"))]);
    handler(&p, store.clone()).handle(event(), &context(PLENTY)).await.unwrap();
    let response = handler(&p, store).handle(event(), &context(PLENTY)).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(p.calls(), ["a", "b"]);
}

#[tokio::test]
async fn a_change_is_keyed_by_its_stream_and_sequence_number() {
    let keys = Arc::new(Mutex::new(Vec::new()));
    let kept = keys.clone();
    let processor = processor_fn(move |_change: DynamoDbChange<Job>, ctx: sluice::ItemContext| {
        let kept = kept.clone();
        async move {
            kept.lock().unwrap().push(ctx.idempotency_key.as_deref().map(str::to_owned));
            Ok::<_, ProcessError>(())
        }
    });
    let handler = DynamoDbStreamHandler::builder(processor, Idempotency::new(MemoryStore::new())).build();
    handler.handle(dynamodb_event(&[("100", "REMOVE", json!({}))]), &context(PLENTY)).await.unwrap();
    assert_eq!(*keys.lock().unwrap(), [Some("Orders/stream/2026-12-01T00:00:00.000@100".to_owned())]);
}
