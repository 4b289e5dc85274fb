//! Kinesis Data Streams and DynamoDB Streams event source mappings: one poller per shard,
//! records in order, the checkpoint from a partial batch response, retries, bisection, record
//! age and an on-failure destination, as [`sluice_rules::stream_mapping`] states them.
//!
//! Each shard's poller reads records in order into a buffer and invokes the function
//! synchronously with up to `BatchSize` of them (Lambda's Kinesis and DynamoDB Streams event
//! shapes), once the batch is full or its `MaximumBatchingWindowInSeconds` (on the time scale)
//! has passed since its first record. Then:
//! - success: the batch is done, and the checkpoint moves past it;
//! - with `ReportBatchItemFailures`, a valid answer that lists sequence numbers: the checkpoint
//!   moves to the lowest of them, and the batch is tried again from that record; an invalid
//!   answer fails the whole batch;
//! - a function error (or a timeout, or a crash) fails the whole batch: with
//!   `BisectBatchOnFunctionError` its first half is tried next, without counting a retry;
//! - a failed batch is given up on when `MaximumRetryAttempts` retries are used up or its
//!   oldest record is older than `MaximumRecordAgeInSeconds` (on the time scale): a record of
//!   the batch, in AWS's shape, goes to the on-failure queue, and the shard moves on.
//!
//! Simplifications, which the guide states: the shards are listed once, when the mapping
//! starts (a reshard while the service runs is not followed); a failed batch is tried again after
//! one poll interval, without further backoff; an idle shard is read once a second (on the time
//! scale) for both streams. `ParallelizationFactor` runs that many batches of a shard at once,
//! each lane holding the records of the partition keys that hash to it, in order; each lane
//! keeps its own checkpoint (AWS keeps one per shard and orders by partition key too).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sluice_rules::stream_mapping::{GiveUp, POLL_INTERVAL, bisected, give_up};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::{StartingPosition, StreamMappingConfig};
use crate::function::{Function, InvokeRequest, InvokeResult};
use crate::records::Trigger;
use crate::sqs_mapping::{MappingError, failed_items};

/// Which stream a mapping reads, and its client.
enum Reader {
    Kinesis(aws_sdk_kinesis::Client),
    DynamoDb(aws_sdk_dynamodbstreams::Client),
}

/// One record read from a shard: what the event carries, and what the mapping needs of it.
struct ShardRecord {
    sequence_number: String,
    /// What decides its lane under `ParallelizationFactor`: a Kinesis record's partition key, a
    /// DynamoDB record's item key.
    partition_key: String,
    /// When the stream got it, epoch milliseconds.
    arrival_ms: u64,
    /// The record in the Lambda event's shape.
    event: Value,
}

/// A validated stream mapping, ready to poll.
pub(crate) struct StreamMapping {
    config: StreamMappingConfig,
    function: Arc<Function>,
    reader: Reader,
    sqs: aws_sdk_sqs::Client,
    region: String,
    time_scale: f64,
}

/// How one invocation of a batch ended.
enum BatchResult {
    /// Every record done.
    Done,
    /// Done up to the record at this index of the batch: the checkpoint.
    FailedFrom(usize),
    /// The whole batch failed.
    Failed,
}

fn sdk_error(e: impl std::error::Error) -> String {
    aws_sdk_kinesis::error::DisplayErrorContext(e).to_string()
}

