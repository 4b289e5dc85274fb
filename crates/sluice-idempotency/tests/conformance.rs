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
            Claim::Completed { output, expires_at: stored, .. } => {
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

async fn a_claim_sent_again_with_its_own_token_is_acquired(store: Arc<dyn IdempotencyStore>) {
    // The first answer was lost (a timeout, a dropped connection) and the claim is sent again.
    let key = unique("resent");
    let token = uuid::Uuid::new_v4().to_string();
    let first = store.claim(ClaimRequest::new(&key, later(60)).with_owner(&token)).await.unwrap();
    let again = store.claim(ClaimRequest::new(&key, later(60)).with_owner(&token)).await.unwrap();
    assert_eq!(first, again, "the same claim: both acquired with the same lease");
    let Claim::Acquired(lease) = again else { panic!("{again:?}") };
    assert_eq!(lease.token(), token);
    assert!(matches!(store.claim(ClaimRequest::new(&key, later(60))).await.unwrap(), Claim::InProgress { .. }));
    store.complete(&lease, "\"once\"", later(60)).await.unwrap();
    // Once completed, the same token is a duplicate like any other.
    let late = store.claim(ClaimRequest::new(&key, later(60)).with_owner(&token)).await.unwrap();
    assert!(matches!(late, Claim::Completed { .. }), "{late:?}");
}

async fn renew_extends_an_in_progress_claim(store: Arc<dyn IdempotencyStore>) {
    let key = unique("renewed");
    let lease = acquire(&*store, &key, later(1)).await;
    let extended = later(120);
    store.renew(&lease, extended).await.unwrap();
    match store.claim(ClaimRequest::new(&key, later(60))).await.unwrap() {
        Claim::InProgress { until } => {
            let drift = until.duration_since(extended).unwrap_or_else(|e| e.duration());
            assert!(drift < Duration::from_millis(2), "held until {until:?}, renewed to {extended:?}");
        }
        other => panic!("expected in progress, got {other:?}"),
    }
}

async fn a_lapsed_claim_taken_over_cannot_be_renewed(store: Arc<dyn IdempotencyStore>) {
    let key = unique("lapsed");
    let lapsed = acquire(&*store, &key, earlier(1)).await;
    let owner = acquire(&*store, &key, later(60)).await;
    assert!(matches!(store.renew(&lapsed, later(60)).await, Err(StoreError::Fenced { .. })));
    store.renew(&owner, later(90)).await.unwrap();
}

async fn a_completed_record_cannot_be_renewed(store: Arc<dyn IdempotencyStore>) {
    let key = unique("done-renew");
    let lease = acquire(&*store, &key, later(60)).await;
    store.complete(&lease, "{}", later(60)).await.unwrap();
    assert!(matches!(store.renew(&lease, later(90)).await, Err(StoreError::Fenced { .. })));
    assert!(matches!(store.claim(ClaimRequest::new(&key, later(60))).await.unwrap(), Claim::Completed { .. }));
}

/// Keys are built from events, and an S3 key alone may be 1,024 bytes: a key beyond a backend's
/// key length (DynamoDB's 2,048-byte partition key) is still one item, apart from its neighbours.
async fn a_key_of_any_length_is_one_item(store: Arc<dyn IdempotencyStore>) {
    let stem = unique("long");
    let long = format!("{stem}/{}", "k".repeat(5000));
    let neighbour = format!("{long}2");
    let lease = acquire(&*store, &long, later(60)).await;
    store.renew(&lease, later(60)).await.unwrap();
    store.complete(&lease, "\"long\"", later(600)).await.unwrap();
    let duplicate = store.claim(ClaimRequest::new(&long, later(60))).await.unwrap();
    assert!(matches!(&duplicate, Claim::Completed { output, .. } if output == "\"long\""), "{duplicate:?}");
    let other = acquire(&*store, &neighbour, later(60)).await;
    store.release(&other).await.unwrap();
}

async fn a_duplicate_reports_the_stored_fingerprint(store: Arc<dyn IdempotencyStore>) {
    let key = unique("stored-fp");
    let Claim::Acquired(lease) =
        store.claim(ClaimRequest::new(&key, later(60)).with_fingerprint(Some("etag=a"))).await.unwrap()
    else {
        panic!()
    };
    store.complete(&lease, "{}", later(60)).await.unwrap();
    let duplicate = store.claim(ClaimRequest::new(&key, later(60))).await.unwrap();
    assert!(matches!(&duplicate, Claim::Completed { fingerprint: Some(f), .. } if f == "etag=a"), "{duplicate:?}");
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
            conformance!(@test $make, $(#[$attr])? a_claim_sent_again_with_its_own_token_is_acquired);
            conformance!(@test $make, $(#[$attr])? renew_extends_an_in_progress_claim);
            conformance!(@test $make, $(#[$attr])? a_lapsed_claim_taken_over_cannot_be_renewed);
            conformance!(@test $make, $(#[$attr])? a_completed_record_cannot_be_renewed);
            conformance!(@test $make, $(#[$attr])? a_duplicate_reports_the_stored_fingerprint);
            conformance!(@test $make, $(#[$attr])? a_key_of_any_length_is_one_item);
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
    let table = unique("idempotency");
    DynamoDbStore::create_table(client, &table, sort_key).await.unwrap();
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
    Arc::new(DynamoDbStore::new(client, table).sort_key("sk", "idempotency#object-summary").namespace("p#"))
}

fn redis_url() -> String {
    std::env::var("SLUICE_REDIS_URL")
        .expect("SLUICE_REDIS_URL is not set: run scripts/stack start and eval \"$(scripts/stack env)\"")
}

async fn redis() -> Arc<dyn IdempotencyStore> {
    let store = RedisStore::connect(&redis_url()).await.unwrap().namespace(format!("{}:", unique("test")));
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
async fn a_request_dynamodb_refuses_as_invalid_is_rejected_not_unavailable() {
    // An output over DynamoDB's 400 KB item size: ValidationException, whatever the retries.
    let client = dynamodb_client(true).await;
    let store = DynamoDbStore::new(client.clone(), dynamodb_table(&client, None).await);
    let lease = acquire(&store, &unique("big"), later(60)).await;
    let output = format!("\"{}\"", "o".repeat(500 * 1024));
    let err = store.complete(&lease, &output, later(600)).await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected { operation: "complete", .. }), "{err}");
    assert!(!err.is_retryable() && err.to_string().contains("ValidationException"), "{err}");
    assert!(err.to_string().len() <= 512, "{err}");
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

/// A TCP proxy to `upstream` that lets the first request through, waits for the answer to
/// start, then closes the client's connection without passing the answer on: the request took
/// effect, the client never learns it. Later connections pass through untouched.
async fn answer_dropping_proxy(upstream: std::net::SocketAddr) -> std::net::SocketAddr {
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let dropped = dropped.clone();
            tokio::spawn(async move {
                let mut server = tokio::net::TcpStream::connect(upstream).await.unwrap();
                if dropped.swap(true, Ordering::SeqCst) {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    return;
                }
                let (mut from_client, mut to_server) = server.split();
                let mut request = vec![0u8; 64 * 1024];
                let mut answer = [0u8; 1];
                tokio::select! {
                    _ = async {
                        loop {
                            let n = client.read(&mut request).await.unwrap_or(0);
                            if n == 0 { break; }
                            to_server.write_all(&request[..n]).await.unwrap();
                        }
                    } => {}
                    _ = from_client.read_exact(&mut answer) => {}
                }
                // The upstream has answered: the write happened. Hang up on the client.
            });
        }
    });
    address
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_dynamodb_claim_whose_answer_was_lost_is_acquired_on_the_sdk_retry() {
    let moto: std::net::SocketAddr = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .expect("AWS_ENDPOINT_URL_DYNAMODB: run scripts/test")
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let direct = dynamodb_client(true).await;
    let table = dynamodb_table(&direct, None).await;
    let proxy = answer_dropping_proxy(moto).await;
    let aws = aws_config::load_from_env().await;
    let config = aws_sdk_dynamodb::config::Builder::from(&aws).endpoint_url(format!("http://{proxy}")).build();
    let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::from_conf(config), &table);
    let claim = store.claim(ClaimRequest::new("lost-answer", later(60))).await.unwrap();
    let Claim::Acquired(lease) = claim else { panic!("the retry met our own record and must own it: {claim:?}") };
    // The record the first attempt wrote is ours: completing it works, nothing is fenced.
    store.complete(&lease, "\"done\"", later(60)).await.unwrap();
    let item = direct
        .get_item()
        .table_name(&table)
        .key("id", aws_sdk_dynamodb::types::AttributeValue::S("lost-answer".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["status"].as_s().unwrap(), "COMPLETED");
}
