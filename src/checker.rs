//! CloudTrail requirements → findings and fixes.
//!
//! Simulates the requests CloudTrail and log readers really make (seed 001: "Required KMS key
//! policy sections for use with CloudTrail") and lints the policy for least privilege (seed 004).

mod actions;
mod finding;
mod fix;
mod model;
mod reach;

pub use finding::{
    Compliance, Decryptors, Finding, FindingId, Report, Scope, Severity, TrailReach, TrailScope,
};
pub use fix::{fix_policy, FixOutcome};

use actions::{KmsActions, PatternMemo};

use crate::eval::{
    evaluate_borrowed, BorrowedRequest, Context, Decision, Outcome, Request, RequestPrincipal,
};
use crate::policy::{
    arn_account, ActionElement, AwsPrincipal, Effect, Policy, PolicyError, PrincipalElement,
    Statement,
};
use requests::borrowed as simulate;
use std::fmt::Display;

/// The CloudTrail service principal.
pub const CLOUDTRAIL: &str = "cloudtrail.amazonaws.com";

/// A trail that uses the key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trail {
    /// The trail ARN.
    pub arn: String,
    /// The S3 bucket, when known (adds `kms:EncryptionContext:aws:s3:arn`).
    pub bucket: Option<String>,
    /// The trail's `S3KeyPrefix`: `Some("")` when it has none, `None` when unknown (then every
    /// prefix is considered).
    pub s3_key_prefix: Option<String>,
    /// `IsOrganizationTrail`: member accounts' log objects live under
    /// `AWSLogs/<organization id>/<account>/`.
    pub is_organization_trail: bool,
}

impl Trail {
    /// A trail with only its ARN known.
    pub fn new(arn: impl Into<String>) -> Self {
        Self {
            arn: arn.into(),
            ..Self::default()
        }
    }
}

/// What to check the policy against.
#[derive(Debug, Clone)]
pub struct CheckInput {
    /// The key ARN.
    pub key_arn: String,
    /// Trails that use the key.
    pub trails: Vec<Trail>,
    /// CloudTrail Lake event data store ARNs that use the key.
    pub event_data_stores: Vec<String>,
    /// Principal ARNs that must be able to decrypt the logs.
    pub readers: Vec<String>,
    /// Accounts allowed to encrypt or decrypt (empty: not checked).
    pub allowed_accounts: Vec<String>,
    /// The trails' bucket uses an S3 Bucket Key (CloudTrail then needs `kms:Decrypt`).
    pub bucket_key: bool,
    /// `KeyState` (`Enabled`, `Disabled`, `PendingDeletion`, ...).
    pub key_state: String,
    /// `KeySpec`.
    pub key_spec: String,
    /// The readers' identity policies; `None` when unknown.
    pub identity_policies: Option<Vec<Policy>>,
    /// Warnings also make the key NON_COMPLIANT.
    pub strict: bool,
    /// Finding ids to drop.
    pub suppress: Vec<FindingId>,
    /// The organization id (`o-...`) of the key's account, when known (`--org-id`, the rule
    /// parameter `organizationId`, or Organizations `DescribeOrganization`).
    pub organization_id: Option<String>,
    /// The evaluation time (`aws:CurrentTime`, `aws:EpochTime`) in seconds since the epoch;
    /// `None`: now.
    pub evaluation_time: Option<i64>,
}

impl CheckInput {
    /// A key with defaults: Enabled, `SYMMETRIC_DEFAULT`, nothing else.
    pub fn new(key_arn: impl Into<String>) -> Self {
        Self {
            key_arn: key_arn.into(),
            trails: Vec::new(),
            event_data_stores: Vec::new(),
            readers: Vec::new(),
            allowed_accounts: Vec::new(),
            bucket_key: false,
            key_state: "Enabled".into(),
            key_spec: "SYMMETRIC_DEFAULT".into(),
            identity_policies: None,
            strict: false,
            suppress: Vec::new(),
            organization_id: None,
            evaluation_time: None,
        }
    }

    fn key_account(&self) -> &str {
        arn_account(&self.key_arn).unwrap_or("")
    }

    fn partition(&self) -> &str {
        arn_field(&self.key_arn, 1).unwrap_or("aws")
    }

    /// A hypothetical role in `account`, standing for any IAM principal there.
    fn probe_role(&self, account: &str) -> RequestPrincipal {
        RequestPrincipal::Iam(crate::eval::IamPrincipal {
            arn: format!(
                "arn:{}:iam::{account}:role/trailkey-probe",
                self.partition()
            ),
            account: account.to_string(),
            role_name: Some("trailkey-probe".into()),
            is_root: false,
        })
    }
}

/// Region of an ARN (`us-east-1`), or `""`.
fn arn_region(arn: &str) -> &str {
    arn_field(arn, 3).unwrap_or("")
}

/// `arn.split(':').nth(n)`, without the general splitter (a few calls per request).
fn arn_field(arn: &str, n: usize) -> Option<&str> {
    let mut start = 0;
    let mut field = 0;
    for (i, b) in arn.bytes().enumerate() {
        if b == b':' {
            if field == n {
                return arn.get(start..i);
            }
            field += 1;
            start = i + 1;
        }
    }
    (field == n).then(|| arn.get(start..)).flatten()
}

