//! The guards a new action passes before it is queued: protected accounts take no automatic
//! action of any kind, a tenant-wide cap on automatic actions (every kind, ten minutes) ends
//! the excess `capped`, the older cap on automatic disables sends the excess to approval, and
//! approval-mode policies wait for a person.
//!
//! Why protected accounts are spared every automatic action, `revoke_sessions` included: the
//! evidence of an automatic action can be pushed by anyone holding an ingest token, and a loop
//! of forged bursts that keeps revoking the break-glass admins' sessions locks out exactly the
//! people who must answer the incident. A person can still act on them through the API.

use gatehouse_core::model::{
    ActionKind, ActionStatus, Tenant, User, DEFAULT_MAX_AUTO_ACTIONS_PER_10M,
};
use gatehouse_core::TenantId;

use super::{ActionExecutor, ActionRequest};
use crate::EngineError;

/// How far back the tenant's caps on automatic actions look.
pub(crate) const CAP_WINDOW_MINUTES: i64 = 10;

/// Automatic actions queued in the cap window, as the caps count them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Recent {
    /// Every kind.
    actions: u64,
    /// `disable_account` only.
    disables: u64,
}

/// Whether the account is one of the tenant's protected accounts (login or any e-mail,
/// case-insensitive).
pub(crate) fn is_protected(tenant: &Tenant, user: &User) -> bool {
    let names: Vec<String> = std::iter::once(&user.login)
        .chain(user.email.iter())
        .chain(user.emails.iter())
        .map(|n| n.to_lowercase())
        .collect();
    tenant
        .settings
        .protected_accounts
        .iter()
        .any(|p| names.contains(&p.to_lowercase()))
}

impl ActionExecutor {
    /// The status a new action starts in, and the cause recorded with it.
    pub(super) async fn gate(
        &self,
        request: &ActionRequest,
        user: &User,
        cause: String,
    ) -> Result<(ActionStatus, String), EngineError> {
        let tenant = self.gateway.tenant(&request.tenant).await?;
        if request.automatic && is_protected(&tenant, user) {
            return Ok((
                ActionStatus::Skipped,
                format!(
                    "{cause}; {} is a protected account and takes no automatic action",
                    user.login
                ),
            ));
        }
        // A dry run changes nothing at the provider, so it neither counts nor is capped.
        if request.automatic && !request.dry_run {
            let recent = self.recent_automatic(&request.tenant).await?;
            let cap = tenant
                .settings
                .max_auto_actions_per_10m
                .unwrap_or(DEFAULT_MAX_AUTO_ACTIONS_PER_10M);
            if recent.actions >= u64::from(cap) {
                return Ok((
                    ActionStatus::Capped,
                    format!(
                        "{cause}; {} automatic actions in the last {CAP_WINDOW_MINUTES} minutes \
                         reached the tenant's cap of {cap} (max_auto_actions_per_10m): not run",
                        recent.actions
                    ),
                ));
            }
            if request.kind == ActionKind::DisableAccount {
                if let Some(cap) = tenant.settings.max_auto_disables_per_10m {
                    if recent.disables >= u64::from(cap) {
                        return Ok((
                            ActionStatus::AwaitingApproval,
                            format!(
                                "{cause}; {} automatic disables in the last {CAP_WINDOW_MINUTES} \
                                 minutes reached the cap of {cap}: waiting for approval",
                                recent.disables
                            ),
                        ));
                    }
                }
            }
        }
        if request.needs_approval {
            return Ok((
                ActionStatus::AwaitingApproval,
                format!("{cause}; waiting for approval"),
            ));
        }
        Ok((ActionStatus::Pending, cause))
    }

    /// Automatic, real (not dry-run) actions created in the cap window that were let through:
    /// those the guards stopped (skipped, capped, unconfirmed) or a person rejected do not count.
    async fn recent_automatic(&self, tenant: &TenantId) -> Result<Recent, EngineError> {
        let since = self.gateway.clock().now() - chrono::Duration::minutes(CAP_WINDOW_MINUTES);
        let mut recent = Recent::default();
        let mut page = gatehouse_store::PageRequest::first(1000);
        loop {
            let found = self
                .gateway
                .store()
                .list_actions(tenant, &gatehouse_store::ActionFilter::default(), &page)
                .await?;
            for action in found.items.iter().filter(|a| {
                a.requested_by.starts_with("policy:")
                    && !a.dry_run
                    && a.created_at >= since
                    && !matches!(
                        a.status,
                        ActionStatus::Skipped
                            | ActionStatus::Rejected
                            | ActionStatus::Capped
                            | ActionStatus::Unconfirmed
                    )
            }) {
                recent.actions += 1;
                if action.action == ActionKind::DisableAccount {
                    recent.disables += 1;
                }
            }
            match found.next_cursor {
                Some(cursor) => page = gatehouse_store::PageRequest::new(1000, Some(cursor)),
                None => return Ok(recent),
            }
        }
    }
}
