//! POSTing each receipt to a partner endpoint, with an `Idempotency-Key` header and retries.
//!
//! The header carries the item's idempotency key, so the partner can drop a repeated POST of
//! the same object version (every retry, and any redelivery, sends the same key). 408, 429,
//! 5xx, timeouts and connection failures are retried with the [`RetryPolicy`] (full jitter), a
//! `Retry-After` honoured, never past the invocation deadline; other 4xx answers are permanent.

use std::time::Duration;

use sluice_retry::{Classify, ErrorClass, RetryPolicy, parse_retry_after};
use tokio::time::Instant;

use crate::Receipt;

/// Time kept before the invocation deadline: no retry starts later, so the worker can still
/// record the outcome and answer.
pub const WEBHOOK_DEADLINE_MARGIN: Duration = Duration::from_millis(500);

/// Why a webhook POST failed (after its retries).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The endpoint answered with a non-2xx status.
    #[error("webhook POST to {url} answered {status}: {body}")]
    Status {
        /// The endpoint.
        url: String,
        /// HTTP status.
        status: u16,
        /// The start of the response body.
        body: String,
        /// The `Retry-After` it sent.
        retry_after: Option<Duration>,
    },
    /// No answer: connection refused, timeout, TLS.
    #[error("webhook POST to {url}: {source}")]
    Transport {
        /// The endpoint.
        url: String,
        /// The client's error.
        #[source]
        source: reqwest::Error,
    },
}

impl Classify for WebhookError {
    fn error_class(&self) -> ErrorClass {
        match self {
            WebhookError::Status { status, .. } => ErrorClass::from_status(*status),
            WebhookError::Transport { source, .. } => source.error_class(),
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            WebhookError::Status { retry_after, .. } => *retry_after,
            WebhookError::Transport { .. } => None,
        }
    }
}

/// A webhook endpoint.
///
/// ```
/// let hook = sluice_object_summary::Webhook::new(
///     "https://partner.example/receipts".parse().unwrap(),
///     sluice_retry::RetryPolicy::default(),
/// ).unwrap();
/// # let _ = hook;
/// ```
#[derive(Debug, Clone)]
pub struct Webhook {
    client: reqwest::Client,
    url: reqwest::Url,
    policy: RetryPolicy,
}

impl Webhook {
    /// An endpoint at `url` (2 s connect and 10 s request timeouts), retried by `policy`.
    pub fn new(url: reqwest::Url, policy: RetryPolicy) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("sluice-object-summary/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Webhook { client, url, policy })
    }

    /// POSTs `receipt` as JSON with `Idempotency-Key: idempotency_key`, retrying transient
    /// failures until `deadline` minus [`WEBHOOK_DEADLINE_MARGIN`].
    pub async fn post(&self, receipt: &Receipt, idempotency_key: &str, deadline: Instant) -> Result<(), WebhookError> {
        self.policy
            .clone()
            .deadline(deadline, WEBHOOK_DEADLINE_MARGIN)
            .run(|| self.attempt(receipt, idempotency_key))
            .await
    }

    async fn attempt(&self, receipt: &Receipt, idempotency_key: &str) -> Result<(), WebhookError> {
        let url = self.url.to_string();
        let response = self
            .client
            .post(self.url.clone())
            .header("Idempotency-Key", idempotency_key)
            .json(receipt)
            .send()
            .await
            .map_err(|source| WebhookError::Transport { url: url.clone(), source })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body: String = response.text().await.unwrap_or_default().chars().take(256).collect();
        Err(WebhookError::Status { url, status: status.as_u16(), body, retry_after })
    }
}
