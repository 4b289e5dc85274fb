//! The pipeline's resources in a deployed `template.yaml` stack, found by the outputs the
//! template declares, and the upload prefix its ingest bucket notifies, read from the bucket.
//!
//! ```no_run
//! # async fn run(aws: &aws_config::SdkConfig, stack: &sluice_sam::stack::Stack) -> Result<(), sluice_sam::stack::StackError> {
//! let resources = sluice_harness::resources::Resources::of(aws, stack).await?;
//! println!("upload to s3://{}/{}", resources.ingest_bucket, resources.upload_prefix);
//! # Ok(()) }
//! ```

use sluice_sam::stack::{Stack, StackError};

/// The SQS worker's logical ID in `template.yaml` (its key in the local Lambda service).
pub const SQS_WORKER: &str = "SqsWorker";
/// The SNS worker's logical ID in `template.yaml`.
pub const SNS_WORKER: &str = "SnsWorker";

/// Names and addresses of the pipeline's resources.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct Resources {
    /// Bucket that uploads go to (output `IngestBucketName`).
    pub ingest_bucket: String,
    /// The key prefix the ingest bucket notifies the topic of (its notification filter).
    pub upload_prefix: String,
    /// Bucket that receipts go to (`ResultsBucketName`).
    pub results_bucket: String,
    /// The topic S3 notifies (`UploadsTopicArn`).
    pub topic_arn: String,
    /// The queue the SQS worker drains (`WorkQueueUrl`).
    pub work_queue_url: String,
    /// Where the work queue redrives to, and where the SQS worker sends poison at once
    /// (`WorkDeadLetterQueueUrl`).
    pub work_dlq_url: String,
    /// The SNS worker's on-failure destination (`DirectFailuresQueueUrl`).
    pub direct_failures_url: String,
    /// The subscriptions' redrive DLQ (`SubscriptionDeadLetterQueueUrl`).
    pub subscription_dlq_url: String,
    /// The idempotency table (`IdempotencyTableName`).
    pub idempotency_table: String,
    /// The SQS worker's deployed name (what CloudFormation named `SqsWorker`): its
    /// `AWS_LAMBDA_FUNCTION_NAME`, so its idempotency records' key prefix.
    pub sqs_function: String,
    /// The SNS worker's deployed name.
    pub sns_function: String,
}

impl Resources {
    /// The resources of `stack`, or an error naming the output it lacks.
    pub async fn of(aws: &aws_config::SdkConfig, stack: &Stack) -> Result<Self, StackError> {
        let ingest_bucket = stack.output("IngestBucketName")?.to_owned();
        let notifications = sluice::aws::s3_client(aws)
            .get_bucket_notification_configuration()
            .bucket(&ingest_bucket)
            .send()
            .await
            .map_err(|e| StackError::Call {
                call: format!("GetBucketNotificationConfiguration {ingest_bucket}"),
                message: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
            })?;
        let upload_prefix = notifications
            .topic_configurations()
            .iter()
            .filter_map(|c| {
                c.filter()?.key()?.filter_rules().iter().find(|r| r.name().is_some_and(|n| n.as_str() == "prefix"))
            })
            .find_map(|r| r.value().map(str::to_owned))
            .unwrap_or_default();
        Ok(Resources {
            ingest_bucket,
            upload_prefix,
            results_bucket: stack.output("ResultsBucketName")?.to_owned(),
            topic_arn: stack.output("UploadsTopicArn")?.to_owned(),
            work_queue_url: stack.output("WorkQueueUrl")?.to_owned(),
            work_dlq_url: stack.output("WorkDeadLetterQueueUrl")?.to_owned(),
            direct_failures_url: stack.output("DirectFailuresQueueUrl")?.to_owned(),
            subscription_dlq_url: stack.output("SubscriptionDeadLetterQueueUrl")?.to_owned(),
            idempotency_table: stack.output("IdempotencyTableName")?.to_owned(),
            sqs_function: deployed_name(stack, SQS_WORKER),
            sns_function: deployed_name(stack, SNS_WORKER),
        })
    }
}

/// The name CloudFormation gave the function `logical_id` (its logical ID if the stack does not
/// list it).
fn deployed_name(stack: &Stack, logical_id: &str) -> String {
    stack
        .resources
        .iter()
        .find(|r| r.logical_id == logical_id)
        .map_or_else(|| logical_id.to_owned(), |r| r.physical_id.clone())
}
