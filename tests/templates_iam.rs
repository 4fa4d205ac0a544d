//! Least-privilege checks on the deployment templates: `template.yaml` and `deploy/*.yaml`.
//!
//! Fails on any IAM policy statement that allows an Action containing a wildcard, uses
//! NotAction / NotResource / NotPrincipal, trusts Principal "*", or grants an action on
//! Resource "*" when that action supports resource-level permissions. Also checks that every
//! Lambda permission for AWS Config is scoped (SourceAccount in template.yaml, PrincipalOrgID in
//! deploy/org-central.yaml) and that functions use an explicit role rather than SAM policy
//! templates or managed policies.
//!
//! CloudFormation short tags (`!Sub`, `!If`, `!Ref`, `!GetAtt`) arrive as `Value::Tagged`, the
//! long forms (`Fn::If: [...]`, `Ref: x`) as one-key mappings; both are understood. Both branches
//! of every `Fn::If` are checked, and `Ref: AWS::NoValue` stands for nothing.

use serde_yaml::{Mapping, Value};
use std::path::{Path, PathBuf};

/// Actions that support no resource-level permissions, so `Resource: "*"` is the only valid
/// resource for them. Source: the AWS Service Authorization Reference ("Actions defined by AWS
/// CloudTrail" / "Actions defined by AWS Config"), whose Resource types column is empty for:
/// - `cloudtrail:DescribeTrails`, `cloudtrail:ListEventDataStores`: describe/list everything in
///   the account and region; no trail or event data store ARN can be named.
/// - `config:PutEvaluations`: the call is tied to one rule evaluation by the ResultToken in the
///   request, not by a resource ARN.
/// - `config:GetResourceConfigHistory`: takes a resource type and id, not an ARN.
/// - `organizations:DescribeOrganization` ("Actions defined by AWS Organizations"): describes
///   the caller's own organization; no resource type.
///
/// Every other action granted by the templates must name its resources (e.g.
/// `cloudtrail:GetEventDataStore` is scoped to `eventdatastore/*`, `kms:GetKeyPolicy` to
/// `key/*` in the account).
const STAR_RESOURCE_ACTIONS: &[&str] = &[
    "cloudtrail:DescribeTrails",
    "cloudtrail:ListEventDataStores",
    "config:PutEvaluations",
    "config:GetResourceConfigHistory",
    "organizations:DescribeOrganization",
];

/// Keys that scope a Lambda permission granted to an AWS service principal.
const PERMISSION_SCOPES: &[&str] = &["SourceAccount", "SourceArn", "PrincipalOrgID"];

/// What the policy checker found in one template.
#[derive(Debug, Default)]
struct Report {
    /// IAM policy statements seen (every `Fn::If` branch counted).
    statements: usize,
    /// One line per problem: `<path in the template>: <what is wrong>`.
    violations: Vec<String>,
}

fn plain_str(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s.as_str()),
        _ => None,
    }
}

fn field<'a>(m: &'a Mapping, key: &str) -> Option<&'a Value> {
    m.iter()
        .find(|(k, _)| plain_str(k) == Some(key))
        .map(|(_, v)| v)
}

/// An intrinsic function node: `!If x` and `{Fn::If: x}` give `("If", x)`; `!Ref x` and
/// `{Ref: x}` give `("Ref", x)`.
fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_owned(),
            &t.value,
        )),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, arg) = m.iter().next()?;
            let k = plain_str(k)?;
            if k == "Ref" {
                Some(("Ref".to_owned(), arg))
            } else {
                k.strip_prefix("Fn::").map(|name| (name.to_owned(), arg))
            }
        }
        _ => None,
    }
}

/// Every value `v` may stand for: both branches of `Fn::If` (recursively), nothing for
/// `Ref: AWS::NoValue`, else `v` itself.
fn alternatives(v: &Value) -> Vec<&Value> {
    match intrinsic(v) {
        Some((name, Value::Sequence(seq))) if name == "If" => {
            seq.iter().skip(1).flat_map(alternatives).collect()
        }
        Some((name, arg)) if name == "Ref" && plain_str(arg) == Some("AWS::NoValue") => Vec::new(),
        _ => vec![v],
    }
}

