//! Decisions: does a key policy (plus, optionally, the caller's identity policies) allow a request?
//!
//! Follows the AWS policy evaluation logic as KMS applies it: an explicit deny anywhere wins; a
//! key policy must allow explicitly; a grant to an account (`111122223333` or
//! `arn:aws:iam::111122223333:root`) only delegates to that account's IAM policies; a principal
//! in another account needs both the key policy and its own identity policy.

pub mod condition;
pub mod symbolic;

use crate::policy::{
    arn_account, is_account_id, AwsPrincipal, Condition, Effect, Policy, PrincipalElement,
    PrincipalSet, ResourceElement, Statement,
};
use serde::Serialize;
use std::borrow::Cow;

/// One condition key's values in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    /// The values (one for single-valued keys).
    pub values: Vec<String>,
    /// Multi-valued keys (`kms:EncryptionContextKeys`, `aws:TagKeys`) only match set operators.
    pub multi: bool,
}

/// The request context: condition keys (case-insensitive) to values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// INVARIANT: keys are ASCII-lowercase; fixed keys (the checker's, the principal keys) are
    /// borrowed rather than copied.
    entries: Vec<(Cow<'static, str>, ContextEntry)>,
}

/// Condition keys that are multi-valued however many values a request carries.
const MULTI_VALUED_KEYS: &[&str] = &[
    "kms:encryptioncontextkeys",
    "kms:grantoperations",
    "aws:tagkeys",
    "aws:principalservicenameslist",
    "aws:calledvia",
];

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// [`Context::set`] for a key that is already lowercase, without copying it.
    pub(crate) fn set_lowercase(&mut self, key: &'static str, value: String) -> &mut Self {
        let multi = MULTI_VALUED_KEYS.contains(&key);
        self.put_lowercase(key, vec![value], multi)
    }

    fn put_lowercase(&mut self, key: &'static str, values: Vec<String>, multi: bool) -> &mut Self {
        debug_assert!(!key.bytes().any(|b| b.is_ascii_uppercase()));
        let entry = ContextEntry { values, multi };
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, e)) => *e = entry,
            None => self.entries.push((Cow::Borrowed(key), entry)),
        }
        self
    }

    /// Sets a single-valued key (replacing any earlier value).
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        // The listed keys are lowercase, so this is `contains(key.to_ascii_lowercase())`.
        let multi = MULTI_VALUED_KEYS
            .iter()
            .any(|k| k.eq_ignore_ascii_case(key));
        self.put(key, vec![value.into()], multi)
    }

    /// Sets a multi-valued key.
    pub fn set_multi(&mut self, key: &str, values: Vec<String>) -> &mut Self {
        self.put(key, values, true)
    }

    /// Adds one value to a key, making it multi-valued when it already had one.
    pub fn add(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        let lower = key.to_ascii_lowercase();
        if let Some((_, e)) = self.entries.iter_mut().find(|(k, _)| *k == lower) {
            e.values.push(value.into());
            e.multi = true;
            self
        } else {
            self.set(key, value)
        }
    }

    fn put(&mut self, key: &str, values: Vec<String>, multi: bool) -> &mut Self {
        let entry = ContextEntry { values, multi };
        // Stored keys are lowercase: comparing ignoring case finds `key.to_ascii_lowercase()`.
        match self
            .entries
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            Some((_, e)) => *e = entry,
            None => self
                .entries
                .push((Cow::Owned(key.to_ascii_lowercase()), entry)),
        }
        self
    }

    /// Removes a key.
    pub fn remove(&mut self, key: &str) {
        let lower = key.to_ascii_lowercase();
        self.entries.retain(|(k, _)| *k != lower);
    }

    /// Looks a key up; `key` must be lowercase.
    pub fn get(&self, key: &str) -> Option<&ContextEntry> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, e)| e)
    }

    /// The keys and values, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ContextEntry)> {
        self.entries.iter().map(|(k, e)| (k.as_ref(), e))
    }
}

/// What evaluation reads from a request's condition keys: a [`Context`], or the
/// [`BorrowedContext`] of a request the checker simulates.
pub(crate) trait ConditionKeys {
    /// Looks a key up; `key` must be lowercase.
    fn get(&self, key: &str) -> Option<KeyValues<'_>>;
}

