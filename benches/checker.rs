//! Checker benchmarks: JSON floor, policy parse, one evaluation, full check (typical and 32 KB
//! policies) and fix. See BENCHMARKS.md for results and targets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};
use trailkey::checker::{check, check_text, fix_policy, requests, CheckInput, Compliance, Trail};
use trailkey::eval::evaluate;
use trailkey::policy::Policy;

/// KMS's key policy size limit.
const MAX_POLICY_BYTES: usize = 32_768;

const KEY_ARN: &str = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const TRAIL_ARN: &str = "arn:aws:cloudtrail:us-east-1:111111111111:trail/management-events";

/// A typical CloudTrail key policy: 8 statements (root, key admins, a conditional Deny,
/// CloudTrail encrypt/describe, same-account and cross-account log readers, a Lake user).
const TYPICAL: &str = include_str!("data/typical.json");

/// One trail writing to a bucket, one log reader.
fn input() -> CheckInput {
    let mut input = CheckInput::new(KEY_ARN);
    input.trails.push(Trail {
        arn: TRAIL_ARN.into(),
        bucket: Some("org-cloudtrail-logs-111111111111".into()),
        ..Default::default()
    });
    input
        .readers
        .push("arn:aws:iam::111111111111:role/LogReader".into());
    input
}

/// A log-reader statement as teams add them, one per consuming role.
fn reader_statement(i: usize) -> Value {
    json!({
        "Sid": format!("Allow log decryption for analytics team {i}"),
        "Effect": "Allow",
        "Principal": {
            "AWS": format!("arn:aws:iam::111111111111:role/cloudtrail-log-reader-team-{i:03}")
        },
        "Action": ["kms:Decrypt", "kms:DescribeKey"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {
                "kms:CallerAccount": "111111111111",
                "kms:ViaService": "s3.us-east-1.amazonaws.com"
            },
            "StringLike": {
                "kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111111111111:trail/*"
            },
            "Null": {
                "kms:EncryptionContext:aws:cloudtrail:arn": "false"
            }
        }
    })
}

/// The typical policy plus reader statements, pretty-printed, as close to 32 KB as fits.
fn large_policy() -> String {
    let mut doc: Value = serde_json::from_str(TYPICAL).unwrap();
    let mut last = serde_json::to_string_pretty(&doc).unwrap();
    for i in 0.. {
        doc["Statement"]
            .as_array_mut()
            .unwrap()
            .push(reader_statement(i));
        let text = serde_json::to_string_pretty(&doc).unwrap();
        if text.len() >= MAX_POLICY_BYTES {
            break;
        }
        last = text;
    }
    assert!(last.len() < MAX_POLICY_BYTES, "{} bytes", last.len());
    assert!(
        last.len() > MAX_POLICY_BYTES - 1024,
        "only {} bytes",
        last.len()
    );
    last
}

/// The typical policy without its CloudTrail statements: fix has to add encrypt and describe.
fn needs_fix_policy() -> Policy {
    let mut doc: Value = serde_json::from_str(TYPICAL).unwrap();
    doc["Statement"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["Principal"]["Service"] != json!("cloudtrail.amazonaws.com"));
    Policy::parse(&doc.to_string()).unwrap()
}

fn benches(c: &mut Criterion) {
    let input = input();
    let trail = &input.trails[0];
    let typical = Policy::parse(TYPICAL).unwrap();
    let report = check(&typical, &input);
    assert_eq!(
        report.compliance,
        Compliance::Compliant,
        "typical policy should pass: {:?}",
        report.findings
    );
    let large = large_policy();
    let large_report = check_text(&large, &input);
    assert_eq!(
        large_report.compliance,
        Compliance::Compliant,
        "large policy should pass: {:?}",
        large_report.findings
    );
    let broken = needs_fix_policy();

    let mut g = c.benchmark_group("typical");
    g.throughput(Throughput::Bytes(TYPICAL.len() as u64));
    g.bench_function("serde_json_value", |b| {
        b.iter(|| serde_json::from_str::<Value>(black_box(TYPICAL)).unwrap())
    });
    g.bench_function("policy_parse", |b| {
        b.iter(|| Policy::parse(black_box(TYPICAL)).unwrap())
    });
    g.bench_function("check_text", |b| {
        b.iter(|| check_text(black_box(TYPICAL), black_box(&input)))
    });
    g.bench_function("check_parsed", |b| {
        b.iter(|| check(black_box(&typical), black_box(&input)))
    });
    g.finish();

    let request = requests::trail_encrypt(&input, trail);
    assert!(evaluate(&typical, &request, None).is_allowed());
    c.bench_function("evaluate/trail_encrypt", |b| {
        b.iter(|| evaluate(black_box(&typical), black_box(&request), None))
    });

    let mut g = c.benchmark_group("large_32k");
    g.throughput(Throughput::Bytes(large.len() as u64));
    g.bench_function("serde_json_value", |b| {
        b.iter(|| serde_json::from_str::<Value>(black_box(&large)).unwrap())
    });
    g.bench_function("policy_parse", |b| {
        b.iter(|| Policy::parse(black_box(&large)).unwrap())
    });
    g.bench_function("check_text", |b| {
        b.iter(|| check_text(black_box(&large), black_box(&input)))
    });
    let large_parsed = Policy::parse(&large).unwrap();
    g.bench_function("check_parsed", |b| {
        b.iter(|| check(black_box(&large_parsed), black_box(&input)))
    });
    g.finish();

    let mut g = c.benchmark_group("fix_policy");
    let fixed = fix_policy(&broken, &input);
    assert_eq!(fixed.added.len(), 2, "{:?}", fixed.added);
    g.bench_function("adds_2_statements", |b| {
        b.iter(|| fix_policy(black_box(&broken), black_box(&input)))
    });
    g.bench_function("compliant_noop", |b| {
        b.iter(|| fix_policy(black_box(&typical), black_box(&input)))
    });
    g.finish();
}

criterion_group!(checker, benches);
criterion_main!(checker);
