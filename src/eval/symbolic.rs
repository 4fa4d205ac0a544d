//! Exact answers over sets of requests.
//!
//! A [`SymRequest`] is a set of requests: fixed parts (principal type, action, the key) and free
//! variables, each with a domain (a trail name, a 12-digit account, an IP address, a key that may
//! be absent). [`solve`] decides whether a predicate on the decision holds for **all**, **none**
//! or **some** of the requests, and returns a concrete witness request for each non-empty side.
//!
//! How it stays exact: the policy can only observe a variable through its condition values,
//! principals and the caller's hints, so the domain splits into finitely many classes of values
//! the policy cannot tell apart (regular languages for strings — [`lang`]; intervals for IP
//! addresses and numbers; two values for booleans; present/absent for optional keys). One
//! representative per class, over the product of all variables, covers every request; each is
//! evaluated by the concrete engine ([`super::evaluate`]), so every witness is a real request
//! with a real decision. Past a fixed budget the answer is undecided, never "none".

pub(crate) mod lang;

use super::{evaluate, Context, Decision, IamPrincipal, Request, RequestPrincipal};
use crate::policy::{
    AwsPrincipal, BaseOperator, ConditionValue, OperatorFamily, Policy, PrincipalElement,
    Statement, TemplatePart,
};
use lang::{Domain, Glob};
use std::net::{Ipv4Addr, Ipv6Addr};

/// A variable of a [`SymRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarId(pub usize);

/// The values a variable may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainKind {
    /// A regular expression over printable ASCII (`[0-9]{12}`).
    Regex(String),
    /// One of these values.
    Finite(Vec<String>),
    /// Any IPv4 or IPv6 address.
    Ip,
    /// `true` or `false`.
    Bool,
    /// Any number (also dates, as epoch seconds).
    Number,
}

impl DomainKind {
    /// A regular-expression domain.
    pub fn regex(regex: &str) -> Self {
        Self::Regex(regex.into())
    }

    /// A 12-digit account id.
    pub fn account() -> Self {
        Self::regex("[0-9]{12}")
    }

    /// Any printable string.
    pub fn any() -> Self {
        Self::regex(r"[\x20-\x7e]*")
    }
}

/// A free variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Var {
    /// What it stands for, in messages (`trail account`, `aws:SourceIp`).
    pub name: String,
    /// Its domain.
    pub domain: DomainKind,
    /// The value may be missing: a key whose value uses a missing variable is absent.
    pub optional: bool,
    /// Values the caller wants kept apart from the rest (trusted accounts, the key's account).
    pub hints: Vec<String>,
}

/// A piece of a symbolic string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Fixed text.
    Text(String),
    /// A variable's value.
    Var(VarId),
}

/// A string built from fixed text and variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SymText(pub Vec<Piece>);

impl SymText {
    /// Fixed text.
    pub fn lit(text: impl Into<String>) -> Self {
        Self(vec![Piece::Text(text.into())])
    }

    /// One variable.
    pub fn var(v: VarId) -> Self {
        Self(vec![Piece::Var(v)])
    }

    /// Appends text.
    pub fn text(mut self, text: &str) -> Self {
        match self.0.last_mut() {
            Some(Piece::Text(t)) => t.push_str(text),
            _ => self.0.push(Piece::Text(text.into())),
        }
        self
    }

    /// Appends a variable.
    pub fn then(mut self, v: VarId) -> Self {
        self.0.push(Piece::Var(v));
        self
    }

    /// Appends another symbolic string.
    pub fn join(mut self, other: &SymText) -> Self {
        for p in &other.0 {
            self = match p {
                Piece::Text(t) => self.text(t),
                Piece::Var(v) => self.then(*v),
            };
        }
        self
    }

    fn uses(&self, v: VarId) -> bool {
        self.0.contains(&Piece::Var(v))
    }

