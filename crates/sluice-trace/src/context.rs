//! A trace context, and the two header forms it travels in.
//!
//! AWS writes trace context as an X-Ray header (`X-Amzn-Trace-Id`, Lambda's
//! `Lambda-Runtime-Trace-Id`, SQS's `AWSTraceHeader` system attribute):
//!
//! `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`
//!
//! (AWS X-Ray Developer Guide, "Tracing header"). The rest of the world writes W3C Trace Context
//! (`traceparent: 00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01`). Both name the same
//! three things: a 128-bit trace id, the 64-bit id of the caller's span, and the sampling
//! decision. An X-Ray root is the W3C trace id with a dash after its first 8 hex digits (the
//! epoch seconds), so one [`TraceContext`] reads and writes both.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use sluice_excerpt::Excerpt;

/// A 128-bit trace id. `Display` writes 32 lowercase hex digits (the W3C form);
/// [`TraceId::xray`] writes the X-Ray root (`1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx`).
///
/// ```
/// use sluice_trace::TraceContext;
///
/// let ctx = TraceContext::parse("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1").unwrap();
/// assert_eq!(ctx.trace_id.to_string(), "5759e988bd862e3fe1be46a994272793");
/// assert_eq!(ctx.trace_id.xray(), "1-5759e988-bd862e3fe1be46a994272793");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId(pub [u8; 16]);

/// A 64-bit span id; `Display` writes 16 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanId(pub [u8; 8]);

impl TraceId {
    /// A fresh id in X-Ray's format: the current epoch seconds, then 96 random bits (AWS X-Ray
    /// Developer Guide, "Trace ID format"), so X-Ray accepts it and W3C readers do too.
    pub fn generate() -> TraceId {
        let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as u32;
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&seconds.to_be_bytes());
        bytes[4..].copy_from_slice(&fastrand::u128(..).to_be_bytes()[..12]);
        TraceId(bytes)
    }

    /// The X-Ray root: `1-` then the first 8 hex digits, `-`, the other 24.
    pub fn xray(&self) -> String {
        let hex = self.to_string();
        format!("1-{}-{}", &hex[..8], &hex[8..])
    }
}

impl SpanId {
    /// A fresh random span id, never zero (W3C forbids an all-zero parent id).
    pub fn generate() -> SpanId {
        SpanId(fastrand::u64(1..).to_be_bytes())
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

/// Where a trace continues: the trace, the caller's span in it, and whether it is sampled.
///
/// ```
/// use sluice_trace::TraceContext;
///
/// // The producer's trace, as SQS keeps it in a record's `AWSTraceHeader`.
/// let ctx = TraceContext::parse("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")?;
/// assert_eq!(ctx.traceparent(), "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01");
/// // The same context written back as X-Ray writes it.
/// assert_eq!(ctx.xray_header(), "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1");
/// // W3C reads the same.
/// assert_eq!(TraceContext::parse(&ctx.traceparent())?, ctx);
/// # Ok::<(), sluice_trace::TraceHeaderError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceContext {
    /// The trace.
    pub trace_id: TraceId,
    /// The caller's span, when the header names one (X-Ray's `Parent`; always in W3C).
    pub parent_id: Option<SpanId>,
    /// The sampling decision: `None` when the header leaves it to the receiver (X-Ray's
    /// `Sampled=?`, or no `Sampled` at all).
    pub sampled: Option<bool>,
}

/// Why a trace header could not be read. It quotes at most a short excerpt of the header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceHeaderError {
    /// Neither an X-Ray header (`Root=1-…`) nor a W3C `traceparent` (`00-…`).
    #[error("not an X-Ray trace header or a W3C traceparent: {0}")]
    Unrecognised(Excerpt),
    /// An X-Ray header whose `Root` is missing or malformed.
    #[error("X-Ray trace header without a valid Root=1-<8 hex>-<24 hex>: {0}")]
    Root(Excerpt),
    /// An X-Ray `Parent` that is not 16 hex digits.
    #[error("X-Ray trace header with a Parent that is not 16 hex digits: {0}")]
    Parent(Excerpt),
    /// A `traceparent` that breaks W3C Trace Context's format (section 3.2).
    #[error("malformed W3C traceparent: {0}")]
    Traceparent(Excerpt),
}

impl TraceContext {
    /// A new trace, sampled, with no parent: what Lambda starts when no caller sent one.
    pub fn generate() -> TraceContext {
        TraceContext { trace_id: TraceId::generate(), parent_id: None, sampled: Some(true) }
    }

