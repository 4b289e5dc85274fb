//! OpenTelemetry export: the spans of each invocation, sent over OTLP/HTTP to a collector.
//!
//! Without this feature, sluice carries trace ids in log lines and outgoing headers only, and
//! costs nothing more. With it, [`init`](crate::otel::init) installs the log layer of
//! [`telemetry`](crate::telemetry) beside a `tracing-opentelemetry` layer, and each invocation
//! exports these spans:
//!
//! | span | parent | what |
//! |---|---|---|
//! | `invocation` | the invocation's `Lambda-Runtime-Trace-Id` | one per invocation; links to each message with a trace of its own |
//! | `message` | the message's trace (SQS `AWSTraceHeader`), else `invocation` | one per SQS message or SNS notification |
//! | `claim`, `process`, `complete`, `release` | `message` | the idempotency claim, the processor, storing its output, freeing a failed claim |
//! | `S3.GetObject`, `DynamoDB.PutItem`, ... | the span that made the call | one per AWS SDK operation |
//! | `webhook POST` | `process` | the sample worker's partner call |
//!
//! A batch's messages may each carry the trace of whoever sent them. Each `message` span then
//! continues its sender's trace, and the `invocation` span links to it, as OpenTelemetry's
//! messaging conventions do for batch receives. Calls made for a message carry the message
//! span as their parent (`traceparent`, `X-Amzn-Trace-Id`).
//!
//! Ids are X-Ray's ([`XrayIdGenerator`](opentelemetry_aws::trace::XrayIdGenerator): the trace
//! id begins with the epoch seconds), and the global propagator is
//! [`XrayPropagator`](opentelemetry_aws::trace::XrayPropagator), so X-Ray, the ADOT collector
//! and any W3C backend read the same trace. The exporter is configured by OpenTelemetry's variables:
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (the ADOT Lambda layer's collector listens on
//! `http://localhost:4318`), `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`, the default, or
//! `http/json`), `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`.
//!
//! **Flushed before the answer.** Lambda may freeze the execution environment as soon as the
//! handler answers, so spans still buffered would leave only at the next invocation, or never.
//! The handlers call [`flush`](crate::otel::flush) after each invocation's spans have closed
//! and before they return. The export runs on a blocking thread, never on the runtime's workers.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! // main.rs: instead of sluice::telemetry::init_logs().
//! sluice::otel::init()?;
//! # Ok(()) }
//! ```

use std::sync::OnceLock;

use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanContext, TraceContextExt, TracerProvider as _};
use opentelemetry_aws::trace::{XrayIdGenerator, XrayPropagator};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use sluice_trace::{SpanId, TraceContext};
use tracing::{Level, Metadata};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The tracer provider [`init`] installed: what [`flush`] flushes.
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Why [`init`] could not install the export.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtelError {
    /// The OTLP exporter could not be built from the `OTEL_EXPORTER_OTLP_*` variables.
    #[error("building the OTLP span exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// A `tracing` subscriber is installed already (`init_logs`, or `init` called twice).
    #[error("a tracing subscriber is already installed: call sluice::otel::init instead of init_logs, once")]
    SubscriberInstalled,
}

/// Installs the log layer and the OpenTelemetry export, with the X-Ray id generator and
/// propagator. The resource names the function (`service.name`, `faas.name`: the
/// `AWS_LAMBDA_FUNCTION_NAME`) and `cloud.provider` `aws`.
pub fn init() -> Result<(), OtelError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder().with_http().build()?;
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "sluice-worker".to_owned());
    let resource = Resource::builder()
        .with_service_name(function.clone())
        .with_attributes([KeyValue::new("faas.name", function), KeyValue::new("cloud.provider", "aws")])
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_id_generator(XrayIdGenerator::default())
        .with_resource(resource)
        .build();
    opentelemetry::global::set_text_map_propagator(XrayPropagator::default());
    let tracer = provider.tracer("sluice");
    let exported =
        tracing_opentelemetry::layer().with_tracer(tracer).with_filter(tracing_subscriber::filter::filter_fn(exported));
    tracing_subscriber::registry()
        .with(crate::telemetry::log_layer())
        .with(exported)
        .try_init()
        .map_err(|_| OtelError::SubscriberInstalled)?;
    let _ = PROVIDER.set(provider);
    Ok(())
}

/// Which spans and events are exported: sluice's spans (some are at DEBUG, so that they cost
/// nothing without this feature), one span per AWS SDK operation (`S3.GetObject`: the SDK's
/// per-attempt and serialisation spans are left out), and everything else at INFO or above.
/// `lambda_runtime`'s own invocation span is left out: sluice's `invocation` span is the one
/// that continues Lambda's trace.
fn exported(meta: &Metadata<'_>) -> bool {
    let target = meta.target();
    if target.starts_with("lambda_runtime") {
        return false;
    }
    if meta.is_span() {
        if target.starts_with("sluice") {
            return *meta.level() <= Level::DEBUG;
        }
        if target.starts_with("aws_sdk_") {
            return meta.name().contains('.');
        }
    }
    *meta.level() <= Level::INFO
}

/// Whether [`init`] has run: until then the handlers open only the spans their log lines need.
pub(crate) fn active() -> bool {
    PROVIDER.get().is_some()
}

/// Exports every finished span now, on a blocking thread. Does nothing without [`init`].
pub async fn flush() {
    let Some(provider) = PROVIDER.get() else { return };
    let provider = provider.clone();
    match tokio::task::spawn_blocking(move || provider.force_flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "exporting spans failed"),
        Err(error) => tracing::warn!(%error, "the span export panicked"),
    }
}

/// `ctx` as an OpenTelemetry remote span context (X-Ray's header read by X-Ray's propagator).
fn remote(ctx: &TraceContext) -> Option<SpanContext> {
    let ctx = if ctx.parent_id.is_some() { *ctx } else { ctx.child(SpanId::generate()) };
    opentelemetry_aws::trace::xray_propagator::span_context_from_str(&ctx.xray_header())
}

/// Makes `span` continue `ctx` (its exported parent). Call it before anything reads the
/// span's context: the OpenTelemetry span starts then, and its parent is fixed.
pub(crate) fn continue_trace(span: &tracing::Span, ctx: Option<&TraceContext>) {
    let Some(remote) = ctx.and_then(remote) else { return };
    if let Err(error) = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote)) {
        tracing::debug!(%error, "span not continued from the trace header");
    }
}

/// Links `span` to `ctx`: an invocation span to a message with a trace of its own.
pub(crate) fn link(span: &tracing::Span, ctx: &TraceContext) {
    if let Some(remote) = remote(ctx) {
        span.add_link(remote);
    }
}

/// What calls made inside `span` send on: `ctx`'s trace with `span` as the parent, once the
/// span is exported; `ctx` unchanged otherwise.
pub(crate) fn outgoing(span: &tracing::Span, ctx: Option<TraceContext>) -> Option<TraceContext> {
    let otel = span.context();
    let span_context = otel.span().span_context().clone();
    if !span_context.is_valid() {
        return ctx;
    }
    let trace = TraceContext {
        trace_id: sluice_trace::TraceId(span_context.trace_id().to_bytes()),
        parent_id: Some(SpanId(span_context.span_id().to_bytes())),
        sampled: Some(span_context.is_sampled()),
    };
    Some(trace)
}
