//! A sample app on sluice: one function draining one queue of JSON orders.
//!
//! Each message is an order, `{"id": "o-1", "amount": 12}`. An order with a positive amount is
//! accepted (logged, once per order id: the idempotency records are in the app's DynamoDB
//! table); any other is a permanent failure, reported as a batch item failure, so SQS redrives
//! it to the app's dead-letter queue after `maxReceiveCount` receives. `template.yaml` beside
//! this crate is the whole app; `sluice local up --template examples/orders/template.yaml` runs
//! it locally, `sam build && sam deploy` deploys it.

use serde::Deserialize;
use sluice::{Idempotency, ItemContext, ProcessError, SqsBatchHandler, processor_fn};
use sluice_events::message::Json;
use sluice_idempotency::DynamoDbStore;

#[derive(Debug, Deserialize)]
struct Order {
    id: String,
    amount: i64,
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    sluice::telemetry::init_logs();
    let table = std::env::var("ORDERS_TABLE").map_err(|_| "ORDERS_TABLE is not set")?;
    let aws = aws_config::load_from_env().await;
    let store = DynamoDbStore::new(aws_sdk_dynamodb::Client::new(&aws), table);
    let processor = processor_fn(|Json(order): Json<Order>, _: ItemContext| async move {
        if order.amount <= 0 {
            return Err(ProcessError::permanent(format!(
                "order {}: amount {} is not positive",
                order.id, order.amount
            )));
        }
        tracing::info!(order = %order.id, amount = order.amount, "order accepted");
        Ok(order.amount)
    });
    let handler = SqsBatchHandler::builder(processor, Idempotency::new(store))
        .idempotency_key(|Json(order): &Json<Order>, _| Some(order.id.clone()))
        .build();
    lambda_runtime::run(handler).await
}
