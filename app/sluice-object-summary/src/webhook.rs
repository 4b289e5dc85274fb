//! POSTing each object version's summary to a partner endpoint, with an `Idempotency-Key`
//! header and retries.
//!
//! The partner applies a key once. So that it can, every POST of one object version, on any
//! path, retry or redelivery (a re-run after a crash included), carries the same key **and the
//! same body** (a [`VersionSummary`]: no timestamps, no path):
//! - the key is [`idempotency_key`] of the version's identity (`bucket/key@v:<versionId>`): a
//!   UUID derived from its SHA-256, sent as a Structured Field string as the IETF draft
//!   specifies (`Idempotency-Key: "8e03978e-..."`, draft-ietf-httpapi-idempotency-key-header):
//!   ASCII whatever the object's name, and free of the function's name, so renaming the
//!   function or its key prefix changes no key;
//! - 2xx is success, and so is a status the partner documents as "already applied"
//!   ([`Webhook::already_applied`]). Per the draft, a repeat after the first POST completed gets
//!   the first result back (2xx), 409 means the first POST is still being processed (retried
//!   here, like a throttle), and 422 means the key was reused with another body (permanent).
//!
//! 408, 409, 429, 5xx, timeouts and connection failures are retried with the [`RetryPolicy`]
//! (full jitter), a `Retry-After` honoured, never past the invocation deadline; other 4xx
//! answers are permanent.

use std::time::Duration;

use sluice_excerpt::Excerpt;
use sluice_retry::{Classify, ErrorClass, RetryPolicy, parse_retry_after};
use tokio::time::Instant;

use crate::VersionSummary;
use crate::signature::SigningKey;

/// How long a connection attempt to the endpoint may take.
pub const WEBHOOK_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

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
        /// The start of the response body: the partner's text, quoted as an excerpt.
        body: Excerpt,
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
    /// Nothing answered the connection attempt in time: typically no route to the endpoint
    /// (a function in a VPC without NAT), or a firewall dropping it.
    #[error(
        "webhook POST to {url}: connection timed out after {after:?} (nothing answered: no route to the endpoint?)"
    )]
    ConnectTimeout {
        /// The endpoint.
        url: String,
        /// The connect timeout.
        after: Duration,
    },
    /// An attempt was still waiting for an answer when the time for the POST ran out.
    #[error("webhook POST to {url}: timed out at the invocation deadline{}", earlier.as_ref().map(|e| format!("; the attempt before: {e}")).unwrap_or_default())]
    OutOfTime {
        /// The endpoint.
        url: String,
        /// The previous attempt's error, if there was one.
        earlier: Option<String>,
    },
}