/// The requests CloudTrail and readers make for one trail.
pub mod requests {
    use super::*;
    use borrowed::TrailFacts;

    /// CloudTrail's GenerateDataKey for a trail's log file.
    pub fn trail_encrypt(input: &CheckInput, trail: &Trail) -> Request {
        borrowed::trail_encrypt(&TrailFacts::new(input, trail)).to_request()
    }

    /// CloudTrail's DescribeKey for a trail (no encryption context).
    pub fn trail_describe(input: &CheckInput, trail: &Trail) -> Request {
        borrowed::trail_describe(&TrailFacts::new(input, trail)).to_request()
    }

    /// CloudTrail's Decrypt for a trail whose bucket uses an S3 Bucket Key.
    pub fn trail_service_decrypt(input: &CheckInput, trail: &Trail) -> Request {
        borrowed::trail_service_decrypt(&TrailFacts::new(input, trail)).to_request()
    }

    /// A reader decrypting a trail's log file through S3.
    pub fn trail_read(input: &CheckInput, trail: &Trail, reader: RequestPrincipal) -> Request {
        borrowed::trail_read(&TrailFacts::new(input, trail), &reader).to_request()
    }

    /// CloudTrail's call for an event data store (no aws:SourceArn/aws:SourceAccount: seed 001,
    /// "not supported in KMS key policies for event data stores").
    pub fn eds_service(input: &CheckInput, action: &str) -> Request {
        borrowed::eds_service(input, action).to_request()
    }

    /// A user running Lake queries: Decrypt/GenerateDataKey through CloudTrail.
    pub fn eds_user(
        input: &CheckInput,
        eds: &str,
        reader: RequestPrincipal,
        action: &str,
    ) -> Request {
        borrowed::eds_user(input, eds, &reader, action).to_request()
    }

    /// The same requests borrowing from the input, as the checker evaluates them: a request
    /// then costs a few allocations instead of one per key and value.
    pub(in crate::checker) mod borrowed {
        use super::super::{arn_region, CheckInput, Trail, CLOUDTRAIL};
        use crate::eval::{BorrowedContext, BorrowedRequest, RequestPrincipal};
        use crate::policy::arn_account;
        use std::sync::LazyLock;

        // Context keys are written lowercase, as contexts store them.

        /// Keys in the largest request (a trail read): room for all without growing.
        const MOST_KEYS: usize = 13;

        static CLOUDTRAIL_PRINCIPAL: LazyLock<RequestPrincipal> =
            LazyLock::new(|| RequestPrincipal::Service(CLOUDTRAIL.into()));

