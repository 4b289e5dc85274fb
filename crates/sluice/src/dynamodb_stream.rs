//! The DynamoDB Streams handler: a table's stream -> Lambda through an event source mapping.
//!
//! Each stream record is one change to one table item: an insert, a modification or a removal.
//! The item a processor gets, [`DynamoDbChange`], has the item's images before and after (as
//! the stream's `StreamViewType` keeps them) decoded into the user's type with `serde_dynamo`,
//! and the item's key as DynamoDB sent it. Its idempotency key is its place in the stream: the
//! table, the stream's label and the sequence number. Records run in order, and the answer is
//! the checkpoint ([`DynamoDbStreamHandler`]).

use std::borrow::Cow;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::{Context, LambdaEvent};
use serde::de::DeserializeOwned;
use sluice_events::{DecodeError, Decoded};

use crate::engine::Invocation;
use crate::item::{Item, MessageMeta};
use crate::parts::HandlerParts;
use crate::processor::Path;
use crate::stream::{StreamBatchError, StreamRecord, StreamRunner};

/// What happened to the table item (the record's `eventName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// `INSERT`: the item was written for the first time.
    Insert,
    /// `MODIFY`: an existing item was written again.
    Modify,
    /// `REMOVE`: the item was deleted (by a call, or by its time to live).
    Remove,
}

impl ChangeKind {
    /// The kind an `eventName` names.
    ///
    /// ```
    /// assert_eq!(sluice::ChangeKind::from_event_name("MODIFY"), Some(sluice::ChangeKind::Modify));
    /// assert_eq!(sluice::ChangeKind::from_event_name("modify"), None);
    /// ```
    pub fn from_event_name(name: &str) -> Option<ChangeKind> {
        match name {
            "INSERT" => Some(ChangeKind::Insert),
            "MODIFY" => Some(ChangeKind::Modify),
            "REMOVE" => Some(ChangeKind::Remove),
            _ => None,
        }
    }
}

/// One change to a table item, its images decoded into `T`.
///
/// ```
/// use sluice::{ChangeKind, DynamoDbChange, Item, MessageMeta};
///
/// #[derive(serde::Deserialize)]
/// struct Order { id: String, total: u32 }
///
/// let change: DynamoDbChange<Order> = DynamoDbChange::new(
///     ChangeKind::Insert,
///     Some("arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/2026-12-01T00:00:00.000"),
///     "4421584500000000017450439091",
/// );
/// assert_eq!(
///     change.default_key(&MessageMeta::default()).unwrap(),
///     "Orders/stream/2026-12-01T00:00:00.000@4421584500000000017450439091"
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DynamoDbChange<T> {
    /// Insert, modify or remove.
    pub kind: ChangeKind,
    /// The item's key attributes (`Keys`), as DynamoDB sent them: decode them with
    /// `serde_dynamo::from_item` into your key type.
    pub keys: serde_dynamo::Item,
    /// The item after the change (`NewImage`), when the stream keeps new images and there is one.
    pub new_image: Option<T>,
    /// The item before the change (`OldImage`), when the stream keeps old images and there was one.
    pub old_image: Option<T>,
    /// Its sequence number in the stream.
    pub sequence_number: String,
    /// The record's id (`eventID`).
    pub event_id: String,
    /// The stream's ARN (`eventSourceARN`): the table's, with `/stream/<label>`.
    pub stream_arn: Option<String>,
    /// When the change was made (`ApproximateCreationDateTime`), epoch milliseconds.
    pub created_at_ms: Option<u64>,
}

impl<T> DynamoDbChange<T> {
    /// A change with no key and no images, for tests and replays.
    pub fn new(kind: ChangeKind, stream_arn: Option<&str>, sequence_number: &str) -> Self {
        DynamoDbChange {
            kind,
            keys: serde_dynamo::Item::from(std::collections::HashMap::new()),
            new_image: None,
            old_image: None,
            sequence_number: sequence_number.to_owned(),
            event_id: String::new(),
            stream_arn: stream_arn.map(str::to_owned),
            created_at_ms: None,
        }
    }

    /// `<table>/stream/<label>`, from the stream's ARN.
    pub fn stream_name(&self) -> Option<&str> {
        self.stream_arn.as_deref().and_then(|arn| arn.split_once(":table/")).map(|(_, stream)| stream)
    }
}

impl<T: Send + 'static> Item for DynamoDbChange<T> {
    /// `<table>/stream/<label>@<sequence number>`: the change's place, the same on every
    /// delivery. None without a sequence number.
    fn default_key(&self, _message: &MessageMeta) -> Option<String> {
        if self.sequence_number.is_empty() {
            return None;
        }
        Some(format!("{}@{}", self.stream_name().unwrap_or_default(), self.sequence_number))
    }

    fn label(&self) -> Option<String> {
        Some(format!("{:?}@{}", self.kind, self.sequence_number))
    }

    fn event_time_ms(&self) -> Option<u64> {
        self.created_at_ms
    }
}

/// A record of the event as the batch runner sees it, decoding into `DynamoDbChange<T>`.
struct Entry<'a, T> {
    record: &'a EventRecord,
    image: PhantomData<fn() -> T>,
}

