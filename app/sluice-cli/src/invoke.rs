//! `sluice invoke`.

use std::path::PathBuf;
use std::time::Duration;

use sluice_invoke::{Idempotence, InvokeClient, InvokeError};
use sluice_retry::RetryPolicy;
use sluice_sam::stack::Stack;

use crate::Failure;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Function name or ARN; with `--stack-name`, also a logical ID of the stack's template.
    function: String,
    /// Resolve a logical ID through this stack (as `sam local invoke` does), saying which name it
    /// resolved to. A name the stack does not know is invoked as it is.
    #[arg(long)]
    stack_name: Option<String>,
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
}

pub(crate) async fn run(args: Args) -> Result<(), Failure> {
    let body = if args.payload.as_os_str() == "-" {
        let mut buf = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut buf).await.map(|_| buf)
    } else {
        tokio::fs::read(&args.payload).await
    }
    .map_err(|e| Failure::unusable(format!("cannot read payload {}: {e}", args.payload.display())))?;
    let aws = aws_config::load_from_env().await;
    let function = match &args.stack_name {
        Some(stack) if !args.function.starts_with("arn:") => {
            match Stack::function_name(&aws, stack, &args.function).await {
                Ok(Some(deployed)) => {
                    eprintln!("{} is {deployed} in stack {stack}", args.function);
                    deployed
                }
                Ok(None) => args.function.clone(),
                Err(e) => return Err(Failure::failed(format!("--stack-name {stack}: {e}"))),
            }
        }
        _ => args.function.clone(),
    };
    let policy = RetryPolicy::default().max_attempts(args.attempts).cap(Duration::from_millis(args.max_delay_ms));
    let idempotence = if args.idempotent { Idempotence::Idempotent } else { Idempotence::NotIdempotent };
    match InvokeClient::new(&aws, policy).invoke(&function, body, idempotence).await {
        Ok(response) => {
            println!("{}", String::from_utf8_lossy(&response.payload));
            Ok(())
        }
        Err(InvokeError::Function { kind, payload, .. }) => {
            println!("{payload}");
            Err(Failure::failed(format!("function error ({kind}); its error document is on standard output")))
        }
        Err(e) => {
            let endpoint = ["AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL"]
                .into_iter()
                .find_map(|var| std::env::var(var).ok().map(|url| format!("{var}={url}")))
                .unwrap_or_else(|| "AWS itself: no AWS_ENDPOINT_URL_LAMBDA or AWS_ENDPOINT_URL".into());
            Err(Failure::failed(format!(
                "{e}\n  check the function name and the endpoint ({endpoint}; `sluice local serve` prints the local one)"
            )))
        }
    }
}
