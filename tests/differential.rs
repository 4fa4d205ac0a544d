//! Differential tests: `trailkey::eval::evaluate` against a deliberately simple reference
//! evaluator, and the wildcard matchers against regexes built from the same pattern.
//!
//! The reference is written from the AWS documentation, not from `src/eval`: it works on the
//! generator's own model of a policy (never on trailkey's parsed `Policy`), matches wildcards
//! with `regex`, and evaluates every statement in full before combining. It is slow and
//! obviously correct; every disagreement is a bug in one of the two, kept below as an explicit
//! case once decided.
//!
//! Quotations are from the IAM User Guide ("Policy evaluation logic", "IAM JSON policy
//! elements: Action / Resource / Principal / NotPrincipal / Condition operators") and the AWS
//! KMS Developer Guide ("Key policies in AWS KMS", "Allowing users in other accounts to use a
//! KMS key").
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use regex::Regex;
use serde_json::{json, Value};
use trailkey::eval::{evaluate, Context, Outcome, Request, RequestPrincipal, Via};
use trailkey::policy::{ArnPattern, Pattern, Policy};

const ACCOUNT: &str = "111122223333";
const OTHER_ACCOUNT: &str = "444455556666";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/k";

/// `cases` per property; `PROPTEST_CASES` overrides it for a deeper run.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The model the generators produce and the reference reads
// ---------------------------------------------------------------------------------------------

/// One value of a `Principal` element.
#[derive(Debug, Clone, PartialEq)]
enum Who {
    /// `"*"`.
    Everyone,
    /// `{"AWS": "<12 digits>"}` or `{"AWS": "arn:aws:iam::<account>:root"}`.
    Account { account: &'static str, as_arn: bool },
    /// `{"AWS": "arn:aws:iam::<account>:role/<name>"}`.
    Role {
        account: &'static str,
        name: &'static str,
    },
    /// `{"Service": "<name>"}`.
    Service(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    ArnEquals,
    ArnLike,
    ArnNotLike,
    Bool,
    Null,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::StringEquals => "StringEquals",
            Op::StringNotEquals => "StringNotEquals",
            Op::StringEqualsIgnoreCase => "StringEqualsIgnoreCase",
            Op::StringLike => "StringLike",
            Op::StringNotLike => "StringNotLike",
            Op::ArnEquals => "ArnEquals",
            Op::ArnLike => "ArnLike",
            Op::ArnNotLike => "ArnNotLike",
            Op::Bool => "Bool",
            Op::Null => "Null",
        }
    }

    fn negated(self) -> bool {
        matches!(
            self,
            Op::StringNotEquals | Op::StringNotLike | Op::ArnNotLike
        )
    }
}

#[derive(Debug, Clone)]
struct Cond {
    op: Op,
    if_exists: bool,
    key: &'static str,
    values: Vec<String>,
}

#[derive(Debug, Clone)]
struct Stmt {
    allow: bool,
    /// `None` in identity policies.
    principal: Option<(bool, Vec<Who>)>,
    not_action: bool,
    actions: Vec<String>,
    not_resource: bool,
    resources: Vec<String>,
    conditions: Vec<Cond>,
}

