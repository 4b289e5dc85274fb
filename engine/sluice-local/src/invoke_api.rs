//! The Lambda Invoke API: `POST /2015-03-31/functions/{name}/invocations` (Lambda API
//! reference, `Invoke`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::function::InvokeRequest;
use crate::records::{Outcome, Trigger};
use crate::shared::{Lookup, Shared};

/// The function name in an Invoke path, and its qualifier if it carries one: a name, a name
/// with a qualifier (`name:$LATEST`), a partial ARN (`123456789012:function:name`) or a full
/// ARN, qualified or not (Lambda API `Invoke`, `FunctionName`).
fn name_and_qualifier(path: &str) -> (&str, Option<&str>) {
    let parts: Vec<&str> = path.split(':').collect();
    let at = match parts.iter().position(|p| *p == "function") {
        Some(i) if i + 1 < parts.len() => i + 1,
        _ => 0,
    };
    (parts[at], parts.get(at + 1).copied())
}

/// The largest synchronous payload, request or response: 6 MB (Lambda quotas, "Invocation
/// payload"), as 6,291,456 bytes.
pub(crate) const SYNC_PAYLOAD_LIMIT: usize = sluice_rules::scaling::SYNC_PAYLOAD_LIMIT;
/// The largest asynchronous payload: 1 MB since the January 2026 increase (AWS Compute Blog,
/// "More room to build: serverless services now support payloads up to 1 MB").
pub(crate) const ASYNC_PAYLOAD_LIMIT: usize = 1024 * 1024;

/// The longest error message the API answers with: the function name or qualifier of a
/// request, or a JSON parser's error, may quote input of any length.
const MESSAGE_LIMIT: usize = 1024;

/// An error answer in the Lambda API's shape, with its request id; the message is clipped to
/// [`MESSAGE_LIMIT`] bytes.
pub(crate) fn aws_error(status: StatusCode, error_type: &str, message: String, request_id: &str) -> Response {
    let message = sluice_excerpt::clip(&message, MESSAGE_LIMIT);
    let headers = [("x-amzn-errortype", error_type.to_owned()), ("x-amzn-requestid", request_id.to_owned())];
    (status, headers, axum::Json(json!({"Type": "User", "message": message}))).into_response()
}

/// The function a Lambda API path names (a name, `name:qualifier`, a partial or full ARN), with
/// `qualifier` from the query if any; or the API's 404, which names the deployed name when it
/// was given a logical ID, and says that only `$LATEST` is served when asked for another.
pub(crate) fn resolve(
    shared: &Shared,
    path: &str,
    qualifier: Option<&str>,
    request_id: &str,
) -> Result<Arc<crate::function::Function>, Box<Response>> {
    let (name, path_qualifier) = name_and_qualifier(path);
    let function = match shared.by_deployed_name(name) {
        Lookup::Found(function) => function,
        other => {
            let arn = format!("arn:aws:lambda:{}:000000000000:function:{name}", shared.region);
            let known_as = match other {
                Lookup::KnownAs(deployed) => format!(" ({name} is a logical ID; the function is named {deployed})"),
                _ => String::new(),
            };
            let message = format!("Function not found: {arn}{known_as}");
            return Err(Box::new(aws_error(StatusCode::NOT_FOUND, "ResourceNotFoundException", message, request_id)));
        }
    };
    if let Some(qualifier) = qualifier.or(path_qualifier).filter(|q| *q != "$LATEST") {
        let message = format!("Function not found: {}:{qualifier} (only $LATEST is served)", function.arn);
        return Err(Box::new(aws_error(StatusCode::NOT_FOUND, "ResourceNotFoundException", message, request_id)));
    }
    Ok(function)
}

