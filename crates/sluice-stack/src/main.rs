//! `sluice-local`: the local Lambda service (`serve`), and the demo that runs both paths on it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use sluice_local::{LocalLambda, ServiceConfig, ServiceOptions};

#[derive(Parser)]
#[command(name = "sluice-local", version, about = "A local Lambda service for sluice workers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the functions of a JSON configuration until interrupted.
    Serve {
        /// The service configuration (functions, event source mappings, SNS subscriptions).
        #[arg(long)]
        config: PathBuf,
        /// Port of the Invoke API.
        #[arg(long, default_value_t = 9001)]
        port: u16,
        /// Where function logs go.
        #[arg(long, default_value = "target/local-lambda")]
        log_dir: PathBuf,
    },
    /// Provision the topology, run both workers, upload samples and report.
    Demo {
        /// Directory with the `sqs-worker` and `sns-worker` binaries.
        #[arg(long, default_value = "target/debug")]
        workers: PathBuf,
        /// Where function logs go.
        #[arg(long, default_value = "target/local-lambda")]
        log_dir: PathBuf,
        /// Longest wait for each result, in seconds.
        #[arg(long, default_value_t = 60)]
        wait_seconds: u64,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let aws = aws_config::load_from_env().await;
    match Cli::parse().command {
        Command::Serve { config, port, log_dir } => {
            let config: ServiceConfig = match std::fs::read(&config)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", config.display())))
            {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("sluice-local: {e}");
                    return ExitCode::from(2);
                }
            };
            let service = match LocalLambda::start(config, ServiceOptions { port, log_dir, aws }).await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("sluice-local: {e}");
                    return ExitCode::from(1);
                }
            };
            println!("AWS_ENDPOINT_URL_LAMBDA={}", service.endpoint());
            let _ = tokio::signal::ctrl_c().await;
            service.shutdown().await;
            ExitCode::SUCCESS
        }
        Command::Demo { workers, log_dir, wait_seconds } => {
            match sluice_stack::demo::run(&aws, &workers, &log_dir, Duration::from_secs(wait_seconds)).await {
                Ok(report) => {
                    report.lines.iter().for_each(|l| println!("{l}"));
                    if report.missing.is_empty() {
                        ExitCode::SUCCESS
                    } else {
                        report.missing.iter().for_each(|m| eprintln!("missing: {m}"));
                        ExitCode::from(1)
                    }
                }
                Err(e) => {
                    eprintln!("sluice-local demo: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
