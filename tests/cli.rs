//! Golden tests of the `trailkey` CLI: each `tests/cmd/*.toml` runs the binary with the policy
//! fixtures in `tests/cmd/policies/` and compares stdout, stderr and the exit status exactly.
//!
//! Regenerate the expected output with `TRYCMD=overwrite cargo test --test cli`, then read every
//! changed `.stdout`/`.stderr` before committing it.
#![cfg(feature = "aws")]

#[test]
fn cli() {
    trycmd::TestCases::new().case("tests/cmd/*.toml");
}
