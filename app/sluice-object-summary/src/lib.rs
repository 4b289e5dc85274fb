//! The object-summary worker: the sample sluice application.
//!
//! For each `ObjectCreated` record it streams the object version the event describes from S3
//! (memory does not grow with its size), computes size, SHA-256 and line count, writes a JSON
//! [`Receipt`] per object version to `RESULTS_BUCKET` and moves the key's latest receipt
//! forward (never back: see [`receipt`]), and, when `WEBHOOK_URL` is set, POSTs the version's
//! facts there with an `Idempotency-Key` header derived from the version alone, signed with
//! the secret `WEBHOOK_SECRET_ARN` names ([`signature`]). A missing object, or one over `MAX_OBJECT_BYTES`, is
//! a permanent failure. The same processor serves both delivery paths: [`run`] with
//! [`Path::Sqs`] in the `sqs-worker` binary, [`Path::Sns`] in `sns-worker`.
//!
//! ```no_run
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_runtime::Error> {
//!     sluice_object_summary::run(sluice::Path::Sqs).await
//! }
//! ```

/// Configuration from the environment.
mod config;
/// Streaming size, SHA-256 and line count.
mod digest;
/// The AWS SDK's HTTP client, TLS roots loaded on first use.
mod http_client;
/// The receipt documents: per version, and the latest per key.
pub mod receipt;
/// Signed webhooks: the `Sluice-Signature` header, signing and verifying.
pub mod signature;
/// The webhook client.
mod webhook;
/// The processor.
mod worker;

pub use config::{Config, ConfigError, DEFAULT_RESULTS_PREFIX, WebhookSecret};
pub use digest::{ObjectDigest, Summary};
pub use http_client::DeferredTlsClient;
pub use receipt::{
    Latest, Position, Receipt, VersionSummary, receipt_key, receipt_key_under, version_receipt_key_under,
};
pub use webhook::{WEBHOOK_CONNECT_TIMEOUT, WEBHOOK_DEADLINE_MARGIN, Webhook, WebhookError, idempotency_key};
pub use worker::ObjectSummary;

use sluice::trace::SdkTraceHeader;
use sluice::{EmfMetrics, Idempotency, Path, SnsHandler, SqsBatchHandler, SqsDeadLetterQueue};
use std::sync::Arc;

use sluice_idempotency::{
    CachedStore, DEFAULT_CACHE_CAPACITY, DynamoDbStore, IdempotencyStore, MemoryStore, RedisStore,
};
use sluice_retry::RetryPolicy;

/// CloudWatch namespace of the worker's EMF metrics.
pub const METRICS_NAMESPACE: &str = "Sluice";

/// Reads the configuration, builds the clients and serves Lambda events for `delivery`.
///
/// Invalid configuration fails initialisation with the variable's name.
pub async fn run(path: Path) -> Result<(), lambda_runtime::Error> {
    init_telemetry()?;
    serve(path).await.inspect_err(|e| tracing::error!(error = %e, "object-summary worker stopped"))
}

async fn serve(path: Path) -> Result<(), lambda_runtime::Error> {
    let config = Config::from_env()?;
    let retries = RetryPolicy::default();
    // The SDK retries its own calls; the same policy shapes its backoff. Each attempt is
    // bounded, so a silent endpoint costs seconds, not the whole invocation (the handler bounds
    // the total by the deadline as well).
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(2))
        .operation_attempt_timeout(std::time::Duration::from_secs(10))
        .build();
    let aws = aws_config::from_env()
        .http_client(DeferredTlsClient::new())
        .retry_config(retries.sdk_retry_config())
        .timeout_config(timeouts)
        .load()
        .await;
    let s3 = sluice::aws::s3_client(&aws);
    let webhook = match config.webhook_url.clone() {
        Some(url) => {
            let mut webhook =
                Webhook::new(url, retries.clone())?.already_applied(config.webhook_already_applied.clone());
            match signing_key(&config, &aws).await? {
                Some(key) => webhook = webhook.signed_with(key),
                None => tracing::warn!("webhook POSTs are unsigned: name a signing secret in WEBHOOK_SECRET_ARN"),
            }
            Some(webhook)
        }
        None => None,
    };
    let processor = ObjectSummary::new(s3, &config.results_bucket)
        .results_prefix(&config.results_prefix)
        .max_object_bytes(config.max_object_bytes)
        .webhook(webhook);
    let idempotency = idempotency(&config, &aws).await?;
    let metrics = EmfMetrics::new(METRICS_NAMESPACE, &config.function_name);
    let dead_letters = config.dead_letter_queue_url.as_ref().map(|url| SqsDeadLetterQueue::new(sqs_client(&aws), url));
    tracing::info!(path = path.as_str(), results_bucket = %config.results_bucket, "object-summary worker starting");
    match path {
        Path::Sqs => {
            // The timeline on each item's line: `sluice compare` breaks the latency into hops with it.
            let mut builder = SqsBatchHandler::builder(processor, idempotency)
                .log_timeline(true)
                .batch_concurrency(config.batch_concurrency)
                .deadline_margin(config.deadline_margin)
                .metrics(metrics);
            if let Some(dlq) = dead_letters {
                builder = builder.dead_letter_queue(dlq);
            }
            lambda_runtime::run_concurrent(builder.build()).await
        }
        Path::Sns => {
            let mut builder = SnsHandler::builder(processor, idempotency)
                .log_timeline(true)
                .deadline_margin(config.deadline_margin)
                .metrics(metrics);
            if let Some(dlq) = dead_letters {
                builder = builder.dead_letter_queue(dlq);
            }
            lambda_runtime::run_concurrent(builder.build()).await
        }
        other => {
            Err(format!("the object-summary worker takes S3 events from SQS or SNS, not {}", other.as_str()).into())
        }
    }
}

