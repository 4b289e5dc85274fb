//! S3 -> SNS -> Lambda in the model: Lambda's asynchronous invocation queue, as
//! [`sluice_rules::async_invoke`] states it. An event that finds no concurrency is throttled
//! and tried again after 1 s, 2 s, 4 s, ... at most 5 minutes apart, while its age allows; a
//! failed attempt is retried `MaximumRetryAttempts` times, about 1 and 2 minutes later; then the
//! event goes to the DLQ or on-failure destination, or is dropped.

use sluice_rules::async_invoke::{self, GiveUp};

use crate::model::sim::{DIRECT, Event, Micros, Sim};

/// One event on the direct path.
#[derive(Debug, Clone, Copy, Default)]
struct DirectEvent {
    upload: Micros,
    arrived: Micros,
    attempts: u8,
    throttles: u16,
}

/// The direct path's events.
pub(crate) struct DirectState {
    events: Vec<DirectEvent>,
}

impl DirectState {
    pub(crate) fn new(objects: usize) -> Self {
        DirectState { events: vec![DirectEvent::default(); objects] }
    }

    /// Event `k`, uploaded at `upload`, reaches Lambda's queue at `arrived`.
    pub(crate) fn arrive(&mut self, k: u32, upload: Micros, arrived: Micros) {
        self.events[k as usize] = DirectEvent { upload, arrived, attempts: 0, throttles: 0 };
    }
}

impl Sim<'_> {
    pub(crate) fn direct_try(&mut self, k: u32) {
        let settings = &self.settings.direct;
        if settings.reserved_concurrency == Some(0) {
            // Reserved concurrency 0: straight on, without retries (invocation-async).
            return self.direct_give_up(k, GiveUp::RetriesExhausted);
        }
        let max_age = self.aws(settings.maximum_event_age);
        let Some(init) = self.acquire(DIRECT) else {
            let unit = self.rng.f64();
            let event = &mut self.direct.events[k as usize];
            let wait = async_invoke::throttle_backoff_jittered(event.throttles as u32, unit);
            event.throttles = event.throttles.saturating_add(1);
            let age = self.now - event.arrived;
            self.counts[DIRECT].throttles += 1;
            let wait = self.aws(wait);
            if age + wait > max_age {
                return self.direct_give_up(k, GiveUp::EventAgeExceeded);
            }
            return self.at(self.now + wait, Event::DirectTry(k));
        };
        self.direct.events[k as usize].attempts += 1;
        let times = &self.settings.times;
        let down = self.downstream_down(DIRECT, self.now + init + times.downstream_at_us);
        let at_ms = (self.now / 1000) as u32;
        let times = &self.settings.times;
        let drawn = times.direct_invocation.draw(1, down, at_ms, &mut self.rng);
        let (duration, timed_out) = self.capped(drawn);
        self.bill(DIRECT, 1, init, duration);
        let c = &mut self.counts[DIRECT];
        c.deliveries += 1;
        c.running += 1;
        self.at(self.now + init + duration, Event::DirectEnd(k, !down && !timed_out));
    }

    pub(crate) fn direct_end(&mut self, k: u32, ok: bool) {
        self.release(DIRECT);
        self.counts[DIRECT].running -= 1;
        let event = self.direct.events[k as usize];
        if ok {
            self.counts[DIRECT].processed += 1;
            let effect = self.now.saturating_sub(self.settings.times.direct_effect_before_end_us).max(event.upload);
            let c = &mut self.counts[DIRECT];
            c.latencies_us.push(effect - event.upload);
            return c.finish(event.upload, self.now);
        }
        let settings = &self.settings.direct;
        let Some(delay) = async_invoke::retry_delay(event.attempts as u32 - 1, settings.maximum_retry_attempts) else {
            return self.direct_give_up(k, GiveUp::RetriesExhausted);
        };
        let (delay, max_age) = (self.aws(delay), self.aws(settings.maximum_event_age));
        if self.now - event.arrived + delay > max_age {
            return self.direct_give_up(k, GiveUp::EventAgeExceeded);
        }
        self.at(self.now + delay, Event::DirectTry(k));
    }

    fn direct_give_up(&mut self, k: u32, why: GiveUp) {
        let upload = self.direct.events[k as usize].upload;
        let on_failure = self.settings.direct.on_failure;
        let c = &mut self.counts[DIRECT];
        match why {
            GiveUp::RetriesExhausted => c.gave_up.retries_exhausted += 1,
            GiveUp::EventAgeExceeded => c.gave_up.event_age_exceeded += 1,
        }
        if on_failure {
            c.dead_lettered += 1;
            *c.sqs.entry("SendMessage (on-failure destination)").or_default() += 1;
        } else {
            c.dropped += 1;
        }
        c.finish(upload, self.now);
    }
}
