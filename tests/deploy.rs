//! SAM templates deployed through the local stack's CloudFormation engine, checked where lint
//! cannot see: `template.yaml` deploys with every parameter combination the README documents,
//! its outputs resolve, the functions are configured from the stack with the references
//! resolved, and the stack deletes cleanly; a second SAM app (`examples/orders`) runs from its
//! own template; and `sluice local up` / `down` do it from the command line, both paths
//! processing an upload.

use std::process::Command;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use sluice::aws::s3_client;
use sluice_e2e::local_up::LocalUp;
use sluice_e2e::scenario::workers;
use sluice_harness::deployment::repository_template;
use sluice_harness::deployment::{SNS_WORKER, SQS_WORKER};
use sluice_local::wait::wait_for;
use sluice_local::{LocalLambda, ServiceOptions};
use sluice_sam::artifacts::Workers;
use sluice_sam::stack::{Stack, StackRequest};

/// A queue URL's last segment, its name: `GetQueueUrl` answers with the endpoint's host, the
/// stack's outputs with AWS's, both naming the same queue.
fn queue_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or_default()
}

fn unique(name: &str) -> String {
    format!("{name}-{}", &uuid::Uuid::new_v4().simple().to_string()[..6])
}

async fn aws() -> aws_config::SdkConfig {
    assert!(std::env::var_os("AWS_ENDPOINT_URL").is_some(), "AWS_ENDPOINT_URL is not set: run scripts/test");
    aws_config::load_from_env().await
}

