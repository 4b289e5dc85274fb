//! The object-summary worker against the local stack: real S3 uploads, real SNS -> SQS
//! notifications, real receipts and a real SQS dead-letter queue.
//!
//! These tests need `scripts/stack start` (the test command `scripts/test` does it); they are
//! `#[ignore]`d so a bare `cargo test` without the stack does not fail on them.

use std::time::{Duration, Instant};

use aws_lambda_events::sqs::SqsEvent;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use lambda_runtime::Context;
use serde_json::json;
use sluice::{Idempotency, SnsHandler, SqsBatchHandler, SqsDeadLetterQueue};
use sluice_idempotency::MemoryStore;
use sluice_object_summary::{
    ObjectSummary, Receipt, VersionSummary, Webhook, idempotency_key, receipt_key, version_receipt_key_under,
};

struct Stack {
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
}

async fn stack() -> Stack {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: start the stack with scripts/stack start and eval \"$(scripts/stack env)\""
    );
    let aws = aws_config::load_from_env().await;
    Stack { s3: sluice::aws::s3_client(&aws), sqs: aws_sdk_sqs::Client::new(&aws), sns: aws_sdk_sns::Client::new(&aws) }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

fn context() -> Context {
    sluice::testing::context_for(&unique("req"), Duration::from_secs(60))
}

/// The stack, an ingest bucket notifying a queue through a topic, and a results bucket.
async fn scenario() -> (Stack, String, String, String) {
    let stack = stack().await;
    let (ingest, _topic, queue) = stack.pipeline(true).await;
    let results = stack.bucket(false).await;
    (stack, ingest, results, queue)
}

impl Stack {
    async fn upload(
        &self,
        bucket: &str,
        key: &str,
        body: &'static [u8],
    ) -> aws_sdk_s3::operation::put_object::PutObjectOutput {
        self.s3.put_object().bucket(bucket).key(key).body(ByteStream::from_static(body)).send().await.unwrap()
    }

    async fn bucket(&self, versioned: bool) -> String {
        let name = unique("bucket");
        self.s3.create_bucket().bucket(&name).send().await.unwrap();
        if versioned {
            let on = aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build();
            self.s3.put_bucket_versioning().bucket(&name).versioning_configuration(on).send().await.unwrap();
        }
        name
    }

    async fn queue(&self) -> (String, String) {
        let url = self.sqs.create_queue().queue_name(unique("queue")).send().await.unwrap().queue_url.unwrap();
        let arn = self
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&QueueAttributeName::QueueArn]
            .clone();
        (url, arn)
    }

    /// An ingest bucket notifying a topic on `incoming/`, and a queue subscribed to the topic.
    async fn pipeline(&self, versioned: bool) -> (String, String, String) {
        let ingest = self.bucket(versioned).await;
        let topic = self.sns.create_topic().name(unique("topic")).send().await.unwrap().topic_arn.unwrap();
        let (queue_url, queue_arn) = self.queue().await;
        self.sns.subscribe().topic_arn(&topic).protocol("sqs").endpoint(&queue_arn).send().await.unwrap();
        let rule = aws_sdk_s3::types::FilterRule::builder()
            .name(aws_sdk_s3::types::FilterRuleName::Prefix)
            .value("incoming/")
            .build();
        let notification = aws_sdk_s3::types::NotificationConfiguration::builder()
            .topic_configurations(
                aws_sdk_s3::types::TopicConfiguration::builder()
                    .topic_arn(&topic)
                    .events(aws_sdk_s3::types::Event::S3ObjectCreated)
                    .filter(
                        aws_sdk_s3::types::NotificationConfigurationFilter::builder()
                            .key(aws_sdk_s3::types::S3KeyFilter::builder().filter_rules(rule).build())
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .build();
        self.s3
            .put_bucket_notification_configuration()
            .bucket(&ingest)
            .notification_configuration(notification)
            .send()
            .await
            .unwrap();
        (ingest, topic, queue_url)
    }

    /// Receives up to `count` messages within 20 s, as a Lambda SQS event (the translation an
    /// event source mapping makes: `Body` -> `body`, `MessageId` -> `messageId`, ...).
    async fn receive_event(&self, queue_url: &str, count: usize) -> SqsEvent {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut records = Vec::new();
        while records.len() < count && Instant::now() < deadline {
            let out = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await
                .unwrap();
            for m in out.messages.unwrap_or_default() {
                let attributes: serde_json::Map<String, serde_json::Value> = m
                    .attributes
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k.as_str().to_owned(), json!(v)))
                    .collect();
                records.push(json!({
                    "messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body,
                    "attributes": attributes, "messageAttributes": {}, "md5OfBody": m.md5_of_body,
                    "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:test",
                    "awsRegion": "us-east-1"
                }));
            }
        }
        assert!(records.len() >= count, "only {} of {count} messages arrived in 20 s", records.len());
        serde_json::from_value(json!({ "Records": records })).unwrap()
    }

    /// Receives the S3 event messages (skipping the s3:TestEvent) until `count` arrived.
    async fn receive_uploads(&self, queue_url: &str, count: usize) -> SqsEvent {
        let mut event = self.receive_event(queue_url, count).await;
        event.records.retain(|r| !r.body.as_deref().unwrap_or("").contains("s3:TestEvent"));
        while event.records.len() < count {
            event.records.extend(self.receive_event(queue_url, 1).await.records);
            event.records.retain(|r| !r.body.as_deref().unwrap_or("").contains("s3:TestEvent"));
        }
        event
    }

    async fn receipt(&self, bucket: &str, key: &str) -> Option<Receipt> {
        let out = self.s3.get_object().bucket(bucket).key(receipt_key(key)).send().await.ok()?;
        Some(serde_json::from_slice(&out.body.collect().await.unwrap().into_bytes()).unwrap())
    }
}

