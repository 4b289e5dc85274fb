//! `Idempotency::call`: a plain async function (here: a payment charge) run once per key, with
//! the in-memory store, and against moto (DynamoDB) and redis-server when the stack runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sluice::{Deadline, Idempotency, IdempotentError};
use sluice_idempotency::{DynamoDbStore, IdempotencyStore, MemoryStore, RedisStore};

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
struct Charge {
    id: String,
    cents: u64,
}

/// A payment provider that counts the charges it started and finished.
#[derive(Default, Clone)]
struct Provider {
    started: Arc<AtomicUsize>,
    charges: Arc<AtomicUsize>,
}

impl Provider {
    async fn charge(&self, order: &str, cents: u64, hold: Duration) -> Result<Charge, String> {
        self.started.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(hold).await;
        let n = self.charges.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Charge { id: format!("ch_{order}_{n}"), cents })
    }

    fn charges(&self) -> usize {
        self.charges.load(Ordering::SeqCst)
    }

    /// Waits (at most 10 s) until more than `count` charges have started.
    async fn started_more_than(&self, count: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.started.load(Ordering::SeqCst) <= count {
            assert!(tokio::time::Instant::now() < deadline, "no charge started within 10 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(10))
}

fn unique(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::new_v4().simple())
}

/// The behaviour every store must give `call`.
async fn runs_once_per_key(store: Arc<dyn IdempotencyStore>) {
    let payments = Idempotency::with_store(store).key_prefix(unique("payments")).lease(Duration::from_millis(300));
    let provider = Provider::default();
    let order = "order-42";

    // First call charges; a repeat gets the same charge without calling the provider.
    let first = payments.call(order, Some("1250"), &deadline(), || provider.charge(order, 1250, Duration::ZERO)).await;
    let first = first.expect("charged");
    let again = payments.call(order, Some("1250"), &deadline(), || provider.charge(order, 1250, Duration::ZERO)).await;
    assert_eq!(again.expect("replayed"), first);
    assert_eq!(provider.charges(), 1);

    // The same key with another payload is refused, not replayed.
    let other = payments.call(order, Some("999"), &deadline(), || provider.charge(order, 999, Duration::ZERO)).await;
    assert!(matches!(other, Err(IdempotentError::Refused(_))), "{other:?}");

    // A failure releases the claim: the retry runs.
    let failed: Result<Charge, _> =
        payments.call("order-7", None, &deadline(), || async { Err::<Charge, _>("card declined".to_owned()) }).await;
    assert!(matches!(failed, Err(IdempotentError::Failed(ref e)) if e == "card declined"), "{failed:?}");
    let retried = payments.call("order-7", None, &deadline(), || provider.charge("order-7", 10, Duration::ZERO)).await;
    assert_eq!(retried.expect("the retry ran").cents, 10);
    assert_eq!(provider.charges(), 2);

    // Two calls at once: one charges, the other is told to come back, and nothing runs twice,
    // although the charge outlasts several leases (the heartbeat keeps the claim).
    let within = deadline();
    let started = provider.started.load(Ordering::SeqCst);
    let (a, b) = tokio::join!(
        payments.call("order-9", None, &within, || provider.charge("order-9", 5, Duration::from_millis(900))),
        async {
            // Once the first charge runs, its call holds the claim.
            provider.started_more_than(started).await;
            payments.call("order-9", None, &within, || provider.charge("order-9", 5, Duration::ZERO)).await
        }
    );
    assert!(a.is_ok(), "{a:?}");
    assert!(matches!(b, Err(IdempotentError::Busy(_))), "{b:?}");
    assert_eq!(provider.charges(), 3);
    let later = payments.call("order-9", None, &deadline(), || provider.charge("order-9", 5, Duration::ZERO)).await;
    assert_eq!(later.expect("replayed"), a.unwrap());
    assert_eq!(provider.charges(), 3);
}

#[tokio::test]
async fn a_plain_function_runs_once_per_key_with_the_memory_store() {
    runs_once_per_key(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn without_protection_every_call_runs() {
    let provider = Provider::default();
    for _ in 0..2 {
        let out =
            Idempotency::disabled().call("k", None, &deadline(), || provider.charge("k", 1, Duration::ZERO)).await;
        assert!(out.is_ok());
    }
    assert_eq!(provider.charges(), 2);
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_plain_function_runs_once_per_key_against_dynamodb_on_moto() {
    assert!(std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_some(), "AWS_ENDPOINT_URL_DYNAMODB is not set");
    let client = aws_sdk_dynamodb::Client::new(&aws_config::load_from_env().await);
    let table = unique("idempotent-fn");
    DynamoDbStore::create_table(&client, &table, None).await.unwrap();
    runs_once_per_key(Arc::new(DynamoDbStore::new(client, table))).await;
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_plain_function_runs_once_per_key_against_redis() {
    let url = std::env::var("SLUICE_REDIS_URL").expect("SLUICE_REDIS_URL is not set");
    let store = RedisStore::connect(&url).await.unwrap().namespace(format!("{}:", unique("fn")));
    runs_once_per_key(Arc::new(store)).await;
}
