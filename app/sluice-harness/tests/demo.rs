//! The demo: both paths end to end on the local stack, with the real workers in the local
//! Lambda service. Run by `scripts/test`; `#[ignore]`d for a bare `cargo test`.

use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

async fn aws() -> aws_config::SdkConfig {
    assert!(std::env::var_os("AWS_ENDPOINT_URL").is_some(), "AWS_ENDPOINT_URL is not set: run scripts/test");
    aws_config::load_from_env().await
}

#[tokio::test]
#[ignore = "needs the local stack: run scripts/test"]
async fn the_real_workers_process_both_paths_end_to_end() {
    // The test binary lives in target/<profile>/deps; the workers in target/<profile>.
    let workers = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().to_owned();
    // Relative to the working directory, as `scripts/run` passes it (`--workers target/debug`).
    let workers = relative_to_cwd(&workers);
    for worker in ["sqs-worker", "sns-worker"] {
        assert!(
            workers.join(worker).exists(),
            "{} is missing: cargo build -p {worker}",
            workers.join(worker).display()
        );
    }
    let log_dir = std::env::temp_dir().join("sluice-local-demo-test");
    let report = sluice_harness::demo::run(&aws().await, &workers, &log_dir, LIMIT).await.unwrap();
    assert!(report.missing.is_empty(), "{:#?}\n{}", report.missing, report.lines.join("\n"));
    let text = report.lines.join("\n");
    assert!(text.contains("incoming/보고서 2026+final.csv"), "{text}");
    assert!(text.contains("went straight to the work DLQ"), "{text}");
    assert!(text.contains("failed 3 times (RetriesExhausted)"), "{text}");
}

/// `path` (absolute) relative to the current directory: `../../target/debug` and the like.
fn relative_to_cwd(path: &std::path::Path) -> std::path::PathBuf {
    let cwd = std::env::current_dir().unwrap();
    let common = cwd.components().zip(path.components()).take_while(|(a, b)| a == b).count();
    let mut relative = std::path::PathBuf::new();
    for _ in cwd.components().skip(common) {
        relative.push("..");
    }
    relative.extend(path.components().skip(common));
    // Through this directory's own name (`../sluice-stack/../../target/debug`), so the path
    // resolves from here only, never by chance from the directory the workers are in.
    let relative = std::path::Path::new("..").join(cwd.file_name().unwrap()).join(relative);
    assert!(relative.is_relative(), "{}", relative.display());
    relative
}
