//! The AWS Config rule's pure logic: decode what Config sends, decide evaluations from fetched
//! facts. The AWS calls live in [`crate::aws`]; [`crate::handler`] wires the two together.
//!
//! Trigger: `ConfigurationItemChangeNotification` and `OversizedConfigurationItemChangeNotification`
//! for `AWS::KMS::Key`, `AWS::CloudTrail::Trail`, `AWS::CloudTrail::EventDataStore`, and
//! `ScheduledNotification` (periodic).
//!
//! Parameters (`ruleParameters`, Config passes strings): `readers`, `allowedAccounts`,
//! `expectedTrails`, `suppress` (comma-separated lists), `strict`, `bucketKey`, `organizationId`,
//! `allowUnencryptedTrails`, `checkEventDataStores` (`true`/`false`; the latter defaults to
//! `true`), `ExecutionRoleName` (role name).
//!
//! Scenarios (tests: `tests/handler_events.rs`, named after the `events/` file):
//! 1. Given a customer-managed key whose policy lets CloudTrail encrypt and describe for every
//!    trail that uses it, Then the key and each trail COMPLIANT.
//! 2. Given a key policy update that denies CloudTrail's GenerateDataKey for a trail, Then
//!    NON_COMPLIANT with `ENCRYPT_DENIED` first in the annotation.
//! 3. Given CloudTrail statements with neither aws:SourceArn nor aws:SourceAccount, Then
//!    NON_COMPLIANT (`CONFUSED_DEPUTY`).
//! 4. Given a key that is not Enabled, Then NON_COMPLIANT (`KEY_NOT_ENABLED`).
//! 5. Given a deleted or not-recorded item, Then NOT_APPLICABLE.
//! 6. Given a trail created with a key, Then the key is read and the trail evaluated.
//! 7. Given a trail without a key, Then NON_COMPLIANT (`TRAIL_NOT_ENCRYPTED`), or COMPLIANT with
//!    `allowUnencryptedTrails`.
//! 8. Given a trail whose key is in another account, Then NOT_APPLICABLE naming that account
//!    (organization mode: read through the execution role there).
//! 9. Given an oversized item, Then it is fetched with GetResourceConfigHistory and evaluated.
//! 10. Given a periodic run, Then every trail, event data store and key, each key read once.
//! 11. Given an event data store with a key, Then it is evaluated without source conditions.
//! 12. Given `eventLeftScope`, Then NOT_APPLICABLE.
//! 13. Given `ExecutionRoleName`, Then every read and put runs as that role in the event's account.
//! 14. Given an AWS-managed key, Then NOT_APPLICABLE.
//! 15. Given a key no trail or event data store uses and whose policy never names
//!     `cloudtrail.amazonaws.com`, Then NOT_APPLICABLE.
//! 16. Given an unreadable key policy, Then NON_COMPLIANT (`POLICY_INVALID`), never a guess.
//! 17. Given an unknown message type or an unknown or ill-typed parameter, Then an error naming it.
//! 19. Given a trail or event data store whose key KMS reports deleted (`NotFoundException`) or in
//!     a state that refuses the read (`KMSInvalidStateException`: never an Enabled key), Then that
//!     resource NON_COMPLIANT (`KEY_NOT_ENABLED`: CloudTrail cannot encrypt with it either); the
//!     key itself gets no evaluation (Config records its deletion). Any other read failure
//!     (AccessDenied, throttling, timeouts) fails the invocation: never a guess (`tests/faults.rs`).
//! 18. Given `checkEventDataStores=false` (a Region without CloudTrail Lake, or a local AWS that
//!     lacks it), Then `ListEventDataStores` is never called and an event data store change is
//!     NOT_APPLICABLE saying so.

use crate::checker::{check_text, CheckInput, FindingId, Report, Trail};
use serde_json::Value;
use thiserror::Error;

/// Every rule parameter the function accepts (the templates pass each of them through).
pub const PARAMETER_NAMES: &[&str] = &[
    "readers",
    "allowedAccounts",
    "expectedTrails",
    "strict",
    "suppress",
    "bucketKey",
    "allowUnencryptedTrails",
    "checkEventDataStores",
    "organizationId",
    "ExecutionRoleName",
];

