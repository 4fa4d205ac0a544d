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
use std::borrow::Cow;

/// Nesting deeper than this goes to the slow path (a valid policy nests 6 levels at most).
const MAX_DEPTH: usize = 32;

/// One JSON value of a document, stored flat in pre-order. Strings borrow from the text when
/// they have no escapes; containers record where their last descendant ends, so a parse makes
/// one allocation for the whole tree (plus one per escaped string).
#[derive(Debug)]
enum Node<'a> {
    Null,
    Bool(bool),
    /// A canonical integer of at most 18 digits, as written (what `serde_json::Number` prints).
    Number(&'a str),
    Str(Cow<'a, str>),
    /// Children follow in order; `end` is the index after the last descendant.
    Array {
        end: u32,
    },
    /// Children alternate key (`Str`) and value.
    Object {
        end: u32,
    },
}

/// A hand-written JSON reader that accepts a strict subset of what `serde_json` accepts:
/// anything else (fractional or huge numbers, `-0`, surrogate escapes, deep nesting, invalid
/// JSON) is `None`, and the slow path reads the text again with `serde_json`.
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
    nodes: Vec<Node<'a>>,
}

impl<'a> Scanner<'a> {
    fn read(text: &'a str) -> Option<Vec<Node<'a>>> {
        let mut s = Scanner {
            text,
            pos: 0,
            // About one node per 16 bytes of pretty-printed policy.
            nodes: Vec::with_capacity(text.len() / 12 + 4),
        };
        s.whitespace();
        s.value(0)?;
        s.whitespace();
        (s.pos == text.len()).then_some(s.nodes)
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// JSON whitespace, exactly as `serde_json` skips it.
    fn whitespace(&mut self) {
        let rest = self.text.as_bytes().get(self.pos..).unwrap_or_default();
        self.pos += rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\n' | b'\t' | b'\r'))
            .count();
    }

    fn literal(&mut self, word: &str, node: Node<'a>) -> Option<()> {
        let rest = self.text.as_bytes().get(self.pos..)?;
        if !rest.starts_with(word.as_bytes()) {
            return None;
        }
        self.pos += word.len();
        self.nodes.push(node);
        Some(())
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => {
                let s = self.string()?;
                self.nodes.push(Node::Str(s));
            }
            b'{' => self.container(depth, b'}')?,
            b'[' => self.container(depth, b']')?,
            b't' => self.literal("true", Node::Bool(true))?,
            b'f' => self.literal("false", Node::Bool(false))?,
            b'n' => self.literal("null", Node::Null)?,
            b'-' | b'0'..=b'9' => {
                let n = self.number()?;
                self.nodes.push(Node::Number(n));
            }
            _ => return None,
        }
        Some(())
    }

    /// An object (`close` = `}`) or array (`close` = `]`); `pos` is at the opening bracket.
    fn container(&mut self, depth: usize, close: u8) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        let object = close == b'}';
        let at = self.nodes.len();
        self.nodes.push(Node::Null);
        self.pos += 1;
        self.whitespace();
        if self.peek()? == close {
            self.pos += 1;
        } else {
            loop {
                self.whitespace();
                if object {
                    if self.peek()? != b'"' {
                        return None;
                    }
                    let key = self.string()?;
                    self.nodes.push(Node::Str(key));
                    self.whitespace();
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.pos += 1;
                    self.whitespace();
                }
                self.value(depth + 1)?;
                self.whitespace();
                let next = self.peek()?;
                self.pos += 1;
                if next == close {
                    break;
                }
                if next != b',' {
                    return None;
                }
            }
        }
        let end = u32::try_from(self.nodes.len()).ok()?;
        *self.nodes.get_mut(at)? = if object {
            Node::Object { end }
        } else {
            Node::Array { end }
        };
        Some(())
    }

