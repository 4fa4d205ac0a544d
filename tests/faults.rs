//! Faults at the AWS boundary: the real SDK clients (`SdkAws`, `SdkAssumeRole`) over a fake HTTP
//! layer, so the SDK's own retries, timeouts and error parsing run. Each test asserts the HTTP
//! attempts per operation (counted by `trailkey::aws::CallCounts`), the exact evaluations put on
//! the wire, and the error the invocation returns: nothing dropped, nothing guessed.
#![cfg(feature = "aws")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_lambda_events::event::config::ConfigEvent;
use aws_sdk_kms::config::Credentials;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use trailkey::aws::{operation_name, CallCounts, SdkAssumeRole, SdkAws, SdkSettings};
use trailkey::handler::{handle, HandlerError};

const K1: &str = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const T1: &str = "arn:aws:cloudtrail:us-east-1:111111111111:trail/management-events";
/// Event 06's capture time, as the JSON protocol's epoch seconds.
const T06: f64 = 1714642241.2;

/// One scripted HTTP reply.
#[derive(Debug, Clone)]
enum Reply {
    /// Status and body (JSON for KMS/CloudTrail/Config, XML for STS).
    Body(u16, String),
    /// Never answers.
    Hang,
}

fn ok(body: Value) -> Reply {
    Reply::Body(200, body.to_string())
}

/// An awsJson 1.1 error.
fn err(status: u16, code: &str, message: &str) -> Reply {
    Reply::Body(
        status,
        json!({"__type": code, "message": message}).to_string(),
    )
}

/// An awsQuery (STS) error.
fn sts_err(status: u16, code: &str, message: &str) -> Reply {
    Reply::Body(
        status,
        format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
             <Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>r-1</RequestId></ErrorResponse>"
        ),
    )
}

fn sts_ok(access_key: &str) -> Reply {
    Reply::Body(
        200,
        format!(
            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
             <AssumeRoleResult><Credentials><AccessKeyId>{access_key}</AccessKeyId>\
             <SecretAccessKey>secret</SecretAccessKey><SessionToken>token</SessionToken>\
             <Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>\
             <AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:trailkey-rule</AssumedRoleId>\
             <Arn>arn:aws:sts::222222222222:assumed-role/trailkey-execution/trailkey-rule</Arn>\
             </AssumedRoleUser></AssumeRoleResult>\
             <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></AssumeRoleResponse>"
        ),
    )
}

/// A request as the fake server saw it.
#[derive(Debug, Clone)]
struct Seen {
    operation: String,
    /// The SigV4 access key id.
    access_key: String,
    body: String,
}

/// The fake AWS endpoint: per operation, replies in order, the last one repeating.
#[derive(Debug, Default)]
struct Script {
    replies: Mutex<HashMap<String, VecDeque<Reply>>>,
    seen: Mutex<Vec<Seen>>,
    settings: Mutex<Vec<HttpConnectorSettings>>,
}

#[derive(Debug, Clone, Default)]
struct FakeAws(Arc<Script>);

impl FakeAws {
    fn on(self, operation: &str, replies: Vec<Reply>) -> Self {
        self.0
            .replies
            .lock()
            .unwrap()
            .insert(operation.into(), replies.into());
        self
    }

    /// The JSON bodies of every `config:PutEvaluations` request.
    fn puts(&self) -> Vec<Value> {
        self.0
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.operation == "config:PutEvaluations")
            .map(|s| serde_json::from_str(&s.body).unwrap())
            .collect()
    }

    fn seen(&self) -> Vec<Seen> {
        self.0.seen.lock().unwrap().clone()
    }
}

impl HttpConnector for FakeAws {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let operation = operation_name(&request);
        let access_key = request
            .headers()
            .get("authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').next())
            .unwrap_or_default()
            .to_string();
        let body = String::from_utf8_lossy(request.body().bytes().unwrap_or_default()).into();
        self.0.seen.lock().unwrap().push(Seen {
            operation: operation.clone(),
            access_key,
            body,
        });
        let reply = {
            let mut replies = self.0.replies.lock().unwrap();
            let queue = replies
                .get_mut(&operation)
                .unwrap_or_else(|| panic!("unexpected call {operation}"));
            if queue.len() > 1 {
                queue.pop_front().unwrap()
            } else {
                queue.front().cloned().unwrap()
            }
        };
        match reply {
            Reply::Hang => HttpConnectorFuture::new(std::future::pending()),
            Reply::Body(status, body) => {
                let mut resp =
                    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body));
                let content_type = if operation.starts_with("sts:") {
                    "text/xml"
                } else {
                    "application/x-amz-json-1.1"
                };
                resp.headers_mut().insert("content-type", content_type);
                HttpConnectorFuture::ready(Ok(resp))
            }
        }
    }
}

