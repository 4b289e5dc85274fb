//! Trace context through the real workers, with no help from the local Lambda service: this
//! test serves the Runtime API itself (the routes and headers of the Lambda Runtime API
//! reference), hands each worker events with trace headers of its choosing, and catches the
//! webhook POSTs and the JSON log lines. S3 is the local stack's moto.
//!
//! - An SNS invocation's `Lambda-Runtime-Trace-Id` reaches the webhook POST (`traceparent` and
//!   `X-Amzn-Trace-Id`) and the log lines.
//! - Each SQS record's `AWSTraceHeader` reaches that record's POST, not the invocation's trace.
//! - A malformed `AWSTraceHeader` changes nothing else: the record is processed under the
//!   invocation's trace.
//!
//! The second test runs both workers under the local Lambda service with the OTLP export on,
//! and checks the spans this test receives as a collector would (OTLP/HTTP, JSON).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use sluice::trace::TraceContext;
use sluice_e2e::scenario::workers;
use sluice_local::wait::wait_for;

const LIMIT: Duration = Duration::from_secs(30);
const INVOCATION: &str = "Root=1-6752a1b0-00000000000000000000aaaa;Parent=1111111111111111;Sampled=1";
const RECORD_A: &str = "Root=1-6752a1b0-00000000000000000000bbbb;Parent=2222222222222222;Sampled=1";
const RECORD_B: &str = "Root=1-6752a1b0-00000000000000000000cccc;Parent=3333333333333333;Sampled=1";

/// What the fake Runtime API and webhook hold and saw.
#[derive(Default)]
struct Fake {
    /// Events still to hand out: (trace header, event).
    events: Mutex<VecDeque<(String, Value)>>,
    /// The runtime's answers: (request id, route, body).
    answers: Mutex<Vec<(String, String, String)>>,
    /// Webhook POSTs: (headers, body).
    posts: Mutex<Vec<(HeaderMap, Value)>>,
    /// Spans received on the OTLP/HTTP endpoint (`/v1/traces`, JSON).
    spans: Mutex<Vec<Span>>,
}

/// One exported span, as OTLP/JSON writes it.
#[derive(Debug, Clone)]
struct Span {
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    /// The trace ids of its links.
    links: Vec<String>,
    /// The function that exported it (`service.name`).
    service: String,
}

/// The spans of an OTLP/JSON `ExportTraceServiceRequest` (OTLP specification, "OTLP/HTTP":
/// ids as hex strings).
fn otlp_spans(request: &Value) -> Vec<Span> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let mut spans = Vec::new();
    for resource in request["resourceSpans"].as_array().into_iter().flatten() {
        let service = resource["resource"]["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["key"] == "service.name")
            .map(|a| text(&a["value"]["stringValue"]))
            .unwrap_or_default();
        for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
            for span in scope["spans"].as_array().into_iter().flatten() {
                spans.push(Span {
                    name: text(&span["name"]),
                    trace_id: text(&span["traceId"]),
                    span_id: text(&span["spanId"]),
                    parent_span_id: text(&span["parentSpanId"]),
                    links: span["links"].as_array().into_iter().flatten().map(|l| text(&l["traceId"])).collect(),
                    service: service.clone(),
                });
            }
        }
    }
    spans
}

