//! Pulls: directory (full and incremental), groups and sign-in logs, one page at a time. A page is
//! stored before its cursor is, so a crash or failure replays at most one page (and dedupe absorbs
//! it); a failed pull leaves the cursor where it was. One run at a time per integration and job.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::model::{Integration, IntegrationStatus, SyncCursor, SyncStatus};
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::PullMode;
use gatehouse_core::{Clock, IntegrationId, TenantId};
use gatehouse_store::{CursorMove, Store};
use serde::{Deserialize, Serialize};

use crate::detect::Detector;
use crate::inventory::{CorrelationGuard, Inventory};
use crate::lease::LeaseGuard;
use crate::sync_pipeline::{self, Prepared};
use crate::{EngineError, Gateway};

/// What a pull fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncJob {
    /// Accounts changed since the last successful pull (all accounts the first time).
    Users,
    /// Every account in every status.
    FullUsers,
    Groups,
    Signins,
    /// Upkeep at the provider ([`Connector::maintain`]): a change-notification subscription
    /// created, renewed or moved.
    ///
    /// [`Connector::maintain`]: gatehouse_core::provider::Connector::maintain
    Maintain,
    /// Outbound provisioning of the tenant's people into the app ([`crate::provision`]), for
    /// integrations whose config says `provision: true`.
    Provision,
}

impl SyncJob {
    fn name(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::FullUsers => "full_users",
            Self::Groups => "groups",
            Self::Signins => "signins",
            Self::Maintain => "maintenance",
            Self::Provision => "provision",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    Done {
        records: u64,
    },
    /// The same job was already running for the integration in this process.
    AlreadyRunning,
    /// Another replica sharing the store holds the job's lease and is running it.
    RunningElsewhere,
    /// The integration is disabled or its connector cannot do this job.
    Skipped(String),
}

const USERS_PAGE: &str = "users.page";
const USERS_SINCE: &str = "users.since";
/// The provider's change token from the end of the last completed pass ([`Page::sync_state`]).
///
/// [`Page::sync_state`]: gatehouse_core::records::Page::sync_state
const USERS_STATE: &str = "users.state";
const GROUPS_PAGE: &str = "groups.page";
/// What the connector's last upkeep run left (its subscription, say).
const MAINTENANCE: &str = "maintenance";
const SIGNINS: &str = "signins";
/// The cursor holding since when the store has the integration's whole sign-in record (RFC 3339).
pub(crate) const SIGNIN_HISTORY_START: &str = "signins_history_start";
/// Changes made while a pull runs may carry a `lastUpdated` a little before the pull started.
const INCREMENTAL_OVERLAP_MINUTES: i64 = 2;
/// A sign-in pull stops after this many pages and resumes at the next run, so one busy org
/// cannot hold a worker forever.
const MAX_SIGNIN_PAGES_PER_RUN: usize = 500;

/// An interrupted directory pull: resumes where it stopped, with the same mode.
#[derive(Debug, Serialize, Deserialize)]
struct PageCursor {
    full: bool,
    since: Option<DateTime<Utc>>,
    next: String,
    /// When the interrupted run began: the next incremental pull starts from there, since the
    /// resumed run never goes back to the pages stored before the interruption. Absent in
    /// cursors written before this field existed (then the resumed run's start is used).
    #[serde(default)]
    started: Option<DateTime<Utc>>,
}

/// Runs pulls and records their outcome in the integration's sync status.
pub struct SyncRunner {
    gateway: Arc<Gateway>,
    detector: Option<Arc<Detector>>,
    inventory: Inventory,
    running: Mutex<HashSet<(IntegrationId, SyncJob)>>,
    /// One directory pull at a time per integration: an incremental and a full pull share the
    /// resumable page cursor (and the connector's per-pull state), so when both are due (the
    /// daily full pull at the hour of an hourly one) the second waits for the first; a groups
    /// pull writes the accounts' memberships, which a users pull beside it would write back as
    /// it had read them.
    directory_lanes: Mutex<HashMap<IntegrationId, Arc<tokio::sync::Mutex<()>>>>,
    /// Serializes read-modify-write of sync status records.
    status_lock: tokio::sync::Mutex<()>,
    /// This process as a holder of pull leases.
    lease_holder: String,
}

/// Clears the running mark when a run ends, however it ends.
struct RunGuard<'a> {
    running: &'a Mutex<HashSet<(IntegrationId, SyncJob)>>,
    key: (IntegrationId, SyncJob),
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut running) = self.running.lock() {
            running.remove(&self.key);
        }
    }
}

