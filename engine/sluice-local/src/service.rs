//! The service: functions, the Invoke API, SNS deliveries, event source mappings, records.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::ServiceConfig;
use crate::function::Function;
use crate::records::Records;
use crate::shared::Shared;
use crate::sqs_mapping::Mapping;
pub use crate::start_error::StartError;
use crate::stream_mapping::StreamMapping;

/// Where the service listens and writes.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// Port of the Invoke API and SNS endpoint (0: any free port).
    pub port: u16,
    /// Where function logs go, one file per function.
    pub log_dir: PathBuf,
    /// Clients for SQS (mappings, DLQs) and SNS (subscriptions).
    pub aws: aws_config::SdkConfig,
}

/// A running local Lambda service.
pub struct LocalLambda {
    pub(crate) shared: Arc<Shared>,
    address: SocketAddr,
    stop: CancellationToken,
    pub(crate) subscriptions: Vec<String>,
}

impl LocalLambda {
    /// Starts the functions' Runtime API, the Invoke API, the event source mappings (validated
    /// as Lambda does) and the SNS subscriptions (confirmed before this returns).
    pub async fn start(config: ServiceConfig, options: ServiceOptions) -> Result<Self, StartError> {
        config.validate().map_err(StartError::Invalid)?;
        tokio::fs::create_dir_all(&options.log_dir).await?;
        let region = options.aws.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into());
        let stop = CancellationToken::new();
        let records = Arc::new(Records::default());
        records.set_time_scale(config.scale());
        warn_on_broken_ratios(&config);
        let reserved = config.functions.iter().filter_map(|f| f.reserved_concurrency).sum();
        let pool = crate::concurrency::Pool::new(config.account(), reserved);
        tracing::info!(
            time_scale = config.scale(),
            account_concurrency = config.account(),
            "local Lambda service starting"
        );
        // Building the network runs `ip` and `iptables`: off the async workers.
        let network = match config.network.clone() {
            Some(network) => {
                let built = tokio::task::spawn_blocking(move || crate::network::Network::create(&network))
                    .await
                    .map_err(std::io::Error::other)??;
                Some(Arc::new(built))
            }
            None => None,
        };
        let mut functions: HashMap<String, Arc<Function>> = HashMap::new();
        for f in &config.functions {
            let launch = crate::launch::Launch::resolve(f)
                .await
                .map_err(|source| StartError::Runtime { function: f.name.clone(), source })?;
            let slots = pool.slots_for(f.reserved_concurrency);
            let function =
                Function::new(f.clone(), launch, slots, &options.log_dir, records.clone(), &region, network.clone());
            functions.insert(f.name.clone(), Arc::new(function));
        }
        let shared = Arc::new(Shared {
            functions,
            time_scale: config.scale(),
            region: region.clone(),
            records,
            sqs: aws_sdk_sqs::Client::new(&options.aws),
            sns: aws_sdk_sns::Client::new(&options.aws),
            confirmed: Notify::new(),
            network,
            event_source_mappings: config
                .event_source_mappings
                .iter()
                .map(|m| (uuid::Uuid::new_v4().to_string(), m.clone()))
                .collect(),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port)).await?;
        let address = listener.local_addr()?;
        serve(listener, invoke_router(shared.clone()), stop.clone());

        for mapping in config.event_source_mappings {
            let name = mapping.function.clone();
            let function =
                shared.functions.get(&name).cloned().ok_or_else(|| StartError::UnknownFunction(name.clone()))?;
            let mapping = Mapping::create(mapping, function, shared.sqs.clone(), region.clone(), shared.time_scale)
                .await
                .map_err(|source| StartError::Mapping { function: name, source })?;
            tokio::spawn(Arc::new(mapping).run(stop.clone()));
        }
        for mapping in config.stream_mappings {
            let name = mapping.function.clone();
            let function =
                shared.functions.get(&name).cloned().ok_or_else(|| StartError::UnknownFunction(name.clone()))?;
            let mapping = StreamMapping::create(
                mapping,
                function,
                &options.aws,
                shared.sqs.clone(),
                region.clone(),
                shared.time_scale,
            )
            .map_err(|source| StartError::Mapping { function: name, source })?;
            tokio::spawn(Arc::new(mapping).run(stop.clone()));
        }

