//! Runs one checker operation N times on a policy file, for callgrind/perf instruction counts.
//!
//! `cargo build --release --no-default-features --example profile_check`, then
//! `valgrind --tool=callgrind target/release/examples/profile_check check_text FILE 200` minus the
//! same with N = 0 gives the instructions of 200 calls. Modes: `parse`, `check`, `check_text`,
//! `floor` (serde_json::Value only). The check uses one trail with a bucket and one reader, as
//! `benches/checker.rs` does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::hint::black_box;
use trailkey::checker::{check, check_text, CheckInput, Trail};
use trailkey::policy::Policy;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, file, n) = (&args[1], &args[2], args[3].parse::<usize>().unwrap());
    let text = std::fs::read_to_string(file).unwrap();
    let mut input = CheckInput::new(
        "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    );
    input.trails.push(Trail {
        arn: "arn:aws:cloudtrail:us-east-1:111111111111:trail/management-events".into(),
        bucket: Some("org-cloudtrail-logs-111111111111".into()),
        ..Default::default()
    });
    input
        .readers
        .push("arn:aws:iam::111111111111:role/LogReader".into());
    let parsed = Policy::parse(&text).unwrap();
    for _ in 0..n {
        match mode.as_str() {
            "parse" => drop(black_box(Policy::parse(black_box(&text)).unwrap())),
            "check" => drop(black_box(check(black_box(&parsed), &input))),
            "check_text" => drop(black_box(check_text(black_box(&text), &input))),
            "floor" => drop(black_box(
                serde_json::from_str::<serde_json::Value>(black_box(&text)).unwrap(),
            )),
            other => panic!("unknown mode {other}"),
        }
    }
}
