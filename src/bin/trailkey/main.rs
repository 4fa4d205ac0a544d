//! The `trailkey` CLI: check, explain, fix.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod live;

use args::{CheckArgs, CheckFormat, Cli, Command, EvalArgs, EvalFormat};
use clap::Parser;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use trailkey::checker::{check, fix_policy, CheckInput, Compliance, FindingId, Report, Trail};
use trailkey::eval::{evaluate, Context, Outcome, Request, RequestPrincipal};
use trailkey::policy::{Policy, PolicyError};
use trailkey::report::{render, Format};

/// Exit codes: findings apart from failures.
const EXIT_NON_COMPLIANT: u8 = 1;
const EXIT_BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_BAD_INPUT } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Check(a) => run_check(&a),
        Command::Fix(a) => run_fix(&a),
        Command::Eval(a) => run_eval(&a),
        Command::Scan(a) => runtime().and_then(|rt| rt.block_on(live::scan(&a))),
        Command::Replay(a) => runtime().and_then(|rt| rt.block_on(live::replay(&a))),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("trailkey: {message}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

fn read_file(path: &Path) -> Result<String, String> {
    let (bytes, name) = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        (bytes, "stdin".to_string())
    } else {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        (bytes, format!("`{}`", path.display()))
    };
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{name} is not UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        )
    })
}

fn policy_error(path: &Path, e: &PolicyError) -> String {
    let mut s = format!("{}: {e}", path.display());
    if let Some(h) = e.help() {
        s.push_str(&format!("\n  help: {h}"));
    }
    s
}

fn load_policy(path: &Path) -> Result<Policy, String> {
    Policy::parse(&read_file(path)?).map_err(|e| policy_error(path, &e))
}

/// The check's input from the options; `live` (with `--key-id`) when the key, its state and
/// its users come from AWS.
fn check_input(a: &CheckArgs, live: bool) -> Result<CheckInput, String> {
    if !live && a.trail_arn.is_empty() && a.event_data_store_arn.is_empty() {
        return Err("give at least one --trail-arn or --event-data-store-arn".into());
    }
    let key_arn = a.key_arn.clone().unwrap_or_default();
    if !live && (trailkey::policy::arn_account(&key_arn).is_none() || !key_arn.contains(":kms:")) {
        return Err(format!("--key-arn: `{key_arn}` is not a KMS key ARN"));
    }
    let mut input = CheckInput::new(key_arn);
    for t in &a.trail_arn {
        let (arn, bucket, prefix) = match t.split_once('=') {
            // Bucket names cannot contain `/`: what follows the first one is the S3 key prefix.
            Some((arn, b)) => match b.split_once('/') {
                Some((b, p)) => (arn.to_string(), Some(b.to_string()), Some(p.to_string())),
                None => (arn.to_string(), Some(b.to_string()), None),
            },
            None => (t.clone(), None, None),
        };
        if bucket.as_deref() == Some("") {
            return Err(format!("--trail-arn: `{t}` names an empty bucket"));
        }
        if !arn.contains(":cloudtrail:")
            || !arn.contains(":trail/")
            || trailkey::policy::arn_account(&arn).is_none()
        {
            return Err(format!(
                "--trail-arn: `{arn}` is not a CloudTrail trail ARN"
            ));
        }
        input.trails.push(Trail {
            arn,
            bucket,
            s3_key_prefix: prefix.map(|p| p.trim_end_matches('/').to_string()),
            is_organization_trail: a.organization_trail,
        });
    }
    for e in &a.event_data_store_arn {
        if !e.contains(":eventdatastore/") || trailkey::policy::arn_account(e).is_none() {
            return Err(format!(
                "--event-data-store-arn: `{e}` is not an event data store ARN"
            ));
        }
        input.event_data_stores.push(e.clone());
    }
    input.key_state = a.key_state.clone();
    input.key_spec = a.key_spec.clone();
    apply_requirements(&a.requirements, &mut input)?;
    Ok(input)
}

/// Validates the shared requirement options and copies them into `input`.
pub(crate) fn apply_requirements(
    r: &args::Requirements,
    input: &mut CheckInput,
) -> Result<(), String> {
    for reader in &r.reader {
        RequestPrincipal::parse(reader).map_err(|m| format!("--reader: {m}"))?;
    }
    input.readers = r.reader.clone();
    for acct in &r.allowed_account {
        if !trailkey::policy::is_account_id(acct) {
            return Err(format!(
                "--allowed-account: `{acct}` is not a 12-digit account id"
            ));
        }
    }
    input.allowed_accounts = r.allowed_account.clone();
    input.bucket_key = r.bucket_key;
    input.strict = r.strict;
    if let Some(o) = &r.org_id {
        if !trailkey::policy::is_organization_id(o) {
            return Err(format!(
                "--org-id: `{o}` is not an organization id (o- and 10 to 32 lowercase letters or digits)"
            ));
        }
        input.organization_id = Some(o.clone());
    }
    if let Some(at) = &r.at {
        let ms = trailkey::policy::value::parse_date(at).ok_or_else(|| {
            format!("--at: `{at}` is not a time (ISO 8601, e.g. 2026-06-30T12:00:00Z, or epoch seconds)")
        })?;
        input.evaluation_time = Some(ms.div_euclid(1000));
    }
    for s in &r.suppress {
        input.suppress.push(
            FindingId::from_name(s)
                .ok_or_else(|| format!("--suppress: unknown finding id `{s}`"))?,
        );
    }
    Ok(())
}