/// `POST /2015-03-31/functions/{name}/invocations` (Lambda API `Invoke`).
pub(crate) async fn invoke(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let function = match resolve(&shared, &name, query.get("Qualifier").map(String::as_str), &request_id) {
        Ok(function) => function,
        Err(not_found) => return *not_found,
    };
    let kind = header("x-amz-invocation-type").unwrap_or("RequestResponse");
    let limit = if kind == "Event" { ASYNC_PAYLOAD_LIMIT } else { SYNC_PAYLOAD_LIMIT };
    if body.len() > limit {
        let message =
            format!("{} byte payload is too large for the {kind} invocation type (limit {limit} bytes)", body.len());
        return aws_error(StatusCode::PAYLOAD_TOO_LARGE, "RequestTooLargeException", message, &request_id);
    }
    // An empty payload is the SDKs' way of sending none: the event is then `{}`.
    let payload = if body.is_empty() { b"{}".to_vec() } else { body.to_vec() };
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&payload) {
        let message = format!("Could not parse request body into json: {e}");
        return aws_error(StatusCode::BAD_REQUEST, "InvalidRequestContentException", message, &request_id);
    }
    let client_context = match header("x-amz-client-context").map(aws_smithy_types::base64::decode) {
        None => None,
        Some(Ok(bytes)) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Some(Err(_)) => {
            let message = "X-Amz-Client-Context is not base64".to_owned();
            return aws_error(StatusCode::BAD_REQUEST, "InvalidRequestContentException", message, &request_id);
        }
    };
    let trace = crate::trace::caller_trace(header("x-amzn-trace-id"));
    match kind {
        "Event" => {
            tokio::spawn(crate::async_queue::run(
                function,
                shared.sqs.clone(),
                payload,
                request_id.clone(),
                trace,
                shared.time_scale,
            ));
            (StatusCode::ACCEPTED, [("x-amzn-requestid", request_id)]).into_response()
        }
        "DryRun" => (StatusCode::NO_CONTENT, [("x-amzn-requestid", request_id)]).into_response(),
        "RequestResponse" => {
            let slot = match function.try_slot() {
                Ok(slot) => slot,
                Err(reason) => {
                    function.records.throttle(&function.config.name, Trigger::Sync);
                    let body = json!({"Reason": reason.as_str(), "Type": "User", "message": "Rate Exceeded."});
                    let headers =
                        [("x-amzn-errortype", "TooManyRequestsException".to_owned()), ("x-amzn-requestid", request_id)];
                    return (StatusCode::TOO_MANY_REQUESTS, headers, axum::Json(body)).into_response();
                }
            };
            let request =
                InvokeRequest { request_id, client_context, trace, ..InvokeRequest::new(payload, Trigger::Sync) };
            let result = function.invoke(slot, request).await;
            let mut response = (
                StatusCode::OK,
                [("x-amz-executed-version", "$LATEST".to_owned()), ("x-amzn-requestid", result.request_id.clone())],
                result.body,
            )
                .into_response();
            let headers = response.headers_mut();
            if result.outcome != Outcome::Success {
                headers.insert("x-amz-function-error", "Unhandled".parse().expect("valid header"));
            }
            if header("x-amz-log-type") == Some("Tail") {
                let tail = aws_smithy_types::base64::encode(&result.log_tail);
                headers.insert("x-amz-log-result", tail.parse().expect("base64 is a valid header"));
            }
            response
        }
        other => aws_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            format!("X-Amz-Invocation-Type {other:?} is not RequestResponse, Event or DryRun"),
            &request_id,
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn qualified_names_and_arns_resolve_to_the_function() {
        for path in [
            "worker",
            "worker:$LATEST",
            "worker:live",
            "000000000000:function:worker",
            "arn:aws:lambda:us-east-1:000000000000:function:worker",
            "arn:aws:lambda:us-east-1:000000000000:function:worker:$LATEST",
        ] {
            assert_eq!(super::name_and_qualifier(path).0, "worker", "{path}");
        }
        assert_eq!(super::name_and_qualifier("worker:live"), ("worker", Some("live")));
        assert_eq!(super::name_and_qualifier("000000000000:function:worker"), ("worker", None));
    }
}