/// One key's values, borrowed from the context that holds them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyValues<'a> {
    pub(crate) values: Values<'a>,
    /// As [`ContextEntry::multi`].
    pub(crate) multi: bool,
}

/// A key's values in whichever form the context keeps them.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Values<'a> {
    Strings(&'a [String]),
    One(&'a str),
    Fixed(&'static [&'static str]),
}

impl<'a> Values<'a> {
    pub(crate) fn len(self) -> usize {
        match self {
            Values::Strings(v) => v.len(),
            Values::One(_) => 1,
            Values::Fixed(v) => v.len(),
        }
    }

    pub(crate) fn is_empty(self) -> bool {
        self.len() == 0
    }

    fn get(self, i: usize) -> Option<&'a str> {
        match self {
            Values::Strings(v) => v.get(i).map(String::as_str),
            Values::One(s) => (i == 0).then_some(s),
            Values::Fixed(v) => v.get(i).copied(),
        }
    }

    pub(crate) fn first(self) -> Option<&'a str> {
        self.get(0)
    }

    pub(crate) fn iter(self) -> impl Iterator<Item = &'a str> {
        (0..self.len()).filter_map(move |i| self.get(i))
    }

    pub(crate) fn to_vec(self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }
}

impl ConditionKeys for Context {
    fn get(&self, key: &str) -> Option<KeyValues<'_>> {
        Context::get(self, key).map(|e| KeyValues {
            values: Values::Strings(&e.values),
            multi: e.multi,
        })
    }
}

/// The condition keys of a request the checker simulates: fixed lowercase keys and values
/// borrowed from its input where it can, so a request costs a few allocations, not dozens.
/// [`BorrowedContext::to_context`] gives the same entries as a [`Context`].
#[derive(Debug, Default)]
pub(crate) struct BorrowedContext<'a> {
    entries: Vec<(&'static str, BorrowedEntry<'a>)>,
}

#[derive(Debug)]
enum BorrowedEntry<'a> {
    One { value: Cow<'a, str>, multi: bool },
    Fixed(&'static [&'static str]),
}

impl<'a> BorrowedContext<'a> {
    /// An empty context with room for `n` keys.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self {
            entries: Vec::with_capacity(n),
        }
    }

    /// As [`Context::set`]; `key` is lowercase.
    pub(crate) fn set(&mut self, key: &'static str, value: impl Into<Cow<'a, str>>) {
        let multi = MULTI_VALUED_KEYS.contains(&key);
        self.put(
            key,
            BorrowedEntry::One {
                value: value.into(),
                multi,
            },
        );
    }

    /// As [`Context::set_multi`] with fixed values; `key` is lowercase.
    pub(crate) fn set_multi(&mut self, key: &'static str, values: &'static [&'static str]) {
        self.put(key, BorrowedEntry::Fixed(values));
    }

    /// Drops `key` (lowercase): the request does not carry it.
    pub(crate) fn remove(&mut self, key: &str) {
        self.entries.retain(|(k, _)| *k != key);
    }

    fn put(&mut self, key: &'static str, entry: BorrowedEntry<'a>) {
        debug_assert!(!key.bytes().any(|b| b.is_ascii_uppercase()));
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, e)) => *e = entry,
            None => self.entries.push((key, entry)),
        }
    }

    /// The owned [`Context`] with these entries, in the same order.
    pub(crate) fn to_context(&self) -> Context {
        let entries = self
            .entries
            .iter()
            .map(|(k, e)| {
                let entry = match e {
                    BorrowedEntry::One { value, multi } => ContextEntry {
                        values: vec![value.to_string()],
                        multi: *multi,
                    },
                    BorrowedEntry::Fixed(values) => ContextEntry {
                        values: values.iter().map(|v| v.to_string()).collect(),
                        multi: true,
                    },
                };
                (Cow::Borrowed(*k), entry)
            })
            .collect();
        Context { entries }
    }
}

