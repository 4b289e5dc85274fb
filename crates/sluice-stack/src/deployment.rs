//! The two workers deployed on the local stack: the topology provisioned, and both functions,
//! the event source mapping and the SNS subscription running in the local Lambda service.
//! The demo, the end-to-end suite and the compare command start one of these.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use sluice_local::{
    AsyncInvokeConfig, EventSourceMappingConfig, FaultInjection, FunctionConfig, LocalLambda, NetworkConfig,
    ServiceConfig, ServiceOptions, SnsSubscriptionConfig,
};

use crate::topology::{self, Topology};

/// What a deployment may vary.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// AWS waits run this many times faster (default 60: one AWS minute is one second).
    pub time_scale: f64,
    /// The account concurrency of the local Lambda service (default: the service's).
    pub account_concurrency: Option<u32>,
    /// Objects over this size are poison (default 1 MiB).
    pub max_object_bytes: u64,
    /// Where both workers POST each object version's summary.
    pub webhook_url: Option<String>,
    /// More environment variables for both workers (they win over the defaults): endpoint
    /// overrides such as `AWS_ENDPOINT_URL_S3` put a fault proxy in front of a service.
    pub environment: BTreeMap<String, String>,
    /// Faults the local Lambda service injects into both workers (the SNS worker's draws use
    /// the seed plus one).
    pub faults: Option<FaultInjection>,
    /// The workers' timeout (default the template's, 30 s). The topology's visibility timeout
    /// is sized for 30 s, so a shorter one keeps the ratio AWS recommends.
    pub function_timeout: Duration,
    /// More environment variables for one worker, by function name (they win over
    /// `environment`): `sluice compare` gives each path its own webhook.
    pub function_environment: BTreeMap<String, BTreeMap<String, String>>,
    /// Reserved concurrency by function name (default none: the account pool).
    pub reserved_concurrency: BTreeMap<String, u32>,
    /// The direct path keeps failed events in its on-failure destination (default true; false
    /// plays a direct path deployed without one, where a failed event is lost).
    pub direct_on_failure: bool,
    /// The event source mapping's batch size (default the template's, 10).
    pub batch_size: u32,
    /// The event source mapping's batching window, AWS time (default the template's, 0 s).
    pub batching_window: Duration,
    /// The event source mapping's maximum concurrency (default the template's, 5).
    pub maximum_concurrency: Option<u32>,
    /// Lambda Managed Instances: invocations one instance of each worker runs at once (default
    /// none: one, as on classic Lambda).
    pub invocations_per_instance: Option<u32>,
    /// The network both workers run in (default none: the machine's own). Its endpoints to the
    /// local stack are filled in from the workers' endpoint settings.
    pub network: Option<NetworkConfig>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            time_scale: 60.0,
            account_concurrency: None,
            max_object_bytes: 1024 * 1024,
            webhook_url: None,
            environment: BTreeMap::new(),
            faults: None,
            function_timeout: Duration::from_secs(topology::FUNCTION_TIMEOUT_SECONDS),
            function_environment: BTreeMap::new(),
            reserved_concurrency: BTreeMap::new(),
            direct_on_failure: true,
            batch_size: topology::BATCH_SIZE,
            batching_window: Duration::from_secs(topology::BATCHING_WINDOW_SECONDS),
            maximum_concurrency: Some(topology::MAXIMUM_CONCURRENCY),
            invocations_per_instance: None,
            network: None,
        }
    }
}

impl Settings {
    /// Both workers POST each object version's summary to `url`.
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// AWS waits run `scale` times faster.
    pub fn time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// Objects over `max` bytes are poison.
    pub fn max_object_bytes(mut self, max: u64) -> Self {
        self.max_object_bytes = max;
        self
    }

