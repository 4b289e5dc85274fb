//! Test helpers: events, contexts, a scriptable processor and a fake dead-letter queue.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::sns::SnsEvent;
use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::Context;
use serde_json::{Value, json};
use sluice::{BoxError, DeadLetter, DeadLetterSink, ItemContext, ProcessError, Processor};
use sluice_events::Json;

/// A job whose `action` scripts what the processor does.
#[derive(serde::Deserialize, Debug, Clone)]
pub(crate) struct Job {
    pub id: String,
    pub action: String,
}

pub(crate) fn job(id: &str, action: &str) -> String {
    json!({"id": id, "action": action}).to_string()
}

/// A Lambda context whose deadline is `remaining` from now.
pub(crate) fn context(remaining: Duration) -> Context {
    sluice::testing::context_for("req-1", remaining)
}

/// An SQS event with one record per `(message_id, body)`.
pub(crate) fn sqs_event(records: &[(&str, &str)]) -> SqsEvent {
    sqs_event_from(STANDARD_QUEUE_ARN, records.iter().map(|(id, body)| (*id, *body, None)).collect())
}

/// The ARN of the standard queue test events come from.
pub(crate) const STANDARD_QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:000000000000:work";
/// The ARN of the FIFO queue test events with message groups come from.
pub(crate) const FIFO_QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:000000000000:work.fifo";

/// An SQS event from a FIFO queue whose records carry a `MessageGroupId`.
pub(crate) fn sqs_event_with(records: Vec<(&str, &str, Option<&str>)>) -> SqsEvent {
    sqs_event_from(FIFO_QUEUE_ARN, records)
}

