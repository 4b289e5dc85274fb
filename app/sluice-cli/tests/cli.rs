//! The `sluice` command line: each failure is one or two lines naming what went wrong and what
//! to do, with a non-zero exit and no hang; and the commands' quick modes. The `#[ignore]`d tests
//! say what they need (`scripts/test` provides it); the others need no local stack.

use std::process::{Command, Output};

use sluice_local::{LocalLambda, ServiceConfig, ServiceOptions};

fn sluice(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
    command
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("RUST_LOG");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("the sluice binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// A closed loopback port: bound, then released.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sluice-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn invoking_an_unknown_function_says_so_in_one_line() {
    let aws = aws_config::SdkConfig::builder().behavior_version(aws_config::BehaviorVersion::latest()).build();
    let options = ServiceOptions { port: 0, log_dir: scratch("invoke"), aws };
    let service = LocalLambda::start(ServiceConfig::default(), options).await.unwrap();
    let endpoint = service.endpoint();
    let out = tokio::task::spawn_blocking(move || {
        sluice(&["invoke", "no-such-function", "--payload", "/dev/null"], &[("AWS_ENDPOINT_URL", &endpoint)])
    })
    .await
    .unwrap();
    service.shutdown().await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.lines().count() <= 2, "more than two lines:\n{err}");
    assert!(err.contains("no-such-function") && err.contains("ResourceNotFoundException"), "{err}");
    assert!(!err.contains("raw") && !err.contains("Response {"), "a debug dump:\n{err}");
}

#[test]
fn a_missing_worker_binary_is_named_with_the_build_command() {
    let dir = scratch("no-workers");
    let out = sluice(&["compare", "--workers", dir.to_str().unwrap()], &[("AWS_ENDPOINT_URL", "http://127.0.0.1:1")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&format!("{}/sqs-worker is missing", dir.display())), "{err}");
    assert!(err.contains("cargo build -p sqs-worker -p sns-worker"), "{err}");
}

