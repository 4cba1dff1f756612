//! Push ingest: decode what a provider pushed (after the API authenticated its ingest token),
//! store the events durably (group commit), and only then let the API acknowledge.

use std::sync::Arc;

use gatehouse_core::model::{Integration, IntegrationStatus};
use gatehouse_core::records::{PushOutcome, PushRequest};
use gatehouse_core::{IntegrationId, TenantId};
use serde_json::Value;

use crate::detect::Detector;
use crate::inventory::Inventory;
use crate::{EngineError, Gateway};

/// What the API answers a push with.
#[derive(Debug, Clone, PartialEq)]
pub enum PushResult {
    /// A handshake: answer with this status and JSON.
    Respond { status: u16, body: Value },
    /// Events stored durably: `received` in the request, `stored` of them new.
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

/// The push pipeline.
pub struct Ingest {
    gateway: Arc<Gateway>,
    detector: Option<Arc<Detector>>,
    inventory: Inventory,
}

impl Ingest {
    pub fn new(gateway: Arc<Gateway>, detector: Option<Arc<Detector>>) -> Self {
        let inventory = Inventory::for_gateway(&gateway);
        Self {
            gateway,
            detector,
            inventory,
        }
    }

    /// Decodes and stores one authenticated push.
    pub async fn push(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
        request: &PushRequest,
    ) -> Result<PushResult, EngineError> {
        let integration = self.gateway.integration(tenant, id).await?;
        self.push_to(&integration, request).await
    }

    /// Decodes and stores one push for an integration the caller already read.
    pub async fn push_to(
        &self,
        integration: &Integration,
        request: &PushRequest,
    ) -> Result<PushResult, EngineError> {
        let id = &integration.id;
        let connector = self.gateway.connector(integration, "push ingest")?;
        match connector.decode_push(request)? {
            PushOutcome::Respond { status, body } => Ok(PushResult::Respond { status, body }),
            PushOutcome::Events(events) => {
                if integration.status == IntegrationStatus::Disabled {
                    return Err(EngineError::Conflict(format!(
                        "integration {id} is disabled and takes no events"
                    )));
                }
                let received = events.len();
                let signins = self.inventory.signins(integration, events).await?;
                let fresh = self
                    .gateway
                    .store()
                    .insert_signins(&integration.tenant_id, &signins)
                    .await?;
                let stored = fresh.len();
                if let Some(detector) = &self.detector {
                    // Moved, not cloned: this is the push path.
                    detector.submit(keep_positions(signins, &fresh));
                }
                Ok(PushResult::Stored { received, stored })
            }
        }
    }

    /// Answers a provider handshake that came without a token, if the provider has one.
    pub fn handshake(&self, provider: &str, request: &PushRequest) -> Option<PushResult> {
        let factory = self.gateway.registry().factory(provider)?;
        match factory.handshake(request)? {
            PushOutcome::Respond { status, body } => Some(PushResult::Respond { status, body }),
            PushOutcome::Events(_) => None,
        }
    }
}