impl Classify for WebhookError {
    fn error_class(&self) -> ErrorClass {
        match self {
            // The draft's "a request with this key is still being processed": wait and retry.
            WebhookError::Status { status: 409, .. } => ErrorClass::Throttling,
            WebhookError::Status { status, .. } => ErrorClass::from_status(*status),
            WebhookError::Transport { source, .. } => source.error_class(),
            WebhookError::OutOfTime { .. } => ErrorClass::Timeout,
            // Never connected, so never sent: as safe to retry as a refused connection.
            WebhookError::ConnectTimeout { .. } => ErrorClass::Connection,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            WebhookError::Status { retry_after, .. } => *retry_after,
            WebhookError::Transport { .. } | WebhookError::ConnectTimeout { .. } | WebhookError::OutOfTime { .. } => {
                None
            }
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
    already_applied: Vec<u16>,
    signing: Option<SigningKey>,
}

/// The `Idempotency-Key` header value for the work named `identity`: a Structured Field string
/// holding a UUID (version 8) made from the SHA-256 of `identity`. Deterministic, ASCII, and the
/// same length whatever `identity` holds.
///
/// ```
/// let key = sluice_object_summary::idempotency_key("ingest/incoming/보고서.csv@v:3HL4kq");
/// assert_eq!(key, sluice_object_summary::idempotency_key("ingest/incoming/보고서.csv@v:3HL4kq"));
/// assert!(key.is_ascii() && key.starts_with('"') && key.ends_with('"') && key.len() == 38);
/// ```
pub fn idempotency_key(identity: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(identity.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    format!("\"{}\"", uuid::Uuid::new_v8(bytes).hyphenated())
}

impl Webhook {
    /// An endpoint at `url` (2 s connect, [`WEBHOOK_CONNECT_TIMEOUT`], and 10 s request
    /// timeouts), retried by `policy`.
    pub fn new(url: reqwest::Url, policy: RetryPolicy) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(WEBHOOK_CONNECT_TIMEOUT)
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("sluice-object-summary/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Webhook { client, url, policy, already_applied: Vec::new(), signing: None })
    }

    /// Signs every POST with `key` (a fresh timestamp per attempt): the `Sluice-Signature`
    /// header of [`crate::signature`].
    pub fn signed_with(mut self, key: SigningKey) -> Self {
        self.signing = Some(key);
        self
    }

    /// Statuses the partner answers when the key was applied already (for example `[409]` for
    /// a partner that says "duplicate" with it): treated as success. Default: none.
    pub fn already_applied(mut self, statuses: impl IntoIterator<Item = u16>) -> Self {
        self.already_applied = statuses.into_iter().collect();
        self
    }

    /// POSTs `summary` as JSON with the `Idempotency-Key` of `identity` (see
    /// [`idempotency_key`]), retrying transient failures until `deadline` minus
    /// [`WEBHOOK_DEADLINE_MARGIN`]. An attempt still waiting then (or at `deadline`, for a first
    /// attempt that starts inside the margin) ends with [`WebhookError::OutOfTime`], so the
    /// caller learns why rather than being cut off.
    pub async fn post(&self, summary: &VersionSummary, identity: &str, deadline: Instant) -> Result<(), WebhookError> {
        self.send(summary, identity, None, deadline).await
    }

    /// As [`post`](Self::post), and says which Lambda invocation sends it in a
    /// `Lambda-Request-Id` header (not part of what the key covers): the partner can quote it,
    /// and match each call to the invocation and to the address it came from.
    pub async fn post_for(
        &self,
        request_id: &str,
        summary: &VersionSummary,
        identity: &str,
        deadline: Instant,
    ) -> Result<(), WebhookError> {
        self.send(summary, identity, Some(request_id), deadline).await
    }

    async fn send(
        &self,
        summary: &VersionSummary,
        identity: &str,
        request_id: Option<&str>,
        deadline: Instant,
    ) -> Result<(), WebhookError> {
        let key = idempotency_key(identity);
        let body = serde_json::to_vec(summary).expect("a summary serialises");
        let policy = self.policy.clone().deadline(deadline, WEBHOOK_DEADLINE_MARGIN);
        let cutoff = deadline.checked_sub(WEBHOOK_DEADLINE_MARGIN).unwrap_or(deadline);
        let earlier = std::sync::Mutex::new(None::<String>);
        let first = std::sync::atomic::AtomicBool::new(true);
        policy
            .run(|| async {
                // Every attempt has until the cutoff, but a first one that starts later still
                // gets its chance, until the deadline itself.
                let is_first = first.swap(false, std::sync::atomic::Ordering::Relaxed);
                let until = if is_first && Instant::now() >= cutoff { deadline } else { cutoff };
                // One span per attempt (DEBUG: exported with the `otel` feature, free without it).
                let span = tracing::debug_span!("webhook POST", "url.full" = %self.url);
                let attempt = tracing::Instrument::instrument(self.attempt(&body, &key, request_id), span);
                match tokio::time::timeout_at(until, attempt).await {
                    Ok(Err(e)) => {
                        let prefix = format!("webhook POST to {}: ", self.url);
                        let text = sluice_retry::error_chain(&e);
                        *earlier.lock().expect("webhook errors") =
                            Some(text.strip_prefix(&prefix).unwrap_or(&text).to_owned());
                        Err(e)
                    }
                    Ok(done) => done,
                    Err(_) => {
                        let earlier = earlier.lock().expect("webhook errors").take();
                        Err(WebhookError::OutOfTime { url: self.url.to_string(), earlier })
                    }
                }
            })
            .await
    }

    async fn attempt(&self, body: &[u8], key: &str, request_id: Option<&str>) -> Result<(), WebhookError> {
        let url = self.url.to_string();
        let mut request = self.client.post(self.url.clone());
        if let Some(id) = request_id {
            request = request.header("Lambda-Request-Id", id);
        }
        if let Some(trace) = sluice::trace::current() {
            // The record's trace, in both forms: W3C for the partner's own tracing, X-Ray's as
            // AWS services and X-Ray-instrumented partners read it.
            request = request
                .header(sluice::trace::TRACEPARENT_HEADER, trace.traceparent())
                .header(sluice::trace::XRAY_HEADER, trace.xray_header());
        }
        if let Some(key) = &self.signing {
            let now = sluice_clock::epoch_secs(std::time::SystemTime::now());
            request = request.header(crate::signature::SIGNATURE_HEADER, key.sign(now, body));
        }
        let response = request
            .header("Idempotency-Key", key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await
            .map_err(|source| match source.is_connect() && source.is_timeout() {
                true => WebhookError::ConnectTimeout { url: url.clone(), after: WEBHOOK_CONNECT_TIMEOUT },
                false => WebhookError::Transport { url: url.clone(), source },
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        if self.already_applied.contains(&status.as_u16()) {
            tracing::info!(status = status.as_u16(), "the partner had applied this key already");
            return Ok(());
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = body_excerpt(response).await;
        Err(WebhookError::Status { url, status: status.as_u16(), body, retry_after })
    }
}

/// At most this much of an error response's body is read: enough for its excerpt.
const MAX_ERROR_BODY_READ: usize = 1024;

/// The excerpt of an error response's body, read no further than [`MAX_ERROR_BODY_READ`]: a
/// partner's error page can be of any size, and only its start is quoted. The length stated is
/// the `Content-Length`, else what was read.
async fn body_excerpt(mut response: reqwest::Response) -> Excerpt {
    let declared = response.content_length().and_then(|n| usize::try_from(n).ok());
    let mut head = Vec::new();
    let mut read = 0;
    while head.len() < MAX_ERROR_BODY_READ {
        let Ok(Some(chunk)) = response.chunk().await else { break };
        read += chunk.len();
        head.extend_from_slice(&chunk[..chunk.len().min(MAX_ERROR_BODY_READ - head.len())]);
    }
    Excerpt::of_start(&head, declared.unwrap_or(read))
}
