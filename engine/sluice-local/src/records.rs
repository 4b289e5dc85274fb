//! What happened: one record per invocation, and concurrency over time.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// How an invocation was triggered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Not run: no concurrency was available (HTTP 429).
    Throttled,
}

/// What became of one asynchronous event.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct AsyncEventRecord {
    /// The function.
    pub function: String,
    /// The request id all its attempts shared.
    pub request_id: String,
    /// Times it ran (1 to 3).
    pub attempts: u32,
    /// Times it was throttled and put back in the queue.
    pub throttles: u32,
    /// It succeeded.
    pub succeeded: bool,
    /// `RetriesExhausted` or `EventAgeExceeded` when it did not.
    pub condition: Option<&'static str>,
    /// It reached the dead-letter queue.
    pub dead_lettered: bool,
    /// Its invocation record reached the on-failure destination.
    pub sent_to_destination: bool,
}

impl AsyncEventRecord {
    /// Failed for good and kept nowhere: lost.
    pub fn dropped(&self) -> bool {
        !self.succeeded && !self.dead_lettered && !self.sent_to_destination
    }
}

/// What an event source mapping did with one batch it received.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct BatchRecord {
    /// The function.
    pub function: String,
    /// Messages in the batch.
    pub messages: usize,
    /// `invoked` (then `deleted` of them were deleted), or `released` (no instance was free in
    /// time: made visible again without an invocation).
    pub fate: &'static str,
    /// Messages deleted after the invocation.
    pub deleted: usize,
    /// When the batch was in hand, epoch milliseconds.
    pub received_ms: u64,
    /// How long the receive took to bring it, microseconds: from the call, or from the first
    /// message's arrival if the call was already waiting (a long poll's idle time is not counted).
    pub receive_us: u64,
    /// How long its deletes took, microseconds (0 when nothing was deleted).
    pub delete_us: u64,
}