async fn next(State(fake): State<Arc<Fake>>) -> axum::response::Response {
    let Some((trace, event)) =
        wait_for(Duration::from_secs(3600), || async { fake.events.lock().unwrap().pop_front() }).await
    else {
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let deadline = sluice_clock::now_millis() + 30_000;
    (
        [
            ("content-type", "application/json".to_owned()),
            ("lambda-runtime-aws-request-id", request_id),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            ("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:123456789012:function:traced".to_owned()),
            ("lambda-runtime-trace-id", trace),
        ],
        event.to_string(),
    )
        .into_response()
}

/// Serves the Runtime API under `/2018-06-01` and the webhook at `/hook`.
async fn serve(fake: Arc<Fake>) -> SocketAddr {
    use axum::extract::Path as UrlPath;
    use axum::routing::{get, post};
    let answer = |route: &'static str| {
        move |State(fake): State<Arc<Fake>>, UrlPath(id): UrlPath<String>, body: String| async move {
            fake.answers.lock().unwrap().push((id, route.to_owned(), body));
            axum::http::StatusCode::ACCEPTED
        }
    };
    let app = axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(answer("response")))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(answer("error")))
        .route(
            "/2018-06-01/runtime/init/error",
            post(|State(fake): State<Arc<Fake>>, body: String| async move {
                fake.answers.lock().unwrap().push((String::new(), "init".to_owned(), body));
                axum::http::StatusCode::ACCEPTED
            }),
        )
        .route(
            "/v1/traces",
            post(|State(fake): State<Arc<Fake>>, body: String| async move {
                let request: Value = serde_json::from_str(&body).expect("OTLP/JSON");
                fake.spans.lock().unwrap().extend(otlp_spans(&request));
                ([("content-type", "application/json")], "{}")
            }),
        )
        .route(
            "/hook",
            post(|State(fake): State<Arc<Fake>>, headers: HeaderMap, body: String| async move {
                fake.posts.lock().unwrap().push((headers, serde_json::from_str(&body).unwrap_or(Value::Null)));
                axum::http::StatusCode::OK
            }),
        )
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

/// The worker `name`, on this test's Runtime API, its JSON log lines going to `log`.
fn start_worker(name: &str, api: SocketAddr, bucket: &str, log: &Path) -> tokio::process::Child {
    let log = std::fs::File::create(log).unwrap();
    tokio::process::Command::new(workers().join(name))
        .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "traced")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
        .env("RESULTS_BUCKET", bucket)
        .env("WEBHOOK_URL", format!("http://{api}/hook"))
        .env("WEBHOOK_ALLOW_HTTP", "true")
        .env_remove("RUST_LOG")
        .stdout(log)
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// The S3 notification of the object `key` as it is now.
async fn s3_event(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> String {
    let head = s3.head_object().bucket(bucket).key(key).send().await.unwrap();
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap(),
        "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
               "object": {"key": key, "size": head.content_length(), "eTag": head.e_tag().unwrap().trim_matches('"'),
                          "sequencer": "0065F2B0E1C2A3B4C5"}}
    }]})
    .to_string()
}

fn sqs_record(id: &str, body: String, trace: Option<&str>) -> Value {
    let mut attributes = json!({
        "ApproximateReceiveCount": "1", "SentTimestamp": sluice_clock::now_millis().to_string(),
        "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": sluice_clock::now_millis().to_string()
    });
    if let Some(trace) = trace {
        attributes["AWSTraceHeader"] = json!(trace);
    }
    json!({
        "messageId": id, "receiptHandle": format!("rh-{id}"), "body": body, "attributes": attributes,
        "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:uploads", "awsRegion": "us-east-1"
    })
}

fn sns_event(message: String) -> Value {
    json!({"Records": [{
        "EventVersion": "1.0", "EventSource": "aws:sns",
        "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:uploads:sub",
        "Sns": {"Type": "Notification", "MessageId": uuid::Uuid::new_v4().to_string(),
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:uploads", "Subject": "Amazon S3 Notification",
                "Message": message,
                "Timestamp": time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap(),
                "SignatureVersion": "1", "Signature": "x", "SigningCertUrl": "https://sns.example/cert.pem",
                "UnsubscribeUrl": "https://sns.example/unsub", "MessageAttributes": {}}
    }]})
}

fn trace_hex(header: &str) -> String {
    TraceContext::parse(header).unwrap().trace_id.to_string()
}

/// The trace id of the webhook POST for `key`, from both headers (which must agree).
fn post_trace(fake: &Fake, key: &str) -> String {
    let posts = fake.posts.lock().unwrap();
    let (headers, _) = posts.iter().find(|(_, body)| body["key"] == key).unwrap_or_else(|| panic!("no POST for {key}"));
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name}"));
    let w3c = TraceContext::parse(header("traceparent")).unwrap();
    let xray = TraceContext::parse(header("x-amzn-trace-id")).unwrap();
    assert_eq!(w3c.trace_id, xray.trace_id, "both headers name one trace");
    w3c.trace_id.to_string()
}

