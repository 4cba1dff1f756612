//! Push ingest: screen what a provider pushed (after the API authenticated its ingest token),
//! make it durable in the inbox (group commit), and only then let the API acknowledge; the
//! inbox's consumer decodes, normalizes and stores the events behind the acknowledgement.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gatehouse_core::model::{Integration, IntegrationStatus};
use gatehouse_core::records::{ProviderEvent, PushOutcome, PushReply, PushRequest, PushScreen};
use gatehouse_core::{IntegrationId, TenantId};
use gatehouse_store::journal::Journal;
use gatehouse_store::Durability;

use crate::detect::Detector;
use crate::inbox::record::Delivery;
use crate::inbox::Inbox;
use crate::inventory::Inventory;
use crate::refresh::DirectoryRefresh;
use crate::{EngineError, Gateway};

/// What the API answers a push with.
#[derive(Debug, Clone, PartialEq)]
pub enum PushResult {
    /// A handshake or control message: answer with this reply.
    Respond(PushReply),
    /// The delivery is durable in the inbox: `received` events, stored shortly (deduped).
    Queued { received: usize },
    /// Without an inbox: `received` events stored durably, `stored` of them new.
    Stored { received: usize, stored: usize },
}

/// The items of `all` at `positions` (ascending), moved rather than cloned.
pub(crate) fn keep_positions<T>(all: Vec<T>, positions: &[usize]) -> Vec<T> {
    let mut wanted = positions.iter().peekable();
    all.into_iter()
        .enumerate()
        .filter_map(|(i, item)| {
            if wanted.peek() == Some(&&i) {
                wanted.next();
                Some(item)
            } else {
                None
            }
        })
        .collect()
}

/// The push pipeline: the screen at the door, then the inbox (or, without one, the store).
pub struct Ingest {
    gateway: Arc<Gateway>,
    processor: Arc<DeliveryProcessor>,
    inbox: Option<Arc<Inbox>>,
}

impl Ingest {
    /// Stores each delivery before acknowledging it (no inbox: embedded use and tests).
    pub fn new(
        gateway: Arc<Gateway>,
        detector: Option<Arc<Detector>>,
        refresh: Option<DirectoryRefresh>,
    ) -> Self {
        Self {
            processor: Arc::new(DeliveryProcessor::new(
                Arc::clone(&gateway),
                detector,
                refresh,
            )),
            gateway,
            inbox: None,
        }
    }

    /// Acknowledges deliveries once they are durable in `journal`; a consumer on `runtime`
    /// stores them.
    pub fn with_inbox(
        gateway: Arc<Gateway>,
        detector: Option<Arc<Detector>>,
        refresh: Option<DirectoryRefresh>,
        journal: Arc<Journal>,
        tenant_share_percent: u8,
        runtime: &tokio::runtime::Handle,
    ) -> Self {
        let processor = Arc::new(DeliveryProcessor::new(
            Arc::clone(&gateway),
            detector,
            refresh,
        ));
        let inbox = Inbox::start(
            journal,
            tenant_share_percent,
            Arc::clone(&processor),
            runtime,
        );
        Self {
            gateway,
            processor,
            inbox: Some(inbox),
        }
    }

    /// The inbox, when deliveries go through one.
    pub fn inbox(&self) -> Option<&Arc<Inbox>> {
        self.inbox.as_ref()
    }

    /// Waits (at most `wait`) until every acknowledged delivery is stored; at once without an
    /// inbox. Readers that promise to show acknowledged events call it first.
    pub async fn settled(&self, wait: Duration) -> bool {
        match &self.inbox {
            Some(inbox) => inbox.settled(wait).await,
            None => true,
        }
    }

    /// Screens and queues (or stores) one authenticated push.
    pub async fn push(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
        request: &PushRequest,
    ) -> Result<PushResult, EngineError> {
        let integration = self.gateway.integration(tenant, id).await?;
        self.push_to(&integration, request).await
    }

    /// Screens and queues (or stores) one push for an integration the caller already read.
    pub async fn push_to(
        &self,
        integration: &Integration,
        request: &PushRequest,
    ) -> Result<PushResult, EngineError> {
        let connector = self.gateway.connector(integration, "push ingest")?;
        let received = match connector.screen_push(request)? {
            PushScreen::Respond(reply) => return Ok(PushResult::Respond(reply)),
            PushScreen::Accept { events } => events,
        };
        if integration.status == IntegrationStatus::Disabled {
            return Err(EngineError::Conflict(format!(
                "integration {} is disabled and takes no events",
                integration.id
            )));
        }
        let received_at = self.gateway.clock().now();
        match &self.inbox {
            Some(inbox) if received > 0 => {
                inbox.enqueue(integration, request, received_at).await?;
                Ok(PushResult::Queued { received })
            }
            Some(_) => Ok(PushResult::Queued { received }),
            None => {
                let events = match connector.decode_push(request)? {
                    PushOutcome::Events(events) => events,
                    PushOutcome::Respond(_) => Vec::new(),
                    PushOutcome::AccountsChanged(accounts) => {
                        self.processor.accounts_changed(integration, &accounts);
                        Vec::new()
                    }
                };
                let times = vec![received_at; events.len()];
                let stored = self
                    .processor
                    .store_events(integration, events, times, Durability::Now)
                    .await?;
                Ok(PushResult::Stored { received, stored })
            }
        }
    }