        let mut service = LocalLambda { shared, address, stop, subscriptions: Vec::new() };
        for subscription in config.sns_subscriptions {
            let endpoint = service.endpoint();
            let arn = crate::sns_subscription::subscribe(
                &service.shared,
                &endpoint,
                &subscription.topic_arn,
                &subscription.function,
            )
            .await?;
            service.subscriptions.extend(arn);
        }
        Ok(service)
    }

    /// The Invoke API endpoint, for `AWS_ENDPOINT_URL_LAMBDA`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Hands `payload` to an instance of `function` through the Runtime API as it is, without
    /// the Invoke API's checks (JSON, size): for feeding a runtime bytes Lambda itself would
    /// never let through, such as truncated JSON. Waits for a slot; `None` for an unknown function.
    pub async fn invoke_unchecked(&self, function: &str, payload: Vec<u8>) -> Option<crate::InvokeResult> {
        let function = self.shared.functions.get(function)?.clone();
        let slot = function.slot().await;
        let request = crate::function::InvokeRequest::new(payload, crate::records::Trigger::Sync);
        Some(function.invoke(slot, request).await)
    }

    /// The functions' network, when the configuration gives one.
    pub fn network(&self) -> Option<&crate::network::Network> {
        self.shared.network.as_deref()
    }

    /// The configuration `function` runs with, if the service runs it.
    pub fn function_config(&self, function: &str) -> Option<&crate::config::FunctionConfig> {
        self.shared.functions.get(function).map(|f| &f.config)
    }

    /// What happened so far.
    pub fn records(&self) -> &Records {
        &self.shared.records
    }

    /// Stops polling, unsubscribes and kills every instance.
    pub async fn shutdown(&self) {
        self.stop.cancel();
        for arn in &self.subscriptions {
            let _ = self.shared.sns.unsubscribe().subscription_arn(arn).send().await;
        }
        self.halt();
    }

    /// Stops polling, kills every instance and removes the network: all of a shutdown that
    /// needs no AWS call. Idempotent.
    fn halt(&self) {
        self.stop.cancel();
        for function in self.shared.functions.values() {
            function.shutdown();
        }
        if let Some(network) = &self.shared.network {
            network.remove();
        }
    }
}

/// A service dropped without [`LocalLambda::shutdown`] (a test that panicked, say) still stops
/// polling, kills its instances and removes its network; only the SNS unsubscriptions, which
/// need the network, are skipped.
impl Drop for LocalLambda {
    fn drop(&mut self) {
        self.halt();
    }
}

fn serve(listener: tokio::net::TcpListener, router: Router, stop: CancellationToken) {
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).with_graceful_shutdown(stop.cancelled_owned()).await;
    });
}

fn invoke_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(crate::invoke_api::invoke))
        .route("/2015-03-31/functions", get(crate::control_api::list_functions))
        .route("/2015-03-31/functions/", get(crate::control_api::list_functions))
        .route("/2015-03-31/functions/{name}", get(crate::control_api::get_function))
        .route("/2015-03-31/functions/{name}/configuration", get(crate::control_api::get_function_configuration))
        .route("/2015-03-31/event-source-mappings", get(crate::control_api::list_event_source_mappings))
        .route("/2015-03-31/event-source-mappings/", get(crate::control_api::list_event_source_mappings))
        .route("/2015-03-31/event-source-mappings/{uuid}", get(crate::control_api::get_event_source_mapping))
        .route("/sns/{function}", post(crate::sns_subscription::deliver))
        .route("/records", get(records))
        // Room for Lambda's own limits, so an oversized payload gets Lambda's answer
        // (RequestTooLargeException) rather than the HTTP server's.
        .layer(axum::extract::DefaultBodyLimit::max(2 * crate::invoke_api::SYNC_PAYLOAD_LIMIT))
        .with_state(shared)
}

async fn records(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(shared.records.to_json()).into_response()
}

/// Warns where the time scale breaks a guarantee that rests on the ratio of an AWS wait to a
/// function timeout (real time, never scaled).
fn warn_on_broken_ratios(config: &ServiceConfig) {
    let first_retry = config.scaled(crate::config::ASYNC_RETRY_DELAYS[0]);
    for f in &config.functions {
        if first_retry < f.timeout {
            tracing::warn!(function = %f.name, retry_ms = first_retry.as_millis() as u64,
                timeout_ms = f.timeout.as_millis() as u64, time_scale = config.scale(),
                "at this time scale an async retry can start before the failed attempt's deadline; on AWS it \
                 never does (the first retry comes about a minute later)");
        }
    }
}
