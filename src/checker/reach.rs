//! Findings as answers to exact questions over sets of requests: does delivery work for *every*
//! log object, and can *any* trail or principal outside the trusted accounts use the key?

use super::model::{self, DecryptorClass, Outsider, Storage, TrailCall, TrailParts};
use super::{
    Checker, Decryptors, Finding, FindingId, Severity, Trail, TrailReach, TrailScope, CLOUDTRAIL,
};
use crate::eval::symbolic::{solve, Answer, SymRequest, Undecided, Witness};
use crate::eval::{Decision, Outcome, Request, RequestPrincipal, Via};
use crate::policy::{arn_account, is_account_id, PrincipalElement};

/// KMS actions an outsider is probed for.
const PROBED_ACTIONS: &[&str] = &[
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:ReEncryptFrom",
    "kms:CreateGrant",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:DescribeKey",
];

/// The trail a witness request is for (its `aws:SourceArn`), for messages.
fn witness_trail(r: &Request) -> String {
    context_value(r, "aws:sourcearn").unwrap_or("?").to_string()
}

fn context_value<'r>(r: &'r Request, key: &str) -> Option<&'r str> {
    r.context
        .get(key)
        .and_then(|e| e.values.first())
        .map(String::as_str)
}

/// The variables of a witness, as `name value` pairs (free condition keys only when present).
fn values(w: &Witness) -> String {
    let shown: Vec<String> = w
        .values
        .iter()
        .filter(|(n, v)| v.is_some() || !n.contains(':'))
        .take(6)
        .map(|(n, v)| match v {
            Some(v) if v.is_empty() => format!("{n} \"\""),
            Some(v) => format!("{n} `{v}`"),
            None => format!("{n} absent"),
        })
        .collect();
    shown.join(", ")
}

/// Why the witness's decision went as it did.
fn why(d: &Decision) -> String {
    match d.decision {
        Outcome::ExplicitDeny => format!(
            "denied by statement {}",
            d.statements
                .first()
                .map(|s| s.label())
                .unwrap_or_else(|| "?".into())
        ),
        Outcome::Allow => format!(
            "allowed by statement {}",
            d.statements
                .first()
                .map(|s| s.label())
                .unwrap_or_else(|| "?".into())
        ),
        Outcome::ImplicitDeny => match d.failed_conditions.first() {
            Some(f) => f.describe(),
            None => "no statement allows it".into(),
        },
    }
}

fn blamed(d: &Decision) -> Option<String> {
    match d.decision {
        Outcome::ExplicitDeny | Outcome::Allow => d.statements.first().map(|s| s.label()),
        Outcome::ImplicitDeny => d.failed_conditions.first().map(|f| f.statement.label()),
    }
}

