//! What the local Lambda service runs: functions, their asynchronous-invocation settings,
//! event source mappings and SNS subscriptions. Defaults and ranges are AWS's (see the
//! comments); `../shared`-free, the numbers are cited where they are used. Durations are
//! milliseconds in JSON (`serde_with`'s `DurationMilliSeconds`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_with::{DurationMilliSeconds, serde_as};

/// The NAT gateway's Elastic IP when the configuration names none: every call from the VPC
/// leaves from it (a documentation address, RFC 5737).
pub const ELASTIC_IP: std::net::Ipv4Addr = std::net::Ipv4Addr::new(192, 0, 2, 10);

/// Lambda's default function timeout (3 s) and memory (128 MB).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// A function: what runs it (a `bootstrap`, or a managed runtime's handler in its code
/// directory) and its configuration.
#[serde_as]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct FunctionConfig {
    /// The function's key in this configuration: mappings, subscriptions and records name it
    /// by this (under `sluice local up`, its logical ID in the template).
    pub name: String,
    /// The name Lambda knows it by: its `FunctionName`, or the name CloudFormation gave it
    /// (`<stack>-<LogicalId>-<suffix>`). The Invoke API, `AWS_LAMBDA_FUNCTION_NAME` and the
    /// function's ARN use it. `None`: `name`.
    #[serde(default)]
    pub function_name: Option<String>,
    /// The executable Lambda would run for an OS-only runtime (`bootstrap` of a
    /// `provided.al2023` function). A managed runtime (`python3.12`, ...) needs none: its
    /// `handler` runs in `task_root` under the runtime's interface client ([`crate::launch`]);
    /// given one, it runs the bootstrap instead, as a wrapper that starts the client itself.
    #[serde(default)]
    pub bootstrap: PathBuf,
    /// The handler (`_HANDLER`): `module.function` for Python, `file.export` for Node.js. Needed
    /// by managed runtimes; default `bootstrap`.
    #[serde(default)]
    pub handler: Option<String>,
    /// The function's code (`LAMBDA_TASK_ROOT`, the working directory). Default: the
    /// bootstrap's directory.
    #[serde(default)]
    pub task_root: Option<PathBuf>,
    /// The content of the function's layers, in order, each a directory standing for what
    /// Lambda extracts into `/opt`: its `python/`, `nodejs/node_modules/` and `bin/` are put on
    /// the runtime's paths as Lambda puts `/opt`'s.
    #[serde(default)]
    pub layers: Vec<PathBuf>,
    /// Environment variables.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Invocation timeout (default 3 s, as Lambda's).
    #[serde(default = "default_timeout")]
    #[serde_as(as = "DurationMilliSeconds<u64>")]
    pub timeout: Duration,
    /// Memory size in MB, passed as `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (default 128).
    #[serde(default = "default_memory")]
    pub memory_mb: u32,
    /// Reserved concurrency: this many instances at most, carved out of the account pool
    /// (default none: the function shares the account's unreserved concurrency). 0 throttles
    /// every invocation, as reserved concurrency 0 does on Lambda.
    #[serde(default)]
    pub reserved_concurrency: Option<u32>,
    /// The runtime identifier (default `provided.al2023`). A managed runtime (`python3.12`,
    /// `nodejs22.x`, ...) gets `AWS_EXECUTION_ENV=AWS_Lambda_<runtime>`; OS-only runtimes
    /// (`provided.*`) get none, as on Lambda.
    #[serde(default = "default_runtime")]
    pub runtime: String,
    /// Lambda Managed Instances: how many invocations one instance runs at once
    /// (`PerExecutionEnvironmentMaxConcurrency`, 1 to 1600, CloudFormation
    /// `LambdaManagedInstancesCapacityProviderConfig`). Above 1 the instance gets
    /// `AWS_LAMBDA_MAX_CONCURRENCY` and its Runtime API takes that many `/next` calls at once
    /// (Runtime API reference). Default none: one invocation per instance, as on classic Lambda.
    #[serde(default)]
    pub per_execution_environment_max_concurrency: Option<u32>,
    /// Asynchronous invocation: retries, event age, DLQ and on-failure destination.
    #[serde(default)]
    pub async_invoke: AsyncInvokeConfig,
    /// X-Ray tracing (`TracingConfig.Mode`, SAM's `Tracing`): whether an invocation that no
    /// caller's trace decided is sampled (default `PassThrough`: not sampled).
    #[serde(default)]
    pub tracing: TracingMode,
    /// Faults the service injects into this function's invocations (tests and soak runs).
    #[serde(default)]
    pub faults: Option<FaultInjection>,
}

/// A function's X-Ray tracing mode (Lambda API reference, `TracingConfig`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TracingMode {
    /// Lambda samples invocations no caller's trace decided.
    Active,
    /// Lambda follows the caller's decision and samples nothing else.
    #[default]
    PassThrough,
}

