//! `sluice compare --model`: both paths modelled in virtual time at AWS scale, with no stack and
//! nothing built. The workload options are `sluice compare`'s own; the options here are the AWS
//! settings a local run takes from the template. Prints the text (or JSON) report, writes the
//! HTML page, and tells on standard error how long the model took and how much memory it held.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use sluice_compare::Workload;
use sluice_compare::model::{self, Dist, ModelSettings, Pollers};

use crate::Failure;
use crate::output::write;

/// The AWS settings of a model run (a local run reads them from the template).
#[derive(clap::Args)]
pub(crate) struct ModelArgs {
    /// --model: the direct path's MaximumEventAgeInSeconds (60 to 21,600).
    #[arg(long, default_value_t = 21_600)]
    maximum_event_age_s: u64,
    /// --model: the direct path's MaximumRetryAttempts (0 to 2).
    #[arg(long, default_value_t = 2)]
    maximum_retry_attempts: u32,
    /// --model: the work queue's visibility timeout, seconds.
    #[arg(long, default_value_t = 200)]
    visibility_timeout_s: u64,
    /// --model: the work queue's redrive maxReceiveCount.
    #[arg(long, default_value_t = 5)]
    max_receive_count: u32,
    /// --model: the mapping in provisioned mode with this many MinimumPollers (with --maximum-pollers).
    #[arg(long, requires = "maximum_pollers")]
    minimum_pollers: Option<u32>,
    /// --model: provisioned mode's MaximumPollers.
    #[arg(long, requires = "minimum_pollers")]
    maximum_pollers: Option<u32>,
    /// --model: a cold start's init, ms (default: a Rust function's published 14 ms).
    #[arg(long)]
    init_ms: Option<u64>,
    /// --model: upload to Lambda's async queue, ms (default: AWS's published SNS -> Lambda latencies).
    #[arg(long)]
    direct_hop_ms: Option<u64>,
    /// --model: upload to a message ready in SQS, ms (default: AWS's published SNS -> SQS -> Lambda latencies).
    #[arg(long)]
    queue_hop_ms: Option<u64>,
    /// --model: the functions' timeout, seconds.
    #[arg(long, default_value_t = 30)]
    function_timeout_s: u64,
    /// --model: the functions' memory, MB.
    #[arg(long, default_value_t = 256)]
    memory_mb: u32,
}

impl ModelArgs {
    /// The model's settings for workload `w` with these AWS settings.
    pub(crate) fn settings(&self, w: &Workload) -> ModelSettings {
        let mut s = ModelSettings::of_workload(w);
        let fixed = |ms: u64| Dist::fixed(Duration::from_millis(ms));
        if let Some(ms) = self.init_ms {
            s.times.init = fixed(ms);
        }
        if let Some(ms) = self.direct_hop_ms {
            s.times.direct_hop = fixed(ms);
        }
        if let Some(ms) = self.queue_hop_ms {
            s.times.queue_hop = fixed(ms);
        }
        s.direct.maximum_retry_attempts = self.maximum_retry_attempts;
        s.direct.maximum_event_age = Duration::from_secs(self.maximum_event_age_s);
        if let (Some(minimum), Some(maximum)) = (self.minimum_pollers, self.maximum_pollers) {
            s.queue.pollers = Pollers::Provisioned { minimum, maximum };
        }
        s.queue.visibility_timeout = Duration::from_secs(self.visibility_timeout_s);
        s.queue.max_receive_count = self.max_receive_count;
        s.function_timeout = Duration::from_secs(self.function_timeout_s);
        s.memory_mb = self.memory_mb;
        s
    }
}

/// Where the model's report goes, and how it is printed.
pub(crate) struct Output<'a> {
    pub json: bool,
    pub report: &'a Path,
    pub charts: Option<&'a Path>,
}

/// Runs the model on `settings`, prints its report and writes its page.
pub(crate) async fn run(settings: ModelSettings, out: Output<'_>) -> Result<(), Failure> {
    settings.check().map_err(|e| Failure::unusable(format!("invalid option {e}")))?;
    let started = Instant::now();
    let bar = ProgressBar::new(2 * settings.arrivals.objects()).with_style(
        ProgressStyle::with_template("modelling {msg:<8} [{bar:30}] {percent:>3} % {elapsed}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let shown = bar.clone();
    let modelled = tokio::task::spawn_blocking(move || {
        model::run(&settings, &|done, total| {
            shown.set_length(total);
            shown.set_position(done);
        })
    })
    .await
    .map_err(|e| Failure::failed(format!("the model stopped: {e}")))?
    .map_err(|e| Failure::unusable(format!("invalid option {e}")))?;
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let charts = model::charts::all(&modelled).map_err(|e| Failure::failed(e.to_string()))?;
    write(out.report, model::html::page(&modelled, &charts).as_bytes()).await?;
    if let Some(dir) = out.charts {
        for chart in &charts {
            write(&dir.join(format!("{}.svg", chart.id)), chart.svg.as_bytes()).await?;
        }
    }
    if out.json {
        println!("{}", serde_json::to_string_pretty(&modelled).expect("a model run serializes"));
    } else {
        print!("{}", model::report::text(&modelled));
    }
    eprintln!(
        "modelled {} events in {:.2} s, peak memory {}; report: {}",
        modelled.events,
        elapsed.as_secs_f64(),
        peak_rss().await.map(|kb| format!("{} MB", kb / 1024)).unwrap_or_else(|| "unknown".into()),
        out.report.display()
    );
    Ok(())
}

/// This process's peak resident set, KB (Linux's `VmHWM`; `None` elsewhere).
async fn peak_rss() -> Option<u64> {
    let status = tokio::fs::read_to_string("/proc/self/status").await.ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The report's default path for a model run.
pub(crate) fn default_report() -> PathBuf {
    PathBuf::from("target/compare/model.html")
}
