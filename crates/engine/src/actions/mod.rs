//! The response-action executor. An action is written durably (`pending`) before it runs;
//! workers pick up due actions, run them at the provider through the connector, retry transient
//! failures with exponential backoff and jitter (honouring the provider's retry-after), and record
//! every transition with its time and cause. Provider actions are idempotent, so an action that
//! was `running` when the daemon died simply runs again at start. At most
//! [`ExecutorPolicy::max_concurrent`] actions run at once, and no provider's retry-after parks an
//! action for longer than [`ExecutorPolicy::max_retry_after`]. The guards at admission live in
//! [`guards`], the confirmation of pushed evidence in [`confirm`].

mod confirm;
mod guards;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatehouse_connect::Backoff;
use gatehouse_core::model::{Action, ActionKind, ActionStatus, ActionTransition};
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{AccountState, ActionTarget};
use gatehouse_core::{ActionId, DetectionId, TenantId, UserId};
use rand::SeedableRng;
use serde_json::Value;
use tokio::sync::{Notify, Semaphore};

use self::confirm::{ConfirmError, Verdict};

use crate::lease::LeaseGuard;
use crate::{EngineError, Gateway};

/// A request for an action.
#[derive(Debug, Clone)]
pub struct ActionRequest {
    pub tenant: TenantId,
    pub user_id: UserId,
    pub kind: ActionKind,
    pub reason: Option<String>,
    pub dry_run: bool,
    /// Who asked: `api:<key id>`, `operator`, `policy:<id>`.
    pub requested_by: String,
    pub detection_id: Option<DetectionId>,
    /// Caller-supplied dedupe key; detections derive one from detection + action + account.
    pub idempotency_key: Option<String>,
    /// Asked for by a policy rather than a person: protected accounts and the tenant's rate
    /// cap apply.
    pub automatic: bool,
    /// Wait for a person's approval before running.
    pub needs_approval: bool,
}

/// Retry limits of the executor.
#[derive(Debug, Clone, Copy)]
pub struct ExecutorPolicy {
    pub max_attempts: u32,
    pub backoff: Backoff,
    /// How often due actions are looked for when nothing wakes the workers.
    pub poll: Duration,
    /// How many actions run at the providers at once; the rest wait their turn (a slow
    /// provider must not pile up unbounded tasks).
    pub max_concurrent: usize,
    /// The longest retry-after honoured: a provider that says "retry in a day" is retried after
    /// this instead (the action stays durable and pending meanwhile).
    pub max_retry_after: Duration,
}

/// Default of [`ExecutorPolicy::max_concurrent`]: enough to contain an incident's few accounts
/// at once without a slow provider piling up tasks.
pub const DEFAULT_MAX_CONCURRENT_ACTIONS: usize = 8;
/// Default of [`ExecutorPolicy::max_retry_after`].
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

impl Default for ExecutorPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff: Backoff {
                base: Duration::from_secs(1),
                max: Duration::from_secs(60),
                factor: 2.0,
            },
            poll: Duration::from_millis(500),
            max_concurrent: DEFAULT_MAX_CONCURRENT_ACTIONS,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
        }
    }
}

/// The action a request would create, unsaved (what a backtest reports).
pub fn preview(request: &ActionRequest, now: chrono::DateTime<chrono::Utc>) -> Action {
    Action {
        id: ActionId::generate(now),
        tenant_id: request.tenant.clone(),
        user_id: request.user_id.clone(),
        integration_id: gatehouse_core::IntegrationId::generate(now),
        action: request.kind,
        status: if request.needs_approval {
            ActionStatus::AwaitingApproval
        } else {
            ActionStatus::Pending
        },
        dry_run: true,
        reason: request.reason.clone(),
        requested_by: request.requested_by.clone(),
        detection_id: request.detection_id.clone(),
        idempotency_key: request.idempotency_key.clone().unwrap_or_default(),
        attempts: 0,
        error: None,
        result: Some(format!("backtest: would {}", verb(request.kind))),
        next_attempt_at: None,
        history: Vec::new(),
        confirmation: None,
        created_at: now,
        updated_at: now,
    }
}

