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
/// a person must decide, `rejected` when they said no. Two more final states are guards of
/// automatic response: `capped` (the tenant's cap on automatic actions was reached, so it never
/// ran) and `unconfirmed` (it rested only on pushed events and the provider's log did not
/// confirm any of them, so it never ran).
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
    Capped,
    Unconfirmed,
}

impl ActionStatus {
    /// Whether the executor will never touch the action again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Succeeded
                | Self::Failed
                | Self::Skipped
                | Self::Rejected
                | Self::Capped
                | Self::Unconfirmed
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
    /// The pushed event the provider's own log confirmed before a destructive automatic action
    /// ran (absent when none was needed or none was confirmed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<EventConfirmation>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A pushed event found in the provider's own log: what makes a burst that arrived only by push
/// (whose ingest token travels in a URL) trustworthy enough for a destructive action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventConfirmation {
    /// The provider's id of the confirmed event.
    pub provider_event_id: String,
    /// When the provider's log answered.
    pub confirmed_at: DateTime<Utc>,
}
