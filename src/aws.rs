//! AWS I/O: the only module that imports `aws_sdk_*`. The handler sees the small [`RuleAws`]
//! trait, so tests replace the SDK with fakes.

use crate::rule::{ApiConfigurationItem, Evaluation, KeyFacts};
use async_trait::async_trait;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::DateTime;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use thiserror::Error;

/// The loaded SDK configuration (region, credentials, endpoint, retries).
pub use aws_config::SdkConfig;

/// Retries and timeouts of every AWS client the binaries build ([`SdkSettings::load`]).
///
/// The defaults are for the Config rule Lambda (300 s function timeout) and `trailkey scan`:
/// - **standard retry mode, 5 attempts** (the SDK default is 3): a periodic sweep reads many keys
///   8 at a time and CloudTrail's and Config's control-plane quotas are low, so throttling is
///   expected in big accounts; standard mode retries throttling, 5xx and timeouts with
///   exponential backoff and jitter (1 s initial, 20 s cap) under the SDK's retry quota, so an
///   outage does not turn into a retry storm;
/// - **connect 3 s**: an endpoint that does not accept a connection in 3 s is down;
/// - **10 s per attempt**: every call the rule makes returns in well under a second normally;
/// - **30 s per operation** (all attempts and backoff): one stuck call cannot eat the
///   function's 300 s, and the error names the call instead of a Lambda timeout naming nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkSettings {
    /// Attempts per operation, the first included.
    pub max_attempts: u32,
    /// Backoff before the first retry (doubled per retry, with jitter).
    pub initial_backoff: Duration,
    /// Longest backoff between attempts.
    pub max_backoff: Duration,
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Timeout of one attempt (request sent to response read).
    pub attempt_timeout: Duration,
    /// Timeout of a whole operation, retries and backoff included.
    pub operation_timeout: Duration,
}

impl Default for SdkSettings {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(3),
            attempt_timeout: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(30),
        }
    }
}

impl SdkSettings {
    /// Sets the retry and timeout configuration on `loader` (anything else, such as the HTTP
    /// client, the region or credentials, stays the caller's).
    pub fn apply(&self, loader: aws_config::ConfigLoader) -> aws_config::ConfigLoader {
        loader
            .retry_config(
                aws_config::retry::RetryConfig::standard()
                    .with_max_attempts(self.max_attempts)
                    .with_initial_backoff(self.initial_backoff)
                    .with_max_backoff(self.max_backoff),
            )
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(self.connect_timeout)
                    .operation_attempt_timeout(self.attempt_timeout)
                    .operation_timeout(self.operation_timeout)
                    .build(),
            )
    }

    /// Loads the configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`)
    /// with these retries and timeouts.
    pub async fn load(&self) -> aws_config::SdkConfig {
        self.apply(aws_config::defaults(aws_config::BehaviorVersion::latest()))
            .load()
            .await
    }
}

/// The SDK configuration both binaries use: the environment's, with [`SdkSettings::default`].
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    SdkSettings::default().load().await
}

/// [`load_sdk_config`] with a named profile and Region (`trailkey scan --profile --region`);
/// `None` keeps the environment's. Without any Region the error says how to give one.
pub async fn load_sdk_config_for(
    profile: Option<&str>,
    region: Option<&str>,
) -> Result<aws_config::SdkConfig, String> {
    let mut loader =
        SdkSettings::default().apply(aws_config::defaults(aws_config::BehaviorVersion::latest()));
    if let Some(p) = profile {
        if !profile_defined(p) {
            return Err(format!(
                "profile `{p}` is not defined in {} or {}",
                profile_file("AWS_CONFIG_FILE", "config"),
                profile_file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
            ));
        }
        loader = loader.profile_name(p);
    }
    if let Some(r) = region {
        loader = loader.region(aws_config::Region::new(r.to_string()));
    }
    let conf = loader.load().await;
    if conf.region().is_none() {
        return Err(match profile {
            Some(p) => format!(
                "no AWS Region: profile `{p}` sets none (is it defined?); pass --region or set AWS_REGION"
            ),
            None => "no AWS Region: pass --region or set AWS_REGION".into(),
        });
    }
    Ok(conf)
}

