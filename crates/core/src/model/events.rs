//! Sign-in and audit events (aligned with OCSF Authentication, class 3002) and detections.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{DetectionId, IdentityId, IntegrationId, SignInId, TenantId, UserId};

/// How a sign-in attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    /// The provider asked for more proof (an MFA prompt) and the attempt is not finished.
    Challenge,
}

/// Whether an event is an authentication or a change worth auditing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventCategory {
    #[default]
    Authentication,
    Audit,
}

/// A provider's own risk verdict on an event.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    None,
    Low,
    Medium,
    High,
}

/// How an event reached Gatehouse. A pulled event was read from the provider's API with
/// Gatehouse's credentials; a pushed one was sent to the ingest URL by whoever holds its token,
/// so it is trusted for destructive actions only once the provider's log confirms it. Events
/// stored before the field existed read as pulled.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    #[default]
    Pull,
    Push,
}

/// A normalized sign-in (or audit) event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignInEvent {
    pub id: SignInId,
    pub tenant_id: TenantId,
    pub integration_id: IntegrationId,
    pub provider: String,
    /// The provider's event id: the dedupe key within an integration.
    pub provider_event_id: String,
    pub time: DateTime<Utc>,
    #[serde(default)]
    pub category: EventCategory,
    /// The provider's event type (`user.session.start`, …).
    pub event_type: String,
    pub user_id: Option<UserId>,
    /// The provider account id of the actor, when known.
    #[serde(default)]
    pub external_user_id: Option<String>,
    pub login: Option<String>,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub ip: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
    #[serde(default)]
    pub asn: Option<u32>,
    pub user_agent: Option<String>,
    #[serde(default)]
    pub device: Option<String>,
    pub mfa_factor: Option<String>,
    pub session_id: Option<String>,
    #[serde(default)]
    pub is_proxy: Option<bool>,
    #[serde(default)]
    pub provider_risk: Option<RiskLevel>,
    /// Pulled from the provider or pushed to the ingest URL.
    #[serde(default)]
    pub source: EventSource,
    /// What the event means in provider-neutral words, filled by the connector; empty for
    /// events stored before it existed (they are judged as unrecognised events).
    #[serde(default)]
    pub signal: super::EventSignal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub raw: Option<super::RawEvent>,
}

/// How bad a detection is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// A risk finding about an account or identity, with the events that prove it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Detection {
    pub id: DetectionId,
    pub tenant_id: TenantId,
    pub kind: String,
    pub severity: Severity,
    pub user_id: Option<UserId>,
    pub identity_id: Option<IdentityId>,
    pub integration_id: Option<IntegrationId>,
    pub evidence: Vec<SignInId>,
    pub explanation: String,
    /// Event time of the first and last evidence.
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
