//! Directory records: provider accounts, groups, and the identities that join one person's accounts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{GroupId, IdentityId, IntegrationId, TenantId, UserId};

/// Lifecycle state of an account, the same words for every provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    Suspended,
    Deprovisioned,
    Locked,
    Staged,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Deprovisioned => "deprovisioned",
            Self::Locked => "locked",
            Self::Staged => "staged",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Active,
            Self::Suspended,
            Self::Deprovisioned,
            Self::Locked,
            Self::Staged,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }
}

/// One account at one provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub integration_id: IntegrationId,
    pub provider: String,
    /// The provider's own id for the account (stable across renames).
    pub external_id: String,
    pub login: String,
    pub email: Option<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    pub display_name: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    pub status: UserStatus,
    /// Provider states folded into `status` that still matter (`password_expired`, `recovery`, …).
    #[serde(default)]
    pub status_flags: Vec<String>,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub manager: Option<String>,
    /// External ids of the groups the account belongs to.
    #[serde(default)]
    pub groups: Vec<String>,
    pub mfa_enrolled: Option<bool>,
    #[serde(default)]
    pub mfa_factors: Vec<String>,
    #[serde(default)]
    pub is_admin: bool,
    pub identity_id: Option<IdentityId>,
    #[serde(default)]
    pub risk_score: u8,
    pub created_at: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
    /// When the provider last changed the account.
    pub updated_at: Option<DateTime<Utc>>,
    /// When Gatehouse last wrote the record.
    pub synced_at: DateTime<Utc>,
    /// A bounded copy of the provider's record, for investigations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub raw: Option<super::RawRecord>,
}

/// A group at one provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Group {
    pub id: GroupId,
    pub tenant_id: TenantId,
    pub integration_id: IntegrationId,
    pub provider: String,
    pub external_id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// External ids of member accounts.
    #[serde(default)]
    pub members: Vec<String>,
    pub updated_at: Option<DateTime<Utc>>,
    pub synced_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub raw: Option<super::RawRecord>,
}

/// One human, joined across providers by verified e-mail or a manual link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Identity {
    pub id: IdentityId,
    pub tenant_id: TenantId,
    /// Lower-cased e-mail addresses that correlate accounts to this identity.
    pub emails: Vec<String>,
    pub display_name: Option<String>,
    pub accounts: Vec<UserId>,
    #[serde(default)]
    pub risk_score: u8,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One point of an identity's risk score over time: the score it took at `time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RiskPoint {
    pub time: DateTime<Utc>,
    pub score: u8,
}

impl RiskPoint {
    /// How many points an identity's risk history keeps (the newest).
    pub const HISTORY_CAP: usize = 200;
}
