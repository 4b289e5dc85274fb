//! A fault proxy: an HTTP reverse proxy in front of S3, DynamoDB or the partner API that, with
//! seeded probabilities, answers a request itself with a fault instead of forwarding it, or
//! drops the connection in the middle of its answer, or forwards it late. The workers reach it
//! through `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_DYNAMODB` or `WEBHOOK_URL`: their code has
//! no test-only paths. Every request is counted by fate and by operation (the `X-Amz-Target`
//! of a JSON API such as DynamoDB, else the HTTP method): with no faults it is a request meter,
//! which is how `sluice compare` counts the DynamoDB requests it prices. Each request's span
//! (arrival to answer) is kept too: [`sequential_round_trips`](crate::proxy::sequential_round_trips) turns spans into the number of
//! round trips a caller made one after another.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// Which service the proxy stands in front of: it decides what a throttle looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// S3: 503 `SlowDown` (XML).
    S3,
    /// DynamoDB: 400 `ProvisionedThroughputExceededException` or `ThrottlingException` (JSON).
    DynamoDb,
    /// A plain HTTP API: 503 with `Retry-After: 0`.
    Http,
}

/// How often each fault happens, in percent of requests (drawn in this order).
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// 500 Internal Server Error.
    pub server_error: u32,
    /// The service's throttling answer.
    pub throttle: u32,
    /// The connection is dropped in the middle of the answer (nothing was forwarded).
    pub reset: u32,
    /// Forwarded after a delay of up to 200 ms.
    pub delay: u32,
    /// Every request waits this long before anything else happens: a service that far away
    /// (the benchmark's fixed cost per request).
    pub latency: Duration,
}

struct Proxy {
    upstream: String,
    service: Service,
    faults: Faults,
    rng: Mutex<fastrand::Rng>,
    /// While set, every request fails with a 503 (an outage window).
    outage: Mutex<bool>,
    counts: Mutex<BTreeMap<&'static str, u64>>,
    operations: Mutex<BTreeMap<String, u64>>,
    spans: Mutex<Vec<Span>>,
    client: reqwest::Client,
}

/// One request as the proxy saw it: from its arrival to the end of its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The request arrived.
    pub start: Instant,
    /// The answer was ready.
    pub end: Instant,
}

/// The longest chain of requests each of which arrived after the previous one was answered:
/// the round trips a caller made one after another. Ten requests sent at once count 1; ten
/// sent one by one count 10.
///
/// ```
/// use std::time::{Duration, Instant};
/// use sluice_harness::proxy::{Span, sequential_round_trips};
/// let t = Instant::now();
/// let at = |from: u64, to: u64| Span { start: t + Duration::from_millis(from), end: t + Duration::from_millis(to) };
/// // Two requests at once, then one more after both: 2 round trips.
/// assert_eq!(sequential_round_trips(&[at(0, 5), at(1, 6), at(7, 12)]), 2);
/// ```
pub fn sequential_round_trips(spans: &[Span]) -> usize {
    let mut by_start = spans.to_vec();
    by_start.sort_by_key(|s| s.start);
    // depth[i]: the longest chain ending with by_start[i].
    let mut depth = vec![0usize; by_start.len()];
    for i in 0..by_start.len() {
        let before = (0..i).filter(|&j| by_start[j].end <= by_start[i].start).map(|j| depth[j]).max();
        depth[i] = 1 + before.unwrap_or(0);
    }
    depth.into_iter().max().unwrap_or(0)
}

/// A running fault proxy.
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// use sluice_harness::proxy::{FaultProxy, Faults, Service};
/// // A request meter in front of DynamoDB: no faults, every request counted.
/// let meter = FaultProxy::start("http://127.0.0.1:4567", Service::DynamoDb, Faults::default(), 1).await?;
/// // ... point AWS_ENDPOINT_URL_DYNAMODB at meter.url, run ...
/// let puts = meter.operations().get("PutItem").copied().unwrap_or(0);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FaultProxy {
    /// Its base URL, to use as the endpoint.
    pub url: String,
    proxy: Arc<Proxy>,
}

impl FaultProxy {
    /// A proxy to `upstream` (a base URL) for `service`, with `faults` drawn from `seed`.
    pub async fn start(upstream: &str, service: Service, faults: Faults, seed: u64) -> std::io::Result<FaultProxy> {
        let proxy = Arc::new(Proxy {
            upstream: upstream.trim_end_matches('/').to_owned(),
            service,
            faults,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            outage: Mutex::new(false),
            counts: Mutex::default(),
            operations: Mutex::default(),
            spans: Mutex::default(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(std::io::Error::other)?,
        });
        let app = axum::Router::new()
            .fallback(forward)
            .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
            .with_state(proxy.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        Ok(FaultProxy { url, proxy })
    }

    /// Fails every request while `on`.
    pub fn outage(&self, on: bool) {
        *self.proxy.outage.lock().expect("proxy state") = on;
    }

    /// Requests so far by fate: `forwarded`, `delayed`, `server_error`, `throttle`, `reset`,
    /// `outage`.
    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        self.proxy.counts.lock().expect("proxy state").clone()
    }

    /// Requests so far by operation: the action of `X-Amz-Target` (`PutItem`, `GetItem`, ...)
    /// when the request has one, else the HTTP method.
    pub fn operations(&self) -> BTreeMap<String, u64> {
        self.proxy.operations.lock().expect("proxy state").clone()
    }

    /// Every request so far, in the order they were answered.
    pub fn spans(&self) -> Vec<Span> {
        self.proxy.spans.lock().expect("proxy state").clone()
    }
}

enum Fate {
    Forward,
    Delay(Duration),
    ServerError,
    Throttle,
    Reset,
    Outage,
}

impl Proxy {
    fn decide(&self) -> Fate {
        if *self.outage.lock().expect("proxy state") {
            return Fate::Outage;
        }
        let mut rng = self.rng.lock().expect("proxy state");
        let roll = rng.u32(0..100);
        let f = self.faults;
        if roll < f.server_error {
            Fate::ServerError
        } else if roll < f.server_error + f.throttle {
            Fate::Throttle
        } else if roll < f.server_error + f.throttle + f.reset {
            Fate::Reset
        } else if roll < f.server_error + f.throttle + f.reset + f.delay {
            Fate::Delay(Duration::from_millis(rng.u64(0..=200)))
        } else {
            Fate::Forward
        }
    }

