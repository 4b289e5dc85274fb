//! `sluice compare`: options, a progress bar, the text or JSON report, the HTML report; with
//! `--model`, the model's run ([`crate::model`]) on the same workload options.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use sluice_compare::{Outage, Pattern, Progress, Setup, Workload};

use crate::Failure;
use crate::model::{self, ModelArgs};
use crate::output::write;
use sluice_compare::model::ModelSettings;

#[derive(Clone, Copy, clap::ValueEnum)]
enum PatternName {
    /// Everything at once.
    Burst,
    /// A steady rate (--rate).
    Steady,
    /// A steady rate with a burst (--burst objects) halfway.
    BurstOnSteady,
}

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Model both paths in virtual time at AWS scale instead of running them: no stack, up to
    /// 10 million objects in seconds; every figure is labelled modelled.
    #[arg(long)]
    model: bool,
    /// Objects to upload (the default run takes about two minutes on 2 cores).
    #[arg(long, default_value_t = Workload::default().objects)]
    objects: usize,
    /// Smallest object, bytes.
    #[arg(long, default_value_t = Workload::default().min_bytes)]
    min_bytes: u64,
    /// Largest object, bytes (at most 1 MiB).
    #[arg(long, default_value_t = Workload::default().max_bytes)]
    max_bytes: u64,
    /// How the uploads arrive.
    #[arg(long, value_enum, default_value = "burst-on-steady")]
    pattern: PatternName,
    /// Objects per second of a steady pattern.
    #[arg(long, default_value_t = 5.0)]
    rate: f64,
    /// Objects in the burst of burst-on-steady (default: half of --objects).
    #[arg(long)]
    burst: Option<usize>,
    /// The downstream API's time to answer each object: the processing time per object, ms.
    #[arg(long, default_value_t = 50)]
    processing_ms: u64,
    /// The account's concurrency, shared by both functions (default: 20 on the local stack;
    /// with --model, AWS's default of 1,000).
    #[arg(long)]
    account_concurrency: Option<u32>,
    /// Reserved concurrency of each function (default: none, the account pool).
    #[arg(long)]
    reserved_concurrency: Option<u32>,
    /// The queue path's batch size.
    #[arg(long, default_value_t = Workload::default().batch_size)]
    batch_size: u32,
    /// The queue path's batching window, seconds of AWS time.
    #[arg(long, default_value_t = 0)]
    batching_window_s: u64,
    /// The queue path's mapping MaximumConcurrency (0: uncapped).
    #[arg(long, default_value_t = 5)]
    maximum_concurrency: u32,
    /// A downstream outage of this many seconds (the webhook answers 503): local seconds,
    /// default 12; with --model, AWS seconds, default none...
    #[arg(long)]
    outage_s: Option<f64>,
    /// ...starting this many seconds after the downstream's first request (each path's own).
    #[arg(long, default_value_t = 0.0)]
    outage_at_s: f64,
    /// No downstream outage.
    #[arg(long)]
    no_outage: bool,
    /// Deploy the direct path without its on-failure destination (a failed event is lost).
    #[arg(long)]
    no_direct_dlq: bool,
    /// AWS waits run this many times faster.
    #[arg(long, default_value_t = Workload::default().time_scale)]
    time_scale: f64,
    /// Seed of object sizes and contents.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print every figure as JSON on standard output instead of the text report.
    #[arg(long)]
    json: bool,
    /// Where the HTML report goes (default target/compare/report.html; with --model,
    /// target/compare/model.html).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Also write each chart as an SVG file into this directory.
    #[arg(long)]
    charts: Option<PathBuf>,
    /// Directory with the `sqs-worker` and `sns-worker` binaries (default: next to `sluice`).
    #[arg(long)]
    workers: Option<PathBuf>,
    /// Where function logs go (one directory per run).
    #[arg(long, default_value = "target/compare/logs")]
    log_dir: PathBuf,
    /// The longest wait for both paths to drain after the last upload, seconds.
    #[arg(long, default_value_t = 600)]
    drain_limit_s: u64,
    #[command(flatten)]
    aws: ModelArgs,
}

impl Args {
    fn pattern(&self) -> Pattern {
        match self.pattern {
            PatternName::Burst => Pattern::Burst,
            PatternName::Steady => Pattern::Steady { per_second: self.rate },
            PatternName::BurstOnSteady => {
                Pattern::BurstOnSteady { per_second: self.rate, burst: self.burst.unwrap_or(self.objects / 2) }
            }
        }
    }