impl StreamMapping {
    /// Checks the mapping as `CreateEventSourceMapping` does.
    pub(crate) fn create(
        config: StreamMappingConfig,
        function: Arc<Function>,
        aws: &aws_config::SdkConfig,
        sqs: aws_sdk_sqs::Client,
        region: String,
        time_scale: f64,
    ) -> Result<Self, MappingError> {
        sluice_rules::stream_mapping::validate(
            config.batch_size,
            config.maximum_retry_attempts,
            config.maximum_record_age_seconds,
            config.parallelization_factor,
        )
        .map_err(MappingError::Invalid)?;
        if config.batching_window > sluice_rules::stream_mapping::MAXIMUM_BATCHING_WINDOW {
            return Err(MappingError::Invalid(format!(
                "MaximumBatchingWindowInSeconds {} is not within 0 to 300",
                config.batching_window.as_secs_f64()
            )));
        }
        let arn = config.event_source_arn.as_str();
        let reader = if arn.starts_with("arn:aws:kinesis:") {
            Reader::Kinesis(aws_sdk_kinesis::Client::new(aws))
        } else if arn.starts_with("arn:aws:dynamodb:") && arn.contains("/stream/") {
            Reader::DynamoDb(aws_sdk_dynamodbstreams::Client::new(aws))
        } else {
            return Err(MappingError::Invalid(format!(
                "EventSourceArn {} is neither a Kinesis stream nor a DynamoDB table's stream",
                sluice_excerpt::Excerpt::of(arn)
            )));
        };
        Ok(StreamMapping { config, function, reader, sqs, region, time_scale })
    }

    /// Polls every shard until `stop`.
    pub(crate) async fn run(self: Arc<Self>, stop: CancellationToken) {
        let shards = loop {
            match self.shards().await {
                Ok(shards) => break shards,
                Err(e) => {
                    tracing::warn!(stream = %self.config.event_source_arn, error = %e, "listing the shards failed");
                    tokio::select! {
                        _ = tokio::time::sleep(self.poll_interval()) => {}
                        _ = stop.cancelled() => return,
                    }
                }
            }
        };
        for shard in shards {
            tokio::spawn(self.clone().poll_shard(shard, stop.clone()));
        }
    }

    fn poll_interval(&self) -> Duration {
        POLL_INTERVAL.div_f64(self.time_scale)
    }

    async fn shards(&self) -> Result<Vec<String>, String> {
        let arn = &self.config.event_source_arn;
        match &self.reader {
            Reader::Kinesis(kinesis) => {
                let out = kinesis.list_shards().stream_arn(arn).send().await.map_err(sdk_error)?;
                Ok(out.shards().iter().map(|s| s.shard_id().to_owned()).collect())
            }
            Reader::DynamoDb(streams) => {
                let out = streams.describe_stream().stream_arn(arn).send().await.map_err(sdk_error)?;
                let shards = out.stream_description().map(|d| d.shards()).unwrap_or_default();
                Ok(shards.iter().filter_map(|s| s.shard_id().map(str::to_owned)).collect())
            }
        }
    }

    async fn iterator(&self, shard: &str) -> Result<Option<String>, String> {
        let arn = &self.config.event_source_arn;
        let latest = self.config.starting_position == StartingPosition::Latest;
        match &self.reader {
            Reader::Kinesis(kinesis) => {
                use aws_sdk_kinesis::types::ShardIteratorType;
                let kind = if latest { ShardIteratorType::Latest } else { ShardIteratorType::TrimHorizon };
                // By name: moto's iterator keeps the name it was asked with, and GetRecords
                // finds the stream by it.
                let out = kinesis
                    .get_shard_iterator()
                    .stream_name(stream_name(arn))
                    .shard_id(shard)
                    .shard_iterator_type(kind)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                Ok(out.shard_iterator)
            }
            Reader::DynamoDb(streams) => {
                use aws_sdk_dynamodbstreams::types::ShardIteratorType;
                let kind = if latest { ShardIteratorType::Latest } else { ShardIteratorType::TrimHorizon };
                let out = streams
                    .get_shard_iterator()
                    .stream_arn(arn)
                    .shard_id(shard)
                    .shard_iterator_type(kind)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                Ok(out.shard_iterator)
            }
        }
    }

    /// Up to `limit` records from `iterator`, and the iterator after them.
    async fn read(
        &self,
        shard: &str,
        iterator: &str,
        limit: usize,
    ) -> Result<(Vec<ShardRecord>, Option<String>), String> {
        let arn = &self.config.event_source_arn;
        let limit = limit.clamp(1, 10_000) as i32;
        match &self.reader {
            Reader::Kinesis(kinesis) => {
                let out =
                    kinesis.get_records().shard_iterator(iterator).limit(limit).send().await.map_err(sdk_error)?;
                let records = out.records().iter().map(|r| self.kinesis_record(shard, r)).collect();
                Ok((records, out.next_shard_iterator))
            }
            Reader::DynamoDb(streams) => {
                let out =
                    streams.get_records().shard_iterator(iterator).limit(limit).send().await.map_err(sdk_error)?;
                let records = out.records().iter().map(|r| self.dynamodb_record(arn, r)).collect();
                Ok((records, out.next_shard_iterator))
            }
        }
    }

