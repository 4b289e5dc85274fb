//! The SNS envelope that wraps a message delivered to SQS or HTTP without raw delivery.
//!
//! With `RawMessageDelivery=false` (the default) an SQS body is a JSON document with `Type`,
//! `MessageId`, `TopicArn`, `Message` (the published text), `Timestamp`, signature fields and,
//! when the publisher set any, `MessageAttributes`. The SNS-to-SQS and HTTP envelope spells
//! `SigningCertURL` and `UnsubscribeURL`; the Lambda SNS event spells `SigningCertUrl` and
//! `UnsubscribeUrl`. This decoder reads neither: it keeps only what a worker needs, so both
//! casings decode (SNS Developer Guide, "Amazon SNS message and JSON formats").

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

/// The longest `MessageId` or `TopicArn` an envelope may carry: SNS's are a 36-character UUID
/// and an ARN of a few dozen; both end up in idempotency keys and log lines.
pub const MAX_ID_BYTES: usize = 1024;

/// The parts of an SNS notification envelope a worker uses.
///
/// Its text borrows from the body it was read from wherever the JSON allows: a field without
/// escapes is a slice of the body, and only `Message` (a JSON document inside a JSON string,
/// so full of escapes) and escaped fields are copied. [`SnsEnvelope::into_owned`] gives an
/// envelope that outlives the body.
///
/// ```
/// use sluice_events::sns::SnsEnvelope;
///
/// let body = r#"{"Type":"Notification","MessageId":"m-1","TopicArn":"arn:aws:sns:us-east-1:1:t",
///                "Message":"hello","Timestamp":"2026-11-26T14:13:23.773Z"}"#;
/// let envelope = SnsEnvelope::detect(body).expect("an envelope");
/// assert_eq!(envelope.message, "hello");
/// assert_eq!(envelope.message_id, "m-1");
/// let kept: SnsEnvelope<'static> = envelope.into_owned();
/// assert_eq!(kept.timestamp.as_deref(), Some("2026-11-26T14:13:23.773Z"));
/// assert!(SnsEnvelope::detect(r#"{"Records":[]}"#).is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnsEnvelope<'a> {
    /// `Notification` for a published message.
    pub kind: Cow<'a, str>,
    /// Unique per publish; SNS reuses it when it retries a delivery.
    pub message_id: Cow<'a, str>,
    /// The topic the message was published to.
    pub topic_arn: Cow<'a, str>,
    /// Optional subject (`Amazon S3 Notification` for S3 events).
    pub subject: Option<Cow<'a, str>>,
    /// The published message: for S3 notifications, the S3 event JSON as a string.
    pub message: Cow<'a, str>,
    /// Publish time, ISO 8601.
    pub timestamp: Option<Cow<'a, str>>,
    /// Message attributes: name to (`Type`, `Value`).
    pub message_attributes: BTreeMap<String, SnsAttribute>,
}

/// One SNS message attribute as it appears in the envelope.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnsAttribute {
    /// `String`, `Number`, `Binary` or `String.Array`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// The value, as text (base64 for binary).
    pub value: String,
}

/// A string that borrows from the input unless it holds escapes. serde borrows a `Cow` only
/// when it is a field's own type, so an optional one goes through this.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// The envelope as it is read.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawEnvelope<'a> {
    #[serde(rename = "Type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    message_id: Cow<'a, str>,
    #[serde(borrow)]
    topic_arn: Cow<'a, str>,
    #[serde(default, borrow)]
    subject: Option<Text<'a>>,
    #[serde(borrow)]
    message: Cow<'a, str>,
    #[serde(default, borrow)]
    timestamp: Option<Text<'a>>,
    #[serde(default)]
    message_attributes: BTreeMap<String, SnsAttribute>,
}

