//! Trace context for Lambda workers: where one record's trace comes from, and where it goes.
//!
//! A record reaches a worker with its producer's trace: Lambda hands each invocation a
//! `Lambda-Runtime-Trace-Id`, and SQS keeps the sender's trace in a message's `AWSTraceHeader`
//! system attribute. Calls made for that record should continue the same trace, so that one
//! object can be followed from the upload to the partner's answer. This crate holds the pieces,
//! with no tracing SDK behind them:
//! - [`TraceContext`] reads and writes both header forms, X-Ray and W3C `traceparent`; a
//!   malformed header is a typed [`TraceHeaderError`] quoting a bounded excerpt;
//! - [`scope`] and [`current`] carry the record's trace through everything run for it, without
//!   a process-wide variable;
//! - [`SdkTraceHeader`] (feature `aws-sdk`) puts it on every AWS SDK call.
//!
//! sluice's handlers do the reading and scoping; a processor finds its record's trace in
//! `ItemContext::trace` or through [`current`].
//!
//! ```
//! use sluice_trace::{TraceContext, current, scope};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
//! let record = TraceContext::parse(header).ok();
//! scope(record, async {
//!     let trace = current().expect("inside the record's scope");
//!     // What an HTTP call made for this record sends on.
//!     assert_eq!(trace.traceparent(), "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01");
//! })
//! .await;
//! # }
//! ```

/// A trace context and its two header forms.
mod context;
/// The current record's trace, task-local.
mod scope;
/// The AWS SDK interceptor.
#[cfg(feature = "aws-sdk")]
mod sdk;

pub use context::{SpanId, TraceContext, TraceHeaderError, TraceId};
pub use scope::{current, scope};
#[cfg(feature = "aws-sdk")]
pub use sdk::{SdkTraceHeader, XRAY_HEADER};

/// The W3C header an HTTP call carries its trace in (W3C Trace Context, 3.2).
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// The SQS message system attribute that carries an X-Ray header (Amazon SQS API Reference,
/// `MessageSystemAttributeValue`: `AWSTraceHeader` is the only one).
pub const SQS_TRACE_ATTRIBUTE: &str = "AWSTraceHeader";
