//! The exact-answers cases: each policy below was COMPLIANT (or wrongly NON_COMPLIANT) when
//! trailkey checked single requests and the presence of condition keys. Now every finding is an
//! answer over all requests consistent with what is known, with a witness.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use trailkey::checker::{
    check_text, CheckInput, Compliance, FindingId, Report, Severity, Trail, TrailReach,
};

const KEY: &str = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111111111111:trail/management-events";
const READER: &str = "arn:aws:iam::111111111111:role/LogReader";

/// The admin statement and CloudTrail's describe statement of the main CloudTrail page, so
/// that only the statements under test decide.
const BASE: &str = r#"
  {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*", "Resource": "*"},
  {"Sid": "Allow CloudTrail access", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:DescribeKey", "Resource": "*",
   "Condition": {"StringEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111111111111:trail/management-events"}}}"#;

/// The main page's encrypt statement for the checked trail.
const ENCRYPT: &str = r#"
  {"Sid": "Allow CloudTrail to encrypt logs", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*",
   "Condition": {"StringEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111111111111:trail/management-events"},
                 "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111111111111:trail/*"}}}"#;

fn policy(extra: &[&str]) -> String {
    let mut statements = vec![BASE.to_string()];
    statements.extend(extra.iter().map(|s| s.to_string()));
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [{}]}}"#,
        statements.join(",")
    )
}

fn input() -> CheckInput {
    let mut i = CheckInput::new(KEY);
    i.trails.push(Trail {
        bucket: Some("trailkey-logs".into()),
        s3_key_prefix: Some(String::new()),
        ..Trail::new(TRAIL)
    });
    i
}

fn ids(r: &Report) -> Vec<FindingId> {
    r.findings.iter().map(|f| f.id).collect()
}

fn finding(r: &Report, id: FindingId) -> &trailkey::checker::Finding {
    r.findings
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no {id} in {:#?}", r.findings))
}

#[test]
fn the_main_pages_policy_is_compliant() {
    let r = check_text(&policy(&[ENCRYPT]), &input());
    assert_eq!(r.compliance, Compliance::Compliant, "{:#?}", r.findings);
    assert!(!ids(&r).contains(&FindingId::ConfusedDeputy));
}

#[test]
fn a_wildcard_source_arn_is_a_confused_deputy() {
    // CloudTrail User Guide: aws:SourceArn limits the key to the trails that use it; `*` limits
    // nothing, so any trail in any account can use the key.
    for condition in [
        r#""StringLike": {"aws:SourceArn": "*"}"#,
        r#""ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:*:trail/*"}"#,
    ] {
        let stmt = format!(
            r#"{{"Sid": "Encrypt", "Effect": "Allow", "Principal": {{"Service": "cloudtrail.amazonaws.com"}}, "Action": "kms:GenerateDataKey*", "Resource": "*", "Condition": {{{condition}}}}}"#
        );
        let r = check_text(&policy(&[&stmt]), &input());
        let f = finding(&r, FindingId::ConfusedDeputy);
        assert_eq!(f.severity, Severity::Error);
        assert!(
            f.message.contains("any trail in any account"),
            "{}",
            f.message
        );
        assert!(!f.message.contains(":111111111111:trail/"), "{}", f.message);
        assert_eq!(r.compliance, Compliance::NonCompliant);
    }
}

#[test]
fn a_grant_through_principal_star_and_service_name_is_a_cloudtrail_grant() {
    let stmt = r#"{"Sid": "Any service", "Effect": "Allow", "Principal": "*", "Action": "kms:GenerateDataKey*", "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalServiceName": "cloudtrail.amazonaws.com"}}}"#;
    let r = check_text(&policy(&[stmt]), &input());
    assert!(
        !ids(&r).contains(&FindingId::EncryptDenied),
        "{:#?}",
        r.findings
    );
    assert_eq!(
        finding(&r, FindingId::ConfusedDeputy).severity,
        Severity::Error
    );
}

#[test]
fn conditions_that_restrict_nothing_leave_decrypt_public() {
    for condition in [
        r#""StringLike": {"aws:PrincipalAccount": "????????????"}"#,
        r#""IpAddress": {"aws:SourceIp": "0.0.0.0/0"}"#,
        r#""StringEquals": {"kms:CallerAccount": "${aws:PrincipalAccount}"}"#,
        r#""StringLike": {"aws:PrincipalOrgID": "o-*"}"#,
        r#""ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:*"}"#,
    ] {
        let stmt = format!(
            r#"{{"Sid": "Readers", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*", "Condition": {{{condition}}}}}"#
        );
        let r = check_text(&policy(&[ENCRYPT, &stmt]), &input());
        let f = finding(&r, FindingId::PublicAccess);
        assert_eq!(f.severity, Severity::Error, "{condition}: {}", f.message);
        assert_eq!(r.compliance, Compliance::NonCompliant, "{condition}");
    }
}

#[test]
fn an_account_condition_keeps_a_wildcard_principal_private() {
    let stmt = r#"{"Sid": "Readers", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"StringEquals": {"kms:CallerAccount": "111111111111"}}}"#;
    let r = check_text(&policy(&[ENCRYPT, stmt]), &input());
    assert!(
        !ids(&r).contains(&FindingId::PublicAccess),
        "{:#?}",
        r.findings
    );
}

#[test]
fn a_deny_after_a_past_date_denies_every_call() {
    // IAM User Guide: aws:CurrentTime is always included in the request context.
    let deny = r#"{"Sid": "Expired", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
        "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2024-06-30T00:00:00Z"}}}"#;
    let mut i = input();
    i.evaluation_time = Some(1_767_225_600); // 2026-01-01
    let r = check_text(&policy(&[ENCRYPT, deny]), &i);
    assert!(
        ids(&r).contains(&FindingId::EncryptDenied),
        "{:#?}",
        r.findings
    );
    // Before the date, nothing is denied.
    i.evaluation_time = Some(1_704_067_200); // 2024-01-01
    let r = check_text(&policy(&[ENCRYPT, deny]), &i);
    assert!(
        !ids(&r).contains(&FindingId::EncryptDenied),
        "{:#?}",
        r.findings
    );
}

