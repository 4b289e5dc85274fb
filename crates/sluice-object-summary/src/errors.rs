//! Which AWS SDK failures are worth a retry.
//!
//! The SDK already retries throttling, transient and 5xx errors itself (standard retry mode,
//! three attempts, full jitter: AWS SDKs and Tools Reference Guide, "Retry behavior"). An error
//! that reaches the worker has outlasted those retries. It stays *retryable* if it is of a kind
//! that later may succeed (throttling, 5xx, 408, 429, timeouts, connection failures): the
//! message is then redelivered later. Other client errors (404, 403, 400) are *permanent*.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use sluice::ProcessError;

/// Error codes that mean "try later" even when the status is a 4xx.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Classifies an SDK error after the SDK's own retries, with `action` saying what failed.
pub fn classify<E>(action: &str, error: SdkError<E, HttpResponse>) -> ProcessError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let retryable = match &error {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or_default();
            THROTTLING_CODES.contains(&code) || status >= 500 || status == 408 || status == 429
        }
        SdkError::ConstructionFailure(_) => false,
        // Timeouts, dispatch (connection) failures and unreadable responses.
        _ => true,
    };
    let message = match &error {
        SdkError::ServiceError(service) => format!(
            "{action}: {} (HTTP {}): {}",
            service.err().code().unwrap_or("unknown error"),
            service.raw().status().as_u16(),
            service.err().message().unwrap_or("no message")
        ),
        other => format!("{action}: {}", DisplayErrorContext(other)),
    };
    if retryable { ProcessError::retryable(message) } else { ProcessError::permanent(message) }
}
