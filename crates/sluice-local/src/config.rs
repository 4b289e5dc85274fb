//! What the local Lambda service runs: functions, their asynchronous-invocation settings,
//! event source mappings and SNS subscriptions. Defaults and ranges are AWS's (see the
//! comments); `../shared`-free, the numbers are cited where they are used.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Lambda's default function timeout (3 s) and memory (128 MB).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// A function: a `bootstrap` binary and its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct FunctionConfig {
    /// Function name.
    pub name: String,
    /// The executable Lambda would run (`bootstrap` of a `provided.al2023` function).
    pub bootstrap: PathBuf,
    /// Environment variables.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Invocation timeout (default 3 s, as Lambda's).
    #[serde(default = "default_timeout", with = "duration_ms")]
    pub timeout: Duration,
    /// Memory size in MB, passed as `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (default 128).
    #[serde(default = "default_memory")]
    pub memory_mb: u32,
    /// Most instances at once (reserved concurrency; default 10).
    #[serde(default = "default_concurrency")]
    pub concurrency: u32,
    /// Asynchronous invocation: retries, event age, DLQ and on-failure destination.
    #[serde(default)]
    pub async_invoke: AsyncInvokeConfig,
}

/// The function's event invoke config and dead-letter queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct AsyncInvokeConfig {
    /// `MaximumRetryAttempts`, 0 to 2, default 2 (Lambda API `FunctionEventInvokeConfig`).
    #[serde(default = "default_retries")]
    pub maximum_retry_attempts: u32,
    /// `MaximumEventAgeInSeconds`, 60 to 21600, default 21600 (6 hours).
    #[serde(default = "default_event_age", with = "duration_ms")]
    pub maximum_event_age: Duration,
    /// Waits before the 2nd and 3rd attempts. AWS waits about 1 and 2 minutes
    /// (invocation-async-error-handling); tests shorten them.
    #[serde(default = "default_retry_delays", with = "durations_ms")]
    pub retry_delays: Vec<Duration>,
    /// `DeadLetterConfig.TargetArn` as an SQS queue URL: gets the event with `RequestID`,
    /// `ErrorCode` and `ErrorMessage` attributes.
    #[serde(default)]
    pub dead_letter_queue_url: Option<String>,
    /// `DestinationConfig.OnFailure` as an SQS queue URL: gets the invocation record.
    #[serde(default)]
    pub on_failure_queue_url: Option<String>,
}

impl Default for AsyncInvokeConfig {
    fn default() -> Self {
        AsyncInvokeConfig {
            maximum_retry_attempts: default_retries(),
            maximum_event_age: default_event_age(),
            retry_delays: default_retry_delays(),
            dead_letter_queue_url: None,
            on_failure_queue_url: None,
        }
    }
}

/// An SQS event source mapping.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct EventSourceMappingConfig {
    /// The function it invokes.
    pub function: String,
    /// The queue it polls.
    pub queue_url: String,
    /// `BatchSize`, default 10 (services-sqs-parameters).
    #[serde(default = "default_batch_size")]
    pub batch_size: u32,
    /// `MaximumBatchingWindowInSeconds`, 0 to 300, default 0; ignored on FIFO queues.
    #[serde(default, with = "duration_ms")]
    pub batching_window: Duration,
    /// `ScalingConfig.MaximumConcurrency`, 2 to 1000; default: the function's concurrency.
    #[serde(default)]
    pub maximum_concurrency: Option<u32>,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`.
    #[serde(default = "yes")]
    pub report_batch_item_failures: bool,
}

/// An SNS topic delivering to a function (asynchronous invocation).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct SnsSubscriptionConfig {
    /// The topic.
    pub topic_arn: String,
    /// The function.
    pub function: String,
}

/// Everything the service runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct ServiceConfig {
    /// Functions.
    #[serde(default)]
    pub functions: Vec<FunctionConfig>,
    /// SQS event source mappings.
    #[serde(default)]
    pub event_source_mappings: Vec<EventSourceMappingConfig>,
    /// SNS subscriptions.
    #[serde(default)]
    pub sns_subscriptions: Vec<SnsSubscriptionConfig>,
}

fn default_timeout() -> Duration {
    DEFAULT_TIMEOUT
}
fn default_memory() -> u32 {
    128
}
fn default_concurrency() -> u32 {
    10
}
fn default_retries() -> u32 {
    2
}
fn default_event_age() -> Duration {
    Duration::from_secs(21600)
}
fn default_retry_delays() -> Vec<Duration> {
    vec![Duration::from_secs(60), Duration::from_secs(120)]
}
fn default_batch_size() -> u32 {
    10
}
fn yes() -> bool {
    true
}

mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

mod durations_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &[Duration], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(d.iter().map(|d| d.as_millis() as u64))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
        Vec::<u64>::deserialize(d).map(|v| v.into_iter().map(Duration::from_millis).collect())
    }
}
