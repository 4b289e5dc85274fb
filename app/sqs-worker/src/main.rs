//! The object-summary worker behind an SQS event source mapping (S3 -> SNS -> SQS -> Lambda).
//! Configuration: see `sluice_object_summary::Config`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    sluice_object_summary::run(sluice::Path::Sqs).await
}
