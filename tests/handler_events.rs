//! Every `events/*.json` replayed through the real handler, with fakes at the SDK boundary.
//! Asserts the exact evaluations put (type, id, compliance, annotation, timestamp, batches) and
//! the errors returned. The same fakes drive `trailkey::scan` over an organization's accounts
//! (the end of the file).
#![cfg(feature = "aws")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use async_trait::async_trait;
use aws_lambda_events::event::config::ConfigEvent;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use trailkey::aws::{AssumeRole, AwsError, EventDataStoreInfo, RuleAws, TrailInfo};
use trailkey::handler::{handle, HandlerError};
use trailkey::rule::{ApiConfigurationItem, Evaluation, EvaluationCompliance::*, KeyFacts};

const K1: &str = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const T1: &str = "arn:aws:cloudtrail:us-east-1:111111111111:trail/management-events";
const EDS: &str =
    "arn:aws:cloudtrail:us-east-1:111111111111:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE";

#[derive(Default)]
struct Fake {
    keys: HashMap<String, Result<KeyFacts, AwsError>>,
    trails: Vec<TrailInfo>,
    stores: Vec<EventDataStoreInfo>,
    /// Resource ids Config reports as failed on the first put of them.
    fail_once: Mutex<Vec<String>>,
    batches: Mutex<Vec<Vec<Evaluation>>>,
    key_reads: Mutex<Vec<String>>,
    /// The rule's Region (`None`: unknown, every trail is evaluated).
    region: Option<String>,
}

