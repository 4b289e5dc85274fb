//! The pipeline deployed on the local stack: `template.yaml` deployed as a stack
//! ([`sluice_sam::stack`]), its functions run in the local Lambda service as the stack configures
//! them, and what a run may vary. The demo, the end-to-end suite and the compare command start
//! one of these.
//!
//! What a run varies is of two kinds:
//! - **template parameters** (batch size and window, maximum concurrency, reserved concurrency,
//!   `EnableVpc`, `StaticEgressIp`, any other by name): the stack is deployed with them, as
//!   `sam deploy --parameter-overrides` would;
//! - **local overrides** the template does not express, applied to what the stack defines before
//!   the functions start: the time scale, faults, a shorter function timeout for crash tests,
//!   a plain-HTTP webhook to a local partner (the template accepts https only), a smaller
//!   object limit, endpoint overrides that put a fault proxy in front of a service, the account
//!   concurrency of this machine.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use sluice_local::{FaultInjection, LocalLambda, NetworkConfig, ServiceConfig, ServiceOptions};

use crate::resources::Resources;
use sluice_sam::artifacts::Workers;
use sluice_sam::stack::{Stack, StackRequest};

/// The repository's `template.yaml`, the sample pipeline's (the one this crate was built from).
pub fn repository_template() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml"))
}

pub use crate::resources::{SNS_WORKER, SQS_WORKER};

/// What a deployment may vary.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// AWS waits run this many times faster (default 60: one AWS minute is one second).
    pub time_scale: f64,
    /// The account concurrency of the local Lambda service (default: the reservations plus the
    /// service's default for the rest).
    pub account_concurrency: Option<u32>,
    /// Objects over this size are poison (default 1 MiB; the template's is 256 MiB).
    pub max_object_bytes: u64,
    /// Where both workers POST each object version's summary (plain HTTP allowed).
    pub webhook_url: Option<String>,
    /// More environment variables for both workers (they win over the stack's): endpoint
    /// overrides such as `AWS_ENDPOINT_URL_S3` put a fault proxy in front of a service.
    pub environment: BTreeMap<String, String>,
    /// Faults the local Lambda service injects into both workers (the SNS worker's draws use
    /// the seed plus one).
    pub faults: Option<FaultInjection>,
    /// The workers' timeout instead of the stack's (30 s).
    pub function_timeout: Option<Duration>,
    /// More environment variables for one worker, by logical ID (they win over `environment`):
    /// `sluice compare` gives each path its own webhook.
    pub function_environment: BTreeMap<String, BTreeMap<String, String>>,
    /// Template parameter `ReservedConcurrency`, each worker's reserved concurrency (default 0:
    /// none, both share the account's pool; the template's default, 50, is sized for AWS).
    pub reserved_concurrency: u32,
    /// The direct path keeps failed events in its on-failure destination (default true; false
    /// plays a direct path deployed without one, where a failed event is lost).
    pub direct_on_failure: bool,
    /// Template parameter `BatchSize` (default the template's, 10).
    pub batch_size: Option<u32>,
    /// Template parameter `BatchingWindowSeconds`, AWS time in whole seconds (default 0).
    pub batching_window: Option<Duration>,
    /// The event source mapping's maximum concurrency: template parameter `MaximumConcurrency`
    /// when the template allows the value (2 to 50), else applied locally; `None` removes the
    /// cap. Default the template's, 5.
    pub maximum_concurrency: Option<u32>,
    /// Lambda Managed Instances: invocations one instance of each worker runs at once (default
    /// none: one, as on classic Lambda).
    pub invocations_per_instance: Option<u32>,
    /// Template parameters `EnableVpc` and `StaticEgressIp`, and that the workers run in Lambda's
    /// network even outside a VPC (default none: the machine's own network).
    pub network: Option<(bool, bool)>,
    /// Any other template parameter, by name (`IdempotencyRedisUrl`, ...).
    pub parameters: BTreeMap<String, String>,
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
            function_timeout: None,
            function_environment: BTreeMap::new(),
            reserved_concurrency: 0,
            direct_on_failure: true,
            batch_size: None,
            batching_window: None,
            maximum_concurrency: Some(5),
            invocations_per_instance: None,
            network: None,
            parameters: BTreeMap::new(),
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
        self.function_timeout = Some(timeout);
        self
    }

    /// The local Lambda service's account concurrency.
    pub fn account_concurrency(mut self, slots: u32) -> Self {
        self.account_concurrency = Some(slots);
        self
    }

    /// Sets `name` to `value` in the environment of `function` (a logical ID) only.
    pub fn env_for(mut self, function: &str, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.function_environment.entry(function.to_owned()).or_default().insert(name.into(), value.into());
        self
    }

    /// Reserves `slots` of the account's concurrency for each worker (0: none).
    pub fn reserved_concurrency(mut self, slots: u32) -> Self {
        self.reserved_concurrency = slots;
        self
    }

    /// Whether the direct path keeps failed events in its on-failure destination.
    pub fn direct_on_failure(mut self, keep: bool) -> Self {
        self.direct_on_failure = keep;
        self
    }

    /// The event source mapping's batch size and batching window (AWS time, whole seconds).
    pub fn batching(mut self, batch_size: u32, window: Duration) -> Self {
        self.batch_size = Some(batch_size);
        self.batching_window = Some(window);
        self
    }

    /// Both workers run in the network the template's `EnableVpc` and `StaticEgressIp`
    /// describe: in Lambda's network (`enable_vpc` false), in a VPC's private subnet without NAT,
    /// or behind a NAT gateway with an Elastic IP. Needs root (network namespaces).
    pub fn network(mut self, enable_vpc: bool, static_egress_ip: bool) -> Self {
        self.network = Some((enable_vpc, static_egress_ip));
        self
    }

    /// The event source mapping's maximum concurrency (`None`: no cap but the function's).
    pub fn maximum_concurrency(mut self, cap: Option<u32>) -> Self {
        self.maximum_concurrency = cap;
        self
    }

    /// Template parameter `name` set to `value`.
    pub fn parameter(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.parameters.insert(name.into(), value.into());
        self
    }

    /// The template parameters these settings deploy with.
    pub fn template_parameters(&self) -> BTreeMap<String, String> {
        let mut parameters = BTreeMap::new();
        parameters.insert("ReservedConcurrency".to_owned(), self.reserved_concurrency.to_string());
        if let Some(size) = self.batch_size {
            parameters.insert("BatchSize".to_owned(), size.to_string());
        }
        if let Some(window) = self.batching_window {
            parameters.insert("BatchingWindowSeconds".to_owned(), window.as_secs().to_string());
        }
        if let Some(cap) = self.maximum_concurrency.filter(|cap| (2..=50).contains(cap)) {
            parameters.insert("MaximumConcurrency".to_owned(), cap.to_string());
        }
        if let Some((enable_vpc, static_egress_ip)) = self.network {
            parameters.insert("EnableVpc".to_owned(), enable_vpc.to_string());
            parameters.insert("StaticEgressIp".to_owned(), static_egress_ip.to_string());
        }
        parameters.extend(self.parameters.clone());
        parameters
    }

    /// `config`, read from the stack, with the local overrides applied.
    pub fn apply(&self, mut config: ServiceConfig) -> ServiceConfig {
        config.time_scale = Some(self.time_scale);
        config.account_concurrency =
            Some(self.account_concurrency.unwrap_or_else(|| Stack::account_concurrency(&config)));
        for (i, function) in config.functions.iter_mut().enumerate() {
            let env = &mut function.environment;
            env.insert("MAX_OBJECT_BYTES".into(), self.max_object_bytes.to_string());
            if let Some(url) = &self.webhook_url {
                env.insert("WEBHOOK_URL".into(), url.clone());
            }
            // The local partners (loopback, or the local network's internet side) speak plain HTTP.
            env.insert("WEBHOOK_ALLOW_HTTP".into(), "true".into());
            if let Some(timeout) = self.function_timeout {
                function.timeout = timeout;
            }
            // The workers' claim lease is function time, as the timeout is, and the time scale
            // compresses neither: a lease scaled down with AWS's waits would be renewed that
            // many times more often than on AWS (every 167 ms at scale 60, 60 times the
            // DynamoDB writes). A claim never outlives its invocation's deadline, so a lease
            // longer than the timeout holds no longer than the timeout: the lease is the
            // shorter of the two, and a crashed claim frees when its invocation would have
            // timed out.
            let lease = sluice::DEFAULT_LEASE.min(function.timeout);
            if lease < sluice::DEFAULT_LEASE {
                env.insert("IDEMPOTENCY_LEASE_SECONDS".into(), format!("{:.3}", lease.as_secs_f64()));
            }
            env.extend(self.environment.clone());
            env.extend(self.function_environment.get(&function.name).cloned().unwrap_or_default());
            function.per_execution_environment_max_concurrency = self.invocations_per_instance;
            function.faults = self.faults.map(|f| FaultInjection { seed: f.seed + i as u64, ..f });
            if !self.direct_on_failure {
                function.async_invoke.on_failure_queue_url = None;
            }
        }
        for mapping in &mut config.event_source_mappings {
            if !self.maximum_concurrency.is_some_and(|cap| (2..=50).contains(&cap)) {
                mapping.maximum_concurrency = self.maximum_concurrency;
            }
        }
        if self.network.is_some() && config.network.is_none() {
            // Outside a VPC: Lambda's own network.
            config.network = Some(NetworkConfig::default());
        }
        // The local stack's endpoints the workers use, reachable from their network without NAT.
        if let Some(network) = &mut config.network {
            let urls =
                config.functions.iter().flat_map(|f| &f.environment).filter(|(k, _)| k.starts_with("AWS_ENDPOINT_URL"));
            let mut addresses: Vec<_> = urls.filter_map(|(_, url)| loopback_address(url)).collect();
            addresses.sort();
            addresses.dedup();
            network.aws_endpoints = addresses;
        }
        config
    }
}

