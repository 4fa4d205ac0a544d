//! The key policy model and its parser.
//!
//! `Policy::parse` accepts every shape AWS accepts for a KMS key policy (and the output of
//! `aws kms get-key-policy`), and rejects what KMS rejects with an error naming the JSON path.

mod err;
mod parse;
pub mod pattern;
pub mod text;
pub mod value;

pub use err::{PolicyError, MAX_POLICY_BYTES};
pub use pattern::Pattern;
pub use text::Text;
pub use value::{ArnPattern, Cidr, Template, TemplatePart};

/// The `Version` element. Policy variables are only expanded in `2012-10-17`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyVersion {
    /// `2012-10-17`: policy variables are expanded.
    V2012_10_17,
    /// `2008-10-17`: `${...}` is literal text.
    V2008_10_17,
    /// No `Version`: treated like `2008-10-17`.
    Absent,
}

impl PolicyVersion {
    /// True when `${...}` in values is a policy variable.
    pub fn supports_variables(self) -> bool {
        self == PolicyVersion::V2012_10_17
    }
}

/// Whether a document is a key policy (statements name a `Principal`) or an identity policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// A KMS key policy: `Principal` or `NotPrincipal` is required.
    KeyPolicy,
    /// An IAM identity policy: no `Principal`.
    Identity,
}

/// A parsed policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The `Version` element.
    pub version: PolicyVersion,
    /// The `Id` element.
    pub id: Option<String>,
    /// The statements in document order.
    pub statements: Vec<Statement>,
    /// The document as read (key order kept), so fixes can leave existing statements untouched.
    /// Dereferences to a `serde_json::Value`, built on first use.
    pub document: Document,
    /// Size of the policy text in bytes.
    pub size: usize,
}

/// The policy document as read: its text, and the `serde_json::Value` it parses to, built the
/// first time it is dereferenced (checking a policy never needs it; fixing one does).
#[derive(Debug, Clone)]
pub struct Document {
    /// The text; empty when the value was built up front.
    text: String,
    value: std::sync::OnceLock<serde_json::Value>,
}

impl Document {
    /// A document whose value is parsed from `text` when first needed. `text` must be JSON.
    fn from_text(text: &str) -> Self {
        Self {
            text: text.to_string(),
            value: std::sync::OnceLock::new(),
        }
    }

    /// A document whose value is already built.
    fn from_value(value: serde_json::Value) -> Self {
        Self {
            text: String::new(),
            value: std::sync::OnceLock::from(value),
        }
    }

    /// The document as a `serde_json::Value` (key order kept).
    pub fn value(&self) -> &serde_json::Value {
        // INVARIANT: `text` parsed as JSON before the document was made, so this cannot fail.
        self.value
            .get_or_init(|| serde_json::from_str(&self.text).unwrap_or(serde_json::Value::Null))
    }
}

impl std::ops::Deref for Document {
    type Target = serde_json::Value;

    fn deref(&self) -> &serde_json::Value {
        self.value()
    }
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Effect {
    /// Grants the request when everything matches.
    Allow,
    /// Denies the request when everything matches; wins over any allow.
    Deny,
}

/// One statement of a policy.
#[derive(Debug, Clone)]
pub struct Statement {
    /// Position in the `Statement` array (0 when `Statement` is a single object).
    pub index: usize,
    /// False when `Statement` is a single object rather than an array.
    in_array: bool,
    /// The `Sid` element.
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    pub effect: Effect,
    /// `Principal` or `NotPrincipal`; `None` only in identity policies.
    pub principal: Option<PrincipalElement>,
    /// `Action` or `NotAction`.
    pub action: ActionElement,
    /// `Resource` or `NotResource`; `None` only in identity policies that omit it.
    pub resource: Option<ResourceElement>,
    /// Every condition: AND across all of them.
    pub conditions: Vec<Condition>,
}

impl Statement {
    /// JSON pointer of the statement (`/Statement/3` or `/Statement`).
    pub fn path(&self) -> String {
        if self.in_array {
            format!("/Statement/{}", self.index)
        } else {
            "/Statement".to_string()
        }
    }

    /// How findings name the statement: its Sid, else its index.
    pub fn label(&self) -> String {
        match &self.sid {
            Some(s) if !s.is_empty() => s.clone(),
            _ => format!("#{}", self.index),
        }
    }

    /// True when the statement's action element covers `action` (`kms:Decrypt`).
    pub fn covers_action(&self, action: &str) -> bool {
        self.action.matches(action)
    }

    /// The conditions on `key` (lowercase name).
    pub fn conditions_on<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Condition> + 'a {
        self.conditions.iter().filter(move |c| c.key() == key)
    }
}

