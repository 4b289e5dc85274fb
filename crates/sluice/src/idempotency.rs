//! How handlers run items under idempotency records.
//!
//! Before an item is processed its key is *claimed* in the store; the processor runs only if
//! the claim was acquired. Its output is then stored (`complete`), or, on failure, the claim is
//! released so the redelivery can run it. A duplicate gets the stored output and is not
//! processed again. The in-progress claim lasts until the invocation deadline, so a crashed or
//! timed-out invocation holds the item for no longer than it could have run.
//!
//! Protection is explicit: a handler is built with [`Idempotency::new`] (a store) or
//! [`Idempotency::disabled`], never by accident without one. When protection is on, an item
//! without a key is an error unless [`Idempotency::allow_missing_keys`] says to process it
//! unprotected, and a store that cannot be reached fails the item as retryable: side effects
//! never run without a claim.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sluice_idempotency::{Claim, ClaimRequest, IdempotencyStore, Lease, StoreError};

use crate::Deadline;

/// How long a completed record is kept by default, as in Powertools (`expires_after_seconds`).
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// Idempotency settings of a handler.
///
/// ```
/// use std::time::Duration;
/// use sluice::Idempotency;
/// use sluice_idempotency::MemoryStore;
///
/// let idempotency = Idempotency::new(MemoryStore::new())
///     .ttl(Duration::from_secs(24 * 3600))
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
                .field("key_prefix", &c.key_prefix)
                .field("allow_missing_keys", &c.allow_missing_keys)
                .finish_non_exhaustive(),
        }
    }
}

/// What the claim decided for one item.
pub(crate) enum Admission {
    /// Process the item; `lease` is `None` when unprotected.
    Run { lease: Option<Lease>, key: Option<Arc<str>> },
    /// Processed before: do not run.
    Duplicate,
    /// Do not run now; the item fails with this reason.
    Refused { retryable: bool, reason: String },
}

impl Idempotency {
    /// Protection with `store`, a one-hour TTL and no key prefix.
    pub fn new(store: impl IdempotencyStore) -> Self {
        Self::with_store(Arc::new(store))
    }

    /// Protection with a shared store.
    pub fn with_store(store: Arc<dyn IdempotencyStore>) -> Self {
        Idempotency {
            config: Some(Arc::new(Config { store, ttl: DEFAULT_TTL, key_prefix: None, allow_missing_keys: false })),
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

    /// How long completed records are kept (default one hour).
    pub fn ttl(self, ttl: Duration) -> Self {
        self.map(|c| c.ttl = ttl)
    }

    /// A static prefix for every key (`prefix#key`), so renaming code never changes keys.
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

    /// Claims the item's key, or decides to run it unprotected.
    pub(crate) async fn admit(&self, key: Option<String>, fingerprint: Option<&str>, deadline: &Deadline) -> Admission {
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
        let key = match &config.key_prefix {
            Some(prefix) => format!("{prefix}#{key}"),
            None => key,
        };
        let request = ClaimRequest::new(&key, deadline.system_time()).with_fingerprint(fingerprint);
        match config.store.claim(request).await {
            Ok(Claim::Acquired(lease)) => Admission::Run { lease: Some(lease), key: Some(Arc::from(key)) },
            Ok(Claim::Completed { .. }) => Admission::Duplicate,
            Ok(Claim::InProgress { until }) => Admission::Refused {
                retryable: true,
                reason: format!(
                    "item {key:?} is being processed by another invocation (claim held for {} ms more)",
                    until.duration_since(SystemTime::now()).unwrap_or_default().as_millis()
                ),
            },
            Ok(Claim::PayloadMismatch { stored, given }) => Admission::Refused {
                retryable: false,
                reason: format!(
                    "idempotency key {key:?} was seen with a different payload (stored {stored:?}, now {given:?})"
                ),
            },
            Err(e) => Admission::Refused { retryable: true, reason: e.to_string() },
        }
    }

    /// Stores the output of a successful run. Failures are logged: the work is done, and
    /// failing the item now would only repeat it.
    pub(crate) async fn complete(&self, lease: &Lease, output: &str) {
        let Some(config) = &self.config else { return };
        let expires_at = SystemTime::now() + config.ttl;
        match config.store.complete(lease, output, expires_at).await {
            Ok(()) => {}
            Err(e @ StoreError::Fenced { .. }) => tracing::warn!(error = %e, "output not stored"),
            Err(e) => {
                tracing::error!(error = %e, "output not stored; a redelivery after the claim expires will run the item again")
            }
        }
    }

    /// Releases the claim of a failed run so a redelivery can run it.
    pub(crate) async fn release(&self, lease: &Lease) {
        let Some(config) = &self.config else { return };
        if let Err(e) = config.store.release(lease).await {
            tracing::warn!(error = %e, "claim not released; it expires at the invocation deadline");
        }
    }
}