        fn request<'a>(
            input: &'a CheckInput,
            principal: &'a RequestPrincipal,
            action: &'a str,
        ) -> BorrowedRequest<'a> {
            let mut context = BorrowedContext::with_capacity(MOST_KEYS);
            // IAM User Guide, "AWS global condition context keys": these are "always included
            // in the request context" (see `checker::model`).
            let (iso, secs) = super::super::model::time(input);
            context.set("aws:currenttime", iso);
            context.set("aws:epochtime", secs);
            context.set("aws:requestedregion", arn_region(&input.key_arn));
            context.set("aws:securetransport", "true");
            BorrowedRequest {
                principal,
                action,
                resource: &input.key_arn,
                context,
            }
        }

        fn service_request<'a>(input: &'a CheckInput, action: &'a str) -> BorrowedRequest<'a> {
            let mut r = request(input, &CLOUDTRAIL_PRINCIPAL, action).with_principal_context();
            r.context.set("aws:viaawsservice", "false");
            r
        }

        /// What a trail's requests take from its ARN and bucket, worked out once per trail.
        pub(in crate::checker) struct TrailFacts<'a> {
            input: &'a CheckInput,
            trail: &'a Trail,
            account: Option<&'a str>,
            /// `kms:EncryptionContext:aws:s3:arn`, when the bucket is known.
            s3_arn: Option<String>,
            /// `kms:ViaService` of a reader's request: `s3.{region}.amazonaws.com`.
            s3_endpoint: String,
        }

        impl<'a> TrailFacts<'a> {
            pub(in crate::checker) fn new(input: &'a CheckInput, trail: &'a Trail) -> Self {
                let account = arn_account(&trail.arn);
                let s3_arn = trail.bucket.as_ref().map(|bucket| {
                    let partition = input.partition();
                    let mut s3 = String::with_capacity(80 + bucket.len());
                    s3.push_str("arn:");
                    s3.push_str(partition);
                    s3.push_str(":s3:::");
                    s3.push_str(bucket);
                    if !input.bucket_key {
                        // `arn:{partition}:s3:::{bucket}/AWSLogs/{account}/CloudTrail/{region}/log.json.gz`
                        s3.push_str("/AWSLogs/");
                        s3.push_str(account.unwrap_or(""));
                        s3.push_str("/CloudTrail/");
                        s3.push_str(arn_region(&trail.arn));
                        s3.push_str("/log.json.gz");
                    }
                    s3
                });
                Self {
                    input,
                    trail,
                    account,
                    s3_arn,
                    // S3 calls KMS in the bucket's Region, which is the key's Region (CloudTrail
                    // requires the key in the bucket's Region).
                    s3_endpoint: service_endpoint("s3", &input.key_arn),
                }
            }

            fn source<'f>(&'f self, ctx: &mut BorrowedContext<'f>) {
                ctx.set("aws:sourcearn", self.trail.arn.as_str());
                if let Some(a) = self.account {
                    ctx.set("aws:sourceaccount", a);
                }
            }

            /// The encryption context CloudTrail uses for the trail's log files.
            fn encryption_context<'f>(&'f self, ctx: &mut BorrowedContext<'f>) {
                ctx.set(
                    "kms:encryptioncontext:aws:cloudtrail:arn",
                    self.trail.arn.as_str(),
                );
                match &self.s3_arn {
                    Some(s3) => {
                        ctx.set("kms:encryptioncontext:aws:s3:arn", s3.as_str());
                        ctx.set_multi(
                            "kms:encryptioncontextkeys",
                            &["aws:cloudtrail:arn", "aws:s3:arn"],
                        );
                    }
                    None => ctx.set_multi("kms:encryptioncontextkeys", &["aws:cloudtrail:arn"]),
                }
            }
        }

        /// `{service}.{region}.amazonaws.com` for the ARN's region, without `format!`.
        fn service_endpoint(service: &str, arn: &str) -> String {
            let region = arn_region(arn);
            let mut out = String::with_capacity(service.len() + region.len() + 15);
            out.push_str(service);
            out.push('.');
            out.push_str(region);
            out.push_str(".amazonaws.com");
            out
        }

        pub(in crate::checker) fn trail_encrypt<'f>(
            facts: &'f TrailFacts<'_>,
        ) -> BorrowedRequest<'f> {
            let mut r = service_request(facts.input, "kms:GenerateDataKey");
            facts.source(&mut r.context);
            facts.encryption_context(&mut r.context);
            r
        }

        pub(in crate::checker) fn trail_describe<'f>(
            facts: &'f TrailFacts<'_>,
        ) -> BorrowedRequest<'f> {
            let mut r = service_request(facts.input, "kms:DescribeKey");
            facts.source(&mut r.context);
            r
        }

        pub(in crate::checker) fn trail_service_decrypt<'f>(
            facts: &'f TrailFacts<'_>,
        ) -> BorrowedRequest<'f> {
            let mut r = service_request(facts.input, "kms:Decrypt");
            facts.source(&mut r.context);
            facts.encryption_context(&mut r.context);
            r
        }

        pub(in crate::checker) fn trail_read<'f>(
            facts: &'f TrailFacts<'_>,
            reader: &'f RequestPrincipal,
        ) -> BorrowedRequest<'f> {
            let mut r = request(facts.input, reader, "kms:Decrypt");
            r.context.set("kms:viaservice", facts.s3_endpoint.as_str());
            r.context.set("aws:viaawsservice", "true");
            // The reader's organization is known only for the key's own account (--org-id).
            if let (Some(o), Some(RequestPrincipal::Iam(p))) =
                (&facts.input.organization_id, Some(reader))
            {
                if Some(p.account.as_str()) == arn_account(&facts.input.key_arn) {
                    r.context.set("aws:principalorgid", o.as_str());
                }
            }
            facts.encryption_context(&mut r.context);
            r.with_principal_context()
        }

        pub(in crate::checker) fn eds_service<'a>(
            input: &'a CheckInput,
            action: &'a str,
        ) -> BorrowedRequest<'a> {
            service_request(input, action)
        }

        pub(in crate::checker) fn eds_user<'a>(
            input: &'a CheckInput,
            eds: &str,
            reader: &'a RequestPrincipal,
            action: &'a str,
        ) -> BorrowedRequest<'a> {
            let mut r = request(input, reader, action);
            r.context
                .set("kms:viaservice", service_endpoint("cloudtrail", eds));
            r.with_principal_context()
        }
    }
}

const EC_ARN_KEY: &str = "kms:encryptioncontext:aws:cloudtrail:arn";

/// Checks a policy text; an unreadable policy is a `POLICY_INVALID` finding, never a pass.
pub fn check_text(text: &str, input: &CheckInput) -> Report {
    match Policy::parse(text) {
        Ok(p) => check(&p, input),
        Err(e) => invalid_policy_report(&e, input),
    }
}

/// The report for a policy that cannot be parsed.
pub fn invalid_policy_report(error: &PolicyError, input: &CheckInput) -> Report {
    let mut findings = Vec::new();
    findings.push(Finding {
        id: FindingId::PolicyInvalid,
        severity: Severity::Error,
        resource: input.key_arn.clone(),
        statement: None,
        message: format!("key policy is invalid: {error}"),
        fix: None,
    });
    finish(findings, input)
}

