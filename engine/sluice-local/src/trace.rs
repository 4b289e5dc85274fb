//! The trace header Lambda hands each invocation.
//!
//! Lambda gives every invocation an X-Ray header in `Lambda-Runtime-Trace-Id` (Lambda Runtime
//! API reference, "Next invocation"): the caller's trace when the call carried one
//! (`X-Amzn-Trace-Id` on `Invoke`, kept through asynchronous retries), else a new trace. The
//! `Parent` is the function's own segment, so it is always new. The sampling decision is the
//! caller's when it made one; otherwise Lambda decides by the function's tracing mode: with
//! `Active` it samples, with `PassThrough` it does not (Lambda Developer Guide, "Visualize
//! Lambda function invocations using AWS X-Ray"). The local service samples every `Active`
//! invocation where X-Ray samples the first each second and 5 % of the rest: a local run wants
//! to see every trace.

use sluice_trace::{SpanId, TraceContext};

use crate::config::TracingMode;

/// A new trace, its sampling left to the function's tracing mode.
pub(crate) fn new_trace() -> TraceContext {
    TraceContext { sampled: None, ..TraceContext::generate() }
}

/// The header for an invocation of a function in `mode`, continuing `caller` if there is one.
pub(crate) fn invocation_header(mode: TracingMode, caller: Option<TraceContext>) -> String {
    let caller = caller.unwrap_or_else(new_trace);
    let sampled = caller.sampled.unwrap_or(mode == TracingMode::Active);
    TraceContext { sampled: Some(sampled), ..caller.child(SpanId::generate()) }.xray_header()
}

/// The caller's trace from an `X-Amzn-Trace-Id` header; a malformed one is ignored, as Lambda
/// starts a new trace then.
pub(crate) fn caller_trace(header: Option<&str>) -> Option<TraceContext> {
    let header = header?;
    TraceContext::parse(header).inspect_err(|error| tracing::debug!(%error, "X-Amzn-Trace-Id ignored")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callers_trace_continues_with_a_new_parent_and_its_own_sampling() {
        let caller =
            TraceContext::parse("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0").ok();
        let header = TraceContext::parse(&invocation_header(TracingMode::Active, caller)).unwrap();
        assert_eq!(header.trace_id, caller.unwrap().trace_id);
        assert_ne!(header.parent_id, caller.unwrap().parent_id);
        assert_eq!(header.sampled, Some(false), "the caller decided");
    }

    #[test]
    fn without_a_caller_the_tracing_mode_decides() {
        let active = TraceContext::parse(&invocation_header(TracingMode::Active, None)).unwrap();
        let passive = TraceContext::parse(&invocation_header(TracingMode::PassThrough, None)).unwrap();
        assert_eq!((active.sampled, passive.sampled), (Some(true), Some(false)));
        assert_ne!(active.trace_id, passive.trace_id);
        assert!(active.parent_id.is_some());
        let undecided = caller_trace(Some("Root=1-5759e988-bd862e3fe1be46a994272793"));
        assert_eq!(
            TraceContext::parse(&invocation_header(TracingMode::Active, undecided)).unwrap().sampled,
            Some(true)
        );
        assert_eq!(caller_trace(Some("nonsense")), None);
    }
}
