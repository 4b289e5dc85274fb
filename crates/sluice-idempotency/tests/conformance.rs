//! One conformance suite, run against every store: memory, memory behind the local cache,
//! DynamoDB (through the real SDK, against moto server) and Redis (against redis-server).
//!
//! The DynamoDB and Redis runs need the local stack (`scripts/test` starts it) and are
//! `#[ignore]`d so a bare `cargo test` skips them.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sluice_idempotency::{
    CachedStore, Claim, ClaimRequest, DynamoDbStore, IdempotencyStore, Lease, MemoryStore, RedisStore, StoreError,
};

fn later(secs: u64) -> SystemTime {
    SystemTime::now() + Duration::from_secs(secs)
}

fn earlier(secs: u64) -> SystemTime {
    SystemTime::now() - Duration::from_secs(secs)
}

fn unique(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::new_v4().simple())
}

async fn acquire(store: &dyn IdempotencyStore, key: &str, until: SystemTime) -> Lease {
    match store.claim(ClaimRequest::new(key, until)).await.unwrap() {
        Claim::Acquired(lease) => lease,
        other => panic!("expected to acquire {key}, got {other:?}"),
    }
}

async fn twenty_concurrent_claims_have_exactly_one_owner(store: Arc<dyn IdempotencyStore>) {
    let key = unique("race");
    let claims = futures::future::join_all((0..20).map(|_| {
        let (store, key) = (store.clone(), key.clone());
        tokio::spawn(async move { store.claim(ClaimRequest::new(&key, later(60))).await.unwrap() })
    }))
    .await;
    let claims: Vec<Claim> = claims.into_iter().map(Result::unwrap).collect();
    assert_eq!(claims.iter().filter(|c| matches!(c, Claim::Acquired(_))).count(), 1, "{claims:?}");
    assert!(claims.iter().all(|c| matches!(c, Claim::Acquired(_) | Claim::InProgress { .. })), "{claims:?}");
}

async fn an_in_progress_claim_reports_until_when(store: Arc<dyn IdempotencyStore>) {
    let key = unique("busy");
    let until = later(60);
    acquire(&*store, &key, until).await;
    match store.claim(ClaimRequest::new(&key, later(90))).await.unwrap() {
        Claim::InProgress { until: reported } => {
            let drift = reported.duration_since(until).unwrap_or_else(|e| e.duration());
            assert!(drift < Duration::from_millis(2), "reported {reported:?}, claimed {until:?}");
        }
        other => panic!("expected in progress, got {other:?}"),
    }
}

async fn an_expired_claim_is_taken_over_and_the_late_owner_is_fenced(store: Arc<dyn IdempotencyStore>) {
    let key = unique("expired");
    let late = acquire(&*store, &key, earlier(1)).await;
    let new = acquire(&*store, &key, later(60)).await;
    assert!(matches!(store.complete(&late, "\"late\"", later(60)).await, Err(StoreError::Fenced { .. })));
    assert!(matches!(store.release(&late).await, Err(StoreError::Fenced { .. })));
    store.complete(&new, "\"new\"", later(60)).await.unwrap();
    match store.claim(ClaimRequest::new(&key, later(60))).await.unwrap() {
        Claim::Completed { output, .. } => assert_eq!(output, "\"new\"", "the late owner overwrote nothing"),
        other => panic!("expected completed, got {other:?}"),
    }
}

