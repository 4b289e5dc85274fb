//! The SNS envelope that wraps a message delivered to SQS or HTTP without raw delivery.
//!
//! With `RawMessageDelivery=false` (the default) an SQS body is a JSON document with `Type`,
//! `MessageId`, `TopicArn`, `Message` (the published text), `Timestamp`, signature fields and,
//! when the publisher set any, `MessageAttributes`. The SNS-to-SQS and HTTP envelope spells
//! `SigningCertURL` and `UnsubscribeURL`; the Lambda SNS event spells `SigningCertUrl` and
//! `UnsubscribeUrl`. This decoder reads neither: it keeps only what a worker needs, so both
//! casings decode (SNS Developer Guide, "Amazon SNS message and JSON formats").

use std::collections::BTreeMap;

use serde::Deserialize;

/// The longest `MessageId` or `TopicArn` an envelope may carry: SNS's are a 36-character UUID
/// and an ARN of a few dozen; both end up in idempotency keys and log lines.
pub const MAX_ID_BYTES: usize = 1024;

/// The parts of an SNS notification envelope a worker uses.
///
/// ```
/// use sluice_events::sns::SnsEnvelope;
///
/// let body = r#"{"Type":"Notification","MessageId":"m-1","TopicArn":"arn:aws:sns:us-east-1:1:t",
///                "Message":"hello","Timestamp":"2026-11-26T14:13:23.773Z"}"#;
/// let envelope = SnsEnvelope::detect(body).expect("an envelope");
/// assert_eq!(envelope.message, "hello");
/// assert_eq!(envelope.message_id, "m-1");
/// assert!(SnsEnvelope::detect(r#"{"Records":[]}"#).is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct SnsEnvelope {
    /// `Notification` for a published message.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Unique per publish; SNS reuses it when it retries a delivery.
    pub message_id: String,
    /// The topic the message was published to.
    pub topic_arn: String,
    /// Optional subject (`Amazon S3 Notification` for S3 events).
    #[serde(default)]
    pub subject: Option<String>,
    /// The published message: for S3 notifications, the S3 event JSON as a string.
    pub message: String,
    /// Publish time, ISO 8601.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Message attributes: name to (`Type`, `Value`).
    #[serde(default)]
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

impl SnsEnvelope {
    /// Returns the envelope if `body` is an SNS `Notification` envelope, `None` otherwise.
    ///
    /// A body counts as an envelope only if it is a JSON object with `Type: "Notification"`, a
    /// `TopicArn` and a `MessageId` of at most [`MAX_ID_BYTES`] each, and a string `Message`;
    /// anything else (a raw S3 event, a user document) is left to the payload decoder.
    pub fn detect(body: &str) -> Option<SnsEnvelope> {
        // Cheap pre-check so raw-delivery bodies are not parsed twice.
        if !body.contains("\"TopicArn\"") {
            return None;
        }
        // An id or ARN longer than any SNS writes is not SNS's envelope: the body goes to the
        // payload decoder, which says what is wrong with it.
        let fits = |e: &SnsEnvelope| e.message_id.len() <= MAX_ID_BYTES && e.topic_arn.len() <= MAX_ID_BYTES;
        serde_json::from_str::<SnsEnvelope>(body).ok().filter(|e| e.kind == "Notification" && fits(e))
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
