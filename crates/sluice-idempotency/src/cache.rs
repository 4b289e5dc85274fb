//! A bounded cache of completed records in front of a store, per execution environment.
//!
//! A Lambda execution environment lives for many invocations. A duplicate of an item that this
//! environment completed (an SQS redelivery, a second S3 notification) can be answered from
//! memory, costing no request. Only *completed* records are cached: they do not change until
//! they expire, so the cache can never hide a claim another invocation took. In-progress
//! answers always come from the store.
//!
//! The cache is the `lru` crate's: the least recently used record is evicted first, and an
//! expired record is removed as soon as a lookup meets it. Each record keeps the fingerprint
//! the *store* holds, so a duplicate with another payload is refused from the cache exactly as
//! the store would refuse it.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;
use lru::LruCache;

use crate::{Claim, ClaimRequest, IdempotencyStore, Lease, StoreError, lock};

/// Default number of completed records kept (Powertools keeps 256).
pub const DEFAULT_CACHE_CAPACITY: usize = 1024;

#[derive(Debug, Clone)]
struct Entry {
    output: String,
    expires_at: SystemTime,
    fingerprint: Option<String>,
}

/// `store`, with completed records also kept in memory (least recently used evicted first).
///
/// ```
/// use sluice_idempotency::{CachedStore, MemoryStore};
/// let store = CachedStore::new(MemoryStore::new(), 512);
/// assert_eq!(store.len(), 0);
/// ```
#[derive(Debug)]
pub struct CachedStore<S> {
    store: S,
    /// `None` when the capacity is zero: no caching.
    cache: Option<Mutex<LruCache<String, Entry>>>,
    /// Fingerprints of claims in progress, by owner token, until they complete.
    claimed: Mutex<std::collections::HashMap<String, Option<String>>>,
}

impl<S: IdempotencyStore> CachedStore<S> {
    /// `store` with a cache of at most `capacity` completed records (0: no cache).
    pub fn new(store: S, capacity: usize) -> Self {
        let cache = NonZeroUsize::new(capacity).map(|c| Mutex::new(LruCache::new(c)));
        CachedStore { store, cache, claimed: Mutex::default() }
    }

    /// The store behind the cache.
    pub fn inner(&self) -> &S {
        &self.store
    }

    /// Records held in memory, expired ones included until a lookup meets them.
    pub fn len(&self) -> usize {
        self.cache.as_ref().map_or(0, |c| lock(c).len())
    }

