//! Condition operators and KMS key policy rules, through the public API.
//!
//! Every table case parses a one-statement key policy that grants
//! `{"AWS": "arn:aws:iam::111122223333:role/R"}` `kms:Decrypt` on `*` with the condition under
//! test, then evaluates a request from that role against
//! `arn:aws:kms:us-east-1:111122223333:key/k`. Because the principal is named directly and is in
//! the key's account, the request is allowed exactly when the condition holds.
//!
//! Quotations are from the IAM User Guide, "IAM JSON policy elements: Condition operators",
//! "Single-valued vs. multivalued context keys", "IAM policy elements: Variables and tags" and
//! the AWS KMS Developer Guide, "Key policies in AWS KMS".
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use trailkey::eval::{
    evaluate, Context, Decision, Outcome, Request, RequestPrincipal, Source, Via,
};
use trailkey::policy::Policy;

const ROLE: &str = "arn:aws:iam::111122223333:role/R";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/k";
const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/management";

/// A request context value: one value (single-valued key, unless the key is one of the
/// well-known multivalued keys) or a list (multivalued key).
#[derive(Clone, Copy)]
enum V {
    One(&'static str),
    Many(&'static [&'static str]),
}

struct Case {
    name: &'static str,
    /// The `Condition` element.
    condition: &'static str,
    context: &'static [(&'static str, V)],
    allowed: bool,
}

const fn case(
    name: &'static str,
    condition: &'static str,
    context: &'static [(&'static str, V)],
    allowed: bool,
) -> Case {
    Case {
        name,
        condition,
        context,
        allowed,
    }
}

fn key_policy(version: Option<&str>, condition: &str, resource: &str) -> String {
    let version = version
        .map(|v| format!(r#""Version": "{v}","#))
        .unwrap_or_default();
    format!(
        r#"{{ {version}
  "Statement": [{{
    "Sid": "Under test",
    "Effect": "Allow",
    "Principal": {{"AWS": "{ROLE}"}},
    "Action": "kms:Decrypt",
    "Resource": "{resource}",
    "Condition": {condition}
  }}]
}}"#
    )
}

fn context(entries: &[(&str, V)]) -> Context {
    let mut ctx = Context::new();
    for (k, v) in entries {
        match v {
            V::One(s) => ctx.set(k, *s),
            V::Many(list) => ctx.set_multi(k, list.iter().map(|s| s.to_string()).collect()),
        };
    }
    ctx
}

fn request(principal: &str, action: &str, ctx: Context) -> Request {
    Request {
        principal: RequestPrincipal::parse(principal).unwrap(),
        action: action.to_string(),
        resource: KEY.to_string(),
        context: ctx,
    }
}

fn decide_text(policy: &str, entries: &[(&str, V)]) -> Decision {
    let policy = Policy::parse(policy).unwrap_or_else(|e| panic!("{e}\n{policy}"));
    evaluate(
        &policy,
        &request(ROLE, "kms:Decrypt", context(entries)),
        None,
    )
}