/// The AWS config or credentials file: `$VAR`, else `~/.aws/<name>`.
fn profile_file(var: &str, name: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_else(|_| "~".into());
        format!("{home}/.aws/{name}")
    })
}

/// Is `profile` a section of the config file (`[profile NAME]`, or `[default]`) or of the
/// credentials file (`[NAME]`)? Asked before loading so that a typo is one clear error, not
/// the SDK's fall-through to instance metadata.
pub fn profile_defined(profile: &str) -> bool {
    let sections = |path: String| -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().strip_prefix('['))
            .filter_map(|l| l.strip_suffix(']'))
            .map(|l| l.trim().to_string())
            .collect()
    };
    let config = sections(profile_file("AWS_CONFIG_FILE", "config"));
    let credentials = sections(profile_file("AWS_SHARED_CREDENTIALS_FILE", "credentials"));
    config.iter().any(|s| {
        s.strip_prefix("profile")
            .is_some_and(|rest| rest.starts_with(char::is_whitespace) && rest.trim() == profile)
            || (s == "default" && profile == "default")
    }) || credentials.iter().any(|s| s == profile)
}

/// The organization of the client's account (`organizations:DescribeOrganization`, which
/// member accounts may call too): `Ok(None)` when the account belongs to no organization
/// (`AWSOrganizationsNotInUseException`); any other failure (AccessDenied included) is an
/// error, so the caller can say why the id is unknown.
async fn describe_organization(
    client: &aws_sdk_organizations::Client,
) -> Result<Option<String>, AwsError> {
    match client.describe_organization().send().await {
        Ok(out) => Ok(out.organization.and_then(|o| o.id)),
        Err(e) => {
            let message = display_err(&e);
            if message.starts_with("AWSOrganizationsNotInUseException") {
                Ok(None)
            } else {
                Err(sdk_err("organizations:DescribeOrganization", "*", message))
            }
        }
    }
}

/// Who the credentials are (`sts:GetCallerIdentity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The account they act in.
    pub account: String,
    /// The partition of the caller's ARN (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: String,
}

/// The account (and partition) the credentials act in (`sts:GetCallerIdentity`).
pub async fn caller(conf: &aws_config::SdkConfig) -> Result<Caller, AwsError> {
    let out = aws_sdk_sts::Client::new(conf)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| sdk_err("sts:GetCallerIdentity", "*", display_err(&e)))?;
    let partition = out
        .arn
        .as_deref()
        .and_then(|a| a.split(':').nth(1))
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
        .to_string();
    let account = out
        .account
        .ok_or_else(|| sdk_err("sts:GetCallerIdentity", "*", "no account in the reply"))?;
    Ok(Caller { account, partition })
}

/// An account of the organization, as `organizations:ListAccounts` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAccount {
    /// The account id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its state (`ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, ...; from `Status` when the reply
    /// has no `State`).
    pub state: String,
}

/// Every account of the organization (`organizations:ListAccounts`, all pages): callable from
/// the management account or a delegated administrator.
pub async fn organization_accounts(
    conf: &aws_config::SdkConfig,
) -> Result<Vec<OrgAccount>, AwsError> {
    let client = aws_sdk_organizations::Client::new(conf);
    let mut accounts = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_accounts()
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| sdk_err("organizations:ListAccounts", "*", display_err(&e)))?;
        for a in page.accounts.unwrap_or_default() {
            let Some(id) = a.id else { continue };
            let state = a
                .state
                .map(|s| s.as_str().to_string())
                .or_else(|| a.status.map(|s| s.as_str().to_string()))
                .unwrap_or_else(|| "UNKNOWN".into());
            accounts.push(OrgAccount {
                id,
                name: a.name.unwrap_or_default(),
                state,
            });
        }
        match page.next_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => break,
        }
    }
    Ok(accounts)
}

