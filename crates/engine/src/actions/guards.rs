//! The guards a new action passes before it is queued: protected accounts take no automatic
//! action of any kind, a tenant-wide cap on automatic actions (every kind, ten minutes) ends
//! the excess `capped`, the older cap on automatic disables sends the excess to approval, and
//! approval-mode policies wait for a person. An automatic action the same account already has
//! queued or running (two detections of one attack, two policies naming the same response) is
//! recorded `skipped` instead of running twice: the queued one acts on everything seen so far.
//! One that already finished does not stop a new one: new evidence (the attacker back with a
//! new session) deserves a new revocation.
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
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Recent {
    /// Every kind.
    actions: u64,
    /// `disable_account` only.
    disables: u64,
    /// A real automatic action of the request's kind for the request's account that is still
    /// queued or running.
    in_flight: Option<gatehouse_core::ActionId>,
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
            let recent = self.recent_automatic(request).await?;
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
            if let Some(queued) = &recent.in_flight {
                return Ok((
                    ActionStatus::Skipped,
                    format!(
                        "{cause}; the same action ({}) is already queued or running for {} \
                         (action {queued}): not repeated",
                        serde_json::to_value(request.kind)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        user.login
                    ),
                ));
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
    /// Also finds an automatic action of the request's kind for its account still in flight.
    async fn recent_automatic(&self, request: &ActionRequest) -> Result<Recent, EngineError> {
        let tenant: &TenantId = &request.tenant;
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
                if action.user_id == request.user_id
                    && action.action == request.kind
                    && matches!(action.status, ActionStatus::Pending | ActionStatus::Running)
                {
                    recent.in_flight = Some(action.id.clone());
                }
            }
            match found.next_cursor {
                Some(cursor) => page = gatehouse_store::PageRequest::new(1000, Some(cursor)),
                None => return Ok(recent),
            }
        }
    }
}
