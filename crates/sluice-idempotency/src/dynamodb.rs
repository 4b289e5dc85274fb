//! The DynamoDB store: one conditional write per operation.
//!
//! - `claim` is one conditional `PutItem` with `ReturnValuesOnConditionCheckFailure=ALL_OLD`:
//!   it succeeds when no live record exists, and when one does, the failed condition returns
//!   it, so a duplicate costs one request (Powertools' protocol, with its condition).
//! - `renew` and `complete` are conditional `UpdateItem`s, `release` a conditional
//!   `DeleteItem`, all on the owner token: a late invocation whose claim was taken over is
//!   fenced off.
//! - A claim whose `PutItem` succeeded but whose answer was lost is retried by the SDK; the
//!   retry's condition then fails on the claim's own record, which ALL_OLD returns. Its owner
//!   is the lease's token, so the claim is acquired, not refused as "in progress".
//!
//! Item layout (attribute names configurable, defaults as in Powertools):
//!
//! | attribute | type | meaning |
//! |---|---|---|
//! | `id` | S | the key (partition key; or the sort key under a static partition key) |
//! | `status` | S | `INPROGRESS` or `COMPLETED` |
//! | `expiration` | N | epoch seconds after which the record is dead; the table's TTL attribute |
//! | `in_progress_expiration` | N | epoch milliseconds: the end of the claimant's lease |
//! | `data` | S | the stored output (JSON), once completed |
//! | `validation` | S | the payload fingerprint, if any |
//! | `owner` | S | the owner token that fences `complete` and `release` |
//!
//! DynamoDB's TTL deletion can lag by up to 48 hours (DynamoDB Developer Guide, "Time to
//! Live"), and moto never deletes: every read checks `expiration` and `in_progress_expiration`.
//!
//! **Long keys.** A partition key value holds at most 2,048 bytes and a sort key value 1,024
//! (DynamoDB Developer Guide, "Quotas in Amazon DynamoDB", "Partition key length" and "Sort key
//! length"). A key that would not fit, namespace included, is stored as its SHA-256 instead
//! (`<namespace>sha256:<hex>`), so an item whose key is built from a long S3 key is still
//! protected rather than refused. A request DynamoDB refuses as invalid (`ValidationException`)
//! is [`StoreError::Rejected`], which is permanent: sending it again cannot succeed.

use std::collections::HashMap;
use std::time::SystemTime;

use sluice_clock::{epoch_millis, epoch_secs, from_epoch_millis, from_epoch_secs};

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use crate::{Claim, ClaimRequest, IdempotencyStore, Lease, StoreError};

/// DynamoDB's longest partition key value, in bytes.
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
/// DynamoDB's longest sort key value, in bytes.
pub const MAX_SORT_KEY_BYTES: usize = 1024;
/// An SDK error's text is cut to this many bytes in a [`StoreError`].
const MAX_SDK_ERROR_BYTES: usize = 240;

const IN_PROGRESS: &str = "INPROGRESS";
const COMPLETED: &str = "COMPLETED";

/// Attribute names of the idempotency table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttributeNames {
    /// Key attribute (default `id`).
    pub key: String,
    /// Status attribute (default `status`).
    pub status: String,
    /// Expiry in epoch seconds, the TTL attribute (default `expiration`).
    pub expiration: String,
    /// In-progress expiry in epoch milliseconds (default `in_progress_expiration`).
    pub in_progress_expiration: String,
    /// Stored output (default `data`).
    pub data: String,
    /// Payload fingerprint (default `validation`).
    pub validation: String,
    /// Owner token (default `owner`).
    pub owner: String,
}

impl Default for AttributeNames {
    fn default() -> Self {
        AttributeNames {
            key: "id".into(),
            status: "status".into(),
            expiration: "expiration".into(),
            in_progress_expiration: "in_progress_expiration".into(),
            data: "data".into(),
            validation: "validation".into(),
            owner: "owner".into(),
        }
    }
}