impl SyncRunner {
    /// The gateway the runner pulls through.
    pub fn gateway(&self) -> &Arc<Gateway> {
        &self.gateway
    }

    pub fn new(gateway: Arc<Gateway>, detector: Option<Arc<Detector>>) -> Self {
        let inventory = Inventory::for_gateway(&gateway);
        Self {
            gateway,
            detector,
            inventory,
            running: Mutex::new(HashSet::new()),
            directory_lanes: Mutex::new(HashMap::new()),
            status_lock: tokio::sync::Mutex::new(()),
            lease_holder: crate::lease::holder_id(),
        }
    }

    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    fn store(&self) -> &Arc<dyn Store> {
        self.gateway.store()
    }

    fn clock(&self) -> &Arc<dyn Clock> {
        self.gateway.clock()
    }

    /// Runs one job now, unless it is already running for the integration.
    pub async fn run(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
        job: SyncJob,
    ) -> Result<SyncOutcome, EngineError> {
        let key = (id.clone(), job);
        {
            let mut running = self
                .running
                .lock()
                .map_err(|_| EngineError::Conflict("sync state poisoned".into()))?;
            if !running.insert(key.clone()) {
                return Ok(SyncOutcome::AlreadyRunning);
            }
        }
        let _guard = RunGuard {
            running: &self.running,
            key,
        };
        let _lane = match job {
            SyncJob::Users | SyncJob::FullUsers | SyncJob::Groups => {
                Some(self.directory_lane(id)?.lock_owned().await)
            }
            SyncJob::Signins | SyncJob::Maintain | SyncJob::Provision => None,
        };
        // Across replicas: the directory jobs share one lease, as they share the lane above.
        let lane = match job {
            SyncJob::Users | SyncJob::FullUsers | SyncJob::Groups => "directory",
            other => other.name(),
        };
        let lease = format!("pull:{tenant}:{id}:{lane}");
        let Some(lease) = LeaseGuard::acquire(self.store(), lease, &self.lease_holder).await?
        else {
            return Ok(SyncOutcome::RunningElsewhere);
        };
        let outcome = self.run_held(tenant, id, job).await;
        lease.release().await;
        outcome
    }

    /// Runs a job that fell due at `due` (a schedule's tick) on whichever replica gets its
    /// lease. Every replica's schedule fires; the one that holds the lease pulls, the others
    /// wait and look again every third of a lease period until that pull has succeeded (a run
    /// that started at or after `due` did the tick's work) or its holder died and this replica
    /// takes the lease over, resuming from the stored cursor.
    pub async fn run_due(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
        job: SyncJob,
        due: DateTime<Utc>,
    ) -> Result<SyncOutcome, EngineError> {
        loop {
            match self.run(tenant, id, job).await? {
                SyncOutcome::RunningElsewhere => {
                    if self.succeeded_since(tenant, id, job, due).await? {
                        return Ok(SyncOutcome::RunningElsewhere);
                    }
                    tokio::time::sleep(crate::lease::LEASE_PERIOD / 3).await;
                }
                other => return Ok(other),
            }
        }
    }

    /// Whether a run of `job` that started at or after `due` (give or take the replicas'
    /// clock skew) has succeeded.
    async fn succeeded_since(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
        job: SyncJob,
        due: DateTime<Utc>,
    ) -> Result<bool, EngineError> {
        let skew = Duration::seconds(30);
        let status = self.store().get_sync_status(tenant, id).await?;
        Ok(status
            .as_ref()
            .and_then(|s| s.jobs.get(job.name()))
            .is_some_and(|j| {
                j.last_run_at.is_some_and(|t| t >= due - skew)
                    && j.last_success_at.is_some_and(|t| t >= due)
            }))
    }

