//! The bad input catalogue: one table of malformed policies, invoking events, rule parameters
//! and whole Config events, each row naming the input and the error substring it must produce
//! (the problem and where: JSON pointer, parameter or field name). Every row runs under
//! `catch_unwind`: none may panic, and none may come out COMPLIANT.
#![cfg(feature = "aws")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use async_trait::async_trait;
use aws_lambda_events::event::config::ConfigEvent;
use serde_json::{json, Value};
use trailkey::aws::{AssumeRole, AwsError, EventDataStoreInfo, RuleAws, TrailInfo};
use trailkey::checker::{check_text, CheckInput, Compliance, Trail};
use trailkey::handler::handle;
use trailkey::policy::Policy;
use trailkey::rule::{
    decode_invoking_event, ApiConfigurationItem, Evaluation, KeyFacts, RuleParameters,
};

const K1: &str = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const T1: &str = "arn:aws:cloudtrail:us-east-1:111111111111:trail/management-events";

/// Which entry point a row drives.
#[derive(Debug, Clone, Copy)]
enum Entry {
    /// `Policy::parse`; the error's `Display`.
    Policy,
    /// `checker::check_text`: must be NON_COMPLIANT with the message in a `POLICY_INVALID`
    /// finding.
    CheckText,
    /// `rule::decode_invoking_event`.
    InvokingEvent,
    /// `rule::RuleParameters::parse`.
    Parameters,
    /// `handler::handle` on a whole Config event (JSON text), with fakes behind `RuleAws`.
    Handler,
}

struct Row {
    name: &'static str,
    entry: Entry,
    input: String,
    expected: &'static str,
}

fn row(name: &'static str, entry: Entry, input: impl Into<String>, expected: &'static str) -> Row {
    Row {
        name,
        entry,
        input: input.into(),
        expected,
    }
}

