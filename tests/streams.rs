//! A DynamoDB table's stream feeding the audit-trail example worker (`examples/audit-trail`,
//! `DynamoDbStreamHandler` with DynamoDB idempotency) under the local Lambda service's stream
//! mapping, on moto: order kept under a failure in the middle, a crash mid-batch that loses
//! nothing and whose replays are not applied twice, a hostile record failing alone into the
//! worker's dead-letter queue. (Bisection isolating a poison record into the on-failure queue
//! is `engine/sluice-local/tests/streams.rs`.) Run by `scripts/test`; `#[ignore]`d for a bare
//! `cargo test`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType,
};
use serde_json::{Value, json};
use sluice_local::wait::{receive_one, wait_for};
use sluice_local::{LocalLambda, ServiceConfig, ServiceOptions, StreamMappingConfig};

const LIMIT: Duration = Duration::from_secs(60);

fn unique(name: &str) -> String {
    format!("{name}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// The audit-trail bootstrap, built beside this test.
fn bootstrap() -> PathBuf {
    let mut dir = std::env::current_exe().unwrap().parent().unwrap().to_owned();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join("audit-trail");
    assert!(path.exists(), "{} is missing: cargo build -p audit-trail", path.display());
    path
}

async fn table(
    dynamodb: &aws_sdk_dynamodb::Client,
    name: &str,
    sort_key: Option<&str>,
    stream: bool,
) -> Option<String> {
    let string = |name: &str| {
        AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build().unwrap()
    };
    let key = |name: &str, kind| KeySchemaElement::builder().attribute_name(name).key_type(kind).build().unwrap();
    let mut create = dynamodb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string("pk"))
        .key_schema(key("pk", KeyType::Hash));
    if let Some(sort) = sort_key {
        create = create.attribute_definitions(string(sort)).key_schema(key(sort, KeyType::Range));
    }
    if stream {
        let spec = StreamSpecification::builder()
            .stream_enabled(true)
            .stream_view_type(StreamViewType::NewAndOldImages)
            .build()
            .unwrap();
        create = create.stream_specification(spec);
    }
    create.send().await.unwrap().table_description.unwrap().latest_stream_arn
}

/// The audit entries: order id -> (sequence number, writes, written_ms).
async fn audit_entries(dynamodb: &aws_sdk_dynamodb::Client, table: &str) -> HashMap<String, (String, u64, u64)> {
    let out = dynamodb.scan().table_name(table).send().await.unwrap();
    let text = |item: &HashMap<String, AttributeValue>, k: &str| match item.get(k) {
        Some(AttributeValue::S(s) | AttributeValue::N(s)) => s.clone(),
        other => panic!("{k}: {other:?}"),
    };
    out.items()
        .iter()
        .map(|item| {
            let id = text(item, "pk").trim_start_matches("order#").to_owned();
            (id, (text(item, "sk"), text(item, "writes").parse().unwrap(), text(item, "written_ms").parse().unwrap()))
        })
        .collect()
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_table_stream_keeps_its_audit_trail_in_order_and_once_through_a_crash_and_a_hostile_record() {
    assert!(std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_some(), "run scripts/test: the stack's moto");
    let aws = aws_config::load_from_env().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let (orders, audit, idempotency) = (unique("orders"), unique("audit"), unique("idempotency"));
    let stream = table(&dynamodb, &orders, None, true).await.expect("the orders table's stream");
    table(&dynamodb, &audit, Some("sk"), false).await;
    sluice::stores::DynamoDbStore::create_table(&dynamodb, &idempotency, None).await.unwrap();
    let queue = |name: String| {
        let sqs = sqs.clone();
        async move { sqs.create_queue().queue_name(name).send().await.unwrap().queue_url.unwrap() }
    };
    let (on_failure, dead_letters) = (queue(unique("stream-failures")).await, queue(unique("audit-dlq")).await);

    // Six changes in order: a transient failure in the middle (o2), a hostile image (o4: its
    // total is not a number), a record that crashes the worker the first time it runs (o5).
    for (id, status, total) in [
        ("o1", "placed", json!({"N": "10"})),
        ("o2", "flaky", json!({"N": "20"})),
        ("o3", "placed", json!({"N": "30"})),
        ("o4", "placed", json!({"S": "x".repeat(10_000)})),
        ("o5", "crash", json!({"N": "50"})),
        ("o6", "placed", json!({"N": "60"})),
    ] {
        let total = match total {
            Value::Object(o) if o.contains_key("N") => AttributeValue::N(o["N"].as_str().unwrap().into()),
            Value::Object(o) => AttributeValue::S(o["S"].as_str().unwrap().into()),
            _ => unreachable!(),
        };
        dynamodb
            .put_item()
            .table_name(&orders)
            .item("pk", AttributeValue::S(id.into()))
            .item("id", AttributeValue::S(id.into()))
            .item("status", AttributeValue::S(status.into()))
            .item("total", total)
            .send()
            .await
            .unwrap();
    }

    let marker = std::env::temp_dir().join(format!("{}.crashed", unique("audit")));
    let endpoint = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name}: run scripts/test"));
    let function = serde_json::from_value(json!({
        "name": "audit-trail",
        "bootstrap": bootstrap(),
        "timeout": 10_000,
        "memory_mb": 256,
        "environment": {
            "AUDIT_TABLE": audit, "IDEMPOTENCY_TABLE": idempotency, "DEAD_LETTER_QUEUE_URL": dead_letters,
            "AUDIT_FAIL_ONCE_ON_STATUS": "flaky", "AUDIT_EXIT_ONCE_ON_STATUS": "crash",
            "AUDIT_EXIT_MARKER": marker, "IDEMPOTENCY_LEASE_MS": "500",
            "AWS_ENDPOINT_URL": endpoint("AWS_ENDPOINT_URL"),
            "AWS_ENDPOINT_URL_DYNAMODB": endpoint("AWS_ENDPOINT_URL_DYNAMODB"),
            "AWS_ACCESS_KEY_ID": endpoint("AWS_ACCESS_KEY_ID"), "AWS_SECRET_ACCESS_KEY": endpoint("AWS_SECRET_ACCESS_KEY"),
            "AWS_REGION": endpoint("AWS_REGION"),
        },
    }))
    .unwrap();
    let mapping: StreamMappingConfig = serde_json::from_value(json!({
        "function": "audit-trail", "event_source_arn": stream, "batch_size": 10,
        "bisect_batch_on_function_error": true, "on_failure_queue_url": on_failure,
    }))
    .unwrap();
    let config = ServiceConfig {
        functions: vec![function],
        stream_mappings: vec![mapping],
        time_scale: Some(20.0),
        ..Default::default()
    };
    let options =
        ServiceOptions { port: 0, log_dir: std::env::temp_dir().join("sluice-e2e-streams"), aws: aws.clone() };
    let service = LocalLambda::start(config, options).await.unwrap();

    let entries = wait_for(LIMIT, || async {
        let entries = audit_entries(&dynamodb, &audit).await;
        (entries.len() >= 5).then_some(entries)
    })
    .await;
    let letter = wait_for(LIMIT, || receive_one(&sqs, &dead_letters)).await.expect("o4 in the dead-letter queue");
    service.shutdown().await;

    // Every good change written, once each, though o2 and o3 ran again after the crash.
    let entries = entries.expect("five audit entries");
    let mut ids: Vec<&str> = entries.keys().map(String::as_str).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["o1", "o2", "o3", "o5", "o6"], "{entries:?}");
    for (id, (_, writes, _)) in &entries {
        assert_eq!(*writes, 1, "{id} written {writes} times");
    }
    // Order kept: no change written before the one before it, though o2 failed first and o5
    // crashed the worker.
    let written = |id: &str| entries[id].2;
    assert!(written("o1") <= written("o2") && written("o2") <= written("o3"), "{entries:?}");
    assert!(written("o3") <= written("o5") && written("o5") <= written("o6"), "{entries:?}");
    assert!(marker.exists(), "the worker crashed once");
    // The hostile image, failed alone: the letter is the record, with a bounded reason naming
    // the type.
    let record: Value = serde_json::from_str(letter.body().unwrap_or("{}")).unwrap_or(Value::Null);
    assert_eq!(record["dynamodb"]["Keys"]["pk"]["S"], "o4", "{record}");
    let attributes = letter.message_attributes().unwrap();
    let reason = attributes.values().filter_map(|v| v.string_value()).find(|v| v.contains("NewImage"));
    let reason = reason.unwrap_or_else(|| panic!("a reason naming NewImage: {attributes:?}"));
    assert!(reason.contains("Order") && reason.len() < 600, "{reason}");
    // Nothing was given up on: no record reached the mapping's on-failure queue.
    assert!(receive_one(&sqs, &on_failure).await.is_none(), "nothing parked");
    let _ = std::fs::remove_file(&marker);
}

