//! Fuzz target `symbolic`: see `oracles::symbolic` for what it checks.
#![no_main]

#[allow(dead_code)] // each target uses one oracle
#[path = "../oracles.rs"]
mod oracles;

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracles::symbolic(data));
