//! The Config rule Lambda handler: decode the event, fetch what the rule needs through
//! [`RuleAws`], decide with [`crate::rule`], put the evaluations. Nothing is dropped: what could
//! be decided is put first, then any failure fails the invocation with a message naming it.

use crate::aws::{AssumeRole, AwsError, EventDataStoreInfo, RuleAws, TrailInfo};
use crate::checker::Trail;
use crate::rule::{
    self, clip, decode_invoking_event, evaluate_key, evaluate_use, is_out_of_scope, Evaluation,
    EvaluationCompliance, KeyFacts, Message, RuleError, RuleParameters, MAX_ANNOTATION,
};
use aws_lambda_events::event::config::ConfigEvent;
use futures::stream::{self, StreamExt};
use std::collections::BTreeMap;
use thiserror::Error;

/// Config accepts at most 100 evaluations per `PutEvaluations`.
pub const BATCH: usize = 100;
/// Concurrent key reads in a periodic sweep.
pub const CONCURRENCY: usize = 8;

/// Why an invocation failed.
#[derive(Debug, Error)]
pub enum HandlerError {
    /// Bad event or parameters.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// A required event field is absent.
    #[error("event field `{0}` is missing")]
    MissingField(&'static str),
    /// Something this rule cannot evaluate (yet).
    #[error("{0}")]
    Unsupported(String),
    /// AWS calls failed; `put` evaluations were put before failing.
    #[error("{put} evaluation(s) put, then failed: {}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Aws {
        /// Evaluations put.
        put: usize,
        /// The failures.
        errors: Vec<AwsError>,
    },
    /// Config rejected evaluations even after a retry.
    #[error("PutEvaluations failed for: {}", .0.iter().map(|e| format!("{} {}", e.resource_type, e.resource_id)).collect::<Vec<_>>().join(", "))]
    FailedEvaluations(Vec<Evaluation>),
}

impl HandlerError {
    /// A stable error type for `lambda_runtime::Diagnostic`.
    pub fn error_type(&self) -> &'static str {
        match self {
            HandlerError::Rule(_) | HandlerError::MissingField(_) => "trailkey.InvalidEvent",
            HandlerError::Unsupported(_) => "trailkey.Unsupported",
            HandlerError::Aws { .. } => "trailkey.AwsError",
            HandlerError::FailedEvaluations(_) => "trailkey.FailedEvaluations",
        }
    }
}

/// Does `kms_key_id` (ARN, id, or alias-free reference) name `key_arn`?
pub fn same_key(kms_key_id: &str, key_arn: &str) -> bool {
    kms_key_id == key_arn || key_arn.rsplit('/').next() == Some(kms_key_id)
}

fn key_id(key_arn: &str) -> &str {
    key_arn.rsplit('/').next().unwrap_or(key_arn)
}

fn na(resource_type: &str, resource_id: &str, why: &str, ordering: &str) -> Evaluation {
    Evaluation {
        resource_type: resource_type.into(),
        resource_id: resource_id.into(),
        compliance: EvaluationCompliance::NotApplicable,
        annotation: clip(why, MAX_ANNOTATION),
        ordering_timestamp: ordering.into(),
        findings: Vec::new(),
    }
}

const TRAIL: &str = "AWS::CloudTrail::Trail";
const EDS: &str = "AWS::CloudTrail::EventDataStore";

struct Run<'a> {
    aws: &'a dyn RuleAws,
    /// Organization mode: the assumer and the execution role name.
    org: Option<(&'a dyn AssumeRole, String)>,
    params: RuleParameters,
    account: Option<String>,
    /// The rule's Region ([`RuleAws::region`]).
    region: Option<String>,
    /// ARNs of the shadow trails seen (multi-region trails homed elsewhere).
    shadows: std::collections::BTreeSet<String>,
    /// `DescribeOrganization` was called (at most once per invocation).
    organization_read: bool,
    evaluations: Vec<Evaluation>,
    errors: Vec<AwsError>,
}

