//! Command-line arguments.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Checks that AWS KMS key policies let CloudTrail encrypt, describe and decrypt — exactly as
/// AWS evaluates them.
#[derive(Debug, Parser)]
#[command(name = "trailkey", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a key policy file against the CloudTrail requirements (exit 0 compliant, 1 not, 2 bad input).
    Check(CheckArgs),
    /// Evaluate one request against a key policy and explain the decision.
    Eval(EvalArgs),
    /// Print the policy with the missing statements added (existing statements untouched).
    Fix(CheckArgs),
    /// Read-only assessment of a live account and Region (AWS profile, region, AWS_ENDPOINT_URL).
    Scan(ScanArgs),
    /// Run the Config rule handler on event files with real SDK clients; print the evaluations put
    /// (exit 0 all compliant, 1 any NON_COMPLIANT, 2 an event failed).
    Replay(ReplayArgs),
}

/// Which AWS account and Region to talk to (else the environment's, as the AWS CLI does).
#[derive(Debug, Args)]
pub struct AwsArgs {
    /// Named profile from the AWS config and credentials files.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Region to scan (its trails, shadow trails included; every key is read in its own Region).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Profile and Region.
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Readers, accounts, Bucket Key.
    #[command(flatten)]
    pub requirements: Requirements,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: CheckFormat,
    /// Do not call ListEventDataStores (a Region without CloudTrail Lake, or a local AWS that
    /// lacks it); the output says event data stores were not checked.
    #[arg(long)]
    pub no_event_data_stores: bool,
    /// Print the AWS calls made (HTTP attempts per operation, retries included) to stderr as JSON.
    #[arg(long)]
    pub call_counts: bool,
    /// Scan every ACTIVE account of the organization (Organizations ListAccounts, from the
    /// management account or a delegated administrator), each through --role-name.
    #[arg(long, requires = "role_name")]
    pub org: bool,
    /// With --org: the role assumed in each account (arn:<partition>:iam::<account>:role/NAME);
    /// the caller's own account is scanned with the caller's credentials.
    #[arg(long, value_name = "NAME", requires = "org")]
    pub role_name: Option<String>,
    /// Accounts and keys read at the same time.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// AWS Config rule events (the Lambda payload).
    #[arg(required = true)]
    pub events: Vec<PathBuf>,
    /// Profile and Region (the rule's Region).
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Evaluate and print, but put nothing to Config.
    #[arg(long)]
    pub dry_run: bool,
    /// Set the rule parameter `checkEventDataStores` to `false` in every event.
    #[arg(long)]
    pub no_event_data_stores: bool,
    /// Print the AWS calls made (HTTP attempts per operation, retries included) to stderr as JSON.
    #[arg(long)]
    pub call_counts: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CheckFormat {
    Human,
    Json,
    Sarif,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EvalFormat {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The key policy (a policy document or `aws kms get-key-policy` output); `-` for stdin.
    #[arg(long, required_unless_present = "key_id")]
    pub policy: Option<PathBuf>,
    /// The key ARN.
    #[arg(long, required_unless_present = "key_id")]
    pub key_arn: Option<String>,
    /// Read a live key instead (key ARN, key id, alias/NAME or alias ARN): its policy, state and
    /// spec, and the trails and event data stores of the account and Region that use it.
    #[arg(long, value_name = "KEY", conflicts_with_all = ["policy", "key_arn", "key_state", "key_spec"])]
    pub key_id: Option<String>,
    /// With --key-id: profile and Region.
    #[command(flatten)]
    pub aws: AwsArgs,
    /// With --key-id: do not call ListEventDataStores.
    #[arg(long, requires = "key_id")]
    pub no_event_data_stores: bool,
    /// A trail that uses the key; optionally `ARN=BUCKET` (the trail's bucket) or
    /// `ARN=BUCKET/PREFIX` (and its S3 key prefix; `ARN=BUCKET/` for none). Without a prefix every
    /// prefix is considered.
    #[arg(long = "trail-arn")]
    pub trail_arn: Vec<String>,
    /// The trail (every `--trail-arn`) is an organization trail: member accounts' log objects
    /// live under `AWSLogs/<organization id>/<account>/`.
    #[arg(long)]
    pub organization_trail: bool,
    /// A CloudTrail Lake event data store that uses the key.
    #[arg(long = "event-data-store-arn")]
    pub event_data_store_arn: Vec<String>,
    /// Readers, accounts, Bucket Key.
    #[command(flatten)]
    pub requirements: Requirements,
    /// The key state.
    #[arg(long, default_value = "Enabled")]
    pub key_state: String,
    /// The key spec.
    #[arg(long, default_value = "SYMMETRIC_DEFAULT")]
    pub key_spec: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: CheckFormat,
}

/// What the policy must provide, shared by `check`, `fix` and `scan`.
#[derive(Debug, Args)]
pub struct Requirements {
    /// A principal ARN that must be able to decrypt the logs.
    #[arg(long)]
    pub reader: Vec<String>,
    /// An account allowed to encrypt or decrypt.
    #[arg(long = "allowed-account")]
    pub allowed_account: Vec<String>,
    /// The trails' bucket uses an S3 Bucket Key (CloudTrail then needs kms:Decrypt).
    #[arg(long)]
    pub bucket_key: bool,
    /// Warnings also make the policy non-compliant.
    #[arg(long)]
    pub strict: bool,
    /// A finding id to suppress.
    #[arg(long)]
    pub suppress: Vec<String>,
    /// The organization id (`o-...`) of the key's account: decides `aws:PrincipalOrgID` for its
    /// principals and the organization trails' log path.
    #[arg(long = "org-id")]
    pub org_id: Option<String>,
    /// Evaluate as of this time (`aws:CurrentTime`, `aws:EpochTime`): ISO 8601 or epoch
    /// seconds; default now.
    #[arg(long)]
    pub at: Option<String>,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The key policy file; `-` for stdin.
    #[arg(long)]
    pub policy: PathBuf,
    /// Who calls: a service principal, an IAM/STS ARN, an account id, or `anonymous`.
    #[arg(long)]
    pub principal: String,
    /// The action, e.g. kms:Decrypt.
    #[arg(long)]
    pub action: String,
    /// The key ARN.
    #[arg(
        long,
        default_value = "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000"
    )]
    pub resource: String,
    /// A condition key value `KEY=VALUE`; repeat a key for a multi-valued one.
    #[arg(long)]
    pub context: Vec<String>,
    /// An identity policy of the caller (repeatable). Without any, account grants are reported as
    /// "allowed through IAM delegation".
    #[arg(long = "identity-policy")]
    pub identity_policy: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: EvalFormat,
}
