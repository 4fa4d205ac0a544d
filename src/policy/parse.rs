//! JSON → policy model, rejecting what KMS and IAM reject.
//!
//! Two passes over the same rules: `fast` scans the text itself straight into the model and
//! gives up on anything wrong or unusual; the slow path below then walks a `serde_json::Value`, building
//! JSON pointers as it goes, to name the problem.

mod fast;

use super::err::{pointer_segment, PolicyError, MAX_POLICY_BYTES};
use super::text::Text;
use super::value::{parse_date, ArnPattern, Cidr, Template};
use super::{
    is_account_id, ActionElement, AwsPrincipal, BaseOperator, Condition, ConditionOperator,
    ConditionValue, Document, Effect, OperatorFamily, Pattern, Policy, PolicyKind, PolicyVersion,
    PrincipalElement, PrincipalSet, ResourceElement, ResourceValue, Statement,
};
use base64::Engine;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Entry point: text → policy.
pub(super) fn parse_document(text: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
    match fast::parse(text, kind) {
        Some(result) => {
            debug_assert!(
                same_result(&result, &parse_slow(text, kind)),
                "fast and slow policy parsers disagree on {text}"
            );
            result
        }
        None => parse_slow(text, kind),
    }
}

/// Debug builds check every fast parse against the slow path: same model, same document.
fn same_result(a: &Result<Policy, PolicyError>, b: &Result<Policy, PolicyError>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => {
            format!("{:?}", (a.version, &a.id, &a.statements, a.size))
                == format!("{:?}", (b.version, &b.id, &b.statements, b.size))
                && *a.document == *b.document
        }
        (Err(a), Err(b)) => a == b,
        _ => false,
    }
}

/// The slow path: a `serde_json::Value` walked with JSON pointers, for precise errors.
fn parse_slow(text: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
    let value: Value = serde_json::from_str(text).map_err(|e| PolicyError::InvalidJson {
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })?;
    // `aws kms get-key-policy` wraps the policy in {"Policy": "<json string>", "PolicyName": ...}.
    if let Value::Object(map) = &value {
        if !map.contains_key("Statement") {
            if let Some(Value::String(inner)) = map.get("Policy") {
                return parse_document(inner, kind);
            }
        }
    }
    if text.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::TooLarge { bytes: text.len() });
    }
    let mut policy = parse_value(&value, kind)?;
    policy.size = text.len();
    policy.document = Document::from_value(value);
    Ok(policy)
}

/// serde_json appends " at line L column C"; we report those separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message.get(..i).unwrap_or(message).to_string(),
        None => message.to_string(),
    }
}

fn invalid(path: &str, message: impl Into<String>) -> PolicyError {
    PolicyError::InvalidValue {
        path: path.to_string(),
        message: message.into(),
    }
}

fn parse_value(value: &Value, kind: PolicyKind) -> Result<Policy, PolicyError> {
    let map = value
        .as_object()
        .ok_or_else(|| invalid("", "a policy must be a JSON object"))?;
    for key in map.keys() {
        if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
            return Err(invalid(
                &format!("/{}", pointer_segment(key)),
                format!("unknown policy element `{key}`"),
            ));
        }
    }
    let version = match map.get("Version") {
        None => PolicyVersion::Absent,
        Some(Value::String(v)) if v == "2012-10-17" => PolicyVersion::V2012_10_17,
        Some(Value::String(v)) if v == "2008-10-17" => PolicyVersion::V2008_10_17,
        Some(other) => {
            return Err(invalid(
                "/Version",
                format!("`Version` must be `2012-10-17` or `2008-10-17`, not `{other}`"),
            ))
        }
    };
    let id = match map.get("Id") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(invalid("/Id", "`Id` must be a string")),
    };
    let statements = match map.get("Statement") {
        None => {
            return Err(PolicyError::MissingElement {
                path: String::new(),
                element: "Statement",
            })
        }
        Some(Value::Object(s)) => vec![parse_statement(s, 0, "/Statement".into(), version, kind)?],
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let path = format!("/Statement/{i}");
                let s = item
                    .as_object()
                    .ok_or_else(|| invalid(&path, "a statement must be a JSON object"))?;
                out.push(parse_statement(s, i, path, version, kind)?);
            }
            out
        }
        Some(_) => {
            return Err(invalid(
                "/Statement",
                "`Statement` must be an object or an array of objects",
            ))
        }
    };
    let mut seen = HashSet::new();
    for s in &statements {
        if let Some(sid) = s.sid.as_deref().filter(|s| !s.is_empty()) {
            if !seen.insert(sid) {
                return Err(PolicyError::DuplicateSid {
                    path: format!("{}/Sid", s.path()),
                    sid: sid.to_string(),
                });
            }
        }
    }
    Ok(Policy {
        version,
        id,
        statements,
        document: Document::from_value(Value::Null),
        size: 0,
    })
}

