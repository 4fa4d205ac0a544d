//! Properties of the parser and the evaluation engine, checked on generated inputs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use serde_json::{json, Value};
use trailkey::eval::{evaluate, Context, Outcome, Request, RequestPrincipal};
use trailkey::policy::Policy;

const ROLE: &str = "arn:aws:iam::111122223333:role/R";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/k";

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

fn principal() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("*")),
        Just(json!({"AWS": "*"})),
        Just(json!({"AWS": "111122223333"})),
        Just(json!({"AWS": "arn:aws:iam::111122223333:root"})),
        Just(json!({"AWS": ROLE})),
        Just(json!({"AWS": ["arn:aws:iam::444455556666:role/X", "444455556666"]})),
        Just(json!({"Service": "cloudtrail.amazonaws.com"})),
        Just(json!({"Service": ["cloudtrail.amazonaws.com", "config.amazonaws.com"]})),
    ]
}

fn action() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("kms:*")),
        Just(json!("*")),
        Just(json!("kms:Decrypt")),
        Just(json!(["kms:Encrypt", "kms:GenerateDataKey*"])),
        Just(json!("kms:DescribeKey")),
    ]
}

fn resource() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => Just(json!("*")),
        1 => Just(json!(KEY)),
        1 => Just(json!("arn:aws:kms:*:${aws:PrincipalAccount}:key/*")),
        1 => Just(json!("arn:aws:kms:us-east-1:111122223333:key/other")),
    ]
}

/// Valid `Condition` elements over the keys the generated requests carry.
fn condition() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"StringEquals": {"aws:SourceAccount": "111122223333"}})),
        Just(json!({"StringNotEquals": {"aws:SourceAccount": ["111122223333", "444455556666"]}})),
        Just(json!({"StringEqualsIfExists": {"aws:SourceAccount": "${aws:PrincipalAccount}"}})),
        Just(json!({"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:111122223333:trail/*"}})),
        Just(
            json!({"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111122223333:trail/*"}})
        ),
        Just(
            json!({"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "aws:cloudtrail:arn"}})
        ),
        Just(json!({"ForAllValues:StringLike": {"kms:EncryptionContextKeys": "aws:*"}})),
        Just(json!({"Null": {"aws:SourceArn": "false"}})),
        Just(json!({"Bool": {"aws:SecureTransport": "false"}})),
        Just(json!({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})),
        Just(json!({"NumericLessThanIfExists": {"aws:MultiFactorAuthAge": 3600}})),
    ]
}

fn statement() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just("Allow"), Just("Deny")],
        any::<bool>(),
        principal(),
        action(),
        resource(),
        proptest::option::of(condition()),
    )
        .prop_map(
            |(effect, not_principal, principal, action, resource, condition)| {
                let mut s = serde_json::Map::new();
                s.insert("Effect".into(), json!(effect));
                // NotPrincipal "*" matches nobody; keep it to objects.
                let key = if not_principal && principal.is_object() {
                    "NotPrincipal"
                } else {
                    "Principal"
                };
                s.insert(key.into(), principal);
                s.insert("Action".into(), action);
                s.insert("Resource".into(), resource);
                if let Some(c) = condition {
                    s.insert("Condition".into(), c);
                }
                Value::Object(s)
            },
        )
}

fn policy_text(statements: &[Value]) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn request_principal() -> impl Strategy<Value = RequestPrincipal> {
    prop_oneof![
        Just(ROLE),
        Just("arn:aws:sts::111122223333:assumed-role/R/s"),
        Just("arn:aws:iam::111122223333:role/Other"),
        Just("arn:aws:iam::111122223333:root"),
        Just("arn:aws:iam::444455556666:role/X"),
        Just("cloudtrail.amazonaws.com"),
        Just("config.amazonaws.com"),
        Just("anonymous"),
    ]
    .prop_map(|p| RequestPrincipal::parse(p).unwrap())
}

