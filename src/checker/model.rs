//! The request model: every request CloudTrail, S3 (for log readers) and outsiders make with the
//! key, as sets of requests ([`SymRequest`]) whose unknown parts are free variables.
//!
//! Sources (AWS documentation):
//! - IAM User Guide, "AWS global condition context keys": `aws:CurrentTime`, `aws:EpochTime`,
//!   `aws:RequestedRegion`, `aws:SecureTransport` and `aws:PrincipalIsAWSService` are "always
//!   included in the request context"; `aws:PrincipalServiceName` is present when a service
//!   principal calls; `aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalOrgID`,
//!   `aws:PrincipalTag/*`, `aws:SourceVpc(e)` and `aws:VpcSourceIp` are not present for service
//!   principals; `aws:ViaAWSService` is `true` when a service calls on a principal's behalf
//!   (forward access sessions, as S3 does for readers) and `false` otherwise.
//! - KMS Developer Guide, "How AWS CloudTrail uses AWS KMS": CloudTrail's encryption context is
//!   `aws:cloudtrail:arn` (the trail ARN) and `aws:s3:arn` (the log object's ARN, or the bucket's
//!   with an S3 Bucket Key).
//! - CloudTrail User Guide, "Finding your CloudTrail log files": objects are
//!   `bucket/[prefix/]AWSLogs/[o-id/]account/CloudTrail/region/YYYY/MM/DD/
//!   account_CloudTrail_region_YYYYMMDDTHHmmZ_UniqueString.json.gz`; organization trails put each
//!   member account's logs under `AWSLogs/<o-id>/<account>/`.
//! - CloudTrail User Guide, "Configure AWS KMS key policies for CloudTrail": CreateTrail and
//!   UpdateTrail verify the key with a GenerateDataKey whose context is the log folder
//!   `bucket/[prefix/]AWSLogs/<account>/`; the key must be in the bucket's Region, so S3 calls KMS
//!   (`kms:ViaService`) in the key's Region.
//!
//! Everything not known (the object name, the bucket when not given, a caller's address or
//! organization) is a variable, never absent.

use super::{arn_region, CheckInput, Trail, CLOUDTRAIL};
use crate::eval::symbolic::{DomainKind, SymPrincipal, SymRequest, SymText, SymValue, VarId};
use crate::eval::RequestPrincipal;
use crate::policy::arn_account;

/// Regions in which a trail may live (commercial, GovCloud, China).
pub(crate) const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-1",
    "ap-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "mx-central-1",
    "sa-east-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "cn-north-1",
    "cn-northwest-1",
];

// CloudTrail User Guide, "Trail naming requirements": letters, numbers, periods, underscores and
// dashes; starts and ends with a letter or number; no adjacent specials; 3 to 128 characters.
const TRAIL_NAME: &str = "[A-Za-z0-9]([._-]?[A-Za-z0-9]){2,}";
const BUCKET: &str = "[a-z0-9][a-z0-9.-]{2,}";
const PREFIX: &str = "([A-Za-z0-9!_.*'()-][A-Za-z0-9!_.*'()/-]*/)?";
const ORG_ID: &str = "o-[a-z0-9]{10,32}";
const DATE_PATH: &str = "[0-9]{4}/[0-9]{2}/[0-9]{2}";
const FILE_TAIL: &str = "[0-9]{8}T[0-9]{4}Z_[0-9A-Za-z]{16}";
const ROLE_NAME: &str = "[A-Za-z0-9+=,.@_-]+";

