//! The Lambda Runtime API 2018-06-01, one listener per instance.
//!
//! On Lambda Managed Instances an instance runs up to `AWS_LAMBDA_MAX_CONCURRENCY` invocations
//! at once: its runtime keeps that many `/next` calls open, and answers arrive by request id in
//! any order. With one invocation per instance the same code serves classic Lambda.
//!
//! As on Lambda, each instance's `AWS_LAMBDA_RUNTIME_API` is a bare `host:port` (the Rust
//! runtime accepts nothing else), so every instance gets a loopback port of its own. Routes and headers
//! follow the Runtime API reference (runtimes-api): `/next` blocks until there is an event and
//! answers with `Content-Type: application/json`, `Lambda-Runtime-Aws-Request-Id`, an absolute
//! epoch `Lambda-Runtime-Deadline-Ms`, `Lambda-Runtime-Invoked-Function-Arn`,
//! `Lambda-Runtime-Trace-Id` and, when the call carried one, `Lambda-Runtime-Client-Context`.
//! Error documents are taken in the shapes the AWS runtime clients post (`errorType`,
//! `errorMessage`, `stackTrace`, the `Lambda-Runtime-Function-Error-Type` header).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use std::sync::Arc;

use crate::instance::{Answer, Instance};

pub(crate) fn router(instance: Arc<Instance>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{request_id}/response", post(response))
        .route("/2018-06-01/runtime/invocation/{request_id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(instance)
}

fn problem(status: StatusCode, error_type: &str, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({"errorType": error_type, "errorMessage": message}))).into_response()
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(serde_json::json!({"status": "OK"}))).into_response()
}

async fn next(State(instance): State<Arc<Instance>>) -> Response {
    instance.ready();
    let Some(invocation) = instance.next.lock().await.recv().await else {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, "ServiceException", "instance is shutting down");
    };
    let deadline_ms = sluice_clock::now_millis() + instance.timeout.as_millis() as u64;
    instance.current.lock().expect("instance poisoned").insert(invocation.request_id.clone(), invocation.answer);
    let _ = invocation.picked.send(deadline_ms);
    let mut response = (
        StatusCode::OK,
        [
            // The Python and Node.js runtime clients parse the event only when it says JSON.
            ("content-type", "application/json".to_owned()),
            ("lambda-runtime-aws-request-id", invocation.request_id),
            ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
            ("lambda-runtime-invoked-function-arn", instance.function_arn.clone()),
            ("lambda-runtime-trace-id", invocation.trace),
        ],
        invocation.payload,
    )
        .into_response();
    if let Some(context) = invocation.client_context.and_then(|c| c.parse().ok()) {
        response.headers_mut().insert("lambda-runtime-client-context", context);
    }
    response
}

fn answer(instance: &Instance, request_id: &str, answer: Answer) -> Response {
    let waiting = instance.current.lock().expect("instance poisoned").remove(request_id);
    match waiting {
        Some(tx) => {
            let _ = tx.send(answer);
            accepted()
        }
        None => problem(StatusCode::BAD_REQUEST, "InvalidRequestID", "no invocation in progress with this request id"),
    }
}

async fn response(State(instance): State<Arc<Instance>>, Path(request_id): Path<String>, body: Bytes) -> Response {
    answer(&instance, &request_id, Answer::Response(body.to_vec()))
}

async fn error(
    State(instance): State<Arc<Instance>>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error_type = error_type(&headers, &body);
    answer(&instance, &request_id, Answer::Error { error_type, body: body.to_vec() })
}

async fn init_error(State(instance): State<Arc<Instance>>, headers: HeaderMap, body: Bytes) -> Response {
    *instance.init_error.lock().expect("instance poisoned") = Some((error_type(&headers, &body), body.to_vec()));
    // A stored permit: the pending invocation fails even if it starts waiting a moment later.
    instance.init_failed.notify_one();
    accepted()
}

/// `Lambda-Runtime-Function-Error-Type`, else the body's `errorType`, else `Unhandled`.
fn error_type(headers: &HeaderMap, body: &[u8]) -> String {
    let from_body = || {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("errorType").and_then(|t| t.as_str()).map(str::to_owned))
    };
    headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(from_body)
        .unwrap_or_else(|| "Unhandled".into())
}
