//! The fast path of the parser: a small JSON scanner (no serde) reads the text into a flat node
//! array of byte ranges, and the model is built from that, with no JSON pointers.
//!
//! It mirrors the checks of the slow path in `parse.rs` one for one but never builds an error:
//! on anything the slow path would reject, or anything unusual (duplicate object keys, a
//! document over the size limit, JSON the scanner leaves to serde_json), it gives up with `None`
//! and the slow path parses the text again to name the problem. So errors stay exactly as
//! before and cost nothing when there are none.

use super::super::err::MAX_POLICY_BYTES;
use super::super::value::Template;
use super::super::{
    ActionElement, BaseOperator, Condition, ConditionOperator, Effect, Pattern, Policy, PolicyKind,
    PolicyVersion, PrincipalElement, PrincipalSet, ResourceElement, ResourceValue, Statement,
};
use super::{
    compile_value, is_single_valued_context_key, parse_aws_principal, valid_action, Document,
};
use std::cell::Cell;

/// Nesting deeper than this goes to the slow path (a valid policy nests 6 levels at most).
const MAX_DEPTH: usize = 32;

/// Texts longer than this are not scanned (a get-key-policy reply escapes the policy inside a
/// string, so it may be longer than the policy limit; anything bigger is rejected anyway).
const MAX_SCAN_BYTES: usize = 4 * MAX_POLICY_BYTES;

/// One JSON value of a document, stored flat in pre-order. Strings and numbers are byte ranges
/// of the text; containers record where their last descendant ends.
#[derive(Debug, Clone, Copy)]
enum Node {
    Null,
    Bool(bool),
    /// A canonical integer of at most 18 digits, as written (what `serde_json::Number` prints).
    Number {
        start: u32,
        end: u32,
    },
    /// A string without escapes: the text between the quotes.
    Str {
        start: u32,
        end: u32,
    },
    /// A string with escapes: an index into the decoded strings.
    Escaped(u32),
    /// Children follow in order; `end` is the index after the last descendant.
    Array {
        end: u32,
    },
    /// Children alternate key (a string) and value.
    Object {
        end: u32,
    },
}

thread_local! {
    /// The node buffer, reused by the next parse on this thread (a parse that finds it taken,
    /// e.g. the inner document of get-key-policy output, makes its own).
    static NODES: Cell<Vec<Node>> = const { Cell::new(Vec::new()) };
}

/// Reused buffers larger than this many nodes are freed rather than kept.
const MAX_KEPT_NODES: usize = 8192;

/// A document read by the scanner.
struct Doc<'a> {
    text: &'a str,
    nodes: Vec<Node>,
    escaped: Vec<String>,
}

impl Drop for Doc<'_> {
    fn drop(&mut self) {
        let mut nodes = std::mem::take(&mut self.nodes);
        if nodes.capacity() <= MAX_KEPT_NODES {
            nodes.clear();
            NODES.with(|cell| cell.set(nodes));
        }
    }
}

impl<'a> Doc<'a> {
    fn root(&self) -> NodeRef<'_> {
        NodeRef { doc: self, at: 0 }
    }
}

/// A hand-written JSON reader that accepts a strict subset of what `serde_json` accepts:
/// anything else (fractional or huge numbers, `-0`, surrogate escapes, deep nesting, invalid
/// JSON) is `None`, and the slow path reads the text again with `serde_json`.
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
    nodes: Vec<Node>,
    escaped: Vec<String>,
}

/// `u64` with every byte set to `b`.
const fn splat(b: u8) -> u64 {
    0x0101_0101_0101_0101 * b as u64
}

/// High bit set in each byte of `word` that is `"`, `\` or a control character (below 0x20).
/// Bits above the first such byte may be false positives; the lowest one is exact.
fn string_stops(word: u64) -> u64 {
    let zero = |v: u64| v.wrapping_sub(splat(1)) & !v & splat(0x80);
    let below_space = word.wrapping_sub(splat(0x20)) & !word & splat(0x80);
    below_space | zero(word ^ splat(b'"')) | zero(word ^ splat(b'\\'))
}