/// Why an invocation cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RuleError {
    /// `ruleParameters` is not a JSON object of known parameters with valid values.
    #[error("rule parameter `{name}`: {problem}")]
    Parameter {
        /// The parameter.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// `invokingEvent` cannot be read.
    #[error("invokingEvent `{path}`: {problem}")]
    InvokingEvent {
        /// JSON pointer into the invoking event.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// A message type this rule does not handle.
    #[error("unsupported messageType `{0}`")]
    MessageType(String),
}

/// The rule's parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleParameters {
    /// Principal ARNs that must be able to decrypt trail logs.
    pub readers: Vec<String>,
    /// Accounts allowed to encrypt or decrypt.
    pub allowed_accounts: Vec<String>,
    /// Trails in other accounts that use keys in this account.
    pub expected_trails: Vec<String>,
    /// Warnings make resources NON_COMPLIANT.
    pub strict: bool,
    /// Finding ids to drop.
    pub suppress: Vec<FindingId>,
    /// Trail buckets use an S3 Bucket Key.
    pub bucket_key: bool,
    /// A trail without a KMS key is COMPLIANT rather than NON_COMPLIANT.
    pub allow_unencrypted_trails: bool,
    /// Organization mode: the role to assume in each account.
    pub execution_role_name: Option<String>,
    /// `checkEventDataStores=false`: CloudTrail Lake is not looked at (not offered in every
    /// Region; not implemented by local AWS emulators).
    pub skip_event_data_stores: bool,
    /// `organizationId` (`o-...`): the organization of the accounts, so `aws:PrincipalOrgID`
    /// and organization trails' log paths are decided rather than left open.
    pub organization_id: Option<String>,
}

fn list_param(name: &str, v: &Value) -> Result<Vec<String>, RuleError> {
    let bad = |problem: &str| RuleError::Parameter {
        name: name.to_string(),
        problem: problem.to_string(),
    };
    match v {
        Value::String(s) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad("list items must be strings"))
            })
            .collect(),
        _ => Err(bad("expected a comma-separated string")),
    }
}

fn bool_param(name: &str, v: &Value) -> Result<bool, RuleError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(RuleError::Parameter {
            name: name.to_string(),
            problem: format!("expected `true` or `false`, got `{other}`"),
        }),
    }
}

impl RuleParameters {
    /// Reads `ruleParameters` (a JSON string; empty or absent means defaults). Unknown or
    /// ill-typed parameters are errors: no silent defaults for bad values.
    pub fn parse(text: Option<&str>) -> Result<Self, RuleError> {
        let mut p = Self::default();
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            return Ok(p);
        };
        let value: Value = serde_json::from_str(text).map_err(|e| RuleError::Parameter {
            name: "ruleParameters".into(),
            problem: format!("not JSON: {e}"),
        })?;
        let Value::Object(map) = value else {
            return Err(RuleError::Parameter {
                name: "ruleParameters".into(),
                problem: "expected a JSON object".into(),
            });
        };
        for (name, v) in &map {
            match name.as_str() {
                "readers" => p.readers = list_param(name, v)?,
                "allowedAccounts" => {
                    p.allowed_accounts = list_param(name, v)?;
                    if let Some(bad) = p
                        .allowed_accounts
                        .iter()
                        .find(|a| !crate::policy::is_account_id(a))
                    {
                        return Err(RuleError::Parameter {
                            name: name.clone(),
                            problem: format!("`{bad}` is not a 12-digit account id"),
                        });
                    }
                }
                "expectedTrails" => p.expected_trails = list_param(name, v)?,
                "strict" => p.strict = bool_param(name, v)?,
                "bucketKey" => p.bucket_key = bool_param(name, v)?,
                "allowUnencryptedTrails" => p.allow_unencrypted_trails = bool_param(name, v)?,
                "checkEventDataStores" => p.skip_event_data_stores = !bool_param(name, v)?,
                "organizationId" => {
                    let id = v
                        .as_str()
                        .map(str::trim)
                        .ok_or_else(|| RuleError::Parameter {
                            name: name.clone(),
                            problem: "expected an organization id (o-...)".into(),
                        })?;
                    if !id.is_empty() && !crate::policy::is_organization_id(id) {
                        return Err(RuleError::Parameter {
                            name: name.clone(),
                            problem: format!(
                                "`{id}` is not an organization id (o- and 10 to 32 lowercase letters or digits)"
                            ),
                        });
                    }
                    p.organization_id = Some(id.to_string()).filter(|i| !i.is_empty());
                }
                "suppress" => {
                    for id in list_param(name, v)? {
                        p.suppress.push(FindingId::from_name(&id).ok_or_else(|| {
                            RuleError::Parameter {
                                name: name.clone(),
                                problem: format!("unknown finding id `{id}`"),
                            }
                        })?);
                    }
                }
                "ExecutionRoleName" => {
                    let role = v.as_str().ok_or_else(|| RuleError::Parameter {
                        name: name.clone(),
                        problem: "expected a role name".into(),
                    })?;
                    p.execution_role_name = Some(role.to_string()).filter(|r| !r.is_empty());
                }
                other => {
                    return Err(RuleError::Parameter {
                        name: other.to_string(),
                        problem: format!(
                            "unknown parameter (expected {})",
                            PARAMETER_NAMES.join(", ")
                        ),
                    })
                }
            }
        }
        Ok(p)
    }
}

