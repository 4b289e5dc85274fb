//! The discrete-event core: a virtual clock, a priority queue of timestamped events, the
//! account's concurrency pools and each function's execution environments. The two paths
//! (`direct.rs`, `queue.rs`) add their events and rules on top. Nothing sleeps: the clock jumps
//! from one event to the next, and every draw comes from one seeded generator, so one seed
//! gives one run.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::time::Duration;

use sluice_rules::scaling;

use crate::model::ModelSettings;
use crate::model::outcome::{GaveUp, Sample};

/// Virtual time, microseconds since the first upload.
pub(crate) type Micros = u64;

pub(crate) fn us(d: Duration) -> Micros {
    d.as_micros() as Micros
}

/// Something that happens at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Event {
    /// Object `k` is uploaded.
    Upload(u32),
    /// The direct path tries to invoke event `k` (first time, after a throttle or a retry).
    DirectTry(u32),
    /// The invocation of direct event `k` ends; `ok`: its record succeeded.
    DirectEnd(u32, bool),
    /// Message `k` becomes visible in the queue (sent, or back after its visibility timeout).
    QueueVisible(u32),
    /// The batch in slot `b` ends.
    BatchEnd(u32),
    /// A poller's receive returns.
    Received,
    /// A poller's delete returns.
    Deleted,
    /// The batching window of the batch being gathered ends.
    WindowEnd(u32),
    /// An idle poller's long poll comes back empty.
    PollEmpty,
    /// A new scaling period: batches waiting for concurrency try again.
    Grant,
    /// The timeline takes a sample.
    Sample,
}

/// The two functions.
pub(crate) const DIRECT: usize = 0;
pub(crate) const QUEUE: usize = 1;

/// A concurrency pool: the account's unreserved concurrency, or one function's reservation.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    size: u32,
    in_use: u32,
}

/// One function's execution environments and counters.
#[derive(Debug, Default)]
pub(crate) struct Function {
    pool: usize,
    in_use: u32,
    idle: u32,
    window: u64,
    new_in_window: u32,
}

/// Counters of one path.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub(crate) processed: u64,
    pub(crate) dead_lettered: u64,
    pub(crate) dropped: u64,
    pub(crate) gave_up: GaveUp,
    pub(crate) invocations: u64,
    pub(crate) batches: u64,
    pub(crate) throttles: u64,
    pub(crate) deliveries: u64,
    pub(crate) cold_starts: u64,
    pub(crate) peak_concurrency: u32,
    pub(crate) peak_backlog: u64,
    pub(crate) last_outcome: Micros,
    pub(crate) billed_ms: u64,
    pub(crate) dynamodb_writes: u64,
    pub(crate) sqs: BTreeMap<&'static str, u64>,
    pub(crate) latencies_us: Vec<u64>,
    pub(crate) timeline: Vec<Sample>,
    /// Events arrived and not finished, by upload time: the oldest one's age.
    pub(crate) outstanding: BTreeMap<Micros, u32>,
    /// Events running now (records in invocations).
    pub(crate) running: u64,
}

impl Counts {
    pub(crate) fn add_outstanding(&mut self, upload: Micros) {
        *self.outstanding.entry(upload).or_default() += 1;
    }

    pub(crate) fn finish(&mut self, upload: Micros, now: Micros) {
        if let Some(n) = self.outstanding.get_mut(&upload) {
            *n -= 1;
            if *n == 0 {
                self.outstanding.remove(&upload);
            }
        }
        self.last_outcome = self.last_outcome.max(now);
    }

    pub(crate) fn outstanding_count(&self) -> u64 {
        self.outstanding.values().map(|n| *n as u64).sum()
    }
}

/// The state of a model run.
pub(crate) struct Sim<'a> {
    pub(crate) settings: &'a ModelSettings,
    pub(crate) now: Micros,
    seq: u64,
    heap: BinaryHeap<Reverse<(Micros, u64, Event)>>,
    pub(crate) rng: fastrand::Rng,
    pools: Vec<Pool>,
    pub(crate) functions: [Function; 2],
    pub(crate) counts: [Counts; 2],
    /// Each path's downstream: its first call, from which the outages are timed.
    first_call: [Option<Micros>; 2],
    pub(crate) uploaded: u64,
    pub(crate) direct: crate::model::direct::DirectState,
    pub(crate) queue: crate::model::queue::QueueState,
    sample_every: Micros,
    events: u64,
}

