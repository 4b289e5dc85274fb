//! A small function for testing the local Lambda service, driven by its event. With
//! `TEST_FUNCTION_EVENT_LOG` set, it appends every event it receives to that file; with
//! `TEST_FUNCTION_TRACE_LOG`, every invocation's `Lambda-Runtime-Trace-Id`.
//!
//! - `{"action":"echo", ...}`: returns the event.
//! - `{"action":"context"}`: returns the request id, deadline, function ARN and Lambda variables.
//! - `{"action":"sleep","ms":N,"n":K}`: sleeps, then returns `{"slept":N,"n":K}` with its request
//!   id and process id.
//! - `{"action":"barrier","of":N,"n":K}`: waits until N invocations are in this process at once
//!   (up to 5 s), then returns `{"met":true|false,"n":K}` with its request id and process id. On
//!   an instance that runs invocations one at a time, it is never met.
//! - `{"action":"hold","mb":N}`: keeps N MiB resident (written, so counted) for the life of
//!   the process, and returns `{"held_mb":total}`.
//! - `{"action":"connect","to":"ADDR:PORT","timeout_ms":N}`: opens a TCP connection and returns
//!   `{"connected":bool,"local":ADDR,"error":...,"netns":"net:[inode]"}` (its network namespace).
//! - `{"action":"fail"}`: returns an error (a function error).
//! - `{"action":"crash"}`: exits the process.
//! - With `TEST_FUNCTION_INIT_HANGS` set, it never asks for an event (an init that hangs).
//! - With `TEST_FUNCTION_INIT_ERROR` set, it posts that error type to `/runtime/init/error` at
//!   start and then waits, never asking for an event (as a runtime whose init failed).
//! - An SQS event: each record's body says what to do: `ok`, `fail` (reported in
//!   `batchItemFailures`), `sleep:N`, `error` (the whole invocation fails), `unknown-id` (reports
//!   an id that is not in the batch), `not-an-object` (answers a JSON string).
//! - A Kinesis or DynamoDB Streams event: each record says what to do in its data (Kinesis) or
//!   in its `NewImage`'s `action` (DynamoDB): `ok`, `fail` (its sequence number reported in
//!   `batchItemFailures`; the records after it still run, so the mapping's checkpoint is what
//!   keeps order), `error` (the whole invocation fails).

use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, ctx) = event.into_parts();
    if let Ok(path) = std::env::var("TEST_FUNCTION_EVENT_LOG") {
        use std::io::Write;
        let mut log = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        // One write per line: instances of one function append to the same file at once.
        log.write_all(format!("{payload}\n").as_bytes())?;
    }
    if let Ok(path) = std::env::var("TEST_FUNCTION_TRACE_LOG") {
        use std::io::Write;
        let mut log = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        writeln!(log, "{}", ctx.xray_trace_id.as_deref().unwrap_or("none"))?;
    }
    match payload.get("Records").and_then(|r| r.get(0)).and_then(|r| r.get("eventSource")).and_then(Value::as_str) {
        Some("aws:sqs") => return sqs(payload).await,
        Some("aws:kinesis" | "aws:dynamodb") => return stream(payload),
        _ => {}
    }
    let env: serde_json::Map<String, Value> = [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_MAX_CONCURRENCY",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "_HANDLER",
        "LANG",
        "TZ",
    ]
    .iter()
    .map(|name| (name.to_string(), json!(std::env::var(name).ok())))
    .collect();
    match payload.get("action").and_then(Value::as_str).unwrap_or("echo") {
        "context" => Ok(json!({
            "request_id": ctx.request_id,
            "deadline_ms": ctx.deadline,
            "now_ms": sluice_clock::now_millis(),
            "function_arn": ctx.invoked_function_arn,
            "trace_id": ctx.xray_trace_id,
            "function_name": std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok(),
            "memory": std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").ok(),
            "env": env,
        })),
        "sleep" => {
            let ms = payload.get("ms").and_then(Value::as_u64).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(json!({ "slept": ms, "request_id": ctx.request_id, "n": payload.get("n"), "pid": std::process::id() }))
        }
        "barrier" => {
            let of = payload.get("of").and_then(Value::as_u64).unwrap_or(1) as usize;
            let met = barrier(of).await;
            Ok(json!({ "met": met, "request_id": ctx.request_id, "n": payload.get("n"), "pid": std::process::id() }))
        }
        "hold" => {
            static HELD: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());
            let mb = payload.get("mb").and_then(Value::as_u64).unwrap_or(0) as usize;
            let mut held = HELD.lock().expect("held memory");
            held.push(vec![1u8; mb * 1024 * 1024]);
            let total: usize = held.iter().map(Vec::len).sum();
            Ok(json!({ "held_mb": total / (1024 * 1024) }))
        }
        "connect" => {
            let to = payload.get("to").and_then(Value::as_str).unwrap_or_default();
            let limit = Duration::from_millis(payload.get("timeout_ms").and_then(Value::as_u64).unwrap_or(1000));
            let netns = std::fs::read_link("/proc/self/ns/net").map(|l| l.display().to_string()).ok();
            let (connected, local, error) = match tokio::time::timeout(limit, tokio::net::TcpStream::connect(to)).await
            {
                Ok(Ok(stream)) => (true, stream.local_addr().ok().map(|a| a.to_string()), None),
                Ok(Err(e)) => (false, None, Some(e.to_string())),
                Err(_) => (false, None, Some(format!("timed out after {limit:?}"))),
            };
            Ok(json!({ "connected": connected, "local": local, "error": error, "netns": netns }))
        }
        "fail" => Err("the test function was asked to fail".into()),
        "crash" => std::process::exit(3),
        _ => Ok(payload),
    }
}