/// The report for a trail whose logs are not encrypted with a KMS key (`TRAIL_NOT_ENCRYPTED`).
/// There is no key, so `input.key_arn` names the trail, and so does the report's `key`.
pub fn unencrypted_trail_report(input: &CheckInput) -> Report {
    let findings = vec![Finding {
        id: FindingId::TrailNotEncrypted,
        severity: Severity::Error,
        resource: input.key_arn.clone(),
        statement: None,
        message:
            "trail logs are not encrypted with a KMS key (SSE-S3 only): set the trail's KmsKeyId"
                .into(),
        fix: None,
    }];
    finish(findings, input)
}

/// The report for a key KMS says is deleted or in a state that refuses CloudTrail's calls
/// (`NotFoundException`, `KMSInvalidStateException` from its own Region): CloudTrail cannot
/// encrypt with it, whatever its policy says. Never suppressed: no policy makes it work.
pub fn unusable_key_report(input: &CheckInput, reason: &str) -> Report {
    Report {
        compliance: Compliance::NonCompliant,
        key: input.key_arn.clone(),
        findings: vec![Finding {
            id: FindingId::KeyNotEnabled,
            severity: Severity::Error,
            resource: input.key_arn.clone(),
            statement: None,
            message: format!(
                "the key `{}` is deleted or not Enabled, so CloudTrail cannot encrypt with it (KMS: {reason})",
                input.key_arn
            ),
            fix: None,
        }],
        scope: None,
    }
}

struct Checker<'a> {
    policy: &'a Policy,
    input: &'a CheckInput,
    findings: Vec<Finding>,
    /// Which KMS actions each action pattern covers, shared by the lint and the event data
    /// store checks.
    actions: PatternMemo<'a>,
    /// The scope summary, filled in by the reach analysis.
    scope: Option<Scope>,
}