/// Does the policy text name an organization condition key (`aws:PrincipalOrgID`,
/// `aws:PrincipalOrgPaths`, `aws:SourceOrgID`, `aws:SourceOrgPaths`, `aws:ResourceOrgID`, ...)?
/// Keys are case-insensitive, so is this test; a false positive costs one call.
fn names_organization(policy: &str) -> bool {
    let lower = policy.to_ascii_lowercase();
    ["aws:principalorg", "aws:sourceorg", "aws:resourceorg"]
        .iter()
        .any(|k| lower.contains(k))
}

impl Run<'_> {
    /// Without the `organizationId` parameter, a policy with an organization condition has the
    /// organization read from Organizations `DescribeOrganization` (callable from any member
    /// account), once per invocation. When the call fails the id stays unknown: the checker then
    /// considers every organization (never a guess), and the failure is logged.
    async fn learn_organization(&mut self, policy: &str) {
        if self.params.organization_id.is_some()
            || self.organization_read
            || !names_organization(policy)
        {
            return;
        }
        self.organization_read = true;
        match self.aws.organization_id().await {
            Ok(id) => self.params.organization_id = id,
            Err(e) => tracing::warn!(
                error = %e,
                "the organization id is unknown; set the rule parameter organizationId to decide aws:PrincipalOrgID conditions"
            ),
        }
    }

    fn trail_unencrypted(&mut self, name: &str, ordering: &str) {
        let (compliance, why) = if self.params.allow_unencrypted_trails {
            (
                EvaluationCompliance::Compliant,
                "trail logs are not encrypted with a KMS key (allowed by allowUnencryptedTrails)",
            )
        } else {
            (
                EvaluationCompliance::NonCompliant,
                "TRAIL_NOT_ENCRYPTED: trail logs are not encrypted with a KMS key",
            )
        };
        self.evaluations.push(Evaluation {
            resource_type: TRAIL.into(),
            resource_id: name.into(),
            compliance,
            annotation: why.into(),
            ordering_timestamp: ordering.into(),
            findings: Vec::new(),
        });
    }

    /// A key in another account: read it only in organization mode (not built yet).
    fn foreign_key(&self, key_arn: &str) -> Option<String> {
        let key_account = crate::policy::arn_account(key_arn)?;
        match &self.account {
            Some(a) if a != key_account => Some(key_account.to_string()),
            _ => None,
        }
    }

    async fn use_of_key(
        &mut self,
        resource_type: &str,
        resource_id: &str,
        key: &str,
        trail: Option<Trail>,
        ordering: &str,
    ) {
        if let Some(acct) = self.foreign_key(key) {
            if self.org.is_none() {
                self.evaluations.push(na(resource_type, resource_id, &format!("the key is in account {acct}; the rule deployed there covers it through expectedTrails"), ordering));
                return;
            }
        }
        match self.read_key(key).await {
            Ok(mut facts) => {
                self.learn_organization(&facts.policy).await;
                match trail {
                    Some(t) => facts.trails = vec![t],
                    None => facts.event_data_stores = vec![resource_id.to_string()],
                }
                self.evaluations.push(evaluate_use(
                    resource_type,
                    &facts,
                    resource_id,
                    &self.params,
                    ordering,
                ));
            }
            // Deleted (or not Enabled) while the resource still names it: scenario 19.
            Err(e) if e.key_unusable() => self.evaluations.push(rule::evaluate_unusable_key(
                resource_type,
                resource_id,
                key,
                &e.message,
                ordering,
            )),
            Err(e) => self.errors.push(e),
        }
    }

    async fn change(
        &mut self,
        item: &rule::ConfigurationItem,
        left_scope: bool,
    ) -> Result<(), HandlerError> {
        let ordering = item.capture_time.as_str();
        if is_out_of_scope(&item.status, left_scope) {
            self.evaluations.push(na(
                &item.resource_type,
                &item.resource_id,
                &format!(
                    "resource is out of scope ({})",
                    if left_scope {
                        "eventLeftScope"
                    } else {
                        item.status.as_str()
                    }
                ),
                ordering,
            ));
            return Ok(());
        }
        let c = &item.configuration;
        match item.resource_type.as_str() {
            "AWS::KMS::Key" => {
                let mut facts = rule::key_facts_from_item(item)?;
                if facts.key_manager != "AWS" {
                    self.users(&mut facts).await;
                    self.learn_organization(&facts.policy).await;
                }
                self.evaluations.push(evaluate_key(
                    &facts,
                    &item.resource_id,
                    &self.params,
                    ordering,
                ));
                self.user_evaluations(&facts, ordering);
            }
            TRAIL => {
                // A field of the wrong type is an error, never "absent" (an unencrypted guess).
                let arn = rule::optional_str(c, "trailARN")?
                    .map(str::to_string)
                    .or_else(|| item.arn.clone())
                    .ok_or(HandlerError::MissingField(
                        "configurationItem.configuration.trailARN",
                    ))?;
                match rule::optional_str(c, "kmsKeyId")? {
                    None => self.trail_unencrypted(&item.resource_id, ordering),
                    Some(key) => {
                        let bucket = rule::optional_str(c, "s3BucketName")?.map(str::to_string);
                        // Config omits null fields: no `s3KeyPrefix` is a trail without one.
                        let prefix = rule::optional_str(c, "s3KeyPrefix")?.unwrap_or_default();
                        self.use_of_key(
                            TRAIL,
                            &item.resource_id,
                            key,
                            Some(Trail {
                                arn,
                                bucket,
                                s3_key_prefix: Some(prefix.to_string()),
                                is_organization_trail: rule::optional_bool(
                                    c,
                                    "isOrganizationTrail",
                                )?,
                            }),
                            ordering,
                        )
                        .await;
                    }
                }
            }
            EDS if self.params.skip_event_data_stores => self.evaluations.push(na(
                EDS,
                &item.resource_id,
                "event data stores are not checked (checkEventDataStores=false)",
                ordering,
            )),
            EDS => match rule::optional_str(c, "KmsKeyId")? {
                None => self.evaluations.push(na(
                    EDS,
                    &item.resource_id,
                    "the event data store is not encrypted with a customer managed key",
                    ordering,
                )),
                Some(key) => {
                    self.use_of_key(EDS, &item.resource_id, key, None, ordering)
                        .await
                }
            },
            other => {
                return Err(HandlerError::Unsupported(format!(
                    "unsupported resource type `{other}`"
                )))
            }
        }
        Ok(())
    }

    /// Reads a key: in its own account through the execution role in organization mode.
    async fn read_key(&self, key: &str) -> Result<KeyFacts, AwsError> {
        match (self.foreign_key(key), &self.org) {
            (Some(acct), Some((assumer, role))) => {
                let partition = key.split(':').nth(1).unwrap_or("aws");
                assumer.assume(&acct, partition, role).await?.key(key).await
            }
            _ => self.aws.key(key).await,
        }
    }

    /// Is this a shadow trail here (listed in this Region, living in another)? The rule
    /// deployed in its home Region evaluates it, where Config records it.
    fn shadow(&self, t: &TrailInfo) -> bool {
        matches!((&t.home_region, &self.region), (Some(home), Some(here)) if home != here)
    }

    /// Is the key in another Region? Config records it there, and the rule deployed there
    /// evaluates it as a resource; trails here still read it in its own Region.
    fn key_elsewhere(&self, key: &str) -> bool {
        matches!((crate::aws::key_region(key), &self.region), (Some(k), Some(here)) if k != here)
    }

    /// Fills in the trails and event data stores that use the key.
    async fn users(&mut self, facts: &mut KeyFacts) {
        match self.aws.trails().await {
            Ok(trails) => {
                let trails: Vec<TrailInfo> = dedup(trails)
                    .into_iter()
                    .filter(|t| {
                        t.kms_key_id
                            .as_deref()
                            .is_some_and(|k| same_key(k, &facts.key_arn))
                    })
                    .collect();
                self.note_shadows(&trails);
                facts.trails = trails.into_iter().map(trail_of).collect();
            }
            Err(e) => self.errors.push(e),
        }
        facts.event_data_stores = self
            .event_data_stores()
            .await
            .into_iter()
            .filter(|e| {
                e.kms_key_id
                    .as_deref()
                    .is_some_and(|k| same_key(k, &facts.key_arn))
            })
            .map(|e| e.arn)
            .collect();
    }

    /// The account's event data stores: never listed with `checkEventDataStores=false`; a failed
    /// listing is recorded (the invocation fails after the put) and counts as none.
    async fn event_data_stores(&mut self) -> Vec<EventDataStoreInfo> {
        if self.params.skip_event_data_stores {
            return Vec::new();
        }
        match self.aws.event_data_stores().await {
            Ok(s) => s,
            Err(e) => {
                self.errors.push(e);
                Vec::new()
            }
        }
    }

    /// Remembers which of `trails` are shadow trails here.
    fn note_shadows(&mut self, trails: &[TrailInfo]) {
        let shadows: Vec<String> = trails
            .iter()
            .filter(|t| self.shadow(t))
            .map(|t| t.arn.clone())
            .collect();
        self.shadows.extend(shadows);
    }

    /// One evaluation per trail (shadow trails excepted) and event data store using the key.
    fn user_evaluations(&mut self, facts: &KeyFacts, ordering: &str) {
        if facts.key_manager == "AWS" {
            return;
        }
        for t in &facts.trails {
            if self.shadows.contains(&t.arn) {
                continue;
            }
            let mut one = facts.clone();
            one.trails = vec![t.clone()];
            one.event_data_stores.clear();
            let name = t.arn.rsplit('/').next().unwrap_or(&t.arn).to_string();
            self.evaluations
                .push(evaluate_use(TRAIL, &one, &name, &self.params, ordering));
        }
        for e in &facts.event_data_stores {
            let mut one = facts.clone();
            one.trails.clear();
            one.event_data_stores = vec![e.clone()];
            self.evaluations
                .push(evaluate_use(EDS, &one, e, &self.params, ordering));
        }
    }

    async fn periodic(&mut self, ordering: &str) {
        // Shadow trails are folded by `unencrypted_trails` and `users_by_key`.
        let trails = match self.aws.trails().await {
            Ok(t) => t,
            Err(e) => {
                self.errors.push(e);
                Vec::new()
            }
        };
        let stores = self.event_data_stores().await;
        self.note_shadows(&trails);
        for t in unencrypted_trails(&trails) {
            if !self.shadow(&t) {
                self.trail_unencrypted(&t.name, ordering);
            }
        }
        let mut users = users_by_key(&trails, &stores);
        if self.org.is_none() {
            // Keys in other accounts are evaluated by the rule deployed there.
            users.retain(|key, u| match self.foreign_key(key) {
                None => true,
                Some(acct) => {
                    let why = format!("the key is in account {acct}; the rule deployed there covers it through expectedTrails");
                    for t in u.trails.iter().filter(|t| !self.shadows.contains(&t.arn)) {
                        let name = t.arn.rsplit('/').next().unwrap_or(&t.arn);
                        self.evaluations.push(na(TRAIL, name, &why, ordering));
                    }
                    false
                }
            });
        }
        // A key in another Region used only by shadow trails here: nothing to evaluate here.
        users.retain(|key, u| {
            !(self.key_elsewhere(key)
                && u.event_data_stores.is_empty()
                && u.trails.iter().all(|t| self.shadows.contains(&t.arn)))
        });
        // Each key is read once, with bounded concurrency; results in key order.
        let this = &*self;
        let read: Vec<(String, Result<KeyFacts, AwsError>)> = stream::iter(users.keys().cloned())
            .map(|k| async move {
                let r = this.read_key(&k).await;
                (k, r)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut read = read;
        read.sort_by(|a, b| a.0.cmp(&b.0));
        for (k, r) in read {
            match (r, users.remove(&k)) {
                (Ok(mut facts), Some(u)) => {
                    facts.trails = u.trails;
                    facts.event_data_stores = u.event_data_stores;
                    self.learn_organization(&facts.policy).await;
                    if !self.key_elsewhere(&facts.key_arn) {
                        self.evaluations.push(evaluate_key(
                            &facts,
                            key_id(&facts.key_arn),
                            &self.params,
                            ordering,
                        ));
                    }
                    self.user_evaluations(&facts, ordering);
                }
                // Deleted (or not Enabled): its users are NON_COMPLIANT, the key is not
                // evaluated (scenario 19).
                (Err(e), Some(u)) if e.key_unusable() => {
                    for t in u.trails.iter().filter(|t| !self.shadows.contains(&t.arn)) {
                        let name = t.arn.rsplit('/').next().unwrap_or(&t.arn);
                        self.evaluations.push(rule::evaluate_unusable_key(
                            TRAIL, name, &k, &e.message, ordering,
                        ));
                    }
                    for s in &u.event_data_stores {
                        self.evaluations.push(rule::evaluate_unusable_key(
                            EDS, s, &k, &e.message, ordering,
                        ));
                    }
                }
                (Err(e), _) => self.errors.push(e),
                (Ok(_), None) => {}
            }
        }
    }
}

/// The trails and event data stores that use one key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyUsers {
    /// Trails (with their buckets).
    pub trails: Vec<Trail>,
    /// Event data store ARNs.
    pub event_data_stores: Vec<String>,
}