impl HttpClient for FakeAws {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.settings.lock().unwrap().push(settings.clone());
        SharedHttpConnector::new(self.clone())
    }
}

/// The production settings with millisecond backoff and timeouts; attempts as in production.
fn fast() -> SdkSettings {
    SdkSettings {
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        connect_timeout: Duration::from_millis(100),
        attempt_timeout: Duration::from_millis(300),
        operation_timeout: Duration::from_secs(5),
        ..SdkSettings::default()
    }
}

const ATTEMPTS: u64 = 5;

async fn config(http: SharedHttpClient, settings: &SdkSettings) -> SdkConfig {
    settings
        .apply(aws_config::defaults(BehaviorVersion::latest()))
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDBASE", "secret", None, None, "faults"))
        .http_client(http)
        .load()
        .await
}

fn event(name: &str) -> ConfigEvent {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn policy(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/events/policies/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn key_policy() -> Reply {
    ok(json!({"Policy": policy("k1-compliant.json"), "PolicyName": "default"}))
}

fn describe_key(arn: &str) -> Reply {
    ok(json!({"KeyMetadata": {
        "KeyId": arn.rsplit('/').next().unwrap(), "Arn": arn, "AWSAccountId": "111111111111",
        "KeyState": "Enabled", "KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT",
        "KeyManager": "CUSTOMER", "Enabled": true, "CreationDate": 1.7e9,
    }}))
}

fn no_failures() -> Reply {
    ok(json!({"FailedEvaluations": []}))
}

/// A fake that answers event 06 (trail created with K1) correctly.
fn healthy() -> FakeAws {
    FakeAws::default()
        .on("kms:GetKeyPolicy", vec![key_policy()])
        .on("kms:DescribeKey", vec![describe_key(K1)])
        .on("config:PutEvaluations", vec![no_failures()])
}

struct Outcome {
    result: Result<usize, HandlerError>,
    counts: BTreeMap<String, u64>,
    elapsed: Duration,
}

/// Runs one event through the real clients over `fake`, counting attempts.
async fn run(fake: &FakeAws, settings: &SdkSettings, event_name: &str) -> Outcome {
    let counts = CallCounts::new();
    let conf = config(counts.wrap(SharedHttpClient::new(fake.clone())), settings).await;
    let aws = SdkAws::new(&conf);
    let assumer = SdkAssumeRole::new(&conf);
    let start = Instant::now();
    let result = handle(&aws, &assumer, &event(event_name))
        .await
        .map(|e| e.len());
    Outcome {
        result,
        counts: counts.snapshot(),
        elapsed: start.elapsed(),
    }
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// The evaluations of every put: (type, id, compliance, annotation prefix check done by caller).
fn put_evaluations(fake: &FakeAws) -> Vec<Vec<(String, String, String, f64)>> {
    fake.puts()
        .iter()
        .map(|p| {
            p["Evaluations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e["ComplianceResourceType"].as_str().unwrap().to_string(),
                        e["ComplianceResourceId"].as_str().unwrap().to_string(),
                        e["ComplianceType"].as_str().unwrap().to_string(),
                        e["OrderingTimestamp"].as_f64().unwrap(),
                    )
                })
                .collect()
        })
        .collect()
}

fn trail_eval(compliance: &str) -> (String, String, String, f64) {
    (
        "AWS::CloudTrail::Trail".into(),
        "management-events".into(),
        compliance.into(),
        T06,
    )
}

/// The invocation's AWS errors, as strings.
fn aws_errors(result: Result<usize, HandlerError>) -> (usize, Vec<String>) {
    match result {
        Err(HandlerError::Aws { put, errors }) => {
            (put, errors.iter().map(ToString::to_string).collect())
        }
        other => panic!("expected an AWS error, got {other:?}"),
    }
}

#[tokio::test]
async fn baseline_trail_event_reads_the_key_once_and_puts_one_evaluation() {
    let fake = healthy();
    let out = run(&fake, &fast(), "06-trail-created-with-key.json").await;
    assert_eq!(out.result.unwrap(), 1);
    assert_eq!(
        out.counts,
        counts(&[
            ("config:PutEvaluations", 1),
            ("kms:DescribeKey", 1),
            ("kms:GetKeyPolicy", 1)
        ])
    );
    assert_eq!(put_evaluations(&fake), vec![vec![trail_eval("COMPLIANT")]]);
    let put = &fake.puts()[0];
    assert_eq!(put["ResultToken"], "TESTMODE");
    assert_eq!(put["TestMode"], true);
    assert_eq!(
        put["Evaluations"][0]["Annotation"],
        "CloudTrail can encrypt, describe and the readers can decrypt"
    );
    // The configured connect timeout reaches the HTTP layer.
    let settings = fake.0.settings.lock().unwrap().clone();
    assert!(!settings.is_empty());
    assert!(settings
        .iter()
        .all(|s| s.connect_timeout() == Some(Duration::from_millis(100))));
}

#[tokio::test]
async fn throttling_once_is_retried_and_the_evaluation_put() {
    let fake = healthy().on(
        "kms:GetKeyPolicy",
        vec![
            err(400, "ThrottlingException", "Rate exceeded"),
            key_policy(),
        ],
    );
    let out = run(&fake, &fast(), "06-trail-created-with-key.json").await;
    assert_eq!(out.result.unwrap(), 1);
    assert_eq!(
        out.counts,
        counts(&[
            ("config:PutEvaluations", 1),
            ("kms:DescribeKey", 1),
            ("kms:GetKeyPolicy", 2)
        ])
    );
    assert_eq!(put_evaluations(&fake), vec![vec![trail_eval("COMPLIANT")]]);
}

#[tokio::test]
async fn persistent_throttling_fails_naming_the_call_and_key_after_max_attempts() {
    let fake = healthy().on(
        "kms:GetKeyPolicy",
        vec![err(400, "ThrottlingException", "Rate exceeded")],
    );
    let out = run(&fake, &fast(), "06-trail-created-with-key.json").await;
    // No evaluation could be decided: none is put, and the invocation fails.
    assert_eq!(
        out.counts,
        counts(&[("kms:GetKeyPolicy", ATTEMPTS)]),
        "{:?}",
        out.result
    );
    let (put, errors) = aws_errors(out.result);
    assert_eq!(put, 0);
    assert_eq!(
        errors,
        vec![format!(
            "kms:GetKeyPolicy on `{K1}` failed: ThrottlingException: Rate exceeded"
        )]
    );
    assert!(fake.puts().is_empty());
}

#[tokio::test]
async fn config_throttling_on_put_is_retried() {
    let fake = healthy().on(
        "config:PutEvaluations",
        vec![
            err(400, "ThrottlingException", "Rate exceeded"),
            err(400, "ThrottlingException", "Rate exceeded"),
            no_failures(),
        ],
    );
    let out = run(&fake, &fast(), "06-trail-created-with-key.json").await;
    assert_eq!(out.result.unwrap(), 1);
    assert_eq!(out.counts["config:PutEvaluations"], 3);
    // The same evaluation on every attempt.
    assert_eq!(
        put_evaluations(&fake),
        vec![vec![trail_eval("COMPLIANT")]; 3]
    );
}

#[tokio::test]
async fn http_500_once_is_retried() {
    let fake = healthy().on(
        "kms:DescribeKey",
        vec![
            err(500, "KMSInternalException", "internal error"),
            describe_key(K1),
        ],
    );
    let out = run(&fake, &fast(), "06-trail-created-with-key.json").await;
    assert_eq!(out.result.unwrap(), 1);
    assert_eq!(
        out.counts,
        counts(&[
            ("config:PutEvaluations", 1),
            ("kms:DescribeKey", 2),
            ("kms:GetKeyPolicy", 1)
        ])
    );
    assert_eq!(put_evaluations(&fake), vec![vec![trail_eval("COMPLIANT")]]);
}

#[tokio::test]
async fn persistent_http_500_fails_naming_the_call_after_max_attempts() {
    let fake = healthy().on(
        "kms:DescribeKey",
        vec![err(500, "KMSInternalException", "internal error")],
    );
    let out = run(&fake, &fast(), "06-trail-created-with-key.json").await;
    assert_eq!(
        out.counts,
        counts(&[("kms:DescribeKey", ATTEMPTS), ("kms:GetKeyPolicy", 1)])
    );
    let (put, errors) = aws_errors(out.result);
    assert_eq!(put, 0);
    assert_eq!(
        errors,
        vec![format!(
            "kms:DescribeKey on `{K1}` failed: KMSInternalException: internal error"
        )]
    );
}

#[tokio::test]
async fn persistent_http_500_on_put_fails_with_the_put_counted() {
    let fake = healthy().on(
        "config:PutEvaluations",
        vec![err(500, "InternalFailure", "try later")],
    );
    let out = run(&fake, &fast(), "06-trail-created-with-key.json").await;
    assert_eq!(out.counts["config:PutEvaluations"], ATTEMPTS);
    let (put, errors) = aws_errors(out.result);
    assert_eq!(put, 0);
    assert_eq!(
        errors,
        vec!["config:PutEvaluations on `*` failed: InternalFailure: try later".to_string()]
    );
    assert_eq!(
        put_evaluations(&fake),
        vec![vec![trail_eval("COMPLIANT")]; ATTEMPTS as usize]
    );
}

#[tokio::test]
async fn a_hung_endpoint_times_out_each_attempt_then_fails_naming_the_call() {
    let settings = SdkSettings {
        max_attempts: 3,
        attempt_timeout: Duration::from_millis(100),
        ..fast()
    };
    let fake = healthy().on("kms:GetKeyPolicy", vec![Reply::Hang]);
    let out = run(&fake, &settings, "06-trail-created-with-key.json").await;
    assert_eq!(out.counts, counts(&[("kms:GetKeyPolicy", 3)]));
    assert!(
        out.elapsed < Duration::from_secs(2),
        "took {:?}",
        out.elapsed
    );
    let (put, errors) = aws_errors(out.result);
    assert_eq!(put, 0);
    assert_eq!(
        errors,
        vec![format!(
            "kms:GetKeyPolicy on `{K1}` failed: request has timed out: operation attempt timeout (single attempt) occurred after 100ms"
        )]
    );
}

#[tokio::test]
async fn the_operation_timeout_bounds_all_attempts() {
    let settings = SdkSettings {
        attempt_timeout: Duration::from_millis(150),
        operation_timeout: Duration::from_millis(250),
        ..fast()
    };
    let fake = healthy().on("kms:GetKeyPolicy", vec![Reply::Hang]);
    let out = run(&fake, &settings, "06-trail-created-with-key.json").await;
    // The second attempt starts at ~150 ms and is cut by the operation timeout at 250 ms.
    assert_eq!(out.counts, counts(&[("kms:GetKeyPolicy", 2)]));
    assert!(
        out.elapsed < Duration::from_secs(1),
        "took {:?}",
        out.elapsed
    );
    let (_, errors) = aws_errors(out.result);
    assert_eq!(
        errors,
        vec![format!(
            "kms:GetKeyPolicy on `{K1}` failed: request has timed out: operation timeout (all attempts including retries) occurred after 250ms"
        )]
    );
}

/// The real HTTP stack (hyper, the SDK's default client) against a socket that accepts and never
/// answers: the attempt timeout fires.
#[tokio::test]
async fn a_server_that_never_answers_times_out_through_the_real_http_client() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            held.push(conn);
        }
    });
    let settings = SdkSettings {
        max_attempts: 2,
        attempt_timeout: Duration::from_millis(200),
        ..fast()
    };
    let base = settings
        .apply(aws_config::defaults(BehaviorVersion::latest()))
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDBASE", "secret", None, None, "faults"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .load()
        .await;
    let calls = CallCounts::new();
    let conf = calls.instrument(&base);
    let aws = SdkAws::new(&conf);
    let assumer = SdkAssumeRole::new(&conf);
    let start = Instant::now();
    let result = handle(&aws, &assumer, &event("06-trail-created-with-key.json")).await;
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(calls.snapshot(), counts(&[("kms:GetKeyPolicy", 2)]));
    let (put, errors) = aws_errors(result.map(|e| e.len()));
    assert_eq!(put, 0);
    assert_eq!(
        errors,
        vec![format!(
            "kms:GetKeyPolicy on `{K1}` failed: request has timed out: operation attempt timeout (single attempt) occurred after 200ms"
        )]
    );
}

