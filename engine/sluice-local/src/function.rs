//! A function: a pool of instances (real `bootstrap` processes) and how an invocation runs.
//!
//! An invocation takes a concurrency slot, then an idle instance or a new one (a cold start,
//! up to the function's concurrency). It is handed to the instance's Runtime API `/next`
//! long-poll, which stamps the deadline (`now + timeout`, an absolute epoch in milliseconds as
//! Lambda's `Lambda-Runtime-Deadline-Ms`). The answer comes on `/response` or `/error`; an
//! instance still running at the deadline is killed and the invocation fails with
//! "Task timed out", as Lambda's does; an instance whose process exits fails its invocation
//! with `Runtime.ExitError`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::concurrency::{Slots, ThrottleReason};
use crate::config::FunctionConfig;
use crate::instance::{Answer, Instance, Invocation};
use crate::records::{InvocationRecord, Outcome, Records, Trigger};
use sluice_clock::epoch_millis as epoch_ms;

/// Longest wait for a new instance to ask for its first event: "The Init phase is limited to
/// 10 seconds" (Lambda Developer Guide, lambda-runtime-environment). Real time, never scaled.
pub(crate) const INIT_TIMEOUT: Duration = Duration::from_secs(10);

static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(1);

/// What is invoked: the event, its request id, and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct InvokeRequest {
    pub request_id: String,
    pub payload: Vec<u8>,
    /// The `X-Amz-Client-Context` of a synchronous call, decoded: handed to the runtime as
    /// `Lambda-Runtime-Client-Context`.
    pub client_context: Option<String>,
    pub trigger: Trigger,
    pub batch_size: usize,
    /// The caller's trace (`X-Amzn-Trace-Id` on Invoke), which the invocation continues;
    /// `None` starts a new one.
    pub trace: Option<sluice_trace::TraceContext>,
    /// 1 for the first attempt of an asynchronous event, 2 and 3 for its retries.
    pub attempt: u32,
    /// Times the event was throttled before this invocation.
    pub throttles: u32,
    /// How long the event waited before this invocation.
    pub queue_wait: Duration,
}

impl InvokeRequest {
    /// A request with a fresh request id.
    pub(crate) fn new(payload: Vec<u8>, trigger: Trigger) -> Self {
        InvokeRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            payload,
            client_context: None,
            trace: None,
            trigger,
            batch_size: 1,
            attempt: 1,
            throttles: 0,
            queue_wait: Duration::ZERO,
        }
    }
}

/// Which instance ran an invocation, as its record tells.
#[derive(Debug, Default, Clone, Copy)]
struct RanOn {
    instance: u64,
    /// A new instance was started for it.
    cold: bool,
    /// That instance's init phase (cold starts only).
    init: Option<Duration>,
    /// That instance's peak resident memory so far.
    peak_rss_kb: Option<u64>,
}

/// The result of one invocation.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InvokeResult {
    /// The request id.
    pub request_id: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The response, or the error document.
    pub body: Vec<u8>,
    /// The error type, for failures (`Unhandled` types, `Sandbox.Timedout`, `Runtime.ExitError`).
    pub error_type: Option<String>,
    /// The status Lambda answers: 200 when the function ran (failures included: they are
    /// function errors), 429 when it was throttled. Async invocation's DLQ `ErrorCode`.
    pub status_code: u16,
    /// The last 4 KB of this invocation's log, `START` to `REPORT`.
    pub log_tail: Vec<u8>,
}

impl InvokeResult {
    fn failure(request_id: String, outcome: Outcome, error_type: &str, message: String) -> Self {
        let body = serde_json::json!({ "errorType": error_type, "errorMessage": message }).to_string().into_bytes();
        InvokeResult {
            request_id,
            outcome,
            body,
            error_type: Some(error_type.to_owned()),
            status_code: 200,
            log_tail: Vec::new(),
        }
    }

    /// A throttle: reserved concurrency 0, or no concurrency left (Lambda API `Invoke`,
    /// `TooManyRequestsException` with its `Reason`).
    pub(crate) fn throttled(request_id: String, reason: ThrottleReason) -> Self {
        let body = serde_json::json!({
            "errorType": "TooManyRequestsException",
            "errorMessage": "Rate Exceeded.",
            "Reason": reason.as_str(),
        })
        .to_string()
        .into_bytes();
        InvokeResult {
            request_id,
            outcome: Outcome::Throttled,
            body,
            error_type: Some("TooManyRequestsException".into()),
            status_code: 429,
            log_tail: Vec::new(),
        }
    }