impl ConditionKeys for BorrowedContext<'_> {
    fn get(&self, key: &str) -> Option<KeyValues<'_>> {
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, e)| match e {
                BorrowedEntry::One { value, multi } => KeyValues {
                    values: Values::One(value),
                    multi: *multi,
                },
                BorrowedEntry::Fixed(values) => KeyValues {
                    values: Values::Fixed(values),
                    multi: true,
                },
            })
    }
}

/// Who makes the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestPrincipal {
    /// An AWS service principal such as `cloudtrail.amazonaws.com`.
    Service(String),
    /// An IAM principal: user, role, assumed-role session, or an account's root user.
    Iam(IamPrincipal),
    /// An unauthenticated caller.
    Anonymous,
}

/// An IAM identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamPrincipal {
    /// The principal's ARN (`arn:aws:iam::111122223333:root` for the root user).
    pub arn: String,
    /// The principal's account.
    pub account: String,
    /// For roles and assumed-role sessions: the role's name (a role principal covers its sessions).
    pub role_name: Option<String>,
    /// The account's root user.
    pub is_root: bool,
}

impl RequestPrincipal {
    /// Reads `cloudtrail.amazonaws.com`, `*`/`anonymous`, an account id, or an IAM/STS ARN.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t == "*" || t.eq_ignore_ascii_case("anonymous") {
            return Ok(Self::Anonymous);
        }
        if !t.starts_with("arn:") && t.contains('.') {
            return Ok(Self::Service(t.to_string()));
        }
        if is_account_id(t) {
            return Ok(Self::root(t, "aws"));
        }
        let parts = crate::policy::value::split_arn(t)
            .ok_or_else(|| format!("`{t}` is not a service principal, account id or ARN"))?;
        let [_, partition, service, _, account, resource] = parts;
        if !is_account_id(account) {
            return Err(format!("`{t}` has no 12-digit account id"));
        }
        match (service, resource) {
            ("iam", "root") => Ok(Self::root(account, partition)),
            ("iam", r) if r.starts_with("role/") => Ok(Self::Iam(IamPrincipal {
                arn: t.to_string(),
                account: account.to_string(),
                role_name: r.rsplit('/').next().map(str::to_string),
                is_root: false,
            })),
            ("sts", r) if r.starts_with("assumed-role/") => Ok(Self::Iam(IamPrincipal {
                arn: t.to_string(),
                account: account.to_string(),
                role_name: r.split('/').nth(1).map(str::to_string),
                is_root: false,
            })),
            ("iam" | "sts", _) => Ok(Self::Iam(IamPrincipal {
                arn: t.to_string(),
                account: account.to_string(),
                role_name: None,
                is_root: false,
            })),
            _ => Err(format!("`{t}` is not an IAM or STS principal ARN")),
        }
    }

    fn root(account: &str, partition: &str) -> Self {
        Self::Iam(IamPrincipal {
            arn: format!("arn:{partition}:iam::{account}:root"),
            account: account.to_string(),
            role_name: None,
            is_root: true,
        })
    }

    /// The principal's account, for IAM principals.
    pub fn account(&self) -> Option<&str> {
        match self {
            Self::Iam(p) => Some(&p.account),
            _ => None,
        }
    }

    /// `aws:PrincipalArn`-style text for the principal.
    pub fn display(&self) -> String {
        match self {
            Self::Service(s) => s.clone(),
            Self::Iam(p) => p.arn.clone(),
            Self::Anonymous => "anonymous".into(),
        }
    }
}

/// A request to KMS.
#[derive(Debug, Clone)]
pub struct Request {
    /// Who calls.
    pub principal: RequestPrincipal,
    /// The action, e.g. `kms:GenerateDataKey`.
    pub action: String,
    /// The key ARN.
    pub resource: String,
    /// The condition keys of the request.
    pub context: Context,
}