    /// The fixed text, when there is no variable.
    pub fn fixed(&self) -> Option<String> {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(_) => return None,
            }
        }
        Some(out)
    }

    /// The text under an assignment; `None` when a variable is absent.
    pub fn instantiate(&self, values: &[Option<String>]) -> Option<String> {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(v) => out.push_str(values.get(v.0)?.as_deref()?),
            }
        }
        Some(out)
    }
}

/// A condition key's value in a [`SymRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SymValue {
    /// A single value.
    One(SymText),
    /// Fixed values of a multi-valued key.
    Multi(Vec<String>),
    /// `kms:EncryptionContextKeys`: those of the listed context keys that are present.
    ContextKeys(Vec<String>),
}

/// The principal of a [`SymRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SymPrincipal {
    /// An AWS service principal.
    Service(String),
    /// An unauthenticated caller.
    Anonymous,
    /// An IAM principal.
    Iam {
        /// Its ARN.
        arn: SymText,
        /// Its account.
        account: SymText,
        /// For roles: the role name.
        role_name: Option<SymText>,
        /// The account's root user.
        is_root: bool,
    },
}

impl SymPrincipal {
    fn uses(&self, v: VarId) -> bool {
        match self {
            SymPrincipal::Iam {
                arn,
                account,
                role_name,
                ..
            } => arn.uses(v) || account.uses(v) || role_name.as_ref().is_some_and(|r| r.uses(v)),
            _ => false,
        }
    }
}

/// A set of requests: fixed parts and free variables.
#[derive(Debug, Clone)]
pub struct SymRequest {
    /// Who calls.
    pub principal: SymPrincipal,
    /// The action.
    pub action: String,
    /// The key ARN.
    pub resource: String,
    /// Condition keys (lowercase) and their values.
    pub keys: Vec<(String, SymValue)>,
    /// The variables the values use.
    pub vars: Vec<Var>,
    /// Condition keys known to be absent (lowercase; a trailing `*` matches a prefix). Any other
    /// key the policy names and `keys` does not set is free: any value, or absent.
    pub absent: Vec<String>,
}

impl SymRequest {
    /// A request set with no condition keys yet.
    pub fn new(principal: SymPrincipal, action: &str, resource: &str) -> Self {
        Self {
            principal,
            action: action.into(),
            resource: resource.into(),
            keys: Vec::new(),
            vars: Vec::new(),
            absent: Vec::new(),
        }
    }

    /// Adds a variable.
    pub fn var(&mut self, name: &str, domain: DomainKind, optional: bool) -> VarId {
        self.vars.push(Var {
            name: name.into(),
            domain,
            optional,
            hints: Vec::new(),
        });
        VarId(self.vars.len() - 1)
    }

    /// Values of `v` to keep apart from the others.
    pub fn hint(&mut self, v: VarId, values: impl IntoIterator<Item = String>) {
        if let Some(var) = self.vars.get_mut(v.0) {
            var.hints.extend(values);
        }
    }

    /// Sets a single-valued key (`key` lowercase).
    pub fn set(&mut self, key: &str, value: SymText) {
        self.put(key, SymValue::One(value));
    }

