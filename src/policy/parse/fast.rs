//! The fast path of the parser: borrowed JSON straight into the model, no JSON pointers.
//!
//! It mirrors the checks of the slow path in `parse.rs` one for one but never builds an error:
//! on anything the slow path would reject, or anything unusual (duplicate object keys, a
//! document over the size limit), it gives up with `None` and the slow path parses the text
//! again to name the problem. So errors stay exactly as before and cost nothing when there are
//! none.

use super::super::err::{pointer_segment, MAX_POLICY_BYTES};
use super::super::value::Template;
use super::super::{
    ActionElement, BaseOperator, Condition, ConditionOperator, Effect, Pattern, Policy, PolicyKind,
    PolicyVersion, PrincipalElement, PrincipalSet, ResourceElement, ResourceValue, Statement,
};
use super::{
    compile_value, is_single_valued_context_key, parse_aws_principal, valid_action, Document,
};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// A JSON value whose strings borrow from the text when they have no escapes.
#[derive(Debug)]
pub(super) enum Node<'a> {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    Str(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

impl<'de> de::Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node<'de>, E> {
        // As `serde_json::Value` does.
        Ok(serde_json::Number::from_f64(v).map_or(Node::Null, Node::Number))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node<'de>, E> {
        Ok(Node::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Node<'de>, E> {
        Ok(Node::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        // serde_json gives no size hint; start big enough for most policy arrays.
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        // A statement has up to 6 keys in practice.
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(6));
        while let Some(key) = map.next_key_seed(KeySeed)? {
            entries.push((key, map.next_value()?));
        }
        Ok(Node::Object(entries))
    }
}

struct KeySeed;

impl<'de> de::DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

type Entries<'a> = [(Cow<'a, str>, Node<'a>)];

/// Objects larger than this go to the slow path (the duplicate-key check is quadratic).
const MAX_FAST_KEYS: usize = 32;

/// The object's entries, or `None` when it is not an object or repeats a key (the slow path
/// keeps the first position and the last value, as `serde_json::Map` does).
fn object<'n, 'a>(node: &'n Node<'a>) -> Option<&'n Entries<'a>> {
    let Node::Object(entries) = node else {
        return None;
    };
    if entries.len() > MAX_FAST_KEYS {
        return None;
    }
    for (i, (k, _)) in entries.iter().enumerate() {
        if entries.iter().skip(i + 1).any(|(o, _)| o == k) {
            return None;
        }
    }
    Some(entries)
}

fn get<'n, 'a>(entries: &'n Entries<'a>, key: &str) -> Option<&'n Node<'a>> {
    entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn as_str<'n>(node: &'n Node<'_>) -> Option<&'n str> {
    match node {
        Node::Str(s) => Some(s),
        _ => None,
    }
}

/// `Some(Ok)` / `Some(Err)` is the answer; `None` means "ask the slow path".
pub(super) fn parse(text: &str, kind: PolicyKind) -> Option<Result<Policy, super::PolicyError>> {
    let root: Node = serde_json::from_str(text).ok()?;
    let Node::Object(top) = &root else {
        return None;
    };
    // `aws kms get-key-policy` output: parse the inner document (which may take either path).
    if get(top, "Statement").is_none() {
        if let Some(Node::Str(inner)) = object(&root).and_then(|m| get(m, "Policy")) {
            return Some(super::parse_document(inner, kind));
        }
    }
    if text.len() > MAX_POLICY_BYTES {
        return None;
    }
    let map = object(&root)?;
    let mut version = PolicyVersion::Absent;
    let mut id = None;
    let mut statement_node = None;
    for (k, v) in map {
        match k.as_ref() {
            "Version" => {
                version = match as_str(v)? {
                    "2012-10-17" => PolicyVersion::V2012_10_17,
                    "2008-10-17" => PolicyVersion::V2008_10_17,
                    _ => return None,
                }
            }
            "Id" => id = Some(as_str(v)?.to_string()),
            "Statement" => statement_node = Some(v),
            _ => return None,
        }
    }
    let statements = match statement_node? {
        node @ Node::Object(_) => vec![statement(node, 0, "/Statement".into(), version, kind)?],
        Node::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(statement(
                    item,
                    i,
                    format!("/Statement/{i}"),
                    version,
                    kind,
                )?);
            }
            out
        }
        _ => return None,
    };
    // Duplicate Sids: the slow path names the second one.
    let sids: Vec<&str> = statements
        .iter()
        .filter_map(|s| s.sid.as_deref())
        .filter(|s| !s.is_empty())
        .collect();
    if sids.len() > 64 {
        let mut sorted = sids.clone();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w.first() == w.get(1)) {
            return None;
        }
    } else if sids
        .iter()
        .enumerate()
        .any(|(i, s)| sids.iter().skip(i + 1).any(|o| o == s))
    {
        return None;
    }
    Some(Ok(Policy {
        version,
        id,
        statements,
        document: Document::from_text(text),
        size: text.len(),
    }))
}

