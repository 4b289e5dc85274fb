//! The assertions of the fuzz targets, one function per target.
//!
//! A fuzz target is only as good as what it asserts, and the kept corpus is only as good as its
//! replay. Each function here is the whole body of one target in `fuzz/fuzz_targets/`: the
//! fuzzer calls it on generated input, and `tests/replay.rs` calls the same function on every
//! input in `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` on stable Rust. A bound
//! that a fuzzer enforces is therefore enforced by the test command on everything the fuzzers
//! ever kept.
//!
//! Every function panics, through `assert!`, when its input breaks a promise of the code under
//! test; it returns quietly otherwise.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::sqs::SqsEvent;
use sluice::{
    BoxError, DeadLetter, DeadLetterSink, Idempotency, ItemContext, ProcessError, Processor, SqsBatchHandler,
};
use sluice_events::s3::{MAX_KEY_BYTES, S3Notification, S3ObjectEvent};

/// No error message, failure reason or dead-letter reason built from hostile input is longer
/// than this, whatever the input's size.
pub const MAX_ERROR_BYTES: usize = 512;

/// The fuzz targets, by name: the directories of `fuzz/corpus/` and `fuzz/regressions/`.
pub const TARGETS: [&str; 4] = ["decode_key", "s3_notification", "sns_envelope", "sqs_batch_handler"];

/// The checks of `target` on `bytes`, as its fuzz target runs them. A target of text, like
/// libFuzzer's `&str` targets, ignores bytes that are not UTF-8.
///
/// # Panics
/// On an unknown target, and where the input breaks the target's assertions.
pub fn check(target: &str, bytes: &[u8]) {
    let text = || std::str::from_utf8(bytes).ok();
    match target {
        "decode_key" => text().map_or((), decode_key),
        "s3_notification" => text().map_or((), s3_notification),
        "sns_envelope" => text().map_or((), sns_envelope),
        "sqs_batch_handler" => sqs_batch_handler(bytes),
        other => panic!("no fuzz target {other:?}"),
    }
}

/// Asserts that `message`, what an error about hostile input says, is within [`MAX_ERROR_BYTES`].
///
/// # Panics
/// When it is not, naming `what` and quoting the start of the message.
pub fn assert_short(what: &str, message: &str) {
    assert!(
        message.len() <= MAX_ERROR_BYTES,
        "{what} grew with the input: {} bytes, over {MAX_ERROR_BYTES}: {}…",
        message.len(),
        &message[..message.floor_char_boundary(200)]
    );
}

/// `decode_key`: a key within S3's 1,024 bytes, or a short error.
pub fn decode_key(raw: &str) {
    match sluice_events::s3::decode_key(raw) {
        Ok(key) => assert!(key.len() <= MAX_KEY_BYTES, "a decoded key of {} bytes", key.len()),
        Err(e) => assert_short("a key's decode error", &e.to_string()),
    }
}

/// `s3_notification`: the S3 notification decoder returns a notification or a short error.
pub fn s3_notification(text: &str) {
    if let Err(e) = S3Notification::from_json(text) {
        assert_short("an S3 notification's decode error", &e.to_string());
    }
}

/// `sns_envelope`: envelope detection and whole-body decoding (envelope, then S3 payload) never
/// panic, and a decode error is short.
pub fn sns_envelope(text: &str) {
    let _ = sluice_events::sns::SnsEnvelope::detect(text);
    if let Err(e) = sluice_events::decode_body::<S3ObjectEvent>(text) {
        assert_short("a body's decode error", &e.to_string());
    }
}

/// `sqs_batch_handler`: the SQS batch handler fed arbitrary event bytes, as the Runtime API would
/// hand them over. A document that is not an SQS event is refused. An SQS event is answered:
/// every reported failure names a message of the batch, every dead letter comes from the batch
/// with a short reason, no message is both, and an error the handler answers with is short.
pub fn sqs_batch_handler(bytes: &[u8]) {
    let Ok(event) = serde_json::from_slice::<SqsEvent>(bytes) else { return };
    let ids: Vec<Option<String>> = event.records.iter().map(|r| r.message_id.clone()).collect();
    let letters = Letters::default();
    let handler = SqsBatchHandler::builder(Accept, Idempotency::new(sluice_idempotency::MemoryStore::new()))
        .dead_letter_queue(letters.clone())
        .build();
    let response = match runtime().block_on(handler.handle(event, &context())) {
        Ok(response) => response,
        Err(e) => return assert_short("the handler's error", &e.to_string()),
    };
    let in_batch = |id: &str| ids.iter().flatten().any(|known| known == id);
    for failure in &response.batch_item_failures {
        assert!(in_batch(&failure.item_identifier), "a failure names a message of the batch");
    }
    for letter in letters.0.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        assert_short("a dead letter's reason", &letter.reason);
        // A message without an id keeps its empty id in the letter: the body is what matters.
        let unnamed =
            letter.source_message_id.is_empty() && ids.iter().any(|id| id.as_deref().unwrap_or("").is_empty());
        assert!(in_batch(&letter.source_message_id) || unnamed, "a dead letter comes from the batch");
        assert!(
            !response.batch_item_failures.iter().any(|f| f.item_identifier == letter.source_message_id),
            "a dead-lettered message is not also reported failed"
        );
    }
}

/// A processor that accepts every record, but fails keys ending in `.fail` (retryable) and
/// `.poison` (permanent), so the fuzzer reaches both failure paths.
#[derive(Clone)]
struct Accept;

impl Processor<S3ObjectEvent> for Accept {
    type Output = ();

    async fn process(&self, record: S3ObjectEvent, _ctx: ItemContext) -> Result<(), ProcessError> {
        if record.key.ends_with(".fail") {
            return Err(ProcessError::retryable("asked to fail"));
        }
        if record.key.ends_with(".poison") {
            return Err(ProcessError::permanent(format!("poison: {}", record.key)));
        }
        Ok(())
    }
}

/// A dead-letter queue that keeps what it is sent.
#[derive(Clone, Default)]
struct Letters(Arc<Mutex<Vec<DeadLetter>>>);

#[async_trait]
impl DeadLetterSink for Letters {
    async fn send(&self, letter: &DeadLetter) -> Result<(), BoxError> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(letter.clone());
        Ok(())
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a current-thread runtime")
    })
}

/// An invocation with 30 s left.
fn context() -> lambda_runtime::Context {
    sluice::testing::context_for("fuzz", Duration::from_secs(30))
}