    /// Sets any key value (`key` lowercase).
    pub fn put(&mut self, key: &str, value: SymValue) {
        let key = key.to_ascii_lowercase();
        match self.keys.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => self.keys.push((key, value)),
        }
    }

    /// Marks keys absent (lowercase; `prefix*` for a family).
    pub fn absent(&mut self, keys: &[&str]) {
        self.absent.extend(keys.iter().map(|k| k.to_string()));
    }

    fn get(&self, key: &str) -> Option<&SymValue> {
        self.keys.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn is_absent(&self, key: &str) -> bool {
        self.absent.iter().any(|a| match a.strip_suffix('*') {
            Some(prefix) => key.starts_with(prefix),
            None => a == key,
        })
    }

    /// The concrete request for one value per variable.
    pub fn instantiate(&self, values: &[Option<String>]) -> Option<Request> {
        let principal = match &self.principal {
            SymPrincipal::Service(s) => RequestPrincipal::Service(s.clone()),
            SymPrincipal::Anonymous => RequestPrincipal::Anonymous,
            SymPrincipal::Iam {
                arn,
                account,
                role_name,
                is_root,
            } => RequestPrincipal::Iam(IamPrincipal {
                arn: arn.instantiate(values)?,
                account: account.instantiate(values)?,
                role_name: match role_name {
                    Some(r) => Some(r.instantiate(values)?),
                    None => None,
                },
                is_root: *is_root,
            }),
        };
        let mut context = Context::new();
        for (key, value) in &self.keys {
            match value {
                SymValue::One(t) => {
                    if let Some(v) = t.instantiate(values) {
                        context.set(key, v);
                    }
                }
                SymValue::Multi(vs) => {
                    context.set_multi(key, vs.clone());
                }
                SymValue::ContextKeys(_) => {}
            }
        }
        for (key, value) in &self.keys {
            if let SymValue::ContextKeys(names) = value {
                let present: Vec<String> = names
                    .iter()
                    .filter(|n| {
                        context
                            .get(&format!("kms:encryptioncontext:{}", n.to_ascii_lowercase()))
                            .is_some()
                    })
                    .cloned()
                    .collect();
                if !present.is_empty() {
                    context.set_multi(key, present);
                }
            }
        }
        Some(
            Request {
                principal,
                action: self.action.clone(),
                resource: self.resource.clone(),
                context,
            }
            .with_principal_context(),
        )
    }
}

/// A concrete request from the set, with its decision.
#[derive(Debug, Clone)]
pub struct Witness {
    /// The request.
    pub request: Request,
    /// What the policy decides for it.
    pub decision: Decision,
    /// The variables' values (`None`: absent), in the request set's order.
    pub values: Vec<(String, Option<String>)>,
}

impl Witness {
    /// The value of the variable named `name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// For how much of the set the predicate holds.
#[derive(Debug, Clone)]
pub struct Answer {
    /// A request for which it holds, if any.
    pub holds: Option<Witness>,
    /// A request for which it fails, if any.
    pub fails: Option<Witness>,
    /// Requests evaluated.
    pub evaluated: usize,
    /// The classes covered the whole set, so an empty side is proven empty. `false` when a
    /// condition ties a free value to another request value (a policy variable): witnesses are
    /// still real, but "for all" and "for none" are then undecided.
    pub exact: bool,
}

impl Answer {
    /// True when it is proven to hold for every request.
    pub fn all(&self) -> bool {
        self.exact && self.fails.is_none()
    }