/// The trails without a KMS key, each once (shadow trails folded as for [`users_by_key`]).
pub fn unencrypted_trails(trails: &[TrailInfo]) -> Vec<TrailInfo> {
    dedup(trails.to_vec())
        .into_iter()
        .filter(|t| t.kms_key_id.is_none())
        .collect()
}

/// Groups encrypted trails and event data stores by the key they name, so each key is read once
/// (periodic runs and `trailkey scan`). Trails are deduplicated by ARN (shadow trails).
pub fn users_by_key(
    trails: &[TrailInfo],
    stores: &[EventDataStoreInfo],
) -> BTreeMap<String, KeyUsers> {
    let mut users: BTreeMap<String, KeyUsers> = BTreeMap::new();
    for t in dedup(trails.to_vec()) {
        if let Some(k) = t.kms_key_id.clone() {
            users.entry(k).or_default().trails.push(trail_of(t));
        }
    }
    for s in stores {
        if let Some(k) = &s.kms_key_id {
            users
                .entry(k.clone())
                .or_default()
                .event_data_stores
                .push(s.arn.clone());
        }
    }
    users
}

/// The checker's view of a listed trail. `DescribeTrails` omits `S3KeyPrefix` when the trail
/// has none, so a missing prefix is the empty one (known), not an unknown one.
pub fn trail_of(t: TrailInfo) -> Trail {
    Trail {
        arn: t.arn,
        bucket: t.bucket,
        s3_key_prefix: Some(t.s3_key_prefix.unwrap_or_default()),
        is_organization_trail: t.is_organization_trail,
    }
}

