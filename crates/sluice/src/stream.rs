//! Stream batches: what Kinesis Data Streams and DynamoDB Streams share.
//!
//! Streams are not queues. Lambda reads each shard in order, and one batch holds records of one
//! shard. When the function answers with `batchItemFailures`, Lambda takes the lowest sequence
//! number in it as the checkpoint: everything before it is done and never sent again, and the
//! batch is sent again from that record on (Lambda Developer Guide,
//! services-kinesis-batchfailurereporting and services-ddb-batchfailurereporting; the
//! identifier is `kinesis.sequenceNumber` or `dynamodb.SequenceNumber`). A handler that treats
//! the batch as a queue, running every record and reporting each failure, runs the records after
//! a failure twice and applies them out of order.
//!
//! So a stream handler:
//! - runs each shard's records one after another and, at the first failure, stops that shard
//!   and reports that record's sequence number; the records after it are not run, since Lambda
//!   sends them again;
//! - runs different shards at once, at most `batch_concurrency` of them (a batch from Lambda
//!   holds one shard; a batch a test or a replay builds may hold several);
//! - fails a record that does not decode alone, permanently, like any other failure;
//! - sends a permanent failure to the dead-letter sink, when it has one, and goes on past it:
//!   without one, poison blocks its shard until the mapping's `MaximumRetryAttempts` or
//!   `MaximumRecordAgeInSeconds` gives up on the batch;
//! - starts no record too close to the deadline, and abandons those still running at the end:
//!   the shard stops there and Lambda sends the rest again.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use lambda_runtime::{Context, Diagnostic};
use sluice_events::{DecodeError, Decoded};
use tokio::time::Instant;
use tracing::Instrument;

use crate::dead_letter::{self, DeadLetterSink};
use crate::engine::{Engine, Failure, Invocation, flush_spans, invocation_span, message_span};
use crate::item::{Item, MessageMeta};
use crate::parts::HandlerParts;
use crate::processor::Path;
use crate::report::{Counts, EmfMetrics, InvocationReport};

/// One stream record as the batch runner sees it: its place in the stream, and how to decode it.
pub(crate) trait StreamRecord<T>: Sync {
    /// The shard it came from, when the record names it (a Kinesis `eventID` does; a DynamoDB
    /// Streams record does not, and its batch is one shard).
    fn shard_id(&self) -> Option<&str>;
    /// What a partial batch response reports for it.
    fn sequence_number(&self) -> Option<&str>;
    /// Its id, source and trace for log lines and dead letters.
    fn meta(&self, inv: &Invocation) -> MessageMeta;
    /// The item it carries.
    fn decode(&self) -> Result<Decoded<T>, DecodeError>;
    /// The record as text, for a dead letter.
    fn dead_letter_body(&self) -> Cow<'_, str>;
}

/// Why a stream batch failed as a whole (Lambda then sends the whole batch again).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamBatchError {
    /// A failed record has no sequence number, so the checkpoint cannot be placed before it.
    #[error("record {index} failed and has no sequence number to report; failing the whole batch")]
    MissingSequenceNumber {
        /// Its position in the batch.
        index: usize,
    },
}

impl From<StreamBatchError> for Diagnostic {
    fn from(e: StreamBatchError) -> Diagnostic {
        let error_type = match e {
            StreamBatchError::MissingSequenceNumber { .. } => "Sluice.MissingSequenceNumber",
        };
        Diagnostic { error_type: error_type.into(), error_message: e.to_string() }
    }
}

/// What both stream handlers are made of.
pub(crate) struct StreamRunner<T> {
    engine: Engine<T>,
    dead_letters: Option<Arc<dyn DeadLetterSink>>,
    metrics: EmfMetrics,
    shard_concurrency: usize,
    path: Path,
}

/// The result of one record.
struct RecordResult {
    failure: Option<Failure>,
    counts: Counts,
}

impl<T: Item> StreamRunner<T> {
    pub(crate) fn new(parts: HandlerParts<T>, path: Path) -> Self {
        StreamRunner {
            engine: parts.engine,
            dead_letters: parts.dead_letters,
            metrics: parts.metrics,
            shard_concurrency: parts.batch_concurrency,
            path,
        }
    }

    /// Runs a batch and answers with the sequence number of each shard's first failure.
    pub(crate) async fn handle<R: StreamRecord<T>>(
        &self,
        records: &[R],
        ctx: &Context,
    ) -> Result<Vec<String>, StreamBatchError> {
        let started = Instant::now();
        let inv = self.engine.invocation(ctx, self.path);
        let span = invocation_span(&inv);
        let answer = sluice_trace::scope(inv.trace, self.handle_batch(records, &inv, started)).instrument(span).await;
        flush_spans().await;
        answer
    }

