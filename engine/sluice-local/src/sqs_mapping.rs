//! SQS event source mappings: poll, batch, invoke, delete what succeeded.
//!
//! Follows the Lambda Developer Guide (services-sqs-parameters, services-sqs-errorhandling,
//! "Reporting batch item failures"):
//! - a batch is sent when it holds `BatchSize` records or the batching window ends (the window
//!   is ignored on FIFO queues);
//! - it starts with 5 concurrent batches and adds one every 200 ms (300 a minute) while
//!   messages are available, at most `ScalingConfig.MaximumConcurrency` (or what the function
//!   may run), and goes back to 5 when the queue is empty (services-sqs-scaling);
//! - with `ReportBatchItemFailures`, an empty or null `batchItemFailures` is full success, the
//!   listed ids fail, and an invalid response, an empty, null or unknown `itemIdentifier`, or a
//!   function error fails the whole batch;
//! - successes are deleted (`DeleteMessageBatch`); failures are left to reappear after the
//!   visibility timeout, and the queue's redrive policy moves them to its DLQ after
//!   `maxReceiveCount` receives;
//! - on FIFO queues SQS itself hands out a message group only while none of its messages is in
//!   flight, so each group has at most one batch in flight;
//! - a batch that cannot get an instance while the function could still finish inside the
//!   queue's visibility timeout is *released* (made visible again at once) instead of run late,
//!   when its messages may already be delivered again;
//! - a batch that finds no concurrency is throttled: recorded as a throttle, it waits for the
//!   next free slot (Lambda "gradually backs off" and tries again, services-sqs-errorhandling);
//! - per-entry `DeleteMessageBatch` failures are retried and logged;
//! - with a batching window, the last second of the window is waited out, then one short poll:
//!   `WaitTimeSeconds` counts whole seconds, and a zero-second poll in a loop would spin.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName, QueueAttributeName};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::EventSourceMappingConfig;
use crate::function::{Function, InvokeRequest};
use crate::records::{BatchRecord, Trigger};

/// Concurrent batches a mapping starts with, and one more every [`SCALE_UP_INTERVAL`] while
/// messages are available: [`sluice_rules::sqs_mapping`]'s rules, which the model plays too.
pub use sluice_rules::sqs_mapping::{SCALE_UP_INTERVAL, START_CONCURRENCY};

/// The visibility timeout a failed message gets on a scaled clock: the queue's, divided by the
/// time scale, in the whole seconds SQS counts (`ChangeMessageVisibility`), or `None` at scale 1
/// (the queue's own timeout then runs as it is).
///
/// ```
/// use std::time::Duration;
/// use sluice_local::sqs_mapping::played_visibility_timeout;
/// assert_eq!(played_visibility_timeout(Duration::from_secs(200), 60.0), Some(Duration::from_secs(3)));
/// assert_eq!(played_visibility_timeout(Duration::from_secs(200), 1.0), None);
/// ```
pub fn played_visibility_timeout(visibility: Duration, time_scale: f64) -> Option<Duration> {
    (time_scale > 1.0).then(|| Duration::from_secs(visibility.div_f64(time_scale).as_secs_f64().round() as u64))
}

/// Why a mapping cannot be created.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// Lambda refuses a mapping whose function timeout exceeds the queue's visibility timeout
    /// (services-sqs-configure).
    #[error(
        "InvalidParameterValueException: queue visibility timeout: {visibility}s is less than function timeout: {timeout}s"
    )]
    VisibilityTimeout {
        /// The queue's visibility timeout.
        visibility: u64,
        /// The function's timeout.
        timeout: u64,
    },
    /// Bad settings.
    #[error("InvalidParameterValueException: {0}")]
    Invalid(String),
    /// The queue could not be read.
    #[error("GetQueueAttributes {url}: {message}")]
    Queue {
        /// The queue.
        url: String,
        /// What SQS said.
        message: String,
    },
}

/// A validated mapping, ready to poll.
pub(crate) struct Mapping {
    config: EventSourceMappingConfig,
    function: Arc<Function>,
    queue_arn: String,
    visibility: Duration,
    fifo: bool,
    sqs: aws_sdk_sqs::Client,
    region: String,
    /// The batching window is AWS time, played this many times faster.
    time_scale: f64,
}