    /// A Kinesis record in the event's shape (with-kinesis, "Example Kinesis record event").
    fn kinesis_record(&self, shard: &str, r: &aws_sdk_kinesis::types::Record) -> ShardRecord {
        let arrival_ms = r.approximate_arrival_timestamp().and_then(|t| t.to_millis().ok()).unwrap_or(0).max(0) as u64;
        let sequence_number = r.sequence_number().to_owned();
        let event = json!({
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": r.partition_key(),
                "sequenceNumber": sequence_number,
                "data": aws_smithy_types::base64::encode(r.data().as_ref()),
                "approximateArrivalTimestamp": arrival_ms as f64 / 1000.0,
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": format!("{shard}:{sequence_number}"),
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": format!("arn:aws:iam::000000000000:role/{}", self.function.config.deployed_name()),
            "awsRegion": self.region,
            "eventSourceARN": self.config.event_source_arn,
        });
        ShardRecord { sequence_number, partition_key: r.partition_key().to_owned(), arrival_ms, event }
    }

    /// A DynamoDB Streams record in the event's shape (with-ddb, "Example DynamoDB event").
    fn dynamodb_record(&self, arn: &str, r: &aws_sdk_dynamodbstreams::types::Record) -> ShardRecord {
        let change = r.dynamodb();
        let created = change.and_then(|c| c.approximate_creation_date_time()).and_then(|t| t.to_millis().ok());
        let arrival_ms = created.unwrap_or(0).max(0) as u64;
        let sequence_number = change.and_then(|c| c.sequence_number()).unwrap_or_default().to_owned();
        let image =
            |item: Option<&std::collections::HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>| {
                item.map(|m| Value::Object(m.iter().map(|(k, v)| (k.clone(), attribute(v))).collect()))
            };
        let mut dynamodb = json!({
            "ApproximateCreationDateTime": arrival_ms / 1000,
            "SequenceNumber": sequence_number,
            "SizeBytes": change.and_then(|c| c.size_bytes()).unwrap_or(0),
            "StreamViewType": change.and_then(|c| c.stream_view_type()).map(|v| v.as_str()),
        });
        for (name, item) in [
            ("Keys", image(change.and_then(|c| c.keys()))),
            ("NewImage", image(change.and_then(|c| c.new_image()))),
            ("OldImage", image(change.and_then(|c| c.old_image()))),
        ] {
            if let Some(item) = item {
                dynamodb[name] = item;
            }
        }
        let partition_key = dynamodb.get("Keys").map(Value::to_string).unwrap_or_default();
        let event = json!({
            "eventID": r.event_id(),
            "eventName": r.event_name().map(|n| n.as_str()),
            "eventVersion": r.event_version().unwrap_or("1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": self.region,
            "dynamodb": dynamodb,
            "eventSourceARN": arn,
        });
        ShardRecord { sequence_number, partition_key, arrival_ms, event }
    }

    /// Reads `shard` in order until `stop`, handing its records to `ParallelizationFactor`
    /// lanes: the records of one partition key always go to the same lane, so they keep their
    /// order while the lanes run their batches at once.
    async fn poll_shard(self: Arc<Self>, shard: String, stop: CancellationToken) {
        let name = self.function.config.name.clone();
        let batch_size = self.config.batch_size as usize;
        let factor = self.config.parallelization_factor.max(1) as usize;
        let lanes: Vec<mpsc::Sender<Vec<ShardRecord>>> = (0..factor)
            .map(|_| {
                let (lane, records) = mpsc::channel(1);
                tokio::spawn(self.clone().run_lane(shard.clone(), records, stop.clone()));
                lane
            })
            .collect();
        let mut iterator = match self.iterator(&shard).await {
            Ok(Some(iterator)) => iterator,
            Ok(None) => return, // a closed shard with nothing left
            Err(e) => {
                tracing::warn!(function = %name, shard, error = %e, "GetShardIterator failed: the shard is not read");
                return;
            }
        };
        loop {
            let read = tokio::select! {
                read = self.read(&shard, &iterator, batch_size) => read,
                _ = stop.cancelled() => return,
            };
            let (records, next) = match read {
                Ok(read) => read,
                Err(e) => {
                    tracing::warn!(function = %name, shard, error = %e, "GetRecords failed");
                    (Vec::new(), Some(iterator.clone()))
                }
            };
            let idle = records.is_empty();
            // One hand-over per lane per read, so that a lane sees a read's records together.
            let mut by_lane: Vec<Vec<ShardRecord>> = (0..factor).map(|_| Vec::new()).collect();
            for record in records {
                by_lane[lane_of(&record.partition_key, factor)].push(record);
            }
            for (lane, records) in lanes.iter().zip(by_lane).filter(|(_, r)| !r.is_empty()) {
                tokio::select! {
                    sent = lane.send(records) => if sent.is_err() { return },
                    _ = stop.cancelled() => return,
                }
            }
            // A closed shard read to its end: the lanes finish what they hold.
            let Some(next) = next else { return };
            iterator = next;
            if idle {
                tokio::select! {
                    _ = tokio::time::sleep(self.poll_interval()) => {}
                    _ = stop.cancelled() => return,
                }
            }
        }
    }

    /// Runs one lane's batches in order: retries from the checkpoint, bisection, and giving up.
    async fn run_lane(
        self: Arc<Self>,
        shard: String,
        mut lane: mpsc::Receiver<Vec<ShardRecord>>,
        stop: CancellationToken,
    ) {
        let batch_size = self.config.batch_size as usize;
        let mut pending: VecDeque<ShardRecord> = VecDeque::new();
        let mut open = true;
        // `MaximumBatchingWindowInSeconds`, on the time scale, and when the gathering batch's ends.
        let window = self.config.batching_window.div_f64(self.time_scale);
        let mut window_end: Option<tokio::time::Instant> = None;
        // The current batch's retries, invocations, and the size of its next try once bisected.
        let (mut retries, mut invocations, mut next_size) = (0u32, 0u32, None::<usize>);
        loop {
            if stop.is_cancelled() {
                return;
            }
            while open && pending.len() < batch_size {
                match lane.try_recv() {
                    Ok(records) => pending.extend(records),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => open = false,
                }
            }
            if pending.is_empty() {
                if !open {
                    return;
                }
                tokio::select! {
                    records = lane.recv() => match records {
                        Some(records) => pending.extend(records),
                        None => open = false,
                    },
                    _ = stop.cancelled() => return,
                }
                continue;
            }
            // A new batch (not a retry) gathers records until it is full or its batching window,
            // counted from its first record, ends.
            let gathering = next_size.is_none() && open && pending.len() < batch_size;
            if gathering && !window.is_zero() {
                let end = *window_end.get_or_insert_with(|| tokio::time::Instant::now() + window);
                if tokio::time::Instant::now() < end {
                    tokio::select! {
                        records = lane.recv() => match records {
                            Some(records) => pending.extend(records),
                            None => open = false,
                        },
                        _ = tokio::time::sleep_until(end) => window_end = Some(tokio::time::Instant::now()),
                        _ = stop.cancelled() => return,
                    }
                    continue;
                }
            }
            window_end = None;
            let size = next_size.unwrap_or(batch_size).min(pending.len());
            let batch: Vec<&ShardRecord> = pending.iter().take(size).collect();
            let (result, answer) = self.invoke(&batch).await;
            invocations += 1;
            // How many records the checkpoint moves past, how many the next try holds, and
            // whether this failure counts as a retry (a split does not).
            let (checkpoint, failed, counts) = match result {
                BatchResult::Done => {
                    pending.drain(..size);
                    (retries, invocations, next_size) = (0, 0, None);
                    continue;
                }
                BatchResult::FailedFrom(index) => {
                    // The retry is the rest of this batch, from the checkpoint: not a bigger one.
                    next_size = Some(size - index);
                    (index, size - index, true)
                }
                BatchResult::Failed => {
                    let (smaller, split) = bisected(size, self.config.bisect_batch_on_function_error);
                    next_size = Some(smaller);
                    (0, smaller, !split)
                }
            };
            pending.drain(..checkpoint);
            let oldest = pending.front().map_or(0, |r| r.arrival_ms);
            let age = Duration::from_millis(sluice_clock::now_millis().saturating_sub(oldest)).mul_f64(self.time_scale);
            let maximum_retries = if counts { self.config.maximum_retry_attempts } else { -1 };
            if let Some(why) = give_up(retries, age, maximum_retries, self.config.maximum_record_age_seconds) {
                let given_up: Vec<ShardRecord> = pending.drain(..failed.min(pending.len())).collect();
                self.on_failure(&shard, &given_up, why, invocations, &answer).await;
                (retries, invocations, next_size) = (0, 0, None);
                continue;
            }
            retries += u32::from(counts);
            tokio::select! {
                _ = tokio::time::sleep(self.poll_interval()) => {}
                _ = stop.cancelled() => return,
            }
        }
    }

    /// Invokes the function with `batch`, waiting for a free instance as long as it takes.
    async fn invoke(&self, batch: &[&ShardRecord]) -> (BatchResult, InvokeResult) {
        let records: Vec<&Value> = batch.iter().map(|r| &r.event).collect();
        let event = json!({ "Records": records });
        let slot = match self.function.free_slot() {
            Some(slot) => slot,
            None => {
                self.function.records.throttle(&self.function.config.name, Trigger::EventSourceMapping);
                self.function.slot().await
            }
        };
        let now_ms = sluice_clock::now_millis();
        let oldest_ms = batch.iter().map(|r| r.arrival_ms).min().unwrap_or(now_ms);
        let request = InvokeRequest {
            batch_size: batch.len(),
            queue_wait: Duration::from_millis(now_ms.saturating_sub(oldest_ms)),
            ..InvokeRequest::new(event.to_string().into_bytes(), Trigger::EventSourceMapping)
        };
        let result = self.function.invoke(slot, request).await;
        let name = &self.function.config.name;
        if !result.is_success() {
            tracing::info!(function = %name, error = %result.error_message(), "stream batch failed as a whole");
            return (BatchResult::Failed, result);
        }
        if !self.config.report_batch_item_failures {
            return (BatchResult::Done, result);
        }
        let ids: Vec<String> = batch.iter().map(|r| r.sequence_number.clone()).collect();
        let outcome = match failed_items(&result.body, &ids) {
            Ok(failed) if failed.is_empty() => BatchResult::Done,
            // The checkpoint is the lowest reported sequence number: the earliest in the batch.
            Ok(failed) => BatchResult::FailedFrom(ids.iter().position(|id| failed.contains(id)).unwrap_or(0)),
            Err(why) => {
                tracing::warn!(function = %name, why, "invalid batch response: the whole batch fails");
                BatchResult::Failed
            }
        };
        (outcome, result)
    }

    /// Sends the record of a batch given up on to the on-failure queue, if there is one
    /// (services-kinesis-errors, services-ddb-errors: the batch's shard, sequence numbers and
    /// times, not its records).
    async fn on_failure(&self, shard: &str, batch: &[ShardRecord], why: GiveUp, invocations: u32, last: &InvokeResult) {
        let name = &self.function.config.name;
        let (Some(first), Some(end)) = (batch.first(), batch.last()) else { return };
        tracing::warn!(function = %name, shard, condition = why.condition(), records = batch.len(),
            first = %first.sequence_number, "stream batch given up on");
        let Some(url) = &self.config.on_failure_queue_url else { return };
        let info = match self.reader {
            Reader::Kinesis(_) => "KinesisBatchInfo",
            Reader::DynamoDb(_) => "DDBStreamBatchInfo",
        };
        let body = json!({
            "requestContext": {
                "requestId": last.request_id,
                "functionArn": self.function.arn,
                "condition": why.condition(),
                "approximateInvokeCount": invocations,
            },
            "responseContext": {
                "statusCode": last.status_code,
                "executedVersion": "$LATEST",
                "functionError": (!last.is_success()).then_some("Unhandled"),
            },
            "version": "1.0",
            "timestamp": rfc3339(sluice_clock::now_millis()),
            info: {
                "shardId": shard,
                "startSequenceNumber": first.sequence_number,
                "endSequenceNumber": end.sequence_number,
                "approximateArrivalOfFirstRecord": rfc3339(first.arrival_ms),
                "approximateArrivalOfLastRecord": rfc3339(end.arrival_ms),
                "batchSize": batch.len(),
                "streamArn": self.config.event_source_arn,
            },
        });
        self.function.records.sqs_request(name, "SendMessage");
        if let Err(e) = self.sqs.send_message().queue_url(url).message_body(body.to_string()).send().await {
            tracing::error!(function = %name, queue = %url, error = %sdk_error(e),
                "the on-failure record could not be sent: the batch is lost");
        }
    }
}

/// The lane of a record with `partition_key` among `lanes`: always the same one for one key.
fn lane_of(partition_key: &str, lanes: usize) -> usize {
    use std::hash::{Hash, Hasher};
    if lanes <= 1 {
        return 0;
    }
    let mut hasher = std::hash::DefaultHasher::new();
    partition_key.hash(&mut hasher);
    (hasher.finish() % lanes as u64) as usize
}

/// A Kinesis stream's name, from its ARN (`arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`).
fn stream_name(arn: &str) -> &str {
    arn.rsplit_once(":stream/").map_or(arn, |(_, name)| name)
}

/// Epoch milliseconds as `2026-12-05T23:50:29.796Z`.
fn rfc3339(ms: u64) -> String {
    let time = time::OffsetDateTime::UNIX_EPOCH + Duration::from_millis(ms);
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    time.format(&format).unwrap_or_default()
}

/// A DynamoDB attribute value in DynamoDB JSON (`{"S": "..."}`), as stream events carry it.
fn attribute(v: &aws_sdk_dynamodbstreams::types::AttributeValue) -> Value {
    use aws_sdk_dynamodbstreams::types::AttributeValue as A;
    let blob = |b: &aws_smithy_types::Blob| json!(aws_smithy_types::base64::encode(b.as_ref()));
    match v {
        A::S(s) => json!({ "S": s }),
        A::N(n) => json!({ "N": n }),
        A::B(b) => json!({ "B": blob(b) }),
        A::Ss(s) => json!({ "SS": s }),
        A::Ns(n) => json!({ "NS": n }),
        A::Bs(bs) => json!({ "BS": bs.iter().map(blob).collect::<Vec<_>>() }),
        A::M(m) => json!({ "M": m.iter().map(|(k, v)| (k.clone(), attribute(v))).collect::<serde_json::Map<_, _>>() }),
        A::L(l) => json!({ "L": l.iter().map(attribute).collect::<Vec<_>>() }),
        A::Null(n) => json!({ "NULL": n }),
        A::Bool(b) => json!({ "BOOL": b }),
        _ => json!({ "NULL": true }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_values_are_written_as_dynamodb_json() {
        use aws_sdk_dynamodbstreams::types::AttributeValue as A;
        let item = A::M([("n".to_owned(), A::N("7".into())), ("l".to_owned(), A::L(vec![A::Bool(true)]))].into());
        assert_eq!(attribute(&item), json!({"M": {"n": {"N": "7"}, "l": {"L": [{"BOOL": true}]}}}));
        assert_eq!(attribute(&A::B(aws_smithy_types::Blob::new(*b"hi"))), json!({"B": "aGk="}));
    }

    #[test]
    fn times_are_written_in_milliseconds_utc() {
        assert_eq!(rfc3339(1_764_978_629_796), "2025-12-05T23:50:29.796Z");
    }
}
