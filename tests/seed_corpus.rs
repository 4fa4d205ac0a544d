//! Every policy from the seed pages (001 main, 002/000 older, 003 translation, 004 least
//! privilege), with its expected findings. The fixtures live in `tests/fixtures/seed_*.json`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use serde_json::Value;
use trailkey::checker::{check, check_text, fix_policy, CheckInput, FindingId, Severity, Trail};
use trailkey::policy::Policy;

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn input(case: &Value) -> CheckInput {
    let i = &case["input"];
    let mut input = CheckInput::new(i["key_arn"].as_str().unwrap());
    input.trails = strings(i, "trails").into_iter().map(Trail::new).collect();
    input.event_data_stores = strings(i, "event_data_stores");
    input.readers = strings(i, "readers");
    input.allowed_accounts = strings(i, "allowed_accounts");
    input.bucket_key = i
        .get("bucket_key")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let Some(s) = i.get("key_state").and_then(Value::as_str) {
        input.key_state = s.to_string();
    }
    if let Some(ids) = i.get("identity_policies").and_then(Value::as_array) {
        input.identity_policies = Some(
            ids.iter()
                .map(|p| Policy::parse_identity(&p.to_string()).unwrap())
                .collect(),
        );
    }
    input
}

fn cases() -> Vec<Value> {
    serde_json::from_str(include_str!("fixtures/seed_cases.json")).unwrap()
}

#[test]
fn every_seed_policy_gives_its_expected_findings() {
    let mut failures = Vec::new();
    for case in cases() {
        let name = case["name"].as_str().unwrap();
        let policy =
            Policy::parse(&case["policy"].to_string()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let report = check(&policy, &input(&case));
        let mut got: Vec<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
        got.sort();
        let want = strings(&case, "expect");
        let compliance = report.compliance.as_str();
        if got != want || compliance != case["compliance"].as_str().unwrap() {
            failures.push(format!(
                "{name}\n  want {want:?} {}\n  got  {got:?} {compliance}\n  {:#?}",
                case["compliance"], report.findings
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn fix_leaves_no_access_error_and_keeps_existing_statements() {
    const ACCESS: &[FindingId] = &[
        FindingId::EncryptDenied,
        FindingId::DescribeDenied,
        FindingId::ServiceDecryptDenied,
        FindingId::ReaderDenied,
        FindingId::NoLogReader,
    ];
    for case in cases() {
        let name = case["name"].as_str().unwrap();
        let policy = Policy::parse(&case["policy"].to_string()).unwrap();
        let input = input(&case);
        let outcome = fix_policy(&policy, &input);
        let fixed_text = outcome.document.to_string();
        let fixed = Policy::parse(&fixed_text)
            .unwrap_or_else(|e| panic!("{name}: fixed policy invalid: {e}"));
        // Seed 001: "do not change any existing sections in the policy".
        let before = policy.document["Statement"].as_array().unwrap();
        let after = fixed.document["Statement"].as_array().unwrap();
        assert_eq!(
            &after[..before.len()],
            before.as_slice(),
            "{name}: existing statements changed"
        );
        let report = check(&fixed, &input);
        let left: Vec<_> = report
            .findings
            .iter()
            .filter(|f| ACCESS.contains(&f.id) && f.severity == Severity::Error)
            .filter(|f| {
                !outcome
                    .unfixable
                    .iter()
                    .any(|u| u.id == f.id && u.resource == f.resource)
            })
            .collect();
        assert!(
            left.is_empty(),
            "{name}: errors remain after fix: {left:#?}"
        );
        // Anything not fixable is an explicit deny or a key property, never silently dropped.
        for u in &outcome.unfixable {
            assert!(u.fix.is_none() || !ACCESS.contains(&u.id), "{name}: {u:?}");
        }
    }
}

#[test]
fn seed_policies_printed_with_typos_are_rejected_with_their_location() {
    let bad: Vec<Value> = serde_json::from_str(include_str!("fixtures/seed_invalid.json")).unwrap();
    for case in bad {
        let name = case["name"].as_str().unwrap();
        let err = Policy::parse(case["text"].as_str().unwrap()).expect_err(name);
        let shown = format!("{err} {}", err.path());
        let want = case["error_contains"].as_str().unwrap();
        assert!(shown.contains(want), "{name}: `{shown}` lacks `{want}`");
        // Through the checker an unreadable policy is never a pass.
        let mut input = CheckInput::new("arn:aws:kms:us-west-2:111111111111:key/KeyA");
        input.trails.push(Trail {
            arn: "arn:aws:cloudtrail:us-west-2:111111111111:trail/t".into(),
            bucket: None,
            ..Default::default()
        });
        let report = check_text(case["text"].as_str().unwrap(), &input);
        assert_eq!(report.compliance.as_str(), "NON_COMPLIANT", "{name}");
        assert_eq!(report.findings[0].id, FindingId::PolicyInvalid, "{name}");
    }
}

#[test]
fn get_key_policy_output_is_accepted() {
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": []}).to_string();
    let wrapped = serde_json::json!({"Policy": doc, "PolicyName": "default"}).to_string();
    let p = Policy::parse(&wrapped).unwrap();
    assert!(p.statements.is_empty());
}
