//! `scan` and `replay`: the commands that talk to AWS (through `trailkey::aws`).

use crate::args::{AwsArgs, CheckArgs, CheckFormat, ReplayArgs, ScanArgs};
use serde_json::json;
use std::io::{IsTerminal, Write};
use trailkey::aws::{
    AssumeRole, AwsError, CallCounts, EventDataStoreInfo, RuleAws, SdkAssumeRole, SdkAws, TrailInfo,
};
use trailkey::checker::{CheckInput, Compliance, Report};
use trailkey::report::{render, Format};
use trailkey::rule::{ApiConfigurationItem, Evaluation, EvaluationCompliance, KeyFacts};
use trailkey::scan::{AccountOutcome, KeyReport, ScanResult, ScanVerdict};

async fn clients(
    counts: &CallCounts,
    a: &AwsArgs,
) -> Result<(trailkey::aws::SdkConfig, SdkAws, SdkAssumeRole), String> {
    let conf = trailkey::aws::load_sdk_config_for(a.profile.as_deref(), a.region.as_deref())
        .await
        .map(|c| counts.instrument(&c))?;
    Ok((conf.clone(), SdkAws::new(&conf), SdkAssumeRole::new(&conf)))
}

/// `--call-counts`: one JSON line on stderr, `{"aws_calls": {"kms:GetKeyPolicy": N, ..}}`.
fn print_counts(enabled: bool, counts: &CallCounts) {
    if enabled {
        eprintln!("{}", json!({ "aws_calls": counts.snapshot() }));
    }
}

/// An IAM role name (`[\w+=,.@-]{1,64}`, IAM User Guide, "IAM object quotas" and CreateRole).
fn valid_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

