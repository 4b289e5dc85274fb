//! AWS SDK errors as item failures, and the S3 client every worker builds.
//!
//! The SDK already retries throttling, transient and 5xx errors itself (standard retry mode,
//! configured from a [`sluice_retry::RetryPolicy`]). An error that reaches the worker has
//! outlasted those retries. It stays *retryable* if a later attempt may succeed (throttling,
//! 5xx, timeouts, connection failures: see [`sluice_retry::ErrorClass`]), and the message is
//! redelivered later; client errors (404, 403, 400) are *permanent*.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use sluice_retry::Classify;

use crate::ProcessError;

/// Classifies an SDK error after the SDK's own retries, `action` saying what failed:
/// `"{action}: {code} (HTTP {status}): {message}"` for a service's answer, the whole error
/// context otherwise.
///
/// ```
/// use aws_sdk_s3::operation::head_object::HeadObjectError;
/// use aws_smithy_runtime_api::client::result::SdkError;
///
/// let timeout: SdkError<HeadObjectError, aws_smithy_runtime_api::http::Response> =
///     SdkError::timeout_error("read timed out");
/// let error = sluice::aws::classify("HeadObject s3://b/k", timeout);
/// assert!(error.is_retryable());
/// assert!(error.chain().starts_with("HeadObject s3://b/k: "), "{}", error.chain());
/// ```
pub fn classify<E>(action: &str, error: SdkError<E, Response>) -> ProcessError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let class = error.error_class();
    let message = match &error {
        SdkError::ServiceError(service) => format!(
            "{action}: {} (HTTP {}): {}",
            service.err().code().unwrap_or("unknown error"),
            service.raw().status().as_u16(),
            service.err().message().unwrap_or("no message")
        ),
        other => format!("{action}: {}", DisplayErrorContext(other)),
    };
    if class.is_retryable() { ProcessError::retryable(message) } else { ProcessError::permanent(message) }
}

/// An S3 client for `aws`, with path-style addressing when an endpoint is overridden (a local
/// stack: `<bucket>.127.0.0.1` does not resolve), in the configuration or through
/// `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_S3`.
///
/// ```no_run
/// # async fn run() {
/// let aws = aws_config::load_from_env().await;
/// let s3 = sluice::aws::s3_client(&aws);
/// # }
/// ```
#[cfg(feature = "s3")]
pub fn s3_client(aws: &aws_types::SdkConfig) -> aws_sdk_s3::Client {
    let local = aws.endpoint_url().is_some()
        || ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"].iter().any(|v| std::env::var_os(v).is_some());
    let config =
        aws_sdk_s3::config::Builder::from(aws).force_path_style(local).interceptor(sluice_trace::SdkTraceHeader);
    aws_sdk_s3::Client::from_conf(config.build())
}
