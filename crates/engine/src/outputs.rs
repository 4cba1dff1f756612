//! Alert outputs: detections and action results, as JSON documents (OCSF Detection Finding by
//! default, or ECS), to a webhook (signed with HMAC-SHA256, retried) and/or a JSON-lines file,
//! so a SIEM can take them without a parser.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::Sha256;

/// The header carrying `sha256=<hex HMAC of the body>`.
pub const SIGNATURE_HEADER: &str = "x-gatehouse-signature";

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
    config: OutputConfig,
    http: reqwest::Client,
    file: Mutex<Option<std::fs::File>>,
    /// Counts documents a sink could not take.
    stats: Option<Arc<crate::stats::EngineStats>>,
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
    pub fn new(config: OutputConfig) -> std::io::Result<Self> {
        let file = match &config.jsonl_path {
            Some(path) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            ),
            None => None,
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Self {
            config,
            http,
            file: Mutex::new(file),
            stats: None,
        })
    }

    /// Counts delivery failures in `stats`.
    pub fn with_stats(mut self, stats: Arc<crate::stats::EngineStats>) -> Self {
        self.stats = Some(stats);
        self
    }

    fn failed(&self, output: &str) {
        if let Some(stats) = &self.stats {
            stats.output_failed(output);
        }
    }

    /// No sink at all.
    pub fn none() -> Self {
        Self {
            config: OutputConfig::default(),
            http: reqwest::Client::new(),
            file: Mutex::new(None),
            stats: None,
        }
    }

    pub fn format(&self) -> OutputFormat {
        self.config.format
    }

    /// Sends one document to every sink. Failures are logged, never raised: an alert output
    /// being down must not stop detection or response.
    pub async fn emit(&self, document: &Value) {
        let body = document.to_string();
        if let Ok(mut file) = self.file.lock() {
            if let Some(file) = file.as_mut() {
                if let Err(error) = writeln!(file, "{body}") {
                    tracing::error!(%error, "cannot write the JSON-lines output");
                    self.failed("jsonl");
                }
            }
        }
        if let Some(url) = &self.config.webhook_url {
            self.post(url, body).await;
        }
    }

    async fn post(&self, url: &str, body: String) {
        let signature = self
            .config
            .webhook_secret
            .as_ref()
            .map(|secret| format!("sha256={}", sign(secret.expose_secret(), body.as_bytes())));
        for attempt in 0..4u32 {
            let mut request = self
                .http
                .post(url)
                .header("content-type", "application/json")
                .body(body.clone());
            if let Some(signature) = &signature {
                request = request.header(SIGNATURE_HEADER, signature);
            }
            match request.send().await {
                Ok(response) if response.status().is_success() => return,
                Ok(response) if response.status().is_client_error() && response.status() != 429 => {
                    tracing::warn!(
                        status = response.status().as_u16(),
                        "the webhook refused an alert"
                    );
                    self.failed("webhook");
                    return;
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
            tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(attempt))).await;
        }
        tracing::error!("an alert could not be delivered to the webhook");
        self.failed("webhook");
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
