//! The Redis (or Valkey, ElastiCache, MemoryDB) store: one round trip per operation.
//!
//! Each record is a hash at `<prefix><key>` with the fields `status` (`INPROGRESS` or
//! `COMPLETED`), `owner` (the owner token), `expires_ms` (epoch milliseconds: the claimant's
//! deadline while in progress, the end of the TTL once completed), `fingerprint` and `data`
//! (the stored output). The key itself expires with the record (`PEXPIRE`), so Redis frees
//! it; the scripts also compare `expires_ms` with the caller's clock, so a record counts as
//! absent the moment it expires, whatever Redis has evicted yet.
//!
//! - `claim`: a script that, when no live record exists, writes the in-progress record and its
//!   expiry (`SET NX PX` semantics), and otherwise returns the live record, in one round trip,
//!   atomically. (Powertools' Redis layer needs `SET NX` then `GET`, plus a lock key for
//!   expired records.) A live in-progress record with the claim's own owner token is that
//!   claim sent again (its answer was lost): it is written again and acquired.
//! - `renew`, `complete` and `release`: scripts that write or delete only if `owner` still
//!   matches (and, for `renew`, the record is still in progress).

use std::time::{Duration, SystemTime};

use sluice_clock::{epoch_millis, from_epoch_millis};

use async_trait::async_trait;
use redis::Script;
use redis::aio::ConnectionManager;

use crate::{Claim, ClaimRequest, IdempotencyStore, Lease, StoreError};

const CLAIM: &str = r"
local expires = redis.call('HGET', KEYS[1], 'expires_ms')
if expires and tonumber(expires) > tonumber(ARGV[4]) then
  local status = redis.call('HGET', KEYS[1], 'status')
  if not (status == 'INPROGRESS' and redis.call('HGET', KEYS[1], 'owner') == ARGV[1]) then
    return redis.call('HMGET', KEYS[1], 'status', 'fingerprint', 'expires_ms', 'data')
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'status', 'INPROGRESS', 'owner', ARGV[1], 'fingerprint', ARGV[2], 'expires_ms', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return false
";

const COMPLETE: &str = r"
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', 'COMPLETED', 'data', ARGV[2], 'expires_ms', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
";

const RENEW: &str = r"
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'status') ~= 'INPROGRESS' then return 0 end
redis.call('HSET', KEYS[1], 'expires_ms', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
";

const RELEASE: &str = r"
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
";

/// Idempotency records in Redis.
///
/// ```no_run
/// # async fn example() -> redis::RedisResult<()> {
/// let store = sluice_idempotency::RedisStore::connect("redis://127.0.0.1:6379/").await?
///     .namespace("idempotency:object-summary:");
/// # let _ = store; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: String,
    claim: Script,
    renew: Script,
    complete: Script,
    release: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to `url` (`redis://` or `rediss://` for TLS). The connection reconnects by
    /// itself after a failure.
    pub async fn connect(url: &str) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1);
        let connection = client.get_connection_manager_with_config(config).await?;
        Ok(RedisStore {
            connection,
            prefix: "idempotency:".into(),
            claim: Script::new(CLAIM),
            renew: Script::new(RENEW),
            complete: Script::new(COMPLETE),
            release: Script::new(RELEASE),
        })
    }

    /// The namespace every Redis key starts with (default `idempotency:`), to keep this store
    /// apart from others in one Redis database. Not the handler's key prefix
    /// (`sluice::Idempotency::key_prefix`), which names the function's records.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.prefix = namespace.into();
        self
    }

    fn redis_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn unavailable(operation: &'static str, key: &str, e: redis::RedisError) -> StoreError {
        StoreError::Unavailable { operation, key: key.to_owned(), source: Box::new(e) }
    }
}

#[async_trait]
impl IdempotencyStore for RedisStore {
    async fn claim(&self, request: ClaimRequest<'_>) -> Result<Claim, StoreError> {
        let now = epoch_millis(SystemTime::now());
        let until = epoch_millis(request.in_progress_until);
        let lease = request.lease();
        let mut connection = self.connection.clone();
        let existing: Option<(String, String, u64, Option<String>)> = self
            .claim
            .key(self.redis_key(request.key))
            .arg(lease.token())
            .arg(request.fingerprint.unwrap_or(""))
            .arg(until)
            .arg(now)
            .arg(until.saturating_sub(now).max(1))
            .invoke_async(&mut connection)
            .await
            .map_err(|e| Self::unavailable("claim", request.key, e))?;
        let Some((status, stored_fingerprint, expires_ms, data)) = existing else {
            return Ok(Claim::Acquired(lease));
        };
        if let Some(given) = request.fingerprint
            && !stored_fingerprint.is_empty()
            && stored_fingerprint != given
        {
            return Ok(Claim::PayloadMismatch { stored: stored_fingerprint, given: given.to_owned() });
        }
        let at = from_epoch_millis(expires_ms);
        match status.as_str() {
            "COMPLETED" => Ok(Claim::Completed {
                output: data.unwrap_or_else(|| "null".into()),
                expires_at: at,
                fingerprint: Some(stored_fingerprint).filter(|f| !f.is_empty()),
            }),
            "INPROGRESS" => Ok(Claim::InProgress { until: at }),
            other => {
                Err(StoreError::Corrupt { key: request.key.to_owned(), reason: format!("unknown status {other:?}") })
            }
        }
    }

    async fn renew(&self, lease: &Lease, until: SystemTime) -> Result<(), StoreError> {
        let now = epoch_millis(SystemTime::now());
        let until = epoch_millis(until);
        let mut connection = self.connection.clone();
        let owned: i64 = self
            .renew
            .key(self.redis_key(lease.key()))
            .arg(lease.token())
            .arg(until)
            .arg(until.saturating_sub(now).max(1))
            .invoke_async(&mut connection)
            .await
            .map_err(|e| Self::unavailable("renew", lease.key(), e))?;
        if owned == 1 { Ok(()) } else { Err(StoreError::Fenced { key: lease.key().to_owned() }) }
    }

    async fn complete(&self, lease: &Lease, output: &str, expires_at: SystemTime) -> Result<(), StoreError> {
        let now = epoch_millis(SystemTime::now());
        let expires = epoch_millis(expires_at);
        let mut connection = self.connection.clone();
        let owned: i64 = self
            .complete
            .key(self.redis_key(lease.key()))
            .arg(lease.token())
            .arg(output)
            .arg(expires)
            .arg(expires.saturating_sub(now).max(1))
            .invoke_async(&mut connection)
            .await
            .map_err(|e| Self::unavailable("complete", lease.key(), e))?;
        if owned == 1 { Ok(()) } else { Err(StoreError::Fenced { key: lease.key().to_owned() }) }
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        let owned: i64 = self
            .release
            .key(self.redis_key(lease.key()))
            .arg(lease.token())
            .invoke_async(&mut connection)
            .await
            .map_err(|e| Self::unavailable("release", lease.key(), e))?;
        if owned == 1 { Ok(()) } else { Err(StoreError::Fenced { key: lease.key().to_owned() }) }
    }
}
