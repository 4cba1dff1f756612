//! Alert outputs: detections and action results, as JSON documents (OCSF Detection Finding by
//! default, or ECS), to a webhook (signed with HMAC-SHA256, retried) and/or a JSON-lines file,
//! so a SIEM can take them without a parser. Each sink has its own bounded queue and worker
//! ([`sink`]): emitting never waits for a sink, so a dead webhook cannot delay detection or
//! response for any tenant.

mod sink;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::Sha256;

pub use sink::SinkStats;
use sink::{Sink, QUEUE_DOCUMENTS};

/// The header carrying `sha256=<hex HMAC of the body>`.
pub const SIGNATURE_HEADER: &str = "x-gatehouse-signature";

/// Attempts per webhook delivery (the first and its retries).
const WEBHOOK_ATTEMPTS: u32 = 4;

/// Document shape of outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Ocsf,
    Ecs,
}

/// Where outputs go.
#[derive(Debug, Default)]
pub struct OutputConfig {
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<SecretString>,
    pub jsonl_path: Option<PathBuf>,
    pub format: OutputFormat,
}

/// The configured sinks.
pub struct Outputs {
    format: OutputFormat,
    webhook: Option<Sink>,
    jsonl: Option<Sink>,
}

/// One sink's figures, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkReport {
    /// `webhook` or `jsonl`.
    pub sink: &'static str,
    pub queued: usize,
    pub delivered: u64,
    pub dead_letters: u64,
}

/// Lower-case hex of the HMAC-SHA256 of `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    crate::tokens::hex(&mac.finalize().into_bytes())
}

impl Outputs {
    /// Opens the sinks and starts their workers on the current runtime.
    pub fn new(config: OutputConfig) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
        let jsonl = match &config.jsonl_path {
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?;
                let file = Arc::new(Mutex::new(file));
                Some(Sink::start(
                    "jsonl",
                    QUEUE_DOCUMENTS,
                    &runtime,
                    move |body| {
                        let file = Arc::clone(&file);
                        async move { append_line(&file, &body) }
                    },
                ))
            }
            None => None,
        };
        let webhook = match config.webhook_url {
            Some(url) => {
                let http = reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(std::io::Error::other)?;
                let hook = Arc::new(Webhook {
                    url,
                    secret: config.webhook_secret,
                    http,
                });
                Some(Sink::start(
                    "webhook",
                    QUEUE_DOCUMENTS,
                    &runtime,
                    move |body| {
                        let hook = Arc::clone(&hook);
                        async move { hook.post(&body).await }
                    },
                ))
            }
            None => None,
        };
        Ok(Self {
            format: config.format,
            webhook,
            jsonl,
        })
    }

    /// No sink at all.
    pub fn none() -> Self {
        Self {
            format: OutputFormat::default(),
            webhook: None,
            jsonl: None,
        }
    }

    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// Queues one document for every sink and returns at once. Failures are counted and logged,
    /// never raised: an alert output being down must not stop detection or response.
    pub async fn emit(&self, document: &Value) {
        let body: Arc<str> = Arc::from(document.to_string());
        for sink in [&self.jsonl, &self.webhook].into_iter().flatten() {
            sink.offer(Arc::clone(&body));
        }
    }

    /// Each configured sink's queue and counts.
    pub fn report(&self) -> Vec<SinkReport> {
        [("jsonl", &self.jsonl), ("webhook", &self.webhook)]
            .into_iter()
            .filter_map(|(name, sink)| {
                let sink = sink.as_ref()?;
                Some(SinkReport {
                    sink: name,
                    queued: sink.queued(),
                    delivered: sink.stats().delivered(),
                    dead_letters: sink.stats().dead_letters(),
                })
            })
            .collect()
    }
}

fn append_line(file: &Mutex<std::fs::File>, body: &str) -> bool {
    let Ok(mut file) = file.lock() else {
        return false;
    };
    match writeln!(file, "{body}") {
        Ok(()) => true,
        Err(error) => {
            tracing::error!(%error, "cannot write the JSON-lines output");
            false
        }
    }
}