/// The `trace_id` the worker's `item done` line for `key` names.
fn logged_trace(log: &Path, bucket: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(log).unwrap();
    let label = format!("{bucket}/{key}");
    let line = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["fields"]["message"] == "item done" && l["fields"]["key"] == label.as_str())
        .unwrap_or_else(|| panic!("no `item done` line for {label} in {}", log.display()));
    line["span"]["trace_id"].as_str().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn each_records_trace_reaches_its_webhook_post_and_log_lines_through_an_independent_runtime_api() {
    let aws = aws_config::load_from_env().await;
    let s3 = sluice::aws::s3_client(&aws);
    let bucket = format!("trace-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    for key in ["sns.csv", "a.csv", "b.csv", "c.csv"] {
        let body = aws_sdk_s3::primitives::ByteStream::from(format!("{key}\n1,2\n").into_bytes());
        s3.put_object().bucket(&bucket).key(key).body(body).send().await.unwrap();
    }
    let dir = std::env::temp_dir().join(format!("sluice-trace-{bucket}"));
    std::fs::create_dir_all(&dir).unwrap();

    // The direct path: one SNS invocation under INVOCATION.
    let fake = Arc::new(Fake::default());
    let api = serve(fake.clone()).await;
    let event = sns_event(s3_event(&s3, &bucket, "sns.csv").await);
    fake.events.lock().unwrap().push_back((INVOCATION.to_owned(), event));
    let sns_log = dir.join("sns-worker.log");
    let mut worker = start_worker("sns-worker", api, &bucket, &sns_log);
    wait_for(LIMIT, || async { (!fake.answers.lock().unwrap().is_empty()).then_some(()) }).await.expect("an answer");
    worker.kill().await.unwrap();
    assert_eq!(fake.answers.lock().unwrap()[0].1, "response", "{:?}", fake.answers.lock().unwrap());
    assert_eq!(post_trace(&fake, "sns.csv"), trace_hex(INVOCATION), "the invocation's trace reaches the POST");
    assert_eq!(logged_trace(&sns_log, &bucket, "sns.csv"), Some(trace_hex(INVOCATION)));

    // The queue path: one batch under INVOCATION whose records carry their senders' traces,
    // one of them malformed.
    let fake = Arc::new(Fake::default());
    let api = serve(fake.clone()).await;
    let batch = json!({"Records": [
        sqs_record("m-a", s3_event(&s3, &bucket, "a.csv").await, Some(RECORD_A)),
        sqs_record("m-b", s3_event(&s3, &bucket, "b.csv").await, Some(RECORD_B)),
        sqs_record("m-c", s3_event(&s3, &bucket, "c.csv").await, Some("Root=1-zzzz;Parent=?")),
    ]});
    fake.events.lock().unwrap().push_back((INVOCATION.to_owned(), batch));
    let sqs_log = dir.join("sqs-worker.log");
    let mut worker = start_worker("sqs-worker", api, &bucket, &sqs_log);
    wait_for(LIMIT, || async { (!fake.answers.lock().unwrap().is_empty()).then_some(()) }).await.expect("an answer");
    worker.kill().await.unwrap();
    let (_, route, body) = fake.answers.lock().unwrap()[0].clone();
    assert_eq!(
        (route.as_str(), serde_json::from_str::<Value>(&body).unwrap()),
        ("response", json!({"batchItemFailures": []}))
    );
    assert_eq!(post_trace(&fake, "a.csv"), trace_hex(RECORD_A), "record a's own trace, not the invocation's");
    assert_eq!(post_trace(&fake, "b.csv"), trace_hex(RECORD_B));
    assert_eq!(post_trace(&fake, "c.csv"), trace_hex(INVOCATION), "a malformed header falls back, and fails nothing");
    assert_eq!(logged_trace(&sqs_log, &bucket, "a.csv"), Some(trace_hex(RECORD_A)));
    assert_eq!(logged_trace(&sqs_log, &bucket, "b.csv"), Some(trace_hex(RECORD_B)));
    assert_eq!(logged_trace(&sqs_log, &bucket, "c.csv"), Some(trace_hex(INVOCATION)));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A worker under the local service, exporting spans to `api`'s collector.
fn traced_function(name: &str, worker: &str, api: SocketAddr, bucket: &str) -> sluice_local::FunctionConfig {
    let mut environment: std::collections::BTreeMap<String, String> = std::env::vars()
        .filter(|(k, _)| {
            k.starts_with("AWS_ENDPOINT_URL") || k.starts_with("AWS_ACCESS_KEY") || k == "AWS_SECRET_ACCESS_KEY"
        })
        .collect();
    for (key, value) in [
        ("RESULTS_BUCKET", bucket.to_owned()),
        ("WEBHOOK_URL", format!("http://{api}/hook")),
        ("WEBHOOK_ALLOW_HTTP", "true".to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{api}")),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json".to_owned()),
    ] {
        environment.insert(key.to_owned(), value);
    }
    let mut config: sluice_local::FunctionConfig = serde_json::from_value(json!({
        "name": name, "bootstrap": workers().join(worker), "timeout": 30_000, "memory_mb": 256,
    }))
    .unwrap();
    config.environment = environment;
    config.tracing = sluice_local::config::TracingMode::Active;
    config
}

/// The one span named `name` of `service` in `trace` (hex).
fn one<'a>(spans: &'a [Span], service: &str, name: &str, trace: &str) -> &'a Span {
    let found: Vec<&Span> =
        spans.iter().filter(|s| s.service == service && s.name == name && s.trace_id == trace).collect();
    let all: Vec<(&str, &str, &str, &str)> = spans
        .iter()
        .filter(|s| s.service == service)
        .map(|s| (s.name.as_str(), s.trace_id.as_str(), s.span_id.as_str(), s.parent_span_id.as_str()))
        .collect();
    assert_eq!(found.len(), 1, "{service}: spans {name:?} in trace {trace}: {found:?}; all its spans: {all:#?}");
    found[0]
}