    /// [`run`](Self::run), once this replica holds the job's lease.
    async fn run_held(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
        job: SyncJob,
    ) -> Result<SyncOutcome, EngineError> {
        let integration = self.gateway.integration(tenant, id).await?;
        if integration.status == IntegrationStatus::Disabled {
            return Ok(SyncOutcome::Skipped("the integration is disabled".into()));
        }
        let connector = self.gateway.connector(&integration, "sync")?;
        let capabilities = connector.capabilities();
        let supported = match job {
            SyncJob::Users | SyncJob::FullUsers => capabilities.users,
            SyncJob::Groups => capabilities.groups,
            SyncJob::Signins => capabilities.signins,
            SyncJob::Maintain => true,
            SyncJob::Provision => crate::provision::provisions(&integration),
        };
        if !supported && job == SyncJob::Provision {
            return Ok(SyncOutcome::Skipped(
                "outbound provisioning is off (config.provision)".into(),
            ));
        }
        if !supported {
            return Ok(SyncOutcome::Skipped(format!(
                "{} integrations have no {} pull",
                integration.kind,
                job.name()
            )));
        }
        let started = self.clock().now();
        let name = job.name();
        self.record(&integration, |s| {
            s.jobs.entry(name.to_owned()).or_default().last_run_at = Some(started);
        })
        .await?;
        let mut provisioned = None;
        let result = match job {
            SyncJob::Users => match self.pull_users(&integration, &*connector, false).await {
                Err(EngineError::Provider(ConnectorError::SyncStateExpired(why))) => {
                    tracing::info!(
                        tenant_id = %tenant, integration_id = %id, reason = %why,
                        "the provider forgot the change token: pulling every account"
                    );
                    self.set_cursor(&integration, USERS_STATE, String::new())
                        .await?;
                    self.pull_users(&integration, &*connector, true).await
                }
                other => other,
            },
            SyncJob::FullUsers => self.pull_users(&integration, &*connector, true).await,
            SyncJob::Groups => self.pull_groups(&integration, &*connector).await,
            SyncJob::Signins => self.pull_signins(&integration, &*connector).await,
            SyncJob::Maintain => self.maintain(&integration, &*connector).await,
            SyncJob::Provision => self
                .provision(&integration, &*connector)
                .await
                .map(|counts| {
                    provisioned = Some(counts);
                    counts.writes()
                }),
        };
        self.gateway.stats().pull(name, result.is_ok());
        match &result {
            Ok(records) => {
                let finished = self.clock().now();
                let records = *records;
                self.record(&integration, |s| {
                    let entry = s.jobs.entry(name.to_owned()).or_default();
                    entry.last_success_at = Some(finished);
                    entry.last_error = None;
                    entry.records = records;
                    if provisioned.is_some() {
                        entry.provisioned = provisioned;
                    }
                    match job {
                        // Set by the pull itself, and only when it read every account.
                        SyncJob::Users | SyncJob::FullUsers => {}
                        SyncJob::Groups => s.counts.groups = records,
                        SyncJob::Signins => s.counts.signins += records,
                        SyncJob::Maintain | SyncJob::Provision => {}
                    }
                })
                .await?;
                tracing::info!(
                    tenant_id = %tenant, integration_id = %id, job = name, records,
                    "pull finished"
                );
            }
            Err(error) => {
                let message = format!("{name} pull failed: {error}");
                tracing::warn!(tenant_id = %tenant, integration_id = %id, job = name, %error, "pull failed");
                self.record(&integration, |s| {
                    s.jobs.entry(name.to_owned()).or_default().last_error = Some(message.clone());
                })
                .await?;
            }
        }
        result.map(|records| SyncOutcome::Done { records })
    }

    fn directory_lane(
        &self,
        id: &IntegrationId,
    ) -> Result<Arc<tokio::sync::Mutex<()>>, EngineError> {
        let mut lanes = self
            .directory_lanes
            .lock()
            .map_err(|_| EngineError::Conflict("sync state poisoned".into()))?;
        Ok(Arc::clone(lanes.entry(id.clone()).or_default()))
    }

