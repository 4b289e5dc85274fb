//! A partner API as the IETF Idempotency-Key draft describes one: it applies each key once,
//! answers a repeat with the same body with the first result, and refuses a key reused with
//! another body (422), recording the conflict.
//!
//! It is also the downstream that `sluice compare` varies: it can take a fixed time to answer
//! (the processing time per object) and can be down for a window (503 to every POST), and it
//! records when each key was first applied, the moment an object's processing took effect.
//!
//! It can stand where a partner does on the internet, in the "internet" namespace of a local
//! network ([`Partner::start_on`](crate::partner::Partner::start_on)), with an allow-list of source addresses as partners keep one:
//! a POST from any other address is refused with 403 before its key is looked at. Every POST's
//! source address is recorded with the Lambda request id the worker sends
//! (`Lambda-Request-Id`), so a run can show which address each invocation left from.
//!
//! A scheduled outage is timed from the first POST the partner sees, not from a wall-clock
//! moment: whatever the machine's load delays before traffic arrives (uploads, notification
//! delivery, cold starts), the workers meet the same window.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, StatusCode};

#[derive(Default)]
struct State {
    applied: HashMap<String, Vec<u8>>,
    applied_at: HashMap<String, SystemTime>,
    posts: u64,
    repeats: u64,
    refused_in_outage: u64,
    conflicts: Vec<String>,
    down: bool,
    /// A scheduled outage: (start, length) after the first POST.
    window: Option<(Duration, Duration)>,
    first_post: Option<Instant>,
    /// Sources allowed to POST; none: every source.
    allow_list: Option<Vec<IpAddr>>,
    /// Signing secrets by key id: when set, a POST without a valid `Sluice-Signature` is refused.
    signing_secrets: Option<HashMap<String, Vec<u8>>>,
    refused_signatures: u64,
    calls: Vec<Call>,
}

/// One POST the partner received: where it came from and what it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Call {
    /// The source address the partner saw (after any NAT).
    pub source: IpAddr,
    /// The `Lambda-Request-Id` header: the invocation that sent it.
    pub request_id: Option<String>,
    /// The `Idempotency-Key` header.
    pub key: Option<String>,
    /// The status answered.
    pub status: u16,
    /// When it arrived, epoch milliseconds.
    pub received_ms: u64,
}

impl State {
    fn is_down(&self, now: Instant) -> bool {
        let scheduled = match (self.window, self.first_post) {
            (Some((start, length)), Some(first)) => {
                let since = now.saturating_duration_since(first);
                since >= start && since < start + length
            }
            _ => false,
        };
        self.down || scheduled
    }
}

/// A running partner API on loopback.
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// use std::time::Duration;
/// let partner = sluice_harness::partner::Partner::start_with(Duration::from_millis(20)).await?;
/// partner.outage(true); // every POST answers 503 until outage(false)
/// assert!(partner.url.ends_with("/hook"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Partner {
    /// Where to POST.
    pub url: String,
    state: Arc<Mutex<State>>,
}

/// What the partner saw.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PartnerReport {
    /// Keys applied, each once.
    pub applied: HashMap<String, Vec<u8>>,
    /// When each key was first applied.
    pub applied_at: HashMap<String, SystemTime>,
    /// POSTs received.
    pub posts: u64,
    /// POSTs repeating an applied key with the same body.
    pub repeats: u64,
    /// POSTs refused with 503 while the partner was down.
    pub refused_in_outage: u64,
    /// Keys POSTed again with a different body.
    pub conflicts: Vec<String>,
    /// Every POST, in order of arrival.
    pub calls: Vec<Call>,
    /// POSTs refused (401) for a missing or invalid signature.
    pub refused_signatures: u64,
}

impl PartnerReport {
    /// POSTs by source address.
    pub fn sources(&self) -> std::collections::BTreeMap<IpAddr, usize> {
        let mut sources = std::collections::BTreeMap::new();
        for call in &self.calls {
            *sources.entry(call.source).or_default() += 1;
        }
        sources
    }
}

impl Partner {
    /// Starts the partner API on a free loopback port, answering at once.
    pub async fn start() -> std::io::Result<Partner> {
        Self::start_with(Duration::ZERO).await
    }