    /// True for [`Outcome::Success`].
    pub fn is_success(&self) -> bool {
        self.outcome == Outcome::Success
    }

    /// The error message of a failure (the `errorMessage` of its error document).
    pub fn error_message(&self) -> String {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v.get("errorMessage").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&self.body).into_owned())
    }
}

/// A function and its instances.
pub(crate) struct Function {
    pub config: FunctionConfig,
    /// How its instances start.
    launch: crate::launch::Launch,
    pub arn: String,
    region: String,
    log_file: PathBuf,
    slots: Slots,
    idle: Mutex<Vec<Arc<Instance>>>,
    /// Held while an invocation looks for a free slot and, finding none, starts an instance:
    /// a burst waits for that instance's slots (Managed Instances) rather than starting more.
    choosing: tokio::sync::Mutex<()>,
    in_flight: AtomicU32,
    /// Draws of the injected faults, if any.
    faults: Option<Mutex<fastrand::Rng>>,
    /// Live instances, idle or busy.
    instances: Arc<Mutex<HashMap<u64, Arc<Instance>>>>,
    pub(crate) records: Arc<Records>,
    /// The network its instances run in, if not the machine's.
    network: Option<Arc<crate::network::Network>>,
}

impl Function {
    pub(crate) fn new(
        config: FunctionConfig,
        launch: crate::launch::Launch,
        slots: Slots,
        log_dir: &std::path::Path,
        records: Arc<Records>,
        region: &str,
        network: Option<Arc<crate::network::Network>>,
    ) -> Self {
        let arn = format!("arn:aws:lambda:{region}:000000000000:function:{}", config.deployed_name());
        let faults = config.faults.map(|f| Mutex::new(fastrand::Rng::with_seed(f.seed)));
        Function {
            region: region.to_owned(),
            slots,
            log_file: log_dir.join(format!("{}.log", config.deployed_name())),
            config,
            launch,
            arn,
            idle: Mutex::default(),
            choosing: tokio::sync::Mutex::default(),
            in_flight: AtomicU32::new(0),
            faults,
            instances: Arc::default(),
            records,
            network,
        }
    }

    /// A concurrency slot now, or why the invocation is throttled.
    pub(crate) fn try_slot(&self) -> Result<OwnedSemaphorePermit, ThrottleReason> {
        if self.injects(|f| f.throttle_percent) {
            self.records.fault(&self.config.name, "throttle");
            return Err(ThrottleReason::Account);
        }
        self.slots.try_take()
    }

    /// Draws whether the fault `percent` picks from the configuration happens now.
    fn injects(&self, percent: impl Fn(&crate::config::FaultInjection) -> u32) -> bool {
        let (Some(config), Some(rng)) = (&self.config.faults, &self.faults) else { return false };
        rng.lock().expect("faults poisoned").u32(0..100) < percent(config)
    }

    /// A random moment up to 300 ms, for a kill.
    fn kill_delay(&self) -> Duration {
        let ms = self.faults.as_ref().map_or(0, |rng| rng.lock().expect("faults poisoned").u64(0..=300));
        Duration::from_millis(ms)
    }

    /// A concurrency slot, waiting for one.
    pub(crate) async fn slot(&self) -> OwnedSemaphorePermit {
        self.slots.take().await
    }

    /// A slot now if one is free, with no fault injected: an event source mapping's batch.
    pub(crate) fn free_slot(&self) -> Option<OwnedSemaphorePermit> {
        self.slots.try_take().ok()
    }

    /// How many invocations of this function may run at once.
    pub(crate) fn max_concurrency(&self) -> u32 {
        self.slots.size()
    }

    /// True when reserved concurrency is 0: every invocation is throttled.
    pub(crate) fn always_throttled(&self) -> bool {
        self.config.reserved_concurrency == Some(0)
    }

