//! Kinesis and DynamoDB Streams event source mappings of the local Lambda service, against
//! moto's streams, with the test function. Run by `scripts/test`; `#[ignore]`d for a bare
//! `cargo test`.

use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType,
};
use serde_json::{Value, json};
use sluice_local::wait::{receive_one, wait_for};
use sluice_local::{FunctionConfig, LocalLambda, ServiceConfig, ServiceOptions, StreamMappingConfig};

const LIMIT: Duration = Duration::from_secs(30);
/// The poll interval (1 s) is played 20 times faster: a retry comes 50 ms after a failure.
const TIME_SCALE: f64 = 20.0;

async fn aws() -> aws_config::SdkConfig {
    assert!(std::env::var_os("AWS_ENDPOINT_URL").is_some(), "AWS_ENDPOINT_URL is not set: run scripts/test");
    aws_config::load_from_env().await
}

fn unique(name: &str) -> String {
    format!("{name}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// The test function, writing every event it gets to a file of its own.
fn test_function(name: &str) -> (FunctionConfig, PathBuf) {
    let log = std::env::temp_dir().join(format!("{}.events", unique(name)));
    let function = serde_json::from_value(json!({
        "name": name,
        "bootstrap": env!("CARGO_BIN_EXE_test-function"),
        "timeout": 5000,
        "memory_mb": 256,
        "environment": {"TEST_FUNCTION_EVENT_LOG": log.to_str().unwrap()},
    }))
    .unwrap();
    (function, log)
}

/// The sequence numbers of each event the function got, in order.
fn batches_seen(log: &PathBuf) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    // Whole lines only: an instance may be writing the next one.
    let whole = text.rfind('\n').map_or("", |end| &text[..end]);
    whole
        .lines()
        .map(|line| {
            let event: Value = serde_json::from_str(line).unwrap();
            event["Records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let n = if r["eventSource"] == "aws:kinesis" {
                        &r["kinesis"]["sequenceNumber"]
                    } else {
                        &r["dynamodb"]["SequenceNumber"]
                    };
                    n.as_str().unwrap().to_owned()
                })
                .collect()
        })
        .collect()
}

async fn start(config: ServiceConfig) -> LocalLambda {
    let options =
        ServiceOptions { port: 0, log_dir: std::env::temp_dir().join("sluice-local-tests"), aws: aws().await };
    LocalLambda::start(config, options).await.unwrap()
}

fn mapping(function: &str, arn: &str, queue_url: &str) -> StreamMappingConfig {
    serde_json::from_value(json!({
        "function": function,
        "event_source_arn": arn,
        "batch_size": 10,
        "maximum_retry_attempts": 2,
        "on_failure_queue_url": queue_url,
    }))
    .unwrap()
}

/// A one-shard Kinesis stream holding `records` in order, all with one partition key: its ARN
/// and their sequence numbers.
async fn kinesis_stream(records: &[&str]) -> (String, Vec<String>) {
    let keyed: Vec<(&str, &str)> = records.iter().map(|data| ("p", *data)).collect();
    keyed_stream(&keyed).await
}

/// A one-shard Kinesis stream holding `(partition key, data)` records in order.
async fn keyed_stream(records: &[(&str, &str)]) -> (String, Vec<String>) {
    let aws = aws().await;
    let kinesis = aws_sdk_kinesis::Client::new(&aws);
    let name = unique("clicks");
    kinesis.create_stream().stream_name(&name).shard_count(1).send().await.unwrap();
    // moto writes the stream's creation time in a form the SDK does not read, which every
    // Describe and List call returns: the ARN is made from the account instead, as AWS makes it.
    let account = account(&aws).await;
    let region = aws.region().unwrap();
    let arn = format!("arn:aws:kinesis:{region}:{account}:stream/{name}");
    wait_for(LIMIT, || async {
        kinesis.list_shards().stream_arn(&arn).send().await.ok().filter(|o| !o.shards().is_empty())
    })
    .await
    .expect("the stream has its shard");
    let mut sequence_numbers = Vec::new();
    for (key, data) in records {
        let out = kinesis
            .put_record()
            .stream_arn(&arn)
            .partition_key(*key)
            .data(aws_smithy_types::Blob::new(data.as_bytes()))
            .send()
            .await
            .unwrap();
        sequence_numbers.push(out.sequence_number);
    }
    (arn, sequence_numbers)
}

/// The stack's account, from a queue's ARN.
async fn account(aws: &aws_config::SdkConfig) -> String {
    let sqs = aws_sdk_sqs::Client::new(aws);
    let url = sqs.create_queue().queue_name(unique("account")).send().await.unwrap().queue_url.unwrap();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let arn = attributes.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    sqs.delete_queue().queue_url(&url).send().await.unwrap();
    arn.split(':').nth(4).unwrap().to_owned()
}

