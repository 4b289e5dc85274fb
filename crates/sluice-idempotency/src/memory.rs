//! An in-memory [`IdempotencyStore`]: one map behind a mutex.
//!
//! It follows the full protocol (atomic claims, expiry, fencing), so it is a faithful stand-in
//! in tests. In a Lambda execution environment it only protects against duplicates that reach
//! the same warm instance; deployed workers use DynamoDB or Redis.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;

use crate::{Claim, ClaimRequest, IdempotencyStore, Lease, StoreError, lock};

/// Records beyond which expired ones are swept on the next claim. After a sweep the threshold
/// becomes twice the records left, so sweeping costs amortised O(1) per claim even when most
/// records are live.
const SWEEP_THRESHOLD: usize = 4096;

type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// An in-memory idempotency store.
///
/// ```
/// let store = sluice_idempotency::MemoryStore::new();
/// assert!(store.is_empty());
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    records: Arc<Mutex<Records>>,
    clock: Clock,
}

#[derive(Debug)]
struct Records {
    map: HashMap<String, Record>,
    sweep_at: usize,
}

impl Default for Records {
    fn default() -> Self {
        Records { map: HashMap::new(), sweep_at: SWEEP_THRESHOLD }
    }
}

#[derive(Debug, Clone)]
struct Record {
    token: String,
    fingerprint: Option<String>,
    state: State,
}

#[derive(Debug, Clone)]
enum State {
    InProgress { until: SystemTime },
    Completed { output: String, expires_at: SystemTime },
}

impl Record {
    fn expired(&self, now: SystemTime) -> bool {
        match &self.state {
            State::InProgress { until } => *until <= now,
            State::Completed { expires_at, .. } => *expires_at <= now,
        }
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").field("records", &self.len()).finish()
    }
}

impl MemoryStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(SystemTime::now)
    }

    /// An empty store reading the time from `clock` (for tests of expiry).
    pub fn with_clock(clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        MemoryStore { records: Arc::default(), clock: Arc::new(clock) }
    }

    /// Number of records held, expired or not.
    pub fn len(&self) -> usize {
        lock(&self.records).map.len()
    }

    /// True when no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn owned<'m>(map: &'m mut HashMap<String, Record>, lease: &Lease) -> Result<&'m mut Record, StoreError> {
        map.get_mut(lease.key())
            .filter(|r| r.token == lease.token())
            .ok_or_else(|| StoreError::Fenced { key: lease.key().to_owned() })
    }
}

#[async_trait]
impl IdempotencyStore for MemoryStore {
    async fn claim(&self, request: ClaimRequest<'_>) -> Result<Claim, StoreError> {
        let now = (self.clock)();
        let mut records = lock(&self.records);
        if records.map.len() >= records.sweep_at {
            records.map.retain(|_, r| !r.expired(now));
            records.sweep_at = (records.map.len() * 2).max(SWEEP_THRESHOLD);
        }
        let map = &mut records.map;
        let lease = request.lease();
        if let Some(existing) = map.get_mut(request.key).filter(|r| !r.expired(now)) {
            if existing.token == lease.token()
                && let State::InProgress { until } = &mut existing.state
            {
                // This very claim, sent again: it owns the record.
                *until = request.in_progress_until;
                return Ok(Claim::Acquired(lease));
            }
            if let (Some(stored), Some(given)) = (&existing.fingerprint, request.fingerprint)
                && stored != given
            {
                return Ok(Claim::PayloadMismatch { stored: stored.clone(), given: given.to_owned() });
            }
            return Ok(match &existing.state {
                State::InProgress { until } => Claim::InProgress { until: *until },
                State::Completed { output, expires_at } => Claim::Completed {
                    output: output.clone(),
                    expires_at: *expires_at,
                    fingerprint: existing.fingerprint.clone(),
                },
            });
        }
        map.insert(
            request.key.to_owned(),
            Record {
                token: lease.token().to_owned(),
                fingerprint: request.fingerprint.map(str::to_owned),
                state: State::InProgress { until: request.in_progress_until },
            },
        );
        Ok(Claim::Acquired(lease))
    }

    async fn renew(&self, lease: &Lease, until: SystemTime) -> Result<(), StoreError> {
        let mut records = lock(&self.records);
        match &mut Self::owned(&mut records.map, lease)?.state {
            State::InProgress { until: held } => {
                *held = until;
                Ok(())
            }
            State::Completed { .. } => Err(StoreError::Fenced { key: lease.key().to_owned() }),
        }
    }