/// Invocations inside `barrier` now; whether `of` were ever inside at once (sticky, so one
/// leaving early cannot hide it from the others); a wake-up for each change.
static INSIDE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static MET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static CHANGED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Waits until `of` invocations are inside at once, for at most 5 s.
async fn barrier(of: usize) -> bool {
    use std::sync::atomic::Ordering;
    if INSIDE.fetch_add(1, Ordering::SeqCst) + 1 >= of {
        MET.store(true, Ordering::SeqCst);
    }
    CHANGED.notify_waiters();
    let give_up = tokio::time::Instant::now() + Duration::from_secs(5);
    let met = loop {
        let change = CHANGED.notified();
        if MET.load(Ordering::SeqCst) {
            break true;
        }
        if tokio::time::timeout_at(give_up, change).await.is_err() {
            break false;
        }
    };
    INSIDE.fetch_sub(1, Ordering::SeqCst);
    met
}

async fn sqs(payload: Value) -> Result<Value, Error> {
    let mut failures = Vec::new();
    for record in payload["Records"].as_array().into_iter().flatten() {
        let id = record["messageId"].as_str().unwrap_or_default();
        match record["body"].as_str().unwrap_or_default() {
            "fail" => failures.push(json!({ "itemIdentifier": id })),
            "error" => return Err("a record asked the whole invocation to fail".into()),
            "unknown-id" => failures.push(json!({ "itemIdentifier": "not-in-this-batch" })),
            "not-an-object" => return Ok(json!("done")),
            sleep if sleep.starts_with("sleep:") => {
                let ms: u64 = sleep["sleep:".len()..].parse().unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            _ => {}
        }
    }
    Ok(json!({ "batchItemFailures": failures }))
}

fn stream(payload: Value) -> Result<Value, Error> {
    let mut failures = Vec::new();
    for record in payload["Records"].as_array().into_iter().flatten() {
        let (sequence_number, action) = match record["eventSource"].as_str() {
            Some("aws:kinesis") => {
                let data = aws_smithy_types::base64::decode(record["kinesis"]["data"].as_str().unwrap_or_default())?;
                (&record["kinesis"]["sequenceNumber"], String::from_utf8(data)?)
            }
            _ => (
                &record["dynamodb"]["SequenceNumber"],
                record["dynamodb"]["NewImage"]["action"]["S"].as_str().unwrap_or("ok").to_owned(),
            ),
        };
        match action.as_str() {
            "fail" => failures.push(json!({ "itemIdentifier": sequence_number })),
            "error" => return Err("a record asked the whole invocation to fail".into()),
            _ => {}
        }
    }
    Ok(json!({ "batchItemFailures": failures }))
}

/// Posts an init error to the Runtime API by hand (as the Python and Node.js runtime clients do).
fn post_init_error(error_type: &str) -> std::io::Result<()> {
    use std::io::{Read, Write};
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(std::io::Error::other)?;
    let body = json!({"errorMessage": "the test function failed to initialise", "errorType": error_type}).to_string();
    let mut stream = std::net::TcpStream::connect(&api)?;
    write!(
        stream,
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\nContent-Type: application/json\r\n\
         Lambda-Runtime-Function-Error-Type: {error_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    if std::env::var_os("TEST_FUNCTION_INIT_HANGS").is_some() {
        std::future::pending::<()>().await;
    }
    if let Ok(error_type) = std::env::var("TEST_FUNCTION_INIT_ERROR") {
        post_init_error(&error_type)?;
        std::future::pending::<()>().await;
    }
    // Several invocations at once when AWS_LAMBDA_MAX_CONCURRENCY says so (Managed Instances).
    lambda_runtime::run_concurrent(service_fn(handle)).await
}