/// A request: who, which action on `KEY`, and single-valued context keys.
#[derive(Debug, Clone)]
struct Req {
    principal: &'static str,
    action: &'static str,
    context: Vec<(&'static str, String)>,
}

fn who_json(w: &Who) -> (&'static str, String) {
    match w {
        Who::Everyone => ("AWS", "*".into()),
        Who::Account { account, as_arn } if *as_arn => {
            ("AWS", format!("arn:aws:iam::{account}:root"))
        }
        Who::Account { account, .. } => ("AWS", account.to_string()),
        Who::Role { account, name } => ("AWS", format!("arn:aws:iam::{account}:role/{name}")),
        Who::Service(s) => ("Service", s.to_string()),
    }
}

fn stmt_json(s: &Stmt) -> Value {
    let mut m = serde_json::Map::new();
    m.insert(
        "Effect".into(),
        json!(if s.allow { "Allow" } else { "Deny" }),
    );
    if let Some((not, who)) = &s.principal {
        let name = if *not { "NotPrincipal" } else { "Principal" };
        let value = if !*not && who.contains(&Who::Everyone) {
            json!("*")
        } else {
            let mut by_kind = serde_json::Map::new();
            for w in who {
                let (kind, v) = who_json(w);
                let entry = by_kind.entry(kind).or_insert_with(|| json!([]));
                entry.as_array_mut().unwrap().push(json!(v));
            }
            Value::Object(by_kind)
        };
        m.insert(name.into(), value);
    }
    let action = if s.not_action { "NotAction" } else { "Action" };
    m.insert(action.into(), json!(s.actions));
    let resource = if s.not_resource {
        "NotResource"
    } else {
        "Resource"
    };
    m.insert(resource.into(), json!(s.resources));
    if !s.conditions.is_empty() {
        let mut block = serde_json::Map::new();
        for c in &s.conditions {
            let op = format!(
                "{}{}",
                c.op.name(),
                if c.if_exists { "IfExists" } else { "" }
            );
            let keys = block.entry(op).or_insert_with(|| json!({}));
            keys.as_object_mut()
                .unwrap()
                .insert(key_case(c.key, c.values.len()), json!(c.values));
        }
        m.insert("Condition".into(), Value::Object(block));
    }
    Value::Object(m)
}

/// The key as written in the policy: "Condition key names are not case-sensitive." Varied by a
/// cheap deterministic rule so the same model always renders the same text.
fn key_case(key: &str, salt: usize) -> String {
    match salt % 3 {
        0 => key.to_string(),
        1 => key.to_ascii_lowercase(),
        _ => key.to_ascii_uppercase(),
    }
}

fn policy_json(statements: &[Stmt]) -> String {
    let list: Vec<Value> = statements.iter().map(stmt_json).collect();
    json!({"Version": "2012-10-17", "Statement": list}).to_string()
}

// ---------------------------------------------------------------------------------------------
// The reference evaluator
// ---------------------------------------------------------------------------------------------

/// `^...$` with `*` → any run of characters and `?` → exactly one; everything else literal.
fn wildcard(pattern: &str, case_insensitive: bool) -> Regex {
    let mut re = String::from(if case_insensitive { "(?is)^" } else { "(?s)^" });
    for c in pattern.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re).unwrap()
}

/// "Each of the six colon-delimited components of the ARN is checked separately and each can
/// include multi-character match wildcards (*) or single-character match wildcards (?)."
/// (Condition operators, ARN condition operators.) The sixth component is the rest of the ARN.
fn arn_like(pattern: &str, value: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let v: Vec<&str> = value.splitn(6, ':').collect();
    if p.len() < 6 || p[0] != "arn" {
        // Not an ARN pattern: `*` alone matches any value; anything else starting `arn:` no ARN.
        return !pattern.starts_with("arn:") && wildcard(pattern, false).is_match(value);
    }
    v.len() == 6
        && p.iter()
            .zip(&v)
            .all(|(p, v)| wildcard(p, false).is_match(v))
}

/// The request principal as the reference sees it.
struct Caller {
    /// `None` for service principals.
    account: Option<&'static str>,
    root: bool,
    /// The role the caller is or is a session of.
    role: Option<&'static str>,
    service: Option<&'static str>,
}

