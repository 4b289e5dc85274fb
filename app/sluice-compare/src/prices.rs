//! AWS list prices, in one place, as data: what the measured usage costs.
//!
//! US East (N. Virginia), pay-as-you-go, first tier, free tier ignored, as AWS's pricing pages
//! list them; recorded on 2026-11-27. Check the pages before quoting a figure:
//! - Lambda: <https://aws.amazon.com/lambda/pricing/> (requests; duration per GB-second, Arm);
//! - SQS: <https://aws.amazon.com/sqs/pricing/> (standard queue requests; every API action is
//!   a request, each 64 KiB chunk of a payload one more);
//! - SNS: <https://aws.amazon.com/sns/pricing/> (standard topic publishes; deliveries to SQS
//!   and Lambda are not charged);
//! - DynamoDB: <https://aws.amazon.com/dynamodb/pricing/on-demand/> (on-demand write and read
//!   request units, after the November 2024 price reduction).

use serde::Serialize;

/// The prices the cost figures use.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Prices {
    /// Where and when.
    pub region: &'static str,
    /// The date these figures were recorded.
    pub recorded: &'static str,
    /// Lambda, USD per request.
    pub lambda_request: f64,
    /// Lambda duration on Arm (the template's architecture), USD per GB-second.
    pub lambda_gb_second_arm: f64,
    /// SQS standard queue, USD per request.
    pub sqs_request: f64,
    /// SNS standard topic, USD per publish.
    pub sns_publish: f64,
    /// SNS delivery to an SQS queue or a Lambda function, USD each.
    pub sns_delivery_to_sqs_or_lambda: f64,
    /// DynamoDB on-demand, USD per write request unit.
    pub dynamodb_write_unit: f64,
    /// DynamoDB on-demand, USD per read request unit.
    pub dynamodb_read_unit: f64,
    /// The pages the figures come from.
    pub sources: [&'static str; 4],
}

/// The list prices in force when sluice's figures were recorded.
pub const US_EAST_1: Prices = Prices {
    region: "us-east-1",
    recorded: "2026-11-27",
    lambda_request: 0.20 / 1e6,
    lambda_gb_second_arm: 0.000_013_333_4,
    sqs_request: 0.40 / 1e6,
    sns_publish: 0.50 / 1e6,
    sns_delivery_to_sqs_or_lambda: 0.0,
    dynamodb_write_unit: 0.625 / 1e6,
    dynamodb_read_unit: 0.125 / 1e6,
    sources: [
        "https://aws.amazon.com/lambda/pricing/",
        "https://aws.amazon.com/sqs/pricing/",
        "https://aws.amazon.com/sns/pricing/",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    ],
};

/// What one path used, counted during the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Usage {
    /// Lambda invocations (throttled attempts are not billed).
    pub invocations: u64,
    /// Billed duration x memory, GB-seconds.
    pub gb_seconds: f64,
    /// SQS requests: the path's queue traffic and dead-letter sends.
    pub sqs_requests: u64,
    /// SNS publishes (one per S3 event; each path priced as if it had its topic alone).
    pub sns_publishes: u64,
    /// DynamoDB write requests (each item under 1 KB: one write unit).
    pub dynamodb_writes: u64,
    /// DynamoDB read requests (strongly consistent, under 4 KB: one read unit).
    pub dynamodb_reads: u64,
}

/// What the usage costs, USD, by service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Cost {
    /// Lambda requests and duration.
    pub lambda: f64,
    /// SQS requests.
    pub sqs: f64,
    /// SNS publishes.
    pub sns: f64,
    /// DynamoDB request units.
    pub dynamodb: f64,
}

impl Cost {
    /// All services together.
    pub fn total(&self) -> f64 {
        self.lambda + self.sqs + self.sns + self.dynamodb
    }

    /// Scaled by `factor` (for example to a million objects).
    pub fn scaled(&self, factor: f64) -> Cost {
        Cost {
            lambda: self.lambda * factor,
            sqs: self.sqs * factor,
            sns: self.sns * factor,
            dynamodb: self.dynamodb * factor,
        }
    }
}

impl Prices {
    /// What `usage` costs at these prices.
    ///
    /// ```
    /// use sluice_compare::prices::{US_EAST_1, Usage};
    /// let cost = US_EAST_1.cost(&Usage { invocations: 1_000_000, ..Usage::default() });
    /// assert!((cost.total() - 0.20).abs() < 1e-9);
    /// ```
    pub fn cost(&self, usage: &Usage) -> Cost {
        Cost {
            lambda: usage.invocations as f64 * self.lambda_request + usage.gb_seconds * self.lambda_gb_second_arm,
            sqs: usage.sqs_requests as f64 * self.sqs_request,
            sns: usage.sns_publishes as f64 * self.sns_publish,
            dynamodb: usage.dynamodb_writes as f64 * self.dynamodb_write_unit
                + usage.dynamodb_reads as f64 * self.dynamodb_read_unit,
        }
    }
}
