//! Stream batches in process: the same Kinesis and DynamoDB Streams batch bytes through sluice's
//! `KinesisBatchHandler` and `DynamoDbStreamHandler`, and through Powertools' `BatchProcessor`
//! (`EventType.KinesisDataStreams`, `EventType.DynamoDBStreams`, with the parser's record
//! models; a Python process per round), in rounds that alternate the sides.
//!
//! Each side runs as a worker would: its record handler decodes the record into a typed value
//! (a Kinesis record's JSON data; a DynamoDB record's `NewImage`) and does nothing else, and one
//! JSON log line goes out per record. sluice also claims and completes each record in an
//! in-memory idempotency store, fresh for each iteration; Powertools runs without idempotency,
//! as in the SQS rows.

use std::path::Path;
use std::time::Instant;

use base64::Engine as _;
use serde_json::json;
use sluice::{
    DynamoDbChange, DynamoDbStreamHandler, Idempotency, ItemContext, KinesisBatchHandler, KinesisRecord, processor_fn,
};
use sluice_events::Json;
use sluice_idempotency::MemoryStore;

use crate::error::BenchError;
use crate::fixture::BATCH_SIZE;
use crate::inprocess::{context, io, json_logs, run_python};
use crate::rows::Row;
use crate::settings::Settings;

/// sluice on the Kinesis batch.
pub const SLUICE_KINESIS: &str = "sluice: KinesisBatchHandler, in-memory idempotency, JSON logs";
/// Powertools on the Kinesis batch.
pub const POWERTOOLS_KINESIS: &str = "Powertools: BatchProcessor(KinesisDataStreams) + parser, Logger";
/// sluice on the DynamoDB Streams batch.
pub const SLUICE_DYNAMODB: &str = "sluice: DynamoDbStreamHandler, in-memory idempotency, JSON logs";
/// Powertools on the DynamoDB Streams batch.
pub const POWERTOOLS_DYNAMODB: &str = "Powertools: BatchProcessor(DynamoDBStreams) + parser, Logger";

/// The script of the Python side, beside the in-process one.
pub const SCRIPT: &str = "powertools_streams.py";

/// A click, the Kinesis records' data. Decoded and never read: decoding is the work measured.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Click {
    id: String,
    page: String,
    user: String,
}

/// An order, the DynamoDB records' `NewImage`. Decoded and never read.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Order {
    id: String,
    status: String,
    total: u64,
}

/// A Kinesis batch of [`BATCH_SIZE`] records of one shard, as Lambda delivers it.
pub fn kinesis_batch() -> Vec<u8> {
    let records: Vec<_> = (0..BATCH_SIZE)
        .map(|i| {
            let sequence_number = format!("4959033827149025660855969253836157109592157598913658{i:04}");
            let data = json!({"id": format!("click-{i}"), "page": format!("/products/{i}"), "user": "u-42"});
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0", "partitionKey": format!("u-{i}"), "sequenceNumber": sequence_number,
                    "data": base64::engine::general_purpose::STANDARD.encode(data.to_string()),
                    "approximateArrivalTimestamp": 1_764_892_800.125
                },
                "eventSource": "aws:kinesis", "eventVersion": "1.0",
                "eventID": format!("shardId-000000000006:{sequence_number}"), "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role", "awsRegion": "us-east-2",
                "eventSourceARN": "arn:aws:kinesis:us-east-2:123456789012:stream/clicks"
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "Records": records })).expect("a JSON value serialises")
}

/// A DynamoDB Streams batch of [`BATCH_SIZE`] inserts, as Lambda delivers it.
pub fn dynamodb_batch() -> Vec<u8> {
    let records: Vec<_> = (0..BATCH_SIZE)
        .map(|i| {
            let id = json!({"S": format!("order-{i}")});
            json!({
                "eventID": format!("c4ca4238a0b923820dcc509a6f75849{i}"), "eventName": "INSERT",
                "eventVersion": "1.1", "eventSource": "aws:dynamodb", "awsRegion": "us-east-2",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1_764_892_800,
                    "Keys": {"id": id},
                    "NewImage": {"id": id, "status": {"S": "placed"}, "total": {"N": format!("{}", 100 + i)}},
                    "SequenceNumber": format!("{}", 111_000_000_000_000_000_000_000_u128 + i as u128),
                    "SizeBytes": 59, "StreamViewType": "NEW_AND_OLD_IMAGES"
                },
                "eventSourceARN": "arn:aws:dynamodb:us-east-2:123456789012:table/Orders/stream/2026-12-01T00:00:00.000"
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "Records": records })).expect("a JSON value serialises")
}

fn kinesis_handler() -> KinesisBatchHandler<Json<Click>> {
    let processor = processor_fn(|_: KinesisRecord<Json<Click>>, _: ItemContext| async { Ok(()) });
    KinesisBatchHandler::builder(processor, Idempotency::new(MemoryStore::new())).build()
}

fn dynamodb_handler() -> DynamoDbStreamHandler<Order> {
    let processor = processor_fn(|_: DynamoDbChange<Order>, _: ItemContext| async { Ok(()) });
    DynamoDbStreamHandler::builder(processor, Idempotency::new(MemoryStore::new())).build()
}

