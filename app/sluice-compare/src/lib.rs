//! `sluice compare`: the question sluice's users bring, S3 -> SNS -> Lambda or
//! S3 -> SNS -> SQS -> Lambda, answered by measurement on the same uploads.
//!
//! One topic fans out to both paths, so both see the same S3 events; the real worker binaries
//! run in the local Lambda service; each path's worker posts to its own partner API through
//! its own request meters. Every figure comes from what the run recorded: the service's
//! invocation records, the partner's applied effects, the accounting of every object, the
//! sampled queue, the meters.
//!
//! - [`workload`]: what is uploaded and how the paths are set, checked before anything runs;
//! - [`run`]: the run itself ([`compare`]), with a progress callback and typed errors;
//! - [`figures`]: one path's figures from the observations;
//! - [`comparison`]: both paths, the four rows and their readings;
//! - [`report`], [`charts`], [`html`]: the text, the SVG charts, the self-contained page
//!   ([`plot`] draws the charts);
//! - [`model`]: both paths modelled in virtual time, at AWS scale or fitted to a local run;
//! - [`prices`], [`published`]: AWS's list prices and published figures, as cited data.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use sluice_compare::{Setup, Workload};
//! let aws = aws_config::load_from_env().await;
//! let setup = Setup { workers: "target/debug".into(), log_dir: "target/compare".into(), drain_limit: Duration::from_secs(300) };
//! let comparison = sluice_compare::compare(&aws, &setup, &Workload::default(), &|_| {}).await?;
//! println!("{}", sluice_compare::report::text(&comparison));
//! # Ok(()) }
//! ```

/// The report's charts.
pub mod charts;
/// Both paths' figures and the four rows.
pub mod comparison;
/// One path's figures.
pub mod figures;
/// The latency of a path, hop by hop.
pub mod hops;
/// The HTML report.
pub mod html;
/// Percentiles of latencies.
mod latency;
/// Both paths modelled in virtual time.
pub mod model;
/// What the HTML pages share.
mod page;
/// Drawing the charts.
pub mod plot;
/// AWS list prices.
pub mod prices;
/// Published AWS figures.
pub mod published;
/// The text report.
pub mod report;
/// A comparison run.
pub mod run;
/// The workload.
pub mod workload;

pub use comparison::Comparison;
pub use run::{CompareError, Progress, Setup, compare};
pub use workload::{Outage, Pattern, Workload, WorkloadError};
