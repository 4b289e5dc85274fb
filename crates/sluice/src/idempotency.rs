//! How handlers run items under idempotency records.
//!
//! Before an item is processed its key is *claimed* in the store; the processor runs only if
//! the claim was acquired. Its output is then stored (`complete`), or, on failure, the claim is
//! released so the redelivery can run it. A duplicate gets the stored output and is not
//! processed again.
//!
//! **Leases.** A claim holds for a short lease (default [`DEFAULT_LEASE`]), never past the
//! invocation deadline, and the running invocation renews it every third of a lease while the
//! processor works (a heartbeat). A crashed invocation stops renewing, so its claim frees within
//! one lease: before Lambda's first asynchronous retry (about a minute later) and before an SQS
//! redelivery. Holding the claim until the deadline instead, as Powertools does, lets a crashed
//! claim of a function with a timeout of minutes outlive both async retries, and the event ends
//! in the DLQ unprocessed. If a renewal finds the claim taken over, the processor is stopped:
//! another invocation owns the item now.
//!
//! **Bounded bookkeeping.** Every store call runs inside the invocation's budget: the claim and
//! the heartbeat before the processing cutoff, `complete` and `release` before the handler must
//! answer. A store that hangs fails the item as retryable; it never makes Lambda time the
//! invocation out.
//!
//! **A failed `complete`** (after retries within the budget) leaves the work done but
//! unrecorded. The item counts as processed, and the failure is logged and counted
//! (`Unrecorded` in the EMF metrics). A later duplicate finds the claim in progress until its
//! lease lapses, then runs the item again: side effects must tolerate that (the sample worker's
//! are keyed by object version).
//!
//! Protection is explicit: a handler is built with [`Idempotency::new`] (a store) or
//! [`Idempotency::disabled`], never by accident without one. When protection is on, an item
//! without a key is an error unless [`Idempotency::allow_missing_keys`] says to process it
//! unprotected, and a store that cannot be reached fails the item as retryable: side effects
//! never run without a claim.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sluice_excerpt::Excerpt;
use sluice_idempotency::{Claim, ClaimRequest, IdempotencyStore, Lease, StoreError};
use sluice_retry::{Classify, ErrorClass, RetryPolicy};
use tokio::time::Instant;

use crate::Deadline;

/// How long a completed record is kept by default: 14 days, the longest SQS keeps a message
/// (`MessageRetentionPeriod` at most 1,209,600 s, SQS API `SetQueueAttributes`). It covers
/// Lambda's 6-hour maximum event age on the direct path and a redrive from a dead-letter queue
/// that keeps messages for as long as SQS allows. A record older than its TTL is forgotten: a
/// delivery after that runs the item again.
pub const DEFAULT_TTL: Duration = Duration::from_secs(14 * 24 * 3600);

/// How long a claim holds without a renewal by default. Shorter than Lambda's first
/// asynchronous retry delay (about one minute, invocation-async-error-handling), so a crashed
/// claim is free again when the retry comes.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// Attempts to store an output before it is counted unrecorded.
const COMPLETE_ATTEMPTS: u32 = 3;

/// A store error as `sluice-retry` classifies it: retryable when the store says so.
#[derive(Debug)]
struct Unstored(StoreError);

impl std::fmt::Display for Unstored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "output not stored: {}", self.0)
    }
}

impl Classify for Unstored {
    fn error_class(&self) -> ErrorClass {
        if self.0.is_retryable() { ErrorClass::Server } else { ErrorClass::Other }
    }
}

/// Idempotency settings of a handler.
///
/// ```
/// use std::time::Duration;
/// use sluice::Idempotency;
/// use sluice_idempotency::MemoryStore;
///
/// let idempotency = Idempotency::new(MemoryStore::new())
///     .ttl(Duration::from_secs(24 * 3600))
///     .lease(Duration::from_secs(20))
///     .key_prefix("object-summary");
/// assert!(idempotency.is_enabled());
/// assert!(!Idempotency::disabled().is_enabled());
/// ```
#[derive(Clone)]
pub struct Idempotency {
    config: Option<Arc<Config>>,
}

#[derive(Clone)]
struct Config {
    store: Arc<dyn IdempotencyStore>,
    ttl: Duration,
    lease: Duration,
    key_prefix: Option<String>,
    allow_missing_keys: bool,
}

