//! Classification of real AWS SDK error values and HTTP statuses.

use std::time::Duration;

use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::types::error::NoSuchKey;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::{ConnectorError, SdkError};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;
use sluice_retry::{Classify, ErrorClass};

fn response(status: u16, headers: &[(&'static str, &'static str)]) -> HttpResponse {
    let mut r = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
    for (k, v) in headers {
        r.headers_mut().insert(*k, *v);
    }
    r
}

fn service(code: &str, status: u16) -> SdkError<GetObjectError, HttpResponse> {
    let err = GetObjectError::generic(ErrorMetadata::builder().code(code).message("m").build());
    SdkError::service_error(err, response(status, &[]))
}

#[test]
fn throttling_codes_are_throttling_whatever_the_status() {
    for code in [
        "ThrottlingException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "RequestLimitExceeded",
    ] {
        assert_eq!(service(code, 400).error_class(), ErrorClass::Throttling, "{code}");
    }
    assert_eq!(service("SlowDown", 503).error_class(), ErrorClass::Throttling);
}

#[test]
fn statuses_decide_for_other_codes() {
    assert_eq!(service("InternalError", 500).error_class(), ErrorClass::Timeout);
    assert_eq!(service("ServiceUnavailable", 503).error_class(), ErrorClass::Server);
    assert_eq!(service("Whatever", 502).error_class(), ErrorClass::Server);
    assert_eq!(service("AccessDenied", 403).error_class(), ErrorClass::Client);
    assert!(!service("AccessDenied", 403).error_class().is_retryable());
}

#[test]
fn a_modeled_no_such_key_is_a_client_error() {
    let err = SdkError::service_error(GetObjectError::NoSuchKey(NoSuchKey::builder().build()), response(404, &[]));
    assert_eq!(err.error_class(), ErrorClass::Client);
}

#[test]
fn timeouts_and_dispatch_failures_are_retryable() {
    let timeout: SdkError<GetObjectError, HttpResponse> = SdkError::timeout_error("attempt timed out");
    assert_eq!(timeout.error_class(), ErrorClass::Timeout);
    let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
    let io: SdkError<GetObjectError, HttpResponse> = SdkError::dispatch_failure(ConnectorError::io(refused.into()));
    assert_eq!(io.error_class(), ErrorClass::Connection, "never sent");
    assert!(io.error_class().never_took_effect());
    let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset by peer");
    let io: SdkError<GetObjectError, HttpResponse> = SdkError::dispatch_failure(ConnectorError::io(reset.into()));
    assert_eq!(io.error_class(), ErrorClass::Interrupted, "may have been sent");
    assert!(io.error_class().is_retryable() && !io.error_class().never_took_effect());
    let read_timeout: SdkError<GetObjectError, HttpResponse> =
        SdkError::dispatch_failure(ConnectorError::timeout("read".into()));
    assert_eq!(read_timeout.error_class(), ErrorClass::Timeout);
    let built: SdkError<GetObjectError, HttpResponse> = SdkError::construction_failure("missing bucket");
    assert!(!built.error_class().is_retryable());
}

#[test]
fn retry_after_headers_are_read() {
    let err = GetObjectError::generic(ErrorMetadata::builder().code("SlowDown").build());
    let seconds = SdkError::service_error(err, response(503, &[("retry-after", "2")]));
    assert_eq!(seconds.retry_after(), Some(Duration::from_secs(2)));
    let err = GetObjectError::generic(ErrorMetadata::builder().code("SlowDown").build());
    let amz = SdkError::service_error(err, response(503, &[("x-amz-retry-after", "1500")]));
    assert_eq!(amz.retry_after(), Some(Duration::from_millis(1500)));
    assert_eq!(service("SlowDown", 503).retry_after(), None);
}