/// The children of `parent` named `name`.
fn children<'a>(spans: &'a [Span], parent: &Span, name: &str) -> Vec<&'a Span> {
    spans
        .iter()
        .filter(|s| s.parent_span_id == parent.span_id && s.trace_id == parent.trace_id && s.name == name)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn both_workers_export_their_spans_over_otlp_before_answering() {
    let aws = aws_config::load_from_env().await;
    let s3 = sluice::aws::s3_client(&aws);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let bucket = format!("otlp-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    for key in ["sns.csv", "a.csv", "b.csv", "c.csv"] {
        let body = aws_sdk_s3::primitives::ByteStream::from(format!("{key}\n1,2\n").into_bytes());
        s3.put_object().bucket(&bucket).key(key).body(body).send().await.unwrap();
    }
    let queue = sqs.create_queue().queue_name(&bucket).send().await.unwrap().queue_url.unwrap();
    let fake = Arc::new(Fake::default());
    let api = serve(fake.clone()).await;
    let log_dir = std::env::temp_dir().join(format!("sluice-{bucket}"));
    let service = sluice_local::LocalLambda::start(
        sluice_local::ServiceConfig {
            functions: vec![
                traced_function("queue-worker", "sqs-worker", api, &bucket),
                traced_function("direct-worker", "sns-worker", api, &bucket),
            ],
            event_source_mappings: vec![sluice_local::EventSourceMappingConfig {
                function: "queue-worker".into(),
                queue_url: queue.clone(),
                batch_size: 10,
                batching_window: Duration::from_secs(1),
                maximum_concurrency: None,
                report_batch_item_failures: true,
            }],
            ..Default::default()
        },
        sluice_local::ServiceOptions { port: 0, log_dir: log_dir.clone(), aws: aws.clone() },
    )
    .await
    .unwrap();

    // The direct path: an asynchronous invocation whose caller sent INVOCATION.
    let response = reqwest::Client::new()
        .post(format!("{}/2015-03-31/functions/direct-worker/invocations", service.endpoint()))
        .header("X-Amz-Invocation-Type", "Event")
        .header("X-Amzn-Trace-Id", INVOCATION)
        .body(sns_event(s3_event(&s3, &bucket, "sns.csv").await).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    // The queue path: a with its sender's trace, b without, c with a malformed one.
    for (key, header) in [("a.csv", Some(RECORD_A)), ("b.csv", None), ("c.csv", Some("Root=1-zz;Sampled=1"))] {
        let mut send = sqs.send_message().queue_url(&queue).message_body(s3_event(&s3, &bucket, key).await);
        if let Some(header) = header {
            let value = aws_sdk_sqs::types::MessageSystemAttributeValue::builder()
                .data_type("String")
                .string_value(header)
                .build()
                .unwrap();
            send = send.message_system_attributes(
                aws_sdk_sqs::types::MessageSystemAttributeNameForSends::AwsTraceHeader,
                value,
            );
        }
        send.send().await.unwrap();
    }

    // Spans are flushed before each invocation answers: wait for the four messages and the
    // invocation each belongs to (its parent, or the invocation linking to it).
    let spans = wait_for(LIMIT, || async {
        let spans = fake.spans.lock().unwrap().clone();
        let messages: Vec<&Span> = spans.iter().filter(|s| s.name == "message").collect();
        let placed = |m: &&Span| {
            spans.iter().any(|s| s.span_id == m.parent_span_id && s.name == "invocation")
                || spans.iter().any(|s| s.name == "invocation" && s.links.contains(&m.trace_id))
        };
        (messages.len() == 4 && messages.iter().all(placed)).then_some(spans)
    })
    .await
    .unwrap_or_else(|| panic!("spans of four messages; got {:?}", fake.spans.lock().unwrap()));
    service.shutdown().await;

    // Direct: invocation -> message -> claim, process (-> S3.GetObject, webhook POST), complete.
    let direct = trace_hex(INVOCATION);
    let invocation = one(&spans, "direct-worker", "invocation", &direct);
    let message = one(&spans, "direct-worker", "message", &direct);
    assert_eq!(message.parent_span_id, invocation.span_id);
    for name in ["claim", "process", "complete"] {
        assert_eq!(children(&spans, message, name).len(), 1, "one {name} under the message");
    }
    let process = children(&spans, message, "process")[0];
    assert_eq!(children(&spans, process, "S3.GetObject").len(), 1, "the SDK call under process");
    assert_eq!(children(&spans, process, "webhook POST").len(), 1, "the partner call under process");
    assert_eq!(post_trace(&fake, "sns.csv"), direct, "the POST carries the trace its spans are in");

    // Queue: a's message continues its sender's trace and the invocation links to it; b and c
    // are children of the invocation, in its trace.
    let record_a = trace_hex(RECORD_A);
    let message_a = one(&spans, "queue-worker", "message", &record_a);
    assert_eq!(children(&spans, message_a, "process").len(), 1);
    let queue_invocations: Vec<&Span> =
        spans.iter().filter(|s| s.service == "queue-worker" && s.name == "invocation").collect();
    assert!(
        queue_invocations.iter().any(|i| i.links.contains(&record_a)),
        "an invocation links to a's trace: {queue_invocations:?}"
    );
    assert_eq!(post_trace(&fake, "a.csv"), record_a);
    for key in ["b.csv", "c.csv"] {
        let trace = post_trace(&fake, key);
        let invocation = queue_invocations.iter().find(|i| i.trace_id == trace).expect("the invocation's trace");
        assert!(children(&spans, invocation, "message").iter().any(|m| m.trace_id == trace), "{key}");
    }
    // The log lines name each message's trace.
    let log = log_dir.join("queue-worker.log");
    assert_eq!(logged_trace(&log, &bucket, "a.csv"), Some(record_a));
    let _ = std::fs::remove_dir_all(&log_dir);
}
