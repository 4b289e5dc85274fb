//! Every input the fuzzers kept (`fuzz/corpus/<target>/`, grown by `scripts/fuzz`) and every
//! crash they found (`fuzz/regressions/<target>/`, minimised), replayed on stable Rust through
//! the same checks the fuzz targets run. The fuzzers' random exploration is `scripts/fuzz`; this
//! replay is deterministic: the same files, the same verdict.

use std::path::{Path, PathBuf};

use sluice_fuzz_checks::{TARGETS, check};

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    paths.sort();
    paths
}

fn replay(kind: &str) -> usize {
    let mut count = 0;
    for target in TARGETS {
        for path in inputs(kind, target) {
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let outcome = std::panic::catch_unwind(|| check(target, &bytes));
            assert!(outcome.is_ok(), "{target}: {} fails its fuzz target's checks", path.display());
            count += 1;
        }
    }
    count
}

#[test]
fn every_kept_corpus_input_passes_its_targets_checks() {
    for target in TARGETS {
        assert!(!inputs("corpus", target).is_empty(), "fuzz/corpus/{target} is empty");
    }
    assert!(replay("corpus") > 1000);
}

#[test]
fn every_regression_input_passes_its_targets_checks() {
    assert!(replay("regressions") > 0, "fuzz/regressions holds the crashes found so far");
}

#[test]
fn a_message_over_the_bound_fails_the_check() {
    // The crash `scripts/fuzz` found: an error quoting its input whole.
    let message = format!("unknown `Event` {:?}", "E".repeat(2000));
    assert!(std::panic::catch_unwind(|| sluice_fuzz_checks::assert_short("an error", &message)).is_err());
    sluice_fuzz_checks::assert_short("an error", "unknown `Event` \"s3:EEEE…\" (2,003 bytes)");
    assert!(std::panic::catch_unwind(|| check("no_such_target", b"")).is_err());
}