/// Exit 0 compliant, 1 non-compliant, 2 when anything could not be read.
pub async fn scan(a: &ScanArgs) -> Result<u8, String> {
    // Validate the options before any AWS call.
    let mut base = CheckInput::new("");
    crate::apply_requirements(&a.requirements, &mut base)?;
    if let Some(r) = a.role_name.as_deref().filter(|r| !valid_role_name(r)) {
        return Err(format!(
            "--role-name: `{r}` is not an IAM role name (1 to 64 letters, digits or _+=,.@-; no path)"
        ));
    }
    let counts = CallCounts::new();
    let (conf, aws, _) = clients(&counts, &a.aws).await?;
    let region = aws.region().unwrap_or_default();
    let caller = trailkey::aws::caller(&conf).await.map_err(|e| {
        let who = a
            .aws
            .profile
            .as_deref()
            .map(|p| format!("profile `{p}`"))
            .unwrap_or_else(|| "the environment's credentials".into());
        let endpoint = conf
            .endpoint_url()
            .map(|u| format!(" (endpoint {u} from AWS_ENDPOINT_URL)"))
            .unwrap_or_default();
        format!("cannot identify the account ({who}{endpoint}): {e}")
    })?;
    let account = caller.account.clone();
    // The organization, so aws:PrincipalOrgID conditions are decided: --org-id, else
    // DescribeOrganization when it is readable.
    let mut org_note = None;
    let discovered_org = match &a.requirements.org_id {
        Some(_) => None,
        None => match aws.organization_id().await {
            Ok(o) => o,
            Err(e) => {
                org_note = Some(format!(
                    "the organization id is unknown ({e}); pass --org-id to decide aws:PrincipalOrgID conditions"
                ));
                None
            }
        },
    };
    let organization = a.requirements.org_id.clone().or(discovered_org);
    base.organization_id = organization.clone();
    // --org: every ACTIVE account; the others are listed as skipped.
    let listed = if a.org {
        let all = trailkey::aws::organization_accounts(&conf)
            .await
            .map_err(|e| format!("--org: cannot list the organization's accounts from account {account} (the management account or a delegated administrator can): {e}"))?;
        Some(all)
    } else {
        None
    };
    let active: Vec<String> = listed
        .iter()
        .flatten()
        .filter(|o| o.state == "ACTIVE")
        .map(|o| o.id.clone())
        .collect();
    let mut assumer = SdkAssumeRole::new(&conf);
    assumer.session = "trailkey-scan";
    let org = match (&listed, a.role_name.as_deref()) {
        (Some(_), Some(role_name)) => Some(trailkey::scan::Organization {
            assumer: &assumer,
            partition: &caller.partition,
            role_name,
            accounts: &active,
        }),
        _ => None,
    };
    let opts = trailkey::scan::ScanOptions {
        base: &base,
        event_data_stores: !a.no_event_data_stores,
        concurrency: usize::from(a.concurrency),
    };
    let progress =
        (std::io::stderr().is_terminal() && a.org).then(indicatif::ProgressBar::new_spinner);
    let tick = || {
        if let Some(p) = &progress {
            p.inc(1);
        }
    };
    let result = trailkey::scan::scan(&account, &aws, org, &opts, &tick).await;
    if let Some(p) = &progress {
        p.finish_and_clear();
    }
    // A single-account scan whose listing failed is a failure of the command, as before.
    if !a.org {
        if let Some((_, m)) = result.failed_accounts().next() {
            return Err(format!("{m} (account {account}, Region {region})"));
        }
    }
    let verdict = result.verdict().as_str();
    let mut not_checked: Vec<String> = result
        .other_account
        .iter()
        .map(|o| {
            format!(
                "{}: key owned by {} (scan that account)",
                o.resources.join(", "),
                o.account
            )
        })
        .collect();
    if a.no_event_data_stores {
        not_checked.push("event data stores (--no-event-data-stores)".into());
    }
    let skipped: Vec<&trailkey::aws::OrgAccount> = listed
        .iter()
        .flatten()
        .filter(|o| o.state != "ACTIVE")
        .collect();
    let mut out = std::io::stdout().lock();
    let w = |e: std::io::Error| format!("cannot write output: {e}");
    match a.format {
        CheckFormat::Json => {
            let names: std::collections::BTreeMap<&str, &str> = listed
                .iter()
                .flatten()
                .map(|o| (o.id.as_str(), o.name.as_str()))
                .collect();
            let accounts: Vec<serde_json::Value> = result
                .accounts
                .iter()
                .map(|s| {
                    let mut v = json!({"account": s.account, "trails": s.trails, "event_data_stores": s.event_data_stores});
                    if let (Some(obj), Some(n)) = (v.as_object_mut(), names.get(s.account.as_str())) {
                        obj.insert("name".into(), json!(n));
                    }
                    if let (Some(obj), AccountOutcome::Failed(m)) = (v.as_object_mut(), &s.outcome) {
                        obj.insert("outcome".into(), json!("failed"));
                        obj.insert("message".into(), json!(m));
                    } else if let Some(obj) = v.as_object_mut() {
                        obj.insert("outcome".into(), json!("scanned"));
                    }
                    v
                })
                .chain(skipped.iter().map(|o| json!({"account": o.id, "name": o.name, "outcome": "skipped", "state": o.state})))
                .collect();
            let mut v = json!({
                "scanned": {"account": account, "region": region, "organization_id": organization, "organization_mode": a.org, "accounts": accounts, "trails": result.trails, "event_data_stores": result.event_data_stores, "keys": result.keys},
                "compliance": verdict,
                "reports": result.reports.iter().map(|r| json!({"key": r.report.key, "compliance": r.report.compliance, "resources": r.resources, "findings": r.report.findings, "scope": r.report.scope})).collect::<Vec<_>>(),
                "unencrypted_trails": result.unencrypted.iter().map(|r| json!({"trail": r.key, "compliance": r.compliance, "findings": r.findings})).collect::<Vec<_>>(),
                "other_account_keys": result.other_account.iter().map(|o| json!({"key": o.key, "account": o.account, "resources": o.resources})).collect::<Vec<_>>(),
                "errors": result.errors.iter().map(|e| json!({"key": e.key, "account": e.account, "resources": e.resources, "message": e.message})).collect::<Vec<_>>(),
            });
            if let (false, Some(obj)) = (not_checked.is_empty(), v.as_object_mut()) {
                obj.insert("not_checked".into(), json!(not_checked));
            }
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&v).unwrap_or_default()
            )
            .map_err(w)?;
        }
        CheckFormat::Sarif => {
            let all: Vec<Report> = result.all_reports().cloned().collect();
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&trailkey::report::sarif(&all)).unwrap_or_default()
            )
            .map_err(w)?;
        }
        CheckFormat::Human => {
            let color = std::io::stdout().is_terminal();
            let org_text = organization
                .as_deref()
                .map(|o| format!(" (organization {o})"))
                .unwrap_or_default();
            let counts_text = format!(
                "{} trails ({} encrypted), {} event data stores, {} keys",
                result.trails, result.encrypted_trails, result.event_data_stores, result.keys
            );
            if a.org {
                let failed = result.failed_accounts().count();
                writeln!(
                    out,
                    "scanned {} of {} accounts{org_text} from account {account} in {region}{}{}: {counts_text}",
                    result.accounts.len() - failed,
                    result.accounts.len() + skipped.len(),
                    if failed > 0 { format!(", {failed} failed") } else { String::new() },
                    if skipped.is_empty() { String::new() } else { format!(", {} not ACTIVE", skipped.len()) },
                )
                .map_err(w)?;
            } else {
                writeln!(
                    out,
                    "scanned account {account} in {region}{org_text}: {counts_text}"
                )
                .map_err(w)?;
            }
            for r in result.all_reports() {
                render(r, Format::Human, color, &mut out).map_err(w)?;
            }
            if result.reports.is_empty()
                && result.unencrypted.is_empty()
                && result.other_account.is_empty()
                && !a.org
            {
                writeln!(
                    out,
                    "no trail or event data store in account {account}, Region {region} uses a KMS key"
                )
                .map_err(w)?;
            }
            summary_table(&mut out, &result).map_err(w)?;
            writeln!(out, "overall: {verdict}").map_err(w)?;
        }
    }
    print_counts(a.call_counts, &counts);
    if a.no_event_data_stores {
        eprintln!("trailkey: event data stores were not checked (--no-event-data-stores)");
    }
    if let Some(n) = &org_note {
        eprintln!("trailkey: {n}");
    }
    for o in &skipped {
        eprintln!(
            "trailkey: not scanned: account {} ({}) is {}",
            o.id, o.name, o.state
        );
    }
    for (acct, m) in result.failed_accounts() {
        eprintln!("trailkey: could not scan account {acct}: {m}");
    }
    for o in &result.other_account {
        eprintln!(
            "trailkey: not checked: {} uses key `{}` owned by {} (scan that account)",
            o.resources.join(", "),
            o.key,
            o.account
        );
    }
    for e in &result.errors {
        if e.resources.is_empty() {
            eprintln!(
                "trailkey: could not read `{}` in account {}: {}",
                e.key, e.account, e.message
            );
        } else {
            eprintln!(
                "trailkey: could not read `{}` (used by {}): {}",
                e.key,
                e.resources.join(", "),
                e.message
            );
        }
    }
    Ok(match result.verdict() {
        _ if !result.errors.is_empty() || result.failed_accounts().next().is_some() => 2,
        ScanVerdict::Compliant => 0,
        _ => 1,
    })
}