    async fn complete(&self, lease: &Lease, output: &str, expires_at: SystemTime) -> Result<(), StoreError> {
        let mut records = lock(&self.records);
        let record = Self::owned(&mut records.map, lease)?;
        record.state = State::Completed { output: output.to_owned(), expires_at };
        Ok(())
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        let mut records = lock(&self.records);
        Self::owned(&mut records.map, lease)?;
        records.map.remove(lease.key());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn later(secs: u64) -> SystemTime {
        SystemTime::now() + Duration::from_secs(secs)
    }

    fn earlier(secs: u64) -> SystemTime {
        SystemTime::now() - Duration::from_secs(secs)
    }

    async fn acquire(store: &MemoryStore, key: &str, until: SystemTime) -> Lease {
        match store.claim(ClaimRequest::new(key, until)).await.unwrap() {
            Claim::Acquired(lease) => lease,
            other => panic!("expected a lease, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_panic_while_the_lock_is_held_does_not_break_the_store() {
        let store = MemoryStore::new();
        let lease = acquire(&store, "before", later(60)).await;
        let records = store.records.clone();
        let panicked = std::thread::spawn(move || {
            let _held = records.lock().unwrap();
            panic!("a processor panicked while the store was locked");
        })
        .join();
        assert!(panicked.is_err() && store.records.is_poisoned());
        store.complete(&lease, "{}", later(60)).await.unwrap();
        assert!(matches!(store.claim(ClaimRequest::new("before", later(60))).await.unwrap(), Claim::Completed { .. }));
        let after = acquire(&store, "after", later(60)).await;
        store.release(&after).await.unwrap();
        assert_eq!(store.len(), 1);
    }

    #[tokio::test]
    async fn concurrent_claims_of_one_key_have_exactly_one_owner() {
        let store = MemoryStore::new();
        let claims = futures::future::join_all((0..20).map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.claim(ClaimRequest::new("k", later(60))).await.unwrap() })
        }))
        .await;
        let owners = claims.into_iter().filter(|c| matches!(c.as_ref().unwrap(), Claim::Acquired(_))).count();
        assert_eq!(owners, 1);
    }

    #[tokio::test]
    async fn an_in_progress_claim_reports_until_when() {
        let store = MemoryStore::new();
        let until = later(60);
        acquire(&store, "k", until).await;
        assert_eq!(store.claim(ClaimRequest::new("k", later(60))).await.unwrap(), Claim::InProgress { until });
    }

    #[tokio::test]
    async fn an_expired_in_progress_claim_can_be_taken_over_and_the_old_lease_is_fenced() {
        let store = MemoryStore::new();
        let old = acquire(&store, "k", earlier(1)).await;
        let new = acquire(&store, "k", later(60)).await;
        assert!(matches!(store.complete(&old, "{}", later(60)).await, Err(StoreError::Fenced { .. })));
        assert!(matches!(store.release(&old).await, Err(StoreError::Fenced { .. })));
        store.complete(&new, "\"new\"", later(60)).await.unwrap();
        let claim = store.claim(ClaimRequest::new("k", later(60))).await.unwrap();
        assert!(matches!(claim, Claim::Completed { output, .. } if output == "\"new\""));
    }

    #[tokio::test]
    async fn a_completed_record_past_its_ttl_counts_as_absent() {
        let store = MemoryStore::new();
        let lease = acquire(&store, "k", later(60)).await;
        store.complete(&lease, "{}", earlier(1)).await.unwrap();
        acquire(&store, "k", later(60)).await;
    }

    #[tokio::test]
    async fn release_lets_the_item_be_claimed_again() {
        let store = MemoryStore::new();
        let lease = acquire(&store, "k", later(60)).await;
        store.release(&lease).await.unwrap();
        assert!(store.is_empty());
        acquire(&store, "k", later(60)).await;
    }

    #[tokio::test]
    async fn a_different_fingerprint_is_a_payload_mismatch() {
        let store = MemoryStore::new();
        store.claim(ClaimRequest::new("k", later(60)).with_fingerprint(Some("a"))).await.unwrap();
        let claim = store.claim(ClaimRequest::new("k", later(60)).with_fingerprint(Some("b"))).await.unwrap();
        assert_eq!(claim, Claim::PayloadMismatch { stored: "a".into(), given: "b".into() });
    }

    #[tokio::test]
    async fn expired_records_are_swept_once_the_map_is_large() {
        let store = MemoryStore::new();
        for i in 0..SWEEP_THRESHOLD {
            acquire(&store, &format!("k{i}"), earlier(1)).await;
        }
        acquire(&store, "fresh", later(60)).await;
        assert_eq!(store.len(), 1);
    }

    #[tokio::test]
    async fn live_records_do_not_trigger_a_sweep_on_every_claim() {
        let store = MemoryStore::new();
        for i in 0..SWEEP_THRESHOLD {
            acquire(&store, &format!("k{i}"), later(60)).await;
        }
        acquire(&store, "one-more", later(60)).await;
        // The sweep found nothing to remove and moved the threshold past the live records.
        assert_eq!(store.records.lock().unwrap().sweep_at, 2 * (SWEEP_THRESHOLD + 1) - 2);
    }
}
