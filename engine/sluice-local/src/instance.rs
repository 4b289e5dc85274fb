//! One execution environment as its Runtime API sees it: the running `bootstrap` process, the
//! events queued for it, and where each answer goes. The function ([`crate::function`]) starts
//! instances and hands them invocations; the Runtime API ([`crate::runtime_api`]) serves an
//! instance's `/next`, `/response` and `/error`. Both import this module, neither the other's
//! internals.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

/// An event on its way to an instance.
pub(crate) struct Invocation {
    pub request_id: String,
    pub payload: Vec<u8>,
    pub client_context: Option<String>,
    /// `Lambda-Runtime-Trace-Id`.
    pub trace: String,
    /// Told the deadline (epoch ms) when the runtime picks the event up.
    pub picked: oneshot::Sender<u64>,
    /// Told the runtime's answer.
    pub answer: oneshot::Sender<Answer>,
}

/// What the runtime answered.
#[derive(Debug)]
pub(crate) enum Answer {
    Response(Vec<u8>),
    Error { error_type: String, body: Vec<u8> },
}

/// One running `bootstrap` process.
pub(crate) struct Instance {
    pub id: u64,
    pub timeout: Duration,
    pub function_arn: String,
    pub(crate) queue: mpsc::Sender<Invocation>,
    pub(crate) next: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    /// The invocations in progress (one, or up to `AWS_LAMBDA_MAX_CONCURRENCY` on Managed
    /// Instances), by request id: where each answer goes.
    pub(crate) current: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    pub(crate) init_error: Mutex<Option<(String, Vec<u8>)>>,
    /// Told when the runtime posts `/init/error`: the pending invocation fails at once.
    pub(crate) init_failed: tokio::sync::Notify,
    /// What the process writes, with the invocation lines.
    pub(crate) log: Arc<crate::logs::InstanceLog>,
    pub(crate) pid: Option<u32>,
    pub(crate) spawned: Instant,
    /// From start to the first `/next`: the init phase (reported for cold starts).
    pub(crate) init_duration: Mutex<Option<Duration>>,
    pub(crate) exited: watch::Receiver<bool>,
    pub(crate) kill: Mutex<Option<oneshot::Sender<()>>>,
}

impl Instance {
    /// Notes the first `/next`: the end of the init phase.
    pub(crate) fn ready(&self) {
        let mut init = self.init_duration.lock().expect("instance poisoned");
        if init.is_none() {
            *init = Some(self.spawned.elapsed());
        }
    }

    pub(crate) fn kill(&self) {
        if let Some(kill) = self.kill.lock().expect("instance poisoned").take() {
            let _ = kill.send(());
        }
    }

    pub(crate) fn is_alive(&self) -> bool {
        !*self.exited.borrow()
    }
}