/// A policy element that may be one value or a list (with `Fn::If` anywhere), as its items.
fn items(v: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for alt in alternatives(v) {
        match alt {
            Value::Sequence(seq) => {
                for item in seq {
                    out.extend(alternatives(item));
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// `"*"`, `!Sub "*"` or `{Fn::Sub: "*"}`: all resources.
fn is_star(v: &Value) -> bool {
    if let Some(s) = plain_str(v) {
        return s.trim() == "*";
    }
    match intrinsic(v) {
        Some((name, Value::String(s))) if name == "Sub" => s.trim() == "*",
        Some((name, Value::Sequence(args))) if name == "Sub" => args
            .first()
            .and_then(plain_str)
            .is_some_and(|s| s.trim() == "*"),
        _ => false,
    }
}

fn star_resource_allowed(action: &str) -> bool {
    STAR_RESOURCE_ACTIONS
        .iter()
        .any(|a| a.eq_ignore_ascii_case(action))
}

fn check_statement(stmt: &Value, at: &str, report: &mut Report) {
    report.statements += 1;
    let Value::Mapping(stmt) = stmt else {
        report
            .violations
            .push(format!("{at}: statement is not a mapping"));
        return;
    };
    match field(stmt, "Effect").and_then(plain_str) {
        Some("Allow") => {}
        Some("Deny") => return,
        _ => {
            report
                .violations
                .push(format!("{at}: Effect must be a literal Allow or Deny"));
            return;
        }
    }
    for negated in ["NotAction", "NotResource", "NotPrincipal"] {
        if field(stmt, negated).is_some() {
            report.violations.push(format!(
                "{at}: {negated} allows everything it does not name"
            ));
        }
    }

    if let Some(principal) = field(stmt, "Principal") {
        for p in items(principal) {
            let everyone = match p {
                Value::Mapping(m) => {
                    field(m, "AWS").is_some_and(|aws| items(aws).into_iter().any(is_star))
                }
                other => is_star(other),
            };
            if everyone {
                report
                    .violations
                    .push(format!("{at}: Principal \"*\" trusts everyone"));
            }
        }
    }

    let mut actions = Vec::new();
    match field(stmt, "Action") {
        // NotAction was reported above.
        None if field(stmt, "NotAction").is_some() => {}
        None => report
            .violations
            .push(format!("{at}: Allow without Action")),
        Some(action) => {
            for a in items(action) {
                match plain_str(a) {
                    Some(name) if name.contains('*') || name.contains('?') => report
                        .violations
                        .push(format!("{at}: wildcard action {name:?}")),
                    Some(name) => actions.push(name),
                    None => report
                        .violations
                        .push(format!("{at}: Action must be literal strings, got {a:?}")),
                }
            }
        }
    }

    // Trust policies have no Resource; identity policies must name theirs.
    if let Some(resource) = field(stmt, "Resource") {
        if items(resource).into_iter().any(is_star) {
            for action in actions {
                if !star_resource_allowed(action) {
                    report.violations.push(format!(
                        "{at}: {action} supports resource-level permissions but is granted on Resource \"*\""
                    ));
                }
            }
        }
    }
}

fn check_statements(statements: &Value, at: &str, report: &mut Report) {
    for (i, stmt) in items(statements).into_iter().enumerate() {
        check_statement(stmt, &format!("{at}[{i}]"), report);
    }
}

fn walk(v: &Value, at: &str, report: &mut Report) {
    match v {
        Value::Mapping(m) => {
            for (k, child) in m.iter() {
                let key = plain_str(k).unwrap_or("?");
                let child_at = format!("{at}/{key}");
                if key == "Statement" {
                    check_statements(child, &child_at, report);
                }
                walk(child, &child_at, report);
            }
        }
        Value::Sequence(seq) => {
            for (i, child) in seq.iter().enumerate() {
                walk(child, &format!("{at}[{i}]"), report);
            }
        }
        Value::Tagged(t) => walk(&t.value, at, report),
        _ => {}
    }
}

/// Every IAM policy statement in the template (any mapping key `Statement`, so identity, trust
/// and resource policies alike), checked.
fn policy_report(doc: &Value) -> Report {
    let mut report = Report::default();
    walk(doc, "", &mut report);
    report
}

/// `(logical id, resource)` for each resource of the given type.
fn resources_of_type<'a>(doc: &'a Value, ty: &str) -> Vec<(String, &'a Mapping)> {
    let Value::Mapping(top) = doc else {
        return Vec::new();
    };
    let Some(Value::Mapping(resources)) = field(top, "Resources") else {
        return Vec::new();
    };
    of_type(resources, ty)
}

/// The resources of `ty` in a Resources mapping, including the bodies of `Fn::ForEach::<name>`
/// loops (AWS::LanguageExtensions: `[identifier, collection, {templated resources}]`), named by
/// their templated logical id (`ConfigInvoke&{AccountId}`).
fn of_type<'a>(resources: &'a Mapping, ty: &str) -> Vec<(String, &'a Mapping)> {
    let mut out = Vec::new();
    for (id, r) in resources {
        let name = plain_str(id).unwrap_or("?");
        match r {
            Value::Mapping(r) if field(r, "Type").and_then(plain_str) == Some(ty) => {
                out.push((name.to_owned(), r));
            }
            Value::Sequence(seq) if name.starts_with("Fn::ForEach::") => {
                if let Some(Value::Mapping(body)) = seq.get(2) {
                    out.extend(of_type(body, ty));
                }
            }
            _ => {}
        }
    }
    out
}

fn properties(resource: &Mapping) -> Option<&Mapping> {
    match field(resource, "Properties") {
        Some(Value::Mapping(p)) => Some(p),
        _ => None,
    }
}

/// Lambda permissions for AWS Config, each with the scoping keys it sets.
fn config_permissions(doc: &Value) -> Vec<(String, Vec<&'static str>)> {
    resources_of_type(doc, "AWS::Lambda::Permission")
        .into_iter()
        .filter_map(|(id, r)| {
            let props = properties(r)?;
            if field(props, "Principal").and_then(plain_str) != Some("config.amazonaws.com") {
                return None;
            }
            let scopes = PERMISSION_SCOPES
                .iter()
                .copied()
                .filter(|k| field(props, k).is_some_and(|v| !alternatives(v).is_empty()))
                .collect();
            Some((id, scopes))
        })
        .collect()
}

/// Functions must use an explicit role (no SAM `Policies`), and roles no managed policies,
/// whose contents this test cannot see.
fn role_violations(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (id, r) in resources_of_type(doc, "AWS::Serverless::Function") {
        let props = properties(r);
        if props.and_then(|p| field(p, "Role")).is_none() {
            out.push(format!("{id}: function without an explicit Role"));
        }
        if props.and_then(|p| field(p, "Policies")).is_some() {
            out.push(format!(
                "{id}: SAM Policies instead of an explicit least-privilege role"
            ));
        }
    }
    for (id, r) in resources_of_type(doc, "AWS::IAM::Role") {
        if properties(r)
            .and_then(|p| field(p, "ManagedPolicyArns"))
            .is_some()
        {
            out.push(format!(
                "{id}: managed policies cannot be checked for least privilege"
            ));
        }
    }
    out
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// template.yaml, then every deploy/*.yaml / *.yml in name order.
fn templates() -> Vec<PathBuf> {
    let mut deploy: Vec<PathBuf> = std::fs::read_dir(repo().join("deploy"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
                .collect()
        })
        .unwrap_or_default();
    deploy.sort();
    let mut all = vec![repo().join("template.yaml")];
    all.extend(deploy);
    all
}

fn load(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn load_named(name: &str) -> Result<Value, String> {
    load(&repo().join(name))
}

fn parse(snippet: &str) -> Result<Value, String> {
    serde_yaml::from_str(snippet).map_err(|e| format!("bad test snippet: {e}"))
}

// ---- the templates ----

/// The rule parameter names a template passes to the function.
fn rule_parameter_names(doc: &Value) -> Vec<String> {
    let mut names: Vec<String> = resources_of_type(doc, "AWS::Config::ConfigRule")
        .into_iter()
        .filter_map(
            |(_, r)| match properties(r).and_then(|p| field(p, "InputParameters")) {
                Some(Value::Mapping(m)) => Some(m.keys().filter_map(plain_str).map(str::to_owned)),
                _ => None,
            },
        )
        .flatten()
        .collect();
    names.sort();
    names
}

#[test]
fn templates_pass_every_rule_parameter_the_function_accepts() {
    let mut expected: Vec<String> = trailkey::rule::PARAMETER_NAMES
        .iter()
        .map(|n| n.to_string())
        .collect();
    expected.sort();
    for name in ["template.yaml", "deploy/conformance-pack.yaml"] {
        let doc = load_named(name).unwrap();
        assert_eq!(rule_parameter_names(&doc), expected, "{name}");
    }
    // The organization rule takes its parameters as one JSON string built with !Join.
    let text = std::fs::read_to_string(repo().join("deploy/org-central.yaml")).unwrap();
    for name in trailkey::rule::PARAMETER_NAMES {
        assert!(
            text.contains(&format!("\"{name}\":")),
            "deploy/org-central.yaml does not pass `{name}`"
        );
    }
}

#[test]
fn all_deployment_templates_are_checked() {
    let names: Vec<String> = templates()
        .iter()
        .filter_map(|p| p.strip_prefix(repo()).ok())
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .collect();
    for expected in [
        "template.yaml",
        "deploy/conformance-pack.yaml",
        "deploy/org-central.yaml",
        "deploy/org-member-role.yaml",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} not found in {names:?}"
        );
    }
}

#[test]
fn templates_grant_no_wildcard_actions_or_needless_star_resources() {
    let mut problems = Vec::new();
    for path in templates() {
        match load(&path) {
            Ok(doc) => {
                let report = policy_report(&doc);
                problems.extend(
                    report
                        .violations
                        .into_iter()
                        .map(|v| format!("{}: {v}", path.display())),
                );
                problems.extend(
                    role_violations(&doc)
                        .into_iter()
                        .map(|v| format!("{}: {v}", path.display())),
                );
            }
            Err(e) => problems.push(e),
        }
    }
    assert!(
        problems.is_empty(),
        "least-privilege violations:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_sees_the_roles_policies() {
    // Guards against the checks above passing vacuously (e.g. after a template restructure).
    // template.yaml: trust + logs + kms + 2 cloudtrail + config + assume-role = 7 at least.
    assert!(policy_report(&load_named("template.yaml").unwrap()).statements >= 7);
    // org-member-role.yaml: trust + kms + 2 cloudtrail + config.
    assert!(policy_report(&load_named("deploy/org-member-role.yaml").unwrap()).statements >= 5);
}

#[test]
fn single_account_config_permission_has_source_account() {
    let perms = config_permissions(&load_named("template.yaml").unwrap());
    assert!(
        !perms.is_empty(),
        "template.yaml has no Lambda permission for AWS Config"
    );
    for (id, scopes) in perms {
        assert!(
            scopes.contains(&"SourceAccount"),
            "{id}: no SourceAccount ({scopes:?})"
        );
    }
}

/// "How to Centrally Manage AWS Config Rules across Multiple AWS Accounts" (AWS DevOps Blog),
/// step 2, "Authorize Config Rules in the managed-account to invoke a Lambda function in the
/// admin-account": `config.amazonaws.com` with the managed account as the source account. The default
/// organization path (InvokePermission=SourceAccount) adds one such permission per member
/// account from deploy/org-invoke-permissions.yaml's Fn::ForEach.
#[test]
fn org_member_invoke_permissions_are_one_per_source_account() {
    let perms = config_permissions(&load_named("deploy/org-invoke-permissions.yaml").unwrap());
    assert_eq!(
        perms.len(),
        1,
        "want the one ForEach-templated permission: {perms:?}"
    );
    let (id, scopes) = &perms[0];
    assert_eq!(id, "ConfigInvoke&{AccountId}");
    assert_eq!(scopes, &vec!["SourceAccount"]);
    // org-central: its own permission is SourceAccount (default) or PrincipalOrgID.
    let central = config_permissions(&load_named("deploy/org-central.yaml").unwrap());
    assert!(
        central.iter().any(|(_, s)| s.contains(&"SourceAccount")),
        "deploy/org-central.yaml: no SourceAccount permission: {central:?}"
    );
}

#[test]
fn org_config_permission_has_principal_org_id() {
    let perms = config_permissions(&load_named("deploy/org-central.yaml").unwrap());
    assert!(
        perms.iter().any(|(_, scopes)| scopes.contains(&"PrincipalOrgID")),
        "deploy/org-central.yaml: no Lambda permission for AWS Config with PrincipalOrgID: {perms:?}"
    );
}

#[test]
fn no_template_grants_config_an_unscoped_invoke() {
    for path in templates() {
        let doc = match load(&path) {
            Ok(doc) => doc,
            Err(e) => panic!("{e}"),
        };
        for (id, scopes) in config_permissions(&doc) {
            assert!(
                !scopes.is_empty(),
                "{}: {id} lets any account's Config invoke",
                path.display()
            );
        }
    }
}

#[test]
fn org_member_role_trusts_only_the_central_role() {
    let doc = load_named("deploy/org-member-role.yaml").unwrap();
    let roles = resources_of_type(&doc, "AWS::IAM::Role");
    assert_eq!(roles.len(), 1);
    for (id, role) in roles {
        let trust = properties(role).and_then(|p| field(p, "AssumeRolePolicyDocument"));
        let text = serde_yaml::to_string(&trust).unwrap_or_default();
        assert!(
            text.contains("CentralFunctionRoleArn"),
            "{id}: trust policy is {text}"
        );
        assert!(
            !text.contains("Service"),
            "{id}: trusted by a service: {text}"
        );
    }
}

// ---- the checker itself must be able to fail ----

const BAD_POLICY: &str = r#"
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: { AWS: "*" }
            Action: sts:AssumeRole
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: kms:*
                Resource: !Sub arn:${AWS::Partition}:kms:*:${AWS::AccountId}:key/*
              - Effect: Allow
                Action: [kms:GetKeyPolicy, cloudtrail:DescribeTrails]
                Resource: "*"
              - Effect: Allow
                Action: cloudtrail:GetEventDataStore
                Resource: !Sub "*"
              - Effect: Allow
                NotAction: iam:PassRole
                Resource: !Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:role/x
        - !If
          - SomeCondition
          - PolicyName: hidden
            PolicyDocument:
              Statement:
                - Effect: Allow
                  Action: "*"
                  Resource:
                    Fn::Sub: arn:${AWS::Partition}:s3:::bucket/*
          - !Ref AWS::NoValue
"#;

#[test]
fn checker_flags_wildcards_star_resources_and_hidden_branches() {
    let report = policy_report(&parse(BAD_POLICY).unwrap());
    let all = report.violations.join("\n");
    assert_eq!(report.statements, 6, "{all}");
    assert!(all.contains("Principal \"*\""), "{all}");
    assert!(all.contains("wildcard action \"kms:*\""), "{all}");
    assert!(
        all.contains("kms:GetKeyPolicy supports resource-level"),
        "{all}"
    );
    assert!(
        !all.contains("cloudtrail:DescribeTrails"),
        "allow-listed action flagged: {all}"
    );
    assert!(
        all.contains("cloudtrail:GetEventDataStore supports resource-level"),
        "{all}"
    );
    assert!(all.contains("NotAction"), "{all}");
    assert!(all.contains("wildcard action \"*\""), "{all}");
    assert_eq!(report.violations.len(), 6, "{all}");
}

#[test]
fn checker_accepts_scoped_and_allow_listed_statements() {
    let good = parse(
        r#"
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: { Service: lambda.amazonaws.com }
            Action: sts:AssumeRole
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: [config:PutEvaluations, config:GetResourceConfigHistory]
                Resource: "*"
              - Effect: Allow
                Action: kms:GetKeyPolicy
                Resource: !Sub arn:${AWS::Partition}:kms:*:${AWS::AccountId}:key/*
              - Effect: Deny
                Action: "*"
                Resource: "*"
"#,
    )
    .unwrap();
    let report = policy_report(&good);
    assert_eq!(report.statements, 4);
    assert!(report.violations.is_empty(), "{:?}", report.violations);
}

#[test]
fn checker_flags_unscoped_config_permission_and_sam_policies() {
    let doc = parse(
        r#"
Resources:
  Perm:
    Type: AWS::Lambda::Permission
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: !GetAtt Function.Arn
      Principal: config.amazonaws.com
  Function:
    Type: AWS::Serverless::Function
    Properties:
      Policies: [AWSLambdaBasicExecutionRole]
"#,
    )
    .unwrap();
    let perms = config_permissions(&doc);
    assert_eq!(perms.len(), 1);
    assert!(
        perms.iter().all(|(_, scopes)| scopes.is_empty()),
        "{perms:?}"
    );
    let roles = role_violations(&doc);
    assert_eq!(roles.len(), 2, "{roles:?}");
}