/// One invocation (as JSON in `Records::to_json`, and read back from it).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InvocationRecord {
    /// Function name.
    pub function: String,
    /// Request id.
    pub request_id: String,
    /// What triggered it.
    pub trigger: Trigger,
    /// 1, or 2 and 3 for the retries of an asynchronous event.
    pub attempt: u32,
    /// Times the event was throttled before this invocation (asynchronous events).
    pub throttles: u32,
    /// From the event's arrival (the Invoke call, or the oldest message's `SentTimestamp`) to
    /// the start of this invocation, milliseconds.
    pub queue_wait_ms: u64,
    /// A new instance was started for it.
    pub cold: bool,
    /// Which instance ran it.
    pub instance: u64,
    /// Start, epoch milliseconds.
    pub start_ms: u64,
    /// Duration in milliseconds.
    pub duration_ms: u64,
    /// The same, in microseconds (for benchmarks of fast functions).
    #[serde(default)]
    pub duration_us: u64,
    /// Billed duration: the duration rounded up to the millisecond, as Lambda bills.
    pub billed_duration_ms: u64,
    /// The init phase of the instance (cold starts only): start to its first `/next`.
    pub init_duration_ms: Option<u64>,
    /// The same, in microseconds.
    #[serde(default)]
    pub init_duration_us: Option<u64>,
    /// The function's memory size, MB (GB-seconds = billed duration x memory).
    pub memory_mb: u32,
    /// The instance's peak resident memory so far, KiB: Lambda's "Max Memory Used" (the
    /// `REPORT` line shows it in MB), read from `VmHWM` when the invocation ends.
    #[serde(default)]
    pub max_memory_used_kb: Option<u64>,
    /// Records in the event (SQS batches); 1 otherwise.
    pub batch_size: usize,
    /// Bytes of the event.
    pub payload_bytes: usize,
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
    batches: Mutex<Vec<BatchRecord>>,
    async_events: Mutex<Vec<AsyncEventRecord>>,
    mapping_levels: Mutex<Vec<ConcurrencySample>>,
    throttles: Mutex<std::collections::HashMap<(String, Trigger), u64>>,
    sqs_requests: Mutex<std::collections::BTreeMap<(String, &'static str), u64>>,
    time_scale: Mutex<f64>,
    faults: Mutex<std::collections::BTreeMap<(String, &'static str), u64>>,
}

impl Records {
    pub(crate) fn set_time_scale(&self, scale: f64) {
        *self.time_scale.lock().expect("records poisoned") = scale;
    }

    /// The time scale these records were made at: AWS waits ran this many times faster.
    pub fn time_scale(&self) -> f64 {
        *self.time_scale.lock().expect("records poisoned")
    }

    pub(crate) fn invocation(&self, record: InvocationRecord) {
        self.invocations.lock().expect("records poisoned").push(record);
    }

    pub(crate) fn concurrency(&self, function: &str, in_flight: u32) {
        self.concurrency.lock().expect("records poisoned").push(ConcurrencySample {
            at_ms: sluice_clock::now_millis(),
            function: function.to_owned(),
            in_flight,
        });
    }

    pub(crate) fn batch(&self, record: BatchRecord) {
        self.batches.lock().expect("records poisoned").push(record);
    }

    pub(crate) fn mapping_level(&self, function: &str, level: u32) {
        self.mapping_levels.lock().expect("records poisoned").push(ConcurrencySample {
            at_ms: sluice_clock::now_millis(),
            function: function.to_owned(),
            in_flight: level,
        });
    }

    /// How many concurrent batches the mappings of a function allowed over time (each change).
    pub fn mapping_levels(&self, function: &str) -> Vec<ConcurrencySample> {
        let samples = self.mapping_levels.lock().expect("records poisoned");
        samples.iter().filter(|s| s.function == function).cloned().collect()
    }

    pub(crate) fn async_event(&self, record: AsyncEventRecord) {
        self.async_events.lock().expect("records poisoned").push(record);
    }

    pub(crate) fn fault(&self, function: &str, kind: &'static str) {
        *self.faults.lock().expect("records poisoned").entry((function.to_owned(), kind)).or_default() += 1;
    }

    /// Faults injected into `function`'s invocations, by kind: `kill`, `timeout`, `throttle`.
    pub fn faults(&self, function: &str) -> std::collections::BTreeMap<&'static str, u64> {
        let faults = self.faults.lock().expect("records poisoned");
        faults.iter().filter(|((f, _), _)| f == function).map(|((_, kind), n)| (*kind, *n)).collect()
    }

    pub(crate) fn throttle(&self, function: &str, trigger: Trigger) {
        *self.throttles.lock().expect("records poisoned").entry((function.to_owned(), trigger)).or_default() += 1;
    }

    /// What became of each asynchronous event that is done (succeeded or given up).
    pub fn async_events(&self) -> Vec<AsyncEventRecord> {
        self.async_events.lock().expect("records poisoned").clone()
    }

    /// Throttles of `function`'s invocations by `trigger`.
    pub fn throttles(&self, function: &str, trigger: Trigger) -> u64 {
        self.throttles.lock().expect("records poisoned").get(&(function.to_owned(), trigger)).copied().unwrap_or(0)
    }

    /// Counts one SQS request the service made on `function`'s behalf (`action`:
    /// `ReceiveMessage`, `DeleteMessageBatch`, `ChangeMessageVisibilityBatch`, `SendMessage`).
    pub(crate) fn sqs_request(&self, function: &str, action: &'static str) {
        *self.sqs_requests.lock().expect("records poisoned").entry((function.to_owned(), action)).or_default() += 1;
    }

    /// Batches the event source mappings finished with, invoked or released.
    pub fn batches(&self) -> Vec<BatchRecord> {
        self.batches.lock().expect("records poisoned").clone()
    }

    /// `ReceiveMessage` requests the mappings of `function` made.
    pub fn receive_requests(&self, function: &str) -> u64 {
        self.sqs_requests(function).get("ReceiveMessage").copied().unwrap_or(0)
    }

    /// SQS requests the service made for `function`, by action: its mappings' receives,
    /// deletes and visibility changes, and the sends to its DLQ or on-failure destination.
    /// Each is one billed SQS request.
    pub fn sqs_requests(&self, function: &str) -> std::collections::BTreeMap<&'static str, u64> {
        let requests = self.sqs_requests.lock().expect("records poisoned");
        requests.iter().filter(|((f, _), _)| f == function).map(|((_, action), n)| (*action, *n)).collect()
    }

    /// Throttles of `function`'s invocations, whatever triggered them.
    pub fn all_throttles(&self, function: &str) -> u64 {
        let throttles = self.throttles.lock().expect("records poisoned");
        throttles.iter().filter(|((f, _), _)| f == function).map(|(_, n)| n).sum()
    }

    /// In-flight invocations of `function` after each change.
    pub fn concurrency_samples(&self, function: &str) -> Vec<ConcurrencySample> {
        let samples = self.concurrency.lock().expect("records poisoned");
        samples.iter().filter(|s| s.function == function).cloned().collect()
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
            "time_scale": self.time_scale(),
            "invocations": *self.invocations.lock().expect("records poisoned"),
            "concurrency": *self.concurrency.lock().expect("records poisoned"),
            "batches": *self.batches.lock().expect("records poisoned"),
            "async_events": *self.async_events.lock().expect("records poisoned"),
        })
    }
}
