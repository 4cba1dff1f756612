//! Pull scheduling: cron jobs per integration from its config (kept in our store with the
//! integration, re-registered at start), each job one run at a time (the runner skips a run
//! while the previous one is still going).

use std::collections::HashMap;
use std::sync::Arc;

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

/// Accepts the five-field cron form too, by running at second 0.
pub fn normalize_cron(expression: &str) -> String {
    let fields = expression.split_whitespace().count();
    if fields == 5 {
        format!("0 {}", expression.trim())
    } else {
        expression.trim().to_owned()
    }
}

/// The jobs an integration should have, with their schedules.
pub fn plan(integration: &Integration) -> Vec<(SyncJob, String)> {
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
    // Okta names its log `ingest_system_log`; the other providers say `ingest_signins`.
    if flag("ingest_system_log", true) && flag("ingest_signins", true) {
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
        for (job, expression) in plan(integration) {
            let runner = Arc::clone(&self.runner);
            let tenant = integration.tenant_id.clone();
            let id = integration.id.clone();
            let cron_job = Job::new_async(expression.as_str(), move |_, _| {
                let runner = Arc::clone(&runner);
                let (tenant, id) = (tenant.clone(), id.clone());
                Box::pin(async move {
                    if let Err(error) = runner.run(&tenant, &id, job).await {
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
}
