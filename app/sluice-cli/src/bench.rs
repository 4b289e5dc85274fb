//! `sluice bench`: sluice against Powertools for AWS Lambda (Python) on the same batch, in one
//! run, as medians and ratios (`scripts/bench` builds the release binary and the venv first).

use std::path::PathBuf;

use crate::Failure;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Rounds; each side runs once per round, the sides taking turns.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    rounds: u32,
    /// Iterations of each side per round.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    iterations: u32,
    /// The Python interpreter with Powertools installed.
    #[arg(long, default_value = ".venv-bench/bin/python")]
    python: PathBuf,
    /// The Powertools side's script.
    #[arg(long, default_value = "app/sluice-bench/python/powertools_inprocess.py")]
    script: PathBuf,
    /// Where the batch file and the results go.
    #[arg(long, default_value = "target/bench")]
    dir: PathBuf,
    /// Warm invocations of each side per round through the local Lambda service.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    invocations: u32,
    /// Cold starts per function.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    cold_starts: u32,
    /// The Powertools function's bootstrap.
    #[arg(long, default_value = "app/sluice-bench/python/bootstrap")]
    bootstrap: PathBuf,
    /// Directory with `bench-function`, `bench-minimal` and `sqs-worker` (default: next to `sluice`).
    #[arg(long)]
    binaries: Option<PathBuf>,
    /// In process only: skip the functions under the local Lambda service and DynamoDB.
    #[arg(long)]
    in_process_only: bool,
    /// Skip the DynamoDB idempotency part (it needs moto: AWS_ENDPOINT_URL_DYNAMODB).
    #[arg(long)]
    no_idempotency: bool,
    /// Milliseconds the proxy adds to every DynamoDB request in the idempotency part.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=1000))]
    store_latency_ms: u64,
    /// Skip the memory part (it needs the local stack's S3: AWS_ENDPOINT_URL).
    #[arg(long)]
    no_memory: bool,
    /// Object sizes of the memory part, MiB, comma-separated: the smallest and the largest are compared.
    #[arg(long, value_delimiter = ',', default_values_t = [1u64, 64], value_parser = clap::value_parser!(u64).range(1..=1024))]
    memory_object_mib: Vec<u64>,
    /// Samples per side and object size in the memory part.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    memory_rounds: u32,
    /// The Powertools idempotency script.
    #[arg(long, default_value = "app/sluice-bench/python/powertools_idempotency.py")]
    idempotency_script: PathBuf,
    /// A built bootstrap to report the size of, as LABEL=PATH (repeatable).
    #[arg(long = "size", value_name = "LABEL=PATH")]
    sizes: Vec<String>,
    /// Print the report as JSON instead of Markdown.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let binaries = args.binaries.clone().unwrap_or_else(crate::compare::beside_this_binary);
    let mut needed =
        vec![("the Python interpreter", args.python.clone()), ("the Powertools script", args.script.clone())];
    if !args.in_process_only && !args.no_idempotency {
        needed.push(("the Powertools idempotency script", args.idempotency_script.clone()));
    }
    if !args.in_process_only {
        needed.push(("the Powertools bootstrap", args.bootstrap.clone()));
        for binary in ["bench-function", "bench-minimal", "sqs-worker"] {
            needed.push((binary, binaries.join(binary)));
        }
    }
    for (what, path) in &needed {
        if !path.exists() {
            return Err(Failure::unusable(format!(
                "{what} {} is missing: run scripts/bench from the repository root (it installs and builds them)",
                path.display()
            )));
        }
    }
    // The functions run with the task root as working directory: absolute paths only.
    let absolute = |p: &PathBuf| std::path::absolute(p).unwrap_or_else(|_| p.clone());
    let runtime = (!args.in_process_only).then(|| sluice_bench::RuntimeSettings {
        rounds: args.rounds as usize,
        invocations: args.invocations as usize,
        cold_starts: args.cold_starts as usize,
        binaries: absolute(&binaries),
        python_bootstrap: absolute(&args.bootstrap),
        python: absolute(&args.python),
        log_dir: absolute(&args.dir.join("logs")),
    });
    let idempotency = if args.in_process_only || args.no_idempotency {
        None
    } else {
        let dynamodb = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").map_err(|_| {
            Failure::unusable(
                "AWS_ENDPOINT_URL_DYNAMODB is not set: the idempotency part runs against moto \
                 (scripts/bench starts the stack), or pass --no-idempotency",
            )
        })?;
        Some(sluice_bench::IdempotencySettings {
            rounds: args.rounds as usize,
            dynamodb,
            latency: std::time::Duration::from_millis(args.store_latency_ms),
            python: absolute(&args.python),
            script: absolute(&args.idempotency_script),
        })
    };
    let memory = if args.in_process_only || args.no_memory {
        None
    } else {
        let s3_endpoint = std::env::var("AWS_ENDPOINT_URL").map_err(|_| {
            Failure::unusable(
                "AWS_ENDPOINT_URL is not set: the memory part summarises objects in the local stack's S3 \
                 (scripts/bench starts the stack), or pass --no-memory",
            )
        })?;
        Some(sluice_bench::MemorySettings {
            rounds: args.memory_rounds as usize,
            object_mib: args.memory_object_mib.clone(),
            objects: sluice_bench::fixture::BATCH_SIZE,
            s3_endpoint,
            binaries: absolute(&binaries),
            python_bootstrap: absolute(&args.bootstrap),
            python: absolute(&args.python),
            log_dir: absolute(&args.dir.join("logs")),
        })
    };
    let settings = sluice_bench::Settings {
        rounds: args.rounds as usize,
        iterations: args.iterations as usize,
        python: args.python,
        script: args.script,
        dir: args.dir,
        runtime,
        idempotency,
        memory,
    };
    let mut sizes = Vec::new();
    for spec in &args.sizes {
        let Some((label, path)) = spec.rsplit_once('=') else {
            return Err(Failure::unusable(format!("--size {spec:?}: expected LABEL=PATH")));
        };
        let bytes =
            std::fs::metadata(path).map_err(|e| Failure::unusable(format!("--size {label}: {path}: {e}")))?.len();
        sizes.push(sluice_bench::report::Size { label: label.to_owned(), path: path.to_owned(), bytes });
    }
    let mut report = sluice_bench::run(&settings).map_err(|e| Failure::failed(format!("bench: {e}")))?;
    report.sizes = sizes;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).map_err(|e| Failure::failed(e.to_string()))?);
    } else {
        println!("{}", report.markdown());
    }
    Ok(())
}
