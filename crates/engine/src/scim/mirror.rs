//! The inventory mirror of SCIM writes: a User's account rows (written with the resource), a
//! Group's membership mirror, and what DELETE does to the inventory (the `deprovision` policy).

use std::sync::Arc;

use gatehouse_core::model::UserStatus;
use gatehouse_scim::mapping::{group_to_provider, user_to_provider};
use gatehouse_scim::{ResourceKind, ScimError};
use gatehouse_store::InventoryRows;
use serde_json::Value;

use crate::inventory::Inventory;

use super::{engine_error, store_error, Deprovision, ScimScope, ScimService};

impl ScimService {
    // --- the inventory -------------------------------------------------------------------------

    fn inventory(&self) -> Inventory {
        Inventory::new(
            Arc::clone(self.gateway.store()),
            Arc::clone(self.gateway.clock()),
        )
    }

    /// The inventory rows a User's write carries: its account (and the identities correlation
    /// changed), written in the same store transaction and durable commit as the resource.
    /// `shown` is the User as clients see it (its `groups` included); `new`: its id was just
    /// drawn, so it has no account yet. Groups carry none: their mirror
    /// ([`Self::mirror_group`]) follows the write.
    pub(super) async fn account_rows(
        &self,
        s: &ScimScope,
        kind: ResourceKind,
        shown: &Value,
        new: bool,
    ) -> Result<InventoryRows, ScimError> {
        if kind != ResourceKind::User {
            return Ok(InventoryRows::default());
        }
        self.inventory()
            .user_rows(&s.integration, vec![user_to_provider(shown)], new)
            .await
            .map_err(engine_error)
    }

    pub(super) async fn mirror_group(
        &self,
        s: &ScimScope,
        resource: &Value,
    ) -> Result<(), ScimError> {
        self.inventory()
            .apply_groups(&s.integration, vec![group_to_provider(resource)])
            .await
            .map(|_| ())
            .map_err(engine_error)
    }

    /// Stores a resource that is new, with its inventory rows; the resource as clients see it.
    pub(super) async fn write_new(
        &self,
        s: &ScimScope,
        kind: ResourceKind,
        resource: Value,
    ) -> Result<Value, ScimError> {
        // As clients see it without asking the store: `finalize` set its location, and no group
        // names an id this server only just drew (122 random bits) and has not yet stored.
        let shown = resource.clone();
        let rows = self.account_rows(s, kind, &shown, true).await?;
        self.gateway
            .store()
            .scim_create(&s.tenant, &s.integration.id, kind, &resource, &rows)
            .await
            .map_err(store_error)?;
        if kind == ResourceKind::Group {
            self.mirror_group(s, &resource).await?;
        }
        Ok(shown)
    }

    pub(super) async fn deprovision(
        &self,
        s: &ScimScope,
        kind: ResourceKind,
        old: &Value,
    ) -> Result<(), ScimError> {
        let store = self.gateway.store();
        if kind == ResourceKind::Group {
            // The inventory keeps the group row; emptied, its members lose the membership.
            let mut emptied = group_to_provider(old);
            emptied.members.clear();
            return self
                .inventory()
                .apply_groups(&s.integration, vec![emptied])
                .await
                .map(|_| ())
                .map_err(engine_error);
        }
        let id = old.get("id").and_then(Value::as_str).unwrap_or_default();
        let Some(mut user) = store
            .find_user_by_external_id(&s.tenant, &s.integration.id, id)
            .await
            .map_err(store_error)?
        else {
            return Ok(());
        };
        match Deprovision::of(&s.integration) {
            Deprovision::Delete => {
                store
                    .delete_user(&s.tenant, &user.id)
                    .await
                    .map_err(store_error)?;
            }
            Deprovision::Deactivate => {
                let now = self.gateway.clock().now();
                user.status = UserStatus::Deprovisioned;
                user.updated_at = Some(now);
                user.synced_at = now;
                store
                    .upsert_users(&s.tenant, std::slice::from_ref(&user))
                    .await
                    .map_err(store_error)?;
            }
        }
        // The change itself is recorded as an audit event, whichever policy applied, so the
        // trail survives even when the account row is removed.
        let now = self.gateway.clock().now();
        let policy = match Deprovision::of(&s.integration) {
            Deprovision::Delete => "delete",
            Deprovision::Deactivate => "deactivate",
        };
        let event_id = format!("user.deprovisioned:{id}:{}", now.timestamp_millis());
        let record = gatehouse_core::model::SignInEvent {
            id: gatehouse_core::SignInId::derive(now, &[s.integration.id.as_str(), &event_id]),
            tenant_id: s.tenant.clone(),
            integration_id: s.integration.id.clone(),
            provider: s.integration.kind.clone(),
            provider_event_id: event_id,
            time: now,
            category: gatehouse_core::model::EventCategory::Audit,
            event_type: "user.deprovisioned".to_owned(),
            user_id: (policy == "deactivate").then(|| user.id.clone()),
            external_user_id: Some(id.to_owned()),
            login: Some(user.login.clone()),
            outcome: gatehouse_core::model::Outcome::Success,
            reason: Some(format!("SCIM DELETE (deprovision: {policy})")),
            ip: None,
            country: None,
            city: None,
            latitude: None,
            longitude: None,
            asn: None,
            user_agent: None,
            device: None,
            mfa_factor: None,
            session_id: None,
            is_proxy: None,
            provider_risk: None,
            // Sent by a SCIM client holding the tenant's SCIM token: as trusted as a push.
            source: gatehouse_core::model::EventSource::Push,
            // A record of Gatehouse's own SCIM change: no provider said anything about it.
            signal: gatehouse_core::model::EventSignal::default(),
            raw: None,
        };
        store
            .insert_signins(
                &s.tenant,
                std::slice::from_ref(&record),
                gatehouse_store::Durability::Now,
            )
            .await
            .map_err(store_error)?;
        tracing::info!(
            tenant_id = %s.tenant,
            integration_id = %s.integration.id,
            user_id = %user.id,
            policy,
            "SCIM user deprovisioned"
        );
        Ok(())
    }
}