#[async_trait]
impl RuleAws for Fake {
    fn region(&self) -> Option<String> {
        self.region.clone()
    }
    async fn key(&self, key_arn: &str) -> Result<KeyFacts, AwsError> {
        self.key_reads.lock().unwrap().push(key_arn.to_string());
        self.keys.get(key_arn).cloned().unwrap_or_else(|| {
            Err(AwsError {
                operation: "kms:GetKeyPolicy",
                resource: key_arn.into(),
                message: "NotFoundException: key does not exist".into(),
            })
        })
    }
    async fn trails(&self) -> Result<Vec<TrailInfo>, AwsError> {
        Ok(self.trails.clone())
    }
    async fn event_data_stores(&self) -> Result<Vec<EventDataStoreInfo>, AwsError> {
        Ok(self.stores.clone())
    }
    async fn latest_item(
        &self,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<ApiConfigurationItem, AwsError> {
        // The API form of event 01's item: configuration and supplementary values are JSON
        // strings, the policy double-encoded, KeyRotationStatus the string "false".
        let e: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(format!(
                "{}/events/01-key-created-compliant.json",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap(),
        )
        .unwrap();
        let ie: serde_json::Value =
            serde_json::from_str(e["invokingEvent"].as_str().unwrap()).unwrap();
        let ci = &ie["configurationItem"];
        let policy = ci["supplementaryConfiguration"]["Policy"].as_str().unwrap();
        Ok(ApiConfigurationItem {
            resource_type: resource_type.into(),
            resource_id: resource_id.into(),
            arn: Some(K1.into()),
            status: "OK".into(),
            capture_time: "2024-06-10T08:00:00.000Z".into(),
            configuration: Some(ci["configuration"].to_string()),
            supplementary: vec![
                ("KeyRotationStatus".into(), "\"false\"".into()),
                (
                    "Policy".into(),
                    serde_json::Value::String(policy.into()).to_string(),
                ),
            ],
        })
    }
    async fn put_evaluations(
        &self,
        evaluations: &[Evaluation],
        _token: &str,
    ) -> Result<Vec<Evaluation>, AwsError> {
        self.batches.lock().unwrap().push(evaluations.to_vec());
        let mut fail = self.fail_once.lock().unwrap();
        let failed: Vec<Evaluation> = evaluations
            .iter()
            .filter(|e| fail.contains(&e.resource_id))
            .cloned()
            .collect();
        fail.retain(|id| !failed.iter().any(|e| &e.resource_id == id));
        Ok(failed)
    }
}

/// No organization mode: assuming a role is a test failure.
struct NoOrg;

#[async_trait]
impl AssumeRole for NoOrg {
    async fn assume(
        &self,
        account: &str,
        _: &str,
        role: &str,
    ) -> Result<Box<dyn RuleAws>, AwsError> {
        panic!("unexpected AssumeRole {account} {role}")
    }
}

/// A fake shared between the test and the handler.
struct Shared(Arc<Fake>);

#[async_trait]
impl RuleAws for Shared {
    async fn key(&self, k: &str) -> Result<KeyFacts, AwsError> {
        self.0.key(k).await
    }
    async fn trails(&self) -> Result<Vec<TrailInfo>, AwsError> {
        self.0.trails().await
    }
    async fn event_data_stores(&self) -> Result<Vec<EventDataStoreInfo>, AwsError> {
        self.0.event_data_stores().await
    }
    async fn latest_item(&self, t: &str, id: &str) -> Result<ApiConfigurationItem, AwsError> {
        self.0.latest_item(t, id).await
    }
    async fn put_evaluations(
        &self,
        e: &[Evaluation],
        token: &str,
    ) -> Result<Vec<Evaluation>, AwsError> {
        self.0.put_evaluations(e, token).await
    }
}

/// Organization mode: one fake per account, and a log of the roles assumed.
struct Org {
    accounts: HashMap<String, Arc<Fake>>,
    assumed: Mutex<Vec<String>>,
    /// Every AssumeRole is refused.
    fail: bool,
    /// AssumeRole into these accounts is refused.
    refuse: Vec<&'static str>,
}

#[async_trait]
impl AssumeRole for Org {
    async fn assume(
        &self,
        account: &str,
        partition: &str,
        role: &str,
    ) -> Result<Box<dyn RuleAws>, AwsError> {
        let arn = format!("arn:{partition}:iam::{account}:role/{role}");
        self.assumed.lock().unwrap().push(arn.clone());
        if self.fail || self.refuse.contains(&account) {
            return Err(AwsError {
                operation: "sts:AssumeRole",
                resource: arn,
                message: "AccessDenied: not trusted".into(),
            });
        }
        Ok(Box::new(Shared(self.accounts[account].clone())))
    }
}

fn policy(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/events/policies/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn k1(policy_name: &str) -> KeyFacts {
    KeyFacts {
        key_arn: K1.into(),
        policy: policy(policy_name),
        key_state: "Enabled".into(),
        key_spec: "SYMMETRIC_DEFAULT".into(),
        key_manager: "CUSTOMER".into(),
        trails: vec![],
        event_data_stores: vec![],
    }
}

fn t1() -> TrailInfo {
    TrailInfo {
        arn: T1.into(),
        name: "management-events".into(),
        kms_key_id: Some(K1.into()),
        bucket: Some("trailkey-logs-111111111111".into()),
        ..Default::default()
    }
}

fn fake(policy_name: &str) -> Fake {
    let mut f = Fake {
        trails: vec![t1()],
        ..Fake::default()
    };
    f.keys.insert(K1.into(), Ok(k1(policy_name)));
    f
}

fn event(name: &str) -> ConfigEvent {
    serde_json::from_str(
        &std::fs::read_to_string(format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap(),
    )
    .unwrap()
}

async fn run(f: &Fake, name: &str) -> Result<Vec<Evaluation>, HandlerError> {
    handle(f, &NoOrg, &event(name)).await
}

fn summary(evals: &[Evaluation]) -> Vec<(String, String, &'static str)> {
    evals
        .iter()
        .map(|e| {
            (
                e.resource_type.clone(),
                e.resource_id.clone(),
                e.compliance.as_str(),
            )
        })
        .collect()
}

fn s(t: &str, id: &str, c: &'static str) -> (String, String, &'static str) {
    (t.into(), id.into(), c)
}

#[tokio::test]
async fn scenario_01_key_created_compliant_evaluates_key_and_its_trail() {
    let f = fake("k1-compliant");
    let evals = run(&f, "01-key-created-compliant.json").await.unwrap();
    assert_eq!(
        summary(&evals),
        vec![
            s(
                "AWS::KMS::Key",
                "1234abcd-12ab-34cd-56ef-1234567890ab",
                "COMPLIANT"
            ),
            s("AWS::CloudTrail::Trail", "management-events", "COMPLIANT")
        ]
    );
    assert!(evals
        .iter()
        .all(|e| e.ordering_timestamp == "2024-05-01T10:00:12.345Z"));
    assert_eq!(*f.batches.lock().unwrap(), vec![evals.clone()]);
}

#[tokio::test]
async fn scenario_02_policy_update_breaking_encrypt_is_non_compliant() {
    let f = fake("k1-compliant"); // CloudTrail's view; the key's policy comes from the event
    let evals = run(&f, "02-key-policy-breaks-encrypt.json").await.unwrap();
    assert_eq!(evals[0].compliance, NonCompliant);
    assert!(
        evals[0]
            .annotation
            .starts_with("ENCRYPT_DENIED: CloudTrail's kms:GenerateDataKey"),
        "{}",
        evals[0].annotation
    );
    assert_eq!(evals[1].resource_id, "management-events");
    assert_eq!(evals[1].compliance, NonCompliant);
}

#[tokio::test]
async fn scenario_03_context_pinned_policy_without_source_arn_opens_only_describe() {
    // The older CloudTrail page's policy: no aws:SourceArn, but the encryption context limits
    // GenerateDataKey to the account's trails. Only DescribeKey is open to other accounts'
    // trails (a CONFUSED_DEPUTY warning), so the key is COMPLIANT.
    let evals = run(
        &fake("k1-compliant"),
        "03-key-policy-no-source-condition.json",
    )
    .await
    .unwrap();
    assert_eq!(evals[0].compliance, Compliant, "{}", evals[0].annotation);
    assert!(
        evals[0].annotation.starts_with("CONFUSED_DEPUTY")
            && evals[0].annotation.contains("DescribeKey"),
        "{}",
        evals[0].annotation
    );
}

#[tokio::test]
async fn scenario_04_disabled_key_is_non_compliant() {
    let evals = run(&fake("k1-compliant"), "04-key-disabled.json")
        .await
        .unwrap();
    assert!(
        evals[0]
            .annotation
            .starts_with("KEY_NOT_ENABLED: key state is `Disabled`"),
        "{}",
        evals[0].annotation
    );
}

#[tokio::test]
async fn scenario_05_deleted_key_is_not_applicable() {
    let evals = run(&fake("k1-compliant"), "05-key-deleted.json")
        .await
        .unwrap();
    assert_eq!(
        summary(&evals),
        vec![s(
            "AWS::KMS::Key",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "NOT_APPLICABLE"
        )]
    );
    assert_eq!(
        evals[0].annotation,
        "resource is out of scope (ResourceDeleted)"
    );
}

#[tokio::test]
async fn scenario_06_trail_created_with_key_reads_the_key() {
    let f = fake("k1-compliant");
    let evals = run(&f, "06-trail-created-with-key.json").await.unwrap();
    assert_eq!(
        summary(&evals),
        vec![s(
            "AWS::CloudTrail::Trail",
            "management-events",
            "COMPLIANT"
        )]
    );
    assert_eq!(evals[0].ordering_timestamp, "2024-05-02T09:30:41.200Z");
    assert_eq!(*f.key_reads.lock().unwrap(), vec![K1.to_string()]);
}

#[tokio::test]
async fn scenario_07_trail_without_key_is_non_compliant() {
    let evals = run(&fake("k1-compliant"), "07-trail-without-key.json")
        .await
        .unwrap();
    assert_eq!(
        summary(&evals),
        vec![s(
            "AWS::CloudTrail::Trail",
            "management-events",
            "NON_COMPLIANT"
        )]
    );
    assert_eq!(
        evals[0].annotation,
        "TRAIL_NOT_ENCRYPTED: trail logs are not encrypted with a KMS key"
    );
}

#[tokio::test]
async fn scenario_07_trail_without_key_allowed_by_parameter() {
    let mut e = event("07-trail-without-key.json");
    e.rule_parameters = Some(r#"{"allowUnencryptedTrails":"true"}"#.into());
    let evals = handle(&fake("k1-compliant"), &NoOrg, &e).await.unwrap();
    assert_eq!(evals[0].compliance, Compliant);
}

#[tokio::test]
async fn scenario_08_key_in_other_account_is_not_applicable_naming_the_account() {
    let f = fake("k1-compliant");
    let evals = run(&f, "08-trail-key-other-account.json").await.unwrap();
    assert_eq!(evals[0].compliance, NotApplicable);
    assert!(
        evals[0].annotation.contains("222222222222"),
        "{}",
        evals[0].annotation
    );
    assert!(f.key_reads.lock().unwrap().is_empty());
}

#[tokio::test]
async fn scenario_09_oversized_item_is_fetched_from_config_history() {
    let evals = run(&fake("k1-compliant"), "09-key-oversized.json")
        .await
        .unwrap();
    assert_eq!(
        summary(&evals),
        vec![
            s(
                "AWS::KMS::Key",
                "1234abcd-12ab-34cd-56ef-1234567890ab",
                "COMPLIANT"
            ),
            s("AWS::CloudTrail::Trail", "management-events", "COMPLIANT")
        ]
    );
    assert!(evals
        .iter()
        .all(|e| e.ordering_timestamp == "2024-06-10T08:00:00.000Z"));
}

/// CloudTrail User Guide, "Receiving CloudTrail log files from multiple Regions": a multi-region
/// trail is listed in every Region as a shadow trail, but Config records it once, in its home
/// Region. The rule in eu-west-1 neither evaluates the us-east-1 trail nor the us-east-1 key
/// (the rule there does) and never reads that key with an eu-west-1 client.
#[tokio::test]
async fn periodic_run_in_another_region_leaves_shadow_trails_and_their_keys_to_their_home_region() {
    let mut f = fake("k1-compliant");
    f.region = Some("eu-west-1".into());
    f.trails[0].home_region = Some("us-east-1".into());
    let evals = run(&f, "10-periodic.json").await.unwrap();
    assert_eq!(summary(&evals), vec![]);
    assert!(f.key_reads.lock().unwrap().is_empty());
}

/// A trail homed here whose bucket, and so key, is in another Region ("the KMS key and the S3
/// bucket must be in the same AWS Region", CloudTrail User Guide): the trail is evaluated here,
/// the key (read in its own Region by the SDK client) is evaluated by the rule there.
#[tokio::test]
async fn periodic_run_evaluates_a_home_trail_whose_key_is_in_another_region() {
    let mut f = fake("k1-compliant");
    f.region = Some("eu-west-1".into());
    f.trails[0].home_region = Some("eu-west-1".into());
    let evals = run(&f, "10-periodic.json").await.unwrap();
    assert_eq!(
        summary(&evals),
        vec![s(
            "AWS::CloudTrail::Trail",
            "management-events",
            "COMPLIANT"
        )]
    );
    assert_eq!(f.key_reads.lock().unwrap().as_slice(), [K1.to_string()]);
}

/// In its home Region the same multi-region trail is evaluated as always.
#[tokio::test]
async fn periodic_run_in_the_home_region_evaluates_the_trail_and_its_key() {
    let mut f = fake("k1-compliant");
    f.region = Some("us-east-1".into());
    f.trails[0].home_region = Some("us-east-1".into());
    let evals = run(&f, "10-periodic.json").await.unwrap();
    assert_eq!(
        summary(&evals),
        vec![
            s(
                "AWS::KMS::Key",
                "1234abcd-12ab-34cd-56ef-1234567890ab",
                "COMPLIANT"
            ),
            s("AWS::CloudTrail::Trail", "management-events", "COMPLIANT"),
        ]
    );
}

#[tokio::test]
async fn scenario_10_periodic_run_evaluates_trails_and_keys_reading_each_key_once() {
    let mut f = fake("k1-compliant");
    f.trails.push(TrailInfo {
        arn: "arn:aws:cloudtrail:us-east-1:111111111111:trail/second".into(),
        name: "second".into(),
        kms_key_id: Some(K1.into()),
        bucket: None,
        ..Default::default()
    });
    f.trails.push(t1()); // shadow-trail duplicate
    let evals = run(&f, "10-periodic.json").await.unwrap();
    assert_eq!(
        summary(&evals),
        vec![
            s(
                "AWS::KMS::Key",
                "1234abcd-12ab-34cd-56ef-1234567890ab",
                "NON_COMPLIANT"
            ),
            s("AWS::CloudTrail::Trail", "management-events", "COMPLIANT"),
            s("AWS::CloudTrail::Trail", "second", "NON_COMPLIANT"),
        ]
    );
    assert!(evals
        .iter()
        .all(|e| e.ordering_timestamp == "2024-06-13T00:00:04.716Z"));
    assert_eq!(f.key_reads.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn scenario_11_event_data_store_with_key() {
    let f = fake("k1-event-data-store");
    let evals = run(&f, "11-event-data-store-created.json").await.unwrap();
    assert_eq!(
        summary(&evals),
        vec![s("AWS::CloudTrail::EventDataStore", EDS, "COMPLIANT")]
    );
}

fn with_params(name: &str, params: &str) -> ConfigEvent {
    let mut e = event(name);
    e.rule_parameters = Some(params.into());
    e
}

#[tokio::test]
async fn scenario_18_check_event_data_stores_false_never_lists_them() {
    let mut f = fake("k1-compliant");
    f.stores.push(EventDataStoreInfo {
        arn: EDS.into(),
        kms_key_id: Some(K1.into()),
    });
    // With the default, the store that uses K1 is evaluated on a key change ...
    let with = handle(&f, &NoOrg, &event("01-key-created-compliant.json"))
        .await
        .unwrap();
    assert!(with
        .iter()
        .any(|e| e.resource_type == "AWS::CloudTrail::EventDataStore"));
    // ... and with checkEventDataStores=false it is not: not on a key change, not periodically.
    let off = r#"{"checkEventDataStores":"false"}"#;
    for name in ["01-key-created-compliant.json", "10-periodic.json"] {
        let evals = handle(&f, &NoOrg, &with_params(name, off)).await.unwrap();
        assert!(
            evals
                .iter()
                .all(|e| e.resource_type != "AWS::CloudTrail::EventDataStore"),
            "{name}: {evals:?}"
        );
        assert!(evals.iter().any(|e| e.resource_id == "management-events"));
    }
    let evals = handle(
        &f,
        &NoOrg,
        &with_params("11-event-data-store-created.json", off),
    )
    .await
    .unwrap();
    assert_eq!(
        summary(&evals),
        vec![s("AWS::CloudTrail::EventDataStore", EDS, "NOT_APPLICABLE")]
    );
    assert_eq!(
        evals[0].annotation,
        "event data stores are not checked (checkEventDataStores=false)"
    );
    let bad = handle(
        &f,
        &NoOrg,
        &with_params(
            "01-key-created-compliant.json",
            r#"{"checkEventDataStores":"no"}"#,
        ),
    )
    .await
    .unwrap_err();
    assert!(bad.to_string().contains("checkEventDataStores"), "{bad}");
}

#[tokio::test]
async fn scenario_12_left_scope_is_not_applicable() {
    let evals = run(&fake("k1-compliant"), "12-left-scope.json")
        .await
        .unwrap();
    assert_eq!(
        summary(&evals),
        vec![s(
            "AWS::CloudTrail::Trail",
            "management-events",
            "NOT_APPLICABLE"
        )]
    );
}

fn org(fail: bool) -> (Org, Arc<Fake>, Arc<Fake>) {
    // The member account 222222222222 has the trail; the key K1 lives in 111111111111.
    let member = Arc::new(Fake {
        trails: vec![TrailInfo {
            arn: "arn:aws:cloudtrail:us-east-1:222222222222:trail/management-events".into(),
            name: "management-events".into(),
            kms_key_id: Some(K1.into()),
            bucket: Some("trailkey-logs-222222222222".into()),
            ..Default::default()
        }],
        ..Fake::default()
    });
    let mut owner = Fake::default();
    owner.keys.insert(K1.into(), Ok(k1("k1-cross-account")));
    let owner = Arc::new(owner);
    let accounts = HashMap::from([
        ("222222222222".to_string(), member.clone()),
        ("111111111111".to_string(), owner.clone()),
    ]);
    (
        Org {
            accounts,
            assumed: Mutex::new(vec![]),
            fail,
            refuse: vec![],
        },
        member,
        owner,
    )
}

#[tokio::test]
async fn scenario_13_organization_mode_assumes_the_execution_role_in_each_account() {
    let (org, member, owner) = org(false);
    let base = Fake::default(); // the function's own account: must not be used
    let evals = handle(
        &base,
        &org,
        &event("13-organization-mode-cross-account-key.json"),
    )
    .await
    .unwrap();
    assert_eq!(
        summary(&evals),
        vec![s(
            "AWS::CloudTrail::Trail",
            "management-events",
            "COMPLIANT"
        )]
    );
    assert_eq!(
        *org.assumed.lock().unwrap(),
        vec![
            "arn:aws:iam::222222222222:role/trailkey-execution".to_string(),
            "arn:aws:iam::111111111111:role/trailkey-execution".to_string()
        ]
    );
    assert_eq!(
        member.batches.lock().unwrap().len(),
        1,
        "evaluations are put in the member account"
    );
    assert_eq!(*owner.key_reads.lock().unwrap(), vec![K1.to_string()]);
    assert!(base.batches.lock().unwrap().is_empty() && base.key_reads.lock().unwrap().is_empty());
}

#[tokio::test]
async fn scenario_13_sts_failure_fails_the_invocation_naming_the_role() {
    let (org, _, _) = org(true);
    let err = handle(
        &Fake::default(),
        &org,
        &event("13-organization-mode-cross-account-key.json"),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("sts:AssumeRole") && text.contains("role/trailkey-execution"),
        "{text}"
    );
}

#[tokio::test]
async fn scenario_14_aws_managed_key_is_not_applicable() {
    let f = fake("k1-compliant");
    let evals = run(&f, "14-aws-managed-key.json").await.unwrap();
    assert_eq!(evals.len(), 1);
    assert_eq!(evals[0].compliance, NotApplicable);
}

#[tokio::test]
async fn bad_events_return_errors_naming_the_problem() {
    for (file, want) in [
        ("bad/unknown-message-type.json", "messageType"),
        ("bad/invoking-event-not-json.json", "not JSON"),
        ("bad/unknown-parameter-reader.json", "`reader`"),
        ("bad/strict-not-boolean.json", "`strict`"),
    ] {
        let f = fake("k1-compliant");
        let err = run(&f, file).await.unwrap_err();
        assert!(err.to_string().contains(want), "{file}: {err}");
        assert!(
            f.batches.lock().unwrap().is_empty(),
            "{file}: nothing may be put"
        );
    }
}

#[tokio::test]
async fn periodic_sweep_puts_in_batches_of_at_most_100() {
    let mut f = fake("k1-compliant");
    f.trails = (0..250)
        .map(|i| TrailInfo {
            arn: format!("arn:aws:cloudtrail:us-east-1:111111111111:trail/t{i:03}"),
            name: format!("t{i:03}"),
            kms_key_id: None,
            bucket: None,
            ..Default::default()
        })
        .collect();
    let evals = run(&f, "10-periodic.json").await.unwrap();
    assert_eq!(evals.len(), 250);
    let sizes: Vec<usize> = f.batches.lock().unwrap().iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![100, 100, 50]);
}

#[tokio::test]
async fn failed_evaluations_are_retried_once() {
    let f = fake("k1-compliant");
    f.fail_once.lock().unwrap().push("management-events".into());
    let evals = run(&f, "01-key-created-compliant.json").await.unwrap();
    let batches = f.batches.lock().unwrap();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[1], vec![evals[1].clone()]);
}

#[tokio::test]
async fn unreadable_key_puts_what_was_decided_then_fails_naming_key_and_permission() {
    let mut f = fake("k1-compliant");
    f.trails.push(TrailInfo {
        arn: "arn:aws:cloudtrail:us-east-1:111111111111:trail/plain".into(),
        name: "plain".into(),
        kms_key_id: None,
        bucket: None,
        ..Default::default()
    });
    f.keys.insert(
        K1.into(),
        Err(AwsError {
            operation: "kms:GetKeyPolicy",
            resource: K1.into(),
            message: "AccessDeniedException: not authorized".into(),
        }),
    );
    let err = run(&f, "10-periodic.json").await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("kms:GetKeyPolicy") && text.contains(K1) && text.contains("AccessDenied"),
        "{text}"
    );
    assert!(text.starts_with("1 evaluation(s) put"), "{text}");
    let batches = f.batches.lock().unwrap();
    assert_eq!(
        summary(&batches[0]),
        vec![s("AWS::CloudTrail::Trail", "plain", "NON_COMPLIANT")]
    );
}

// `trailkey scan --org`: the library's organization scan over the same fakes.

const K2: &str = "arn:aws:kms:eu-west-1:333333333333:key/2222abcd-12ab-34cd-56ef-1234567890ab";
const K3: &str = "arn:aws:kms:us-east-1:999999999999:key/3333abcd-12ab-34cd-56ef-1234567890ab";
const T2: &str = "arn:aws:cloudtrail:us-east-1:222222222222:trail/management-events";

fn trail(arn: &str, key: &str) -> TrailInfo {
    TrailInfo {
        arn: arn.into(),
        name: arn.rsplit('/').next().unwrap().into(),
        kms_key_id: Some(key.into()),
        bucket: Some("trailkey-logs".into()),
        ..Default::default()
    }
}

async fn org_scan(own: &Fake, org: &Org, accounts: &[&str]) -> trailkey::scan::ScanResult {
    let base = trailkey::checker::CheckInput::new("");
    let accounts: Vec<String> = accounts.iter().map(|a| a.to_string()).collect();
    trailkey::scan::scan(
        "111111111111",
        own,
        Some(trailkey::scan::Organization {
            assumer: org,
            partition: "aws",
            role_name: "trailkey-scan",
            accounts: &accounts,
        }),
        &trailkey::scan::ScanOptions {
            base: &base,
            event_data_stores: true,
            concurrency: 3,
        },
        &|| {},
    )
    .await
}

/// AWS Organizations User Guide, "Accessing member accounts in your organization": the management
/// account reaches a member account through a role in it (`OrganizationAccountAccessRole` by
/// default). Each key is read once, by the account that owns it, whichever accounts list the
/// trails that use it; a key outside the scanned accounts is named, not read.
#[tokio::test]
async fn org_scan_reads_each_key_once_through_its_owner_account() {
    // The management account (the caller) owns K1 and its trail; the member lists the same
    // trail again (an organization trail is visible in member accounts) plus its own trails:
    // one on K1, one on the log archive account's K2, one on an outside account's K3.
    let mut own = fake("k1-cross-account");
    own.trails = vec![t1()];
    let member = Arc::new(Fake {
        trails: vec![
            t1(),
            trail(T2, K1),
            trail(
                "arn:aws:cloudtrail:us-east-1:222222222222:trail/outside",
                K3,
            ),
        ],
        ..Fake::default()
    });
    let mut archive = Fake {
        trails: vec![trail(
            "arn:aws:cloudtrail:eu-west-1:333333333333:trail/archive",
            K2,
        )],
        ..Fake::default()
    };
    let mut k2 = k1("k1-cross-account");
    k2.key_arn = K2.into();
    archive.keys.insert(K2.into(), Ok(k2));
    let archive = Arc::new(archive);
    let org = Org {
        accounts: HashMap::from([
            ("222222222222".to_string(), member.clone()),
            ("333333333333".to_string(), archive.clone()),
        ]),
        assumed: Mutex::new(vec![]),
        fail: false,
        refuse: vec![],
    };
    let r = org_scan(
        &own,
        &org,
        &["111111111111", "222222222222", "333333333333"],
    )
    .await;
    assert_eq!(
        *org.assumed.lock().unwrap(),
        vec![
            "arn:aws:iam::222222222222:role/trailkey-scan".to_string(),
            "arn:aws:iam::333333333333:role/trailkey-scan".to_string(),
        ],
        "the caller's own account is scanned with its own credentials"
    );
    assert_eq!(*own.key_reads.lock().unwrap(), vec![K1.to_string()]);
    assert_eq!(*archive.key_reads.lock().unwrap(), vec![K2.to_string()]);
    assert!(member.key_reads.lock().unwrap().is_empty());
    assert_eq!((r.trails, r.encrypted_trails, r.keys), (4, 4, 3));
    let k1_report = r.reports.iter().find(|k| k.report.key == K1).unwrap();
    assert_eq!(k1_report.resources, vec![T1.to_string(), T2.to_string()]);
    assert_eq!(
        k1_report.report.compliance,
        trailkey::checker::Compliance::Compliant,
        "{:?}",
        k1_report.report.findings
    );
    assert_eq!(
        r.other_account,
        vec![trailkey::scan::OtherAccountKey {
            key: K3.into(),
            account: "999999999999".into(),
            resources: vec!["arn:aws:cloudtrail:us-east-1:222222222222:trail/outside".into()],
        }]
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(r
        .accounts
        .iter()
        .all(|a| a.outcome == trailkey::scan::AccountOutcome::Scanned));
}

/// One account's refusal (its role is missing or does not trust the caller) is reported against
/// that account and never stops the others; the overall verdict is then UNKNOWN, never
/// COMPLIANT. A key owned by the refused account is a read error naming the trails that use it.
#[tokio::test]
async fn org_scan_isolates_a_refused_account_and_is_never_compliant_then() {
    let own = fake("k1-cross-account");
    let member = Arc::new(Fake {
        trails: vec![trail(T2, K1)],
        ..Fake::default()
    });
    let all_ok = Org {
        accounts: HashMap::from([("222222222222".to_string(), member.clone())]),
        assumed: Mutex::new(vec![]),
        fail: false,
        refuse: vec![],
    };
    let r = org_scan(&own, &all_ok, &["111111111111", "222222222222"]).await;
    assert_eq!(
        r.verdict(),
        trailkey::scan::ScanVerdict::Compliant,
        "{:?}",
        r.reports
    );

    // 444444444444 refuses the role: its trails are unknown, and its key K4 (used by a trail of
    // the member) cannot be read.
    let k4 = "arn:aws:kms:us-east-1:444444444444:key/4444abcd-12ab-34cd-56ef-1234567890ab";
    let member2 = Arc::new(Fake {
        trails: vec![
            trail(T2, K1),
            trail("arn:aws:cloudtrail:us-east-1:222222222222:trail/k4", k4),
        ],
        ..Fake::default()
    });
    let refused = Org {
        accounts: HashMap::from([("222222222222".to_string(), member2)]),
        assumed: Mutex::new(vec![]),
        fail: false,
        refuse: vec!["444444444444"],
    };
    let r = org_scan(
        &own,
        &refused,
        &["111111111111", "444444444444", "222222222222"],
    )
    .await;
    assert_eq!(r.verdict(), trailkey::scan::ScanVerdict::Unknown);
    let failed: Vec<(&str, &str)> = r.failed_accounts().collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, "444444444444");
    assert!(
        failed[0].1.contains("sts:AssumeRole") && failed[0].1.contains("role/trailkey-scan"),
        "{failed:?}"
    );
    // The other accounts were scanned all the same.
    assert_eq!(r.reports.len(), 1);
    assert_eq!(r.reports[0].resources, vec![T1.to_string(), T2.to_string()]);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert_eq!(r.errors[0].key, k4);
    assert_eq!(r.errors[0].account, "444444444444");
    assert_eq!(
        r.errors[0].resources,
        vec!["arn:aws:cloudtrail:us-east-1:222222222222:trail/k4".to_string()]
    );
    assert!(
        r.errors[0].message.contains("could not be scanned"),
        "{:?}",
        r.errors
    );
}