/// The service running `function` under `mapping`, on the time scale.
async fn serve(function: FunctionConfig, mapping: StreamMappingConfig) -> LocalLambda {
    let config = ServiceConfig {
        functions: vec![function],
        stream_mappings: vec![mapping],
        time_scale: Some(TIME_SCALE),
        ..Default::default()
    };
    start(config).await
}

/// Runs `function` under `mapping` (on the time scale) until the first record reaches the
/// on-failure queue: the running service, and that record.
async fn first_failure(
    function: FunctionConfig,
    mapping: StreamMappingConfig,
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
) -> (LocalLambda, aws_sdk_sqs::types::Message) {
    let service = serve(function, mapping).await;
    let record = wait_for(LIMIT, || receive_one(sqs, queue)).await.expect("the on-failure record");
    (service, record)
}

async fn failure_queue() -> (aws_sdk_sqs::Client, String) {
    let sqs = aws_sdk_sqs::Client::new(&aws().await);
    let url = sqs.create_queue().queue_name(unique("stream-failures")).send().await.unwrap().queue_url.unwrap();
    (sqs, url)
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_shard_is_retried_from_its_checkpoint_and_a_batch_given_up_on_goes_to_the_on_failure_queue() {
    let (arn, seq) = kinesis_stream(&["ok", "fail", "ok"]).await;
    let (sqs, queue) = failure_queue().await;
    let (function, log) = test_function("ordered");
    let (service, record) = first_failure(function, mapping("ordered", &arn, &queue), &sqs, &queue).await;
    service.shutdown().await;
    let record: Value = serde_json::from_str(record.body().unwrap()).unwrap();
    let info = &record["KinesisBatchInfo"];
    assert_eq!(record["requestContext"]["condition"], "RetryAttemptsExhausted", "{record}");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 3, "{record}");
    assert_eq!((info["startSequenceNumber"].as_str(), info["batchSize"].as_u64()), (Some(seq[1].as_str()), Some(2)));
    assert_eq!(info["endSequenceNumber"].as_str(), Some(seq[2].as_str()));
    assert_eq!(info["shardId"], "shardId-000000000000");
    assert_eq!(info["streamArn"].as_str(), Some(arn.as_str()));
    // The whole batch once, then from the checkpoint: the first record is never sent again.
    let again = vec![seq[1].clone(), seq[2].clone()];
    assert_eq!(batches_seen(&log), vec![seq.clone(), again.clone(), again]);
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn bisection_isolates_a_poison_record_and_the_shard_moves_on() {
    let (arn, seq) = kinesis_stream(&["ok", "ok", "error", "ok"]).await;
    let (sqs, queue) = failure_queue().await;
    let (function, log) = test_function("bisected");
    let mut config = mapping("bisected", &arn, &queue);
    config.bisect_batch_on_function_error = true;
    config.maximum_retry_attempts = 1;
    let (service, record) = first_failure(function, config, &sqs, &queue).await;
    // The record after the poison runs once the poison is parked.
    let seen = wait_for(LIMIT, || async {
        let seen = batches_seen(&log);
        (seen.last() == Some(&vec![seq[3].clone()])).then_some(seen)
    })
    .await;
    service.shutdown().await;
    let record: Value = serde_json::from_str(record.body().unwrap()).unwrap();
    let info = &record["KinesisBatchInfo"];
    assert_eq!((info["startSequenceNumber"].as_str(), info["batchSize"].as_u64()), (Some(seq[2].as_str()), Some(1)));
    assert_eq!(record["responseContext"]["functionError"], "Unhandled", "{record}");
    let s = |i: &[usize]| i.iter().map(|&i| seq[i].clone()).collect::<Vec<_>>();
    // Split in two, the first half done; the rest split again down to the poison, retried once.
    assert_eq!(
        seen.expect("the last record ran"),
        vec![s(&[0, 1, 2, 3]), s(&[0, 1]), s(&[2, 3]), s(&[2]), s(&[2]), s(&[3])]
    );
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_dynamodb_table_stream_delivers_its_changes_in_order_in_lambdas_shape() {
    let aws = aws().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let table = unique("orders");
    let created = dynamodb
        .create_table()
        .table_name(&table)
        .attribute_definitions(
            AttributeDefinition::builder().attribute_name("id").attribute_type(ScalarAttributeType::S).build().unwrap(),
        )
        .key_schema(KeySchemaElement::builder().attribute_name("id").key_type(KeyType::Hash).build().unwrap())
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let stream_arn = created.table_description.unwrap().latest_stream_arn.unwrap();
    for (id, action) in [("a", "ok"), ("b", "fail"), ("c", "ok")] {
        dynamodb
            .put_item()
            .table_name(&table)
            .item("id", AttributeValue::S(id.into()))
            .item("action", AttributeValue::S(action.into()))
            .item("total", AttributeValue::N("7".into()))
            .send()
            .await
            .unwrap();
    }
    let (sqs, queue) = failure_queue().await;
    let (function, log) = test_function("changes");
    let mut config = mapping("changes", &stream_arn, &queue);
    config.maximum_retry_attempts = 0;
    let (service, record) = first_failure(function, config, &sqs, &queue).await;
    service.shutdown().await;
    let record: Value = serde_json::from_str(record.body().unwrap()).unwrap();
    let info = &record["DDBStreamBatchInfo"];
    assert_eq!(info["batchSize"], 2, "b and the record after it: {record}");
    let text = std::fs::read_to_string(&log).unwrap();
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let records = first["Records"].as_array().unwrap();
    assert_eq!(records.len(), 3);
    let change = &records[1];
    assert_eq!((change["eventName"].as_str(), change["eventSource"].as_str()), (Some("INSERT"), Some("aws:dynamodb")));
    assert_eq!(change["dynamodb"]["NewImage"]["id"], json!({"S": "b"}));
    assert_eq!(change["dynamodb"]["NewImage"]["total"], json!({"N": "7"}));
    assert_eq!(change["dynamodb"]["Keys"], json!({"id": {"S": "b"}}));
    assert_eq!(change["eventSourceARN"].as_str(), Some(stream_arn.as_str()));
    assert_eq!(info["startSequenceNumber"], change["dynamodb"]["SequenceNumber"]);
    // The event decodes as the runtime's own type.
    let _: aws_lambda_events::dynamodb::Event = serde_json::from_value(first.clone()).unwrap();
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_parallelization_factor_splits_a_shard_into_lanes_that_keep_each_keys_order() {
    let keys = ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"];
    let records: Vec<(&str, &str)> = keys.iter().chain(keys.iter()).map(|k| (*k, "ok")).collect();
    let (arn, seq) = keyed_stream(&records).await;
    let (sqs, queue) = failure_queue().await;
    let (function, log) = test_function("lanes");
    let mut config = mapping("lanes", &arn, &queue);
    config.parallelization_factor = 4;
    config.batch_size = 100;
    let service = serve(function, config).await;
    let seen = wait_for(LIMIT, || async {
        let seen = batches_seen(&log);
        (seen.iter().map(Vec::len).sum::<usize>() >= records.len()).then_some(seen)
    })
    .await
    .expect("every record delivered");
    service.shutdown().await;
    assert!(receive_one(&sqs, &queue).await.is_none(), "nothing given up on");
    // Each record once; more than one batch although one would hold them all.
    let mut all: Vec<&String> = seen.iter().flatten().collect();
    all.sort_unstable();
    let mut expected: Vec<&String> = seq.iter().collect();
    expected.sort_unstable();
    assert_eq!(all, expected);
    assert!(seen.len() > 1, "four lanes, not one batch: {seen:?}");
    // A key's two records are in one batch, first one first (its lane keeps them in order).
    let key_of = |n: &String| records[seq.iter().position(|s| s == n).unwrap()].0;
    for key in keys {
        let batches: Vec<&Vec<String>> = seen.iter().filter(|b| b.iter().any(|n| key_of(n) == key)).collect();
        let [batch] = batches.as_slice() else { panic!("{key} in one batch: {seen:?}") };
        let mine: Vec<&String> = batch.iter().filter(|n| key_of(n) == key).collect();
        let first = seq.iter().position(|s| s == mine[0]).unwrap();
        let second = seq.iter().position(|s| s == mine[1]).unwrap();
        assert!(first < second, "{key}: {mine:?}");
    }
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_batching_window_gathers_records_that_arrive_after_the_first_until_the_batch_is_full() {
    let (arn, mut seq) = kinesis_stream(&["ok", "ok"]).await;
    let (sqs, queue) = failure_queue().await;
    let (function, log) = test_function("window");
    let mut config = mapping("window", &arn, &queue);
    // 300 s on the time scale is 15 s here: the third record arrives well within it, and fills
    // the batch, which then goes at once.
    config.batch_size = 3;
    config.batching_window = Duration::from_secs(300);
    let service = serve(function, config).await;
    let kinesis = aws_sdk_kinesis::Client::new(&aws().await);
    let third = kinesis
        .put_record()
        .stream_arn(&arn)
        .partition_key("p")
        .data(aws_smithy_types::Blob::new("ok"))
        .send()
        .await
        .unwrap();
    seq.push(third.sequence_number);
    let seen = wait_for(LIMIT, || async { Some(batches_seen(&log)).filter(|b| !b.is_empty()) }).await;
    service.shutdown().await;
    assert!(receive_one(&sqs, &queue).await.is_none(), "nothing given up on");
    assert_eq!(seen.expect("a batch"), vec![seq], "one batch of all three");
}
