//! The pipeline made by API calls, for a stack whose CloudFormation cannot deploy
//! `template.yaml`: LocalStack here (its KMS `CreateKey` fails under the template, and its
//! DynamoDB and Lambda do not run on this machine; the guide's "LocalStack" section has the
//! details). What it makes is what the template declares for the two paths, without the
//! encryption keys, policies, alarms and VPC:
//! - an ingest bucket (versioned: LocalStack's S3 events carry one constant `sequencer`, so two
//!   uploads of one key are told apart by version only) notifying a topic of `incoming/` uploads,
//!   and a results bucket;
//! - the work queue subscribed to the topic (envelope delivery, with the subscription's DLQ),
//!   redriving to its DLQ after 5 receives, with a 200 s visibility timeout;
//! - the idempotency table (on an endpoint of its own: moto beside LocalStack);
//! - the local Lambda service's configuration of both workers, with the template's environment,
//!   timeout, memory, mapping and asynchronous-invocation settings, for `sluice local serve`.
//!
//! [`Provisioned::template_environment_names`](crate::provisioned::Provisioned::template_environment_names) reads the variable names the template gives each
//! worker, so a test can check that this copy has not drifted from it.
//!
//! ```no_run
//! # async fn run(aws: &aws_config::SdkConfig) -> Result<(), sluice_harness::provisioned::ProvisionError> {
//! let pipeline = sluice_harness::provisioned::Provisioned::create(aws, aws, "ls-demo", "target/debug".as_ref()).await?;
//! std::fs::write("functions.json", serde_json::to_vec(&pipeline.config).unwrap()).unwrap();
//! // sluice local serve --config functions.json
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use aws_sdk_s3::types::{
    BucketVersioningStatus, Event, FilterRule, FilterRuleName, NotificationConfiguration,
    NotificationConfigurationFilter, S3KeyFilter, TopicConfiguration, VersioningConfiguration,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::json;
use sluice_local::{AsyncInvokeConfig, EventSourceMappingConfig, FunctionConfig, ServiceConfig, SnsSubscriptionConfig};

use crate::resources::{Resources, SNS_WORKER, SQS_WORKER};

/// An API call that failed while provisioning: which, and what the service said.
#[derive(Debug, thiserror::Error)]
#[error("{call}: {message}")]
pub struct ProvisionError {
    /// The call.
    pub call: String,
    /// The SDK's error, with its sources.
    pub message: String,
}

/// `call`'s error as a [`ProvisionError`].
fn failed<E: std::error::Error + 'static>(call: impl Into<String>) -> impl FnOnce(E) -> ProvisionError {
    let call = call.into();
    move |e| ProvisionError { call, message: sluice_retry::error_chain(&e) }
}

/// The pipeline's resources and the workers' configuration.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// The resources, as the accountant reads them.
    pub resources: Resources,
    /// Both workers, their mapping and subscription, for the local Lambda service.
    pub config: ServiceConfig,
}

/// The work queue's visibility timeout (template.yaml: 6 x the 30 s timeout + the largest window).
const WORK_VISIBILITY_TIMEOUT: &str = "200";
/// Receives before the work queue redrives (template.yaml).
const WORK_MAX_RECEIVE_COUNT: u32 = 5;
/// The key prefix the ingest bucket notifies.
const UPLOAD_PREFIX: &str = "incoming/";