async fn gone(aws: &aws_config::SdkConfig, name: &str) -> bool {
    !Stack::exists(aws, name).await.expect("DescribeStacks")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn every_documented_parameter_combination_deploys_resolves_its_outputs_and_deletes() {
    let aws = aws().await;
    for enable_vpc in [false, true] {
        for static_egress_ip in [false, true] {
            for redis in [false, true] {
                let name = unique(&format!(
                    "deploy-vpc{}-nat{}-redis{}",
                    enable_vpc as u8, static_egress_ip as u8, redis as u8
                ));
                let mut request = StackRequest::new(&name, repository_template(), Workers::Built(workers()))
                    .parameter("EnableVpc", enable_vpc.to_string())
                    .parameter("StaticEgressIp", static_egress_ip.to_string());
                if redis {
                    // With a webhook too: its secret and the grant to read it.
                    request = request
                        .parameter("IdempotencyRedisUrl", "rediss://cache.example:6379")
                        .parameter("WebhookUrl", "https://partner.example/hook");
                }
                let stack = Stack::deploy(&aws, &request).await.unwrap_or_else(|e| panic!("{name}: {e}"));
                let output = |key: &str| stack.output(key).unwrap_or_else(|e| panic!("{name}: {e}")).to_owned();
                for key in [
                    "IngestBucketName",
                    "ResultsBucketName",
                    "UploadsTopicArn",
                    "WorkQueueUrl",
                    "WorkDeadLetterQueueUrl",
                    "SubscriptionDeadLetterQueueUrl",
                    "DirectFailuresQueueUrl",
                    "IdempotencyTableName",
                ] {
                    assert!(!output(key).is_empty() && !output(key).contains("${"), "{name}: {key} = {}", output(key));
                }
                assert_eq!(output("IngestBucketName"), format!("{name}-ingest-123456789012-us-east-1"));
                let nat = enable_vpc && static_egress_ip;
                assert_eq!(stack.outputs.contains_key("StaticEgressIp"), nat, "{name}: {:?}", stack.outputs);
                if nat {
                    let ip: std::net::Ipv4Addr = output("StaticEgressIp").parse().unwrap();
                    assert_eq!(ip.octets()[..3], [192, 0, 2], "{name}: the Elastic IP {ip}");
                }

                let config = stack.service_config(&aws).await.unwrap_or_else(|e| panic!("{name}: {e}"));
                let mut names: Vec<&str> = config.functions.iter().map(|f| f.name.as_str()).collect();
                names.sort();
                assert_eq!(names, [SNS_WORKER, SQS_WORKER], "{name}");
                for f in &config.functions {
                    let env = &f.environment;
                    assert_eq!(f.timeout, Duration::from_secs(30), "{name}/{}", f.name);
                    assert_eq!(f.memory_mb, 256, "{name}/{}", f.name);
                    assert_eq!(f.reserved_concurrency, Some(50), "{name}/{}", f.name);
                    assert_eq!(f.runtime, "provided.al2023");
                    assert_eq!(env["RESULTS_BUCKET"], output("ResultsBucketName"), "{name}/{}", f.name);
                    assert_eq!(env.get("AWS_LAMBDA_LOG_FORMAT").map(String::as_str), Some("JSON"), "{name}/{}", f.name);
                    if redis {
                        assert_eq!(env["IDEMPOTENCY_REDIS_URL"], "rediss://cache.example:6379");
                        assert!(!env.contains_key("IDEMPOTENCY_TABLE"), "{name}/{}", f.name);
                        assert_eq!(env["WEBHOOK_SECRET_ARN"], output("WebhookSigningSecretArn"), "{name}/{}", f.name);
                    } else {
                        assert_eq!(env["IDEMPOTENCY_TABLE"], output("IdempotencyTableName"), "{name}/{}", f.name);
                        assert!(!env.contains_key("IDEMPOTENCY_REDIS_URL") && !env.contains_key("WEBHOOK_SECRET_ARN"));
                    }
                }
                let sqs_worker = config.functions.iter().find(|f| f.name == SQS_WORKER).unwrap();
                assert_eq!(sqs_worker.environment["DEAD_LETTER_QUEUE_URL"], output("WorkDeadLetterQueueUrl"));
                assert_eq!(sqs_worker.environment["RESULTS_PREFIX"], "receipts/sqs/");
                let sns_worker = config.functions.iter().find(|f| f.name == SNS_WORKER).unwrap();
                assert_eq!(sns_worker.async_invoke.maximum_retry_attempts, 2);
                assert_eq!(sns_worker.async_invoke.maximum_event_age, Duration::from_secs(21600));
                let on_failure = sns_worker.async_invoke.on_failure_queue_url.as_deref().map(queue_name);
                assert_eq!(on_failure, Some(queue_name(&output("DirectFailuresQueueUrl"))), "{name}");
                let [mapping] = config.event_source_mappings.as_slice() else {
                    panic!("{name}: {:?}", config.event_source_mappings)
                };
                let work_queue = output("WorkQueueUrl");
                assert_eq!(
                    (mapping.function.as_str(), queue_name(&mapping.queue_url)),
                    (SQS_WORKER, queue_name(&work_queue))
                );
                assert_eq!(
                    (mapping.batch_size, mapping.batching_window, mapping.maximum_concurrency),
                    (10, Duration::ZERO, Some(5))
                );
                assert!(mapping.report_batch_item_failures);
                let [subscription] = config.sns_subscriptions.as_slice() else {
                    panic!("{name}: {:?}", config.sns_subscriptions)
                };
                assert_eq!(
                    (subscription.function.as_str(), subscription.topic_arn.as_str()),
                    (SNS_WORKER, output("UploadsTopicArn").as_str())
                );
                match &config.network {
                    None => assert!(!enable_vpc, "{name}: functions in a VPC, and no network"),
                    Some(network) => {
                        assert!(enable_vpc && network.enable_vpc, "{name}: {network:?}");
                        assert_eq!(network.static_egress_ip, nat, "{name}");
                        assert_eq!(
                            network.elastic_ip.map(|ip| ip.to_string()),
                            stack.outputs.get("StaticEgressIp").cloned()
                        );
                    }
                }

                Stack::delete(&aws, &name).await.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(gone(&aws, &name).await, "{name} is still there");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn a_second_sam_app_runs_from_its_own_template() {
    let aws = aws().await;
    let name = unique("orders");
    let template = repository_template().parent().unwrap().join("examples/orders/template.yaml");
    let request = StackRequest::new(&name, &template, Workers::Built(workers())).parameter("BatchSize", "5");
    let stack = Stack::deploy(&aws, &request).await.expect("deployed");
    let mut config = stack.service_config(&aws).await.expect("read back");
    assert_eq!(config.event_source_mappings[0].batch_size, 5, "the parameter reached the mapping");
    // The function answers to the name CloudFormation gave it, as on AWS.
    let physical = stack.resources.iter().find(|r| r.logical_id == "OrdersFunction").map(|r| r.physical_id.clone());
    let function = config.functions.iter().find(|f| f.name == "OrdersFunction").expect("OrdersFunction configured");
    assert_eq!(function.function_name, physical, "the deployed name");
    assert_ne!(function.deployed_name(), "OrdersFunction");
    let deployed = function.deployed_name().to_owned();
    config.time_scale = Some(60.0);
    let log_dir = std::env::temp_dir().join("sluice-e2e").join(&name);
    let options = ServiceOptions { port: 0, log_dir: log_dir.clone(), aws: aws.clone() };
    let service = LocalLambda::start(config, options).await.expect("started");

    let sqs = aws_sdk_sqs::Client::new(&aws);
    let queue = stack.output("OrdersQueueUrl").unwrap().to_owned();
    for body in [r#"{"id":"o-1","amount":5}"#, r#"{"id":"o-1","amount":5}"#, r#"{"id":"o-2","amount":-1}"#] {
        sqs.send_message().queue_url(&queue).message_body(body).send().await.expect("sent");
    }
    // o-2 is refused every time and redriven to the app's DLQ after 5 receives (visibility
    // timeouts on the service's time scale); o-1 is accepted once though sent twice.
    let dlq = stack.output("OrdersDeadLetterQueueUrl").unwrap().to_owned();
    let letter = wait_for(Duration::from_secs(60), || {
        let (sqs, dlq) = (sqs.clone(), dlq.clone());
        async move { sluice_local::wait::receive_one(&sqs, &dlq).await }
    })
    .await
    .expect("o-2 in the DLQ within 60 s");
    assert_eq!(letter.body(), Some(r#"{"id":"o-2","amount":-1}"#));
    // The local logs are named as the function is: by its deployed name.
    let log = std::fs::read_to_string(log_dir.join(format!("{deployed}.log"))).unwrap();
    let accepted: Vec<&str> = log.lines().filter(|l| l.contains("order accepted")).collect();
    assert_eq!(accepted.len(), 1, "o-1 accepted once: {accepted:?}");
    assert!(accepted[0].contains("o-1"), "{}", accepted[0]);
    assert!(log.contains("amount -1 is not positive"), "the refusal says why:\n{log}");
    service.shutdown().await;
    Stack::delete(&aws, &name).await.expect("deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack: run scripts/test"]
async fn sluice_local_up_runs_template_yaml_and_both_paths_process_an_upload_then_down_deletes_it() {
    let aws = aws().await;
    let name = unique("cli-up");
    let log_dir = std::env::temp_dir().join("sluice-e2e").join(&name);
    let mut command = Command::new(workers().join("sluice"));
    command
        .args(["local", "up", "--template"])
        .arg(repository_template())
        .args(["--stack-name", &name, "--port", "0", "--time-scale", "60", "--workers"])
        .arg(workers())
        .arg("--log-dir")
        .arg(&log_dir)
        .args(["--parameter-overrides", "ReservedConcurrency=0", "BatchSize=5"]);
    let up = LocalUp::start(command);
    let outputs = &up.outputs;
    let (ingest, results) = (outputs["IngestBucketName"].clone(), outputs["ResultsBucketName"].clone());
    let s3 = s3_client(&aws);
    s3.put_object()
        .bucket(&ingest)
        .key("incoming/from the cli.csv")
        .body(ByteStream::from_static(b"a,b\n1,2\n"))
        .send()
        .await
        .expect("uploaded");
    for path in ["sqs", "sns"] {
        let receipt = wait_for(Duration::from_secs(60), || {
            let (s3, results) = (s3.clone(), results.clone());
            async move {
                let listed =
                    s3.list_objects_v2().bucket(&results).prefix(format!("receipts/{path}/")).send().await.ok()?;
                listed.contents().iter().find_map(|o| o.key().filter(|k| k.contains("from the cli")).map(str::to_owned))
            }
        })
        .await;
        assert!(receipt.is_some(), "no {path} receipt within 60 s: see {}", log_dir.display());
    }
    // Interrupted, it stops its functions and leaves the stack; down deletes it.
    let (clean, said) = up.interrupt();
    assert!(clean, "{said:?}");
    assert!(said.iter().any(|l| l.contains(&format!("sluice local down --stack-name {name}"))), "{said:?}");
    assert!(!gone(&aws, &name).await, "up left the stack in place");
    let down = Command::new(workers().join("sluice")).args(["local", "down", "--stack-name", &name]).output().unwrap();
    assert!(down.status.success(), "{}", String::from_utf8_lossy(&down.stderr));
    assert!(gone(&aws, &name).await, "down deleted the stack");
}
