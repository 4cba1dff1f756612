//! Response policies: which detections lead to which actions, and how (automatically, after
//! approval, or as a dry run), for the account or for every account of the person.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{PolicyId, TenantId};
use crate::model::{ActionKind, Severity};

/// How a policy's actions run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PolicyMode {
    /// Run at once.
    Auto,
    /// Wait for `POST /v1/actions/{id}/approve`.
    Approval,
    /// Record what would run; run nothing.
    DryRun,
}

/// Whom a policy's actions target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PolicyScope {
    /// The account the detection is about.
    Account,
    /// Every account of the identity, at every provider.
    Identity,
}

/// Which detections a policy answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyWhen {
    /// Detection kinds; empty means every kind.
    #[serde(default)]
    pub kinds: Vec<String>,
    #[serde(default = "default_min_severity")]
    pub min_severity: Severity,
    /// Provider type ids (`okta`, …); empty means every provider.
    #[serde(default)]
    pub providers: Vec<String>,
}

fn default_min_severity() -> Severity {
    Severity::Low
}

/// A tenant's response policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Policy {
    pub id: PolicyId,
    pub tenant_id: TenantId,
    pub name: String,
    pub when: PolicyWhen,
    pub then: Vec<ActionKind>,
    pub mode: PolicyMode,
    pub scope: PolicyScope,
    #[serde(default = "enabled")]
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn enabled() -> bool {
    true
}

impl Policy {
    /// Whether a detection of `kind` and `severity` from `provider` triggers this policy.
    pub fn matches(&self, kind: &str, severity: Severity, provider: Option<&str>) -> bool {
        self.enabled
            && (self.when.kinds.is_empty() || self.when.kinds.iter().any(|k| k == kind))
            && severity >= self.when.min_severity
            && (self.when.providers.is_empty()
                || provider.is_some_and(|p| self.when.providers.iter().any(|w| w == p)))
    }
}