fn context() -> impl Strategy<Value = Context> {
    (
        proptest::option::of(prop_oneof![Just("111122223333"), Just("444455556666")]),
        proptest::option::of(prop_oneof![
            Just("arn:aws:cloudtrail:us-east-1:111122223333:trail/t"),
            Just("arn:aws:cloudtrail:us-east-1:444455556666:trail/t"),
        ]),
        proptest::option::of(proptest::collection::vec(
            prop_oneof![
                Just("aws:cloudtrail:arn"),
                Just("aws:s3:arn"),
                Just("purpose")
            ],
            0..3,
        )),
        proptest::option::of(prop_oneof![Just("true"), Just("false")]),
        proptest::option::of(prop_oneof![Just("203.0.113.5"), Just("198.51.100.1")]),
        proptest::option::of(0u32..10_000),
        proptest::option::of(prop_oneof![Just("111122223333"), Just("444455556666")]),
    )
        .prop_map(|(account, arn, keys, secure, ip, mfa, principal_account)| {
            let mut ctx = Context::new();
            if let Some(a) = account {
                ctx.set("aws:SourceAccount", a);
            }
            if let Some(a) = arn {
                ctx.set("aws:SourceArn", a);
                ctx.set("kms:EncryptionContext:aws:cloudtrail:arn", a);
            }
            if let Some(k) = keys {
                ctx.set_multi(
                    "kms:EncryptionContextKeys",
                    k.into_iter().map(String::from).collect(),
                );
            }
            if let Some(s) = secure {
                ctx.set("aws:SecureTransport", s);
            }
            if let Some(i) = ip {
                ctx.set("aws:SourceIp", i);
            }
            if let Some(m) = mfa {
                ctx.set("aws:MultiFactorAuthAge", m.to_string());
            }
            if let Some(p) = principal_account {
                ctx.set("aws:PrincipalAccount", p);
            }
            ctx
        })
}

fn request() -> impl Strategy<Value = Request> {
    (
        request_principal(),
        prop_oneof![
            Just("kms:Decrypt"),
            Just("kms:GenerateDataKey"),
            Just("kms:DescribeKey"),
            Just("kms:Encrypt"),
        ],
        context(),
    )
        .prop_map(|(principal, action, context)| Request {
            principal,
            action: action.to_string(),
            resource: KEY.to_string(),
            context,
        })
}

/// JSON-ish text: mostly the characters policies are made of.
fn jsonish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[{}\\[\\]\":, a-zA-Z0-9*?$/\\\\.-]{0,200}",
        any::<String>(),
        // Mutations of a real policy: truncate and splice.
        (0usize..400, "[{}\\[\\]\":,$*]{0,5}").prop_map(|(at, insert)| {
            let base = policy_text(&[json!({
                "Sid": "S", "Effect": "Allow", "Principal": {"AWS": ROLE},
                "Action": "kms:*", "Resource": "*",
                "Condition": {"StringLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:${aws:PrincipalAccount}:trail/*"}}
            })]);
            let at = at.min(base.len());
            let (a, b) = base.split_at(at);
            format!("{a}{insert}{b}")
        }),
    ]
}