fn caller(principal: &'static str) -> Caller {
    let none = Caller {
        account: None,
        root: false,
        role: None,
        service: None,
    };
    if !principal.starts_with("arn:") {
        return Caller {
            service: Some(principal),
            ..none
        };
    }
    let parts: Vec<&'static str> = principal.splitn(6, ':').collect();
    let resource = parts[5];
    let role = resource
        .strip_prefix("role/")
        .or_else(|| resource.strip_prefix("assumed-role/"))
        .map(|r| r.split('/').next().unwrap());
    Caller {
        account: Some(parts[4]),
        root: resource == "root",
        role,
        service: None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Named {
    No,
    /// The principal itself (or everyone).
    Directly,
    /// Only its account: "you can use IAM policies to allow access to the KMS key" — the account
    /// grant delegates to IAM (KMS: "Key policies in AWS KMS", default key policy).
    ByAccount,
}

fn named(who: &[Who], c: &Caller) -> Named {
    let mut best = Named::No;
    for w in who {
        let hit = match w {
            Who::Everyone => Named::Directly,
            Who::Service(s) => {
                if c.service == Some(*s) {
                    Named::Directly
                } else {
                    Named::No
                }
            }
            Who::Account { account, .. } if c.account == Some(*account) => {
                if c.root {
                    Named::Directly
                } else {
                    Named::ByAccount
                }
            }
            // "If you specify a role ARN, ... the principal is the role and its role sessions."
            Who::Role { account, name } if c.account == Some(*account) && c.role == Some(*name) => {
                Named::Directly
            }
            _ => Named::No,
        };
        if hit == Named::Directly {
            return hit;
        }
        if hit == Named::ByAccount {
            best = hit;
        }
    }
    best
}

fn condition_holds(cond: &Cond, req: &Req) -> bool {
    let value = req
        .context
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(cond.key))
        .map(|(_, v)| v.as_str());
    if cond.op == Op::Null {
        // "true" → the key must be absent; "false" → present.
        return cond
            .values
            .iter()
            .any(|v| v.eq_ignore_ascii_case("true") == value.is_none());
    }
    let Some(value) = value else {
        // "If the key that you specify in a policy condition is not present in the request
        // context, the values do not match and the condition is false. If the policy condition
        // requires that the key is not matched, such as StringNotLike or ArnNotLike, and the
        // right key is not present, the condition is true. This logic applies to all condition
        // operators except ...IfExists and Null check."
        return cond.if_exists || cond.op.negated();
    };
    let one = |p: &String| match cond.op {
        Op::StringEquals | Op::StringNotEquals => p == value,
        Op::StringEqualsIgnoreCase => p.to_lowercase() == value.to_lowercase(),
        // StringLike: "Case-sensitive match. The values can include multi-character match
        // wildcards (*) and single-character match wildcards (?) anywhere in the string."
        Op::StringLike | Op::StringNotLike => wildcard(p, false).is_match(value),
        // ArnEquals and ArnLike are the same comparison: "Case-sensitive match of the ARN."
        Op::ArnEquals | Op::ArnLike | Op::ArnNotLike => arn_like(p, value),
        Op::Bool => p.eq_ignore_ascii_case(value),
        Op::Null => false,
    };
    // OR across values; negated operators: no value may match.
    cond.values.iter().any(one) != cond.op.negated()
}

/// The statement applies to the request (principal, action, resource, every condition), and
/// how it named the principal.
fn applies(s: &Stmt, req: &Req, key_policy: bool) -> Named {
    let c = caller(req.principal);
    let who = match &s.principal {
        None => Named::Directly,
        Some((false, who)) => named(who, &c),
        // NotPrincipal: everyone except the principals named; an account excludes only the
        // account principal — "When you use NotPrincipal, you must also specify the account ARN
        // of the not-denied principal. Otherwise, the policy might deny access to the entire
        // account containing the principal."
        Some((true, who)) => match named(who, &c) {
            Named::Directly => Named::No,
            Named::No | Named::ByAccount => Named::Directly,
        },
    };
    // "The prefix and the action name are case insensitive."
    let action_hit = s
        .actions
        .iter()
        .any(|a| wildcard(a, true).is_match(req.action));
    // KMS: "In a key policy, the value of the Resource element is "*", which means "this KMS
    // key."" Otherwise an ARN with wildcards, case-sensitive.
    let resource_hit = s
        .resources
        .iter()
        .any(|r| (key_policy && r == "*") || wildcard(r, false).is_match(KEY));
    let all_conditions = s.conditions.iter().all(|c| condition_holds(c, req));
    if who == Named::No
        || action_hit == s.not_action
        || resource_hit == s.not_resource
        || !all_conditions
    {
        Named::No
    } else {
        who
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Verdict {
    outcome: Outcome,
    via: Option<Via>,
    requires_identity_policy: bool,
    /// For explicit denies: every denying statement (policy, index); for allows by the key
    /// policy alone: every allowing statement.
    statements: Vec<(Option<usize>, usize)>,
}

/// "An explicit deny in any of these policies overrides the allow." Then, for KMS: a key
/// policy that names the principal allows on its own; one that names only the principal's
/// account, or a principal in another account, needs an IAM policy too — "the key policy for
/// the KMS key must give the external account (or users and roles in the external account)
/// permission to use the KMS key" and "IAM policies in the external account must delegate the
/// key policy permissions to its users and roles".
fn reference(key: &[Stmt], identity: Option<&[Vec<Stmt>]>, req: &Req) -> Verdict {
    let mut denies = Vec::new();
    let mut direct = Vec::new();
    let mut by_account = false;
    for (i, s) in key.iter().enumerate() {
        match (applies(s, req, true), s.allow) {
            (Named::No, _) => {}
            (_, false) => denies.push((None, i)),
            (Named::Directly, true) => direct.push((None, i)),
            (Named::ByAccount, true) => by_account = true,
        }
    }
    let mut identity_allows = false;
    for (p, policy) in identity.unwrap_or(&[]).iter().enumerate() {
        for (i, s) in policy.iter().enumerate() {
            match (applies(s, req, false), s.allow) {
                (Named::No, _) => {}
                (_, false) => denies.push((Some(p), i)),
                (_, true) => identity_allows = true,
            }
        }
    }
    let verdict = |outcome, via, requires_identity_policy, statements| Verdict {
        outcome,
        via,
        requires_identity_policy,
        statements,
    };
    if !denies.is_empty() {
        return verdict(Outcome::ExplicitDeny, None, false, denies);
    }
    let c = caller(req.principal);
    let cross_account = c.account.is_some_and(|a| a != ACCOUNT);
    if !direct.is_empty() && !cross_account {
        return verdict(Outcome::Allow, Some(Via::KeyPolicy), false, direct);
    }
    if direct.is_empty() && !by_account {
        return verdict(Outcome::ImplicitDeny, None, false, Vec::new());
    }
    match identity {
        None => verdict(Outcome::Allow, Some(Via::IamDelegation), true, Vec::new()),
        Some(_) if identity_allows => {
            verdict(Outcome::Allow, Some(Via::IamDelegation), false, Vec::new())
        }
        Some(_) => verdict(Outcome::ImplicitDeny, None, false, Vec::new()),
    }
}

// ---------------------------------------------------------------------------------------------
// trailkey's side
// ---------------------------------------------------------------------------------------------

fn trailkey(key: &[Stmt], identity: Option<&[Vec<Stmt>]>, req: &Req) -> Verdict {
    let key_text = policy_json(key);
    let key_policy = Policy::parse(&key_text).unwrap_or_else(|e| panic!("{e}\n{key_text}"));
    let identity: Option<Vec<Policy>> = identity.map(|ps| {
        ps.iter()
            .map(|p| {
                let text = policy_json(p);
                Policy::parse_identity(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
            })
            .collect()
    });
    let mut context = Context::new();
    for (k, v) in &req.context {
        context.set(k, v.clone());
    }
    let request = Request {
        principal: RequestPrincipal::parse(req.principal).unwrap(),
        action: req.action.to_string(),
        resource: KEY.to_string(),
        context,
    };
    let d = evaluate(&key_policy, &request, identity.as_deref());
    let statements = match (d.decision, d.via) {
        (Outcome::ExplicitDeny, _) | (Outcome::Allow, Some(Via::KeyPolicy)) => d
            .statements
            .iter()
            .map(|s| {
                let policy = match s.source {
                    trailkey::eval::Source::KeyPolicy => None,
                    trailkey::eval::Source::Identity(i) => Some(i),
                };
                (policy, s.index)
            })
            .collect(),
        _ => Vec::new(),
    };
    Verdict {
        outcome: d.decision,
        via: d.via,
        requires_identity_policy: d.requires_identity_policy,
        statements,
    }
}

fn agree(key: &[Stmt], identity: Option<&[Vec<Stmt>]>, req: &Req) {
    let expected = reference(key, identity, req);
    let actual = trailkey(key, identity, req);
    assert_eq!(
        actual,
        expected,
        "\nkey policy: {}\nidentity: {:?}\nrequest: {req:?}",
        policy_json(key),
        identity.map(|ps| ps.iter().map(|p| policy_json(p)).collect::<Vec<_>>()),
    );
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        1 => Just(Who::Everyone),
        2 => (prop_oneof![Just(ACCOUNT), Just(OTHER_ACCOUNT)], any::<bool>())
            .prop_map(|(account, as_arn)| Who::Account { account, as_arn }),
        3 => (
            prop_oneof![Just(ACCOUNT), Just(OTHER_ACCOUNT)],
            prop_oneof![Just("R"), Just("Other")],
        )
            .prop_map(|(account, name)| Who::Role { account, name }),
        2 => prop_oneof![Just("cloudtrail.amazonaws.com"), Just("config.amazonaws.com")]
            .prop_map(Who::Service),
    ]
}

/// Action patterns with `*`, `?` and mixed case.
fn action_pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        Just("kms:*".to_string()),
        Just("kms:Decrypt".to_string()),
        Just("KMS:decrypt".to_string()),
        Just("kms:GenerateDataKey*".to_string()),
        Just("kms:generatedatakey?".to_string()),
        Just("kms:Describe?ey".to_string()),
        Just("kms:*Key".to_string()),
        Just("kms:Encrypt".to_string()),
        Just("s3:*".to_string()),
    ]
}

fn resource_pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("*".to_string()),
        1 => Just(KEY.to_string()),
        1 => Just("arn:aws:kms:*:111122223333:key/*".to_string()),
        1 => Just("arn:aws:kms:us-east-1:111122223333:key/?".to_string()),
        1 => Just("arn:aws:kms:us-east-1:111122223333:KEY/k".to_string()),
        1 => Just("arn:aws:kms:us-east-1:444455556666:key/*".to_string()),
        1 => Just("arn:aws:kms:*".to_string()),
    ]
}

