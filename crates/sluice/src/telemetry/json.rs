//! The JSON lines [`log_layer`](crate::telemetry::log_layer) writes, formatted directly:
//! [`JsonFields`] formats a span's fields once, when the span is created, and [`JsonFormat`]
//! writes each event with its own fields escaped straight into the line and its span's copied
//! in (the shape and why are on [`JsonFormat`]).

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats a span's fields once, as the members of a JSON object (`"requestId":"…","n":1`),
/// for [`JsonFormat`] to copy into every line logged inside it.
///
/// ```
/// use sluice::telemetry::{JsonFields, JsonFormat};
///
/// let layer = tracing_subscriber::fmt::layer::<tracing_subscriber::Registry>()
///     .fmt_fields(JsonFields)
///     .event_format(JsonFormat);
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonFields;

impl<'writer> FormatFields<'writer> for JsonFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut members = Members { out: &mut writer, first: true, result: Ok(()) };
        fields.record(&mut members);
        members.result
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let mut members = Members { first: current.fields.is_empty(), out: &mut current.fields, result: Ok(()) };
        fields.record(&mut members);
        members.result
    }
}

/// Writes each event as one JSON line, with the fields of its span as [`JsonFields`]
/// formatted them. The shape is `tracing-subscriber`'s `json()` format with the current span
/// and no target:
///
/// ```text
/// {"timestamp":"2026-12-05T15:30:00.123456Z","level":"INFO","fields":{"message":"item done",…},"span":{"requestId":"…","trace_id":"…","name":"invocation"}}
/// ```
///
/// Values are written as that formatter writes them: strings, numbers and booleans as JSON,
/// anything else (128-bit integers too) by its `Debug` (for `%value`, `Display`) text as a
/// string. What differs is the cost: that formatter parses a span's fields back into a map for
/// every line; this one copies them as they were formatted when the span was created.
///
/// ```
/// use sluice::telemetry::{JsonFields, JsonFormat};
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let layer = tracing_subscriber::fmt::layer().fmt_fields(JsonFields).event_format(JsonFormat);
/// let subscriber = tracing_subscriber::registry().with(layer.with_writer(std::io::sink));
/// tracing::subscriber::with_default(subscriber, || tracing::info!(key = "a.csv", "item done"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonFormat;

impl<S> FormatEvent<S, JsonFields> for JsonFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let now = sluice_clock::Rfc3339Micros(std::time::SystemTime::now());
        write!(writer, r#"{{"timestamp":"{now}","level":"{}","fields":{{"#, event.metadata().level())?;
        let mut members = Members { out: &mut writer, first: true, result: Ok(()) };
        event.record(&mut members);
        members.result?;
        writer.write_char('}')?;
        let span = event.parent().and_then(|id| ctx.span(id)).or_else(|| ctx.lookup_current());
        if let Some(span) = span {
            writer.write_str(r#","span":{"#)?;
            let extensions = span.extensions();
            if let Some(fields) = extensions.get::<FormattedFields<JsonFields>>().filter(|f| !f.fields.is_empty()) {
                writer.write_str(&fields.fields)?;
                writer.write_char(',')?;
            }
            writer.write_str(r#""name":"#)?;
            write_string(&mut writer, span.name())?;
            writer.write_char('}')?;
        }
        writer.write_str("}\n")
    }
}

/// Writes the fields it visits as JSON object members, separated by commas.
struct Members<'w, W: fmt::Write> {
    out: &'w mut W,
    first: bool,
    result: fmt::Result,
}

impl<W: fmt::Write> Members<'_, W> {
    fn member(&mut self, field: &Field, value: impl FnOnce(&mut W) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            if !std::mem::take(&mut self.first) {
                self.out.write_char(',')?;
            }
            write_string(self.out, field.name())?;
            self.out.write_char(':')?;
            value(self.out)
        })();
    }
}

impl<W: fmt::Write> Visit for Members<'_, W> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.member(field, |out| write_string(out, value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity: serde_json writes them as null.
        self.member(field, |out| if value.is_finite() { write!(out, "{value:?}") } else { out.write_str("null") });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.member(field, |out| {
            out.write_char('"')?;
            write!(Escaped(out), "{value:?}")?;
            out.write_char('"')
        });
    }
}

/// `text` as a JSON string.
fn write_string(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    out.write_char('"')?;
    Escaped(out).write_str(text)?;
    out.write_char('"')
}

/// Escapes what passes through it as the inside of a JSON string, as serde_json does: `"`,
/// `\` and control characters (the usual ones by their short form, the rest as `\u00XX`).
struct Escaped<'w, W: fmt::Write + ?Sized>(&'w mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for Escaped<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut plain = 0;
        for (i, byte) in text.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                0..=0x1f => "",
                _ => continue,
            };
            self.0.write_str(&text[plain..i])?;
            if escape.is_empty() {
                write!(self.0, "\\u{byte:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            plain = i + 1;
        }
        self.0.write_str(&text[plain..])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::LogLines;

    fn log_all(with: impl Fn()) -> Vec<serde_json::Value> {
        let lines = LogLines::default();
        tracing::subscriber::with_default(lines.subscriber(), with);
        lines.parsed()
    }

    fn events() {
        let awkward = "quote \" backslash \\ newline \n tab \t nul \u{0} bell \u{7} del \u{7f} é 보고서";
        tracing::info!(
            awkward,
            n = 7u64,
            neg = -3i64,
            big = u128::MAX,
            yes = true,
            ratio = 0.25,
            nan = f64::NAN,
            "plain"
        );
        let span = tracing::info_span!("invocation", requestId = "r-1", trace_id = %"1-abc");
        span.in_scope(|| {
            tracing::warn!(message_id = %"m\"1", missing = None::<u64>, age_ms = Some(12u64), "item {} done", 3);
            let inner = tracing::info_span!("message", empty = tracing::field::Empty);
            inner.in_scope(|| tracing::error!(error = ?"debug \"quoted\"", "failed"));
            inner.record("empty", "filled");
            inner.in_scope(|| tracing::debug!("after a record"));
            let bare = tracing::info_span!("bare");
            bare.in_scope(|| tracing::info!("in a span without fields"));
        });
    }

    #[test]
    fn lines_read_as_tracing_subscribers_json_lines_read() {
        let ours = log_all(events);
        let lines = LogLines::default();
        let writer = lines.clone();
        let theirs = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_target(false)
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(theirs, events);
        let theirs = lines.parsed();
        assert_eq!(ours.len(), 5, "{ours:#?}");
        assert_eq!(ours.len(), theirs.len());
        for (ours, theirs) in ours.iter().zip(&theirs) {
            let without_time = |v: &serde_json::Value| {
                let mut v = v.clone();
                v.as_object_mut().unwrap().remove("timestamp");
                v
            };
            assert_eq!(without_time(ours), without_time(theirs));
            let time = ours["timestamp"].as_str().unwrap();
            assert!(sluice_clock::rfc3339_millis(time).is_some() && time.len() == 27, "{time}");
        }
        assert_eq!(
            ours[0]["fields"]["awkward"],
            "quote \" backslash \\ newline \n tab \t nul \u{0} bell \u{7} del \u{7f} é 보고서"
        );
        assert_eq!(ours[1]["span"], serde_json::json!({"requestId": "r-1", "trace_id": "1-abc", "name": "invocation"}));
        assert_eq!(ours[3]["span"]["empty"], "filled");
    }
}