impl Mapping {
    /// Checks the mapping as `CreateEventSourceMapping` does.
    pub(crate) async fn create(
        config: EventSourceMappingConfig,
        function: Arc<Function>,
        sqs: aws_sdk_sqs::Client,
        region: String,
        time_scale: f64,
    ) -> Result<Self, MappingError> {
        let fifo = config.queue_url.ends_with(".fifo");
        if config.batching_window > sluice_rules::sqs_mapping::MAXIMUM_BATCHING_WINDOW {
            return Err(MappingError::Invalid(format!(
                "MaximumBatchingWindowInSeconds {} is not within 0 to 300",
                config.batching_window.as_secs_f64()
            )));
        }
        let largest = if fifo { 10 } else { sluice_rules::sqs_mapping::MAXIMUM_BATCH_SIZE };
        if config.batch_size == 0 || config.batch_size > largest {
            return Err(MappingError::Invalid(format!("BatchSize {} is out of range", config.batch_size)));
        }
        if config.batch_size > 10 && config.batching_window.is_zero() {
            return Err(MappingError::Invalid(
                "BatchSize over 10 needs MaximumBatchingWindowInSeconds of at least 1".into(),
            ));
        }
        let (least, most) = sluice_rules::sqs_mapping::MAXIMUM_CONCURRENCY_RANGE;
        if let Some(max) = config.maximum_concurrency
            && !(least..=most).contains(&max)
        {
            return Err(MappingError::Invalid(format!("MaximumConcurrency {max} is not within 2 to 1000")));
        }
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&config.queue_url)
            .attribute_names(QueueAttributeName::VisibilityTimeout)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| MappingError::Queue {
                url: config.queue_url.clone(),
                message: aws_sdk_sqs::error::DisplayErrorContext(&e).to_string(),
            })?
            .attributes
            .unwrap_or_default();
        let visibility: u64 =
            attributes.get(&QueueAttributeName::VisibilityTimeout).and_then(|v| v.parse().ok()).unwrap_or(30);
        let timeout = function.config.timeout.as_secs_f64().ceil() as u64;
        if timeout > visibility {
            return Err(MappingError::VisibilityTimeout { visibility, timeout });
        }
        // AWS's guidance: a visibility timeout of at least 6 x the function timeout leaves room
        // for throttled retries (services-sqs-configure). A scaled local run keeps that ratio.
        if visibility < 6 * timeout {
            tracing::warn!(queue = %config.queue_url, visibility, timeout,
                "the queue's visibility timeout is under 6 x the function timeout: throttled batches may be \
                 released and delivered again sooner than on AWS's recommended settings");
        }
        let queue_arn = attributes.get(&QueueAttributeName::QueueArn).cloned().unwrap_or_default();
        Ok(Mapping {
            config,
            function,
            queue_arn,
            visibility: Duration::from_secs(visibility),
            fifo,
            sqs,
            region,
            time_scale,
        })
    }

    /// Polls until `stop`, scaling its concurrent batches as Lambda does: from
    /// [`START_CONCURRENCY`] up by one every [`SCALE_UP_INTERVAL`] (on the time scale) while
    /// messages are available, never past `MaximumConcurrency` or what the function may run, and
    /// back to the start when the queue is empty.
    pub(crate) async fn run(self: Arc<Self>, stop: CancellationToken) {
        let time_scale = self.time_scale;
        let maximum =
            sluice_rules::sqs_mapping::ceiling(self.config.maximum_concurrency, self.function.max_concurrency()).max(1);
        let start = START_CONCURRENCY.min(maximum);
        let step = SCALE_UP_INTERVAL.div_f64(time_scale);
        let slots = Arc::new(Semaphore::new(start as usize));
        let mut level = start;
        let mut last_change = Instant::now();
        let name = self.function.config.name.clone();
        self.function.records.mapping_level(&name, level);
        loop {
            let permit = tokio::select! {
                p = slots.clone().acquire_owned() => p.expect("never closed"),
                _ = stop.cancelled() => return,
            };
            let (batch, receipt) = tokio::select! {
                b = self.receive_batch() => b,
                _ = stop.cancelled() => return,
            };
            if batch.is_empty() {
                // The queue is empty: back to the starting concurrency, as slots come free.
                drop(permit);
                let before = level;
                while level > start {
                    let Ok(spare) = slots.try_acquire() else { break };
                    spare.forget();
                    level -= 1;
                }
                last_change = Instant::now();
                if level != before {
                    self.function.records.mapping_level(&name, level);
                }
                continue;
            }
            if level < maximum && last_change.elapsed() >= step {
                slots.add_permits(1);
                level += 1;
                last_change = Instant::now();
                self.function.records.mapping_level(&name, level);
            }
            let received = Instant::now();
            let mapping = self.clone();
            tokio::spawn(async move {
                // Wait for an instance only while the function could still finish before the
                // messages become visible again; after that, give them back.
                let budget =
                    sluice_rules::sqs_mapping::slot_wait_budget(mapping.visibility, mapping.function.config.timeout);
                let slot = match mapping.function.free_slot() {
                    Some(slot) => Some(slot),
                    None => {
                        mapping.function.records.throttle(&mapping.function.config.name, Trigger::EventSourceMapping);
                        tokio::time::timeout_at(received + budget, mapping.function.slot()).await.ok()
                    }
                };
                match slot {
                    Some(slot) => mapping.invoke(slot, batch, receipt).await,
                    None => mapping.release(batch, receipt).await,
                }
                drop(permit);
            });
        }
    }

    /// Receives up to `BatchSize` messages, waiting at most the batching window once the first
    /// has arrived; with how long the receive took.
    async fn receive_batch(&self) -> (Vec<Message>, Received) {
        let called_ms = sluice_clock::now_millis();
        let want = self.config.batch_size as usize;
        let window = if self.fifo { Duration::ZERO } else { self.config.batching_window.div_f64(self.time_scale) };
        let mut batch: Vec<Message> = Vec::new();
        let mut window_end: Option<Instant> = None;
        loop {
            let wait = match window_end {
                None => 1,
                Some(end) => {
                    let left = end.saturating_duration_since(Instant::now());
                    if left >= Duration::from_secs(1) {
                        1
                    } else {
                        tokio::time::sleep(left).await;
                        0
                    }
                }
            };
            self.function.records.sqs_request(&self.function.config.name, "ReceiveMessage");
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.config.queue_url)
                .max_number_of_messages((want - batch.len()).min(10) as i32)
                .wait_time_seconds(wait)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await;
            match received {
                Ok(out) => batch.extend(out.messages.unwrap_or_default()),
                Err(e) => {
                    tracing::warn!(queue = %self.config.queue_url, error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "ReceiveMessage failed");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
            if batch.is_empty() {
                return (batch, Received::at(called_ms, &[]));
            }
            let end = *window_end.get_or_insert_with(|| Instant::now() + window);
            if batch.len() >= want || Instant::now() >= end {
                let received = Received::at(called_ms, &batch);
                return (batch, received);
            }
        }
    }

    fn record_batch(&self, messages: usize, fate: &'static str, deleted: usize, received: Received, delete_us: u64) {
        let record = BatchRecord {
            function: self.function.config.name.clone(),
            messages,
            fate,
            deleted,
            received_ms: received.at_ms,
            receive_us: received.took_us,
            delete_us,
        };
        self.function.records.batch(record);
    }

    /// Gives a batch back to the queue at once: no instance was free in time.
    async fn release(&self, batch: Vec<Message>, received: Received) {
        tracing::warn!(function = %self.function.config.name, messages = batch.len(),
            "no instance free before the visibility timeout would run out: batch released");
        let all: Vec<&Message> = batch.iter().collect();
        self.set_visibility(&all, 0).await;
        self.record_batch(batch.len(), "released", 0, received, 0);
    }

    /// Makes `messages` visible again after `seconds`.
    async fn set_visibility(&self, messages: &[&Message], seconds: i32) {
        for chunk in messages.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle().unwrap_or_default())
                        .visibility_timeout(seconds)
                        .build()
                        .expect("id and handle are set")
                })
                .collect::<Vec<_>>();
            self.function.records.sqs_request(&self.function.config.name, "ChangeMessageVisibilityBatch");
            let sent =
                self.sqs.change_message_visibility_batch().queue_url(&self.config.queue_url).set_entries(Some(entries));
            if let Err(e) = sent.send().await {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e),
                    "ChangeMessageVisibilityBatch failed: the messages reappear after the queue's visibility timeout");
            }
        }
    }

    /// Failed messages reappear after the queue's visibility timeout, on the time scale: at a
    /// scale above 1 their remaining visibility is shortened to the scaled timeout (whole
    /// seconds, as SQS counts them), so redeliveries come when a scaled run expects them.
    async fn play_visibility_timeout(&self, failed: &[&Message]) {
        let Some(scaled) = played_visibility_timeout(self.visibility, self.time_scale) else { return };
        if !failed.is_empty() {
            self.set_visibility(failed, scaled.as_secs() as i32).await;
        }
    }

    async fn invoke(&self, slot: tokio::sync::OwnedSemaphorePermit, mut batch: Vec<Message>, received: Received) {
        // All records of one invocation fit the synchronous payload limit, 6 MB (with-sqs: "up
        // to the payload limit for synchronous invocation"); the rest stay for the next batch.
        let mut records: Vec<Value> = batch.iter().map(|m| self.record(m)).collect();
        let mut size = 16; // {"Records":[]}
        let fits = records
            .iter()
            .map(|r| r.to_string().len() + 1)
            .take_while(|n| {
                size += n;
                size <= crate::invoke_api::SYNC_PAYLOAD_LIMIT
            })
            .count()
            .max(1);
        if fits < batch.len() {
            let rest = batch.split_off(fits);
            records.truncate(fits);
            tracing::info!(function = %self.function.config.name, kept = fits, left = rest.len(),
                "batch over 6 MB: the rest stays in the queue for the next batch");
            let rest: Vec<&Message> = rest.iter().collect();
            self.set_visibility(&rest, 0).await;
        }
        let event = json!({ "Records": records });
        let ids: Vec<String> = batch.iter().map(|m| m.message_id.clone().unwrap_or_default()).collect();
        let now_ms = sluice_clock::now_millis();
        let oldest_ms = batch
            .iter()
            .filter_map(|m| m.attributes()?.get(&MessageSystemAttributeName::SentTimestamp)?.parse::<u64>().ok())
            .min()
            .unwrap_or(now_ms);
        let request = InvokeRequest {
            batch_size: batch.len(),
            queue_wait: Duration::from_millis(now_ms.saturating_sub(oldest_ms)),
            ..InvokeRequest::new(event.to_string().into_bytes(), Trigger::EventSourceMapping)
        };
        let result = self.function.invoke(slot, request).await;
        let all: Vec<&Message> = batch.iter().collect();
        let failed = if !result.is_success() {
            tracing::info!(function = %self.function.config.name, error = %result.error_message(), "batch failed as a whole");
            self.play_visibility_timeout(&all).await;
            return self.record_batch(batch.len(), "invoked", 0, received, 0);
        } else if self.config.report_batch_item_failures {
            match failed_items(&result.body, &ids) {
                Ok(failed) => failed,
                Err(why) => {
                    tracing::warn!(function = %self.function.config.name, why, "invalid batch response: the whole batch fails");
                    self.play_visibility_timeout(&all).await;
                    return self.record_batch(batch.len(), "invoked", 0, received, 0);
                }
            }
        } else {
            HashSet::new()
        };
        let (retried, done): (Vec<&Message>, Vec<&Message>) =
            batch.iter().partition(|m| failed.contains(m.message_id().unwrap_or_default()));
        self.play_visibility_timeout(&retried).await;
        let mut deleted = 0;
        let deleting = Instant::now();
        for chunk in done.chunks(10) {
            deleted += self.delete(chunk).await;
        }
        let delete_us = if done.is_empty() { 0 } else { deleting.elapsed().as_micros() as u64 };
        self.record_batch(batch.len(), "invoked", deleted, received, delete_us);
    }

    /// Deletes up to 10 messages, retrying entries that fail (at most 3 rounds); how many went.
    async fn delete(&self, messages: &[&Message]) -> usize {
        const ROUNDS: usize = 3;
        let mut pending: Vec<(String, &Message)> =
            messages.iter().enumerate().map(|(i, m)| (i.to_string(), *m)).collect();
        let mut deleted = 0;
        for round in 1..=ROUNDS {
            let entries = pending
                .iter()
                .map(|(id, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(id)
                        .receipt_handle(m.receipt_handle().unwrap_or_default())
                        .build()
                        .expect("id and handle are set")
                })
                .collect::<Vec<_>>();
            self.function.records.sqs_request(&self.function.config.name, "DeleteMessageBatch");
            let sent = self.sqs.delete_message_batch().queue_url(&self.config.queue_url).set_entries(Some(entries));
            match sent.send().await {
                Ok(out) => {
                    deleted += out.successful().len();
                    let failed: HashSet<&str> = out.failed().iter().map(|f| f.id()).collect();
                    for f in out.failed() {
                        tracing::warn!(round, id = f.id(), code = f.code(), message = ?f.message(),
                            sender_fault = f.sender_fault(), "DeleteMessageBatch entry failed");
                    }
                    pending.retain(|(id, _)| failed.contains(id.as_str()));
                }
                Err(e) => {
                    tracing::warn!(round, error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "DeleteMessageBatch failed")
                }
            }
            if pending.is_empty() {
                break;
            }
        }
        if !pending.is_empty() {
            tracing::error!(
                messages = pending.len(),
                "not deleted after {ROUNDS} rounds: they will be delivered again"
            );
        }
        deleted
    }

    /// The Lambda SQS event record of a received message (API casing to event casing).
    fn record(&self, m: &Message) -> Value {
        let attributes: serde_json::Map<String, Value> = m
            .attributes()
            .map(|a| a.iter().map(|(k, v)| (k.as_str().to_owned(), json!(v))).collect())
            .unwrap_or_default();
        let message_attributes: serde_json::Map<String, Value> = m
            .message_attributes()
            .map(|a| {
                a.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            json!({
                                "stringValue": v.string_value(),
                                "binaryValue": v.binary_value().map(|b| aws_smithy_types::base64::encode(b.as_ref())),
                                "stringListValues": [], "binaryListValues": [],
                                "dataType": v.data_type()
                            }),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut record = json!({
            "messageId": m.message_id(),
            "receiptHandle": m.receipt_handle(),
            "body": m.body(),
            "attributes": attributes,
            "messageAttributes": message_attributes,
            "md5OfBody": m.md5_of_body(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        });
        if let Some(md5) = m.md5_of_message_attributes() {
            record["md5OfMessageAttributes"] = json!(md5);
        }
        record
    }
}

/// The message ids a `ReportBatchItemFailures` response reports failed, or why the response
/// fails the whole batch.
pub fn failed_items(body: &[u8], ids: &[String]) -> Result<HashSet<String>, String> {
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() {
        return Ok(HashSet::new());
    }
    let value: Value = serde_json::from_str(&text).map_err(|e| format!("response is not JSON: {e}"))?;
    let failures = match &value {
        Value::Null => return Ok(HashSet::new()),
        Value::Object(o) => match o.get("batchItemFailures") {
            None | Some(Value::Null) => return Ok(HashSet::new()),
            Some(Value::Array(items)) => items,
            Some(other) => return Err(format!("batchItemFailures is not a list: {other}")),
        },
        other => return Err(format!("response is not an object: {other}")),
    };
    let mut failed = HashSet::new();
    for item in failures {
        match item.get("itemIdentifier") {
            Some(Value::String(id)) if !id.is_empty() && ids.contains(id) => {
                failed.insert(id.clone());
            }
            Some(Value::String(id)) if !id.is_empty() => {
                return Err(format!("itemIdentifier {id:?} is not in the batch"));
            }
            Some(Value::String(_)) => return Err("empty itemIdentifier".into()),
            Some(Value::Null) | None => return Err(format!("item without itemIdentifier: {item}")),
            Some(other) => return Err(format!("itemIdentifier is not a string: {other}")),
        }
    }
    Ok(failed)
}

/// When a batch was in hand and how long its receive took.
#[derive(Debug, Clone, Copy)]
struct Received {
    at_ms: u64,
    took_us: u64,
}

impl Received {
    /// A receive called at `called_ms` that returned `batch` now: its time runs from the call,
    /// or from the first message's arrival if the call was already waiting for it.
    fn at(called_ms: u64, batch: &[Message]) -> Received {
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
        let first_sent_ms = batch
            .iter()
            .filter_map(|m| m.attributes()?.get(&MessageSystemAttributeName::SentTimestamp)?.parse::<u64>().ok())
            .min()
            .unwrap_or(called_ms);
        let from_us = called_ms.max(first_sent_ms) * 1000;
        Received { at_ms: now / 1000, took_us: now.saturating_sub(from_us) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    #[test]
    fn success_forms() {
        for body in ["", "null", "{}", r#"{"batchItemFailures":[]}"#, r#"{"batchItemFailures":null}"#] {
            assert_eq!(failed_items(body.as_bytes(), &ids()), Ok(HashSet::new()), "{body}");
        }
    }

    #[test]
    fn listed_ids_fail() {
        let failed = failed_items(br#"{"batchItemFailures":[{"itemIdentifier":"b"}]}"#, &ids()).unwrap();
        assert_eq!(failed, HashSet::from(["b".to_owned()]));
    }

    #[test]
    fn whole_batch_failure_forms() {
        for body in [
            "not json",
            r#""ok""#,
            r#"{"batchItemFailures":[{"itemIdentifier":""}]}"#,
            r#"{"batchItemFailures":[{"itemIdentifier":null}]}"#,
            r#"{"batchItemFailures":[{"id":"a"}]}"#,
            r#"{"batchItemFailures":[{"itemIdentifier":"zzz"}]}"#,
            r#"{"batchItemFailures":"a"}"#,
        ] {
            assert!(failed_items(body.as_bytes(), &ids()).is_err(), "{body}");
        }
    }
}