fn parse_statement(
    map: &Map<String, Value>,
    index: usize,
    path: String,
    version: PolicyVersion,
    kind: PolicyKind,
) -> Result<Statement, PolicyError> {
    for key in map.keys() {
        if !matches!(
            key.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return Err(invalid(
                &format!("{path}/{}", pointer_segment(key)),
                format!("unknown statement element `{key}`"),
            ));
        }
    }
    let sid = match map.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(invalid(&format!("{path}/Sid"), "`Sid` must be a string")),
    };
    let effect = match map.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(other) => {
            return Err(invalid(
                &format!("{path}/Effect"),
                format!("`Effect` must be `Allow` or `Deny`, not `{other}`"),
            ))
        }
        None => {
            return Err(PolicyError::MissingElement {
                path,
                element: "Effect",
            })
        }
    };
    let principal = match (map.get("Principal"), map.get("NotPrincipal")) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                &path,
                "a statement cannot have both `Principal` and `NotPrincipal`",
            ))
        }
        (Some(p), None) => Some(PrincipalElement::Principal(parse_principal(
            p,
            &format!("{path}/Principal"),
        )?)),
        (None, Some(p)) => Some(PrincipalElement::NotPrincipal(parse_principal(
            p,
            &format!("{path}/NotPrincipal"),
        )?)),
        (None, None) => None,
    };
    match (kind, &principal) {
        (PolicyKind::KeyPolicy, None) => {
            return Err(PolicyError::MissingElement {
                path,
                element: "Principal",
            })
        }
        (PolicyKind::Identity, Some(_)) => {
            return Err(invalid(
                &format!("{path}/Principal"),
                "identity policies cannot name a `Principal`",
            ))
        }
        _ => {}
    }
    let action = match (map.get("Action"), map.get("NotAction")) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                &path,
                "a statement cannot have both `Action` and `NotAction`",
            ))
        }
        (Some(a), None) => ActionElement::Action(parse_actions(a, &format!("{path}/Action"))?),
        (None, Some(a)) => {
            ActionElement::NotAction(parse_actions(a, &format!("{path}/NotAction"))?)
        }
        (None, None) => {
            return Err(PolicyError::MissingElement {
                path,
                element: "Action",
            })
        }
    };
    let variables = version.supports_variables();
    let resource = match (map.get("Resource"), map.get("NotResource")) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                &path,
                "a statement cannot have both `Resource` and `NotResource`",
            ))
        }
        (Some(r), None) => Some(ResourceElement::Resource(parse_resources(
            r,
            &format!("{path}/Resource"),
            variables,
        )?)),
        (None, Some(r)) => Some(ResourceElement::NotResource(parse_resources(
            r,
            &format!("{path}/NotResource"),
            variables,
        )?)),
        (None, None) => {
            return Err(PolicyError::MissingElement {
                path,
                element: "Resource",
            })
        }
    };
    let conditions = match map.get("Condition") {
        None => Vec::new(),
        Some(Value::Object(c)) => parse_conditions(
            c,
            &format!("{path}/Condition"),
            (path != "/Statement").then_some(index),
            variables,
        )?,
        Some(_) => {
            return Err(invalid(
                &format!("{path}/Condition"),
                "`Condition` must be an object",
            ))
        }
    };
    Ok(Statement {
        index,
        in_array: path != "/Statement",
        sid,
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

/// A string or a non-empty array of strings.
fn string_list<'a>(value: &'a Value, path: &str, what: &str) -> Result<Vec<&'a str>, PolicyError> {
    match value {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().ok_or_else(|| {
                    invalid(&format!("{path}/{i}"), format!("{what} must be a string"))
                })
            })
            .collect(),
        Value::Array(_) => Err(invalid(path, format!("{what} list is empty"))),
        _ => Err(invalid(
            path,
            format!("{what} must be a string or an array of strings"),
        )),
    }
}

