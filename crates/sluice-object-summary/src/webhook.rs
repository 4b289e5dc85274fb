//! POSTing each receipt to a partner endpoint, with an `Idempotency-Key` header.
//!
//! The header carries the item's idempotency key, so the partner can drop a second POST of the
//! same object version (sluice may repeat it if the worker dies between the POST and storing
//! its result). 408, 429, 5xx and network failures are retryable; other 4xx are permanent.

use std::time::Duration;

use sluice::ProcessError;

use crate::Receipt;

/// A webhook endpoint.
#[derive(Debug, Clone)]
pub struct Webhook {
    client: reqwest::Client,
    url: reqwest::Url,
}

impl Webhook {
    /// An endpoint at `url`, with a 2 s connect and 10 s request timeout.
    pub fn new(url: reqwest::Url) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("sluice-object-summary/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Webhook { client, url })
    }

    /// POSTs `receipt` as JSON with `Idempotency-Key: idempotency_key`.
    pub async fn post(&self, receipt: &Receipt, idempotency_key: &str) -> Result<(), ProcessError> {
        let response = self
            .client
            .post(self.url.clone())
            .header("Idempotency-Key", idempotency_key)
            .json(receipt)
            .send()
            .await
            .map_err(|e| ProcessError::retryable(format!("webhook POST to {}: {e}", self.url)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body: String = response.text().await.unwrap_or_default().chars().take(256).collect();
        let message = format!("webhook POST to {} answered {status}: {body}", self.url);
        if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
            Err(ProcessError::retryable(message))
        } else {
            Err(ProcessError::permanent(message))
        }
    }
}