impl<'a> Scanner<'a> {
    fn read(text: &'a str) -> Option<Doc<'a>> {
        if text.len() > MAX_SCAN_BYTES {
            return None;
        }
        let mut s = Scanner {
            text,
            pos: 0,
            nodes: NODES.with(Cell::take),
            escaped: Vec::new(),
        };
        s.whitespace();
        let ok = s.value(0).is_some() && {
            s.whitespace();
            s.pos == text.len()
        };
        let doc = Doc {
            text,
            nodes: s.nodes,
            escaped: s.escaped,
        };
        ok.then_some(doc)
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

    fn literal(&mut self, word: &str, node: Node) -> Option<()> {
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
            b'"' => self.string()?,
            b'{' => self.container(depth, b'}')?,
            b'[' => self.container(depth, b']')?,
            b't' => self.literal("true", Node::Bool(true))?,
            b'f' => self.literal("false", Node::Bool(false))?,
            b'n' => self.literal("null", Node::Null)?,
            b'-' | b'0'..=b'9' => self.number()?,
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
                    self.string()?;
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
    fn string(&mut self) -> Option<()> {
        self.pos += 1;
        let start = self.pos;
        let bytes = self.text.as_bytes();
        // Eight bytes at a time up to the first quote, backslash or control character.
        let mut at = start;
        while let Some(chunk) = bytes.get(at..at + 8) {
            let word = u64::from_le_bytes(chunk.try_into().ok()?);
            let stops = string_stops(word);
            if stops != 0 {
                at += (stops.trailing_zeros() / 8) as usize;
                break;
            }
            at += 8;
        }
        while !matches!(bytes.get(at), Some(b'"' | b'\\' | 0..=0x1f) | None) {
            at += 1;
        }
        self.pos = at;
        match self.peek()? {
            b'"' => {
                self.pos += 1;
                self.nodes.push(Node::Str {
                    start: u32::try_from(start).ok()?,
                    end: u32::try_from(at).ok()?,
                });
            }
            b'\\' => {
                let decoded = self.escaped(start)?;
                let index = u32::try_from(self.escaped.len()).ok()?;
                self.escaped.push(decoded);
                self.nodes.push(Node::Escaped(index));
            }
            // Control characters must be escaped.
            _ => return None,
        }
        Some(())
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
    fn number(&mut self) -> Option<()> {
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
        if self.text.get(start..self.pos)? == "-0" {
            return None;
        }
        self.nodes.push(Node::Number {
            start: u32::try_from(start).ok()?,
            end: u32::try_from(self.pos).ok()?,
        });
        Some(())
    }
}

/// What a node is, with its text.
#[derive(Debug, Clone, Copy)]
enum View<'t> {
    Null,
    Bool(bool),
    Number(&'t str),
    Str(&'t str),
    Array,
    Object,
}

/// A node of a read document.
#[derive(Clone, Copy)]
struct NodeRef<'t> {
    doc: &'t Doc<'t>,
    at: usize,
}

impl<'t> NodeRef<'t> {
    fn node(self) -> Option<Node> {
        self.doc.nodes.get(self.at).copied()
    }

    fn text(self, start: u32, end: u32) -> Option<&'t str> {
        self.doc.text.get(start as usize..end as usize)
    }

    fn view(self) -> Option<View<'t>> {
        Some(match self.node()? {
            Node::Null => View::Null,
            Node::Bool(b) => View::Bool(b),
            Node::Number { start, end } => View::Number(self.text(start, end)?),
            Node::Str { start, end } => View::Str(self.text(start, end)?),
            Node::Escaped(i) => View::Str(self.doc.escaped.get(i as usize)?),
            Node::Array { .. } => View::Array,
            Node::Object { .. } => View::Object,
        })
    }

    fn as_str(self) -> Option<&'t str> {
        match self.view()? {
            View::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Index of the next sibling.
    fn skip(self) -> usize {
        match self.node() {
            Some(Node::Array { end } | Node::Object { end }) => end as usize,
            _ => self.at + 1,
        }
    }

    /// The items of an array, or `None` when this is not an array.
    fn items(self) -> Option<Children<'t>> {
        match self.node()? {
            Node::Array { end } => Some(self.children(end)),
            _ => None,
        }
    }

    /// True for an array without items.
    fn is_empty_array(self) -> bool {
        matches!(self.node(), Some(Node::Array { end }) if end as usize == self.at + 1)
    }

    fn children(self, end: u32) -> Children<'t> {
        Children {
            doc: self.doc,
            at: self.at + 1,
            end: end as usize,
        }
    }
}

/// The children of a container, in order.
#[derive(Clone)]
struct Children<'t> {
    doc: &'t Doc<'t>,
    at: usize,
    end: usize,
}