fn parse_principal(value: &Value, path: &str) -> Result<PrincipalSet, PolicyError> {
    let mut set = PrincipalSet::default();
    match value {
        Value::String(s) if s == "*" => {
            set.everyone = true;
            return Ok(set);
        }
        Value::Object(map) if !map.is_empty() => {
            for (kind, v) in map {
                let kpath = format!("{path}/{}", pointer_segment(kind));
                let values = string_list(v, &kpath, "a principal")?;
                match kind.as_str() {
                    "AWS" => {
                        for (i, p) in values.iter().enumerate() {
                            let vpath = if v.is_array() { format!("{kpath}/{i}") } else { kpath.clone() };
                            match parse_aws_principal(p) {
                                Some(None) => set.everyone = true,
                                Some(Some(principal)) => set.aws.push(principal),
                                None => {
                                    return Err(invalid(
                                        &vpath,
                                        format!("invalid AWS principal `{p}`: expected `*`, a 12-digit account id, or an IAM ARN with a 12-digit account"),
                                    ))
                                }
                            }
                        }
                    }
                    "Service" => {
                        for (i, p) in values.iter().enumerate() {
                            if p.is_empty() {
                                return Err(invalid(&format!("{kpath}/{i}"), "empty service principal"));
                            }
                            set.service.push((*p).to_string());
                        }
                    }
                    "Federated" => set.federated.extend(values.iter().map(|s| s.to_string())),
                    "CanonicalUser" => set.canonical_user.extend(values.iter().map(|s| s.to_string())),
                    other => {
                        return Err(invalid(
                            &kpath,
                            format!("unknown principal type `{other}`: expected `AWS`, `Service`, `Federated` or `CanonicalUser`"),
                        ))
                    }
                }
            }
        }
        _ => {
            return Err(invalid(
                path,
                "a principal must be `*` or an object such as {\"AWS\": ...} or {\"Service\": ...}",
            ))
        }
    }
    Ok(set)
}

/// `Some(None)` for `*`, `Some(Some(p))` for a valid principal, `None` for an invalid one.
fn parse_aws_principal(text: &str) -> Option<Option<AwsPrincipal>> {
    if text == "*" {
        return Some(None);
    }
    if is_account_id(text) {
        return Some(Some(AwsPrincipal::Account {
            account: Text::new(text),
        }));
    }
    let parts = super::value::split_arn(text)?;
    let [_, partition, service, region, account, resource] = parts;
    if partition.is_empty() || !region.is_empty() || !is_account_id(account) || resource.is_empty()
    {
        return None;
    }
    match service {
        "iam" if resource == "root" => Some(Some(AwsPrincipal::Account {
            account: Text::new(account),
        })),
        "iam" | "sts" => Some(Some(AwsPrincipal::Arn {
            arn: text.to_string(),
            account: Text::new(account),
        })),
        _ => None,
    }
}

fn parse_actions(value: &Value, path: &str) -> Result<Vec<Pattern>, PolicyError> {
    let list = string_list(value, path, "an action")?;
    list.iter()
        .enumerate()
        .map(|(i, a)| {
            if valid_action(a) {
                Ok(Pattern::new(a, true))
            } else {
                let p = if value.is_array() {
                    format!("{path}/{i}")
                } else {
                    path.to_string()
                };
                Err(invalid(
                    &p,
                    format!("invalid action `{a}`: expected `service:Action` or `*`"),
                ))
            }
        })
        .collect()
}

/// `*` or `service:Action` (both parts non-empty).
fn valid_action(a: &str) -> bool {
    a == "*"
        || a.split_once(':')
            .is_some_and(|(s, n)| !s.is_empty() && !n.is_empty())
}

fn parse_resources(
    value: &Value,
    path: &str,
    variables: bool,
) -> Result<Vec<ResourceValue>, PolicyError> {
    let list = string_list(value, path, "a resource")?;
    list.iter()
        .map(|r| {
            let template = Template::parse(r, variables).map_err(|m| invalid(path, m))?;
            let pattern = (!template.has_variables()).then(|| Pattern::new(r, false));
            Ok(ResourceValue { template, pattern })
        })
        .collect()
}