/// Counts HTTP attempts per AWS operation (`kms:GetKeyPolicy`, `sts:AssumeRole`), retries
/// included, through any HTTP client. Cheap to clone; clones share the counts.
///
/// ```no_run
/// # async fn f() {
/// let counts = trailkey::aws::CallCounts::new();
/// let conf = counts.instrument(&trailkey::aws::load_sdk_config().await);
/// let aws = trailkey::aws::SdkAws::new(&conf);
/// // ... calls ...
/// for (operation, attempts) in counts.snapshot() {
///     println!("{operation} {attempts}");
/// }
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct CallCounts {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl CallCounts {
    /// Empty counts.
    pub fn new() -> Self {
        Self::default()
    }

    /// An HTTP client that sends through `inner` and counts each request here.
    pub fn wrap(&self, inner: SharedHttpClient) -> SharedHttpClient {
        SharedHttpClient::new(CountingClient {
            inner,
            counts: self.clone(),
        })
    }

    /// `conf` with its HTTP client (the SDK's default HTTPS client if it has none) counted here.
    pub fn instrument(&self, conf: &aws_config::SdkConfig) -> aws_config::SdkConfig {
        let inner = conf.http_client().unwrap_or_else(default_http_client);
        conf.to_builder().http_client(self.wrap(inner)).build()
    }

    /// Attempts per operation, sorted by operation name.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Attempts of one operation (`kms:GetKeyPolicy`).
    pub fn get(&self, operation: &str) -> u64 {
        self.snapshot().get(operation).copied().unwrap_or(0)
    }

    /// Attempts of every operation.
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    /// Forgets every count.
    pub fn reset(&self) {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn record(&self, operation: String) {
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(operation)
            .or_insert(0) += 1;
    }
}

/// The SDK's default HTTPS client (hyper 1, rustls with aws-lc), for wrapping.
pub fn default_http_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .build_https()
}

#[derive(Debug)]
struct CountingClient {
    inner: SharedHttpClient,
    counts: CallCounts,
}

impl HttpClient for CountingClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(CountingConnector {
            inner: self.inner.http_connector(settings, components),
            counts: self.counts.clone(),
        })
    }
}

#[derive(Debug)]
struct CountingConnector {
    inner: SharedHttpConnector,
    counts: CallCounts,
}

impl HttpConnector for CountingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        self.counts.record(operation_name(&request));
        self.inner.call(request)
    }
}

/// `service:Operation` of a signed SDK request: the service is the SigV4 signing name
/// (`Credential=AKID/date/region/<service>/aws4_request`, else the host's first label); the
/// operation is the `X-Amz-Target` suffix (JSON protocols), the `Action` form field (query
/// protocols such as STS) or the `/operation/<name>` path segment (RPCv2 CBOR).
pub fn operation_name(request: &HttpRequest) -> String {
    let headers = request.headers();
    let service = headers
        .get("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split([',', ' ']).next())
        .and_then(|c| c.split('/').nth(3))
        .map(str::to_string)
        .or_else(|| {
            let uri = request.uri();
            let host = uri.split("://").nth(1).unwrap_or(uri);
            host.split(['.', ':', '/']).next().map(str::to_string)
        })
        .unwrap_or_else(|| "unknown".into());
    let operation = headers
        .get("x-amz-target")
        .and_then(|t| t.rsplit('.').next())
        .map(str::to_string)
        .or_else(|| {
            let body = std::str::from_utf8(request.body().bytes()?).ok()?;
            body.split('&')
                .find_map(|kv| kv.strip_prefix("Action="))
                .map(str::to_string)
        })
        .or_else(|| {
            let uri = request.uri();
            let (_, op) = uri.split_once("/operation/")?;
            op.split(['/', '?']).next().map(str::to_string)
        })
        .unwrap_or_else(|| "unknown".into());
    format!("{service}:{operation}")
}

/// A failed AWS call, naming the call and the resource.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{operation} on `{resource}` failed: {message}")]
pub struct AwsError {
    /// The API operation (`kms:GetKeyPolicy`).
    pub operation: &'static str,
    /// The resource involved.
    pub resource: String,
    /// The service's error code and message.
    pub message: String,
}

impl AwsError {
    /// KMS says the key does not exist (`NotFoundException`) or is in a state that refuses the
    /// call (`KMSInvalidStateException`, which an Enabled key never raises): CloudTrail cannot
    /// use the key either. Any other failure says nothing about the key.
    pub fn key_unusable(&self) -> bool {
        self.operation.starts_with("kms:")
            && (self.message.starts_with("NotFoundException:")
                || self.message.starts_with("KMSInvalidStateException:"))
    }
}

/// A trail as `DescribeTrails` returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrailInfo {
    /// Trail ARN.
    pub arn: String,
    /// Trail name (Config's resource id).
    pub name: String,
    /// The KMS key (ARN or id), if encrypted.
    pub kms_key_id: Option<String>,
    /// The S3 bucket.
    pub bucket: Option<String>,
    /// `S3KeyPrefix` (`None`: the trail has none).
    pub s3_key_prefix: Option<String>,
    /// `HomeRegion`: where the trail was created and where Config records it. A multi-region
    /// trail is listed in every Region (a shadow trail) but lives here.
    pub home_region: Option<String>,
    /// `IsOrganizationTrail`.
    pub is_organization_trail: bool,
}

