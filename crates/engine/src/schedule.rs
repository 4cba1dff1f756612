//! Pull scheduling: cron jobs per integration from its config (kept in our store with the
//! integration, re-registered at start), each job one run at a time (the runner skips a run
//! while the previous one is still going).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds};
use gatehouse_core::catalog::SCHEDULE_KEYS;
use gatehouse_core::model::{Integration, IntegrationStatus};
use gatehouse_core::IntegrationId;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job, JobScheduler};
use uuid::Uuid;

use crate::sync::{SyncJob, SyncRunner};
use crate::EngineError;

/// Default schedules (seconds first): incremental users hourly, a full pull daily, logs every minute.
pub const DEFAULT_USERS: &str = "0 0 * * * *";
pub const DEFAULT_FULL_USERS: &str = "0 30 3 * * *";
pub const DEFAULT_SIGNINS: &str = "0 * * * * *";
/// Upkeep at the provider (renewing a subscription): hourly, off the hour the pulls run at.
pub const DEFAULT_MAINTAIN: &str = "0 17 * * * *";
/// Outbound provisioning (`provision: true`): hourly, after the hourly pulls.
pub const DEFAULT_PROVISION: &str = "0 40 * * * *";

/// Whether an integration registers something at its provider that needs upkeep: its config
/// names the public URL the provider reaches the daemon at ([`crate::gateway`]'s push URL).
pub fn needs_maintenance(integration: &Integration) -> bool {
    integration.status != IntegrationStatus::Disabled
        && integration
            .config
            .get(crate::PUBLIC_BASE_URL)
            .is_some_and(Value::is_string)
}

/// Accepts the five-field cron form too, by running at second 0.
pub fn normalize_cron(expression: &str) -> String {
    let fields = expression.split_whitespace().count();
    if fields == 5 {
        format!("0 {}", expression.trim())
    } else {
        expression.trim().to_owned()
    }
}

