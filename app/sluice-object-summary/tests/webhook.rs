//! The webhook client over real HTTP: retries of transient answers with one Idempotency-Key,
//! no retry of a client error, Retry-After, and the deadline.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use sluice_object_summary::{VersionSummary, Webhook, WebhookError, idempotency_key};
use sluice_retry::{Classify, RetryPolicy};
use tokio::time::Instant;

/// A server answering `statuses` in turn (then 200), recording each request's key.
async fn server(statuses: Vec<(u16, Option<&'static str>)>) -> (reqwest::Url, Arc<Mutex<Vec<String>>>) {
    let keys: Arc<Mutex<Vec<String>>> = Arc::default();
    let script = Arc::new(Mutex::new(statuses.into_iter()));
    let seen = keys.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, axum::Json(_): axum::Json<VersionSummary>| {
            seen.lock().unwrap().push(headers["idempotency-key"].to_str().unwrap().to_owned());
            let (status, retry_after) = script.lock().unwrap().next().unwrap_or((200, None));
            async move {
                let mut h = HeaderMap::new();
                if let Some(r) = retry_after {
                    h.insert("retry-after", r.parse().unwrap());
                }
                (StatusCode::from_u16(status).unwrap(), h, "partner says hi")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap()).parse().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, keys)
}

fn receipt() -> VersionSummary {
    VersionSummary {
        bucket: "ingest".into(),
        key: "incoming/a.csv".into(),
        version_id: Some("v1".into()),
        e_tag: Some("abc".into()),
        sequencer: None,
        event_time: None,
        size: 3,
        sha256: "00".into(),
        lines: 1,
    }
}

fn quick() -> RetryPolicy {
    RetryPolicy::default().base(Duration::from_millis(1)).cap(Duration::from_millis(20)).max_attempts(5)
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

#[tokio::test]
async fn two_503_then_200_is_three_requests_with_one_key() {
    let (url, keys) = server(vec![(503, None), (503, None)]).await;
    Webhook::new(url, quick()).unwrap().post(&receipt(), "ingest/incoming/a.csv@v:v1", far()).await.unwrap();
    assert_eq!(*keys.lock().unwrap(), vec![idempotency_key("ingest/incoming/a.csv@v:v1"); 3]);
}

#[tokio::test]
async fn a_400_is_one_request_and_a_permanent_error() {
    let (url, keys) = server(vec![(400, None)]).await;
    let err = Webhook::new(url, quick()).unwrap().post(&receipt(), "k", far()).await.unwrap_err();
    assert!(matches!(err, WebhookError::Status { status: 400, .. }), "{err}");
    assert!(!err.error_class().is_retryable());
    assert!(err.to_string().contains("partner says hi"), "{err}");
    assert_eq!(keys.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_partners_long_error_page_is_quoted_as_a_short_excerpt() {
    // A 400 whose body is 8 MiB: the error quotes its start and states its length.
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(|| async { (StatusCode::BAD_REQUEST, "<html>".to_owned() + &"x".repeat(8 << 20)) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap()).parse().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let err = Webhook::new(url, quick()).unwrap().post(&receipt(), "k", far()).await.unwrap_err();
    let message = err.to_string();
    assert!(message.len() < 200, "{message}");
    assert!(message.contains("\"<html>xxx") && message.ends_with("…\" (8,388,614 bytes)"), "{message}");
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried() {
    let (url, keys) = server(vec![(429, Some("0")), (408, None)]).await;
    Webhook::new(url, quick()).unwrap().post(&receipt(), "k", far()).await.unwrap();
    assert_eq!(keys.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn no_retry_starts_inside_the_deadline_margin() {
    let (url, keys) = server(vec![(503, None); 10]).await;
    // The deadline is closer than the margin: the first failure is final.
    let deadline = Instant::now() + Duration::from_millis(100);
    let err = Webhook::new(url, quick()).unwrap().post(&receipt(), "k", deadline).await.unwrap_err();
    assert!(err.error_class().is_retryable());
    assert_eq!(keys.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_retryable() {
    // Bound but not listening: the port stays ours, and every connection to it is refused.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("http://{}/hook", socket.local_addr().unwrap()).parse().unwrap();
    let err = Webhook::new(url, quick().max_attempts(2)).unwrap().post(&receipt(), "k", far()).await.unwrap_err();
    assert!(matches!(err, WebhookError::Transport { .. }), "{err}");
    assert!(err.error_class().is_retryable());
}

#[tokio::test]
async fn a_409_is_retried_as_still_in_progress_and_a_422_is_permanent() {
    let (url, keys) = server(vec![(409, None)]).await;
    Webhook::new(url, quick()).unwrap().post(&receipt(), "k", far()).await.unwrap();
    assert_eq!(keys.lock().unwrap().len(), 2, "409 (the first POST still processing), then 200");
    let (url, keys) = server(vec![(422, None)]).await;
    let err = Webhook::new(url, quick()).unwrap().post(&receipt(), "k", far()).await.unwrap_err();
    assert!(!err.error_class().is_retryable(), "{err}");
    assert_eq!(keys.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_status_the_partner_documents_as_already_applied_is_success() {
    let (url, keys) = server(vec![(409, None)]).await;
    Webhook::new(url, quick()).unwrap().already_applied([409]).post(&receipt(), "k", far()).await.unwrap();
    assert_eq!(keys.lock().unwrap().len(), 1, "not retried: applied already");
}

#[tokio::test]
async fn the_key_is_a_quoted_ascii_uuid_whatever_the_object_name() {
    let (url, keys) = server(vec![]).await;
    let identity = "ingest/incoming/보고서 2026+final.csv@v:3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY";
    Webhook::new(url, quick()).unwrap().post(&receipt(), identity, far()).await.unwrap();
    let key = keys.lock().unwrap()[0].clone();
    assert_eq!(key, idempotency_key(identity));
    let inner = key.strip_prefix('"').and_then(|k| k.strip_suffix('"')).expect("a Structured Field string");
    let uuid = uuid::Uuid::parse_str(inner).expect("a UUID inside");
    assert_eq!(uuid.get_version_num(), 8);
}

#[tokio::test]
async fn an_attempt_still_waiting_at_the_deadline_ends_with_a_timeout_naming_the_attempt_before() {
    // Accepts connections and never answers: each attempt waits until it is cut off.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url: reqwest::Url = format!("http://{}/hook", listener.local_addr().unwrap()).parse().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let deadline = Instant::now() + Duration::from_millis(900);
    let started = Instant::now();
    let err = Webhook::new(url, quick()).unwrap().post(&receipt(), "k", deadline).await.unwrap_err();
    let cutoff = deadline - sluice_object_summary::WEBHOOK_DEADLINE_MARGIN;
    assert!(matches!(err, WebhookError::OutOfTime { .. }), "{err}");
    assert!(err.to_string().contains("timed out at the invocation deadline"), "{err}");
    assert!(err.error_class().is_retryable(), "a later delivery may succeed");
    assert!(Instant::now() >= cutoff && started.elapsed() < Duration::from_secs(5), "ended at the cutoff");
}

#[tokio::test]
async fn post_for_names_the_invocation_in_a_header_the_key_does_not_cover() {
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap| {
            let header = |name: &str| headers[name].to_str().unwrap().to_owned();
            record.lock().unwrap().push((header("lambda-request-id"), header("idempotency-key")));
            async { StatusCode::CREATED }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url: reqwest::Url = format!("http://{}/hook", listener.local_addr().unwrap()).parse().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let hook = Webhook::new(url, quick()).unwrap();
    hook.post_for("req-1", &receipt(), "ingest/a@v:1", far()).await.unwrap();
    hook.post_for("req-2", &receipt(), "ingest/a@v:1", far()).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    let key = idempotency_key("ingest/a@v:1");
    assert_eq!(seen, vec![("req-1".to_owned(), key.clone()), ("req-2".to_owned(), key)]);
}