    /// Stops a pull whose integration was deleted while it ran: otherwise its next pages would
    /// bring back the accounts the delete removed, under an integration that no longer exists.
    async fn still_there(&self, integration: &Integration) -> Result<(), EngineError> {
        if self.exists(integration).await? {
            Ok(())
        } else {
            Err(EngineError::NotFound(format!(
                "integration {} (deleted during the pull)",
                integration.id
            )))
        }
    }

    async fn exists(&self, integration: &Integration) -> Result<bool, EngineError> {
        Ok(self
            .store()
            .get_integration(&integration.tenant_id, &integration.id)
            .await?
            .is_some())
    }

    async fn record(
        &self,
        integration: &Integration,
        change: impl FnOnce(&mut SyncStatus),
    ) -> Result<(), EngineError> {
        let _lock = self.status_lock.lock().await;
        if !self.exists(integration).await? {
            // A deleted integration's status went with it; writing it again would orphan it.
            return Ok(());
        }
        let mut status = self
            .store()
            .get_sync_status(&integration.tenant_id, &integration.id)
            .await?
            .unwrap_or_default();
        change(&mut status);
        status.summarize();
        self.store()
            .put_sync_status(&integration.tenant_id, &integration.id, &status)
            .await?;
        Ok(())
    }

    async fn cursor(
        &self,
        integration: &Integration,
        name: &str,
    ) -> Result<Option<String>, EngineError> {
        Ok(self
            .store()
            .get_cursor(&integration.tenant_id, &integration.id, name)
            .await?
            .map(|c| c.value)
            .filter(|v| !v.is_empty()))
    }

    async fn set_cursor(
        &self,
        integration: &Integration,
        name: &str,
        value: String,
    ) -> Result<(), EngineError> {
        let cursor = SyncCursor {
            value,
            updated_at: self.clock().now(),
        };
        self.store()
            .put_cursor(&integration.tenant_id, &integration.id, name, &cursor)
            .await?;
        Ok(())
    }