#[test]
fn an_unreachable_stack_is_reported_with_how_to_start_it() {
    let dir = scratch("stack-down");
    for worker in ["sqs-worker", "sns-worker"] {
        std::fs::write(dir.join(worker), b"").unwrap();
    }
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let started = std::time::Instant::now();
    let out = sluice(&["compare", "--workers", dir.to_str().unwrap()], &[("AWS_ENDPOINT_URL", &endpoint)]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.lines().count() <= 2, "{err}");
    assert!(err.contains(&format!("the local stack (moto) does not answer at {endpoint}")), "{err}");
    assert!(err.contains("scripts/stack start"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "it took {:?}", started.elapsed());
}

#[test]
fn an_option_out_of_range_is_named() {
    let out = sluice(&["compare", "--objects", "0"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "sluice: invalid option --objects: must be at least 1");
    let out = sluice(&["compare", "--batch-size", "50"], &[]);
    assert!(stderr(&out).contains("--batching-window-s: must be at least 1 when --batch-size is over 10"));
}

#[test]
fn serving_on_a_taken_port_says_which_and_what_to_do() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let config = scratch("serve").join("functions.json");
    std::fs::write(&config, r#"{"functions": []}"#).unwrap();
    let out = sluice(&["local", "serve", "--config", config.to_str().unwrap(), "--port", &port], &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.lines().count() <= 2, "{err}");
    assert!(err.contains(&format!("is port {port} taken?")), "{err}");
}

/// The repository root, where `scripts/setup` puts `.venv-bench`.
fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

#[test]
#[ignore = "needs .venv-bench from scripts/setup and moto: run scripts/test"]
fn the_benchmark_runs_every_part_once_in_its_quick_mode() {
    let (root, dir) = (root(), scratch("bench"));
    let (python, script) =
        (root.join(".venv-bench/bin/python"), root.join("app/sluice-bench/python/powertools_inprocess.py"));
    let bootstrap = root.join("app/sluice-bench/python/bootstrap");
    let idempotency = root.join("app/sluice-bench/python/powertools_idempotency.py");
    let args = [
        "bench",
        "--rounds",
        "1",
        "--iterations",
        "3",
        "--invocations",
        "2",
        "--cold-starts",
        "1",
        "--json",
        "--python",
        python.to_str().unwrap(),
        "--script",
        script.to_str().unwrap(),
        "--bootstrap",
        bootstrap.to_str().unwrap(),
        "--idempotency-script",
        idempotency.to_str().unwrap(),
        "--dir",
        dir.to_str().unwrap(),
        // Far enough that all of a batch's concurrent requests reach the store before its first
        // answer, even from a debug build on a busy machine (they arrive within about 25 ms of
        // each other when idle): round trips then count dependencies, not scheduling.
        "--store-latency-ms",
        "250",
        "--memory-object-mib",
        "1,2",
        "--memory-rounds",
        "1",
    ];
    let out = sluice(&args, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = report["rows"].as_array().unwrap();
    // Five sides in process and four on the stream batches, two warm through the Runtime API,
    // four functions' cold starts and inits, and the DynamoDB idempotency part (wall time,
    // requests and sequential round trips; two phases, two sides).
    assert_eq!(rows.len(), 5 + 4 + 2 + 8 + 12, "{report}");
    for (k, row) in rows.iter().enumerate() {
        let samples = match k {
            0..9 => 3,
            9..11 => 2,
            _ => 1,
        };
        assert_eq!(row["samples"], samples, "{row}");
        assert!(row["median_us"].as_f64().unwrap() > 0.0, "{row}");
    }
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert!(names[5].contains("KinesisBatchHandler") && names[7].contains("DynamoDbStreamHandler"), "{names:?}");
    assert!(report["versions"].as_str().unwrap().contains("Powertools for AWS Lambda (Python) 3."), "{report}");
    // sluice's store requests for a batch of 10: a claim and a completion each, then a claim each.
    let requests = |name: &str| rows.iter().find(|r| r["name"] == name).map(|r| r["median_us"].as_f64().unwrap());
    let sluice_first = "sluice, DynamoDB idempotency, first run: requests per batch (count, not µs)";
    let sluice_duplicate = "sluice, DynamoDB idempotency, duplicate run: requests per batch (count, not µs)";
    assert_eq!((requests(sluice_first), requests(sluice_duplicate)), (Some(20.0), Some(10.0)), "{report}");
    // ... made ten at a time: two round trips one after the other, then one; Powertools makes
    // its claim and completion per record, one record after another.
    let trips = |side: &str, phase: &str| {
        requests(&format!(
            "{side}, DynamoDB idempotency, {phase} run: sequential round trips per batch (count, not µs)"
        ))
    };
    assert_eq!((trips("sluice", "first"), trips("sluice", "duplicate")), (Some(2.0), Some(1.0)), "{report}");
    assert_eq!(trips("Powertools", "first"), Some(20.0), "{report}");
    // Peak memory of three sides (sqs-worker at two batch concurrencies, Python) at two sizes.
    let peaks = report["peaks"].as_array().unwrap();
    assert_eq!(peaks.len(), 3 * 2, "{report}");
    for peak in peaks {
        assert_eq!(peak["samples"], 1, "{peak}");
        assert!(peak["median_kib"].as_u64().unwrap() > 1024, "a process holds more than 1 MiB: {peak}");
    }
}

#[test]
fn the_benchmark_without_its_python_says_how_to_get_it() {
    let out = sluice(&["bench", "--python", "/nonexistent/python"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent/python is missing: run scripts/bench"), "{}", stderr(&out));
}

#[test]
#[ignore = "needs the local stack: run scripts/test"]
fn the_network_demo_shows_each_invocations_calls_leaving_from_the_elastic_ip() {
    if let Err(why) = sluice_local::netns::available() {
        println!("skipped the network demo: {why}");
        return;
    }
    let log_dir = scratch("network-demo");
    let out = sluice(&["demo", "--static-egress-ip", "--objects", "3", "--log-dir", log_dir.to_str().unwrap()], &[]);
    let (stdout, err) = (String::from_utf8_lossy(&out.stdout).into_owned(), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{err}");
    assert!(stdout.contains("(EnableVpc=true, StaticEgressIp=true)"), "{stdout}");
    // The NAT leaves from the stack's Elastic IP (an RFC 5737 address the engine allocated), the
    // one address the partner allow-lists.
    let line = stdout.lines().find(|l| l.starts_with("egress address: ")).expect("the egress line");
    let eip = line["egress address: ".len()..].split(';').next().unwrap().to_owned();
    assert!(eip.starts_with("192.0.2."), "{line}");
    assert!(line.ends_with(&format!("allow-lists only the stack's StaticEgressIp: {eip}")), "{line}");
    assert!(stdout.contains(&format!("the partner saw {eip} x 6 (3 of 3 objects applied)")), "{stdout}");
    // Each call on its invocation's line: one accepted call per object and path, none other.
    assert_eq!(stdout.matches(&format!("{eip}: 201")).count(), 6, "{stdout}");
    assert_eq!(stdout.matches(": 201").count() + stdout.matches(": 403").count(), 6, "{stdout}");
}

#[test]
fn local_up_refuses_a_container_image_and_a_bad_parameter_before_deploying_anything() {
    let dir = scratch("up-python");
    let template = dir.join("template.yaml");
    std::fs::write(
        &template,
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Handler:\n    Type: AWS::Serverless::Function\n    \
         Properties:\n      PackageType: Image\n      ImageUri: 1.dkr.ecr.us-east-1.amazonaws.com/app:1\n",
    )
    .unwrap();
    // Nothing answers at the endpoint: a refusal that reached for the stack would say so instead.
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let out = sluice(&["local", "up", "--template", template.to_str().unwrap()], &[("AWS_ENDPOINT_URL", &endpoint)]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("sluice: up: function Handler: container images"), "{err}");
    let out = sluice(
        &[
            "local",
            "up",
            "--template",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml"),
            "--parameter-overrides",
            "EnableVpc=maybe",
        ],
        &[("AWS_ENDPOINT_URL", &endpoint)],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("parameter EnableVpc: \"maybe\" is not one of true, false"), "{err}");
}

#[test]
fn local_up_without_a_stack_says_where_it_looked_and_how_to_start_one() {
    let workers = scratch("up-no-stack");
    for worker in ["sqs-worker", "sns-worker"] {
        std::fs::write(workers.join(worker), b"").unwrap();
    }
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let template = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
    let out = sluice(
        &["local", "up", "--template", template, "--workers", workers.to_str().unwrap()],
        &[("AWS_ENDPOINT_URL", &endpoint)],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(err.starts_with("sluice: up: CreateBucket sluice-local-artifacts: dispatch failure"), "{err}");
    assert!(
        err.contains(&format!("does the local stack answer at {endpoint}? start it with `scripts/stack start`")),
        "{err}"
    );
    assert!(!err.contains("DispatchFailure {"), "a debug dump:\n{err}");
}

#[test]
fn the_model_accounts_for_every_object_without_a_stack() {
    let dir = scratch("model");
    let report = dir.join("model.html");
    let out = sluice(
        &[
            "compare",
            "--model",
            "--objects",
            "3000",
            "--pattern",
            "burst",
            "--json",
            "--report",
            report.to_str().unwrap(),
        ],
        &[("AWS_ENDPOINT_URL", &format!("http://127.0.0.1:{}", closed_port()))],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(json["kind"], "modelled");
    assert_eq!(json["settings"]["account_concurrency"], 1000, "AWS's default account concurrency");
    for path in json["paths"].as_array().unwrap() {
        let n = |k: &str| path[k].as_u64().unwrap();
        assert_eq!(n("processed") + n("dead_lettered") + n("dropped"), 3000, "{}", path["path"]);
    }
    let page = std::fs::read_to_string(&report).unwrap();
    assert!(page.contains("(modelled)") && page.contains("services-sqs-scaling"), "labelled, with sources");
    assert!(stderr(&out).contains("peak memory"), "{}", stderr(&out));
}

#[test]
fn a_model_option_out_of_aws_range_is_named_in_one_line() {
    let out = sluice(&["compare", "--model", "--maximum-retry-attempts", "3"], &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--maximum-retry-attempts") && err.lines().count() <= 2, "{err}");
}
