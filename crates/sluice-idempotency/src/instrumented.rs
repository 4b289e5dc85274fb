//! A store wrapper that counts requests and can add a fixed latency to each: for tests and
//! benchmarks of how many round trips a handler spends on idempotency.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::{Claim, ClaimRequest, IdempotencyStore, Lease, StoreError};

/// `store`, counting each operation and sleeping `latency` (on tokio's clock) before each.
///
/// ```
/// use std::time::Duration;
/// use sluice_idempotency::{InstrumentedStore, MemoryStore};
/// let store = InstrumentedStore::new(MemoryStore::new()).latency(Duration::from_millis(5));
/// assert_eq!(store.requests(), 0);
/// ```
#[derive(Debug)]
pub struct InstrumentedStore<S> {
    store: S,
    latency: Duration,
    claims: AtomicU64,
    renewals: AtomicU64,
    completes: AtomicU64,
    releases: AtomicU64,
}

impl<S> InstrumentedStore<S> {
    /// `store`, with no added latency.
    pub fn new(store: S) -> Self {
        InstrumentedStore {
            store,
            latency: Duration::ZERO,
            claims: AtomicU64::new(0),
            renewals: AtomicU64::new(0),
            completes: AtomicU64::new(0),
            releases: AtomicU64::new(0),
        }
    }

    /// Adds `latency` to every request, as a network round trip would.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Requests so far: claims, renewals, completes and releases.
    pub fn requests(&self) -> u64 {
        self.claims() + self.renewals() + self.completes() + self.releases()
    }

    /// Renewals (heartbeats) so far.
    pub fn renewals(&self) -> u64 {
        self.renewals.load(Ordering::Relaxed)
    }

    /// Claims so far.
    pub fn claims(&self) -> u64 {
        self.claims.load(Ordering::Relaxed)
    }

    /// Completes so far.
    pub fn completes(&self) -> u64 {
        self.completes.load(Ordering::Relaxed)
    }

    /// Releases so far.
    pub fn releases(&self) -> u64 {
        self.releases.load(Ordering::Relaxed)
    }

    /// Sets every counter back to zero.
    pub fn reset(&self) {
        for c in [&self.claims, &self.renewals, &self.completes, &self.releases] {
            c.store(0, Ordering::Relaxed);
        }
    }

    async fn round_trip(&self, counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }
}

#[async_trait]
impl<S: IdempotencyStore> IdempotencyStore for InstrumentedStore<S> {
    async fn claim(&self, request: ClaimRequest<'_>) -> Result<Claim, StoreError> {
        self.round_trip(&self.claims).await;
        self.store.claim(request).await
    }

    async fn renew(&self, lease: &Lease, until: SystemTime) -> Result<(), StoreError> {
        self.round_trip(&self.renewals).await;
        self.store.renew(lease, until).await
    }

    async fn complete(&self, lease: &Lease, output: &str, expires_at: SystemTime) -> Result<(), StoreError> {
        self.round_trip(&self.completes).await;
        self.store.complete(lease, output, expires_at).await
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        self.round_trip(&self.releases).await;
        self.store.release(lease).await
    }
}