/// Checks a cron expression with the parser the scheduler runs it with (seconds first, day of
/// month and weekday both required to match), and that it fires at all after `now`: a
/// schedule like `0 0 0 30 2 *` parses but never runs, and the scheduler would keep it silently.
pub fn check_cron(expression: &str, now: DateTime<Utc>) -> Result<(), String> {
    let normalized = normalize_cron(expression);
    let cron = CronParser::builder()
        .seconds(Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(&normalized)
        .map_err(|_| {
            "must be a cron expression: six fields with seconds first (0 */5 * * * *) or the five-field form".to_owned()
        })?;
    cron.find_next_occurrence(&now, false)
        .map(|_| ())
        .map_err(|_| "is a cron expression that never fires".to_owned())
}

/// Checks every schedule key of an integration's config (`config.users_schedule`, …).
pub fn check_schedules(
    config: &serde_json::Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<(), EngineError> {
    for key in SCHEDULE_KEYS {
        if let Some(expression) = config.get(key).and_then(Value::as_str) {
            check_cron(expression, now)
                .map_err(|message| EngineError::invalid(&format!("config.{key}"), message))?;
        }
    }
    Ok(())
}

/// The jobs an integration should have, with their schedules. `signins_flag` is the config key
/// that switches its type's sign-in pull (its descriptor says which), `None` for none.
pub fn plan(integration: &Integration, signins_flag: Option<&str>) -> Vec<(SyncJob, String)> {
    if integration.status == IntegrationStatus::Disabled {
        return Vec::new();
    }
    let flag = |key: &str, default: bool| {
        integration
            .config
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(default)
    };
    let schedule = |key: &str, default: &str| {
        normalize_cron(
            integration
                .config
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or(default),
        )
    };
    let mut jobs = Vec::new();
    if flag("ingest_users", true) {
        jobs.push((SyncJob::Users, schedule("users_schedule", DEFAULT_USERS)));
        jobs.push((SyncJob::Groups, schedule("users_schedule", DEFAULT_USERS)));
        jobs.push((
            SyncJob::FullUsers,
            schedule("full_sync_schedule", DEFAULT_FULL_USERS),
        ));
    }
    if crate::provision::provisions(integration) {
        jobs.push((SyncJob::Provision, normalize_cron(DEFAULT_PROVISION)));
    }
    if needs_maintenance(integration) {
        jobs.push((SyncJob::Maintain, normalize_cron(DEFAULT_MAINTAIN)));
    }
    if signins_flag.is_some_and(|key| flag(key, true)) {
        jobs.push((
            SyncJob::Signins,
            schedule("signins_schedule", DEFAULT_SIGNINS),
        ));
    }
    jobs
}

/// The cron scheduler and the jobs it holds per integration.
pub struct Scheduler {
    cron: JobScheduler,
    runner: Arc<SyncRunner>,
    jobs: Mutex<HashMap<IntegrationId, Vec<Uuid>>>,
}

impl Scheduler {
    pub async fn start(runner: Arc<SyncRunner>) -> Result<Self, EngineError> {
        let cron = JobScheduler::new()
            .await
            .map_err(|e| EngineError::Conflict(format!("cannot create the scheduler: {e}")))?;
        cron.start()
            .await
            .map_err(|e| EngineError::Conflict(format!("cannot start the scheduler: {e}")))?;
        Ok(Self {
            cron,
            runner,
            jobs: Mutex::new(HashMap::new()),
        })
    }

    /// (Re)registers an integration's jobs from its current config.
    pub async fn register(&self, integration: &Integration) -> Result<usize, EngineError> {
        self.unregister(&integration.id).await;
        let mut ids = Vec::new();
        let signins_flag = self
            .runner
            .gateway()
            .registry()
            .descriptor(&integration.kind)
            .and_then(|d| d.signins_flag);
        for (job, expression) in plan(integration, signins_flag) {
            let runner = Arc::clone(&self.runner);
            let tenant = integration.tenant_id.clone();
            let id = integration.id.clone();
            let cron_job = Job::new_async(expression.as_str(), move |_, _| {
                let runner = Arc::clone(&runner);
                let (tenant, id) = (tenant.clone(), id.clone());
                Box::pin(async move {
                    let due = runner.gateway().clock().now();
                    if let Err(error) = runner.run_due(&tenant, &id, job, due).await {
                        tracing::warn!(integration_id = %id, ?job, %error, "scheduled pull failed");
                    }
                })
            })
            .map_err(|e| {
                EngineError::invalid(
                    "config",
                    format!("schedule {expression:?} is not valid: {e}"),
                )
            })?;
            let uuid = self
                .cron
                .add(cron_job)
                .await
                .map_err(|e| EngineError::Conflict(format!("cannot schedule: {e}")))?;
            ids.push(uuid);
        }
        let count = ids.len();
        self.jobs.lock().await.insert(integration.id.clone(), ids);
        Ok(count)
    }

    pub async fn unregister(&self, id: &IntegrationId) {
        let removed = self.jobs.lock().await.remove(id);
        for uuid in removed.into_iter().flatten() {
            if let Err(error) = self.cron.remove(&uuid).await {
                tracing::warn!(integration_id = %id, %error, "could not remove a scheduled job");
            }
        }
    }

    /// How many jobs are scheduled (for readiness and tests).
    pub async fn job_count(&self) -> usize {
        self.jobs.lock().await.values().map(Vec::len).sum()
    }

    pub async fn shutdown(&self) {
        let mut cron = self.cron.clone();
        if let Err(error) = cron.shutdown().await {
            tracing::warn!(%error, "scheduler shutdown failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_field_cron_runs_at_second_zero() {
        assert_eq!(normalize_cron("*/5 * * * *"), "0 */5 * * * *");
        assert_eq!(normalize_cron("0 0 * * * *"), "0 0 * * * *");
    }

    #[test]
    fn schedules_are_checked_by_the_scheduler_s_parser() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-06T00:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        for good in [
            DEFAULT_USERS,
            DEFAULT_FULL_USERS,
            DEFAULT_SIGNINS,
            "*/5 * * * *",
            "0 0 12 29 2 *",
        ] {
            assert_eq!(check_cron(good, now), Ok(()), "{good}");
            // What passes the check, the scheduler accepts.
            assert!(
                Job::new_async(normalize_cron(good).as_str(), |_, _| Box::pin(async {})).is_ok()
            );
        }
        let never = check_cron("0 0 0 30 2 *", now).unwrap_err();
        assert!(never.contains("never fires"), "{never}");
        for bad in [
            "every minute",
            "0 0 25 * * *",
            "* * *",
            "0 61 * * * *",
            "0 0 0 * * MON-XYZ",
        ] {
            let error = check_cron(bad, now).unwrap_err();
            assert!(error.contains("cron expression"), "{bad}: {error}");
        }
    }

    #[test]
    fn the_sign_in_pull_follows_the_descriptor_s_flag() {
        let integration = |config: serde_json::Value| -> Integration {
            serde_json::from_value(serde_json::json!({
                "id": "int_1", "tenant_id": "ten_1", "type": "x", "config": config,
                "status": "active", "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z",
                "credentials": {"key_id": "k", "sealed": ""},
            }))
            .unwrap_or_else(|e| unreachable!("{e}"))
        };
        let has_signins =
            |plan: Vec<(SyncJob, String)>| plan.iter().any(|(j, _)| *j == SyncJob::Signins);
        let on = integration(serde_json::json!({}));
        assert!(has_signins(plan(&on, Some("ingest_signins"))));
        assert!(!has_signins(plan(&on, None)));
        let off = integration(serde_json::json!({"ingest_log": false}));
        assert!(!has_signins(plan(&off, Some("ingest_log"))));
        assert!(has_signins(plan(&off, Some("ingest_signins"))));
    }
}