impl Checker<'_> {
    fn push(
        &mut self,
        id: FindingId,
        resource: &str,
        statement: Option<String>,
        message: String,
        fix: Option<serde_json::Value>,
    ) {
        self.findings.push(Finding {
            id,
            severity: id.severity(),
            resource: resource.to_string(),
            statement,
            message,
            fix,
        });
    }

    fn decide(&self, request: &BorrowedRequest<'_>) -> Decision {
        evaluate_borrowed(
            self.policy,
            request,
            self.input.identity_policies.as_deref(),
        )
    }

    /// The statement to blame for a denial and why.
    fn blame(&self, d: &Decision) -> (Option<String>, String) {
        match d.decision {
            Outcome::ExplicitDeny => (
                d.statements.first().map(|s| s.label()),
                "an explicit Deny applies".to_string(),
            ),
            _ => match d.failed_conditions.first() {
                Some(f) => (Some(f.statement.label()), f.describe()),
                None => (
                    None,
                    d.note
                        .clone()
                        .unwrap_or_else(|| "no statement allows it".into()),
                ),
            },
        }
    }

    fn require(
        &mut self,
        id: FindingId,
        resource: &str,
        request: &BorrowedRequest<'_>,
        what: &(impl Display + ?Sized),
        fix: impl FnOnce() -> serde_json::Value,
    ) -> Option<Decision> {
        let d = self.decide(request);
        if d.is_allowed() {
            return Some(d);
        }
        let (statement, why) = self.blame(&d);
        // Adding an Allow cannot override an explicit Deny, and when the key policy already
        // allows (the caller's own IAM policy is missing) the fix belongs in IAM: no statement.
        let key_side_allows = self.input.identity_policies.is_some()
            && evaluate_borrowed(self.policy, request, None).is_allowed();
        let fix = if d.decision == Outcome::ExplicitDeny || key_side_allows {
            None
        } else {
            // Built only here: most requirements pass, and building a statement is not free.
            Some(fix::with_unique_sid(fix(), self.policy))
        };
        self.push(
            id,
            resource,
            statement,
            format!("{what} is denied: {why}"),
            fix,
        );
        None
    }

    fn run(&mut self) {
        let input = self.input;
        let key = input.key_arn.as_str();
        if input.key_state != "Enabled" {
            self.push(
                FindingId::KeyNotEnabled,
                key,
                None,
                format!(
                    "key state is `{}`: CloudTrail cannot encrypt with it",
                    input.key_state
                ),
                None,
            );
        }
        if input.key_spec != "SYMMETRIC_DEFAULT" {
            self.push(FindingId::KeyNotSymmetric, key, None, format!("key spec is `{}`: CloudTrail needs a symmetric encryption key (SYMMETRIC_DEFAULT)", input.key_spec), None);
        }
        for trail in &input.trails {
            self.trail(trail);
        }
        for eds in &input.event_data_stores {
            self.event_data_store(eds);
        }
        self.lint_statements();
        let (encrypt, describe) = self.trail_scope();
        let decrypt = self.decrypt_scope();
        self.scope = Some(Scope {
            encrypt,
            describe,
            decrypt,
        });
        self.public_access();
    }

    fn trail(&mut self, trail: &Trail) {
        let input = self.input;
        let t = trail.arn.as_str();
        let facts = simulate::TrailFacts::new(input, trail);
        let encrypt = self.require(
            FindingId::EncryptDenied,
            t,
            &simulate::trail_encrypt(&facts),
            "CloudTrail's kms:GenerateDataKey for this trail",
            || fix::trail_encrypt(input, &[trail]),
        );
        let encrypt_ok = encrypt.is_some();
        if let Some(d) = encrypt {
            // Least-privilege guidance: limit the grant with
            // kms:EncryptionContext:aws:cloudtrail:arn. Decided by what the condition allows,
            // not by its presence: the same request with another account's trail in the
            // encryption context (aws:SourceArn unchanged) must not pass the statement. A
            // `StringLike "*"` or `arn:aws:cloudtrail:*:*:trail/*` condition limits nothing.
            let mut parts = t.split(':');
            let partition = parts.nth(1).unwrap_or("aws");
            let region = parts.nth(1).unwrap_or("us-east-1");
            let other = if crate::policy::arn_account(t) == Some("000000000000") {
                "999999999999"
            } else {
                "000000000000"
            };
            let probe_arn =
                format!("arn:{partition}:cloudtrail:{region}:{other}:trail/trailkey-probe");
            let mut probe = simulate::trail_encrypt(&facts);
            probe.context.set(
                "kms:encryptioncontext:aws:cloudtrail:arn",
                probe_arn.as_str(),
            );
            let pd = self.decide(&probe);
            let open: Vec<usize> = if pd.is_allowed() {
                pd.statements
                    .iter()
                    .filter(|r| r.source == crate::eval::Source::KeyPolicy)
                    .map(|r| r.index)
                    .collect()
            } else {
                Vec::new()
            };
            let unconstrained: Vec<String> = d
                .statements
                .iter()
                .filter(|r| r.source == crate::eval::Source::KeyPolicy && open.contains(&r.index))
                .filter_map(|r| self.policy.statements.get(r.index))
                .map(|s| s.label())
                .collect();
            for label in unconstrained {
                self.push(FindingId::ContextUnconstrained, t, Some(label), "CloudTrail's GenerateDataKey grant is not limited by kms:EncryptionContext:aws:cloudtrail:arn".into(), None);
            }
        }
        let describe_ok = self
            .require(
                FindingId::DescribeDenied,
                t,
                &simulate::trail_describe(&facts),
                "CloudTrail's kms:DescribeKey for this trail",
                || fix::trail_describe(input, &[trail]),
            )
            .is_some();
        let mut decrypt_ok = false;
        if input.bucket_key {
            decrypt_ok = self
                .require(
                    FindingId::ServiceDecryptDenied,
                    t,
                    &simulate::trail_service_decrypt(&facts),
                    "CloudTrail's kms:Decrypt (the bucket uses an S3 Bucket Key)",
                    || fix::trail_service_decrypt(input, &[trail]),
                )
                .is_some();
        }
        let mut readers_ok = Vec::new();
        // Whether a given reader can decrypt: `has_log_reader` asks the same question.
        let mut reader_allowed = false;
        for reader in &input.readers {
            let Ok(p) = RequestPrincipal::parse(reader) else {
                self.push(
                    FindingId::ReaderDenied,
                    t,
                    None,
                    format!("reader `{reader}` is not a principal ARN"),
                    None,
                );
                continue;
            };
            let req = simulate::trail_read(&facts, &p);
            let org_note = if input.organization_id.is_none()
                && self
                    .policy
                    .statements
                    .iter()
                    .any(|s| s.conditions_on("aws:principalorgid").next().is_some())
            {
                " (its organization is unknown, so aws:principalorgid is absent: pass --org-id, rule parameter organizationId, if the reader is in the key owner's organization)"
            } else {
                ""
            };
            if let Some(d) = self.require(
                FindingId::ReaderDenied,
                t,
                &req,
                &format_args!("kms:Decrypt by reader `{reader}`{org_note}"),
                || fix::trail_readers(input, std::slice::from_ref(reader)),
            ) {
                reader_allowed = true;
                readers_ok.push(p.clone());
                if d.requires_identity_policy {
                    self.push(FindingId::ReaderViaIam, t, d.statements.first().map(|s| s.label()), format!("reader `{reader}` can decrypt only if its IAM policies allow kms:Decrypt on the key"), None);
                }
            }
        }
        self.trail_reach(trail, encrypt_ok, describe_ok, decrypt_ok, &readers_ok);
        if !reader_allowed && !self.has_log_reader(&facts) {
            self.push(FindingId::NoLogReader, t, None, "no principal other than AWS services can decrypt this trail's logs, not even through IAM delegation".into(), Some(fix::trail_readers(input, &[format!("arn:{}:iam::{}:root", input.partition(), input.key_account())])));
        }
    }

    /// Is there any non-service principal that can decrypt the trail's logs? (The given readers
    /// were already tried by `trail`.)
    fn has_log_reader(&self, facts: &simulate::TrailFacts<'_>) -> bool {
        let input = self.input;
        // Each AWS principal the policy grants Decrypt to; a role in an account stands for "any
        // IAM principal there" (account grants, `*`, NotPrincipal).
        let mut candidates: Vec<RequestPrincipal> = Vec::new();
        for s in &self.policy.statements {
            if s.effect != Effect::Allow || !s.covers_action("kms:Decrypt") {
                continue;
            }
            match &s.principal {
                Some(PrincipalElement::Principal(set)) => {
                    for a in &set.aws {
                        match a {
                            AwsPrincipal::Account { account } => {
                                candidates.push(input.probe_role(account))
                            }
                            AwsPrincipal::Arn { arn, .. } => {
                                candidates.extend(RequestPrincipal::parse(arn).ok())
                            }
                        }
                    }
                    if set.everyone {
                        candidates.push(input.probe_role(input.key_account()));
                    }
                }
                Some(PrincipalElement::NotPrincipal(_)) => {
                    candidates.push(input.probe_role(input.key_account()))
                }
                None => {}
            }
        }
        // Unknown identity policies are assumed to allow: the question is whether the key policy
        // leaves any path at all.
        candidates.iter().any(|p| {
            evaluate_borrowed(self.policy, &simulate::trail_read(facts, p), None).is_allowed()
        })
    }

    fn event_data_store(&mut self, eds: &str) {
        let input = self.input;
        self.require(
            FindingId::EncryptDenied,
            eds,
            &simulate::eds_service(input, "kms:GenerateDataKey"),
            "CloudTrail's kms:GenerateDataKey for this event data store",
            || fix::eds_encrypt(input),
        );
        self.require(
            FindingId::ServiceDecryptDenied,
            eds,
            &simulate::eds_service(input, "kms:Decrypt"),
            "CloudTrail's kms:Decrypt for this event data store",
            || fix::eds_decrypt(input),
        );
        self.require(
            FindingId::DescribeDenied,
            eds,
            &simulate::eds_service(input, "kms:DescribeKey"),
            "CloudTrail's kms:DescribeKey for this event data store",
            || fix::eds_describe(input),
        );
        for reader in &input.readers {
            let Ok(p) = RequestPrincipal::parse(reader) else {
                continue;
            };
            for action in ["kms:Decrypt", "kms:GenerateDataKey"] {
                let req = simulate::eds_user(input, eds, &p, action);
                self.require(
                    FindingId::ReaderDenied,
                    eds,
                    &req,
                    &format_args!("{action} by reader `{reader}`"),
                    || fix::eds_users(input, std::slice::from_ref(reader)),
                );
            }
        }
        let policy = self.policy;
        for s in &policy.statements {
            if service_grant(s, CLOUDTRAIL, &mut self.actions).is_empty() {
                continue;
            }
            if s.conditions
                .iter()
                .any(|c| c.key() == "aws:sourcearn" || c.key() == "aws:sourceaccount")
            {
                self.findings.push(Finding {
                    id: FindingId::EdsSourceCondition,
                    severity: Severity::Warning,
                    resource: eds.to_string(),
                    statement: Some(s.label()),
                    message: "this CloudTrail statement uses aws:SourceArn/aws:SourceAccount, which are not supported for event data stores, so it never applies to them".into(),
                    fix: None,
                });
            }
        }
    }

    /// Key policy statements that let a named reader decrypt with no CloudTrail encryption
    /// context at all (any other ciphertext under the key): READER_NOT_SCOPED decided by what
    /// the conditions allow, so `Null ... false` passes and `StringLike ... "*"` without it
    /// does not. `None` without readers or trails (then the condition's presence decides).
    fn readers_without_context(&self) -> Option<Vec<usize>> {
        let input = self.input;
        let trail = input.trails.first()?;
        if input.readers.is_empty() {
            return None;
        }
        let facts = simulate::TrailFacts::new(input, trail);
        let mut open = Vec::new();
        for reader in &input.readers {
            let Ok(p) = RequestPrincipal::parse(reader) else {
                continue;
            };
            let mut req = simulate::trail_read(&facts, &p);
            for k in [
                "kms:encryptioncontext:aws:cloudtrail:arn",
                "kms:encryptioncontext:aws:s3:arn",
                "kms:encryptioncontextkeys",
            ] {
                req.context.remove(k);
            }
            let d = self.decide(&req);
            if d.is_allowed() {
                open.extend(
                    d.statements
                        .iter()
                        .filter(|r| r.source == crate::eval::Source::KeyPolicy)
                        .map(|r| r.index),
                );
            }
        }
        Some(open)
    }

    fn lint_statements(&mut self) {
        let input = self.input;
        let key = input.key_arn.clone();
        let serves_eds = !input.event_data_stores.is_empty();
        let serves_trails = !input.trails.is_empty();
        let policy = self.policy;
        let unscoped = self.readers_without_context();
        for (index, s) in policy.statements.iter().enumerate() {
            if s.effect != Effect::Allow {
                continue;
            }
            let label = || Some(s.label());
            if matches!(s.principal, Some(PrincipalElement::NotPrincipal(_))) {
                self.push(FindingId::NotPrincipalAllow, &key, label(), "Allow with NotPrincipal grants everyone not listed; AWS does not support it in key policies".into(), None);
            }
            let cloudtrail = service_grant(s, CLOUDTRAIL, &mut self.actions);
            if !cloudtrail.is_empty() {
                let has_arn = s
                    .conditions
                    .iter()
                    .any(|c| c.key() == "aws:sourcearn" && !c.operator.base.is_negated());
                let has_account = s
                    .conditions
                    .iter()
                    .any(|c| c.key() == "aws:sourceaccount" && !c.operator.base.is_negated());
                // Whether any trail can reach the key is decided exactly by `trail_scope`.
                if has_account && !has_arn && serves_trails {
                    self.push(FindingId::SourceAccountOnly, &key, label(), "aws:SourceAccount is supported but aws:SourceArn is recommended: it limits the key to specific trails".into(), None);
                }
                let extra = cloudtrail.beyond_cloudtrail();
                if !extra.is_empty() {
                    let message = list_message(
                        "CloudTrail is granted ",
                        extra,
                        " beyond what it needs (GenerateDataKey*, DescribeKey, Decrypt)",
                    );
                    self.push(FindingId::ServiceOvergrant, &key, label(), message, None);
                }
            }
            // Seed 004: "If you use these condition keys to allow other operations, such as
            // DescribeKey, permission will be denied."
            let empty = Context::new();
            let blocks = s
                .conditions
                .iter()
                .any(|c| is_context_key(c.key()) && !crate::eval::condition::evaluate(c, &empty));
            if blocks {
                // The actions the statement names. A `NotAction` statement names the actions
                // it excludes, so like `"Action": "*"` it is not reported: it does not ask
                // for any non-context action by name.
                let covered = match &s.action {
                    ActionElement::Action(patterns) => patterns
                        .iter()
                        .filter(|p| !p.is_match_all())
                        .fold(KmsActions::default(), |bits, p| {
                            bits | self.actions.pattern(p)
                        }),
                    ActionElement::NotAction(_) => KmsActions::default(),
                };
                let named = covered.non_context();
                if !named.is_empty() {
                    let message = list_message(
                        "an encryption-context condition on ",
                        named,
                        ", which carries no encryption context: this statement can never allow it",
                    );
                    // A statement neither CloudTrail nor a log reader relies on (a CloudWatch
                    // Logs grant, say) cannot break delivery: information only.
                    let severity = if reach::names_cloudtrail(s) || grants_aws_decrypt(s) {
                        Severity::Warning
                    } else {
                        Severity::Info
                    };
                    self.findings.push(Finding {
                        id: FindingId::ContextOnNonCryptoAction,
                        severity,
                        resource: key.clone(),
                        statement: label(),
                        message,
                        fix: None,
                    });
                }
            }
            // Cheapest test first: most reader statements carry the condition.
            let without_context = match &unscoped {
                Some(open) => open.contains(&index),
                None => s.conditions_on(EC_ARN_KEY).next().is_none(),
            };
            if serves_trails
                && !serves_eds
                && without_context
                && grants_aws_decrypt(s)
                && !s
                    .action
                    .patterns()
                    .iter()
                    .any(|p| p.is_match_all() || p.as_str().eq_ignore_ascii_case("kms:*"))
            {
                self.push(FindingId::ReaderNotScoped, &key, label(), "kms:Decrypt is granted without requiring the CloudTrail encryption context (add Null kms:EncryptionContext:aws:cloudtrail:arn = false)".into(), None);
            }
        }
        if !input.allowed_accounts.is_empty() {
            self.unexpected_accounts();
        }
    }

    /// UNEXPECTED_ACCOUNT: simulate encrypt and decrypt from every account the policy mentions
    /// plus an arbitrary one, and report those outside the allowed list that succeed.
    fn unexpected_accounts(&mut self) {
        let input = self.input;
        let mut accounts: Vec<String> = vec!["999999999999".into()];
        for s in &self.policy.statements {
            if let Some(PrincipalElement::Principal(set)) = &s.principal {
                accounts.extend(set.aws.iter().map(|a| a.account().to_string()));
            }
            for c in &s.conditions {
                for v in c.raw_values() {
                    if let Some(a) = arn_account(v) {
                        accounts.push(a.to_string());
                    } else if crate::policy::is_account_id(v) {
                        accounts.push(v.to_string());
                    }
                }
            }
        }
        accounts.sort();
        accounts.dedup();
        let region = arn_region(&input.key_arn).to_string();
        for account in accounts {
            if account == input.key_account() || input.allowed_accounts.contains(&account) {
                continue;
            }
            let trail = Trail {
                arn: format!(
                    "arn:{}:cloudtrail:{region}:{account}:trail/trailkey-probe",
                    input.partition()
                ),
                bucket: None,
                ..Default::default()
            };
            let facts = simulate::TrailFacts::new(input, &trail);
            let encrypt =
                evaluate_borrowed(self.policy, &simulate::trail_encrypt(&facts), None).is_allowed();
            let probe = input.probe_role(&account);
            let decrypt =
                evaluate_borrowed(self.policy, &simulate::trail_read(&facts, &probe), None)
                    .is_allowed();
            if encrypt || decrypt {
                let what = match (encrypt, decrypt) {
                    (true, true) => "encrypt (through CloudTrail) and decrypt",
                    (true, false) => "encrypt through CloudTrail",
                    _ => "decrypt",
                };
                let shown = if account == "999999999999" {
                    "an arbitrary account".to_string()
                } else {
                    format!("account {account}")
                };
                self.push(
                    FindingId::UnexpectedAccount,
                    &input.key_arn,
                    None,
                    format!("{shown}, outside the allowed accounts, can {what} with this key"),
                    None,
                );
            }
        }
    }
}