/// Queues and runs response actions.
pub struct ActionExecutor {
    gateway: Arc<Gateway>,
    policy: ExecutorPolicy,
    wake: Notify,
    /// The actions running, and the accounts they act on: one action per account at a time,
    /// so that each takes the account's state the one before it left (a session revocation
    /// read before a suspension must not write "active" back after it).
    inflight: Mutex<Inflight>,
    /// One permit per action running at a provider.
    running: Arc<Semaphore>,
    /// Held from the guards' count to the write of an automatic action, so concurrent
    /// detections cannot all pass a cap that only one of them fits under.
    admission: tokio::sync::Mutex<()>,
    outputs: Option<Arc<crate::outputs::Outputs>>,
    /// This process as a lease holder: replicas sharing a store run an account's actions one
    /// at a time, each on one replica, under the lease `action-account:<tenant>:<user>`.
    lease_holder: String,
}

/// What the executor is running: action ids, and the accounts they hold.
#[derive(Debug, Default)]
struct Inflight {
    actions: HashSet<ActionId>,
    accounts: HashSet<(TenantId, UserId)>,
}

impl Inflight {
    /// Takes action `id` on `account` unless it or another action on the account is running.
    fn claim(&mut self, id: &ActionId, account: (TenantId, UserId)) -> bool {
        if self.actions.contains(id) || self.accounts.contains(&account) {
            return false;
        }
        self.actions.insert(id.clone());
        self.accounts.insert(account);
        true
    }

    fn release(&mut self, id: &ActionId, account: &(TenantId, UserId)) {
        self.actions.remove(id);
        self.accounts.remove(account);
    }
}

pub(crate) fn verb(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::DisableAccount => "disable the account",
        ActionKind::EnableAccount => "enable the account",
        ActionKind::RevokeSessions => "revoke the sessions",
        ActionKind::EnforceMfa => "enforce MFA",
    }
}

impl ActionExecutor {
    pub fn new(gateway: Arc<Gateway>, policy: ExecutorPolicy) -> Arc<Self> {
        Self::with_outputs(gateway, policy, None)
    }