/// Condition values over a few keys the requests carry.
fn condition() -> impl Strategy<Value = Cond> {
    let account_values = proptest::collection::vec(
        prop_oneof![
            Just(ACCOUNT.to_string()),
            Just(OTHER_ACCOUNT.to_string()),
            Just("1111*".to_string()),
            Just("?11122223333".to_string()),
        ],
        1..3,
    );
    let arn_values = proptest::collection::vec(
        prop_oneof![
            Just("arn:aws:cloudtrail:*:111122223333:trail/*".to_string()),
            Just("arn:aws:cloudtrail:us-east-1:111122223333:trail/t".to_string()),
            Just("arn:aws:cloudtrail:*:trail/t".to_string()),
            Just("arn:aws:cloudtrail:us-east-1:111122223333:TRAIL/*".to_string()),
            Just("arn:aws:*".to_string()),
            Just("*".to_string()),
            Just("arn:aws:cloudtrail:us-east-1:111122223333:trail/t:x".to_string()),
        ],
        1..3,
    );
    let tag_values = proptest::collection::vec(
        prop_oneof![
            Just("Blue".to_string()),
            Just("blue".to_string()),
            Just("B*".to_string()),
            Just("b?ue".to_string()),
        ],
        1..3,
    );
    let string_ops = prop_oneof![
        Just(Op::StringEquals),
        Just(Op::StringNotEquals),
        Just(Op::StringEqualsIgnoreCase),
        Just(Op::StringLike),
        Just(Op::StringNotLike),
    ];
    let arn_ops = prop_oneof![
        Just(Op::ArnEquals),
        Just(Op::ArnLike),
        Just(Op::ArnNotLike),
        Just(Op::StringLike),
        Just(Op::StringEquals),
    ];
    prop_oneof![
        (string_ops.clone(), any::<bool>(), account_values).prop_map(|(op, if_exists, values)| {
            Cond {
                op,
                if_exists,
                key: "aws:SourceAccount",
                values,
            }
        }),
        (
            arn_ops,
            any::<bool>(),
            prop_oneof![
                Just("aws:SourceArn"),
                Just("kms:EncryptionContext:aws:cloudtrail:arn")
            ],
            arn_values
        )
            .prop_map(|(op, if_exists, key, values)| Cond {
                op,
                if_exists,
                key,
                values
            }),
        (string_ops, any::<bool>(), tag_values).prop_map(|(op, if_exists, values)| Cond {
            op,
            if_exists,
            key: "aws:PrincipalTag/team",
            values,
        }),
        (any::<bool>(), prop_oneof![Just("true"), Just("FALSE")]).prop_map(|(if_exists, v)| {
            Cond {
                op: Op::Bool,
                if_exists,
                key: "aws:SecureTransport",
                values: vec![v.to_string()],
            }
        }),
        (
            prop_oneof![Just("aws:SourceArn"), Just("aws:SourceAccount")],
            prop_oneof![Just("true"), Just("false")]
        )
            .prop_map(|(key, v)| Cond {
                op: Op::Null,
                if_exists: false,
                key,
                values: vec![v.to_string()],
            }),
    ]
}