const KOREAN_KEY: &str = "incoming/보고서 2026+final.csv";
const CONTENT: &[u8] = b"id,amount\n1,100\n2,250";

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn an_upload_through_sns_and_sqs_gets_its_receipt() {
    let (stack, ingest, results, queue) = scenario().await;
    let put = stack.upload(&ingest, KOREAN_KEY, CONTENT).await;
    // A file outside the prefix must not be notified.
    stack.upload(&ingest, "elsewhere/x.csv", b"x").await;

    let event = stack.receive_uploads(&queue, 1).await;
    assert_eq!(event.records.len(), 1);
    let handler =
        SqsBatchHandler::builder(ObjectSummary::new(stack.s3.clone(), &results), Idempotency::new(MemoryStore::new()))
            .build();
    let response = handler.handle(event.clone(), &context()).await.unwrap();
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    let receipt = stack.receipt(&results, KOREAN_KEY).await.expect("receipt written");
    assert_eq!(receipt.version.bucket, ingest);
    assert_eq!(receipt.version.key, KOREAN_KEY);
    assert_eq!(receipt.version.version_id, put.version_id);
    assert_eq!(receipt.version.size, CONTENT.len() as u64);
    assert_eq!(receipt.version.lines, 3);
    // `printf 'id,amount\n1,100\n2,250' | sha256sum`
    assert_eq!(receipt.version.sha256, "5113bff741e1a6fe5cee8b860547a21a9db0b691320dd7cd9d7a66e9625e2766");
    assert_eq!(receipt.path, "sqs");
    assert!(stack.receipt(&results, "elsewhere/x.csv").await.is_none());
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_redelivered_upload_is_not_summarised_twice_and_the_sns_path_writes_the_same_receipt() {
    let (stack, ingest, results, queue) = scenario().await;
    stack.upload(&ingest, "incoming/a.csv", CONTENT).await;
    let event = stack.receive_uploads(&queue, 1).await;
    let store = MemoryStore::new();
    let processor = ObjectSummary::new(stack.s3.clone(), &results);
    let sqs = SqsBatchHandler::builder(processor.clone(), Idempotency::new(store.clone())).build();
    sqs.handle(event.clone(), &context()).await.unwrap();
    let first = stack.receipt(&results, "incoming/a.csv").await.unwrap();

    // The same S3 event through the SNS path (the envelope's Message, in a Lambda SNS event):
    // the same object version, so a duplicate: the receipt is not rewritten.
    let sns_event = sns_event_from(&event);
    let sns = SnsHandler::builder(processor.clone(), Idempotency::new(store.clone())).build();
    sns.handle(sns_event, &context()).await.unwrap();
    sqs.handle(event.clone(), &context()).await.unwrap();
    assert_eq!(stack.receipt(&results, "incoming/a.csv").await.unwrap(), first, "not processed again");

    // Without the shared store the SNS path processes it and says so in the receipt.
    let envelope_event = sns_event_from(&event);
    SnsHandler::builder(processor, Idempotency::new(MemoryStore::new()))
        .build()
        .handle(envelope_event, &context())
        .await
        .unwrap();
    // Its version receipt says so; the latest stays as it was: the same event is not a later one.
    let put_version = first.version.version_id.clone();
    let at = version_receipt_key_under("receipts/", "incoming/a.csv", put_version.as_deref(), None, None);
    let again = text_object(&stack, &results, &at).await.unwrap();
    assert_eq!(again.path, "sns");
    assert_eq!(again.version.sha256, first.version.sha256);
    assert_eq!(stack.receipt(&results, "incoming/a.csv").await.unwrap(), first);
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_missing_object_goes_to_the_real_dead_letter_queue_with_its_reason() {
    let (stack, ingest, results, queue) = scenario().await;
    let (dlq_url, _) = stack.queue().await;
    let put = stack.upload(&ingest, "incoming/gone.csv", CONTENT).await;
    let event = stack.receive_uploads(&queue, 1).await;
    // Deleting that exact version makes GetObject answer NoSuchVersion / NoSuchKey.
    stack
        .s3
        .delete_object()
        .bucket(&ingest)
        .key("incoming/gone.csv")
        .set_version_id(put.version_id)
        .send()
        .await
        .unwrap();

    let handler =
        SqsBatchHandler::builder(ObjectSummary::new(stack.s3.clone(), &results), Idempotency::new(MemoryStore::new()))
            .dead_letter_queue(SqsDeadLetterQueue::new(stack.sqs.clone(), &dlq_url))
            .build();
    let response = handler.handle(event.clone(), &context()).await.unwrap();
    assert!(response.batch_item_failures.is_empty(), "diverted to the DLQ: {response:?}");

    let letters = stack
        .sqs
        .receive_message()
        .queue_url(&dlq_url)
        .wait_time_seconds(5)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter.body, event.records[0].body, "the body is unchanged, so it can be redriven");
    let attrs = letter.message_attributes.as_ref().unwrap();
    let attr = |name: &str| attrs[name].string_value.clone().unwrap();
    assert_eq!(attr("ErrorKind"), "permanent");
    assert!(attr("ErrorMessage").contains("incoming/gone.csv"), "{}", attr("ErrorMessage"));
    assert_eq!(attr("SourceMessageId"), event.records[0].message_id.clone().unwrap());
    assert_eq!(attr("ApproximateReceiveCount"), "1");
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn an_object_over_the_limit_is_a_permanent_failure() {
    let (stack, ingest, results, queue) = scenario().await;
    stack.upload(&ingest, "incoming/big.csv", CONTENT).await;
    let event = stack.receive_uploads(&queue, 1).await;
    let processor = ObjectSummary::new(stack.s3.clone(), &results).max_object_bytes(Some(4));
    let err = SnsHandler::builder(processor, Idempotency::disabled())
        .build()
        .handle(sns_event_from(&event), &context())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("over MAX_OBJECT_BYTES (4)"), "{err}");
    assert!(matches!(err, sluice::SnsHandlerError::Permanent { .. }));
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn the_webhook_gets_the_receipt_with_the_idempotency_key() {
    use std::sync::{Arc, Mutex};
    let (stack, ingest, results, queue) = scenario().await;
    let put = stack.upload(&ingest, "incoming/hook.csv", CONTENT).await;
    let event = stack.receive_uploads(&queue, 1).await;

    let seen: Arc<Mutex<Vec<(String, VersionSummary)>>> = Arc::default();
    let status = Arc::new(Mutex::new(axum::http::StatusCode::BAD_REQUEST));
    let app = {
        let (seen, status) = (seen.clone(), status.clone());
        axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, axum::Json(r): axum::Json<VersionSummary>| {
                let key = headers["idempotency-key"].to_str().unwrap().to_owned();
                seen.lock().unwrap().push((key, r));
                let status = *status.lock().unwrap();
                async move { status }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let processor = ObjectSummary::new(stack.s3.clone(), &results)
        .webhook(Some(Webhook::new(url.parse().unwrap(), sluice_retry::RetryPolicy::default()).unwrap()));
    let handler = SqsBatchHandler::builder(processor, Idempotency::new(MemoryStore::new())).build();

    // 400: permanent, reported failed (no DLQ configured).
    let response = handler.handle(event.clone(), &context()).await.unwrap();
    assert_eq!(response.batch_item_failures.len(), 1);
    // 200 on the redelivery.
    *status.lock().unwrap() = axum::http::StatusCode::OK;
    let response = handler.handle(event, &context()).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let expected_key = idempotency_key(&format!("{ingest}/incoming/hook.csv@v:{}", put.version_id.unwrap()));
    assert!(seen.iter().all(|(key, _)| *key == expected_key), "{seen:?}");
    assert_eq!(seen[1].1.key, "incoming/hook.csv");
}

/// The S3 message of an SQS delivery, as the Lambda SNS event the direct path would get.
fn sns_event_from(event: &SqsEvent) -> aws_lambda_events::sns::SnsEvent {
    let envelope: serde_json::Value = serde_json::from_str(event.records[0].body.as_deref().unwrap()).unwrap();
    serde_json::from_value(json!({"Records": [{
        "EventVersion": "1.0", "EventSource": "aws:sns", "EventSubscriptionArn": "arn:aws:sns:us-east-1:0:t:s",
        "Sns": {"Type": "Notification", "MessageId": envelope["MessageId"], "TopicArn": envelope["TopicArn"],
                "Message": envelope["Message"], "Timestamp": envelope["Timestamp"],
                "SignatureVersion": "1", "Signature": "s", "SigningCertUrl": "u", "UnsubscribeUrl": "u"}}]}))
    .unwrap()
}

/// Two worker instances (two handlers, two local caches) sharing one remote store: the second
/// sees the first's record, whichever path it came through.
async fn duplicate_across_instances(store: impl Fn() -> std::sync::Arc<dyn sluice_idempotency::IdempotencyStore>) {
    let (stack, ingest, results, queue) = scenario().await;
    stack.upload(&ingest, "incoming/shared.csv", CONTENT).await;
    let event = stack.receive_uploads(&queue, 1).await;
    let cached = |s| sluice_idempotency::CachedStore::new(s, 64);
    let first =
        SqsBatchHandler::builder(ObjectSummary::new(stack.s3.clone(), &results), Idempotency::new(cached(store())))
            .build();
    first.handle(event.clone(), &context()).await.unwrap();
    let receipt = stack.receipt(&results, "incoming/shared.csv").await.unwrap();
    stack.s3.delete_object().bucket(&results).key(receipt_key("incoming/shared.csv")).send().await.unwrap();

    let second =
        SnsHandler::builder(ObjectSummary::new(stack.s3.clone(), &results), Idempotency::new(cached(store()))).build();
    second.handle(sns_event_from(&event), &context()).await.unwrap();
    assert!(stack.receipt(&results, "incoming/shared.csv").await.is_none(), "the duplicate did not run");
    assert_eq!(receipt.path, "sqs");
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_duplicate_reaching_another_instance_is_caught_through_dynamodb() {
    let aws = aws_config::load_from_env().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let table = unique("idempotency");
    sluice_idempotency::DynamoDbStore::create_table(&dynamodb, &table, None).await.unwrap();
    duplicate_across_instances(|| {
        std::sync::Arc::new(sluice_idempotency::DynamoDbStore::new(dynamodb.clone(), &table))
    })
    .await;
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_duplicate_reaching_another_instance_is_caught_through_redis() {
    let url = std::env::var("SLUICE_REDIS_URL").expect("SLUICE_REDIS_URL: run scripts/test");
    let prefix = format!("{}:", unique("worker"));
    let store = sluice_idempotency::RedisStore::connect(&url).await.unwrap().namespace(prefix);
    duplicate_across_instances(|| std::sync::Arc::new(store.clone())).await;
}

/// The one record of `event` whose object has `version`, with its sequencer set to `sequencer`
/// (the local stack gives every event the same one; S3 gives later events of a key greater ones).
fn only_version(event: &SqsEvent, version: &str, sequencer: &str) -> SqsEvent {
    let record = event
        .records
        .iter()
        .find(|r| r.body.as_deref().unwrap_or("").contains(version))
        .unwrap_or_else(|| panic!("no event for version {version}"))
        .clone();
    let mut single = SqsEvent::default();
    single.records = vec![record];
    with_sequencer(single, sequencer)
}

/// `event` (one record) with its S3 event's sequencer set to `sequencer`.
fn with_sequencer(mut event: SqsEvent, sequencer: &str) -> SqsEvent {
    let record = &mut event.records[0];
    let mut envelope: serde_json::Value = serde_json::from_str(record.body.as_deref().unwrap()).unwrap();
    let mut s3: serde_json::Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    s3["Records"][0]["s3"]["object"]["sequencer"] = json!(sequencer);
    envelope["Message"] = json!(s3.to_string());
    record.body = Some(envelope.to_string());
    event
}

async fn text_object(stack: &Stack, bucket: &str, key: &str) -> Option<Receipt> {
    let out = stack.s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    Some(serde_json::from_slice(&out.body.collect().await.unwrap().into_bytes()).unwrap())
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn versions_processed_out_of_order_keep_one_receipt_each_and_the_latest_moves_only_forward() {
    let (stack, ingest, results, queue) = scenario().await;
    let key = "incoming/ordered.csv";
    let v1 = stack.upload(&ingest, key, b"first\n").await.version_id.unwrap();
    let v2 = stack.upload(&ingest, key, b"second\nversion\n").await.version_id.unwrap();
    let both = stack.receive_uploads(&queue, 2).await;
    let handler =
        SqsBatchHandler::builder(ObjectSummary::new(stack.s3.clone(), &results), Idempotency::new(MemoryStore::new()))
            .build();
    // The later upload's event is processed first, as a standard queue may deliver them.
    for (version, sequencer) in [(&v2, "0055AED6DCD90281E6"), (&v1, "0055AED6DCD90281E5")] {
        let response = handler.handle(only_version(&both, version, sequencer), &context()).await.unwrap();
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
    }
    let latest = stack.receipt(&results, key).await.expect("latest receipt");
    assert_eq!(
        latest.version.version_id.as_deref(),
        Some(v2.as_str()),
        "the earlier event did not move the latest back"
    );
    assert_eq!(latest.version.lines, 2);
    for (version, lines) in [(&v1, 1), (&v2, 2)] {
        let at = version_receipt_key_under("receipts/", key, Some(version), None, None);
        let receipt = text_object(&stack, &results, &at).await.unwrap_or_else(|| panic!("no receipt at {at}"));
        assert_eq!((receipt.version.version_id.as_deref(), receipt.version.lines), (Some(version.as_str()), lines));
    }
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn on_an_unversioned_bucket_an_event_for_replaced_content_is_skipped_not_summarised_from_new_bytes() {
    let stack = stack().await;
    let (ingest, _topic, queue) = stack.pipeline(false).await;
    let results = stack.bucket(false).await;
    let key = "incoming/overwritten.csv";
    // On an unversioned bucket an object version is named by its event's sequencer, which S3
    // makes grow per key; the local stack sends one constant value, so the test sets them as S3 would.
    stack.upload(&ingest, key, b"old\n").await;
    let old_event = with_sequencer(stack.receive_uploads(&queue, 1).await, "0055AED6DCD90281E5");
    stack.upload(&ingest, key, b"new\ncontent\n").await;
    let new_event = with_sequencer(stack.receive_uploads(&queue, 1).await, "0055AED6DCD90281E6");
    let handler =
        SqsBatchHandler::builder(ObjectSummary::new(stack.s3.clone(), &results), Idempotency::new(MemoryStore::new()))
            .build();
    let response = handler.handle(old_event.clone(), &context()).await.unwrap();
    assert!(response.batch_item_failures.is_empty(), "a skip, not a failure: {response:?}");
    assert!(stack.receipt(&results, key).await.is_none(), "no receipt from bytes the event did not describe");
    let response = handler.handle(new_event, &context()).await.unwrap();
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let receipt = stack.receipt(&results, key).await.expect("the new upload's receipt");
    assert_eq!(receipt.version.lines, 2);
    // The old event again (a redelivery): still skipped, the receipt stays the new one's.
    handler.handle(old_event, &context()).await.unwrap();
    assert_eq!(stack.receipt(&results, key).await.unwrap().version.lines, 2);
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_rerun_after_a_crash_posts_the_same_body_under_the_same_key() {
    use std::sync::{Arc, Mutex};
    let (stack, ingest, results, queue) = scenario().await;
    stack.upload(&ingest, "incoming/보고서 2026+final.csv", CONTENT).await;
    let event = stack.receive_uploads(&queue, 1).await;
    type Posts = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
    let posts: Posts = Arc::default();
    let seen = posts.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let key = headers["idempotency-key"].to_str().expect("an ASCII header").to_owned();
            seen.lock().unwrap().push((key, body.to_vec()));
            async { axum::http::StatusCode::OK }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let processor = ObjectSummary::new(stack.s3.clone(), &results)
        .webhook(Some(Webhook::new(url.parse().unwrap(), sluice_retry::RetryPolicy::default()).unwrap()));
    // The first run completes its POST, then "crashes": its idempotency record is lost. The
    // re-run is a function renamed since (another key prefix), on the other path.
    SqsBatchHandler::builder(processor.clone(), Idempotency::new(MemoryStore::new()).key_prefix("object-summary-sqs"))
        .build()
        .handle(event.clone(), &context())
        .await
        .unwrap();
    SnsHandler::builder(processor, Idempotency::new(MemoryStore::new()).key_prefix("renamed-worker"))
        .build()
        .handle(sns_event_from(&event), &context())
        .await
        .unwrap();
    let posts = posts.lock().unwrap();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].0, posts[1].0, "the same Idempotency-Key");
    assert_eq!(posts[0].1, posts[1].1, "byte for byte the same body: the partner sees no conflict");
    let body: serde_json::Value = serde_json::from_slice(&posts[0].1).unwrap();
    assert!(body.get("processed_at").is_none() && body.get("path").is_none(), "{body}");
}
