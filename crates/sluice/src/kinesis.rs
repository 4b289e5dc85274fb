//! The Kinesis batch handler: a Kinesis data stream -> Lambda through an event source mapping.
//!
//! Each stream record's `data` (base64 in the event, bytes here) decodes into the user's type
//! through [`KinesisData`]: JSON with [`Json<T>`], text with `String`, anything else with
//! `Vec<u8>`. The item a processor gets, [`KinesisRecord`], keeps the record's place in the
//! stream beside it, and its idempotency key is that place: stream, shard and sequence number.
//! Records run in shard order, and the answer is the checkpoint ([`KinesisBatchHandler`]).
//! Aggregated records (the Kinesis Producer Library's format) are not split.

use std::borrow::Cow;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use aws_lambda_events::kinesis::{KinesisEvent, KinesisEventRecord};
use aws_lambda_events::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use lambda_runtime::{Context, LambdaEvent};
use serde::de::DeserializeOwned;
use sluice_events::{DecodeError, Decoded, Json};

use crate::engine::Invocation;
use crate::item::{Item, MessageMeta};
use crate::parts::HandlerParts;
use crate::processor::Path;
use crate::stream::{StreamBatchError, StreamRecord, StreamRunner};

/// What a Kinesis record's `data` decodes into.
///
/// ```
/// use sluice::KinesisData;
/// use sluice_events::Json;
///
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct Click { page: String }
///
/// assert_eq!(<Json<Click>>::decode(br#"{"page":"/"}"#)?, Json(Click { page: "/".into() }));
/// assert_eq!(String::decode(b"plain")?, "plain");
/// assert!(String::decode(&[0xff]).is_err());
/// # Ok::<(), sluice_events::DecodeError>(())
/// ```
pub trait KinesisData: Sized + Send + 'static {
    /// Decodes one record's data.
    fn decode(data: &[u8]) -> Result<Self, DecodeError>;
}

impl<T: DeserializeOwned + Send + 'static> KinesisData for Json<T> {
    fn decode(data: &[u8]) -> Result<Self, DecodeError> {
        serde_json::from_slice(data).map(Json).map_err(|e| DecodeError::json(std::any::type_name::<T>(), e))
    }
}

impl KinesisData for String {
    fn decode(data: &[u8]) -> Result<Self, DecodeError> {
        String::from_utf8(data.to_vec())
            .map_err(|e| DecodeError::invalid("Kinesis record data", format!("not UTF-8: {e} ({} bytes)", data.len())))
    }
}

impl KinesisData for Vec<u8> {
    fn decode(data: &[u8]) -> Result<Self, DecodeError> {
        Ok(data.to_vec())
    }
}

/// One Kinesis record: its data decoded, and its place in the stream.
///
/// ```
/// use sluice::{Item, KinesisRecord, MessageMeta};
///
/// let record = KinesisRecord::new(
///     "payload".to_string(),
///     Some("arn:aws:kinesis:eu-west-1:123456789012:stream/clicks"),
///     "shardId-000000000000",
///     "49590338271490256608559692538361571095921575989136588898",
/// );
/// assert_eq!(
///     record.default_key(&MessageMeta::default()).unwrap(),
///     "clicks/shardId-000000000000@49590338271490256608559692538361571095921575989136588898"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KinesisRecord<D> {
    /// The record's data, decoded.
    pub data: D,
    /// The partition key the producer gave it.
    pub partition_key: String,
    /// Its sequence number, unique within its shard.
    pub sequence_number: String,
    /// Its shard (from the record's `eventID`, `shardId-…:<sequence number>`); empty if the
    /// `eventID` does not say.
    pub shard_id: String,
    /// The stream's ARN (`eventSourceARN`).
    pub stream_arn: Option<String>,
    /// When Kinesis added it to the stream (`approximateArrivalTimestamp`), epoch milliseconds.
    pub arrived_at_ms: Option<u64>,
}

impl<D> KinesisRecord<D> {
    /// A record of `data` at `sequence_number` in `shard_id`, for tests and replays.
    pub fn new(data: D, stream_arn: Option<&str>, shard_id: &str, sequence_number: &str) -> Self {
        KinesisRecord {
            data,
            partition_key: String::new(),
            sequence_number: sequence_number.to_owned(),
            shard_id: shard_id.to_owned(),
            stream_arn: stream_arn.map(str::to_owned),
            arrived_at_ms: None,
        }
    }

    /// The stream's name, from its ARN (`…:stream/<name>`).
    pub fn stream_name(&self) -> Option<&str> {
        self.stream_arn.as_deref().and_then(|arn| arn.rsplit_once(":stream/")).map(|(_, name)| name)
    }
}

impl<D: Send + 'static> Item for KinesisRecord<D> {
    /// `<stream>/<shard>@<sequence number>`: the record's place, the same on every delivery.
    /// None without a sequence number.
    fn default_key(&self, _message: &MessageMeta) -> Option<String> {
        if self.sequence_number.is_empty() {
            return None;
        }
        Some(format!("{}/{}@{}", self.stream_name().unwrap_or_default(), self.shard_id, self.sequence_number))
    }

    fn label(&self) -> Option<String> {
        Some(format!("{}@{}", self.shard_id, self.sequence_number))
    }

    fn event_time_ms(&self) -> Option<u64> {
        self.arrived_at_ms
    }
}