fn conditions() -> impl Strategy<Value = Vec<Cond>> {
    // One entry per operator/key pair, as a JSON object can hold.
    proptest::collection::vec(condition(), 0..3).prop_map(|mut cs| {
        let mut seen: Vec<(Op, bool, &str)> = Vec::new();
        cs.retain(|c| {
            let id = (c.op, c.if_exists, c.key);
            let fresh = !seen.contains(&id);
            seen.push(id);
            fresh
        });
        cs
    })
}

fn key_statement() -> impl Strategy<Value = Stmt> {
    (
        prop_oneof![3 => Just(true), 1 => Just(false)],
        prop_oneof![4 => Just(false), 1 => Just(true)],
        proptest::collection::vec(who(), 1..3),
        prop_oneof![5 => Just(false), 1 => Just(true)],
        proptest::collection::vec(action_pattern(), 1..3),
        prop_oneof![5 => Just(false), 1 => Just(true)],
        proptest::collection::vec(resource_pattern(), 1..3),
        conditions(),
    )
        .prop_map(
            |(
                allow,
                not_principal,
                mut who,
                not_action,
                actions,
                not_resource,
                resources,
                conditions,
            )| {
                // `NotPrincipal: "*"` names everyone; keep NotPrincipal to named principals.
                if not_principal {
                    who.retain(|w| *w != Who::Everyone);
                }
                Stmt {
                    allow,
                    principal: Some((
                        not_principal && !who.is_empty(),
                        if who.is_empty() {
                            vec![Who::Everyone]
                        } else {
                            who
                        },
                    )),
                    not_action,
                    actions,
                    not_resource,
                    resources,
                    conditions,
                }
            },
        )
}

