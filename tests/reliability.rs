//! Both paths end to end on the local stack, with the real `sqs-worker` and `sns-worker` in the
//! local Lambda service, accounted object by object: every upload is processed with its side
//! effects applied once, or kept in a dead-letter queue with its reason. Nothing is lost.
//!
//! CI-sized counts; AWS's waits on the time scale (60: one AWS minute is one second). Run by
//! `scripts/test`; `#[ignore]`d for a bare `cargo test`.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use sluice_e2e::scenario::{SETTLE, Scenario, futures_block_on};
use sluice_harness::accounting::{Path, Upload};
use sluice_harness::deployment::{SNS_WORKER, SQS_WORKER};
use sluice_harness::proxy::{FaultProxy, Faults, Service};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_burst_of_uploads_is_processed_once_on_both_paths() {
    let mut scenario = Scenario::start("burst").await;
    scenario.upload(40).await;
    let (accounts, partner) = scenario.finish().await;
    scenario.assert_processed_once(&accounts, &partner).await;
    assert_eq!(partner.posts, partner.repeats + 40, "both paths posted; the partner applied each key once");
    scenario.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn on_managed_instances_one_process_per_worker_runs_concurrent_invocations_and_loses_nothing() {
    // Four invocations per instance and a reserved concurrency of four: one process per worker,
    // each running up to four invocations at once under lambda_runtime::run_concurrent.
    let mut scenario = Scenario::start_with("managed", |mut settings, _| {
        settings.invocations_per_instance = Some(4);
        settings.reserved_concurrency = 4;
        settings
    })
    .await;
    scenario.upload(24).await;
    let (accounts, partner) = scenario.finish().await;
    scenario.assert_processed_once(&accounts, &partner).await;
    let records = scenario.deployment.service.records().invocations();
    for function in [SQS_WORKER, SNS_WORKER] {
        let ran: Vec<_> = records.iter().filter(|r| r.function == function && r.instance != 0).collect();
        let instances: std::collections::BTreeSet<u64> = ran.iter().map(|r| r.instance).collect();
        assert_eq!(instances.len(), 1, "{function}: one instance ran all {} invocations: {instances:?}", ran.len());
        assert_eq!(ran.iter().filter(|r| r.cold).count(), 1, "{function}: one cold start");
    }
    scenario.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn duplicate_notifications_and_deliveries_change_nothing() {
    let mut scenario = Scenario::start("duplicates").await;
    let tap = scenario.tap().await;
    scenario.upload(15).await;
    let republished = scenario.deliver_again(&tap, 11, SETTLE).await;
    let (accounts, partner) = scenario.finish().await;
    scenario.assert_processed_once(&accounts, &partner).await;
    // Every delivery ends processed or as a duplicate the store recognised (after a retry,
    // when it met the first delivery still in progress). A claim whose renewals a slow store
    // let lapse is taken over and run again: processed twice, applied once (checked above).
    let deliveries = [(Path::Sns, 15 + republished), (Path::Sqs, 15 + republished + 15)];
    for (path, wanted) in deliveries {
        // Counted from the workers' EMF metrics documents, one per invocation.
        let seen = sluice_local::wait::wait_for(SETTLE, || async {
            let outcomes = scenario.accountant.outcomes(path).await;
            (outcomes.duplicate + outcomes.processed >= wanted).then_some(outcomes)
        })
        .await;
        let Some(outcomes) = seen else { panic!("{} path: fewer than {wanted} deliveries ended", path.name()) };
        let duplicates = outcomes.duplicate;
        // At most a few re-runs after a lapsed claim; every other extra delivery was suppressed.
        assert!(duplicates + 15 + 3 >= wanted, "{} path: only {duplicates} duplicates suppressed", path.name());
    }
    scenario.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn poison_ends_in_the_right_dead_letter_queue_with_its_reason_and_nothing_else_is_affected() {
    let mut scenario = Scenario::start("poison").await;
    scenario.upload(5).await;
    let sns = aws_sdk_sns::Client::new(&scenario.aws);
    let topology = scenario.deployment.resources.clone();
    // Over MAX_OBJECT_BYTES (1 MiB in this deployment).
    let too_large = format!("incoming/{}/too-large.bin", scenario.name);
    let put = scenario
        .s3
        .put_object()
        .bucket(&topology.ingest_bucket)
        .key(&too_large)
        .body(ByteStream::from(vec![b'x'; 2 * 1024 * 1024]))
        .send()
        .await
        .unwrap();
    let poison_upload = Upload { key: too_large.clone(), version_id: put.version_id.unwrap() };
    // An object version deleted before it could be processed: its event names a version
    // that no longer exists.
    let gone = format!("incoming/{}/gone.csv", scenario.name);
    let gone_event = serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-27T10:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": topology.ingest_bucket},
               "object": {"key": gone, "size": 3, "eTag": "0cc175b9c0f1b6a831c399e269772661",
                          "versionId": "AaIYM.aABCNbBz1OfJph2zcPbbbMrPwY", "sequencer": "0055AED6DCD90281E5"}}
    }]});
    for message in [gone_event.to_string(), r#"{"hello":"world"}"#.to_owned(), "{not json".to_owned()] {
        sns.publish()
            .topic_arn(&topology.topic_arn)
            .subject("Amazon S3 Notification")
            .message(message)
            .send()
            .await
            .unwrap();
    }
    let mut all = scenario.uploads.clone();
    all.push(poison_upload.clone());
    assert!(scenario.accountant.settle(&all, SETTLE).await, "not drained");
    for (path, attempts) in [(Path::Sqs, 1), (Path::Sns, 3)] {
        let letters = sluice_local::wait::wait_for(SETTLE, || {
            let accountant = &scenario.accountant;
            async move { Some(accountant.letters(path).await).filter(|l| l.len() >= 4) }
        })
        .await
        .unwrap_or_else(|| panic!("{} path: fewer than 4 dead letters", path.name()));
        assert_eq!(letters.len(), 4, "{} path: exactly the four poison messages: {letters:#?}", path.name());
        let find = |needle: &str| {
            letters.iter().find(|l| l.message.contains(needle)).unwrap_or_else(|| panic!("no letter with {needle}"))
        };
        let large = find("too-large.bin");
        assert_eq!(large.upload.as_ref(), Some(&poison_upload));
        assert!(large.reason.contains("over MAX_OBJECT_BYTES"), "{}", large.reason);
        assert!(find("gone.csv").reason.contains("gone.csv"), "{:?}", find("gone.csv"));
        let not_s3 = find("hello");
        assert!(not_s3.reason.contains("neither `Records`"), "{}", not_s3.reason);
        let not_json = find("{not json");
        assert!(not_json.reason.contains("undecodable"), "{}", not_json.reason);
        for letter in &letters {
            // The SQS path sends poison to its DLQ at the first receive; the direct path's
            // Lambda tries three times, then hands the record to the on-failure destination.
            assert_eq!(letter.attempts, attempts, "{} path: {letter:#?}", path.name());
        }
    }
    let (accounts, partner) = scenario.finish().await;
    scenario.assert_processed_once(&accounts, &partner).await;
    scenario.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn transient_faults_on_s3_dynamodb_and_the_webhook_lose_nothing_and_apply_nothing_twice() {
    // 10% of requests to each service fail (server errors, throttles, dropped connections) or
    // come late.
    let faults = Faults { server_error: 3, throttle: 3, reset: 2, delay: 2, ..Faults::default() };
    let (mut scenario, proxies) = Scenario::start_behind_proxies("faults", faults, 1, |settings| settings).await;
    scenario.upload(30).await;
    let (accounts, partner) = scenario.finish().await;
    for (name, proxy) in proxies.named() {
        let counts = proxy.counts();
        println!("{name}: {counts:?}");
        let injected: u64 =
            ["server_error", "throttle", "reset"].iter().map(|k| counts.get(k).copied().unwrap_or(0)).sum();
        assert!(injected > 0, "no fault reached {name}: {counts:?}");
    }
    scenario.assert_processed_once(&accounts, &partner).await;
    scenario.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_partner_outage_longer_than_the_direct_paths_retries_fills_its_dlq_while_the_queue_path_recovers() {
    let mut webhook = None;
    let mut scenario = Scenario::start_with("outage", |settings, partner| {
        let base = partner.url.trim_end_matches("/hook").to_owned();
        let proxy = futures_block_on(FaultProxy::start(&base, Service::Http, Faults::default(), 4))
            .expect("a proxy on loopback");
        let url = format!("{}/hook", proxy.url);
        webhook = Some(proxy);
        settings.webhook_url(url)
    })
    .await;
    let webhook = webhook.unwrap();
    // The partner is down from before the uploads until the direct path has given up on all of
    // them: longer than Lambda's 3 attempts over about 3 minutes (3 s here), far shorter than
    // the queue's 5 receives x 200 s visibility timeout (about 17 minutes, 17 s here).
    webhook.outage(true);
    scenario.upload(10).await;
    let given_up = sluice_local::wait::wait_for(SETTLE, || {
        let accountant = &scenario.accountant;
        async move { Some(accountant.letters(Path::Sns).await).filter(|l| l.len() >= 10) }
    })
    .await
    .expect("the direct path gave up on every upload");
    webhook.outage(false);
    assert!(scenario.accountant.settle(&scenario.uploads, SETTLE).await, "not drained");
    let sqs = scenario.accountant.account(Path::Sqs, &scenario.uploads).await;
    let sns = scenario.accountant.account(Path::Sns, &scenario.uploads).await;
    sluice_e2e::scenario::print(&[(Path::Sqs, sqs.clone()), (Path::Sns, sns.clone())].into_iter().collect());
    println!("webhook: {:?}", webhook.counts());
    // The direct path: every upload in its on-failure destination, after 3 attempts, with the
    // partner's answer as the reason. Kept, not lost.
    assert_eq!(given_up.len(), 10);
    assert!(given_up.iter().all(|l| l.attempts == 3 && l.reason.contains("503")), "{given_up:#?}");
    assert!(sns.lost.is_empty(), "{sns:#?}");
    // The queue path: every upload processed once the partner was back; nothing in its DLQ.
    assert!(sqs.lost.is_empty() && sqs.dead_lettered.is_empty() && sqs.processed == 10, "{sqs:#?}");
    assert_eq!(sns.processed, 0, "the direct path never finished an item during the outage");
    let partner = scenario.partner.report();
    assert!(partner.conflicts.is_empty());
    assert_eq!(partner.applied.len(), 10, "each version's effect applied once, by the queue path");
    assert!(webhook.counts()["outage"] > 0);
    scenario.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn killed_instances_timeouts_and_throttles_lose_nothing_and_apply_nothing_twice() {
    // Instances killed in 5% of invocations (before, during or after the side effects, before
    // the answer), 3% run into their timeout, 5% throttled. A 3 s timeout keeps the waits short.
    let faults = sluice_local::FaultInjection { seed: 7, kill_percent: 5, timeout_percent: 3, throttle_percent: 5 };
    let mut scenario =
        Scenario::start_with("crashes", |settings, _| settings.faults(faults).function_timeout(Duration::from_secs(3)))
            .await;
    scenario.upload(30).await;
    assert!(scenario.accountant.settle(&scenario.uploads, SETTLE).await, "not drained");
    let mut accounts = BTreeMap::new();
    for path in Path::BOTH {
        accounts.insert(path, scenario.accountant.account(path, &scenario.uploads).await);
    }
    sluice_e2e::scenario::print(&accounts);
    let records = scenario.deployment.service.records();
    let injected: BTreeMap<_, _> = Path::BOTH.iter().map(|p| (p.name(), records.faults(p.function()))).collect();
    println!("injected: {injected:?}");
    assert!(injected.values().flat_map(|f| f.values()).sum::<u64>() > 0, "no fault was injected");
    for (path, account) in &accounts {
        let mut trails = Vec::new();
        for upload in &account.lost {
            trails.push(scenario.trail(*path, upload).await);
        }
        assert!(account.lost.is_empty(), "lost on the {} path:\n{}", path.name(), trails.join("\n\n"));
    }
    // The queue path redelivers until it succeeds (5 receives); the direct path may give an
    // upload up to its destination after 3 failed attempts: kept, not lost.
    assert_eq!(accounts[&Path::Sqs].processed, 30, "{:#?}", accounts[&Path::Sqs]);
    let partner = scenario.partner.report();
    println!("partner: {} posts, {} repeats", partner.posts, partner.repeats);
    assert!(partner.conflicts.is_empty(), "{:?}", partner.conflicts);
    assert_eq!(partner.applied.len(), 30, "every version's effect applied exactly once");
    scenario.stop().await;
}

/// Hands `event` (raw bytes, past the Invoke API's checks) to `function` through the Runtime
/// API: whether it answered with an error, and what it answered.
async fn invoke_raw(scenario: &Scenario, function: &str, event: &[u8]) -> (bool, String) {
    let result = scenario.deployment.service.invoke_unchecked(function, event.to_vec()).await.expect("a function");
    (!result.is_success(), String::from_utf8_lossy(&result.body).into_owned())
}

fn sqs_event(records: serde_json::Value) -> Vec<u8> {
    serde_json::json!({ "Records": records }).to_string().into_bytes()
}

fn sqs_record(id: serde_json::Value, body: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"messageId": id, "receiptHandle": "rh", "body": body, "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {}, "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:work",
        "awsRegion": "us-east-1"})
}