    async fn pull_users(
        &self,
        integration: &Integration,
        connector: &dyn gatehouse_core::provider::Connector,
        full: bool,
    ) -> Result<u64, EngineError> {
        let started = self.clock().now();
        // What the page cursor holds now: each page's write moves it on from there, in the
        // same commit, and fails if another puller moved it meanwhile.
        let mut page_cursor_at = self.cursor(integration, USERS_PAGE).await?;
        let resumed: Option<PageCursor> = page_cursor_at
            .clone()
            .and_then(|text| serde_json::from_str(&text).ok())
            // A full pull asked for while an incremental one was interrupted starts over.
            .filter(|c: &PageCursor| c.full || !full);
        let (full, since, started, next) = match resumed {
            Some(c) => (c.full, c.since, c.started.unwrap_or(started), Some(c.next)),
            None => {
                let since = if full {
                    None
                } else {
                    self.cursor(integration, USERS_SINCE)
                        .await?
                        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                        .map(|t| t.with_timezone(&Utc))
                };
                (since.is_none(), since, started, None)
            }
        };
        let mode = match since {
            Some(since) if !full => PullMode::Changed {
                since,
                sync_state: self.cursor(integration, USERS_STATE).await?,
            },
            _ => PullMode::Full,
        };
        let mut records = 0u64;
        let mut sync_state = None;
        let mut page = connector.users_page(mode.clone(), next.as_deref()).await?;
        // The pipeline (`sync_pipeline.rs`): the page correlated last round and not yet
        // written, and the correlation lock it was correlated under.
        let mut unwritten: Option<(Prepared, CorrelationGuard)> = None;
        loop {
            self.still_there(integration).await?;
            let following = page.next_cursor.take();
            let items = std::mem::take(&mut page.items);
            sync_state = page.sync_state.take().or(sync_state);
            // Where the pull goes on after this page (nowhere: the pass is done).
            let moved_to = match &following {
                Some(cursor) => serde_json::to_string(&PageCursor {
                    full,
                    since,
                    next: cursor.clone(),
                    started: Some(started),
                })
                .map_err(|e| EngineError::Conflict(e.to_string()))?,
                None => String::new(),
            };
            let cursor_move = CursorMove {
                integration: integration.id.clone(),
                name: USERS_PAGE.to_owned(),
                from: page_cursor_at.clone(),
                to: SyncCursor {
                    value: moved_to.clone(),
                    updated_at: self.clock().now(),
                },
            };
            let (before, guard) = match unwritten.take() {
                Some((before, guard)) => (Some(before), guard),
                None => (
                    None,
                    self.inventory.correlating(&integration.tenant_id).await,
                ),
            };
            let stage =
                sync_pipeline::write_and_prepare(&self.inventory, integration, before, items);
            let fetch = async {
                match following.as_deref() {
                    Some(cursor) => Some(connector.users_page(mode.clone(), Some(cursor)).await),
                    None => None,
                }
            };
            let (mut stage, mut fetch) = (std::pin::pin!(stage), std::pin::pin!(fetch));
            let mut fetched = None;
            let rows = loop {
                tokio::select! {
                    rows = &mut stage => break rows?,
                    page = &mut fetch, if fetched.is_none() => fetched = Some(page),
                }
            };
            records += rows.users.len() as u64;
            page_cursor_at = Some(moved_to).filter(|text| !text.is_empty());
            let prepared = Prepared {
                rows: Arc::new(rows),
                cursor: cursor_move,
            };
            // Kept for the next round only when that round can start at once and no one else
            // waits for the lock; otherwise written now (while the next page is still on its
            // way), and the lock let go.
            let fetched = if matches!(fetched, Some(Some(Ok(_)))) && !guard.contended() {
                unwritten = Some((prepared, guard));
                fetched.and_then(|page| page)
            } else {
                // A task of its own: the write is synchronous store work, and the page on its
                // way is parsed on the other core meanwhile.
                let write = sync_pipeline::write_in_task(&self.inventory, integration, prepared);
                let write = async {
                    let written = write.await;
                    drop(guard);
                    written
                };
                let rest = async {
                    match fetched {
                        Some(fetched) => fetched,
                        None => fetch.await,
                    }
                };
                let (written, fetched) = tokio::join!(write, rest);
                written?;
                fetched
            };
            let Some(fetched) = fetched else {
                break;
            };
            page = fetched?;
        }
        if let Some(state) = sync_state {
            self.set_cursor(integration, USERS_STATE, state).await?;
        }
        let next_since = started - Duration::minutes(INCREMENTAL_OVERLAP_MINUTES);
        self.set_cursor(integration, USERS_SINCE, next_since.to_rfc3339())
            .await?;
        if full {
            let gone = self.inventory.mark_unseen(integration, started).await?;
            if gone > 0 {
                tracing::info!(
                    tenant_id = %integration.tenant_id, integration_id = %integration.id, gone,
                    "accounts missing from a complete full pull marked deprovisioned"
                );
            }
            // An incremental pull counts the accounts that changed, not the directory.
            self.record(integration, |s| s.counts.users = records)
                .await?;
        }
        Ok(records)
    }

    /// Runs the connector's upkeep with the state its last run left; 1 when it changed anything.
    async fn maintain(
        &self,
        integration: &Integration,
        connector: &dyn gatehouse_core::provider::Connector,
    ) -> Result<u64, EngineError> {
        let state = self.cursor(integration, MAINTENANCE).await?;
        let next = connector.maintain(state.as_deref()).await?;
        let changed = next != state;
        if changed {
            self.set_cursor(integration, MAINTENANCE, next.unwrap_or_default())
                .await?;
        }
        Ok(u64::from(changed))
    }

    /// One provisioning pass, with the connector's state from the last one.
    async fn provision(
        &self,
        integration: &Integration,
        connector: &dyn gatehouse_core::provider::Connector,
    ) -> Result<gatehouse_core::model::ProvisionCounts, EngineError> {
        let state = self.cursor(integration, crate::provision::STATE).await?;
        let (counts, next) =
            crate::provision::run(self.store(), integration, connector, state.clone()).await?;
        if next != state {
            self.set_cursor(
                integration,
                crate::provision::STATE,
                next.unwrap_or_default(),
            )
            .await?;
        }
        tracing::info!(
            tenant_id = %integration.tenant_id, integration_id = %integration.id,
            created = counts.created, updated = counts.updated,
            deactivated = counts.deactivated, unchanged = counts.unchanged,
            failed = counts.failed, "provisioning pass finished"
        );
        Ok(counts)
    }