    /// A string; `pos` is at the opening quote.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.pos += 1;
        let start = self.pos;
        let rest = self.text.as_bytes().get(start..)?;
        let len = memchr::memchr2(b'"', b'\\', rest)?;
        // Control characters must be escaped.
        if rest.get(..len)?.iter().any(|&b| b < 0x20) {
            return None;
        }
        self.pos = start + len;
        if rest.get(len) == Some(&b'"') {
            let s = self.text.get(start..self.pos)?;
            self.pos += 1;
            Some(Cow::Borrowed(s))
        } else {
            self.escaped(start).map(Cow::Owned)
        }
    }

    /// The rest of a string that has escapes; `pos` is at the first backslash.
    fn escaped(&mut self, start: usize) -> Option<String> {
        let mut out = String::from(self.text.get(start..self.pos)?);
        loop {
            let run = self.pos;
            while !matches!(self.peek()?, b'"' | b'\\' | 0..=0x1f) {
                self.pos += 1;
            }
            out.push_str(self.text.get(run..self.pos)?);
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return Some(out);
                }
                b'\\' => {
                    let esc = *self.text.as_bytes().get(self.pos + 1)?;
                    self.pos += 2;
                    out.push(match esc {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hex = self.text.get(self.pos..self.pos + 4)?;
                            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                                return None;
                            }
                            self.pos += 4;
                            // Surrogates (pairs or lone) are left to serde_json.
                            char::from_u32(u32::from_str_radix(hex, 16).ok()?)?
                        }
                        _ => return None,
                    });
                }
                _ => return None,
            }
        }
    }

    /// An integer `serde_json` keeps as `u64`/`i64` and prints as written: no fraction or
    /// exponent, no `-0`, at most 18 digits. Anything else goes to the slow path.
    fn number(&mut self) -> Option<&'a str> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let digits = self.pos;
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => {
                while matches!(self.peek(), Some(b'0'..=b'9')) {
                    self.pos += 1;
                }
            }
            _ => return None,
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) || self.pos - digits > 18 {
            return None;
        }
        let n = self.text.get(start..self.pos)?;
        (n != "-0").then_some(n)
    }
}

/// A node of a read document.
#[derive(Clone, Copy)]
struct NodeRef<'t, 'a> {
    nodes: &'t [Node<'a>],
    at: usize,
}

impl<'t, 'a> NodeRef<'t, 'a> {
    fn node(self) -> Option<&'t Node<'a>> {
        self.nodes.get(self.at)
    }

    fn as_str(self) -> Option<&'t str> {
        match self.node()? {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Index of the next sibling.
    fn skip(self) -> usize {
        match self.node() {
            Some(Node::Array { end } | Node::Object { end }) => *end as usize,
            _ => self.at + 1,
        }
    }

    /// The items of an array, or `None` when this is not an array.
    fn items(self) -> Option<Children<'t, 'a>> {
        match self.node()? {
            Node::Array { end } => Some(self.children(*end)),
            _ => None,
        }
    }

    fn children(self, end: u32) -> Children<'t, 'a> {
        Children {
            nodes: self.nodes,
            at: self.at + 1,
            end: end as usize,
        }
    }
}

/// The children of a container, in order.
#[derive(Clone)]
struct Children<'t, 'a> {
    nodes: &'t [Node<'a>],
    at: usize,
    end: usize,
}

impl<'t, 'a> Iterator for Children<'t, 'a> {
    type Item = NodeRef<'t, 'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.end {
            return None;
        }
        let item = NodeRef {
            nodes: self.nodes,
            at: self.at,
        };
        self.at = item.skip();
        Some(item)
    }
}

/// The entries of an object, in order.
#[derive(Clone)]
struct Entries<'t, 'a>(Children<'t, 'a>);

impl<'t, 'a> Iterator for Entries<'t, 'a> {
    type Item = (&'t str, NodeRef<'t, 'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let key = self.0.next()?.as_str()?;
        Some((key, self.0.next()?))
    }
}

impl Entries<'_, '_> {
    fn is_empty(&self) -> bool {
        self.0.at >= self.0.end
    }
}

/// Objects larger than this go to the slow path (the duplicate-key check is quadratic).
const MAX_FAST_KEYS: usize = 32;

/// The object's entries, or `None` when it is not an object or repeats a key (the slow path
/// keeps the first position and the last value, as `serde_json::Map` does).
fn object<'t, 'a>(node: NodeRef<'t, 'a>) -> Option<Entries<'t, 'a>> {
    let Node::Object { end } = node.node()? else {
        return None;
    };
    let entries = Entries(node.children(*end));
    let mut seen: [&str; MAX_FAST_KEYS] = [""; MAX_FAST_KEYS];
    for (i, (k, _)) in entries.clone().enumerate() {
        let earlier = seen.get(..i)?;
        if earlier.contains(&k) {
            return None;
        }
        *seen.get_mut(i)? = k;
    }
    Some(entries)
}

