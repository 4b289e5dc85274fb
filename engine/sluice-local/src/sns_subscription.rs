//! SNS to Lambda: an HTTP subscription of the service on the topic, confirmed through the API
//! when SNS asks for a confirmation (some local SNS implementations confirm at once), and each
//! notification turned into the Lambda SNS event and invoked asynchronously (Lambda Developer
//! Guide, with-sns).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::shared::Shared;
use crate::start_error::StartError;

/// Subscribes `function` to `topic_arn` over HTTP, SNS delivering to the service at `endpoint`,
/// and, while the subscription is pending, waits (10 s at most) for SNS's confirmation, which
/// the service answers with `ConfirmSubscription`. Returns the subscription's ARN, if SNS gave one.
pub(crate) async fn subscribe(
    shared: &Shared,
    endpoint: &str,
    topic_arn: &str,
    function: &str,
) -> Result<Option<String>, StartError> {
    if !shared.functions.contains_key(function) {
        return Err(StartError::UnknownFunction(function.to_owned()));
    }
    let fail = |message: String| StartError::Subscription {
        function: function.to_owned(),
        topic: topic_arn.to_owned(),
        message,
    };
    let confirmed = shared.confirmed.notified();
    tokio::pin!(confirmed);
    confirmed.as_mut().enable();
    let out = shared
        .sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("http")
        .endpoint(format!("{endpoint}/sns/{function}"))
        .return_subscription_arn(true)
        .send()
        .await
        .map_err(|e| fail(aws_sdk_sns::error::DisplayErrorContext(&e).to_string()))?;
    let pending = match &out.subscription_arn {
        Some(arn) if arn.starts_with("arn:") => {
            let attributes = shared
                .sns
                .get_subscription_attributes()
                .subscription_arn(arn)
                .send()
                .await
                .map_err(|e| fail(aws_sdk_sns::error::DisplayErrorContext(&e).to_string()))?;
            attributes.attributes().and_then(|a| a.get("PendingConfirmation")).is_none_or(|p| p == "true")
        }
        _ => true,
    };
    if pending {
        tokio::time::timeout(Duration::from_secs(10), confirmed)
            .await
            .map_err(|_| fail("no SubscriptionConfirmation arrived within 10 s".into()))?;
    }
    Ok(out.subscription_arn)
}

/// SNS HTTP deliveries: confirmations are confirmed; notifications become Lambda SNS events,
/// invoked asynchronously (Lambda Developer Guide, with-sns).
pub(crate) async fn deliver(
    State(shared): State<Arc<Shared>>,
    Path(function): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(envelope) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    match headers.get("x-amz-sns-message-type").and_then(|v| v.to_str().ok()) {
        Some("SubscriptionConfirmation") => {
            // The SubscribeURL names a host that does not resolve here: confirm through the API.
            let (topic, token) = (text(&envelope, "TopicArn"), text(&envelope, "Token"));
            let shared = shared.clone();
            tokio::spawn(async move {
                match shared.sns.confirm_subscription().topic_arn(&topic).token(&token).send().await {
                    Ok(_) => shared.confirmed.notify_waiters(),
                    Err(e) => {
                        tracing::error!(error = %aws_sdk_sns::error::DisplayErrorContext(&e), "ConfirmSubscription failed")
                    }
                }
            });
            StatusCode::OK.into_response()
        }
        Some("Notification") => {
            let Some(target) = shared.functions.get(&function).cloned() else {
                return StatusCode::NOT_FOUND.into_response();
            };
            let subscription =
                headers.get("x-amz-sns-subscription-arn").and_then(|v| v.to_str().ok()).unwrap_or_default();
            let event = json!({"Records": [{
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription,
                "EventSource": "aws:sns",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": text(&envelope, "MessageId"),
                    "TopicArn": text(&envelope, "TopicArn"),
                    "Subject": envelope.get("Subject").cloned().unwrap_or(Value::Null),
                    "Message": text(&envelope, "Message"),
                    "Timestamp": text(&envelope, "Timestamp"),
                    "SignatureVersion": text(&envelope, "SignatureVersion"),
                    "Signature": text(&envelope, "Signature"),
                    "SigningCertUrl": text(&envelope, "SigningCertURL"),
                    "UnsubscribeUrl": text(&envelope, "UnsubscribeURL"),
                    "MessageAttributes": envelope.get("MessageAttributes").cloned().unwrap_or_else(|| json!({})),
                }
            }]});
            tokio::spawn(crate::async_queue::run(
                target,
                shared.sqs.clone(),
                event.to_string().into_bytes(),
                uuid::Uuid::new_v4().to_string(),
                // SNS passes the publisher's trace on when it has one (an actively traced topic).
                crate::trace::caller_trace(headers.get("x-amzn-trace-id").and_then(|v| v.to_str().ok())),
                shared.time_scale,
            ));
            StatusCode::OK.into_response()
        }
        _ => StatusCode::OK.into_response(),
    }
}
