//! AWS I/O: the only module that imports `aws_sdk_*`. The handler sees the small [`RuleAws`]
//! trait, so tests replace the SDK with fakes.

use crate::rule::{ApiConfigurationItem, Evaluation, KeyFacts};
use async_trait::async_trait;
use aws_smithy_types::DateTime;
use thiserror::Error;

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

/// A trail as `DescribeTrails` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailInfo {
    /// Trail ARN.
    pub arn: String,
    /// Trail name (Config's resource id).
    pub name: String,
    /// The KMS key (ARN or id), if encrypted.
    pub kms_key_id: Option<String>,
    /// The S3 bucket.
    pub bucket: Option<String>,
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
    /// `kms:GetKeyPolicy` (PolicyName `default`) and `kms:DescribeKey`.
    async fn key(&self, key_arn: &str) -> Result<KeyFacts, AwsError>;
    /// `cloudtrail:DescribeTrails` with shadow trails.
    async fn trails(&self) -> Result<Vec<TrailInfo>, AwsError>;
    /// `cloudtrail:ListEventDataStores` (+ `GetEventDataStore` for the key).
    async fn event_data_stores(&self) -> Result<Vec<EventDataStoreInfo>, AwsError>;
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
    /// KMS.
    pub kms: aws_sdk_kms::Client,
    /// CloudTrail.
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    /// Config.
    pub config: aws_sdk_config::Client,
}

impl SdkAws {
    /// Clients from one loaded configuration (region, credentials, `AWS_ENDPOINT_URL`).
    pub fn new(conf: &aws_config::SdkConfig) -> Self {
        Self {
            kms: aws_sdk_kms::Client::new(conf),
            cloudtrail: aws_sdk_cloudtrail::Client::new(conf),
            config: aws_sdk_config::Client::new(conf),
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
        Some(s) => format!(
            "{}: {}",
            s.code().unwrap_or("error"),
            s.message().unwrap_or("")
        ),
        None => aws_smithy_types::error::display::DisplayErrorContext(e).to_string(),
    }
}

#[async_trait]
impl RuleAws for SdkAws {
    async fn key(&self, key_arn: &str) -> Result<KeyFacts, AwsError> {
        let policy = self
            .kms
            .get_key_policy()
            .key_id(key_arn)
            .policy_name("default")
            .send()
            .await
            .map_err(|e| sdk_err("kms:GetKeyPolicy", key_arn, display_err(&e)))?
            .policy
            .ok_or_else(|| sdk_err("kms:GetKeyPolicy", key_arn, "no policy in the reply"))?;
        let meta = self
            .kms
            .describe_key()
            .key_id(key_arn)
            .send()
            .await
            .map_err(|e| sdk_err("kms:DescribeKey", key_arn, display_err(&e)))?
            .key_metadata
            .ok_or_else(|| sdk_err("kms:DescribeKey", key_arn, "no key metadata in the reply"))?;
        Ok(KeyFacts {
            key_arn: meta.arn.clone().unwrap_or_else(|| key_arn.to_string()),
            policy,
            key_state: meta
                .key_state
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            key_spec: meta
                .key_spec
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            key_manager: meta
                .key_manager
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            trails: Vec::new(),
            event_data_stores: Vec::new(),
        })
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
}

impl SdkAssumeRole {
    /// From the loaded configuration.
    pub fn new(conf: &aws_config::SdkConfig) -> Self {
        Self {
            config: conf.clone(),
            sts: aws_sdk_sts::Client::new(conf),
        }
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
        let role_arn = format!("arn:{partition}:iam::{account}:role/{role_name}");
        let out = self
            .sts
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name("trailkey-rule")
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
        let conf = self
            .config
            .to_builder()
            .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(creds))
            .build();
        Ok(Box::new(SdkAws::new(&conf)))
    }
}
