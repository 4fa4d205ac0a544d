//! Finding ids (a contract: never renamed, only retired), severities and the report model.

use serde::Serialize;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Breaks CloudTrail or exposes the key: NON_COMPLIANT.
    Error,
    /// Least-privilege gap: NON_COMPLIANT only in strict mode.
    Warning,
    /// Advice.
    Info,
}

impl Severity {
    /// The name used in JSON and logs: `error`, `warning`, `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

macro_rules! finding_ids {
    ($($name:ident => $text:literal, $sev:ident, $doc:literal;)*) => {
        /// Stable finding ids.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum FindingId { $(#[doc = $doc] $name,)* }

        impl FindingId {
            /// Every id, in report order.
            pub const ALL: &'static [FindingId] = &[$(FindingId::$name,)*];

            /// The id as it appears in reports (`ENCRYPT_DENIED`).
            pub fn as_str(self) -> &'static str {
                match self { $(FindingId::$name => $text,)* }
            }

            /// The default severity.
            pub fn severity(self) -> Severity {
                match self { $(FindingId::$name => Severity::$sev,)* }
            }

            /// Looks an id up by its text.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|id| id.as_str() == name)
            }
        }
    };
}

finding_ids! {
    PolicyInvalid => "POLICY_INVALID", Error, "The key policy cannot be read (KMS would reject it).";
    KeyNotEnabled => "KEY_NOT_ENABLED", Error, "The key is not in the Enabled state: CloudTrail cannot deliver.";
    KeyNotSymmetric => "KEY_NOT_SYMMETRIC", Error, "CloudTrail needs a symmetric encryption key.";
    TrailNotEncrypted => "TRAIL_NOT_ENCRYPTED", Error, "The trail's logs are not encrypted with a KMS key.";
    EncryptDenied => "ENCRYPT_DENIED", Error, "CloudTrail cannot call GenerateDataKey for the trail or event data store.";
    DescribeDenied => "DESCRIBE_DENIED", Error, "CloudTrail cannot call DescribeKey for the trail or event data store.";
    ServiceDecryptDenied => "SERVICE_DECRYPT_DENIED", Error, "CloudTrail cannot call Decrypt (event data stores; trails with an S3 Bucket Key).";
    NoLogReader => "NO_LOG_READER", Error, "No principal other than AWS services can decrypt the trail's logs.";
    ReaderDenied => "READER_DENIED", Error, "A named reader cannot decrypt the logs.";
    PublicAccess => "PUBLIC_ACCESS", Error, "A principal in an arbitrary account, or anonymous, gets a KMS action.";
    ConfusedDeputy => "CONFUSED_DEPUTY", Error, "A trail in an untrusted account can make CloudTrail use the key (GenerateDataKey or Decrypt; DescribeKey only: warning).";
    Undecided => "UNDECIDED", Error, "trailkey could not decide a requirement exactly within its search budget: never reported as compliant.";
    SourceUnscoped => "SOURCE_UNSCOPED", Warning, "CloudTrail may use the key for trails of trusted accounts other than the checked ones (no effective aws:SourceArn).";
    ContextUnconstrained => "CONTEXT_UNCONSTRAINED", Warning, "CloudTrail's GenerateDataKey grant is not limited by kms:EncryptionContext:aws:cloudtrail:arn.";
    ContextOnNonCryptoAction => "CONTEXT_ON_NON_CRYPTO_ACTION", Warning, "An encryption-context condition on an action that carries none: the statement can never allow it.";
    ReaderNotScoped => "READER_NOT_SCOPED", Warning, "Decrypt is granted without requiring the CloudTrail encryption context.";
    ServiceOvergrant => "SERVICE_OVERGRANT", Warning, "CloudTrail is granted more than GenerateDataKey*, DescribeKey and Decrypt.";
    UnexpectedAccount => "UNEXPECTED_ACCOUNT", Warning, "An account outside the allowed accounts can encrypt or decrypt.";
    NotPrincipalAllow => "NOT_PRINCIPAL_ALLOW", Warning, "An Allow statement uses NotPrincipal (AWS does not support this in key policies).";
    EdsSourceCondition => "EDS_SOURCE_CONDITION", Warning, "A statement for CloudTrail uses aws:SourceArn/aws:SourceAccount, which event data stores do not send.";
    SourceAccountOnly => "SOURCE_ACCOUNT_ONLY", Info, "aws:SourceAccount is used where aws:SourceArn is recommended.";
    ReaderViaIam => "READER_VIA_IAM", Info, "A reader can decrypt only if its IAM policies also allow it.";
}

impl std::fmt::Display for FindingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FindingId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One problem, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable id.
    pub id: FindingId,
    /// Severity.
    pub severity: Severity,
    /// The trail or event data store ARN, or the key ARN.
    pub resource: String,
    /// The statement concerned (Sid, else `#index`).
    pub statement: Option<String>,
    /// One line.
    pub message: String,
    /// The statement to add, filled in with real ARNs.
    pub fix: Option<serde_json::Value>,
}

/// AWS Config compliance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Compliance {
    /// No error remains.
    #[serde(rename = "COMPLIANT")]
    Compliant,
    /// An error remains (or a warning, in strict mode).
    #[serde(rename = "NON_COMPLIANT")]
    NonCompliant,
}

impl Compliance {
    /// `COMPLIANT` / `NON_COMPLIANT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Compliance::Compliant => "COMPLIANT",
            Compliance::NonCompliant => "NON_COMPLIANT",
        }
    }
}

/// The result of checking one key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Compliance after suppressions.
    pub compliance: Compliance,
    /// The key ARN.
    pub key: String,
    /// Findings, most important first (suppressed ones removed).
    pub findings: Vec<Finding>,
    /// Who the policy lets use the key; `None` when it was not analysed (an unreadable policy, a
    /// trail without a key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
}

/// Who the key policy lets use the key, answered over every request (not only the checked
/// ones), each answer with a witness the concrete engine allowed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scope {
    /// The trails for which CloudTrail may call `kms:GenerateDataKey` (encrypt log files).
    pub encrypt: TrailScope,
    /// The trails for which CloudTrail may call `kms:DescribeKey`.
    pub describe: TrailScope,
    /// Who can call `kms:Decrypt` for the checked trails' log objects, by class of caller; empty
    /// when no trail was checked.
    pub decrypt: Vec<Decryptors>,
}

/// How far a CloudTrail grant reaches, from widest to narrowest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrailReach {
    /// Every trail of every account.
    AnyTrail,
    /// Some trails of accounts outside the trusted ones (not all).
    UntrustedAccounts,
    /// Trails of trusted accounts beyond the checked trails.
    TrustedAccounts,
    /// Only the checked trails.
    CheckedTrails,
    /// No trail.
    None,
    /// The engine could not decide within its budget.
    Undecided,
}

/// The trails one CloudTrail action is allowed for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrailScope {
    /// How far the grant reaches.
    pub reach: TrailReach,
    /// One sentence.
    pub summary: String,
    /// A trail ARN it is allowed for (the widest class reached).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witness: Option<String>,
}

/// A class of callers and whether they can decrypt the trails' logs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decryptors {
    /// The class: `account 111122223333`, `any other account`, `anonymous`.
    pub principals: String,
    /// `key policy` (the key policy alone allows), `IAM delegation` (their IAM policies decide)
    /// or `undecided`.
    pub via: String,
    /// A caller the concrete engine allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witness: Option<String>,
}