    /// Runs one invocation in the slot `_slot`.
    pub(crate) async fn invoke(&self, _slot: OwnedSemaphorePermit, request: InvokeRequest) -> InvokeResult {
        let started = SystemTime::now();
        let clock = Instant::now();
        let in_flight = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.records.concurrency(&self.config.name, in_flight);
        let (instance, cold) = match self.instance().await {
            Ok(found) => found,
            Err(e) => {
                let result = InvokeResult::failure(
                    request.request_id.clone(),
                    Outcome::RuntimeError,
                    "Runtime.InvalidEntrypoint",
                    format!("cannot start {}: {e}", self.launch.program.display()),
                );
                self.finish(&result, &request, None, started, clock);
                return result;
            }
        };
        let mark = instance.log.mark();
        let mut result = self.run_on(&instance, &request).await;
        let duration = clock.elapsed();
        let init = cold.then(|| *instance.init_duration.lock().expect("instance poisoned")).flatten();
        let duration_ms = duration.as_secs_f64() * 1000.0;
        let peak_rss_kb = crate::logs::peak_rss_kb(instance.pid);
        let report = crate::logs::report_line(
            &request.request_id,
            duration_ms,
            billed_ms(duration),
            self.config.memory_mb,
            peak_rss_kb.map(|kb| kb.div_ceil(1024)),
            init.map(|d| d.as_secs_f64() * 1000.0),
        );
        instance.log.settle().await;
        instance.log.write(format!("END RequestId: {}\n{report}", request.request_id).as_bytes());
        result.log_tail = instance.log.since(mark, crate::logs::TAIL_RETURNED);
        if instance.is_alive() && result.outcome != Outcome::Timeout {
            self.idle.lock().expect("function poisoned").push(instance.clone());
        }
        self.finish(&result, &request, Some(RanOn { instance: instance.id, cold, init, peak_rss_kb }), started, clock);
        result
    }

    fn finish(
        &self,
        result: &InvokeResult,
        request: &InvokeRequest,
        ran_on: Option<RanOn>,
        started: SystemTime,
        clock: Instant,
    ) {
        let in_flight = self.in_flight.fetch_sub(1, Ordering::SeqCst) - 1;
        self.records.concurrency(&self.config.name, in_flight);
        let duration = clock.elapsed();
        let RanOn { instance, cold, init, peak_rss_kb } = ran_on.unwrap_or_default();
        self.records.invocation(InvocationRecord {
            function: self.config.name.clone(),
            request_id: result.request_id.clone(),
            trigger: request.trigger,
            attempt: request.attempt,
            throttles: request.throttles,
            queue_wait_ms: request.queue_wait.as_millis() as u64,
            cold,
            instance,
            start_ms: epoch_ms(started),
            duration_ms: duration.as_millis() as u64,
            duration_us: duration.as_micros() as u64,
            billed_duration_ms: billed_ms(duration),
            init_duration_ms: init.map(|d| d.as_millis() as u64),
            init_duration_us: init.map(|d| d.as_micros() as u64),
            memory_mb: self.config.memory_mb,
            max_memory_used_kb: peak_rss_kb,
            batch_size: request.batch_size,
            payload_bytes: request.payload.len(),
            outcome: result.outcome,
            error_type: result.error_type.clone(),
        });
    }

    /// A free invocation slot on a live instance, or a new instance (cold). `idle` holds one
    /// entry per free slot: an instance that runs several invocations at once (Managed
    /// Instances) is in it that many times when it has nothing to do.
    async fn instance(&self) -> std::io::Result<(Arc<Instance>, bool)> {
        let _choosing = self.choosing.lock().await;
        {
            let mut idle = self.idle.lock().expect("function poisoned");
            while let Some(instance) = idle.pop() {
                if instance.is_alive() {
                    return Ok((instance, false));
                }
            }
        }
        let instance = self.spawn().await?;
        let mut idle = self.idle.lock().expect("function poisoned");
        for _ in 1..self.config.invocations_per_instance() {
            idle.push(instance.clone());
        }
        Ok((instance, true))
    }