/// An image decoded into `T`; none when the record has none (an empty map).
fn image<T: DeserializeOwned>(what: &'static str, item: &serde_dynamo::Item) -> Result<Option<T>, DecodeError> {
    if item.is_empty() {
        return Ok(None);
    }
    serde_dynamo::from_item(item.clone())
        .map(Some)
        .map_err(|e| DecodeError::invalid(what, format!("not a {}: {e}", std::any::type_name::<T>())))
}

impl<T: DeserializeOwned + Send + 'static> StreamRecord<DynamoDbChange<T>> for Entry<'_, T> {
    /// A batch from Lambda holds one shard, and its records do not name it.
    fn shard_id(&self) -> Option<&str> {
        None
    }

    fn sequence_number(&self) -> Option<&str> {
        self.record.change.sequence_number.as_deref()
    }

    fn meta(&self, inv: &Invocation) -> MessageMeta {
        MessageMeta {
            message_id: Arc::from(self.record.event_id.as_str()),
            source_arn: self.record.event_source_arn.clone(),
            trace: inv.trace,
            ..MessageMeta::default()
        }
    }

    fn decode(&self) -> Result<Decoded<DynamoDbChange<T>>, DecodeError> {
        let record = self.record;
        let Some(kind) = ChangeKind::from_event_name(&record.event_name) else {
            return Err(DecodeError::invalid(
                "DynamoDB stream record",
                format!(
                    "eventName {} is none of INSERT, MODIFY, REMOVE",
                    sluice_excerpt::Excerpt::of(&record.event_name)
                ),
            ));
        };
        let created = record.change.approximate_creation_date_time.timestamp_millis();
        Ok(Decoded::Items(vec![DynamoDbChange {
            kind,
            keys: record.change.keys.clone(),
            new_image: image("NewImage", &record.change.new_image)?,
            old_image: image("OldImage", &record.change.old_image)?,
            sequence_number: record.change.sequence_number.clone().unwrap_or_default(),
            event_id: record.event_id.clone(),
            stream_arn: record.event_source_arn.clone(),
            created_at_ms: u64::try_from(created).ok().filter(|ms| *ms > 0),
        }]))
    }

    /// The record as Lambda delivered it.
    fn dead_letter_body(&self) -> Cow<'_, str> {
        Cow::Owned(serde_json::to_string(self.record).unwrap_or_default())
    }
}

/// A `tower::Service` that processes a DynamoDB Streams batch in order and answers with the
/// checkpoint: the sequence number of the first failed record.
///
/// The event source mapping needs `FunctionResponseTypes: [ReportBatchItemFailures]`; without
/// it Lambda ignores the answer and counts the batch done.
///
/// ```no_run
/// use sluice::{processor_fn, ChangeKind, DynamoDbChange, DynamoDbStreamHandler, Idempotency};
/// use sluice_idempotency::MemoryStore;
///
/// #[derive(serde::Deserialize)]
/// struct Order { id: String, total: u32 }
///
/// #[tokio::main]
/// async fn main() -> Result<(), lambda_runtime::Error> {
///     let processor = processor_fn(|change: DynamoDbChange<Order>, _ctx| async move {
///         if let (ChangeKind::Insert, Some(order)) = (change.kind, &change.new_image) {
///             tracing::info!(id = %order.id, total = order.total, "new order");
///         }
///         Ok(())
///     });
///     let handler = DynamoDbStreamHandler::builder(processor, Idempotency::new(MemoryStore::new())).build();
///     lambda_runtime::run(handler).await
/// }
/// ```
pub struct DynamoDbStreamHandler<T> {
    runner: Arc<StreamRunner<DynamoDbChange<T>>>,
}

impl<T> Clone for DynamoDbStreamHandler<T> {
    fn clone(&self) -> Self {
        DynamoDbStreamHandler { runner: self.runner.clone() }
    }
}

impl<T: DeserializeOwned + Send + 'static> DynamoDbStreamHandler<T> {
    pub(crate) fn from_parts(parts: HandlerParts<DynamoDbChange<T>>) -> Self {
        DynamoDbStreamHandler { runner: Arc::new(StreamRunner::new(parts, Path::DynamoDbStreams)) }
    }

    /// Processes one batch.
    pub async fn handle(&self, event: Event, ctx: &Context) -> Result<DynamoDbEventResponse, StreamBatchError> {
        let entries: Vec<Entry<'_, T>> =
            event.records.iter().map(|record| Entry { record, image: PhantomData }).collect();
        let failed = self.runner.handle(&entries, ctx).await?;
        let mut response = DynamoDbEventResponse::default();
        response.batch_item_failures = failed
            .into_iter()
            .map(|sequence_number| {
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = Some(sequence_number);
                failure
            })
            .collect();
        Ok(response)
    }
}

impl<T: DeserializeOwned + Send + 'static> tower::Service<LambdaEvent<Event>> for DynamoDbStreamHandler<T> {
    type Response = DynamoDbEventResponse;
    type Error = StreamBatchError;
    type Future = Pin<Box<dyn Future<Output = Result<DynamoDbEventResponse, StreamBatchError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, event: LambdaEvent<Event>) -> Self::Future {
        let handler = self.clone();
        Box::pin(async move { handler.handle(event.payload, &event.context).await })
    }
}
