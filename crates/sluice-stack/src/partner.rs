//! A partner API as the IETF Idempotency-Key draft describes one: it applies each key once,
//! answers a repeat with the same body with the first result, and refuses a key reused with
//! another body (422), recording the conflict.
//!
//! It is also the downstream that `sluice compare` varies: it can take a fixed time to answer
//! (the processing time per object) and can be down for a window (503 to every POST), and it
//! records when each key was first applied, the moment an object's processing took effect.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
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
}

/// A running partner API on loopback.
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// use std::time::Duration;
/// let partner = sluice_stack::partner::Partner::start_with(Duration::from_millis(20)).await?;
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
}

impl Partner {
    /// Starts the partner API on a free loopback port, answering at once.
    pub async fn start() -> std::io::Result<Partner> {
        Self::start_with(Duration::ZERO).await
    }

    /// Starts the partner API on a free loopback port; it takes `latency` to answer each POST.
    pub async fn start_with(latency: Duration) -> std::io::Result<Partner> {
        let state: Arc<Mutex<State>> = Arc::default();
        let shared = state.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                async move {
                    if !latency.is_zero() {
                        tokio::time::sleep(latency).await;
                    }
                    apply(&mut state.lock().expect("partner state"), &headers, &body)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        Ok(Partner { url, state })
    }

    /// While `down`, every POST is refused with 503 (a downstream outage).
    pub fn outage(&self, down: bool) {
        self.state.lock().expect("partner state").down = down;
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
        }
    }
}

fn apply(state: &mut State, headers: &HeaderMap, body: &[u8]) -> StatusCode {
    let Some(key) = headers.get("idempotency-key").and_then(|k| k.to_str().ok()) else {
        return StatusCode::BAD_REQUEST;
    };
    state.posts += 1;
    if state.down {
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
