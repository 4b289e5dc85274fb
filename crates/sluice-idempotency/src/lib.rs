//! Idempotency records for at-least-once event workers.
//!
//! S3, SNS, SQS and Lambda's asynchronous invocation all deliver *at least once*, so a worker
//! sees duplicates: a second S3 notification, an SQS redelivery after a timeout, a Lambda retry.
//! An idempotency record makes the side effects of one item happen once. The protocol follows
//! Powertools for AWS Lambda, with one addition it lacks: **fencing**.
//!
//! 1. [`IdempotencyStore::claim`] writes an *in-progress* record that holds for a short
//!    *lease*, so a killed invocation never leaves a record stuck for longer than that. It
//!    answers with a [`Lease`] (the caller owns the item), the stored output of a completed run
//!    (a duplicate), the time an in-progress claim holds until, or a payload mismatch.
//! 2. [`IdempotencyStore::renew`] extends the claim while the owner is still working: a
//!    heartbeat. A crashed owner stops renewing, and its claim frees within one lease, while
//!    the platform's retries (a Lambda async retry a minute later, an SQS redelivery after the
//!    visibility timeout) are still to come. Powertools holds the claim until the invocation
//!    deadline instead, which can outlive those retries.
//! 3. [`IdempotencyStore::complete`] stores the output and keeps it for the TTL.
//! 4. [`IdempotencyStore::release`] removes the claim after a failure, so a retry can run.
//!
//! `renew`, `complete` and `release` succeed only while the lease's owner token still owns the
//! record. An invocation whose claim lapsed and was taken over gets [`StoreError::Fenced`]
//! instead of overwriting or deleting the new owner's record.
//!
//! A claim is safe to send again: a claim that carries the owner token of the record it meets
//! ([`ClaimRequest::with_owner`]) is that same claim, retried after its answer was lost, and is
//! [`Claim::Acquired`] rather than "in progress".
//!
//! A record whose expiry has passed counts as absent, whatever the backend has or has not
//! deleted (DynamoDB's TTL deletion can lag by up to 48 hours).
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use sluice_idempotency::{Claim, ClaimRequest, IdempotencyStore, MemoryStore};
//!
//! # tokio_test();
//! # fn tokio_test() { tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = MemoryStore::new();
//! let deadline = SystemTime::now() + Duration::from_secs(30);
//! let Claim::Acquired(lease) = store.claim(ClaimRequest::new("bucket/key#v1", deadline)).await? else {
//!     unreachable!("the first claim owns the item")
//! };
//! // ... do the work, renewing the claim while it runs; then:
//! store.renew(&lease, SystemTime::now() + Duration::from_secs(30)).await?;
//! store.complete(&lease, r#"{"lines":3}"#, SystemTime::now() + Duration::from_secs(3600)).await?;
//!
//! let duplicate = store.claim(ClaimRequest::new("bucket/key#v1", deadline)).await?;
//! assert!(matches!(duplicate, Claim::Completed { output, .. } if output == r#"{"lines":3}"#));
//! # Ok::<(), sluice_idempotency::StoreError>(()) }).unwrap() }
//! ```

use std::time::SystemTime;

use async_trait::async_trait;
use sluice_excerpt::Excerpt;

/// A bounded cache of completed records in front of a store.
pub mod cache;
/// The DynamoDB store.
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
/// A wrapper counting requests and adding latency, for tests and benchmarks.
pub mod instrumented;
/// The in-memory store, for tests and single-process use.
pub mod memory;
/// The Redis / Valkey store.
#[cfg(feature = "redis")]
pub mod redis;

pub use cache::{CachedStore, DEFAULT_CACHE_CAPACITY};
#[cfg(feature = "dynamodb")]
pub use dynamodb::{AttributeNames, DynamoDbStore};
pub use instrumented::InstrumentedStore;
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::RedisStore;

/// A boxed error from a backend's client.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Locks `mutex`, recovering it if a thread panicked while holding it.
///
/// A store lives as long as the warm instance, and a processor may panic (sluice catches the
/// panic and fails that one item). Were the lock poisoned for good, every later record on the
/// instance would fail on it. Each critical section here is a single map operation that
/// leaves the map consistent at every step, so the data behind a poisoned lock is sound.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a caller asks for when it claims an item.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ClaimRequest<'a> {
    /// The idempotency key: equal keys are the same item.
    pub key: &'a str,
    /// Until when the in-progress claim holds: the invocation deadline.
    pub in_progress_until: SystemTime,
    /// Optional hash of the fields that must match for a key to be a true duplicate.
    pub fingerprint: Option<&'a str>,
    /// The owner token to claim with; a fresh one when `None`.
    pub owner: Option<&'a str>,
}

impl<'a> ClaimRequest<'a> {
    /// A claim of `key` that holds until `in_progress_until`.
    pub fn new(key: &'a str, in_progress_until: SystemTime) -> Self {
        ClaimRequest { key, in_progress_until, fingerprint: None, owner: None }
    }

    /// Claims with the owner token `owner`, so that sending the same claim again (after a
    /// timeout, say) is recognised as the same claim and acquired, not refused as in progress.
    pub fn with_owner(mut self, owner: &'a str) -> Self {
        self.owner = Some(owner);
        self
    }

    /// The lease this request asks for: its owner token, or a fresh one.
    pub fn lease(&self) -> Lease {
        match self.owner {
            Some(token) => Lease { key: self.key.to_owned(), token: token.to_owned() },
            None => Lease::generate(self.key),
        }
    }