/// Faults the service injects, each with a probability in percent, drawn from `seed`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct FaultInjection {
    /// Seed of the draws: the same seed, the same faults in the same order of invocations.
    pub seed: u64,
    /// The instance is killed at a random moment up to 300 ms into the invocation: before,
    /// during or after its side effects, before its answer reaches the caller.
    #[serde(default)]
    pub kill_percent: u32,
    /// The function's answer is withheld, so the invocation runs into its timeout.
    #[serde(default)]
    pub timeout_percent: u32,
    /// The invocation is throttled as if no concurrency were left (sync and async calls).
    #[serde(default)]
    pub throttle_percent: u32,
}

/// The function's event invoke config and dead-letter queue.
#[serde_as]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct AsyncInvokeConfig {
    /// `MaximumRetryAttempts`, 0 to 2, default 2 (Lambda API `FunctionEventInvokeConfig`).
    #[serde(default = "default_retries")]
    pub maximum_retry_attempts: u32,
    /// `MaximumEventAgeInSeconds`, 60 to 21600, default 21600 (6 hours).
    #[serde(default = "default_event_age")]
    #[serde_as(as = "DurationMilliSeconds<u64>")]
    pub maximum_event_age: Duration,

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
            dead_letter_queue_url: None,
            on_failure_queue_url: None,
        }
    }
}

/// An SQS event source mapping.
#[serde_as]
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
    #[serde(default)]
    #[serde_as(as = "DurationMilliSeconds<u64>")]
    pub batching_window: Duration,
    /// `ScalingConfig.MaximumConcurrency`, 2 to 1000; default: as many as the function may run.
    #[serde(default)]
    pub maximum_concurrency: Option<u32>,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`.
    #[serde(default = "yes")]
    pub report_batch_item_failures: bool,
}

/// Where a stream mapping starts reading a shard (`StartingPosition`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StartingPosition {
    /// The oldest record still in the shard.
    #[default]
    TrimHorizon,
    /// Only records added after the mapping starts.
    Latest,
}

/// A Kinesis Data Streams or DynamoDB Streams event source mapping: which one is read from the
/// stream's ARN (`arn:aws:kinesis:...` or `arn:aws:dynamodb:...:table/T/stream/L`).
#[serde_as]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct StreamMappingConfig {
    /// The function it invokes.
    pub function: String,
    /// The stream's ARN (`EventSourceArn`).
    pub event_source_arn: String,
    /// `StartingPosition`, default `TRIM_HORIZON`.
    #[serde(default)]
    pub starting_position: StartingPosition,
    /// `BatchSize`, default 100 (services-kinesis-parameters).
    #[serde(default = "default_stream_batch_size")]
    pub batch_size: u32,
    /// `MaximumBatchingWindowInSeconds`, 0 to 300, default 0.
    #[serde(default)]
    #[serde_as(as = "DurationMilliSeconds<u64>")]
    pub batching_window: Duration,
    /// `MaximumRetryAttempts`: -1 (unlimited, the default) or 0 to 10,000.
    #[serde(default = "unlimited")]
    pub maximum_retry_attempts: i32,
    /// `MaximumRecordAgeInSeconds`: -1 (unlimited, the default) or 60 to 604,800.
    #[serde(default = "unlimited")]
    pub maximum_record_age_seconds: i32,
    /// `BisectBatchOnFunctionError`.
    #[serde(default)]
    pub bisect_batch_on_function_error: bool,
    /// `ParallelizationFactor`, 1 to 10, default 1.
    #[serde(default = "one")]
    pub parallelization_factor: u32,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`.
    #[serde(default = "yes")]
    pub report_batch_item_failures: bool,
    /// `DestinationConfig.OnFailure`: the SQS queue that gets a record of each batch given up on.
    #[serde(default)]
    pub on_failure_queue_url: Option<String>,
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

/// Lambda waits about 1 minute before the second attempt of a failed asynchronous event and
/// about 2 before the third: [`sluice_rules::async_invoke::RETRY_DELAYS`].
pub use sluice_rules::async_invoke::RETRY_DELAYS as ASYNC_RETRY_DELAYS;