/// The Region of a KMS key ARN (`arn:aws:kms:<region>:<account>:key/<id>`); `None` for a bare
/// key id, which names a key in the caller's Region.
pub fn key_region(key: &str) -> Option<&str> {
    let mut parts = key.splitn(6, ':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(_), Some("kms"), Some(region)) if !region.is_empty() => Some(region),
        _ => None,
    }
}

/// An event data store and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDataStoreInfo {
    /// Event data store ARN (Config's resource id).
    pub arn: String,
    /// The KMS key, if encrypted with a customer managed key.
    pub kms_key_id: Option<String>,
}

/// The AWS calls the Config rule makes.
#[async_trait]
pub trait RuleAws: Send + Sync {
    /// The Region the clients act in (the rule's Region), when known. Trails whose home Region
    /// differs are shadow trails here: the rule deployed in their home Region evaluates them.
    fn region(&self) -> Option<String> {
        None
    }
    /// `kms:GetKeyPolicy` (PolicyName `default`) and `kms:DescribeKey`, in the key's own Region
    /// (from its ARN): a key is only visible there.
    async fn key(&self, key_arn: &str) -> Result<KeyFacts, AwsError>;
    /// `cloudtrail:DescribeTrails` with shadow trails.
    async fn trails(&self) -> Result<Vec<TrailInfo>, AwsError>;
    /// `cloudtrail:ListEventDataStores` (+ `GetEventDataStore` for the key).
    async fn event_data_stores(&self) -> Result<Vec<EventDataStoreInfo>, AwsError>;
    /// `organizations:DescribeOrganization`: the account's organization id, `None` when the
    /// account is in none. The default (for clients that cannot tell) is `None`.
    async fn organization_id(&self) -> Result<Option<String>, AwsError> {
        Ok(None)
    }
    /// `config:GetResourceConfigHistory` (limit 1): the latest item, in the API form.
    async fn latest_item(
        &self,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<ApiConfigurationItem, AwsError>;
    /// `config:PutEvaluations` for at most 100 evaluations; returns the ones Config reported as
    /// failed.
    async fn put_evaluations(
        &self,
        evaluations: &[Evaluation],
        result_token: &str,
    ) -> Result<Vec<Evaluation>, AwsError>;
}

/// Organization mode: clients acting in another account through its execution role.
#[async_trait]
pub trait AssumeRole: Send + Sync {
    /// Assumes `arn:<partition>:iam::<account>:role/<role_name>` and returns clients using it.
    async fn assume(
        &self,
        account: &str,
        partition: &str,
        role_name: &str,
    ) -> Result<Box<dyn RuleAws>, AwsError>;
}

/// The real SDK clients, built once in `main`.
#[derive(Debug, Clone)]
pub struct SdkAws {
    /// KMS in the configured Region.
    pub kms: aws_sdk_kms::Client,
    /// CloudTrail.
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    /// Config.
    pub config: aws_sdk_config::Client,
    /// Organizations (`DescribeOrganization`).
    pub organizations: aws_sdk_organizations::Client,
    /// KMS clients for other Regions, built on first use (same credentials, retries, endpoint).
    kms_other: Arc<Mutex<BTreeMap<String, aws_sdk_kms::Client>>>,
}

impl SdkAws {
    /// Clients from one loaded configuration (region, credentials, `AWS_ENDPOINT_URL`).
    pub fn new(conf: &aws_config::SdkConfig) -> Self {
        Self {
            kms: aws_sdk_kms::Client::new(conf),
            cloudtrail: aws_sdk_cloudtrail::Client::new(conf),
            config: aws_sdk_config::Client::new(conf),
            organizations: aws_sdk_organizations::Client::new(conf),
            kms_other: Arc::default(),
        }
    }