fn compliance_str(c: Compliance) -> &'static str {
    match c {
        Compliance::Compliant => "COMPLIANT",
        Compliance::NonCompliant => "NON_COMPLIANT",
    }
}

/// The Sid of the statement(s) a fix adds, `-` when none.
fn fix_hint(fix: &serde_json::Value) -> String {
    use serde_json::Value;
    match fix {
        Value::String(s) if !s.is_empty() => s.clone(),
        Value::Object(o) => match (o.get("Sid"), o.get("Statement")) {
            (Some(Value::String(sid)), _) if !sid.is_empty() => sid.clone(),
            (_, Some(inner)) => fix_hint(inner),
            _ => "(statement without Sid)".into(),
        },
        Value::Array(a) => {
            let sids: Vec<String> = a.iter().map(fix_hint).filter(|s| s != "-").collect();
            if sids.is_empty() {
                "-".into()
            } else {
                sids.join(", ")
            }
        }
        _ => "-".into(),
    }
}

/// The closing table of `scan`: resource | key | verdict | first finding | fix.
fn summary_table(out: &mut impl Write, result: &ScanResult) -> std::io::Result<()> {
    let short = |arn: &str| arn.rsplit(['/', ':']).next().unwrap_or(arn).to_string();
    let mut rows: Vec<[String; 5]> = Vec::new();
    let first = |r: &Report| -> (String, String) {
        r.findings
            .first()
            .map(|f| {
                (
                    f.id.to_string(),
                    f.fix.as_ref().map(fix_hint).unwrap_or_else(|| "-".into()),
                )
            })
            .unwrap_or_else(|| ("-".into(), "-".into()))
    };
    for KeyReport {
        report: r,
        resources,
    } in &result.reports
    {
        let (f, fix) = first(r);
        for resource in resources {
            rows.push([
                short(resource),
                short(&r.key),
                compliance_str(r.compliance).into(),
                f.clone(),
                fix.clone(),
            ]);
        }
    }
    for r in &result.unencrypted {
        let (f, _) = first(r);
        rows.push([
            short(&r.key),
            "-".into(),
            compliance_str(r.compliance).into(),
            f,
            "set the trail's KmsKeyId".into(),
        ]);
    }
    for o in &result.other_account {
        for t in &o.resources {
            rows.push([
                short(t),
                short(&o.key),
                "NOT_CHECKED".into(),
                format!("key owned by {}", o.account),
                "scan that account".into(),
            ]);
        }
    }
    for e in &result.errors {
        let m: String = e.message.chars().take(60).collect();
        for resource in &e.resources {
            rows.push([
                short(resource),
                short(&e.key),
                "UNKNOWN".into(),
                m.clone(),
                "-".into(),
            ]);
        }
    }
    for (acct, m) in result.failed_accounts() {
        let m: String = m.chars().take(60).collect();
        rows.push([
            format!("account {acct}"),
            "-".into(),
            "UNKNOWN".into(),
            m,
            "check --role-name there".into(),
        ]);
    }
    if rows.is_empty() {
        return Ok(());
    }
    let header = ["resource", "key", "verdict", "first finding", "fix"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    writeln!(out)?;
    let line = |cells: [&str; 5]| -> String {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join(" | ")
            .trim_end()
            .to_string()
    };
    writeln!(out, "{}", line(header))?;
    for row in &rows {
        writeln!(out, "{}", line(row.each_ref().map(String::as_str)))?;
    }
    Ok(())
}

/// What `check --key-id` read.
pub enum LiveKey {
    /// The key policy text.
    Policy(String),
    /// KMS says the key is deleted or unusable (its message).
    Unusable(String),
}

/// `check --key-id KEY`: resolves KEY (ARN, id, alias) with `DescribeKey`, reads the policy,
/// state and spec, and adds the trails and event data stores of the account and Region that use
/// the key to `input` (besides any `--trail-arn` given).
pub async fn read_key(a: &CheckArgs, key: &str, input: &mut CheckInput) -> Result<LiveKey, String> {
    let counts = CallCounts::new();
    let (_, aws, _) = clients(&counts, &a.aws).await?;
    let arn = match aws.key_arn(key).await {
        Ok(arn) => arn,
        Err(e) if e.key_unusable() => {
            input.key_arn = key.to_string();
            return Ok(LiveKey::Unusable(e.message));
        }
        Err(e) => return Err(e.to_string()),
    };
    input.key_arn = arn.clone();
    let facts = match aws.key(&arn).await {
        Ok(f) => f,
        Err(e) if e.key_unusable() => return Ok(LiveKey::Unusable(e.message)),
        Err(e) => return Err(e.to_string()),
    };
    let trails = aws.trails().await.map_err(|e| e.to_string())?;
    let stores = if a.no_event_data_stores {
        Vec::new()
    } else {
        aws.event_data_stores()
            .await
            .map_err(|e| format!("{e} (--no-event-data-stores skips event data stores)"))?
    };
    for (k, u) in trailkey::handler::users_by_key(&trails, &stores) {
        if trailkey::handler::same_key(&k, &arn) {
            for t in u.trails {
                if !input.trails.iter().any(|x| x.arn == t.arn) {
                    input.trails.push(t);
                }
            }
            for e in u.event_data_stores {
                if !input.event_data_stores.contains(&e) {
                    input.event_data_stores.push(e);
                }
            }
        }
    }
    input.key_state = facts.key_state;
    input.key_spec = facts.key_spec;
    Ok(LiveKey::Policy(facts.policy))
}

/// `replay --dry-run`: every read goes to AWS, `PutEvaluations` goes nowhere (and so cannot
/// fail).
struct DryRun(Box<dyn RuleAws>);

#[async_trait::async_trait]
impl RuleAws for DryRun {
    fn region(&self) -> Option<String> {
        self.0.region()
    }
    async fn key(&self, key_arn: &str) -> Result<KeyFacts, AwsError> {
        self.0.key(key_arn).await
    }
    async fn trails(&self) -> Result<Vec<TrailInfo>, AwsError> {
        self.0.trails().await
    }
    async fn event_data_stores(&self) -> Result<Vec<EventDataStoreInfo>, AwsError> {
        self.0.event_data_stores().await
    }
    async fn organization_id(&self) -> Result<Option<String>, AwsError> {
        self.0.organization_id().await
    }
    async fn latest_item(
        &self,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<ApiConfigurationItem, AwsError> {
        self.0.latest_item(resource_type, resource_id).await
    }
    async fn put_evaluations(
        &self,
        _evaluations: &[Evaluation],
        _result_token: &str,
    ) -> Result<Vec<Evaluation>, AwsError> {
        Ok(Vec::new())
    }
}

/// `replay --dry-run` in organization mode: the assumed role's clients put nothing either.
struct DryAssume(SdkAssumeRole);

#[async_trait::async_trait]
impl AssumeRole for DryAssume {
    async fn assume(
        &self,
        account: &str,
        partition: &str,
        role_name: &str,
    ) -> Result<Box<dyn RuleAws>, AwsError> {
        let inner = self.0.assume(account, partition, role_name).await?;
        Ok(Box::new(DryRun(inner)))
    }
}

/// Prints the evaluations put (or, with `--dry-run`, made) for each event, as one JSON array.
/// Exit 0 all compliant, 1 any NON_COMPLIANT, 2 an event failed.
pub async fn replay(a: &ReplayArgs) -> Result<u8, String> {
    let counts = CallCounts::new();
    let (_, sdk, sdk_assumer) = clients(&counts, &a.aws).await?;
    let (aws, assumer): (Box<dyn RuleAws>, Box<dyn AssumeRole>) = if a.dry_run {
        (
            Box::new(DryRun(Box::new(sdk))),
            Box::new(DryAssume(sdk_assumer)),
        )
    } else {
        (Box::new(sdk), Box::new(sdk_assumer))
    };
    let mut non_compliant = false;
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
        match trailkey::handler::handle(aws.as_ref(), assumer.as_ref(), &event).await {
            Ok(evals) => all.extend(evals.into_iter().map(|e| {
                non_compliant |= e.compliance == EvaluationCompliance::NonCompliant;
                json!({
                    "event": path.display().to_string(),
                    "ComplianceResourceType": e.resource_type,
                    "ComplianceResourceId": e.resource_id,
                    "ComplianceType": e.compliance.as_str(),
                    "Annotation": e.annotation,
                    "OrderingTimestamp": e.ordering_timestamp,
                    "findings": e.findings,
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
    if a.dry_run {
        eprintln!("trailkey: dry run: nothing was put to Config");
    }
    Ok(if failed {
        2
    } else if non_compliant {
        1
    } else {
        0
    })
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