fn parse_conditions(
    map: &Map<String, Value>,
    path: &str,
    statement: Option<usize>,
    variables: bool,
) -> Result<Vec<Condition>, PolicyError> {
    let mut out = Vec::new();
    for (op_name, block) in map {
        let op_path = format!("{path}/{}", pointer_segment(op_name));
        let operator =
            ConditionOperator::parse(op_name).ok_or_else(|| PolicyError::UnknownOperator {
                path: op_path.clone(),
                operator: op_name.clone(),
            })?;
        if operator.base == BaseOperator::Null && operator.if_exists {
            return Err(invalid(
                &op_path,
                "`Null` cannot be combined with `IfExists`",
            ));
        }
        let keys = block.as_object().ok_or_else(|| {
            invalid(
                &op_path,
                "a condition operator must map condition keys to values",
            )
        })?;
        if keys.is_empty() {
            return Err(invalid(
                &op_path,
                "a condition operator needs at least one condition key",
            ));
        }
        for (key_name, raw) in keys {
            let key_path = format!("{op_path}/{}", pointer_segment(key_name));
            if operator.set.is_some() && is_single_valued_context_key(key_name) {
                // KMS rejects a set operator on a single-valued encryption context key.
                return Err(invalid(
                    &key_path,
                    format!("`{}` cannot be used with the single-valued key `{key_name}`; use `kms:EncryptionContextKeys` or drop the set operator", op_name.split(':').next().unwrap_or(op_name)),
                ));
            }
            let raw_values = scalar_list(raw, &key_path)?;
            let values = raw_values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let vpath = if raw.is_array() {
                        format!("{key_path}/{i}")
                    } else {
                        key_path.clone()
                    };
                    compile_value(&operator, v, &vpath, variables)
                })
                .collect::<Result<Vec<_>, _>>()?;
            out.push(Condition::new(
                operator, key_name, values, raw_values, statement,
            ));
        }
    }
    Ok(out)
}

/// `kms:EncryptionContext:<context-key>` holds one value per request (any case).
fn is_single_valued_context_key(key: &str) -> bool {
    const PREFIX: &str = "kms:encryptioncontext:";
    key.len() > PREFIX.len()
        && key
            .get(..PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(PREFIX))
}

/// Condition values: a scalar or a non-empty array of scalars, as strings.
fn scalar_list(value: &Value, path: &str) -> Result<Vec<String>, PolicyError> {
    let scalar = |v: &Value, p: &str| -> Result<String, PolicyError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(invalid(
                p,
                "a condition value must be a string, number or boolean",
            )),
        }
    };
    match value {
        Value::Array(items) if items.is_empty() => {
            Err(invalid(path, "a condition key needs at least one value"))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| scalar(v, &format!("{path}/{i}")))
            .collect(),
        other => Ok(vec![scalar(other, path)?]),
    }
}

fn compile_value(
    operator: &ConditionOperator,
    raw: &str,
    path: &str,
    variables: bool,
) -> Result<ConditionValue, PolicyError> {
    let base = operator.base;
    Ok(match base.family() {
        OperatorFamily::String | OperatorFamily::Arn => {
            let template = Template::parse(raw, variables).map_err(|m| invalid(path, m))?;
            let plain = !template.has_variables();
            let pattern = (plain
                && matches!(base, BaseOperator::StringLike | BaseOperator::StringNotLike))
            .then(|| Pattern::new(raw, false));
            let arn = (plain && base.family() == OperatorFamily::Arn).then(|| ArnPattern::new(raw));
            ConditionValue::Text {
                template,
                pattern,
                arn,
            }
        }
        OperatorFamily::Numeric => ConditionValue::Number(
            raw.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| invalid(path, format!("`{raw}` is not a number")))?,
        ),
        OperatorFamily::Date => ConditionValue::Date(parse_date(raw).ok_or_else(|| {
            invalid(
                path,
                format!("`{raw}` is not an ISO 8601 date or epoch seconds"),
            )
        })?),
        OperatorFamily::Bool | OperatorFamily::Null => ConditionValue::Bool(
            parse_bool(raw)
                .ok_or_else(|| invalid(path, format!("`{raw}` is not `true` or `false`")))?,
        ),
        OperatorFamily::Binary => ConditionValue::Binary(
            base64::engine::general_purpose::STANDARD
                .decode(raw.trim())
                .map_err(|_| invalid(path, format!("`{raw}` is not base64")))?,
        ),
        OperatorFamily::Ip => ConditionValue::Cidr(Cidr::parse(raw).ok_or_else(|| {
            invalid(
                path,
                format!("`{raw}` is not an IPv4 or IPv6 address or CIDR"),
            )
        })?),
    })
}

/// IAM compares booleans case-insensitively.
pub(crate) fn parse_bool(raw: &str) -> Option<bool> {
    if raw.eq_ignore_ascii_case("true") {
        Some(true)
    } else if raw.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}