/// A stream handler as the benchmark runs it: one batch in, the number of failed records and
/// the serialised answer out.
trait StreamSide {
    /// The event it takes.
    type Event: serde::de::DeserializeOwned;
    /// Handles one batch.
    fn run(
        &self,
        rt: &tokio::runtime::Runtime,
        event: Self::Event,
        ctx: &lambda_runtime::Context,
    ) -> Result<(usize, Vec<u8>), BenchError>;
}

fn answer<R: serde::Serialize>(response: &R, failures: usize) -> Result<(usize, Vec<u8>), BenchError> {
    Ok((failures, serde_json::to_vec(response).map_err(|e| BenchError::Sluice(e.to_string()))?))
}

impl StreamSide for KinesisBatchHandler<Json<Click>> {
    type Event = aws_lambda_events::kinesis::KinesisEvent;
    fn run(
        &self,
        rt: &tokio::runtime::Runtime,
        event: Self::Event,
        ctx: &lambda_runtime::Context,
    ) -> Result<(usize, Vec<u8>), BenchError> {
        let response = rt.block_on(self.handle(event, ctx)).map_err(|e| BenchError::Sluice(e.to_string()))?;
        answer(&response, response.batch_item_failures.len())
    }
}

impl StreamSide for DynamoDbStreamHandler<Order> {
    type Event = aws_lambda_events::dynamodb::Event;
    fn run(
        &self,
        rt: &tokio::runtime::Runtime,
        event: Self::Event,
        ctx: &lambda_runtime::Context,
    ) -> Result<(usize, Vec<u8>), BenchError> {
        let response = rt.block_on(self.handle(event, ctx)).map_err(|e| BenchError::Sluice(e.to_string()))?;
        answer(&response, response.batch_item_failures.len())
    }
}

/// One round of sluice on a stream batch: from the bytes to the serialised answer, times in ns,
/// each iteration with a fresh handler from `make` (a fresh store: every record is new).
fn time_stream<H: StreamSide>(
    rt: &tokio::runtime::Runtime,
    bytes: &[u8],
    iterations: usize,
    make: impl Fn() -> H,
) -> Result<Vec<u64>, BenchError> {
    let ctx = context();
    let handlers: Vec<H> = (0..iterations).map(|_| make()).collect();
    let mut times = Vec::with_capacity(iterations);
    for handler in handlers {
        let started = Instant::now();
        let event = serde_json::from_slice(bytes).map_err(|e| BenchError::Sluice(e.to_string()))?;
        let (failures, answer) = handler.run(rt, event, &ctx)?;
        times.push(started.elapsed().as_nanos() as u64);
        std::hint::black_box(answer);
        if failures > 0 {
            return Err(BenchError::Sluice(format!("{failures} records of a stream batch failed")));
        }
    }
    Ok(times)
}

/// Runs the four sides `settings.rounds` times, in turn, on batches written to `dir`.
pub(crate) fn measure(settings: &Settings, dir: &Path) -> Result<Vec<Row>, BenchError> {
    let rt =
        tokio::runtime::Builder::new_current_thread().enable_time().build().map_err(io("starting a tokio runtime"))?;
    let script = settings.script.with_file_name(SCRIPT);
    let (kinesis, dynamodb) = (kinesis_batch(), dynamodb_batch());
    let (kinesis_file, dynamodb_file) = (dir.join("kinesis.json"), dir.join("dynamodb.json"));
    for (file, bytes) in [(&kinesis_file, &kinesis), (&dynamodb_file, &dynamodb)] {
        std::fs::write(file, bytes).map_err(io(format!("writing {}", file.display())))?;
    }
    let names = [SLUICE_KINESIS, POWERTOOLS_KINESIS, SLUICE_DYNAMODB, POWERTOOLS_DYNAMODB];
    let side = |side: usize| match side {
        0 => tracing::subscriber::with_default(json_logs(), || {
            time_stream(&rt, &kinesis, settings.iterations, kinesis_handler)
        }),
        1 => Ok(run_python(settings, &script, &kinesis_file, &["--source", "kinesis"])?.times_ns),
        2 => tracing::subscriber::with_default(json_logs(), || {
            time_stream(&rt, &dynamodb, settings.iterations, dynamodb_handler)
        }),
        _ => Ok(run_python(settings, &script, &dynamodb_file, &["--source", "dynamodb"])?.times_ns),
    };
    // The Rust sides once uncounted, as in the SQS rows.
    side(0)?;
    side(2)?;
    let mut samples: Vec<Vec<Vec<u64>>> = vec![Vec::new(); names.len()];
    for round in 0..settings.rounds {
        let order: Vec<usize> =
            if round % 2 == 0 { (0..names.len()).collect() } else { (0..names.len()).rev().collect() };
        for s in order {
            samples[s].push(side(s)?);
        }
    }
    Ok(names.iter().zip(samples).map(|(name, rounds)| Row::of_rounds(name, rounds, BATCH_SIZE)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_batches_run_through_sluice_without_a_failure() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        assert_eq!(time_stream(&rt, &kinesis_batch(), 2, kinesis_handler).unwrap().len(), 2);
        assert_eq!(time_stream(&rt, &dynamodb_batch(), 2, dynamodb_handler).unwrap().len(), 2);
    }
}
