//! What `Policy::parse` rejects (with the JSON pointer of the problem) and what it accepts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use trailkey::policy::{Effect, Policy, PolicyError, PolicyVersion, MAX_POLICY_BYTES};

const ALLOW_ROLE: &str = r#"{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/R"}, "Action": "kms:Decrypt", "Resource": "*"}"#;

/// A key policy whose only statement has the given `Condition` element.
fn with_condition(condition: &str) -> String {
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {{"AWS": "111122223333"}}, "Action": "kms:Decrypt", "Resource": "*", "Condition": {condition}}}]}}"#
    )
}

/// A key policy with one statement built from the given elements.
fn with_statement(body: &str) -> String {
    format!(r#"{{"Version": "2012-10-17", "Statement": [{{{body}}}]}}"#)
}

/// A valid key policy with one statement.
fn key_policy() -> String {
    format!(r#"{{"Version": "2012-10-17", "Statement": [{ALLOW_ROLE}]}}"#)
}

fn rejected(text: &str) -> PolicyError {
    match Policy::parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn invalid_json_names_line_and_column() {
    let text = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [,]\n}";
    match rejected(text) {
        PolicyError::InvalidJson {
            line,
            column,
            message,
        } => {
            assert_eq!(line, 3);
            assert_eq!(column, 17);
            assert!(!message.contains("at line"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let e = rejected(text);
    assert_eq!(e.path(), "");
    assert!(e.to_string().contains("line 3, column 17"), "{e}");

    // Trailing garbage and truncation are JSON errors too.
    assert!(matches!(
        rejected(&format!("{} x", key_policy())),
        PolicyError::InvalidJson { line: 1, .. }
    ));
    assert!(matches!(
        rejected(r#"{"Statement": ["#),
        PolicyError::InvalidJson { .. }
    ));
}

/// (description, policy text, expected error path)
type Row = (&'static str, String, &'static str);

fn check_rows(rows: Vec<Row>, kind: fn(&PolicyError) -> bool, kind_name: &str) {
    let mut failures = Vec::new();
    for (name, text, path) in rows {
        match Policy::parse(&text) {
            Ok(_) => failures.push(format!("{name}: accepted")),
            Err(e) if e.path() != path || !kind(&e) => failures.push(format!(
                "{name}: expected {kind_name} at `{path}`, got {e:?}"
            )),
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn unknown_operators() {
    let rows: Vec<Row> = vec![
        (
            "misspelt",
            with_condition(r#"{"StringEqualz": {"aws:SourceAccount": "111122223333"}}"#),
            "/Statement/0/Condition/StringEqualz",
        ),
        // Operator names are spelt exactly as documented.
        (
            "lower case",
            with_condition(r#"{"stringequals": {"aws:SourceAccount": "111122223333"}}"#),
            "/Statement/0/Condition/stringequals",
        ),
        (
            "unknown set prefix",
            with_condition(r#"{"ForSomeValues:StringEquals": {"kms:EncryptionContextKeys": "a"}}"#),
            "/Statement/0/Condition/ForSomeValues:StringEquals",
        ),
        (
            "set prefix on unknown operator",
            with_condition(r#"{"ForAnyValue:StringEqualz": {"kms:EncryptionContextKeys": "a"}}"#),
            "/Statement/0/Condition/ForAnyValue:StringEqualz",
        ),
        (
            "IfExists twice",
            with_condition(r#"{"StringEqualsIfExistsIfExists": {"aws:SourceAccount": "1"}}"#),
            "/Statement/0/Condition/StringEqualsIfExistsIfExists",
        ),
        (
            "bare IfExists",
            with_condition(r#"{"IfExists": {"aws:SourceAccount": "1"}}"#),
            "/Statement/0/Condition/IfExists",
        ),
        // JSON pointer escaping (RFC 6901): `/` is written `~1`.
        (
            "slash in operator",
            with_condition(r#"{"String/Equals": {"aws:SourceAccount": "1"}}"#),
            "/Statement/0/Condition/String~1Equals",
        ),
    ];
    check_rows(
        rows,
        |e| matches!(e, PolicyError::UnknownOperator { .. }),
        "UnknownOperator",
    );
    let e = rejected(&with_condition(
        r#"{"StringEqualz": {"aws:SourceAccount": "111122223333"}}"#,
    ));
    assert!(
        matches!(&e, PolicyError::UnknownOperator { operator, .. } if operator == "StringEqualz")
    );
    assert!(e.help().is_some());
    assert!(e.to_string().contains("StringEqualz"), "{e}");
}

#[test]
fn invalid_values() {
    let rows: Vec<Row> = vec![
        // AWS: "You cannot use ...IfExists with the Null operator" (the Null operator already
        // tests for presence).
        (
            "NullIfExists",
            with_condition(r#"{"NullIfExists": {"aws:SourceArn": "true"}}"#),
            "/Statement/0/Condition/NullIfExists",
        ),
        // AWS KMS: "kms:EncryptionContext:context-key ... is a single-valued condition key ...
        // Do not use a set operator with it"; KMS rejects the policy.
        (
            "ForAllValues on a single-valued encryption context key",
            with_condition(
                r#"{"ForAllValues:StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*"}}"#,
            ),
            "/Statement/0/Condition/ForAllValues:StringLike/kms:EncryptionContext:aws:cloudtrail:arn",
        ),
        (
            "ForAnyValue on a single-valued encryption context key, any case",
            with_condition(
                r#"{"ForAnyValue:StringEquals": {"KMS:ENCRYPTIONCONTEXT:aws:cloudtrail:arn": "x"}}"#,
            ),
            "/Statement/0/Condition/ForAnyValue:StringEquals/KMS:ENCRYPTIONCONTEXT:aws:cloudtrail:arn",
        ),
        (
            "operator block not an object",
            with_condition(r#"{"StringEquals": "aws:SourceAccount"}"#),
            "/Statement/0/Condition/StringEquals",
        ),
        (
            "operator block empty",
            with_condition(r#"{"StringEquals": {}}"#),
            "/Statement/0/Condition/StringEquals",
        ),
        (
            "Condition not an object",
            with_condition(r#"["StringEquals"]"#),
            "/Statement/0/Condition",
        ),
        (
            "empty value list",
            with_condition(r#"{"StringEquals": {"aws:SourceAccount": []}}"#),
            "/Statement/0/Condition/StringEquals/aws:SourceAccount",
        ),
        (
            "object value",
            with_condition(r#"{"StringEquals": {"aws:SourceAccount": {"a": 1}}}"#),
            "/Statement/0/Condition/StringEquals/aws:SourceAccount",
        ),
        (
            "null inside a value list",
            with_condition(r#"{"StringEquals": {"aws:SourceAccount": ["1", null]}}"#),
            "/Statement/0/Condition/StringEquals/aws:SourceAccount/1",
        ),
        (
            "not a number",
            with_condition(r#"{"NumericLessThan": {"aws:MultiFactorAuthAge": "soon"}}"#),
            "/Statement/0/Condition/NumericLessThan/aws:MultiFactorAuthAge",
        ),
        (
            "not a date",
            with_condition(r#"{"DateLessThan": {"aws:CurrentTime": "next tuesday"}}"#),
            "/Statement/0/Condition/DateLessThan/aws:CurrentTime",
        ),
        (
            "not a boolean",
            with_condition(r#"{"Bool": {"aws:SecureTransport": "yes"}}"#),
            "/Statement/0/Condition/Bool/aws:SecureTransport",
        ),
        (
            "Null not a boolean",
            with_condition(r#"{"Null": {"aws:SourceArn": "maybe"}}"#),
            "/Statement/0/Condition/Null/aws:SourceArn",
        ),
        (
            "not base64",
            with_condition(r#"{"BinaryEquals": {"aws:RequestTag/b": "***"}}"#),
            "/Statement/0/Condition/BinaryEquals/aws:RequestTag~1b",
        ),
        (
            "not a CIDR (second value)",
            with_condition(r#"{"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "10.0.0.0/33"]}}"#),
            "/Statement/0/Condition/IpAddress/aws:SourceIp/1",
        ),
        (
            "unterminated policy variable",
            with_condition(r#"{"StringEquals": {"aws:SourceAccount": "${aws:PrincipalAccount"}}"#),
            "/Statement/0/Condition/StringEquals/aws:SourceAccount",
        ),
        (
            "unquoted variable default",
            with_condition(r#"{"StringEquals": {"aws:SourceAccount": "${aws:username, x}"}}"#),
            "/Statement/0/Condition/StringEquals/aws:SourceAccount",
        ),
        (
            "Effect in the wrong case",
            with_statement(
                r#""Effect": "allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*""#,
            ),
            "/Statement/0/Effect",
        ),
        (
            "unknown Version",
            format!(
                r#"{{"Version": "2012-10-18", "Statement": [{ALLOW_ROLE}]}}"#
            ),
            "/Version",
        ),
        (
            "unknown top-level element",
            format!(r#"{{"Version": "2012-10-17", "Statements": [{ALLOW_ROLE}]}}"#),
            "/Statements",
        ),
        (
            "unknown statement element",
            with_statement(
                r#""Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*", "Conditions": {}"#,
            ),
            "/Statement/0/Conditions",
        ),
        (
            "Principal and NotPrincipal",
            with_statement(
                r#""Effect": "Allow", "Principal": "*", "NotPrincipal": {"AWS": "111122223333"}, "Action": "kms:Decrypt", "Resource": "*""#,
            ),
            "/Statement/0",
        ),
        (
            "Action and NotAction",
            with_statement(
                r#""Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "NotAction": "kms:Encrypt", "Resource": "*""#,
            ),
            "/Statement/0",
        ),
        (
            "short account id",
            with_statement(
                r#""Effect": "Allow", "Principal": {"AWS": "11112222333"}, "Action": "kms:Decrypt", "Resource": "*""#,
            ),
            "/Statement/0/Principal/AWS",
        ),
        (
            "bad principal in a list",
            with_statement(
                r#""Effect": "Allow", "Principal": {"AWS": ["111122223333", "arn:aws:s3:::bucket"]}, "Action": "kms:Decrypt", "Resource": "*""#,
            ),
            "/Statement/0/Principal/AWS/1",
        ),
        (
            "unknown principal type",
            with_statement(
                r#""Effect": "Allow", "Principal": {"Services": "cloudtrail.amazonaws.com"}, "Action": "kms:Decrypt", "Resource": "*""#,
            ),
            "/Statement/0/Principal/Services",
        ),
        (
            "Principal a bare account id",
            with_statement(
                r#""Effect": "Allow", "Principal": "111122223333", "Action": "kms:Decrypt", "Resource": "*""#,
            ),
            "/Statement/0/Principal",
        ),
        (
            "action without service",
            with_statement(
                r#""Effect": "Allow", "Principal": "*", "Action": ["kms:Encrypt", "Decrypt"], "Resource": "*""#,
            ),
            "/Statement/0/Action/1",
        ),
        (
            "empty action list",
            with_statement(r#""Effect": "Allow", "Principal": "*", "Action": [], "Resource": "*""#),
            "/Statement/0/Action",
        ),
        (
            "Statement a string",
            r#"{"Version": "2012-10-17", "Statement": "Allow"}"#.to_string(),
            "/Statement",
        ),
        (
            "statement not an object",
            format!(r#"{{"Version": "2012-10-17", "Statement": [{ALLOW_ROLE}, 7]}}"#),
            "/Statement/1",
        ),
        (
            "Sid not a string",
            with_statement(
                r#""Sid": 1, "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*""#,
            ),
            "/Statement/0/Sid",
        ),
        ("policy a JSON array", "[]".to_string(), ""),
    ];
    check_rows(
        rows,
        |e| matches!(e, PolicyError::InvalidValue { .. }),
        "InvalidValue",
    );
}

#[test]
fn set_operators_on_multivalued_keys_are_accepted() {
    for condition in [
        r#"{"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": "aws:cloudtrail:arn"}}"#,
        r#"{"ForAnyValue:StringLike": {"kms:EncryptionContextKeys": "aws:*"}}"#,
        r#"{"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*"}}"#,
        r#"{"StringEqualsIfExists": {"kms:EncryptionContext:aws:cloudtrail:arn": "x"}}"#,
        r#"{"Null": {"kms:EncryptionContext:aws:cloudtrail:arn": "false"}}"#,
    ] {
        let p = Policy::parse(&with_condition(condition)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.statements[0].conditions.len(), 1);
    }
}

#[test]
fn missing_elements() {
    let rows: Vec<(&str, String, &str, &str)> = vec![
        (
            "Effect",
            with_statement(r#""Principal": "*", "Action": "kms:Decrypt", "Resource": "*""#),
            "/Statement/0",
            "Effect",
        ),
        (
            "Principal",
            with_statement(r#""Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*""#),
            "/Statement/0",
            "Principal",
        ),
        (
            "Action",
            with_statement(r#""Effect": "Allow", "Principal": "*", "Resource": "*""#),
            "/Statement/0",
            "Action",
        ),
        (
            "Resource",
            with_statement(r#""Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt""#),
            "/Statement/0",
            "Resource",
        ),
        (
            "Statement",
            r#"{"Version": "2012-10-17"}"#.to_string(),
            "",
            "Statement",
        ),
        (
            "Principal in the second statement",
            format!(
                r#"{{"Version": "2012-10-17", "Statement": [{ALLOW_ROLE}, {{"Effect": "Deny", "Action": "kms:*", "Resource": "*"}}]}}"#
            ),
            "/Statement/1",
            "Principal",
        ),
    ];
    for (name, text, path, element) in rows {
        match rejected(&text) {
            PolicyError::MissingElement {
                path: p,
                element: e,
            } => {
                assert_eq!((p.as_str(), e), (path, element), "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn identity_policies_have_no_principal() {
    let identity = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}}"#;
    let p = Policy::parse_identity(identity).unwrap();
    assert!(p.statements[0].principal.is_none());
    // The same document is not a key policy.
    assert!(matches!(
        rejected(identity),
        PolicyError::MissingElement {
            element: "Principal",
            ..
        }
    ));
    // And a key policy statement is not an identity policy statement.
    let e = Policy::parse_identity(&key_policy()).unwrap_err();
    assert_eq!(e.path(), "/Statement/0/Principal");
}

#[test]
fn size_limit() {
    // AWS KMS: "The maximum length of a key policy is 32 KB (32,768 bytes)."
    assert_eq!(MAX_POLICY_BYTES, 32_768);
    let base = key_policy();
    let padded = |len: usize| {
        let mut t = base.clone();
        t.insert_str(1, &" ".repeat(len - base.len()));
        assert_eq!(t.len(), len);
        t
    };
    let at_limit = Policy::parse(&padded(MAX_POLICY_BYTES)).unwrap();
    assert_eq!(at_limit.size, MAX_POLICY_BYTES);
    match rejected(&padded(MAX_POLICY_BYTES + 1)) {
        PolicyError::TooLarge { bytes } => assert_eq!(bytes, MAX_POLICY_BYTES + 1),
        other => panic!("{other:?}"),
    }
    let e = rejected(&padded(40_000));
    assert_eq!(e.path(), "");
    assert!(e.help().is_some());

    // Many statements: realistic oversize policy.
    let statements: Vec<String> = (0..300)
        .map(|i| {
            format!(
                r#"{{"Sid": "S{i}", "Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::111122223333:role/Role{i}"}}, "Action": "kms:Decrypt", "Resource": "*"}}"#
            )
        })
        .collect();
    let big = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{}]}}"#,
        statements.join(",")
    );
    assert!(big.len() > MAX_POLICY_BYTES);
    assert!(matches!(rejected(&big), PolicyError::TooLarge { .. }));

    // get-key-policy output: the limit applies to the policy itself, not to the escaped wrapper.
    let inner = padded(MAX_POLICY_BYTES - 10);
    let wrapped = serde_json::json!({"Policy": inner, "PolicyName": "default"}).to_string();
    assert!(wrapped.len() > MAX_POLICY_BYTES, "{}", wrapped.len());
    assert!(Policy::parse(&wrapped).is_ok());
    let wrapped_big =
        serde_json::json!({"Policy": padded(MAX_POLICY_BYTES + 1), "PolicyName": "default"})
            .to_string();
    assert!(matches!(
        rejected(&wrapped_big),
        PolicyError::TooLarge { .. }
    ));
}

#[test]
fn duplicate_sid() {
    let s = |sid: &str| {
        format!(
            r#"{{"Sid": "{sid}", "Effect": "Allow", "Principal": {{"AWS": "111122223333"}}, "Action": "kms:*", "Resource": "*"}}"#
        )
    };
    let text = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{}, {}, {}]}}"#,
        s("Enable IAM policies"),
        s("Other"),
        s("Enable IAM policies")
    );
    match rejected(&text) {
        PolicyError::DuplicateSid { path, sid } => {
            assert_eq!(path, "/Statement/2/Sid");
            assert_eq!(sid, "Enable IAM policies");
        }
        other => panic!("{other:?}"),
    }
    // Sids are compared exactly; empty Sids may repeat.
    let ok = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{}, {}, {}, {}]}}"#,
        s("a"),
        s("A"),
        s(""),
        s("")
    );
    assert_eq!(Policy::parse(&ok).unwrap().statements.len(), 4);
}

#[test]
fn statement_as_object_is_accepted() {
    let p = Policy::parse(&format!(
        r#"{{"Version": "2012-10-17", "Id": "key-default-1", "Statement": {ALLOW_ROLE}}}"#
    ))
    .unwrap();
    assert_eq!(p.statements.len(), 1);
    assert_eq!(p.statements[0].path(), "/Statement");
    assert_eq!(p.statements[0].index, 0);
    assert_eq!(p.statements[0].effect, Effect::Allow);
    assert_eq!(p.id.as_deref(), Some("key-default-1"));
    assert_eq!(p.version, PolicyVersion::V2012_10_17);
    // Errors in it are reported under /Statement.
    let e = rejected(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringEqualz": {"a": "b"}}}}"#,
    );
    assert_eq!(e.path(), "/Statement/Condition/StringEqualz");
}

#[test]
fn versions() {
    let v = |version: &str| {
        Policy::parse(&format!(r#"{{{version} "Statement": [{ALLOW_ROLE}]}}"#))
            .unwrap()
            .version
    };
    assert_eq!(v(r#""Version": "2012-10-17","#), PolicyVersion::V2012_10_17);
    assert_eq!(v(r#""Version": "2008-10-17","#), PolicyVersion::V2008_10_17);
    assert_eq!(v(""), PolicyVersion::Absent);
    assert!(PolicyVersion::V2012_10_17.supports_variables());
    assert!(!PolicyVersion::V2008_10_17.supports_variables());
    assert!(!PolicyVersion::Absent.supports_variables());
}

#[test]
fn get_key_policy_output_is_accepted() {
    // `aws kms get-key-policy --key-id k` prints {"Policy": "<policy as a JSON string>",
    // "PolicyName": "default"}.
    let policy = format!(
        r#"{{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {ALLOW_ROLE} ]
}}"#
    );
    let output = serde_json::json!({"Policy": policy, "PolicyName": "default"}).to_string();
    let p = Policy::parse(&output).unwrap();
    assert_eq!(p.id.as_deref(), Some("key-default-1"));
    assert_eq!(p.statements.len(), 1);
    assert_eq!(p.size, policy.len());
    // The document kept is the policy, not the wrapper.
    assert!(p.document.get("Statement").is_some());
    assert!(p.document.get("PolicyName").is_none());

    // Errors inside the wrapped policy are reported against the policy.
    let bad = serde_json::json!({"Policy": with_condition(r#"{"StringEqualz": {"a": "b"}}"#), "PolicyName": "default"})
        .to_string();
    assert_eq!(rejected(&bad).path(), "/Statement/0/Condition/StringEqualz");
    let bad_json =
        serde_json::json!({"Policy": "{\n\"Statement\": [", "PolicyName": "default"}).to_string();
    assert!(matches!(
        rejected(&bad_json),
        PolicyError::InvalidJson { line: 2, .. }
    ));
    // A wrapper without a string Policy is not a policy.
    assert!(Policy::parse(r#"{"Policy": 5, "PolicyName": "default"}"#).is_err());
}

#[test]
fn accepted_shapes() {
    let ok = [
        // Principal forms.
        with_statement(
            r#""Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*""#,
        ),
        with_statement(
            r#""Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*", "Resource": "*""#,
        ),
        with_statement(
            r#""Effect": "Allow", "Principal": {"AWS": ["111122223333", "arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:role/path/R", "arn:aws:sts::111122223333:assumed-role/R/s", "arn:aws-us-gov:iam::111122223333:user/u"]}, "Action": "kms:Decrypt", "Resource": "*""#,
        ),
        with_statement(
            r#""Effect": "Allow", "Principal": {"Service": ["cloudtrail.amazonaws.com", "config.amazonaws.com"]}, "Action": ["kms:GenerateDataKey*", "kms:DescribeKey"], "Resource": "*""#,
        ),
        with_statement(
            r#""Effect": "Deny", "NotPrincipal": {"AWS": "111122223333"}, "NotAction": "kms:Decrypt", "NotResource": "arn:aws:kms:*:111122223333:key/*""#,
        ),
        // Condition values as JSON numbers and booleans.
        with_condition(
            r#"{"NumericLessThan": {"aws:MultiFactorAuthAge": 3600}, "Bool": {"aws:SecureTransport": true}, "DateGreaterThan": {"aws:EpochTime": 1700000000}}"#,
        ),
        // Every operator family with IfExists and a set prefix.
        with_condition(
            r#"{"ForAnyValue:StringLikeIfExists": {"kms:EncryptionContextKeys": "aws:*"}, "ArnNotLikeIfExists": {"aws:SourceArn": "arn:aws:cloudtrail:*:111122223333:trail/*"}, "NotIpAddressIfExists": {"aws:SourceIp": "2001:db8::/32"}, "BinaryEqualsIfExists": {"aws:RequestTag/b": "QmluYXJ5VmFsdWU="}}"#,
        ),
    ];
    for text in ok {
        Policy::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    }
    // A condition records its path and its lowercased key.
    let p = Policy::parse(&with_condition(
        r#"{"StringEquals": {"AWS:SourceAccount": ["1", 2]}}"#,
    ))
    .unwrap();
    let c = &p.statements[0].conditions[0];
    assert_eq!(c.key(), "aws:sourceaccount");
    assert_eq!(c.key_name(), "AWS:SourceAccount");
    assert_eq!(c.raw_values().collect::<Vec<_>>(), ["1", "2"]);
    assert_eq!(
        c.path(),
        "/Statement/0/Condition/StringEquals/AWS:SourceAccount"
    );
}

#[test]
fn garbage_never_panics() {
    let deep_array = "[".repeat(10_000);
    let deep_object = r#"{"a":"#.repeat(10_000);
    let nested_wrapper = {
        let mut t = key_policy();
        for _ in 0..8 {
            t = serde_json::json!({ "Policy": t }).to_string();
        }
        t
    };
    let inputs: Vec<String> = vec![
        String::new(),
        " ".into(),
        "null".into(),
        "true".into(),
        "0".into(),
        "\"policy\"".into(),
        "[]".into(),
        "{}".into(),
        "{\"Statement\": null}".into(),
        "{\"Statement\": []}".into(),
        "{\"Statement\": [[]]}".into(),
        "{\"Statement\": [{}]}".into(),
        "{\"Policy\": \"\"}".into(),
        "{\"Policy\": \"{\\\"Policy\\\": \\\"\\\"}\"}".into(),
        "{\"Version\": 2012, \"Statement\": []}".into(),
        "\u{0}\u{1}\u{2}".into(),
        "\u{feff}{}".into(),
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"arn:\"}, \"Action\": \"kms:*\", \"Resource\": \"*\"}}".into(),
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"arn:aws:iam::111122223333:\"}, \"Action\": \"kms:*\", \"Resource\": \"*\"}}".into(),
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": {}, \"Action\": \":\", \"Resource\": \"*\"}}".into(),
        with_condition(r#"{"StringEquals": {"": ""}}"#),
        with_condition(r#"{"ForAnyValue:": {"a": "b"}}"#),
        with_condition(r#"{"ArnLike": {"aws:SourceArn": "arn:"}}"#),
        with_condition(r#"{"StringLike": {"aws:SourceArn": "${"}}"#),
        with_condition(r#"{"StringLike": {"aws:SourceArn": "${}"}}"#),
        with_condition(r#"{"StringLike": {"aws:SourceArn": "${,'x'}"}}"#),
        with_condition(r#"{"StringLike": {"aws:SourceArn": "${a, '}"}}"#),
        with_condition(r#"{"NumericEquals": {"k": "1e400"}}"#),
        with_condition(r#"{"NumericEquals": {"k": "NaN"}}"#),
        with_condition(r#"{"DateEquals": {"k": "99999999999999999999999"}}"#),
        with_condition(r#"{"DateEquals": {"k": "9999999999999999"}}"#),
        with_condition(r#"{"IpAddress": {"k": "1.2.3.4/"}}"#),
        with_condition(r#"{"IpAddress": {"k": "::/999"}}"#),
        with_condition(r#"{"BinaryEquals": {"k": "="}}"#),
        with_condition("{\"StringEquals\": {\"\u{10ffff}\": \"\u{10ffff}\"}}"),
        deep_array,
        deep_object,
        nested_wrapper,
    ];
    for input in &inputs {
        let a = std::panic::catch_unwind(|| Policy::parse(input));
        let b = std::panic::catch_unwind(|| Policy::parse_identity(input));
        assert!(a.is_ok() && b.is_ok(), "panicked on {input:?}");
    }
    // Every prefix of a valid policy is handled.
    let full = with_condition(
        r#"{"ForAnyValue:StringLike": {"kms:EncryptionContextKeys": "aws:*"}, "ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:${aws:PrincipalAccount}:trail/*"}}"#,
    );
    for end in 0..full.len() {
        if let Some(prefix) = full.get(..end) {
            assert!(Policy::parse(prefix).is_err(), "prefix {end} accepted");
        }
    }
}