fn statement(body: &str) -> String {
    format!(r#"{{"Version": "2012-10-17", "Statement": [{body}]}}"#)
}

const GOOD_STATEMENT: &str = r#"{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:DescribeKey", "Resource": "*"}"#;

/// A policy of `n` bytes or more: one valid statement plus Sid padding.
fn huge_policy(n: usize) -> String {
    let pad = "x".repeat(n);
    statement(&format!(
        r#"{{"Sid": "{pad}", "Effect": "Allow", "Principal": {{"Service": "cloudtrail.amazonaws.com"}}, "Action": "kms:DescribeKey", "Resource": "*"}}"#
    ))
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// A change notification for `item` (a configuration item object).
fn change(item: Value) -> String {
    json!({"messageType": "ConfigurationItemChangeNotification", "configurationItem": item})
        .to_string()
}

fn trail_item(configuration: Value) -> Value {
    json!({
        "resourceType": "AWS::CloudTrail::Trail", "resourceId": "management-events",
        "ARN": T1, "configurationItemStatus": "OK",
        "configurationItemCaptureTime": "2024-05-02T09:30:41.200Z",
        "configuration": configuration, "supplementaryConfiguration": {}
    })
}

/// A whole Config event around an invoking event and parameters.
fn config_event(invoking: Option<String>, params: Option<&str>, token: Option<&str>) -> String {
    let mut e = json!({
        "version": "1.0", "accountId": "111111111111", "eventLeftScope": false,
        "configRuleArn": "arn:aws:config:us-east-1:111111111111:config-rule/config-rule-trailkey",
    });
    if let Some(i) = invoking {
        e["invokingEvent"] = Value::String(i);
    }
    if let Some(p) = params {
        e["ruleParameters"] = Value::String(p.into());
    }
    if let Some(t) = token {
        e["resultToken"] = Value::String(t.into());
    }
    e.to_string()
}

fn handler_event(invoking: String) -> String {
    config_event(Some(invoking), None, Some("TESTMODE"))
}

fn rows() -> Vec<Row> {
    use Entry::*;
    vec![
        // --- key policies -------------------------------------------------------------------
        row("policy: empty input", Policy, "", "invalid JSON at line 1, column 0"),
        row("policy: whitespace only", Policy, "  \n ", "invalid JSON at line 2"),
        row("policy: truncated JSON", Policy, r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Al"#, "invalid JSON at line 1"),
        row("policy: not an object", Policy, "[]", "``: a policy must be a JSON object"),
        row("policy: Statement missing", Policy, r#"{"Version": "2012-10-17"}"#, "missing `Statement`"),
        row("policy: Statement a number", Policy, r#"{"Version": "2012-10-17", "Statement": 7}"#, "`/Statement`"),
        row("policy: Effect missing", Policy, statement(r#"{"Principal": "*", "Action": "kms:*", "Resource": "*"}"#), "`/Statement/0`: missing `Effect`"),
        row("policy: Effect wrong value", Policy, statement(r#"{"Effect": "Permit", "Principal": "*", "Action": "kms:*", "Resource": "*"}"#), "`/Statement/0/Effect`"),
        row("policy: Action a number", Policy, statement(r#"{"Effect": "Allow", "Principal": "*", "Action": 5, "Resource": "*"}"#), "`/Statement/0/Action`"),
        row("policy: Principal missing", Policy, statement(r#"{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}"#), "`/Statement/0`: missing `Principal`"),
        row("policy: Condition value an object", Policy, statement(r#"{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"StringEquals": {"aws:SourceArn": {"a": 1}}}}"#), "`/Statement/0/Condition/StringEquals/aws:SourceArn`"),
        row("policy: unknown operator", Policy, statement(r#"{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"StringEqualz": {"aws:SourceArn": "x"}}}"#), "`/Statement/0/Condition/StringEqualz`: unknown condition operator"),
        row("policy: larger than 32 KB", Policy, huge_policy(33 * 1024), "KMS accepts at most 32768 bytes"),
        row("policy: deeply nested JSON", Policy, nested(100_000), "recursion limit exceeded"),
        row("policy: nested inside a statement", Policy, statement(&format!(r#"{{"Effect": "Allow", "Principal": "*", "Action": {}, "Resource": "*"}}"#, nested(60))), "`/Statement/0/Action"),
        row("policy: get-key-policy output with a non-string Policy", Policy, r#"{"Policy": 5}"#, "`/Policy`"),
        row("policy: get-key-policy output with a truncated Policy", Policy, r#"{"Policy": "{\"Version\": \"2012-10-17\", \"Statement\": ["}"#, "invalid JSON"),
        row("policy: duplicate Sid", Policy, statement(&format!(r#"{}, {}"#, GOOD_STATEMENT.replace("{\"Effect\"", "{\"Sid\": \"A\", \"Effect\""), GOOD_STATEMENT.replace("{\"Effect\"", "{\"Sid\": \"A\", \"Effect\""))), "`/Statement/1/Sid`: duplicate Sid `A`"),
        row("check_text: empty", CheckText, "", "POLICY_INVALID: key policy is invalid: invalid JSON"),
        row("check_text: truncated", CheckText, r#"{"Version": "2012-10-17", "Statement": ["#, "POLICY_INVALID: key policy is invalid: invalid JSON"),
        row("check_text: larger than 32 KB", CheckText, huge_policy(40 * 1024), "POLICY_INVALID: key policy is invalid: policy is"),
        row("check_text: deeply nested", CheckText, nested(100_000), "POLICY_INVALID: key policy is invalid: invalid JSON"),
        row("check_text: wrong type", CheckText, statement(r#"{"Effect": true, "Principal": "*", "Action": "kms:*", "Resource": "*"}"#), "POLICY_INVALID: key policy is invalid: `/Statement/0/Effect`"),
        // --- invoking events --------------------------------------------------------------------
        row("invokingEvent: empty", InvokingEvent, "", "invokingEvent ``: not JSON"),
        row("invokingEvent: truncated", InvokingEvent, r#"{"messageType": "Configura"#, "invokingEvent ``: not JSON"),
        row("invokingEvent: not an object", InvokingEvent, "[1, 2]", "invokingEvent `/messageType`: missing or not a string"),
        row("invokingEvent: messageType missing", InvokingEvent, "{}", "invokingEvent `/messageType`: missing or not a string"),
        row("invokingEvent: messageType a number", InvokingEvent, r#"{"messageType": 3}"#, "invokingEvent `/messageType`: missing or not a string"),
        row("invokingEvent: unknown messageType", InvokingEvent, r#"{"messageType": "ComplianceChangeNotification"}"#, "unsupported messageType `ComplianceChangeNotification`"),
        row("invokingEvent: configurationItem missing", InvokingEvent, r#"{"messageType": "ConfigurationItemChangeNotification"}"#, "invokingEvent `/configurationItem`: missing"),
        row("invokingEvent: configurationItem a string", InvokingEvent, r#"{"messageType": "ConfigurationItemChangeNotification", "configurationItem": "x"}"#, "invokingEvent `/configurationItem`"),
        row("invokingEvent: resourceType missing", InvokingEvent, change(json!({"resourceId": "k"})), "invokingEvent `/configurationItem/resourceType`: missing or not a string"),
        row("invokingEvent: capture time a number", InvokingEvent, change(json!({"resourceType": "AWS::KMS::Key", "resourceId": "k", "configurationItemStatus": "OK", "configurationItemCaptureTime": 5})), "invokingEvent `/configurationItem/configurationItemCaptureTime`: missing or not a string"),
        row("invokingEvent: oversized without summary", InvokingEvent, r#"{"messageType": "OversizedConfigurationItemChangeNotification"}"#, "invokingEvent `/configurationItemSummary`: missing"),
        row("invokingEvent: oversized summary without resourceId", InvokingEvent, r#"{"messageType": "OversizedConfigurationItemChangeNotification", "configurationItemSummary": {"resourceType": "AWS::KMS::Key"}}"#, "invokingEvent `/configurationItemSummary/resourceId`: missing or not a string"),
        row("invokingEvent: scheduled without time", InvokingEvent, r#"{"messageType": "ScheduledNotification"}"#, "invokingEvent `/notificationCreationTime`: missing or not a string"),
        row("invokingEvent: deeply nested", InvokingEvent, format!(r#"{{"messageType": "ScheduledNotification", "x": {}}}"#, nested(100_000)), "invokingEvent ``: not JSON: recursion limit exceeded"),
        // --- rule parameters ----------------------------------------------------------------------
        row("ruleParameters: truncated", Parameters, r#"{"readers": "#, "rule parameter `ruleParameters`: not JSON"),
        row("ruleParameters: an array", Parameters, "[]", "rule parameter `ruleParameters`: expected a JSON object"),
        row("ruleParameters: unknown name", Parameters, r#"{"reader": "arn:aws:iam::111111111111:role/R"}"#, "rule parameter `reader`: unknown parameter"),
        row("ruleParameters: strict not a boolean", Parameters, r#"{"strict": "yes"}"#, "rule parameter `strict`: expected `true` or `false`"),
        row("ruleParameters: bucketKey a number", Parameters, r#"{"bucketKey": 1}"#, "rule parameter `bucketKey`: expected `true` or `false`, got `1`"),
        row("ruleParameters: readers an object", Parameters, r#"{"readers": {"a": 1}}"#, "rule parameter `readers`: expected a comma-separated string"),
        row("ruleParameters: readers list of numbers", Parameters, r#"{"readers": [1]}"#, "rule parameter `readers`: list items must be strings"),
        row("ruleParameters: organizationId not an id", Parameters, r#"{"organizationId": "o-ABC"}"#, "rule parameter `organizationId`: `o-ABC` is not an organization id (o- and 10 to 32 lowercase letters or digits)"),
        row("ruleParameters: allowedAccounts not an account", Parameters, r#"{"allowedAccounts": "11111111111"}"#, "rule parameter `allowedAccounts`: `11111111111` is not a 12-digit account id"),
        row("ruleParameters: unknown finding id", Parameters, r#"{"suppress": "CONFUSED_DEPUTIES"}"#, "rule parameter `suppress`: unknown finding id `CONFUSED_DEPUTIES`"),
        row("ruleParameters: ExecutionRoleName a number", Parameters, r#"{"ExecutionRoleName": 5}"#, "rule parameter `ExecutionRoleName`: expected a role name"),
        // --- whole events through the handler -------------------------------------------------------
        row("event: resultToken missing", Handler, config_event(Some(r#"{"messageType": "ScheduledNotification", "notificationCreationTime": "2024-06-13T00:00:04.716Z"}"#.into()), None, None), "event field `resultToken` is missing"),
        row("event: invokingEvent missing", Handler, config_event(None, None, Some("TESTMODE")), "event field `invokingEvent` is missing"),
        row("event: ruleParameters bad", Handler, config_event(Some("{}".into()), Some(r#"{"strict": 2}"#), Some("TESTMODE")), "rule parameter `strict`"),
        row("event: unknown resource type", Handler, handler_event(change(json!({"resourceType": "AWS::S3::Bucket", "resourceId": "b", "configurationItemStatus": "OK", "configurationItemCaptureTime": "2024-05-02T09:30:41.200Z", "configuration": {}}))), "unsupported resource type `AWS::S3::Bucket`"),
        row("event: key item without policy", Handler, handler_event(change(json!({"resourceType": "AWS::KMS::Key", "resourceId": "k", "configurationItemStatus": "OK", "configurationItemCaptureTime": "2024-05-02T09:30:41.200Z", "configuration": {"arn": K1, "keyState": "Enabled", "keySpec": "SYMMETRIC_DEFAULT", "keyManager": "CUSTOMER"}, "supplementaryConfiguration": {}}))), "invokingEvent `/configurationItem/supplementaryConfiguration/Policy`: missing or not a string"),
        row("event: key item policy not a string", Handler, handler_event(change(json!({"resourceType": "AWS::KMS::Key", "resourceId": "k", "configurationItemStatus": "OK", "configurationItemCaptureTime": "2024-05-02T09:30:41.200Z", "configuration": {"arn": K1, "keyState": "Enabled", "keySpec": "SYMMETRIC_DEFAULT", "keyManager": "CUSTOMER"}, "supplementaryConfiguration": {"Policy": {"Version": "2012-10-17"}}}))), "invokingEvent `/configurationItem/supplementaryConfiguration/Policy`: missing or not a string"),
        row("event: key item without keyState", Handler, handler_event(change(json!({"resourceType": "AWS::KMS::Key", "resourceId": "k", "configurationItemStatus": "OK", "configurationItemCaptureTime": "2024-05-02T09:30:41.200Z", "configuration": {"arn": K1, "keySpec": "SYMMETRIC_DEFAULT", "keyManager": "CUSTOMER"}, "supplementaryConfiguration": {"Policy": "{}"}}))), "invokingEvent `/configurationItem/configuration/keyState`: missing or not a string"),
        row("event: trail item without trailARN or ARN", Handler, handler_event(change(json!({"resourceType": "AWS::CloudTrail::Trail", "resourceId": "t", "configurationItemStatus": "OK", "configurationItemCaptureTime": "2024-05-02T09:30:41.200Z", "configuration": {"kmsKeyId": K1}}))), "event field `configurationItem.configuration.trailARN` is missing"),
        row("event: trail kmsKeyId a number", Handler, handler_event(change(trail_item(json!({"trailARN": T1, "kmsKeyId": 5})))), "invokingEvent `/configurationItem/configuration/kmsKeyId`: not a string"),
        row("event: trail configuration a string", Handler, handler_event(change(trail_item(json!("oops")))), "invokingEvent `/configurationItem/configuration`: expected an object"),
        row("event: event data store KmsKeyId an array", Handler, handler_event(change(json!({"resourceType": "AWS::CloudTrail::EventDataStore", "resourceId": "arn:aws:cloudtrail:us-east-1:111111111111:eventdatastore/e", "configurationItemStatus": "OK", "configurationItemCaptureTime": "2024-05-02T09:30:41.200Z", "configuration": {"KmsKeyId": [K1]}}))), "invokingEvent `/configurationItem/configuration/KmsKeyId`: not a string"),
    ]
}

/// A fake AWS where every key read succeeds with a compliant policy: a bad event must fail on its
/// own, not because of AWS.
struct Fake;

#[async_trait]
impl RuleAws for Fake {
    async fn key(&self, key_arn: &str) -> Result<KeyFacts, AwsError> {
        Ok(KeyFacts {
            key_arn: key_arn.into(),
            policy: std::fs::read_to_string(format!(
                "{}/events/policies/k1-compliant.json",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap(),
            key_state: "Enabled".into(),
            key_spec: "SYMMETRIC_DEFAULT".into(),
            key_manager: "CUSTOMER".into(),
            trails: Vec::new(),
            event_data_stores: Vec::new(),
        })
    }
    async fn trails(&self) -> Result<Vec<TrailInfo>, AwsError> {
        Ok(Vec::new())
    }
    async fn event_data_stores(&self) -> Result<Vec<EventDataStoreInfo>, AwsError> {
        Ok(Vec::new())
    }
    async fn latest_item(&self, _: &str, id: &str) -> Result<ApiConfigurationItem, AwsError> {
        Err(AwsError {
            operation: "config:GetResourceConfigHistory",
            resource: id.into(),
            message: "not expected".into(),
        })
    }
    async fn put_evaluations(
        &self,
        _: &[Evaluation],
        _: &str,
    ) -> Result<Vec<Evaluation>, AwsError> {
        Ok(Vec::new())
    }
}

struct NoOrg;

#[async_trait]
impl AssumeRole for NoOrg {
    async fn assume(&self, _: &str, _: &str, _: &str) -> Result<Box<dyn RuleAws>, AwsError> {
        Err(AwsError {
            operation: "sts:AssumeRole",
            resource: "-".into(),
            message: "not expected".into(),
        })
    }
}

fn check_input() -> CheckInput {
    let mut input = CheckInput::new(K1.to_string());
    input.trails = vec![Trail {
        arn: T1.into(),
        bucket: None,
        ..Default::default()
    }];
    input
}

/// The error text of one row, or `None` if the entry point accepted the input.
fn outcome(r: &Row) -> Option<String> {
    match r.entry {
        Entry::Policy => Policy::parse(&r.input).err().map(|e| e.to_string()),
        Entry::CheckText => {
            let report = check_text(&r.input, &check_input());
            assert_eq!(report.compliance, Compliance::NonCompliant, "{}", r.name);
            report
                .findings
                .first()
                .map(|f| format!("{}: {}", f.id, f.message))
        }
        Entry::InvokingEvent => decode_invoking_event(&r.input).err().map(|e| e.to_string()),
        Entry::Parameters => RuleParameters::parse(Some(&r.input))
            .err()
            .map(|e| e.to_string()),
        Entry::Handler => {
            let event: ConfigEvent = serde_json::from_str(&r.input).unwrap();
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(handle(&Fake, &NoOrg, &event))
                .err()
                .map(|e| e.to_string())
        }
    }
}

#[test]
fn every_bad_input_is_rejected_with_a_message_naming_the_problem_and_where() {
    let mut failures = Vec::new();
    for r in rows() {
        match std::panic::catch_unwind(|| outcome(&r)) {
            Err(_) => failures.push(format!("{}: PANICKED", r.name)),
            Ok(None) => failures.push(format!("{}: accepted", r.name)),
            Ok(Some(msg)) if !msg.contains(r.expected) => failures.push(format!(
                "{}:\n    expected `{}`\n    got      `{msg}`",
                r.name, r.expected
            )),
            Ok(Some(_)) => {}
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Non-UTF-8 bytes never reach the library as `&str`: the Lambda runtime and the CLI decode
/// first. The event decoder the runtime uses rejects them with the byte position.
#[test]
fn non_utf8_event_bytes_are_rejected_by_the_event_decoder() {
    let mut bytes = br#"{"invokingEvent": "{\"messageType\": \"Sch"#.to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    bytes.extend_from_slice(br#"\"}", "resultToken": "TESTMODE"}"#);
    let err = serde_json::from_slice::<ConfigEvent>(&bytes).unwrap_err();
    assert!(
        err.to_string().contains("invalid unicode code point") || err.to_string().contains("UTF-8"),
        "{err}"
    );
}

/// The CLI with non-UTF-8 bytes on stdin (trycmd cannot feed them): exit 2 and the byte offset.
/// Files are covered by `tests/cmd/check-non-utf8.toml`.
#[test]
fn cli_rejects_non_utf8_stdin_with_the_byte_offset() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailkey"))
        .args(["check", "--policy", "-", "--key-arn", K1, "--trail-arn", T1])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"Version\": \"2012-10-17\",\xff}")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "trailkey: stdin is not UTF-8 (byte 25)\n"
    );
}