/// `Principal` or `NotPrincipal`.
#[derive(Debug, Clone)]
pub enum PrincipalElement {
    /// The statement applies to these principals.
    Principal(PrincipalSet),
    /// The statement applies to everyone except these principals.
    NotPrincipal(PrincipalSet),
}

/// The principals named by a `Principal` element.
#[derive(Debug, Clone, Default)]
pub struct PrincipalSet {
    /// `"Principal": "*"` (or `{"AWS": "*"}`): everyone, including anonymous callers.
    pub everyone: bool,
    /// `AWS` principals other than `*`.
    pub aws: Vec<AwsPrincipal>,
    /// `Service` principals (matched exactly).
    pub service: Vec<String>,
    /// `Federated` principals.
    pub federated: Vec<String>,
    /// `CanonicalUser` principals.
    pub canonical_user: Vec<String>,
}

/// An `AWS` principal value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsPrincipal {
    /// `111122223333` or `arn:aws:iam::111122223333:root`: the account, which in a key policy
    /// delegates to that account's IAM policies.
    Account {
        /// The 12-digit account id.
        account: Text,
    },
    /// A user, role, assumed-role session or other IAM ARN.
    Arn {
        /// The ARN as written.
        arn: String,
        /// The account in the ARN.
        account: Text,
    },
}

impl AwsPrincipal {
    /// The account the principal belongs to.
    pub fn account(&self) -> &str {
        match self {
            AwsPrincipal::Account { account } | AwsPrincipal::Arn { account, .. } => account,
        }
    }
}

/// `Action` or `NotAction`, patterns matched case-insensitively.
#[derive(Debug, Clone)]
pub enum ActionElement {
    /// The statement applies to these actions.
    Action(Vec<Pattern>),
    /// The statement applies to every action except these.
    NotAction(Vec<Pattern>),
}

impl ActionElement {
    /// True when the element covers `action`.
    pub fn matches(&self, action: &str) -> bool {
        match self {
            ActionElement::Action(p) => p.iter().any(|p| p.matches(action)),
            ActionElement::NotAction(p) => !p.iter().any(|p| p.matches(action)),
        }
    }

    /// The patterns as written.
    pub fn patterns(&self) -> &[Pattern] {
        match self {
            ActionElement::Action(p) | ActionElement::NotAction(p) => p,
        }
    }
}

/// `Resource` or `NotResource`. In a key policy `"*"` means this key.
#[derive(Debug, Clone)]
pub enum ResourceElement {
    /// The statement applies to these resources.
    Resource(Vec<ResourceValue>),
    /// The statement applies to every resource except these.
    NotResource(Vec<ResourceValue>),
}

/// One `Resource` value, compiled once.
#[derive(Debug, Clone)]
pub struct ResourceValue {
    /// The value, split around policy variables.
    pub template: Template,
    /// The wildcard pattern, when the value has no policy variables.
    pub pattern: Option<Pattern>,
}

/// A condition set operator prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOperator {
    /// `ForAnyValue:` — at least one request value matches.
    ForAnyValue,
    /// `ForAllValues:` — every request value matches (true when the key is absent).
    ForAllValues,
}

/// A condition operator without its prefix or `IfExists` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum BaseOperator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

/// The kind of value an operator compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorFamily {
    /// String operators (case-sensitive unless `IgnoreCase`).
    String,
    /// Numeric operators.
    Numeric,
    /// Date operators.
    Date,
    /// `Bool`.
    Bool,
    /// `BinaryEquals`.
    Binary,
    /// `IpAddress` / `NotIpAddress`.
    Ip,
    /// `Arn*` operators.
    Arn,
    /// `Null`.
    Null,
}