    /// Reads an X-Ray header or a W3C `traceparent`, whichever `header` is.
    pub fn parse(header: &str) -> Result<TraceContext, TraceHeaderError> {
        let trimmed = header.trim();
        if trimmed.contains("Root=") {
            Self::from_xray(trimmed)
        } else if trimmed.len() >= 55 && trimmed.as_bytes().get(2) == Some(&b'-') {
            Self::from_traceparent(trimmed)
        } else {
            Err(TraceHeaderError::Unrecognised(Excerpt::of(header)))
        }
    }

    /// Reads an X-Ray header: `Root=1-<8 hex>-<24 hex>`, optionally `Parent=<16 hex>` and
    /// `Sampled=0|1|?`, in any order, separated by `;`. Other keys (`Self`, `Lineage`, custom
    /// data) are ignored, as X-Ray does.
    pub fn from_xray(header: &str) -> Result<TraceContext, TraceHeaderError> {
        let (mut root, mut parent, mut sampled) = (None, None, None);
        for field in header.split(';') {
            let Some((key, value)) = field.split_once('=') else { continue };
            match key.trim() {
                "Root" => root = Some(value.trim()),
                "Parent" => parent = Some(value.trim()),
                "Sampled" => sampled = Some(value.trim()),
                _ => {}
            }
        }
        let trace_id = root.and_then(xray_root).ok_or_else(|| TraceHeaderError::Root(Excerpt::of(header)))?;
        let parent_id =
            parent.map(|p| span_id(p).ok_or_else(|| TraceHeaderError::Parent(Excerpt::of(header)))).transpose()?;
        let sampled = match sampled {
            Some("1") => Some(true),
            Some("0") => Some(false),
            _ => None,
        };
        Ok(TraceContext { trace_id, parent_id, sampled })
    }

    /// Reads a W3C `traceparent`: `version-trace_id-parent_id-flags`, lowercase hex, with neither
    /// id all zeros. Version `00` has exactly these four fields; a later version may append more,
    /// which are ignored (W3C Trace Context, 3.2 and 4.3); version `ff` is invalid.
    pub fn from_traceparent(header: &str) -> Result<TraceContext, TraceHeaderError> {
        let bad = || TraceHeaderError::Traceparent(Excerpt::of(header));
        let mut fields = header.split('-');
        let (Some(version), Some(trace), Some(parent), Some(flags)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad());
        };
        let rest = fields.next();
        if version.len() != 2 || !is_lower_hex(version) || version == "ff" || (version == "00" && rest.is_some()) {
            return Err(bad());
        }
        let trace_id = decode::<16>(trace).filter(|b| b != &[0; 16]).map(TraceId).ok_or_else(bad)?;
        let parent_id = span_id(parent).ok_or_else(bad)?;
        let flags = decode::<1>(flags).ok_or_else(bad)?[0];
        Ok(TraceContext { trace_id, parent_id: Some(parent_id), sampled: Some(flags & 1 == 1) })
    }

    /// The same trace, continued from `span`: what a call made inside `span` sends on.
    pub fn child(&self, span: SpanId) -> TraceContext {
        TraceContext { parent_id: Some(span), ..*self }
    }

    /// The X-Ray header: `Root=…`, then `Parent=…` and `Sampled=…` when known.
    pub fn xray_header(&self) -> String {
        let mut header = format!("Root={}", self.trace_id.xray());
        if let Some(parent) = self.parent_id {
            header.push_str(&format!(";Parent={parent}"));
        }
        match self.sampled {
            Some(true) => header.push_str(";Sampled=1"),
            Some(false) => header.push_str(";Sampled=0"),
            None => {}
        }
        header
    }

    /// The W3C `traceparent` (version 00). W3C requires a parent: without one, a fresh span id
    /// stands for the caller. Unknown sampling is written as not sampled, W3C's only other value.
    pub fn traceparent(&self) -> String {
        let parent = self.parent_id.unwrap_or_else(SpanId::generate);
        let flags = u8::from(self.sampled == Some(true));
        format!("00-{}-{parent}-{flags:02x}", self.trace_id)
    }
}

