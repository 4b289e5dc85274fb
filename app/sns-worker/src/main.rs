//! The object-summary worker subscribed to SNS directly (S3 -> SNS -> Lambda).
//! Configuration: see `sluice_object_summary::Config`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    sluice_object_summary::run(sluice::Path::Sns).await
}
