//! Fuzz target `policy_check`: see `oracles::policy_check` for what it checks.
#![no_main]

#[allow(dead_code)] // each target uses one oracle
#[path = "../oracles.rs"]
mod oracles;

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracles::policy_check(data));