/// The keys AWS sets from the principal on every request, in order, passed to `set` with their
/// lowercase names.
fn principal_keys<'p>(
    principal: &'p RequestPrincipal,
    mut set: impl FnMut(&'static str, Cow<'p, str>),
) {
    match principal {
        RequestPrincipal::Service(s) => {
            set("aws:principalisawsservice", "true".into());
            set("aws:principalservicename", s.as_str().into());
        }
        RequestPrincipal::Iam(p) => {
            set("aws:principalisawsservice", "false".into());
            let principal_arn = match (&p.role_name, p.arn.contains(":assumed-role/")) {
                (Some(role), true) => {
                    let partition = p.arn.split(':').nth(1).unwrap_or("aws");
                    format!("arn:{partition}:iam::{}:role/{role}", p.account).into()
                }
                _ => p.arn.as_str().into(),
            };
            set("aws:principalarn", principal_arn);
            set("aws:principalaccount", p.account.as_str().into());
            set("kms:calleraccount", p.account.as_str().into());
        }
        RequestPrincipal::Anonymous => {}
    }
}

impl Request {
    /// Adds the principal keys AWS sets on every request (`aws:PrincipalArn`, `aws:PrincipalAccount`,
    /// `aws:PrincipalIsAWSService`, `aws:PrincipalServiceName`, `kms:CallerAccount`) unless present.
    pub fn with_principal_context(mut self) -> Self {
        let context = &mut self.context;
        principal_keys(&self.principal, |k, v| {
            // Stored keys are lowercase, so `get` of the lowercase key is a case-insensitive test.
            if context.get(k).is_none() {
                context.set_lowercase(k, v.into_owned());
            }
        });
        self
    }

    fn as_ref(&self) -> RequestRef<'_, Context> {
        RequestRef {
            principal: &self.principal,
            action: &self.action,
            resource: &self.resource,
            context: &self.context,
        }
    }
}

/// A request whose parts are borrowed: what the checker simulates, evaluated without copying its
/// input. [`BorrowedRequest::to_request`] gives the same request as a [`Request`].
#[derive(Debug)]
pub(crate) struct BorrowedRequest<'a> {
    pub(crate) principal: &'a RequestPrincipal,
    pub(crate) action: &'a str,
    pub(crate) resource: &'a str,
    pub(crate) context: BorrowedContext<'a>,
}

impl<'a> BorrowedRequest<'a> {
    /// As [`Request::with_principal_context`].
    pub(crate) fn with_principal_context(mut self) -> Self {
        let context = &mut self.context;
        principal_keys(self.principal, |k, v| {
            if context.get(k).is_none() {
                context.set(k, v);
            }
        });
        self
    }

    /// The owned request.
    pub(crate) fn to_request(&self) -> Request {
        Request {
            principal: self.principal.clone(),
            action: self.action.to_string(),
            resource: self.resource.to_string(),
            context: self.context.to_context(),
        }
    }

    fn as_ref(&self) -> RequestRef<'_, BorrowedContext<'a>> {
        RequestRef {
            principal: self.principal,
            action: self.action,
            resource: self.resource,
            context: &self.context,
        }
    }
}

/// What evaluation reads from a request.
struct RequestRef<'r, K> {
    principal: &'r RequestPrincipal,
    action: &'r str,
    resource: &'r str,
    context: &'r K,
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// Allowed.
    Allow,
    /// An applicable `Deny` statement.
    ExplicitDeny,
    /// Nothing allowed it.
    ImplicitDeny,
}

/// How an allow came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// The key policy names the principal (or everyone) directly.
    KeyPolicy,
    /// The key policy grants the principal's account; the account's IAM policies must allow too.
    IamDelegation,
}

/// Which document a statement is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "policy", content = "index")]
pub enum Source {
    /// The key policy.
    KeyPolicy,
    /// The n-th identity policy given.
    Identity(usize),
}

/// A statement that took part in a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementRef {
    /// Which policy.
    pub source: Source,
    /// Index in the policy's `Statement` array.
    pub index: usize,
    /// The statement's Sid.
    pub sid: Option<String>,
}

impl StatementRef {
    fn new(source: Source, s: &Statement) -> Self {
        Self {
            source,
            index: s.index,
            sid: s.sid.clone(),
        }
    }

    /// Sid, else `#index`.
    pub fn label(&self) -> String {
        match &self.sid {
            Some(s) if !s.is_empty() => s.clone(),
            _ => format!("#{}", self.index),
        }
    }
}

