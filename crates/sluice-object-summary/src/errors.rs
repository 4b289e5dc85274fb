//! From AWS SDK errors to retryable or permanent item failures.
//!
//! The SDK already retries throttling, transient and 5xx errors itself (standard retry mode,
//! configured from the worker's [`sluice_retry::RetryPolicy`]). An error that reaches the
//! worker has outlasted those retries. It stays *retryable* if a later attempt may succeed
//! (throttling, 5xx, timeouts, connection failures: see [`sluice_retry::ErrorClass`]); the
//! message is then redelivered later. Client errors (404, 403, 400) are *permanent*.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use sluice::ProcessError;
use sluice_retry::Classify;

/// Classifies an SDK error after the SDK's own retries, with `action` saying what failed.
pub fn classify<E>(action: &str, error: SdkError<E, HttpResponse>) -> ProcessError
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