    /// Starts the partner API on a free loopback port; it takes `latency` to answer each POST.
    pub async fn start_with(latency: Duration) -> std::io::Result<Partner> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        Self::start_on(listener, latency, None)
    }

    /// Starts the partner API on `listener` (non-blocking, opened in whichever network
    /// namespace), answering after `latency`; with an `allow_list`, a POST from any other
    /// source address is refused with 403.
    ///
    /// ```no_run
    /// # async fn f() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// listener.set_nonblocking(true)?;
    /// let allowed = vec!["192.0.2.10".parse().unwrap()];
    /// let partner = sluice_harness::partner::Partner::start_on(listener, Duration::ZERO, Some(allowed))?;
    /// # let _ = partner;
    /// # Ok(()) }
    /// ```
    pub fn start_on(
        listener: std::net::TcpListener,
        latency: Duration,
        allow_list: Option<Vec<IpAddr>>,
    ) -> std::io::Result<Partner> {
        let state = Arc::new(Mutex::new(State { allow_list, ..State::default() }));
        let shared = state.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                async move {
                    if !latency.is_zero() {
                        tokio::time::sleep(latency).await;
                    }
                    let mut state = state.lock().expect("partner state");
                    let (status, reason) = apply(&mut state, peer.ip(), &headers, &body);
                    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
                    state.calls.push(Call {
                        source: peer.ip(),
                        request_id: header("lambda-request-id"),
                        key: header("idempotency-key"),
                        status: status.as_u16(),
                        received_ms: sluice_clock::now_millis(),
                    });
                    (status, reason)
                }
            }),
        );
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        Ok(Partner { url, state })
    }

    /// From now on, refuses (401) every POST without a valid `Sluice-Signature` made with one
    /// of `secrets` (by key id), as a partner verifying sluice's signed webhooks does.
    pub fn require_signatures(&self, secrets: HashMap<String, Vec<u8>>) {
        self.state.lock().expect("partner state").signing_secrets = Some(secrets);
    }

    /// While `down`, every POST is refused with 503 (a downstream outage).
    pub fn outage(&self, down: bool) {
        self.state.lock().expect("partner state").down = down;
    }

    /// Schedules an outage: every POST from `start` to `start + length` after the first POST
    /// the partner sees is refused with 503. With `start` zero the first POST is refused too.
    ///
    /// ```no_run
    /// # async fn f() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let partner = sluice_harness::partner::Partner::start().await?;
    /// partner.schedule_outage(Duration::ZERO, Duration::from_secs(9)); // down for its first 9 s of traffic
    /// # Ok(()) }
    /// ```
    pub fn schedule_outage(&self, start: Duration, length: Duration) {
        self.state.lock().expect("partner state").window = Some((start, length));
    }

    /// What the partner saw so far.
    pub fn report(&self) -> PartnerReport {
        let state = self.state.lock().expect("partner state");
        PartnerReport {
            applied: state.applied.clone(),
            applied_at: state.applied_at.clone(),
            posts: state.posts,
            repeats: state.repeats,
            refused_in_outage: state.refused_in_outage,
            conflicts: state.conflicts.clone(),
            calls: state.calls.clone(),
            refused_signatures: state.refused_signatures,
        }
    }
}

/// The answer to one POST: its status, and why when refused.
fn apply(state: &mut State, source: IpAddr, headers: &HeaderMap, body: &[u8]) -> (StatusCode, String) {
    if state.allow_list.as_ref().is_some_and(|allowed| !allowed.contains(&source)) {
        return (StatusCode::FORBIDDEN, format!("source address {source} is not on the allow-list"));
    }
    if let Some(secrets) = &state.signing_secrets {
        use sluice_object_summary::signature::{DEFAULT_TOLERANCE, SIGNATURE_HEADER, verify};
        let header = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let now = sluice_clock::epoch_secs(SystemTime::now());
        if let Err(e) = verify(header, body, |id| secrets.get(id).cloned(), now, DEFAULT_TOLERANCE) {
            state.refused_signatures += 1;
            return (StatusCode::UNAUTHORIZED, e.to_string());
        }
    }
    (accept(state, headers, body), String::new())
}