/// `1-<8 hex>-<24 hex>` into the 16 bytes of the trace id.
fn xray_root(root: &str) -> Option<TraceId> {
    let rest = root.strip_prefix("1-")?;
    let (time, unique) = rest.split_once('-')?;
    let time = decode::<4>(time)?;
    let unique = decode::<12>(unique)?;
    let mut bytes = [0u8; 16];
    bytes[..4].copy_from_slice(&time);
    bytes[4..].copy_from_slice(&unique);
    (bytes != [0; 16]).then_some(TraceId(bytes))
}

fn span_id(text: &str) -> Option<SpanId> {
    decode::<8>(text).filter(|b| b != &[0; 8]).map(SpanId)
}

fn is_lower_hex(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Exactly `2 * N` lowercase hex digits into `N` bytes.
fn decode<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !is_lower_hex(text) {
        return None;
    }
    let mut bytes = [0u8; N];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const XRAY: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    const W3C: &str = "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01";

    #[test]
    fn both_forms_name_the_same_context() {
        let xray = TraceContext::parse(XRAY).unwrap();
        let w3c = TraceContext::parse(W3C).unwrap();
        assert_eq!(xray, w3c);
        assert_eq!(xray.xray_header(), XRAY);
        assert_eq!(xray.traceparent(), W3C);
    }

    #[test]
    fn xray_fields_come_in_any_order_with_extras() {
        let ctx =
            TraceContext::parse(" Sampled=? ; Lineage=a87bd80c:0 ;Root=1-5759e988-bd862e3fe1be46a994272793;Self=1-x")
                .unwrap();
        assert_eq!(ctx.parent_id, None);
        assert_eq!(ctx.sampled, None);
        assert_eq!(ctx.xray_header(), "Root=1-5759e988-bd862e3fe1be46a994272793");
        assert!(
            TraceContext::parse("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0").unwrap().sampled == Some(false)
        );
    }

    #[test]
    fn malformed_headers_are_refused_by_kind_with_a_bounded_excerpt() {
        use TraceHeaderError::*;
        type Kind = fn(&TraceHeaderError) -> bool;
        let cases: &[(&str, Kind)] = &[
            ("", |e| matches!(e, Unrecognised(_))),
            ("garbage", |e| matches!(e, Unrecognised(_))),
            ("Root=2-5759e988-bd862e3fe1be46a994272793", |e| matches!(e, Root(_))),
            ("Root=1-5759e988-bd862e3fe1be46a99427279", |e| matches!(e, Root(_))),
            ("Root=1-00000000-000000000000000000000000", |e| matches!(e, Root(_))),
            ("Root=1-5759E988-bd862e3fe1be46a994272793", |e| matches!(e, Root(_))),
            ("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=xyz", |e| matches!(e, Parent(_))),
            ("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01-extra", |e| matches!(e, Traceparent(_))),
            ("ff-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01", |e| matches!(e, Traceparent(_))),
            ("00-00000000000000000000000000000000-53995c3f42cd8ad8-01", |e| matches!(e, Traceparent(_))),
            ("00-5759e988bd862e3fe1be46a994272793-0000000000000000-01", |e| matches!(e, Traceparent(_))),
            ("00-5759E988BD862E3FE1BE46A994272793-53995c3f42cd8ad8-01", |e| matches!(e, Traceparent(_))),
        ];
        for (header, kind) in cases {
            let error = TraceContext::parse(header).expect_err(header);
            assert!(kind(&error), "{header:?}: {error:?}");
        }
        let hostile = format!("Root={}", "9".repeat(100_000));
        let message = TraceContext::parse(&hostile).unwrap_err().to_string();
        assert!(message.len() < 200, "{message}");
    }

    #[test]
    fn a_later_traceparent_version_may_carry_more_fields() {
        let ctx = TraceContext::parse("01-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00-more").unwrap();
        assert_eq!(ctx.sampled, Some(false));
    }

    #[test]
    fn generated_ids_round_trip_and_start_with_the_epoch() {
        let ctx = TraceContext::generate();
        assert_eq!(TraceContext::parse(&ctx.xray_header()).unwrap(), ctx);
        let seconds = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as u32;
        let stamped = u32::from_be_bytes(ctx.trace_id.0[..4].try_into().unwrap());
        assert!(seconds.abs_diff(stamped) < 5);
        let child = ctx.child(SpanId::generate());
        assert_eq!(child.trace_id, ctx.trace_id);
        assert!(child.traceparent().starts_with(&format!("00-{}-", ctx.trace_id)));
        assert_ne!(TraceId::generate(), TraceId::generate());
    }
}
