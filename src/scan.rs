//! `trailkey scan`: the trails and event data stores of one account, or of every account of an
//! organization (through a role in each), grouped by key; each key read once, with its owner's
//! clients, in its own Region, and checked. Nothing here prints: the binary renders the
//! [`ScanResult`].
//!
//! One account's failure (AssumeRole refused, DescribeTrails denied) is recorded against that
//! account and never stops the others; the overall verdict is then never COMPLIANT.

use crate::aws::{AssumeRole, EventDataStoreInfo, RuleAws, TrailInfo};
use crate::checker::{check_text, unencrypted_trail_report, unusable_key_report};
use crate::checker::{CheckInput, Compliance, Report};
use crate::handler::{unencrypted_trails, users_by_key, KeyUsers};
use futures::stream::{self, StreamExt};
use std::collections::BTreeMap;

/// What to scan besides the caller's own account.
pub struct Organization<'a> {
    /// Assumes the role in each member account.
    pub assumer: &'a dyn AssumeRole,
    /// The partition of the role ARNs (`aws`).
    pub partition: &'a str,
    /// The role name in every account (`arn:<partition>:iam::<account>:role/<role_name>`).
    pub role_name: &'a str,
    /// The accounts to scan (Organizations `ListAccounts`, ACTIVE ones); the caller's own account
    /// among them is scanned with the caller's clients.
    pub accounts: &'a [String],
}

/// How to scan.
pub struct ScanOptions<'a> {
    /// The requirements (readers, allowed accounts, organization id, ...); `key_arn`, `trails`
    /// and `event_data_stores` are filled in per key.
    pub base: &'a CheckInput,
    /// Call `ListEventDataStores`.
    pub event_data_stores: bool,
    /// Accounts (and keys) read at the same time.
    pub concurrency: usize,
}

/// One key's report and the resources (trail and event data store ARNs) that use the key.
#[derive(Debug, Clone)]
pub struct KeyReport {
    /// The report.
    pub report: Report,
    /// Trails and event data stores that use the key.
    pub resources: Vec<String>,
}

/// A key the scan did not check: its owner is not among the scanned accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherAccountKey {
    /// The key.
    pub key: String,
    /// The account that owns it.
    pub account: String,
    /// Trails and event data stores that use it.
    pub resources: Vec<String>,
}

/// Something that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// The key (`*` for a listing).
    pub key: String,
    /// The account whose read failed.
    pub account: String,
    /// Trails and event data stores whose verdict is therefore unknown.
    pub resources: Vec<String>,
    /// The error.
    pub message: String,
}

/// How an account's scan went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountOutcome {
    /// Its trails (and event data stores) were listed.
    Scanned,
    /// It could not be scanned (the error names the call and the role).
    Failed(String),
}

/// One scanned account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountScan {
    /// The account id.
    pub account: String,
    /// How it went.
    pub outcome: AccountOutcome,
    /// Trails listed (each once).
    pub trails: usize,
    /// Event data stores listed.
    pub event_data_stores: usize,
}

/// What `scan` found.
#[derive(Debug, Clone, Default)]
pub struct ScanResult {
    /// Each account, in the order given.
    pub accounts: Vec<AccountScan>,
    /// Distinct trails (shadow trails and organization trails listed in several accounts once).
    pub trails: usize,
    /// Distinct trails with a KMS key.
    pub encrypted_trails: usize,
    /// Event data stores.
    pub event_data_stores: usize,
    /// Distinct keys named by trails and event data stores.
    pub keys: usize,
    /// One report per key read.
    pub reports: Vec<KeyReport>,
    /// Trails without a KMS key (TRAIL_NOT_ENCRYPTED).
    pub unencrypted: Vec<Report>,
    /// Keys of accounts outside the scan.
    pub other_account: Vec<OtherAccountKey>,
    /// Reads that failed.
    pub errors: Vec<ReadError>,
}

/// The overall verdict of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanVerdict {
    /// Everything read is compliant and nothing failed.
    Compliant,
    /// Something is NON_COMPLIANT.
    NonCompliant,
    /// Nothing is NON_COMPLIANT, but something could not be read: never COMPLIANT.
    Unknown,
}

impl ScanVerdict {
    /// `COMPLIANT`, `NON_COMPLIANT`, `UNKNOWN`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScanVerdict::Compliant => "COMPLIANT",
            ScanVerdict::NonCompliant => "NON_COMPLIANT",
            ScanVerdict::Unknown => "UNKNOWN",
        }
    }
}