impl<'a> SnsEnvelope<'a> {
    /// Returns the envelope if `body` is an SNS `Notification` envelope, `None` otherwise.
    ///
    /// A body counts as an envelope only if it is a JSON object with `Type: "Notification"`, a
    /// `TopicArn` and a `MessageId` of at most [`MAX_ID_BYTES`] each, and a string `Message`;
    /// anything else (a raw S3 event, a user document) is left to the payload decoder.
    pub fn detect(body: &'a str) -> Option<SnsEnvelope<'a>> {
        // Cheap pre-check so raw-delivery bodies are not parsed twice.
        if !body.contains("\"TopicArn\"") {
            return None;
        }
        let raw = serde_json::from_str::<RawEnvelope<'a>>(body).ok()?;
        // An id or ARN longer than any SNS writes is not SNS's envelope: the body goes to the
        // payload decoder, which says what is wrong with it.
        if raw.kind != "Notification" || raw.message_id.len() > MAX_ID_BYTES || raw.topic_arn.len() > MAX_ID_BYTES {
            return None;
        }
        Some(SnsEnvelope {
            kind: raw.kind,
            message_id: raw.message_id,
            topic_arn: raw.topic_arn,
            subject: raw.subject.map(|t| t.0),
            message: raw.message,
            timestamp: raw.timestamp.map(|t| t.0),
            message_attributes: raw.message_attributes,
        })
    }

    /// The same envelope, owning its text.
    pub fn into_owned(self) -> SnsEnvelope<'static> {
        let own = |c: Cow<'a, str>| Cow::Owned(c.into_owned());
        SnsEnvelope {
            kind: own(self.kind),
            message_id: own(self.message_id),
            topic_arn: own(self.topic_arn),
            subject: self.subject.map(own),
            message: own(self.message),
            timestamp: self.timestamp.map(own),
            message_attributes: self.message_attributes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_confirmations_are_not_notifications() {
        let body = r#"{"Type":"SubscriptionConfirmation","MessageId":"m","TopicArn":"t","Message":"x","Token":"y"}"#;
        assert!(SnsEnvelope::detect(body).is_none());
    }

    #[test]
    fn an_envelope_with_an_id_longer_than_sns_writes_is_not_one() {
        let long = "m".repeat(MAX_ID_BYTES + 1);
        let body = format!(r#"{{"Type":"Notification","MessageId":"{long}","TopicArn":"t","Message":"x"}}"#);
        assert!(SnsEnvelope::detect(&body).is_none());
        let fits = body.replace(&long, &long[1..]);
        assert!(SnsEnvelope::detect(&fits).is_some());
    }

    #[test]
    fn a_user_document_mentioning_topic_arn_is_not_an_envelope() {
        assert!(SnsEnvelope::detect(r#"{"TopicArn":"t","order":7}"#).is_none());
        assert!(SnsEnvelope::detect(r#"["TopicArn"]"#).is_none());
    }

    #[test]
    fn fields_without_escapes_borrow_from_the_body() {
        let body = r#"{"Type":"Notification","MessageId":"m","TopicArn":"t","Message":"{\"a\":1}","Timestamp":"x"}"#;
        let e = SnsEnvelope::detect(body).unwrap();
        assert!(matches!(e.message_id, Cow::Borrowed(_)) && matches!(e.topic_arn, Cow::Borrowed(_)));
        assert!(matches!(e.timestamp, Some(Cow::Borrowed(_))));
        assert_eq!(e.message, r#"{"a":1}"#);
        let escaped = body.replace(r#""MessageId":"m""#, r#""MessageId":"m\u002d1""#);
        assert_eq!(SnsEnvelope::detect(&escaped).unwrap().message_id, "m-1");
    }

    #[test]
    fn attributes_and_both_url_casings_decode() {
        for casing in ["SigningCertURL", "SigningCertUrl"] {
            let body = format!(
                r#"{{"Type":"Notification","MessageId":"m","TopicArn":"t","Message":"x","{casing}":"u",
                "MessageAttributes":{{"tenant":{{"Type":"String","Value":"acme"}}}}}}"#
            );
            let e = SnsEnvelope::detect(&body).unwrap();
            assert_eq!(e.message_attributes["tenant"].value, "acme");
        }
    }
}