    /// Sets `name` to `value` in both workers' environment.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.environment.insert(name.into(), value.into());
        self
    }

    /// The local Lambda service injects `faults` into both workers.
    pub fn faults(mut self, faults: FaultInjection) -> Self {
        self.faults = Some(faults);
        self
    }

    /// The workers' timeout.
    pub fn function_timeout(mut self, timeout: Duration) -> Self {
        self.function_timeout = timeout;
        self
    }

    /// The local Lambda service's account concurrency.
    pub fn account_concurrency(mut self, slots: u32) -> Self {
        self.account_concurrency = Some(slots);
        self
    }

    /// Sets `name` to `value` in the environment of `function` only.
    pub fn env_for(mut self, function: &str, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.function_environment.entry(function.to_owned()).or_default().insert(name.into(), value.into());
        self
    }

    /// Reserves `slots` of the account's concurrency for `function`.
    pub fn reserved_concurrency(mut self, function: &str, slots: u32) -> Self {
        self.reserved_concurrency.insert(function.to_owned(), slots);
        self
    }

    /// Whether the direct path keeps failed events in its on-failure destination.
    pub fn direct_on_failure(mut self, keep: bool) -> Self {
        self.direct_on_failure = keep;
        self
    }

    /// The event source mapping's batch size and batching window (AWS time).
    pub fn batching(mut self, batch_size: u32, window: Duration) -> Self {
        self.batch_size = batch_size;
        self.batching_window = window;
        self
    }

    /// Both workers run in the network the template's `EnableVpc` and `StaticEgressIp`
    /// describe: in Lambda's network (`enable_vpc` false), in a VPC's private subnet without NAT,
    /// or behind a NAT gateway with an Elastic IP. Needs root (network namespaces).
    pub fn network(mut self, enable_vpc: bool, static_egress_ip: bool) -> Self {
        self.network = Some(NetworkConfig { enable_vpc, static_egress_ip, aws_endpoints: Vec::new() });
        self
    }

    /// The event source mapping's maximum concurrency (`None`: no cap but the function's).
    pub fn maximum_concurrency(mut self, cap: Option<u32>) -> Self {
        self.maximum_concurrency = cap;
        self
    }
}

/// A running deployment.
pub struct Deployment {
    /// The provisioned resources.
    pub topology: Topology,
    /// The local Lambda service running the workers.
    pub service: LocalLambda,
}

impl Deployment {
    /// Provisions topology `name` and starts the workers found in `workers` with `settings`.
    pub async fn start(
        aws: &aws_config::SdkConfig,
        name: &str,
        workers: &Path,
        log_dir: &Path,
        settings: &Settings,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let topology = Topology::provision(aws, name).await?;
        Self::start_on(aws, topology, workers, log_dir, settings).await
    }

    /// Starts the workers found in `workers` with `settings` on a topology provisioned already.
    pub async fn start_on(
        aws: &aws_config::SdkConfig,
        topology: Topology,
        workers: &Path,
        log_dir: &Path,
        settings: &Settings,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let options = ServiceOptions { port: 0, log_dir: log_dir.to_owned(), aws: aws.clone() };
        let service = LocalLambda::start(service_config(&topology, workers, settings), options).await?;
        Ok(Deployment { topology, service })
    }
}