    /// The key ARN of `key` (ARN, key id, `alias/NAME` or alias ARN), from `kms:DescribeKey`
    /// in the key's Region. `GetKeyPolicy` takes no alias, so `check --key-id` resolves first.
    pub async fn key_arn(&self, key: &str) -> Result<String, AwsError> {
        self.kms_for(key)
            .describe_key()
            .key_id(key)
            .send()
            .await
            .map_err(|e| sdk_err("kms:DescribeKey", key, display_err(&e)))?
            .key_metadata
            .and_then(|m| m.arn)
            .ok_or_else(|| sdk_err("kms:DescribeKey", key, "no key ARN in the reply"))
    }

    /// The KMS client for `key`'s Region: a multi-region trail's key lives in the trail's
    /// bucket Region, which the scan or the rule's Region need not be.
    fn kms_for(&self, key: &str) -> aws_sdk_kms::Client {
        let here = self.kms.config().region().map(|r| r.as_ref().to_string());
        match key_region(key) {
            Some(region) if here.as_deref() != Some(region) => self
                .kms_other
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(region.to_string())
                .or_insert_with(|| {
                    aws_sdk_kms::Client::from_conf(
                        self.kms
                            .config()
                            .to_builder()
                            .region(aws_sdk_kms::config::Region::new(region.to_string()))
                            .build(),
                    )
                })
                .clone(),
            _ => self.kms.clone(),
        }
    }
}

fn sdk_err<E: std::fmt::Display>(operation: &'static str, resource: &str, e: E) -> AwsError {
    AwsError {
        operation,
        resource: resource.to_string(),
        message: e.to_string(),
    }
}

/// The service's error code and message (`AccessDeniedException: ...`), else the full transport
/// error chain. One formatter for every client: they share smithy's `SdkError`.
fn display_err<E>(e: &aws_sdk_kms::error::SdkError<E>) -> String
where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    match e.as_service_error() {
        Some(s) if s.code().is_some() => format!(
            "{}: {}",
            s.code().unwrap_or("error"),
            s.message().unwrap_or("")
        ),
        // No error code (a reply that could not be read, a timeout, a dispatch failure): the
        // chain of causes, each by its `Display` only. Smithy's `DisplayErrorContext` would
        // append the `Debug` form, which carries the raw reply — possibly the key policy.
        _ => {
            let mut parts: Vec<String> = Vec::new();
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
            while let Some(c) = cause {
                let text = c.to_string();
                if parts.last() != Some(&text) {
                    parts.push(text);
                }
                cause = c.source();
            }
            parts.join(": ")
        }
    }
}

#[async_trait]
impl RuleAws for SdkAws {
    fn region(&self) -> Option<String> {
        self.cloudtrail
            .config()
            .region()
            .map(|r| r.as_ref().to_string())
    }