    fn outage(&self, default_s: Option<f64>) -> Option<Outage> {
        let length = self.outage_s.or(default_s).filter(|_| !self.no_outage)?;
        Some(Outage {
            start: Duration::from_secs_f64(self.outage_at_s.max(0.0)),
            length: Duration::from_secs_f64(length.max(0.0)),
        })
    }

    fn workload(&self) -> Workload {
        let pattern = self.pattern();
        let mut w = Workload::default();
        w.objects = self.objects;
        w.min_bytes = self.min_bytes;
        w.max_bytes = self.max_bytes;
        w.pattern = pattern;
        w.processing = Duration::from_millis(self.processing_ms);
        w.account_concurrency = self.account_concurrency.unwrap_or(w.account_concurrency);
        w.reserved_concurrency = self.reserved_concurrency;
        w.batch_size = self.batch_size;
        w.batching_window = Duration::from_secs(self.batching_window_s);
        w.maximum_concurrency = (self.maximum_concurrency != 0).then_some(self.maximum_concurrency);
        w.outage = self.outage(Some(LOCAL_OUTAGE_S));
        w.direct_dlq = !self.no_direct_dlq;
        w.time_scale = self.time_scale;
        w.seed = self.seed;
        w
    }
}

/// A local run's default outage, local seconds: longer than the direct path's retries at x60.
const LOCAL_OUTAGE_S: f64 = 12.0;

/// The directory of the running `sluice` binary: `target/debug` holds the workers too.
pub(crate) fn beside_this_binary() -> PathBuf {
    std::env::current_exe().ok().and_then(|p| p.parent().map(PathBuf::from)).unwrap_or_else(|| "target/debug".into())
}

pub(crate) async fn run(args: Args) -> Result<(), Failure> {
    if args.model {
        // The local run's workload, at AWS scale: no outage unless asked, AWS's account default.
        let mut workload = args.workload();
        workload.outage = args.outage(None);
        workload.account_concurrency = args.account_concurrency.unwrap_or(ModelSettings::default().account_concurrency);
        let settings = args.aws.settings(&workload);
        let report = args.report.clone().unwrap_or_else(model::default_report);
        let out = model::Output { json: args.json, report: &report, charts: args.charts.as_deref() };
        return model::run(settings, out).await;
    }
    let report = args.report.clone().unwrap_or_else(|| PathBuf::from("target/compare/report.html"));
    let workload = args.workload();
    workload.check().map_err(|e| Failure::unusable(format!("invalid option {e}")))?;
    let setup = Setup {
        workers: args.workers.clone().unwrap_or_else(beside_this_binary),
        log_dir: args.log_dir.clone(),
        drain_limit: Duration::from_secs(args.drain_limit_s),
    };
    let aws = aws_config::load_from_env().await;
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(Duration::from_millis(200));
    let counted = ProgressStyle::with_template("{spinner} {msg:<34} [{bar:30}] {pos}/{len} {elapsed}")
        .expect("a valid template")
        .progress_chars("=> ");
    let phase = Mutex::new(());
    let progress = |update: Progress| {
        let _one_at_a_time = phase.lock();
        match update {
            Progress::Phase { name, total } if total > 0 => {
                bar.set_style(counted.clone());
                bar.set_length(total);
                bar.set_position(0);
                bar.set_message(name);
            }
            Progress::Phase { name, .. } => {
                bar.set_style(ProgressStyle::default_spinner());
                bar.set_message(name);
            }
            Progress::Done(done) => bar.set_position(done),
        }
    };
    let outcome = sluice_compare::compare(&aws, &setup, &workload, &progress).await;
    bar.finish_and_clear();
    let comparison = outcome.map_err(|e| match e {
        sluice_compare::CompareError::Upload { .. } | sluice_compare::CompareError::Deploy(_) => {
            Failure::failed(e.to_string())
        }
        _ => Failure::unusable(e.to_string()),
    })?;
    let charts = sluice_compare::charts::all(&comparison).map_err(|e| Failure::failed(e.to_string()))?;
    let page = sluice_compare::html::page(&comparison, &charts);
    write(&report, page.as_bytes()).await?;
    if let Some(dir) = &args.charts {
        for chart in &charts {
            write(&dir.join(format!("{}.svg", chart.id)), chart.svg.as_bytes()).await?;
        }
    }
    if args.json {
        let json = serde_json::to_string_pretty(&comparison).expect("figures serialize");
        println!("{json}");
    } else {
        print!("{}", sluice_compare::report::text(&comparison));
    }
    eprintln!("report: {}", report.display());
    if comparison.settled {
        Ok(())
    } else {
        Err(Failure::failed(format!(
            "the paths did not drain within {} s: unsettled objects are counted lost (raise --drain-limit-s)",
            args.drain_limit_s
        )))
    }
}