    /// True when it is proven to hold for no request.
    pub fn none(&self) -> bool {
        self.exact && self.holds.is_none()
    }
}

/// Why no exact answer could be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("undecided: {0}")]
pub struct Undecided(pub String);

/// The most requests one question may evaluate.
const MAX_REQUESTS: usize = 20_000;

/// A policy value that depends on another key of the request (`${aws:PrincipalAccount}`): the
/// classes of the variables it compares against are not computed from it. Witnesses stay exact;
/// an empty side is then undecided.
fn template_keys(value: &ConditionValue) -> Vec<String> {
    match value {
        ConditionValue::Text { template, .. } => template
            .parts
            .iter()
            .flatten()
            .filter_map(|p| match p {
                TemplatePart::Variable { key, .. } => Some(key.to_ascii_lowercase()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The text a template resolves to when every variable it names is fixed in `req`.
fn resolved_pieces(value: &ConditionValue, req: &SymRequest) -> Option<Vec<(String, bool)>> {
    let ConditionValue::Text { template, .. } = value else {
        return None;
    };
    let Some(parts) = &template.parts else {
        return Some(vec![(template.raw.to_string(), true)]);
    };
    let mut out = Vec::new();
    for p in parts {
        match p {
            TemplatePart::Text(t) => out.push((t.clone(), true)),
            TemplatePart::Escaped(c) => out.push((c.to_string(), false)),
            TemplatePart::Variable { key, default } => {
                let fixed = match req.get(&key.to_ascii_lowercase()) {
                    Some(SymValue::One(t)) => Some(t.fixed()?),
                    Some(_) => None,
                    None if req.is_absent(&key.to_ascii_lowercase()) => None,
                    None => return None,
                };
                out.push((fixed.or_else(|| default.clone())?, false));
            }
        }
    }
    Some(out)
}

/// What the policy can observe of one variable.
#[derive(Default)]
struct Observed {
    globs: Vec<Glob>,
    cidrs: Vec<(bool, u128, u128)>,
    numbers: Vec<f64>,
    /// Compared by a value that depends on the request, or by operators of several families.
    inexact: bool,
}

/// Can `s` apply to some request of the set? Statements for other principals or actions never
/// do, so their conditions cannot tell the set's values apart.
fn relevant(s: &Statement, req: &SymRequest) -> bool {
    if !s.action.matches(&req.action) {
        return false;
    }
    match (&s.principal, &req.principal) {
        (None | Some(PrincipalElement::NotPrincipal(_)), _) => true,
        (Some(PrincipalElement::Principal(set)), p) => {
            set.everyone
                || match p {
                    SymPrincipal::Service(name) => set.service.iter().any(|x| x == name),
                    SymPrincipal::Iam { .. } => !set.aws.is_empty(),
                    SymPrincipal::Anonymous => false,
                }
        }
    }
}

/// The statements of every policy that can apply to the set.
fn statements<'p>(policies: &[&'p Policy], req: &SymRequest) -> Vec<&'p Statement> {
    policies
        .iter()
        .flat_map(|p| p.statements.iter())
        .filter(|s| relevant(s, req))
        .collect()
}

fn observe(statements: &[&Statement], req: &SymRequest, v: VarId) -> Observed {
    let mut o = Observed::default();
    let var = req.vars.get(v.0);
    for h in var.map(|x| x.hints.as_slice()).unwrap_or(&[]) {
        o.globs.push(Glob::literal(h, false));
    }
    let mut families = Vec::new();
    for s in statements {
        for c in &s.conditions {
            let uses = match req.get(c.key()) {
                Some(SymValue::One(t)) => t.uses(v),
                _ => false,
            };
            if !uses {
                continue;
            }
            let family = c.operator.base.family();
            // String and ARN operators are both patterns over the text: one kind of test.
            let kind = match family {
                OperatorFamily::Arn => OperatorFamily::String,
                f => f,
            };
            if c.operator.base != BaseOperator::Null && !families.contains(&kind) {
                families.push(kind);
            }
            for value in &c.values {
                if template_keys(value)
                    .iter()
                    .any(|k| !matches!(req.get(k), Some(SymValue::One(t)) if t.fixed().is_some()))
                {
                    o.inexact = true;
                }
                match (family, value) {
                    (OperatorFamily::String | OperatorFamily::Arn, _) => {
                        let Some(pieces) = resolved_pieces(value, req) else {
                            continue;
                        };
                        use BaseOperator::*;
                        let g = match c.operator.base {
                            StringEquals | StringNotEquals => Glob::literal(
                                &pieces.iter().map(|p| p.0.as_str()).collect::<String>(),
                                false,
                            ),
                            StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => Glob::literal(
                                &pieces.iter().map(|p| p.0.as_str()).collect::<String>(),
                                true,
                            ),
                            StringLike | StringNotLike => Glob::like(&pieces),
                            _ => Glob::arn(&pieces),
                        };
                        o.globs.push(g);
                    }
                    (_, ConditionValue::Cidr(cidr)) => o.cidrs.push(cidr.bounds()),
                    (_, ConditionValue::Number(n)) => o.numbers.push(*n),
                    (_, ConditionValue::Date(ms)) => o.numbers.push(*ms as f64 / 1000.0),
                    _ => {}
                }
            }
        }
    }
    if families.len() > 1 {
        o.inexact = true;
    }
    if req.principal.uses(v) {
        for s in statements {
            let set = match &s.principal {
                Some(PrincipalElement::Principal(set) | PrincipalElement::NotPrincipal(set)) => set,
                None => continue,
            };
            for a in &set.aws {
                o.globs.push(Glob::literal(a.account(), false));
                if let AwsPrincipal::Arn { arn, .. } = a {
                    o.globs.push(Glob::literal(arn, false));
                    if let Some(name) = arn.rsplit('/').next() {
                        o.globs.push(Glob::literal(name, false));
                    }
                }
            }
        }
        // The key's account decides whether the call is cross-account.
        if let Some(a) = crate::policy::arn_account(&req.resource) {
            o.globs.push(Glob::literal(a, false));
        }
    }
    o
}

thread_local! {
    /// Compiled domains by expression: building a DFA costs far more than using it.
    static DOMAINS: std::cell::RefCell<std::collections::HashMap<String, std::rc::Rc<Domain>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

fn domain(regex: &str) -> Result<std::rc::Rc<Domain>, Undecided> {
    if let Some(d) = DOMAINS.with(|m| m.borrow().get(regex).cloned()) {
        return Ok(d);
    }
    let d = std::rc::Rc::new(Domain::new(regex).map_err(|e| Undecided(e.0))?);
    DOMAINS.with(|m| m.borrow_mut().insert(regex.to_string(), d.clone()));
    Ok(d)
}

/// The most prefixes [`tail_entries`] instantiates for one text.
const MAX_PREFIXES: usize = 256;

/// Where `v` stands once in each text and every variable before it there is already split into
/// classes (`earlier`), the state sets each glob can be in when `v` starts: one per
/// instantiated prefix, and whether `v` always ends its texts. `None` otherwise (then whole
/// relations are needed).
fn tail_entries(
    req: &SymRequest,
    v: VarId,
    globs: &[Glob],
    earlier: &[Vec<Option<String>>],
) -> Option<(Vec<Vec<u128>>, bool)> {
    let mut tail = true;
    let mut texts: Vec<&SymText> = Vec::new();
    for (_, value) in &req.keys {
        if let SymValue::One(t) = value {
            texts.push(t);
        }
    }
    if let SymPrincipal::Iam {
        arn,
        account,
        role_name,
        ..
    } = &req.principal
    {
        texts.push(arn);
        texts.push(account);
        texts.extend(role_name);
    }
    let mut prefixes: Vec<String> = vec![String::new()];
    for t in texts {
        let Some(pos) = t.0.iter().position(|p| *p == Piece::Var(v)) else {
            continue;
        };
        if t.0.iter().skip(pos + 1).any(|p| *p == Piece::Var(v)) {
            return None;
        }
        tail &= pos + 1 == t.0.len();
        // Every instantiation of the pieces before `v`.
        let mut options: Vec<String> = vec![String::new()];
        for piece in t.0.iter().take(pos) {
            let values: Vec<String> = match piece {
                Piece::Text(x) => vec![x.clone()],
                Piece::Var(w) if w.0 < v.0 => earlier.get(w.0)?.iter().flatten().cloned().collect(),
                Piece::Var(_) => return None,
            };
            let mut next = Vec::new();
            for o in &options {
                for x in &values {
                    next.push(format!("{o}{x}"));
                }
            }
            if next.len() > MAX_PREFIXES {
                return None;
            }
            options = next;
        }
        prefixes.extend(options);
    }
    prefixes.sort();
    prefixes.dedup();
    Some((
        globs
            .iter()
            .map(|g| {
                let mut sets: Vec<u128> = prefixes
                    .iter()
                    .map(|p| lang::run(g, lang::start(g), p))
                    .filter(|s| *s != 0)
                    .collect();
                sets.sort_unstable();
                sets.dedup();
                sets
            })
            .collect(),
        tail,
    ))
}

/// One value per class of the variable's domain.
fn classes(
    statements: &[&Statement],
    req: &SymRequest,
    v: VarId,
    earlier: &[Vec<Option<String>>],
) -> Result<(Vec<Option<String>>, bool), Undecided> {
    let Some(var) = req.vars.get(v.0) else {
        return Ok((vec![None], false));
    };
    let mut o = observe(statements, req, v);
    o.globs.dedup();
    let mut out: Vec<Option<String>> = match &var.domain {
        DomainKind::Regex(regex) => {
            let d = domain(regex)?;
            let d = d.as_ref();
            match tail_entries(req, v, &o.globs, earlier) {
                Some((entries, tail)) => lang::tail_representatives(d, &o.globs, &entries, tail),
                None => lang::representatives(d, &o.globs),
            }
            .map_err(|e| Undecided(format!("{}: {}", var.name, e.0)))?
            .into_iter()
            .map(Some)
            .collect()
        }
        DomainKind::Finite(values) => {
            let mut seen: Vec<Vec<u128>> = Vec::new();
            let mut reps = Vec::new();
            for value in values {
                let sig = lang::signature(&o.globs, value);
                if !seen.contains(&sig) {
                    seen.push(sig);
                    reps.push(Some(value.clone()));
                }
            }
            reps
        }
        DomainKind::Ip => ip_points(&o.cidrs),
        DomainKind::Bool => vec![Some("true".into()), Some("false".into())],
        DomainKind::Number => {
            let mut points = vec![0.0f64];
            for n in &o.numbers {
                points.extend([n - 1.0, *n, n + 1.0, n - 0.5, n + 0.5]);
            }
            points.sort_by(f64::total_cmp);
            points.dedup();
            points.into_iter().map(|p| Some(p.to_string())).collect()
        }
    };
    if var.optional {
        out.push(None);
    }
    Ok((out, o.inexact))
}

/// The first address of every interval on which membership in each network is constant.
fn ip_points(cidrs: &[(bool, u128, u128)]) -> Vec<Option<String>> {
    let mut v4: Vec<u128> = vec![0];
    let mut v6: Vec<u128> = vec![0];
    for &(is_v4, start, end) in cidrs {
        let (list, max) = if is_v4 {
            (&mut v4, u128::from(u32::MAX))
        } else {
            (&mut v6, u128::MAX)
        };
        list.push(start);
        if end < max {
            list.push(end + 1);
        }
    }
    v4.sort_unstable();
    v4.dedup();
    v6.sort_unstable();
    v6.dedup();
    let four = v4
        .into_iter()
        .filter_map(|n| u32::try_from(n).ok())
        .map(|n| Some(Ipv4Addr::from(n).to_string()));
    let six = v6.into_iter().map(|n| Some(Ipv6Addr::from(n).to_string()));
    four.chain(six).collect()
}

/// Condition keys the policy names that the request set neither sets nor marks absent become
/// free optional variables, with a domain fitting the operators that read them.
fn with_free_keys(statements: &[&Statement], req: &SymRequest) -> SymRequest {
    let mut req = req.clone();
    // The keys AWS sets from the principal, unless the set gives them already.
    let principal_keys: Vec<(&str, SymText)> = match &req.principal {
        SymPrincipal::Service(s) => vec![
            ("aws:principalisawsservice", SymText::lit("true")),
            ("aws:principalservicename", SymText::lit(s.as_str())),
        ],
        SymPrincipal::Iam { arn, account, .. } => vec![
            ("aws:principalisawsservice", SymText::lit("false")),
            ("aws:principalarn", arn.clone()),
            ("aws:principalaccount", account.clone()),
            ("kms:calleraccount", account.clone()),
        ],
        SymPrincipal::Anonymous => Vec::new(),
    };
    for (k, v) in principal_keys {
        if req.get(k).is_none() && !req.is_absent(k) {
            req.set(k, v);
        }
    }
    for s in statements {
        for c in &s.conditions {
            let key = c.key();
            if req.get(key).is_some() || req.is_absent(key) {
                continue;
            }
            let domain = match c.operator.base.family() {
                OperatorFamily::Ip => DomainKind::Ip,
                OperatorFamily::Bool => DomainKind::Bool,
                OperatorFamily::Numeric | OperatorFamily::Date => DomainKind::Number,
                _ => DomainKind::any(),
            };
            let v = req.var(key, domain, true);
            req.set(key, SymText::var(v));
        }
    }
    req
}

/// Decides `holds(request, decision)` over every request in `req`.
pub fn solve(
    policy: &Policy,
    req: &SymRequest,
    identity_policies: Option<&[Policy]>,
    holds: impl Fn(&Request, &Decision) -> bool,
) -> Result<Answer, Undecided> {
    let mut policies = vec![policy];
    policies.extend(identity_policies.unwrap_or(&[]));
    let relevant = statements(&policies, req);
    let req = with_free_keys(&relevant, req);
    let mut per_var = Vec::with_capacity(req.vars.len());
    let mut inexact = false;
    let mut total: usize = 1;
    for i in 0..req.vars.len() {
        let (values, loose) = classes(&relevant, &req, VarId(i), &per_var)?;
        inexact |= loose;
        total = total.saturating_mul(values.len().max(1));
        per_var.push(values);
    }
    if total > MAX_REQUESTS {
        return Err(Undecided(format!(
            "{total} classes of requests, more than the {MAX_REQUESTS} the search may evaluate"
        )));
    }
    let mut answer = Answer {
        holds: None,
        fails: None,
        evaluated: 0,
        exact: !inexact,
    };
    let mut index = vec![0usize; per_var.len()];
    loop {
        let values: Vec<Option<String>> = per_var
            .iter()
            .zip(&index)
            .map(|(vals, &i)| vals.get(i).cloned().flatten())
            .collect();
        if let Some(request) = req.instantiate(&values) {
            let decision = evaluate(policy, &request, identity_policies);
            answer.evaluated += 1;
            let ok = holds(&request, &decision);
            let slot = if ok {
                &mut answer.holds
            } else {
                &mut answer.fails
            };
            if slot.is_none() {
                *slot = Some(Witness {
                    request,
                    decision,
                    values: req
                        .vars
                        .iter()
                        .zip(&values)
                        .map(|(v, x)| (v.name.clone(), x.clone()))
                        .collect(),
                });
            }
            if answer.holds.is_some() && answer.fails.is_some() {
                return Ok(answer);
            }
        }
        // Next combination (odometer).
        let mut carry = true;
        for (i, vals) in index.iter_mut().zip(&per_var) {
            *i += 1;
            if *i < vals.len() {
                carry = false;
                break;
            }
            *i = 0;
        }
        if carry {
            break;
        }
    }
    answer.exact = !inexact;
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "arn:aws:kms:us-east-1:111111111111:key/k";

    fn policy(statements: &str) -> Policy {
        Policy::parse(&format!(
            r#"{{"Version": "2012-10-17", "Statement": [{statements}]}}"#
        ))
        .unwrap()
    }

    /// CloudTrail's GenerateDataKey for a trail of any account, Region and name.
    fn any_trail() -> (SymRequest, VarId) {
        let mut r = SymRequest::new(
            SymPrincipal::Service("cloudtrail.amazonaws.com".into()),
            "kms:GenerateDataKey",
            KEY,
        );
        let account = r.var("trail account", DomainKind::account(), false);
        let name = r.var("trail name", DomainKind::regex("[a-z][a-z0-9]*"), false);
        let trail = SymText::lit("arn:aws:cloudtrail:us-east-1:")
            .then(account)
            .text(":trail/")
            .then(name);
        r.set("aws:sourcearn", trail.clone());
        r.set("aws:sourceaccount", SymText::var(account));
        r.set("kms:encryptioncontext:aws:cloudtrail:arn", trail);
        r.hint(account, ["111111111111".to_string()]);
        (r, account)
    }

    fn foreign(r: &Request, d: &Decision) -> bool {
        d.is_allowed()
            && r.context
                .get("aws:sourceaccount")
                .is_some_and(|e| e.values != ["111111111111"])
    }

    #[test]
    fn a_wildcard_source_arn_lets_any_account_in() {
        // The exact-answers issue: `StringLike aws:SourceArn *` restricts nothing.
        let p = policy(
            r#"{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*",
               "Condition": {"StringLike": {"aws:SourceArn": "*"}}}"#,
        );
        let (r, _) = any_trail();
        let a = solve(&p, &r, None, foreign).unwrap();
        let w = a.holds.expect("a foreign trail is allowed");
        assert!(w.decision.is_allowed());
        assert_ne!(w.value("trail account"), Some("111111111111"));
    }

    #[test]
    fn an_encryption_context_pinned_to_one_account_keeps_others_out() {
        // The older CloudTrail page's policy: only the account's own trails can encrypt.
        let p = policy(
            r#"{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*",
               "Condition": {"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111111111111:trail/*"}}}"#,
        );
        let (r, _) = any_trail();
        let a = solve(&p, &r, None, foreign).unwrap();
        assert!(a.none(), "{:?}", a.holds);
        // ...while the account's own trails are all allowed.
        let own = solve(&p, &r, None, |r, d| {
            foreign(r, d)
                || r.context.get("aws:sourceaccount").map(|e| e.values.clone())
                    != Some(vec!["111111111111".into()])
                || d.is_allowed()
        })
        .unwrap();
        assert!(own.all(), "{:?}", own.fails);
    }

    #[test]
    fn an_account_prefix_pattern_admits_exactly_its_accounts() {
        let p = policy(
            r#"{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*",
               "Condition": {"StringLike": {"aws:SourceAccount": "2222*"}}}"#,
        );
        let (r, _) = any_trail();
        let a = solve(&p, &r, None, foreign).unwrap();
        let w = a.holds.expect("2222… accounts are let in");
        assert!(w.value("trail account").unwrap().starts_with("2222"));
    }