impl Checker<'_> {
    fn finding(
        &mut self,
        id: FindingId,
        severity: Severity,
        resource: &str,
        statement: Option<String>,
        message: String,
    ) {
        self.findings.push(Finding {
            id,
            severity,
            resource: resource.to_string(),
            statement,
            message,
            fix: None,
        });
    }

    fn undecided(&mut self, resource: &str, what: &str, e: &Undecided) {
        self.finding(
            FindingId::Undecided,
            Severity::Error,
            resource,
            None,
            format!("{what}: {e}; not reported as compliant"),
        );
    }

    fn solve(
        &self,
        set: &SymRequest,
        identity: bool,
        holds: impl Fn(&Request, &Decision) -> bool,
    ) -> Result<Answer, Undecided> {
        let ids = if identity {
            self.input.identity_policies.as_deref()
        } else {
            None
        };
        solve(self.policy, set, ids, holds)
    }

    /// `what` must be allowed for every request in `set`; otherwise `id` names a request for
    /// which it is not.
    fn for_all(
        &mut self,
        id: FindingId,
        resource: &str,
        set: &SymRequest,
        what: &str,
        identity: bool,
    ) {
        match self.solve(set, identity, |_, d| d.is_allowed()) {
            Err(e) => self.undecided(resource, what, &e),
            Ok(a) => match &a.fails {
                Some(w) => {
                    let message = format!(
                        "{what} is denied for some requests it makes, e.g. with {}: {}",
                        values(w),
                        why(&w.decision)
                    );
                    self.finding(id, id.severity(), resource, blamed(&w.decision), message);
                }
                None if !a.exact => self.undecided(
                    resource,
                    what,
                    &Undecided("a condition ties a free value to another request value; every request tried was allowed, but not every class was covered".into()),
                ),
                None => {}
            },
        }
    }

    /// Delivery for one trail over every log object, date, bucket and prefix consistent with what
    /// is known, and CreateTrail's verification call. Runs after the representative request
    /// passed, so each finding is new.
    pub(super) fn trail_reach(
        &mut self,
        trail: &Trail,
        encrypt_ok: bool,
        describe_ok: bool,
        decrypt_ok: bool,
        readers_ok: &[RequestPrincipal],
    ) {
        let input = self.input;
        let parts = TrailParts::known(trail);
        let storage = Storage::of(trail);
        let t = trail.arn.as_str();
        if encrypt_ok {
            let set = model::trail_crypto(input, &parts, storage, "kms:GenerateDataKey");
            self.for_all(
                FindingId::EncryptDenied,
                t,
                &set,
                "CloudTrail's kms:GenerateDataKey for this trail's log files",
                false,
            );
            let set = model::trail_verify(input, &parts, storage);
            self.for_all(FindingId::EncryptDenied, t, &set, "CloudTrail's kms:GenerateDataKey for CreateTrail's/UpdateTrail's verification call", false);
        }
        if describe_ok {
            let set = model::trail_describe(input, &parts);
            self.for_all(
                FindingId::DescribeDenied,
                t,
                &set,
                "CloudTrail's kms:DescribeKey for this trail",
                false,
            );
        }
        if decrypt_ok && input.bucket_key {
            let set = model::trail_crypto(input, &parts, storage, "kms:Decrypt");
            self.for_all(
                FindingId::ServiceDecryptDenied,
                t,
                &set,
                "CloudTrail's kms:Decrypt (S3 Bucket Key)",
                false,
            );
        }
        for reader in readers_ok {
            if let Some(set) = model::trail_read(input, &parts, storage, reader) {
                let what = format!("kms:Decrypt by reader `{}`", reader.display());
                self.for_all(FindingId::ReaderDenied, t, &set, &what, true);
            }
        }
    }

    /// The edit that closes a confused deputy: the condition to add to the statement that let the
    /// foreign trail in (it cannot be appended as a new statement: Allows only add access).
    fn source_arn_edit(&self, statement: Option<&str>) -> Option<serde_json::Value> {
        let statement = statement?;
        if self.input.trails.is_empty() {
            return None;
        }
        let arns: Vec<&str> = self.input.trails.iter().map(|t| t.arn.as_str()).collect();
        Some(serde_json::json!({
            "edit": "add this condition to the statement",
            "statement": statement,
            "Condition": {"StringEquals": {"aws:SourceArn": arns}},
        }))
    }

    /// The key's account, the checked trails' accounts, `--allowed-account`, and (when that is
    /// not given, or `named` is set) the accounts the policy names literally.
    fn trusted(&self, named: bool) -> Vec<String> {
        let input = self.input;
        let mut out: Vec<String> = Vec::new();
        out.extend(arn_account(&input.key_arn).map(str::to_string));
        out.extend(
            input
                .trails
                .iter()
                .filter_map(|t| arn_account(&t.arn).map(str::to_string)),
        );
        out.extend(input.allowed_accounts.iter().cloned());
        if named || input.allowed_accounts.is_empty() {
            for s in &self.policy.statements {
                if let Some(PrincipalElement::Principal(set)) = &s.principal {
                    out.extend(set.aws.iter().map(|a| a.account().to_string()));
                }
                for c in &s.conditions {
                    for v in c.raw_values() {
                        if is_account_id(v) {
                            out.push(v.to_string());
                        } else if let Some(a) = arn_account(v).filter(|a| is_account_id(a)) {
                            out.push(a.to_string());
                        }
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The widest class of trails for which CloudTrail's `call` is allowed, with a witness
    /// request. With `untrusted_only`, only whether a trail of an untrusted account is reached
    /// (`None` when not).
    fn reach_of(
        &self,
        call: TrailCall,
        trusted: &[String],
        untrusted_only: bool,
    ) -> Result<Option<(TrailReach, Witness)>, Undecided> {
        let input = self.input;
        let untrusted = |r: &Request| {
            context_value(r, "aws:sourceaccount").is_some_and(|a| !trusted.iter().any(|t| t == a))
        };
        let set = model::any_trail_request(input, call, trusted);
        let inexact = || {
            Undecided("a condition ties a free value to another request value; not every class of trails was covered".into())
        };
        let a = self.solve(&set, false, |r, d| d.is_allowed() && untrusted(r))?;
        if let Some(w) = a.holds {
            // Is it every untrusted trail?
            let everyone = self
                .solve(&set, false, |r, d| d.is_allowed() || !untrusted(r))
                .is_ok_and(|b| b.all());
            let reach = if everyone {
                TrailReach::AnyTrail
            } else {
                TrailReach::UntrustedAccounts
            };
            return Ok(Some((reach, w)));
        }
        if !a.exact {
            return Err(inexact());
        }
        if untrusted_only {
            return Ok(None);
        }
        let checked: Vec<&str> = input.trails.iter().map(|t| t.arn.as_str()).collect();
        let other = |r: &Request| {
            !untrusted(r)
                && context_value(r, "aws:sourcearn").is_some_and(|a| !checked.contains(&a))
        };
        let b = self.solve(&set, false, |r, d| d.is_allowed() && other(r))?;
        if let Some(w) = b.holds {
            return Ok(Some((TrailReach::TrustedAccounts, w)));
        }
        let c = self.solve(&set, false, |_, d| d.is_allowed())?;
        if !(b.exact && c.exact) {
            return Err(inexact());
        }
        Ok(c.holds.map(|w| (TrailReach::CheckedTrails, w)))
    }

    /// The scope entry for one reach answer.
    fn trail_scope_entry(
        &self,
        answer: &Result<Option<(TrailReach, Witness)>, Undecided>,
        trusted: &[String],
    ) -> TrailScope {
        let (reach, witness) = match answer {
            Err(e) => {
                return TrailScope {
                    reach: TrailReach::Undecided,
                    summary: format!("undecided: {}", e.0),
                    witness: None,
                }
            }
            Ok(None) => (TrailReach::None, None),
            Ok(Some((reach, w))) => (
                *reach,
                context_value(&w.request, "aws:sourcearn").map(str::to_string),
            ),
        };
        let e_g = witness
            .as_deref()
            .map(|w| format!(", e.g. {w}"))
            .unwrap_or_default();
        let summary = match reach {
            TrailReach::AnyTrail => format!("any trail in any account{e_g}"),
            TrailReach::UntrustedAccounts => format!(
                "some trails of accounts outside the trusted ones ({}){e_g}",
                trusted.join(", ")
            ),
            TrailReach::TrustedAccounts => format!(
                "trails of the trusted accounts ({}) beyond the checked ones{e_g}",
                trusted.join(", ")
            ),
            TrailReach::CheckedTrails => "only the checked trails".to_string(),
            TrailReach::None | TrailReach::Undecided => "no trail".to_string(),
        };
        TrailScope {
            reach,
            summary,
            witness,
        }
    }

    /// CONFUSED_DEPUTY and SOURCE_UNSCOPED: which trails CloudTrail may use the key for. Returns
    /// the scope of encryption and of DescribeKey.
    pub(super) fn trail_scope(&mut self) -> (TrailScope, TrailScope) {
        let input = self.input;
        let key = input.key_arn.clone();
        let trusted = self.trusted(false);
        let encrypt = self.reach_of(TrailCall::Encrypt, &trusted, false);
        let mut encrypt_scope = self.trail_scope_entry(&encrypt, &trusted);
        let mut reached = false;
        for (call, what) in [
            (TrailCall::Encrypt, "kms:GenerateDataKey"),
            (
                TrailCall::EncryptOrganization,
                "kms:GenerateDataKey (organization trail)",
            ),
            (TrailCall::Decrypt, "kms:Decrypt"),
        ] {
            let answer = if call == TrailCall::Encrypt {
                encrypt.clone()
            } else {
                self.reach_of(call, &trusted, true)
            };
            match answer {
                Err(e) => {
                    self.undecided(&key, &format!("whether a trail of an untrusted account can make CloudTrail call {what}"), &e);
                    reached = true;
                }
                Ok(Some((reach @ (TrailReach::AnyTrail | TrailReach::UntrustedAccounts), w))) => {
                    let trail = witness_trail(&w.request);
                    let reach_text = if reach == TrailReach::AnyTrail {
                        "any trail in any account"
                    } else {
                        "some trails of accounts outside the trusted ones"
                    };
                    let (severity, tail) = if input.event_data_stores.is_empty() {
                        (Severity::Error, "")
                    } else {
                        (Severity::Warning, " (event data stores send no aws:SourceArn, so a grant that serves them cannot be limited by it)")
                    };
                    let message = format!(
                        "{reach_text} can make CloudTrail call {what} with this key, e.g. trail {trail} ({}){tail}; trusted accounts: {}",
                        values(&w),
                        trusted.join(", ")
                    );
                    let statement = blamed(&w.decision);
                    let fix = self.source_arn_edit(statement.as_deref());
                    self.finding(
                        FindingId::ConfusedDeputy,
                        severity,
                        &key,
                        statement,
                        message,
                    );
                    if let (Some(f), Some(fix)) = (self.findings.last_mut(), fix) {
                        f.fix = Some(fix);
                    }
                    if call == TrailCall::EncryptOrganization {
                        // Organization trails' log objects reach further than the others'.
                        encrypt_scope = self.trail_scope_entry(&Ok(Some((reach, w))), &trusted);
                    }
                    reached = true;
                    break;
                }
                Ok(_) => {}
            }
        }
        let describe = self.reach_of(TrailCall::Describe, &trusted, false);
        let describe_scope = self.trail_scope_entry(&describe, &trusted);
        if !reached {
            if let Ok(Some((TrailReach::AnyTrail | TrailReach::UntrustedAccounts, w))) = &describe {
                let trail = witness_trail(&w.request);
                let message = format!("a trail of an untrusted account can make CloudTrail call kms:DescribeKey with this key (only DescribeKey: it cannot encrypt or decrypt), e.g. trail {trail}");
                self.finding(
                    FindingId::ConfusedDeputy,
                    Severity::Warning,
                    &key,
                    blamed(&w.decision),
                    message,
                );
            }
        }
        if input.trails.is_empty() {
            return (encrypt_scope, describe_scope);
        }
        // SOURCE_UNSCOPED: trails of trusted accounts other than the checked ones.
        if let Ok(Some((TrailReach::TrustedAccounts, w))) = &encrypt {
            let trail = witness_trail(&w.request);
            let message = format!("CloudTrail may use this key for trails other than the checked ones, e.g. {trail}: limit the grant with aws:SourceArn (or kms:EncryptionContext:aws:cloudtrail:arn) to the trails that need it");
            self.finding(
                FindingId::SourceUnscoped,
                Severity::Warning,
                &key,
                blamed(&w.decision),
                message,
            );
        }
        (encrypt_scope, describe_scope)
    }

    /// Who can decrypt the first checked trail's log objects: principals of each trusted
    /// account, of any other account, and anonymous callers.
    pub(super) fn decrypt_scope(&self) -> Vec<Decryptors> {
        let input = self.input;
        let Some(trail) = input.trails.first() else {
            return Vec::new();
        };
        let parts = TrailParts::known(trail);
        let storage = Storage::of(trail);
        let trusted = self.trusted(true);
        let mut classes: Vec<(String, DecryptorClass<'_>)> = trusted
            .iter()
            .map(|a| (format!("account {a}"), DecryptorClass::Account(a)))
            .collect();
        classes.push(("any other account".into(), DecryptorClass::Other(&trusted)));
        classes.push(("anonymous".into(), DecryptorClass::Anonymous));
        let mut out = Vec::new();
        for (principals, class) in classes {
            let (set, _) = model::log_decryptor(input, &parts, storage, class);
            let other = |r: &Request| match (&class, &r.principal) {
                (DecryptorClass::Other(t), RequestPrincipal::Iam(p)) => !t.contains(&p.account),
                _ => true,
            };
            // The key policy alone first; then through the account's IAM policies.
            let direct = self.solve(&set, false, |r, d| {
                d.is_allowed() && d.via == Some(Via::KeyPolicy) && other(r)
            });
            let any = || self.solve(&set, false, |r, d| d.is_allowed() && other(r));
            let entry = match direct {
                Ok(a) if a.holds.is_some() => a.holds.map(|w| ("key policy", w)),
                Ok(_) => match any() {
                    Ok(a) => a.holds.map(|w| ("IAM delegation", w)),
                    Err(e) => {
                        out.push(Decryptors {
                            principals,
                            via: format!("undecided: {}", e.0),
                            witness: None,
                        });
                        continue;
                    }
                },
                Err(e) => {
                    out.push(Decryptors {
                        principals,
                        via: format!("undecided: {}", e.0),
                        witness: None,
                    });
                    continue;
                }
            };
            if let Some((via, w)) = entry {
                out.push(Decryptors {
                    principals,
                    via: via.to_string(),
                    witness: Some(w.request.principal.display()),
                });
            }
        }
        out
    }

    /// PUBLIC_ACCESS: a principal of an untrusted account (its own IAM policies assumed to
    /// allow), or anonymous, gets a KMS action.
    pub(super) fn public_access(&mut self) {
        let input = self.input;
        let key = input.key_arn.clone();
        // Accounts the policy names are UNEXPECTED_ACCOUNT's business (a warning), not public.
        let trusted = self.trusted(true);
        let context_keys: Vec<String> = self
            .policy
            .statements
            .iter()
            .flat_map(|s| s.conditions.iter())
            .filter_map(|c| {
                c.key()
                    .strip_prefix("kms:encryptioncontext:")
                    .map(str::to_string)
            })
            .collect();
        let own_org = input.organization_id.clone();
        let outside = |r: &Request| match &r.principal {
            RequestPrincipal::Anonymous => true,
            RequestPrincipal::Service(_) => false,
            RequestPrincipal::Iam(p) => {
                let in_own_org = own_org.is_some()
                    && context_value(r, "aws:principalorgid") == own_org.as_deref();
                !(trusted.contains(&p.account) || in_own_org)
            }
        };
        // Actions that the same statements name are decided alike (no condition key carries
        // the action): probe one of each.
        let mut probed: Vec<Vec<bool>> = Vec::new();
        for action in PROBED_ACTIONS {
            let named: Vec<bool> = self
                .policy
                .statements
                .iter()
                .map(|s| s.covers_action(action))
                .collect();
            if !named.contains(&true) || probed.contains(&named) {
                continue;
            }
            probed.push(named);
            for who in [Outsider::Role, Outsider::Root, Outsider::Anonymous] {
                let (set, _) = model::outsider(input, who, action, &trusted, context_keys.clone());
                match self.solve(&set, false, |r, d| d.is_allowed() && outside(r)) {
                    Err(e) => {
                        self.undecided(&key, &format!("whether an outsider can call {action}"), &e);
                        return;
                    }
                    Ok(a) => {
                        let Some(w) = &a.holds else { continue };
                        let caller = w.request.principal.display();
                        let org =
                            context_value(&w.request, "aws:principalorgid").map(str::to_string);
                        // Allowed only for one organization that may be the user's own?
                        let (severity, note) = match (&org, &own_org) {
                            (Some(o), None) if !self.any_org(&set, &outside) => (
                                Severity::Warning,
                                format!(" — only if the caller is in organization `{o}`: pass --org-id (rule parameter organizationId) if that is yours"),
                            ),
                            _ => (Severity::Error, String::new()),
                        };
                        let message = format!(
                            "{caller} (outside the trusted accounts {}) can call {action} on this key, e.g. with {}: {}{note}",
                            trusted.join(", "),
                            values(w),
                            why(&w.decision)
                        );
                        self.finding(
                            FindingId::PublicAccess,
                            severity,
                            &key,
                            blamed(&w.decision),
                            message,
                        );
                        return;
                    }
                }
            }
        }
    }

    /// Is the outsider let in whatever organization it is in (a fresh organization id works)?
    fn any_org(&self, set: &SymRequest, outside: &impl Fn(&Request) -> bool) -> bool {
        let mut s = set.clone();
        s.set(
            "aws:principalorgid",
            crate::eval::symbolic::SymText::lit("o-zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"),
        );
        self.solve(&s, false, |r, d| d.is_allowed() && outside(r))
            .is_ok_and(|a| a.holds.is_some())
    }
}

/// True when the statement names the CloudTrail service principal.
pub(super) fn names_cloudtrail(s: &crate::policy::Statement) -> bool {
    matches!(&s.principal, Some(PrincipalElement::Principal(set)) if set.service.iter().any(|x| x == CLOUDTRAIL))
}