fn identity_statement() -> impl Strategy<Value = Stmt> {
    (
        prop_oneof![3 => Just(true), 1 => Just(false)],
        prop_oneof![5 => Just(false), 1 => Just(true)],
        proptest::collection::vec(action_pattern(), 1..3),
        prop_oneof![5 => Just(false), 1 => Just(true)],
        proptest::collection::vec(resource_pattern(), 1..2),
        conditions(),
    )
        .prop_map(
            |(allow, not_action, actions, not_resource, resources, conditions)| Stmt {
                allow,
                principal: None,
                not_action,
                actions,
                not_resource,
                resources,
                conditions,
            },
        )
}

fn request() -> impl Strategy<Value = Req> {
    (
        prop_oneof![
            Just("arn:aws:iam::111122223333:role/R"),
            Just("arn:aws:sts::111122223333:assumed-role/R/session"),
            Just("arn:aws:iam::111122223333:role/Other"),
            Just("arn:aws:iam::111122223333:root"),
            Just("arn:aws:iam::111122223333:user/Alice"),
            Just("arn:aws:iam::444455556666:role/R"),
            Just("arn:aws:iam::444455556666:root"),
            Just("cloudtrail.amazonaws.com"),
            Just("config.amazonaws.com"),
        ],
        prop_oneof![
            Just("kms:Decrypt"),
            Just("kms:GenerateDataKey"),
            Just("kms:GenerateDataKeyPair"),
            Just("kms:DescribeKey"),
            Just("kms:Encrypt"),
        ],
        proptest::option::of(prop_oneof![Just(ACCOUNT), Just(OTHER_ACCOUNT)]),
        proptest::option::of(prop_oneof![
            Just("arn:aws:cloudtrail:us-east-1:111122223333:trail/t"),
            Just("arn:aws:cloudtrail:us-east-1:444455556666:trail/t"),
            Just("arn:aws:cloudtrail:us-east-1:111122223333:trail/t:x"),
        ]),
        proptest::option::of(prop_oneof![Just("Blue"), Just("blue"), Just("Bleu")]),
        proptest::option::of(prop_oneof![Just("true"), Just("false"), Just("TRUE")]),
    )
        .prop_map(|(principal, action, account, arn, tag, secure)| {
            let mut context = Vec::new();
            if let Some(a) = account {
                context.push(("aws:SourceAccount", a.to_string()));
            }
            if let Some(a) = arn {
                context.push(("aws:SourceArn", a.to_string()));
                context.push(("kms:EncryptionContext:aws:cloudtrail:arn", a.to_string()));
            }
            if let Some(t) = tag {
                context.push(("aws:PrincipalTag/team", t.to_string()));
            }
            if let Some(s) = secure {
                context.push(("aws:SecureTransport", s.to_string()));
            }
            Req {
                principal,
                action,
                context,
            }
        })
}