/// `before`, the actions as `a, b, c` or `a, b, c and 4 more`, then `after`: one allocation.
fn list_message(before: &str, actions: KmsActions, after: &str) -> String {
    let mut out = String::with_capacity(before.len() + 128 + after.len());
    out.push_str(before);
    for (i, a) in actions.names().take(3).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(a);
    }
    if let Some(more) = actions.len().checked_sub(3).filter(|n| *n > 0) {
        out.push_str(" and ");
        out.push_str(&more.to_string());
        out.push_str(" more");
    }
    out.push_str(after);
    out
}

fn is_context_key(key: &str) -> bool {
    key.starts_with("kms:encryptioncontext:") || key == "kms:encryptioncontextkeys"
}

/// The KMS actions an Allow statement naming the service principal grants it (none for other
/// statements).
fn service_grant<'a>(s: &'a Statement, service: &str, actions: &mut PatternMemo<'a>) -> KmsActions {
    if s.effect == Effect::Allow
        && matches!(&s.principal, Some(PrincipalElement::Principal(set)) if set.service.iter().any(|x| x == service))
    {
        actions.element(&s.action)
    } else {
        KmsActions::default()
    }
}

fn grants_aws_decrypt(s: &Statement) -> bool {
    s.effect == Effect::Allow
        && matches!(&s.principal, Some(PrincipalElement::Principal(set)) if set.everyone || !set.aws.is_empty())
        && s.covers_action("kms:Decrypt")
}

