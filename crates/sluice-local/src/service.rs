//! The service: functions, the Invoke API, SNS deliveries, event source mappings, records.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::ServiceConfig;
use crate::esm::{Mapping, MappingError};
use crate::function::Function;
use crate::records::{Outcome, Records, Trigger};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A listener could not be bound.
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
    /// A mapping or subscription names a function that does not exist.
    #[error("unknown function {0:?}")]
    UnknownFunction(String),
    /// A setting is outside the range Lambda accepts.
    #[error("InvalidParameterValueException: {0}")]
    Invalid(String),
    /// A mapping was refused.
    #[error("event source mapping for {function}: {source}")]
    Mapping {
        /// The function.
        function: String,
        /// Why.
        #[source]
        source: MappingError,
    },
    /// An SNS subscription failed or was not confirmed in time.
    #[error("SNS subscription of {function} to {topic}: {message}")]
    Subscription {
        /// The function.
        function: String,
        /// The topic.
        topic: String,
        /// What went wrong.
        message: String,
    },
}

/// Where the service listens and writes.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// Port of the Invoke API and SNS endpoint (0: any free port).
    pub port: u16,
    /// Where function logs go, one file per function.
    pub log_dir: PathBuf,
    /// Clients for SQS (mappings, DLQs) and SNS (subscriptions).
    pub aws: aws_config::SdkConfig,
}

struct Shared {
    functions: HashMap<String, Arc<Function>>,
    time_scale: f64,
    records: Arc<Records>,
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
    confirmed: Notify,
}

/// A running local Lambda service.
pub struct LocalLambda {
    shared: Arc<Shared>,
    address: SocketAddr,
    stop: CancellationToken,
    subscriptions: Vec<String>,
}

impl LocalLambda {
    /// Starts the functions' Runtime API, the Invoke API, the event source mappings (validated
    /// as Lambda does) and the SNS subscriptions (confirmed before this returns).
    pub async fn start(config: ServiceConfig, options: ServiceOptions) -> Result<Self, StartError> {
        config.validate().map_err(StartError::Invalid)?;
        std::fs::create_dir_all(&options.log_dir)?;
        let region = options.aws.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into());
        let stop = CancellationToken::new();
        let records = Arc::new(Records::default());
        let functions: HashMap<String, Arc<Function>> = config
            .functions
            .iter()
            .map(|f| {
                let function = Function::new(f.clone(), &options.log_dir, records.clone(), &region);
                (f.name.clone(), Arc::new(function))
            })
            .collect();
        let shared = Arc::new(Shared {
            functions,
            time_scale: config.scale(),
            records,
            sqs: aws_sdk_sqs::Client::new(&options.aws),
            sns: aws_sdk_sns::Client::new(&options.aws),
            confirmed: Notify::new(),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port)).await?;
        let address = listener.local_addr()?;
        serve(listener, invoke_router(shared.clone()), stop.clone());

        for mapping in config.event_source_mappings {
            let name = mapping.function.clone();
            let function =
                shared.functions.get(&name).cloned().ok_or_else(|| StartError::UnknownFunction(name.clone()))?;
            let mapping = Mapping::create(mapping, function, shared.sqs.clone(), region.clone())
                .await
                .map_err(|source| StartError::Mapping { function: name, source })?;
            tokio::spawn(Arc::new(mapping).run(stop.clone()));
        }