struct Webhook {
    url: String,
    secret: Option<SecretString>,
    http: reqwest::Client,
}

impl Webhook {
    /// Posts one document, retrying server errors, 429 and transport failures with backoff;
    /// `false` when it did not get through.
    async fn post(&self, body: &str) -> bool {
        let signature = self
            .secret
            .as_ref()
            .map(|secret| format!("sha256={}", sign(secret.expose_secret(), body.as_bytes())));
        for attempt in 0..WEBHOOK_ATTEMPTS {
            let mut request = self
                .http
                .post(&self.url)
                .header("content-type", "application/json")
                .body(body.to_owned());
            if let Some(signature) = &signature {
                request = request.header(SIGNATURE_HEADER, signature);
            }
            match request.send().await {
                Ok(response) if response.status().is_success() => return true,
                Ok(response) if response.status().is_client_error() && response.status() != 429 => {
                    tracing::warn!(
                        status = response.status().as_u16(),
                        "the webhook refused an alert"
                    );
                    return false;
                }
                Ok(response) => {
                    tracing::warn!(
                        status = response.status().as_u16(),
                        attempt,
                        "webhook failed; retrying"
                    )
                }
                Err(error) => {
                    tracing::warn!(error = %error.without_url(), attempt, "webhook failed; retrying")
                }
            }
            if attempt + 1 < WEBHOOK_ATTEMPTS {
                tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(attempt))).await;
            }
        }
        false
    }
}

/// An action's result as an OCSF Remediation Activity (class 7001, category Remediation).
pub fn ocsf_action(action: &gatehouse_core::model::Action) -> Value {
    use gatehouse_core::model::ActionStatus;
    let (status_id, status) = match action.status {
        ActionStatus::Succeeded => (1, "Success"),
        ActionStatus::Failed => (2, "Failure"),
        _ => (99, "Other"),
    };
    serde_json::json!({
        "class_uid": 7001,
        "class_name": "Remediation Activity",
        "category_uid": 7,
        "category_name": "Remediation",
        "activity_id": 99,
        "activity_name": action_name(action),
        "type_uid": 700199,
        "time": action.updated_at.timestamp_millis(),
        "status_id": status_id,
        "status": status,
        "status_detail": action.result.clone().or_else(|| action.error.clone()),
        "message": format!("{} {:?}", action_name(action), action.status).to_lowercase(),
        "metadata": {"product": {"name": "Gatehouse", "vendor_name": "Gatehouse"}, "version": "1.1.0",
                     "uid": action.id.to_string(), "tenant_uid": action.tenant_id.to_string()},
        "remediation": {"desc": action.reason.clone()},
        "user": {"uid": action.user_id.to_string()},
        "unmapped": {"gatehouse": {"action": action.action, "status": action.status,
                     "attempts": action.attempts, "requested_by": action.requested_by,
                     "detection_id": action.detection_id, "dry_run": action.dry_run,
                     "integration_id": action.integration_id}},
    })
}

/// An action's result as an ECS event document.
pub fn ecs_action(action: &gatehouse_core::model::Action) -> Value {
    use gatehouse_core::model::ActionStatus;
    serde_json::json!({
        "@timestamp": action.updated_at.to_rfc3339(),
        "event": {"kind": "event", "category": ["iam"], "type": ["change"],
                  "action": action_name(action),
                  "outcome": match action.status { ActionStatus::Succeeded => "success", ActionStatus::Failed => "failure", _ => "unknown" },
                  "id": action.id.to_string(), "reason": action.reason},
        "user": {"id": action.user_id.to_string()},
        "labels": {"tenant_id": action.tenant_id.to_string(), "requested_by": action.requested_by},
        "message": action.result.clone().or_else(|| action.error.clone()),
    })
}

fn action_name(action: &gatehouse_core::model::Action) -> String {
    serde_json::to_value(action.action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_the_rfc_4231_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
