//! The deployment's resources, provisioned on the local stack.
//!
//! The same resources as `template.yaml`, with the same settings (a test compares them):
//! - an ingest bucket, versioned, notifying the topic of `ObjectCreated` events under
//!   [`NOTIFICATION_PREFIX`](crate::topology::NOTIFICATION_PREFIX); receipts go to a separate results bucket, so no loop;
//! - the topic, with a policy that lets S3 publish;
//! - the queue path: an SQS subscription (raw delivery off) to the work queue, whose visibility
//!   timeout is 6 x the function timeout plus the batching window and whose redrive policy
//!   moves a message to the work DLQ after [`MAX_RECEIVE_COUNT`](crate::topology::MAX_RECEIVE_COUNT) receives;
//! - the direct path: the sns-worker's on-failure destination queue;
//! - a subscription DLQ for both subscriptions; DLQs keep messages 14 days;
//! - the idempotency table, keyed by `id`, with TTL on `expiration`.

use aws_sdk_s3::types::{
    BucketVersioningStatus, Event, FilterRule, FilterRuleName, NotificationConfiguration,
    NotificationConfigurationFilter, S3KeyFilter, TopicConfiguration, VersioningConfiguration,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::json;

/// Objects under this prefix are notified.
pub const NOTIFICATION_PREFIX: &str = "incoming/";
/// Function timeout of both workers, seconds.
pub const FUNCTION_TIMEOUT_SECONDS: u64 = 30;
/// Memory of both workers, MB (GB-seconds are billed duration x memory).
pub const MEMORY_MB: u32 = 256;
/// Instruction set of both workers (Lambda's duration price depends on it).
pub const ARCHITECTURE: &str = "arm64";
/// Event source mapping batch size.
pub const BATCH_SIZE: u32 = 10;
/// Event source mapping batching window, seconds (the template's default).
pub const BATCHING_WINDOW_SECONDS: u64 = 0;
/// The largest batching window the template allows, seconds.
pub const MAX_BATCHING_WINDOW_SECONDS: u64 = 20;
/// Event source mapping maximum concurrency.
pub const MAXIMUM_CONCURRENCY: u32 = 5;
/// Receives before SQS moves a message to the DLQ (AWS recommends at least 5: with-sqs).
pub const MAX_RECEIVE_COUNT: u32 = 5;
/// Work queue visibility timeout: 6 x function timeout + the largest batching window
/// (services-sqs-configure).
pub const VISIBILITY_TIMEOUT_SECONDS: u64 = 6 * FUNCTION_TIMEOUT_SECONDS + MAX_BATCHING_WINDOW_SECONDS;
/// DLQ retention: 14 days, the maximum (sns-dead-letter-queues recommends it).
pub const DLQ_RETENTION_SECONDS: u64 = 14 * 24 * 3600;
/// The idempotency table's TTL attribute.
pub const TTL_ATTRIBUTE: &str = "expiration";

/// Names and addresses of the provisioned resources.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct Topology {
    /// Bucket that uploads go to.
    pub ingest_bucket: String,
    /// Bucket that receipts go to.
    pub results_bucket: String,
    /// The topic S3 notifies.
    pub topic_arn: String,
    /// The queue the sqs-worker drains.
    pub work_queue_url: String,
    /// Where the work queue redrives to (and where the sqs-worker sends poison at once).
    pub work_dlq_url: String,
    /// The sns-worker's on-failure destination.
    pub direct_failures_url: String,
    /// The subscriptions' redrive DLQ.
    pub subscription_dlq_url: String,
    /// The idempotency table.
    pub idempotency_table: String,
}

/// Why provisioning failed: the call and what the service said.
#[derive(Debug, thiserror::Error)]
#[error("provisioning failed at {step}: {message}")]
pub struct ProvisionError {
    /// The API call.
    pub step: String,
    /// The error.
    pub message: String,
}

fn failed<E: std::error::Error>(step: impl Into<String>) -> impl FnOnce(E) -> ProvisionError {
    let step = step.into();
    move |e| ProvisionError { step, message: aws_sdk_s3::error::DisplayErrorContext(&e).to_string() }
}

struct Queue {
    url: String,
    arn: String,
}

