//! The running engine: the gateway plus the pipelines behind it (pulls and their schedule, push
//! ingest, the action executor), started once by the daemon.

use std::sync::Arc;

use gatehouse_core::model::Integration;
use gatehouse_core::{IntegrationId, TenantId};
use gatehouse_store::journal::Journal;

use crate::actions::{ActionExecutor, ExecutorPolicy};
use crate::detect::Detector;
use crate::ingest::Ingest;
use crate::outputs::{OutputConfig, Outputs};
use crate::refresh::DirectoryRefresh;
use crate::schedule::Scheduler;
use crate::sync::{SyncJob, SyncRunner};
use crate::{EngineError, Gateway};

/// The default share of the push inbox's backlog one tenant may fill: four tenants flooding at
/// once still leave room for everyone else, and one tenant alone still gets 512 MiB of the
/// default 2 GiB.
pub const DEFAULT_TENANT_SHARE_PERCENT: u8 = 25;

/// Everything that moves data, behind one handle.
pub struct Engine {
    pub gateway: Arc<Gateway>,
    pub detector: Arc<Detector>,
    pub sync: Arc<SyncRunner>,
    pub ingest: Ingest,
    pub actions: Arc<ActionExecutor>,
    /// The alert sinks (their queues and dead letters are exported as metrics).
    pub outputs: Arc<Outputs>,
    scheduler: Option<Scheduler>,
}

/// What to start.
#[derive(Debug)]
pub struct EngineOptions {
    /// Run the cron schedules (off in tests that drive pulls by hand).
    pub schedules: bool,
    pub executor: ExecutorPolicy,
    /// Where detections go besides the store.
    pub outputs: OutputConfig,
    /// The push inbox's journal: deliveries are acknowledged once durable there and stored
    /// behind the acknowledgement. Without one, each push is stored before it is acknowledged.
    pub inbox: Option<Arc<Journal>>,
    /// The share (in percent) of the inbox's backlog limit one tenant's deliveries may take;
    /// past it that tenant's pushes are refused while other tenants' are still taken.
    pub inbox_tenant_share_percent: u8,
    /// Where the work behind acknowledgements runs (the inbox consumer, the detection runner);
    /// the daemon gives it a lower CPU priority so bursts of pushes are acknowledged first.
    /// The current runtime when `None`.
    pub background: Option<tokio::runtime::Handle>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            schedules: true,
            executor: ExecutorPolicy::default(),
            outputs: OutputConfig::default(),
            inbox: None,
            inbox_tenant_share_percent: DEFAULT_TENANT_SHARE_PERCENT,
            background: None,
        }
    }
}

impl Engine {
    /// Starts the scheduler (with every stored integration's jobs) and the action workers.
    pub async fn start(
        gateway: Arc<Gateway>,
        options: EngineOptions,
    ) -> Result<Arc<Self>, EngineError> {
        let outputs = Arc::new(Outputs::new(options.outputs).map_err(|e| {
            EngineError::Conflict(format!("cannot open the JSON-lines output: {e}"))
        })?);
        let actions = ActionExecutor::with_outputs(
            Arc::clone(&gateway),
            options.executor,
            Some(Arc::clone(&outputs)),
        );
        actions.spawn();
        let background = options
            .background
            .unwrap_or_else(tokio::runtime::Handle::current);
        let detector = Detector::spawn(
            Arc::clone(&gateway),
            Arc::clone(&actions),
            Arc::clone(&outputs),
            &background,
        );
        let sync = Arc::new(SyncRunner::new(
            Arc::clone(&gateway),
            Some(Arc::clone(&detector)),
        ));
        let scheduler = if options.schedules {
            Some(Scheduler::start(Arc::clone(&sync)).await?)
        } else {
            None
        };
        let refresh = DirectoryRefresh::spawn(Arc::clone(&sync), &background);
        let ingest = match options.inbox {
            Some(journal) => Ingest::with_inbox(
                Arc::clone(&gateway),
                Some(Arc::clone(&detector)),
                Some(refresh),
                journal,
                options.inbox_tenant_share_percent,
                &background,
            ),
            None => Ingest::new(
                Arc::clone(&gateway),
                Some(Arc::clone(&detector)),
                Some(refresh),
            ),
        };
        let engine = Arc::new(Self {
            ingest,
            detector,
            gateway,
            sync,
            actions,
            outputs,
            scheduler,
        });
        for integration in engine.gateway.store().all_integrations().await? {
            engine.integration_changed(&integration).await;
        }
        Ok(engine)
    }

    /// Re-reads an integration's schedules after it was created or changed, and runs its
    /// upkeep at the provider (a subscription to create or move) when it has any.
    pub async fn integration_changed(&self, integration: &Integration) {
        let Some(scheduler) = &self.scheduler else {
            return;
        };
        if !self.gateway.has_connector(&integration.kind) {
            return;
        }
        if crate::schedule::needs_maintenance(integration) {
            let runner = Arc::clone(&self.sync);
            let (tenant, id) = (integration.tenant_id.clone(), integration.id.clone());
            tokio::spawn(async move {
                if let Err(error) = runner.run(&tenant, &id, SyncJob::Maintain).await {
                    tracing::warn!(integration_id = %id, %error, "upkeep at the provider failed");
                }
            });
        }
        match scheduler.register(integration).await {
            Ok(jobs) => {
                tracing::debug!(integration_id = %integration.id, jobs, "schedules registered")
            }
            Err(error) => {
                tracing::warn!(integration_id = %integration.id, %error, "schedules not registered")
            }
        }
    }

    pub async fn integration_removed(&self, id: &IntegrationId) {
        if let Some(scheduler) = &self.scheduler {
            scheduler.unregister(id).await;
        }
    }

    /// Whether the background services run.
    pub fn running(&self) -> bool {
        self.scheduler.is_some()
    }

    /// Starts a pull of users, groups and sign-ins now, in the background.
    /// Queues the integration's pulls: the directory (`full`: every account, and those missing
    /// from it marked deprovisioned; otherwise what changed since the last pull), its groups and
    /// its sign-ins, then its outbound provisioning when its config says `provision: true`.
    pub async fn sync_now(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
        full: bool,
    ) -> Result<(), EngineError> {
        let integration = self.gateway.integration(tenant, id).await?;
        // Fails with 501 when this build has no connector for the type.
        self.gateway.connector(&integration, "sync")?;
        // In this order: sign-ins are matched to accounts, so the directory goes first.
        let runner = Arc::clone(&self.sync);
        let (t, i) = (tenant.clone(), id.clone());
        // Provisioning last: it reads the inventory the pulls keep.
        let provision = crate::provision::provisions(&integration).then_some(SyncJob::Provision);
        // Another replica running one of these jobs does it for this request too; if it dies
        // first, this one takes the job over when its lease runs out.
        let due = self.gateway.clock().now();
        tokio::spawn(async move {
            let users = if full {
                SyncJob::FullUsers
            } else {
                SyncJob::Users
            };
            for job in [users, SyncJob::Groups, SyncJob::Signins]
                .into_iter()
                .chain(provision)
            {
                if let Err(error) = runner.run_due(&t, &i, job, due).await {
                    tracing::warn!(integration_id = %i, ?job, %error, "requested pull failed");
                }
            }
        });
        Ok(())
    }

    pub async fn shutdown(&self) {
        if let Some(scheduler) = &self.scheduler {
            scheduler.shutdown().await;
        }
    }
}