    async fn key(&self, key_arn: &str) -> Result<KeyFacts, AwsError> {
        let kms = self.kms_for(key_arn);
        let policy = kms
            .get_key_policy()
            .key_id(key_arn)
            .policy_name("default")
            .send()
            .await
            .map_err(|e| sdk_err("kms:GetKeyPolicy", key_arn, display_err(&e)))?
            .policy
            .ok_or_else(|| sdk_err("kms:GetKeyPolicy", key_arn, "no policy in the reply"))?;
        let meta = kms
            .describe_key()
            .key_id(key_arn)
            .send()
            .await
            .map_err(|e| sdk_err("kms:DescribeKey", key_arn, display_err(&e)))?
            .key_metadata
            .ok_or_else(|| sdk_err("kms:DescribeKey", key_arn, "no key metadata in the reply"))?;
        // Missing state, spec or manager is an error, never a default: an empty state would
        // read as "not Enabled", an empty manager as customer managed.
        let missing = |field: &str| {
            sdk_err(
                "kms:DescribeKey",
                key_arn,
                format!("no {field} in the reply"),
            )
        };
        let key_spec = meta
            .key_spec
            .as_ref()
            .map(|s| s.as_str().to_string())
            .ok_or_else(|| missing("KeySpec"))?;
        Ok(KeyFacts {
            key_arn: meta.arn.clone().unwrap_or_else(|| key_arn.to_string()),
            policy,
            key_state: meta
                .key_state
                .map(|s| s.as_str().to_string())
                .ok_or_else(|| missing("KeyState"))?,
            key_spec,
            key_manager: meta
                .key_manager
                .map(|s| s.as_str().to_string())
                .ok_or_else(|| missing("KeyManager"))?,
            trails: Vec::new(),
            event_data_stores: Vec::new(),
        })
    }

    async fn organization_id(&self) -> Result<Option<String>, AwsError> {
        describe_organization(&self.organizations).await
    }

    async fn trails(&self) -> Result<Vec<TrailInfo>, AwsError> {
        let out = self
            .cloudtrail
            .describe_trails()
            .include_shadow_trails(true)
            .send()
            .await
            .map_err(|e| sdk_err("cloudtrail:DescribeTrails", "*", display_err(&e)))?;
        Ok(out
            .trail_list
            .unwrap_or_default()
            .into_iter()
            .filter_map(|t| {
                Some(TrailInfo {
                    arn: t.trail_arn?,
                    name: t.name.unwrap_or_default(),
                    kms_key_id: t.kms_key_id,
                    bucket: t.s3_bucket_name,
                    s3_key_prefix: t.s3_key_prefix,
                    home_region: t.home_region,
                    is_organization_trail: t.is_organization_trail.unwrap_or(false),
                })
            })
            .collect())
    }

    async fn event_data_stores(&self) -> Result<Vec<EventDataStoreInfo>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .cloudtrail
                .list_event_data_stores()
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| sdk_err("cloudtrail:ListEventDataStores", "*", display_err(&e)))?;
            for eds in page.event_data_stores.unwrap_or_default() {
                let Some(arn) = eds.event_data_store_arn else {
                    continue;
                };
                let detail = self
                    .cloudtrail
                    .get_event_data_store()
                    .event_data_store(&arn)
                    .send()
                    .await
                    .map_err(|e| sdk_err("cloudtrail:GetEventDataStore", &arn, display_err(&e)))?;
                out.push(EventDataStoreInfo {
                    arn,
                    kms_key_id: detail.kms_key_id,
                });
            }
            token = page.next_token;
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    async fn latest_item(
        &self,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<ApiConfigurationItem, AwsError> {
        let op = "config:GetResourceConfigHistory";
        let out = self
            .config
            .get_resource_config_history()
            .resource_type(aws_sdk_config::types::ResourceType::from(resource_type))
            .resource_id(resource_id)
            .limit(1)
            .send()
            .await
            .map_err(|e| sdk_err(op, resource_id, display_err(&e)))?;
        let item = out
            .configuration_items
            .unwrap_or_default()
            .into_iter()
            .next()
            .ok_or_else(|| sdk_err(op, resource_id, "no configuration item recorded"))?;
        Ok(ApiConfigurationItem {
            resource_type: item
                .resource_type
                .map(|t| t.as_str().to_string())
                .unwrap_or_else(|| resource_type.to_string()),
            resource_id: item.resource_id.unwrap_or_else(|| resource_id.to_string()),
            arn: item.arn,
            status: item
                .configuration_item_status
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            capture_time: item
                .configuration_item_capture_time
                .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                .unwrap_or_default(),
            configuration: item.configuration,
            supplementary: item
                .supplementary_configuration
                .unwrap_or_default()
                .into_iter()
                .collect(),
        })
    }

    async fn put_evaluations(
        &self,
        evaluations: &[Evaluation],
        result_token: &str,
    ) -> Result<Vec<Evaluation>, AwsError> {
        let mut req = self
            .config
            .put_evaluations()
            .result_token(result_token)
            .test_mode(result_token == "TESTMODE");
        for e in evaluations {
            let ts = DateTime::from_str(
                &e.ordering_timestamp,
                aws_smithy_types::date_time::Format::DateTime,
            )
            .map_err(|err| {
                sdk_err(
                    "config:PutEvaluations",
                    &e.resource_id,
                    format!("ordering timestamp `{}`: {err}", e.ordering_timestamp),
                )
            })?;
            let ev = aws_sdk_config::types::Evaluation::builder()
                .compliance_resource_type(&e.resource_type)
                .compliance_resource_id(&e.resource_id)
                .compliance_type(aws_sdk_config::types::ComplianceType::from(
                    e.compliance.as_str(),
                ))
                .annotation(&e.annotation)
                .ordering_timestamp(ts)
                .build()
                .map_err(|err| sdk_err("config:PutEvaluations", &e.resource_id, err))?;
            req = req.evaluations(ev);
        }
        let out = req
            .send()
            .await
            .map_err(|e| sdk_err("config:PutEvaluations", "*", display_err(&e)))?;
        let failed = out.failed_evaluations.unwrap_or_default();
        Ok(evaluations
            .iter()
            .filter(|e| {
                failed.iter().any(|f| {
                    f.compliance_resource_id() == e.resource_id
                        && f.compliance_resource_type() == e.resource_type
                })
            })
            .cloned()
            .collect())
    }
}