impl std::fmt::Debug for Idempotency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.config {
            None => f.write_str("Idempotency::disabled()"),
            Some(c) => f
                .debug_struct("Idempotency")
                .field("ttl", &c.ttl)
                .field("lease", &c.lease)
                .field("key_prefix", &c.key_prefix)
                .field("allow_missing_keys", &c.allow_missing_keys)
                .finish_non_exhaustive(),
        }
    }
}

/// What the claim decided for one item.
pub(crate) enum Admission {
    /// Process the item; `lease` is `None` when unprotected. `key` is the item's key as its
    /// key function named it, without the store's prefix.
    Run { lease: Option<Lease>, key: Option<Arc<str>> },
    /// Processed before: do not run. `output` is what the first run stored.
    Duplicate { output: String },
    /// Do not run now; the item fails with this reason.
    Refused { retryable: bool, reason: String },
}

/// How storing an output ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Completion {
    /// Stored, or nothing to store (unprotected).
    Recorded,
    /// The work is done but its record is not: a later duplicate runs it again.
    Unrecorded,
}

impl Idempotency {
    /// Protection with `store`, the default TTL and lease, and no key prefix.
    pub fn new(store: impl IdempotencyStore) -> Self {
        Self::with_store(Arc::new(store))
    }

    /// Protection with a shared store.
    pub fn with_store(store: Arc<dyn IdempotencyStore>) -> Self {
        Idempotency {
            config: Some(Arc::new(Config {
                store,
                ttl: DEFAULT_TTL,
                lease: DEFAULT_LEASE,
                key_prefix: None,
                allow_missing_keys: false,
            })),
        }
    }

    /// No protection: every delivery is processed.
    pub fn disabled() -> Self {
        Idempotency { config: None }
    }

    /// True unless [`Idempotency::disabled`].
    pub fn is_enabled(&self) -> bool {
        self.config.is_some()
    }

    /// How long completed records are kept (default [`DEFAULT_TTL`], 14 days). Keep it longer
    /// than any redelivery can come: the maximum event age of asynchronous invocations and the
    /// retention of the dead-letter queues you redrive from.
    pub fn ttl(self, ttl: Duration) -> Self {
        self.map(|c| c.ttl = ttl)
    }

    /// How long a claim holds without a renewal (default [`DEFAULT_LEASE`], 30 s; at least
    /// 30 ms). The running invocation renews it every third of a lease.
    pub fn lease(self, lease: Duration) -> Self {
        self.map(|c| c.lease = lease.max(Duration::from_millis(30)))
    }

    /// A static prefix for every stored key (`prefix#key`), so renaming code never changes
    /// keys, and two functions sharing a table keep their records apart.
    pub fn key_prefix(self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        self.map(|c| c.key_prefix = Some(prefix))
    }

    /// Process items that have no key, unprotected, with a warning (default: fail them).
    pub fn allow_missing_keys(self) -> Self {
        self.map(|c| c.allow_missing_keys = true)
    }

    fn map(self, f: impl FnOnce(&mut Config)) -> Self {
        let Some(config) = self.config else {
            return self;
        };
        let mut config = Arc::unwrap_or_clone(config);
        f(&mut config);
        Idempotency { config: Some(Arc::new(config)) }
    }

    /// The end of a lease taken or renewed now: one lease from now, never past the deadline.
    fn lease_end(config: &Config, deadline: &Deadline) -> SystemTime {
        (SystemTime::now() + config.lease).min(deadline.system_time())
    }