/// Applies a POST whose source and signature passed.
fn accept(state: &mut State, headers: &HeaderMap, body: &[u8]) -> StatusCode {
    let Some(key) = headers.get("idempotency-key").and_then(|k| k.to_str().ok()) else {
        return StatusCode::BAD_REQUEST;
    };
    state.posts += 1;
    let now = Instant::now();
    state.first_post.get_or_insert(now);
    if state.is_down(now) {
        state.refused_in_outage += 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    match state.applied.get(key) {
        None => {
            state.applied.insert(key.to_owned(), body.to_vec());
            state.applied_at.insert(key.to_owned(), SystemTime::now());
            StatusCode::CREATED
        }
        Some(first) if first.as_slice() == body => {
            state.repeats += 1;
            StatusCode::CREATED
        }
        Some(_) => {
            state.conflicts.push(key.to_owned());
            StatusCode::UNPROCESSABLE_ENTITY
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(state: &mut State, key: &str) -> StatusCode {
        let mut headers = HeaderMap::new();
        headers.insert("idempotency-key", key.parse().unwrap());
        apply(state, IpAddr::from([127, 0, 0, 1]), &headers, b"{}").0
    }

    #[test]
    fn a_scheduled_outage_is_timed_from_the_first_post_not_from_when_it_was_scheduled() {
        let mut state = State { window: Some((Duration::ZERO, Duration::from_millis(300))), ..State::default() };
        std::thread::sleep(Duration::from_millis(400)); // longer than the window: no POST yet, so not over
        assert_eq!(post(&mut state, "a"), StatusCode::SERVICE_UNAVAILABLE, "the first POST opens the window");
        assert_eq!(post(&mut state, "a"), StatusCode::SERVICE_UNAVAILABLE);
        let deadline = Instant::now() + Duration::from_secs(5);
        while state.is_down(Instant::now()) {
            assert!(Instant::now() < deadline, "the window never closed");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(post(&mut state, "a"), StatusCode::CREATED, "back after the window");
        assert_eq!(state.refused_in_outage, 2);
    }

    #[test]
    fn a_window_that_starts_later_lets_the_first_posts_through() {
        let mut state = State { window: Some((Duration::from_secs(60), Duration::from_secs(1))), ..State::default() };
        assert_eq!(post(&mut state, "a"), StatusCode::CREATED);
        assert_eq!(post(&mut state, "b"), StatusCode::CREATED);
        assert!(state.is_down(state.first_post.unwrap() + Duration::from_millis(60_500)));
        assert!(!state.is_down(state.first_post.unwrap() + Duration::from_secs(61)));
    }

    #[test]
    fn with_signatures_required_only_a_valid_signature_over_the_exact_body_is_applied() {
        use sluice_object_summary::signature::{SIGNATURE_HEADER, SigningKey};
        let mut state =
            State { signing_secrets: Some([("k1".to_owned(), b"s3cret".to_vec())].into()), ..State::default() };
        let source = IpAddr::from([127, 0, 0, 1]);
        let now = sluice_clock::epoch_secs(SystemTime::now());
        let signed = |key: &SigningKey, at: u64, body: &[u8]| {
            let mut headers = HeaderMap::new();
            headers.insert("idempotency-key", "\"k\"".parse().unwrap());
            headers.insert(SIGNATURE_HEADER, key.sign(at, body).parse().unwrap());
            headers
        };
        let key = SigningKey::new("k1", b"s3cret".to_vec());
        let (status, reason) = apply(&mut state, source, &signed(&key, now, b"{}"), b"{\"x\":1}");
        assert_eq!((status, reason.as_str()), (StatusCode::UNAUTHORIZED, "signature does not match the body"));
        let (status, reason) = apply(&mut state, source, &signed(&key, now - 3600, b"{}"), b"{}");
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{reason}");
        let forged = SigningKey::new("k1", b"guess".to_vec());
        assert_eq!(apply(&mut state, source, &signed(&forged, now, b"{}"), b"{}").0, StatusCode::UNAUTHORIZED);
        assert!(state.applied.is_empty() && state.refused_signatures == 3);
        assert_eq!(apply(&mut state, source, &signed(&key, now, b"{}"), b"{}").0, StatusCode::CREATED);
    }

    #[test]
    fn a_source_off_the_allow_list_is_refused_before_its_key_is_looked_at() {
        let allowed: IpAddr = "192.0.2.10".parse().unwrap();
        let mut state = State { allow_list: Some(vec![allowed]), ..State::default() };
        let mut headers = HeaderMap::new();
        headers.insert("idempotency-key", "\"k\"".parse().unwrap());
        assert_eq!(apply(&mut state, "203.0.113.200".parse().unwrap(), &headers, b"{}").0, StatusCode::FORBIDDEN);
        assert!(state.applied.is_empty() && state.posts == 0);
        assert_eq!(apply(&mut state, allowed, &headers, b"{}").0, StatusCode::CREATED);
        assert_eq!(state.applied.len(), 1);
    }
}