/// The policy and the input: from the options, or (`--key-id`) read from AWS. A key KMS reports
/// deleted or unusable gives its report directly.
fn policy_and_input(a: &CheckArgs) -> Result<Result<(Policy, CheckInput), Report>, String> {
    let mut input = check_input(a, a.key_id.is_some())?;
    match (&a.key_id, &a.policy) {
        (Some(key), _) => match runtime()?.block_on(live::read_key(a, key, &mut input))? {
            live::LiveKey::Policy(text) => {
                let policy = Policy::parse(&text)
                    .map_err(|e| format!("the policy of `{}`: {e}", input.key_arn))?;
                Ok(Ok((policy, input)))
            }
            live::LiveKey::Unusable(reason) => {
                Ok(Err(trailkey::checker::unusable_key_report(&input, &reason)))
            }
        },
        (None, Some(path)) => Ok(Ok((load_policy(path)?, input))),
        (None, None) => Err("give --policy or --key-id".into()),
    }
}

fn run_check(a: &CheckArgs) -> Result<u8, String> {
    let report = match policy_and_input(a)? {
        Ok((policy, input)) => check(&policy, &input),
        Err(report) => report,
    };
    let format = match a.format {
        CheckFormat::Human => Format::Human,
        CheckFormat::Json => Format::Json,
        CheckFormat::Sarif => Format::Sarif,
    };
    let stdout = std::io::stdout();
    let color = stdout.is_terminal();
    render(&report, format, color, &mut stdout.lock())
        .map_err(|e| format!("cannot write output: {e}"))?;
    Ok(match report.compliance {
        Compliance::Compliant => 0,
        Compliance::NonCompliant => EXIT_NON_COMPLIANT,
    })
}

fn run_fix(a: &CheckArgs) -> Result<u8, String> {
    let (policy, input) = match policy_and_input(a)? {
        Ok(pi) => pi,
        Err(report) => {
            return Err(report
                .findings
                .first()
                .map(|f| f.message.clone())
                .unwrap_or_else(|| "the key cannot be used".into()))
        }
    };
    let outcome = fix_policy(&policy, &input);
    let text = serde_json::to_string_pretty(&outcome.document).map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(|e| format!("cannot write output: {e}"))?;
    for f in &outcome.unfixable {
        eprintln!(
            "trailkey: not fixable by adding statements: {} {}: {}",
            f.id, f.resource, f.message
        );
    }
    Ok(if outcome.unfixable.is_empty() {
        0
    } else {
        EXIT_NON_COMPLIANT
    })
}

fn run_eval(a: &EvalArgs) -> Result<u8, String> {
    let policy = load_policy(&a.policy)?;
    let principal =
        RequestPrincipal::parse(&a.principal).map_err(|m| format!("--principal: {m}"))?;
    let mut context = Context::new();
    for kv in &a.context {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("--context: `{kv}` is not KEY=VALUE"))?;
        context.add(k.trim(), v);
    }
    let identity = if a.identity_policy.is_empty() {
        None
    } else {
        let mut v = Vec::new();
        for p in &a.identity_policy {
            v.push(Policy::parse_identity(&read_file(p)?).map_err(|e| policy_error(p, &e))?);
        }
        Some(v)
    };
    let request = Request {
        principal,
        action: a.action.clone(),
        resource: a.resource.clone(),
        context,
    }
    .with_principal_context();
    let d = evaluate(&policy, &request, identity.as_deref());
    let mut out = std::io::stdout().lock();
    let w = |r: std::io::Result<()>| r.map_err(|e| format!("cannot write output: {e}"));
    match a.format {
        EvalFormat::Json => {
            let v = serde_json::json!({
                "decision": d.decision,
                "via": d.via,
                "statements": d.statements,
                "failed_conditions": d.failed_conditions,
                "requires_identity_policy": d.requires_identity_policy,
                "note": d.note,
            });
            w(writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&v).unwrap_or_default()
            ))?;
        }
        EvalFormat::Human => {
            let via = match d.via {
                Some(trailkey::eval::Via::KeyPolicy) => " (key policy)",
                Some(trailkey::eval::Via::IamDelegation) => " (through IAM delegation)",
                None => "",
            };
            w(writeln!(out, "{:?}{via}", d.decision))?;
            for s in &d.statements {
                w(writeln!(out, "  statement {}", s.label()))?;
            }
            for f in &d.failed_conditions {
                w(writeln!(out, "  {}", f.describe()))?;
            }
            if let Some(n) = &d.note {
                w(writeln!(out, "  {n}"))?;
            }
        }
    }
    Ok(if d.decision == Outcome::Allow {
        0
    } else {
        EXIT_NON_COMPLIANT
    })
}