/// An SQS event from the queue `arn` whose records may carry a `MessageGroupId` (a FIFO queue,
/// or a fair queue: a standard queue whose messages carry one).
pub(crate) fn sqs_event_from(arn: &str, records: Vec<(&str, &str, Option<&str>)>) -> SqsEvent {
    let records: Vec<Value> = records
        .into_iter()
        .map(|(id, body, group)| {
            let mut attributes = json!({"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183"});
            if let Some(g) = group {
                attributes["MessageGroupId"] = json!(g);
            }
            json!({
                "messageId": id, "receiptHandle": format!("rh-{id}"), "body": body,
                "attributes": attributes, "messageAttributes": {}, "md5OfBody": "x",
                "eventSource": "aws:sqs", "eventSourceARN": arn,
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

/// An SNS Lambda event with one record (the Lambda casing, `SigningCertUrl`).
pub(crate) fn sns_event(message_id: &str, message: &str) -> SnsEvent {
    serde_json::from_value(json!({"Records": [{
        "EventVersion": "1.0", "EventSource": "aws:sns",
        "EventSubscriptionArn": "arn:aws:sns:us-east-1:000000000000:uploads:sub",
        "Sns": {
            "Type": "Notification", "MessageId": message_id,
            "TopicArn": "arn:aws:sns:us-east-1:000000000000:uploads",
            "Subject": "Amazon S3 Notification", "Message": message,
            "Timestamp": "2026-11-26T14:13:23.773Z", "SignatureVersion": "1", "Signature": "sig",
            "SigningCertUrl": "https://sns.example/cert.pem", "UnsubscribeUrl": "https://sns.example/unsub",
            "MessageAttributes": {}
        }
    }]}))
    .unwrap()
}

/// A processor scripted by each job's `action`: `ok`, `retry`, `poison`, `panic`, `skip` or
/// `sleep:<ms>`. It records the ids it ran, in order, and the highest concurrency it saw.
#[derive(Clone, Default)]
pub(crate) struct Scripted {
    pub calls: Arc<Mutex<Vec<String>>>,
    in_flight: Arc<AtomicUsize>,
    pub max_in_flight: Arc<AtomicUsize>,
}

impl Scripted {
    pub(crate) fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl Processor<Json<Job>> for Scripted {
    type Output = String;

    async fn process(&self, Json(job): Json<Job>, _ctx: ItemContext) -> Result<String, ProcessError> {
        self.calls.lock().unwrap().push(job.id.clone());
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        struct Leave<'a>(&'a AtomicUsize);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let _leave = Leave(&self.in_flight);
        match job.action.as_str() {
            "ok" => Ok(format!("done {}", job.id)),
            "retry" => Err(ProcessError::retryable("partner API answered 503")),
            "poison" => Err(ProcessError::permanent("object is not CSV")),
            "panic" => panic!("bug while processing {}", job.id),
            "skip" => Err(ProcessError::skip("superseded by a newer version")),
            sleep if sleep.starts_with("sleep:") => {
                let ms: u64 = sleep["sleep:".len()..].parse().unwrap();
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(format!("slept {}", job.id))
            }
            other => panic!("unknown action {other}"),
        }
    }
}

/// A dead-letter queue that keeps what it is sent, or refuses everything.
#[derive(Clone, Default)]
pub(crate) struct FakeDeadLetters {
    pub sent: Arc<Mutex<Vec<DeadLetter>>>,
    pub refuse: bool,
}

impl FakeDeadLetters {
    pub(crate) fn refusing() -> Self {
        FakeDeadLetters { refuse: true, ..Default::default() }
    }

    pub(crate) fn sent(&self) -> Vec<DeadLetter> {
        self.sent.lock().unwrap().clone()
    }
}

#[async_trait]
impl DeadLetterSink for FakeDeadLetters {
    async fn send(&self, letter: &DeadLetter) -> Result<(), BoxError> {
        if self.refuse {
            return Err("AccessDenied: not authorized to perform sqs:SendMessage".into());
        }
        self.sent.lock().unwrap().push(letter.clone());
        Ok(())
    }
}

/// Message ids reported in `batchItemFailures`, in order.
pub(crate) fn failed_ids(response: &aws_lambda_events::sqs::SqsBatchResponse) -> Vec<String> {
    response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect()
}

/// The ARN of the Kinesis stream test events come from.
pub(crate) const KINESIS_STREAM_ARN: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/clicks";
/// The ARN of the DynamoDB table stream test events come from.
pub(crate) const TABLE_STREAM_ARN: &str =
    "arn:aws:dynamodb:us-east-1:000000000000:table/Orders/stream/2026-12-01T00:00:00.000";

/// A Kinesis event with one record per `(shard, sequence number, data)`.
pub(crate) fn kinesis_event(records: &[(&str, &str, &str)]) -> aws_lambda_events::kinesis::KinesisEvent {
    use base64::Engine as _;
    let records: Vec<Value> = records
        .iter()
        .map(|(shard, sequence_number, data)| {
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0", "partitionKey": "p", "sequenceNumber": sequence_number,
                    "data": base64::engine::general_purpose::STANDARD.encode(data),
                    "approximateArrivalTimestamp": 1_764_892_800.5
                },
                "eventSource": "aws:kinesis", "eventVersion": "1.0",
                "eventID": format!("{shard}:{sequence_number}"), "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::000000000000:role/worker", "awsRegion": "us-east-1",
                "eventSourceARN": KINESIS_STREAM_ARN
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

/// A DynamoDB Streams event with one record per `(sequence number, eventName, NewImage)`.
pub(crate) fn dynamodb_event(records: &[(&str, &str, Value)]) -> aws_lambda_events::dynamodb::Event {
    let records: Vec<Value> = records
        .iter()
        .map(|(sequence_number, event_name, new_image)| {
            json!({
                "eventID": format!("event-{sequence_number}"), "eventName": event_name, "eventVersion": "1.1",
                "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1_764_892_800, "Keys": {"id": new_image.get("id").cloned().unwrap_or(json!({"S": "?"}))},
                    "NewImage": new_image, "SequenceNumber": sequence_number, "SizeBytes": 64,
                    "StreamViewType": "NEW_AND_OLD_IMAGES"
                },
                "eventSourceARN": TABLE_STREAM_ARN
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

/// A `Job` as a DynamoDB item image.
pub(crate) fn job_image(id: &str, action: &str) -> Value {
    json!({"id": {"S": id}, "action": {"S": action}})
}

/// Sequence numbers reported in a stream's `batchItemFailures`, in order.
pub(crate) fn failed_sequence_numbers(failures: impl IntoIterator<Item = Option<String>>) -> Vec<String> {
    failures.into_iter().map(|f| f.expect("an itemIdentifier")).collect()
}
