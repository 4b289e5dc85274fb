//! JSON logs for CloudWatch.
//!
//! One JSON object per line, with the span fields (the invocation's `request_id`) on every line,
//! so CloudWatch Logs Insights can filter by request, message id, key and outcome.

/// Installs a JSON `tracing` subscriber writing to standard output.
///
/// The level comes from `RUST_LOG`, else from Lambda's `AWS_LAMBDA_LOG_LEVEL`, else `info`.
/// Calling it twice is harmless: the second call does nothing.
///
/// ```
/// sluice::telemetry::init_json_logs();
/// tracing::info!(key = "incoming/a.csv", "hello");
/// ```
pub fn init_json_logs() {
    use tracing_subscriber::EnvFilter;

    let filter = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().map(|l| l.to_lowercase()))
        .and_then(|s| EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .try_init();
}