    /// Claims the item's key, or decides to run it unprotected. The claim gets no later than
    /// `cutoff` to answer.
    pub(crate) async fn admit(
        &self,
        key: Option<String>,
        fingerprint: Option<&str>,
        deadline: &Deadline,
        cutoff: Instant,
    ) -> Admission {
        let Some(config) = &self.config else {
            return Admission::Run { lease: None, key: key.map(Arc::from) };
        };
        let Some(key) = key else {
            if config.allow_missing_keys {
                tracing::warn!("item has no idempotency key; processing it without protection");
                return Admission::Run { lease: None, key: None };
            }
            return Admission::Refused {
                retryable: false,
                reason: "item has no idempotency key (configure a key function, or allow missing keys)".into(),
            };
        };
        let stored = match &config.key_prefix {
            Some(prefix) => format!("{prefix}#{key}"),
            None => key.clone(),
        };
        // One owner token for every attempt: a claim sent again after a lost answer is the same claim.
        let owner = uuid::Uuid::new_v4().to_string();
        let request = ClaimRequest::new(&stored, Self::lease_end(config, deadline))
            .with_fingerprint(fingerprint)
            .with_owner(&owner);
        let claim = match tokio::time::timeout_at(cutoff, config.store.claim(request)).await {
            Ok(claim) => claim,
            Err(_) => {
                return Admission::Refused {
                    retryable: true,
                    reason: format!(
                        "idempotency store did not answer the claim of {} before the cutoff",
                        Excerpt::of(&stored)
                    ),
                };
            }
        };
        match claim {
            Ok(Claim::Acquired(lease)) => Admission::Run { lease: Some(lease), key: Some(Arc::from(key)) },
            Ok(Claim::Completed { output, .. }) => Admission::Duplicate { output },
            Ok(Claim::InProgress { until }) => Admission::Refused {
                retryable: true,
                reason: format!(
                    "item {} is being processed by another invocation (claim held for {} ms more)",
                    Excerpt::of(&stored),
                    until.duration_since(SystemTime::now()).unwrap_or_default().as_millis()
                ),
            },
            Ok(Claim::PayloadMismatch { stored: was, given }) => Admission::Refused {
                retryable: false,
                reason: format!(
                    "idempotency key {} was seen with a different payload (stored {}, now {})",
                    Excerpt::of(&stored),
                    Excerpt::of(&was),
                    Excerpt::of(&given)
                ),
            },
            // A store that refuses the request as invalid will refuse it again: permanent.
            Err(e) => Admission::Refused { retryable: e.is_retryable(), reason: e.to_string() },
        }
    }

    /// Runs `work` while renewing `lease` every third of a lease. Returns `Err` with the reason
    /// if a renewal finds the claim taken over; `work` is then dropped, unfinished.
    pub(crate) async fn hold<F: Future>(
        &self,
        lease: &Lease,
        deadline: &Deadline,
        work: F,
    ) -> Result<F::Output, String> {
        let Some(config) = &self.config else { return Ok(work.await) };
        let interval = config.lease / 3;
        let heartbeat = async {
            loop {
                tokio::time::sleep(interval).await;
                let until = Self::lease_end(config, deadline);
                match tokio::time::timeout(interval, config.store.renew(lease, until)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e @ StoreError::Fenced { .. })) => return format!("stopped: {e}"),
                    Ok(Err(e)) => tracing::warn!(error = %e, "claim not renewed; trying again"),
                    Err(_) => tracing::warn!(key = lease.key(), "claim renewal timed out; trying again"),
                }
            }
        };
        tokio::select! {
            output = work => Ok(output),
            lost = heartbeat => Err(lost),
        }
    }

    /// Stores the output of a successful run, retrying a store that is unavailable, until
    /// `cutoff`.
    pub(crate) async fn complete(&self, lease: &Lease, output: &str, cutoff: Instant) -> Completion {
        let Some(config) = &self.config else { return Completion::Recorded };
        let expires_at = SystemTime::now() + config.ttl;
        let attempt = || async { config.store.complete(lease, output, expires_at).await.map_err(Unstored) };
        // AWS's full jitter between 20 and 200 ms, as every sluice retry (sluice-retry).
        let policy = RetryPolicy::default()
            .base(Duration::from_millis(20))
            .cap(Duration::from_millis(200))
            .max_attempts(COMPLETE_ATTEMPTS)
            .deadline(cutoff, Duration::ZERO);
        let retried = async { policy.run_if(attempt, |e: &Unstored| e.0.is_retryable()).await.map_err(|e| e.0) };
        let error = match tokio::time::timeout_at(cutoff, retried).await {
            Ok(Ok(())) => return Completion::Recorded,
            Ok(Err(e @ StoreError::Fenced { .. })) => {
                // Another invocation took the item over and will record it.
                tracing::warn!(error = %e, "output not stored: the claim was taken over");
                return Completion::Recorded;
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => "the idempotency store did not answer before the handler had to answer".to_owned(),
        };
        tracing::error!(
            key = lease.key(), error = %error, outcome = "unrecorded",
            "output not stored: the work is done, but a duplicate arriving after the claim's lease lapses will run it again"
        );
        Completion::Unrecorded
    }

    /// Releases the claim of a failed run so a redelivery can run it, until `cutoff`.
    pub(crate) async fn release(&self, lease: &Lease, cutoff: Instant) {
        let Some(config) = &self.config else { return };
        match tokio::time::timeout_at(cutoff, config.store.release(lease)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "claim not released; it lapses within one lease"),
            Err(_) => tracing::warn!(key = lease.key(), "claim release timed out; it lapses within one lease"),
        }
    }
}