/// Assumes execution roles with STS, building clients from the base configuration.
#[derive(Debug, Clone)]
pub struct SdkAssumeRole {
    /// The base configuration (the function's own credentials).
    pub config: aws_config::SdkConfig,
    /// STS.
    pub sts: aws_sdk_sts::Client,
    /// The role session name (`trailkey-rule`; `trailkey-scan` for the CLI), as CloudTrail
    /// records it.
    pub session: &'static str,
}

impl SdkAssumeRole {
    /// From the loaded configuration, session name `trailkey-rule`.
    pub fn new(conf: &aws_config::SdkConfig) -> Self {
        Self {
            config: conf.clone(),
            sts: aws_sdk_sts::Client::new(conf),
            session: "trailkey-rule",
        }
    }

    /// The configuration acting as `arn:<partition>:iam::<account>:role/<role_name>`
    /// (`sts:AssumeRole`), otherwise the same (Region, endpoint, retries, HTTP client).
    async fn assume_config(
        &self,
        account: &str,
        partition: &str,
        role_name: &str,
    ) -> Result<aws_config::SdkConfig, AwsError> {
        let role_arn = format!("arn:{partition}:iam::{account}:role/{role_name}");
        let out = self
            .sts
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name(self.session)
            .send()
            .await
            .map_err(|e| sdk_err("sts:AssumeRole", &role_arn, display_err(&e)))?;
        let c = out
            .credentials
            .ok_or_else(|| sdk_err("sts:AssumeRole", &role_arn, "no credentials in the reply"))?;
        let expiry = std::time::SystemTime::try_from(c.expiration).ok();
        let creds = aws_sdk_sts::config::Credentials::new(
            c.access_key_id,
            c.secret_access_key,
            Some(c.session_token),
            expiry,
            "trailkey-assume-role",
        );
        Ok(self
            .config
            .to_builder()
            .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(creds))
            .build())
    }
}

#[async_trait]
impl AssumeRole for SdkAssumeRole {
    async fn assume(
        &self,
        account: &str,
        partition: &str,
        role_name: &str,
    ) -> Result<Box<dyn RuleAws>, AwsError> {
        let conf = self.assume_config(account, partition, role_name).await?;
        Ok(Box::new(SdkAws::new(&conf)))
    }
}