#[test]
fn requested_region_and_secure_transport_are_always_present() {
    // IAM User Guide: aws:RequestedRegion and aws:SecureTransport are "always included in the
    // request context"; KMS is called over TLS in the key's Region.
    let same_region = r#"{"Sid": "Deny", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
        "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}"#;
    let r = check_text(&policy(&[ENCRYPT, same_region]), &input());
    assert!(
        ids(&r).contains(&FindingId::EncryptDenied),
        "{:#?}",
        r.findings
    );
    for harmless in [
        r#"{"Sid": "Deny", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}}"#,
        r#"{"Sid": "Deny", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}}}"#,
    ] {
        let r = check_text(&policy(&[ENCRYPT, harmless]), &input());
        assert_eq!(
            r.compliance,
            Compliance::Compliant,
            "{harmless}: {:#?}",
            r.findings
        );
    }
}

#[test]
fn the_encryption_context_always_carries_the_s3_object_arn() {
    // KMS Developer Guide, "How AWS CloudTrail uses AWS KMS": the context has aws:cloudtrail:arn
    // and aws:s3:arn, whether or not trailkey knows the bucket.
    for condition in [
        r#""ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["aws:cloudtrail:arn"]}"#,
        r#""Null": {"kms:EncryptionContext:aws:s3:arn": "true"}"#,
    ] {
        let stmt = format!(
            r#"{{"Sid": "Encrypt", "Effect": "Allow", "Principal": {{"Service": "cloudtrail.amazonaws.com"}}, "Action": "kms:GenerateDataKey*", "Resource": "*",
               "Condition": {{"StringEquals": {{"aws:SourceArn": "{TRAIL}"}}, {condition}}}}}"#
        );
        let mut i = input();
        i.trails = vec![Trail::new(TRAIL)];
        let r = check_text(&policy(&[&stmt]), &i);
        assert!(
            ids(&r).contains(&FindingId::EncryptDenied),
            "{condition}: {:#?}",
            r.findings
        );
    }
}

