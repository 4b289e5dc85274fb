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
    /// The median of each round, in microseconds, in the order the rounds ran: a ratio of two
    /// rows is also taken round by round, and its spread says how far one run can be trusted.
    /// Empty for a figure measured in no rounds.
    pub round_medians_us: Vec<f64>,
}

/// The median of `times_ns` in microseconds: the middle sample, or the mean of the middle two.
fn median_us(times_ns: &mut [u64]) -> f64 {
    times_ns.sort_unstable();
    let median = match times_ns.len() {
        0 => 0.0,
        n if n % 2 == 1 => times_ns[n / 2] as f64,
        n => (times_ns[n / 2 - 1] + times_ns[n / 2]) as f64 / 2.0,
    };
    median / 1000.0
}

impl Row {
    /// The median of `times_ns`, per batch of `records` (0: not a batch figure).
    pub fn of(name: &str, mut times_ns: Vec<u64>, records: usize) -> Row {
        let median = median_us(&mut times_ns);
        Row {
            name: name.to_owned(),
            samples: times_ns.len(),
            median_us: median,
            median_record_us: (records > 0).then(|| median / records as f64),
            round_medians_us: Vec::new(),
        }
    }

    /// [`Row::of`] all the samples of `rounds`, keeping each round's median as well.
    pub fn of_rounds(name: &str, mut rounds: Vec<Vec<u64>>, records: usize) -> Row {
        let round_medians_us = rounds.iter_mut().map(|round| median_us(round)).collect();
        Row { round_medians_us, ..Row::of(name, rounds.concat(), records) }
    }

    /// The lowest and highest ratio of this row's round medians to `other`'s, round by round;
    /// `None` unless both were measured in the same rounds.
    pub fn round_ratio_range(&self, other: &Row) -> Option<(f64, f64)> {
        let (a, b) = (&self.round_medians_us, &other.round_medians_us);
        if a.is_empty() || a.len() != b.len() || b.iter().any(|&m| m <= 0.0) {
            return None;
        }
        let ratios = a.iter().zip(b).map(|(a, b)| a / b);
        Some(ratios.fold((f64::INFINITY, 0.0), |(lo, hi), r| (lo.min(r), hi.max(r))))
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