/// A statement that would have allowed the request but for one condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedCondition {
    /// The statement.
    pub statement: StatementRef,
    /// The operator as written.
    pub operator: String,
    /// The condition key as written.
    pub key: String,
    /// The policy's values.
    pub expected: Vec<String>,
    /// What the request had (`None` when the key was absent).
    pub actual: Option<Vec<String>>,
    /// JSON pointer of the condition.
    pub path: String,
}

impl FailedCondition {
    /// One-line explanation.
    pub fn describe(&self) -> String {
        let actual = match &self.actual {
            Some(v) => format!("the request has {}", list(v)),
            None => "the request has no such key".to_string(),
        };
        format!(
            "statement {} requires {} {} {}, but {actual}",
            self.statement.label(),
            self.key,
            self.operator,
            list(&self.expected)
        )
    }
}

fn list(values: &[String]) -> String {
    match values {
        [one] => format!("`{one}`"),
        many => format!(
            "[{}]",
            many.iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The answer, with the statements that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Allow, explicit deny or implicit deny.
    pub decision: Outcome,
    /// For an allow: directly by the key policy, or through IAM delegation.
    pub via: Option<Via>,
    /// The statements that decided: the denying ones, or the allowing ones.
    pub statements: Vec<StatementRef>,
    /// For a denial: allow statements that matched the principal, action and resource, each with
    /// the first condition that failed.
    pub failed_conditions: Vec<FailedCondition>,
    /// Set when the allow depends on IAM policies that were not given.
    pub requires_identity_policy: bool,
    /// Extra explanation.
    pub note: Option<String>,
}

impl Decision {
    /// True for `Allow`.
    pub fn is_allowed(&self) -> bool {
        self.decision == Outcome::Allow
    }
}

/// How a statement's principal element covers the request's principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrincipalMatch {
    No,
    /// Named directly, or everyone.
    Direct,
    /// Through an account grant: needs the account's IAM policies.
    Account,
}

fn set_match(set: &PrincipalSet, principal: &RequestPrincipal) -> PrincipalMatch {
    if set.everyone {
        return PrincipalMatch::Direct;
    }
    match principal {
        RequestPrincipal::Service(name) => {
            if set.service.iter().any(|s| s == name) {
                PrincipalMatch::Direct
            } else {
                PrincipalMatch::No
            }
        }
        RequestPrincipal::Iam(p) => {
            let mut best = PrincipalMatch::No;
            for a in &set.aws {
                match a {
                    AwsPrincipal::Account { account } if *account == p.account => {
                        if p.is_root {
                            return PrincipalMatch::Direct;
                        }
                        best = PrincipalMatch::Account;
                    }
                    AwsPrincipal::Arn { arn, account }
                        if *account == p.account && (*arn == p.arn || role_covers(arn, p)) =>
                    {
                        return PrincipalMatch::Direct;
                    }
                    _ => {}
                }
            }
            best
        }
        RequestPrincipal::Anonymous => PrincipalMatch::No,
    }
}

/// A role ARN in a policy (any path) covers the role and its assumed-role sessions.
fn role_covers(policy_arn: &str, p: &IamPrincipal) -> bool {
    let Some(role) = &p.role_name else {
        return false;
    };
    // The ARN's resource is its tail, so a covering ARN ends with the role name: a cheap test
    // that skips splitting most ARNs of a policy that names many roles.
    if !policy_arn.ends_with(role.as_str()) {
        return false;
    }
    crate::policy::value::split_arn(policy_arn).is_some_and(|parts| {
        let [_, _, service, _, _, resource] = parts;
        service == "iam"
            && resource.starts_with("role/")
            && resource.rsplit('/').next() == Some(role.as_str())
    })
}

fn principal_match(
    element: Option<&PrincipalElement>,
    principal: &RequestPrincipal,
) -> PrincipalMatch {
    match element {
        // Identity policies: the principal is the policy's owner.
        None => PrincipalMatch::Direct,
        Some(PrincipalElement::Principal(set)) => set_match(set, principal),
        // Only the principals named exclude themselves. An account in `NotPrincipal` excludes the
        // account principal (its root user), not every user and role in it — AWS: "When you use
        // NotPrincipal, you must also specify the account ARN of the not-denied principal.
        // Otherwise, the policy might deny access to the entire account containing the
        // principal." (IAM User Guide, NotPrincipal.)
        Some(PrincipalElement::NotPrincipal(set)) => match set_match(set, principal) {
            PrincipalMatch::Direct => PrincipalMatch::No,
            PrincipalMatch::No | PrincipalMatch::Account => PrincipalMatch::Direct,
        },
    }
}

fn resource_matches<K: ConditionKeys>(
    element: Option<&ResourceElement>,
    request: &RequestRef<'_, K>,
    key_policy: bool,
) -> bool {
    let hit = |r: &crate::policy::ResourceValue| {
        // In a key policy, "*" means this key.
        if key_policy && r.template.raw == "*" {
            return true;
        }
        match &r.pattern {
            Some(p) => p.matches(request.resource),
            None => condition::like_pattern_in(&r.template, request.context)
                .is_some_and(|p| p.matches(request.resource)),
        }
    };
    match element {
        None => true,
        Some(ResourceElement::Resource(list)) => list.iter().any(hit),
        Some(ResourceElement::NotResource(list)) => !list.iter().any(hit),
    }
}

/// The first condition of the statement that fails, if any.
fn first_failed<'a, K: ConditionKeys>(s: &'a Statement, ctx: &K) -> Option<&'a Condition> {
    s.conditions
        .iter()
        .find(|c| !condition::evaluate_in(c, ctx))
}

