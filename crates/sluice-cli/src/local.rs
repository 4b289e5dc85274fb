//! `sluice local serve`.

use std::path::PathBuf;

use sluice_local::{LocalLambda, ServiceConfig, ServiceOptions};

use crate::Failure;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Serve the functions of a JSON configuration until interrupted.
    Serve {
        /// The service configuration (functions, event source mappings, SNS subscriptions).
        #[arg(long)]
        config: PathBuf,
        /// Port of the Invoke API (0: any free port).
        #[arg(long, default_value_t = 9001)]
        port: u16,
        /// Where function logs go.
        #[arg(long, default_value = "target/local-lambda")]
        log_dir: PathBuf,
    },
}

pub async fn run(command: Command) -> Result<(), Failure> {
    let Command::Serve { config, port, log_dir } = command;
    let bytes =
        std::fs::read(&config).map_err(|e| Failure::unusable(format!("cannot read {}: {e}", config.display())))?;
    let parsed: ServiceConfig =
        serde_json::from_slice(&bytes).map_err(|e| Failure::unusable(format!("{}: {e}", config.display())))?;
    let aws = aws_config::load_from_env().await;
    let service = LocalLambda::start(parsed, ServiceOptions { port, log_dir, aws }).await.map_err(|e| {
        Failure::unusable(format!(
            "the local Lambda service did not start: {e}\n  is port {port} taken? pass --port 0 for any free one"
        ))
    })?;
    println!("AWS_ENDPOINT_URL_LAMBDA={}", service.endpoint());
    let _ = tokio::signal::ctrl_c().await;
    service.shutdown().await;
    Ok(())
}