impl<'t> Iterator for Children<'t> {
    type Item = NodeRef<'t>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.end {
            return None;
        }
        let item = NodeRef {
            doc: self.doc,
            at: self.at,
        };
        self.at = item.skip();
        Some(item)
    }
}

/// The entries of an object, in order.
#[derive(Clone)]
struct Entries<'t>(Children<'t>);

impl<'t> Iterator for Entries<'t> {
    type Item = (&'t str, NodeRef<'t>);

    fn next(&mut self) -> Option<Self::Item> {
        let key = self.0.next()?.as_str()?;
        Some((key, self.0.next()?))
    }
}

impl Entries<'_> {
    fn is_empty(&self) -> bool {
        self.0.at >= self.0.end
    }
}

/// Objects larger than this go to the slow path (the duplicate-key check is quadratic).
const MAX_FAST_KEYS: usize = 32;

/// The object's entries, or `None` when it is not an object or repeats a key (the slow path
/// keeps the first position and the last value, as `serde_json::Map` does).
fn object(node: NodeRef<'_>) -> Option<Entries<'_>> {
    let entries = raw_entries(node)?;
    // The first keys are kept at hand; later ones (rare) walk the object again.
    let mut seen = [""; 8];
    for (i, (k, _)) in entries.clone().enumerate() {
        let repeated = match seen.get(..i) {
            Some(earlier) => earlier.contains(&k),
            None => i >= MAX_FAST_KEYS || entries.clone().take(i).any(|(e, _)| e == k),
        };
        if repeated {
            return None;
        }
        if let Some(slot) = seen.get_mut(i) {
            *slot = k;
        }
    }
    Some(entries)
}

/// The object's entries, duplicates included.
fn raw_entries(node: NodeRef<'_>) -> Option<Entries<'_>> {
    match node.node()? {
        Node::Object { end } => Some(Entries(node.children(end))),
        _ => None,
    }
}

fn get<'t>(mut entries: Entries<'t>, key: &str) -> Option<NodeRef<'t>> {
    entries.find(|(k, _)| *k == key).map(|(_, v)| v)
}

