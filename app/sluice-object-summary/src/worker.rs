//! The object-summary processor: stream the object, write its receipts, notify a webhook.
//!
//! It reads the bytes the event describes, not whatever the key holds now: the version the
//! event names (`versionId`), or on an unversioned bucket the content the event's ETag names
//! (`If-Match`). When that content has been replaced, S3 answers 412 and the item is skipped
//! with that reason: the newer upload's own event will summarise it. No receipt is ever written
//! from bytes the event did not describe.

use std::borrow::Cow;

use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use sluice::{ItemContext, ProcessError, Processor};
use sluice_events::s3::S3ObjectEvent;
use sluice_retry::Classify;
use time::format_description::well_known::Rfc3339;

use crate::{ObjectDigest, Receipt, VersionSummary, Webhook};
use sluice::aws::classify;

/// Summarises each created object into `receipts/<key>.json` in the results bucket.
#[derive(Debug, Clone)]
pub struct ObjectSummary {
    s3: aws_sdk_s3::Client,
    results_bucket: String,
    results_prefix: String,
    max_object_bytes: Option<u64>,
    webhook: Option<Webhook>,
}

impl ObjectSummary {
    /// A processor reading with `s3` and writing receipts to `results_bucket`.
    pub fn new(s3: aws_sdk_s3::Client, results_bucket: impl Into<String>) -> Self {
        ObjectSummary {
            s3,
            results_bucket: results_bucket.into(),
            results_prefix: crate::config::DEFAULT_RESULTS_PREFIX.into(),
            max_object_bytes: None,
            webhook: None,
        }
    }

    /// Writes receipts under `prefix` (default `receipts/`).
    pub fn results_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.results_prefix = prefix.into();
        self
    }

    /// Refuses objects larger than `max` bytes, as permanent failures.
    pub fn max_object_bytes(mut self, max: Option<u64>) -> Self {
        self.max_object_bytes = max;
        self
    }

    /// POSTs each receipt to `webhook`.
    pub fn webhook(mut self, webhook: Option<Webhook>) -> Self {
        self.webhook = webhook;
        self
    }

    fn too_large(&self, record: &S3ObjectEvent, size: u64) -> Option<ProcessError> {
        let max = self.max_object_bytes?;
        (size > max).then(|| {
            ProcessError::permanent(format!(
                "s3://{}/{} is {size} bytes, over MAX_OBJECT_BYTES ({max})",
                record.bucket, record.key
            ))
        })
    }

    /// Reads the object in chunks: memory stays constant whatever its size.
    async fn summarise(&self, record: &S3ObjectEvent) -> Result<crate::Summary, ProcessError> {
        let what = format!("GetObject s3://{}/{}", record.bucket, record.key);
        let mut get = self.s3.get_object().bucket(&record.bucket).key(&record.key);
        get = match (&record.version_id, &record.e_tag) {
            (Some(version), _) => get.version_id(version),
            // Unversioned: only the content this event describes (RFC 9110 entity-tags are quoted).
            (None, Some(e_tag)) => get.if_match(format!("\"{}\"", e_tag.trim_matches('"'))),
            (None, None) => get,
        };
        let output = get.send().await.map_err(|e| match e.as_service_error() {
            Some(GetObjectError::NoSuchKey(_)) => {
                ProcessError::permanent(format!("{what}: NoSuchKey: the object no longer exists"))
            }
            _ if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => ProcessError::skip(format!(
                "{what}: superseded: its content is no longer the ETag {} this event describes; \
                 the newer upload's own event summarises it",
                record.e_tag.as_deref().unwrap_or_default()
            )),
            _ => classify(&what, e),
        })?;
        if let Some(size) = output.content_length().and_then(|l| u64::try_from(l).ok())
            && let Some(e) = self.too_large(record, size)
        {
            return Err(e);
        }
        let mut body: ByteStream = output.body;
        let mut digest = ObjectDigest::default();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| ProcessError::retryable(format!("{what}: reading the body: {e}")))?;
            digest.update(&chunk);
            if let Some(e) = self.too_large(record, digest.size()) {
                return Err(e);
            }
        }
        Ok(digest.finish())
    }
}

impl Processor<S3ObjectEvent> for ObjectSummary {
    type Output = Receipt;

    async fn process(&self, record: S3ObjectEvent, ctx: ItemContext) -> Result<Receipt, ProcessError> {
        if let Some(e) = record.size.and_then(|size| self.too_large(&record, size)) {
            return Err(e);
        }
        let summary = self.summarise(&record).await?;
        let receipt = Receipt {
            version: VersionSummary {
                bucket: record.bucket.clone(),
                key: record.key.clone(),
                version_id: record.version_id.clone(),
                e_tag: record.e_tag.clone(),
                sequencer: record.sequencer.clone(),
                event_time: record.event_time.clone(),
                size: summary.size,
                sha256: summary.sha256,
                lines: summary.lines,
            },
            path: ctx.path.as_str().to_owned(),
            processed_at: time::OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default(),
        };
        let latest = crate::receipt::write(&self.s3, &self.results_bucket, &self.results_prefix, &receipt).await?;
        if latest == crate::Latest::Kept {
            tracing::info!(key = %record.key, "a receipt of a later event of this key is the latest already; kept it");
        }
        if let Some(webhook) = &self.webhook {
            // The object version's identity, not the function's: the same key on every path,
            // retry and redelivery. Without protection there is no key: the message id stands in.
            let identity = ctx.idempotency_key.as_deref().unwrap_or(&ctx.message_id);
            webhook.post_for(&ctx.request_id, &receipt.version, identity, ctx.deadline.instant()).await.map_err(
                |e| {
                    if e.error_class().is_retryable() { ProcessError::retryable(e) } else { ProcessError::permanent(e) }
                },
            )?;
        }
        Ok(receipt)
    }

    fn skip_reason(&self, record: &S3ObjectEvent) -> Option<Cow<'static, str>> {
        (!record.is_object_created()).then(|| format!("{} is not an ObjectCreated event", record.event_name).into())
    }
}