/// A running deployment.
pub struct Deployment {
    /// The deployed stack.
    pub stack: Stack,
    /// The pipeline's resources in it.
    pub resources: Resources,
    /// The local Lambda service running the stack's functions.
    pub service: LocalLambda,
}

impl Deployment {
    /// Deploys `template.yaml` as stack `name` with `settings`' parameters, and starts its
    /// functions (their binaries found in `workers`) with `settings`' overrides.
    pub async fn start(
        aws: &aws_config::SdkConfig,
        name: &str,
        workers: &Path,
        log_dir: &Path,
        settings: &Settings,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let mut request =
            StackRequest::new(name, crate::deployment::repository_template(), Workers::Built(workers.to_owned()));
        request.parameters = settings.template_parameters();
        let stack = Stack::deploy(aws, &request).await?;
        let resources = Resources::of(aws, &stack).await?;
        let config = settings.apply(stack.service_config(aws).await?);
        let options = ServiceOptions { port: 0, log_dir: log_dir.to_owned(), aws: aws.clone() };
        let service = LocalLambda::start(config, options).await?;
        Ok(Deployment { stack, resources, service })
    }
}

/// The loopback address and port of an endpoint URL such as `http://127.0.0.1:4567`.
fn loopback_address(url: &str) -> Option<std::net::SocketAddr> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let address: std::net::SocketAddr = authority.parse().ok()?;
    address.ip().is_loopback().then_some(address)
}
