//! The benchmark's table: medians per batch and per record, and ratios measured in the same run,
//! with the machine, the versions, the date and the command.

use crate::idempotency::wall;
use crate::inprocess::{FLOOR, POWERTOOLS, POWERTOOLS_BARE, SLUICE, SLUICE_BARE};
use crate::memory::{PYTHON, SQS_WORKER, SQS_WORKER_SERIAL, peak};
pub use crate::rows::{Peak, Row};
use crate::runtime::{POWERTOOLS_WARM, SLUICE_WARM, cold};
use crate::settings::Settings;
use crate::streams::{POWERTOOLS_DYNAMODB, POWERTOOLS_KINESIS, SLUICE_DYNAMODB, SLUICE_KINESIS};

/// The size of one built `bootstrap`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Size {
    /// What was built (`sqs-worker, arm64`).
    pub label: String,
    /// The file.
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// The whole result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// The sides, in the order of the table.
    pub rows: Vec<Row>,
    /// CPU model, cores, architecture, OS.
    pub machine: String,
    /// sluice, Rust, Python and Powertools versions.
    pub versions: String,
    /// When it ran (UTC).
    pub date: String,
    /// Rounds and iterations.
    pub shape: String,
    /// Sizes of built `bootstrap` files, if measured.
    pub sizes: Vec<Size>,
    /// Peak resident memory, if measured.
    pub peaks: Vec<Peak>,
    /// The memory part's shape: objects per batch, the small and the large object size (MiB).
    pub memory_shape: Option<(usize, u64, u64)>,
}

/// A ratio with two significant digits below 0.1 (a cold start's 0.018 is not 0.02), else two decimals.
fn ratio(r: f64) -> String {
    if r < 0.1 { format!("{r:.3}") } else { format!("{r:.2}") }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn rustc_version() -> String {
    std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "rustc (unknown)".into())
}

/// The cargo profile this binary was built with, as its output directory names it (`release`,
/// `speed`, `debug`; cargo keeps a `.fingerprint` there): the profile decides what a figure
/// measures.
fn build_profile() -> String {
    let from_dir = std::env::current_exe().ok().and_then(|exe| {
        let dir = exe.parent()?;
        dir.join(".fingerprint").is_dir().then(|| dir.file_name()?.to_str().map(str::to_owned)).flatten()
    });
    let dir = from_dir.unwrap_or_else(|| if cfg!(debug_assertions) { "debug" } else { "release" }.into());
    format!("{dir} profile")
}

impl Report {
    pub(crate) fn new(rows: Vec<Row>, settings: &Settings, python: &str, powertools: &str) -> Report {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let profile = build_profile();
        Report {
            rows,
            machine: format!("{}, {cores} cores, {} {}", cpu_model(), std::env::consts::ARCH, std::env::consts::OS),
            versions: format!(
                "sluice {} ({profile}), {}, Python {python}, Powertools for AWS Lambda (Python) {powertools}",
                env!("CARGO_PKG_VERSION"),
                rustc_version()
            ),
            date: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            shape: {
                let mut shape = format!(
                    "in process: {} rounds x {} iterations per side, sides alternating, a batch of {} records",
                    settings.rounds,
                    settings.iterations,
                    crate::fixture::BATCH_SIZE
                );
                if let Some(r) = &settings.runtime {
                    shape.push_str(&format!(
                        "; Runtime API: {} rounds x {} warm invocations per side, {} cold starts per function",
                        r.rounds, r.invocations, r.cold_starts
                    ));
                }
                shape
            },
            sizes: Vec::new(),
            peaks: Vec::new(),
            memory_shape: settings
                .memory
                .as_ref()
                .and_then(|m| Some((m.objects, *m.object_mib.iter().min()?, *m.object_mib.iter().max()?))),
        }
    }

