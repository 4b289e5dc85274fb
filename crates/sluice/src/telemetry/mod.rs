//! Logs as Lambda's advanced logging controls ask for them.
//!
//! A function's `LoggingConfig` reaches the runtime as two variables (Lambda Developer Guide,
//! "Configuring advanced logging controls"): `AWS_LAMBDA_LOG_FORMAT` (`Text` or `JSON`) and,
//! with JSON, `AWS_LAMBDA_LOG_LEVEL` (`TRACE` to `FATAL`). [`init_logs`](crate::telemetry::init_logs) follows them, as
//! `lambda_runtime::tracing::init_default_subscriber` means to, and takes `RUST_LOG` only when
//! Lambda sets no level. (That function reads `RUST_LOG` again inside `EnvFilter::from_env_lossy`,
//! so a stray `RUST_LOG` overrides the level the function's configuration chose.)
//!
//! Every line inside an invocation names its request and trace: the handlers run each
//! invocation in a span `invocation`, and each message that has a trace of its own (an SQS
//! message's sender's, see [`sluice_trace`]) in a span `message`, both with the fields
//! `requestId` and `trace_id`. JSON lines carry the current span's fields, so a line names the
//! trace of the message it was logged for, as Powertools' Logger does with `xray_trace_id`.
//! (An invocation without a trace has no span of sluice's: its lines carry the span
//! `lambda_runtime` opens, `Lambda runtime invoke`, with `requestId`.)

mod json;

pub use json::{JsonFields, JsonFormat};
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry};

/// Installs a `tracing` subscriber writing to standard output.
///
/// - Level: `AWS_LAMBDA_LOG_LEVEL` (`FATAL` is `error`), else the `RUST_LOG` directives, else
///   `info`.
/// - Format: one JSON object per line with the current span's fields when
///   `AWS_LAMBDA_LOG_FORMAT` is `JSON` ([`JsonFormat`]); plain text otherwise (Lambda's
///   default, `Text`).
///
/// Calling it twice is harmless: the second call does nothing.
///
/// ```
/// sluice::telemetry::init_logs();
/// tracing::info!(key = "incoming/a.csv", "hello");
/// ```
pub fn init_logs() {
    let _ = tracing_subscriber::registry().with(log_layer::<Registry>()).try_init();
}

/// The log layer [`init_logs`] installs, filtered by its level: a subscriber of your own (or
/// `otel::init`) stacks it with other layers.
pub fn log_layer<S>() -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    let (filter, json) = settings(|name| std::env::var(name).ok());
    let layer = tracing_subscriber::fmt::layer().with_target(false).with_ansi(false);
    if json {
        layer.fmt_fields(JsonFields).event_format(JsonFormat).with_filter(filter).boxed()
    } else {
        layer.with_filter(filter).boxed()
    }
}

/// The filter and whether to write JSON, from the variables `lookup` finds.
fn settings(lookup: impl Fn(&str) -> Option<String>) -> (EnvFilter, bool) {
    let json = lookup("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.trim().eq_ignore_ascii_case("json"));
    let lambda_level = lookup("AWS_LAMBDA_LOG_LEVEL").map(|l| match l.trim().to_ascii_lowercase().as_str() {
        "fatal" => "error".to_owned(),
        other => other.to_owned(),
    });
    let filter = lambda_level
        .or_else(|| lookup("RUST_LOG"))
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    (filter, json)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn with(vars: &[(&str, &str)]) -> (String, bool) {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let (filter, json) = settings(|name| vars.get(name).cloned());
        (filter.to_string(), json)
    }

    #[test]
    fn lambda_settings_come_before_rust_log() {
        let (filter, json) =
            with(&[("AWS_LAMBDA_LOG_FORMAT", "JSON"), ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"), ("RUST_LOG", "error")]);
        assert_eq!((filter.as_str(), json), ("debug", true));
        assert_eq!(with(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]).0, "error");
    }

    #[test]
    fn rust_log_applies_when_lambda_sets_no_level() {
        assert_eq!(with(&[("RUST_LOG", "warn,sluice=debug")]), ("sluice=debug,warn".to_owned(), false));
        assert_eq!(with(&[]), ("info".to_owned(), false));
        assert!(!with(&[("AWS_LAMBDA_LOG_FORMAT", "Text")]).1);
    }
}