    async fn handle_batch<R: StreamRecord<T>>(
        &self,
        records: &[R],
        inv: &Invocation,
        started: Instant,
    ) -> Result<Vec<String>, StreamBatchError> {
        let mut counts = Counts::default();
        let mut failed_at = Vec::new();
        let mut finished = futures::stream::iter(shards(records))
            .map(|shard| self.run_shard(records, shard, inv))
            .buffer_unordered(self.shard_concurrency);
        while let Some((shard_counts, failure)) = finished.next().await {
            counts += shard_counts;
            if let Some(index) = failure {
                failed_at.push(index);
            }
        }
        drop(finished);
        failed_at.sort_unstable();

        let mut failures = Vec::with_capacity(failed_at.len());
        for index in failed_at {
            match records[index].sequence_number().filter(|s| !s.is_empty()) {
                Some(sequence_number) => failures.push(sequence_number.to_owned()),
                None => return Err(StreamBatchError::MissingSequenceNumber { index }),
            }
        }
        let report = InvocationReport {
            path: self.path,
            messages: records.len() as u32,
            failed_messages: failures.len() as u32,
            counts,
            duration: started.elapsed(),
            record_ages_ms: inv.take_record_ages(),
        };
        report.log();
        self.metrics.emit(&report);
        Ok(failures)
    }

    /// Runs one shard's records in order, up to the first failure, and returns the counts and
    /// the index of the record that failed, if one did.
    async fn run_shard<R: StreamRecord<T>>(
        &self,
        records: &[R],
        shard: Vec<usize>,
        inv: &Invocation,
    ) -> (Counts, Option<usize>) {
        let mut counts = Counts::default();
        let total = shard.len();
        for (position, index) in shard.into_iter().enumerate() {
            let result = self.run_record(&records[index], inv).await;
            counts += result.counts;
            if let Some(failure) = result.failure {
                let left = total - position - 1;
                if left > 0 {
                    tracing::info!(
                        shard_id = records[index].shard_id().unwrap_or_default(),
                        sequence_number = records[index].sequence_number().unwrap_or_default(),
                        not_run = left,
                        error = %failure.reason,
                        "shard stopped at a failed record: Lambda sends it and the records after it again"
                    );
                }
                return (counts, Some(index));
            }
        }
        (counts, None)
    }

    async fn run_record<R: StreamRecord<T>>(&self, record: &R, inv: &Invocation) -> RecordResult {
        let meta = record.meta(inv);
        let (span, trace) = message_span(&meta, inv);
        let run = async {
            let outcome = self.engine.process_message(|| record.decode(), &meta, inv).await;
            // The record is written out as text only when it goes to the dead-letter sink.
            let body = match (&outcome.failure, &self.dead_letters) {
                (Some(failure), Some(_)) if !failure.retryable => record.dead_letter_body(),
                _ => Cow::Borrowed(""),
            };
            let (failure, sent) =
                dead_letter::divert(self.dead_letters.as_deref(), outcome.failure, &body, &meta, inv).await;
            let mut counts = outcome.counts;
            counts.dead_lettered += u32::from(sent);
            RecordResult { failure, counts }
        };
        sluice_trace::scope(trace, run).instrument(span).await
    }
}

/// Splits a batch into shards, each in the order of the batch, in the order their first record
/// appears. Records that name no shard are one shard together: their order is all that is known.
fn shards<T, R: StreamRecord<T>>(records: &[R]) -> Vec<Vec<usize>> {
    let mut shards: Vec<Vec<usize>> = Vec::new();
    let mut by_id: HashMap<Option<&str>, usize> = HashMap::new();
    for (index, record) in records.iter().enumerate() {
        let shard = *by_id.entry(record.shard_id()).or_insert_with(|| {
            shards.push(Vec::new());
            shards.len() - 1
        });
        shards[shard].push(index);
    }
    shards
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake(Option<&'static str>);

    impl StreamRecord<sluice_events::Json<u32>> for Fake {
        fn shard_id(&self) -> Option<&str> {
            self.0
        }
        fn sequence_number(&self) -> Option<&str> {
            None
        }
        fn meta(&self, _inv: &Invocation) -> MessageMeta {
            MessageMeta::default()
        }
        fn decode(&self) -> Result<Decoded<sluice_events::Json<u32>>, DecodeError> {
            Ok(Decoded::Skip("fake"))
        }
        fn dead_letter_body(&self) -> Cow<'_, str> {
            Cow::Borrowed("")
        }
    }

    #[test]
    fn a_batch_splits_into_shards_in_order_and_records_without_a_shard_stay_together() {
        let batch = [Fake(Some("a")), Fake(None), Fake(Some("b")), Fake(Some("a")), Fake(None)];
        assert_eq!(shards(&batch), vec![vec![0, 3], vec![1, 4], vec![2]]);
    }
}