/// Idempotency records in a DynamoDB table.
///
/// ```no_run
/// use sluice_idempotency::DynamoDbStore;
/// # async fn example() {
/// let aws = aws_config::load_from_env().await;
/// let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::new(&aws), "idempotency")
///     .namespace("object-summary#");
/// # let _ = store; }
/// ```
#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    names: AttributeNames,
    key_prefix: String,
    sort_key: Option<(String, String)>,
}

impl DynamoDbStore {
    /// Creates `table` as this store expects it with the default attribute names: partition key
    /// `id` (a string), `sort_key` (a string) if given, on-demand billing, TTL on `expiration`.
    /// For local stacks and tests; a deployed table belongs in the template.
    ///
    /// ```no_run
    /// # async fn f(client: aws_sdk_dynamodb::Client) -> Result<(), aws_sdk_dynamodb::Error> {
    /// use sluice_idempotency::DynamoDbStore;
    /// DynamoDbStore::create_table(&client, "idempotency", None).await?;
    /// let store = DynamoDbStore::new(client, "idempotency");
    /// # Ok(()) }
    /// ```
    pub async fn create_table(
        client: &aws_sdk_dynamodb::Client,
        table: &str,
        sort_key: Option<&str>,
    ) -> Result<(), aws_sdk_dynamodb::Error> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification,
        };
        let names = AttributeNames::default();
        // Both builders have every required field set, so build() cannot fail.
        let string = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("name and type set")
        };
        let key = |name: &str, kind| {
            KeySchemaElement::builder().attribute_name(name).key_type(kind).build().expect("name and type set")
        };
        let mut create = client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(string(&names.key))
            .key_schema(key(&names.key, KeyType::Hash));
        if let Some(sk) = sort_key {
            create = create.attribute_definitions(string(sk)).key_schema(key(sk, KeyType::Range));
        }
        create.send().await?;
        let ttl = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(&names.expiration)
            .build()
            .expect("enabled and attribute set");
        client.update_time_to_live().table_name(table).time_to_live_specification(ttl).send().await?;
        Ok(())
    }

    /// Records in `table`, whose partition key is `id` (a string).
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoDbStore {
            client,
            table: table.into(),
            names: AttributeNames::default(),
            key_prefix: String::new(),
            sort_key: None,
        }
    }

    /// Other attribute names.
    pub fn attribute_names(mut self, names: AttributeNames) -> Self {
        self.names = names;
        self
    }

    /// A namespace every key written to the table starts with, to keep this store apart from
    /// others sharing the table. Not the handler's key prefix (`sluice::Idempotency::key_prefix`),
    /// which names the function's records.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.key_prefix = namespace.into();
        self
    }

    /// A table with a sort key: the partition key holds `partition_value` for every record and
    /// the sort key attribute `sort_key_attribute` holds the idempotency key.
    pub fn sort_key(mut self, sort_key_attribute: impl Into<String>, partition_value: impl Into<String>) -> Self {
        self.sort_key = Some((sort_key_attribute.into(), partition_value.into()));
        self
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The key attribute value stored for `key`: the namespace and the key, or the namespace
    /// and the key's SHA-256 when that would exceed DynamoDB's key length.
    fn stored_key(&self, key: &str) -> String {
        let limit = if self.sort_key.is_some() { MAX_SORT_KEY_BYTES } else { MAX_PARTITION_KEY_BYTES };
        if self.key_prefix.len() + key.len() <= limit {
            return format!("{}{key}", self.key_prefix);
        }
        use sha2::Digest;
        format!("{}sha256:{}", self.key_prefix, hex::encode(sha2::Sha256::digest(key.as_bytes())))
    }

    fn key(&self, key: &str) -> HashMap<String, AttributeValue> {
        let stored = self.stored_key(key);
        match &self.sort_key {
            None => HashMap::from([(self.names.key.clone(), AttributeValue::S(stored))]),
            Some((sort_attr, partition)) => HashMap::from([
                (self.names.key.clone(), AttributeValue::S(partition.clone())),
                (sort_attr.clone(), AttributeValue::S(stored)),
            ]),
        }
    }

    /// The attribute that must not exist for a claim on a fresh key.
    fn identity_attribute(&self) -> &str {
        self.sort_key.as_ref().map_or(&self.names.key, |(sort, _)| sort)
    }

    /// The error of a request DynamoDB did not carry out: [`StoreError::Rejected`] for a
    /// `ValidationException`, [`StoreError::Unavailable`] for anything else (throttling, a
    /// network error, a 5xx), which a later attempt may get past.
    fn failed<E>(operation: &'static str, key: &str, e: SdkError<E>) -> StoreError
    where
        E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
        SdkError<E>: std::error::Error,
    {
        let service = e.as_service_error();
        let rejected = service.and_then(ProvideErrorMetadata::code) == Some("ValidationException");
        // The service's own code and message when it answered, else the SDK's whole account;
        // either can quote the request, so it is bounded like any quoted input.
        let text = match service.map(|s| (s.code(), s.message())) {
            Some((Some(code), Some(message))) => format!("{code}: {message}"),
            _ => DisplayErrorContext(&e).to_string(),
        };
        let source = sluice_excerpt::clip(&text, MAX_SDK_ERROR_BYTES).into_owned().into();
        let key = key.to_owned();
        if rejected {
            StoreError::Rejected { operation, key, source }
        } else {
            StoreError::Unavailable { operation, key, source }
        }
    }

    fn decode(
        &self,
        lease: Lease,
        item: &HashMap<String, AttributeValue>,
        fingerprint: Option<&str>,
    ) -> Result<Claim, StoreError> {
        let key = lease.key();
        let corrupt = |reason: &str| StoreError::Corrupt { key: key.to_owned(), reason: reason.to_owned() };
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let number = |name: &str| item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<u64>().ok());
        let status = text(&self.names.status).ok_or_else(|| corrupt("no status"))?;
        if status == IN_PROGRESS && text(&self.names.owner).as_deref() == Some(lease.token()) {
            // Our own claim, written by an earlier attempt of this request.
            return Ok(Claim::Acquired(lease));
        }
        if let (Some(stored), Some(given)) = (text(&self.names.validation), fingerprint)
            && stored != given
        {
            return Ok(Claim::PayloadMismatch { stored, given: given.to_owned() });
        }
        match status.as_str() {
            COMPLETED => Ok(Claim::Completed {
                output: text(&self.names.data).unwrap_or_else(|| "null".into()),
                expires_at: from_epoch_secs(number(&self.names.expiration).ok_or_else(|| corrupt("no expiration"))?),
                fingerprint: text(&self.names.validation),
            }),
            IN_PROGRESS => Ok(Claim::InProgress {
                until: from_epoch_millis(
                    number(&self.names.in_progress_expiration).ok_or_else(|| corrupt("no in-progress expiry"))?,
                ),
            }),
            other => Err(corrupt(&format!("unknown status {other:?}"))),
        }
    }
}