    async fn run_on(&self, instance: &Arc<Instance>, request: &InvokeRequest) -> InvokeResult {
        let request_id = request.request_id.clone();
        let (picked_tx, picked_rx) = oneshot::channel();
        let (answer_tx, answer_rx) = oneshot::channel();
        let invocation = Invocation {
            request_id: request_id.clone(),
            payload: request.payload.clone(),
            client_context: request.client_context.clone(),
            trace: crate::trace::invocation_header(self.config.tracing, request.trace),
            picked: picked_tx,
            answer: answer_tx,
        };
        let exit_error = |instance: &Instance, request_id: String| {
            let init = instance.init_error.lock().expect("instance poisoned").take();
            match init {
                Some((error_type, body)) => InvokeResult {
                    request_id,
                    outcome: Outcome::RuntimeError,
                    body,
                    error_type: Some(error_type),
                    status_code: 200,
                    log_tail: Vec::new(),
                },
                None => InvokeResult::failure(
                    request_id,
                    Outcome::RuntimeError,
                    "Runtime.ExitError",
                    "RequestId: the runtime exited before answering".into(),
                ),
            }
        };
        if instance.queue.send(invocation).await.is_err() {
            return exit_error(instance, request_id);
        }
        let mut exited = instance.exited.clone();
        let deadline_ms = tokio::select! {
            picked = picked_rx => match picked {
                Ok(d) => d,
                Err(_) => return exit_error(instance, request_id),
            },
            _ = exited.wait_for(|e| *e) => return exit_error(instance, request_id),
            _ = instance.init_failed.notified() => {
                // Lambda fails the invocation with the runtime's init error and resets the environment.
                instance.kill();
                return exit_error(instance, request_id);
            }
            _ = tokio::time::sleep(INIT_TIMEOUT) => {
                instance.kill();
                // "Function times out during Init phase (Sandbox.Timedout)" (Lambda Developer
                // Guide, troubleshooting-invocation). Lambda would first retry the init within the
                // function timeout; here the invocation fails at the 10 s limit.
                let message = format!(
                    "RequestId: {request_id} Error: Task timed out during the Init phase after {:.2} seconds",
                    INIT_TIMEOUT.as_secs_f64()
                );
                return InvokeResult::failure(request_id, Outcome::Timeout, "Sandbox.Timedout", message);
            }
        };
        instance.log.write(format!("START RequestId: {request_id} Version: $LATEST\n").as_bytes());
        let left = Duration::from_millis(deadline_ms.saturating_sub(sluice_clock::now_millis()));
        if self.injects(|f| f.kill_percent) {
            self.records.fault(&self.config.name, "kill");
            let (doomed, delay) = (instance.clone(), self.kill_delay());
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                doomed.kill();
            });
        }
        let withhold = self.injects(|f| f.timeout_percent);
        if withhold {
            self.records.fault(&self.config.name, "timeout");
        }
        tokio::select! {
            answer = answer_rx, if !withhold => match answer {
                Ok(Answer::Response(body)) => InvokeResult { request_id, outcome: Outcome::Success, body, error_type: None, status_code: 200, log_tail: Vec::new() },
                Ok(Answer::Error { error_type, body }) =>
                    InvokeResult { request_id, outcome: Outcome::FunctionError, body, error_type: Some(error_type), status_code: 200, log_tail: Vec::new() },
                Err(_) => exit_error(instance, request_id),
            },
            _ = tokio::time::sleep(left) => {
                instance.kill();
                let secs = self.config.timeout.as_secs_f64();
                InvokeResult::failure(request_id.clone(), Outcome::Timeout, "Sandbox.Timedout",
                    format!("RequestId: {request_id} Error: Task timed out after {secs:.2} seconds"))
            }
        }
    }

    /// Starts a `bootstrap` process with Lambda's environment and a Runtime API of its own.
    async fn spawn(&self) -> std::io::Result<Arc<Instance>> {
        let id = NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed);
        // The Runtime API on the instance's own loopback, in its network namespace if it has one.
        let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let listener = match self.network.clone() {
            // Binding inside the namespace enters it on a thread of its own: off the async workers.
            Some(network) => tokio::task::spawn_blocking(move || network.listen_for_functions(loopback))
                .await
                .map_err(std::io::Error::other)?
                .map_err(std::io::Error::other)?,
            None => std::net::TcpListener::bind(loopback)?,
        };
        listener.set_nonblocking(true)?;
        let runtime_api = listener.local_addr()?.to_string();
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let file = tokio::fs::OpenOptions::new().create(true).append(true).open(&self.log_file).await?.into_std().await;
        let log = Arc::new(crate::logs::InstanceLog::new(Arc::new(Mutex::new(file))));
        // Absolute before the working directory changes to the task root, as Lambda's is
        // (/var/task): a path relative to the service's directory would not be found from there.
        // A bare program name (an interpreter on PATH) stays as it is, for the PATH lookup.
        let launch = &self.launch;
        let program = if launch.program.components().count() > 1 {
            std::path::absolute(&launch.program)?
        } else {
            launch.program.clone()
        };
        let mut command = match &self.network {
            Some(network) => network.function_command(&program).map_err(std::io::Error::other)?,
            None => tokio::process::Command::new(&program),
        };
        command.args(&launch.args);
        let task_root = std::path::absolute(&launch.task_root)?;
        // The reserved variables Lambda sets (Lambda Developer Guide, "Defined runtime
        // environment variables"); /var/task and /var/runtime are the code's directory here. The
        // runtime's paths (PYTHONPATH, NODE_PATH) are unreserved: the function's own win.
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LANG", "en_US.UTF-8")
            .envs(&launch.environment)
            .envs(&self.config.environment)
            .env("AWS_REGION", &self.region)
            .env("AWS_DEFAULT_REGION", &self.region)
            .env("LAMBDA_TASK_ROOT", &task_root)
            .env("LAMBDA_RUNTIME_DIR", &task_root)
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", self.config.deployed_name())
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", self.config.memory_mb.to_string())
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", self.config.deployed_name()))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("local/[$LATEST]{id:032x}"))
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("_HANDLER", &launch.handler)
            .env("TZ", ":UTC")
            .current_dir(&task_root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // "Not defined for OS-only runtimes (the provided family)": only managed runtimes get it.
        if self.config.is_managed_runtime() {
            command.env("AWS_EXECUTION_ENV", format!("AWS_Lambda_{}", self.config.runtime));
        }
        let per_instance = self.config.invocations_per_instance();
        if per_instance > 1 {
            // Set by Lambda on Managed Instances; runtime clients then poll /next that many times at once.
            command.env("AWS_LAMBDA_MAX_CONCURRENCY", per_instance.to_string());
        }
        let mut child = command.spawn()?;
        if let Some(out) = child.stdout.take() {
            log.pump(out);
        }
        if let Some(err) = child.stderr.take() {
            log.pump(err);
        }
        let pid = child.id();
        let (queue, next) = mpsc::channel(per_instance as usize);
        let (exited_tx, exited) = watch::channel(false);
        let (kill_tx, kill_rx) = oneshot::channel::<()>();
        let instance = Arc::new(Instance {
            id,
            timeout: self.config.timeout,
            function_arn: self.arn.clone(),
            queue,
            next: tokio::sync::Mutex::new(next),
            current: Mutex::default(),
            init_error: Mutex::default(),
            init_failed: tokio::sync::Notify::new(),
            log,
            pid,
            spawned: Instant::now(),
            init_duration: Mutex::default(),
            exited,
            kill: Mutex::new(Some(kill_tx)),
        });
        self.instances.lock().expect("instances poisoned").insert(id, instance.clone());
        let mut stopped = instance.exited.clone();
        let api = crate::runtime_api::router(instance.clone());
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|e| *e).await;
            };
            let _ = axum::serve(listener, api).with_graceful_shutdown(shutdown).await;
        });
        let (registry, watched) = (self.instances.clone(), instance.clone());
        let name = self.config.name.clone();
        tokio::spawn(async move {
            let status = tokio::select! {
                status = child.wait() => status.ok(),
                _ = kill_rx => { let _ = child.kill().await; None }
            };
            tracing::debug!(function = %name, instance = id, ?status, "instance ended");
            let _ = exited_tx.send(true);
            // Dropping the answer channels fails the invocations in progress, if any.
            watched.current.lock().expect("instance poisoned").clear();
            registry.lock().expect("instances poisoned").remove(&id);
        });
        Ok(instance)
    }

    /// Kills every instance.
    pub(crate) fn shutdown(&self) {
        for instance in self.idle.lock().expect("function poisoned").drain(..) {
            instance.kill();
        }
        let all: Vec<_> = self.instances.lock().expect("instances poisoned").values().cloned().collect();
        for instance in all {
            instance.kill();
        }
    }
}

/// Lambda bills duration rounded up to the millisecond (Lambda pricing, "Duration").
pub(crate) fn billed_ms(duration: Duration) -> u64 {
    duration.as_nanos().div_ceil(1_000_000) as u64
}
