//! `sluice demo`: the small preset, four sample uploads through both paths.

use std::path::PathBuf;
use std::time::Duration;

use crate::Failure;

#[derive(clap::Args)]
pub struct Args {
    /// Directory with the `sqs-worker` and `sns-worker` binaries (default: next to `sluice`).
    #[arg(long)]
    workers: Option<PathBuf>,
    /// Where function logs go.
    #[arg(long, default_value = "target/local-lambda")]
    log_dir: PathBuf,
    /// Longest wait for each result, in seconds.
    #[arg(long, default_value_t = 60)]
    wait_seconds: u64,
}

pub async fn run(args: Args) -> Result<(), Failure> {
    let workers = args.workers.unwrap_or_else(crate::compare::beside_this_binary);
    let aws = aws_config::load_from_env().await;
    sluice_compare::run::preflight(&aws, &workers).await.map_err(|e| Failure::unusable(e.to_string()))?;
    let report = sluice_stack::demo::run(&aws, &workers, &args.log_dir, Duration::from_secs(args.wait_seconds))
        .await
        .map_err(|e| Failure::failed(format!("demo: {e}")))?;
    report.lines.iter().for_each(|l| println!("{l}"));
    if report.missing.is_empty() {
        Ok(())
    } else {
        Err(Failure::failed(format!("demo: missing: {}", report.missing.join("; "))))
    }
}
