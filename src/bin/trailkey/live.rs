//! `scan` and `replay`: the commands that talk to AWS (through `trailkey::aws`).

use crate::args::{CheckFormat, ReplayArgs, ScanArgs};
use serde_json::json;
use std::io::{IsTerminal, Write};
use trailkey::aws::{CallCounts, RuleAws, SdkAssumeRole, SdkAws};
use trailkey::checker::{check_text, CheckInput, Compliance, Report};
use trailkey::report::{render, Format};

async fn clients(counts: &CallCounts) -> (SdkAws, SdkAssumeRole) {
    let conf = counts.instrument(&trailkey::aws::load_sdk_config().await);
    (SdkAws::new(&conf), SdkAssumeRole::new(&conf))
}

/// `--call-counts`: one JSON line on stderr, `{"aws_calls": {"kms:GetKeyPolicy": N, ..}}`.
fn print_counts(enabled: bool, counts: &CallCounts) {
    if enabled {
        eprintln!("{}", json!({ "aws_calls": counts.snapshot() }));
    }
}

/// Exit 0 compliant, 1 non-compliant, 2 when anything could not be read.
pub async fn scan(a: &ScanArgs) -> Result<u8, String> {
    // Validate the options before any AWS call.
    crate::apply_requirements(&a.requirements, &mut CheckInput::new(""))?;
    let counts = CallCounts::new();
    let (aws, _) = clients(&counts).await;
    let mut errors: Vec<(String, String)> = Vec::new();
    let trails = aws.trails().await.map_err(|e| e.to_string())?;
    let stores = if a.no_event_data_stores {
        Vec::new()
    } else {
        match aws.event_data_stores().await {
            Ok(s) => s,
            Err(e) => {
                errors.push(("*".into(), e.to_string()));
                Vec::new()
            }
        }
    };
    // Trails without a key: TRAIL_NOT_ENCRYPTED, as the Config rule reports them
    // (`--suppress TRAIL_NOT_ENCRYPTED` accepts them).
    let mut unencrypted: Vec<Report> = Vec::new();
    for t in trailkey::handler::unencrypted_trails(&trails) {
        let mut input = CheckInput::new(t.arn);
        crate::apply_requirements(&a.requirements, &mut input)?;
        unencrypted.push(trailkey::checker::unencrypted_trail_report(&input));
    }
    let users = trailkey::handler::users_by_key(&trails, &stores);
    let progress = (std::io::stderr().is_terminal() && users.len() > 20)
        .then(|| indicatif::ProgressBar::new(users.len() as u64));
    let mut reports: Vec<(Report, Vec<String>)> = Vec::new();
    for (key, u) in users {
        if let Some(p) = &progress {
            p.inc(1);
        }
        let facts = match aws.key(&key).await {
            Ok(f) => f,
            Err(e) => {
                errors.push((key, e.to_string()));
                continue;
            }
        };
        let mut input = CheckInput::new(facts.key_arn.clone());
        crate::apply_requirements(&a.requirements, &mut input)?;
        input.trails = u.trails;
        input.event_data_stores = u.event_data_stores;
        input.key_state = facts.key_state;
        input.key_spec = facts.key_spec;
        let resources = input
            .trails
            .iter()
            .map(|t| t.arn.clone())
            .chain(input.event_data_stores.iter().cloned())
            .collect();
        reports.push((check_text(&facts.policy, &input), resources));
    }
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    let compliant = reports
        .iter()
        .map(|(r, _)| r)
        .chain(&unencrypted)
        .all(|r| r.compliance == Compliance::Compliant);
    let mut out = std::io::stdout().lock();
    let w = |e: std::io::Error| format!("cannot write output: {e}");
    match a.format {
        CheckFormat::Json => {
            let v = json!({
                "compliance": if compliant { "COMPLIANT" } else { "NON_COMPLIANT" },
                "reports": reports.iter().map(|(r, res)| json!({"key": r.key, "compliance": r.compliance, "resources": res, "findings": r.findings})).collect::<Vec<_>>(),
                "unencrypted_trails": unencrypted.iter().map(|r| json!({"trail": r.key, "compliance": r.compliance, "findings": r.findings})).collect::<Vec<_>>(),
                "errors": errors.iter().map(|(k, m)| json!({"key": k, "message": m})).collect::<Vec<_>>(),
            });
            let mut v = v;
            if let (true, Some(obj)) = (a.no_event_data_stores, v.as_object_mut()) {
                obj.insert(
                    "not_checked".into(),
                    json!(["event data stores (--no-event-data-stores)"]),
                );
            }
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&v).unwrap_or_default()
            )
            .map_err(w)?;
        }
        CheckFormat::Sarif => {
            let all: Vec<Report> = reports
                .iter()
                .map(|(r, _)| r.clone())
                .chain(unencrypted.iter().cloned())
                .collect();
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&trailkey::report::sarif(&all)).unwrap_or_default()
            )
            .map_err(w)?;
        }
        CheckFormat::Human => {
            let color = std::io::stdout().is_terminal();
            for r in reports.iter().map(|(r, _)| r).chain(&unencrypted) {
                render(r, Format::Human, color, &mut out).map_err(w)?;
            }
            if reports.is_empty() && unencrypted.is_empty() {
                writeln!(
                    out,
                    "no trail or event data store in this account and Region uses a KMS key"
                )
                .map_err(w)?;
            }
        }
    }
    print_counts(a.call_counts, &counts);
    if a.no_event_data_stores {
        eprintln!("trailkey: event data stores were not checked (--no-event-data-stores)");
    }
    for (k, m) in &errors {
        eprintln!("trailkey: could not read `{k}`: {m}");
    }
    Ok(if !errors.is_empty() {
        2
    } else if compliant {
        0
    } else {
        1
    })
}

