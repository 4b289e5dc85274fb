//! S3 -> SNS -> SQS -> Lambda in the model: the queue and its event source mapping, as
//! [`sluice_rules::sqs_mapping`] states it. Pollers start at 5 concurrent batches and add one
//! every 200 ms while messages wait, to `MaximumConcurrency` (or 1,250), or run between
//! provisioned mode's minimum and maximum pollers; they fall back to the start after an empty
//! long poll. A batch holds up to `BatchSize` messages, gathered for at most the batching
//! window. A batch that finds no concurrency is throttled and waits for the next free slot,
//! and is given back to the queue if the wait leaves the function too little of the visibility
//! timeout. A failed record's message reappears after the visibility timeout; a receive past
//! `maxReceiveCount` moves it to the DLQ.

use sluice_rules::sqs_mapping;

use crate::model::settings::Pollers;
use crate::model::sim::{Event, Fifo, Micros, QUEUE, Sim};
use crate::model::{ModelSettings, sim};

/// The queue, its messages and the mapping's pollers.
pub(crate) struct QueueState {
    upload: Vec<Micros>,
    receives: Vec<u16>,
    visible: Fifo<u32>,
    start: u32,
    ceiling: u32,
    level: u32,
    busy: u32,
    last_change: Micros,
    batches: Vec<(Vec<u32>, bool)>,
    free: Vec<u32>,
    waiting: Fifo<(u32, Micros)>,
    gathering: Option<u32>,
    receiving: u32,
    empty_poll_pending: bool,
    /// Poller-microseconds spent idle on an empty queue: each idle poller long-polls.
    idle_poller_us: u128,
}

impl QueueState {
    pub(crate) fn new(settings: &ModelSettings, objects: usize) -> Self {
        let may_run = settings
            .queue
            .reserved_concurrency
            .unwrap_or(settings.account_concurrency - settings.direct.reserved_concurrency.unwrap_or(0));
        let (start, ceiling) = match settings.queue.pollers {
            Pollers::OnDemand { maximum_concurrency } => {
                let ceiling = sqs_mapping::ceiling(maximum_concurrency, may_run).max(1);
                (sqs_mapping::START_CONCURRENCY.min(ceiling), ceiling)
            }
            Pollers::Provisioned { minimum, maximum } => {
                let per = sqs_mapping::INVOCATIONS_PER_POLLER;
                let ceiling = (maximum * per).min(may_run).max(1);
                ((minimum * per).min(ceiling), ceiling)
            }
        };
        QueueState {
            upload: vec![0; objects],
            receives: vec![0; objects],
            visible: Fifo::new(),
            start,
            ceiling,
            level: start,
            busy: 0,
            last_change: 0,
            batches: Vec::new(),
            free: Vec::new(),
            waiting: Fifo::new(),
            gathering: None,
            receiving: 0,
            empty_poll_pending: false,
            idle_poller_us: 0,
        }
    }

    /// Message `k` of an object uploaded at `upload` is on its way to the queue.
    pub(crate) fn send(&mut self, k: u32, upload: Micros) {
        self.upload[k as usize] = upload;
    }

    /// `dt` passed: idle pollers on an empty queue long-polled through it.
    pub(crate) fn idle_time(&mut self, dt: Micros) {
        if self.visible.is_empty() && self.gathering.is_none() {
            self.idle_poller_us += (self.level.saturating_sub(self.busy) as u128) * dt as u128;
        }
    }

    /// Empty `ReceiveMessage` calls of idle pollers, at AWS time (one per poller per 20 s).
    pub(crate) fn empty_receives(&self, time_scale: f64) -> u64 {
        let long_poll = sim::us(sqs_mapping::LONG_POLL) as f64;
        (self.idle_poller_us as f64 * time_scale / long_poll) as u64
    }

    fn new_batch(&mut self) -> u32 {
        match self.free.pop() {
            Some(b) => b,
            None => {
                self.batches.push((Vec::new(), false));
                self.batches.len() as u32 - 1
            }
        }
    }
}