/// A configuration item as the notification form carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigurationItem {
    /// `AWS::KMS::Key`, ...
    pub resource_type: String,
    /// The resource id Config uses (key id, trail name, event data store ARN).
    pub resource_id: String,
    /// The resource ARN, when recorded.
    pub arn: Option<String>,
    /// `OK`, `ResourceDiscovered`, `ResourceDeleted`, ...
    pub status: String,
    /// `configurationItemCaptureTime` (the evaluation's ordering timestamp).
    pub capture_time: String,
    /// `configuration` (null for deleted resources).
    pub configuration: Value,
    /// `supplementaryConfiguration`.
    pub supplementary: Value,
}

/// What Config asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A configuration item change.
    Change(Box<ConfigurationItem>),
    /// Too large to send: fetch the item with `GetResourceConfigHistory`.
    Oversized {
        /// Resource type.
        resource_type: String,
        /// Resource id.
        resource_id: String,
        /// Capture time.
        capture_time: String,
    },
    /// A periodic run.
    Scheduled {
        /// The notification time (the evaluations' ordering timestamp).
        notification_time: String,
    },
}

fn field<'a>(v: &'a Value, path: &str, name: &str) -> Result<&'a str, RuleError> {
    v.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| RuleError::InvokingEvent {
            path: format!("{path}/{name}"),
            problem: "missing or not a string".into(),
        })
}

/// Decodes `invokingEvent` (a JSON string).
pub fn decode_invoking_event(text: &str) -> Result<Message, RuleError> {
    let v: Value = serde_json::from_str(text).map_err(|e| RuleError::InvokingEvent {
        path: String::new(),
        problem: format!("not JSON: {e}"),
    })?;
    match field(&v, "", "messageType")? {
        "ConfigurationItemChangeNotification" => {
            let ci = v
                .get("configurationItem")
                .filter(|c| c.is_object())
                .ok_or_else(|| RuleError::InvokingEvent {
                    path: "/configurationItem".into(),
                    problem: "missing".into(),
                })?;
            let p = "/configurationItem";
            Ok(Message::Change(Box::new(ConfigurationItem {
                resource_type: field(ci, p, "resourceType")?.to_string(),
                resource_id: field(ci, p, "resourceId")?.to_string(),
                arn: ci.get("ARN").and_then(Value::as_str).map(str::to_string),
                status: field(ci, p, "configurationItemStatus")?.to_string(),
                capture_time: field(ci, p, "configurationItemCaptureTime")?.to_string(),
                configuration: ci.get("configuration").cloned().unwrap_or(Value::Null),
                supplementary: ci
                    .get("supplementaryConfiguration")
                    .cloned()
                    .unwrap_or(Value::Null),
            })))
        }
        "OversizedConfigurationItemChangeNotification" => {
            let s = v
                .get("configurationItemSummary")
                .ok_or_else(|| RuleError::InvokingEvent {
                    path: "/configurationItemSummary".into(),
                    problem: "missing".into(),
                })?;
            let p = "/configurationItemSummary";
            Ok(Message::Oversized {
                resource_type: field(s, p, "resourceType")?.to_string(),
                resource_id: field(s, p, "resourceId")?.to_string(),
                capture_time: field(s, p, "configurationItemCaptureTime")?.to_string(),
            })
        }
        "ScheduledNotification" => Ok(Message::Scheduled {
            notification_time: field(&v, "", "notificationCreationTime")?.to_string(),
        }),
        other => Err(RuleError::MessageType(other.to_string())),
    }
}