#[tokio::test]
async fn access_denied_is_not_retried_and_fails_naming_the_call() {
    let fake = healthy().on(
        "kms:GetKeyPolicy",
        vec![err(
            400,
            "AccessDeniedException",
            "User: arn:aws:sts::111111111111:assumed-role/trailkey-rule/x is not authorized to perform: kms:GetKeyPolicy",
        )],
    );
    let out = run(&fake, &fast(), "06-trail-created-with-key.json").await;
    assert_eq!(out.counts, counts(&[("kms:GetKeyPolicy", 1)]));
    let (put, errors) = aws_errors(out.result);
    assert_eq!(put, 0);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with(&format!(
            "kms:GetKeyPolicy on `{K1}` failed: AccessDeniedException: User: "
        )),
        "{}",
        errors[0]
    );
    assert!(fake.puts().is_empty());
}

#[tokio::test]
async fn malformed_json_reply_is_an_error_never_compliant() {
    let fake = healthy().on(
        "kms:GetKeyPolicy",
        vec![Reply::Body(200, "{\"Policy\": \"{\\\"Vers".into())],
    );
    let out = run(&fake, &fast(), "06-trail-created-with-key.json").await;
    assert_eq!(out.counts, counts(&[("kms:GetKeyPolicy", 1)]));
    let (put, errors) = aws_errors(out.result);
    assert_eq!(put, 0);
    // The parser's complaint, never the raw reply (which would carry the policy).
    assert_eq!(
        errors,
        vec![format!(
            "kms:GetKeyPolicy on `{K1}` failed: service error: unhandled error: Error at offset 19: unexpected end of stream"
        )]
    );
    assert!(fake.puts().is_empty());
}

