//! Concurrency as Lambda accounts for it (Lambda Developer Guide, "Lambda function scaling"):
//! one account-level pool shared by every function, and reserved concurrency carved out of
//! it per function. A function with reserved concurrency has exactly that many slots, which
//! no other function can take; the others share what is left. When its slots are all taken,
//! an invocation is *throttled*: a synchronous call gets 429 `TooManyRequestsException`, an
//! asynchronous event goes back to the queue and is retried with backoff, an event source
//! mapping waits and retries its batch.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The default account concurrency here. AWS's default is 1,000 per Region; a 2-core machine
/// copes with far fewer instance processes at once, so the local pool is smaller by default.
pub const DEFAULT_ACCOUNT_CONCURRENCY: u32 = 20;

/// Why an invocation was throttled, as the Invoke API's `Reason` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleReason {
    /// The function's reserved concurrency is used up.
    Reserved,
    /// The account's unreserved concurrency is used up.
    Account,
}

impl ThrottleReason {
    /// `ReservedFunctionConcurrentInvocationLimitExceeded` or `ConcurrentInvocationLimitExceeded`.
    pub fn as_str(self) -> &'static str {
        match self {
            ThrottleReason::Reserved => "ReservedFunctionConcurrentInvocationLimitExceeded",
            ThrottleReason::Account => "ConcurrentInvocationLimitExceeded",
        }
    }
}

/// The slots one function draws from: its reservation, or the account's shared remainder.
#[derive(Debug, Clone)]
pub(crate) struct Slots {
    semaphore: Arc<Semaphore>,
    reason: ThrottleReason,
    size: u32,
}

impl Slots {
    /// A slot now, or the reason it was throttled.
    pub(crate) fn try_take(&self) -> Result<OwnedSemaphorePermit, ThrottleReason> {
        self.semaphore.clone().try_acquire_owned().map_err(|_| self.reason)
    }

    /// A slot, waiting for one.
    pub(crate) async fn take(&self) -> OwnedSemaphorePermit {
        self.semaphore.clone().acquire_owned().await.expect("slots never close")
    }

    /// How many slots there are in all.
    pub(crate) fn size(&self) -> u32 {
        self.size
    }
}

/// The account's pool, divided into reservations and the shared remainder.
pub(crate) struct Pool {
    unreserved: Slots,
}

impl Pool {
    /// A pool of `account` slots, of which `reserved` (the sum of all reservations) are carved
    /// out. Checked beforehand: `reserved <= account`.
    pub(crate) fn new(account: u32, reserved: u32) -> Self {
        let size = account - reserved;
        let unreserved =
            Slots { semaphore: Arc::new(Semaphore::new(size as usize)), reason: ThrottleReason::Account, size };
        Pool { unreserved }
    }

    /// The slots of a function with `reservation` (or none).
    pub(crate) fn slots_for(&self, reservation: Option<u32>) -> Slots {
        match reservation {
            Some(n) => {
                Slots { semaphore: Arc::new(Semaphore::new(n as usize)), reason: ThrottleReason::Reserved, size: n }
            }
            None => self.unreserved.clone(),
        }
    }
}
