//! A worker on the queue path (S3 -> SNS -> SQS -> Lambda): each uploaded object is processed
//! once, failures are reported per message, and the rest of the batch is kept.
use sluice::prelude::*;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let processor = processor_fn(|object: S3ObjectEvent, _: ItemContext| async move {
        let size = object.size.ok_or_else(|| ProcessError::permanent("the event has no size"))?;
        println!("s3://{}/{} is {size} bytes", object.bucket, object.key);
        Ok(size)
    });
    // MemoryStore keeps idempotency records in this execution environment; use DynamoDbStore
    // (feature "dynamodb") or RedisStore (feature "redis") to share them across environments.
    let handler = SqsBatchHandler::builder(processor, Idempotency::new(MemoryStore::new())).build();
    lambda_runtime::run(handler).await
}
