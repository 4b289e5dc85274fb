//! `sluice local up | down | serve`.
//!
//! `up` is `sam build && sam deploy` against the local stack: the template's functions are
//! built (or found), packaged, the stack deployed through the local CloudFormation engine with
//! the parameters given, and the functions run in the local Lambda service as the deployed stack
//! configures them, until interrupted. The stack stays; `down` deletes it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sluice_local::launch::Launch;
use sluice_local::{LocalLambda, ServiceConfig, ServiceOptions};
use sluice_sam::artifacts::Workers;
use sluice_sam::samconfig::{SamConfig, parse_override};
use sluice_sam::stack::{Stack, StackError, StackRequest};
use sluice_sam::template::SamTemplate;

use crate::Failure;

#[derive(clap::Subcommand)]
pub(crate) enum Command {
    /// Deploy a SAM template to the local stack and run its functions until interrupted.
    Up {
        /// The SAM template.
        #[arg(long, default_value = "template.yaml")]
        template: PathBuf,
        /// The stack's name (default: the config file's, else "sluice").
        #[arg(long)]
        stack_name: Option<String>,
        /// samconfig.toml whose stack name and parameter overrides to use, as `sam deploy
        /// --config-file`.
        #[arg(long)]
        config_file: Option<PathBuf>,
        /// The samconfig environment.
        #[arg(long, default_value = "default")]
        config_env: String,
        /// Template parameters, `Key=Value` (after the config file's).
        #[arg(long, num_args = 1..)]
        parameter_overrides: Vec<String>,
        /// Run the Rust functions' binaries built in this directory (a cargo target profile
        /// directory) instead of building them.
        #[arg(long)]
        workers: Option<PathBuf>,
        /// Build the Rust functions without --release.
        #[arg(long)]
        debug: bool,
        /// Port of the Invoke API (0: any free port).
        #[arg(long, default_value_t = 9001)]
        port: u16,
        /// Where function logs go.
        #[arg(long, default_value = "target/local-lambda")]
        log_dir: PathBuf,
        /// AWS waits (async retry delays, event age) run this many times faster.
        #[arg(long, default_value_t = 1.0)]
        time_scale: f64,
        /// The account's concurrency (default: the stack's reservations plus 20).
        #[arg(long)]
        account_concurrency: Option<u32>,
    },
    /// Delete a stack `up` deployed (its buckets are emptied first).
    Down {
        /// The stack's name.
        #[arg(long, default_value = "sluice")]
        stack_name: String,
    },
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

pub(crate) async fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Up {
            template,
            stack_name,
            config_file,
            config_env,
            parameter_overrides,
            workers,
            debug,
            port,
            log_dir,
            time_scale,
            account_concurrency,
        } => {
            let mut config = SamConfig::default();
            if let Some(file) = &config_file {
                let text = tokio::fs::read_to_string(file)
                    .await
                    .map_err(|e| Failure::unusable(format!("cannot read {}: {e}", file.display())))?;
                config = SamConfig::parse(&text, &config_env)
                    .map_err(|e| Failure::unusable(format!("{}: {e}", file.display())))?;
            }
            let mut parameters: BTreeMap<String, String> = config.parameters;
            for pair in &parameter_overrides {
                let (key, value) =
                    parse_override(pair).map_err(|e| Failure::unusable(format!("--parameter-overrides: {e}")))?;
                parameters.insert(key, value);
            }
            let name = stack_name.or(config.stack_name).unwrap_or_else(|| "sluice".into());
            let workers = match workers {
                Some(dir) => Workers::Built(dir),
                None => Workers::Build { release: !debug },
            };
            let mut request = StackRequest::new(&name, &template, workers);
            request.parameters = parameters;
            let aws = aws_config::load_from_env().await;
            let stack = Stack::deploy(&aws, &request).await.map_err(|e| Failure::unusable(explained("up", &e)))?;
            let mut service_config =
                stack.service_config(&aws).await.map_err(|e| Failure::unusable(format!("up: {e}")))?;
            service_config.time_scale = Some(time_scale);
            service_config.account_concurrency =
                Some(account_concurrency.unwrap_or_else(|| Stack::account_concurrency(&service_config)));
            println!("stack {name}: deployed from {}", template.display());
            for (key, value) in &stack.outputs {
                println!("  {key} = {value}");
            }
            runnable(&mut service_config, &template).await;
            serve(service_config, port, log_dir, aws).await?;
            println!("the stack stays: `sluice local down --stack-name {name}` deletes it");
            Ok(())
        }
        Command::Down { stack_name } => {
            let aws = aws_config::load_from_env().await;
            Stack::delete(&aws, &stack_name).await.map_err(|e| Failure::failed(explained("down", &e)))?;
            println!("stack {stack_name}: deleted");
            Ok(())
        }
        Command::Serve { config, port, log_dir } => {
            let bytes = tokio::fs::read(&config)
                .await
                .map_err(|e| Failure::unusable(format!("cannot read {}: {e}", config.display())))?;
            let parsed: ServiceConfig =
                serde_json::from_slice(&bytes).map_err(|e| Failure::unusable(format!("{}: {e}", config.display())))?;
            serve(parsed, port, log_dir, aws_config::load_from_env().await).await
        }
    }
}

