//! trailkey's side of `make bench-compare`: runs the checker's simulated CloudTrail requests
//! through [`trailkey::eval::evaluate`] and the full [`trailkey::checker::check_text`] over a
//! generated corpus (`scripts/gen_corpus.py`), timing both, and writes per-policy verdicts as JSON
//! lines for `scripts/bench_compare.py`.
//!
//! ```sh
//! cargo build --release --no-default-features --example bench_corpus
//! bench_corpus --corpus corpus.jsonl --requests requests.json --verdicts trailkey.jsonl \
//!   [--rounds 3] [--min-seconds 0.5]
//! ```
//!
//! `--requests` receives the requests as built by `checker::requests` (principal, action,
//! resource, context), so the peers evaluate exactly the same ones. The timing summary (JSON) goes
//! to stdout. Uses only the checker layers (policy, eval, checker), which exist with and without
//! the `aws` feature.

use std::error::Error;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use trailkey::checker::{check_text, requests, CheckInput, FindingId, Trail};
use trailkey::eval::{evaluate, Outcome, Request, RequestPrincipal};
use trailkey::policy::Policy;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const KEY_ARN: &str = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const TRAIL_ARN: &str = "arn:aws:cloudtrail:us-east-1:111111111111:trail/management-events";
const OTHER_TRAIL_ARN: &str = "arn:aws:cloudtrail:us-east-1:222222222222:trail/org-trail";
const FOREIGN_TRAIL_ARN: &str = "arn:aws:cloudtrail:us-east-1:999999999999:trail/any-trail";
const EDS_ARN: &str =
    "arn:aws:cloudtrail:us-east-1:111111111111:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE";
const READER: &str = "arn:aws:iam::111111111111:role/LogReader";
const CROSS_READER: &str = "arn:aws:iam::222222222222:role/SecurityAudit";
const LAKE_USER: &str = "arn:aws:iam::111111111111:role/LakeAnalyst";
/// The identity policy of the "allow-all" variant: the caller's IAM side allows any KMS call.
const ALLOW_ALL_IAM: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;

/// Whose IAM policies come with a request made by an IAM principal.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Identity {
    /// Service principals: identity policies do not apply.
    NotApplicable,
    /// The caller has no identity policy.
    None,
    /// The caller's identity policy allows `kms:*`.
    AllowAll,
}

impl Identity {
    fn as_str(self) -> &'static str {
        match self {
            Identity::NotApplicable => "n/a",
            Identity::None => "none",
            Identity::AllowAll => "allow-all",
        }
    }
}

struct Case {
    id: String,
    request: Request,
    identity: Identity,
}

/// The check input every corpus policy is checked against.
fn check_input() -> CheckInput {
    let mut input = CheckInput::new(KEY_ARN);
    input.trails = vec![Trail {
        arn: TRAIL_ARN.into(),
        bucket: Some("aws-cloudtrail-logs-111111111111".into()),
        ..Default::default()
    }];
    input.readers = vec![READER.into(), CROSS_READER.into()];
    input.allowed_accounts = vec!["111111111111".into(), "222222222222".into()];
    input
}

/// The requests of `checker::requests` for the corpus' trail, event data store and readers.
fn cases(input: &CheckInput) -> Result<Vec<Case>> {
    let trail = input.trails.first().ok_or("no trail")?;
    let trail_of = |arn: &str| Trail {
        arn: arn.into(),
        bucket: None,
        ..Default::default()
    };
    let mut bucket_key = input.clone();
    bucket_key.bucket_key = true;
    let service = [
        ("trail-encrypt", requests::trail_encrypt(input, trail)),
        ("trail-describe", requests::trail_describe(input, trail)),
        (
            "trail-service-decrypt",
            requests::trail_service_decrypt(&bucket_key, trail),
        ),
        (
            "other-account-trail-encrypt",
            requests::trail_encrypt(input, &trail_of(OTHER_TRAIL_ARN)),
        ),
        (
            "foreign-trail-encrypt",
            requests::trail_encrypt(input, &trail_of(FOREIGN_TRAIL_ARN)),
        ),
        (
            "eds-generate-data-key",
            requests::eds_service(input, "kms:GenerateDataKey"),
        ),
        ("eds-decrypt", requests::eds_service(input, "kms:Decrypt")),
        (
            "eds-describe",
            requests::eds_service(input, "kms:DescribeKey"),
        ),
    ];
    let mut out: Vec<Case> = service
        .into_iter()
        .map(|(id, request)| Case {
            id: id.into(),
            request,
            identity: Identity::NotApplicable,
        })
        .collect();
    let reader = RequestPrincipal::parse(READER)?;
    let cross = RequestPrincipal::parse(CROSS_READER)?;
    let lake = RequestPrincipal::parse(LAKE_USER)?;
    let iam = [
        ("reader-decrypt", requests::trail_read(input, trail, reader)),
        (
            "cross-account-reader-decrypt",
            requests::trail_read(input, trail, cross),
        ),
        (
            "lake-user-decrypt",
            requests::eds_user(input, EDS_ARN, lake, "kms:Decrypt"),
        ),
    ];
    for (id, request) in iam {
        for identity in [Identity::None, Identity::AllowAll] {
            out.push(Case {
                id: format!("{id}/iam:{}", identity.as_str()),
                request: request.clone(),
                identity,
            });
        }
    }
    Ok(out)
}

