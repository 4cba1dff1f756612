//! Response bodies: what the API shows of stored records (never credentials or token hashes).

use chrono::{DateTime, Utc};
use gatehouse_core::model::{ApiKey, Integration, IntegrationStatus, SyncStatus};
use serde::Serialize;
use serde_json::{Map, Value};

/// `{"data": [...], "next_cursor": "…" | null}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ListResponse<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Where a provider pushes events, and (once) the token it presents.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct IngestView {
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// Where a SCIM client provisions, and (once) its bearer token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ScimView {
    pub base_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// An integration as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct IntegrationView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub tenant_id: String,
    #[schema(value_type = Object)]
    pub config: Map<String, Value>,
    pub status: IntegrationStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sync: SyncStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingest: Option<IngestView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scim: Option<ScimView>,
    /// What the provider says an operator should know about this config (a detection that
    /// cannot fire without a feature it turned off, a licence a feature needs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

pub(crate) const SCIM_BASE_PATH: &str = "/v1/scim/v2";

impl IntegrationView {
    /// The view with the one-time tokens, when they were just issued.
    pub(crate) fn new(
        integration: &Integration,
        sync: SyncStatus,
        ingest_token: Option<&str>,
        scim_token: Option<&str>,
    ) -> Self {
        let ingest = integration.ingest_token_hash.as_ref().map(|_| {
            let mut url = format!(
                "/v1/idp/{}?tenant_id={}",
                integration.kind, integration.tenant_id
            );
            if let Some(token) = ingest_token {
                url.push_str("&token=");
                url.push_str(token);
            }
            IngestView {
                url,
                token: ingest_token.map(str::to_owned),
            }
        });
        let scim = integration.scim_token_hash.as_ref().map(|_| ScimView {
            base_url: SCIM_BASE_PATH.to_owned(),
            token: scim_token.map(str::to_owned),
        });
        Self {
            id: integration.id.to_string(),
            kind: integration.kind.clone(),
            tenant_id: integration.tenant_id.to_string(),
            config: integration.config.clone(),
            status: integration.status,
            created_at: integration.created_at,
            updated_at: integration.updated_at,
            sync,
            ingest,
            scim,
            notes: Vec::new(),
        }
    }

    /// The view with the provider's notes on its config.
    pub(crate) fn with_notes(mut self, notes: Vec<String>) -> Self {
        self.notes = notes;
        self
    }
}

/// A newly issued tenant API key; `key` is shown only here.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ApiKeyCreated {
    pub id: String,
    pub tenant_id: String,
    pub key: String,
    pub created_at: DateTime<Utc>,
}

impl ApiKeyCreated {
    pub(crate) fn new(key: &ApiKey, secret: &str) -> Self {
        Self {
            id: key.id.to_string(),
            tenant_id: key.tenant_id.to_string(),
            key: secret.to_owned(),
            created_at: key.created_at,
        }
    }
}

/// The result of `POST /v1/integrations/{id}/test`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CheckView {
    pub ok: bool,
    pub principal: Option<String>,
    pub notes: Vec<String>,
}

/// `202 Accepted` answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Accepted {
    pub status: &'static str,
}
