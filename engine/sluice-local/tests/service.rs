//! The local Lambda service, tested with a small test function and the real workers, against
//! the local stack for SQS and SNS. Run by `scripts/test`; `#[ignore]`d for a bare `cargo test`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_sqs::types::{MessageSystemAttributeNameForSends, MessageSystemAttributeValue, QueueAttributeName};
use serde_json::{Value, json};
use sluice_local::config::TracingMode;
use sluice_local::wait::{receive_one, wait_for};
use sluice_local::{
    AsyncInvokeConfig, EventSourceMappingConfig, FunctionConfig, LocalLambda, Outcome, ServiceConfig, ServiceOptions,
    SnsSubscriptionConfig, StartError, Trigger,
};
use sluice_trace::TraceContext;

const LIMIT: Duration = Duration::from_secs(30);

async fn aws() -> aws_config::SdkConfig {
    assert!(std::env::var_os("AWS_ENDPOINT_URL").is_some(), "AWS_ENDPOINT_URL is not set: run scripts/test");
    aws_config::load_from_env().await
}

fn unique(name: &str) -> String {
    format!("{name}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

fn test_function(name: &str, timeout_ms: u64) -> FunctionConfig {
    serde_json::from_value(json!({
        "name": name,
        "bootstrap": env!("CARGO_BIN_EXE_test-function"),
        "timeout": timeout_ms,
        "memory_mb": 256,
    }))
    .unwrap()
}

async fn start(config: ServiceConfig) -> LocalLambda {
    let options =
        ServiceOptions { port: 0, log_dir: std::env::temp_dir().join("sluice-local-tests"), aws: aws().await };
    LocalLambda::start(config, options).await.unwrap()
}

/// `Invoke` over HTTP: (status, X-Amz-Function-Error, body).
async fn invoke(service: &LocalLambda, function: &str, kind: &str, payload: Value) -> (u16, Option<String>, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/2015-03-31/functions/{function}/invocations", service.endpoint()))
        .header("X-Amz-Invocation-Type", kind)
        .body(payload.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let error = response.headers().get("x-amz-function-error").map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    (status, error, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn queue(sqs: &aws_sdk_sqs::Client, visibility_seconds: u32) -> String {
    sqs.create_queue()
        .queue_name(unique("q"))
        .attributes(QueueAttributeName::VisibilityTimeout, visibility_seconds.to_string())
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

/// Messages still in the queue, visible or in flight.
async fn remaining(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    let n = |k: QueueAttributeName| attrs.get(&k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(QueueAttributeName::ApproximateNumberOfMessages) + n(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
}

async fn send_all(sqs: &aws_sdk_sqs::Client, url: &str, bodies: &[&str]) {
    for body in bodies {
        sqs.send_message().queue_url(url).message_body(*body).send().await.unwrap();
    }
}

fn now_ms() -> u64 {
    sluice_clock::now_millis()
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn the_deadline_header_is_a_real_epoch_near_now_plus_the_timeout() {
    let service = start(ServiceConfig { functions: vec![test_function("ctx", 3000)], ..Default::default() }).await;
    let before = now_ms();
    let (status, error, body) = invoke(&service, "ctx", "RequestResponse", json!({"action": "context"})).await;
    assert_eq!((status, error), (200, None));
    let deadline = body["deadline_ms"].as_u64().unwrap();
    assert!(deadline >= before + 3000 && deadline <= now_ms() + 3000, "deadline {deadline}, invoked at {before}");
    let left = deadline.saturating_sub(body["now_ms"].as_u64().unwrap());
    assert!(
        left > 0 && left <= 3000,
        "{left} ms left inside the function: the deadline is in the future, within the timeout"
    );
    assert_eq!(body["function_arn"], "arn:aws:lambda:us-east-1:000000000000:function:ctx");
    let env = &body["env"];
    assert_eq!(
        (env["AWS_REGION"].as_str(), env["AWS_DEFAULT_REGION"].as_str()),
        (Some("us-east-1"), Some("us-east-1"))
    );
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env["_HANDLER"], "bootstrap");
    assert!(env["LAMBDA_TASK_ROOT"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(env["AWS_EXECUTION_ENV"].is_null(), "not defined for OS-only runtimes (provided.*)");
    assert!(env["AWS_LAMBDA_MAX_CONCURRENCY"].is_null(), "set only on Managed Instances");
    assert_eq!(body["function_name"], "ctx");
    assert_eq!(body["memory"], "256");
    assert!(body["trace_id"].as_str().unwrap().starts_with("Root=1-"));
    service.shutdown().await;
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn warm_instances_are_reused_and_a_sync_function_error_is_200_with_x_amz_function_error() {
    let service = start(ServiceConfig { functions: vec![test_function("f", 3000)], ..Default::default() }).await;
    let (status, error, body) = invoke(&service, "f", "RequestResponse", json!({"action": "fail"})).await;
    assert_eq!((status, error.as_deref()), (200, Some("Unhandled")));
    assert!(body["errorMessage"].as_str().unwrap().contains("asked to fail"), "{body}");
    let (status, error, body) = invoke(&service, "f", "RequestResponse", json!({"action": "echo", "n": 1})).await;
    assert_eq!((status, error), (200, None));
    assert_eq!(body["n"], 1);
    let records = service.records().invocations();
    assert_eq!(records.len(), 2);
    assert!(records[0].cold && !records[1].cold, "the second invocation reused the warm instance");
    assert_eq!(records[0].instance, records[1].instance);
    assert_eq!(records[0].outcome, Outcome::FunctionError);

    // "Max Memory Used": the instance's peak resident memory, which grows with what it holds.
    let (status, _, body) = invoke(&service, "f", "RequestResponse", json!({"action": "hold", "mb": 64})).await;
    assert_eq!((status, body["held_mb"].as_u64()), (200, Some(64)));
    let peaks: Vec<u64> = service.records().invocations().iter().map(|r| r.max_memory_used_kb.unwrap()).collect();
    assert!(peaks[2] >= peaks[1] + 64 * 1024, "holding 64 MiB raises the peak by as much: {peaks:?}");
    assert!(peaks[1] < 64 * 1024, "before, the function used less than that: {peaks:?}");
    let (status, _, _) = invoke(&service, "nope", "RequestResponse", json!({})).await;
    assert_eq!(status, 404);
    service.shutdown().await;
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_managed_instance_runs_concurrent_invocations_in_one_process_each_with_its_own_answer() {
    let mut function = test_function("m", 10_000);
    function.per_execution_environment_max_concurrency = Some(4);
    function.reserved_concurrency = Some(4);
    let service = start(ServiceConfig { functions: vec![function], ..Default::default() }).await;
    let calls = (0..4).map(|n| invoke(&service, "m", "RequestResponse", json!({"action": "barrier", "of": 4, "n": n})));
    let answers = futures::future::join_all(calls).await;
    let mut request_ids = std::collections::BTreeSet::new();
    for (n, (status, error, body)) in answers.iter().enumerate() {
        assert_eq!((*status, error.as_deref()), (200, None), "{body}");
        assert_eq!(body["n"], n, "each caller gets its own invocation's answer");
        assert_eq!(body["met"], true, "the four invocations were inside one process at once: {body}");
        assert_eq!(body["pid"], answers[0].2["pid"], "one instance");
        request_ids.insert(body["request_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(request_ids.len(), 4, "four request ids");
    let records = service.records().invocations();
    assert_eq!(records.iter().filter(|r| r.cold).count(), 1, "one cold start for the four");
    assert!(records.iter().all(|r| r.instance == records[0].instance));
    let (_, _, body) = invoke(&service, "m", "RequestResponse", json!({"action": "context"})).await;
    assert_eq!(body["env"]["AWS_LAMBDA_MAX_CONCURRENCY"], "4");
    service.shutdown().await;
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn an_invocation_past_its_timeout_is_killed_and_reported() {
    let service = start(ServiceConfig { functions: vec![test_function("slow", 1000)], ..Default::default() }).await;
    let (status, error, body) =
        invoke(&service, "slow", "RequestResponse", json!({"action": "sleep", "ms": 10_000})).await;
    assert_eq!((status, error.as_deref()), (200, Some("Unhandled")));
    assert!(body["errorMessage"].as_str().unwrap().contains("Task timed out after 1.00 seconds"), "{body}");
    let (_, error, _) = invoke(&service, "slow", "RequestResponse", json!({"action": "echo"})).await;
    assert_eq!(error, None);
    let records = service.records().invocations();
    assert_eq!(records[0].outcome, Outcome::Timeout);
    assert!(records[0].duration_ms < 10_000, "killed before its 10 s sleep ended: {} ms", records[0].duration_ms);
    assert!(records[1].cold && records[1].instance != records[0].instance, "the killed instance is not reused");
    service.shutdown().await;
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_runtime_that_exits_fails_its_invocation() {
    let service = start(ServiceConfig { functions: vec![test_function("crash", 3000)], ..Default::default() }).await;
    let (status, error, body) = invoke(&service, "crash", "RequestResponse", json!({"action": "crash"})).await;
    assert_eq!((status, error.as_deref()), (200, Some("Unhandled")));
    assert_eq!(body["errorType"], "Runtime.ExitError");
    service.shutdown().await;
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn async_failures_are_retried_exactly_maximum_retry_attempts_times_then_dead_lettered() {
    let aws = aws().await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let (dlq, failures) = (queue(&sqs, 30).await, queue(&sqs, 30).await);
    let mut function = test_function("async", 3000);
    function.async_invoke = AsyncInvokeConfig {
        maximum_retry_attempts: 2,
        dead_letter_queue_url: Some(dlq.clone()),
        on_failure_queue_url: Some(failures.clone()),
        ..AsyncInvokeConfig::default()
    };
    // AWS's 1 and 2 minute waits as 50 and 100 ms.
    let service =
        start(ServiceConfig { functions: vec![function], time_scale: Some(1200.0), ..Default::default() }).await;
    let event = json!({"action": "fail", "id": unique("event")});
    let (status, _, _) = invoke(&service, "async", "Event", event.clone()).await;
    assert_eq!(status, 202);

    let letter = wait_for(LIMIT, || receive_one(&sqs, &dlq)).await.expect("the event reached the DLQ");
    assert_eq!(serde_json::from_str::<Value>(letter.body().unwrap()).unwrap(), event, "the event as-is");
    let attrs = letter.message_attributes().unwrap();
    assert_eq!(attrs["ErrorCode"].data_type(), "Number");
    assert_eq!(attrs["ErrorCode"].string_value(), Some("200"));
    assert!(attrs["ErrorMessage"].string_value().unwrap().contains("asked to fail"));
    let attempts: Vec<_> =
        service.records().invocations().into_iter().filter(|r| r.trigger == Trigger::Async).collect();
    assert_eq!(attempts.len(), 3, "one attempt and exactly 2 retries");
    assert!(attempts.iter().all(|a| a.request_id == attempts[0].request_id), "retries keep the first request id");
    assert_eq!(attrs["RequestID"].string_value(), Some(attempts[0].request_id.as_str()));

    let record = wait_for(LIMIT, || receive_one(&sqs, &failures)).await.expect("the invocation record arrived");
    let record: Value = serde_json::from_str(record.body().unwrap()).unwrap();
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(record["requestPayload"], event);
    assert_eq!(record["responseContext"]["functionError"], "Unhandled");
    service.shutdown().await;
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn an_event_too_old_to_retry_is_not_retried() {
    let aws = aws().await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let dlq = queue(&sqs, 30).await;
    let mut function = test_function("aged", 3000);
    function.async_invoke = AsyncInvokeConfig {
        maximum_event_age: Duration::from_secs(60),
        dead_letter_queue_url: Some(dlq.clone()),
        ..AsyncInvokeConfig::default()
    };
    // Scaled by 120: the event lives 0.5 s, the first retry would come 0.5 s after the failure.
    let service =
        start(ServiceConfig { functions: vec![function], time_scale: Some(120.0), ..Default::default() }).await;
    invoke(&service, "aged", "Event", json!({"action": "fail"})).await;
    wait_for(LIMIT, || receive_one(&sqs, &dlq)).await.expect("dead-lettered");
    assert_eq!(service.records().invocations().len(), 1, "a retry would make the event older than its maximum age");
    service.shutdown().await;
}

/// Runs one mapping over `bodies` until `invocations` invocations happened, then stops the
/// service and returns the queue (to inspect what is left) and the service records.
async fn one_batch(
    bodies: &[&str],
    function: FunctionConfig,
    report: bool,
    visibility_seconds: u32,
) -> (aws_sdk_sqs::Client, String, LocalLambda) {
    let sqs = aws_sdk_sqs::Client::new(&aws().await);
    let url = queue(&sqs, visibility_seconds).await;
    send_all(&sqs, &url, bodies).await;
    let name = function.name.clone();
    let service = start(ServiceConfig {
        functions: vec![function],
        event_source_mappings: vec![EventSourceMappingConfig {
            function: name,
            queue_url: url.clone(),
            batch_size: 10,
            batching_window: Duration::from_secs(1),
            maximum_concurrency: None,
            report_batch_item_failures: report,
        }],
        ..Default::default()
    })
    .await;
    let records: usize = bodies.len();
    wait_for(LIMIT, || async {
        let seen: usize = service.records().invocations().iter().map(|r| r.batch_size).sum();
        (seen >= records).then_some(())
    })
    .await
    .expect("the mapping invoked the function");
    (sqs, url, service)
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_partial_batch_response_deletes_only_the_successes() {
    // Visibility 2 s: the failed message reappears soon after the service stops.
    let (sqs, url, service) = one_batch(&["ok", "fail", "ok"], test_function("partial", 1000), true, 2).await;
    let left = wait_for(LIMIT, || async { Some(remaining(&sqs, &url).await).filter(|n| *n == 1) }).await;
    service.shutdown().await;
    assert_eq!(left, Some(1), "two deleted, the failure left for redelivery");
    let reappeared = wait_for(LIMIT, || async {
        let out = sqs.receive_message().queue_url(&url).wait_time_seconds(1).send().await.ok()?;
        out.messages?.into_iter().next().and_then(|m| m.body)
    })
    .await;
    assert_eq!(reappeared.as_deref(), Some("fail"));
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn an_invalid_batch_response_fails_the_whole_batch() {
    for (bodies, why) in [
        (vec!["ok", "unknown-id"], "an itemIdentifier not in the batch"),
        (vec!["ok", "not-an-object"], "a response that is not an object"),
        (vec!["ok", "error"], "a function error"),
    ] {
        let (sqs, url, service) = one_batch(&bodies, test_function("invalid", 3000), true, 30).await;
        // The mapping is done with the batch (any deletion it would make has been made).
        let batch = wait_for(LIMIT, || async { service.records().batches().into_iter().next() }).await;
        service.shutdown().await;
        let batch = batch.expect("the mapping finished the batch");
        assert_eq!((batch.fate, batch.deleted), ("invoked", 0), "after {why}");
        assert_eq!(remaining(&sqs, &url).await, bodies.len() as u64, "nothing deleted after {why}");
    }
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn without_report_batch_item_failures_a_listed_failure_is_deleted_too() {
    let (sqs, url, service) = one_batch(&["ok", "fail"], test_function("no-report", 3000), false, 30).await;
    let left = wait_for(LIMIT, || async { Some(remaining(&sqs, &url).await).filter(|n| *n == 0) }).await;
    service.shutdown().await;
    assert_eq!(left, Some(0));
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn maximum_concurrency_is_never_exceeded() {
    let aws = aws().await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let url = queue(&sqs, 30).await;
    let bodies = vec!["sleep:300"; 12];
    send_all(&sqs, &url, &bodies).await;
    let service = start(ServiceConfig {
        functions: vec![test_function("busy", 3000)],
        event_source_mappings: vec![EventSourceMappingConfig {
            function: "busy".into(),
            queue_url: url.clone(),
            batch_size: 1,
            batching_window: Duration::ZERO,
            maximum_concurrency: Some(2),
            report_batch_item_failures: true,
        }],
        ..Default::default()
    })
    .await;
    wait_for(LIMIT, || async { (service.records().invocations().len() >= 12).then_some(()) })
        .await
        .expect("all processed");
    service.shutdown().await;
    assert_eq!(service.records().max_concurrency("busy"), 2, "reached, never exceeded");
    assert!(service.records().invocations().iter().all(|r| r.batch_size == 1 && r.outcome == Outcome::Success));
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_mapping_whose_function_timeout_exceeds_the_visibility_timeout_is_refused() {
    let aws = aws().await;
    let url = queue(&aws_sdk_sqs::Client::new(&aws), 2).await;
    let options = ServiceOptions { port: 0, log_dir: std::env::temp_dir().join("sluice-local-tests"), aws };
    let config = ServiceConfig {
        functions: vec![test_function("long", 5000)],
        event_source_mappings: vec![serde_json::from_value(json!({"function": "long", "queue_url": url})).unwrap()],
        ..Default::default()
    };
    let err = LocalLambda::start(config, options).await.err().expect("refused");
    assert!(matches!(err, StartError::Mapping { .. }), "{err}");
    assert!(err.to_string().contains("visibility timeout: 2s is less than function timeout: 5s"), "{err}");
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn sns_notifications_arrive_as_lambda_sns_events() {
    let aws = aws().await;
    let sns = aws_sdk_sns::Client::new(&aws);
    let topic = sns.create_topic().name(unique("topic")).send().await.unwrap().topic_arn.unwrap();
    let log: PathBuf = std::env::temp_dir().join(format!("{}.jsonl", unique("events")));
    let mut function = test_function("sns-fn", 3000);
    function.environment = BTreeMap::from([("TEST_FUNCTION_EVENT_LOG".into(), log.display().to_string())]);
    let service = start(ServiceConfig {
        functions: vec![function],
        sns_subscriptions: vec![SnsSubscriptionConfig { topic_arn: topic.clone(), function: "sns-fn".into() }],
        ..Default::default()
    })
    .await;
    sns.publish()
        .topic_arn(&topic)
        .subject("Amazon S3 Notification")
        .message(r#"{"hello":"world"}"#)
        .send()
        .await
        .unwrap();
    let line =
        wait_for(LIMIT, || async { std::fs::read_to_string(&log).ok().filter(|l| !l.is_empty()) }).await.unwrap();
    let event: Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    let record = &event["Records"][0];
    assert_eq!(record["EventSource"], "aws:sns");
    assert!(record["EventSubscriptionArn"].as_str().unwrap().starts_with(&topic));
    let sns_part = &record["Sns"];
    assert_eq!(sns_part["Message"], r#"{"hello":"world"}"#);
    assert_eq!(sns_part["TopicArn"], topic);
    assert_eq!(sns_part["Subject"], "Amazon S3 Notification");
    assert!(sns_part.get("SigningCertUrl").is_some() && sns_part.get("SigningCertURL").is_none(), "Lambda casing");
    assert!(sns_part.get("UnsubscribeUrl").is_some());
    // The real SnsEvent type decodes it.
    let typed: aws_lambda_events::sns::SnsEvent = serde_json::from_value(event.clone()).unwrap();
    assert_eq!(typed.records[0].sns.topic_arn, topic);
    assert_eq!(service.records().invocations()[0].trigger, Trigger::Async);
    service.shutdown().await;
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_managed_runtime_gets_its_execution_env_and_a_qualified_arn_reaches_the_function() {
    let mut function = test_function("py", 3000);
    function.runtime = "python3.12".into();
    let service = start(ServiceConfig { functions: vec![function], ..Default::default() }).await;
    let arn = "arn:aws:lambda:us-east-1:000000000000:function:py:$LATEST";
    let (status, error, body) = invoke(&service, arn, "RequestResponse", json!({"action": "context"})).await;
    assert_eq!((status, error), (200, None), "{body}");
    assert_eq!(body["env"]["AWS_EXECUTION_ENV"], "AWS_Lambda_python3.12");
    service.shutdown().await;
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_deployed_function_answers_to_its_deployed_name_and_not_to_its_logical_id() {
    let mut function = test_function("OrderFn", 3000);
    function.function_name = Some("shop-OrderFn-1A2B3C4D".into());
    let service = start(ServiceConfig { functions: vec![function], ..Default::default() }).await;
    let arn = "arn:aws:lambda:us-east-1:000000000000:function:shop-OrderFn-1A2B3C4D";
    for name in
        ["shop-OrderFn-1A2B3C4D", "shop-OrderFn-1A2B3C4D:$LATEST", "000000000000:function:shop-OrderFn-1A2B3C4D", arn]
    {
        let (status, error, body) = invoke(&service, name, "RequestResponse", json!({"action": "context"})).await;
        assert_eq!((status, error), (200, None), "{name}: {body}");
        assert_eq!(body["function_name"], "shop-OrderFn-1A2B3C4D", "AWS_LAMBDA_FUNCTION_NAME");
        assert_eq!(body["function_arn"], arn);
    }
    let (status, _, body) = invoke(&service, "OrderFn", "RequestResponse", json!({"action": "context"})).await;
    assert_eq!(status, 404, "Lambda does not know a logical ID: {body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("shop-OrderFn-1A2B3C4D"), "the answer names the deployed name: {message}");
    let (status, _, _) = invoke(&service, "shop-OrderFn-1A2B3C4D:live", "RequestResponse", json!({})).await;
    assert_eq!(status, 404, "only $LATEST is served");
    let long = "x".repeat(5_000);
    let (status, _, body) = invoke(&service, &long, "RequestResponse", json!({})).await;
    assert_eq!(status, 404);
    let message = body["message"].as_str().unwrap();
    assert!(message.len() < 1_100 && message.ends_with("bytes)"), "a clipped quote: {} bytes", message.len());
    service.shutdown().await;
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn an_init_error_fails_the_pending_invocation_at_once_with_its_type() {
    let mut function = test_function("broken", 3000);
    function.environment = BTreeMap::from([("TEST_FUNCTION_INIT_ERROR".into(), "Runtime.ImportModuleError".into())]);
    let service = start(ServiceConfig { functions: vec![function], ..Default::default() }).await;
    let (status, error, body) = invoke(&service, "broken", "RequestResponse", json!({"action": "echo"})).await;
    assert_eq!((status, error.as_deref()), (200, Some("Unhandled")));
    assert_eq!(body["errorType"], "Runtime.ImportModuleError", "{body}");
    let record = &service.records().invocations()[0];
    assert_eq!(record.error_type.as_deref(), Some("Runtime.ImportModuleError"));
    assert!(record.duration_ms < 5_000, "failed when the runtime said so, not after the 10 s init limit");
    service.shutdown().await;
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn reserved_concurrency_zero_throttles_sync_calls_and_sends_async_events_straight_to_the_dlq() {
    let aws = aws().await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let dlq = queue(&sqs, 30).await;
    let mut function = test_function("off", 3000);
    function.reserved_concurrency = Some(0);
    function.async_invoke.dead_letter_queue_url = Some(dlq.clone());
    let service = start(ServiceConfig { functions: vec![function], ..Default::default() }).await;
    let (status, _, body) = invoke(&service, "off", "RequestResponse", json!({"action": "echo"})).await;
    assert_eq!(status, 429);
    assert_eq!(body["Reason"], "ReservedFunctionConcurrentInvocationLimitExceeded");
    let (status, _, _) = invoke(&service, "off", "Event", json!({"action": "echo"})).await;
    assert_eq!(status, 202);
    let letter = wait_for(LIMIT, || receive_one(&sqs, &dlq)).await.expect("dead-lettered");
    let attrs = letter.message_attributes().unwrap();
    assert_eq!(attrs["ErrorCode"].string_value(), Some("429"), "the throttle, not a function error");
    assert!(service.records().invocations().is_empty(), "never run, never retried");
    service.shutdown().await;
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn settings_outside_lambdas_ranges_are_refused_by_name() {
    for (change, named) in [
        (json!({"async_invoke": {"maximum_retry_attempts": 3}}), "maximum_retry_attempts 3"),
        (json!({"async_invoke": {"maximum_event_age": 30_000}}), "maximum_event_age"),
        (json!({"timeout": 901_000}), "timeout"),
        (json!({"memory_mb": 64}), "memory_mb 64"),
    ] {
        let mut function = serde_json::to_value(test_function("bad", 3000)).unwrap();
        for (k, v) in change.as_object().unwrap() {
            if let (Some(inner), Some(obj)) = (v.as_object(), function.get_mut(k).and_then(Value::as_object_mut)) {
                obj.extend(inner.clone());
            } else {
                function[k] = v.clone();
            }
        }
        let config = ServiceConfig { functions: vec![serde_json::from_value(function).unwrap()], ..Default::default() };
        assert_refused(config, named).await;
    }
    // Reservations cannot take more than the account has.
    let mut function = test_function("greedy", 3000);
    function.reserved_concurrency = Some(5);
    let config = ServiceConfig { functions: vec![function], account_concurrency: Some(4), ..Default::default() };
    assert_refused(config, "reserved concurrency 5 in all exceeds the account concurrency 4").await;
}

async fn assert_refused(config: ServiceConfig, named: &str) {
    let options =
        ServiceOptions { port: 0, log_dir: std::env::temp_dir().join("sluice-local-tests"), aws: aws().await };
    let err = LocalLambda::start(config, options).await.err().expect("refused");
    assert!(matches!(err, StartError::Invalid(_)), "{err}");
    assert!(err.to_string().contains(named), "{err} should name {named}");
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn the_end_of_a_batching_window_is_waited_out_not_short_polled_in_a_loop() {
    let aws = aws().await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let url = queue(&sqs, 30).await;
    send_all(&sqs, &url, &["ok"]).await;
    let service = start(ServiceConfig {
        functions: vec![test_function("windowed", 3000)],
        event_source_mappings: vec![EventSourceMappingConfig {
            function: "windowed".into(),
            queue_url: url.clone(),
            batch_size: 10,
            batching_window: Duration::from_millis(2500),
            maximum_concurrency: None,
            report_batch_item_failures: true,
        }],
        ..Default::default()
    })
    .await;
    wait_for(LIMIT, || async { service.records().batches().into_iter().next() }).await.expect("the batch ran");
    let requests = service.records().receive_requests("windowed");
    service.shutdown().await;
    // The first message, two one-second long polls of the window, one short poll after its last
    // half second, and the next empty poll at most: never a loop of zero-second polls.
    assert!(requests <= 6, "{requests} ReceiveMessage requests for one 2.5 s window");
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_batch_that_cannot_get_an_instance_in_time_is_released_not_run_late() {
    let aws = aws().await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    // Visibility equal to the timeout: a batch can only run if an instance is free at once.
    let url = queue(&sqs, 3).await;
    let mut function = test_function("single", 3000);
    function.reserved_concurrency = Some(1);
    let service = start(ServiceConfig {
        functions: vec![function],
        event_source_mappings: vec![EventSourceMappingConfig {
            function: "single".into(),
            queue_url: url.clone(),
            batch_size: 1,
            batching_window: Duration::ZERO,
            maximum_concurrency: None,
            report_batch_item_failures: true,
        }],
        ..Default::default()
    })
    .await;
    // A synchronous call holds the only instance while a message arrives.
    let endpoint = service.endpoint();
    let busy = tokio::spawn(async move {
        reqwest::Client::new()
            .post(format!("{endpoint}/2015-03-31/functions/single/invocations"))
            .body(json!({"action": "sleep", "ms": 2000}).to_string())
            .send()
            .await
            .unwrap()
            .status()
    });
    wait_for(LIMIT, || async { (service.records().max_concurrency("single") >= 1).then_some(()) }).await.unwrap();
    send_all(&sqs, &url, &["ok"]).await;
    let processed = wait_for(LIMIT, || async {
        service.records().batches().into_iter().find(|b| b.fate == "invoked" && b.deleted == 1)
    })
    .await;
    assert_eq!(busy.await.unwrap(), 200);
    let batches = service.records().batches();
    service.shutdown().await;
    assert!(processed.is_some(), "the message was processed once the instance was free: {batches:?}");
    assert!(batches.iter().any(|b| b.fate == "released"), "it was released while the instance was busy: {batches:?}");
    let runs = service.records().invocations().iter().filter(|r| r.trigger == Trigger::EventSourceMapping).count();
    assert_eq!(runs, 1, "run once, when it could finish in time");
}

/// The project's Python runtime venv (awslambdaric, boto3), made by `scripts/setup`.
fn python() -> PathBuf {
    let python = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv-python-runtime/bin/python"));
    assert!(python.exists(), "{} is missing: run scripts/setup", python.display());
    python
}

/// A managed `python3.12` function: `handler.handler` in `tests/python`, which the service runs
/// under AWS's Python runtime interface client, in the interpreter `SLUICE_LOCAL_PYTHON` names
/// (scripts/test sets it to the project's Python runtime venv).
fn python_function(name: &str, timeout_ms: u64) -> FunctionConfig {
    assert!(
        std::env::var_os(sluice_local::launch::PYTHON_VARIABLE).is_some(),
        "run scripts/test, which sets SLUICE_LOCAL_PYTHON to {}",
        python().display()
    );
    let mut function = test_function(name, timeout_ms);
    function.bootstrap = PathBuf::new();
    function.runtime = "python3.12".into();
    function.handler = Some("handler.handler".into());
    function.task_root = Some(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python")));
    function
}

/// What boto3's `lambda.invoke` (with `LogType: Tail`) returned, as `tests/python/invoke.py` reports it.
fn boto3_invoke(service: &LocalLambda, function: &str, payload: Value, client_context: Option<Value>) -> Value {
    let mut command = std::process::Command::new(python());
    command
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/invoke.py"))
        .arg(service.endpoint())
        .arg(function)
        .arg(payload.to_string());
    if let Some(context) = client_context {
        command.arg(context.to_string());
    }
    let out = command.output().expect("python runs");
    assert!(out.status.success(), "invoke.py failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("invoke.py prints JSON")
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_python_handler_under_awslambdaric_and_boto3_see_what_lambda_gives_them() {
    let service = start(ServiceConfig {
        functions: vec![python_function("py", 3000), python_function("py-slow", 1000)],
        ..Default::default()
    })
    .await;
    let event = json!({"hello": "world", "n": 1, "nested": {"list": [1, 2]}});
    let context = json!({"custom": {"tenant": "t1"}, "client": {}, "env": {}});
    let seen = tokio::task::block_in_place(|| boto3_invoke(&service, "py", event.clone(), Some(context)));
    let handler = &seen["payload"];
    assert_eq!((seen["status"].as_u64(), &seen["function_error"]), (Some(200), &Value::Null), "{seen}");
    assert_eq!(seen["executed_version"], "$LATEST");
    assert_eq!(handler["event"], event, "the handler got the event parsed");
    assert_eq!(handler["event_type"], "dict");
    assert_eq!(handler["function_name"], "py");
    // The Python client passes AWS_LAMBDA_FUNCTION_MEMORY_SIZE through as it is: a string.
    assert_eq!(handler["memory_limit_in_mb"], "256");
    assert_eq!(handler["invoked_function_arn"], "arn:aws:lambda:us-east-1:000000000000:function:py");
    assert_eq!(handler["client_context"], json!({"tenant": "t1"}));
    // A managed runtime's environment: its handler, runtime and code directory (the working directory).
    let task_root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python");
    assert_eq!(
        handler["environment"],
        json!({"_HANDLER": "handler.handler", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
               "LAMBDA_TASK_ROOT": task_root, "AWS_LAMBDA_FUNCTION_NAME": "py"})
    );
    assert_eq!(handler["working_directory"], task_root);
    let remaining = handler["remaining_time_in_millis"].as_u64().unwrap();
    assert!(remaining > 0 && remaining <= 3000, "{remaining} ms left");
    let request_id = seen["request_id"].as_str().expect("boto3 read x-amzn-RequestId");
    assert_eq!(handler["aws_request_id"], request_id, "the id the runtime saw is the one the caller got");
    let log = seen["log"].as_str().expect("LogType Tail returned the log");
    assert!(log.contains(&format!("START RequestId: {request_id}")), "{log}");
    assert!(log.contains(&format!("hello from python, request {request_id}")), "{log}");
    assert!(log.contains(&format!("REPORT RequestId: {request_id}")) && log.contains("Billed Duration:"), "{log}");

    let failed = tokio::task::block_in_place(|| boto3_invoke(&service, "py", json!({"action": "fail"}), None));
    assert_eq!((failed["status"].as_u64(), failed["function_error"].as_str()), (Some(200), Some("Unhandled")));
    assert_eq!(failed["payload"]["errorType"], "ValueError", "{failed}");
    assert!(failed["payload"]["errorMessage"].as_str().unwrap().contains("asked to fail"));
    assert!(failed["payload"]["stackTrace"].is_array(), "the Python client's error document, as posted");

    let slow =
        tokio::task::block_in_place(|| boto3_invoke(&service, "py-slow", json!({"action": "sleep", "ms": 5000}), None));
    assert_eq!(slow["function_error"], "Unhandled");
    assert_eq!(slow["payload"]["errorType"], "Sandbox.Timedout", "{slow}");
    assert!(slow["payload"]["errorMessage"].as_str().unwrap().contains("Task timed out after 1.00 seconds"));
    service.shutdown().await;
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn the_invoke_api_answers_in_the_shapes_the_sdks_expect() {
    let service = start(ServiceConfig { functions: vec![test_function("api", 3000)], ..Default::default() }).await;
    let client = reqwest::Client::new();
    let url = |name: &str| format!("{}/2015-03-31/functions/{name}/invocations", service.endpoint());
    let post = |name: &str, kind: &str, body: Vec<u8>| {
        client.post(url(name)).header("X-Amz-Invocation-Type", kind).body(body).send()
    };
    let request_id =
        |r: &reqwest::Response| r.headers().get("x-amzn-requestid").map(|v| v.to_str().unwrap().to_owned());
    let error_type =
        |r: &reqwest::Response| r.headers().get("x-amzn-errortype").map(|v| v.to_str().unwrap().to_owned());

    let sync = post("api", "RequestResponse", br#"{"action":"context"}"#.to_vec()).await.unwrap();
    assert_eq!(sync.headers()["x-amz-executed-version"], "$LATEST");
    let id = request_id(&sync).expect("x-amzn-RequestId");
    let body: Value = sync.json().await.unwrap();
    assert_eq!(body["request_id"], id, "the same id the runtime saw");

    let queued = post("api", "Event", br#"{"action":"echo"}"#.to_vec()).await.unwrap();
    assert_eq!(queued.status(), 202);
    let queued_id = request_id(&queued).expect("x-amzn-RequestId on 202");
    let ran =
        wait_for(LIMIT, || async { service.records().invocations().into_iter().find(|r| r.trigger == Trigger::Async) })
            .await
            .expect("the event ran");
    assert_eq!(ran.request_id, queued_id, "the event runs under the id the caller was given");

    let not_json = post("api", "RequestResponse", b"hello".to_vec()).await.unwrap();
    assert_eq!(
        (not_json.status().as_u16(), error_type(&not_json).as_deref()),
        (400, Some("InvalidRequestContentException"))
    );
    assert!(request_id(&not_json).is_some());
    let big = |n: usize| format!("{{\"pad\":\"{}\"}}", "x".repeat(n)).into_bytes();
    let too_big = post("api", "RequestResponse", big(6 * 1024 * 1024)).await.unwrap();
    assert_eq!((too_big.status().as_u16(), error_type(&too_big).as_deref()), (413, Some("RequestTooLargeException")));
    let too_big_async = post("api", "Event", big(1024 * 1024)).await.unwrap();
    assert_eq!(too_big_async.status(), 413, "1 MB is the asynchronous limit");
    let fits_sync = post("api", "RequestResponse", big(1024 * 1024)).await.unwrap();
    assert_eq!(fits_sync.status(), 200, "but fits a synchronous call");
    let missing = post("nope", "RequestResponse", b"{}".to_vec()).await.unwrap();
    assert_eq!((missing.status().as_u16(), error_type(&missing).as_deref()), (404, Some("ResourceNotFoundException")));
    let message: Value = missing.json().await.unwrap();
    assert!(message["message"].as_str().unwrap().contains("function:nope"), "{message}");

    assert_eq!(service.records().invocations().iter().filter(|r| r.trigger == Trigger::Sync).count(), 2);
    let record = &service.records().invocations()[0];
    assert_eq!(record.memory_mb, 256);
    assert!(record.billed_duration_ms >= record.duration_ms, "billed: rounded up");
    assert!(record.cold && record.init_duration_ms.is_some(), "a cold start reports its init phase");
    service.shutdown().await;
}

/// Sends `count` asynchronous events asking the test function to sleep `ms`.
async fn async_burst(service: &LocalLambda, function: &str, count: usize, ms: u64) {
    for i in 0..count {
        let (status, _, _) = invoke(service, function, "Event", json!({"action": "sleep", "ms": ms, "i": i})).await;
        assert_eq!(status, 202);
    }
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_burst_of_async_events_beyond_the_account_pool_is_throttled_retried_and_all_processed() {
    // Two slots for the whole account; AWS's 1 s throttle backoff plays as 1/60 s.
    let service = start(ServiceConfig {
        functions: vec![test_function("burst", 3000)],
        account_concurrency: Some(2),
        time_scale: Some(60.0),
        ..Default::default()
    })
    .await;
    async_burst(&service, "burst", 6, 300).await;
    let done = wait_for(LIMIT, || async { Some(service.records().async_events()).filter(|e| e.len() == 6) }).await;
    let throttled = service.records().throttles("burst", Trigger::Async);
    let most = service.records().max_concurrency("burst");
    service.shutdown().await;
    let events = done.expect("all six events finished");
    assert!(events.iter().all(|e| e.succeeded && e.attempts == 1), "{events:#?}");
    assert!(throttled > 0 && events.iter().map(|e| e.throttles as u64).sum::<u64>() == throttled, "{throttled}");
    assert_eq!(most, 2, "never more than the pool");
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn throttled_events_whose_age_runs_out_go_to_the_dlq_as_throttles() {
    let aws = aws().await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let dlq = queue(&sqs, 30).await;
    let mut function = test_function("aged-out", 3000);
    function.async_invoke.maximum_event_age = Duration::from_secs(60);
    function.async_invoke.dead_letter_queue_url = Some(dlq.clone());
    // One slot; the 60 s event age plays as 200 ms, shorter than the 1.5 s the first event runs.
    let service = start(ServiceConfig {
        functions: vec![function],
        account_concurrency: Some(1),
        time_scale: Some(300.0),
        ..Default::default()
    })
    .await;
    async_burst(&service, "aged-out", 3, 1500).await;
    let done = wait_for(LIMIT, || async { Some(service.records().async_events()).filter(|e| e.len() == 3) }).await;
    service.shutdown().await;
    let events = done.expect("all three events finished");
    assert_eq!(events.iter().filter(|e| e.succeeded).count(), 1, "{events:#?}");
    let expired: Vec<_> = events.iter().filter(|e| !e.succeeded).collect();
    assert_eq!(expired.len(), 2);
    assert!(expired.iter().all(|e| e.attempts == 0 && e.throttles > 0 && e.condition == Some("EventAgeExceeded")));
    assert!(expired.iter().all(|e| e.dead_lettered && !e.dropped()), "kept, not lost");
    for _ in 0..2 {
        let letter = wait_for(LIMIT, || receive_one(&sqs, &dlq)).await.expect("in the DLQ");
        assert_eq!(letter.message_attributes().unwrap()["ErrorCode"].string_value(), Some("429"));
    }
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn the_mapping_ramps_up_its_concurrency_over_time_and_never_past_its_maximum() {
    let aws = aws().await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let url = queue(&sqs, 30).await;
    let bodies = vec!["sleep:400"; 60];
    send_all(&sqs, &url, &bodies).await;
    let service = start(ServiceConfig {
        functions: vec![test_function("ramp", 3000)],
        account_concurrency: Some(30),
        event_source_mappings: vec![EventSourceMappingConfig {
            function: "ramp".into(),
            queue_url: url.clone(),
            batch_size: 1,
            batching_window: Duration::ZERO,
            maximum_concurrency: Some(12),
            report_batch_item_failures: true,
        }],
        ..Default::default()
    })
    .await;
    wait_for(LIMIT, || async { (service.records().invocations().len() >= 60).then_some(()) })
        .await
        .expect("all processed");
    let levels = service.records().mapping_levels("ramp");
    let most = service.records().max_concurrency("ramp");
    service.shutdown().await;
    assert_eq!(levels[0].in_flight, 5, "it starts with 5 concurrent batches: {levels:?}");
    let rises: Vec<_> = levels.windows(2).filter(|w| w[1].in_flight > w[0].in_flight).collect();
    assert!(rises.iter().all(|w| w[1].in_flight == w[0].in_flight + 1), "one at a time: {levels:?}");
    // One more every 200 ms at most (300 a minute); the clock's millisecond rounding aside.
    assert!(rises.iter().all(|w| w[1].at_ms - w[0].at_ms >= 195), "not faster than 300 a minute: {levels:?}");
    let peak = levels.iter().map(|l| l.in_flight).max().unwrap();
    assert_eq!(peak, 12, "it reached MaximumConcurrency while messages were waiting: {levels:?}");
    assert!(most <= 12, "never more invocations than the maximum: {most}");
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn the_time_scale_plays_async_retry_delays_and_visibility_timeouts_faster() {
    let aws = aws().await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    // A 60 s visibility timeout, which plays as 2 s at scale 30; AWS's 1 and 2 minute async
    // retry delays play as 2 and 4 s.
    let url = queue(&sqs, 60).await;
    send_all(&sqs, &url, &["fail"]).await;
    let service = start(ServiceConfig {
        functions: vec![test_function("scaled", 3000), test_function("scaled-async", 1000)],
        time_scale: Some(30.0),
        event_source_mappings: vec![EventSourceMappingConfig {
            function: "scaled".into(),
            queue_url: url.clone(),
            batch_size: 1,
            batching_window: Duration::ZERO,
            maximum_concurrency: None,
            report_batch_item_failures: true,
        }],
        ..Default::default()
    })
    .await;
    invoke(&service, "scaled-async", "Event", json!({"action": "fail"})).await;
    let runs = |function: &'static str, n: usize| {
        let service = &service;
        move || async move {
            let runs: Vec<_> = service.records().invocations().into_iter().filter(|r| r.function == function).collect();
            (runs.len() >= n).then_some(runs)
        }
    };
    let attempts = wait_for(LIMIT, runs("scaled-async", 3)).await.expect("three async attempts");
    let deliveries = wait_for(LIMIT, runs("scaled", 2)).await.expect("the failed message came back");
    assert_eq!(service.records().time_scale(), 30.0, "the records say which scale they were made at");
    service.shutdown().await;
    let gap = |a: &sluice_local::InvocationRecord, b: &sluice_local::InvocationRecord| {
        b.start_ms.saturating_sub(a.start_ms + a.duration_ms)
    };
    let (first, second) = (gap(&attempts[0], &attempts[1]), gap(&attempts[1], &attempts[2]));
    assert!((1_990..3_500).contains(&first), "first async retry {first} ms after the failure, 2 s scaled");
    assert!((3_990..5_500).contains(&second), "second async retry {second} ms after, 4 s scaled");
    assert!(attempts.iter().all(|a| a.request_id == attempts[0].request_id));
    assert_eq!(attempts[2].attempt, 3);
    let back = gap(&deliveries[0], &deliveries[1]);
    // SQS counts visibility in whole seconds, and the mapping long-polls once a second.
    assert!((1_500..6_000).contains(&back), "redelivered {back} ms after the failed batch, not after 60 s");
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_batch_never_exceeds_six_megabytes_and_the_rest_waits_for_the_next() {
    let aws = aws().await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let url = queue(&sqs, 30).await;
    let body = "x".repeat(240_000);
    let bodies = vec![body.as_str(); 30];
    send_all(&sqs, &url, &bodies).await;
    let service = start(ServiceConfig {
        functions: vec![test_function("big", 3000)],
        event_source_mappings: vec![EventSourceMappingConfig {
            function: "big".into(),
            queue_url: url.clone(),
            batch_size: 30,
            batching_window: Duration::from_secs(2),
            maximum_concurrency: Some(2),
            report_batch_item_failures: true,
        }],
        ..Default::default()
    })
    .await;
    let batches = wait_for(LIMIT, || async {
        let b = service.records().batches();
        (b.iter().map(|b| b.deleted).sum::<usize>() >= 30).then_some(b)
    })
    .await;
    let invocations = service.records().invocations();
    service.shutdown().await;
    assert!(batches.is_some(), "all 30 processed: {:?}", service.records().batches());
    assert!(invocations.iter().all(|i| i.payload_bytes <= 6 * 1024 * 1024), "{invocations:#?}");
    assert!(invocations.len() >= 2 && invocations.iter().all(|i| i.batch_size < 30), "split over invocations");
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn an_init_that_never_asks_for_an_event_times_out_at_ten_seconds_as_sandbox_timedout() {
    let mut function = test_function("hangs", 3000);
    function.environment = BTreeMap::from([("TEST_FUNCTION_INIT_HANGS".into(), "1".into())]);
    let service = start(ServiceConfig { functions: vec![function], ..Default::default() }).await;
    let (status, error, body) = invoke(&service, "hangs", "RequestResponse", json!({"action": "echo"})).await;
    assert_eq!((status, error.as_deref()), (200, Some("Unhandled")));
    assert_eq!(body["errorType"], "Sandbox.Timedout", "{body}");
    assert!(body["errorMessage"].as_str().unwrap().contains("Init phase after 10.00 seconds"), "{body}");
    let record = &service.records().invocations()[0];
    assert_eq!(record.outcome, Outcome::Timeout);
    assert!(record.duration_ms >= 10_000, "it waited the whole init limit: {} ms", record.duration_ms);
    service.shutdown().await;
}

/// A sync `Invoke` of the test function's `context` action, with `X-Amzn-Trace-Id` if given:
/// the `Lambda-Runtime-Trace-Id` the function saw.
async fn invoked_trace(service: &LocalLambda, function: &str, caller: Option<&str>) -> TraceContext {
    let mut request = reqwest::Client::new()
        .post(format!("{}/2015-03-31/functions/{function}/invocations", service.endpoint()))
        .body(json!({"action": "context"}).to_string());
    if let Some(header) = caller {
        request = request.header("X-Amzn-Trace-Id", header);
    }
    let body: Value = request.send().await.unwrap().json().await.unwrap();
    TraceContext::parse(body["trace_id"].as_str().expect("a Lambda-Runtime-Trace-Id")).unwrap()
}

const CALLER_TRACE: &str = "Root=1-6752a1b0-0123456789abcdef01234567;Parent=1111111111111111;Sampled=1";

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn each_invocation_gets_a_trace_header_and_invoke_continues_the_callers() {
    let mut active = test_function("active", 3000);
    active.tracing = TracingMode::Active;
    let service =
        start(ServiceConfig { functions: vec![test_function("passive", 3000), active], ..Default::default() }).await;
    let caller = TraceContext::parse(CALLER_TRACE).unwrap();
    let continued = invoked_trace(&service, "passive", Some(CALLER_TRACE)).await;
    assert_eq!(
        (continued.trace_id, continued.sampled),
        (caller.trace_id, Some(true)),
        "the caller's trace and decision"
    );
    assert_ne!(continued.parent_id, caller.parent_id, "the function's segment is a new parent");

    let (first, second) =
        (invoked_trace(&service, "passive", None).await, invoked_trace(&service, "passive", None).await);
    assert_ne!(first.trace_id, second.trace_id, "a new trace per uncalled-for invocation");
    assert_eq!(first.sampled, Some(false), "PassThrough samples nothing of its own");
    assert_eq!(invoked_trace(&service, "active", None).await.sampled, Some(true), "Active does");
    let ignored = invoked_trace(&service, "passive", Some("Root=broken")).await;
    assert_ne!(ignored.trace_id, caller.trace_id, "a malformed caller header starts a new trace");
    service.shutdown().await;
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn async_retries_keep_one_trace_and_the_mapping_hands_over_aws_trace_header() {
    let aws = aws().await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let dir = std::env::temp_dir().join(unique("trace"));
    std::fs::create_dir_all(&dir).unwrap();
    let (traces, events) = (dir.join("traces"), dir.join("events"));
    let mut retried = test_function("retried", 3000);
    retried.async_invoke = AsyncInvokeConfig { maximum_retry_attempts: 2, ..AsyncInvokeConfig::default() };
    retried.environment = BTreeMap::from([("TEST_FUNCTION_TRACE_LOG".into(), traces.display().to_string())]);
    let mut mapped = test_function("mapped", 3000);
    mapped.environment = BTreeMap::from([("TEST_FUNCTION_EVENT_LOG".into(), events.display().to_string())]);
    let url = queue(&sqs, 30).await;
    let service = start(ServiceConfig {
        functions: vec![retried, mapped],
        event_source_mappings: vec![EventSourceMappingConfig {
            function: "mapped".into(),
            queue_url: url.clone(),
            batch_size: 10,
            batching_window: Duration::ZERO,
            maximum_concurrency: None,
            report_batch_item_failures: true,
        }],
        time_scale: Some(1200.0),
        ..Default::default()
    })
    .await;

    let response = reqwest::Client::new()
        .post(format!("{}/2015-03-31/functions/retried/invocations", service.endpoint()))
        .header("X-Amz-Invocation-Type", "Event")
        .header("X-Amzn-Trace-Id", CALLER_TRACE)
        .body(json!({"action": "fail"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let seen = wait_for(LIMIT, || async {
        let lines = std::fs::read_to_string(&traces).unwrap_or_default();
        let lines: Vec<String> = lines.lines().map(str::to_owned).collect();
        (lines.len() == 3).then_some(lines)
    })
    .await
    .expect("one attempt and two retries");
    let caller = TraceContext::parse(CALLER_TRACE).unwrap();
    for line in &seen {
        assert_eq!(TraceContext::parse(line).unwrap().trace_id, caller.trace_id, "{line}");
    }

    let header = MessageSystemAttributeValue::builder().data_type("String").string_value(CALLER_TRACE).build().unwrap();
    sqs.send_message()
        .queue_url(&url)
        .message_body("ok")
        .message_system_attributes(MessageSystemAttributeNameForSends::AwsTraceHeader, header)
        .send()
        .await
        .unwrap();
    let event: Value = wait_for(LIMIT, || async {
        let text = std::fs::read_to_string(&events).ok()?;
        serde_json::from_str(text.lines().next()?).ok()
    })
    .await
    .expect("the mapping invoked the function");
    assert_eq!(event["Records"][0]["attributes"]["AWSTraceHeader"], CALLER_TRACE, "the sender's trace, as SQS kept it");
    service.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
