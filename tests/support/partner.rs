//! A partner API as the IETF Idempotency-Key draft describes one: it applies each key once,
//! answers a repeat with the same body with the first result, and refuses a key reused with
//! another body (422), recording the conflict.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};

#[derive(Default)]
struct State {
    applied: HashMap<String, Vec<u8>>,
    posts: u64,
    repeats: u64,
    conflicts: Vec<String>,
}

/// A running partner API on loopback.
#[derive(Clone)]
pub struct Partner {
    /// Where to POST.
    pub url: String,
    state: Arc<Mutex<State>>,
}

/// What the partner saw.
#[derive(Debug, Clone)]
pub struct PartnerReport {
    /// Keys applied, each once.
    pub applied: HashMap<String, Vec<u8>>,
    /// POSTs received.
    pub posts: u64,
    /// POSTs repeating an applied key with the same body.
    pub repeats: u64,
    /// Keys POSTed again with a different body.
    pub conflicts: Vec<String>,
}

impl Partner {
    /// Starts the partner API on a free loopback port.
    pub async fn start() -> Partner {
        let state: Arc<Mutex<State>> = Arc::default();
        let shared = state.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                async move {
                    let Some(key) = headers.get("idempotency-key").and_then(|k| k.to_str().ok()) else {
                        return StatusCode::BAD_REQUEST;
                    };
                    let mut state = state.lock().unwrap();
                    state.posts += 1;
                    match state.applied.get(key) {
                        None => {
                            state.applied.insert(key.to_owned(), body.to_vec());
                            StatusCode::CREATED
                        }
                        Some(first) if first.as_slice() == body.as_ref() => {
                            state.repeats += 1;
                            StatusCode::CREATED
                        }
                        Some(_) => {
                            state.conflicts.push(key.to_owned());
                            StatusCode::UNPROCESSABLE_ENTITY
                        }
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        Partner { url, state }
    }

    /// What the partner saw so far.
    pub fn report(&self) -> PartnerReport {
        let state = self.state.lock().unwrap();
        PartnerReport {
            applied: state.applied.clone(),
            posts: state.posts,
            repeats: state.repeats,
            conflicts: state.conflicts.clone(),
        }
    }
}
