//! `sluice`: command-line tools for sluice workers.
//!
//! `sluice invoke <function> --payload <file>` invokes a function synchronously with
//! client-side retries and prints its response. It honours `AWS_ENDPOINT_URL`, so it works
//! against the local Lambda service as against AWS.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use sluice_invoke::{Idempotence, InvokeClient, InvokeError};
use sluice_retry::RetryPolicy;

#[derive(Parser)]
#[command(name = "sluice", version, about = "Tools for sluice Lambda workers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Invoke a function (RequestResponse) and print its response.
    Invoke {
        /// Function name or ARN.
        function: String,
        /// File with the JSON payload (`-` for standard input).
        #[arg(long)]
        payload: PathBuf,
        /// Retry function errors too: the function is safe to run again.
        #[arg(long)]
        idempotent: bool,
        /// Attempts in all, the first included.
        #[arg(long, default_value_t = 4)]
        attempts: u32,
        /// Longest wait between attempts, in milliseconds.
        #[arg(long, default_value_t = 5000)]
        max_delay_ms: u64,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let Command::Invoke { function, payload, idempotent, attempts, max_delay_ms } = Cli::parse().command;
    let body = match if payload.as_os_str() == "-" { read_stdin() } else { std::fs::read(&payload) } {
        Ok(body) => body,
        Err(e) => {
            eprintln!("sluice: cannot read payload {}: {e}", payload.display());
            return ExitCode::from(2);
        }
    };
    let aws = aws_config::load_from_env().await;
    let policy = RetryPolicy::default().max_attempts(attempts).cap(Duration::from_millis(max_delay_ms));
    let idempotence = if idempotent { Idempotence::Idempotent } else { Idempotence::NotIdempotent };
    match InvokeClient::new(&aws, policy).invoke(&function, body, idempotence).await {
        Ok(response) => {
            println!("{}", String::from_utf8_lossy(&response.payload));
            ExitCode::SUCCESS
        }
        Err(InvokeError::Function { kind, payload, .. }) => {
            eprintln!("sluice: function error ({kind})");
            println!("{payload}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("sluice: {e}");
            ExitCode::from(3)
        }
    }
}

fn read_stdin() -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
    Ok(buf)
}