/// Config's compliance values for evaluations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvaluationCompliance {
    /// COMPLIANT.
    Compliant,
    /// NON_COMPLIANT.
    NonCompliant,
    /// NOT_APPLICABLE.
    NotApplicable,
}

impl EvaluationCompliance {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compliant => "COMPLIANT",
            Self::NonCompliant => "NON_COMPLIANT",
            Self::NotApplicable => "NOT_APPLICABLE",
        }
    }
}

/// One evaluation to put.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// `ComplianceResourceType`.
    pub resource_type: String,
    /// `ComplianceResourceId`.
    pub resource_id: String,
    /// `ComplianceType`.
    pub compliance: EvaluationCompliance,
    /// 1–256 characters.
    pub annotation: String,
    /// `OrderingTimestamp`.
    pub ordering_timestamp: String,
    /// Every finding behind the annotation (logged, not sent to Config).
    pub findings: Vec<crate::checker::Finding>,
}

/// Config's annotation limit.
pub const MAX_ANNOTATION: usize = 256;

/// Cuts `text` to at most `max` characters (never inside a character); never empty.
pub fn clip(text: &str, max: usize) -> String {
    let t: String = text.chars().take(max).collect();
    if t.is_empty() {
        "-".into()
    } else {
        t
    }
}

/// The most important finding first, then "+N more", within 256 characters.
pub fn annotation(report: &Report) -> String {
    let Some(first) = report.findings.first() else {
        return "CloudTrail can encrypt, describe and the readers can decrypt".into();
    };
    let more = report.findings.len() - 1;
    let suffix = if more > 0 {
        format!(" (+{more} more)")
    } else {
        String::new()
    };
    let mut head = format!("{}: {}", first.id, first.message);
    let room = MAX_ANNOTATION.saturating_sub(suffix.chars().count());
    // Too long: ARNs shrink to their resource part (`trail/other`, `key/1234…`), which is what
    // tells them apart, before anything is cut.
    if head.chars().count() > room {
        head = compact_arns(&head);
    }
    // Still too long: the message's opening clause ("CloudTrail's kms:GenerateDataKey for this
    // trail is denied: ...") restates the id; the detail after it is what the reader needs.
    if head.chars().count() > room {
        let message = compact_arns(&first.message);
        if let Some((_, detail)) = message
            .split_once(": ")
            .filter(|(lead, _)| lead.len() < 100)
        {
            head = format!("{}: {detail}", first.id);
        }
    }
    let mut text = clip(&head, room);
    if head.chars().count() > room && room > 1 {
        text = clip(&head, room - 1);
        text.push('…');
    }
    text.push_str(&suffix);
    text
}