    /// True when no record is held in memory.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn remember(&self, key: &str, entry: Entry) {
        if let Some(cache) = &self.cache {
            lock(cache).put(key.to_owned(), entry);
        }
    }

    fn lookup(&self, key: &str, now: SystemTime) -> Option<Entry> {
        let mut cache = lock(self.cache.as_ref()?);
        match cache.get(key) {
            Some(e) if e.expires_at > now => Some(e.clone()),
            Some(_) => {
                cache.pop(key);
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
            return Ok(Claim::Completed {
                output: hit.output,
                expires_at: hit.expires_at,
                fingerprint: hit.fingerprint,
            });
        }
        let claim = self.store.claim(request).await?;
        match &claim {
            Claim::Completed { output, expires_at, fingerprint } => self.remember(
                request.key,
                Entry { output: output.clone(), expires_at: *expires_at, fingerprint: fingerprint.clone() },
            ),
            Claim::Acquired(lease) => {
                // The store keeps the claim's fingerprint; so does the cached record once complete.
                lock(&self.claimed).insert(lease.token().to_owned(), request.fingerprint.map(str::to_owned));
            }
            _ => {}
        }
        Ok(claim)
    }

    async fn renew(&self, lease: &Lease, until: SystemTime) -> Result<(), StoreError> {
        self.store.renew(lease, until).await
    }

    async fn complete(&self, lease: &Lease, output: &str, expires_at: SystemTime) -> Result<(), StoreError> {
        let fingerprint = lock(&self.claimed).remove(lease.token()).flatten();
        self.store.complete(lease, output, expires_at).await?;
        self.remember(lease.key(), Entry { output: output.to_owned(), expires_at, fingerprint });
        Ok(())
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        lock(&self.claimed).remove(lease.token());
        self.store.release(lease).await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{InstrumentedStore, MemoryStore};

    fn later(secs: u64) -> SystemTime {
        SystemTime::now() + Duration::from_secs(secs)
    }

    async fn complete(store: &impl IdempotencyStore, key: &str, fingerprint: Option<&str>, expires_at: SystemTime) {
        let Claim::Acquired(lease) =
            store.claim(ClaimRequest::new(key, later(60)).with_fingerprint(fingerprint)).await.unwrap()
        else {
            panic!("{key} not acquired")
        };
        store.complete(&lease, "\"out\"", expires_at).await.unwrap();
    }

    #[tokio::test]
    async fn a_panic_while_a_lock_is_held_does_not_break_the_cache() {
        let store = std::sync::Arc::new(CachedStore::new(MemoryStore::new(), 2));
        let poisoner = store.clone();
        let panicked = std::thread::spawn(move || {
            let _cache = poisoner.cache.as_ref().unwrap().lock().unwrap();
            let _claimed = poisoner.claimed.lock().unwrap();
            panic!("a processor panicked while the cache was locked");
        })
        .join();
        assert!(panicked.is_err() && store.claimed.is_poisoned());
        complete(&store, "k", Some("f"), later(60)).await;
        assert_eq!(store.len(), 1);
        let again = store.claim(ClaimRequest::new("k", later(60))).await.unwrap();
        assert!(matches!(again, Claim::Completed { .. }), "{again:?}");
    }

    #[tokio::test]
    async fn the_least_recently_used_record_is_evicted() {
        let store = CachedStore::new(InstrumentedStore::new(MemoryStore::new()), 2);
        complete(&store, "a", None, later(60)).await;
        complete(&store, "b", None, later(60)).await;
        // Touch "a", so "b" is the least recently used when "c" arrives.
        store.claim(ClaimRequest::new("a", later(60))).await.unwrap();
        complete(&store, "c", None, later(60)).await;
        store.inner().reset();
        store.claim(ClaimRequest::new("a", later(60))).await.unwrap();
        assert_eq!(store.inner().requests(), 0, "a was kept: recently used");
        store.claim(ClaimRequest::new("b", later(60))).await.unwrap();
        assert_eq!(store.inner().requests(), 1, "b was evicted: asked from the store");
    }

    #[tokio::test]
    async fn an_expired_record_is_forgotten_entirely() {
        let store = CachedStore::new(MemoryStore::new(), 8);
        complete(&store, "old", None, SystemTime::now() + Duration::from_millis(1)).await;
        assert_eq!(store.len(), 1);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let claim = store.claim(ClaimRequest::new("old", later(60))).await.unwrap();
        assert!(matches!(claim, Claim::Acquired(_)), "{claim:?}");
        assert_eq!(store.len(), 0, "no trace of the expired record is left in memory");
    }

    #[tokio::test]
    async fn a_cached_record_keeps_the_fingerprint_the_store_holds() {
        let memory = MemoryStore::new();
        // Completed through another instance with fingerprint A.
        complete(&memory, "k", Some("A"), later(60)).await;
        let store = CachedStore::new(memory, 8);
        // This instance first sees it with no fingerprint: cached from the store's answer.
        let first = store.claim(ClaimRequest::new("k", later(60))).await.unwrap();
        assert!(matches!(&first, Claim::Completed { fingerprint: Some(f), .. } if f == "A"), "{first:?}");
        // A later duplicate with fingerprint B is refused from the cache, as the store would.
        let claim = store.claim(ClaimRequest::new("k", later(60)).with_fingerprint(Some("B"))).await.unwrap();
        assert_eq!(claim, Claim::PayloadMismatch { stored: "A".into(), given: "B".into() });
    }
}
