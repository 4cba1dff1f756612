//! Backtests: run the detections and a tenant's policies (or a candidate policy) over stored
//! history, and report what would have fired and which actions would have been queued, without
//! running any. The replay happens in a scratch copy of the tenant (its accounts, identities and
//! integrations, then its sign-ins in event-time order), so detections merge and policies apply
//! exactly as they would live, and nothing live is touched.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use gatehouse_core::model::{Action, Detection, Policy};
use gatehouse_core::{Clock, TenantId};
use gatehouse_store::{
    ActionFilter, DetectionFilter, PageRequest, SignInFilter, SledStore, Store, UserFilter,
};
use serde::Serialize;

use crate::actions::{ActionExecutor, ExecutorPolicy};
use crate::detect::Detector;
use crate::outputs::Outputs;
use crate::policies::PolicyInput;
use crate::secrets::{MasterKey, Sealer};
use crate::{EngineError, Gateway, GatewayOptions};

/// What a backtest found.
#[derive(Debug, Serialize)]
pub struct BacktestReport {
    pub tenant_id: TenantId,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub signins_assessed: u64,
    pub detections: Vec<Detection>,
    /// Actions the policies would have queued (none ran).
    pub actions: Vec<Action>,
    pub policies: Vec<Policy>,
}

/// Removes the scratch store's folder however the backtest ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Replays `tenant`'s sign-ins in `[since, until)` through the detections and policies.
/// `policy` replaces the tenant's policies with one candidate.
pub async fn run(
    live: &Gateway,
    tenant: &TenantId,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    policy: Option<PolicyInput>,
) -> Result<BacktestReport, EngineError> {
    let source = live.store();
    let record = live.tenant(tenant).await?;
    let folder = std::env::temp_dir().join(format!(
        "gatehouse-backtest-{}",
        gatehouse_core::ids::generate("", live.clock().now())
    ));
    let _cleanup = Scratch(folder.clone());
    // The scratch copy is always the embedded store: it lives for one request.
    let scratch: Arc<dyn Store> = Arc::new(SledStore::open(&folder)?);
    scratch.create_tenant(&record).await?;
    let mut page = PageRequest::first(1000);
    loop {
        let found = source.list_integrations(tenant, &page).await?;
        for integration in &found.items {
            scratch.create_integration(integration, &[]).await?;
        }
        match found.next_cursor {
            Some(c) => page = PageRequest::new(1000, Some(c)),
            None => break,
        }
    }
    let mut page = PageRequest::first(1000);
    loop {
        let found = source
            .list_users(tenant, &UserFilter::default(), &page)
            .await?;
        let mut identities = Vec::new();
        for user in &found.items {
            if let Some(id) = &user.identity_id {
                if let Some(identity) = source.get_identity(tenant, id).await? {
                    identities.push(identity);
                }
            }
        }
        scratch.upsert_users(tenant, &found.items).await?;
        scratch.put_identities(&identities).await?;
        match found.next_cursor {
            Some(c) => page = PageRequest::new(1000, Some(c)),
            None => break,
        }
    }
    let gateway = Arc::new(Gateway::new(
        Arc::clone(&scratch),
        live.registry_handle(),
        // Credentials are never opened in a backtest: nothing reaches a provider.
        Sealer::new(&MasterKey::generate()),
        Arc::clone(live.clock()),
        GatewayOptions::default(),
    ));
    match policy {
        Some(candidate) => {
            gateway.create_policy(tenant, candidate).await?;
        }
        None => {
            for existing in source.list_policies(tenant).await? {
                scratch.put_policy(&existing).await?;
            }
        }
    }
    // No workers: queued actions stay queued, which is what the report shows.
    let executor = ActionExecutor::new(Arc::clone(&gateway), ExecutorPolicy::default());
    let detector = Detector::passive(Arc::clone(&gateway), executor, Arc::new(Outputs::none()));
    let filter = SignInFilter {
        since: Some(since),
        until: Some(until),
        ..SignInFilter::default()
    };
    let mut assessed = 0u64;
    let mut page = PageRequest::first(1000);
    loop {
        let found = source.list_signins(tenant, &filter, &page).await?;
        for event in &found.items {
            scratch
                .insert_signins(
                    tenant,
                    std::slice::from_ref(event),
                    gatehouse_store::Durability::Now,
                )
                .await?;
            detector.assess(event, false).await?;
            assessed += 1;
        }
        match found.next_cursor {
            Some(c) => page = PageRequest::new(1000, Some(c)),
            None => break,
        }
    }
    let detections = collect(|p| {
        let scratch = Arc::clone(&scratch);
        let tenant = tenant.clone();
        async move {
            scratch
                .list_detections(&tenant, &DetectionFilter::default(), &p)
                .await
        }
    })
    .await?;
    let actions = collect(|p| {
        let scratch = Arc::clone(&scratch);
        let tenant = tenant.clone();
        async move {
            scratch
                .list_actions(&tenant, &ActionFilter::default(), &p)
                .await
        }
    })
    .await?;
    let policies = scratch.list_policies(tenant).await?;
    scratch.close().await?;
    tracing::info!(tenant_id = %tenant, assessed, detections = detections.len(), actions = actions.len(), "backtest finished");
    Ok(BacktestReport {
        tenant_id: tenant.clone(),
        since,
        until,
        signins_assessed: assessed,
        detections,
        actions,
        policies,
    })
}

async fn collect<T, F, Fut>(mut page_of: F) -> Result<Vec<T>, EngineError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut:
        std::future::Future<Output = Result<gatehouse_store::Page<T>, gatehouse_store::StoreError>>,
{
    let mut all = Vec::new();
    let mut page = PageRequest::first(1000);
    loop {
        let found = page_of(page).await?;
        all.extend(found.items);
        match found.next_cursor {
            Some(c) => page = PageRequest::new(1000, Some(c)),
            None => return Ok(all),
        }
    }
}

/// `30d`, `12h`, `90m` or an RFC 3339 time, relative to the clock's now.
pub fn parse_since(text: &str, clock: &dyn Clock) -> Result<DateTime<Utc>, crate::span::SpanError> {
    crate::span::parse_since(text, clock.now())
}
