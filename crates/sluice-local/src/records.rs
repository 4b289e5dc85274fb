//! What happened: one record per invocation, and concurrency over time.

use std::sync::Mutex;
use std::time::SystemTime;

use serde::Serialize;

/// How an invocation was triggered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// `Invoke` with `RequestResponse`.
    Sync,
    /// `Invoke` with `Event`, or an SNS delivery: the internal queue.
    Async,
    /// An SQS event source mapping.
    EventSourceMapping,
}

/// How an invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The function answered on `/response`.
    Success,
    /// The function answered on `/error`.
    FunctionError,
    /// The function ran past its timeout and was killed.
    Timeout,
    /// The runtime exited or failed to initialise.
    RuntimeError,
}

/// One invocation.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct InvocationRecord {
    /// Function name.
    pub function: String,
    /// Request id.
    pub request_id: String,
    /// What triggered it.
    pub trigger: Trigger,
    /// A new instance was started for it.
    pub cold: bool,
    /// Which instance ran it.
    pub instance: u64,
    /// Start, epoch milliseconds.
    pub start_ms: u64,
    /// Duration in milliseconds.
    pub duration_ms: u64,
    /// Records in the event (SQS batches); 1 otherwise.
    pub batch_size: usize,
    /// How it ended.
    pub outcome: Outcome,
    /// The error type, for failures.
    pub error_type: Option<String>,
}

/// In-flight invocations of a function after a change.
#[derive(Debug, Clone, Serialize)]
pub struct ConcurrencySample {
    /// Epoch milliseconds.
    pub at_ms: u64,
    /// Function name.
    pub function: String,
    /// Invocations in flight.
    pub in_flight: u32,
}

/// Everything recorded so far.
#[derive(Debug, Default, Serialize)]
pub struct Records {
    invocations: Mutex<Vec<InvocationRecord>>,
    concurrency: Mutex<Vec<ConcurrencySample>>,
}

pub(crate) fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

impl Records {
    pub(crate) fn invocation(&self, record: InvocationRecord) {
        self.invocations.lock().expect("records poisoned").push(record);
    }

    pub(crate) fn concurrency(&self, function: &str, in_flight: u32) {
        self.concurrency.lock().expect("records poisoned").push(ConcurrencySample {
            at_ms: epoch_ms(SystemTime::now()),
            function: function.to_owned(),
            in_flight,
        });
    }

    /// Invocations so far.
    pub fn invocations(&self) -> Vec<InvocationRecord> {
        self.invocations.lock().expect("records poisoned").clone()
    }

    /// The highest number of invocations of `function` in flight at once.
    pub fn max_concurrency(&self, function: &str) -> u32 {
        let samples = self.concurrency.lock().expect("records poisoned");
        samples.iter().filter(|s| s.function == function).map(|s| s.in_flight).max().unwrap_or(0)
    }

    /// Everything, as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "invocations": *self.invocations.lock().expect("records poisoned"),
            "concurrency": *self.concurrency.lock().expect("records poisoned"),
        })
    }
}