fn run(version: Option<&str>, cases: &[Case]) {
    let mut failures = Vec::new();
    for c in cases {
        let d = decide_text(&key_policy(version, c.condition, "*"), c.context);
        let allowed = d.decision == Outcome::Allow;
        if allowed != c.allowed {
            failures.push(format!(
                "{}: expected {}, got {:?} ({})",
                c.name,
                if c.allowed { "Allow" } else { "ImplicitDeny" },
                d.decision,
                c.condition
            ));
        } else if allowed {
            assert_eq!(d.via, Some(Via::KeyPolicy), "{}", c.name);
        } else {
            assert_eq!(d.decision, Outcome::ImplicitDeny, "{}", c.name);
            // The denial explains itself: the statement matched all but a condition.
            assert_eq!(d.failed_conditions.len(), 1, "{}", c.name);
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn run_2012(cases: &[Case]) {
    run(Some("2012-10-17"), cases);
}

// ---------------------------------------------------------------------------------------------
// String operators
// ---------------------------------------------------------------------------------------------

#[test]
fn string_operators() {
    use V::One;
    run_2012(&[
        case(
            "StringEquals exact",
            r#"{"StringEquals": {"aws:SourceAccount": "111122223333"}}"#,
            &[("aws:SourceAccount", One("111122223333"))],
            true,
        ),
        case(
            "StringEquals other value",
            r#"{"StringEquals": {"aws:SourceAccount": "111122223333"}}"#,
            &[("aws:SourceAccount", One("444455556666"))],
            false,
        ),
        // AWS: "StringEquals — Exact matching, case sensitive"
        case(
            "StringEquals is case sensitive",
            r#"{"StringEquals": {"aws:PrincipalTag/team": "Logs"}}"#,
            &[("aws:PrincipalTag/team", One("logs"))],
            false,
        ),
        case(
            "StringEquals has no wildcards",
            r#"{"StringEquals": {"aws:PrincipalTag/team": "lo*"}}"#,
            &[("aws:PrincipalTag/team", One("logs"))],
            false,
        ),
        case(
            "StringEquals literal star",
            r#"{"StringEquals": {"aws:PrincipalTag/team": "lo*"}}"#,
            &[("aws:PrincipalTag/team", One("lo*"))],
            true,
        ),
        // AWS: "If a single condition operator includes multiple values for one key, the
        // condition operator is evaluated using a logical OR."
        case(
            "StringEquals values are ORed",
            r#"{"StringEquals": {"aws:SourceAccount": ["444455556666", "111122223333"]}}"#,
            &[("aws:SourceAccount", One("111122223333"))],
            true,
        ),
        case(
            "StringNotEquals same value",
            r#"{"StringNotEquals": {"aws:SourceAccount": "111122223333"}}"#,
            &[("aws:SourceAccount", One("111122223333"))],
            false,
        ),
        case(
            "StringNotEquals other value",
            r#"{"StringNotEquals": {"aws:SourceAccount": "111122223333"}}"#,
            &[("aws:SourceAccount", One("444455556666"))],
            true,
        ),
        // AWS: "If a single condition operator includes multiple values for one key, the
        // condition operator is evaluated using a logical OR" — and a negated operator is
        // true only when the value matches none of them (a NOR).
        case(
            "StringNotEquals values are NORed",
            r#"{"StringNotEquals": {"aws:SourceAccount": ["444455556666", "111122223333"]}}"#,
            &[("aws:SourceAccount", One("111122223333"))],
            false,
        ),
        case(
            "StringNotEquals none of the values",
            r#"{"StringNotEquals": {"aws:SourceAccount": ["444455556666", "111122223333"]}}"#,
            &[("aws:SourceAccount", One("777788889999"))],
            true,
        ),
        case(
            "StringNotEquals is case sensitive",
            r#"{"StringNotEquals": {"aws:PrincipalTag/team": "Logs"}}"#,
            &[("aws:PrincipalTag/team", One("logs"))],
            true,
        ),
        // AWS: "StringEqualsIgnoreCase — Exact matching, ignoring case"
        case(
            "StringEqualsIgnoreCase",
            r#"{"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "LOGS"}}"#,
            &[("aws:PrincipalTag/team", One("logs"))],
            true,
        ),
        case(
            "StringEqualsIgnoreCase other value",
            r#"{"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "LOGS"}}"#,
            &[("aws:PrincipalTag/team", One("audit"))],
            false,
        ),
        case(
            "StringNotEqualsIgnoreCase same value other case",
            r#"{"StringNotEqualsIgnoreCase": {"aws:PrincipalTag/team": "LOGS"}}"#,
            &[("aws:PrincipalTag/team", One("Logs"))],
            false,
        ),
        case(
            "StringNotEqualsIgnoreCase other value",
            r#"{"StringNotEqualsIgnoreCase": {"aws:PrincipalTag/team": "LOGS"}}"#,
            &[("aws:PrincipalTag/team", One("audit"))],
            true,
        ),
        // AWS: "StringLike — Case-sensitive matching. The values can include multi-character
        // match wildcards (*) and single-character match wildcards (?) anywhere in the string."
        case(
            "StringLike star",
            r#"{"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}"#,
            &[("kms:EncryptionContext:aws:cloudtrail:arn", One(TRAIL))],
            true,
        ),
        case(
            "StringLike star other account",
            r#"{"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}"#,
            &[(
                "kms:EncryptionContext:aws:cloudtrail:arn",
                One("arn:aws:cloudtrail:us-east-1:444455556666:trail/management"),
            )],
            false,
        ),
        case(
            "StringLike star matches empty",
            r#"{"StringLike": {"aws:PrincipalTag/team": "logs*"}}"#,
            &[("aws:PrincipalTag/team", One("logs"))],
            true,
        ),
        // In StringLike a `*` may cross `:` (unlike ArnLike, which matches per component).
        case(
            "StringLike star crosses colons",
            r#"{"StringLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:trail/management"}}"#,
            &[("aws:SourceArn", One(TRAIL))],
            true,
        ),
        case(
            "StringLike question one char",
            r#"{"StringLike": {"aws:PrincipalTag/team": "team-?"}}"#,
            &[("aws:PrincipalTag/team", One("team-1"))],
            true,
        ),
        case(
            "StringLike question not two chars",
            r#"{"StringLike": {"aws:PrincipalTag/team": "team-?"}}"#,
            &[("aws:PrincipalTag/team", One("team-12"))],
            false,
        ),
        case(
            "StringLike question not zero chars",
            r#"{"StringLike": {"aws:PrincipalTag/team": "team-?"}}"#,
            &[("aws:PrincipalTag/team", One("team-"))],
            false,
        ),
        case(
            "StringLike is case sensitive",
            r#"{"StringLike": {"aws:PrincipalTag/team": "Team-*"}}"#,
            &[("aws:PrincipalTag/team", One("team-1"))],
            false,
        ),
        case(
            "StringLike whole string",
            r#"{"StringLike": {"aws:PrincipalTag/team": "team"}}"#,
            &[("aws:PrincipalTag/team", One("team-1"))],
            false,
        ),
        case(
            "StringNotLike matching",
            r#"{"StringNotLike": {"aws:PrincipalTag/team": "team-*"}}"#,
            &[("aws:PrincipalTag/team", One("team-1"))],
            false,
        ),
        case(
            "StringNotLike not matching",
            r#"{"StringNotLike": {"aws:PrincipalTag/team": "team-*"}}"#,
            &[("aws:PrincipalTag/team", One("ops"))],
            true,
        ),
        case(
            "StringNotLike question",
            r#"{"StringNotLike": {"aws:PrincipalTag/team": "team-?"}}"#,
            &[("aws:PrincipalTag/team", One("team-12"))],
            true,
        ),
    ]);
}

// ---------------------------------------------------------------------------------------------
// Numeric, date, Bool, binary
// ---------------------------------------------------------------------------------------------

#[test]
fn numeric_operators() {
    use V::One;
    const K: &str = "aws:MultiFactorAuthAge";
    run_2012(&[
        case(
            "NumericEquals",
            r#"{"NumericEquals": {"aws:MultiFactorAuthAge": "10"}}"#,
            &[(K, One("10"))],
            true,
        ),
        case(
            "NumericEquals compares numbers not text",
            r#"{"NumericEquals": {"aws:MultiFactorAuthAge": "10"}}"#,
            &[(K, One("10.0"))],
            true,
        ),
        case(
            "NumericEquals JSON number",
            r#"{"NumericEquals": {"aws:MultiFactorAuthAge": 10}}"#,
            &[(K, One("10"))],
            true,
        ),
        case(
            "NumericEquals other",
            r#"{"NumericEquals": {"aws:MultiFactorAuthAge": "10"}}"#,
            &[(K, One("11"))],
            false,
        ),
        case(
            "NumericEquals non-number request",
            r#"{"NumericEquals": {"aws:MultiFactorAuthAge": "10"}}"#,
            &[(K, One("ten"))],
            false,
        ),
        case(
            "NumericNotEquals other",
            r#"{"NumericNotEquals": {"aws:MultiFactorAuthAge": "10"}}"#,
            &[(K, One("11"))],
            true,
        ),
        case(
            "NumericNotEquals same",
            r#"{"NumericNotEquals": {"aws:MultiFactorAuthAge": "10"}}"#,
            &[(K, One("10"))],
            false,
        ),
        case(
            "NumericLessThan below",
            r#"{"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}"#,
            &[(K, One("3599"))],
            true,
        ),
        case(
            "NumericLessThan equal",
            r#"{"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}"#,
            &[(K, One("3600"))],
            false,
        ),
        case(
            "NumericLessThanEquals equal",
            r#"{"NumericLessThanEquals": {"aws:MultiFactorAuthAge": "3600"}}"#,
            &[(K, One("3600"))],
            true,
        ),
        case(
            "NumericLessThanEquals above",
            r#"{"NumericLessThanEquals": {"aws:MultiFactorAuthAge": "3600"}}"#,
            &[(K, One("3601"))],
            false,
        ),
        case(
            "NumericGreaterThan above",
            r#"{"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}}"#,
            &[(K, One("3601"))],
            true,
        ),
        case(
            "NumericGreaterThan equal",
            r#"{"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}}"#,
            &[(K, One("3600"))],
            false,
        ),
        case(
            "NumericGreaterThanEquals equal",
            r#"{"NumericGreaterThanEquals": {"aws:MultiFactorAuthAge": "3600"}}"#,
            &[(K, One("3600"))],
            true,
        ),
        case(
            "NumericGreaterThanEquals below",
            r#"{"NumericGreaterThanEquals": {"aws:MultiFactorAuthAge": "3600"}}"#,
            &[(K, One("-1"))],
            false,
        ),
        case(
            "Numeric decimals",
            r#"{"NumericLessThan": {"aws:MultiFactorAuthAge": "1.5"}}"#,
            &[(K, One("1.25"))],
            true,
        ),
    ]);
}

#[test]
fn date_operators() {
    use V::One;
    const K: &str = "aws:CurrentTime";
    // 2025-01-01T00:00:00Z is 1735689600 seconds after the epoch.
    run_2012(&[
        case(
            "DateLessThan ISO 8601",
            r#"{"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}"#,
            &[(K, One("2025-06-01T12:00:00Z"))],
            true,
        ),
        case(
            "DateLessThan ISO 8601 after",
            r#"{"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}"#,
            &[(K, One("2031-01-01T00:00:00Z"))],
            false,
        ),
        case(
            "DateLessThan equal",
            r#"{"DateLessThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}"#,
            &[(K, One("2025-01-01T00:00:00Z"))],
            false,
        ),
        case(
            "DateLessThanEquals equal",
            r#"{"DateLessThanEquals": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}"#,
            &[(K, One("2025-01-01T00:00:00Z"))],
            true,
        ),
        case(
            "DateGreaterThan",
            r#"{"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}"#,
            &[(K, One("2025-01-01T00:00:00Z"))],
            true,
        ),
        case(
            "DateGreaterThan before",
            r#"{"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}"#,
            &[(K, One("2019-12-31T23:59:59Z"))],
            false,
        ),
        case(
            "DateGreaterThanEquals equal",
            r#"{"DateGreaterThanEquals": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}"#,
            &[(K, One("2020-01-01T00:00:00Z"))],
            true,
        ),
        // Epoch seconds on either side (aws:EpochTime "accepts ... epoch or Unix time").
        case(
            "DateEquals epoch request vs ISO policy",
            r#"{"DateEquals": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}"#,
            &[(K, One("1735689600"))],
            true,
        ),
        case(
            "DateEquals epoch policy vs ISO request",
            r#"{"DateEquals": {"aws:EpochTime": "1735689600"}}"#,
            &[("aws:EpochTime", One("2025-01-01T00:00:00Z"))],
            true,
        ),
        case(
            "DateLessThan epoch policy",
            r#"{"DateLessThan": {"aws:EpochTime": 1735689600}}"#,
            &[("aws:EpochTime", One("1735689599"))],
            true,
        ),
        case(
            "DateLessThan epoch policy later request",
            r#"{"DateLessThan": {"aws:EpochTime": 1735689600}}"#,
            &[("aws:EpochTime", One("1735689601"))],
            false,
        ),
        case(
            "DateEquals date only",
            r#"{"DateEquals": {"aws:CurrentTime": "2025-01-01"}}"#,
            &[(K, One("2025-01-01T00:00:00Z"))],
            true,
        ),
        case(
            "DateEquals zone offset",
            r#"{"DateEquals": {"aws:CurrentTime": "2025-01-01T01:00:00+01:00"}}"#,
            &[(K, One("2025-01-01T00:00:00Z"))],
            true,
        ),
        case(
            "DateEquals fractional seconds",
            r#"{"DateEquals": {"aws:CurrentTime": "2025-01-01T00:00:00.000Z"}}"#,
            &[(K, One("2025-01-01T00:00:00Z"))],
            true,
        ),
        case(
            "DateNotEquals other",
            r#"{"DateNotEquals": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}"#,
            &[(K, One("2025-01-02T00:00:00Z"))],
            true,
        ),
        case(
            "DateNotEquals same",
            r#"{"DateNotEquals": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}"#,
            &[(K, One("1735689600"))],
            false,
        ),
        case(
            "Date non-date request",
            r#"{"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}"#,
            &[(K, One("tomorrow"))],
            false,
        ),
    ]);
}

#[test]
fn bool_and_binary_operators() {
    use V::One;
    run_2012(&[
        case(
            "Bool true",
            r#"{"Bool": {"aws:SecureTransport": "true"}}"#,
            &[("aws:SecureTransport", One("true"))],
            true,
        ),
        case(
            "Bool JSON true",
            r#"{"Bool": {"aws:SecureTransport": true}}"#,
            &[("aws:SecureTransport", One("true"))],
            true,
        ),
        case(
            "Bool mismatch",
            r#"{"Bool": {"aws:SecureTransport": "true"}}"#,
            &[("aws:SecureTransport", One("false"))],
            false,
        ),
        case(
            "Bool false",
            r#"{"Bool": {"kms:GrantIsForAWSResource": "false"}}"#,
            &[("kms:GrantIsForAWSResource", One("false"))],
            true,
        ),
        case(
            "Bool non-boolean request",
            r#"{"Bool": {"aws:SecureTransport": "true"}}"#,
            &[("aws:SecureTransport", One("yes"))],
            false,
        ),
        // "QmluYXJ5VmFsdWU=" is base64 for "BinaryValue".
        case(
            "BinaryEquals",
            r#"{"BinaryEquals": {"aws:RequestTag/blob": "QmluYXJ5VmFsdWU="}}"#,
            &[("aws:RequestTag/blob", One("QmluYXJ5VmFsdWU="))],
            true,
        ),
        case(
            "BinaryEquals other bytes",
            r#"{"BinaryEquals": {"aws:RequestTag/blob": "QmluYXJ5VmFsdWU="}}"#,
            &[("aws:RequestTag/blob", One("T3RoZXI="))],
            false,
        ),
        case(
            "BinaryEquals not base64",
            r#"{"BinaryEquals": {"aws:RequestTag/blob": "QmluYXJ5VmFsdWU="}}"#,
            &[("aws:RequestTag/blob", One("BinaryValue"))],
            false,
        ),
    ]);
}

// ---------------------------------------------------------------------------------------------
// IP and ARN operators
// ---------------------------------------------------------------------------------------------

#[test]
fn ip_operators() {
    use V::One;
    const K: &str = "aws:SourceIp";
    run_2012(&[
        case(
            "IpAddress IPv4 inside",
            r#"{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#,
            &[(K, One("203.0.113.7"))],
            true,
        ),
        case(
            "IpAddress IPv4 outside",
            r#"{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#,
            &[(K, One("203.0.114.7"))],
            false,
        ),
        case(
            "IpAddress bare address",
            r#"{"IpAddress": {"aws:SourceIp": "203.0.113.7"}}"#,
            &[(K, One("203.0.113.7"))],
            true,
        ),
        case(
            "IpAddress bare address other",
            r#"{"IpAddress": {"aws:SourceIp": "203.0.113.7"}}"#,
            &[(K, One("203.0.113.8"))],
            false,
        ),
        case(
            "IpAddress /0",
            r#"{"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}"#,
            &[(K, One("198.51.100.1"))],
            true,
        ),
        case(
            "IpAddress list ORed",
            r#"{"IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]}}"#,
            &[(K, One("203.0.113.7"))],
            true,
        ),
        case(
            "IpAddress IPv6 inside",
            r#"{"IpAddress": {"aws:SourceIp": "2001:DB8:1234:5678::/64"}}"#,
            &[(K, One("2001:db8:1234:5678::1"))],
            true,
        ),
        case(
            "IpAddress IPv6 outside",
            r#"{"IpAddress": {"aws:SourceIp": "2001:DB8:1234:5678::/64"}}"#,
            &[(K, One("2001:db8:1234:5679::1"))],
            false,
        ),
        case(
            "IpAddress IPv4 request vs IPv6 network",
            r#"{"IpAddress": {"aws:SourceIp": "2001:DB8:1234:5678::/64"}}"#,
            &[(K, One("203.0.113.7"))],
            false,
        ),
        case(
            "IpAddress not an address",
            r#"{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#,
            &[(K, One("cloudtrail.amazonaws.com"))],
            false,
        ),
        case(
            "NotIpAddress outside",
            r#"{"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#,
            &[(K, One("198.51.100.1"))],
            true,
        ),
        case(
            "NotIpAddress inside",
            r#"{"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#,
            &[(K, One("203.0.113.1"))],
            false,
        ),
        case(
            "NotIpAddress IPv6 outside",
            r#"{"NotIpAddress": {"aws:SourceIp": "2001:db8::/32"}}"#,
            &[(K, One("2001:db9::1"))],
            true,
        ),
        case(
            "NotIpAddress IPv6 inside",
            r#"{"NotIpAddress": {"aws:SourceIp": "2001:db8::/32"}}"#,
            &[(K, One("2001:db8:ffff::1"))],
            false,
        ),
    ]);
}

#[test]
fn arn_operators() {
    use V::One;
    const K: &str = "aws:SourceArn";
    run_2012(&[
        case(
            "ArnLike wildcards",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}"#,
            &[(K, One(TRAIL))],
            true,
        ),
        case(
            "ArnLike other account",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}"#,
            &[(
                K,
                One("arn:aws:cloudtrail:us-east-1:444455556666:trail/management"),
            )],
            false,
        ),
        case(
            "ArnLike question",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-?:111122223333:trail/management"}}"#,
            &[(K, One(TRAIL))],
            true,
        ),
        // AWS: "Each of the six colon-delimited components of the ARN is checked separately and
        // each can include multi-character match wildcards (*) or single-character match
        // wildcards (?)." So a `*` never stands for several components.
        case(
            "ArnLike star does not span components",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:trail/management"}}"#,
            &[(K, One(TRAIL))],
            false,
        ),
        case(
            "ArnLike star in account",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:*:trail/management"}}"#,
            &[(K, One(TRAIL))],
            true,
        ),
        case(
            "ArnLike resource keeps colons",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:logs:us-east-1:111122223333:log-group:*"}}"#,
            &[(
                K,
                One("arn:aws:logs:us-east-1:111122223333:log-group:trail:log-stream:x"),
            )],
            true,
        ),
        case(
            "ArnLike is case sensitive",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:US-EAST-1:111122223333:trail/*"}}"#,
            &[(K, One(TRAIL))],
            false,
        ),
        case(
            "ArnLike star pattern",
            r#"{"ArnLike": {"aws:SourceArn": "*"}}"#,
            &[(K, One(TRAIL))],
            true,
        ),
        case(
            "ArnLike request not an ARN",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}"#,
            &[(K, One("trail/management"))],
            false,
        ),
        case(
            "ArnLike empty region component",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:s3:::bucket-*"}}"#,
            &[(K, One("arn:aws:s3:::bucket-logs"))],
            true,
        ),
        case(
            "ArnLike empty component vs filled",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:s3:::bucket-*"}}"#,
            &[(K, One("arn:aws:s3:us-east-1::bucket-logs"))],
            false,
        ),
        // AWS: "ArnEquals, ArnLike — Case-sensitive matching of the ARN. Each of the six
        // colon-delimited components of the ARN is checked separately and each can include
        // multi-character match wildcards (*) or single-character match wildcards (?)."
        // ArnEquals therefore takes wildcards too.
        case(
            "ArnEquals exact",
            r#"{"ArnEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/management"}}"#,
            &[(K, One(TRAIL))],
            true,
        ),
        case(
            "ArnEquals wildcards",
            r#"{"ArnEquals": {"aws:SourceArn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}"#,
            &[(K, One(TRAIL))],
            true,
        ),
        case(
            "ArnEquals other trail",
            r#"{"ArnEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/other"}}"#,
            &[(K, One(TRAIL))],
            false,
        ),
        case(
            "ArnNotEquals other trail",
            r#"{"ArnNotEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/other"}}"#,
            &[(K, One(TRAIL))],
            true,
        ),
        case(
            "ArnNotEquals same trail",
            r#"{"ArnNotEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/management"}}"#,
            &[(K, One(TRAIL))],
            false,
        ),
        case(
            "ArnNotLike matching",
            r#"{"ArnNotLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}"#,
            &[(K, One(TRAIL))],
            false,
        ),
        case(
            "ArnNotLike not matching",
            r#"{"ArnNotLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:444455556666:trail/*"}}"#,
            &[(K, One(TRAIL))],
            true,
        ),
    ]);
}

// ---------------------------------------------------------------------------------------------
// Null, IfExists, missing keys
// ---------------------------------------------------------------------------------------------

#[test]
fn null_operator() {
    use V::One;
    // AWS: "Use a Null condition operator to check if a condition key is absent at the time of
    // authorization. In the policy statement, use either true (the key doesn't exist — it is
    // null) or false (the key exists and its value is not null)."
    run_2012(&[
        case(
            "Null true, key absent",
            r#"{"Null": {"aws:SourceArn": "true"}}"#,
            &[],
            true,
        ),
        case(
            "Null true, key present",
            r#"{"Null": {"aws:SourceArn": "true"}}"#,
            &[("aws:SourceArn", One(TRAIL))],
            false,
        ),
        case(
            "Null false, key present",
            r#"{"Null": {"aws:SourceArn": "false"}}"#,
            &[("aws:SourceArn", One(TRAIL))],
            true,
        ),
        case(
            "Null false, key absent",
            r#"{"Null": {"aws:SourceArn": "false"}}"#,
            &[],
            false,
        ),
        case(
            "Null JSON boolean",
            r#"{"Null": {"aws:SourceArn": false}}"#,
            &[("aws:SourceArn", One(TRAIL))],
            true,
        ),
        case(
            "Null false, multivalued key present",
            r#"{"Null": {"kms:EncryptionContextKeys": "false"}}"#,
            &[(
                "kms:EncryptionContextKeys",
                V::Many(&["aws:cloudtrail:arn"]),
            )],
            true,
        ),
        case(
            "Null true, multivalued key empty",
            r#"{"Null": {"kms:EncryptionContextKeys": "true"}}"#,
            &[("kms:EncryptionContextKeys", V::Many(&[]))],
            true,
        ),
    ]);
}

#[test]
fn missing_keys() {
    // AWS: "If the key that you specify in a policy condition is not present in the request
    // context, the values do not match and the condition is false." For negated operators the
    // AWS documentation says: "If the key that you specify in a policy condition is not present
    // in the request context, the values do not match ... [a negated matching condition
    // operator] returns true."
    let positive = [
        r#"{"StringEquals": {"aws:SourceAccount": "111122223333"}}"#,
        r#"{"StringEqualsIgnoreCase": {"aws:SourceAccount": "111122223333"}}"#,
        r#"{"StringLike": {"aws:SourceAccount": "*"}}"#,
        r#"{"NumericEquals": {"aws:MultiFactorAuthAge": "1"}}"#,
        r#"{"NumericLessThan": {"aws:MultiFactorAuthAge": "1"}}"#,
        r#"{"NumericLessThanEquals": {"aws:MultiFactorAuthAge": "1"}}"#,
        r#"{"NumericGreaterThan": {"aws:MultiFactorAuthAge": "1"}}"#,
        r#"{"NumericGreaterThanEquals": {"aws:MultiFactorAuthAge": "1"}}"#,
        r#"{"DateEquals": {"aws:CurrentTime": "2025-01-01"}}"#,
        r#"{"DateLessThan": {"aws:CurrentTime": "2025-01-01"}}"#,
        r#"{"DateLessThanEquals": {"aws:CurrentTime": "2025-01-01"}}"#,
        r#"{"DateGreaterThan": {"aws:CurrentTime": "2025-01-01"}}"#,
        r#"{"DateGreaterThanEquals": {"aws:CurrentTime": "2025-01-01"}}"#,
        r#"{"Bool": {"aws:SecureTransport": "true"}}"#,
        r#"{"Bool": {"aws:SecureTransport": "false"}}"#,
        r#"{"BinaryEquals": {"aws:RequestTag/blob": "QmluYXJ5VmFsdWU="}}"#,
        r#"{"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}"#,
        r#"{"ArnEquals": {"aws:SourceArn": "*"}}"#,
        r#"{"ArnLike": {"aws:SourceArn": "*"}}"#,
    ];
    let negated = [
        r#"{"StringNotEquals": {"aws:SourceAccount": "111122223333"}}"#,
        r#"{"StringNotEqualsIgnoreCase": {"aws:SourceAccount": "111122223333"}}"#,
        r#"{"StringNotLike": {"aws:SourceAccount": "*"}}"#,
        r#"{"NumericNotEquals": {"aws:MultiFactorAuthAge": "1"}}"#,
        r#"{"DateNotEquals": {"aws:CurrentTime": "2025-01-01"}}"#,
        r#"{"NotIpAddress": {"aws:SourceIp": "0.0.0.0/0"}}"#,
        r#"{"ArnNotEquals": {"aws:SourceArn": "*"}}"#,
        r#"{"ArnNotLike": {"aws:SourceArn": "*"}}"#,
    ];
    let mut cases: Vec<Case> = Vec::new();
    for c in positive {
        cases.push(case(
            "positive operator, key missing → false",
            c,
            &[],
            false,
        ));
        // AWS: "...IfExists ... If the policy key is not present in the request context, the
        // condition evaluates to true" (the ...IfExists form is built by suffixing the name).
        let if_exists: &'static str = Box::leak(if_exists_form(c).into_boxed_str());
        cases.push(case(
            "...IfExists, key missing → true",
            if_exists,
            &[],
            true,
        ));
    }
    for c in negated {
        cases.push(case("negated operator, key missing → true", c, &[], true));
        let if_exists: &'static str = Box::leak(if_exists_form(c).into_boxed_str());
        cases.push(case(
            "negated ...IfExists, key missing → true",
            if_exists,
            &[],
            true,
        ));
    }
    // Present but unrelated keys do not count.
    cases.push(case(
        "other key present",
        r#"{"StringEquals": {"aws:SourceAccount": "111122223333"}}"#,
        &[("aws:SourceArn", V::One(TRAIL))],
        false,
    ));
    run_2012(&cases);
}

/// `{"StringEquals": ...}` → `{"StringEqualsIfExists": ...}`.
fn if_exists_form(condition: &str) -> String {
    let end = condition[2..].find('"').unwrap() + 2;
    format!("{}IfExists{}", &condition[..end], &condition[end..])
}

#[test]
fn if_exists_with_key_present() {
    use V::One;
    // AWS: "If the key is present, it's evaluated based on the operator". Only the missing case
    // differs from the plain operator.
    run_2012(&[
        case(
            "StringEqualsIfExists match",
            r#"{"StringEqualsIfExists": {"aws:SourceAccount": "111122223333"}}"#,
            &[("aws:SourceAccount", One("111122223333"))],
            true,
        ),
        case(
            "StringEqualsIfExists mismatch",
            r#"{"StringEqualsIfExists": {"aws:SourceAccount": "111122223333"}}"#,
            &[("aws:SourceAccount", One("444455556666"))],
            false,
        ),
        case(
            "StringNotEqualsIfExists same",
            r#"{"StringNotEqualsIfExists": {"aws:SourceAccount": "111122223333"}}"#,
            &[("aws:SourceAccount", One("111122223333"))],
            false,
        ),
        case(
            "ArnLikeIfExists match",
            r#"{"ArnLikeIfExists": {"aws:SourceArn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}"#,
            &[("aws:SourceArn", One(TRAIL))],
            true,
        ),
        case(
            "ArnLikeIfExists mismatch",
            r#"{"ArnLikeIfExists": {"aws:SourceArn": "arn:aws:cloudtrail:*:444455556666:trail/*"}}"#,
            &[("aws:SourceArn", One(TRAIL))],
            false,
        ),
        case(
            "BoolIfExists false, MFA absent",
            r#"{"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}"#,
            &[],
            true,
        ),
        case(
            "BoolIfExists false, MFA true",
            r#"{"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}"#,
            &[("aws:MultiFactorAuthPresent", One("true"))],
            false,
        ),
        case(
            "NumericLessThanIfExists present",
            r#"{"NumericLessThanIfExists": {"aws:MultiFactorAuthAge": "10"}}"#,
            &[("aws:MultiFactorAuthAge", One("20"))],
            false,
        ),
        case(
            "IpAddressIfExists present",
            r#"{"IpAddressIfExists": {"aws:SourceIp": "203.0.113.0/24"}}"#,
            &[("aws:SourceIp", One("203.0.113.9"))],
            true,
        ),
        case(
            "DateLessThanIfExists present",
            r#"{"DateLessThanIfExists": {"aws:CurrentTime": "2020-01-01"}}"#,
            &[("aws:CurrentTime", One("2025-01-01"))],
            false,
        ),
    ]);
}

// ---------------------------------------------------------------------------------------------
// Set operators and multivalued keys
// ---------------------------------------------------------------------------------------------

#[test]
fn set_operators() {
    use V::{Many, One};
    const K: &str = "kms:EncryptionContextKeys";
    run_2012(&[
        // AWS: "ForAnyValue – ... returns true if at least one of the context key values in the
        // request matches at least one of the context key values in the policy."
        case(
            "ForAnyValue one matches",
            r#"{"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "aws:cloudtrail:arn"}}"#,
            &[(K, Many(&["purpose", "aws:cloudtrail:arn"]))],
            true,
        ),
        case(
            "ForAnyValue none matches",
            r#"{"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "aws:cloudtrail:arn"}}"#,
            &[(K, Many(&["purpose", "team"]))],
            false,
        ),
        // AWS: "It returns false if there are no context keys in the request" (ForAnyValue).
        case(
            "ForAnyValue key missing",
            r#"{"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "aws:cloudtrail:arn"}}"#,
            &[],
            false,
        ),
        // AWS: "ForAllValues – ... returns true if every context key value in the request
        // matches at least one context key value in the policy. It also returns true if there
        // are no context keys in the request, or if the context key value resolves to a null
        // data set, such as an empty string."
        case(
            "ForAllValues all match",
            r#"{"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["aws:cloudtrail:arn", "aws:s3:arn"]}}"#,
            &[(K, Many(&["aws:cloudtrail:arn"]))],
            true,
        ),
        case(
            "ForAllValues all match (two values)",
            r#"{"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["aws:cloudtrail:arn", "aws:s3:arn"]}}"#,
            &[(K, Many(&["aws:s3:arn", "aws:cloudtrail:arn"]))],
            true,
        ),
        case(
            "ForAllValues one extra value",
            r#"{"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["aws:cloudtrail:arn", "aws:s3:arn"]}}"#,
            &[(K, Many(&["aws:cloudtrail:arn", "purpose"]))],
            false,
        ),
        case(
            "ForAllValues key missing",
            r#"{"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": "aws:cloudtrail:arn"}}"#,
            &[],
            true,
        ),
        case(
            "ForAllValues empty set",
            r#"{"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": "aws:cloudtrail:arn"}}"#,
            &[(K, Many(&[]))],
            true,
        ),
        case(
            "ForAllValues StringLike",
            r#"{"ForAllValues:StringLike": {"kms:EncryptionContextKeys": "aws:*"}}"#,
            &[(K, Many(&["aws:cloudtrail:arn", "aws:s3:arn"]))],
            true,
        ),
        case(
            "ForAllValues StringLike one outside",
            r#"{"ForAllValues:StringLike": {"kms:EncryptionContextKeys": "aws:*"}}"#,
            &[(K, Many(&["aws:cloudtrail:arn", "purpose"]))],
            false,
        ),
        case(
            "ForAnyValue StringNotEquals some value differs",
            r#"{"ForAnyValue:StringNotEquals": {"kms:EncryptionContextKeys": "aws:cloudtrail:arn"}}"#,
            &[(K, Many(&["aws:cloudtrail:arn", "purpose"]))],
            true,
        ),
        case(
            "ForAnyValue StringNotEquals all equal",
            r#"{"ForAnyValue:StringNotEquals": {"kms:EncryptionContextKeys": "aws:cloudtrail:arn"}}"#,
            &[(K, Many(&["aws:cloudtrail:arn"]))],
            false,
        ),
        case(
            "ForAllValues StringNotLike",
            r#"{"ForAllValues:StringNotLike": {"kms:EncryptionContextKeys": "secret*"}}"#,
            &[(K, Many(&["aws:cloudtrail:arn", "purpose"]))],
            true,
        ),
        case(
            "ForAllValues StringNotLike one hit",
            r#"{"ForAllValues:StringNotLike": {"kms:EncryptionContextKeys": "secret*"}}"#,
            &[(K, Many(&["aws:cloudtrail:arn", "secret-x"]))],
            false,
        ),
        case(
            "ForAnyValue IfExists key missing",
            r#"{"ForAnyValue:StringEqualsIfExists": {"kms:EncryptionContextKeys": "aws:cloudtrail:arn"}}"#,
            &[],
            true,
        ),
        case(
            "ForAnyValue on aws:TagKeys",
            r#"{"ForAnyValue:StringEquals": {"aws:TagKeys": ["Owner"]}}"#,
            &[("aws:TagKeys", Many(&["Owner", "CostCenter"]))],
            true,
        ),
        // A set operator on a key that happens to be single-valued sees a one-element set.
        case(
            "ForAnyValue on a single-valued key",
            r#"{"ForAnyValue:StringEquals": {"aws:PrincipalTag/team": "logs"}}"#,
            &[("aws:PrincipalTag/team", One("logs"))],
            true,
        ),
        // AWS ("Single-valued vs. multivalued context keys"): multivalued context keys must be
        // compared with a set operator; a single-valued operator against a multivalued key
        // does not match, even when the set has one value equal to the policy value.
        case(
            "StringEquals on multivalued key",
            r#"{"StringEquals": {"kms:EncryptionContextKeys": "aws:cloudtrail:arn"}}"#,
            &[(K, Many(&["aws:cloudtrail:arn"]))],
            false,
        ),
        case(
            "StringLike on multivalued key",
            r#"{"StringLike": {"kms:EncryptionContextKeys": "*"}}"#,
            &[(K, Many(&["aws:cloudtrail:arn", "purpose"]))],
            false,
        ),
        // `Context::set` knows kms:EncryptionContextKeys is multivalued.
        case(
            "StringEquals on multivalued key set with set()",
            r#"{"StringEquals": {"kms:EncryptionContextKeys": "aws:cloudtrail:arn"}}"#,
            &[(K, One("aws:cloudtrail:arn"))],
            false,
        ),
        case(
            "ForAnyValue on multivalued key set with set()",
            r#"{"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "aws:cloudtrail:arn"}}"#,
            &[(K, One("aws:cloudtrail:arn"))],
            true,
        ),
    ]);
}

#[test]
fn context_add_makes_a_key_multivalued() {
    let policy = Policy::parse(&key_policy(
        Some("2012-10-17"),
        r#"{"StringEquals": {"aws:PrincipalTag/team": "logs"}}"#,
        "*",
    ))
    .unwrap();
    let mut ctx = Context::new();
    ctx.add("aws:PrincipalTag/team", "logs");
    assert!(evaluate(&policy, &request(ROLE, "kms:Decrypt", ctx.clone()), None).is_allowed());
    ctx.add("aws:PrincipalTag/team", "ops");
    assert!(!evaluate(&policy, &request(ROLE, "kms:Decrypt", ctx), None).is_allowed());
}

// ---------------------------------------------------------------------------------------------
// Condition key names, AND semantics
// ---------------------------------------------------------------------------------------------

#[test]
fn condition_keys_are_case_insensitive() {
    use V::One;
    // AWS: "Condition key names are not case-sensitive." (The values are, for case-sensitive
    // operators.)
    run_2012(&[
        case(
            "upper-case key in policy",
            r#"{"StringEquals": {"AWS:SOURCEACCOUNT": "111122223333"}}"#,
            &[("aws:SourceAccount", One("111122223333"))],
            true,
        ),
        case(
            "lower-case key in policy",
            r#"{"StringEquals": {"aws:sourceaccount": "111122223333"}}"#,
            &[("AWS:SourceAccount", One("111122223333"))],
            true,
        ),
        case(
            "mixed case encryption context key",
            r#"{"StringLike": {"KMS:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*"}}"#,
            &[("kms:encryptioncontext:aws:cloudtrail:arn", One(TRAIL))],
            true,
        ),
        case(
            "Null with other-case key",
            r#"{"Null": {"AWS:SourceArn": "false"}}"#,
            &[("aws:sourcearn", One(TRAIL))],
            true,
        ),
        case(
            "values stay case sensitive",
            r#"{"StringEquals": {"AWS:SOURCEARN": "ARN:AWS:CLOUDTRAIL:US-EAST-1:111122223333:TRAIL/MANAGEMENT"}}"#,
            &[("aws:SourceArn", One(TRAIL))],
            false,
        ),
    ]);
}

#[test]
fn conditions_are_anded() {
    use V::One;
    // AWS: "If your policy has multiple condition operators or multiple keys attached to a single
    // condition operator, the conditions are evaluated using a logical AND."
    const TWO_KEYS: &str = r#"{"StringEquals": {"aws:SourceAccount": "111122223333", "aws:PrincipalTag/team": "logs"}}"#;
    const TWO_OPS: &str = r#"{"StringEquals": {"aws:SourceAccount": "111122223333"}, "ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}"#;
    run_2012(&[
        case(
            "two keys both match",
            TWO_KEYS,
            &[
                ("aws:SourceAccount", One("111122223333")),
                ("aws:PrincipalTag/team", One("logs")),
            ],
            true,
        ),
        case(
            "two keys one matches",
            TWO_KEYS,
            &[
                ("aws:SourceAccount", One("111122223333")),
                ("aws:PrincipalTag/team", One("ops")),
            ],
            false,
        ),
        case(
            "two keys one missing",
            TWO_KEYS,
            &[("aws:SourceAccount", One("111122223333"))],
            false,
        ),
        case(
            "two operators both match",
            TWO_OPS,
            &[
                ("aws:SourceAccount", One("111122223333")),
                ("aws:SourceArn", One(TRAIL)),
            ],
            true,
        ),
        case(
            "two operators one fails",
            TWO_OPS,
            &[
                ("aws:SourceAccount", One("444455556666")),
                ("aws:SourceArn", One(TRAIL)),
            ],
            false,
        ),
        case("empty Condition object", "{}", &[], true),
    ]);
}

// ---------------------------------------------------------------------------------------------
// Policy variables
// ---------------------------------------------------------------------------------------------

#[test]
fn policy_variables_in_conditions() {
    use V::One;
    const ACCT: (&str, V) = ("aws:PrincipalAccount", One("111122223333"));
    run_2012(&[
        case(
            "StringEquals ${aws:PrincipalAccount}",
            r#"{"StringEquals": {"aws:SourceAccount": "${aws:PrincipalAccount}"}}"#,
            &[("aws:SourceAccount", One("111122223333")), ACCT],
            true,
        ),
        case(
            "StringEquals ${...} other account",
            r#"{"StringEquals": {"aws:SourceAccount": "${aws:PrincipalAccount}"}}"#,
            &[("aws:SourceAccount", One("444455556666")), ACCT],
            false,
        ),
        // AWS: "If a policy variable references a context key that is not present in the request
        // ... the policy variable can't be resolved, [and] the condition evaluates to false"
        // unless a default is given.
        case(
            "StringEquals ${...} variable missing",
            r#"{"StringEquals": {"aws:SourceAccount": "${aws:PrincipalAccount}"}}"#,
            &[("aws:SourceAccount", One("111122223333"))],
            false,
        ),
        case(
            "variable names are case-insensitive",
            r#"{"StringEquals": {"aws:SourceAccount": "${AWS:PRINCIPALACCOUNT}"}}"#,
            &[("aws:SourceAccount", One("111122223333")), ACCT],
            true,
        ),
        case(
            "StringLike with variable",
            r#"{"StringLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:${aws:PrincipalAccount}:trail/*"}}"#,
            &[("aws:SourceArn", One(TRAIL)), ACCT],
            true,
        ),
        case(
            "StringLike with variable, other account",
            r#"{"StringLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:${aws:PrincipalAccount}:trail/*"}}"#,
            &[
                ("aws:SourceArn", One(TRAIL)),
                ("aws:PrincipalAccount", One("444455556666")),
            ],
            false,
        ),
        case(
            "StringNotEquals with variable",
            r#"{"StringNotEquals": {"aws:SourceAccount": "${aws:PrincipalAccount}"}}"#,
            &[("aws:SourceAccount", One("444455556666")), ACCT],
            true,
        ),
        case(
            "StringEqualsIgnoreCase with variable",
            r#"{"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "${aws:username}"}}"#,
            &[
                ("aws:PrincipalTag/team", One("ALICE")),
                ("aws:username", One("alice")),
            ],
            true,
        ),
        case(
            "ArnLike with variable",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:${aws:PrincipalAccount}:trail/*"}}"#,
            &[("aws:SourceArn", One(TRAIL)), ACCT],
            true,
        ),
        case(
            "ArnEquals with variable, other account",
            r#"{"ArnEquals": {"aws:SourceArn": "arn:aws:cloudtrail:*:${aws:PrincipalAccount}:trail/*"}}"#,
            &[
                ("aws:SourceArn", One(TRAIL)),
                ("aws:PrincipalAccount", One("444455556666")),
            ],
            false,
        ),
        // AWS: "To add a default value to a variable, surround the default value with single
        // quotes (' '), and separate the variable text and the default value with a comma and
        // space (, )."
        case(
            "default used when key missing",
            r#"{"StringEquals": {"aws:PrincipalTag/team": "${aws:username, 'nobody'}"}}"#,
            &[("aws:PrincipalTag/team", One("nobody"))],
            true,
        ),
        case(
            "default ignored when key present",
            r#"{"StringEquals": {"aws:PrincipalTag/team": "${aws:username, 'nobody'}"}}"#,
            &[
                ("aws:PrincipalTag/team", One("nobody")),
                ("aws:username", One("alice")),
            ],
            false,
        ),
        case(
            "key value used when present",
            r#"{"StringEquals": {"aws:PrincipalTag/team": "${aws:username, 'nobody'}"}}"#,
            &[
                ("aws:PrincipalTag/team", One("alice")),
                ("aws:username", One("alice")),
            ],
            true,
        ),
        // AWS: "${*} - (asterisk) ... ${?} - (question mark) ... ${$} - (dollar sign)": special
        // characters, used "when you need to match the literal value" in a string that can
        // contain wildcards.
        case(
            "${*} is a literal star in StringLike",
            r#"{"StringLike": {"aws:PrincipalTag/team": "a${*}b"}}"#,
            &[("aws:PrincipalTag/team", One("a*b"))],
            true,
        ),
        case(
            "${*} does not match other text",
            r#"{"StringLike": {"aws:PrincipalTag/team": "a${*}b"}}"#,
            &[("aws:PrincipalTag/team", One("axb"))],
            false,
        ),
        case(
            "${?} is a literal question mark",
            r#"{"StringLike": {"aws:PrincipalTag/team": "a${?}"}}"#,
            &[("aws:PrincipalTag/team", One("ax"))],
            false,
        ),
        case(
            "${?} matches a question mark",
            r#"{"StringLike": {"aws:PrincipalTag/team": "a${?}"}}"#,
            &[("aws:PrincipalTag/team", One("a?"))],
            true,
        ),
        case(
            "${$} is a dollar sign",
            r#"{"StringEquals": {"aws:PrincipalTag/team": "${$}{x}"}}"#,
            &[("aws:PrincipalTag/team", One("${x}"))],
            true,
        ),
        case(
            "${*} in StringEquals",
            r#"{"StringEquals": {"aws:PrincipalTag/team": "a${*}"}}"#,
            &[("aws:PrincipalTag/team", One("a*"))],
            true,
        ),
        case(
            "${*} in ArnLike is literal",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:s3:::bucket${*}"}}"#,
            &[("aws:SourceArn", One("arn:aws:s3:::bucketX"))],
            false,
        ),
        case(
            "${*} in ArnLike matches a star",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:s3:::bucket${*}"}}"#,
            &[("aws:SourceArn", One("arn:aws:s3:::bucket*"))],
            true,
        ),
        // A substituted value is text, not a pattern.
        case(
            "substituted value is literal in StringLike",
            r#"{"StringLike": {"aws:PrincipalTag/team": "${aws:username}"}}"#,
            &[
                ("aws:PrincipalTag/team", One("anything")),
                ("aws:username", One("*")),
            ],
            false,
        ),
        case(
            "substituted value is literal in ArnLike",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:${aws:PrincipalTag/acct}:trail/management"}}"#,
            &[
                ("aws:SourceArn", One(TRAIL)),
                ("aws:PrincipalTag/acct", One("*")),
            ],
            false,
        ),
        // A multivalued key cannot be substituted.
        case(
            "multivalued key is not substituted",
            r#"{"StringEquals": {"aws:PrincipalTag/team": "${aws:TagKeys}"}}"#,
            &[
                ("aws:PrincipalTag/team", One("x")),
                ("aws:TagKeys", V::Many(&["x"])),
            ],
            false,
        ),
    ]);
}

#[test]
fn variables_are_literal_before_2012() {
    use V::One;
    // AWS: "Because policy variables were introduced in the 2012-10-17 version of the policy
    // language, you must specify the Version element ... If you don't include the Version
    // element, ... variables such as ${aws:username} aren't recognized as variables and are
    // instead treated as literal strings in the policy."
    for version in [Some("2008-10-17"), None] {
        run(
            version,
            &[
                case(
                    "literal text matches",
                    r#"{"StringEquals": {"aws:SourceAccount": "${aws:PrincipalAccount}"}}"#,
                    &[
                        ("aws:SourceAccount", One("${aws:PrincipalAccount}")),
                        ("aws:PrincipalAccount", One("111122223333")),
                    ],
                    true,
                ),
                case(
                    "not substituted",
                    r#"{"StringEquals": {"aws:SourceAccount": "${aws:PrincipalAccount}"}}"#,
                    &[
                        ("aws:SourceAccount", One("111122223333")),
                        ("aws:PrincipalAccount", One("111122223333")),
                    ],
                    false,
                ),
                case(
                    "StringLike literal ${*}",
                    r#"{"StringLike": {"aws:PrincipalTag/team": "a${*}"}}"#,
                    &[("aws:PrincipalTag/team", One("a${x}"))],
                    true,
                ),
                case(
                    "StringLike literal default",
                    r#"{"StringLike": {"aws:PrincipalTag/team": "${aws:username, 'x'}"}}"#,
                    &[("aws:PrincipalTag/team", One("x"))],
                    false,
                ),
                case(
                    "ArnLike literal",
                    r#"{"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:${aws:PrincipalAccount}:trail/*"}}"#,
                    &[
                        ("aws:SourceArn", One(TRAIL)),
                        ("aws:PrincipalAccount", One("111122223333")),
                    ],
                    false,
                ),
                case(
                    "unterminated ${ is fine",
                    r#"{"StringEquals": {"aws:PrincipalTag/team": "${oops"}}"#,
                    &[("aws:PrincipalTag/team", One("${oops"))],
                    true,
                ),
            ],
        );
    }
}

#[test]
fn policy_variables_in_resource() {
    const RES: &str = "arn:aws:kms:*:${aws:PrincipalAccount}:key/*";
    let allowed = |version: Option<&str>, account: &'static str| {
        decide_text(
            &key_policy(version, "{}", RES),
            &[("aws:PrincipalAccount", V::One(account))],
        )
        .is_allowed()
    };
    assert!(allowed(Some("2012-10-17"), "111122223333"));
    assert!(!allowed(Some("2012-10-17"), "444455556666"));
    // Literal text before 2012-10-17: the key ARN does not contain `${`.
    assert!(!allowed(Some("2008-10-17"), "111122223333"));
    assert!(!allowed(None, "111122223333"));
    // Missing variable, no default: the resource matches nothing.
    let d = decide_text(&key_policy(Some("2012-10-17"), "{}", RES), &[]);
    assert_eq!(d.decision, Outcome::ImplicitDeny);
    let d = decide_text(
        &key_policy(
            Some("2012-10-17"),
            "{}",
            "arn:aws:kms:*:${aws:PrincipalAccount, '111122223333'}:key/*",
        ),
        &[],
    );
    assert!(d.is_allowed());
    // "*" in a key policy means this key; a different key ARN does not match.
    assert!(decide_text(&key_policy(Some("2012-10-17"), "{}", "*"), &[]).is_allowed());
    assert!(!decide_text(
        &key_policy(
            Some("2012-10-17"),
            "{}",
            "arn:aws:kms:us-east-1:111122223333:key/other"
        ),
        &[]
    )
    .is_allowed());
    assert!(decide_text(&key_policy(Some("2012-10-17"), "{}", KEY), &[]).is_allowed());
}

#[test]
fn failed_condition_is_explained() {
    let d = decide_text(
        &key_policy(
            Some("2012-10-17"),
            r#"{"StringEquals": {"aws:SourceAccount": "111122223333"}, "ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}"#,
            "*",
        ),
        &[("aws:SourceAccount", V::One("111122223333"))],
    );
    assert_eq!(d.decision, Outcome::ImplicitDeny);
    let f = &d.failed_conditions[0];
    assert_eq!(f.key, "aws:SourceArn");
    assert_eq!(f.operator, "ArnLike");
    assert_eq!(f.actual, None);
    assert_eq!(f.path, "/Statement/0/Condition/ArnLike/aws:SourceArn");
    assert_eq!(f.statement.sid.as_deref(), Some("Under test"));
}

// ---------------------------------------------------------------------------------------------
// KMS key policy rules
// ---------------------------------------------------------------------------------------------

fn statement(effect: &str, principal: &str, action: &str) -> String {
    format!(
        r#"{{"Effect": "{effect}", "Principal": {principal}, "Action": "{action}", "Resource": "*"}}"#
    )
}

fn policy_of(statements: &[String]) -> Policy {
    let text = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{}]}}"#,
        statements.join(",")
    );
    Policy::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn identity_of(statements: &[&str]) -> Policy {
    let text = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{}]}}"#,
        statements.join(",")
    );
    Policy::parse_identity(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn eval_as(policy: &Policy, principal: &str, identity: Option<&[Policy]>) -> Decision {
    evaluate(
        policy,
        &request(principal, "kms:Decrypt", Context::new()),
        identity,
    )
}

#[test]
fn explicit_deny_wins() {
    // AWS: "An explicit deny in any of these policies overrides the allow."
    let allow = statement("Allow", &format!(r#"{{"AWS": "{ROLE}"}}"#), "kms:Decrypt");
    let deny_role = statement("Deny", &format!(r#"{{"AWS": "{ROLE}"}}"#), "kms:Decrypt");
    let deny_all = statement("Deny", r#""*""#, "kms:*");
    for deny in [&deny_role, &deny_all] {
        for order in [
            vec![allow.clone(), deny.clone()],
            vec![deny.clone(), allow.clone()],
        ] {
            let d = eval_as(&policy_of(&order), ROLE, None);
            assert_eq!(d.decision, Outcome::ExplicitDeny);
            assert_eq!(d.via, None);
            assert_eq!(d.statements.len(), 1);
            assert_eq!(d.statements[0].source, Source::KeyPolicy);
        }
    }
    // A Deny whose condition does not hold does not apply.
    let conditional_deny = r#"{"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}"#;
    let d = eval_as(
        &policy_of(&[allow.clone(), conditional_deny.to_string()]),
        ROLE,
        None,
    );
    assert_eq!(d.decision, Outcome::Allow);
    // A Deny for another action does not apply.
    let other = statement("Deny", r#""*""#, "kms:ScheduleKeyDeletion");
    assert!(eval_as(&policy_of(&[allow.clone(), other]), ROLE, None).is_allowed());
    // A Deny in an identity policy also wins over a key policy allow.
    let id = identity_of(&[r#"{"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}"#]);
    let d = eval_as(&policy_of(&[allow]), ROLE, Some(std::slice::from_ref(&id)));
    assert_eq!(d.decision, Outcome::ExplicitDeny);
    assert_eq!(d.statements[0].source, Source::Identity(0));
}

#[test]
fn account_principal_delegates_to_iam() {
    // AWS KMS: "When the principal in a key policy statement is an AWS account principal ...
    // the policy statement doesn't give any IAM principal permission to use the KMS key.
    // Instead, it allows the account to use IAM policies to delegate the permissions specified
    // in the policy statement."
    for principal in [
        r#"{"AWS": "111122223333"}"#,
        r#"{"AWS": "arn:aws:iam::111122223333:root"}"#,
    ] {
        let p = policy_of(&[statement("Allow", principal, "kms:*")]);

        let unknown = eval_as(&p, ROLE, None);
        assert_eq!(unknown.decision, Outcome::Allow, "{principal}");
        assert_eq!(unknown.via, Some(Via::IamDelegation), "{principal}");
        assert!(unknown.requires_identity_policy, "{principal}");

        let none = eval_as(&p, ROLE, Some(&[]));
        assert_eq!(none.decision, Outcome::ImplicitDeny, "{principal}");

        let id = identity_of(&[r#"{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}"#]);
        let with = eval_as(&p, ROLE, Some(std::slice::from_ref(&id)));
        assert_eq!(with.decision, Outcome::Allow, "{principal}");
        assert_eq!(with.via, Some(Via::IamDelegation), "{principal}");
        assert!(!with.requires_identity_policy, "{principal}");
        assert!(with
            .statements
            .iter()
            .any(|s| s.source == Source::Identity(0)));

        // An identity policy for another action does not help.
        let other =
            identity_of(&[r#"{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"}"#]);
        let d = eval_as(&p, ROLE, Some(std::slice::from_ref(&other)));
        assert_eq!(d.decision, Outcome::ImplicitDeny, "{principal}");

        // An identity policy that only allows another key does not help.
        let other_key = identity_of(&[
            r#"{"Effect": "Allow", "Action": "kms:*", "Resource": "arn:aws:kms:us-east-1:111122223333:key/other"}"#,
        ]);
        let d = eval_as(&p, ROLE, Some(std::slice::from_ref(&other_key)));
        assert_eq!(d.decision, Outcome::ImplicitDeny, "{principal}");

        // The account's root user is the account itself: allowed by the key policy alone.
        let root = eval_as(&p, "arn:aws:iam::111122223333:root", Some(&[]));
        assert_eq!(root.decision, Outcome::Allow, "{principal}");
        assert_eq!(root.via, Some(Via::KeyPolicy), "{principal}");

        // Another account's principals get nothing from it.
        let d = eval_as(&p, "arn:aws:iam::444455556666:role/R", None);
        assert_eq!(d.decision, Outcome::ImplicitDeny, "{principal}");
    }
}

#[test]
fn identity_policy_alone_is_not_enough() {
    // AWS KMS: "No AWS principal, including the account root user or key creator, has any
    // permissions to a KMS key unless they are explicitly allowed, and never denied, in a key
    // policy, IAM policy, or grant" — and IAM policies only count when the key policy
    // delegates to the account.
    let p = policy_of(&[statement(
        "Allow",
        r#"{"AWS": "arn:aws:iam::111122223333:role/Admin"}"#,
        "kms:*",
    )]);
    let id = identity_of(&[r#"{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}"#]);
    let d = eval_as(&p, ROLE, Some(std::slice::from_ref(&id)));
    assert_eq!(d.decision, Outcome::ImplicitDeny);
}

#[test]
fn cross_account_principal_needs_identity_policy() {
    // AWS KMS: "Principals in the external account ... must also have [an IAM policy] that
    // allows them to use the KMS key" — naming them in the key policy is not enough.
    const OTHER: &str = "arn:aws:iam::444455556666:role/Auditor";
    let p = policy_of(&[statement(
        "Allow",
        &format!(r#"{{"AWS": "{OTHER}"}}"#),
        "kms:Decrypt",
    )]);

    let unknown = eval_as(&p, OTHER, None);
    assert_eq!(unknown.decision, Outcome::Allow);
    assert_eq!(unknown.via, Some(Via::IamDelegation));
    assert!(unknown.requires_identity_policy);

    assert_eq!(
        eval_as(&p, OTHER, Some(&[])).decision,
        Outcome::ImplicitDeny
    );

    let id = identity_of(&[&format!(
        r#"{{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "{KEY}"}}"#
    )]);
    let with = eval_as(&p, OTHER, Some(std::slice::from_ref(&id)));
    assert_eq!(with.decision, Outcome::Allow);
    assert_eq!(with.via, Some(Via::IamDelegation));
    assert!(!with.requires_identity_policy);

    // The same role in the key's account is a different principal.
    assert_eq!(
        eval_as(&p, "arn:aws:iam::111122223333:role/Auditor", None).decision,
        Outcome::ImplicitDeny
    );
}

#[test]
fn service_principals_match_exactly() {
    let p = policy_of(&[statement(
        "Allow",
        r#"{"Service": "cloudtrail.amazonaws.com"}"#,
        "kms:GenerateDataKey*",
    )]);
    let ask = |principal: &str, action: &str| {
        evaluate(&p, &request(principal, action, Context::new()), Some(&[]))
    };
    let d = ask("cloudtrail.amazonaws.com", "kms:GenerateDataKey");
    assert_eq!(d.decision, Outcome::Allow);
    assert_eq!(d.via, Some(Via::KeyPolicy));
    // Action names are case-insensitive; service principal names are compared exactly.
    assert!(ask("cloudtrail.amazonaws.com", "KMS:generatedatakeypair").is_allowed());
    for other in [
        "CloudTrail.amazonaws.com",
        "cloudtrail.amazonaws.com.cn",
        "config.amazonaws.com",
        "trail.amazonaws.com",
        ROLE,
        "arn:aws:iam::111122223333:root",
    ] {
        assert_eq!(
            ask(other, "kms:GenerateDataKey").decision,
            Outcome::ImplicitDeny,
            "{other}"
        );
    }
    assert!(!ask("cloudtrail.amazonaws.com", "kms:Decrypt").is_allowed());
}

#[test]
fn principal_forms() {
    // Everyone.
    let p = policy_of(&[statement("Allow", r#""*""#, "kms:Decrypt")]);
    assert_eq!(eval_as(&p, ROLE, Some(&[])).via, Some(Via::KeyPolicy));
    let p = policy_of(&[statement("Allow", r#"{"AWS": "*"}"#, "kms:Decrypt")]);
    assert!(eval_as(&p, ROLE, Some(&[])).is_allowed());
    // A role ARN covers the role's sessions.
    let p = policy_of(&[statement(
        "Allow",
        &format!(r#"{{"AWS": ["{ROLE}"]}}"#),
        "kms:Decrypt",
    )]);
    let d = eval_as(
        &p,
        "arn:aws:sts::111122223333:assumed-role/R/session-1",
        Some(&[]),
    );
    assert_eq!(d.decision, Outcome::Allow);
    assert_eq!(d.via, Some(Via::KeyPolicy));
    // A different role is not covered.
    assert!(!eval_as(&p, "arn:aws:iam::111122223333:role/R2", Some(&[])).is_allowed());
    // Action mismatch.
    let p = policy_of(&[statement(
        "Allow",
        &format!(r#"{{"AWS": "{ROLE}"}}"#),
        "kms:Encrypt",
    )]);
    let d = eval_as(&p, ROLE, Some(&[]));
    assert_eq!(d.decision, Outcome::ImplicitDeny);
    assert!(d.failed_conditions.is_empty());
}

#[test]
fn not_principal_allow_is_evaluated() {
    // AWS: "Use the NotPrincipal element to specify the IAM user, federated user, IAM role, AWS
    // account, AWS service, or other principal that is not allowed or explicitly denied access
    // to a resource." An Allow with NotPrincipal applies to everyone it does not name.
    let other = "arn:aws:iam::111122223333:role/Other";
    let p = policy_of(&[format!(
        r#"{{"Effect": "Allow", "NotPrincipal": {{"AWS": "{other}"}}, "Action": "kms:Decrypt", "Resource": "*"}}"#
    )]);
    let d = eval_as(&p, ROLE, Some(&[]));
    assert_eq!(d.decision, Outcome::Allow);
    assert_eq!(d.via, Some(Via::KeyPolicy));
    assert_eq!(
        eval_as(&p, other, Some(&[])).decision,
        Outcome::ImplicitDeny
    );

    let p = policy_of(&[format!(
        r#"{{"Effect": "Allow", "NotPrincipal": {{"AWS": "{ROLE}"}}, "Action": "kms:Decrypt", "Resource": "*"}}"#
    )]);
    assert_eq!(eval_as(&p, ROLE, Some(&[])).decision, Outcome::ImplicitDeny);

    // NotPrincipal with Deny: everyone except the named principals is denied. AWS: "When you
    // use NotPrincipal, you must also specify the account ARN of the not-denied principal.
    // Otherwise, the policy might deny access to the entire account containing the principal."
    // So the documented form names the role and its account; the account entry excludes only
    // the account principal (root), never the account's other roles.
    let p = policy_of(&[
        statement("Allow", r#""*""#, "kms:Decrypt"),
        format!(
            r#"{{"Effect": "Deny", "NotPrincipal": {{"AWS": ["{ROLE}", "arn:aws:iam::111122223333:root"]}}, "Action": "kms:Decrypt", "Resource": "*"}}"#
        ),
    ]);
    assert_eq!(eval_as(&p, ROLE, Some(&[])).decision, Outcome::Allow);
    assert_eq!(
        eval_as(&p, "arn:aws:sts::111122223333:assumed-role/R/s", Some(&[])).decision,
        Outcome::Allow
    );
    assert_eq!(
        eval_as(&p, "arn:aws:iam::111122223333:root", Some(&[])).decision,
        Outcome::Allow
    );
    assert_eq!(
        eval_as(&p, other, Some(&[])).decision,
        Outcome::ExplicitDeny
    );
    assert_eq!(
        eval_as(&p, "arn:aws:iam::444455556666:role/R", None).decision,
        Outcome::ExplicitDeny
    );
    assert_eq!(
        eval_as(&p, "cloudtrail.amazonaws.com", None).decision,
        Outcome::ExplicitDeny
    );

    // An account alone in NotPrincipal does not shield the account's roles.
    let p = policy_of(&[
        statement("Allow", r#""*""#, "kms:Decrypt"),
        r#"{"Effect": "Deny", "NotPrincipal": {"AWS": "111122223333"}, "Action": "kms:Decrypt", "Resource": "*"}"#.to_string(),
    ]);
    assert_eq!(eval_as(&p, ROLE, Some(&[])).decision, Outcome::ExplicitDeny);
    assert_eq!(
        eval_as(&p, "arn:aws:iam::111122223333:root", Some(&[])).decision,
        Outcome::Allow
    );
}