/// The local Lambda service's configuration of the two workers on topology `t`.
pub fn service_config(t: &Topology, workers: &Path, settings: &Settings) -> ServiceConfig {
    let mut common = BTreeMap::new();
    for var in [
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "RUST_LOG",
    ] {
        if let Ok(value) = std::env::var(var) {
            common.insert(var.to_owned(), value);
        }
    }
    common.insert("RESULTS_BUCKET".into(), t.results_bucket.clone());
    common.insert("IDEMPOTENCY_TABLE".into(), t.idempotency_table.clone());
    common.insert("MAX_OBJECT_BYTES".into(), settings.max_object_bytes.to_string());
    if let Some(url) = &settings.webhook_url {
        common.insert("WEBHOOK_URL".into(), url.clone());
    }
    // The local partners (loopback, or the local network's internet side) speak plain HTTP.
    common.insert("WEBHOOK_ALLOW_HTTP".into(), "true".into());
    // As the template's LoggingConfig (LogFormat JSON, ApplicationLogLevel INFO) sets them.
    common.insert("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into());
    common.insert("AWS_LAMBDA_LOG_LEVEL".into(), "INFO".into());
    // The workers' claim lease is AWS time too: on a scaled clock it must still free a crashed
    // claim before Lambda's first async retry, as the 30 s lease does before the 1 minute one.
    if settings.time_scale > 1.0 {
        let lease = sluice::DEFAULT_LEASE.div_f64(settings.time_scale).max(Duration::from_millis(30));
        common.insert("IDEMPOTENCY_LEASE_SECONDS".into(), format!("{:.3}", lease.as_secs_f64()));
    }
    common.extend(settings.environment.clone());
    let mut sqs_env = common.clone();
    sqs_env.insert("RESULTS_PREFIX".into(), "receipts/sqs/".into());
    sqs_env.insert("DEAD_LETTER_QUEUE_URL".into(), t.work_dlq_url.clone());
    let mut sns_env = common;
    sns_env.insert("RESULTS_PREFIX".into(), "receipts/sns/".into());
    for (function, env) in [("sqs-worker", &mut sqs_env), ("sns-worker", &mut sns_env)] {
        env.extend(settings.function_environment.get(function).cloned().unwrap_or_default());
    }
    // The local stack's endpoints the workers use, reachable from their network without NAT.
    let network = settings.network.clone().map(|mut network| {
        let endpoints = sqs_env.iter().chain(&sns_env).filter(|(name, _)| name.starts_with("AWS_ENDPOINT_URL"));
        let mut addresses: Vec<_> = endpoints.filter_map(|(_, url)| loopback_address(url)).collect();
        addresses.sort();
        addresses.dedup();
        network.aws_endpoints = addresses;
        network
    });
    let reserved = |function: &str| settings.reserved_concurrency.get(function).copied();
    let timeout = settings.function_timeout;
    let sns_faults = settings.faults.map(|f| FaultInjection { seed: f.seed + 1, ..f });
    ServiceConfig {
        time_scale: Some(settings.time_scale),
        account_concurrency: settings.account_concurrency,
        functions: vec![
            FunctionConfig {
                name: "sqs-worker".into(),
                bootstrap: workers.join("sqs-worker"),
                environment: sqs_env,
                timeout,
                memory_mb: topology::MEMORY_MB,
                reserved_concurrency: reserved("sqs-worker"),
                runtime: "provided.al2023".into(),
                async_invoke: AsyncInvokeConfig::default(),
                per_execution_environment_max_concurrency: settings.invocations_per_instance,
                faults: settings.faults,
            },
            FunctionConfig {
                name: "sns-worker".into(),
                bootstrap: workers.join("sns-worker"),
                environment: sns_env,
                timeout,
                memory_mb: topology::MEMORY_MB,
                reserved_concurrency: reserved("sns-worker"),
                runtime: "provided.al2023".into(),
                async_invoke: AsyncInvokeConfig {
                    on_failure_queue_url: settings.direct_on_failure.then(|| t.direct_failures_url.clone()),
                    ..AsyncInvokeConfig::default()
                },
                per_execution_environment_max_concurrency: settings.invocations_per_instance,
                faults: sns_faults,
            },
        ],
        event_source_mappings: vec![EventSourceMappingConfig {
            function: "sqs-worker".into(),
            queue_url: t.work_queue_url.clone(),
            batch_size: settings.batch_size,
            batching_window: settings.batching_window,
            maximum_concurrency: settings.maximum_concurrency,
            report_batch_item_failures: true,
        }],
        sns_subscriptions: vec![SnsSubscriptionConfig {
            topic_arn: t.topic_arn.clone(),
            function: "sns-worker".into(),
        }],
        network,
    }
}

/// The loopback address and port of an endpoint URL such as `http://127.0.0.1:4566`.
fn loopback_address(url: &str) -> Option<std::net::SocketAddr> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let address: std::net::SocketAddr = authority.parse().ok()?;
    address.ip().is_loopback().then_some(address)
}
