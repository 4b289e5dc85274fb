//! The LocalStack leg: the two-path end-to-end test with S3, SNS and SQS served by LocalStack
//! (the pinned `localstack-core`, host mode, on loopback: `scripts/stack start --localstack`)
//! and DynamoDB on the local stack's moto, the workers under `sluice local serve`. LocalStack's
//! CloudFormation cannot deploy `template.yaml` here, so the pipeline is made by API calls
//! (`sluice_harness::provisioned`), checked against the template's environment. It asserts what
//! the moto leg asserts: every object summarised once per path, empty DLQs, nothing lost.

use std::process::Command;

use sluice_e2e::local_up::LocalUp;
use sluice_e2e::scenario::{assert_processed_once, settle, upload, workers};
use sluice_harness::accounting::{Accountant, Path};
use sluice_harness::deployment::{Settings, repository_template};
use sluice_harness::partner::Partner;
use sluice_harness::provisioned::Provisioned;
use sluice_harness::resources::{SNS_WORKER, SQS_WORKER};
use sluice_sam::stack::Stack;
use sluice_sam::template::SamTemplate;

/// LocalStack's address, from `scripts/stack env` when it runs.
fn localstack() -> String {
    std::env::var("SLUICE_LOCALSTACK_URL")
        .expect("SLUICE_LOCALSTACK_URL is not set: run scripts/test (it starts the stack with --localstack)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs LocalStack: run scripts/test"]
async fn on_localstack_both_paths_process_every_upload_once_and_lose_nothing() {
    let endpoint = localstack();
    // S3, SNS and SQS on LocalStack; DynamoDB on moto, where the environment points it.
    assert!(std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_some(), "AWS_ENDPOINT_URL_DYNAMODB is not set");
    let aws = aws_config::from_env().endpoint_url(&endpoint).load().await;
    let dynamodb = aws_config::load_from_env().await;
    let name = format!("ls-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    let log_dir = std::env::temp_dir().join("sluice-e2e").join(&name);
    std::fs::create_dir_all(&log_dir).unwrap();

    let pipeline = Provisioned::create(&aws, &dynamodb, &name, &workers()).await.expect("provisioned on LocalStack");
    // The copy of the template's wiring has the template's variables, no more, no fewer (but
    // the ones only its Redis and webhook-secret variants set).
    let template = SamTemplate::load(repository_template()).unwrap();
    for function in &pipeline.config.functions {
        let mut declared = Provisioned::template_environment_names(&template, &function.name);
        declared.retain(|v| !["IDEMPOTENCY_REDIS_URL", "WEBHOOK_URL", "WEBHOOK_SECRET_ARN"].contains(&v.as_str()));
        let provisioned = function.environment.keys().filter(|k| !k.starts_with("AWS_")).cloned().collect();
        assert_eq!(declared, provisioned, "{}: the template's environment", function.name);
    }
    assert_eq!(pipeline.config.functions.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), [SQS_WORKER, SNS_WORKER]);

    let partner = Partner::start().await.expect("the partner on loopback");
    let mut config = Settings::default().webhook_url(partner.url.clone()).apply(pipeline.config.clone());
    config.account_concurrency = Some(Stack::account_concurrency(&config));
    let config_file = log_dir.join("functions.json");
    std::fs::write(&config_file, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let mut serve = Command::new(workers().join("sluice"));
    serve
        .args(["local", "serve", "--port", "0", "--config"])
        .arg(&config_file)
        .arg("--log-dir")
        .arg(&log_dir)
        // The service's own SQS and SNS clients (the mapping, the subscription) talk to LocalStack.
        .env("AWS_ENDPOINT_URL", &endpoint);
    let serving = LocalUp::start(serve);

    let accountant = Accountant::new(&aws, &pipeline.resources, log_dir.clone()).with_dynamodb(&dynamodb);
    let s3 = sluice::aws::s3_client(&aws);
    let bucket = &pipeline.resources.ingest_bucket;
    // One key uploaded twice too: on LocalStack two versions are told apart by version id only.
    let mut uploads = upload(&s3, bucket, &name, 30).await;
    uploads.extend(upload(&s3, bucket, &name, 1).await);
    let accounts = settle(&accountant, &uploads).await;
    let report = partner.report();
    assert_processed_once(&accountant, bucket, &uploads, &accounts, &report).await;
    for path in Path::BOTH {
        assert!(accounts[&path].dead_lettered.is_empty(), "{} path: its DLQ is empty", path.name());
    }
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let subscription_dlq = &pipeline.resources.subscription_dlq_url;
    let left = sluice_local::wait::receive_one(&sqs, subscription_dlq).await;
    assert!(left.is_none(), "the subscription's DLQ is empty: {left:?}");

    let (clean, said) = serving.interrupt();
    assert!(clean, "{said:?}");
}