fn get<'t, 'a>(entries: Entries<'t, 'a>, key: &str) -> Option<NodeRef<'t, 'a>> {
    entries.into_iter().find(|(k, _)| *k == key).map(|(_, v)| v)
}

/// `Some(Ok)` / `Some(Err)` is the answer; `None` means "ask the slow path".
pub(super) fn parse(text: &str, kind: PolicyKind) -> Option<Result<Policy, super::PolicyError>> {
    let nodes = Scanner::read(text)?;
    let root = NodeRef {
        nodes: &nodes,
        at: 0,
    };
    let Node::Object { end } = root.node()? else {
        return None;
    };
    // `aws kms get-key-policy` output: parse the inner document (which may take either path).
    if get(Entries(root.children(*end)), "Statement").is_none() {
        if let Some(inner) = object(root).and_then(|m| get(m, "Policy")) {
            if let Some(Node::Str(inner)) = inner.node() {
                return Some(super::parse_document(inner, kind));
            }
        }
    }
    if text.len() > MAX_POLICY_BYTES {
        return None;
    }
    let map = object(root)?;
    let mut version = PolicyVersion::Absent;
    let mut id = None;
    let mut statement_node = None;
    for (k, v) in map {
        match k {
            "Version" => {
                version = match v.as_str()? {
                    "2012-10-17" => PolicyVersion::V2012_10_17,
                    "2008-10-17" => PolicyVersion::V2008_10_17,
                    _ => return None,
                }
            }
            "Id" => id = Some(v.as_str()?.to_string()),
            "Statement" => statement_node = Some(v),
            _ => return None,
        }
    }
    let statement_node = statement_node?;
    let statements = match statement_node.node()? {
        Node::Object { .. } => vec![statement(
            statement_node,
            0,
            "/Statement".into(),
            version,
            kind,
        )?],
        Node::Array { .. } => {
            let items = statement_node.items()?;
            let mut out = Vec::with_capacity(items.clone().count());
            for (i, item) in items.enumerate() {
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
    node: NodeRef<'_, '_>,
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
        match k {
            "Sid" => sid = Some(v.as_str()?.to_string()),
            "Effect" => {
                effect = Some(match v.as_str()? {
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
fn string_list<'t>(node: NodeRef<'t, '_>) -> Option<Vec<&'t str>> {
    match node.node()? {
        Node::Str(s) => Some(vec![s.as_ref()]),
        Node::Array { end } if *end as usize > node.at + 1 => {
            node.items()?.map(NodeRef::as_str).collect()
        }
        _ => None,
    }
}

fn principal_set(node: NodeRef<'_, '_>) -> Option<PrincipalSet> {
    let mut set = PrincipalSet::default();
    if let Node::Str(s) = node.node()? {
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
        match kind {
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

fn actions(node: NodeRef<'_, '_>) -> Option<Vec<Pattern>> {
    string_list(node)?
        .into_iter()
        .map(|a| valid_action(a).then(|| Pattern::new(a, true)))
        .collect()
}

fn resources(node: NodeRef<'_, '_>, variables: bool) -> Option<Vec<ResourceValue>> {
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

fn conditions(
    node: NodeRef<'_, '_>,
    statement_path: &str,
    variables: bool,
) -> Option<Vec<Condition>> {
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
fn scalar_list(node: NodeRef<'_, '_>) -> Option<Vec<String>> {
    let scalar = |v: NodeRef<'_, '_>| match v.node()? {
        Node::Str(s) => Some(s.to_string()),
        Node::Bool(b) => Some(b.to_string()),
        Node::Number(n) => Some((*n).to_string()),
        _ => None,
    };
    match node.node()? {
        Node::Array { end } if *end as usize == node.at + 1 => None,
        Node::Array { .. } => node.items()?.map(scalar).collect(),
        _ => Some(vec![scalar(node)?]),
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
    fn escaped_strings_and_integers_match_the_slow_path() {
        let text = r#"{"Version": "2012-10-17", "Statement": {"Sid": "a\"b/~\u00e9\/", "Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"NumericLessThan": {"a/b~c": [1, 0, -3, 123456789012345678]}, "Bool": {"aws:SecureTransport": true}}}}"#;
        let fast = parse(text, PolicyKind::KeyPolicy).unwrap().unwrap();
        let slow = super::super::parse_slow(text, PolicyKind::KeyPolicy).unwrap();
        assert_eq!(
            format!("{:?}", fast.statements),
            format!("{:?}", slow.statements)
        );
        assert_eq!(*fast.document, *slow.document);
        assert_eq!(fast.statements[0].sid.as_deref(), Some("a\"b/~\u{e9}/"));
        assert_eq!(
            fast.statements[0].conditions[0].path,
            "/Statement/Condition/NumericLessThan/a~1b~0c"
        );
    }

    #[test]
    fn numbers_serde_json_prints_differently_go_to_the_slow_path() {
        for n in ["2.5", "1e2", "-0", "1234567890123456789", "1E2", "0.0"] {
            let text = format!(
                r#"{{"Statement": {{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*", "Condition": {{"NumericLessThan": {{"k": {n}}}}}}}}}"#
            );
            assert!(parse(&text, PolicyKind::KeyPolicy).is_none(), "{n}");
            // The slow path reads them as serde_json prints them.
            let p = super::super::parse_document(&text, PolicyKind::KeyPolicy).unwrap();
            let expected = serde_json::from_str::<serde_json::Value>(n)
                .unwrap()
                .to_string();
            assert_eq!(p.statements[0].conditions[0].raw_values, [expected]);
        }
    }

    /// The tree as a `serde_json::Value`, to compare with what serde_json reads.
    fn to_value(r: NodeRef<'_, '_>) -> serde_json::Value {
        use serde_json::Value;
        match r.node().unwrap() {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => serde_json::from_str(n).unwrap(),
            Node::Str(s) => Value::String(s.to_string()),
            Node::Array { .. } => Value::Array(r.items().unwrap().map(to_value).collect()),
            Node::Object { end } => Value::Object(
                Entries(r.children(*end))
                    .map(|(k, v)| (k.to_string(), to_value(v)))
                    .collect(),
            ),
        }
    }

    /// The scanner accepts a subset of what serde_json accepts, and reads it the same way.
    #[test]
    fn scanner_accepts_only_what_serde_json_reads_the_same() {
        let cases = [
            // Accepted.
            (r#"{}"#, true),
            (r#"[]"#, true),
            (
                " \t\r\n{\"a\" : [ 1 , true,false , null, \"x\" ] } \n",
                true,
            ),
            (
                r#"{"a": {"b": {"c": []}}, "d": "\u0041\n\t\\\"\/\b\f\r"}"#,
                true,
            ),
            (r#""é ☃ \u00e9""#, true),
            (r#"-12"#, true),
            (r#"0"#, true),
            // Left to serde_json, which accepts them.
            (r#"1.5"#, false),
            (r#"1e5"#, false),
            (r#"-0"#, false),
            (r#"12345678901234567890"#, false),
            (r#""\ud83d\ude00""#, false),
            // Invalid JSON: both reject.
            (r#""#, false),
            (r#"{"#, false),
            (r#"{"a":1,}"#, false),
            (r#"[1,]"#, false),
            (r#"[1 2]"#, false),
            (r#"{"a" 1}"#, false),
            (r#"{a: 1}"#, false),
            (r#"01"#, false),
            (r#"-"#, false),
            (r#"- 1"#, false),
            (r#"tru"#, false),
            (r#"truex"#, false),
            (r#"nul"#, false),
            (r#"{} {}"#, false),
            ("\"a\u{1}b\"", false),
            ("\"a\tb\"", false),
            (r#""\x""#, false),
            (r#""\u12g4""#, false),
            (r#""abc"#, false),
            (r#""abc\"#, false),
            ("\u{feff}{}", false),
            ("{}\u{a0}", false),
        ];
        for (text, accepted) in cases {
            let read = Scanner::read(text);
            assert_eq!(read.is_some(), accepted, "{text:?}");
            if let Some(nodes) = read {
                let expected: serde_json::Value = serde_json::from_str(text).unwrap();
                assert_eq!(
                    to_value(NodeRef {
                        nodes: &nodes,
                        at: 0
                    }),
                    expected,
                    "{text:?}"
                );
            }
        }
        // Deep nesting goes to serde_json (which stops at 128) without recursing further.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(Scanner::read(&deep).is_none());
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(Scanner::read(&ok).is_some());
    }
}
