//! Whether spans are exported, and the DEBUG spans that exist only then.
//!
//! `claim`, `process`, `complete` and `release` are spans for an OpenTelemetry backend; no log
//! line needs them. Until `otel::init` has run (and always without the `otel` feature) they are
//! not created at all, which spares even the subscriber's per-call check a scoped subscriber
//! would make.

/// True once `otel::init` has run.
#[cfg(feature = "otel")]
pub(crate) fn exporting() -> bool {
    crate::otel::active()
}

/// Never: without the `otel` feature nothing is exported.
#[cfg(not(feature = "otel"))]
pub(crate) fn exporting() -> bool {
    false
}

/// A DEBUG span named `name` when spans are exported; a disabled one otherwise.
macro_rules! exported_span {
    ($name:literal) => {
        if $crate::export::exporting() { tracing::debug_span!($name) } else { tracing::Span::none() }
    };
}
pub(crate) use exported_span;
