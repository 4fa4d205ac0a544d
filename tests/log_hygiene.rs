//! Key policies are not logged above DEBUG. The Config rule's handler runs through the real SDK
//! clients over a fake HTTP layer, under the binary's log formatter, with a policy carrying a
//! unique marker in a statement no finding is about; the captured logs are searched for it at
//! each level.
#![cfg(feature = "aws")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_config::{BehaviorVersion, Region};
use aws_lambda_events::event::config::ConfigEvent;
use aws_sdk_kms::config::Credentials;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use trailkey::aws::{operation_name, SdkAssumeRole, SdkAws, SdkSettings};
use trailkey::handler::{handle, log_outcome};

const MARKER: &str = "TKMARKER9c1e";
const K1: &str = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// Answers each operation with one fixed reply.
#[derive(Debug, Clone)]
struct Fixed(Arc<Vec<(&'static str, u16, String)>>);

impl HttpConnector for Fixed {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let op = operation_name(&request);
        let (_, status, body) = self
            .0
            .iter()
            .find(|(o, _, _)| *o == op)
            .unwrap_or_else(|| panic!("unexpected call {op}"));
        let mut resp = HttpResponse::new(
            StatusCode::try_from(*status).unwrap(),
            SdkBody::from(body.clone()),
        );
        resp.headers_mut()
            .insert("content-type", "application/x-amz-json-1.1");
        HttpConnectorFuture::ready(Ok(resp))
    }
}

impl HttpClient for Fixed {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

/// `k1-no-source.json` (CONFUSED_DEPUTY and SOURCE_UNSCOPED warnings, so findings are logged) plus a statement
/// carrying the marker in its Sid, principal and condition value.
fn marked_policy() -> String {
    let mut p: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/events/policies/k1-no-source.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    p["Statement"].as_array_mut().unwrap().push(json!({
        "Sid": format!("Sid{MARKER}"),
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::111111111111:role/Role{MARKER}")},
        "Action": "kms:Encrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/team": format!("Tag{MARKER}")}}
    }));
    serde_json::to_string_pretty(&p).unwrap()
}

fn describe_key() -> String {
    json!({"KeyMetadata": {"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "Arn": K1,
        "KeyState": "Enabled", "KeySpec": "SYMMETRIC_DEFAULT", "KeyManager": "CUSTOMER"}})
    .to_string()
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs event 06 against `get_key_policy` (status, body) with logs at `level` in the Lambda's
/// JSON format; returns the log text.
fn logs(level: &str, get_key_policy: (u16, String)) -> String {
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .json()
        .finish();
    let http = Fixed(Arc::new(vec![
        ("kms:GetKeyPolicy", get_key_policy.0, get_key_policy.1),
        ("kms:DescribeKey", 200, describe_key()),
        (
            "config:PutEvaluations",
            200,
            json!({"FailedEvaluations": []}).to_string(),
        ),
    ]));
    let event: ConfigEvent = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/events/06-trail-created-with-key.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let settings = SdkSettings {
                max_attempts: 1,
                operation_timeout: Duration::from_secs(5),
                ..SdkSettings::default()
            };
            let conf = settings
                .apply(aws_config::defaults(BehaviorVersion::latest()))
                .region(Region::new("us-east-1"))
                .credentials_provider(Credentials::new("AKID", "secret", None, None, "test"))
                .http_client(http)
                .load()
                .await;
            let result = handle(&SdkAws::new(&conf), &SdkAssumeRole::new(&conf), &event).await;
            log_outcome(&result);
        });
    });
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    text
}

fn policy_reply() -> (u16, String) {
    (
        200,
        json!({"Policy": marked_policy(), "PolicyName": "default"}).to_string(),
    )
}

#[test]
fn key_policy_contents_are_not_logged_at_info() {
    let info = logs("info", policy_reply());
    // The evaluation and its findings are logged...
    assert!(info.contains("evaluation put"), "{info}");
    assert!(info.contains("CONFUSED_DEPUTY"), "{info}");
    // ...the policy is not.
    assert!(!info.contains(MARKER), "{info}");
    assert!(!info.contains("PrincipalTag"), "{info}");
}

/// docs/deploy.md: one JSON record per finding, each property a field Logs Insights can count
/// (`filter fields.message = "finding" | stats count(*) by fields.finding_id`).
#[test]
fn each_finding_is_its_own_structured_record() {
    let info = logs("info", policy_reply());
    let records: Vec<serde_json::Value> = info
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let findings: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["fields"]["message"] == "finding")
        .collect();
    let put = records
        .iter()
        .find(|r| r["fields"]["message"] == "evaluation put")
        .unwrap();
    assert_eq!(
        put["fields"]["finding_count"].as_u64().unwrap(),
        findings.len() as u64
    );
    let deputy = findings
        .iter()
        .find(|r| r["fields"]["finding_id"] == "CONFUSED_DEPUTY")
        .unwrap_or_else(|| panic!("{info}"));
    assert_eq!(deputy["fields"]["resource_type"], "AWS::CloudTrail::Trail");
    assert_eq!(deputy["fields"]["compliance"], put["fields"]["compliance"]);
    assert_eq!(deputy["fields"]["severity"], "warning");
    assert!(deputy["fields"]["finding_message"].as_str().unwrap().len() > 10);
}

#[test]
fn an_unreadable_reply_with_policy_text_is_not_logged_at_info() {
    // A truncated reply: the invocation fails and logs the error at ERROR.
    let truncated = policy_reply().1;
    let cut = truncated.find(MARKER).unwrap() + MARKER.len() + 5;
    let info = logs("info", (200, truncated[..cut].to_string()));
    assert!(info.contains("invocation failed"), "{info}");
    assert!(info.contains("kms:GetKeyPolicy"), "{info}");
    assert!(!info.contains(MARKER), "{info}");
}

#[test]
fn debug_does_not_log_the_policy_either() {
    let debug = logs("debug", policy_reply());
    assert!(debug.contains("evaluation put"), "{debug}");
    // DEBUG was really on (the SDK's own debug events are there).
    assert!(debug.contains("\"level\":\"DEBUG\""), "{debug}");
    assert!(!debug.contains(MARKER), "{debug}");
}

/// TRACE is the SDK's wire log: the reply body, policy included, appears there. Documented so
/// that nobody turns TRACE on in production expecting otherwise.
#[test]
fn trace_shows_the_sdk_wire_log_with_the_policy() {
    let trace = logs("trace", policy_reply());
    assert!(
        trace.contains(MARKER),
        "TRACE no longer logs reply bodies: update the docs"
    );
}