impl BaseOperator {
    const ALL: [(&'static str, BaseOperator); 27] = [
        ("StringEquals", BaseOperator::StringEquals),
        ("StringNotEquals", BaseOperator::StringNotEquals),
        (
            "StringEqualsIgnoreCase",
            BaseOperator::StringEqualsIgnoreCase,
        ),
        (
            "StringNotEqualsIgnoreCase",
            BaseOperator::StringNotEqualsIgnoreCase,
        ),
        ("StringLike", BaseOperator::StringLike),
        ("StringNotLike", BaseOperator::StringNotLike),
        ("NumericEquals", BaseOperator::NumericEquals),
        ("NumericNotEquals", BaseOperator::NumericNotEquals),
        ("NumericLessThan", BaseOperator::NumericLessThan),
        ("NumericLessThanEquals", BaseOperator::NumericLessThanEquals),
        ("NumericGreaterThan", BaseOperator::NumericGreaterThan),
        (
            "NumericGreaterThanEquals",
            BaseOperator::NumericGreaterThanEquals,
        ),
        ("DateEquals", BaseOperator::DateEquals),
        ("DateNotEquals", BaseOperator::DateNotEquals),
        ("DateLessThan", BaseOperator::DateLessThan),
        ("DateLessThanEquals", BaseOperator::DateLessThanEquals),
        ("DateGreaterThan", BaseOperator::DateGreaterThan),
        ("DateGreaterThanEquals", BaseOperator::DateGreaterThanEquals),
        ("Bool", BaseOperator::Bool),
        ("BinaryEquals", BaseOperator::BinaryEquals),
        ("IpAddress", BaseOperator::IpAddress),
        ("NotIpAddress", BaseOperator::NotIpAddress),
        ("ArnEquals", BaseOperator::ArnEquals),
        ("ArnLike", BaseOperator::ArnLike),
        ("ArnNotEquals", BaseOperator::ArnNotEquals),
        ("ArnNotLike", BaseOperator::ArnNotLike),
        ("Null", BaseOperator::Null),
    ];

    /// Looks an operator name up (exact spelling, as IAM documents it).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, op)| *op)
    }

    /// The operator's name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, op)| *op == self)
            .map(|(n, _)| *n)
            .unwrap_or("Null")
    }

    /// Negated operators (`StringNotEquals`, `NotIpAddress`, ...) are true when no value matches
    /// and, without `IfExists`, true when the key is absent.
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            BaseOperator::StringNotEquals
                | BaseOperator::StringNotEqualsIgnoreCase
                | BaseOperator::StringNotLike
                | BaseOperator::NumericNotEquals
                | BaseOperator::DateNotEquals
                | BaseOperator::NotIpAddress
                | BaseOperator::ArnNotEquals
                | BaseOperator::ArnNotLike
        )
    }

    /// What kind of value the operator compares.
    pub fn family(self) -> OperatorFamily {
        use BaseOperator::*;
        match self {
            StringEquals
            | StringNotEquals
            | StringEqualsIgnoreCase
            | StringNotEqualsIgnoreCase
            | StringLike
            | StringNotLike => OperatorFamily::String,
            NumericEquals
            | NumericNotEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => OperatorFamily::Numeric,
            DateEquals
            | DateNotEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => OperatorFamily::Date,
            Bool => OperatorFamily::Bool,
            BinaryEquals => OperatorFamily::Binary,
            IpAddress | NotIpAddress => OperatorFamily::Ip,
            ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => OperatorFamily::Arn,
            Null => OperatorFamily::Null,
        }
    }
}

/// A full condition operator: optional set prefix, base operator, optional `IfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConditionOperator {
    /// `ForAnyValue:` / `ForAllValues:`.
    pub set: Option<SetOperator>,
    /// The comparison.
    pub base: BaseOperator,
    /// `...IfExists`: true when the key is absent.
    pub if_exists: bool,
}

impl ConditionOperator {
    /// Parses `ForAnyValue:StringLikeIfExists` and friends; `None` for unknown names.
    pub fn parse(name: &str) -> Option<Self> {
        let (set, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (Some(SetOperator::ForAnyValue), r)
        } else if let Some(r) = name.strip_prefix("ForAllValues:") {
            (Some(SetOperator::ForAllValues), r)
        } else {
            (None, name)
        };
        let (base, if_exists) = match BaseOperator::from_name(rest) {
            Some(b) => (b, false),
            None => (
                BaseOperator::from_name(rest.strip_suffix("IfExists")?)?,
                true,
            ),
        };
        Some(Self {
            set,
            base,
            if_exists,
        })
    }

    /// The operator's name. Names are matched exactly, so this is the name as written.
    pub fn name(&self) -> String {
        let set = match self.set {
            Some(SetOperator::ForAnyValue) => "ForAnyValue:",
            Some(SetOperator::ForAllValues) => "ForAllValues:",
            None => "",
        };
        let suffix = if self.if_exists { "IfExists" } else { "" };
        format!("{set}{}{suffix}", self.base.name())
    }
}

/// A policy value compiled for its operator.
#[derive(Debug, Clone)]
pub enum ConditionValue {
    /// A string (string and ARN operators may hold policy variables).
    Text {
        /// The value, split around policy variables.
        template: Template,
        /// Precompiled wildcard pattern (`*Like` operators, no variables).
        pattern: Option<Pattern>,
        /// Precompiled ARN pattern (`Arn*` operators, no variables).
        arn: Option<ArnPattern>,
    },
    /// A number.
    Number(f64),
    /// A date, in milliseconds since the epoch.
    Date(i64),
    /// `true` / `false`.
    Bool(bool),
    /// Base64-decoded bytes.
    Binary(Vec<u8>),
    /// A network.
    Cidr(Cidr),
}

