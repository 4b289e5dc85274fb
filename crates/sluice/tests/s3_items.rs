//! S3 records as items: multi-record messages, test events, keys and payload validation.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{context, failed_ids, sqs_event};
use serde_json::json;
use sluice::{Idempotency, ItemContext, ProcessError, Processor, SqsBatchHandler};
use sluice_events::s3::S3ObjectEvent;
use sluice_idempotency::MemoryStore;

const PLENTY: Duration = Duration::from_secs(60);

/// Fails keys containing "bad"; records the idempotency keys it ran under.
#[derive(Clone, Default)]
struct Keys(Arc<Mutex<Vec<String>>>);

impl Processor<S3ObjectEvent> for Keys {
    type Output = u64;

    async fn process(&self, record: S3ObjectEvent, ctx: ItemContext) -> Result<u64, ProcessError> {
        self.0.lock().unwrap().push(ctx.idempotency_key.as_deref().unwrap_or("-").to_owned());
        if record.key.contains("bad") {
            return Err(ProcessError::retryable("throttled"));
        }
        Ok(record.size.unwrap_or(0))
    }

    fn skip_reason(&self, record: &S3ObjectEvent) -> Option<std::borrow::Cow<'static, str>> {
        (!record.is_object_created()).then_some("not ObjectCreated".into())
    }
}

fn record(key: &str, version: Option<&str>, etag: &str, event: &str) -> serde_json::Value {
    let mut object = json!({"key": key, "size": 5, "eTag": etag, "sequencer": "0055AED6DCD90281E5"});
    if let Some(v) = version {
        object["versionId"] = json!(v);
    }
    json!({"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": event,
           "s3": {"bucket": {"name": "ingest"}, "object": object}})
}

fn s3_body(records: Vec<serde_json::Value>) -> String {
    json!({ "Records": records }).to_string()
}

fn handler(p: Keys) -> SqsBatchHandler<S3ObjectEvent> {
    SqsBatchHandler::builder(p, Idempotency::new(MemoryStore::new())).build()
}

#[tokio::test]
async fn a_message_succeeds_only_if_all_its_records_do() {
    let p = Keys::default();
    let h = handler(p.clone());
    let body = s3_body(vec![
        record("incoming/good.csv", Some("v1"), "e1", "ObjectCreated:Put"),
        record("incoming/bad.csv", Some("v1"), "e2", "ObjectCreated:Put"),
    ]);
    let response = h.handle(sqs_event(&[("m1", &body)]), &context(PLENTY)).await.unwrap();
    assert_eq!(failed_ids(&response), ["m1"]);
    assert_eq!(p.0.lock().unwrap().len(), 2, "both records ran");
    // On redelivery the good record is a duplicate; only the bad one runs again.
    h.handle(sqs_event(&[("m1", &body)]), &context(PLENTY)).await.unwrap();
    assert_eq!(
        *p.0.lock().unwrap(),
        ["ingest/incoming/good.csv@v:v1", "ingest/incoming/bad.csv@v:v1", "ingest/incoming/bad.csv@v:v1"]
    );
}

#[tokio::test]
async fn the_test_event_is_skipped_not_failed() {
    let p = Keys::default();
    let test_event =
        r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-26T14:13:23.655Z","Bucket":"ingest"}"#;
    let response = handler(p.clone()).handle(sqs_event(&[("m1", test_event)]), &context(PLENTY)).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert!(p.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn records_the_processor_skips_are_not_run() {
    let p = Keys::default();
    let body = s3_body(vec![record("incoming/a.csv", Some("v1"), "e", "ObjectRemoved:Delete")]);
    let response = handler(p.clone()).handle(sqs_event(&[("m1", &body)]), &context(PLENTY)).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert!(p.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_second_notification_of_one_version_is_a_duplicate_and_new_versions_are_not() {
    let p = Keys::default();
    let h = handler(p.clone());
    let v1 = s3_body(vec![record("incoming/a.csv", Some("v1"), "e1", "ObjectCreated:Put")]);
    let v2 = s3_body(vec![record("incoming/a.csv", Some("v2"), "e2", "ObjectCreated:Put")]);
    for (id, body) in [("m1", &v1), ("m2", &v1), ("m3", &v2)] {
        let r = h.handle(sqs_event(&[(id, body)]), &context(PLENTY)).await.unwrap();
        assert!(r.batch_item_failures.is_empty());
    }
    assert_eq!(*p.0.lock().unwrap(), ["ingest/incoming/a.csv@v:v1", "ingest/incoming/a.csv@v:v2"]);
}

#[tokio::test]
async fn one_version_with_a_different_etag_is_a_permanent_payload_mismatch() {
    let p = Keys::default();
    let dlq = common::FakeDeadLetters::default();
    let h = SqsBatchHandler::builder(p.clone(), Idempotency::new(MemoryStore::new()))
        .dead_letter_queue(dlq.clone())
        .build();
    let first = s3_body(vec![record("incoming/a.csv", Some("v1"), "e1", "ObjectCreated:Put")]);
    let forged = s3_body(vec![record("incoming/a.csv", Some("v1"), "e-other", "ObjectCreated:Put")]);
    h.handle(sqs_event(&[("m1", &first)]), &context(PLENTY)).await.unwrap();
    let r = h.handle(sqs_event(&[("m2", &forged)]), &context(PLENTY)).await.unwrap();
    assert!(r.batch_item_failures.is_empty(), "permanent, and diverted to the DLQ");
    let sent = dlq.sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].reason.contains("different payload"), "{}", sent[0].reason);
    assert!(sent[0].reason.contains("e-other"), "{}", sent[0].reason);
}

#[tokio::test]
async fn unversioned_objects_are_keyed_by_sequencer() {
    let p = Keys::default();
    let body = s3_body(vec![record("incoming/a b.csv", None, "e", "ObjectCreated:Put")]);
    handler(p.clone()).handle(sqs_event(&[("m1", &body)]), &context(PLENTY)).await.unwrap();
    assert_eq!(*p.0.lock().unwrap(), ["ingest/incoming/a b.csv@s:0055AED6DCD90281E5"]);
}