impl Sim<'_> {
    pub(crate) fn queue_visible(&mut self, k: u32) {
        self.queue.visible.push_back(k);
        if let Some(b) = self.queue.gathering {
            self.fill(b);
            if self.queue.batches[b as usize].0.len() >= self.settings.queue.batch_size as usize {
                self.queue.gathering = None;
                self.dispatch(b);
            }
        }
        self.poll();
    }

    /// Receives visible messages into batch `b` up to the batch size; a receive past
    /// `maxReceiveCount` moves the message to the DLQ instead.
    fn fill(&mut self, b: u32) {
        let want = self.settings.queue.batch_size as usize;
        let mut taken = 0u64;
        while self.queue.batches[b as usize].0.len() < want {
            let Some(k) = self.queue.visible.pop_front() else { break };
            taken += 1;
            let receives = &mut self.queue.receives[k as usize];
            *receives = receives.saturating_add(1);
            if sqs_mapping::redriven(*receives as u32, self.settings.queue.max_receive_count) {
                let upload = self.queue.upload[k as usize];
                let c = &mut self.counts[QUEUE];
                c.dead_lettered += 1;
                c.finish(upload, self.now);
                continue;
            }
            self.queue.batches[b as usize].0.push(k);
        }
        let calls = taken.div_ceil(sqs_mapping::MESSAGES_PER_RECEIVE as u64).max(1);
        *self.counts[QUEUE].sqs.entry("ReceiveMessage").or_default() += calls;
    }

    /// Free pollers receive while messages are visible: a receive takes the poller's receive
    /// time and brings back what is visible when it returns, so a burst's first batches fill
    /// while the call is under way. No more receives start than the visible messages need.
    fn poll(&mut self) {
        loop {
            let q = &self.queue;
            if q.busy >= q.level || q.gathering.is_some() {
                return;
            }
            if q.visible.is_empty() {
                if !q.empty_poll_pending && !self.done() {
                    self.queue.empty_poll_pending = true;
                    let wait = self.aws(sqs_mapping::LONG_POLL);
                    self.at(self.now + wait, Event::PollEmpty);
                }
                return;
            }
            let serial = self.settings.times.one_receive_at_a_time && q.receiving > 0;
            if serial || q.visible.len() <= q.receiving as usize * self.settings.queue.batch_size as usize {
                return;
            }
            self.queue.busy += 1;
            self.queue.receiving += 1;
            let took = self.settings.times.receive.draw_at((self.now / 1000) as u32, &mut self.rng);
            self.at(self.now + took, Event::Received);
        }
    }

    /// A poller's receive returns with what is visible now.
    pub(crate) fn received(&mut self) {
        self.queue.receiving -= 1;
        let b = self.queue.new_batch();
        self.fill(b);
        if self.queue.batches[b as usize].0.is_empty() {
            self.queue.free.push(b);
            self.queue.busy -= 1;
            return self.poll();
        }
        self.counts[QUEUE].batches += 1;
        let step = self.aws(sqs_mapping::SCALE_UP_INTERVAL);
        let q = &mut self.queue;
        if q.level < q.ceiling && self.now - q.last_change >= step {
            q.level += 1;
            q.last_change = self.now;
        }
        let window = self.settings.queue.batching_window;
        let short = q.batches[b as usize].0.len() < self.settings.queue.batch_size as usize;
        if !window.is_zero() && short && q.gathering.is_none() {
            q.gathering = Some(b);
            let end = self.now + self.aws(window);
            return self.at(end, Event::WindowEnd(b));
        }
        self.dispatch(b);
        self.poll();
    }

    pub(crate) fn window_end(&mut self, b: u32) {
        if self.queue.gathering == Some(b) {
            self.queue.gathering = None;
            self.dispatch(b);
            self.poll();
        }
    }

    /// An idle poller's long poll came back: on a queue still empty the mapping falls back to
    /// its starting concurrency.
    pub(crate) fn poll_empty(&mut self) {
        let q = &mut self.queue;
        q.empty_poll_pending = false;
        if q.visible.is_empty() && q.gathering.is_none() {
            q.level = q.start.max(q.busy);
            q.last_change = self.now;
        }
        self.poll();
    }

    /// Invokes batch `b`, or, with no concurrency free, counts a throttle and queues it for
    /// the next free slot.
    fn dispatch(&mut self, b: u32) {
        if self.queue.waiting.is_empty()
            && let Some(init) = self.acquire(QUEUE)
        {
            return self.start_batch(b, init);
        }
        self.counts[QUEUE].throttles += 1;
        self.queue.waiting.push_back((b, self.now));
        // The scaling rate's next period, in case no invocation ends before it.
        let period = self.aws(sluice_rules::scaling::SCALING_PERIOD).max(1);
        self.at((self.now / period + 1) * period, Event::Grant);
    }

    /// A slot came free: waiting batches take it, in order; one that waited past the visibility
    /// timeout less the function's timeout is given back to the queue instead.
    pub(crate) fn grant_waiting_batch(&mut self) {
        let budget = sim::us(sqs_mapping::slot_wait_budget(
            self.settings.queue.visibility_timeout,
            self.settings.function_timeout,
        ));
        while let Some(&(b, since)) = self.queue.waiting.front() {
            if self.now - since > budget {
                self.queue.waiting.pop_front();
                let messages = std::mem::take(&mut self.queue.batches[b as usize].0);
                self.queue.visible.extend(messages);
                self.queue.free.push(b);
                self.queue.busy -= 1;
                continue;
            }
            let Some(init) = self.acquire(QUEUE) else { return };
            self.queue.waiting.pop_front();
            self.start_batch(b, init);
        }
    }

    fn start_batch(&mut self, b: u32, init: Micros) {
        let records = self.queue.batches[b as usize].0.len() as u64;
        let times = &self.settings.times;
        let down = self.downstream_down(QUEUE, self.now + init + times.downstream_at_us);
        let at_ms = (self.now / 1000) as u32;
        let times = &self.settings.times;
        let drawn = times.queue_invocation.draw(records as u32, down, at_ms, &mut self.rng);
        let (duration, timed_out) = self.capped(drawn);
        self.bill(QUEUE, records, init, duration);
        let c = &mut self.counts[QUEUE];
        c.deliveries += records;
        c.running += records;
        self.queue.batches[b as usize].1 = !down && !timed_out;
        self.at(self.now + init + duration, Event::BatchEnd(b));
    }

    pub(crate) fn batch_end(&mut self, b: u32) {
        let (messages, ok) = std::mem::take(&mut self.queue.batches[b as usize]);
        self.queue.free.push(b);
        self.counts[QUEUE].running -= messages.len() as u64;
        if ok {
            for &k in &messages {
                let upload = self.queue.upload[k as usize];
                self.counts[QUEUE].processed += 1;
                let effect = self.now.saturating_sub(self.settings.times.queue_effect_before_end_us).max(upload);
                let c = &mut self.counts[QUEUE];
                c.latencies_us.push(effect - upload);
                c.finish(upload, self.now);
            }
            let deletes = (messages.len() as u64).div_ceil(sqs_mapping::MESSAGES_PER_RECEIVE as u64);
            *self.counts[QUEUE].sqs.entry("DeleteMessageBatch").or_default() += deletes;
        } else {
            let visibility = self.settings.queue.visibility_timeout;
            let back = sluice_local::sqs_mapping::played_visibility_timeout(visibility, self.settings.time_scale)
                .map_or_else(|| self.aws(visibility), sim::us);
            for &k in &messages {
                self.at(self.now + back, Event::QueueVisible(k));
            }
        }
        self.release(QUEUE);
        if ok {
            let took = self.settings.times.delete.draw_at((self.now / 1000) as u32, &mut self.rng);
            self.at(self.now + took, Event::Deleted);
        } else {
            self.deleted();
        }
    }

    /// A poller has deleted its batch: it is free to receive again.
    pub(crate) fn deleted(&mut self) {
        self.queue.busy -= 1;
        self.poll();
    }
}