/// Everything the service runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct ServiceConfig {
    /// How many times faster than AWS the service plays AWS's waits (async retry delays and
    /// event age): 60 makes one AWS minute one local second. Default 1. Function timeouts are
    /// real time and never scaled.
    #[serde(default)]
    pub time_scale: Option<f64>,
    /// The account's concurrency, shared by all functions (default
    /// [`DEFAULT_ACCOUNT_CONCURRENCY`](crate::concurrency::DEFAULT_ACCOUNT_CONCURRENCY)).
    #[serde(default)]
    pub account_concurrency: Option<u32>,
    /// Functions.
    #[serde(default)]
    pub functions: Vec<FunctionConfig>,
    /// SQS event source mappings.
    #[serde(default)]
    pub event_source_mappings: Vec<EventSourceMappingConfig>,
    /// Kinesis and DynamoDB Streams event source mappings.
    #[serde(default)]
    pub stream_mappings: Vec<StreamMappingConfig>,
    /// SNS subscriptions.
    #[serde(default)]
    pub sns_subscriptions: Vec<SnsSubscriptionConfig>,
    /// The network every function runs in (default none: the machine's own, no namespaces).
    /// Linux network namespaces, root only: see [`crate::network`].
    #[serde(default)]
    pub network: Option<NetworkConfig>,
}

/// The functions' network, switched by the settings the template's parameters of the same
/// names express.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct NetworkConfig {
    /// The template's `EnableVpc`: the functions run in the VPC's private subnet, with no route
    /// to the internet of their own. False: they run in Lambda's network, with a public address
    /// of AWS's choosing.
    #[serde(default)]
    pub enable_vpc: bool,
    /// The template's `StaticEgressIp` (with `enable_vpc`): the private subnet routes through a
    /// NAT gateway whose Elastic IP every outbound call leaves from.
    #[serde(default)]
    pub static_egress_ip: bool,
    /// Loopback addresses of the local stack's AWS APIs the functions reach without NAT: S3 and
    /// DynamoDB, as gateway endpoints make them reachable from a VPC (and as AWS's public
    /// endpoints are from Lambda's network).
    #[serde(default)]
    pub aws_endpoints: Vec<std::net::SocketAddr>,
    /// The NAT gateway's Elastic IP (with `static_egress_ip`): the deployed stack's, else
    /// [`ELASTIC_IP`]. An address of 192.0.2.0/24 (RFC 5737) other
    /// than .0, .1 (the internet side of the NAT link) and .255.
    #[serde(default)]
    pub elastic_ip: Option<std::net::Ipv4Addr>,
}

impl NetworkConfig {
    /// The Elastic IP the NAT gateway uses.
    pub fn elastic_ip(&self) -> std::net::Ipv4Addr {
        self.elastic_ip.unwrap_or(ELASTIC_IP)
    }
}

fn default_timeout() -> Duration {
    DEFAULT_TIMEOUT
}
fn default_memory() -> u32 {
    128
}
fn default_retries() -> u32 {
    sluice_rules::async_invoke::DEFAULT_MAXIMUM_RETRY_ATTEMPTS
}
fn default_event_age() -> Duration {
    sluice_rules::async_invoke::DEFAULT_MAXIMUM_EVENT_AGE
}
fn default_runtime() -> String {
    "provided.al2023".into()
}
fn default_batch_size() -> u32 {
    10
}
fn yes() -> bool {
    true
}
fn default_stream_batch_size() -> u32 {
    sluice_rules::stream_mapping::DEFAULT_BATCH_SIZE
}
fn unlimited() -> i32 {
    -1
}
fn one() -> u32 {
    1
}

impl FunctionConfig {
    /// The name Lambda knows the function by.
    ///
    /// ```
    /// let mut f: sluice_local::FunctionConfig =
    ///     serde_json::from_value(serde_json::json!({"name": "OrderFn", "bootstrap": "bootstrap"})).unwrap();
    /// assert_eq!(f.deployed_name(), "OrderFn");
    /// f.function_name = Some("shop-OrderFn-1A2B3C".into());
    /// assert_eq!(f.deployed_name(), "shop-OrderFn-1A2B3C");
    /// ```
    pub fn deployed_name(&self) -> &str {
        self.function_name.as_deref().unwrap_or(&self.name)
    }

    /// Whether Lambda provides its runtime (`python3.12`, `nodejs22.x`, ...), as against an
    /// OS-only runtime (`provided.*`), whose `bootstrap` is the program.
    ///
    /// ```
    /// let mut f: sluice_local::FunctionConfig =
    ///     serde_json::from_value(serde_json::json!({"name": "f", "bootstrap": "bootstrap"})).unwrap();
    /// assert!(!f.is_managed_runtime());
    /// f.runtime = "python3.12".into();
    /// assert!(f.is_managed_runtime());
    /// ```
    pub fn is_managed_runtime(&self) -> bool {
        !self.runtime.starts_with("provided")
    }

    /// The function's code directory: `task_root`, else the bootstrap's directory.
    pub fn code_dir(&self) -> PathBuf {
        self.task_root.clone().unwrap_or_else(|| self.bootstrap.parent().map(PathBuf::from).unwrap_or_default())
    }