/// `text` with every ARN (`arn:partition:service:region:account:resource`) replaced by its
/// resource part; anything that is not a full ARN stays as it is.
fn compact_arns(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("arn:") {
        let (before, from) = rest.split_at(i);
        out.push_str(before);
        let end = from
            .find(|c: char| c.is_whitespace() || matches!(c, '`' | '\'' | '"' | ',' | ')' | ']'))
            .unwrap_or(from.len());
        let (arn, after) = from.split_at(end);
        match arn.splitn(6, ':').nth(5) {
            Some(resource) if !resource.is_empty() => out.push_str(resource),
            _ => out.push_str(arn),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// What the AWS I/O layer fetched about one key.
#[derive(Debug, Clone)]
pub struct KeyFacts {
    /// Key ARN.
    pub key_arn: String,
    /// The key policy text.
    pub policy: String,
    /// `KeyState`.
    pub key_state: String,
    /// `KeySpec`.
    pub key_spec: String,
    /// `KeyManager` (`CUSTOMER` / `AWS`).
    pub key_manager: String,
    /// Trails that use the key.
    pub trails: Vec<Trail>,
    /// Event data stores that use the key.
    pub event_data_stores: Vec<String>,
}

/// A trail or event data store (`resource_type`) whose key KMS reports deleted or not usable
/// (`reason`, the service's error): NON_COMPLIANT, `KEY_NOT_ENABLED`.
pub fn evaluate_unusable_key(
    resource_type: &str,
    resource_id: &str,
    key_arn: &str,
    reason: &str,
    ordering: &str,
) -> Evaluation {
    // The same finding `trailkey scan` reports, on the resource that names the key.
    let mut findings =
        crate::checker::unusable_key_report(&CheckInput::new(key_arn), reason).findings;
    let mut head = String::new();
    for f in &mut findings {
        f.resource = resource_id.to_string();
        head = format!("{}: {}", f.id, f.message);
    }
    Evaluation {
        resource_type: resource_type.to_string(),
        resource_id: resource_id.to_string(),
        compliance: EvaluationCompliance::NonCompliant,
        annotation: clip(&head, MAX_ANNOTATION),
        ordering_timestamp: ordering.to_string(),
        findings,
    }
}

/// Evaluates a key as Config's resource `AWS::KMS::Key` / `resource_id`.
pub fn evaluate_key(
    facts: &KeyFacts,
    resource_id: &str,
    params: &RuleParameters,
    ordering: &str,
) -> Evaluation {
    evaluate_use("AWS::KMS::Key", facts, resource_id, params, ordering)
}

/// Evaluates a trail or event data store (`resource_type`) against the key it uses; `facts`
/// lists only that resource as the key's user.
pub fn evaluate_use(
    resource_type: &str,
    facts: &KeyFacts,
    resource_id: &str,
    params: &RuleParameters,
    ordering: &str,
) -> Evaluation {
    let eval = |compliance, annotation: String| Evaluation {
        resource_type: resource_type.to_string(),
        resource_id: resource_id.to_string(),
        compliance,
        annotation: clip(&annotation, MAX_ANNOTATION),
        ordering_timestamp: ordering.to_string(),
        findings: Vec::new(),
    };
    if facts.key_manager == "AWS" {
        return eval(
            EvaluationCompliance::NotApplicable,
            "AWS-managed key: its policy is not editable".into(),
        );
    }
    let mut trails = facts.trails.clone();
    // Trails in other accounts count for the key itself, not for another trail's evaluation.
    let expected: &[String] = if resource_type == "AWS::KMS::Key" {
        &params.expected_trails
    } else {
        &[]
    };
    for t in expected {
        if !trails.iter().any(|x| &x.arn == t) {
            trails.push(Trail {
                arn: t.clone(),
                bucket: None,
                ..Default::default()
            });
        }
    }
    if trails.is_empty()
        && facts.event_data_stores.is_empty()
        && !facts.policy.contains(crate::checker::CLOUDTRAIL)
    {
        return eval(
            EvaluationCompliance::NotApplicable,
            "no trail or event data store uses this key".into(),
        );
    }
    let mut input = CheckInput::new(facts.key_arn.clone());
    input.trails = trails;
    input.event_data_stores = facts.event_data_stores.clone();
    input.readers = params.readers.clone();
    input.allowed_accounts = params.allowed_accounts.clone();
    input.bucket_key = params.bucket_key;
    input.key_state = facts.key_state.clone();
    input.key_spec = facts.key_spec.clone();
    input.strict = params.strict;
    input.suppress = params.suppress.clone();
    input.organization_id = params.organization_id.clone();
    let report = check_text(&facts.policy, &input);
    let compliance = match report.compliance {
        crate::checker::Compliance::Compliant => EvaluationCompliance::Compliant,
        crate::checker::Compliance::NonCompliant => EvaluationCompliance::NonCompliant,
    };
    let mut evaluation = eval(compliance, annotation(&report));
    evaluation.findings = report.findings;
    evaluation
}

/// A configuration item in the `GetResourceConfigHistory` API form: `configuration` and every
/// `supplementaryConfiguration` value are JSON strings (the key policy is double-encoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfigurationItem {
    /// Resource type.
    pub resource_type: String,
    /// Resource id.
    pub resource_id: String,
    /// ARN (`arn` in the API form).
    pub arn: Option<String>,
    /// Status.
    pub status: String,
    /// Capture time, ISO 8601.
    pub capture_time: String,
    /// `configuration`, a JSON string.
    pub configuration: Option<String>,
    /// `supplementaryConfiguration`: name → JSON string.
    pub supplementary: Vec<(String, String)>,
}

/// Converts the API form into the notification form the rule reads.
pub fn item_from_api(api: &ApiConfigurationItem) -> Result<ConfigurationItem, RuleError> {
    let decode = |path: String, text: &str| -> Result<Value, RuleError> {
        serde_json::from_str(text).map_err(|e| RuleError::InvokingEvent {
            path,
            problem: format!("GetResourceConfigHistory returned a value that is not JSON: {e}"),
        })
    };
    let configuration = match &api.configuration {
        Some(c) => decode("/configurationItems/0/configuration".into(), c)?,
        None => Value::Null,
    };
    let mut supplementary = serde_json::Map::new();
    for (name, text) in &api.supplementary {
        let v = decode(
            format!("/configurationItems/0/supplementaryConfiguration/{name}"),
            text,
        )?;
        supplementary.insert(name.clone(), v);
    }
    Ok(ConfigurationItem {
        resource_type: api.resource_type.clone(),
        resource_id: api.resource_id.clone(),
        arn: api.arn.clone(),
        status: api.status.clone(),
        capture_time: api.capture_time.clone(),
        configuration,
        supplementary: Value::Object(supplementary),
    })
}

/// An optional string of a configuration item's `configuration` (notification form): absent or
/// `null` is `None`; another type, or a `configuration` that is not an object, is an error naming
/// the JSON pointer (never read as "absent": a wrongly typed `kmsKeyId` is not an unencrypted
/// trail).
pub fn optional_str<'a>(
    configuration: &'a Value,
    name: &str,
) -> Result<Option<&'a str>, RuleError> {
    let Some(map) = configuration.as_object() else {
        return Err(RuleError::InvokingEvent {
            path: "/configurationItem/configuration".into(),
            problem: "expected an object".into(),
        });
    };
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(RuleError::InvokingEvent {
            path: format!("/configurationItem/configuration/{name}"),
            problem: "not a string".into(),
        }),
    }
}

