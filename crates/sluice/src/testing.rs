//! What a worker's own tests need: a Lambda context with a deadline, and sample events
//! (`sluice_events::sample`) for both paths.
//!
//! ```
//! use std::time::Duration;
//! let ctx = sluice::testing::context(Duration::from_secs(30));
//! assert_eq!(ctx.request_id, "test-request");
//! assert!(ctx.deadline > sluice_clock::now_millis());
//! ```

use std::time::{Duration, SystemTime};

pub use sluice_events::sample;

/// A `lambda_runtime::Context` for request `test-request` whose deadline is `remaining` from
/// now, as Lambda's `Lambda-Runtime-Deadline-Ms` header would set it.
pub fn context(remaining: Duration) -> lambda_runtime::Context {
    context_for("test-request", remaining)
}

/// [`context`] with the request id `request_id`.
///
/// ```
/// let ctx = sluice::testing::context_for("req-7", std::time::Duration::from_secs(5));
/// assert_eq!(ctx.request_id, "req-7");
/// ```
pub fn context_for(request_id: &str, remaining: Duration) -> lambda_runtime::Context {
    let mut ctx = lambda_runtime::Context::default();
    ctx.request_id = request_id.to_owned();
    ctx.deadline = sluice_clock::epoch_millis(SystemTime::now() + remaining);
    ctx
}

/// JSON log lines kept in memory, written as [`crate::telemetry::init_logs`] writes them under
/// `AWS_LAMBDA_LOG_FORMAT=JSON`, at every level: for tests that read what a worker logs.
///
/// ```
/// let lines = sluice::testing::LogLines::default();
/// tracing::subscriber::with_default(lines.subscriber(), || {
///     tracing::info_span!("invocation", requestId = "r-1").in_scope(|| tracing::info!(key = "a.csv", "item done"));
/// });
/// let line = &lines.parsed()[0];
/// assert_eq!(line["fields"]["key"], "a.csv");
/// assert_eq!(line["span"]["requestId"], "r-1");
/// ```
#[cfg(feature = "json-logs")]
#[derive(Debug, Clone, Default)]
pub struct LogLines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

#[cfg(feature = "json-logs")]
impl LogLines {
    /// A subscriber writing here.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        use tracing_subscriber::layer::SubscriberExt;
        let lines = self.clone();
        let layer = tracing_subscriber::fmt::layer()
            .fmt_fields(crate::telemetry::JsonFields)
            .event_format(crate::telemetry::JsonFormat)
            .with_writer(move || lines.clone());
        tracing_subscriber::registry().with(layer)
    }

    /// Every line so far, parsed. A line that is not JSON panics, naming it: this is for tests.
    pub fn parsed(&self) -> Vec<serde_json::Value> {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {l}")))
            .collect()
    }
}

#[cfg(feature = "json-logs")]
impl std::io::Write for LogLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