    /// Adds a payload fingerprint to validate duplicates against.
    pub fn with_fingerprint(mut self, fingerprint: Option<&'a str>) -> Self {
        self.fingerprint = fingerprint;
        self
    }
}

/// Ownership of a claimed item: the key and the owner token that fences later writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    key: String,
    token: String,
}

impl Lease {
    /// A lease with a fresh random owner token. Backends call this when a claim succeeds.
    pub fn generate(key: &str) -> Self {
        Lease { key: key.to_owned(), token: uuid::Uuid::new_v4().to_string() }
    }

    /// The idempotency key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The owner token stored with the record.
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl Lease {
    /// The lease of `key` held with owner token `token` (as stored with the record).
    pub fn new(key: &str, token: &str) -> Self {
        Lease { key: key.to_owned(), token: token.to_owned() }
    }
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller owns the item and must `complete` or `release` it.
    Acquired(Lease),
    /// The item was processed already: here is its stored output (JSON text).
    Completed {
        /// The output stored by `complete`.
        output: String,
        /// When the record expires.
        expires_at: SystemTime,
        /// The payload fingerprint stored with the record, if any.
        fingerprint: Option<String>,
    },
    /// Another invocation holds the item until `until`.
    InProgress {
        /// When that claim expires.
        until: SystemTime,
    },
    /// The key was seen with a different payload fingerprint.
    PayloadMismatch {
        /// Fingerprint stored with the record.
        stored: String,
        /// Fingerprint of this request.
        given: String,
    },
}

/// Why a store operation failed.
///
/// Keys are quoted as an [`Excerpt`]: they come from the events.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The lease no longer owns the record: its claim expired and another invocation took the
    /// item over (or the record is gone). Nothing was written.
    #[error(
        "idempotency record {} is no longer owned by this invocation (claim expired and taken over)",
        Excerpt::of(.key)
    )]
    Fenced {
        /// The key of the lost record.
        key: String,
    },
    /// The backend refused or could not be reached (throttling, network, service error). The
    /// item must be retried later, never processed without a claim.
    #[error("idempotency store unavailable during {operation} of {}: {source}", Excerpt::of(.key))]
    Unavailable {
        /// `claim`, `complete` or `release`.
        operation: &'static str,
        /// The key concerned.
        key: String,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// The backend refused the request itself as invalid (DynamoDB's `ValidationException`: an
    /// item over 400 KB, say). Sending it again gets the same answer, so the item fails
    /// permanently instead of being retried until the queue gives up on it.
    #[error("idempotency store rejected the {operation} of {} as invalid: {source}", Excerpt::of(.key))]
    Rejected {
        /// `claim`, `renew`, `complete` or `release`.
        operation: &'static str,
        /// The key concerned.
        key: String,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// The backend answered with a record this library cannot read.
    #[error("idempotency record {} is corrupt: {reason}", Excerpt::of(.key))]
    Corrupt {
        /// The key concerned.
        key: String,
        /// What was wrong.
        reason: String,
    },
}

impl StoreError {
    /// True when the same operation may succeed later ([`StoreError::Unavailable`]); a rejected
    /// request, a fenced lease or a corrupt record will not.
    ///
    /// ```
    /// use sluice_idempotency::StoreError;
    ///
    /// let down = StoreError::Unavailable { operation: "claim", key: "k".into(), source: "timeout".into() };
    /// let invalid = StoreError::Rejected { operation: "claim", key: "k".into(), source: "too large".into() };
    /// assert!(down.is_retryable());
    /// assert!(!invalid.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}

/// A persistence backend for idempotency records.
///
/// Implementations must make `claim` atomic (two concurrent claims of one key: one
/// [`Claim::Acquired`]), treat a claim carrying the record's own owner token as acquired, treat
/// expired records as absent, and fence `renew`, `complete` and `release` on the lease's token.
/// `tests/conformance.rs` checks all of it against every store.
#[async_trait]
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Claims `request.key` for processing.
    async fn claim(&self, request: ClaimRequest<'_>) -> Result<Claim, StoreError>;

    /// Extends the leased in-progress claim to `until` (a heartbeat). [`StoreError::Fenced`]
    /// when the lease no longer owns an in-progress record.
    async fn renew(&self, lease: &Lease, until: SystemTime) -> Result<(), StoreError>;

    /// Marks the leased item completed with `output` (JSON text), kept until `expires_at`.
    async fn complete(&self, lease: &Lease, output: &str, expires_at: SystemTime) -> Result<(), StoreError>;

    /// Removes the leased claim so the item can be retried.
    async fn release(&self, lease: &Lease) -> Result<(), StoreError>;
}

/// A shared store is a store: `Arc<S>` delegates to `S`.
#[async_trait]
impl<S: IdempotencyStore + ?Sized> IdempotencyStore for std::sync::Arc<S> {
    async fn claim(&self, request: ClaimRequest<'_>) -> Result<Claim, StoreError> {
        (**self).claim(request).await
    }

    async fn renew(&self, lease: &Lease, until: SystemTime) -> Result<(), StoreError> {
        (**self).renew(lease, until).await
    }

    async fn complete(&self, lease: &Lease, output: &str, expires_at: SystemTime) -> Result<(), StoreError> {
        (**self).complete(lease, output, expires_at).await
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        (**self).release(lease).await
    }
}