        let mut service = LocalLambda { shared, address, stop, subscriptions: Vec::new() };
        for subscription in config.sns_subscriptions {
            service.subscribe(&subscription.topic_arn, &subscription.function).await?;
        }
        Ok(service)
    }

    /// The Invoke API endpoint, for `AWS_ENDPOINT_URL_LAMBDA`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// What happened so far.
    pub fn records(&self) -> &Records {
        &self.shared.records
    }

    /// Subscribes `function` to `topic_arn` over HTTP and waits (10 s at most) for SNS's
    /// confirmation, which the service answers with `ConfirmSubscription`.
    async fn subscribe(&mut self, topic_arn: &str, function: &str) -> Result<(), StartError> {
        if !self.shared.functions.contains_key(function) {
            return Err(StartError::UnknownFunction(function.to_owned()));
        }
        let fail = |message: String| StartError::Subscription {
            function: function.to_owned(),
            topic: topic_arn.to_owned(),
            message,
        };
        let confirmed = self.shared.confirmed.notified();
        tokio::pin!(confirmed);
        confirmed.as_mut().enable();
        let out = self
            .shared
            .sns
            .subscribe()
            .topic_arn(topic_arn)
            .protocol("http")
            .endpoint(format!("{}/sns/{function}", self.endpoint()))
            .return_subscription_arn(true)
            .send()
            .await
            .map_err(|e| fail(aws_sdk_sns::error::DisplayErrorContext(&e).to_string()))?;
        tokio::time::timeout(Duration::from_secs(10), confirmed)
            .await
            .map_err(|_| fail("no SubscriptionConfirmation arrived within 10 s".into()))?;
        if let Some(arn) = out.subscription_arn {
            self.subscriptions.push(arn);
        }
        Ok(())
    }

    /// Stops polling, unsubscribes and kills every instance.
    pub async fn shutdown(&self) {
        self.stop.cancel();
        for arn in &self.subscriptions {
            let _ = self.shared.sns.unsubscribe().subscription_arn(arn).send().await;
        }
        for function in self.shared.functions.values() {
            function.shutdown();
        }
    }
}

fn serve(listener: tokio::net::TcpListener, router: Router, stop: CancellationToken) {
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).with_graceful_shutdown(stop.cancelled_owned()).await;
    });
}

fn invoke_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .route("/sns/{function}", post(sns_delivery))
        .route("/records", get(records))
        .with_state(shared)
}

/// The function name in an Invoke path: a name, a name with a qualifier (`name:$LATEST`), a
/// partial ARN (`123456789012:function:name`) or a full ARN, qualified or not (Lambda API
/// `Invoke`, `FunctionName`).
fn function_name(path: &str) -> &str {
    let parts: Vec<&str> = path.split(':').collect();
    match parts.iter().position(|p| *p == "function") {
        Some(i) if i + 1 < parts.len() => parts[i + 1],
        _ => parts[0],
    }
}

fn aws_error(status: StatusCode, error_type: &str, message: String) -> Response {
    (status, [("x-amzn-errortype", error_type)], axum::Json(json!({"Type": "User", "message": message})))
        .into_response()
}

/// `POST /2015-03-31/functions/{name}/invocations` (Lambda API `Invoke`).
async fn invoke(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let name = function_name(&name).to_owned();
    let Some(function) = shared.functions.get(&name).cloned() else {
        return aws_error(StatusCode::NOT_FOUND, "ResourceNotFoundException", format!("Function not found: {name}"));
    };
    let kind = headers.get("x-amz-invocation-type").and_then(|v| v.to_str().ok()).unwrap_or("RequestResponse");
    match kind {
        "Event" => {
            tokio::spawn(crate::async_invoke::run(function, shared.sqs.clone(), body.to_vec(), shared.time_scale));
            StatusCode::ACCEPTED.into_response()
        }
        "DryRun" => StatusCode::NO_CONTENT.into_response(),
        "RequestResponse" => {
            let Some(slot) = function.try_slot() else {
                let body = json!({"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User",
                                  "message": "Rate Exceeded."});
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("x-amzn-errortype", "TooManyRequestsException")],
                    axum::Json(body),
                )
                    .into_response();
            };
            let request_id = uuid::Uuid::new_v4().to_string();
            let result = function.invoke(slot, request_id, body.to_vec(), Trigger::Sync, 1).await;
            let failed = result.outcome != Outcome::Success;
            let mut response = (StatusCode::OK, [("x-amz-executed-version", "$LATEST")], result.body).into_response();
            if failed {
                response.headers_mut().insert("x-amz-function-error", "Unhandled".parse().expect("valid header"));
            }
            response
        }
        other => aws_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            format!("X-Amz-Invocation-Type {other:?} is not RequestResponse, Event or DryRun"),
        ),
    }
}

/// SNS HTTP deliveries: confirmations are confirmed; notifications become Lambda SNS events,
/// invoked asynchronously (Lambda Developer Guide, with-sns).
async fn sns_delivery(
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
            tokio::spawn(crate::async_invoke::run(
                target,
                shared.sqs.clone(),
                event.to_string().into_bytes(),
                shared.time_scale,
            ));
            StatusCode::OK.into_response()
        }
        _ => StatusCode::OK.into_response(),
    }
}

async fn records(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(shared.records.to_json()).into_response()
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
            assert_eq!(super::function_name(path), "worker", "{path}");
        }
    }
}