/// What one policy says about a request. Statements stay borrowed: only those a decision
/// reports become `StatementRef`s (a Sid copy each) or `FailedCondition`s.
struct PolicyPass<'p> {
    source: Source,
    denies: Vec<&'p Statement>,
    allows: Vec<(&'p Statement, PrincipalMatch)>,
    failed: Vec<(&'p Statement, &'p Condition)>,
}

impl PolicyPass<'_> {
    fn denies(&self) -> impl Iterator<Item = StatementRef> + '_ {
        self.denies
            .iter()
            .map(|s| StatementRef::new(self.source, s))
    }

    /// The allowing statements whose principal match is `m`, or all of them for `None`.
    fn allows(&self, m: Option<PrincipalMatch>) -> impl Iterator<Item = StatementRef> + '_ {
        self.allows
            .iter()
            .filter(move |(_, pm)| m.is_none_or(|m| *pm == m))
            .map(|(s, _)| StatementRef::new(self.source, s))
    }

    fn has_allow(&self, m: PrincipalMatch) -> bool {
        self.allows.iter().any(|(_, pm)| *pm == m)
    }

    fn failed<'r, K: ConditionKeys>(
        &'r self,
        request: &'r RequestRef<'_, K>,
    ) -> impl Iterator<Item = FailedCondition> + 'r {
        self.failed
            .iter()
            .map(|(s, c)| failed_condition(self.source, s, c, request))
    }
}

fn failed_condition<K: ConditionKeys>(
    source: Source,
    s: &Statement,
    c: &Condition,
    request: &RequestRef<'_, K>,
) -> FailedCondition {
    FailedCondition {
        statement: StatementRef::new(source, s),
        operator: c.operator.name(),
        key: c.key_name().to_string(),
        expected: c.raw_values().map(str::to_string).collect(),
        actual: request.context.get(c.key()).map(|e| e.values.to_vec()),
        path: c.path(),
    }
}

fn pass<'p, K: ConditionKeys>(
    policy: &'p Policy,
    source: Source,
    request: &RequestRef<'_, K>,
) -> PolicyPass<'p> {
    let key_policy = source == Source::KeyPolicy;
    let mut out = PolicyPass {
        source,
        denies: Vec::new(),
        allows: Vec::new(),
        failed: Vec::new(),
    };
    for s in &policy.statements {
        let pm = principal_match(s.principal.as_ref(), request.principal);
        if pm == PrincipalMatch::No
            || !s.action.matches(request.action)
            || !resource_matches(s.resource.as_ref(), request, key_policy)
        {
            continue;
        }
        match (first_failed(s, request.context), s.effect) {
            (None, Effect::Deny) => out.denies.push(s),
            (None, Effect::Allow) => out.allows.push((s, pm)),
            (Some(c), Effect::Allow) => out.failed.push((s, c)),
            (Some(_), Effect::Deny) => {}
        }
    }
    out
}

