//! The bootstrap fails initialisation with a message naming the bad variable.

use std::process::Command;

fn run_with(vars: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sqs-worker"));
    cmd.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bootstrap runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn a_missing_results_bucket_is_named() {
    let (ok, text) = run_with(&[]);
    assert!(!ok);
    assert!(text.contains("RESULTS_BUCKET: is required"), "{text}");
}

#[test]
fn an_invalid_number_is_named() {
    let (ok, text) = run_with(&[("RESULTS_BUCKET", "r"), ("BATCH_CONCURRENCY", "many")]);
    assert!(!ok);
    assert!(text.contains("BATCH_CONCURRENCY: must be a whole number"), "{text}");
}

#[tokio::test]
async fn an_unreachable_redis_is_named() {
    // Bound but not listening: the port stays ours, and every connection to it is refused.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("redis://{}/", socket.local_addr().unwrap());
    let (ok, text) = run_with(&[("RESULTS_BUCKET", "r"), ("IDEMPOTENCY_REDIS_URL", &url), ("AWS_REGION", "us-east-1")]);
    assert!(!ok);
    assert!(text.contains("IDEMPOTENCY_REDIS_URL: cannot connect"), "{text}");
}
