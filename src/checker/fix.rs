//! The statements to add, shaped like the seed templates and filled with real ARNs, and the
//! fixed policy ("When you add the new sections to your KMS key policy, do not change any
//! existing sections in the policy" — seed 001).

use super::{check, CheckInput, Finding, FindingId, Trail, CLOUDTRAIL};
use crate::policy::{arn_account, Policy};
use serde_json::{json, Value};

fn one_or_many(items: Vec<String>) -> Value {
    match items.as_slice() {
        [one] => json!(one),
        _ => json!(items),
    }
}

fn trail_accounts(input: &CheckInput, trails: &[&Trail]) -> Vec<String> {
    let mut v: Vec<String> = trails
        .iter()
        .filter_map(|t| arn_account(&t.arn))
        .map(|a| format!("arn:{}:cloudtrail:*:{a}:trail/*", input.partition()))
        .collect();
    v.sort();
    v.dedup();
    v
}

fn trail_arns(trails: &[&Trail]) -> Vec<String> {
    trails.iter().map(|t| t.arn.clone()).collect()
}

/// "Allow CloudTrail to encrypt logs" (seed 001), with aws:SourceArn.
pub(crate) fn trail_encrypt(input: &CheckInput, trails: &[&Trail]) -> Value {
    json!({
        "Sid": "Allow CloudTrail to encrypt logs",
        "Effect": "Allow",
        "Principal": {"Service": CLOUDTRAIL},
        "Action": "kms:GenerateDataKey*",
        "Resource": input.key_arn,
        "Condition": {
            "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": trail_accounts(input, trails)},
            "StringEquals": {"aws:SourceArn": one_or_many(trail_arns(trails))}
        }
    })
}

/// A statement granting CloudTrail one action on the key, limited to `trails` with
/// aws:SourceArn (event data stores send no source keys, so they pass no trails).
fn cloudtrail_statement(input: &CheckInput, sid: &str, action: &str, trails: &[&Trail]) -> Value {
    let mut stmt = json!({
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": CLOUDTRAIL},
        "Action": action,
        "Resource": input.key_arn
    });
    if let (false, Value::Object(map)) = (trails.is_empty(), &mut stmt) {
        map.insert(
            "Condition".into(),
            json!({"StringEquals": {"aws:SourceArn": one_or_many(trail_arns(trails))}}),
        );
    }
    stmt
}

/// "Allow CloudTrail access" (seed 001), with aws:SourceArn.
pub(crate) fn trail_describe(input: &CheckInput, trails: &[&Trail]) -> Value {
    cloudtrail_statement(input, "Allow CloudTrail access", "kms:DescribeKey", trails)
}

/// "Allow CloudTrail to decrypt a trail" (seed 001), limited with aws:SourceArn so the fix does
/// not itself open a confused deputy.
pub(crate) fn trail_service_decrypt(input: &CheckInput, trails: &[&Trail]) -> Value {
    cloudtrail_statement(
        input,
        "Allow CloudTrail to decrypt a trail",
        "kms:Decrypt",
        trails,
    )
}

/// "Enable CloudTrail log decrypt permissions" (seed 001).
pub(crate) fn trail_readers(input: &CheckInput, readers: &[String]) -> Value {
    json!({
        "Sid": "Enable CloudTrail log decrypt permissions",
        "Effect": "Allow",
        "Principal": {"AWS": one_or_many(readers.to_vec())},
        "Action": "kms:Decrypt",
        "Resource": input.key_arn,
        "Condition": {"Null": {"kms:EncryptionContext:aws:cloudtrail:arn": "false"}}
    })
}

/// "Allow CloudTrail to encrypt event data store" (seed 001; no aws:SourceArn — unsupported).
pub(crate) fn eds_encrypt(input: &CheckInput) -> Value {
    cloudtrail_statement(
        input,
        "Allow CloudTrail to encrypt event data store",
        "kms:GenerateDataKey",
        &[],
    )
}

/// "Allow CloudTrail to decrypt an event data store" (seed 001).
pub(crate) fn eds_decrypt(input: &CheckInput) -> Value {
    cloudtrail_statement(
        input,
        "Allow CloudTrail to decrypt an event data store",
        "kms:Decrypt",
        &[],
    )
}

/// DescribeKey for event data stores (the seed's describe statement without aws:SourceArn).
pub(crate) fn eds_describe(input: &CheckInput) -> Value {
    cloudtrail_statement(
        input,
        "Allow CloudTrail to describe the key for event data stores",
        "kms:DescribeKey",
        &[],
    )
}

/// "Enable user key permissions for event data stores" (seed 001).
pub(crate) fn eds_users(input: &CheckInput, readers: &[String]) -> Value {
    json!({
        "Sid": "Enable user key permissions for event data stores",
        "Effect": "Allow",
        "Principal": {"AWS": one_or_many(readers.to_vec())},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": input.key_arn
    })
}

