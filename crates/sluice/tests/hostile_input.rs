//! Hostile messages in a batch of good ones: an S3 event with thousands of records, a key
//! thousands of characters long, deeply nested JSON, bodies at SQS's 1 MB limit. Each fails
//! alone, with a short reason naming the limit, and the rest of the batch is processed well
//! within the invocation (the handler answers, nothing is abandoned).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{FakeDeadLetters, context, failed_ids, sqs_event};
use serde_json::json;
use sluice::{Idempotency, ItemContext, ProcessError, Processor, SqsBatchHandler};
use sluice_events::s3::S3ObjectEvent;
use sluice_idempotency::MemoryStore;

/// SQS's largest message: 1 MB (SQS and event source mappings, since January 2026).
const SQS_MESSAGE_LIMIT: usize = 1024 * 1024;

#[derive(Clone, Default)]
struct Keys(Arc<Mutex<Vec<String>>>);

impl Processor<S3ObjectEvent> for Keys {
    type Output = ();

    async fn process(&self, record: S3ObjectEvent, _ctx: ItemContext) -> Result<(), ProcessError> {
        self.0.lock().unwrap().push(record.key);
        Ok(())
    }
}

fn record(key: &str) -> serde_json::Value {
    json!({"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
           "s3": {"bucket": {"name": "ingest"},
                  "object": {"key": key, "size": 5, "eTag": "e", "versionId": "v1", "sequencer": "01"}}})
}

#[tokio::test]
async fn each_hostile_message_fails_alone_with_its_limit_named_and_the_batch_goes_on() {
    let many = json!({ "Records": vec![record("incoming/many.csv"); 5000] }).to_string();
    let long_key = json!({ "Records": [record(&"k".repeat(5000))] }).to_string();
    let deep = format!(r#"{{"Records":{}{}}}"#, r#"[{"s3":"#.repeat(50_000), "}]".repeat(50_000));
    // A valid event padded to SQS's limit with a field the decoder skips.
    let mut padded = record("incoming/padded.csv");
    padded["padding"] = json!("p".repeat(SQS_MESSAGE_LIMIT - 400));
    let padded = json!({ "Records": [padded] }).to_string();
    assert!(padded.len() <= SQS_MESSAGE_LIMIT && padded.len() > SQS_MESSAGE_LIMIT - 1000);
    let garbage = "{".repeat(SQS_MESSAGE_LIMIT);
    let good = json!({ "Records": [record("incoming/good.csv")] }).to_string();
    let messages = [
        ("good", good.as_str()),
        ("many", &many),
        ("long-key", &long_key),
        ("deep", &deep),
        ("padded", &padded),
        ("garbage", &garbage),
    ];
    let keys = Keys::default();
    let dlq = FakeDeadLetters::default();
    let handler = SqsBatchHandler::builder(keys.clone(), Idempotency::new(MemoryStore::new()))
        .dead_letter_queue(dlq.clone())
        .build();
    let response = handler.handle(sqs_event(&messages), &context(Duration::from_secs(10))).await.unwrap();
    assert!(failed_ids(&response).is_empty(), "every hostile message went to the DLQ: {:?}", failed_ids(&response));
    let mut processed = keys.0.lock().unwrap().clone();
    processed.sort();
    assert_eq!(processed, ["incoming/good.csv", "incoming/padded.csv"]);
    let letters = dlq.sent();
    let reason = |id: &str| {
        let letter =
            letters.iter().find(|l| l.source_message_id == id).unwrap_or_else(|| panic!("{id} not in the DLQ"));
        assert!(letter.reason.len() < 400, "{id}: a short reason, whatever the input: {}", letter.reason.len());
        letter.reason.clone()
    };
    assert!(reason("many").contains("5000 records, more than the 100"), "{}", reason("many"));
    assert!(reason("long-key").contains("5000 bytes long, over S3's 1024-byte limit"), "{}", reason("long-key"));
    assert!(reason("deep").contains("S3 event"), "{}", reason("deep"));
    assert!(reason("garbage").contains("not valid JSON"), "{}", reason("garbage"));
    assert_eq!(letters.len(), 4, "{letters:#?}");
}
