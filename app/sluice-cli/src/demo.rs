//! `sluice demo`: the small preset, four sample uploads through both paths; with `--network`,
//! both paths in a local network (Lambda's, a VPC, a VPC behind a NAT gateway) and the egress
//! address of every invocation's webhook calls.

use std::path::PathBuf;
use std::time::Duration;

use crate::Failure;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Directory with the `sqs-worker` and `sns-worker` binaries (default: next to `sluice`).
    #[arg(long)]
    workers: Option<PathBuf>,
    /// Where function logs go.
    #[arg(long, default_value = "target/local-lambda")]
    log_dir: PathBuf,
    /// Longest wait for each result, in seconds.
    #[arg(long, default_value_t = 60)]
    wait_seconds: u64,
    /// Run both workers in a local network (network namespaces; root): Lambda's own, unless
    /// --enable-vpc. Prints the egress address of every invocation's webhook calls.
    #[arg(long)]
    network: bool,
    /// The template's EnableVpc: the workers run in a VPC's private subnet (implies --network).
    #[arg(long)]
    enable_vpc: bool,
    /// The template's StaticEgressIp: the private subnet routes through a NAT gateway with an
    /// Elastic IP (implies --enable-vpc).
    #[arg(long)]
    static_egress_ip: bool,
    /// Objects to upload with --network.
    #[arg(long, default_value_t = 4)]
    objects: usize,
}

pub(crate) async fn run(args: Args) -> Result<(), Failure> {
    let workers = args.workers.clone().unwrap_or_else(crate::compare::beside_this_binary);
    let aws = aws_config::load_from_env().await;
    sluice_compare::run::preflight(&aws, &workers).await.map_err(|e| Failure::unusable(e.to_string()))?;
    if args.network || args.enable_vpc || args.static_egress_ip {
        return network(&aws, &workers, &args).await;
    }
    let report = sluice_harness::demo::run(&aws, &workers, &args.log_dir, Duration::from_secs(args.wait_seconds))
        .await
        .map_err(|e| Failure::failed(format!("demo: {e}")))?;
    report.lines.iter().for_each(|l| println!("{l}"));
    if report.missing.is_empty() {
        Ok(())
    } else {
        Err(Failure::failed(format!("demo: missing: {}", report.missing.join("; "))))
    }
}

async fn network(aws: &aws_config::SdkConfig, workers: &std::path::Path, args: &Args) -> Result<(), Failure> {
    sluice_local::netns::available().map_err(|e| Failure::unusable(format!("demo --network: {e}")))?;
    let vpc = (args.enable_vpc || args.static_egress_ip, args.static_egress_ip);
    let limit = Duration::from_secs(args.wait_seconds);
    let report = sluice_harness::network_demo::run(aws, workers, &args.log_dir, vpc, args.objects, limit)
        .await
        .map_err(|e| Failure::failed(format!("demo --network: {e}")))?;
    report.lines().iter().for_each(|l| println!("{l}"));
    if report.settled { Ok(()) } else { Err(Failure::failed(format!("demo --network: not settled within {limit:?}"))) }
}