    /// The row named `name`.
    fn row(&self, name: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.name == name)
    }

    /// The median time of row `sluice` over row `other`'s (names as in [`crate::inprocess`]).
    pub fn ratio(&self, sluice: &str, other: &str) -> Option<f64> {
        let (a, b) = (self.row(sluice)?, self.row(other)?);
        (b.median_us > 0.0).then(|| a.median_us / b.median_us)
    }

    /// The lowest and highest per-round ratio of row `sluice` to row `other`
    /// ([`Row::round_ratio_range`]).
    pub fn ratio_range(&self, sluice: &str, other: &str) -> Option<(f64, f64)> {
        self.row(sluice)?.round_ratio_range(self.row(other)?)
    }

    /// The peak memory of row `a` over row `b`'s.
    pub fn peak_ratio(&self, a: &str, b: &str) -> Option<f64> {
        let find = |name: &str| self.peaks.iter().find(|p| p.name == name);
        let (a, b) = (find(a)?, find(b)?);
        (b.median_kib > 0).then(|| a.median_kib as f64 / b.median_kib as f64)
    }

    /// The table and the ratios, as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "Machine: {}\nVersions: {}\nDate: {}\nShape: {}\n\n",
            self.machine, self.versions, self.date, self.shape
        ));
        out.push_str("| what | median (µs) | per record (µs) | samples |\n|---|---|---|---|\n");
        for r in &self.rows {
            let per_record = r.median_record_us.map(|us| format!("{us:.2}")).unwrap_or_else(|| "-".into());
            out.push_str(&format!("| {} | {:.1} | {per_record} | {} |\n", r.name, r.median_us, r.samples));
        }
        out.push('\n');
        let ratios = [
            ("sluice with idempotency and logs / Powertools with Logger", SLUICE, POWERTOOLS),
            ("sluice bare / Powertools bare", SLUICE_BARE, POWERTOOLS_BARE),
            ("sluice with idempotency and logs / decode floor", SLUICE, FLOOR),
            ("sluice bare / decode floor", SLUICE_BARE, FLOOR),
            ("Kinesis batch: sluice / Powertools, each with logs", SLUICE_KINESIS, POWERTOOLS_KINESIS),
            ("DynamoDB Streams batch: sluice / Powertools, each with logs", SLUICE_DYNAMODB, POWERTOOLS_DYNAMODB),
            ("sluice function / Powertools function, warm invocation", SLUICE_WARM, POWERTOOLS_WARM),
            ("cold start: sqs-worker / Powertools function", &cold("sqs-worker"), &cold("powertools")),
            ("cold start: sqs-worker / minimal lambda_runtime function", &cold("sqs-worker"), &cold("minimal")),
            (
                "DynamoDB idempotency, first run: sluice / Powertools",
                &wall("sluice", "first"),
                &wall("Powertools", "first"),
            ),
            (
                "DynamoDB idempotency, duplicate run: sluice / Powertools",
                &wall("sluice", "duplicate"),
                &wall("Powertools", "duplicate"),
            ),
        ];
        out.push_str("| ratio (same run) | value | per round, lowest-highest |\n|---|---|---|\n");
        for (label, a, b) in ratios {
            let value = self.ratio(a, b).map(ratio).unwrap_or_else(|| "-".into());
            let range = self
                .ratio_range(a, b)
                .map(|(lo, hi)| format!("{}-{}", ratio(lo), ratio(hi)))
                .unwrap_or_else(|| "-".into());
            out.push_str(&format!("| {label} | {value} | {range} |\n"));
        }
        if !self.peaks.is_empty() {
            out.push_str("\n| peak resident memory (Max Memory Used) | MiB | samples |\n|---|---|---|\n");
            for p in &self.peaks {
                out.push_str(&format!("| {} | {:.1} | {} |\n", p.name, p.median_kib as f64 / 1024.0, p.samples));
            }
            if let Some((objects, small, large)) = self.memory_shape {
                out.push_str("\n| memory ratio (same run) | value |\n|---|---|\n");
                let ratios = [
                    (
                        format!("sqs-worker at {large} MiB / at {small} MiB objects"),
                        (SQS_WORKER, large),
                        (SQS_WORKER, small),
                    ),
                    (
                        format!("sqs-worker, one object at a time, at {large} MiB / at {small} MiB objects"),
                        (SQS_WORKER_SERIAL, large),
                        (SQS_WORKER_SERIAL, small),
                    ),
                    (format!("sqs-worker / Python at {large} MiB objects"), (SQS_WORKER, large), (PYTHON, large)),
                    (format!("Python at {large} MiB / at {small} MiB objects"), (PYTHON, large), (PYTHON, small)),
                ];
                for (label, (a, a_mib), (b, b_mib)) in ratios {
                    let value = self
                        .peak_ratio(&peak(a, objects, a_mib), &peak(b, objects, b_mib))
                        .map(ratio)
                        .unwrap_or_else(|| "-".into());
                    out.push_str(&format!("| {label} | {value} |\n"));
                }
            }
        }
        if !self.sizes.is_empty() {
            out.push_str("\n| bootstrap | size (MB) | file |\n|---|---|---|\n");
            for size in &self.sizes {
                out.push_str(&format!("| {} | {:.2} | {} |\n", size.label, size.bytes as f64 / 1e6, size.path));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_sample_or_the_mean_of_the_middle_two() {
        assert_eq!(Row::of("odd", vec![9_000, 1_000, 5_000], 10).median_us, 5.0);
        let even = Row::of("even", vec![4_000, 1_000, 2_000, 3_000], 10);
        assert_eq!((even.median_us, even.median_record_us), (2.5, Some(0.25)));
        assert_eq!(Row::of("cold", vec![7_000], 0).median_record_us, None);
        assert_eq!(Row::of("none", vec![], 10).median_us, 0.0);
    }

    #[test]
    fn a_ratio_is_also_taken_round_by_round() {
        let a = Row::of_rounds("a", vec![vec![1_000, 3_000], vec![4_000]], 10);
        let b = Row::of_rounds("b", vec![vec![4_000], vec![8_000]], 10);
        assert_eq!(a.round_medians_us, vec![2.0, 4.0]);
        assert_eq!((a.samples, a.median_us), (3, 3.0));
        assert_eq!(a.round_ratio_range(&b), Some((0.5, 0.5)));
        let c = Row::of_rounds("c", vec![vec![2_000], vec![2_000]], 10);
        assert_eq!(a.round_ratio_range(&c), Some((1.0, 2.0)));
        assert_eq!(a.round_ratio_range(&Row::of_rounds("d", vec![vec![1_000]], 10)), None, "rounds must pair up");
    }

    #[test]
    fn ratios_divide_the_named_rows_and_a_missing_row_has_none() {
        let settings = Settings {
            rounds: 1,
            iterations: 1,
            python: "p".into(),
            script: "s".into(),
            dir: "d".into(),
            runtime: None,
            idempotency: None,
            memory: None,
        };
        let rows = vec![
            Row::of_rounds(SLUICE, vec![vec![2_000, 1_000, 3_000], vec![2_000]], 10),
            Row::of_rounds(POWERTOOLS, vec![vec![8_000], vec![10_000, 6_000]], 10),
            Row::of(SLUICE_BARE, vec![1_000], 10),
        ];
        let report = Report::new(rows, &settings, "3.11", "3.37.0");
        assert_eq!(report.ratio(SLUICE, POWERTOOLS), Some(0.25));
        assert_eq!(report.ratio_range(SLUICE, POWERTOOLS), Some((0.25, 0.25)));
        assert_eq!(report.ratio(SLUICE_BARE, POWERTOOLS_BARE), None);
        assert_eq!(report.ratio_range(SLUICE_BARE, POWERTOOLS), None, "a row without rounds has no range");
        assert!(
            report
                .markdown()
                .contains("| sluice with idempotency and logs / Powertools with Logger | 0.25 | 0.25-0.25 |")
        );
        assert_eq!((ratio(0.0184), ratio(0.456)), ("0.018".to_owned(), "0.46".to_owned()));
    }
}