/// Keys a service principal's request never has.
const NOT_FOR_SERVICES: &[&str] = &[
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principaltag/*",
    "aws:principaltype",
    "aws:userid",
    "aws:username",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:vpcsourceip",
    "aws:sourceidentity",
    "aws:federatedprovider",
    "aws:multifactorauth*",
    "aws:tokenissuetime",
    "kms:viaservice",
    "kms:calleraccount",
    "aws:calledvia*",
];

/// The encryption-context keys CloudTrail sends.
const CONTEXT_KEYS: &[&str] = &["aws:cloudtrail:arn", "aws:s3:arn"];

/// Evaluation time as `aws:CurrentTime` (ISO 8601) and `aws:EpochTime` (seconds).
pub(crate) fn time(input: &CheckInput) -> (String, String) {
    let secs = input
        .evaluation_time
        .unwrap_or_else(|| chrono::Utc::now().timestamp());
    let iso = chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    (iso, secs.to_string())
}

/// The keys every request has.
fn base(input: &CheckInput, principal: SymPrincipal, action: &str) -> SymRequest {
    let mut r = SymRequest::new(principal, action, &input.key_arn);
    let (iso, secs) = time(input);
    r.set("aws:currenttime", SymText::lit(iso));
    r.set("aws:epochtime", SymText::lit(secs));
    r.set(
        "aws:requestedregion",
        SymText::lit(arn_region(&input.key_arn)),
    );
    r.set("aws:securetransport", SymText::lit("true"));
    r
}

fn service(input: &CheckInput, action: &str) -> SymRequest {
    let mut r = base(input, SymPrincipal::Service(CLOUDTRAIL.into()), action);
    r.set("aws:viaawsservice", SymText::lit("false"));
    r.absent(NOT_FOR_SERVICES);
    r
}

/// A trail as symbolic parts: ARN, account, Region.
#[derive(Clone)]
pub(crate) struct TrailParts {
    pub(crate) arn: SymText,
    pub(crate) account: SymText,
    pub(crate) region: SymText,
}

impl TrailParts {
    pub(crate) fn known(trail: &Trail) -> Self {
        Self {
            arn: SymText::lit(trail.arn.as_str()),
            account: SymText::lit(arn_account(&trail.arn).unwrap_or("")),
            region: SymText::lit(arn_region(&trail.arn)),
        }
    }
}

/// Where the trail writes, as far as it is known.
#[derive(Clone, Copy)]
pub(crate) struct Storage<'a> {
    pub(crate) bucket: Option<&'a str>,
    /// `None`: unknown; `Some("")`: no prefix.
    pub(crate) prefix: Option<&'a str>,
    pub(crate) organization_trail: bool,
}

impl<'a> Storage<'a> {
    pub(crate) fn of(trail: &'a Trail) -> Self {
        Self {
            bucket: trail.bucket.as_deref(),
            prefix: trail.s3_key_prefix.as_deref(),
            organization_trail: trail.is_organization_trail,
        }
    }

    pub(crate) fn unknown(organization_trail: bool) -> Self {
        Self {
            bucket: None,
            prefix: None,
            organization_trail,
        }
    }
}

/// `arn:<p>:s3:::<bucket>/[prefix/]`: the bucket ARN (for a Bucket Key) and the folder start.
fn bucket_parts(
    r: &mut SymRequest,
    input: &CheckInput,
    storage: Storage<'_>,
) -> (SymText, SymText) {
    let mut bucket = SymText::lit(format!("arn:{}:s3:::", input.partition()));
    bucket = match storage.bucket {
        Some(b) => bucket.text(b),
        None => {
            let v = r.var("bucket", DomainKind::regex(BUCKET), false);
            bucket.then(v)
        }
    };
    let mut folder = bucket.clone().text("/");
    folder = match storage.prefix {
        Some("") => folder,
        Some(p) => folder.text(p).text("/"),
        None => {
            let v = r.var("S3 key prefix", DomainKind::regex(PREFIX), false);
            folder.then(v)
        }
    };
    (bucket, folder.text("AWSLogs/"))
}

/// `aws:s3:arn` of a log object (or of the bucket with an S3 Bucket Key).
fn log_object(
    r: &mut SymRequest,
    input: &CheckInput,
    trail: &TrailParts,
    storage: Storage<'_>,
) -> SymText {
    let (bucket, mut path) = bucket_parts(r, input, storage);
    if input.bucket_key {
        return bucket;
    }
    let member = if storage.organization_trail {
        path = match &input.organization_id {
            Some(o) => path.text(o).text("/"),
            None => {
                let v = r.var("organization id", DomainKind::regex(ORG_ID), false);
                path.then(v).text("/")
            }
        };
        let m = r.var("member account", DomainKind::account(), false);
        if let Some(a) = trail.account.fixed() {
            r.hint(m, [a]);
        }
        SymText::var(m)
    } else {
        trail.account.clone()
    };
    let date = r.var("log date", DomainKind::regex(DATE_PATH), false);
    let tail = r.var("log file name", DomainKind::regex(FILE_TAIL), false);
    path.join(&member)
        .text("/CloudTrail/")
        .join(&trail.region)
        .text("/")
        .then(date)
        .text("/")
        .join(&member)
        .text("_CloudTrail_")
        .join(&trail.region)
        .text("_")
        .then(tail)
        .text(".json.gz")
}

fn source(r: &mut SymRequest, input: &CheckInput, trail: &TrailParts) {
    r.set("aws:sourcearn", trail.arn.clone());
    r.set("aws:sourceaccount", trail.account.clone());
    // aws:SourceOrgID is the source account's organization: known only for the key's own
    // account when --org-id is given; otherwise any organization, or none.
    let own = trail.account.fixed().as_deref() == arn_account(&input.key_arn);
    if let (true, Some(o)) = (own, &input.organization_id) {
        r.set("aws:sourceorgid", SymText::lit(o.as_str()));
    }
}

fn context(r: &mut SymRequest, trail: &TrailParts, s3: SymText) {
    r.set(
        "kms:encryptioncontext:aws:cloudtrail:arn",
        trail.arn.clone(),
    );
    r.set("kms:encryptioncontext:aws:s3:arn", s3);
    r.put(
        "kms:encryptioncontextkeys",
        SymValue::ContextKeys(CONTEXT_KEYS.iter().map(|k| k.to_string()).collect()),
    );
}

/// CloudTrail's GenerateDataKey (or, with a Bucket Key, Decrypt) for the trail's log objects.
pub(crate) fn trail_crypto(
    input: &CheckInput,
    trail: &TrailParts,
    storage: Storage<'_>,
    action: &str,
) -> SymRequest {
    let mut r = service(input, action);
    source(&mut r, input, trail);
    let s3 = log_object(&mut r, input, trail, storage);
    context(&mut r, trail, s3);
    r
}

/// CreateTrail/UpdateTrail's GenerateDataKey that checks the key: the context names the log
/// folder of the trail's account.
pub(crate) fn trail_verify(
    input: &CheckInput,
    trail: &TrailParts,
    storage: Storage<'_>,
) -> SymRequest {
    let mut r = service(input, "kms:GenerateDataKey");
    source(&mut r, input, trail);
    let (bucket, path) = bucket_parts(&mut r, input, storage);
    let s3 = if input.bucket_key {
        bucket
    } else {
        path.join(&trail.account).text("/")
    };
    context(&mut r, trail, s3);
    r
}

/// CloudTrail's DescribeKey for the trail: source keys, no encryption context.
pub(crate) fn trail_describe(input: &CheckInput, trail: &TrailParts) -> SymRequest {
    let mut r = service(input, "kms:DescribeKey");
    source(&mut r, input, trail);
    r.absent(&["kms:encryptioncontext:*", "kms:encryptioncontextkeys"]);
    r
}

/// A trail of any account, Region and name. The account variable is returned; `trusted`
/// accounts and `names` (checked trail names) are kept apart from the rest.
pub(crate) fn any_trail(
    r: &mut SymRequest,
    input: &CheckInput,
    trusted: &[String],
) -> (TrailParts, VarId) {
    let region = r.var(
        "trail Region",
        DomainKind::Finite(REGIONS.iter().map(|s| s.to_string()).collect()),
        false,
    );
    let account = r.var("trail account", DomainKind::account(), false);
    r.hint(account, trusted.iter().cloned());
    let name = r.var("trail name", DomainKind::regex(TRAIL_NAME), false);
    let names: Vec<String> = input
        .trails
        .iter()
        .filter_map(|t| t.arn.split_once(":trail/").map(|(_, n)| n.to_string()))
        .collect();
    r.hint(name, names);
    let arn = SymText::lit(format!("arn:{}:cloudtrail:", input.partition()))
        .then(region)
        .text(":")
        .then(account)
        .text(":trail/")
        .then(name);
    (
        TrailParts {
            arn,
            account: SymText::var(account),
            region: SymText::var(region),
        },
        account,
    )
}

/// What a request of [`any_trail_request`] asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrailCall {
    /// GenerateDataKey for a log object of a trail that is not an organization trail.
    Encrypt,
    /// GenerateDataKey for an organization trail's log object.
    EncryptOrganization,
    /// Decrypt with the log object's context.
    Decrypt,
    /// DescribeKey.
    Describe,
}

/// CloudTrail's `call` for a trail of any account, Region, name and bucket.
pub(crate) fn any_trail_request(
    input: &CheckInput,
    call: TrailCall,
    trusted: &[String],
) -> SymRequest {
    let action = match call {
        TrailCall::Encrypt | TrailCall::EncryptOrganization => "kms:GenerateDataKey",
        TrailCall::Decrypt => "kms:Decrypt",
        TrailCall::Describe => "kms:DescribeKey",
    };
    let mut r = service(input, action);
    let (trail, _) = any_trail(&mut r, input, trusted);
    source(&mut r, input, &trail);
    match call {
        TrailCall::Describe => {
            r.absent(&["kms:encryptioncontext:*", "kms:encryptioncontextkeys"]);
        }
        _ => {
            let org = call == TrailCall::EncryptOrganization;
            let mut foreign = input.clone();
            // Someone else's organization: its id is unknown.
            foreign.organization_id = None;
            foreign.bucket_key = false;
            let s3 = log_object(&mut r, &foreign, &trail, Storage::unknown(org));
            context(&mut r, &trail, s3);
        }
    }
    r
}

/// `aws:PrincipalType` of an IAM principal.
fn principal_type(arn: &str, is_root: bool) -> &'static str {
    if is_root {
        "Account"
    } else if arn.contains(":assumed-role/") || arn.contains(":role/") {
        "AssumedRole"
    } else if arn.contains(":federated-user/") {
        "FederatedUser"
    } else {
        "User"
    }
}

/// A reader's Decrypt of a trail's log objects through S3.
pub(crate) fn trail_read(
    input: &CheckInput,
    trail: &TrailParts,
    storage: Storage<'_>,
    reader: &RequestPrincipal,
) -> Option<SymRequest> {
    let RequestPrincipal::Iam(p) = reader else {
        return None;
    };
    // A role principal stands for its sessions.
    let arn = match &p.role_name {
        Some(role) if p.arn.contains(":role/") || p.arn.contains(":assumed-role/") => {
            format!("arn:{}:iam::{}:role/{role}", input.partition(), p.account)
        }
        _ => p.arn.clone(),
    };
    let principal = SymPrincipal::Iam {
        arn: SymText::lit(arn.as_str()),
        account: SymText::lit(p.account.as_str()),
        role_name: p.role_name.as_deref().map(SymText::lit),
        is_root: p.is_root,
    };
    let mut r = base(input, principal, "kms:Decrypt");
    r.set(
        "kms:viaservice",
        SymText::lit(format!("s3.{}.amazonaws.com", arn_region(&input.key_arn))),
    );
    r.set("aws:viaawsservice", SymText::lit("true"));
    r.set(
        "aws:principaltype",
        SymText::lit(principal_type(&p.arn, p.is_root)),
    );
    if let (Some(o), true) = (
        &input.organization_id,
        Some(p.account.as_str()) == arn_account(&input.key_arn),
    ) {
        r.set("aws:principalorgid", SymText::lit(o.as_str()));
    }
    let s3 = log_object(&mut r, input, trail, storage);
    context(&mut r, trail, s3);
    Some(r)
}

/// Who an outsider probe calls as.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outsider {
    /// A role (session) in any account.
    Role,
    /// An account's root user.
    Root,
    /// An unauthenticated caller.
    Anonymous,
}

/// `action` by a principal of any account (its own IAM policies assumed to allow), with any
/// encryption context, network, tags and organization. Returns the account variable.
pub(crate) fn outsider(
    input: &CheckInput,
    who: Outsider,
    action: &str,
    trusted: &[String],
    context_keys: Vec<String>,
) -> (SymRequest, Option<VarId>) {
    let mut r = base(input, SymPrincipal::Anonymous, action);
    let mut account_var = None;
    if who == Outsider::Anonymous {
        // An unauthenticated call has no principal keys.
        r.set("aws:principaltype", SymText::lit("Anonymous"));
        r.set("aws:principalisawsservice", SymText::lit("false"));
        r.absent(&[
            "aws:principalarn",
            "aws:principalaccount",
            "kms:calleraccount",
            "aws:principalorgid",
            "aws:principalorgpaths",
            "aws:principaltag/*",
            "aws:principalservicename",
        ]);
    }
    if who != Outsider::Anonymous {
        let account = r.var("caller account", DomainKind::account(), false);
        r.hint(account, trusted.iter().cloned());
        let prefix = SymText::lit(format!("arn:{}:iam::", input.partition())).then(account);
        r.principal = if who == Outsider::Root {
            r.set("aws:principaltype", SymText::lit("Account"));
            SymPrincipal::Iam {
                arn: prefix.text(":root"),
                account: SymText::var(account),
                role_name: None,
                is_root: true,
            }
        } else {
            let name = r.var("caller role", DomainKind::regex(ROLE_NAME), false);
            r.set("aws:principaltype", SymText::lit("AssumedRole"));
            SymPrincipal::Iam {
                arn: prefix.text(":role/").then(name),
                account: SymText::var(account),
                role_name: Some(SymText::var(name)),
                is_root: false,
            }
        };
        account_var = Some(account);
    }
    r.put(
        "kms:encryptioncontextkeys",
        SymValue::ContextKeys(context_keys),
    );
    (r, account_var)
}

/// Whose `kms:Decrypt` of a trail's log objects the scope summary asks about.
#[derive(Clone, Copy)]
pub(crate) enum DecryptorClass<'a> {
    /// A role (session) of this account.
    Account(&'a str),
    /// A role of any account outside `trusted`.
    Other(&'a [String]),
    /// An unauthenticated caller.
    Anonymous,
}

/// `kms:Decrypt` of one of the trail's log objects by a caller of `class`, made through S3 or
/// directly (whoever downloads the object may call KMS with its context); the caller's network,
/// tags and organization are free. Returns the request and the caller-account variable.
pub(crate) fn log_decryptor(
    input: &CheckInput,
    trail: &TrailParts,
    storage: Storage<'_>,
    class: DecryptorClass<'_>,
) -> (SymRequest, Option<VarId>) {
    let (mut r, account) = match class {
        DecryptorClass::Anonymous => {
            outsider(input, Outsider::Anonymous, "kms:Decrypt", &[], Vec::new())
        }
        DecryptorClass::Other(trusted) => {
            outsider(input, Outsider::Role, "kms:Decrypt", trusted, Vec::new())
        }
        DecryptorClass::Account(a) => {
            let mut r = base(input, SymPrincipal::Anonymous, "kms:Decrypt");
            let name = r.var("caller role", DomainKind::regex(ROLE_NAME), false);
            r.set("aws:principaltype", SymText::lit("AssumedRole"));
            r.principal = SymPrincipal::Iam {
                arn: SymText::lit(format!("arn:{}:iam::{a}:role/", input.partition())).then(name),
                account: SymText::lit(a),
                role_name: Some(SymText::var(name)),
                is_root: false,
            };
            if let (Some(o), true) = (
                &input.organization_id,
                Some(a) == arn_account(&input.key_arn),
            ) {
                r.set("aws:principalorgid", SymText::lit(o.as_str()));
            }
            (r, None)
        }
    };
    let s3 = log_object(&mut r, input, trail, storage);
    context(&mut r, trail, s3);
    (r, account)
}