impl ScanResult {
    /// Every report: one per key, then the unencrypted trails.
    pub fn all_reports(&self) -> impl Iterator<Item = &Report> {
        self.reports
            .iter()
            .map(|r| &r.report)
            .chain(&self.unencrypted)
    }

    /// NON_COMPLIANT if any report is; else UNKNOWN if a read or an account failed.
    pub fn verdict(&self) -> ScanVerdict {
        if self
            .all_reports()
            .any(|r| r.compliance == Compliance::NonCompliant)
        {
            ScanVerdict::NonCompliant
        } else if !self.errors.is_empty() || self.failed_accounts().next().is_some() {
            ScanVerdict::Unknown
        } else {
            ScanVerdict::Compliant
        }
    }

    /// Accounts that could not be scanned, with the reason.
    pub fn failed_accounts(&self) -> impl Iterator<Item = (&str, &str)> {
        self.accounts.iter().filter_map(|a| match &a.outcome {
            AccountOutcome::Failed(m) => Some((a.account.as_str(), m.as_str())),
            AccountOutcome::Scanned => None,
        })
    }
}

/// What one account listed.
struct Listed {
    scan: AccountScan,
    /// The account's clients (`None` when it failed).
    clients: Option<Clients>,
    trails: Vec<TrailInfo>,
    stores: Vec<EventDataStoreInfo>,
    error: Option<ReadError>,
}

/// An account's clients: the caller's own, or assumed ones.
enum Clients {
    Own,
    Assumed(Box<dyn RuleAws>),
}

async fn list_account(
    account: &str,
    own_account: &str,
    own: &dyn RuleAws,
    org: Option<&Organization<'_>>,
    opts: &ScanOptions<'_>,
) -> Listed {
    let failed = |message: String| Listed {
        scan: AccountScan {
            account: account.to_string(),
            outcome: AccountOutcome::Failed(message),
            trails: 0,
            event_data_stores: 0,
        },
        clients: None,
        trails: Vec::new(),
        stores: Vec::new(),
        error: None,
    };
    let clients = match org {
        Some(o) if account != own_account => {
            match o.assumer.assume(account, o.partition, o.role_name).await {
                Ok(c) => Clients::Assumed(c),
                Err(e) => return failed(e.to_string()),
            }
        }
        _ => Clients::Own,
    };
    let aws: &dyn RuleAws = match &clients {
        Clients::Own => own,
        Clients::Assumed(c) => c.as_ref(),
    };
    let trails = match aws.trails().await {
        Ok(t) => t,
        Err(e) => return failed(e.to_string()),
    };
    let (stores, error) = if opts.event_data_stores {
        match aws.event_data_stores().await {
            Ok(s) => (s, None),
            Err(e) => (
                Vec::new(),
                Some(ReadError {
                    key: "*".into(),
                    account: account.to_string(),
                    resources: Vec::new(),
                    message: e.to_string(),
                }),
            ),
        }
    } else {
        (Vec::new(), None)
    };
    Listed {
        scan: AccountScan {
            account: account.to_string(),
            outcome: AccountOutcome::Scanned,
            trails: unencrypted_trails(&trails).len()
                + users_by_key(&trails, &[])
                    .values()
                    .map(|u| u.trails.len())
                    .sum::<usize>(),
            event_data_stores: stores.len(),
        },
        clients: Some(clients),
        trails,
        stores,
        error,
    }
}

