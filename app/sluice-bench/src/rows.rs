//! One side's medians: time per batch, per record, or peak memory.

/// One side's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// What ran.
    pub name: String,
    /// Iterations measured.
    pub samples: usize,
    /// Median time (per batch, per invocation or per cold start), in microseconds.
    pub median_us: f64,
    /// Median time per record, in microseconds (`None` for a figure that is not per batch).
    pub median_record_us: Option<f64>,
}

impl Row {
    /// The median of `times_ns`, per batch of `records` (0: not a batch figure).
    pub fn of(name: &str, mut times_ns: Vec<u64>, records: usize) -> Row {
        times_ns.sort_unstable();
        let median = match times_ns.len() {
            0 => 0.0,
            n if n % 2 == 1 => times_ns[n / 2] as f64,
            n => (times_ns[n / 2 - 1] + times_ns[n / 2]) as f64 / 2.0,
        };
        Row {
            name: name.to_owned(),
            samples: times_ns.len(),
            median_us: median / 1000.0,
            median_record_us: (records > 0).then(|| median / 1000.0 / records as f64),
        }
    }
}

/// One side's peak resident memory.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Peak {
    /// What ran, on what.
    pub name: String,
    /// Instances measured.
    pub samples: usize,
    /// The median of their peaks, KiB.
    pub median_kib: u64,
}

impl Peak {
    /// The median of `kib` (the lower middle one of an even count: a peak is a sample, not a mean).
    pub fn of(name: &str, mut kib: Vec<u64>) -> Peak {
        kib.sort_unstable();
        let median_kib = if kib.is_empty() { 0 } else { kib[(kib.len() - 1) / 2] };
        Peak { name: name.to_owned(), samples: kib.len(), median_kib }
    }
}
