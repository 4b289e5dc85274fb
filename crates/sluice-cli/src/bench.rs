//! `sluice bench`: sluice against Powertools for AWS Lambda (Python) on the same batch, in one
//! run, as medians and ratios (`scripts/bench` builds the release binary and the venv first).

use std::path::PathBuf;

use crate::Failure;

#[derive(clap::Args)]
pub struct Args {
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
    #[arg(long, default_value = "crates/sluice-bench/python/powertools_inprocess.py")]
    script: PathBuf,
    /// Where the batch file and the results go.
    #[arg(long, default_value = "target/bench")]
    dir: PathBuf,
    /// Print the report as JSON instead of Markdown.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<(), Failure> {
    for (what, path) in [("the Python interpreter", &args.python), ("the Powertools script", &args.script)] {
        if !path.exists() {
            return Err(Failure::unusable(format!(
                "{what} {} is missing: run scripts/setup (or scripts/bench) from the repository root",
                path.display()
            )));
        }
    }
    let settings = sluice_bench::Settings {
        rounds: args.rounds as usize,
        iterations: args.iterations as usize,
        python: args.python,
        script: args.script,
        dir: args.dir,
    };
    let report = sluice_bench::run(&settings).map_err(|e| Failure::failed(format!("bench: {e}")))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).map_err(|e| Failure::failed(e.to_string()))?);
    } else {
        println!("{}", report.markdown());
    }
    Ok(())
}