/// Logs, and spans exported over OTLP when an endpoint is configured (feature `otel`).
fn init_telemetry() -> Result<(), lambda_runtime::Error> {
    #[cfg(feature = "otel")]
    if ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
    {
        return Ok(sluice::otel::init()?);
    }
    sluice::telemetry::init_logs();
    Ok(())
}

/// The SQS client for dead letters, putting the failed record's trace on each send.
fn sqs_client(aws: &aws_config::SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(aws).interceptor(SdkTraceHeader).build())
}

/// The webhook signing key, read once per execution environment: from AWS Secrets Manager (its
/// current value; the key id is its `VersionId`, so a rotation changes it), or the environment.
async fn signing_key(
    config: &Config,
    aws: &aws_config::SdkConfig,
) -> Result<Option<signature::SigningKey>, ConfigError> {
    match &config.webhook_secret {
        None => Ok(None),
        Some(WebhookSecret::Plain { key_id, secret }) => {
            Ok(Some(signature::SigningKey::new(key_id.clone(), secret.clone().into_bytes())))
        }
        Some(WebhookSecret::SecretsManager(id)) => {
            let unreadable = |reason: String| ConfigError { variable: "WEBHOOK_SECRET_ARN", reason };
            let value = aws_sdk_secretsmanager::Client::new(aws)
                .get_secret_value()
                .secret_id(id)
                .send()
                .await
                .map_err(|e| unreadable(format!("cannot read {id}: {}", sluice_retry::error_chain(&e))))?;
            let secret = value.secret_string().ok_or_else(|| unreadable(format!("{id} holds no string")))?;
            let version = value.version_id().ok_or_else(|| unreadable(format!("{id} has no version id")))?;
            Ok(Some(signature::SigningKey::new(version, secret.as_bytes().to_vec())))
        }
    }
}

/// The idempotency store `config` selects: DynamoDB (`IDEMPOTENCY_TABLE`), Redis
/// (`IDEMPOTENCY_REDIS_URL`), or this environment's memory, with a warning. Remote stores get a
/// local cache of completed records, so warm duplicates cost no request.
async fn idempotency(config: &Config, aws: &aws_config::SdkConfig) -> Result<Idempotency, lambda_runtime::Error> {
    let store: Arc<dyn IdempotencyStore> = if let Some(table) = &config.idempotency_table {
        tracing::info!(table = %table, "idempotency records in DynamoDB");
        // Claims and completions carry the record's trace, like every call made for it.
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(aws).interceptor(SdkTraceHeader);
        let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::from_conf(dynamodb.build()), table);
        Arc::new(CachedStore::new(store, DEFAULT_CACHE_CAPACITY))
    } else if let Some(url) = &config.idempotency_redis_url {
        tracing::info!("idempotency records in Redis");
        let store = RedisStore::connect(url)
            .await
            .map_err(|e| ConfigError { variable: "IDEMPOTENCY_REDIS_URL", reason: format!("cannot connect: {e}") })?;
        Arc::new(CachedStore::new(store, DEFAULT_CACHE_CAPACITY))
    } else {
        tracing::warn!(
            "neither IDEMPOTENCY_TABLE nor IDEMPOTENCY_REDIS_URL is set: idempotency records live in this \
             execution environment's memory only, so duplicates reaching another instance are processed again"
        );
        Arc::new(MemoryStore::new())
    };
    // Each function has its own namespace: both paths see every upload and must both run it.
    Ok(Idempotency::with_store(store)
        .ttl(config.idempotency_ttl)
        .lease(config.idempotency_lease)
        .key_prefix(&config.function_name))
}
