//! Synchronous Lambda invocations whose caller owns the retries.
//!
//! A `RequestResponse` invocation is not retried by Lambda: whoever calls it decides. This
//! client retries what is safe to retry, with [`RetryPolicy`]'s backoff and jitter:
//! - throttling (429) and connections that could not be made (the request was never sent):
//!   always, since the function certainly did not run;
//! - everything after the request may have reached the function (a timeout, a connection
//!   dropped before the answer, a 5xx, a **function error**): only when the call is declared
//!   [`Idempotence::Idempotent`], since the function may have done all or part of its work
//!   (Lambda Developer Guide, "Understanding retry behavior in Lambda": "Your function's code
//!   might have run completely, partially, or not at all"). Otherwise the first such error is
//!   returned, a function error as [`InvokeError::Function`] with the function's error payload.
//!
//! The SDK's own retries are turned off on this client, so there is exactly one retry loop.
//!
//! ```no_run
//! use sluice_invoke::{Idempotence, InvokeClient};
//! use sluice_retry::RetryPolicy;
//!
//! # async fn example() -> Result<(), sluice_invoke::InvokeError> {
//! let aws = aws_config::load_from_env().await;
//! let client = InvokeClient::new(&aws, RetryPolicy::default().max_attempts(4));
//! let response = client.invoke("object-summary", br#"{"ping":true}"#.to_vec(), Idempotence::Idempotent).await?;
//! println!("{}", String::from_utf8_lossy(&response.payload));
//! # Ok(()) }
//! ```

use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::operation::invoke::InvokeError as SdkInvokeError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::retry::RetryConfig;
use sluice_retry::{Classify, ErrorClass, RetryPolicy};

/// Whether repeating a call is safe when the function itself failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotence {
    /// The function may be run again after it failed.
    Idempotent,
    /// A function error is returned, never retried (the default for a CLI call).
    NotIdempotent,
}

/// A successful invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvokeResponse {
    /// The function's response payload.
    pub payload: Vec<u8>,
    /// The HTTP status Lambda answered (200).
    pub status_code: i32,
    /// The version that ran.
    pub executed_version: Option<String>,
    /// Attempts made.
    pub attempts: u32,
}

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvokeError {
    /// The function ran and returned an error (`X-Amz-Function-Error`).
    #[error("function {function} failed ({kind}): {payload}")]
    Function {
        /// The function invoked.
        function: String,
        /// `Unhandled` (or `Handled` for older runtimes).
        kind: String,
        /// The function's error document, as sent (JSON with `errorMessage` and `errorType`).
        payload: String,
        /// Whether this call allowed a retry.
        retry_allowed: bool,
    },
    /// Lambda did not run the function, or could not be reached.
    #[error("invoke {function}: {message}")]
    Service {
        /// The function invoked.
        function: String,
        /// Throttling, server, timeout, connection, client, other.
        class: ErrorClass,
        /// What the SDK said, with its sources.
        message: String,
        /// A `Retry-After` the service sent, if any.
        retry_after: Option<std::time::Duration>,
    },
}

impl Classify for InvokeError {
    fn error_class(&self) -> ErrorClass {
        match self {
            InvokeError::Function { retry_allowed: true, .. } => ErrorClass::Server,
            InvokeError::Function { .. } => ErrorClass::Other,
            InvokeError::Service { class, .. } => *class,
        }
    }

    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            InvokeError::Service { retry_after, .. } => *retry_after,
            InvokeError::Function { .. } => None,
        }
    }
}

/// A Lambda client for synchronous invocations with client-side retries. Inside a record's
/// trace scope (`sluice_trace::scope`, which sluice's handlers open), each call carries that
/// trace to the invoked function.
#[derive(Debug, Clone)]
pub struct InvokeClient {
    lambda: aws_sdk_lambda::Client,
    policy: RetryPolicy,
}

impl InvokeClient {
    /// A client from `config` (endpoint, region, credentials) retrying by `policy`.
    pub fn new(config: &aws_config::SdkConfig, policy: RetryPolicy) -> Self {
        // The caller's current trace (`sluice_trace::current`, the record being processed)
        // continues in the function it invokes: Lambda reads `X-Amzn-Trace-Id` on Invoke.
        let lambda = aws_sdk_lambda::config::Builder::from(config)
            .retry_config(RetryConfig::disabled())
            .interceptor(sluice_trace::SdkTraceHeader)
            .build();
        InvokeClient { lambda: aws_sdk_lambda::Client::from_conf(lambda), policy }
    }

    /// Invokes `function` with `payload` (`RequestResponse`) and returns its response.
    pub async fn invoke(
        &self,
        function: &str,
        payload: Vec<u8>,
        idempotence: Idempotence,
    ) -> Result<InvokeResponse, InvokeError> {
        let mut attempts = 0;
        let may_repeat = idempotence == Idempotence::Idempotent;
        let retryable = |e: &InvokeError| {
            let class = e.error_class();
            class.never_took_effect() || (may_repeat && class.is_retryable())
        };
        let mut response = self
            .policy
            .run_if(
                || {
                    attempts += 1;
                    self.attempt(function, payload.clone(), idempotence)
                },
                retryable,
            )
            .await?;
        response.attempts = attempts;
        Ok(response)
    }

    async fn attempt(
        &self,
        function: &str,
        payload: Vec<u8>,
        idempotence: Idempotence,
    ) -> Result<InvokeResponse, InvokeError> {
        let output = self
            .lambda
            .invoke()
            .function_name(function)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| service_error(function, e))?;
        let body = output.payload.map(Blob::into_inner).unwrap_or_default();
        if let Some(kind) = output.function_error {
            return Err(InvokeError::Function {
                function: function.to_owned(),
                kind,
                payload: String::from_utf8_lossy(&body).into_owned(),
                retry_allowed: idempotence == Idempotence::Idempotent,
            });
        }
        Ok(InvokeResponse {
            payload: body,
            status_code: output.status_code,
            executed_version: output.executed_version,
            attempts: 0,
        })
    }
}

fn service_error(function: &str, e: SdkError<SdkInvokeError, HttpResponse>) -> InvokeError {
    InvokeError::Service {
        function: function.to_owned(),
        class: e.error_class(),
        retry_after: e.retry_after(),
        message: short_message(&e),
    }
}

/// One line: the service's error code and message when Lambda answered, else the chain of
/// causes (`dispatch failure: ...: Connection refused`). Not `DisplayErrorContext`, whose
/// debug dump of the raw response is no message for a person.
fn short_message(e: &SdkError<SdkInvokeError, HttpResponse>) -> String {
    use aws_sdk_lambda::error::ProvideErrorMetadata;
    if let Some(service) = e.as_service_error() {
        return match (service.code(), service.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            _ => format!("HTTP {}", e.raw_response().map(|r| r.status().as_u16()).unwrap_or_default()),
        };
    }
    sluice_retry::error_chain(e)
}