/// Evaluates `request` against the key policy and, when given, the caller's identity policies.
///
/// `identity_policies: None` means "unknown": an allow that depends on IAM is reported as
/// `Via::IamDelegation` with `requires_identity_policy` set. `Some(&[])` means "the caller has
/// no identity policies": such an allow becomes an implicit deny.
pub fn evaluate(
    key_policy: &Policy,
    request: &Request,
    identity_policies: Option<&[Policy]>,
) -> Decision {
    decide(key_policy, &request.as_ref(), identity_policies)
}

/// [`evaluate`] for a request the checker simulates.
pub(crate) fn evaluate_borrowed(
    key_policy: &Policy,
    request: &BorrowedRequest<'_>,
    identity_policies: Option<&[Policy]>,
) -> Decision {
    decide(key_policy, &request.as_ref(), identity_policies)
}

fn decide<K: ConditionKeys>(
    key_policy: &Policy,
    request: &RequestRef<'_, K>,
    identity_policies: Option<&[Policy]>,
) -> Decision {
    let key = pass(key_policy, Source::KeyPolicy, request);
    let identity: Vec<PolicyPass> = identity_policies
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(i, p)| pass(p, Source::Identity(i), request))
        .collect();

    if !key.denies.is_empty() || identity.iter().any(|p| !p.denies.is_empty()) {
        return Decision {
            decision: Outcome::ExplicitDeny,
            via: None,
            statements: key
                .denies()
                .chain(identity.iter().flat_map(PolicyPass::denies))
                .collect(),
            failed_conditions: Vec::new(),
            requires_identity_policy: false,
            note: None,
        };
    }

    // The key's account matters only for IAM principals.
    let cross_account = match request.principal {
        RequestPrincipal::Iam(p) => arn_account(request.resource).is_some_and(|k| p.account != k),
        _ => false,
    };

    let deny = |note: Option<String>, failed: Vec<FailedCondition>| Decision {
        decision: Outcome::ImplicitDeny,
        via: None,
        statements: Vec::new(),
        failed_conditions: failed,
        requires_identity_policy: false,
        note,
    };

    let direct = key.has_allow(PrincipalMatch::Direct);
    // Directly named, same account: the key policy alone decides.
    if direct && !cross_account {
        return Decision {
            decision: Outcome::Allow,
            via: Some(Via::KeyPolicy),
            statements: key.allows(Some(PrincipalMatch::Direct)).collect(),
            failed_conditions: Vec::new(),
            requires_identity_policy: false,
            note: None,
        };
    }
    // Everything else that the key policy lets through needs an identity policy as well.
    let key_side = if direct {
        PrincipalMatch::Direct
    } else {
        PrincipalMatch::Account
    };
    if !key.has_allow(key_side) {
        let failed: Vec<FailedCondition> = key
            .failed(request)
            .chain(identity.iter().flat_map(|p| p.failed(request)))
            .collect();
        let note = if failed.is_empty() {
            Some("no key policy statement allows this principal and action".to_string())
        } else {
            None
        };
        return deny(note, failed);
    }
    let why = if cross_account {
        "the principal is in another account, so its own IAM policy must also allow the request"
    } else {
        "the key policy grants the principal's account, which delegates to that account's IAM policies"
    };
    match identity_policies {
        None => Decision {
            decision: Outcome::Allow,
            via: Some(Via::IamDelegation),
            statements: key.allows(Some(key_side)).collect(),
            failed_conditions: Vec::new(),
            requires_identity_policy: true,
            note: Some(format!("allowed through IAM delegation: {why}")),
        },
        Some(_) if identity.iter().any(|p| !p.allows.is_empty()) => Decision {
            decision: Outcome::Allow,
            via: Some(Via::IamDelegation),
            statements: key
                .allows(Some(key_side))
                .chain(identity.iter().flat_map(|p| p.allows(None)))
                .collect(),
            failed_conditions: Vec::new(),
            requires_identity_policy: false,
            note: None,
        },
        Some(_) => deny(
            Some(format!("no identity policy allows the request; {why}")),
            identity.iter().flat_map(|p| p.failed(request)).collect(),
        ),
    }
}