    #[test]
    fn free_keys_are_present_or_absent() {
        // `aws:SourceIp 0.0.0.0/0` on a public grant restricts nothing (IPv4 callers), but an
        // IPv6 caller or a call without the key is refused: the witness is an IPv4 address.
        let p = policy(
            r#"{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
               "Condition": {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}}"#,
        );
        let mut r = SymRequest::new(SymPrincipal::Anonymous, "kms:Decrypt", KEY);
        r.absent(&[]);
        let a = solve(&p, &r, None, |_, d| d.is_allowed()).unwrap();
        let w = a.holds.expect("allowed from some address");
        assert!(w.value("aws:sourceip").is_some());
        assert!(a.fails.is_some());
    }

    #[test]
    fn a_deny_on_the_requested_region_denies_every_call() {
        let p = policy(
            r#"{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:*", "Resource": "*"},
               {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}"#,
        );
        let (mut r, _) = any_trail();
        r.set("aws:requestedregion", SymText::lit("us-east-1"));
        let a = solve(&p, &r, None, |_, d| d.is_allowed()).unwrap();
        assert!(a.none());
    }

    #[test]
    fn a_policy_variable_tie_is_undecided_when_nothing_is_found() {
        let p = policy(
            r#"{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
               "Condition": {"StringEquals": {"kms:CallerAccount": "${aws:PrincipalAccount}"}}}"#,
        );
        let mut r = SymRequest::new(SymPrincipal::Anonymous, "kms:Decrypt", KEY);
        let acct = r.var("account", DomainKind::account(), false);
        r.principal = SymPrincipal::Iam {
            arn: SymText::lit("arn:aws:iam::").then(acct).text(":role/r"),
            account: SymText::var(acct),
            role_name: Some(SymText::lit("r")),
            is_root: false,
        };
        // A witness is still found (and is exact): the tie restricts nothing.
        let a = solve(&p, &r, None, |_, d| d.is_allowed()).unwrap();
        assert!(a.holds.is_some());
        // ...but "allowed for all" is not claimed: the tie is not split exactly.
        assert!(!a.all());
    }
}
