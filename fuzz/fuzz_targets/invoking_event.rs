//! Fuzz target `invoking_event`: see `oracles::invoking_event` for what it checks.
#![no_main]

#[allow(dead_code)] // each target uses one oracle
#[path = "../oracles.rs"]
mod oracles;

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracles::invoking_event(data));