fn s3_event(bucket: &str, key: &str, version: &str) -> String {
    serde_json::json!({"Records": [{"eventVersion": version, "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 1, "versionId": "v1"}}}]})
    .to_string()
}

fn sns_event(message: &str) -> Vec<u8> {
    serde_json::json!({"Records": [{"EventVersion": "1.0", "EventSource": "aws:sns", "EventSubscriptionArn": "arn:aws:sns:us-east-1:0:t:s",
        "Sns": {"Type": "Notification", "MessageId": uuid::Uuid::new_v4().to_string(), "TopicArn": "arn:aws:sns:us-east-1:0:t",
                "Message": message, "Timestamp": "2026-11-27T10:00:00.000Z", "SignatureVersion": "1", "Signature": "s",
                "SigningCertUrl": "u", "UnsubscribeUrl": "u"}}]})
    .to_string()
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn bad_input_fed_straight_to_both_workers_gets_a_clear_error_or_a_per_record_failure_never_a_crash() {
    let scenario = Scenario::start("bad-input").await;
    let bucket = scenario.deployment.resources.ingest_bucket.clone();
    let huge = "x".repeat(900_000);
    // (function, event, a function error expected, what the answer or the dead letter says)
    let cases: Vec<(&str, Vec<u8>, bool, &str)> = vec![
        (SQS_WORKER, br#"{"Records":[{"messageId":"m1","body":"{\"Rec"#.to_vec(), true, "EOF while parsing"),
        (SQS_WORKER, sqs_event(serde_json::json!([{"messageId": 123, "body": true}])), true, "invalid type"),
        (SQS_WORKER, sqs_event(serde_json::json!([])), false, r#"{"batchItemFailures":[]}"#),
        // SQS cannot carry an empty body to a DLQ: reported failed, left to the queue's redrive.
        (
            SQS_WORKER,
            sqs_event(serde_json::json!([{"messageId": "no-body"}])),
            false,
            r#"{"itemIdentifier":"no-body"}"#,
        ),
        (
            SQS_WORKER,
            sqs_event(serde_json::json!([sqs_record("huge".into(), huge.into())])),
            false,
            "undecodable message",
        ),
        (
            SQS_WORKER,
            sqs_event(serde_json::json!([
                sqs_record("dup".into(), "{\"a\":".into()),
                sqs_record("dup".into(), "[".into())
            ])),
            false,
            "undecodable message",
        ),
        (
            SQS_WORKER,
            sqs_event(serde_json::json!([sqs_record("v3".into(), s3_event(&bucket, "incoming/x.csv", "3.0").into())])),
            false,
            "3.0",
        ),
        (
            SQS_WORKER,
            sqs_event(serde_json::json!([sqs_record(
                "key".into(),
                s3_event(&bucket, "incoming/bad%FF", "2.1").into()
            )])),
            false,
            "bad%FF",
        ),
        (SNS_WORKER, br#"{"Records":[{"Sns":{"Message":"#.to_vec(), true, "EOF while parsing"),
        (SNS_WORKER, br#"{"Records":[{"EventSource":"aws:sns"}]}"#.to_vec(), true, "missing field"),
        (SNS_WORKER, br#"{"Records":[]}"#.to_vec(), false, "null"),
        (SNS_WORKER, sns_event(&s3_event(&bucket, "incoming/x.csv", "3.0")), true, "3.0"),
        (SNS_WORKER, sns_event(&s3_event(&bucket, "incoming/bad%FF", "2.1")), true, "bad%FF"),
        (SNS_WORKER, sns_event("not json at all"), true, "undecodable message"),
    ];
    for (function, event, error_expected, says) in &cases {
        let (failed, body) = invoke_raw(&scenario, function, event).await;
        assert_eq!(failed, *error_expected, "{function} answered {body}");
        if *error_expected || *says == "null" || says.starts_with('{') {
            assert!(body.contains(says), "{function}: {body:?} should say {says:?}");
        } else {
            // The SQS worker sends permanent failures to its DLQ and reports none.
            assert_eq!(body, r#"{"batchItemFailures":[]}"#, "{function}: {body}");
        }
    }
    // What the SQS worker dead-lettered, each with its reason.
    let expected = ["undecodable message", "3.0", "bad%FF"];
    let letters = sluice_local::wait::wait_for(SETTLE, || {
        let accountant = &scenario.accountant;
        async move { Some(accountant.letters(Path::Sqs).await).filter(|l| l.len() >= 5) }
    })
    .await
    .expect("five dead letters");
    assert_eq!(letters.len(), 5, "huge, two duplicates by id, version 3.0, bad key: {letters:#?}");
    for says in expected {
        assert!(letters.iter().any(|l| l.reason.contains(says)), "no dead letter says {says:?}: {letters:#?}");
    }
    // No instance crashed: every invocation answered, none died under its input.
    let records = scenario.deployment.service.records();
    let crashed: Vec<_> =
        records.invocations().into_iter().filter(|r| r.outcome == sluice_local::Outcome::RuntimeError).collect();
    assert!(crashed.is_empty(), "{crashed:#?}");
    let fed = records.invocations().into_iter().filter(|r| r.trigger == sluice_local::Trigger::Sync).count();
    assert_eq!(fed, cases.len(), "one invocation per case (the s3:TestEvent arrives through SNS too)");
    scenario.stop().await;
}