/// Scans `own_account` with `own`, or (with `org`) every account of the organization; `tick` is
/// called once per account listed and once per key read (a progress bar).
pub async fn scan(
    own_account: &str,
    own: &dyn RuleAws,
    org: Option<Organization<'_>>,
    opts: &ScanOptions<'_>,
    tick: &(dyn Fn() + Sync),
) -> ScanResult {
    let accounts: Vec<String> = match &org {
        Some(o) => o.accounts.to_vec(),
        None => vec![own_account.to_string()],
    };
    let concurrency = opts.concurrency.max(1);
    let listed: Vec<Listed> = stream::iter(&accounts)
        .map(|a| {
            let org = org.as_ref();
            async move {
                let l = list_account(a, own_account, own, org, opts).await;
                tick();
                l
            }
        })
        .buffered(concurrency)
        .collect()
        .await;

    let mut result = ScanResult::default();
    let mut all_trails: Vec<TrailInfo> = Vec::new();
    let mut all_stores: Vec<EventDataStoreInfo> = Vec::new();
    let mut clients: BTreeMap<String, &dyn RuleAws> = BTreeMap::new();
    // Which account listed each key first: a bare key id names a key of that account.
    let mut lister: BTreeMap<String, String> = BTreeMap::new();
    for l in &listed {
        result.accounts.push(l.scan.clone());
        if let Some(e) = &l.error {
            result.errors.push(e.clone());
        }
        if let Some(c) = &l.clients {
            clients.insert(
                l.scan.account.clone(),
                match c {
                    Clients::Own => own,
                    Clients::Assumed(b) => b.as_ref(),
                },
            );
        }
        let named = l
            .trails
            .iter()
            .filter_map(|t| t.kms_key_id.clone())
            .chain(l.stores.iter().filter_map(|s| s.kms_key_id.clone()));
        for k in named {
            lister.entry(k).or_insert_with(|| l.scan.account.clone());
        }
        all_trails.extend(l.trails.iter().cloned());
        all_stores.extend(l.stores.iter().cloned());
    }
    result.event_data_stores = all_stores.len();
    for t in unencrypted_trails(&all_trails) {
        let mut input = opts.base.clone();
        input.key_arn = t.arn;
        result.unencrypted.push(unencrypted_trail_report(&input));
    }
    let users = users_by_key(&all_trails, &all_stores);
    result.encrypted_trails = users.values().map(|u| u.trails.len()).sum();
    result.trails = result.unencrypted.len() + result.encrypted_trails;
    result.keys = users.len();

    let failed: BTreeMap<String, String> = result
        .failed_accounts()
        .map(|(a, m)| (a.to_string(), m.to_string()))
        .collect();
    let mut to_read: Vec<ToRead<'_>> = Vec::new();
    let mut errors: Vec<ReadError> = Vec::new();
    for (key, u) in users {
        let resources: Vec<String> = u
            .trails
            .iter()
            .map(|t| t.arn.clone())
            .chain(u.event_data_stores.iter().cloned())
            .collect();
        let owner = crate::policy::arn_account(&key)
            .map(str::to_string)
            .or_else(|| lister.get(&key).cloned())
            .unwrap_or_else(|| own_account.to_string());
        match (clients.get(&owner), failed.get(&owner)) {
            (Some(c), _) => to_read.push(ToRead {
                key,
                owner,
                users: u,
                resources,
                aws: *c,
            }),
            (None, Some(why)) => errors.push(ReadError {
                key,
                account: owner,
                resources,
                message: format!("the key's account could not be scanned: {why}"),
            }),
            // A key in an account outside the scan (an organization trail's, seen from a
            // member account): its owner's scan checks it.
            (None, None) => result.other_account.push(OtherAccountKey {
                key,
                account: owner,
                resources,
            }),
        }
    }
    let read: Vec<(Option<KeyReport>, Option<ReadError>)> = stream::iter(to_read)
        .map(|t| async move {
            let r = read_key(t, opts.base).await;
            tick();
            r
        })
        .buffered(concurrency)
        .collect()
        .await;
    for (report, error) in read {
        result.reports.extend(report);
        errors.extend(error);
    }
    result.errors.extend(errors);
    result
}

/// A key to read, with the clients of the account that owns it.
struct ToRead<'a> {
    key: String,
    owner: String,
    users: KeyUsers,
    resources: Vec<String>,
    aws: &'a dyn RuleAws,
}

async fn read_key(t: ToRead<'_>, base: &CheckInput) -> (Option<KeyReport>, Option<ReadError>) {
    let ToRead {
        key,
        owner,
        users: u,
        resources,
        aws,
    } = t;
    let mut input = base.clone();
    input.key_arn = key.clone();
    match aws.key(&key).await {
        Ok(facts) => {
            input.key_arn = facts.key_arn.clone();
            input.trails = u.trails;
            input.event_data_stores = u.event_data_stores;
            input.key_state = facts.key_state;
            input.key_spec = facts.key_spec;
            let report = check_text(&facts.policy, &input);
            (Some(KeyReport { report, resources }), None)
        }
        // Deleted or not usable in its own Region: a finding on what uses it, as the Config
        // rule reports it.
        Err(e) if e.key_unusable() => (
            Some(KeyReport {
                report: unusable_key_report(&input, &e.message),
                resources,
            }),
            None,
        ),
        Err(e) => (
            None,
            Some(ReadError {
                account: owner,
                key,
                resources,
                message: e.to_string(),
            }),
        ),
    }
}