    /// Answers a provider handshake that came without a valid token, if the provider has one.
    pub fn handshake(&self, provider: &str, request: &PushRequest) -> Option<PushResult> {
        let factory = self.gateway.registry().factory(provider)?;
        factory.handshake(request).map(PushResult::Respond)
    }
}

/// Decodes deliveries, normalizes their events, stores them (deduped) and queues the new ones
/// for risk assessment: the inbox consumer's work, and the whole push without an inbox.
pub(crate) struct DeliveryProcessor {
    gateway: Arc<Gateway>,
    detector: Option<Arc<Detector>>,
    /// Runs the directory pulls that change notices ask for.
    refresh: Option<DirectoryRefresh>,
    inventory: Inventory,
}

impl DeliveryProcessor {
    fn new(
        gateway: Arc<Gateway>,
        detector: Option<Arc<Detector>>,
        refresh: Option<DirectoryRefresh>,
    ) -> Self {
        let inventory = Inventory::for_gateway(&gateway);
        Self {
            gateway,
            detector,
            refresh,
            inventory,
        }
    }

    /// A provider said these accounts changed: pull the directory (the pull finds what).
    fn accounts_changed(&self, integration: &Integration, accounts: &[String]) {
        tracing::debug!(
            tenant_id = %integration.tenant_id, integration_id = %integration.id,
            accounts = accounts.len(), "change notice pushed: directory pull requested"
        );
        if let Some(refresh) = &self.refresh {
            refresh.request(&integration.tenant_id, &integration.id);
        }
    }

    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.gateway.clock().now()
    }

    /// Makes everything stored with [`Durability::Deferred`] durable.
    pub(crate) async fn sync(&self) -> Result<(), EngineError> {
        Ok(self.gateway.store().commit_deferred().await?)
    }

    /// Stores a batch of queued deliveries (durable at the next [`Self::sync`]). A delivery
    /// whose integration is gone, or that no longer decodes, is logged and skipped; only a
    /// store failure (worth retrying) is an error.
    pub(crate) async fn process(&self, deliveries: &[Delivery]) -> Result<(), EngineError> {
        let mut integrations: HashMap<&IntegrationId, Option<Integration>> = HashMap::new();
        // Each integration's events, with when the delivery each came in was received.
        let mut by_integration: Vec<(Integration, Vec<ProviderEvent>, Vec<DateTime<Utc>>)> =
            Vec::new();
        for delivery in deliveries {
            let integration = match integrations.get(&delivery.integration) {
                Some(known) => known.clone(),
                None => {
                    let found = match self
                        .gateway
                        .integration(&delivery.tenant, &delivery.integration)
                        .await
                    {
                        Ok(found) => Some(found),
                        Err(EngineError::NotFound(_)) => None,
                        Err(error) => return Err(error),
                    };
                    integrations.insert(&delivery.integration, found.clone());
                    found
                }
            };
            let Some(integration) = integration else {
                tracing::warn!(
                    tenant_id = %delivery.tenant, integration_id = %delivery.integration,
                    "inbox: the integration was deleted; dropping its queued delivery"
                );
                continue;
            };
            let decoded = self
                .gateway
                .connector(&integration, "push ingest")
                .and_then(|c| Ok(c.decode_push(&delivery.request)?));
            let events = match decoded {
                Ok(PushOutcome::Events(events)) => events,
                Ok(PushOutcome::Respond(_)) => continue,
                Ok(PushOutcome::AccountsChanged(accounts)) => {
                    self.accounts_changed(&integration, &accounts);
                    continue;
                }
                Err(error) => {
                    tracing::error!(
                        integration_id = %integration.id, %error,
                        "inbox: a screened delivery did not decode; skipping it"
                    );
                    continue;
                }
            };
            let received_at = std::iter::repeat_n(delivery.received_at, events.len());
            match by_integration
                .iter_mut()
                .find(|(i, _, _)| i.id == integration.id)
            {
                Some((_, all, times)) => {
                    all.extend(events);
                    times.extend(received_at);
                }
                None => by_integration.push((integration, events, received_at.collect())),
            }
        }
        for (integration, events, received_at) in by_integration {
            self.store_events(&integration, events, received_at, Durability::Deferred)
                .await?;
        }
        Ok(())
    }

    /// Normalizes and stores one integration's events, each received at the matching time of
    /// `received_at`; returns how many were new.
    async fn store_events(
        &self,
        integration: &Integration,
        events: Vec<ProviderEvent>,
        received_at: Vec<DateTime<Utc>>,
        durability: Durability,
    ) -> Result<usize, EngineError> {
        if events.is_empty() {
            return Ok(0);
        }
        let signins = self
            .inventory
            .signins(
                integration,
                events,
                gatehouse_core::model::EventSource::Push,
            )
            .await?;
        let store = self.gateway.store();
        let fresh = store
            .insert_signins(&integration.tenant_id, &signins, durability)
            .await?;
        let stored = fresh.len();
        if let Some(detector) = &self.detector {
            // Moved, not cloned: this is the push path.
            let received = signins.into_iter().zip(received_at).collect();
            detector
                .submit_received(keep_positions(received, &fresh))
                .await;
        }
        Ok(stored)
    }
}
