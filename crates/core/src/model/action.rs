//! Response actions at a provider and their state machine.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ActionId, DetectionId, IntegrationId, TenantId, UserId};

/// What a response does at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    DisableAccount,
    EnableAccount,
    RevokeSessions,
    EnforceMfa,
}

/// `pending → running → succeeded | failed | skipped`; `awaiting_approval` before `pending` when
/// a person must decide, `rejected` when they said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    AwaitingApproval,
    Pending,
    Running,
    Succeeded,
    Failed,
    Skipped,
    Rejected,
}

impl ActionStatus {
    /// Whether the executor will never touch the action again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Skipped | Self::Rejected
        )
    }
}

/// One recorded state change, for the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActionTransition {
    pub at: DateTime<Utc>,
    pub to: ActionStatus,
    pub cause: String,
}

/// A response action, written durably before it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Action {
    pub id: ActionId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub integration_id: IntegrationId,
    pub action: ActionKind,
    pub status: ActionStatus,
    pub dry_run: bool,
    pub reason: Option<String>,
    pub requested_by: String,
    pub detection_id: Option<DetectionId>,
    /// One detection + action + account runs once, however often it is requested.
    pub idempotency_key: String,
    pub attempts: u32,
    pub error: Option<String>,
    /// What the provider reported doing (or, for a dry run, what it would have done).
    pub result: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub history: Vec<ActionTransition>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