/// An optional boolean of a configuration item's `configuration`: absent or `null` is `false`;
/// another type is an error naming the JSON pointer.
pub fn optional_bool(configuration: &Value, name: &str) -> Result<bool, RuleError> {
    let Some(map) = configuration.as_object() else {
        return Err(RuleError::InvokingEvent {
            path: "/configurationItem/configuration".into(),
            problem: "expected an object".into(),
        });
    };
    match map.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(RuleError::InvokingEvent {
            path: format!("/configurationItem/configuration/{name}"),
            problem: "not a boolean".into(),
        }),
    }
}

/// Statuses for which the resource is gone from scope.
pub fn is_out_of_scope(status: &str, left_scope: bool) -> bool {
    left_scope
        || matches!(
            status,
            "ResourceDeleted" | "ResourceDeletedNotRecorded" | "ResourceNotRecorded"
        )
}

/// Reads the key facts carried by an `AWS::KMS::Key` configuration item (notification form:
/// `supplementaryConfiguration.Policy` is a JSON string). Trails and event data stores come
/// from CloudTrail and are filled in by the caller.
pub fn key_facts_from_item(item: &ConfigurationItem) -> Result<KeyFacts, RuleError> {
    let c = &item.configuration;
    let s = |name: &str| -> Result<String, RuleError> {
        c.get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| RuleError::InvokingEvent {
                path: format!("/configurationItem/configuration/{name}"),
                problem: "missing or not a string".into(),
            })
    };
    let policy = item
        .supplementary
        .get("Policy")
        .and_then(Value::as_str)
        .ok_or_else(|| RuleError::InvokingEvent {
            path: "/configurationItem/supplementaryConfiguration/Policy".into(),
            problem: "missing or not a string".into(),
        })?
        .to_string();
    Ok(KeyFacts {
        key_arn: s("arn")?,
        policy,
        key_state: s("keyState")?,
        key_spec: s("keySpec").or_else(|_| s("customerMasterKeySpec"))?,
        key_manager: s("keyManager")?,
        trails: Vec::new(),
        event_data_stores: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str) -> Value {
        let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn t1() -> Trail {
        Trail {
            arn: "arn:aws:cloudtrail:us-east-1:111111111111:trail/management-events".into(),
            bucket: Some("trailkey-logs-111111111111".into()),
            ..Default::default()
        }
    }

    fn key_eval(name: &str) -> Evaluation {
        let e = event(name);
        let params = RuleParameters::parse(e["ruleParameters"].as_str()).unwrap();
        let Message::Change(item) =
            decode_invoking_event(e["invokingEvent"].as_str().unwrap()).unwrap()
        else {
            panic!("not a change")
        };
        let mut facts = key_facts_from_item(&item).unwrap();
        facts.trails.push(t1());
        evaluate_key(&facts, &item.resource_id, &params, &item.capture_time)
    }

    /// IAM User Guide, "AWS global condition context keys": aws:PrincipalOrgID is present for
    /// every principal in an organization. With `organizationId` the rule knows the readers'
    /// organization, so an organization perimeter Deny no longer denies them.
    #[test]
    fn organization_id_parameter_decides_a_principal_org_id_perimeter() {
        let policy = r#"{"Version": "2012-10-17", "Statement": [
          {"Sid": "Read", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/LogReader"}, "Action": "kms:Decrypt", "Resource": "*"},
          {"Sid": "Perimeter", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
           "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}, "Bool": {"aws:PrincipalIsAWSService": "false"}}}]}"#;
        let facts = KeyFacts {
            key_arn: "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                .into(),
            policy: policy.into(),
            key_state: "Enabled".into(),
            key_spec: "SYMMETRIC_DEFAULT".into(),
            key_manager: "CUSTOMER".into(),
            trails: vec![t1()],
            event_data_stores: Vec::new(),
        };
        let reader_denied = |params: &str| {
            evaluate_use(
                "AWS::CloudTrail::Trail",
                &facts,
                "management-events",
                &RuleParameters::parse(Some(params)).unwrap(),
                "2024-06-01T00:00:00.000Z",
            )
            .findings
            .iter()
            .any(|f| f.id == FindingId::ReaderDenied)
        };
        assert!(reader_denied(
            r#"{"readers": "arn:aws:iam::111111111111:role/LogReader"}"#
        ));
        assert!(!reader_denied(
            r#"{"readers": "arn:aws:iam::111111111111:role/LogReader", "organizationId": "o-abcdefghij"}"#
        ));
    }

    #[test]
    fn scenario_1_compliant_key_is_compliant() {
        let e = key_eval("01-key-created-compliant.json");
        assert_eq!(e.compliance, EvaluationCompliance::Compliant);
        assert_eq!(e.resource_type, "AWS::KMS::Key");
        assert_eq!(e.resource_id, "1234abcd-12ab-34cd-56ef-1234567890ab");
        assert_eq!(e.ordering_timestamp, "2024-05-01T10:00:12.345Z");
    }

    #[test]
    fn scenario_2_broken_encrypt_is_non_compliant_with_encrypt_denied_first() {
        let e = key_eval("02-key-policy-breaks-encrypt.json");
        assert_eq!(e.compliance, EvaluationCompliance::NonCompliant);
        assert!(
            e.annotation.starts_with("ENCRYPT_DENIED: "),
            "{}",
            e.annotation
        );
        assert!(e.annotation.chars().count() <= MAX_ANNOTATION);
    }

    #[test]
    fn scenario_3_disabled_key_is_non_compliant() {
        let e = key_eval("04-key-disabled.json");
        assert_eq!(e.compliance, EvaluationCompliance::NonCompliant);
        assert!(
            e.annotation.starts_with("KEY_NOT_ENABLED"),
            "{}",
            e.annotation
        );
    }

    #[test]
    fn scenario_4_aws_managed_key_is_not_applicable() {
        assert_eq!(
            key_eval("14-aws-managed-key.json").compliance,
            EvaluationCompliance::NotApplicable
        );
    }

    #[test]
    fn scenario_5_deleted_item_is_out_of_scope() {
        let e = event("05-key-deleted.json");
        let Message::Change(item) =
            decode_invoking_event(e["invokingEvent"].as_str().unwrap()).unwrap()
        else {
            panic!()
        };
        assert!(is_out_of_scope(&item.status, false));
        assert!(item.configuration.is_null());
    }

    #[test]
    fn scenario_7_unreadable_policy_is_non_compliant() {
        let facts = KeyFacts {
            key_arn: "arn:aws:kms:us-east-1:111111111111:key/k".into(),
            policy: "{not json".into(),
            key_state: "Enabled".into(),
            key_spec: "SYMMETRIC_DEFAULT".into(),
            key_manager: "CUSTOMER".into(),
            trails: vec![t1()],
            event_data_stores: vec![],
        };
        let e = evaluate_key(&facts, "k", &RuleParameters::default(), "t");
        assert_eq!(e.compliance, EvaluationCompliance::NonCompliant);
        assert!(e.annotation.starts_with("POLICY_INVALID"));
    }

    #[test]
    fn scenario_8_bad_events_name_their_problem() {
        let e = event("bad/unknown-message-type.json");
        let err = decode_invoking_event(e["invokingEvent"].as_str().unwrap()).unwrap_err();
        assert!(matches!(err, RuleError::MessageType(_)), "{err}");
        let e = event("bad/unknown-parameter-reader.json");
        let err = RuleParameters::parse(e["ruleParameters"].as_str()).unwrap_err();
        assert!(err.to_string().contains("`reader`"), "{err}");
        let e = event("bad/strict-not-boolean.json");
        let err = RuleParameters::parse(e["ruleParameters"].as_str()).unwrap_err();
        assert!(err.to_string().contains("`strict`"), "{err}");
        let e = event("bad/invoking-event-not-json.json");
        assert!(decode_invoking_event(e["invokingEvent"].as_str().unwrap()).is_err());
    }

    #[test]
    fn every_good_event_decodes() {
        for entry in std::fs::read_dir(format!("{}/events", env!("CARGO_MANIFEST_DIR"))).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let e: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            decode_invoking_event(e["invokingEvent"].as_str().unwrap())
                .unwrap_or_else(|err| panic!("{path:?}: {err}"));
            RuleParameters::parse(e["ruleParameters"].as_str())
                .unwrap_or_else(|err| panic!("{path:?}: {err}"));
        }
    }

    /// Config's annotation is at most 256 characters: a long finding keeps the part that tells
    /// the trails apart instead of losing it to the cut.
    #[test]
    fn a_long_annotation_shortens_arns_before_cutting() {
        let long = |n: &str| format!("arn:aws:cloudtrail:us-east-1:111111111111:trail/{n}");
        let finding = crate::checker::Finding {
            id: FindingId::EncryptDenied,
            severity: crate::checker::Severity::Error,
            resource: long("mgmt"),
            statement: Some("Allow CloudTrail to encrypt logs".into()),
            message: format!(
                "CloudTrail's kms:GenerateDataKey for this trail is denied: statement Allow CloudTrail to encrypt logs requires aws:SourceArn StringEquals `{}`, but the request has `{}`",
                long("other-trail-with-a-long-name"),
                long("management-events-of-the-production-account")
            ),
            fix: None,
        };
        let report = Report {
            compliance: crate::checker::Compliance::NonCompliant,
            key: "k".into(),
            findings: vec![finding.clone(), finding],
            scope: None,
        };
        let a = annotation(&report);
        assert!(a.chars().count() <= MAX_ANNOTATION, "{a}");
        assert!(a.starts_with("ENCRYPT_DENIED: "), "{a}");
        assert!(a.contains("`trail/other-trail-with-a-long-name`"), "{a}");
        assert!(
            a.contains("`trail/management-events-of-the-production-account`"),
            "{a}"
        );
        assert!(a.ends_with(" (+1 more)"), "{a}");
        assert_eq!(
            compact_arns("key arn:aws:kms:us-east-1:111111111111:key/abc, and arn:x"),
            "key key/abc, and arn:x"
        );
    }

    #[test]
    fn annotation_is_cut_on_a_character_boundary_with_a_count() {
        let finding = crate::checker::Finding {
            id: FindingId::EncryptDenied,
            severity: crate::checker::Severity::Error,
            resource: "r".into(),
            statement: None,
            message: "é".repeat(400),
            fix: None,
        };
        let report = Report {
            compliance: crate::checker::Compliance::NonCompliant,
            key: "k".into(),
            findings: vec![finding.clone(), finding.clone(), finding],
            scope: None,
        };
        let a = annotation(&report);
        assert_eq!(a.chars().count(), MAX_ANNOTATION);
        assert!(a.ends_with("… (+2 more)"), "{a}");
    }
}
