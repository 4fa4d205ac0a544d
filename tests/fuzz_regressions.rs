//! Replays every input the fuzzers kept (`tests/fixtures/fuzz/<target>/*`) through the same
//! oracles the fuzz targets run (`fuzz/oracles.rs`), so a normal `cargo test` guards each fix.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../fuzz/oracles.rs"]
mod oracles;

use std::path::PathBuf;

/// The kept inputs of one target, sorted by name.
fn fixtures(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// Runs `oracle` on every fixture, naming the ones that fail.
fn replay(target: &str, oracle: fn(&[u8])) {
    let cases = fixtures(target);
    assert!(!cases.is_empty(), "no fixtures for {target}");
    let failed: Vec<&str> = cases
        .iter()
        .filter(|(_, data)| std::panic::catch_unwind(|| oracle(data)).is_err())
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(failed.is_empty(), "{target}: failing fixtures {failed:?}");
}

#[test]
fn policy_check_fixtures() {
    replay("policy_check", oracles::policy_check);
}

#[test]
fn invoking_event_fixtures() {
    replay("invoking_event", oracles::invoking_event);
}

#[test]
fn wildcard_fixtures() {
    replay("wildcard", oracles::wildcard);
}

#[test]
fn symbolic_fixtures() {
    replay("symbolic", oracles::symbolic);
}
