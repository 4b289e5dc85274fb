//! `sluice`: the one command line of sluice.
//!
//! - `sluice compare`: the two S3 event paths measured side by side on the local stack, or
//!   modelled at AWS scale in virtual time (`--model`);
//! - `sluice invoke`: a synchronous invoke with client-side retries, against AWS or the local
//!   Lambda service (it honours `AWS_ENDPOINT_URL`);
//! - `sluice local up | down`: a SAM template deployed to the local stack and its functions run
//!   as the stack configures them (`local serve`: the local Lambda service on a JSON configuration);
//! - `sluice demo`: both paths end to end on four sample uploads, a poison one among them;
//! - `sluice bench`: sluice against Powertools for AWS Lambda (Python) on the same batch, as ratios.
//!
//! Every error is one or two lines that say what went wrong and what to do; the exit code is
//! 1 when the work failed and 2 when it could not start (bad option, missing binary, no stack).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod compare;
mod demo;
mod invoke;
mod local;
mod model;
mod output;

#[derive(Parser)]
#[command(name = "sluice", version, about = "sluice: S3 event pipelines on AWS Lambda, measured and tested locally")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure S3 -> SNS -> Lambda against S3 -> SNS -> SQS -> Lambda on the same uploads (or model them: --model).
    Compare(compare::Args),
    /// Invoke a function (RequestResponse) and print its response.
    Invoke(invoke::Args),
    /// The local Lambda service.
    Local {
        #[command(subcommand)]
        command: local::Command,
    },
    /// Both paths end to end on a few sample uploads, a poison object among them.
    Demo(demo::Args),
    /// sluice against Powertools for AWS Lambda (Python) on the same batch, in one run, as ratios.
    Bench(bench::Args),
}

/// A failure to report: the message, and whether the work failed (1) or never started (2).
pub struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    /// The work ran and failed.
    pub fn failed(message: impl Into<String>) -> Self {
        Failure { message: message.into(), code: 1 }
    }

    /// The work could not start.
    pub fn unusable(message: impl Into<String>) -> Self {
        Failure { message: message.into(), code: 2 }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,sluice_local=error,aws_config=error".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let outcome = match Cli::parse().command {
        Command::Compare(args) => compare::run(args).await,
        Command::Invoke(args) => invoke::run(args).await,
        Command::Local { command } => local::run(command).await,
        Command::Demo(args) => demo::run(args).await,
        // The benchmark drives its own single-threaded runtime: off this one's worker threads.
        Command::Bench(args) => tokio::task::spawn_blocking(move || bench::run(args))
            .await
            .unwrap_or_else(|e| Err(Failure::failed(format!("bench: {e}")))),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { message, code }) => {
            eprintln!("sluice: {message}");
            ExitCode::from(code)
        }
    }
}
