//! What an invocation did, as one log line and one CloudWatch Embedded Metric Format line.
//!
//! EMF lets dashboards and alarms read metrics straight from the log stream: a JSON line with
//! an `_aws` member becomes CloudWatch metrics without a `PutMetricData` call (CloudWatch
//! User Guide, "Embedded metric format specification").

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::json;

use crate::Path;

/// Item counts of one message or one invocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Items processed by the processor.
    pub processed: u32,
    /// Items found completed in the idempotency store and not processed again.
    pub duplicate: u32,
    /// Items and messages skipped (test events, filtered items).
    pub skipped: u32,
    /// Items and undecodable messages that failed.
    pub failed: u32,
    /// Messages sent to the dead-letter queue by the handler.
    pub dead_lettered: u32,
    /// Items processed whose output could not be stored (a duplicate may run them again).
    pub unrecorded: u32,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.processed += o.processed;
        self.duplicate += o.duplicate;
        self.skipped += o.skipped;
        self.failed += o.failed;
        self.dead_lettered += o.dead_lettered;
        self.unrecorded += o.unrecorded;
    }
}

/// The summary of one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvocationReport {
    /// The delivery path.
    pub path: Path,
    /// Messages in the event.
    pub messages: u32,
    /// Messages reported failed to the event source (SQS) or failing the invocation (SNS).
    pub failed_messages: u32,
    /// Item counts.
    pub counts: Counts,
    /// Wall time of the invocation.
    pub duration: Duration,
    /// Each item's age when it started, in milliseconds (now minus SQS's `SentTimestamp`, the
    /// SNS `Timestamp` or the S3 `eventTime`): how long the pipeline held it before this worker.
    pub record_ages_ms: Vec<u64>,
}

impl InvocationReport {
    /// Logs the summary line.
    pub(crate) fn log(&self) {
        let c = &self.counts;
        tracing::info!(
            path = self.path.as_str(),
            messages = self.messages,
            failed_messages = self.failed_messages,
            processed = c.processed,
            duplicate = c.duplicate,
            skipped = c.skipped,
            failed = c.failed,
            dead_lettered = c.dead_lettered,
            unrecorded = c.unrecorded,
            duration_ms = self.duration.as_millis() as u64,
            max_record_age_ms = self.record_ages_ms.iter().max().copied(),
            "invocation summary"
        );
    }
}

/// Values one EMF metric may carry in one line.
const MAX_EMF_VALUES: usize = 100;

type Sink = Arc<dyn Fn(&str) + Send + Sync>;

/// Writes one EMF line per invocation.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use sluice::EmfMetrics;
///
/// let lines = Arc::new(Mutex::new(Vec::new()));
/// let captured = lines.clone();
/// let metrics = EmfMetrics::new("sluice", "object-summary")
///     .with_sink(move |line: &str| captured.lock().unwrap().push(line.to_owned()));
/// # let _ = metrics;
/// ```
#[derive(Clone)]
pub struct EmfMetrics {
    namespace: String,
    function_name: String,
    sink: Option<Sink>,
}

impl std::fmt::Debug for EmfMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmfMetrics")
            .field("namespace", &self.namespace)
            .field("function_name", &self.function_name)
            .field("enabled", &self.sink.is_some())
            .finish()
    }
}

impl EmfMetrics {
    /// Metrics in `namespace` with the dimension `FunctionName = function_name`, written to
    /// standard output (where Lambda's log capture picks them up).
    pub fn new(namespace: impl Into<String>, function_name: impl Into<String>) -> Self {
        let stdout: Sink = Arc::new(|line: &str| {
            let mut out = std::io::stdout().lock();
            // One write per line, so concurrent log output cannot split it.
            let _ = out.write_all(format!("{line}\n").as_bytes());
            let _ = out.flush();
        });
        EmfMetrics { namespace: namespace.into(), function_name: function_name.into(), sink: Some(stdout) }
    }

    /// No metrics.
    pub fn disabled() -> Self {
        EmfMetrics { namespace: String::new(), function_name: String::new(), sink: None }
    }

    /// Sends lines to `sink` instead of standard output.
    pub fn with_sink(mut self, sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.sink = Some(Arc::new(sink));
        self
    }