impl Topology {
    /// Creates every resource, named `<name>-...`.
    pub async fn provision(aws: &aws_config::SdkConfig, name: &str) -> Result<Self, ProvisionError> {
        let s3 = s3_client(aws);
        let sqs = aws_sdk_sqs::Client::new(aws);
        let sns = aws_sdk_sns::Client::new(aws);
        let dynamodb = aws_sdk_dynamodb::Client::new(aws);

        let ingest_bucket = format!("{name}-ingest");
        let results_bucket = format!("{name}-results");
        for bucket in [&ingest_bucket, &results_bucket] {
            s3.create_bucket().bucket(bucket).send().await.map_err(failed(format!("CreateBucket {bucket}")))?;
            let on = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
            s3.put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(on)
                .send()
                .await
                .map_err(failed("PutBucketVersioning"))?;
        }

        let topic_arn = sns
            .create_topic()
            .name(format!("{name}-uploads"))
            .send()
            .await
            .map_err(failed("CreateTopic"))?
            .topic_arn
            .unwrap_or_default();
        let account = topic_arn.split(':').nth(4).unwrap_or("000000000000").to_owned();
        let topic_policy = json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "S3Publish", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "SNS:Publish", "Resource": topic_arn,
            "Condition": {"ArnLike": {"aws:SourceArn": format!("arn:aws:s3:::{ingest_bucket}")},
                          "StringEquals": {"aws:SourceAccount": account}}}]});
        sns.set_topic_attributes()
            .topic_arn(&topic_arn)
            .attribute_name("Policy")
            .attribute_value(topic_policy.to_string())
            .send()
            .await
            .map_err(failed("SetTopicAttributes Policy"))?;

        let retention = DLQ_RETENTION_SECONDS.to_string();
        let dlq_attrs = [(QueueAttributeName::MessageRetentionPeriod, retention.as_str())];
        let work_dlq = queue(&sqs, &format!("{name}-work-dlq"), &dlq_attrs).await?;
        let subscription_dlq = queue(&sqs, &format!("{name}-subscription-dlq"), &dlq_attrs).await?;
        let direct_failures = queue(&sqs, &format!("{name}-direct-failures"), &dlq_attrs).await?;
        let redrive = json!({"deadLetterTargetArn": work_dlq.arn, "maxReceiveCount": MAX_RECEIVE_COUNT}).to_string();
        let visibility = VISIBILITY_TIMEOUT_SECONDS.to_string();
        let work = queue(
            &sqs,
            &format!("{name}-work"),
            &[
                (QueueAttributeName::VisibilityTimeout, visibility.as_str()),
                (QueueAttributeName::RedrivePolicy, redrive.as_str()),
            ],
        )
        .await?;
        // SNS may send to the work queue and to the subscription DLQ.
        for q in [&work, &subscription_dlq] {
            let policy = json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
                "Resource": q.arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]});
            sqs.set_queue_attributes()
                .queue_url(&q.url)
                .attributes(QueueAttributeName::Policy, policy.to_string())
                .send()
                .await
                .map_err(failed("SetQueueAttributes Policy"))?;
        }
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(&work.arn)
            .attributes("RawMessageDelivery", "false")
            .attributes("RedrivePolicy", json!({"deadLetterTargetArn": subscription_dlq.arn}).to_string())
            .send()
            .await
            .map_err(failed("Subscribe sqs"))?;

        let filter = NotificationConfigurationFilter::builder()
            .key(
                S3KeyFilter::builder()
                    .filter_rules(FilterRule::builder().name(FilterRuleName::Prefix).value(NOTIFICATION_PREFIX).build())
                    .build(),
            )
            .build();
        let topic = TopicConfiguration::builder()
            .id("uploads")
            .topic_arn(&topic_arn)
            .events(Event::S3ObjectCreated)
            .filter(filter)
            .build()
            .map_err(failed("TopicConfiguration"))?;
        s3.put_bucket_notification_configuration()
            .bucket(&ingest_bucket)
            .notification_configuration(NotificationConfiguration::builder().topic_configurations(topic).build())
            .send()
            .await
            .map_err(failed("PutBucketNotificationConfiguration"))?;

        let idempotency_table = format!("{name}-idempotency");
        // The store's own layout: `id` partition key, on-demand, TTL on TTL_ATTRIBUTE.
        sluice_idempotency::DynamoDbStore::create_table(&dynamodb, &idempotency_table, None)
            .await
            .map_err(failed("CreateTable"))?;

        Ok(Topology {
            ingest_bucket,
            results_bucket,
            topic_arn,
            work_queue_url: work.url,
            work_dlq_url: work_dlq.url,
            direct_failures_url: direct_failures.url,
            subscription_dlq_url: subscription_dlq.url,
            idempotency_table,
        })
    }
}

async fn queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(QueueAttributeName, &str)],
) -> Result<Queue, ProvisionError> {
    let mut create = sqs.create_queue().queue_name(name);
    for (k, v) in attributes {
        create = create.attributes(k.clone(), *v);
    }
    let url = create.send().await.map_err(failed(format!("CreateQueue {name}")))?.queue_url.unwrap_or_default();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(failed("GetQueueAttributes"))?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_default();
    Ok(Queue { url, arn })
}

/// An S3 client with path-style addressing, since `<bucket>.127.0.0.1` does not resolve.
pub fn s3_client(aws: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(aws).force_path_style(true).build())
}