impl Provisioned {
    /// Makes the pipeline's resources, named after `name` (its table with `dynamodb`'s endpoint,
    /// the rest with `aws`'s), and configures the workers found in `workers` (a cargo target
    /// profile directory).
    pub async fn create(
        aws: &aws_config::SdkConfig,
        dynamodb: &aws_config::SdkConfig,
        name: &str,
        workers: &Path,
    ) -> Result<Self, ProvisionError> {
        let s3 = sluice::aws::s3_client(aws);
        let sqs = aws_sdk_sqs::Client::new(aws);
        let sns = aws_sdk_sns::Client::new(aws);
        let (ingest, results) = (format!("{name}-ingest"), format!("{name}-results"));
        for bucket in [&ingest, &results] {
            s3.create_bucket().bucket(bucket).send().await.map_err(failed(format!("CreateBucket {bucket}")))?;
        }
        let versioning = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
        s3.put_bucket_versioning()
            .bucket(&ingest)
            .versioning_configuration(versioning)
            .send()
            .await
            .map_err(failed(format!("PutBucketVersioning {ingest}")))?;
        let topic = format!("{name}-uploads");
        let topic_arn = sns.create_topic().name(&topic).send().await.map_err(failed(format!("CreateTopic {topic}")))?;
        let topic_arn = topic_arn.topic_arn().unwrap_or_default().to_owned();

        let queue = |suffix: &str, attributes: Vec<(QueueAttributeName, String)>| {
            let (sqs, queue) = (sqs.clone(), format!("{name}-{suffix}"));
            async move {
                let created = sqs
                    .create_queue()
                    .queue_name(&queue)
                    .set_attributes(Some(attributes.into_iter().collect()))
                    .send()
                    .await
                    .map_err(failed(format!("CreateQueue {queue}")))?;
                let url = created.queue_url().unwrap_or_default().to_owned();
                let arn = sqs
                    .get_queue_attributes()
                    .queue_url(&url)
                    .attribute_names(QueueAttributeName::QueueArn)
                    .send()
                    .await
                    .map_err(failed(format!("GetQueueAttributes {queue}")))?
                    .attributes()
                    .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
                    .unwrap_or_default();
                Ok::<_, ProvisionError>((url, arn))
            }
        };
        let retention = || vec![(QueueAttributeName::MessageRetentionPeriod, "1209600".to_owned())];
        let (work_dlq_url, work_dlq_arn) = queue("work-dlq", retention()).await?;
        let (direct_failures_url, _) = queue("direct-failures", retention()).await?;
        let (subscription_dlq_url, subscription_dlq_arn) = queue("subscription-dlq", retention()).await?;
        let redrive = json!({"deadLetterTargetArn": work_dlq_arn, "maxReceiveCount": WORK_MAX_RECEIVE_COUNT});
        let (work_queue_url, work_queue_arn) = queue(
            "work",
            vec![
                (QueueAttributeName::VisibilityTimeout, WORK_VISIBILITY_TIMEOUT.to_owned()),
                (QueueAttributeName::RedrivePolicy, redrive.to_string()),
            ],
        )
        .await?;
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(&work_queue_arn)
            .attributes("RawMessageDelivery", "false")
            .attributes("RedrivePolicy", json!({"deadLetterTargetArn": subscription_dlq_arn}).to_string())
            .send()
            .await
            .map_err(failed(format!("Subscribe {work_queue_arn}")))?;

        let prefix = FilterRule::builder().name(FilterRuleName::Prefix).value(UPLOAD_PREFIX).build();
        let filter =
            NotificationConfigurationFilter::builder().key(S3KeyFilter::builder().filter_rules(prefix).build()).build();
        let notify = TopicConfiguration::builder()
            .topic_arn(&topic_arn)
            .events(Event::from("s3:ObjectCreated:*"))
            .filter(filter)
            .build()
            .map_err(failed("TopicConfiguration"))?;
        s3.put_bucket_notification_configuration()
            .bucket(&ingest)
            .notification_configuration(NotificationConfiguration::builder().topic_configurations(notify).build())
            .send()
            .await
            .map_err(failed(format!("PutBucketNotificationConfiguration {ingest}")))?;

        let table = format!("{name}-idempotency");
        aws_sdk_dynamodb::Client::new(dynamodb)
            .create_table()
            .table_name(&table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("id")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(failed("AttributeDefinition"))?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("id")
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(failed("KeySchemaElement"))?,
            )
            .send()
            .await
            .map_err(failed(format!("CreateTable {table}")))?;

        let common = BTreeMap::from([
            ("RESULTS_BUCKET", results.clone()),
            ("IDEMPOTENCY_TABLE", table.clone()),
            ("IDEMPOTENCY_TTL_SECONDS", "1209600".to_owned()),
            ("MAX_OBJECT_BYTES", "268435456".to_owned()),
            ("DEADLINE_MARGIN_MS", "1000".to_owned()),
        ]);
        let function = |logical_id: &str, binary: &str, own: &[(&str, &str)]| {
            let mut environment = sluice_sam::stack::execution_environment();
            environment.extend(common.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
            environment.extend(own.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
            // The stack the resources were made on, when the configuration names it in code.
            if let Some(url) = aws.endpoint_url() {
                environment.insert("AWS_ENDPOINT_URL".into(), url.to_owned());
            }
            let mut config: FunctionConfig = serde_json::from_value(json!({
                "name": logical_id,
                "bootstrap": workers.join(binary),
                "memory_mb": 256,
            }))
            .expect("a function configuration");
            config.timeout = Duration::from_secs(30);
            config.environment = environment;
            config
        };
        let mut sqs_worker = function(
            SQS_WORKER,
            "sqs-worker",
            &[
                ("RESULTS_PREFIX", "receipts/sqs/"),
                ("DEAD_LETTER_QUEUE_URL", &work_dlq_url),
                ("BATCH_CONCURRENCY", "10"),
            ],
        );
        sqs_worker.reserved_concurrency = None;
        let mut sns_worker = function(SNS_WORKER, "sns-worker", &[("RESULTS_PREFIX", "receipts/sns/")]);
        // Lambda's defaults made explicit by the template: 2 retries, then the destination.
        sns_worker.async_invoke = AsyncInvokeConfig {
            maximum_retry_attempts: 2,
            on_failure_queue_url: Some(direct_failures_url.clone()),
            ..AsyncInvokeConfig::default()
        };
        let config = ServiceConfig {
            functions: vec![sqs_worker, sns_worker],
            event_source_mappings: vec![EventSourceMappingConfig {
                function: SQS_WORKER.into(),
                queue_url: work_queue_url.clone(),
                batch_size: 10,
                batching_window: Duration::ZERO,
                maximum_concurrency: Some(5),
                report_batch_item_failures: true,
            }],
            sns_subscriptions: vec![SnsSubscriptionConfig {
                topic_arn: topic_arn.clone(),
                function: SNS_WORKER.into(),
            }],
            ..ServiceConfig::default()
        };
        let resources = Resources {
            ingest_bucket: ingest,
            upload_prefix: UPLOAD_PREFIX.into(),
            results_bucket: results,
            topic_arn,
            work_queue_url,
            work_dlq_url,
            direct_failures_url,
            subscription_dlq_url,
            idempotency_table: table,
            sqs_function: SQS_WORKER.into(),
            sns_function: SNS_WORKER.into(),
        };
        Ok(Provisioned { resources, config })
    }

    /// The environment variable names `template` gives function `logical_id` (its own and the
    /// `Globals`), for checking a provisioned copy against it.
    pub fn template_environment_names(
        template: &sluice_sam::template::SamTemplate,
        logical_id: &str,
    ) -> BTreeSet<String> {
        let variables = |v: &serde_json::Value| -> Vec<String> {
            v["Environment"]["Variables"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
        };
        let mut names: BTreeSet<String> = variables(&template.body["Globals"]["Function"]).into_iter().collect();
        names.extend(variables(&template.body["Resources"][logical_id]["Properties"]));
        names
    }
}