#[tokio::test]
async fn reply_without_the_policy_is_an_error() {
    let fake = healthy().on(
        "kms:GetKeyPolicy",
        vec![ok(json!({"PolicyName": "default"}))],
    );
    let out = run(&fake, &fast(), "06-trail-created-with-key.json").await;
    assert_eq!(out.counts, counts(&[("kms:GetKeyPolicy", 1)]));
    let (_, errors) = aws_errors(out.result);
    assert_eq!(
        errors,
        vec![format!(
            "kms:GetKeyPolicy on `{K1}` failed: no policy in the reply"
        )]
    );
}

#[tokio::test]
async fn key_metadata_without_key_state_is_an_error_not_a_guess() {
    let fake = healthy().on(
        "kms:DescribeKey",
        vec![ok(json!({"KeyMetadata": {"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "Arn": K1, "KeySpec": "SYMMETRIC_DEFAULT", "KeyManager": "CUSTOMER"}}))],
    );
    let out = run(&fake, &fast(), "06-trail-created-with-key.json").await;
    assert_eq!(
        out.counts,
        counts(&[("kms:DescribeKey", 1), ("kms:GetKeyPolicy", 1)])
    );
    let (_, errors) = aws_errors(out.result);
    assert_eq!(
        errors,
        vec![format!(
            "kms:DescribeKey on `{K1}` failed: no KeyState in the reply"
        )]
    );
    assert!(fake.puts().is_empty());
}

#[tokio::test]
async fn a_policy_that_is_not_json_is_non_compliant_policy_invalid() {
    let fake = healthy().on(
        "kms:GetKeyPolicy",
        vec![ok(json!({"Policy": "{\"Version\": \"2012-10-17\", \"Statement\": [", "PolicyName": "default"}))],
    );
    let out = run(&fake, &fast(), "06-trail-created-with-key.json").await;
    assert_eq!(out.result.unwrap(), 1);
    assert_eq!(
        put_evaluations(&fake),
        vec![vec![trail_eval("NON_COMPLIANT")]]
    );
    let annotation = fake.puts()[0]["Evaluations"][0]["Annotation"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(annotation.starts_with("POLICY_INVALID: "), "{annotation}");
}

#[tokio::test]
async fn failed_evaluations_are_retried_once_then_named() {
    let failed = ok(json!({"FailedEvaluations": [{
        "ComplianceResourceType": "AWS::CloudTrail::Trail",
        "ComplianceResourceId": "management-events",
        "ComplianceType": "COMPLIANT",
        "OrderingTimestamp": T06,
    }]}));
    // Reported failed once, then accepted.
    let fake = healthy().on("config:PutEvaluations", vec![failed.clone(), no_failures()]);
    let out = run(&fake, &fast(), "06-trail-created-with-key.json").await;
    assert_eq!(out.result.unwrap(), 1);
    assert_eq!(out.counts["config:PutEvaluations"], 2);
    assert_eq!(
        put_evaluations(&fake),
        vec![vec![trail_eval("COMPLIANT")]; 2]
    );

    // Reported failed every time: one retry, then the invocation names the resource.
    let fake = healthy().on("config:PutEvaluations", vec![failed]);
    let out = run(&fake, &fast(), "06-trail-created-with-key.json").await;
    assert_eq!(out.counts["config:PutEvaluations"], 2);
    match out.result {
        Err(e @ HandlerError::FailedEvaluations(_)) => assert_eq!(
            e.to_string(),
            "PutEvaluations failed for: AWS::CloudTrail::Trail management-events"
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn organization_mode_reads_and_puts_with_the_assumed_roles() {
    let fake = healthy()
        .on(
            "sts:AssumeRole",
            vec![sts_ok("ASIAMEMBER"), sts_ok("ASIAKEYOWNER")],
        )
        .on(
            "kms:GetKeyPolicy",
            vec![ok(
                json!({"Policy": policy("k1-cross-account.json"), "PolicyName": "default"}),
            )],
        );
    let out = run(
        &fake,
        &fast(),
        "13-organization-mode-cross-account-key.json",
    )
    .await;
    assert_eq!(out.result.unwrap(), 1);
    assert_eq!(
        out.counts,
        counts(&[
            ("config:PutEvaluations", 1),
            ("kms:DescribeKey", 1),
            ("kms:GetKeyPolicy", 1),
            ("sts:AssumeRole", 2)
        ])
    );
    let seen = fake.seen();
    let who = |op: &str| -> Vec<String> {
        seen.iter()
            .filter(|s| s.operation == op)
            .map(|s| s.access_key.clone())
            .collect()
    };
    assert_eq!(who("sts:AssumeRole"), ["AKIDBASE", "AKIDBASE"]);
    // The key is read in its own account, the evaluation put in the event's account.
    assert_eq!(who("kms:GetKeyPolicy"), ["ASIAKEYOWNER"]);
    assert_eq!(who("config:PutEvaluations"), ["ASIAMEMBER"]);
    let assumed: Vec<&str> = seen
        .iter()
        .filter(|s| s.operation == "sts:AssumeRole")
        .map(|s| s.body.as_str())
        .collect();
    assert!(assumed[0].contains("arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2Ftrailkey-execution"));
    assert!(assumed[1].contains("arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Ftrailkey-execution"));
}

#[tokio::test]
async fn sts_access_denied_fails_the_invocation_before_any_read() {
    let fake = healthy().on(
        "sts:AssumeRole",
        vec![sts_err(
            403,
            "AccessDenied",
            "not authorized to perform: sts:AssumeRole",
        )],
    );
    let out = run(
        &fake,
        &fast(),
        "13-organization-mode-cross-account-key.json",
    )
    .await;
    assert_eq!(out.counts, counts(&[("sts:AssumeRole", 1)]));
    let (put, errors) = aws_errors(out.result);
    assert_eq!(put, 0);
    assert_eq!(
        errors,
        vec!["sts:AssumeRole on `arn:aws:iam::222222222222:role/trailkey-execution` failed: AccessDenied: not authorized to perform: sts:AssumeRole".to_string()]
    );
}

#[tokio::test]
async fn sts_throttling_is_retried_and_a_second_failure_names_the_key_account_role() {
    let fake = healthy().on(
        "sts:AssumeRole",
        vec![
            sts_err(400, "Throttling", "Rate exceeded"),
            sts_ok("ASIAMEMBER"),
            sts_err(403, "AccessDenied", "no trust"),
        ],
    );
    let out = run(
        &fake,
        &fast(),
        "13-organization-mode-cross-account-key.json",
    )
    .await;
    assert_eq!(out.counts, counts(&[("sts:AssumeRole", 3)]));
    let (put, errors) = aws_errors(out.result);
    assert_eq!(put, 0);
    assert_eq!(
        errors,
        vec!["sts:AssumeRole on `arn:aws:iam::111111111111:role/trailkey-execution` failed: AccessDenied: no trust".to_string()]
    );
    assert!(fake.puts().is_empty());
}

#[tokio::test]
async fn periodic_run_with_cloudtrail_throttled_puts_nothing_and_names_the_call() {
    let fake = healthy()
        .on(
            "cloudtrail:DescribeTrails",
            vec![err(400, "ThrottlingException", "Rate exceeded")],
        )
        .on(
            "cloudtrail:ListEventDataStores",
            vec![ok(json!({"EventDataStores": []}))],
        );
    let out = run(&fake, &fast(), "10-periodic.json").await;
    assert_eq!(
        out.counts,
        counts(&[
            ("cloudtrail:DescribeTrails", ATTEMPTS),
            ("cloudtrail:ListEventDataStores", 1)
        ])
    );
    let (put, errors) = aws_errors(out.result);
    assert_eq!(put, 0);
    assert_eq!(
        errors,
        vec![
            "cloudtrail:DescribeTrails on `*` failed: ThrottlingException: Rate exceeded"
                .to_string()
        ]
    );
}

#[tokio::test]
async fn periodic_run_puts_what_it_could_decide_and_names_the_key_it_could_not_read() {
    let k2 = "arn:aws:kms:us-east-1:111111111111:key/99999999-9999-9999-9999-999999999999";
    let fake = FakeAws::default()
        .on(
            "cloudtrail:DescribeTrails",
            vec![ok(json!({"trailList": [
                {"Name": "management-events", "TrailARN": T1, "KmsKeyId": K1, "S3BucketName": "trailkey-logs-111111111111"},
                {"Name": "other", "TrailARN": "arn:aws:cloudtrail:us-east-1:111111111111:trail/other", "KmsKeyId": k2, "S3BucketName": "b"},
                {"Name": "plain", "TrailARN": "arn:aws:cloudtrail:us-east-1:111111111111:trail/plain", "S3BucketName": "b"},
            ]}))],
        )
        .on(
            "cloudtrail:ListEventDataStores",
            vec![ok(json!({"EventDataStores": []}))],
        )
        .on("kms:GetKeyPolicy", vec![key_policy()])
        .on("kms:DescribeKey", vec![describe_key(K1)])
        .on("config:PutEvaluations", vec![no_failures()]);
    // K2's policy read is denied (the request body names the key); K1 is read normally.
    let router = KeyRouter {
        inner: fake.clone(),
        key: k2.into(),
        reply: err(400, "AccessDeniedException", "denied"),
    };
    let counts_ = CallCounts::new();
    let conf = config(counts_.wrap(SharedHttpClient::new(router)), &fast()).await;
    let result = handle(
        &SdkAws::new(&conf),
        &SdkAssumeRole::new(&conf),
        &event("10-periodic.json"),
    )
    .await;
    assert_eq!(
        counts_.snapshot(),
        counts(&[
            ("cloudtrail:DescribeTrails", 1),
            ("cloudtrail:ListEventDataStores", 1),
            ("config:PutEvaluations", 1),
            ("kms:DescribeKey", 1),
            ("kms:GetKeyPolicy", 2)
        ])
    );
    let t = 1718236804.716;
    assert_eq!(
        put_evaluations(&fake),
        vec![vec![
            (
                "AWS::CloudTrail::Trail".to_string(),
                "plain".to_string(),
                "NON_COMPLIANT".to_string(),
                t
            ),
            (
                "AWS::KMS::Key".into(),
                "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
                "COMPLIANT".into(),
                t
            ),
            (
                "AWS::CloudTrail::Trail".into(),
                "management-events".into(),
                "COMPLIANT".into(),
                t
            ),
        ]]
    );
    let (put, errors) = aws_errors(result.map(|e| e.len()));
    assert_eq!(put, 3);
    assert_eq!(
        errors,
        vec![format!(
            "kms:GetKeyPolicy on `{k2}` failed: AccessDeniedException: denied"
        )]
    );
}

/// Answers KMS calls naming `key` with `reply`; everything else goes to `inner`.
#[derive(Debug, Clone)]
struct KeyRouter {
    inner: FakeAws,
    key: String,
    reply: Reply,
}

impl HttpConnector for KeyRouter {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let body = String::from_utf8_lossy(request.body().bytes().unwrap_or_default());
        if operation_name(&request).starts_with("kms:") && body.contains(&self.key) {
            let Reply::Body(status, text) = self.reply.clone() else {
                unreachable!()
            };
            return HttpConnectorFuture::ready(Ok(HttpResponse::new(
                StatusCode::try_from(status).unwrap(),
                SdkBody::from(text),
            )));
        }
        self.inner.call(request)
    }
}

impl HttpClient for KeyRouter {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

/// The evaluations of the only put, with annotations.
fn put_annotations(fake: &FakeAws) -> Vec<(String, String, String)> {
    let puts = fake.puts();
    assert_eq!(puts.len(), 1, "{puts:?}");
    puts[0]["Evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["ComplianceResourceId"].as_str().unwrap().to_string(),
                e["ComplianceType"].as_str().unwrap().to_string(),
                e["Annotation"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Scenario 19: the key was deleted between the event and the read.
#[tokio::test]
async fn a_key_deleted_before_the_read_makes_the_trail_non_compliant() {
    let fake = healthy().on(
        "kms:GetKeyPolicy",
        vec![err(
            400,
            "NotFoundException",
            &format!("Key '{K1}' does not exist"),
        )],
    );
    let out = run(&fake, &fast(), "06-trail-created-with-key.json").await;
    assert_eq!(out.result.unwrap(), 1);
    // Not retried: a missing key is not transient.
    assert_eq!(
        out.counts,
        counts(&[("config:PutEvaluations", 1), ("kms:GetKeyPolicy", 1)])
    );
    assert_eq!(
        put_evaluations(&fake),
        vec![vec![trail_eval("NON_COMPLIANT")]]
    );
    assert_eq!(
        put_annotations(&fake)[0].2,
        // Config's 256-character limit cuts the KMS detail, never the finding.
        format!("KEY_NOT_ENABLED: the key `{K1}` is deleted or not Enabled, so CloudTrail cannot encrypt with it (KMS: NotFoundException: Key '{K1}' does not exist)").chars().take(256).collect::<String>()
    );
}

/// Scenario 19: the policy was read, then the key left the Enabled state.
#[tokio::test]
async fn a_key_in_an_invalid_state_makes_the_trail_non_compliant() {
    let fake = healthy().on(
        "kms:DescribeKey",
        vec![err(400, "KMSInvalidStateException", "is pending deletion")],
    );
    let out = run(&fake, &fast(), "06-trail-created-with-key.json").await;
    assert_eq!(out.result.unwrap(), 1);
    assert_eq!(
        out.counts,
        counts(&[
            ("config:PutEvaluations", 1),
            ("kms:DescribeKey", 1),
            ("kms:GetKeyPolicy", 1)
        ])
    );
    let put = put_annotations(&fake);
    assert_eq!(put.len(), 1);
    assert_eq!(put[0].1, "NON_COMPLIANT");
    assert!(
        put[0]
            .2
            == "KEY_NOT_ENABLED: the key `arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab` is deleted or not Enabled, so CloudTrail cannot encrypt with it (KMS: KMSInvalidStateException: is pending deletion)",
        "{}",
        put[0].2
    );
}

/// Scenario 19 in a periodic run: the deleted key's trail is NON_COMPLIANT, the key itself is not
/// evaluated, the other key's resources are evaluated as usual.
#[tokio::test]
async fn periodic_run_with_a_deleted_key_evaluates_its_trail_non_compliant() {
    let k2 = "arn:aws:kms:us-east-1:111111111111:key/99999999-9999-9999-9999-999999999999";
    let fake = healthy()
        .on(
            "cloudtrail:DescribeTrails",
            vec![ok(json!({"trailList": [
                {"Name": "management-events", "TrailARN": T1, "KmsKeyId": K1, "S3BucketName": "trailkey-logs-111111111111"},
                {"Name": "other", "TrailARN": "arn:aws:cloudtrail:us-east-1:111111111111:trail/other", "KmsKeyId": k2, "S3BucketName": "b"},
            ]}))],
        )
        .on(
            "cloudtrail:ListEventDataStores",
            vec![ok(json!({"EventDataStores": []}))],
        );
    let router = KeyRouter {
        inner: fake.clone(),
        key: k2.into(),
        reply: err(400, "NotFoundException", "gone"),
    };
    let calls = CallCounts::new();
    let conf = config(calls.wrap(SharedHttpClient::new(router)), &fast()).await;
    let result = handle(
        &SdkAws::new(&conf),
        &SdkAssumeRole::new(&conf),
        &event("10-periodic.json"),
    )
    .await;
    assert_eq!(result.unwrap().len(), 3);
    assert_eq!(
        calls.snapshot(),
        counts(&[
            ("cloudtrail:DescribeTrails", 1),
            ("cloudtrail:ListEventDataStores", 1),
            ("config:PutEvaluations", 1),
            ("kms:DescribeKey", 1),
            ("kms:GetKeyPolicy", 2)
        ])
    );
    let put: Vec<(String, String)> = put_annotations(&fake)
        .into_iter()
        .map(|(id, c, _)| (id, c))
        .collect();
    assert_eq!(
        put,
        [
            ("1234abcd-12ab-34cd-56ef-1234567890ab", "COMPLIANT"),
            ("management-events", "COMPLIANT"),
            ("other", "NON_COMPLIANT"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
}