/// Arbitrary JSON values shaped loosely like policies: right element names, any values.
fn policy_shaped() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        prop_oneof![
            Just("*"),
            Just("Allow"),
            Just("Deny"),
            Just("2012-10-17"),
            Just("2008-10-17"),
            Just("111122223333"),
            Just(ROLE),
            Just("arn:"),
            Just("arn:aws:cloudtrail:*:111122223333:trail/*"),
            Just("kms:Decrypt"),
            Just("kms:*"),
            Just("${aws:PrincipalAccount}"),
            Just("${*}"),
            Just("${"),
            Just("10.0.0.0/8"),
            Just("2020-01-01T00:00:00Z"),
            Just("QmluYXJ5"),
            Just("true"),
            Just(""),
        ]
        .prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::from),
    ];
    let names = prop_oneof![
        Just("Version"),
        Just("Id"),
        Just("Statement"),
        Just("Sid"),
        Just("Effect"),
        Just("Principal"),
        Just("NotPrincipal"),
        Just("AWS"),
        Just("Service"),
        Just("Action"),
        Just("NotAction"),
        Just("Resource"),
        Just("NotResource"),
        Just("Condition"),
        Just("StringEquals"),
        Just("StringLikeIfExists"),
        Just("ForAnyValue:StringEquals"),
        Just("ForAllValues:ArnLike"),
        Just("NumericLessThan"),
        Just("DateGreaterThan"),
        Just("Bool"),
        Just("BinaryEquals"),
        Just("IpAddress"),
        Just("Null"),
        Just("NullIfExists"),
        Just("aws:SourceAccount"),
        Just("kms:EncryptionContext:aws:cloudtrail:arn"),
        Just("kms:EncryptionContextKeys"),
        Just("Policy"),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::vec((names.clone(), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parser_never_panics_on_text(text in jsonish()) {
        let _ = Policy::parse(&text);
        let _ = Policy::parse_identity(&text);
    }

    #[test]
    fn parser_and_engine_never_panic_on_structures(doc in policy_shaped(), req in request()) {
        let text = doc.to_string();
        if let Ok(p) = Policy::parse(&text) {
            let _ = evaluate(&p, &req, None);
            let _ = evaluate(&p, &req, Some(&[]));
        }
        if let Ok(p) = Policy::parse_identity(&text) {
            let _ = evaluate(&p, &req, None);
        }
        // Also with the generated value wrapped in a statement, so deeper elements get parsed.
        let wrapped = json!({"Version": "2012-10-17", "Statement": [doc]}).to_string();
        if let Ok(p) = Policy::parse(&wrapped) {
            let _ = evaluate(&p, &req, None);
        }
    }

    #[test]
    fn generated_policies_parse(statements in proptest::collection::vec(statement(), 1..6)) {
        let text = policy_text(&statements);
        let p = Policy::parse(&text);
        prop_assert!(p.is_ok(), "{:?}\n{}", p.err(), text);
        prop_assert_eq!(p.unwrap().statements.len(), statements.len());
    }

    /// AWS: "An explicit deny in any of these policies overrides the allow."
    #[test]
    fn explicit_deny_dominates(
        statements in proptest::collection::vec(statement(), 0..6),
        req in request(),
        at in 0usize..6,
        identity in proptest::option::of(Just(())),
    ) {
        let deny = json!({"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"});
        let mut with_deny = statements.clone();
        with_deny.insert(at.min(statements.len()), deny);
        let p = Policy::parse(&policy_text(&with_deny)).unwrap();
        let id = Policy::parse_identity(
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}"#,
        ).unwrap();
        let ids = identity.map(|()| std::slice::from_ref(&id));
        let d = evaluate(&p, &req, ids);
        prop_assert_eq!(d.decision, Outcome::ExplicitDeny);
        prop_assert!(!d.is_allowed());
        prop_assert!(!d.statements.is_empty());
    }

    /// Evaluation is order-independent: AWS evaluates all statements, then combines.
    #[test]
    fn statement_order_does_not_matter(
        (statements, shuffled) in proptest::collection::vec(statement(), 1..7)
            .prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
        req in request(),
    ) {
        let a = Policy::parse(&policy_text(&statements)).unwrap();
        let b = Policy::parse(&policy_text(&shuffled)).unwrap();
        for ids in [None, Some(&[][..])] {
            let da = evaluate(&a, &req, ids);
            let db = evaluate(&b, &req, ids);
            prop_assert_eq!(da.decision, db.decision);
            prop_assert_eq!(da.via, db.via);
            prop_assert_eq!(da.requires_identity_policy, db.requires_identity_policy);
        }
    }

    /// AWS: "...IfExists ... If the key is present, it's evaluated based on the operator."
    #[test]
    fn if_exists_agrees_when_key_present(
        (operator, policy_value, request_value) in operator_case(),
        set in proptest::option::of(prop_oneof![Just("ForAnyValue:"), Just("ForAllValues:")]),
    ) {
        let set = set.unwrap_or("");
        let plain = single_condition(&format!("{set}{operator}"), "aws:PrincipalTag/x", &policy_value);
        let if_exists = single_condition(&format!("{set}{operator}IfExists"), "aws:PrincipalTag/x", &policy_value);
        let mut ctx = Context::new();
        ctx.set("aws:PrincipalTag/x", request_value);
        prop_assert_eq!(allowed(&plain, &ctx), allowed(&if_exists, &ctx));
    }

    /// For a single-valued key that is present, `StringNotEquals` is true exactly when
    /// `StringEquals` is false (and likewise for the other negated string operators).
    #[test]
    fn string_not_equals_negates_string_equals(
        values in proptest::collection::vec("[abAB*?]{0,3}", 1..4),
        request_value in "[abAB*?]{0,3}",
        pair in prop_oneof![
            Just(("StringEquals", "StringNotEquals")),
            Just(("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase")),
            Just(("StringLike", "StringNotLike")),
        ],
    ) {
        let (positive, negated) = pair;
        let value = json!(values);
        let mut ctx = Context::new();
        ctx.set("aws:PrincipalTag/x", request_value);
        let p = allowed(&single_condition(positive, "aws:PrincipalTag/x", &value), &ctx);
        let n = allowed(&single_condition(negated, "aws:PrincipalTag/x", &value), &ctx);
        prop_assert_ne!(p, n);
    }

    /// Condition key names are case-insensitive.
    #[test]
    fn key_name_case_does_not_matter(
        upper in proptest::collection::vec(any::<bool>(), 18),
        request_value in prop_oneof![Just("111122223333"), Just("444455556666")],
    ) {
        let key: String = "aws:sourceaccount!"
            .chars()
            .zip(upper)
            .filter(|(c, _)| *c != '!')
            .map(|(c, u)| if u { c.to_ascii_uppercase() } else { c })
            .collect();
        let mut ctx = Context::new();
        ctx.set("aws:SourceAccount", request_value);
        let canonical = allowed(&single_condition("StringEquals", "aws:SourceAccount", &json!("111122223333")), &ctx);
        let varied = allowed(&single_condition("StringEquals", &key, &json!("111122223333")), &ctx);
        prop_assert_eq!(canonical, varied);
        prop_assert_eq!(canonical, request_value == "111122223333");
    }
}

/// An operator with a policy value and a request value of the kind it compares.
fn operator_case() -> impl Strategy<Value = (&'static str, Value, String)> {
    let strings = "[ab*?]{0,3}";
    prop_oneof![
        (
            prop_oneof![
                Just("StringEquals"),
                Just("StringNotEquals"),
                Just("StringEqualsIgnoreCase"),
                Just("StringNotEqualsIgnoreCase"),
                Just("StringLike"),
                Just("StringNotLike"),
            ],
            proptest::collection::vec(strings, 1..3),
            "[abAB]{0,3}",
        )
            .prop_map(|(o, v, r)| (o, json!(v), r)),
        (
            prop_oneof![
                Just("NumericEquals"),
                Just("NumericNotEquals"),
                Just("NumericLessThan"),
                Just("NumericLessThanEquals"),
                Just("NumericGreaterThan"),
                Just("NumericGreaterThanEquals"),
            ],
            -5i32..5,
            -5i32..5,
        )
            .prop_map(|(o, v, r)| (o, json!(v), r.to_string())),
        (
            prop_oneof![
                Just("DateEquals"),
                Just("DateNotEquals"),
                Just("DateLessThan"),
                Just("DateLessThanEquals"),
                Just("DateGreaterThan"),
                Just("DateGreaterThanEquals"),
            ],
            1_700_000_000i64..1_700_000_005,
            1_700_000_000i64..1_700_000_005,
        )
            .prop_map(|(o, v, r)| (o, json!(v.to_string()), r.to_string())),
        (any::<bool>(), any::<bool>()).prop_map(|(v, r)| ("Bool", json!(v), r.to_string())),
        (
            prop_oneof![Just("IpAddress"), Just("NotIpAddress")],
            prop_oneof![Just("10.0.0.0/8"), Just("2001:db8::/32"), Just("10.1.2.3")],
            prop_oneof![Just("10.1.2.3"), Just("11.0.0.1"), Just("2001:db8::1")],
        )
            .prop_map(|(o, v, r)| (o, json!(v), r.to_string())),
        (
            prop_oneof![
                Just("ArnEquals"),
                Just("ArnLike"),
                Just("ArnNotEquals"),
                Just("ArnNotLike"),
            ],
            prop_oneof![
                Just("arn:aws:cloudtrail:*:111122223333:trail/*"),
                Just("arn:aws:cloudtrail:us-east-1:111122223333:trail/a"),
                Just("*"),
            ],
            prop_oneof![
                Just("arn:aws:cloudtrail:us-east-1:111122223333:trail/a"),
                Just("arn:aws:cloudtrail:us-east-1:444455556666:trail/a"),
                Just("trail/a"),
            ],
        )
            .prop_map(|(o, v, r)| (o, json!(v), r.to_string())),
        (
            Just("BinaryEquals"),
            prop_oneof![Just("QmluYXJ5"), Just("T3RoZXI=")],
            prop_oneof![Just("QmluYXJ5"), Just("T3RoZXI="), Just("junk")],
        )
            .prop_map(|(o, v, r)| (o, json!(v), r.to_string())),
    ]
}

/// A key policy granting ROLE kms:Decrypt under one condition.
fn single_condition(operator: &str, key: &str, value: &Value) -> Policy {
    let text = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": ROLE},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {operator: {key: value}},
        }],
    })
    .to_string();
    Policy::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn allowed(policy: &Policy, ctx: &Context) -> bool {
    let request = Request {
        principal: RequestPrincipal::parse(ROLE).unwrap(),
        action: "kms:Decrypt".into(),
        resource: KEY.into(),
        context: ctx.clone(),
    };
    evaluate(policy, &request, None).is_allowed()
}
