//! From a delivered message body to the items a worker processes.
//!
//! A body reaches a worker in one of three shapes, and [`open`] accepts all of them:
//! an SNS envelope whose `Message` is the payload (SNS to SQS without raw delivery), the payload
//! itself (raw delivery, or a producer writing to the queue directly), or the `Message` of an SNS
//! Lambda event (already unwrapped by Lambda). [`Payload`] then turns the payload into items: an
//! S3 notification into its records (or nothing, for the test event), any other JSON into one
//! user value through [`Json`].

use serde::de::DeserializeOwned;

use crate::DecodeError;
use crate::s3::{S3Notification, S3ObjectEvent};
use crate::sns::SnsEnvelope;

/// What one message carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<T> {
    /// The items to process, at least one. The message succeeds only if all of them do.
    Items(Vec<T>),
    /// Nothing to process, with the reason (for example `s3:TestEvent`). Never a failure.
    Skip(&'static str),
}

/// A type that can be decoded from a message payload into items.
///
/// Implemented for [`S3ObjectEvent`] (an S3 notification: one item per record) and for
/// [`Json<T>`] (any JSON document: one item). Implement it for your own format if neither fits.
///
/// ```
/// use sluice_events::{Decoded, Json, Payload};
///
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct Order { id: u32 }
///
/// let decoded = <Json<Order>>::decode(r#"{"id":7}"#)?;
/// assert_eq!(decoded, Decoded::Items(vec![Json(Order { id: 7 })]));
/// # Ok::<(), sluice_events::DecodeError>(())
/// ```
pub trait Payload: Sized {
    /// Decodes one payload (the message with any SNS envelope removed).
    fn decode(payload: &str) -> Result<Decoded<Self>, DecodeError>;
}

impl Payload for S3ObjectEvent {
    fn decode(payload: &str) -> Result<Decoded<Self>, DecodeError> {
        Ok(match S3Notification::from_json(payload)? {
            S3Notification::Records(records) => Decoded::Items(records),
            S3Notification::TestEvent { .. } => Decoded::Skip("s3:TestEvent"),
        })
    }
}

/// Any JSON message, decoded into `T`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned> Payload for Json<T> {
    fn decode(payload: &str) -> Result<Decoded<Self>, DecodeError> {
        serde_json::from_str(payload)
            .map(|t| Decoded::Items(vec![Json(t)]))
            .map_err(|e| DecodeError::json(std::any::type_name::<T>(), e))
    }
}

/// A message body with its SNS envelope, if it had one, taken off. The envelope borrows from
/// the body ([`SnsEnvelope`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened<'a> {
    /// The envelope, when the body was one.
    pub envelope: Option<SnsEnvelope<'a>>,
}

impl<'a> Opened<'a> {
    /// The payload: the envelope's `Message`, or the whole body.
    pub fn payload<'b>(&'b self, body: &'b str) -> &'b str {
        match &self.envelope {
            Some(e) => &e.message,
            None => body,
        }
    }
}

/// Takes the SNS envelope off `body`, if it has one.
///
/// ```
/// let body = r#"{"Type":"Notification","MessageId":"m","TopicArn":"t","Message":"{\"id\":1}"}"#;
/// let opened = sluice_events::open(body);
/// assert_eq!(opened.payload(body), r#"{"id":1}"#);
/// assert_eq!(sluice_events::open("{}").payload("{}"), "{}");
/// ```
pub fn open(body: &str) -> Opened<'_> {
    Opened { envelope: SnsEnvelope::detect(body) }
}

/// Opens `body` and decodes its payload: the one call a handler makes per message.
pub fn decode_body<T: Payload>(body: &str) -> Result<(Option<SnsEnvelope<'_>>, Decoded<T>), DecodeError> {
    let opened = open(body);
    let decoded = T::decode(opened.payload(body))?;
    Ok((opened.envelope, decoded))
}