    /// An executor that also reports every action that reaches a final state to the outputs.
    pub fn with_outputs(
        gateway: Arc<Gateway>,
        policy: ExecutorPolicy,
        outputs: Option<Arc<crate::outputs::Outputs>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            gateway,
            policy,
            wake: Notify::new(),
            inflight: Mutex::new(Inflight::default()),
            running: Arc::new(Semaphore::new(policy.max_concurrent.max(1))),
            admission: tokio::sync::Mutex::new(()),
            outputs,
            lease_holder: crate::lease::holder_id(),
        })
    }

    /// Writes the action durably and wakes a worker. A request whose idempotency key was seen
    /// before returns the existing action instead of queueing another; the key is claimed in the
    /// same store transaction that writes the action, so concurrent requests make one action.
    pub async fn request(&self, request: ActionRequest) -> Result<Action, EngineError> {
        let store = self.gateway.store();
        let user = store
            .get_user(&request.tenant, &request.user_id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("user {}", request.user_id)))?;
        let now = self.gateway.clock().now();
        let id = ActionId::generate(now);
        let key = match (&request.idempotency_key, &request.detection_id) {
            (Some(key), _) => format!("key:{key}"),
            (None, Some(detection)) => {
                format!("detection:{detection}:{:?}:{}", request.kind, user.id)
            }
            (None, None) => format!("manual:{id}"),
        };
        if let Some(existing) = store.find_action_by_key(&request.tenant, &key).await? {
            return Ok(existing);
        }
        let cause = format!(
            "requested by {}{}",
            request.requested_by,
            request
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
        // Automatic requests are admitted one at a time (caps are counted, then written).
        let _admitted = if request.automatic {
            Some(self.admission.lock().await)
        } else {
            None
        };
        let (status, cause) = self.gate(&request, &user, cause).await?;
        let action = Action {
            id,
            tenant_id: request.tenant,
            user_id: user.id,
            integration_id: user.integration_id,
            action: request.kind,
            status,
            dry_run: request.dry_run,
            reason: request.reason,
            requested_by: request.requested_by,
            detection_id: request.detection_id,
            idempotency_key: key,
            attempts: 0,
            error: None,
            result: None,
            next_attempt_at: Some(now),
            history: vec![ActionTransition {
                at: now,
                to: status,
                cause,
            }],
            confirmation: None,
            created_at: now,
            updated_at: now,
        };
        if let Some(existing) = store.create_action(&action).await? {
            return Ok(existing);
        }
        tracing::info!(
            tenant_id = %action.tenant_id, action_id = %action.id, user_id = %action.user_id,
            action = ?action.action, dry_run = action.dry_run, "action queued"
        );
        self.wake.notify_one();
        Ok(action)
    }

    /// A person's decision on an action awaiting approval.
    pub async fn decide(
        &self,
        tenant: &TenantId,
        id: &ActionId,
        approve: bool,
        by: &str,
    ) -> Result<Action, EngineError> {
        let store = self.gateway.store();
        let mut action = store
            .get_action(tenant, id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("action {id}")))?;
        if action.status != ActionStatus::AwaitingApproval {
            return Err(EngineError::Conflict(format!(
                "action {id} is {:?}, not awaiting approval",
                action.status
            )));
        }
        let (to, cause) = if approve {
            (ActionStatus::Pending, format!("approved by {by}"))
        } else {
            (ActionStatus::Rejected, format!("rejected by {by}"))
        };
        action.next_attempt_at = Some(self.gateway.clock().now());
        self.save(&mut action, to, cause).await?;
        if approve {
            self.wake.notify_one();
        }
        Ok(action)
    }

    /// Runs the workers until the process ends: picks up due actions (including those left
    /// `pending` or `running` by a previous process).
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let executor = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                executor.run_due().await;
                tokio::select! {
                    () = executor.wake.notified() => {}
                    () = tokio::time::sleep(executor.policy.poll) => {}
                }
            }
        })
    }

    async fn run_due(self: &Arc<Self>) {
        let open = match self.gateway.store().open_actions().await {
            Ok(open) => open,
            Err(error) => {
                tracing::error!(%error, "cannot list open actions");
                return;
            }
        };
        let now = self.gateway.clock().now();
        for action in open {
            let due = matches!(action.status, ActionStatus::Pending | ActionStatus::Running)
                && action.next_attempt_at.is_none_or(|t| t <= now);
            if !due {
                continue;
            }
            // Every permit taken: the rest wait for a running action to finish (it wakes us).
            let Ok(permit) = Arc::clone(&self.running).try_acquire_owned() else {
                break;
            };
            let claimed = self
                .inflight
                .lock()
                .map(|mut inflight| {
                    inflight.claim(
                        &action.id,
                        (action.tenant_id.clone(), action.user_id.clone()),
                    )
                })
                .unwrap_or(false);
            if !claimed {
                // Running already, or another action on its account is: the permit goes back,
                // and the wake when that one finishes brings this one round again.
                continue;
            }
            let executor = Arc::clone(self);
            tokio::spawn(async move {
                let id = action.id.clone();
                let account = (action.tenant_id.clone(), action.user_id.clone());
                if let Err(error) = executor.run_leased(action).await {
                    tracing::error!(action_id = %id, %error, "action bookkeeping failed");
                }
                if let Ok(mut inflight) = executor.inflight.lock() {
                    inflight.release(&id, &account);
                }
                drop(permit);
                executor.wake.notify_one();
            });
        }
    }

    /// Runs `action` under its account's lease, as read again once the lease is held: another
    /// replica may have run it between this one's listing and now (then it is final, and
    /// nothing runs), or may be running it or another action on the account (then the lease is
    /// taken, and the next poll after that one ends brings it round again if still open).
    async fn run_leased(&self, action: Action) -> Result<(), EngineError> {
        let store = self.gateway.store();
        let lease = format!("action-account:{}:{}", action.tenant_id, action.user_id);
        let Some(lease) = LeaseGuard::acquire(store, lease, &self.lease_holder).await? else {
            return Ok(());
        };
        let result = match store.get_action(&action.tenant_id, &action.id).await {
            Ok(Some(current))
                if matches!(
                    current.status,
                    ActionStatus::Pending | ActionStatus::Running
                ) =>
            {
                self.run_one(current).await
            }
            Ok(_) => Ok(()),
            Err(error) => Err(error.into()),
        };
        lease.release().await;
        result
    }

    async fn save(
        &self,
        action: &mut Action,
        to: ActionStatus,
        cause: String,
    ) -> Result<(), EngineError> {
        let now = self.gateway.clock().now();
        action.status = to;
        action.updated_at = now;
        action.history.push(ActionTransition { at: now, to, cause });
        self.gateway.store().put_action(action).await?;
        if to.is_final() {
            self.gateway.stats().action(action.action, to);
            if let Some(outputs) = &self.outputs {
                let document = match outputs.format() {
                    crate::outputs::OutputFormat::Ocsf => crate::outputs::ocsf_action(action),
                    crate::outputs::OutputFormat::Ecs => crate::outputs::ecs_action(action),
                };
                outputs.emit(&document).await;
            }
        }
        Ok(())
    }

    /// Shows the provider's word on the account in the inventory at once, rather than at the
    /// next directory pull. The action itself is done either way, so a failed write is logged,
    /// not reported as the action's failure (the next pull repairs it).
    async fn take_account_state(&self, tenant: &TenantId, id: &UserId, account: &AccountState) {
        // One atomic read-and-write of the status fields alone: a pull writing the account's
        // memberships meanwhile neither loses this nor is undone by it.
        let now = self.gateway.clock().now();
        let result = self
            .gateway
            .store()
            .update_users(tenant, std::slice::from_ref(id), &|user| {
                if user.status == account.status && user.status_flags == account.status_flags {
                    return false;
                }
                user.status = account.status;
                user.status_flags.clone_from(&account.status_flags);
                user.updated_at = Some(now);
                true
            })
            .await;
        if let Err(error) = result {
            tracing::warn!(%error, "could not record the account's new status after an action");
        }
    }

    /// Runs the action at the provider, bounded in time.
    async fn act(
        &self,
        connector: &dyn gatehouse_core::provider::Connector,
        kind: ActionKind,
        target: &ActionTarget,
    ) -> Result<gatehouse_core::records::ActionReport, ConnectorError> {
        tokio::time::timeout(Duration::from_secs(120), connector.act(kind, target))
            .await
            .unwrap_or_else(|_| {
                Err(ConnectorError::Unavailable(
                    "the provider did not answer in time".into(),
                ))
            })
    }

    async fn run_one(&self, mut action: Action) -> Result<(), EngineError> {
        let store = self.gateway.store();
        let Some(integration) = store
            .get_integration(&action.tenant_id, &action.integration_id)
            .await?
        else {
            action.error = Some("the integration no longer exists".into());
            return self
                .save(
                    &mut action,
                    ActionStatus::Skipped,
                    "the integration no longer exists".into(),
                )
                .await;
        };
        let allowed = integration
            .config
            .get("enable_response_actions")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if !allowed {
            let cause = "response actions are disabled for this integration (enable_response_actions: false)";
            action.result = Some(cause.into());
            return self
                .save(&mut action, ActionStatus::Skipped, cause.into())
                .await;
        }
        let Some(user) = store.get_user(&action.tenant_id, &action.user_id).await? else {
            return self
                .save(
                    &mut action,
                    ActionStatus::Skipped,
                    "the account no longer exists".into(),
                )
                .await;
        };
        let connector = match self.gateway.connector(&integration, "response actions") {
            Ok(connector) => connector,
            Err(error) => {
                action.error = Some(error.to_string());
                return self
                    .save(&mut action, ActionStatus::Failed, error.to_string())
                    .await;
            }
        };
        if !connector.capabilities().actions.contains(&action.action) {
            let cause = format!("{} cannot {}", integration.kind, verb(action.action));
            return self.save(&mut action, ActionStatus::Skipped, cause).await;
        }
        if action.dry_run {
            let would = format!(
                "dry run: would {} of {} at {}",
                verb(action.action),
                user.login,
                integration.kind
            );
            action.result = Some(would.clone());
            return self.save(&mut action, ActionStatus::Skipped, would).await;
        }
        action.attempts += 1;
        let attempt = action.attempts;
        self.save(
            &mut action,
            ActionStatus::Running,
            format!("attempt {attempt}"),
        )
        .await?;
        let target = ActionTarget {
            external_id: user.external_id.clone(),
            login: user.login.clone(),
        };
        let outcome = match self.confirm(&action, &user, &*connector).await {
            Ok(Verdict::NotNeeded) => self.act(&*connector, action.action, &target).await,
            Ok(Verdict::Confirmed(confirmation)) => {
                tracing::info!(
                    action_id = %action.id,
                    provider_event_id = %confirmation.provider_event_id,
                    "pushed evidence confirmed in the provider's log"
                );
                action.confirmation = Some(confirmation);
                self.act(&*connector, action.action, &target).await
            }
            Ok(Verdict::Unconfirmed(why)) => {
                tracing::warn!(action_id = %action.id, "pushed evidence not confirmed; action not run");
                action.result = Some(why.clone());
                action.next_attempt_at = None;
                return self.save(&mut action, ActionStatus::Unconfirmed, why).await;
            }
            Err(ConfirmError::Engine(error)) => return Err(error),
            Err(ConfirmError::Connector(error)) => Err(error),
        };
        match outcome {
            Ok(report) => {
                if let Some(account) = &report.account {
                    self.take_account_state(&action.tenant_id, &action.user_id, account)
                        .await;
                }
                action.result = Some(report.detail.clone());
                action.error = None;
                action.next_attempt_at = None;
                let confirmed = action
                    .confirmation
                    .as_ref()
                    .map(|c| {
                        format!(
                            " (pushed event {} confirmed in the provider's log)",
                            c.provider_event_id
                        )
                    })
                    .unwrap_or_default();
                let cause = if report.changed {
                    format!("{}{confirmed}", report.detail)
                } else {
                    format!("already done: {}{confirmed}", report.detail)
                };
                tracing::info!(action_id = %action.id, changed = report.changed, "action succeeded");
                self.save(&mut action, ActionStatus::Succeeded, cause).await
            }
            Err(error) if error.is_transient() && attempt < self.policy.max_attempts => {
                let wait = match &error {
                    // The provider's word, but never longer than the executor's bound.
                    ConnectorError::RateLimited {
                        retry_after: Some(wait),
                    } => (*wait).min(self.policy.max_retry_after),
                    _ => {
                        let mut rng = rand::rngs::StdRng::from_entropy();
                        self.policy.backoff.delay(attempt - 1, &mut rng)
                    }
                };
                let now = self.gateway.clock().now();
                action.error = Some(error.to_string());
                action.next_attempt_at = chrono::Duration::from_std(wait).ok().map(|w| now + w);
                tracing::warn!(action_id = %action.id, attempt, %error, "action failed; will retry");
                self.save(
                    &mut action,
                    ActionStatus::Pending,
                    format!("attempt {attempt} failed: {error}; retrying"),
                )
                .await
            }
            Err(error) => {
                action.error = Some(error.to_string());
                action.next_attempt_at = None;
                tracing::warn!(action_id = %action.id, attempt, %error, "action failed");
                self.save(
                    &mut action,
                    ActionStatus::Failed,
                    format!("attempt {attempt} failed: {error}"),
                )
                .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_action_per_account_at_a_time() {
        let id = |n: u32| ActionId::parse(&format!("act_{n:06}")).unwrap();
        let account = |t: &str, u: &str| {
            (
                TenantId::parse(t).unwrap(),
                UserId::parse(&format!("usr_{u}")).unwrap(),
            )
        };
        let mut inflight = Inflight::default();
        assert!(inflight.claim(&id(1), account("ten_a", "one")));
        // The same action again, and another action on the same account, wait.
        assert!(!inflight.claim(&id(1), account("ten_a", "one")));
        assert!(!inflight.claim(&id(2), account("ten_a", "one")));
        // Other accounts (in this tenant or another) run beside it.
        assert!(inflight.claim(&id(3), account("ten_a", "two")));
        assert!(inflight.claim(&id(4), account("ten_b", "one")));
        inflight.release(&id(1), &account("ten_a", "one"));
        assert!(inflight.claim(&id(2), account("ten_a", "one")));
    }
}