/// Suppressions, ordering and compliance.
fn finish(mut findings: Vec<Finding>, input: &CheckInput) -> Report {
    findings.retain(|f| !input.suppress.contains(&f.id));
    findings.sort_by(|a, b| a.severity.cmp(&b.severity).then(a.id.cmp(&b.id)));
    let failing = findings.iter().any(|f| {
        f.severity == Severity::Error || (input.strict && f.severity == Severity::Warning)
    });
    Report {
        compliance: if failing {
            Compliance::NonCompliant
        } else {
            Compliance::Compliant
        },
        key: input.key_arn.clone(),
        findings,
        scope: None,
    }
}

/// Checks a parsed key policy against the CloudTrail requirements.
pub fn check(policy: &Policy, input: &CheckInput) -> Report {
    let mut c = Checker {
        policy,
        input,
        findings: Vec::new(),
        actions: PatternMemo::default(),
        scope: None,
    };
    c.run();
    let scope = c.scope.take();
    let mut report = finish(c.findings, input);
    report.scope = scope;
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context_lint(action: &str) -> Vec<String> {
        let text = format!(
            r#"{{"Version": "2012-10-17", "Statement": [
                {{"Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::111111111111:root"}}, "Action": "kms:*", "Resource": "*"}},
                {{"Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::111111111111:role/R"}}, {action}, "Resource": "*",
                  "Condition": {{"StringEquals": {{"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:us-east-1:111111111111:trail/t"}}}}}}]}}"#
        );
        let input = CheckInput::new("arn:aws:kms:us-east-1:111111111111:key/k");
        check_text(&text, &input)
            .findings
            .iter()
            .filter(|f| f.id == FindingId::ContextOnNonCryptoAction)
            .map(|f| f.message.clone())
            .collect()
    }

    #[test]
    fn context_lint_names_listed_non_context_actions_only() {
        // Seed 004: an encryption-context condition on DescribeKey can never allow it.
        let listed = context_lint(r#""Action": ["kms:Decrypt", "kms:DescribeKey"]"#);
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert!(listed[0].contains("kms:DescribeKey"), "{listed:?}");
        // NotAction names what it excludes: reporting those actions would be wrong.
        assert!(
            context_lint(r#""NotAction": ["kms:DescribeKey", "kms:ScheduleKeyDeletion"]"#)
                .is_empty()
        );
        assert!(context_lint(r#""Action": "*""#).is_empty());
    }

    #[test]
    fn arn_field_is_split_nth() {
        for arn in [
            "",
            ":",
            "a",
            "a:b",
            "a:b:c:d",
            "arn:aws:kms:us-east-1:1:key/k",
            ":::",
            "a::b:",
        ] {
            for n in 0..7 {
                assert_eq!(arn_field(arn, n), arn.split(':').nth(n), "{arn} {n}");
            }
        }
    }
}