fn dedup(mut trails: Vec<TrailInfo>) -> Vec<TrailInfo> {
    trails.sort_by(|a, b| a.arn.cmp(&b.arn));
    trails.dedup_by(|a, b| a.arn == b.arn);
    trails
}

/// Handles one Config event; returns the evaluations put.
///
/// With the `ExecutionRoleName` parameter (organization mode) every read and the
/// `PutEvaluations` run as `arn:<partition>:iam::<accountId>:role/<ExecutionRoleName>` in the
/// event's account, and a key in another account is read through the same role name there. The
/// event's `executionRoleArn` (usually the service-linked `AWSServiceRoleForConfig`, which cannot
/// be assumed) is never used.
pub async fn handle(
    base: &dyn RuleAws,
    assumer: &dyn AssumeRole,
    event: &ConfigEvent,
) -> Result<Vec<Evaluation>, HandlerError> {
    let params = RuleParameters::parse(event.rule_parameters.as_deref())?;
    let assumed: Option<Box<dyn RuleAws>> = match &params.execution_role_name {
        None => None,
        Some(role) => {
            let account = event
                .account_id
                .as_deref()
                .ok_or(HandlerError::MissingField("accountId"))?;
            let partition = event
                .config_rule_arn
                .as_deref()
                .and_then(|a| a.split(':').nth(1))
                .unwrap_or("aws");
            Some(
                assumer
                    .assume(account, partition, role)
                    .await
                    .map_err(|e| HandlerError::Aws {
                        put: 0,
                        errors: vec![e],
                    })?,
            )
        }
    };
    let aws: &dyn RuleAws = assumed.as_deref().unwrap_or(base);
    let org = params.execution_role_name.clone().map(|r| (assumer, r));
    let token = event
        .result_token
        .clone()
        .ok_or(HandlerError::MissingField("resultToken"))?;
    let message = decode_invoking_event(
        event
            .invoking_event
            .as_deref()
            .ok_or(HandlerError::MissingField("invokingEvent"))?,
    )?;
    let mut run = Run {
        aws,
        org,
        params,
        account: event.account_id.clone(),
        region: aws.region(),
        shadows: std::collections::BTreeSet::new(),
        organization_read: false,
        evaluations: Vec::new(),
        errors: Vec::new(),
    };
    match &message {
        Message::Change(item) => run.change(item, event.event_left_scope).await?,
        Message::Oversized {
            resource_type,
            resource_id,
            ..
        } => match aws.latest_item(resource_type, resource_id).await {
            Ok(api) => {
                let item = rule::item_from_api(&api)?;
                run.change(&item, event.event_left_scope).await?;
            }
            Err(e) => run.errors.push(e),
        },
        Message::Scheduled { notification_time } => run.periodic(notification_time).await,
    }
    let mut failed = Vec::new();
    let mut put = 0usize;
    for batch in run.evaluations.chunks(BATCH) {
        match aws.put_evaluations(batch, &token).await {
            Ok(f) if f.is_empty() => put += batch.len(),
            Ok(f) => {
                put += batch.len() - f.len();
                // One retry of what Config reported as failed.
                match aws.put_evaluations(&f, &token).await {
                    Ok(still) => {
                        put += f.len() - still.len();
                        failed.extend(still);
                    }
                    Err(e) => {
                        run.errors.push(e);
                        failed.extend(f);
                    }
                }
            }
            Err(e) => {
                run.errors.push(e);
                failed.extend(batch.iter().cloned());
            }
        }
    }
    if !run.errors.is_empty() {
        return Err(HandlerError::Aws {
            put,
            errors: run.errors,
        });
    }
    if !failed.is_empty() {
        return Err(HandlerError::FailedEvaluations(failed));
    }
    Ok(run.evaluations)
}