    async fn pull_groups(
        &self,
        integration: &Integration,
        connector: &dyn gatehouse_core::provider::Connector,
    ) -> Result<u64, EngineError> {
        let mut next = self.cursor(integration, GROUPS_PAGE).await?;
        // Only a pass read from its first page knows every group the provider lists; a resumed
        // one does not know when its first half was read, so it removes nothing.
        let whole_pass = next.is_none();
        let started = self.clock().now();
        let mut records = 0u64;
        loop {
            let page = connector.groups_page(next.as_deref()).await?;
            self.still_there(integration).await?;
            records += self.inventory.apply_groups(integration, page.items).await? as u64;
            match page.next_cursor {
                Some(cursor) => {
                    self.set_cursor(integration, GROUPS_PAGE, cursor.clone())
                        .await?;
                    next = Some(cursor);
                }
                None => break,
            }
        }
        if whole_pass {
            let gone = self
                .inventory
                .remove_unlisted_groups(integration, started)
                .await?;
            if gone > 0 {
                tracing::info!(
                    tenant_id = %integration.tenant_id, integration_id = %integration.id, gone,
                    "groups missing from a complete groups pass removed"
                );
            }
        }
        self.set_cursor(integration, GROUPS_PAGE, String::new())
            .await?;
        Ok(records)
    }

    /// After a first sign-in pull answered: the store holds the integration's whole sign-in
    /// record from `now − reach` on. Taken after the answer, so never earlier than where the
    /// provider started; a later first pull (a lost cursor) moves it forward, never back.
    async fn record_history_start(
        &self,
        integration: &Integration,
        connector: &dyn gatehouse_core::provider::Connector,
    ) -> Result<(), EngineError> {
        let Some(reach) = connector.signin_history_reach() else {
            return Ok(());
        };
        let start = self.clock().now() - reach;
        self.set_cursor(
            integration,
            SIGNIN_HISTORY_START,
            start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        )
        .await
    }

    async fn pull_signins(
        &self,
        integration: &Integration,
        connector: &dyn gatehouse_core::provider::Connector,
    ) -> Result<u64, EngineError> {
        let mut cursor = self.cursor(integration, SIGNINS).await?;
        let mut stored = 0u64;
        for _ in 0..MAX_SIGNIN_PAGES_PER_RUN {
            let first_pull = cursor.is_none();
            let page = connector.signins_page(cursor.as_deref()).await?;
            if first_pull {
                self.record_history_start(integration, connector).await?;
            }
            let events = self
                .inventory
                .signins(
                    integration,
                    page.events,
                    gatehouse_core::model::EventSource::Pull,
                )
                .await?;
            // The page and its cursor's move in one commit.
            let advance = page
                .next_cursor
                .filter(|next| cursor.as_deref() != Some(next.as_str()));
            let tenant = &integration.tenant_id;
            let fresh = match &advance {
                Some(next) => {
                    let moving = CursorMove {
                        integration: integration.id.clone(),
                        name: SIGNINS.to_owned(),
                        from: cursor.clone(),
                        to: SyncCursor {
                            value: next.clone(),
                            updated_at: self.clock().now(),
                        },
                    };
                    self.store()
                        .insert_signins_moving(tenant, &events, &moving)
                        .await?
                }
                None => {
                    self.store()
                        .insert_signins(tenant, &events, gatehouse_store::Durability::Now)
                        .await?
                }
            };
            stored += fresh.len() as u64;
            if let Some(detector) = &self.detector {
                detector
                    .submit(crate::ingest::keep_positions(events, &fresh))
                    .await;
            }
            if let Some(next) = advance {
                cursor = Some(next);
            }
            if page.caught_up {
                break;
            }
        }
        Ok(stored)
    }
}