async fn a_duplicate_gets_the_stored_output(store: Arc<dyn IdempotencyStore>) {
    let key = unique("done");
    let lease = acquire(&*store, &key, later(60)).await;
    let expires_at = later(3600);
    store.complete(&lease, r#"{"lines":3}"#, expires_at).await.unwrap();
    for _ in 0..2 {
        match store.claim(ClaimRequest::new(&key, later(60))).await.unwrap() {
            Claim::Completed { output, expires_at: stored } => {
                assert_eq!(output, r#"{"lines":3}"#);
                let drift = stored.duration_since(expires_at).unwrap_or_else(|e| e.duration());
                assert!(drift <= Duration::from_secs(1), "{stored:?} vs {expires_at:?}");
            }
            other => panic!("expected completed, got {other:?}"),
        }
    }
}

async fn a_record_past_its_ttl_counts_as_absent(store: Arc<dyn IdempotencyStore>) {
    let key = unique("ttl");
    let lease = acquire(&*store, &key, later(60)).await;
    store.complete(&lease, "{}", earlier(2)).await.unwrap();
    acquire(&*store, &key, later(60)).await;
}

async fn release_lets_the_item_be_claimed_again(store: Arc<dyn IdempotencyStore>) {
    let key = unique("released");
    let lease = acquire(&*store, &key, later(60)).await;
    store.release(&lease).await.unwrap();
    acquire(&*store, &key, later(60)).await;
    assert!(matches!(store.release(&lease).await, Err(StoreError::Fenced { .. })), "released twice");
}

async fn a_different_fingerprint_is_a_payload_mismatch(store: Arc<dyn IdempotencyStore>) {
    let key = unique("payload");
    let request = |fp| ClaimRequest::new(&key, later(60)).with_fingerprint(Some(fp));
    let Claim::Acquired(lease) = store.claim(request("etag=a;size=1")).await.unwrap() else { panic!() };
    assert!(matches!(
        store.claim(request("etag=b;size=1")).await.unwrap(),
        Claim::PayloadMismatch { stored, given } if stored == "etag=a;size=1" && given == "etag=b;size=1"
    ));
    store.complete(&lease, "{}", later(60)).await.unwrap();
    assert!(matches!(store.claim(request("etag=b;size=1")).await.unwrap(), Claim::PayloadMismatch { .. }));
    assert!(matches!(store.claim(request("etag=a;size=1")).await.unwrap(), Claim::Completed { .. }));
}

/// Runs every check against the store `make` returns.
macro_rules! conformance {
    ($backend:ident, $make:expr $(, #[$attr:meta])?) => {
        mod $backend {
            use super::*;
            conformance!(@test $make, $(#[$attr])? twenty_concurrent_claims_have_exactly_one_owner);
            conformance!(@test $make, $(#[$attr])? an_in_progress_claim_reports_until_when);
            conformance!(@test $make, $(#[$attr])? an_expired_claim_is_taken_over_and_the_late_owner_is_fenced);
            conformance!(@test $make, $(#[$attr])? a_duplicate_gets_the_stored_output);
            conformance!(@test $make, $(#[$attr])? a_record_past_its_ttl_counts_as_absent);
            conformance!(@test $make, $(#[$attr])? release_lets_the_item_be_claimed_again);
            conformance!(@test $make, $(#[$attr])? a_different_fingerprint_is_a_payload_mismatch);
        }
    };
    (@test $make:expr, $(#[$attr:meta])? $check:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        $(#[$attr])?
        async fn $check() {
            let store: Arc<dyn IdempotencyStore> = $make.await;
            super::$check(store).await;
        }
    };
}

async fn memory() -> Arc<dyn IdempotencyStore> {
    Arc::new(MemoryStore::new())
}

async fn cached_memory() -> Arc<dyn IdempotencyStore> {
    Arc::new(CachedStore::new(MemoryStore::new(), 16))
}

async fn dynamodb_client(retries: bool) -> aws_sdk_dynamodb::Client {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_some(),
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run scripts/stack start and eval \"$(scripts/stack env)\""
    );
    let aws = aws_config::load_from_env().await;
    let mut config = aws_sdk_dynamodb::config::Builder::from(&aws);
    if !retries {
        config = config.retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled());
    }
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

/// A fresh table keyed by `id` (S), with TTL on `expiration`, as the SAM template declares it.
async fn dynamodb_table(client: &aws_sdk_dynamodb::Client, sort_key: Option<&str>) -> String {
    use aws_sdk_dynamodb::types::*;
    let attribute =
        |name: &str| AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build();
    let key = |name: &str, kind| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
    let table = unique("idempotency");
    let mut create = client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("id").unwrap())
        .key_schema(key("id", KeyType::Hash).unwrap());
    if let Some(sk) = sort_key {
        create = create.attribute_definitions(attribute(sk).unwrap()).key_schema(key(sk, KeyType::Range).unwrap());
    }
    create.send().await.unwrap();
    let ttl = TimeToLiveSpecification::builder().enabled(true).attribute_name("expiration").build().unwrap();
    client.update_time_to_live().table_name(&table).time_to_live_specification(ttl).send().await.unwrap();
    table
}

async fn dynamodb() -> Arc<dyn IdempotencyStore> {
    let client = dynamodb_client(true).await;
    let table = dynamodb_table(&client, None).await;
    Arc::new(DynamoDbStore::new(client, table))
}

async fn dynamodb_with_sort_key() -> Arc<dyn IdempotencyStore> {
    let client = dynamodb_client(true).await;
    let table = dynamodb_table(&client, Some("sk")).await;
    Arc::new(DynamoDbStore::new(client, table).sort_key("sk", "idempotency#object-summary").key_prefix("p#"))
}

fn redis_url() -> String {
    std::env::var("SLUICE_REDIS_URL")
        .expect("SLUICE_REDIS_URL is not set: run scripts/stack start and eval \"$(scripts/stack env)\"")
}

async fn redis() -> Arc<dyn IdempotencyStore> {
    let store = RedisStore::connect(&redis_url()).await.unwrap().key_prefix(format!("{}:", unique("test")));
    Arc::new(store)
}

conformance!(memory_store, memory());
conformance!(cached_memory_store, cached_memory());
conformance!(dynamodb_store, dynamodb(), #[ignore = "needs the local stack: run scripts/test"]);
conformance!(dynamodb_store_with_sort_key, dynamodb_with_sort_key(), #[ignore = "needs the local stack: run scripts/test"]);
conformance!(redis_store, redis(), #[ignore = "needs the local stack: run scripts/test"]);

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn dynamodb_errors_are_unavailable() {
    // A table that does not exist: DynamoDB answers ResourceNotFoundException.
    let store = DynamoDbStore::new(dynamodb_client(false).await, unique("missing"));
    let err = store.claim(ClaimRequest::new("k", later(60))).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { operation: "claim", .. }), "{err}");
    assert!(err.to_string().contains("ResourceNotFound"), "{err}");
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn redis_errors_are_unavailable() {
    // A user that may connect but not run scripts: every operation fails with NOPERM.
    let url = redis_url();
    let admin = redis::Client::open(url.as_str()).unwrap();
    let mut con = admin.get_multiplexed_async_connection().await.unwrap();
    let user = unique("limited");
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg(&user)
        .arg("on")
        .arg(">secret")
        .arg("~*")
        .arg("-@all")
        .arg("+@connection")
        .query_async(&mut con)
        .await
        .unwrap();
    let limited = url.replace("redis://", &format!("redis://{user}:secret@"));
    let store = RedisStore::connect(&limited).await.unwrap();
    let err = store.claim(ClaimRequest::new("k", later(60))).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { operation: "claim", .. }), "{err}");
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn dynamodb_items_have_the_documented_layout() {
    let client = dynamodb_client(true).await;
    let table = dynamodb_table(&client, None).await;
    let store = DynamoDbStore::new(client.clone(), &table);
    let lease = acquire(&store, "bucket/key@v:1", later(60)).await;
    store.complete(&lease, r#"{"lines":3}"#, later(3600)).await.unwrap();
    let item = client
        .get_item()
        .table_name(&table)
        .key("id", aws_sdk_dynamodb::types::AttributeValue::S("bucket/key@v:1".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let mut names: Vec<_> = item.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["data", "expiration", "id", "owner", "status"]);
    assert_eq!(item["status"].as_s().unwrap(), "COMPLETED");
    assert_eq!(item["owner"].as_s().unwrap(), lease.token());
}
