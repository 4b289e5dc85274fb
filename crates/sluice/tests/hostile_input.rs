//! Hostile messages in a batch of good ones: an S3 event with thousands of records, a key
//! thousands of characters long, deeply nested JSON, bodies at SQS's 1 MB limit, mebibyte values
//! in decoded fields and processors whose errors quote a mebibyte. Each fails alone, with a
//! reason of at most 512 bytes, and the rest of the batch is processed well within the
//! invocation (the handler answers, nothing is abandoned). A store that rejects a request as
//! invalid fails the item permanently instead of leaving it to loop until `maxReceiveCount`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use common::{FakeDeadLetters, context, failed_ids, sns_event, sqs_event};
use serde_json::json;
use sluice::{Idempotency, ItemContext, ProcessError, Processor, SnsHandler, SqsBatchHandler};
use sluice_events::s3::S3ObjectEvent;
use sluice_idempotency::{Claim, ClaimRequest, IdempotencyStore, Lease, MemoryStore, StoreError};

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

/// A processor whose failures quote a mebibyte, as a careless `format!("{record:?}")` would:
/// `quote-permanent`, `quote-retryable` and `quote-panic` in the key say how it fails.
#[derive(Clone, Default)]
struct Quoting(Keys);

impl Processor<S3ObjectEvent> for Quoting {
    type Output = ();

    async fn process(&self, record: S3ObjectEvent, ctx: ItemContext) -> Result<(), ProcessError> {
        let mib = "q".repeat(1 << 20);
        match record.key.rsplit('/').next() {
            Some("quote-permanent") => Err(ProcessError::permanent(format!("refused {mib}"))),
            Some("quote-retryable") => Err(ProcessError::retryable(format!("timed out on {mib}"))),
            Some("quote-panic") => panic!("unexpected {mib}"),
            _ => self.0.process(record, ctx).await,
        }
    }
}

#[tokio::test]
async fn every_failure_reason_is_short_whatever_the_value() {
    let mib = "E".repeat(1 << 20);
    let event = |key: &str| json!({ "Records": [record(key)] }).to_string();
    let unknown_event = json!({ "Event": format!("s3:{mib}") }).to_string();
    let mut wrong_type = record("incoming/typed.csv");
    wrong_type["s3"]["object"]["size"] = json!(mib);
    let wrong_type = json!({ "Records": [wrong_type] }).to_string();
    let mut version = record("incoming/version.csv");
    version["eventVersion"] = json!(format!("3.{mib}"));
    let version = json!({ "Records": [version] }).to_string();
    let long_key = event(&format!("incoming/{mib}"));
    let (good, permanent, retryable, panics) = (
        event("incoming/good.csv"),
        event("incoming/quote-permanent"),
        event("incoming/quote-retryable"),
        event("incoming/quote-panic"),
    );
    let messages = [
        ("good", good.as_str()),
        ("unknown-event", &unknown_event),
        ("wrong-type", &wrong_type),
        ("version", &version),
        ("long-key", &long_key),
        ("permanent", &permanent),
        ("retryable", &retryable),
        ("panics", &panics),
    ];
    let processor = Quoting::default();
    let dlq = FakeDeadLetters::default();
    let handler = SqsBatchHandler::builder(processor.clone(), Idempotency::new(MemoryStore::new()))
        .dead_letter_queue(dlq.clone())
        .build();
    let response = handler.handle(sqs_event(&messages), &context(Duration::from_secs(10))).await.unwrap();
    // The batch answers: the retryable failures are reported, the rest went to the DLQ alone.
    assert_eq!(failed_ids(&response), ["retryable", "panics"]);
    assert_eq!(*processor.0.0.lock().unwrap(), ["incoming/good.csv"]);
    let letters = dlq.sent();
    let mut lettered: Vec<&str> = letters.iter().map(|l| l.source_message_id.as_str()).collect();
    lettered.sort();
    assert_eq!(lettered, ["long-key", "permanent", "unknown-event", "version", "wrong-type"]);
    for letter in &letters {
        assert!(letter.reason.len() <= 512, "{}: {} bytes", letter.source_message_id, letter.reason.len());
    }
    let reason = |id: &str| letters.iter().find(|l| l.source_message_id == id).unwrap().reason.clone();
    assert!(reason("unknown-event").contains("(1,048,579 bytes)"), "{}", reason("unknown-event"));
    assert!(reason("permanent").contains("refused qqq") && reason("permanent").ends_with("bytes)"));

    // On the direct path, the error the function returns (Lambda's errorMessage, the DLQ's
    // reason) is as short.
    let sns = SnsHandler::builder(processor, Idempotency::new(MemoryStore::new())).build();
    for message in [&unknown_event, &permanent, &retryable, &panics] {
        let error = sns.handle(sns_event("m-1", message), &context(Duration::from_secs(10))).await.unwrap_err();
        assert!(error.to_string().len() <= 512 + 64, "{} bytes", error.to_string().len());
    }
}

/// A store that refuses every claim as invalid, as DynamoDB refuses a request it cannot carry.
#[derive(Clone, Default)]
struct Rejecting;

#[async_trait::async_trait]
impl IdempotencyStore for Rejecting {
    async fn claim(&self, request: ClaimRequest<'_>) -> Result<Claim, StoreError> {
        Err(StoreError::Rejected {
            operation: "claim",
            key: request.key.to_owned(),
            source: "ValidationException".into(),
        })
    }
    async fn renew(&self, _: &Lease, _: SystemTime) -> Result<(), StoreError> {
        unreachable!("never claimed")
    }
    async fn complete(&self, _: &Lease, _: &str, _: SystemTime) -> Result<(), StoreError> {
        unreachable!("never claimed")
    }
    async fn release(&self, _: &Lease) -> Result<(), StoreError> {
        unreachable!("never claimed")
    }
}

#[tokio::test]
async fn a_claim_the_store_rejects_as_invalid_fails_permanently_instead_of_looping() {
    let body = json!({ "Records": [record("incoming/any.csv")] }).to_string();
    let dlq = FakeDeadLetters::default();
    let handler =
        SqsBatchHandler::builder(Keys::default(), Idempotency::new(Rejecting)).dead_letter_queue(dlq.clone()).build();
    let response = handler.handle(sqs_event(&[("m", &body)]), &context(Duration::from_secs(10))).await.unwrap();
    assert!(failed_ids(&response).is_empty(), "not left to the queue's redrive");
    let letters = dlq.sent();
    assert_eq!(letters.len(), 1);
    assert!(letters[0].reason.contains("rejected the claim"), "{}", letters[0].reason);
}