    /// Renders the EMF document of `report`.
    pub fn render(&self, report: &InvocationReport) -> String {
        let ms = sluice_clock::epoch_millis;
        let c = &report.counts;
        let mut line = json!({
            "_aws": {
                "Timestamp": ms(SystemTime::now()),
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [["FunctionName", "Path"]],
                    "Metrics": [
                        {"Name": "Messages", "Unit": "Count"},
                        {"Name": "FailedMessages", "Unit": "Count"},
                        {"Name": "Processed", "Unit": "Count"},
                        {"Name": "Duplicate", "Unit": "Count"},
                        {"Name": "Skipped", "Unit": "Count"},
                        {"Name": "Failed", "Unit": "Count"},
                        {"Name": "DeadLettered", "Unit": "Count"},
                        {"Name": "Unrecorded", "Unit": "Count"},
                        {"Name": "BatchDuration", "Unit": "Milliseconds"}
                    ]
                }]
            },
            "FunctionName": self.function_name,
            "Path": report.path.as_str(),
            "Messages": report.messages,
            "FailedMessages": report.failed_messages,
            "Processed": c.processed,
            "Duplicate": c.duplicate,
            "Skipped": c.skipped,
            "Failed": c.failed,
            "DeadLettered": c.dead_lettered,
            "Unrecorded": c.unrecorded,
            "BatchDuration": report.duration.as_secs_f64() * 1000.0,
        });
        if !report.record_ages_ms.is_empty() {
            // One value per item, so CloudWatch keeps percentiles, not only the batch's maximum.
            // EMF takes at most 100 values per metric (EMF specification, "MetricDirective"):
            // beyond that, the 100 oldest stand for the batch.
            let mut ages = report.record_ages_ms.clone();
            if ages.len() > MAX_EMF_VALUES {
                ages.sort_unstable_by(|a, b| b.cmp(a));
                ages.truncate(MAX_EMF_VALUES);
            }
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array_mut()
                .expect("declared above")
                .push(json!({"Name": "RecordAge", "Unit": "Milliseconds"}));
            line["RecordAge"] = json!(ages);
        }
        line.to_string()
    }

    pub(crate) fn emit(&self, report: &InvocationReport) {
        if let Some(sink) = &self.sink {
            sink(&self.render(report));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_line_declares_every_metric_it_carries() {
        let report = InvocationReport {
            path: Path::Sqs,
            messages: 3,
            failed_messages: 1,
            counts: Counts { processed: 2, failed: 1, ..Counts::default() },
            duration: Duration::from_millis(12),
            record_ages_ms: vec![],
        };
        let doc: serde_json::Value = serde_json::from_str(&EmfMetrics::new("ns", "fn").render(&report)).unwrap();
        let declared = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "ns");
        for metric in declared["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(doc[name].is_number(), "{name} declared but missing");
        }
        for dims in declared["Dimensions"][0].as_array().unwrap() {
            assert!(doc[dims.as_str().unwrap()].is_string());
        }
        assert_eq!(doc["Processed"], 2);
        assert_eq!(doc["Path"], "sqs");
        assert_eq!(doc["BatchDuration"], 12.0);
        assert!(doc.get("RecordAge").is_none(), "no ages, no RecordAge metric");
    }

    #[test]
    fn record_ages_are_one_value_per_item_and_at_most_a_hundred() {
        let report = |ages: Vec<u64>| InvocationReport {
            path: Path::Sns,
            messages: 1,
            failed_messages: 0,
            counts: Counts::default(),
            duration: Duration::ZERO,
            record_ages_ms: ages,
        };
        let render = |r| serde_json::from_str::<serde_json::Value>(&EmfMetrics::new("ns", "fn").render(&r)).unwrap();
        let doc = render(report(vec![40, 7]));
        assert_eq!(doc["RecordAge"], json!([40, 7]));
        let declared = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap();
        assert!(declared.contains(&json!({"Name": "RecordAge", "Unit": "Milliseconds"})));
        let doc = render(report((0..250).collect()));
        let ages = doc["RecordAge"].as_array().unwrap();
        assert_eq!((ages.len(), ages[0].as_u64(), ages[99].as_u64()), (100, Some(249), Some(150)));
    }
}