/// `Some(Ok)` / `Some(Err)` is the answer; `None` means "ask the slow path".
pub(super) fn parse(text: &str, kind: PolicyKind) -> Option<Result<Policy, super::PolicyError>> {
    let doc = Scanner::read(text)?;
    let root = doc.root();
    // `aws kms get-key-policy` output: parse the inner document (which may take either path).
    if get(raw_entries(root)?, "Statement").is_none() {
        if let Some(inner) = object(root).and_then(|m| get(m, "Policy")) {
            if let Some(View::Str(inner)) = inner.view() {
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
    let statements = match statement_node.view()? {
        View::Object => vec![statement(statement_node, 0, false, version, kind)?],
        View::Array => {
            let items = statement_node.items()?;
            let mut out = Vec::with_capacity(items.clone().count());
            for (i, item) in items.enumerate() {
                out.push(statement(item, i, true, version, kind)?);
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
    node: NodeRef<'_>,
    index: usize,
    in_array: bool,
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
        Some(c) => conditions(c, in_array.then_some(index), variables)?,
    };
    Some(Statement {
        index,
        in_array,
        sid,
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

/// A string or a non-empty array of strings.
fn string_list(node: NodeRef<'_>) -> Option<Values<'_>> {
    match node.view()? {
        View::Str(_) => Some(Values::one(node, NodeRef::as_str)),
        View::Array if !node.is_empty_array() => Some(Values::many(node, NodeRef::as_str)?),
        _ => None,
    }
}

/// A value or the items of an array, each read as text by `read` (`None`: not of the type).
#[derive(Clone)]
struct Values<'t> {
    nodes: OneOrMany<'t>,
    read: fn(NodeRef<'t>) -> Option<&'t str>,
}

#[derive(Clone)]
enum OneOrMany<'t> {
    One(Option<NodeRef<'t>>),
    Many(Children<'t>),
}

impl<'t> Values<'t> {
    fn one(node: NodeRef<'t>, read: fn(NodeRef<'t>) -> Option<&'t str>) -> Self {
        Self {
            nodes: OneOrMany::One(Some(node)),
            read,
        }
    }

    fn many(array: NodeRef<'t>, read: fn(NodeRef<'t>) -> Option<&'t str>) -> Option<Self> {
        Some(Self {
            nodes: OneOrMany::Many(array.items()?),
            read,
        })
    }

    fn len(&self) -> usize {
        match &self.nodes {
            OneOrMany::One(_) => 1,
            OneOrMany::Many(items) => items.clone().count(),
        }
    }
}

impl<'t> Iterator for Values<'t> {
    type Item = Option<&'t str>;

    fn next(&mut self) -> Option<Self::Item> {
        let node = match &mut self.nodes {
            OneOrMany::One(node) => node.take()?,
            OneOrMany::Many(items) => items.next()?,
        };
        Some((self.read)(node))
    }
}

/// Collects `f` of every string, or `None` when an item is not a string or `f` fails.
fn map_strings<T>(list: Values<'_>, mut f: impl FnMut(&str) -> Option<T>) -> Option<Vec<T>> {
    let mut out = Vec::with_capacity(list.len());
    for item in list {
        out.push(f(item?)?);
    }
    Some(out)
}

fn principal_set(node: NodeRef<'_>) -> Option<PrincipalSet> {
    let mut set = PrincipalSet::default();
    if let View::Str(s) = node.view()? {
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
                    match parse_aws_principal(p?)? {
                        None => set.everyone = true,
                        Some(principal) => set.aws.push(principal),
                    }
                }
            }
            "Service" => {
                for p in values {
                    let p = p?;
                    if p.is_empty() {
                        return None;
                    }
                    set.service.push(p.to_string());
                }
            }
            "Federated" => set
                .federated
                .extend(map_strings(values, |s| Some(s.to_string()))?),
            "CanonicalUser" => set
                .canonical_user
                .extend(map_strings(values, |s| Some(s.to_string()))?),
            _ => return None,
        }
    }
    Some(set)
}

fn actions(node: NodeRef<'_>) -> Option<Vec<Pattern>> {
    map_strings(string_list(node)?, |a| {
        valid_action(a).then(|| Pattern::new(a, true))
    })
}

fn resources(node: NodeRef<'_>, variables: bool) -> Option<Vec<ResourceValue>> {
    map_strings(string_list(node)?, |r| {
        let template = Template::parse(r, variables).ok()?;
        let pattern = (!template.has_variables()).then(|| Pattern::new(r, false));
        Some(ResourceValue { template, pattern })
    })
}

fn conditions(
    node: NodeRef<'_>,
    statement: Option<usize>,
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
            if operator.set.is_some() && is_single_valued_context_key(key_name) {
                return None;
            }
            let scalars = scalar_list(raw)?;
            let mut values = Vec::with_capacity(scalars.len());
            for v in scalars.clone() {
                values.push(compile_value(&operator, v?, "", variables).ok()?);
            }
            // Every item is a scalar (checked above).
            let raw_values = scalars.map(Option::unwrap_or_default);
            out.push(Condition::new(
                operator, key_name, values, raw_values, statement,
            ));
        }
    }
    Some(out)
}

/// Condition values: a scalar or a non-empty array of scalars.
fn scalar_list(node: NodeRef<'_>) -> Option<Values<'_>> {
    match node.view()? {
        View::Array if node.is_empty_array() => None,
        View::Array => Values::many(node, scalar_text),
        _ => Some(Values::one(node, scalar_text)),
    }
}

/// A scalar as IAM compares it: its text; `None` for arrays, objects and null.
fn scalar_text(v: NodeRef<'_>) -> Option<&str> {
    match v.view()? {
        View::Str(s) | View::Number(s) => Some(s),
        View::Bool(true) => Some("true"),
        View::Bool(false) => Some("false"),
        _ => None,
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
        // A repeat after the first eight keys of an object is found too.
        let keys: Vec<String> = (0..10).map(|i| format!(r#""k{i}": "v""#)).collect();
        let many = |extra: &str| {
            format!(
                r#"{{"Statement": [{{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*", "Condition": {{"StringEquals": {{{}{extra}}}}}}}]}}"#,
                keys.join(", ")
            )
        };
        assert!(fast_ok(&many("")));
        assert!(parse(&many(r#", "k8": "w""#), PolicyKind::KeyPolicy).is_none());
        assert!(parse(&many(r#", "k9": "w""#), PolicyKind::KeyPolicy).is_none());
        assert!(parse(&many(r#", "k0": "w""#), PolicyKind::KeyPolicy).is_none());
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
            fast.statements[0].conditions[0].path(),
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
            assert_eq!(
                p.statements[0].conditions[0]
                    .raw_values()
                    .collect::<Vec<_>>(),
                [expected.as_str()]
            );
        }
    }

    /// The tree as a `serde_json::Value`, to compare with what serde_json reads.
    fn to_value(r: NodeRef<'_>) -> serde_json::Value {
        use serde_json::Value;
        match r.view().unwrap() {
            View::Null => Value::Null,
            View::Bool(b) => Value::Bool(b),
            View::Number(n) => serde_json::from_str(n).unwrap(),
            View::Str(s) => Value::String(s.to_string()),
            View::Array => Value::Array(r.items().unwrap().map(to_value).collect()),
            View::Object => Value::Object(
                raw_entries(r)
                    .unwrap()
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
            if let Some(doc) = read {
                let expected: serde_json::Value = serde_json::from_str(text).unwrap();
                assert_eq!(to_value(doc.root()), expected, "{text:?}");
            }
        }
        // Strings of every length with a quote, backslash, control or non-ASCII character at
        // every position: the eight-bytes-at-a-time search finds the first stop exactly.
        for len in 0..20 {
            for at in 0..len {
                for (special, accepted) in [
                    ("\\n", true),
                    ("\\\"", true),
                    ("\u{1f}", false),
                    ("é", true),
                    ("\u{7f}", true),
                ] {
                    let body: String = (0..len)
                        .map(|i| {
                            if i == at {
                                special.to_string()
                            } else {
                                "a".into()
                            }
                        })
                        .collect();
                    for text in [format!("\"{body}\""), format!("[\"{body}\", \"{body}x\"]")] {
                        let read = Scanner::read(&text);
                        assert_eq!(read.is_some(), accepted, "{text:?}");
                        if let Some(doc) = read {
                            let expected: serde_json::Value = serde_json::from_str(&text).unwrap();
                            assert_eq!(to_value(doc.root()), expected, "{text:?}");
                        }
                    }
                }
            }
        }
        // Deep nesting goes to serde_json (which stops at 128) without recursing further.
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(Scanner::read(&deep).is_none());
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(Scanner::read(&ok).is_some());
    }
}
