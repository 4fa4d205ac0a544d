//! End to end against a local AWS: moto's server on 127.0.0.1, started by the test itself, seeded
//! with the seed documents' scenarios (`scripts/seed_demo.py`) or with many keys and trails
//! (`scripts/seed_scale.py`), read by `trailkey scan` and evaluated by `trailkey replay`, which runs
//! the Config rule handler with the real SDK clients over HTTP and puts the evaluations in test
//! mode. `make test` provides `TRAILKEY_MOTO_SERVER`.
//!
//! moto's gaps, worked around rather than hidden: CloudTrail Lake is not implemented
//! (`ListEventDataStores` answers HTTP 500), so the tests show that error once and otherwise run
//! with `--no-event-data-stores` (event data stores are covered by `tests/handler_events.rs`);
//! `PutEvaluations` works only with the `TESTMODE` token and cannot be read back, so the tests assert
//! what the handler reports it put; key ids are random, so the events' fixed K1 id is replaced by a
//! seeded key's.
#![cfg(feature = "aws")]
#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use serde_json::Value;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One moto at a time: two servers starting together on this machine raced in testing.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

struct Moto {
    _serial: std::sync::MutexGuard<'static, ()>,
    child: Child,
    port: u16,
    python: PathBuf,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto() -> Option<Moto> {
    let Ok(server) = std::env::var("TRAILKEY_MOTO_SERVER") else {
        // In CI the variable must be there: a silent skip would hide the whole suite.
        assert!(
            std::env::var_os("CI").is_none(),
            "TRAILKEY_MOTO_SERVER is not set in CI"
        );
        eprintln!("TRAILKEY_MOTO_SERVER is not set: run through `make test`, which installs moto");
        return None;
    };
    let serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {server}: {e}"));
    let python = Path::new(&server).with_file_name("python");
    let m = Moto {
        _serial: serial,
        child,
        port,
        python,
    };
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "moto did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(m)
}

impl Moto {
    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn python(&self, args: &[&str]) -> String {
        let out = Command::new(&self.python).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Environment for account 111111111111 (assumed-role credentials act in the role's account).
    fn env(&self) -> Vec<(String, String)> {
        let exports = self.python(&[
            "scripts/assume_role.py",
            "--endpoint",
            &self.endpoint(),
            "--account",
            "111111111111",
        ]);
        let mut env: Vec<(String, String)> = exports
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
            .collect();
        env.push(("AWS_ENDPOINT_URL".into(), self.endpoint()));
        env.push(("AWS_REGION".into(), "us-east-1".into()));
        env.push(("AWS_CONFIG_FILE".into(), "/dev/null".into()));
        env.push(("AWS_SHARED_CREDENTIALS_FILE".into(), "/dev/null".into()));
        // moto answers unimplemented calls with 500s: don't spend the test on retries.
        env.push(("AWS_MAX_ATTEMPTS".into(), "1".into()));
        env
    }

    fn trailkey(&self, args: &[&str]) -> (i32, Value, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_trailkey"))
            .args(args)
            .envs(self.env())
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        (
            out.status.code().unwrap(),
            json,
            String::from_utf8(out.stderr).unwrap(),
        )
    }
}

#[test]
fn scan_reads_every_seeded_key_once_and_reports_the_documented_findings() {
    let Some(m) = moto() else { return };
    let seeded: Value =
        serde_json::from_str(&m.python(&["scripts/seed_demo.py", "--endpoint", &m.endpoint()]))
            .unwrap();
    let (code, scan, stderr) = m.trailkey(&[
        "scan",
        "--format",
        "json",
        "--reader",
        "arn:aws:iam::111111111111:role/LogReader",
    ]);
    // moto does not implement ListEventDataStores: reported, never hidden, and exit 2.
    assert_eq!(code, 2, "{stderr}");
    let errors = scan["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("ListEventDataStores"));
    let report = |name: &str| {
        let arn = seeded["keys"][name].as_str().unwrap();
        scan["reports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == arn)
            .unwrap_or_else(|| panic!("no report for {name}"))
            .clone()
    };
    let first = |name: &str| {
        report(name)["findings"][0]["id"]
            .as_str()
            .unwrap_or("-")
            .to_string()
    };
    assert_eq!(report("compliant")["compliance"], "COMPLIANT");
    assert_eq!(first("disabled"), "KEY_NOT_ENABLED");
    assert_eq!(first("wrong-sourcearn"), "ENCRYPT_DENIED");
    assert_eq!(first("legacy-no-sourcearn"), "CONFUSED_DEPUTY");
    assert_eq!(first("public-decrypt"), "PUBLIC_ACCESS");
    assert_eq!(scan["compliance"], "NON_COMPLIANT");
}

#[test]
fn scan_without_event_data_stores_has_no_error_and_says_what_it_skipped() {
    let Some(m) = moto() else { return };
    m.python(&["scripts/seed_demo.py", "--endpoint", &m.endpoint()]);
    // A trail without a KMS key (SSE-S3 only), as the rule's scenario 7 has it.
    let unencrypted = m.python(&[
        "-c",
        "import sys; sys.path.insert(0, 'scripts'); import seed_demo as d\n\
         a = d.Accounts(sys.argv[1])\n\
         a.client(d.ACCOUNT_A, 's3').create_bucket(Bucket='unencrypted-trail-logs')\n\
         ct = a.client(d.ACCOUNT_A, 'cloudtrail')\n\
         print(ct.create_trail(Name='unencrypted', S3BucketName='unencrypted-trail-logs')['TrailARN'])",
        &m.endpoint(),
    ]);
    let unencrypted = unencrypted.trim();
    let (code, scan, stderr) = m.trailkey(&["scan", "--format", "json", "--no-event-data-stores"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(scan["errors"], serde_json::json!([]));
    assert_eq!(
        scan["unencrypted_trails"],
        serde_json::json!([{
            "trail": unencrypted,
            "compliance": "NON_COMPLIANT",
            "findings": [{
                "id": "TRAIL_NOT_ENCRYPTED",
                "severity": "error",
                "resource": unencrypted,
                "statement": null,
                "message": "trail logs are not encrypted with a KMS key (SSE-S3 only): set the trail's KmsKeyId",
                "fix": null
            }]
        }])
    );
    // Accepted with --suppress, as allowUnencryptedTrails does for the rule.
    let (_, accepted, stderr) = m.trailkey(&[
        "scan",
        "--format",
        "json",
        "--no-event-data-stores",
        "--suppress",
        "TRAIL_NOT_ENCRYPTED",
    ]);
    assert_eq!(
        accepted["unencrypted_trails"][0]["compliance"], "COMPLIANT",
        "{stderr}"
    );
    assert_eq!(
        scan["not_checked"],
        serde_json::json!(["event data stores (--no-event-data-stores)"])
    );
    assert!(
        stderr.contains("event data stores were not checked"),
        "{stderr}"
    );
    assert_eq!(scan["reports"].as_array().unwrap().len(), 6);
}

impl Moto {
    /// `scripts/seed_scale.py` with `args`; returns its JSON summary.
    fn seed_scale(&self, args: &[&str]) -> Value {
        let mut all = vec!["scripts/seed_scale.py", "--endpoint"];
        let endpoint = self.endpoint();
        all.push(&endpoint);
        all.extend_from_slice(args);
        serde_json::from_str(&self.python(&all)).unwrap()
    }
}

/// `events/<name>` with each `(from, to)` replaced everywhere (also inside the JSON strings it
/// embeds), written to a temporary file.
fn event_file(name: &str, replace: &[(&str, &str)]) -> tempfile::NamedTempFile {
    let mut text = std::fs::read_to_string(format!("events/{name}")).unwrap();
    for (from, to) in replace {
        assert!(text.contains(from), "{name} has no `{from}`");
        text = text.replace(from, to);
    }
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), text).unwrap();
    f
}

const K1_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

/// Event 10 (periodic) with Config's test-mode token (moto accepts PutEvaluations only in test
/// mode).
fn periodic_test_mode() -> tempfile::NamedTempFile {
    let token =
        serde_json::from_str::<Value>(&std::fs::read_to_string("events/10-periodic.json").unwrap())
            .unwrap()["resultToken"]
            .as_str()
            .unwrap()
            .to_string();
    event_file("10-periodic.json", &[(&token, "TESTMODE")])
}

fn key_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap()
}

/// `(resource type, resource id, compliance, annotation)` of each evaluation put.
fn evaluations(v: &Value) -> Vec<(String, String, String, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_string();
            (
                s("ComplianceResourceType"),
                s("ComplianceResourceId"),
                s("ComplianceType"),
                s("Annotation"),
            )
        })
        .collect()
}

#[test]
fn key_and_trail_change_events_end_to_end_through_the_handler() {
    let Some(m) = moto() else { return };
    let seeded = m.seed_scale(&[
        "--keys",
        "1",
        "--trails",
        "1",
        "--names",
        "management-events",
    ]);
    let key = seeded["keys"][0]["arn"].as_str().unwrap();
    let id = key_id(key);
    // Event 01: the key's policy (in the event) lets CloudTrail encrypt and describe for T1,
    // and DescribeTrails (moto) says T1 uses the key: both COMPLIANT.
    let created = event_file("01-key-created-compliant.json", &[(K1_ID, id)]);
    // Event 02: the policy update names another trail in aws:SourceArn.
    let broken = event_file("02-key-policy-breaks-encrypt.json", &[(K1_ID, id)]);
    // Event 06: a trail created with the key; the key policy is read from moto (GetKeyPolicy).
    let trail = event_file("06-trail-created-with-key.json", &[(K1_ID, id)]);
    let paths: Vec<String> = [&created, &broken, &trail]
        .iter()
        .map(|f| f.path().display().to_string())
        .collect();
    let mut args = vec!["replay", "--no-event-data-stores"];
    args.extend(paths.iter().map(String::as_str));
    let (code, out, stderr) = m.trailkey(&args);
    // Exit 1, as `check`: an evaluation is NON_COMPLIANT.
    assert_eq!(code, 1, "{stderr}");
    let got: Vec<(String, String, String)> = evaluations(&out)
        .into_iter()
        .map(|(t, r, c, _)| (t, r, c))
        .collect();
    let e = |t: &str, r: &str, c: &str| (t.to_string(), r.to_string(), c.to_string());
    assert_eq!(
        got,
        vec![
            e("AWS::KMS::Key", id, "COMPLIANT"),
            e("AWS::CloudTrail::Trail", "management-events", "COMPLIANT"),
            e("AWS::KMS::Key", id, "NON_COMPLIANT"),
            e(
                "AWS::CloudTrail::Trail",
                "management-events",
                "NON_COMPLIANT"
            ),
            e("AWS::CloudTrail::Trail", "management-events", "COMPLIANT"),
        ]
    );
    let annotations = evaluations(&out);
    assert!(
        annotations[2].3.starts_with("ENCRYPT_DENIED"),
        "{annotations:?}"
    );
}

#[test]
fn organization_mode_reads_a_key_in_another_account_through_sts() {
    let Some(m) = moto() else { return };
    // Keys in 111111111111, trails in 222222222222 (event 13's layout); the first key's policy
    // names a trail that does not exist.
    let seeded = m.seed_scale(&[
        "--keys",
        "2",
        "--trails",
        "2",
        "--key-account",
        "111111111111",
        "--trail-account",
        "222222222222",
        "--names",
        "management-events,second",
        "--broken-every",
        "2",
    ]);
    let broken_key = seeded["trails"]["management-events"]["key"]
        .as_str()
        .unwrap();
    let good_key = seeded["trails"]["second"]["key"].as_str().unwrap();
    assert_eq!(seeded["keys"][0]["broken"], true);
    let k1 = format!("arn:aws:kms:us-east-1:111111111111:key/{K1_ID}");
    let t2 = "arn:aws:cloudtrail:us-east-1:222222222222:trail/management-events";
    let t2_second = "arn:aws:cloudtrail:us-east-1:222222222222:trail/second";
    let broken = event_file(
        "13-organization-mode-cross-account-key.json",
        &[(&k1, broken_key)],
    );
    let good = event_file(
        "13-organization-mode-cross-account-key.json",
        &[
            (&k1, good_key),
            (t2, t2_second),
            (
                r#"\"resourceId\":\"management-events\""#,
                r#"\"resourceId\":\"second\""#,
            ),
        ],
    );
    // The same trail without organization mode: the rule in 222222222222 cannot read the key.
    let no_org = event_file(
        "13-organization-mode-cross-account-key.json",
        &[
            (&k1, good_key),
            (r#",\"ExecutionRoleName\":\"trailkey-execution\""#, ""),
        ],
    );
    let (code, out, stderr) = m.trailkey(&[
        "replay",
        "--no-event-data-stores",
        &broken.path().display().to_string(),
        &good.path().display().to_string(),
        &no_org.path().display().to_string(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    let got = evaluations(&out);
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(
        (got[0].1.as_str(), got[0].2.as_str()),
        ("management-events", "NON_COMPLIANT")
    );
    assert!(got[0].3.starts_with("ENCRYPT_DENIED"), "{got:?}");
    assert_eq!(
        (got[1].1.as_str(), got[1].2.as_str()),
        ("second", "COMPLIANT")
    );
    assert_eq!(
        (got[2].1.as_str(), got[2].2.as_str()),
        ("management-events", "NOT_APPLICABLE")
    );
    assert!(got[2].3.contains("111111111111"), "{got:?}");
}

#[test]
fn periodic_sweep_of_200_trails_and_keys_evaluates_each_once() {
    let Some(m) = moto() else { return };
    let seeded = m.seed_scale(&["--keys", "200", "--trails", "200", "--broken-every", "10"]);
    let periodic = periodic_test_mode();
    let (code, out, stderr) = m.trailkey(&[
        "replay",
        "--no-event-data-stores",
        "--call-counts",
        &periodic.path().display().to_string(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    let got = evaluations(&out);
    assert_eq!(got.len(), 400);
    // The floor of AWS calls: each distinct key read once (GetKeyPolicy + DescribeKey), one
    // DescribeTrails (CloudTrail returns every trail in one reply), ceil(400 / 100) puts.
    let calls: Value = stderr
        .lines()
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
        .unwrap_or_else(|| panic!("no call counts in {stderr}"));
    assert_eq!(
        calls["aws_calls"],
        serde_json::json!({
            "cloudtrail:DescribeTrails": 1,
            "config:PutEvaluations": 4,
            "kms:DescribeKey": 200,
            "kms:GetKeyPolicy": 200,
        })
    );
    let mut want = std::collections::BTreeMap::new();
    for k in seeded["keys"].as_array().unwrap() {
        let c = if k["broken"] == true {
            "NON_COMPLIANT"
        } else {
            "COMPLIANT"
        };
        want.insert(
            (
                "AWS::KMS::Key".to_string(),
                key_id(k["arn"].as_str().unwrap()).to_string(),
            ),
            c,
        );
        for t in k["trails"].as_array().unwrap() {
            want.insert(
                (
                    "AWS::CloudTrail::Trail".to_string(),
                    t.as_str().unwrap().to_string(),
                ),
                c,
            );
        }
    }
    let mut seen = std::collections::BTreeMap::new();
    for (t, r, c, _) in &got {
        assert!(
            seen.insert((t.clone(), r.clone()), c.as_str()).is_none(),
            "{t} {r} evaluated twice"
        );
    }
    assert_eq!(seen, want);
    assert_eq!(seen.values().filter(|c| **c == "NON_COMPLIANT").count(), 40);
}

#[test]
fn replay_puts_evaluations_through_config_in_test_mode() {
    let Some(m) = moto() else { return };
    let (code, evals, stderr) = m.trailkey(&[
        "replay",
        "events/07-trail-without-key.json",
        "events/12-left-scope.json",
    ]);
    assert_eq!(code, 1, "{stderr}");
    let got: Vec<(&str, &str)> = evals
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["ComplianceResourceId"].as_str().unwrap(),
                e["ComplianceType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("management-events", "NON_COMPLIANT"),
            ("management-events", "NOT_APPLICABLE")
        ]
    );
}

/// CloudTrail User Guide, "Receiving CloudTrail log files from multiple Regions": a multi-region
/// trail shows in every Region. Scanned from eu-west-1, its us-east-1 key is read in us-east-1
/// (a key is only visible in its own Region): one COMPLIANT report, no error, and the first
/// line of the human output says which account and Region were scanned.
#[test]
fn scan_from_another_region_reads_a_multi_region_trails_key_in_its_own_region() {
    let Some(m) = moto() else { return };
    let seeded = m.seed_scale(&[
        "--keys",
        "1",
        "--trails",
        "1",
        "--names",
        "management-events",
        "--multi-region",
        "--prefix",
        "audit",
    ]);
    let key = seeded["keys"][0]["arn"].as_str().unwrap();
    let (code, scan, stderr) = m.trailkey(&[
        "scan",
        "--region",
        "eu-west-1",
        "--format",
        "json",
        "--no-event-data-stores",
        "--call-counts",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(scan["compliance"], "COMPLIANT", "{scan:#}");
    assert_eq!(scan["errors"], serde_json::json!([]));
    assert_eq!(scan["scanned"]["account"], "111111111111");
    assert_eq!(scan["scanned"]["region"], "eu-west-1");
    let reports = scan["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 1, "{scan:#}");
    assert_eq!(reports[0]["key"], key);
    assert_eq!(reports[0]["compliance"], "COMPLIANT");
    // The trail is listed once (a shadow trail here), the key read once.
    let calls: Value = stderr
        .lines()
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
        .unwrap();
    assert_eq!(calls["aws_calls"]["kms:GetKeyPolicy"], 1, "{calls}");

    let out = Command::new(env!("CARGO_BIN_EXE_trailkey"))
        .args(["scan", "--region", "eu-west-1", "--no-event-data-stores"])
        .envs(m.env())
        .output()
        .unwrap();
    let human = String::from_utf8(out.stdout).unwrap();
    assert!(
        human
            .lines()
            .next()
            .unwrap()
            .starts_with("scanned account 111111111111 in eu-west-1: 1 trails (1 encrypted)"),
        "{human}"
    );
    assert!(human.contains("resource"), "{human}");
    assert!(human.trim_end().ends_with("overall: COMPLIANT"), "{human}");
}

/// The same multi-region trail, replayed as a periodic run of the rule in eu-west-1: Config
/// records the trail in us-east-1, so the rule here puts nothing for it, and never reports its
/// key deleted (KEY_NOT_ENABLED) because an eu-west-1 client cannot see it. In us-east-1 both
/// are evaluated, the key read there.
#[test]
fn periodic_rule_runs_in_two_regions_evaluate_the_multi_region_trail_once() {
    let Some(m) = moto() else { return };
    let seeded = m.seed_scale(&[
        "--keys",
        "1",
        "--trails",
        "1",
        "--names",
        "management-events",
        "--multi-region",
    ]);
    let key = seeded["keys"][0]["arn"].as_str().unwrap();
    let periodic = periodic_test_mode();
    let path = periodic.path().display().to_string();
    let (code, elsewhere, stderr) = m.trailkey(&[
        "replay",
        "--region",
        "eu-west-1",
        "--no-event-data-stores",
        &path,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(elsewhere, serde_json::json!([]), "{stderr}");
    let (code, home, stderr) = m.trailkey(&[
        "replay",
        "--region",
        "us-east-1",
        "--no-event-data-stores",
        "--dry-run",
        &path,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("dry run: nothing was put"), "{stderr}");
    let got: Vec<(String, String, String)> = evaluations(&home)
        .into_iter()
        .map(|(t, r, c, _)| (t, r, c))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "AWS::KMS::Key".to_string(),
                key_id(key).to_string(),
                "COMPLIANT".to_string()
            ),
            (
                "AWS::CloudTrail::Trail".to_string(),
                "management-events".to_string(),
                "COMPLIANT".to_string()
            ),
        ]
    );
}

/// `check --key-id`: the live key's policy, state and spec, and the trails that use it, read
/// from AWS (an alias resolved with DescribeKey: GetKeyPolicy takes no alias), then checked as
/// `check --policy` does. A disabled key is KEY_NOT_ENABLED (moto answers ScheduleKeyDeletion
/// with a 500).
#[test]
fn check_key_id_reads_a_live_key_by_alias_and_its_trails() {
    let Some(m) = moto() else { return };
    let seeded = m.seed_scale(&[
        "--keys",
        "2",
        "--trails",
        "2",
        "--names",
        "management-events,second",
        "--broken-every",
        "2",
    ]);
    let broken = seeded["trails"]["management-events"]["key"]
        .as_str()
        .unwrap();
    let good = seeded["trails"]["second"]["key"].as_str().unwrap();
    m.python(&[
        "-c",
        "import sys; sys.path.insert(0, 'scripts'); import seed_demo as d\n\
         kms = d.Accounts(sys.argv[1]).client('111111111111', 'kms')\n\
         kms.create_alias(AliasName='alias/trailkey-good', TargetKeyId=sys.argv[2])",
        &m.endpoint(),
        good,
    ]);
    let (code, r, stderr) = m.trailkey(&[
        "check",
        "--key-id",
        "alias/trailkey-good",
        "--no-event-data-stores",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr} {r:#}");
    assert_eq!(r["key"], good);
    assert_eq!(r["compliance"], "COMPLIANT");
    assert_eq!(r["scope"]["encrypt"]["reach"], "checked_trails", "{r:#}");

    let (code, r, stderr) = m.trailkey(&[
        "check",
        "--key-id",
        key_id(broken),
        "--no-event-data-stores",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(r["key"], broken);
    assert_eq!(r["findings"][0]["id"], "ENCRYPT_DENIED", "{r:#}");

    m.python(&[
        "-c",
        "import sys; sys.path.insert(0, 'scripts'); import seed_demo as d\n\
         kms = d.Accounts(sys.argv[1]).client('111111111111', 'kms')\n\
         kms.disable_key(KeyId=sys.argv[2])",
        &m.endpoint(),
        key_id(good),
    ]);
    let (code, r, stderr) = m.trailkey(&[
        "check",
        "--key-id",
        good,
        "--no-event-data-stores",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(r["findings"][0]["id"], "KEY_NOT_ENABLED", "{r:#}");
}

/// IAM User Guide, "AWS global condition context keys": aws:PrincipalOrgID is the caller's
/// organization. `scan` reads it with DescribeOrganization (member accounts may call it), so an
/// organization perimeter is decided without --org-id; outside an organization it stays unknown.
#[test]
fn scan_reads_the_organization_id() {
    let Some(m) = moto() else { return };
    m.seed_scale(&[
        "--keys",
        "1",
        "--trails",
        "1",
        "--names",
        "management-events",
    ]);
    let (_, scan, stderr) = m.trailkey(&["scan", "--format", "json", "--no-event-data-stores"]);
    assert!(
        scan["scanned"]["organization_id"].is_null(),
        "{scan:#} {stderr}"
    );
    let id = m.python(&[
        "-c",
        "import sys; sys.path.insert(0, 'scripts'); import seed_demo as d\n\
         o = d.Accounts(sys.argv[1]).client('111111111111', 'organizations')\n\
         print(o.create_organization(FeatureSet='ALL')['Organization']['Id'])",
        &m.endpoint(),
    ]);
    let (code, scan, stderr) = m.trailkey(&["scan", "--format", "json", "--no-event-data-stores"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(scan["scanned"]["organization_id"], id.trim(), "{stderr}");
    assert!(!stderr.contains("organization id is unknown"), "{stderr}");
}

/// AWS Organizations User Guide, "Accessing member accounts in your organization": from the
/// management account, `scan --org --role-name OrganizationAccountAccessRole` lists the
/// organization's accounts (ListAccounts), scans each through that role, and reads each key once
/// with its owner's credentials: the organization trail's key in the management account, the
/// member trail's key in the log archive account. CloudTrail User Guide, "Creating a trail for an
/// organization": the organization trail's log objects are under AWSLogs/<o-id>/<account>/, and
/// DescribeOrganization gives that id.
#[test]
fn scan_org_reads_every_account_through_the_role_and_each_key_with_its_owner() {
    let Some(m) = moto() else { return };
    let seeded: Value =
        serde_json::from_str(&m.python(&["scripts/seed_org.py", "--endpoint", &m.endpoint()]))
            .unwrap();
    let acct = |n: &str| seeded["accounts"][n].as_str().unwrap().to_string();
    let (code, scan, stderr) = m.trailkey(&[
        "scan",
        "--org",
        "--role-name",
        "OrganizationAccountAccessRole",
        "--no-event-data-stores",
        "--call-counts",
        "--format",
        "json",
    ]);
    // member-unencrypted is NON_COMPLIANT; nothing failed to read.
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(scan["compliance"], "NON_COMPLIANT", "{scan:#}");
    assert_eq!(
        scan["scanned"]["organization_id"], seeded["organization_id"],
        "{stderr}"
    );
    let accounts = scan["scanned"]["accounts"].as_array().unwrap();
    let outcome = |a: &str| {
        accounts
            .iter()
            .find(|x| x["account"] == a)
            .unwrap_or_else(|| panic!("{a} not in {accounts:?}"))["outcome"]
            .clone()
    };
    assert_eq!(accounts.len(), 3, "{accounts:?}");
    for a in ["management", "log_archive", "member"] {
        assert_eq!(outcome(&acct(a)), "scanned", "{a}");
    }
    let report = |key: &str| {
        let arn = seeded["keys"][key].as_str().unwrap();
        scan["reports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == arn)
            .unwrap_or_else(|| panic!("no report for {key}: {scan:#}"))
            .clone()
    };
    let org = report("org");
    assert_eq!(org["compliance"], "COMPLIANT", "{org:#}");
    assert_eq!(
        org["resources"],
        serde_json::json!([seeded["trails"]["org-trail"]])
    );
    let archive = report("archive");
    assert_eq!(archive["compliance"], "COMPLIANT", "{archive:#}");
    assert_eq!(
        archive["resources"],
        serde_json::json!([seeded["trails"]["member-trail"]])
    );
    assert_eq!(
        scan["unencrypted_trails"][0]["trail"],
        seeded["trails"]["member-unencrypted"]
    );
    assert_eq!(scan["other_account_keys"][0]["account"], "999999999999");
    assert!(scan["errors"].as_array().unwrap().is_empty(), "{scan:#}");
    // The floor: one GetKeyPolicy and one DescribeKey per key read, one AssumeRole per other
    // account, one DescribeTrails per account.
    let counts: Value = serde_json::from_str(
        stderr
            .lines()
            .find(|l| l.starts_with("{\"aws_calls\""))
            .unwrap_or_else(|| panic!("{stderr}")),
    )
    .unwrap();
    let calls = &counts["aws_calls"];
    assert_eq!(calls["kms:GetKeyPolicy"], 2, "{calls}");
    assert_eq!(calls["kms:DescribeKey"], 2, "{calls}");
    assert_eq!(calls["sts:AssumeRole"], 2, "{calls}");
    assert_eq!(calls["cloudtrail:DescribeTrails"], 3, "{calls}");
    assert_eq!(calls["organizations:ListAccounts"], 1, "{calls}");

    // The human form: what was scanned first, then the table.
    let (_, human, _) = {
        let out = Command::new(env!("CARGO_BIN_EXE_trailkey"))
            .args([
                "scan",
                "--org",
                "--role-name",
                "OrganizationAccountAccessRole",
                "--no-event-data-stores",
            ])
            .envs(m.env())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let first = human.lines().next().unwrap();
    assert!(
        first.starts_with("scanned 3 of 3 accounts (organization o-")
            && first.contains("from account 111111111111 in us-east-1: 4 trails (3 encrypted)"),
        "{human}"
    );
    assert!(human.contains("member-unencrypted | -"), "{human}");
}

/// `--role-name` is checked before any AWS call: a path or a character IAM rejects is named.
#[test]
fn scan_org_rejects_a_bad_role_name_before_calling_aws() {
    let out = Command::new(env!("CARGO_BIN_EXE_trailkey"))
        .args(["scan", "--org", "--role-name", "path/Role"])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("--role-name: `path/Role`"), "{stderr}");
}