fn identity_policies() -> impl Strategy<Value = Option<Vec<Vec<Stmt>>>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(Vec::new())),
        2 => proptest::collection::vec(proptest::collection::vec(identity_statement(), 1..3), 1..3)
            .prop_map(Some),
    ]
}

proptest! {
    #![proptest_config(config(400))]

    #[test]
    fn engine_agrees_with_reference(
        key in proptest::collection::vec(key_statement(), 1..5),
        identity in identity_policies(),
        req in request(),
    ) {
        agree(&key, identity.as_deref(), &req);
    }
}

// ---------------------------------------------------------------------------------------------
// Wildcard matchers against regexes
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(512))]

    /// `Pattern` (StringLike, Resource): `*` any run, `?` one character, case-sensitive.
    #[test]
    fn pattern_matches_like_regex(pattern in "[ab*?:/é]{0,8}", text in "[abAB:/é]{0,8}") {
        let re = wildcard(&pattern, false);
        prop_assert_eq!(Pattern::new(&pattern, false).matches(&text), re.is_match(&text));
    }

    /// `Pattern` for `Action`: case-insensitive.
    #[test]
    fn action_pattern_ignores_case(pattern in "[abAB*?:]{0,8}", text in "[abAB:]{0,8}") {
        let re = wildcard(&pattern, true);
        prop_assert_eq!(Pattern::new(&pattern, true).matches(&text), re.is_match(&text));
    }

    /// `ArnPattern` (ArnLike / ArnEquals): component by component, case-sensitive.
    #[test]
    fn arn_pattern_matches_components(
        pattern in "(arn:|)[ab*?]{0,2}(:[ab*?]{0,3}){0,6}",
        text in "(arn:|)[abA]{0,2}(:[abA]{0,3}){0,6}",
    ) {
        prop_assert_eq!(ArnPattern::new(&pattern).matches(&text), arn_like(&pattern, &text));
    }

    /// Through the engine: `StringLike` is case-sensitive, `ArnLike` splits components, and
    /// the reference agrees on both.
    #[test]
    fn like_operators_through_the_engine(
        pattern in "[bB*?]{0,4}",
        value in "[bB]{0,4}",
        op in prop_oneof![Just(Op::StringLike), Just(Op::StringNotLike), Just(Op::ArnLike), Just(Op::ArnNotLike)],
    ) {
        let key = vec![Stmt {
            allow: true,
            principal: Some((false, vec![Who::Role { account: ACCOUNT, name: "R" }])),
            not_action: false,
            actions: vec!["kms:Decrypt".into()],
            not_resource: false,
            resources: vec!["*".into()],
            conditions: vec![Cond { op, if_exists: false, key: "aws:PrincipalTag/team", values: vec![pattern] }],
        }];
        let req = Req {
            principal: "arn:aws:iam::111122223333:role/R",
            action: "kms:Decrypt",
            context: vec![("aws:PrincipalTag/team", value)],
        };
        agree(&key, None, &req);
    }
}

// ---------------------------------------------------------------------------------------------
// Decided disagreements, kept as explicit cases
// ---------------------------------------------------------------------------------------------
//
// The generated runs found no disagreement between the engine and the reference (see the
// report in the `reliability` branch history). The subtle rules both sides encode are pinned
// here, each with its documented outcome, so a change to either side has to face the docs.

