//! Which failures are worth another attempt.
//!
//! Retry only what can change: throttling, server errors, timeouts and connection failures.
//! A client error (a 400, 403 or 404) will be the same next time, and retrying it only delays
//! the real answer. Throttling and transient codes are the AWS SDK's own lists (`aws-runtime`'s
//! retry classifiers, which every SDK client already compiles); HTTP statuses follow RFC 9110
//! (408, 429, 5xx).
//!
//! A failed connection is two different things: [`ErrorClass::Connection`] (never made, so the
//! request was never sent) and [`ErrorClass::Interrupted`] (dropped after the request may have
//! been sent). Both are retryable, but only the first, and throttling, are safe for a call that
//! is not idempotent ([`ErrorClass::never_took_effect`]).

use std::time::{Duration, SystemTime};

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What kind of failure an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Throttling (429, `ThrottlingException`, `SlowDown`, ...): retry, later.
    Throttling,
    /// A server error (5xx) or an unreadable response: retry.
    Server,
    /// A timeout (408, connect, read or attempt timeout): retry.
    Timeout,
    /// The connection could not be made, so the request was never sent (refused, unreachable,
    /// DNS): retry, even a call that is not idempotent.
    Connection,
    /// The connection failed after the request may have been sent (reset, closed before the
    /// answer): retry only what is safe to repeat, since it may have taken effect.
    Interrupted,
    /// The request is wrong or not allowed (other 4xx): do not retry.
    Client,
    /// Anything else: do not retry.
    Other,
}

impl ErrorClass {
    /// True for the classes a retry can fix.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorClass::Throttling
                | ErrorClass::Server
                | ErrorClass::Timeout
                | ErrorClass::Connection
                | ErrorClass::Interrupted
        )
    }

    /// True when the request certainly did not take effect: it was throttled, or never sent.
    /// Only these are safe to retry for a call that is not idempotent.
    ///
    /// ```
    /// use sluice_retry::ErrorClass;
    /// assert!(ErrorClass::Connection.never_took_effect());
    /// assert!(!ErrorClass::Interrupted.never_took_effect());
    /// assert!(!ErrorClass::Timeout.never_took_effect());
    /// ```
    pub fn never_took_effect(self) -> bool {
        matches!(self, ErrorClass::Throttling | ErrorClass::Connection)
    }

    /// A short name for logs: `throttling`, `server`, `timeout`, `connection`, `interrupted`,
    /// `client`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Throttling => "throttling",
            ErrorClass::Server => "server",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Connection => "connection",
            ErrorClass::Interrupted => "interrupted",
            ErrorClass::Client => "client",
            ErrorClass::Other => "other",
        }
    }

    /// The class of an HTTP status code.
    ///
    /// ```
    /// use sluice_retry::ErrorClass;
    /// assert_eq!(ErrorClass::from_status(503), ErrorClass::Server);
    /// assert_eq!(ErrorClass::from_status(429), ErrorClass::Throttling);
    /// assert_eq!(ErrorClass::from_status(408), ErrorClass::Timeout);
    /// assert!(!ErrorClass::from_status(404).is_retryable());
    /// ```
    pub fn from_status(status: u16) -> Self {
        match status {
            429 => ErrorClass::Throttling,
            408 => ErrorClass::Timeout,
            500..=599 => ErrorClass::Server,
            400..=499 => ErrorClass::Client,
            _ => ErrorClass::Other,
        }
    }
}

/// An error that knows whether it is worth retrying.
pub trait Classify {
    /// The kind of failure.
    fn error_class(&self) -> ErrorClass;

    /// How long the server asked to wait (`Retry-After` or `x-amz-retry-after`), if it did.
    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

/// AWS error codes that mean "slow down", whatever the status: the AWS SDK's own list
/// (`aws_runtime::retries::classifiers::THROTTLING_ERRORS`), not a copy of it.
pub use aws_runtime::retries::classifiers::THROTTLING_ERRORS as THROTTLING_CODES;

/// A transient server-side failure sent with a 4xx status: the AWS SDK's list
/// (`TRANSIENT_ERRORS`), and S3's `InternalError`, which the SDK leaves to its status.
fn transient(code: &str) -> bool {
    aws_runtime::retries::classifiers::TRANSIENT_ERRORS.contains(&code) || code == "InternalError"
}

impl<E: ProvideErrorMetadata> Classify for SdkError<E, HttpResponse> {
    fn error_class(&self) -> ErrorClass {
        match self {
            SdkError::ServiceError(service) => {
                let code = service.err().code().unwrap_or_default();
                if THROTTLING_CODES.contains(&code) {
                    ErrorClass::Throttling
                } else if transient(code) {
                    ErrorClass::Timeout
                } else {
                    ErrorClass::from_status(service.raw().status().as_u16())
                }
            }
            SdkError::TimeoutError(_) => ErrorClass::Timeout,
            SdkError::DispatchFailure(failure) if failure.is_timeout() => ErrorClass::Timeout,
            SdkError::DispatchFailure(failure) if failure.is_user() => ErrorClass::Client,
            SdkError::DispatchFailure(failure) => match failure.as_connector_error() {
                Some(e) if never_sent(e) => ErrorClass::Connection,
                _ => ErrorClass::Interrupted,
            },
            SdkError::ResponseError(_) => ErrorClass::Server,
            SdkError::ConstructionFailure(_) => ErrorClass::Client,
            _ => ErrorClass::Other,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        let headers = self.raw_response()?.headers();
        // x-amz-retry-after is in milliseconds (AWS SDK retry behaviour 2.1).
        if let Some(ms) = headers.get("x-amz-retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
            return Some(Duration::from_millis(ms));
        }
        headers.get("retry-after").and_then(parse_retry_after)
    }
}

#[cfg(feature = "http")]
impl Classify for reqwest::Error {
    fn error_class(&self) -> ErrorClass {
        if self.is_timeout() {
            ErrorClass::Timeout
        } else if let Some(status) = self.status() {
            ErrorClass::from_status(status.as_u16())
        } else if self.is_connect() {
            ErrorClass::Connection
        } else if self.is_request() || self.is_body() {
            ErrorClass::Interrupted
        } else {
            ErrorClass::Other
        }
    }
}

/// True when `error` says the connection was never made: hyper-util's own connect error
/// (what the SDK's HTTP client and reqwest wrap), or an I/O error of a connection attempt.
fn never_sent(error: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind;
    let mut current = Some(error);
    while let Some(e) = current {
        if e.downcast_ref::<hyper_util::client::legacy::Error>().is_some_and(|h| h.is_connect()) {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::AddrNotAvailable
                    | ErrorKind::NetworkUnreachable
                    | ErrorKind::HostUnreachable
            )
        {
            return true;
        }
        current = e.source();
    }
    false
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP-date (RFC 9110, section 10.2.3).
///
/// ```
/// use std::time::Duration;
/// assert_eq!(sluice_retry::parse_retry_after("3"), Some(Duration::from_secs(3)));
/// assert_eq!(sluice_retry::parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
/// assert_eq!(sluice_retry::parse_retry_after("soon"), None);
/// ```
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}
