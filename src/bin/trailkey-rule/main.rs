//! `trailkey-rule`: the AWS Config custom rule Lambda. Clients are built once; each event goes
//! through [`trailkey::handler::handle`]. The first one also logs the cold-start figures
//! ([`cold_start`]).

mod cold_start;

use aws_lambda_events::event::config::ConfigEvent;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use trailkey::aws::{SdkAssumeRole, SdkAws};
use trailkey::handler::{handle, HandlerError};

/// The invocation's error, with a stable `error_type` for Lambda.
#[derive(Debug)]
struct RuleFailure(HandlerError);

impl From<RuleFailure> for Diagnostic {
    fn from(e: RuleFailure) -> Self {
        Diagnostic {
            error_type: e.0.error_type().to_string(),
            error_message: e.0.to_string(),
        }
    }
}

fn init_tracing() {
    let filter = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into())
        .to_lowercase();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .without_time()
        .with_target(false);
    if std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let startup = cold_start::Startup::begin();
    init_tracing();
    // Explicit retries (standard, 5 attempts) and timeouts: see `SdkSettings`.
    let conf = trailkey::aws::load_sdk_config().await;
    let aws = SdkAws::new(&conf);
    let assumer = SdkAssumeRole::new(&conf);
    let cold = startup.ready();
    let (aws, assumer, cold) = (&aws, &assumer, &cold);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ConfigEvent>| async move {
            let started = std::time::Instant::now();
            let result = handle(aws, assumer, &event.payload).await;
            trailkey::handler::log_outcome(&result);
            cold.event_handled(started, result.is_ok());
            match result {
                // Config ignores the reply; it is for `cargo lambda invoke` and test invokes.
                Ok(evaluations) => Ok(serde_json::json!({
                    "put": evaluations.len(),
                    "evaluations": evaluations.iter().map(|e| serde_json::json!({
                        "ComplianceResourceType": e.resource_type,
                        "ComplianceResourceId": e.resource_id,
                        "ComplianceType": e.compliance.as_str(),
                        "Annotation": e.annotation,
                    })).collect::<Vec<_>>(),
                })),
                Err(err) => Err(RuleFailure(err)),
            }
        },
    ))
    .await
}