/// Logs an invocation's outcome: each evaluation put (INFO: resource, compliance, annotation,
/// finding count), then one `finding` record per finding behind it, every property its own
/// field (`finding_id`, `severity`, `statement`, `finding_message`), so CloudWatch Logs Insights
/// filters and counts them (`docs/deploy.md`); or the failure (ERROR). Never the key policy
/// itself: findings name statements by Sid or index and quote only the values that decided
/// (`tests/log_hygiene.rs`).
pub fn log_outcome(result: &Result<Vec<Evaluation>, HandlerError>) {
    match result {
        Ok(evaluations) => {
            for e in evaluations {
                tracing::info!(
                    resource_type = %e.resource_type,
                    resource_id = %e.resource_id,
                    compliance = e.compliance.as_str(),
                    annotation = %e.annotation,
                    finding_count = e.findings.len(),
                    "evaluation put"
                );
                for f in &e.findings {
                    tracing::info!(
                        resource_type = %e.resource_type,
                        resource_id = %e.resource_id,
                        compliance = e.compliance.as_str(),
                        finding_id = %f.id,
                        severity = f.severity.as_str(),
                        finding_resource = %f.resource,
                        statement = f.statement.as_deref().unwrap_or(""),
                        finding_message = %f.message,
                        "finding"
                    );
                }
            }
        }
        Err(err) => {
            tracing::error!(error_type = err.error_type(), error = %err, "invocation failed");
        }
    }
}
