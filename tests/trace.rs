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
    fake.events.lock().unwrap().push_back((INVOCATION.to_owned(), sns_event(s3_event(&s3, &bucket, "sns.csv").await)));
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
