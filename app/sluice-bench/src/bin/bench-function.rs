//! The sluice function `sluice bench` runs under the local Lambda service: an
//! `SqsBatchHandler` over S3 events in SNS envelopes, a no-op processor, no idempotency (the
//! Powertools side has none either), JSON logs as a worker writes them.

use sluice::{Idempotency, ItemContext, SqsBatchHandler, processor_fn};
use sluice_events::s3::S3ObjectEvent;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    sluice::telemetry::init_logs();
    let processor = processor_fn(|_: S3ObjectEvent, _: ItemContext| async { Ok(()) });
    lambda_runtime::run(SqsBatchHandler::builder(processor, Idempotency::disabled()).build()).await
}