#[test]
fn an_object_arn_pinned_without_the_prefix_fails_for_a_trail_with_one() {
    let stmt = r#"{"Sid": "Encrypt", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111111111111:trail/management-events"},
                      "StringLike": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::trailkey-logs/AWSLogs/111111111111/*"}}}"#;
    let r = check_text(&policy(&[stmt]), &input());
    assert!(
        !ids(&r).contains(&FindingId::EncryptDenied),
        "{:#?}",
        r.findings
    );
    let mut i = input();
    i.trails[0].s3_key_prefix = Some("audit".into());
    let r = check_text(&policy(&[stmt]), &i);
    let f = finding(&r, FindingId::EncryptDenied);
    assert!(f.message.contains("audit"), "{}", f.message);
    // An unknown prefix is any prefix: the same policy cannot be called compliant.
    i.trails[0].s3_key_prefix = None;
    let r = check_text(&policy(&[stmt]), &i);
    assert!(
        ids(&r).contains(&FindingId::EncryptDenied),
        "{:#?}",
        r.findings
    );
}

#[test]
fn createtrails_verification_call_needs_the_log_folder() {
    // The verify call's context is `bucket/[prefix/]AWSLogs/<account>/`, not a log object.
    let stmt = r#"{"Sid": "Encrypt", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111111111111:trail/management-events"},
                      "StringLike": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::trailkey-logs/AWSLogs/111111111111/CloudTrail/*"}}}"#;
    let r = check_text(&policy(&[stmt]), &input());
    let f = finding(&r, FindingId::EncryptDenied);
    assert!(f.message.contains("verification call"), "{}", f.message);
}

#[test]
fn readers_decrypt_through_s3_in_the_keys_region() {
    // The key must be in the bucket's Region, so S3 calls KMS there, not in the trail's home.
    let reader = r#"{"Sid": "Read", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/LogReader"}, "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}, "Null": {"kms:EncryptionContext:aws:cloudtrail:arn": "false"}}}"#;
    let mut i = input();
    i.trails[0].arn = "arn:aws:cloudtrail:eu-west-1:111111111111:trail/management-events".into();
    i.readers.push(READER.into());
    let r = check_text(&policy(&[ENCRYPT, reader]), &i);
    assert!(
        !ids(&r).contains(&FindingId::ReaderDenied),
        "{:#?}",
        r.findings
    );
}

#[test]
fn an_organization_perimeter_is_decided_with_the_organization_id() {
    let reader = r#"{"Sid": "Read", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/LogReader"}, "Action": "kms:Decrypt", "Resource": "*"}"#;
    let perimeter = r#"{"Sid": "Perimeter", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}, "Bool": {"aws:PrincipalIsAWSService": "false"}}}"#;
    let mut i = input();
    i.readers.push(READER.into());
    // Without the organization id the reader's organization is unknown: not compliant.
    let r = check_text(&policy(&[ENCRYPT, reader, perimeter]), &i);
    let f = finding(&r, FindingId::ReaderDenied);
    assert!(f.message.contains("aws:principalorgid"), "{}", f.message);
    i.organization_id = Some("o-abcdefghij".into());
    let r = check_text(&policy(&[ENCRYPT, reader, perimeter]), &i);
    assert!(
        !ids(&r).contains(&FindingId::ReaderDenied),
        "{:#?}",
        r.findings
    );
}

#[test]
fn the_older_pages_context_condition_limits_encryption_to_the_account() {
    // The older CloudTrail page's statement: no aws:SourceArn, but the encryption context pins
    // the account, so only DescribeKey is open to other accounts' trails.
    let stmt = r#"{"Sid": "Allow CloudTrail to encrypt logs", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*",
        "Condition": {"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111111111111:trail/*"}}}"#;
    let describe = r#"{"Sid": "Describe", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:DescribeKey", "Resource": "*"}"#;
    let r = check_text(&policy(&[stmt, describe]), &input());
    let deputies: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.id == FindingId::ConfusedDeputy)
        .collect();
    assert_eq!(deputies.len(), 1, "{:#?}", r.findings);
    assert_eq!(deputies[0].severity, Severity::Warning);
    assert!(deputies[0].message.contains("DescribeKey"));
    assert_eq!(r.compliance, Compliance::Compliant, "{:#?}", r.findings);
}

#[test]
fn a_context_lint_on_a_cloudwatch_logs_statement_is_information() {
    // CloudWatch Logs guide's statement for a log group: not CloudTrail's, not a reader's.
    let logs = r#"{"Sid": "Logs", "Effect": "Allow", "Principal": {"Service": "logs.us-east-1.amazonaws.com"}, "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"], "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:111111111111:log-group:*"}}}"#;
    let r = check_text(&policy(&[ENCRYPT, logs]), &input());
    let f = finding(&r, FindingId::ContextOnNonCryptoAction);
    assert_eq!(f.severity, Severity::Info);
}

mod claims_check_themselves {
    //! Every witness is re-evaluated by the concrete engine and must get the claimed decision;
    //! "for all" and "for none" answers are sampled with random requests from the set.
    use proptest::prelude::*;
    use trailkey::eval::evaluate;
    use trailkey::eval::symbolic::{solve, DomainKind, SymPrincipal, SymRequest, SymText};
    use trailkey::policy::Policy;

    const KEY: &str = "arn:aws:kms:us-east-1:111111111111:key/k";

    /// CloudTrail's GenerateDataKey for a trail of any account and name in us-east-1.
    fn set() -> SymRequest {
        let mut r = SymRequest::new(
            SymPrincipal::Service("cloudtrail.amazonaws.com".into()),
            "kms:GenerateDataKey",
            KEY,
        );
        let account = r.var("trail account", DomainKind::account(), false);
        let name = r.var("trail name", DomainKind::regex("[a-z0-9]{1,8}"), false);
        let trail = SymText::lit("arn:aws:cloudtrail:us-east-1:")
            .then(account)
            .text(":trail/")
            .then(name);
        r.set("aws:sourcearn", trail.clone());
        r.set("aws:sourceaccount", SymText::var(account));
        r.set("kms:encryptioncontext:aws:cloudtrail:arn", trail);
        r
    }

    fn pattern() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("*".to_string()),
            Just("1111*".to_string()),
            Just("111111111111".to_string()),
            Just("?1*".to_string()),
            Just("arn:aws:cloudtrail:*:111111111111:trail/*".to_string()),
            Just("arn:aws:cloudtrail:us-east-1:*:trail/a*".to_string()),
            Just("arn:aws:cloudtrail:*:*:trail/*".to_string()),
            Just("arn:aws:cloudtrail:us-east-1:2*:trail/?".to_string()),
        ]
    }

    fn condition() -> impl Strategy<Value = String> {
        (
            prop_oneof![
                Just("StringLike"),
                Just("StringNotLike"),
                Just("StringEquals"),
                Just("ArnLike"),
                Just("ArnNotLike"),
            ],
            prop_oneof![
                Just("aws:SourceArn"),
                Just("aws:SourceAccount"),
                Just("kms:EncryptionContext:aws:cloudtrail:arn"),
            ],
            pattern(),
        )
            .prop_map(|(op, key, p)| format!(r#""{op}": {{"{key}": "{p}"}}"#))
    }

    fn policy() -> impl Strategy<Value = String> {
        (condition(), proptest::option::of(condition())).prop_map(|(allow, deny)| {
            let mut s = format!(
                r#"{{"Effect": "Allow", "Principal": {{"Service": "cloudtrail.amazonaws.com"}}, "Action": "kms:GenerateDataKey*", "Resource": "*", "Condition": {{{allow}}}}}"#
            );
            if let Some(d) = deny {
                s.push_str(&format!(
                    r#", {{"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {{{d}}}}}"#
                ));
            }
            format!(r#"{{"Version": "2012-10-17", "Statement": [{s}]}}"#)
        })
    }

    fn account() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("111111111111".to_string()),
            "1111[0-9]{8}",
            "2[0-9]{11}",
            "[0-9]{12}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn answers_agree_with_concrete_samples(
            text in policy(),
            samples in proptest::collection::vec((account(), "[a-z0-9]{1,8}"), 24),
        ) {
            let p = Policy::parse(&text).unwrap();
            let s = set();
            let a = solve(&p, &s, None, |_, d| d.is_allowed()).unwrap();
            for w in [&a.holds, &a.fails].into_iter().flatten() {
                let again = evaluate(&p, &w.request, None);
                prop_assert_eq!(again.decision, w.decision.decision);
            }
            for (acct, name) in samples {
                let req = s.instantiate(&[Some(acct), Some(name)]).unwrap();
                let allowed = evaluate(&p, &req, None).is_allowed();
                if a.all() {
                    prop_assert!(allowed, "claimed all, but {:?} is denied: {}", req, text);
                }
                if a.none() {
                    prop_assert!(!allowed, "claimed none, but {:?} is allowed: {}", req, text);
                }
            }
        }
    }
}

#[test]
fn a_confused_deputy_comes_with_the_condition_to_add() {
    let stmt = r#"{"Sid": "Encrypt", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*"}"#;
    let text = policy(&[stmt]);
    let r = check_text(&text, &input());
    let f = finding(&r, FindingId::ConfusedDeputy);
    let fix = f.fix.as_ref().expect("an edit");
    assert_eq!(fix["statement"], "Encrypt");
    assert_eq!(fix["Condition"]["StringEquals"]["aws:SourceArn"][0], TRAIL);
    // Applying the edit closes the deputy and keeps delivery working.
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    for s in doc["Statement"].as_array_mut().unwrap() {
        if s["Sid"] == "Encrypt" {
            s["Condition"] = fix["Condition"].clone();
        }
    }
    let r = check_text(&doc.to_string(), &input());
    assert!(
        !ids(&r).contains(&FindingId::ConfusedDeputy),
        "{:#?}",
        r.findings
    );
    assert_eq!(r.compliance, Compliance::Compliant, "{:#?}", r.findings);
}

// The scope summary: who the policy lets use the key, each answer with a witness.

#[test]
fn scope_of_the_main_page_policy_is_the_checked_trail_and_the_owner_account() {
    // CloudTrail User Guide, "Configure AWS KMS key policies for CloudTrail": the aws:SourceArn
    // condition limits CloudTrail's use of the key to the named trail.
    let r = check_text(&policy(&[ENCRYPT]), &input());
    let scope = r.scope.as_ref().expect("a scope");
    assert_eq!(scope.encrypt.reach, TrailReach::CheckedTrails, "{scope:#?}");
    assert_eq!(
        scope.describe.reach,
        TrailReach::CheckedTrails,
        "{scope:#?}"
    );
    // The account root's kms:* grant delegates to IAM: the owner's principals, nobody else.
    assert_eq!(scope.decrypt.len(), 1, "{scope:#?}");
    let owner = &scope.decrypt[0];
    assert_eq!(owner.principals, "account 111111111111");
    assert_eq!(owner.via, "IAM delegation");
    assert!(owner
        .witness
        .as_deref()
        .is_some_and(|w| w.starts_with("arn:aws:iam::111111111111:")));
}

#[test]
fn scope_of_an_unconditioned_grant_is_any_trail_with_a_witness() {
    let stmt = r#"{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*"}"#;
    let r = check_text(&policy(&[stmt]), &input());
    let scope = r.scope.as_ref().expect("a scope");
    assert_eq!(scope.encrypt.reach, TrailReach::AnyTrail, "{scope:#?}");
    let w = scope.encrypt.witness.as_deref().expect("a witness trail");
    assert!(
        w.starts_with("arn:aws:cloudtrail:") && w.contains(":trail/"),
        "{w}"
    );
    assert!(
        !w.contains(":111111111111:"),
        "the witness is untrusted: {w}"
    );
    assert!(scope
        .encrypt
        .summary
        .starts_with("any trail in any account"));
}

#[test]
fn scope_of_a_console_default_policy_is_the_owner_accounts_trails() {
    // The encryption-context condition limits GenerateDataKey to the account's trails.
    let stmt = r#"{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*",
      "Condition": {"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111111111111:trail/*"}}}"#;
    let r = check_text(&policy(&[stmt]), &input());
    let scope = r.scope.as_ref().expect("a scope");
    assert_eq!(
        scope.encrypt.reach,
        TrailReach::TrustedAccounts,
        "{scope:#?}"
    );
    let w = scope.encrypt.witness.as_deref().unwrap();
    assert!(w.contains(":111111111111:trail/") && w != TRAIL, "{w}");
}

#[test]
fn scope_lists_anonymous_decryptors_of_a_public_grant() {
    let stmt = r#"{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}"#;
    let r = check_text(&policy(&[ENCRYPT, stmt]), &input());
    let scope = r.scope.as_ref().expect("a scope");
    let classes: Vec<(&str, &str)> = scope
        .decrypt
        .iter()
        .map(|d| (d.principals.as_str(), d.via.as_str()))
        .collect();
    // IAM User Guide, "Cross-account policy evaluation logic": a principal of another account
    // needs its own account's identity policy too, so the key policy alone never suffices there:
    // other accounts decide through IAM, which the key owner does not control.
    assert!(
        classes.contains(&("any other account", "IAM delegation")),
        "{classes:?}"
    );
    assert!(
        classes.contains(&("anonymous", "key policy")),
        "{classes:?}"
    );
    assert_eq!(r.compliance, Compliance::NonCompliant);
}

#[test]
fn scope_is_absent_for_an_unreadable_policy() {
    assert!(check_text("{", &input()).scope.is_none());
}

#[test]
fn evaluation_time_decides_current_time_denies() {
    // IAM User Guide, "AWS global condition context keys": aws:CurrentTime is "always included
    // in the request context"; a Deny after a date starts to deny at that date.
    let deny = r#"{"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
      "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}}"#;
    let mut i = input();
    i.evaluation_time = Some(1_893_456_000 - 86_400); // 2029-12-31
    assert!(!ids(&check_text(&policy(&[ENCRYPT, deny]), &i)).contains(&FindingId::EncryptDenied));
    i.evaluation_time = Some(1_893_456_000 + 86_400); // 2030-01-02
    let r = check_text(&policy(&[ENCRYPT, deny]), &i);
    assert!(
        ids(&r).contains(&FindingId::EncryptDenied),
        "{:#?}",
        r.findings
    );
}

/// AWS KMS Developer Guide, least-privilege guidance for CloudTrail ("limit the grant with
/// kms:EncryptionContext:aws:cloudtrail:arn"): decided by what the condition allows, not by its
/// presence. A wildcard condition on the encryption context limits nothing.
#[test]
fn context_unconstrained_is_decided_by_what_the_condition_allows() {
    let wildcard = |pattern: &str| {
        format!(
            r#"{{"Sid": "Encrypt", "Effect": "Allow", "Principal": {{"Service": "cloudtrail.amazonaws.com"}}, "Action": "kms:GenerateDataKey*", "Resource": "*",
             "Condition": {{"StringEquals": {{"aws:SourceArn": "{TRAIL}"}},
                           "StringLike": {{"kms:EncryptionContext:aws:cloudtrail:arn": "{pattern}"}}}}}}"#
        )
    };
    for open in ["*", "arn:aws:cloudtrail:*:*:trail/*"] {
        let r = check_text(&policy(&[&wildcard(open)]), &input());
        let f = finding(&r, FindingId::ContextUnconstrained);
        assert_eq!(f.statement.as_deref(), Some("Encrypt"), "{open}");
    }
    // Pinned to the account's trails (the main page's statement): limited.
    let r = check_text(&policy(&[ENCRYPT]), &input());
    assert!(
        !ids(&r).contains(&FindingId::ContextUnconstrained),
        "{:#?}",
        r.findings
    );
    let pinned = wildcard("arn:aws:cloudtrail:*:111111111111:trail/*");
    let r = check_text(&policy(&[&pinned]), &input());
    assert!(
        !ids(&r).contains(&FindingId::ContextUnconstrained),
        "{:#?}",
        r.findings
    );
}

/// CloudTrail User Guide, "Configure AWS KMS key policies for CloudTrail": readers' Decrypt
/// should require the CloudTrail encryption context (`Null ... false`). Decided by what the
/// condition allows: an `...IfExists` condition on the context key is present but lets the
/// reader decrypt anything else under the key.
#[test]
fn reader_not_scoped_is_decided_by_what_the_condition_allows() {
    let reader = |condition: &str| {
        format!(
            r#"{{"Sid": "Read", "Effect": "Allow", "Principal": {{"AWS": "{READER}"}}, "Action": "kms:Decrypt", "Resource": "*", "Condition": {condition}}}"#
        )
    };
    let mut i = input();
    i.readers.push(READER.into());
    let if_exists = reader(
        r#"{"StringLikeIfExists": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111111111111:trail/*"}}"#,
    );
    let r = check_text(&policy(&[ENCRYPT, &if_exists]), &i);
    assert_eq!(
        finding(&r, FindingId::ReaderNotScoped).statement.as_deref(),
        Some("Read")
    );
    let required = reader(r#"{"Null": {"kms:EncryptionContext:aws:cloudtrail:arn": "false"}}"#);
    let r = check_text(&policy(&[ENCRYPT, &required]), &i);
    assert!(
        !ids(&r).contains(&FindingId::ReaderNotScoped),
        "{:#?}",
        r.findings
    );
    assert!(
        !ids(&r).contains(&FindingId::ReaderDenied),
        "{:#?}",
        r.findings
    );
}
