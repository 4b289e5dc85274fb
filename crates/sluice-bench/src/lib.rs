//! `sluice bench`: sluice and Powertools for AWS Lambda (Python) on identical inputs, in one
//! run, alternating, reported as medians and ratios.
//!
//! Absolute times on a shared machine drift from run to run; a ratio measured in one run, the
//! two sides taking turns, does not. Each side reads the same bytes from one file.
//!
//! - [`fixture`]: the batch both sides read (S3 events in SNS envelopes in SQS messages);
//! - [`floor`]: the least any Rust handler must do, a borrowed `serde_json` decode of it;
//! - [`inprocess`]: framework overhead in process, sluice's `SqsBatchHandler` against
//!   Powertools' `BatchProcessor`, each with a no-op record handler;
//! - [`report`]: the table, with the machine, the versions and the date.

pub mod fixture;
pub mod floor;
pub mod inprocess;
pub mod report;

pub use inprocess::{BenchError, Settings, run};
pub use report::Report;