    fn count(&self, fate: &'static str) {
        *self.counts.lock().expect("proxy state").entry(fate).or_default() += 1;
    }

    fn operation(&self, method: &Method, headers: &HeaderMap) {
        let target = headers.get("x-amz-target").and_then(|t| t.to_str().ok());
        let operation = match target {
            Some(target) => target.rsplit('.').next().unwrap_or(target).to_owned(),
            None => method.as_str().to_owned(),
        };
        *self.operations.lock().expect("proxy state").entry(operation).or_default() += 1;
    }

    fn throttle(&self) -> Response {
        match self.service {
            Service::S3 => (
                StatusCode::SERVICE_UNAVAILABLE,
                [("content-type", "application/xml")],
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
            )
                .into_response(),
            Service::DynamoDb => {
                let kind = if self.rng.lock().expect("proxy state").bool() {
                    "ProvisionedThroughputExceededException"
                } else {
                    "ThrottlingException"
                };
                let body = format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"Rate exceeded"}}"#);
                (StatusCode::BAD_REQUEST, [("x-amzn-errortype", kind), ("content-type", "application/x-amz-json-1.0")], body)
                    .into_response()
            }
            Service::Http => (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "0")], "slow down").into_response(),
        }
    }
}

async fn forward(
    State(proxy): State<Arc<Proxy>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let start = Instant::now();
    let response = answer(&proxy, method, uri, headers, body).await;
    proxy.spans.lock().expect("proxy state").push(Span { start, end: Instant::now() });
    response
}

/// The fate of one request: a fault, or upstream's answer.
async fn answer(proxy: &Proxy, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    proxy.operation(&method, &headers);
    if !proxy.faults.latency.is_zero() {
        tokio::time::sleep(proxy.faults.latency).await;
    }
    match proxy.decide() {
        Fate::ServerError => {
            proxy.count("server_error");
            return (StatusCode::INTERNAL_SERVER_ERROR, "injected server error").into_response();
        }
        Fate::Throttle => {
            proxy.count("throttle");
            return proxy.throttle();
        }
        Fate::Reset => {
            proxy.count("reset");
            // Headers go out, then the body fails: hyper drops the connection mid-answer.
            let broken = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected reset"))
            });
            return Response::builder()
                .status(StatusCode::OK)
                .header("content-length", "1024")
                .body(axum::body::Body::from_stream(broken))
                .expect("a valid response");
        }
        Fate::Outage => {
            proxy.count("outage");
            return (StatusCode::SERVICE_UNAVAILABLE, "injected outage").into_response();
        }
        Fate::Delay(d) => {
            proxy.count("delayed");
            tokio::time::sleep(d).await;
        }
        Fate::Forward => proxy.count("forwarded"),
    }
    let target = format!("{}{}", proxy.upstream, uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let mut request = proxy.client.request(method, target).body(body);
    for (name, value) in &headers {
        if !matches!(name.as_str(), "host" | "content-length" | "transfer-encoding" | "connection") {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(answer) => {
            let status = answer.status();
            let mut out = HeaderMap::new();
            for (name, value) in answer.headers() {
                if !matches!(name.as_str(), "content-length" | "transfer-encoding" | "connection") {
                    out.append(name, value.clone());
                }
            }
            let bytes = answer.bytes().await.unwrap_or_default();
            (status, out, bytes).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, format!("upstream: {e}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(t: Instant, from_ms: u64, to_ms: u64) -> Span {
        Span { start: t + Duration::from_millis(from_ms), end: t + Duration::from_millis(to_ms) }
    }

    #[test]
    fn round_trips_count_requests_made_one_after_another_not_at_once() {
        let t = Instant::now();
        let one_by_one: Vec<_> = (0..10).map(|i| span(t, i * 6, i * 6 + 5)).collect();
        assert_eq!(sequential_round_trips(&one_by_one), 10);
        let at_once: Vec<_> = (0..10).map(|i| span(t, i, 20 + i)).collect();
        assert_eq!(sequential_round_trips(&at_once), 1);
        // Ten at once, then ten at once after all of those: a claim then a completion per record.
        let two_waves: Vec<_> = (0..10).flat_map(|i| [span(t, i, 20 + i), span(t, 40 + i, 60 + i)]).collect();
        assert_eq!(sequential_round_trips(&two_waves), 2);
        assert_eq!(sequential_round_trips(&[]), 0);
    }
}