impl<'a> Sim<'a> {
    pub(crate) fn new(settings: &'a ModelSettings) -> Sim<'a> {
        let objects = settings.arrivals.objects() as usize;
        let reserved = [settings.direct.reserved_concurrency, settings.queue.reserved_concurrency];
        let mut pools =
            vec![Pool { size: settings.account_concurrency - reserved.iter().flatten().sum::<u32>(), in_use: 0 }];
        let mut functions: [Function; 2] = Default::default();
        for (f, r) in reserved.iter().enumerate() {
            if let Some(size) = r {
                pools.push(Pool { size: *size, in_use: 0 });
                functions[f].pool = pools.len() - 1;
            }
        }
        Sim {
            settings,
            now: 0,
            seq: 0,
            heap: BinaryHeap::new(),
            rng: fastrand::Rng::with_seed(settings.seed),
            pools,
            functions,
            counts: Default::default(),
            first_call: [None; 2],
            uploaded: 0,
            direct: crate::model::direct::DirectState::new(objects),
            queue: crate::model::queue::QueueState::new(settings, objects),
            sample_every: 100_000,
            events: 0,
        }
    }

    /// `event` at `at` (never before now).
    pub(crate) fn at(&mut self, at: Micros, event: Event) {
        self.seq += 1;
        self.heap.push(Reverse((at.max(self.now), self.seq, event)));
    }

    /// AWS time `d` as the model plays it: divided by the time scale.
    pub(crate) fn aws(&self, d: Duration) -> Micros {
        us(d.div_f64(self.settings.time_scale))
    }

    /// Runs to the end; `progress` hears (objects finished on both paths, twice the objects).
    pub(crate) fn run(&mut self, progress: &dyn Fn(u64, u64)) {
        let total = 2 * self.settings.arrivals.objects();
        self.at(us(self.settings.arrivals.at(0)), Event::Upload(0));
        self.at(0, Event::Sample);
        while let Some(Reverse((at, _, event))) = self.heap.pop() {
            self.queue.idle_time(at - self.now);
            self.now = at;
            self.events += 1;
            if self.events.is_multiple_of(1 << 17) {
                progress(self.finished(), total);
            }
            match event {
                Event::Upload(k) => self.upload(k),
                Event::DirectTry(k) => self.direct_try(k),
                Event::DirectEnd(k, ok) => self.direct_end(k, ok),
                Event::QueueVisible(k) => self.queue_visible(k),
                Event::BatchEnd(b) => self.batch_end(b),
                Event::Received => self.received(),
                Event::Deleted => self.deleted(),
                Event::WindowEnd(b) => self.window_end(b),
                Event::PollEmpty => self.poll_empty(),
                Event::Grant => self.grant_waiting_batch(),
                Event::Sample => self.sample(),
            }
        }
        progress(total, total);
    }

    /// Events processed so far.
    pub(crate) fn events(&self) -> u64 {
        self.events
    }

    /// Every object has an outcome on both paths: nothing more can happen.
    pub(crate) fn done(&self) -> bool {
        self.finished() == 2 * self.settings.arrivals.objects()
    }

    fn finished(&self) -> u64 {
        self.counts.iter().map(|c| c.processed + c.dead_lettered + c.dropped).sum()
    }

    fn upload(&mut self, k: u32) {
        let objects = self.settings.arrivals.objects();
        self.uploaded += 1;
        let direct_hop = self.settings.times.direct_hop.draw(&mut self.rng);
        let queue_hop = self.settings.times.queue_hop.draw(&mut self.rng);
        for c in &mut self.counts {
            c.add_outstanding(self.now);
        }
        self.direct.arrive(k, self.now, self.now + direct_hop);
        self.at(self.now + direct_hop, Event::DirectTry(k));
        self.queue.send(k, self.now);
        self.at(self.now + queue_hop, Event::QueueVisible(k));
        if (k as u64) + 1 < objects {
            let next = us(self.settings.arrivals.at(k as u64 + 1));
            self.at(next, Event::Upload(k + 1));
        }
    }

    /// An execution environment of function `f` and a concurrency slot: the init time it needs
    /// (0 when warm), or `None` (throttled: no concurrency, or the scaling rate is spent).
    pub(crate) fn acquire(&mut self, f: usize) -> Option<Micros> {
        let pool = self.functions[f].pool;
        if self.pools[pool].in_use >= self.pools[pool].size {
            return None;
        }
        let period = self.aws(scaling::SCALING_PERIOD).max(1);
        let function = &mut self.functions[f];
        let init = if function.idle > 0 {
            function.idle -= 1;
            0
        } else {
            let window = self.now / period;
            if window != function.window {
                function.window = window;
                function.new_in_window = 0;
            }
            if function.new_in_window >= scaling::NEW_ENVIRONMENTS_PER_PERIOD {
                return None;
            }
            function.new_in_window += 1;
            self.counts[f].cold_starts += 1;
            self.settings.times.init.draw(&mut self.rng)
        };
        self.pools[pool].in_use += 1;
        let function = &mut self.functions[f];
        function.in_use += 1;
        let c = &mut self.counts[f];
        c.peak_concurrency = c.peak_concurrency.max(function.in_use);
        Some(init)
    }

    /// Function `f`'s invocation ended: its slot and environment are free again, and a batch
    /// waiting for the same pool takes them.
    pub(crate) fn release(&mut self, f: usize) {
        let pool = self.functions[f].pool;
        self.pools[pool].in_use -= 1;
        self.functions[f].in_use -= 1;
        self.functions[f].idle += 1;
        if self.functions[QUEUE].pool == pool {
            self.grant_waiting_batch();
        }
    }

    /// Whether path `p`'s downstream is down at `at` (its first call starts its outage clock).
    pub(crate) fn downstream_down(&mut self, p: usize, at: Micros) -> bool {
        let first = *self.first_call[p].get_or_insert(at);
        let since = at.saturating_sub(first);
        self.settings.outages.iter().any(|o| since >= us(o.start) && since < us(o.start + o.length))
    }

    /// A record's duration, the invocation's billing and the DynamoDB writes of its claims
    /// (claim, then complete or release, plus a renewal every third of a lease it is held).
    pub(crate) fn bill(&mut self, f: usize, records: u64, init: Micros, duration: Micros) {
        let c = &mut self.counts[f];
        c.invocations += 1;
        c.billed_ms += (init + duration).div_ceil(1000);
        let renewal = us(self.settings.times.lease / 3).max(1);
        c.dynamodb_writes += records * (2 + duration / renewal);
    }

    /// The invocation's duration, at most the function's timeout.
    pub(crate) fn capped(&self, duration: Micros) -> (Micros, bool) {
        let timeout = us(self.settings.function_timeout);
        (duration.min(timeout), duration > timeout)
    }

    fn sample(&mut self) {
        let uploaded = self.uploaded;
        let at_s = self.now as f64 / 1e6;
        for (f, c) in self.counts.iter_mut().enumerate() {
            let waiting = c.outstanding_count();
            let backlog = waiting.saturating_sub(c.running);
            c.peak_backlog = c.peak_backlog.max(backlog);
            let oldest_age_s = c.outstanding.keys().next().map_or(0.0, |t| (self.now - t) as f64 / 1e6);
            c.timeline.push(Sample {
                at_s,
                arrived: uploaded,
                concurrency: self.functions[f].in_use,
                throttles: c.throttles,
                backlog,
                oldest_age_s,
            });
        }
        if self.counts[0].timeline.len() > 1_000 {
            // Half the points, twice the interval: a timeline of any length stays small.
            for c in &mut self.counts {
                c.timeline = c.timeline.iter().step_by(2).copied().collect();
            }
            self.sample_every *= 2;
        }
        if !self.done() {
            self.at(self.now + self.sample_every, Event::Sample);
        }
    }
}

/// FIFO of waiting batches and the like.
pub(crate) type Fifo<T> = VecDeque<T>;