/// Takes out of `config` each function whose runtime cannot run here, naming it with its runtime
/// and what would make it run, and says what each managed runtime runs under and which layers
/// are not found locally: the rest of the stack runs.
async fn runnable(config: &mut ServiceConfig, template: &std::path::Path) {
    let mut unrunnable = Vec::new();
    for function in &config.functions {
        match Launch::resolve(function).await {
            Ok(launch) => {
                if let Some(interpreter) = launch.interpreter {
                    println!("  {} ({}) runs under {interpreter}", function.deployed_name(), function.runtime);
                }
            }
            Err(why) => unrunnable.push((function.name.clone(), why)),
        }
    }
    for (name, why) in unrunnable {
        println!("  not running {name}: {why}");
        config.remove_function(&name);
    }
    let functions = match SamTemplate::read(template).await.and_then(|t| t.functions()) {
        Ok(functions) => functions,
        Err(_) => return, // deployed from it a moment ago: nothing new to say
    };
    for function in functions.iter().filter(|f| !f.unresolved_layers.is_empty()) {
        println!(
            "  {}: layers not found locally, left out: {} (a layer runs locally when the template builds it, \
             AWS::Serverless::LayerVersion with a local ContentUri)",
            function.logical_id,
            function.unresolved_layers.join(", ")
        );
    }
}

/// `error` after `what`, with how to start the local stack when nothing answered.
fn explained(what: &str, error: &StackError) -> String {
    match error {
        StackError::Unreachable { .. } => {
            let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "AWS_ENDPOINT_URL (not set)".into());
            format!(
                "{what}: {error}\n  does the local stack answer at {endpoint}? start it with `scripts/stack start` and `eval \"$(scripts/stack env)\"`"
            )
        }
        _ => format!("{what}: {error}"),
    }
}

/// Runs `config` in the local Lambda service until Ctrl-C.
async fn serve(config: ServiceConfig, port: u16, log_dir: PathBuf, aws: aws_config::SdkConfig) -> Result<(), Failure> {
    // The name Lambda knows each by (what Invoke takes), with its logical ID where they differ.
    let functions: Vec<String> = config
        .functions
        .iter()
        .map(|f| match f.deployed_name() {
            deployed if deployed == f.name => deployed.to_owned(),
            deployed => format!("{deployed} ({})", f.name),
        })
        .collect();
    let service =
        LocalLambda::start(config, ServiceOptions { port, log_dir: log_dir.clone(), aws }).await.map_err(|e| {
            Failure::unusable(format!(
                "the local Lambda service did not start: {e}\n  is port {port} taken? pass --port 0 for any free one"
            ))
        })?;
    println!("functions: {} (logs under {})", functions.join(", "), log_dir.display());
    println!("AWS_ENDPOINT_URL_LAMBDA={}", service.endpoint());
    let _ = tokio::signal::ctrl_c().await;
    service.shutdown().await;
    Ok(())
}
