//! The invoke client over real HTTP, against a small server that speaks the Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use sluice_invoke::{Idempotence, InvokeClient, InvokeError};
use sluice_retry::RetryPolicy;

#[derive(Clone, Copy)]
enum Answer {
    Throttled,
    ServiceError,
    FunctionError,
    Ok,
}

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(String, String, String)>>>, Arc<Mutex<Vec<Option<String>>>>);

impl Seen {
    fn requests(&self) -> Vec<(String, String, String)> {
        self.0.lock().unwrap().clone()
    }

    /// Each request's `X-Amzn-Trace-Id`.
    fn traces(&self) -> Vec<Option<String>> {
        self.1.lock().unwrap().clone()
    }
}

/// Serves `script` (then `Ok` forever) and returns its endpoint and what it saw.
async fn lambda_api(script: Vec<Answer>) -> (String, Seen) {
    let seen = Seen::default();
    let next = Arc::new(Mutex::new(script.into_iter()));
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/2015-03-31/functions/{name}/invocations",
        axum::routing::post(move |Path(name): Path<String>, headers: HeaderMap, body: String| {
            let invocation_type =
                headers.get("x-amz-invocation-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            log.0.lock().unwrap().push((name, invocation_type, body.clone()));
            let trace = headers.get("x-amzn-trace-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
            log.1.lock().unwrap().push(trace);
            let answer = next.lock().unwrap().next().unwrap_or(Answer::Ok);
            async move {
                match answer {
                    Answer::Throttled => (
                        StatusCode::TOO_MANY_REQUESTS,
                        [("x-amzn-errortype", "TooManyRequestsException")],
                        r#"{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}"#.to_owned(),
                    )
                        .into_response(),
                    Answer::ServiceError => (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        [("x-amzn-errortype", "ServiceException")],
                        r#"{"message":"internal"}"#.to_owned(),
                    )
                        .into_response(),
                    Answer::FunctionError => (
                        StatusCode::OK,
                        [("x-amz-function-error", "Unhandled"), ("x-amz-executed-version", "$LATEST")],
                        r#"{"errorMessage":"boom","errorType":"Sluice.Permanent"}"#.to_owned(),
                    )
                        .into_response(),
                    Answer::Ok => (StatusCode::OK, [("x-amz-executed-version", "$LATEST")], format!(r#"{{"echo":{body}}}"#))
                        .into_response(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_lambda::config::SharedCredentialsProvider::new(
            aws_sdk_lambda::config::Credentials::new("test", "test", None, None, "test"),
        ))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build()
}

fn quick() -> RetryPolicy {
    RetryPolicy::default().base(Duration::from_millis(1)).cap(Duration::from_millis(5)).max_attempts(4)
}

#[tokio::test]
async fn throttled_twice_then_success() {
    let (url, seen) = lambda_api(vec![Answer::Throttled, Answer::Throttled]).await;
    let client = InvokeClient::new(&sdk_config(&url), quick());
    let response = client.invoke("summary", br#"{"n":1}"#.to_vec(), Idempotence::NotIdempotent).await.unwrap();
    assert_eq!(String::from_utf8(response.payload).unwrap(), r#"{"echo":{"n":1}}"#);
    assert_eq!(response.attempts, 3);
    let requests = seen.requests();
    assert_eq!(requests.len(), 3, "exactly one SDK attempt per client attempt: the SDK does not retry");
    assert!(requests.iter().all(|(name, kind, _)| name == "summary" && kind == "RequestResponse"));
}

#[tokio::test]
async fn service_errors_are_retried_until_the_attempts_run_out_when_the_call_is_idempotent() {
    let (url, seen) = lambda_api(vec![Answer::ServiceError; 10]).await;
    let err = InvokeClient::new(&sdk_config(&url), quick())
        .invoke("summary", b"{}".to_vec(), Idempotence::Idempotent)
        .await
        .unwrap_err();
    assert!(matches!(err, InvokeError::Service { class: sluice_retry::ErrorClass::Server, .. }), "{err}");
    assert_eq!(seen.requests().len(), 4);
}

#[tokio::test]
async fn a_service_error_is_not_retried_when_the_function_may_have_run() {
    let (url, seen) = lambda_api(vec![Answer::ServiceError; 10]).await;
    let err = InvokeClient::new(&sdk_config(&url), quick())
        .invoke("summary", b"{}".to_vec(), Idempotence::NotIdempotent)
        .await
        .unwrap_err();
    assert!(matches!(err, InvokeError::Service { class: sluice_retry::ErrorClass::Server, .. }), "{err}");
    assert_eq!(seen.requests().len(), 1);
    // One line, the service's code and message: no debug dump of the raw response.
    assert_eq!(err.to_string(), "invoke summary: ServiceException: internal");
}

/// A server that reads each request and hangs up without answering: the request arrived, the
/// caller never learns what came of it. Returns its endpoint and how many requests it read.
async fn hangs_up_after_reading() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read up to the end of the headers and the small body, then close.
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&chunk[..n]),
                }
            }
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(socket);
        }
    });
    (url, count)
}

#[tokio::test]
async fn a_connection_dropped_after_sending_is_not_retried_unless_idempotent() {
    let (url, requests) = hangs_up_after_reading().await;
    let err = InvokeClient::new(&sdk_config(&url), quick())
        .invoke("summary", b"{}".to_vec(), Idempotence::NotIdempotent)
        .await
        .unwrap_err();
    assert!(matches!(err, InvokeError::Service { class: sluice_retry::ErrorClass::Interrupted, .. }), "{err}");
    assert_eq!(requests.load(std::sync::atomic::Ordering::SeqCst), 1, "the function may have run: not sent again");

    let (url, requests) = hangs_up_after_reading().await;
    InvokeClient::new(&sdk_config(&url), quick())
        .invoke("summary", b"{}".to_vec(), Idempotence::Idempotent)
        .await
        .unwrap_err();
    assert_eq!(requests.load(std::sync::atomic::Ordering::SeqCst), 4, "idempotent: every attempt used");
}

#[tokio::test]
async fn a_refused_connection_is_classified_as_never_sent() {
    // A socket bound but not listening holds the port, so every connection to it is refused.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("http://{}", socket.local_addr().unwrap());
    let err = InvokeClient::new(&sdk_config(&url), quick())
        .invoke("summary", b"{}".to_vec(), Idempotence::NotIdempotent)
        .await
        .unwrap_err();
    assert!(matches!(err, InvokeError::Service { class: sluice_retry::ErrorClass::Connection, .. }), "{err}");
}

#[tokio::test]
async fn a_function_error_is_not_retried_by_default() {
    let (url, seen) = lambda_api(vec![Answer::FunctionError]).await;
    let err = InvokeClient::new(&sdk_config(&url), quick())
        .invoke("summary", b"{}".to_vec(), Idempotence::NotIdempotent)
        .await
        .unwrap_err();
    match err {
        InvokeError::Function { kind, payload, .. } => {
            assert_eq!(kind, "Unhandled");
            assert!(payload.contains("boom"), "{payload}");
        }
        other => panic!("expected a function error, got {other}"),
    }
    assert_eq!(seen.requests().len(), 1);
}

#[tokio::test]
async fn a_function_error_is_retried_when_the_call_is_idempotent() {
    let (url, seen) = lambda_api(vec![Answer::FunctionError]).await;
    let response = InvokeClient::new(&sdk_config(&url), quick())
        .invoke("summary", b"{}".to_vec(), Idempotence::Idempotent)
        .await
        .unwrap();
    assert_eq!(response.attempts, 2);
    assert_eq!(seen.requests().len(), 2);
}

#[tokio::test]
async fn a_call_made_for_a_record_carries_its_trace_into_the_invoked_function() {
    let (url, seen) = lambda_api(vec![]).await;
    let client = InvokeClient::new(&sdk_config(&url), RetryPolicy::default());
    let record = sluice_trace::TraceContext::generate();
    sluice_trace::scope(Some(record), client.invoke("f", b"{}".to_vec(), Idempotence::NotIdempotent)).await.unwrap();
    client.invoke("f", b"{}".to_vec(), Idempotence::NotIdempotent).await.unwrap();
    assert_eq!(seen.traces(), [Some(record.xray_header()), None], "the record's trace, and none outside a record");
}