/// One operator/key pair of a `Condition` block with its values (OR across values).
#[derive(Debug, Clone)]
pub struct Condition {
    /// The operator.
    pub operator: ConditionOperator,
    /// The key as written, followed by its lowercase form when that differs: one allocation.
    key_text: String,
    /// Where the key as written ends in `key_text`.
    key_split: usize,
    /// The values, compiled for the operator.
    pub values: Vec<ConditionValue>,
    /// The values as written when they are not text (text values keep theirs in `template`).
    other_raw: Vec<Text>,
    /// The statement's index when `Statement` is an array (for the JSON pointer).
    statement: Option<usize>,
}

impl Condition {
    /// A condition of the statement at `statement` (`None`: `Statement` is a single object).
    pub(crate) fn new(
        operator: ConditionOperator,
        key_name: &str,
        values: Vec<ConditionValue>,
        raw_values: impl IntoIterator<Item = impl AsRef<str>>,
        statement: Option<usize>,
    ) -> Self {
        let text = matches!(
            operator.base.family(),
            OperatorFamily::String | OperatorFamily::Arn
        );
        let other_raw = if text {
            Vec::new()
        } else {
            raw_values
                .into_iter()
                .map(|v| Text::new(v.as_ref()))
                .collect()
        };
        let lower = key_name.bytes().any(|b| b.is_ascii_uppercase());
        let mut key_text = String::with_capacity(if lower {
            2 * key_name.len()
        } else {
            key_name.len()
        });
        key_text.push_str(key_name);
        if lower {
            key_text.push_str(key_name);
            if let Some(folded) = key_text.get_mut(key_name.len()..) {
                folded.make_ascii_lowercase();
            }
        }
        Self {
            operator,
            key_split: key_name.len(),
            key_text,
            values,
            other_raw,
            statement,
        }
    }

    /// The values as written, in order, for explanations.
    pub fn raw_values(&self) -> impl Iterator<Item = &str> + '_ {
        let text = self.values.iter().filter_map(|v| match v {
            ConditionValue::Text { template, .. } => Some(template.raw.as_str()),
            _ => None,
        });
        text.chain(self.other_raw.iter().map(Text::as_str))
    }

    /// The condition key as written.
    pub fn key_name(&self) -> &str {
        self.key_text.get(..self.key_split).unwrap_or("")
    }

    /// The condition key, ASCII-lowercased (keys are case-insensitive).
    pub fn key(&self) -> &str {
        match self.key_text.get(self.key_split..) {
            Some(lower) if !lower.is_empty() => lower,
            _ => self.key_name(),
        }
    }

    /// JSON pointer of the key (`/Statement/1/Condition/StringEquals/aws:SourceArn`).
    pub fn path(&self) -> String {
        let mut path = String::from("/Statement");
        if let Some(i) = self.statement {
            path.push('/');
            path.push_str(&i.to_string());
        }
        path.push_str("/Condition/");
        path.push_str(&err::pointer_segment(&self.operator.name()));
        path.push('/');
        path.push_str(&err::pointer_segment(self.key_name()));
        path
    }
}

impl Policy {
    /// Parses a key policy: a policy document, or `aws kms get-key-policy` output
    /// (`{"Policy": "<json string>", ...}`).
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        parse::parse_document(text, PolicyKind::KeyPolicy)
    }

    /// Parses an IAM identity policy (statements without `Principal`).
    pub fn parse_identity(text: &str) -> Result<Self, PolicyError> {
        parse::parse_document(text, PolicyKind::Identity)
    }

    /// Finds a statement by Sid.
    pub fn statement_by_sid(&self, sid: &str) -> Option<&Statement> {
        self.statements
            .iter()
            .find(|s| s.sid.as_deref() == Some(sid))
    }
}

/// Checks that `text` is a 12-digit AWS account id.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Checks that `text` is an AWS Organizations id: `o-` and 10 to 32 lowercase letters or digits
/// (Organizations API Reference, "Organization": "^o-[a-z0-9]{10,32}$").
pub fn is_organization_id(text: &str) -> bool {
    text.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// The account component of an ARN, if it is a 12-digit account id.
pub fn arn_account(arn: &str) -> Option<&str> {
    value::split_arn(arn)
        .map(|p| p[4])
        .filter(|a| is_account_id(a))
}

/// Reads a boolean as IAM does (`true`/`false`, any case).
pub fn parse_bool_value(raw: &str) -> Option<bool> {
    parse::parse_bool(raw)
}