fn request_json(case: &Case) -> Value {
    let r = &case.request;
    let principal = match &r.principal {
        RequestPrincipal::Service(s) => json!({"service": s}),
        RequestPrincipal::Iam(p) => json!({"arn": p.arn}),
        RequestPrincipal::Anonymous => json!({"anonymous": true}),
    };
    let mut context = Map::new();
    for (key, entry) in r.context.iter() {
        let value = match (entry.multi, entry.values.as_slice()) {
            (false, [one]) => json!(one),
            (_, values) => json!(values),
        };
        context.insert(key.to_string(), value);
    }
    json!({
        "id": case.id,
        "principal": principal,
        "action": r.action,
        "resource": r.resource,
        "context": context,
        "identity": case.identity.as_str(),
    })
}

fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Allow => "Allow",
        Outcome::ExplicitDeny => "ExplicitDeny",
        Outcome::ImplicitDeny => "ImplicitDeny",
    }
}

fn decide(policy: &Policy, case: &Case, allow_all: &[Policy]) -> Outcome {
    let identity: &[Policy] = match case.identity {
        Identity::AllowAll => allow_all,
        Identity::None | Identity::NotApplicable => &[],
    };
    evaluate(policy, &case.request, Some(identity)).decision
}

struct Item {
    id: String,
    text: String,
}

fn read_corpus(path: &str) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    for line in BufReader::new(File::open(path)?).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line)?;
        let id = v
            .get("id")
            .and_then(Value::as_str)
            .ok_or("item without id")?;
        let text = v
            .get("policy")
            .and_then(Value::as_str)
            .ok_or("item without policy")?;
        items.push(Item {
            id: id.into(),
            text: text.into(),
        });
    }
    Ok(items)
}

/// Runs `pass` over the corpus until `min` has elapsed; returns units per second.
fn throughput(min: Duration, units_per_pass: usize, mut pass: impl FnMut() -> usize) -> f64 {
    let start = Instant::now();
    let mut units = 0usize;
    let mut sink = 0usize;
    loop {
        sink = sink.wrapping_add(pass());
        units += units_per_pass;
        if start.elapsed() >= min {
            break;
        }
    }
    std::hint::black_box(sink);
    units as f64 / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let corpus = arg(&args, "--corpus").ok_or("--corpus PATH is required")?;
    let verdicts_path = arg(&args, "--verdicts").ok_or("--verdicts PATH is required")?;
    let requests_path = arg(&args, "--requests").ok_or("--requests PATH is required")?;
    let rounds: usize = arg(&args, "--rounds").map_or(Ok(3), |s| s.parse())?;
    let min = Duration::from_secs_f64(arg(&args, "--min-seconds").map_or(Ok(0.5), |s| s.parse())?);

    let input = check_input();
    let cases = cases(&input)?;
    let allow_all = vec![Policy::parse_identity(ALLOW_ALL_IAM)?];
    let items = read_corpus(&corpus)?;

    let reqs: Vec<Value> = cases.iter().map(request_json).collect();
    std::fs::write(&requests_path, serde_json::to_string_pretty(&reqs)?)?;

    // Verdicts (untimed).
    let mut out = BufWriter::new(File::create(&verdicts_path)?);
    for item in &items {
        let report = check_text(&item.text, &input);
        let mut findings: Vec<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
        findings.sort_unstable();
        findings.dedup();
        let line = match Policy::parse(&item.text) {
            Ok(policy) => {
                let mut verdicts = Map::new();
                for case in &cases {
                    verdicts.insert(
                        case.id.clone(),
                        json!(outcome(decide(&policy, case, &allow_all))),
                    );
                }
                json!({"id": item.id, "valid": true, "verdicts": verdicts,
                       "compliance": report.compliance, "findings": findings,
                       "public": report.findings.iter().any(|f| f.id == FindingId::PublicAccess)})
            }
            Err(e) => json!({"id": item.id, "valid": false, "error": e.to_string(),
                             "compliance": report.compliance, "findings": findings,
                             "public": false}),
        };
        writeln!(out, "{line}")?;
    }
    out.flush()?;

    let parsed: Vec<Policy> = items
        .iter()
        .filter_map(|i| Policy::parse(&i.text).ok())
        .collect();
    let n_requests = parsed.len() * cases.len();
    let mut eval_only = Vec::new();
    let mut parse_eval = Vec::new();
    let mut check = Vec::new();
    for _ in 0..rounds {
        eval_only.push(throughput(min, n_requests, || {
            let mut allowed = 0;
            for p in &parsed {
                for c in &cases {
                    allowed += usize::from(decide(p, c, &allow_all) == Outcome::Allow);
                }
            }
            allowed
        }));
        parse_eval.push(throughput(min, n_requests, || {
            let mut allowed = 0;
            for item in &items {
                if let Ok(p) = Policy::parse(&item.text) {
                    for c in &cases {
                        allowed += usize::from(decide(&p, c, &allow_all) == Outcome::Allow);
                    }
                }
            }
            allowed
        }));
        check.push(throughput(min, items.len(), || {
            items
                .iter()
                .map(|i| check_text(&i.text, &input).findings.len())
                .sum()
        }));
    }
    let summary = json!({
        "tool": "trailkey",
        "version": env!("CARGO_PKG_VERSION"),
        "policies": items.len(),
        "valid_policies": parsed.len(),
        "requests_per_policy": cases.len(),
        "rounds": rounds,
        "requests_per_s_eval_only": median(eval_only),
        "requests_per_s_with_parse": median(parse_eval),
        "policies_per_s_check_text": median(check),
    });
    writeln!(std::io::stdout().lock(), "{summary}")?;
    Ok(())
}
