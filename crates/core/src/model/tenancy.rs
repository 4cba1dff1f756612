//! Tenants, their API keys, integrations and the hashed tokens that authenticate callers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{ApiKeyId, IntegrationId, TenantId};

/// One customer organisation. Every other record belongs to exactly one tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    #[serde(default)]
    pub settings: TenantSettings,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The cap on automatic actions per tenant and ten minutes when the tenant sets none: high
/// enough for a real incident (a few accounts, a few actions each), low enough that a flood of
/// forged or mass detections cannot touch every account of an organisation.
pub const DEFAULT_MAX_AUTO_ACTIONS_PER_10M: u32 = 50;

/// Per-tenant guards for automated response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// Accounts (login or e-mail) that are never disabled automatically, e.g. break-glass admins.
    #[serde(default)]
    pub protected_accounts: Vec<String>,
    /// Past this many automatic disables in ten minutes, further disables wait for approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_auto_disables_per_10m: Option<u32>,
    /// Past this many automatic actions of any kind in ten minutes, further ones end `capped`
    /// without running; unset means [`DEFAULT_MAX_AUTO_ACTIONS_PER_10M`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_auto_actions_per_10m: Option<u32>,
    /// Detection thresholds overriding the defaults (see docs/DETECTIONS.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub risk: Option<serde_json::Value>,
}

/// The public face of a tenant API key; the secret itself is shown once and never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub created_at: DateTime<Utc>,
}

/// What a presented bearer token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// The operator key: every tenant.
    Operator,
    /// A tenant API key: `/v1/*` for one tenant.
    TenantApi,
    /// Push ingest for one integration.
    Ingest,
    /// SCIM provisioning for one integration.
    Scim,
}

impl TokenKind {
    /// The prefix that makes a leaked token recognisable to secret scanners.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Operator => "gh_op_",
            Self::TenantApi => "gh_tk_",
            Self::Ingest => "gh_in_",
            Self::Scim => "gh_scim_",
        }
    }
}

/// A stored token: only its hash, and whom it authenticates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Lower-case hex SHA-256 of the whole token.
    pub hash: String,
    pub kind: TokenKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<TenantId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_id: Option<IntegrationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<ApiKeyId>,
    pub created_at: DateTime<Utc>,
    /// Short-lived tokens (OAuth access tokens) stop authenticating at this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// Whether an integration is taking part in pulls, pushes and actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationStatus {
    Active,
    Disabled,
}

/// Credentials sealed with the master key: `nonce || ciphertext+tag`, base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    /// Which master key sealed it, so keys can be rotated later.
    pub key_id: String,
    pub sealed: String,
}

/// A connection to one provider inside a tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Integration {
    pub id: IntegrationId,
    pub tenant_id: TenantId,
    /// The provider type id (`okta`, `entra`, …).
    #[serde(rename = "type")]
    pub kind: String,
    pub config: Map<String, Value>,
    pub status: IntegrationStatus,
    pub credentials: SealedSecret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingest_token_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_token_hash: Option<String>,
    /// SHA-256 of a SCIM integration's OAuth `client_id`: the token endpoint finds the one
    /// integration a client names without opening every integration's credentials, and no two
    /// integrations may share a client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_client_id_hash: Option<String>,
    /// The current ingest token, sealed like the credentials: a connector that registers its
    /// push URL at the provider itself (a Graph subscription) needs the token in the URL. Absent
    /// for types that take no pushes and for integrations made before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_token: Option<SealedSecret>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the last pulls of an integration did: a summary over every job, and each job's own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SyncStatus {
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// The error of a job whose last run failed (the most recent such), until it succeeds again.
    pub last_error: Option<String>,
    #[serde(default)]
    pub counts: SyncCounts,
    /// Per job (`users`, `full_users`, `groups`, `signins`, `maintenance`, `provision`).
    #[serde(default)]
    pub jobs: std::collections::BTreeMap<String, JobStatus>,
}

/// One pull job's last runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobStatus {
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Records the last successful run stored (a provisioning run: the accounts it wrote).
    pub records: u64,
    /// What the last successful outbound provisioning run did (the `provision` job only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned: Option<ProvisionCounts>,
}

/// What outbound provisioning did to a downstream app's accounts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProvisionCounts {
    pub created: u64,
    /// Changed (names, e-mails, userName, externalId, reactivated), not deactivated.
    pub updated: u64,
    /// Set `active: false`: every source account suspended, or the person gone from the IdPs.
    pub deactivated: u64,
    /// Already as wanted: nothing written.
    pub unchanged: u64,
    /// Refused by the app (a 4xx other than a resolvable conflict); the run went on.
    pub failed: u64,
}

impl ProvisionCounts {
    /// Adds another batch's counts.
    pub fn add(&mut self, other: &Self) {
        self.created += other.created;
        self.updated += other.updated;
        self.deactivated += other.deactivated;
        self.unchanged += other.unchanged;
        self.failed += other.failed;
    }

    /// Accounts written at the app.
    pub fn writes(&self) -> u64 {
        self.created + self.updated + self.deactivated
    }
}

impl SyncStatus {
    /// Recomputes the summary from the jobs.
    pub fn summarize(&mut self) {
        self.last_run_at = self.jobs.values().filter_map(|j| j.last_run_at).max();
        self.last_success_at = self.jobs.values().filter_map(|j| j.last_success_at).max();
        self.last_error = self
            .jobs
            .values()
            .filter(|j| j.last_error.is_some())
            .max_by_key(|j| j.last_run_at)
            .and_then(|j| j.last_error.clone());
    }
}

/// Totals of what pulls and pushes stored for an integration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SyncCounts {
    pub users: u64,
    pub groups: u64,
    pub signins: u64,
}

/// A resumable position in a provider's stream (a `next` link, a delta link, a timestamp).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncCursor {
    pub value: String,
    pub updated_at: DateTime<Utc>,
}