    /// Invocations one instance runs at once: 1 unless Managed Instances say more.
    pub fn invocations_per_instance(&self) -> u32 {
        self.per_execution_environment_max_concurrency.unwrap_or(1).max(1)
    }
}

impl ServiceConfig {
    /// The account concurrency in force.
    pub fn account(&self) -> u32 {
        self.account_concurrency.unwrap_or(crate::concurrency::DEFAULT_ACCOUNT_CONCURRENCY)
    }

    /// The time scale in force (1 unless set).
    pub fn scale(&self) -> f64 {
        self.time_scale.unwrap_or(1.0)
    }

    /// `duration` of AWS time, as it passes here.
    pub fn scaled(&self, duration: Duration) -> Duration {
        duration.div_f64(self.scale())
    }

    /// Takes function `name` out, with the event source mappings and SNS subscriptions that
    /// invoke it: what is left runs without it.
    ///
    /// ```
    /// let mut config: sluice_local::ServiceConfig = serde_json::from_value(serde_json::json!({
    ///     "functions": [{"name": "a", "bootstrap": "a"}, {"name": "b", "bootstrap": "b"}],
    ///     "sns_subscriptions": [{"topic_arn": "arn:aws:sns:us-east-1:000000000000:t", "function": "b"}]
    /// })).unwrap();
    /// assert_eq!(config.remove_function("b").map(|f| f.name), Some("b".to_owned()));
    /// assert_eq!((config.functions.len(), config.sns_subscriptions.len()), (1, 0));
    /// ```
    pub fn remove_function(&mut self, name: &str) -> Option<FunctionConfig> {
        let at = self.functions.iter().position(|f| f.name == name)?;
        self.event_source_mappings.retain(|m| m.function != name);
        self.sns_subscriptions.retain(|s| s.function != name);
        Some(self.functions.remove(at))
    }

    /// Checks every setting against the range Lambda accepts, and names the first that is not.
    pub fn validate(&self) -> Result<(), String> {
        let scale = self.scale();
        if !(scale.is_finite() && scale >= 1.0) {
            return Err(format!("time_scale {scale} must be a number of at least 1"));
        }
        let account = self.account();
        let reserved: u32 = self.functions.iter().filter_map(|f| f.reserved_concurrency).sum();
        if reserved > account {
            return Err(format!("reserved concurrency {reserved} in all exceeds the account concurrency {account}"));
        }
        if let Some(network) = &self.network {
            if network.static_egress_ip && !network.enable_vpc {
                return Err(
                    "network: static_egress_ip needs enable_vpc (a NAT gateway serves a VPC's private subnets; \
                            the template's StaticEgress condition is EnableVpc and StaticEgressIp)"
                        .into(),
                );
            }
            let eip = network.elastic_ip();
            if eip.octets()[..3] != [192, 0, 2] || [0, 1, 255].contains(&eip.octets()[3]) {
                return Err(format!("network: elastic_ip {eip} is not one of 192.0.2.2 to 192.0.2.254 (RFC 5737)"));
            }
            if let Some(a) = network.aws_endpoints.iter().find(|a| !a.ip().is_loopback()) {
                return Err(format!("network: aws_endpoints {a} is not a loopback address (the local stack's)"));
            }
        }
        for f in &self.functions {
            let name = &f.name;
            // CreateFunction: Timeout 1-900 s, MemorySize 128-10240 MB.
            if f.timeout < Duration::from_secs(1) || f.timeout > Duration::from_secs(900) {
                return Err(format!("{name}: timeout {:?} is not within 1 to 900 s", f.timeout));
            }
            if !(128..=10240).contains(&f.memory_mb) {
                return Err(format!("{name}: memory_mb {} is not within 128 to 10240", f.memory_mb));
            }
            if let Some(n) = f.per_execution_environment_max_concurrency
                && !(1..=1600).contains(&n)
            {
                return Err(format!("{name}: per_execution_environment_max_concurrency {n} is not within 1 to 1600"));
            }
            // PutFunctionEventInvokeConfig: MaximumRetryAttempts 0-2, MaximumEventAgeInSeconds 60-21600.
            let a = &f.async_invoke;
            if a.maximum_retry_attempts > sluice_rules::async_invoke::MAXIMUM_RETRY_ATTEMPTS_LIMIT {
                return Err(format!(
                    "{name}: maximum_retry_attempts {} is not within 0 to 2",
                    a.maximum_retry_attempts
                ));
            }
            let (shortest, longest) = sluice_rules::async_invoke::MAXIMUM_EVENT_AGE_RANGE;
            if a.maximum_event_age < shortest || a.maximum_event_age > longest {
                return Err(format!(
                    "{name}: maximum_event_age {:?} is not within 60 to 21600 s (AWS time: use time_scale to play it faster)",
                    a.maximum_event_age
                ));
            }
        }
        Ok(())
    }
}