fn role_statement(allow: bool, action: &str, conditions: Vec<Cond>) -> Stmt {
    Stmt {
        allow,
        principal: Some((
            false,
            vec![Who::Role {
                account: ACCOUNT,
                name: "R",
            }],
        )),
        not_action: false,
        actions: vec![action.into()],
        not_resource: false,
        resources: vec!["*".into()],
        conditions,
    }
}

fn role_request(context: Vec<(&'static str, String)>) -> Req {
    Req {
        principal: "arn:aws:iam::111122223333:role/R",
        action: "kms:Decrypt",
        context,
    }
}

/// Both sides agree, and on the documented outcome.
fn decided(key: &[Stmt], identity: Option<&[Vec<Stmt>]>, req: &Req, outcome: Outcome) {
    agree(key, identity, req);
    assert_eq!(reference(key, identity, req).outcome, outcome);
}

fn cond(op: Op, key: &'static str, value: &str) -> Cond {
    Cond {
        op,
        if_exists: false,
        key,
        values: vec![value.to_string()],
    }
}

#[test]
fn arn_like_wildcard_stays_inside_its_component() {
    // "Each of the six colon-delimited components of the ARN is checked separately": `*` in
    // the region may not swallow the account.
    let trail = "arn:aws:cloudtrail:us-east-1:111122223333:trail/t".to_string();
    let key = [role_statement(
        true,
        "kms:Decrypt",
        vec![cond(
            Op::ArnLike,
            "aws:SourceArn",
            "arn:aws:cloudtrail:*:trail/t",
        )],
    )];
    decided(
        &key,
        None,
        &role_request(vec![("aws:SourceArn", trail.clone())]),
        Outcome::ImplicitDeny,
    );
    // The same value under StringLike is one string: `*` spans colons.
    let key = [role_statement(
        true,
        "kms:Decrypt",
        vec![cond(
            Op::StringLike,
            "aws:SourceArn",
            "arn:aws:cloudtrail:*:trail/t",
        )],
    )];
    decided(
        &key,
        None,
        &role_request(vec![("aws:SourceArn", trail)]),
        Outcome::Allow,
    );
}

#[test]
fn like_operators_are_case_sensitive_actions_are_not() {
    // StringLike: "Case-sensitive match"; Action: "The prefix and the action name are case
    // insensitive."
    let key = [role_statement(
        true,
        "KMS:decrypt",
        vec![cond(Op::StringLike, "aws:PrincipalTag/team", "b*")],
    )];
    decided(
        &key,
        None,
        &role_request(vec![("aws:PrincipalTag/team", "Blue".into())]),
        Outcome::ImplicitDeny,
    );
    decided(
        &key,
        None,
        &role_request(vec![("aws:PrincipalTag/team", "blue".into())]),
        Outcome::Allow,
    );
}

#[test]
fn negated_operator_without_the_key_holds() {
    // "If the policy condition requires that the key is not matched, such as StringNotLike or
    // ArnNotLike, and the right key is not present, the condition is true."
    let key = [
        role_statement(true, "kms:*", Vec::new()),
        role_statement(
            false,
            "kms:Decrypt",
            vec![cond(
                Op::ArnNotLike,
                "aws:SourceArn",
                "arn:aws:cloudtrail:*:*:trail/*",
            )],
        ),
    ];
    decided(&key, None, &role_request(Vec::new()), Outcome::ExplicitDeny);
}

#[test]
fn account_grant_needs_an_identity_policy_and_a_deny_there_wins() {
    // KMS default key policy: the account principal "enables IAM policies"; an explicit deny in
    // any policy "overrides the allow".
    let key = [Stmt {
        principal: Some((
            false,
            vec![Who::Account {
                account: ACCOUNT,
                as_arn: true,
            }],
        )),
        ..role_statement(true, "kms:*", Vec::new())
    }];
    let allow = Stmt {
        principal: None,
        ..role_statement(true, "kms:Decrypt", Vec::new())
    };
    let deny = Stmt {
        allow: false,
        ..allow.clone()
    };
    let req = role_request(Vec::new());
    decided(&key, Some(&[]), &req, Outcome::ImplicitDeny);
    decided(&key, Some(&[vec![allow.clone()]]), &req, Outcome::Allow);
    decided(
        &key,
        Some(&[vec![allow, deny]]),
        &req,
        Outcome::ExplicitDeny,
    );
}
