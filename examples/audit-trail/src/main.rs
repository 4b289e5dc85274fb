//! An audit trail from a DynamoDB table's stream: every change to an order becomes one entry in
//! the audit table, written once however often Lambda delivers the change.
//!
//! `DynamoDbStreamHandler` runs the stream's records in order and answers with the checkpoint;
//! the idempotency store (DynamoDB) makes a replayed change a duplicate that is not written
//! again. The entry is written with `ADD writes 1`, so a change written twice would show it.
//!
//! Configuration (environment):
//! - `AUDIT_TABLE`: the audit table (partition key `pk`, sort key `sk`, strings);
//! - `IDEMPOTENCY_TABLE`: the idempotency table (`DynamoDbStore::create_table`);
//! - `DEAD_LETTER_QUEUE_URL` (optional): where a change that can never be written goes, with
//!   its reason, so the shard moves on past it;
//! - `IDEMPOTENCY_LEASE_MS` (optional): how long a claim holds without renewal (default 30 s):
//!   a change whose worker crashed mid-way is retried once its claim's lease has run out;
//! - fault hooks for tests, off unless set: `AUDIT_FAIL_ONCE_ON_STATUS` fails a change with
//!   that status once per process (a transient error); `AUDIT_EXIT_ONCE_ON_STATUS` ends the
//!   process on one, the first time only (a crash, which fails the whole batch), and
//!   `AUDIT_EXIT_MARKER` names the file that remembers it crashed.

use std::collections::HashSet;
use std::sync::Mutex;

use aws_sdk_dynamodb::types::AttributeValue;
use sluice::prelude::*;
use sluice::{ChangeKind, DynamoDbChange, DynamoDbStreamHandler, SqsDeadLetterQueue};

/// An order, as the orders table holds it.
#[derive(serde::Deserialize, Debug)]
struct Order {
    id: String,
    status: String,
    #[serde(default)]
    total: i64,
}

/// Writes each change to the audit table.
struct Audit {
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    fail_once_on: Option<String>,
    exit_once_on: Option<(String, std::path::PathBuf)>,
    failed_once: Mutex<HashSet<String>>,
}

impl Processor<DynamoDbChange<Order>> for Audit {
    type Output = ();

    async fn process(&self, change: DynamoDbChange<Order>, _ctx: ItemContext) -> Result<(), ProcessError> {
        let order = change
            .new_image
            .as_ref()
            .or(change.old_image.as_ref())
            .ok_or_else(|| ProcessError::permanent("the change has no image: the stream keeps keys only"))?;
        if let Some((status, marker)) = &self.exit_once_on
            && *status == order.status
            && std::fs::OpenOptions::new().write(true).create_new(true).open(marker).is_ok()
        {
            tracing::error!(id = %order.id, "fault hook: exiting, as a crash would");
            std::process::exit(70);
        }
        if self.fail_once_on.as_deref() == Some(order.status.as_str())
            && self.failed_once.lock().unwrap_or_else(|e| e.into_inner()).insert(change.sequence_number.clone())
        {
            return Err(ProcessError::retryable("fault hook: failing once"));
        }
        let kind = match change.kind {
            ChangeKind::Insert => "insert",
            ChangeKind::Modify => "modify",
            ChangeKind::Remove => "remove",
        };
        self.dynamodb
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("order#{}", order.id)))
            .key("sk", AttributeValue::S(change.sequence_number.clone()))
            // `status` and `total` are reserved words in DynamoDB expressions.
            .update_expression(
                "SET kind = :kind, #status = :status, #total = :total, written_ms = :now ADD writes :one",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#total", "total")
            .expression_attribute_values(":kind", AttributeValue::S(kind.into()))
            .expression_attribute_values(":status", AttributeValue::S(order.status.clone()))
            .expression_attribute_values(":total", AttributeValue::N(order.total.to_string()))
            .expression_attribute_values(":now", AttributeValue::N(sluice_now_ms().to_string()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await
            .map_err(|e| sluice::aws::classify("UpdateItem audit entry", e))?;
        tracing::info!(id = %order.id, kind, sequence_number = %change.sequence_number, "audited");
        Ok(())
    }
}

fn sluice_now_ms() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

fn required(name: &str) -> Result<String, lambda_runtime::Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    sluice::telemetry::init_logs();
    let aws = aws_config::load_from_env().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let audit = Audit {
        dynamodb: dynamodb.clone(),
        table: required("AUDIT_TABLE")?,
        fail_once_on: std::env::var("AUDIT_FAIL_ONCE_ON_STATUS").ok(),
        exit_once_on: std::env::var("AUDIT_EXIT_ONCE_ON_STATUS")
            .ok()
            .zip(std::env::var_os("AUDIT_EXIT_MARKER").map(Into::into)),
        failed_once: Mutex::new(HashSet::new()),
    };
    let mut idempotency = Idempotency::new(DynamoDbStore::new(dynamodb, required("IDEMPOTENCY_TABLE")?));
    if let Some(ms) = std::env::var("IDEMPOTENCY_LEASE_MS").ok().and_then(|v| v.parse().ok()) {
        idempotency = idempotency.lease(std::time::Duration::from_millis(ms));
    }
    let mut builder = DynamoDbStreamHandler::builder(audit, idempotency);
    if let Ok(url) = std::env::var("DEAD_LETTER_QUEUE_URL") {
        builder = builder.dead_letter_queue(SqsDeadLetterQueue::new(aws_sdk_sqs::Client::new(&aws), url));
    }
    lambda_runtime::run(builder.build()).await
}
