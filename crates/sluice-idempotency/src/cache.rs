//! A bounded cache of completed records in front of a store, per execution environment.
//!
//! A Lambda execution environment lives for many invocations. A duplicate of an item that this
//! environment completed (an SQS redelivery, a second S3 notification) can be answered from
//! memory, costing no request. Only *completed* records are cached: they do not change until
//! they expire, so the cache can never hide a claim another invocation took. In-progress
//! answers always come from the store.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::{Claim, ClaimRequest, IdempotencyStore, Lease, StoreError};

/// Default number of completed records kept (Powertools keeps 256).
pub const DEFAULT_CACHE_CAPACITY: usize = 1024;

#[derive(Debug, Clone)]
struct Entry {
    output: String,
    expires_at: SystemTime,
    fingerprint: Option<String>,
}

#[derive(Debug, Default)]
struct Cache {
    entries: HashMap<String, Entry>,
    order: VecDeque<String>,
}

/// `store`, with completed records also kept in memory (oldest evicted first).
///
/// ```
/// use sluice_idempotency::{CachedStore, MemoryStore};
/// let store = CachedStore::new(MemoryStore::new(), 512);
/// # let _ = store;
/// ```
#[derive(Debug)]
pub struct CachedStore<S> {
    store: S,
    capacity: usize,
    cache: Mutex<Cache>,
    fingerprints: Mutex<HashMap<String, Option<String>>>,
}

impl<S: IdempotencyStore> CachedStore<S> {
    /// `store` with a cache of at most `capacity` completed records.
    pub fn new(store: S, capacity: usize) -> Self {
        CachedStore { store, capacity, cache: Mutex::default(), fingerprints: Mutex::default() }
    }

    /// The store behind the cache.
    pub fn inner(&self) -> &S {
        &self.store
    }

    fn remember(&self, key: &str, entry: Entry) {
        if self.capacity == 0 {
            return;
        }
        let mut cache = self.cache.lock().expect("cache poisoned");
        if cache.entries.insert(key.to_owned(), entry).is_none() {
            cache.order.push_back(key.to_owned());
        }
        while cache.entries.len() > self.capacity {
            let Some(oldest) = cache.order.pop_front() else { break };
            cache.entries.remove(&oldest);
        }
    }

    fn lookup(&self, key: &str, now: SystemTime) -> Option<Entry> {
        let mut cache = self.cache.lock().expect("cache poisoned");
        match cache.entries.get(key) {
            Some(e) if e.expires_at > now => Some(e.clone()),
            Some(_) => {
                cache.entries.remove(key);
                None
            }
            None => None,
        }
    }
}

#[async_trait]
impl<S: IdempotencyStore> IdempotencyStore for CachedStore<S> {
    async fn claim(&self, request: ClaimRequest<'_>) -> Result<Claim, StoreError> {
        if let Some(hit) = self.lookup(request.key, SystemTime::now()) {
            if let (Some(stored), Some(given)) = (&hit.fingerprint, request.fingerprint)
                && stored != given
            {
                return Ok(Claim::PayloadMismatch { stored: stored.clone(), given: given.to_owned() });
            }
            return Ok(Claim::Completed { output: hit.output, expires_at: hit.expires_at });
        }
        let claim = self.store.claim(request).await?;
        match &claim {
            Claim::Completed { output, expires_at } => self.remember(
                request.key,
                Entry {
                    output: output.clone(),
                    expires_at: *expires_at,
                    fingerprint: request.fingerprint.map(str::to_owned),
                },
            ),
            Claim::Acquired(lease) => {
                // Kept until complete, so the cached record carries the fingerprint.
                self.fingerprints
                    .lock()
                    .expect("cache poisoned")
                    .insert(lease.token().to_owned(), request.fingerprint.map(str::to_owned));
            }
            _ => {}
        }
        Ok(claim)
    }

    async fn complete(&self, lease: &Lease, output: &str, expires_at: SystemTime) -> Result<(), StoreError> {
        let fingerprint = self.fingerprints.lock().expect("cache poisoned").remove(lease.token()).flatten();
        self.store.complete(lease, output, expires_at).await?;
        self.remember(lease.key(), Entry { output: output.to_owned(), expires_at, fingerprint });
        Ok(())
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        self.fingerprints.lock().expect("cache poisoned").remove(lease.token());
        self.store.release(lease).await
    }
}