fn statement(
    node: &Node<'_>,
    index: usize,
    path: String,
    version: PolicyVersion,
    kind: PolicyKind,
) -> Option<Statement> {
    let map = object(node)?;
    let mut sid = None;
    let mut effect = None;
    let mut principal = None;
    let mut not_principal = None;
    let mut action = None;
    let mut not_action = None;
    let mut resource = None;
    let mut not_resource = None;
    let mut condition = None;
    for (k, v) in map {
        match k.as_ref() {
            "Sid" => sid = Some(as_str(v)?.to_string()),
            "Effect" => {
                effect = Some(match as_str(v)? {
                    "Allow" => Effect::Allow,
                    "Deny" => Effect::Deny,
                    _ => return None,
                })
            }
            "Principal" => principal = Some(v),
            "NotPrincipal" => not_principal = Some(v),
            "Action" => action = Some(v),
            "NotAction" => not_action = Some(v),
            "Resource" => resource = Some(v),
            "NotResource" => not_resource = Some(v),
            "Condition" => condition = Some(v),
            _ => return None,
        }
    }
    let effect = effect?;
    let principal = match (principal, not_principal) {
        (Some(_), Some(_)) => return None,
        (Some(p), None) => Some(PrincipalElement::Principal(principal_set(p)?)),
        (None, Some(p)) => Some(PrincipalElement::NotPrincipal(principal_set(p)?)),
        (None, None) => None,
    };
    match (kind, &principal) {
        (PolicyKind::KeyPolicy, None) | (PolicyKind::Identity, Some(_)) => return None,
        _ => {}
    }
    let action = match (action, not_action) {
        (Some(a), None) => ActionElement::Action(actions(a)?),
        (None, Some(a)) => ActionElement::NotAction(actions(a)?),
        _ => return None,
    };
    let variables = version.supports_variables();
    let resource = match (resource, not_resource) {
        (Some(r), None) => Some(ResourceElement::Resource(resources(r, variables)?)),
        (None, Some(r)) => Some(ResourceElement::NotResource(resources(r, variables)?)),
        _ => return None,
    };
    let conditions = match condition {
        None => Vec::new(),
        Some(c) => conditions(c, &path, variables)?,
    };
    Some(Statement {
        index,
        path,
        sid,
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

/// A string or a non-empty array of strings.
fn string_list<'n>(node: &'n Node<'_>) -> Option<Vec<&'n str>> {
    match node {
        Node::Str(s) => Some(vec![s.as_ref()]),
        Node::Array(items) if !items.is_empty() => items.iter().map(as_str).collect(),
        _ => None,
    }
}

fn principal_set(node: &Node<'_>) -> Option<PrincipalSet> {
    let mut set = PrincipalSet::default();
    if let Node::Str(s) = node {
        return (s == "*").then(|| {
            set.everyone = true;
            set
        });
    }
    let map = object(node)?;
    if map.is_empty() {
        return None;
    }
    for (kind, v) in map {
        let values = string_list(v)?;
        match kind.as_ref() {
            "AWS" => {
                for p in values {
                    match parse_aws_principal(p)? {
                        None => set.everyone = true,
                        Some(principal) => set.aws.push(principal),
                    }
                }
            }
            "Service" => {
                for p in values {
                    if p.is_empty() {
                        return None;
                    }
                    set.service.push(p.to_string());
                }
            }
            "Federated" => set.federated.extend(values.iter().map(|s| s.to_string())),
            "CanonicalUser" => set
                .canonical_user
                .extend(values.iter().map(|s| s.to_string())),
            _ => return None,
        }
    }
    Some(set)
}

fn actions(node: &Node<'_>) -> Option<Vec<Pattern>> {
    string_list(node)?
        .into_iter()
        .map(|a| valid_action(a).then(|| Pattern::new(a, true)))
        .collect()
}

fn resources(node: &Node<'_>, variables: bool) -> Option<Vec<ResourceValue>> {
    string_list(node)?
        .into_iter()
        .map(|r| {
            let template = Template::parse(r, variables).ok()?;
            let pattern = (!template.has_variables()).then(|| Pattern::new(r, false));
            Some(ResourceValue { template, pattern })
        })
        .collect()
}

/// Appends one escaped JSON pointer segment.
fn push_segment(path: &mut String, segment: &str) {
    path.push('/');
    if segment.bytes().any(|b| b == b'~' || b == b'/') {
        path.push_str(&pointer_segment(segment));
    } else {
        path.push_str(segment);
    }
}

fn conditions(node: &Node<'_>, statement_path: &str, variables: bool) -> Option<Vec<Condition>> {
    let map = object(node)?;
    let mut out = Vec::new();
    for (op_name, block) in map {
        let operator = ConditionOperator::parse(op_name)?;
        if operator.base == BaseOperator::Null && operator.if_exists {
            return None;
        }
        let keys = object(block)?;
        if keys.is_empty() {
            return None;
        }
        for (key_name, raw) in keys {
            let key = key_name.to_ascii_lowercase();
            if operator.set.is_some() && is_single_valued_context_key(&key) {
                return None;
            }
            let raw_values = scalar_list(raw)?;
            let values = raw_values
                .iter()
                .map(|v| compile_value(&operator, v, "", variables).ok())
                .collect::<Option<Vec<_>>>()?;
            let mut path = String::with_capacity(
                statement_path.len() + "/Condition".len() + op_name.len() + key_name.len() + 2,
            );
            path.push_str(statement_path);
            path.push_str("/Condition");
            push_segment(&mut path, op_name);
            push_segment(&mut path, key_name);
            out.push(Condition {
                operator: operator.clone(),
                key_name: key_name.to_string(),
                key,
                values,
                raw_values,
                path,
            });
        }
    }
    Some(out)
}

/// Condition values: a scalar or a non-empty array of scalars, as strings.
fn scalar_list(node: &Node<'_>) -> Option<Vec<String>> {
    let scalar = |v: &Node<'_>| match v {
        Node::Str(s) => Some(s.to_string()),
        Node::Bool(b) => Some(b.to_string()),
        Node::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match node {
        Node::Array(items) if items.is_empty() => None,
        Node::Array(items) => items.iter().map(scalar).collect(),
        other => Some(vec![scalar(other)?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast_ok(text: &str) -> bool {
        matches!(parse(text, PolicyKind::KeyPolicy), Some(Ok(_)))
    }

    #[test]
    fn valid_policies_take_the_fast_path() {
        for text in [
            include_str!("../../../benches/data/typical.json"),
            include_str!("../../../events/policies/k1-compliant.json"),
            include_str!("../../../events/policies/k1-cross-account.json"),
            include_str!("../../../events/policies/k1-event-data-store.json"),
        ] {
            assert!(fast_ok(text), "{text}");
        }
        // get-key-policy output: the inner document.
        let wrapped = serde_json::json!({
            "Policy": include_str!("../../../benches/data/typical.json"),
            "PolicyName": "default"
        })
        .to_string();
        assert!(fast_ok(&wrapped));
    }

    #[test]
    fn errors_and_duplicate_keys_go_to_the_slow_path() {
        let stmt =
            r#"{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}"#;
        assert!(fast_ok(&format!(r#"{{"Statement": [{stmt}]}}"#)));
        // Duplicate keys: serde_json keeps the last value in the first position.
        let dup = r#"{"Statement": [{"Effect": "Deny", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]}"#;
        assert!(parse(dup, PolicyKind::KeyPolicy).is_none());
        let p = super::super::parse_document(dup, PolicyKind::KeyPolicy).unwrap();
        assert_eq!(p.statements[0].effect, Effect::Allow);
        for bad in [
            r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt"}]}"#,
            r#"{"Statement": [{"Effect": "Allow", "Principal": "x", "Action": "kms:Decrypt", "Resource": "*"}]}"#,
            r#"{"Statement": 1}"#,
            r#"[]"#,
            r#"{"Statement": [] "#,
        ] {
            assert!(parse(bad, PolicyKind::KeyPolicy).is_none(), "{bad}");
        }
    }

    #[test]
    fn escaped_strings_and_numbers_match_the_slow_path() {
        let text = r#"{"Version": "2012-10-17", "Statement": {"Sid": "a\"b/~", "Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"NumericLessThan": {"a/b~c": [1, 2.5, 1e2, -3]}, "Bool": {"aws:SecureTransport": true}}}}"#;
        let fast = parse(text, PolicyKind::KeyPolicy).unwrap().unwrap();
        let slow = super::super::parse_slow(text, PolicyKind::KeyPolicy).unwrap();
        assert_eq!(
            format!("{:?}", fast.statements),
            format!("{:?}", slow.statements)
        );
        assert_eq!(*fast.document, *slow.document);
        assert_eq!(
            fast.statements[0].conditions[0].path,
            "/Statement/Condition/NumericLessThan/a~1b~0c"
        );
    }
}