/// Prints the evaluations put for each event, as one JSON array.
pub async fn replay(a: &ReplayArgs) -> Result<u8, String> {
    let counts = CallCounts::new();
    let (aws, assumer) = clients(&counts).await;
    let mut all = Vec::new();
    let mut failed = false;
    for path in &a.events {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let mut event: aws_lambda_events::event::config::ConfigEvent = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a Config rule event: {e}", path.display()))?;
        if a.no_event_data_stores {
            event.rule_parameters = Some(
                without_event_data_stores(event.rule_parameters.as_deref())
                    .map_err(|e| format!("{}: ruleParameters: {e}", path.display()))?,
            );
        }
        match trailkey::handler::handle(&aws, &assumer, &event).await {
            Ok(evals) => all.extend(evals.into_iter().map(|e| {
                json!({
                    "event": path.display().to_string(),
                    "ComplianceResourceType": e.resource_type,
                    "ComplianceResourceId": e.resource_id,
                    "ComplianceType": e.compliance.as_str(),
                    "Annotation": e.annotation,
                    "OrderingTimestamp": e.ordering_timestamp,
                })
            })),
            Err(e) => {
                failed = true;
                eprintln!("trailkey: {}: {} ({})", path.display(), e, e.error_type());
            }
        }
    }
    println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
    print_counts(a.call_counts, &counts);
    Ok(if failed { 2 } else { 0 })
}

/// `ruleParameters` with `checkEventDataStores` set to `false` (other parameters kept as is).
fn without_event_data_stores(params: Option<&str>) -> Result<String, String> {
    let mut map = match params.map(str::trim).filter(|p| !p.is_empty()) {
        None => serde_json::Map::new(),
        Some(p) => match serde_json::from_str::<serde_json::Value>(p) {
            Ok(serde_json::Value::Object(m)) => m,
            Ok(_) => return Err("expected a JSON object".into()),
            Err(e) => return Err(format!("not JSON: {e}")),
        },
    };
    map.insert("checkEventDataStores".into(), json!("false"));
    Ok(serde_json::Value::Object(map).to_string())
}