/// The example's own template, deployed with `sluice local up`: its `DynamoDB` event becomes the
/// local service's stream mapping, with the template's settings and on-failure queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn the_examples_template_deploys_its_dynamodb_event_under_local_up() {
    assert!(std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_some(), "run scripts/test: the stack's moto");
    let aws = aws_config::load_from_env().await;
    let name = unique("audit");
    let log_dir = std::env::temp_dir().join("sluice-e2e").join(&name);
    let workers = bootstrap().parent().unwrap().to_owned();
    let template = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/audit-trail/template.yaml");
    let mut command = std::process::Command::new(workers.join("sluice"));
    command
        .args(["local", "up", "--template"])
        .arg(&template)
        .args(["--stack-name", &name, "--port", "0", "--time-scale", "60", "--workers"])
        .arg(&workers)
        .arg("--log-dir")
        .arg(&log_dir);
    let up = sluice_e2e::local_up::LocalUp::start(command);
    let output = |key: &str| up.outputs.get(key).cloned().unwrap_or_else(|| panic!("no output {key}: {:?}", up.said));
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    for (id, total) in [("t1", "5"), ("t2", "6"), ("t3", "7")] {
        dynamodb
            .put_item()
            .table_name(output("OrdersTableName"))
            .item("pk", AttributeValue::S(id.into()))
            .item("id", AttributeValue::S(id.into()))
            .item("status", AttributeValue::S("placed".into()))
            .item("total", AttributeValue::N(total.into()))
            .send()
            .await
            .unwrap();
    }
    let audit = output("AuditTableName");
    let entries = wait_for(LIMIT, || async {
        let entries = audit_entries(&dynamodb, &audit).await;
        (entries.len() >= 3).then_some(entries)
    })
    .await
    .unwrap_or_else(|| panic!("three audit entries within {LIMIT:?}: {:?}", up.said));
    drop(up);
    let mut ids: Vec<&str> = entries.keys().map(String::as_str).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["t1", "t2", "t3"]);
    assert!(entries.values().all(|(_, writes, _)| *writes == 1), "{entries:?}");
}
