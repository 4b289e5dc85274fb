//! The SQS batch handler fed arbitrary event bytes, as the Runtime API would hand them over: a
//! document that is not an SQS event is refused; an SQS event is answered with every failed
//! message reported by an id from the batch, never a panic.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use aws_lambda_events::sqs::SqsEvent;
use libfuzzer_sys::fuzz_target;
use sluice::{Idempotency, ItemContext, ProcessError, Processor, SqsBatchHandler};
use sluice_events::s3::S3ObjectEvent;
use sluice_idempotency::MemoryStore;

#[derive(Clone)]
struct Accept;

impl Processor<S3ObjectEvent> for Accept {
    type Output = ();

    async fn process(&self, record: S3ObjectEvent, _ctx: ItemContext) -> Result<(), ProcessError> {
        if record.key.ends_with(".fail") {
            return Err(ProcessError::retryable("asked to fail"));
        }
        Ok(())
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap())
}

fn context() -> lambda_runtime::Context {
    let deadline = std::time::SystemTime::now() + Duration::from_secs(30);
    let ms = deadline.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let mut context = lambda_runtime::Context::default();
    context.request_id = "fuzz".into();
    context.deadline = ms;
    context
}

fuzz_target!(|bytes: &[u8]| {
    let Ok(event) = serde_json::from_slice::<SqsEvent>(bytes) else { return };
    let ids: Vec<Option<String>> = event.records.iter().map(|r| r.message_id.clone()).collect();
    let handler = SqsBatchHandler::builder(Accept, Idempotency::new(MemoryStore::new())).build();
    let response = runtime().block_on(handler.handle(event, &context()));
    if let Ok(response) = response {
        for failure in &response.batch_item_failures {
            assert!(ids.iter().flatten().any(|id| *id == failure.item_identifier), "a failure names a message of the batch");
        }
    }
});
