//! The floor: what any Rust handler of this batch must at least do, decode the three layers of
//! JSON (the SQS event, each SNS envelope, each S3 event) into borrowed structs. Strings that
//! hold escapes (the envelope inside the body, the S3 event inside the envelope) must be
//! unescaped, so those are `Cow`s; the rest borrows from the input.

use std::borrow::Cow;

use serde::Deserialize;

#[derive(Deserialize)]
struct SqsEvent<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<SqsMessage<'a>>,
}

#[derive(Deserialize)]
struct SqsMessage<'a> {
    #[serde(rename = "messageId", borrow)]
    message_id: Cow<'a, str>,
    #[serde(borrow)]
    body: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "MessageId", borrow)]
    message_id: Cow<'a, str>,
    #[serde(rename = "Message", borrow)]
    message: Cow<'a, str>,
}

#[derive(Deserialize)]
struct S3Event<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<S3Record<'a>>,
}

#[derive(Deserialize)]
struct S3Record<'a> {
    #[serde(rename = "eventName", borrow)]
    event_name: Cow<'a, str>,
    #[serde(borrow)]
    s3: S3Entity<'a>,
}

#[derive(Deserialize)]
struct S3Entity<'a> {
    #[serde(borrow)]
    bucket: Bucket<'a>,
    #[serde(borrow)]
    object: Object<'a>,
}

#[derive(Deserialize)]
struct Bucket<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Object<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    size: Option<u64>,
    #[serde(rename = "eTag", borrow)]
    e_tag: Option<Cow<'a, str>>,
    #[serde(rename = "versionId", borrow)]
    version_id: Option<Cow<'a, str>>,
}

/// Decodes `bytes` down to each S3 record and returns how many there were and the sum of their
/// fields' lengths (so nothing can be optimised away).
///
/// ```
/// let (records, _) = sluice_bench::floor::decode(&sluice_bench::fixture::batch(0, 10)).unwrap();
/// assert_eq!(records, 10);
/// ```
pub fn decode(bytes: &[u8]) -> Result<(usize, usize), serde_json::Error> {
    let event: SqsEvent = serde_json::from_slice(bytes)?;
    let (mut records, mut weight) = (0, 0);
    for message in &event.records {
        let envelope: Envelope = serde_json::from_str(&message.body)?;
        let s3: S3Event = serde_json::from_str(&envelope.message)?;
        for r in &s3.records {
            records += 1;
            let o = &r.s3.object;
            weight +=
                message.message_id.len() + envelope.message_id.len() + r.event_name.len() + r.s3.bucket.name.len();
            weight += o.key.len() + o.size.unwrap_or(0) as usize;
            weight += o.e_tag.as_deref().map_or(0, str::len) + o.version_id.as_deref().map_or(0, str::len);
        }
    }
    Ok((records, weight))
}