impl DynamoDbStore {
    /// Sends `update` to the lease's record; its condition must name the owner token as
    /// `#owner = :owner`, which this fills in. A failed condition is [`StoreError::Fenced`].
    async fn owned_update(
        &self,
        operation: &'static str,
        lease: &Lease,
        update: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> Result<(), StoreError> {
        let result = update
            .table_name(&self.table)
            .set_key(Some(self.key(lease.key())))
            .expression_attribute_names("#owner", &self.names.owner)
            .expression_attribute_values(":owner", AttributeValue::S(lease.token().to_owned()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) => {
                Err(StoreError::Fenced { key: lease.key().to_owned() })
            }
            Err(e) => Err(Self::failed(operation, lease.key(), e)),
        }
    }
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

#[async_trait]
impl IdempotencyStore for DynamoDbStore {
    async fn claim(&self, request: ClaimRequest<'_>) -> Result<Claim, StoreError> {
        let now = SystemTime::now();
        let lease = request.lease();
        let names = &self.names;
        let mut item = self.key(request.key);
        item.insert(names.status.clone(), AttributeValue::S(IN_PROGRESS.into()));
        // The record dies with the claim; seconds, rounded up, for the TTL attribute.
        item.insert(names.expiration.clone(), n(epoch_secs(request.in_progress_until) + 1));
        item.insert(names.in_progress_expiration.clone(), n(epoch_millis(request.in_progress_until)));
        item.insert(names.owner.clone(), AttributeValue::S(lease.token().to_owned()));
        if let Some(fingerprint) = request.fingerprint {
            item.insert(names.validation.clone(), AttributeValue::S(fingerprint.to_owned()));
        }
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(#id) OR #expiry < :now OR \
                 (#status = :inprogress AND #in_progress_expiry < :now_ms)",
            )
            .expression_attribute_names("#id", self.identity_attribute())
            .expression_attribute_names("#expiry", &names.expiration)
            .expression_attribute_names("#status", &names.status)
            .expression_attribute_names("#in_progress_expiry", &names.in_progress_expiration)
            .expression_attribute_values(":now", n(epoch_secs(now)))
            .expression_attribute_values(":now_ms", n(epoch_millis(now)))
            .expression_attribute_values(":inprogress", AttributeValue::S(IN_PROGRESS.into()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::Acquired(lease)),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => match failed.item() {
                    Some(old) => self.decode(lease, old, request.fingerprint),
                    None => Err(StoreError::Corrupt {
                        key: request.key.to_owned(),
                        reason: "condition failed but no old item was returned".into(),
                    }),
                },
                _ => Err(Self::failed("claim", request.key, e)),
            },
        }
    }

    async fn renew(&self, lease: &Lease, until: SystemTime) -> Result<(), StoreError> {
        let names = &self.names;
        let update = self
            .client
            .update_item()
            .update_expression("SET #in_progress_expiry = :until_ms, #expiry = :until_s")
            .condition_expression("#owner = :owner AND #status = :inprogress")
            .expression_attribute_names("#in_progress_expiry", &names.in_progress_expiration)
            .expression_attribute_names("#expiry", &names.expiration)
            .expression_attribute_names("#status", &names.status)
            .expression_attribute_values(":until_ms", n(epoch_millis(until)))
            .expression_attribute_values(":until_s", n(epoch_secs(until) + 1))
            .expression_attribute_values(":inprogress", AttributeValue::S(IN_PROGRESS.into()));
        self.owned_update("renew", lease, update).await
    }

    async fn complete(&self, lease: &Lease, output: &str, expires_at: SystemTime) -> Result<(), StoreError> {
        let names = &self.names;
        let update = self
            .client
            .update_item()
            .update_expression("SET #status = :completed, #data = :data, #expiry = :expiry REMOVE #in_progress_expiry")
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#status", &names.status)
            .expression_attribute_names("#data", &names.data)
            .expression_attribute_names("#expiry", &names.expiration)
            .expression_attribute_names("#in_progress_expiry", &names.in_progress_expiration)
            .expression_attribute_values(":completed", AttributeValue::S(COMPLETED.into()))
            .expression_attribute_values(":data", AttributeValue::S(output.to_owned()))
            .expression_attribute_values(":expiry", n(epoch_secs(expires_at)));
        self.owned_update("complete", lease, update).await
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(self.key(lease.key())))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", &self.names.owner)
            .expression_attribute_values(":owner", AttributeValue::S(lease.token().to_owned()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.as_service_error(), Some(DeleteItemError::ConditionalCheckFailedException(_))) => {
                Err(StoreError::Fenced { key: lease.key().to_owned() })
            }
            Err(e) => Err(Self::failed("release", lease.key(), e)),
        }
    }
}