/// A record of the event as the batch runner sees it, decoding into `KinesisRecord<D>`.
struct Entry<'a, D> {
    record: &'a KinesisEventRecord,
    data: PhantomData<fn() -> D>,
}

/// The shard in a Kinesis `eventID` (`shardId-000000000000:<sequence number>`).
fn shard_of(event_id: &str) -> Option<&str> {
    event_id.split_once(':').map(|(shard, _)| shard).filter(|shard| !shard.is_empty())
}

impl<D: KinesisData> StreamRecord<KinesisRecord<D>> for Entry<'_, D> {
    fn shard_id(&self) -> Option<&str> {
        self.record.event_id.as_deref().and_then(shard_of)
    }

    fn sequence_number(&self) -> Option<&str> {
        Some(self.record.kinesis.sequence_number.as_str())
    }

    fn meta(&self, inv: &Invocation) -> MessageMeta {
        MessageMeta {
            message_id: Arc::from(self.record.event_id.as_deref().unwrap_or_default()),
            source_arn: self.record.event_source_arn.clone(),
            trace: inv.trace,
            ..MessageMeta::default()
        }
    }

    fn decode(&self) -> Result<Decoded<KinesisRecord<D>>, DecodeError> {
        let kinesis = &self.record.kinesis;
        let arrived = kinesis.approximate_arrival_timestamp.0.timestamp_millis();
        Ok(Decoded::Items(vec![KinesisRecord {
            data: D::decode(&kinesis.data.0)?,
            partition_key: kinesis.partition_key.clone(),
            sequence_number: kinesis.sequence_number.clone(),
            shard_id: self.shard_id().unwrap_or_default().to_owned(),
            stream_arn: self.record.event_source_arn.clone(),
            arrived_at_ms: u64::try_from(arrived).ok().filter(|ms| *ms > 0),
        }]))
    }

    /// The record as Lambda delivered it, its data in base64.
    fn dead_letter_body(&self) -> Cow<'_, str> {
        Cow::Owned(serde_json::to_string(self.record).unwrap_or_default())
    }
}

/// A `tower::Service` that processes a Kinesis batch in shard order and answers with the
/// checkpoint: the sequence number of each shard's first failed record.
///
/// The event source mapping needs `FunctionResponseTypes: [ReportBatchItemFailures]`; without
/// it Lambda ignores the answer and counts the batch done.
///
/// ```no_run
/// use sluice::{processor_fn, Idempotency, KinesisBatchHandler, KinesisRecord};
/// use sluice_events::Json;
/// use sluice_idempotency::MemoryStore;
///
/// #[derive(serde::Deserialize)]
/// struct Click { page: String }
///
/// #[tokio::main]
/// async fn main() -> Result<(), lambda_runtime::Error> {
///     let processor = processor_fn(|record: KinesisRecord<Json<Click>>, _ctx| async move {
///         tracing::info!(page = %record.data.0.page, shard = %record.shard_id, "click");
///         Ok(())
///     });
///     let handler = KinesisBatchHandler::builder(processor, Idempotency::new(MemoryStore::new())).build();
///     lambda_runtime::run(handler).await
/// }
/// ```
pub struct KinesisBatchHandler<D> {
    runner: Arc<StreamRunner<KinesisRecord<D>>>,
}

impl<D> Clone for KinesisBatchHandler<D> {
    fn clone(&self) -> Self {
        KinesisBatchHandler { runner: self.runner.clone() }
    }
}

impl<D: KinesisData> KinesisBatchHandler<D> {
    pub(crate) fn from_parts(parts: HandlerParts<KinesisRecord<D>>) -> Self {
        KinesisBatchHandler { runner: Arc::new(StreamRunner::new(parts, Path::Kinesis)) }
    }

    /// Processes one batch.
    pub async fn handle(&self, event: KinesisEvent, ctx: &Context) -> Result<KinesisEventResponse, StreamBatchError> {
        let entries: Vec<Entry<'_, D>> =
            event.records.iter().map(|record| Entry { record, data: PhantomData }).collect();
        let failed = self.runner.handle(&entries, ctx).await?;
        let mut response = KinesisEventResponse::default();
        response.batch_item_failures = failed
            .into_iter()
            .map(|sequence_number| {
                let mut failure = KinesisBatchItemFailure::default();
                failure.item_identifier = Some(sequence_number);
                failure
            })
            .collect();
        Ok(response)
    }
}

impl<D: KinesisData> tower::Service<LambdaEvent<KinesisEvent>> for KinesisBatchHandler<D> {
    type Response = KinesisEventResponse;
    type Error = StreamBatchError;
    type Future = Pin<Box<dyn Future<Output = Result<KinesisEventResponse, StreamBatchError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, event: LambdaEvent<KinesisEvent>) -> Self::Future {
        let handler = self.clone();
        Box::pin(async move { handler.handle(event.payload, &event.context).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shard_is_what_comes_before_the_colon_of_the_event_id() {
        assert_eq!(shard_of("shardId-000000000006:4959"), Some("shardId-000000000006"));
        assert_eq!(shard_of("no-colon"), None);
        assert_eq!(shard_of(":4959"), None);
    }
}