/// Gives `stmt` a Sid not in `taken` (`Sid (2)`, `Sid (3)`, ...) and records it.
fn rename_sid(stmt: &mut Value, taken: &mut Vec<String>) {
    if let Some(Value::String(sid)) = stmt.get_mut("Sid") {
        let base = sid.clone();
        let mut n = 2;
        while taken.contains(sid) {
            *sid = format!("{base} ({n})");
            n += 1;
        }
        taken.push(sid.clone());
    }
}

/// A suggested statement whose Sid does not clash with the policy's (KMS rejects duplicates).
pub(crate) fn with_unique_sid(mut stmt: Value, policy: &Policy) -> Value {
    let mut taken: Vec<String> = policy
        .statements
        .iter()
        .filter_map(|s| s.sid.clone())
        .collect();
    rename_sid(&mut stmt, &mut taken);
    stmt
}

/// The fixed policy, and what could not be fixed by adding statements.
#[derive(Debug, Clone)]
pub struct FixOutcome {
    /// The original document with the added statements appended.
    pub document: Value,
    /// The statements added.
    pub added: Vec<Value>,
    /// Findings that adding statements cannot fix (explicit denies, key state, key spec).
    pub unfixable: Vec<Finding>,
}

/// Ids that `fix` resolves by adding statements.
const FIXABLE: &[FindingId] = &[
    FindingId::EncryptDenied,
    FindingId::DescribeDenied,
    FindingId::ServiceDecryptDenied,
    FindingId::ReaderDenied,
    FindingId::NoLogReader,
];

/// Adds the missing statements, one per kind, covering every trail and reader that needs it.
/// Existing statements are left exactly as they are.
pub fn fix_policy(policy: &Policy, input: &CheckInput) -> FixOutcome {
    let report = check(policy, input);
    let needs = |id: FindingId, resource: &str| {
        report
            .findings
            .iter()
            .any(|f| f.id == id && f.resource == resource && f.fix.is_some())
    };
    let mut added = Vec::new();

    let denied_trails = |id: FindingId| -> Vec<&Trail> {
        input.trails.iter().filter(|t| needs(id, &t.arn)).collect()
    };
    // A fix statement must cover every trail, so build each from all trails that need it.
    let enc = denied_trails(FindingId::EncryptDenied);
    if !enc.is_empty() {
        added.push(trail_encrypt(input, &enc));
    }
    let desc = denied_trails(FindingId::DescribeDenied);
    if !desc.is_empty() {
        added.push(trail_describe(input, &desc));
    }
    let dec = denied_trails(FindingId::ServiceDecryptDenied);
    if !dec.is_empty() {
        added.push(trail_service_decrypt(input, &dec));
    }
    // Readers a READER_DENIED finding (with a fix) names for one of the given resources; the
    // finding's message names the reader in backticks.
    let denied_readers = |on: &dyn Fn(&str) -> bool| -> Vec<String> {
        input
            .readers
            .iter()
            .filter(|r| {
                report.findings.iter().any(|f| {
                    f.id == FindingId::ReaderDenied
                        && f.fix.is_some()
                        && on(&f.resource)
                        && f.message.contains(&format!("`{r}`"))
                })
            })
            .cloned()
            .collect()
    };
    let trail_readers_missing = denied_readers(&|res| input.trails.iter().any(|t| t.arn == res));
    if !trail_readers_missing.is_empty() {
        added.push(trail_readers(input, &trail_readers_missing));
    } else if let Some(f) = report
        .findings
        .iter()
        .find(|f| f.id == FindingId::NoLogReader)
    {
        if let Some(fix) = &f.fix {
            added.push(fix.clone());
        }
    }
    let eds_needs = |id: FindingId| input.event_data_stores.iter().any(|e| needs(id, e));
    if eds_needs(FindingId::EncryptDenied) {
        added.push(eds_encrypt(input));
    }
    if eds_needs(FindingId::ServiceDecryptDenied) {
        added.push(eds_decrypt(input));
    }
    if eds_needs(FindingId::DescribeDenied) {
        added.push(eds_describe(input));
    }
    let eds_readers = denied_readers(&|res| input.event_data_stores.iter().any(|e| e == res));
    if !eds_readers.is_empty() {
        added.push(eds_users(input, &eds_readers));
    }

    // Sids must stay unique.
    let mut taken: Vec<String> = policy
        .statements
        .iter()
        .filter_map(|s| s.sid.clone())
        .collect();
    for stmt in &mut added {
        rename_sid(stmt, &mut taken);
    }

    let mut document = policy.document.value().clone();
    if let Value::Object(map) = &mut document {
        let statements = match map.remove("Statement") {
            Some(Value::Array(items)) => items,
            Some(one) => vec![one],
            None => Vec::new(),
        };
        let mut all = statements;
        all.extend(added.iter().cloned());
        map.insert("Statement".into(), Value::Array(all));
    }
    let unfixable = report
        .findings
        .into_iter()
        .filter(|f| {
            f.severity == super::Severity::Error && (f.fix.is_none() || !FIXABLE.contains(&f.id))
        })
        .collect();
    FixOutcome {
        document,
        added,
        unfixable,
    }
}
