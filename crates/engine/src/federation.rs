//! Sign-ins that a federation protocol hands to Gatehouse directly (a SAML assertion posted to
//! the ACS URL): the account the assertion describes is upserted and joined to its identity by
//! e-mail through the same inventory path as pulls and SCIM, and the sign-in is stored and
//! queued for the detections like a pushed one.
//!
//! The sign-in's id is derived from the integration and the assertion's own id, so the store's
//! sign-in dedupe is also the replay cache: a second delivery of an assertion finds its
//! sign-in and is refused, after a restart too. The record outlives the assertion's validity
//! (it is the sign-in history), which only makes the cache stricter.

use gatehouse_core::model::{EventSource, Integration};
use gatehouse_core::records::{ProviderEvent, ProviderUser};
use gatehouse_core::{SignInId, UserId};

use crate::ingest::keep_positions;
use crate::inventory::Inventory;
use crate::{Engine, EngineError};

/// What became of a federated sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FederatedSignIn {
    /// Stored (and queued for assessment); the account it was matched to.
    Recorded {
        sign_in: SignInId,
        user: Option<UserId>,
    },
    /// Its event id was seen before: nothing was written.
    Replayed,
}

impl Engine {
    /// Upserts `user` and stores `event` (a successful sign-in), unless an event with the same
    /// id was stored before.
    pub async fn federated_sign_in(
        &self,
        integration: &Integration,
        user: ProviderUser,
        event: ProviderEvent,
    ) -> Result<FederatedSignIn, EngineError> {
        let store = self.gateway.store();
        let id = SignInId::derive(
            event.time,
            &[integration.id.as_str(), &event.provider_event_id],
        );
        if store
            .get_signin(&integration.tenant_id, &id)
            .await?
            .is_some()
        {
            return Ok(FederatedSignIn::Replayed);
        }
        let inventory = Inventory::for_gateway(&self.gateway);
        inventory.apply_users(integration, vec![user]).await?;
        self.store_signins(integration, vec![event], &inventory)
            .await
            .map(|stored| match stored {
                Some((sign_in, user)) => FederatedSignIn::Recorded { sign_in, user },
                // Another delivery of the same assertion got there first.
                None => FederatedSignIn::Replayed,
            })
    }

    /// Stores a refused federated sign-in (its `outcome` a failure, with the reason), matched
    /// to the account it names when that account is known.
    pub async fn federated_failure(
        &self,
        integration: &Integration,
        event: ProviderEvent,
    ) -> Result<Option<SignInId>, EngineError> {
        let inventory = Inventory::for_gateway(&self.gateway);
        Ok(self
            .store_signins(integration, vec![event], &inventory)
            .await?
            .map(|(id, _)| id))
    }

    async fn store_signins(
        &self,
        integration: &Integration,
        events: Vec<ProviderEvent>,
        inventory: &Inventory,
    ) -> Result<Option<(SignInId, Option<UserId>)>, EngineError> {
        let signins = inventory
            .signins(integration, events, EventSource::Push)
            .await?;
        let fresh = self
            .gateway
            .store()
            .insert_signins(
                &integration.tenant_id,
                &signins,
                gatehouse_store::Durability::Now,
            )
            .await?;
        let stored = signins
            .first()
            .filter(|_| !fresh.is_empty())
            .map(|s| (s.id.clone(), s.user_id.clone()));
        self.detector.submit(keep_positions(signins, &fresh)).await;
        Ok(stored)
    }
}
