//! The current record's trace on every AWS SDK call.
//!
//! The SDK already sends a trace header: its recursion-detection interceptor copies
//! `_X_AMZN_TRACE_ID` into `X-Amzn-Trace-Id` inside Lambda. That variable is process-wide and
//! names the invocation, so an S3 `GetObject` made for an SQS record carries the invocation's
//! trace, not the record's, and under concurrent invocations possibly another invocation's.
//! [`SdkTraceHeader`] writes the trace of the current [`scope`](crate::scope) instead, and
//! leaves the SDK's behaviour alone outside any scope.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The X-Ray header AWS services read on requests (AWS X-Ray Developer Guide, "Tracing header").
pub const XRAY_HEADER: &str = "x-amzn-trace-id";

/// An SDK interceptor writing the current record's trace into `X-Amzn-Trace-Id`.
///
/// Add it to any client's configuration:
///
/// ```no_run
/// # async fn f() {
/// let aws = aws_config::load_from_env().await;
/// let s3_config = aws_sdk_s3::config::Builder::from(&aws).interceptor(sluice_trace::SdkTraceHeader).build();
/// let s3 = aws_sdk_s3::Client::from_conf(s3_config);
/// # let _ = s3;
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SdkTraceHeader;

impl Intercept for SdkTraceHeader {
    fn name(&self) -> &'static str {
        "SdkTraceHeader"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(trace) = crate::current() {
            context.request_mut().headers_mut().insert(XRAY_HEADER, trace.xray_header());
        }
        Ok(())
    }
}
