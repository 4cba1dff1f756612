//! [`Store`] for [`SledStore`]: each mutating call writes, then waits for the group commit, so it
//! returns only once its writes are on disk.

use async_trait::async_trait;
use gatehouse_core::model::{
    Action, ApiKey, Detection, Group, Identity, Integration, RiskPoint, SealedSecret, SignInEvent,
    SyncCursor, SyncStatus, Tenant, TokenKind, TokenRecord, User,
};
use gatehouse_core::{
    ActionId, ApiKeyId, DetectionId, GroupId, IdentityId, IntegrationId, SignInId, TenantId, UserId,
};

use chrono::{DateTime, Utc};
use gatehouse_core::model::Policy;
use gatehouse_core::PolicyId;

use super::keys::{self, decode_opt};
use super::signin_record::decode_signin;
use super::SledStore;
use crate::{
    ActionFilter, CursorMove, DetectionFilter, DrawnIds, Durability, IdentityFilter, KnownSignIns,
    Locatable, Page, PageRequest, SignInFilter, SignInSubject, StoreError, UserFilter,
    UserSyncMark,
};
use crate::{
    DirectoryStore, OperationsStore, ResponseStore, ScimStore, SignInStore, SyncStateStore,
    TenancyStore,
};

#[async_trait]
impl TenancyStore for SledStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.create_tenant_now(tenant)?;
        self.durable().await
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.get_tenant_now(id)
    }

    async fn list_tenants(&self, page: &PageRequest) -> Result<Page<Tenant>, StoreError> {
        self.list_tenants_now(page)
    }

    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.update_tenant_now(tenant)?;
        self.durable().await
    }

    async fn delete_tenant(&self, id: &TenantId) -> Result<bool, StoreError> {
        let existed = self.delete_tenant_now(id)?;
        self.durable().await?;
        Ok(existed)
    }

    async fn find_token(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.find_token_now(hash)
    }

    async fn put_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        self.put_token_now(token)?;
        self.durable().await
    }

    async fn has_token_of_kind(&self, kind: TokenKind) -> Result<bool, StoreError> {
        self.has_token_of_kind_now(kind)
    }

    async fn create_api_key(&self, key: &ApiKey, token: &TokenRecord) -> Result<(), StoreError> {
        self.create_api_key_now(key, token)?;
        self.durable().await
    }

    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, StoreError> {
        self.list_api_keys_now(tenant)
    }

    async fn delete_api_key(&self, tenant: &TenantId, id: &ApiKeyId) -> Result<bool, StoreError> {
        let existed = self.delete_api_key_now(tenant, id)?;
        self.durable().await?;
        Ok(existed)
    }

    async fn create_integration(
        &self,
        integration: &Integration,
        tokens: &[TokenRecord],
    ) -> Result<(), StoreError> {
        self.create_integration_now(integration, tokens)?;
        self.durable().await
    }

    async fn get_integration(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
    ) -> Result<Option<Integration>, StoreError> {
        self.get_integration_now(tenant, id)
    }

    async fn list_integrations(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Integration>, StoreError> {
        self.page(&self.trees.integrations, tenant, None, page, |_| true)
    }

    async fn all_integrations(&self) -> Result<Vec<Integration>, StoreError> {
        self.all_integrations_now()
    }

    async fn update_integration(&self, integration: &Integration) -> Result<(), StoreError> {
        self.update_integration_now(integration)?;
        self.durable().await
    }

    async fn rotate_integration_token(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
        new_token: &TokenRecord,
        sealed: Option<&SealedSecret>,
    ) -> Result<Integration, StoreError> {
        let integration = self.rotate_integration_token_now(tenant, id, new_token, sealed)?;
        self.durable().await?;
        Ok(integration)
    }

    async fn delete_integration(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
    ) -> Result<bool, StoreError> {
        let existed = self.delete_integration_now(tenant, id)?;
        self.durable().await?;
        Ok(existed)
    }

    async fn locate(&self, kind: Locatable, id: &str) -> Result<Option<TenantId>, StoreError> {
        self.locate_now(kind, id)
    }

    async fn list_tokens(&self, page: &PageRequest) -> Result<Page<TokenRecord>, StoreError> {
        self.list_tokens_now(page)
    }
}

#[async_trait]
impl DirectoryStore for SledStore {
    async fn upsert_users(&self, tenant: &TenantId, users: &[User]) -> Result<(), StoreError> {
        self.upsert_users_now(tenant, users)?;
        self.durable().await
    }

    async fn upsert_users_with_identities(
        &self,
        tenant: &TenantId,
        users: &[User],
        identities: &[Identity],
    ) -> Result<(), StoreError> {
        self.upsert_users_with_identities_now(tenant, users, identities)?;
        self.durable().await
    }

    async fn upsert_users_with_identities_moving(
        &self,
        tenant: &TenantId,
        users: &[User],
        identities: &[Identity],
        drawn: &DrawnIds,
        cursor: &CursorMove,
    ) -> Result<(), StoreError> {
        let written = self.write_page_now(tenant, users, identities, drawn, cursor);
        self.durable().await?;
        written
    }

    async fn get_user(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, StoreError> {
        self.get_user_now(tenant, id)
    }

    async fn update_users(
        &self,
        tenant: &TenantId,
        ids: &[UserId],
        change: &(dyn for<'u> Fn(&'u mut User) -> bool + Send + Sync),
    ) -> Result<usize, StoreError> {
        let changed = self.update_users_now(tenant, ids, change)?;
        if changed > 0 {
            self.durable().await?;
        }
        Ok(changed)
    }

    async fn find_users_by_external_ids(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        external_ids: &[String],
    ) -> Result<Vec<Option<User>>, StoreError> {
        self.find_users_by_external_ids_now(tenant, integration, external_ids)
    }

    async fn find_user_by_external_id(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        external_id: &str,
    ) -> Result<Option<User>, StoreError> {
        self.find_user_by_external_id_now(tenant, integration, external_id)
    }

    async fn find_users_by_email(
        &self,
        tenant: &TenantId,
        email: &str,
    ) -> Result<Vec<User>, StoreError> {
        self.find_users_by_email_now(tenant, email)
    }

    async fn list_users(
        &self,
        tenant: &TenantId,
        filter: &UserFilter,
        page: &PageRequest,
    ) -> Result<Page<User>, StoreError> {
        self.page(&self.trees.users, tenant, None, page, |u| filter.matches(u))
    }

    async fn list_user_sync_marks(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        page: &PageRequest,
    ) -> Result<Page<UserSyncMark>, StoreError> {
        self.page(&self.trees.users, tenant, None, page, |m: &UserSyncMark| {
            &m.integration_id == integration
        })
    }

    async fn upsert_groups(&self, tenant: &TenantId, groups: &[Group]) -> Result<(), StoreError> {
        self.upsert_groups_now(tenant, groups)?;
        self.durable().await
    }

    async fn delete_groups(&self, tenant: &TenantId, ids: &[GroupId]) -> Result<usize, StoreError> {
        let mut removed = 0;
        for id in ids {
            if self
                .trees
                .groups
                .remove(keys::scoped(tenant, &[id.as_str()]))?
                .is_some()
            {
                removed += 1;
            }
        }
        if removed > 0 {
            self.durable().await?;
        }
        Ok(removed)
    }

    async fn get_group(
        &self,
        tenant: &TenantId,
        id: &GroupId,
    ) -> Result<Option<Group>, StoreError> {
        decode_opt(
            self.trees
                .groups
                .get(keys::scoped(tenant, &[id.as_str()]))?,
        )
    }

    async fn list_groups(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Group>, StoreError> {
        self.page(&self.trees.groups, tenant, None, page, |_| true)
    }

    async fn put_identities(&self, identities: &[Identity]) -> Result<(), StoreError> {
        self.put_identities_now(identities)?;
        self.durable().await
    }

    async fn get_identity(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
    ) -> Result<Option<Identity>, StoreError> {
        self.get_identity_now(tenant, id)
    }

    async fn find_identities_by_emails(
        &self,
        tenant: &TenantId,
        emails: &[String],
    ) -> Result<Vec<Option<Identity>>, StoreError> {
        self.find_identities_by_emails_now(tenant, emails)
    }

    async fn find_identity_by_email(
        &self,
        tenant: &TenantId,
        email: &str,
    ) -> Result<Option<Identity>, StoreError> {
        self.find_identity_by_email_now(tenant, email)
    }

    async fn record_identity_risk(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
        score: u8,
        time: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let added = self.record_identity_risk_now(tenant, id, score, time)?;
        self.durable().await?;
        Ok(added)
    }

    async fn identity_risk_history(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
    ) -> Result<Vec<RiskPoint>, StoreError> {
        self.identity_risk_history_now(tenant, id)
    }

    async fn list_identities(
        &self,
        tenant: &TenantId,
        filter: &IdentityFilter,
        page: &PageRequest,
    ) -> Result<Page<Identity>, StoreError> {
        self.page(&self.trees.identities, tenant, None, page, |i| {
            filter.matches(i)
        })
    }

    async fn delete_user(&self, tenant: &TenantId, id: &UserId) -> Result<bool, StoreError> {
        let existed = self.delete_user_now(tenant, id)?;
        self.durable().await?;
        Ok(existed)
    }
}

#[async_trait]
impl SignInStore for SledStore {
    async fn insert_signins(
        &self,
        tenant: &TenantId,
        events: &[SignInEvent],
        durability: Durability,
    ) -> Result<Vec<usize>, StoreError> {
        let fresh = self.insert_signins_now(tenant, events)?;
        if durability == Durability::Now {
            self.durable().await?;
        }
        Ok(fresh)
    }

    async fn insert_signins_moving(
        &self,
        tenant: &TenantId,
        events: &[SignInEvent],
        cursor: &CursorMove,
    ) -> Result<Vec<usize>, StoreError> {
        let fresh = self.insert_signins_now(tenant, events)?;
        let moved = self.move_cursor_now(tenant, cursor);
        self.durable().await?;
        moved.map(|()| fresh)
    }

    async fn commit_deferred(&self) -> Result<(), StoreError> {
        self.durable().await
    }

    async fn signins_about(
        &self,
        tenant: &TenantId,
        subject: SignInSubject<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<SignInEvent>, StoreError> {
        self.signins_about_now(tenant, subject, (from, to), limit, None)
    }

    async fn signins_about_known(
        &self,
        tenant: &TenantId,
        subject: SignInSubject<'_>,
        window: (DateTime<Utc>, DateTime<Utc>),
        limit: usize,
        known: &KnownSignIns,
    ) -> Result<Vec<SignInEvent>, StoreError> {
        self.signins_about_now(tenant, subject, window, limit, Some(known))
    }

    async fn signins_near_known(
        &self,
        tenant: &TenantId,
        subject: SignInSubject<'_>,
        window: (DateTime<Utc>, DateTime<Utc>),
        around: &SignInId,
        each_side: usize,
        known: &KnownSignIns,
    ) -> Result<Vec<SignInEvent>, StoreError> {
        self.signins_near_now(tenant, subject, window, around, each_side, Some(known))
    }

    async fn get_signin(
        &self,
        tenant: &TenantId,
        id: &gatehouse_core::SignInId,
    ) -> Result<Option<SignInEvent>, StoreError> {
        self.trees
            .signins
            .get(keys::scoped(tenant, &[id.as_str()]))?
            .map(|bytes| decode_signin(&bytes))
            .transpose()
    }

    async fn signins_near(
        &self,
        tenant: &TenantId,
        subject: SignInSubject<'_>,
        window: (DateTime<Utc>, DateTime<Utc>),
        around: &SignInId,
        each_side: usize,
    ) -> Result<Vec<SignInEvent>, StoreError> {
        self.signins_near_now(tenant, subject, window, around, each_side, None)
    }

    async fn list_signins(
        &self,
        tenant: &TenantId,
        filter: &SignInFilter,
        page: &PageRequest,
    ) -> Result<Page<SignInEvent>, StoreError> {
        self.page_decoded(
            &self.trees.signins,
            tenant,
            None,
            page,
            decode_signin,
            |e| filter.matches(e),
        )
    }
}

#[async_trait]
impl SyncStateStore for SledStore {
    async fn get_cursor(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        name: &str,
    ) -> Result<Option<SyncCursor>, StoreError> {
        self.get_cursor_now(tenant, integration, name)
    }

    async fn put_cursor(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        name: &str,
        cursor: &SyncCursor,
    ) -> Result<(), StoreError> {
        self.put_cursor_now(tenant, integration, name, cursor)?;
        self.durable().await
    }

    async fn move_cursor(&self, tenant: &TenantId, cursor: &CursorMove) -> Result<(), StoreError> {
        self.move_cursor_now(tenant, cursor)?;
        self.durable().await
    }

    async fn get_sync_status(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
    ) -> Result<Option<SyncStatus>, StoreError> {
        self.get_sync_status_now(tenant, integration)
    }

    async fn put_sync_status(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        status: &SyncStatus,
    ) -> Result<(), StoreError> {
        self.put_sync_status_now(tenant, integration, status)?;
        self.durable().await
    }

    async fn list_cursors(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
    ) -> Result<Vec<(String, SyncCursor)>, StoreError> {
        self.list_cursors_now(tenant, integration)
    }
}

#[async_trait]
impl ResponseStore for SledStore {
    async fn put_detection(&self, detection: &Detection, subject: &str) -> Result<(), StoreError> {
        self.put_detection_indexed(detection, subject)?;
        self.durable().await
    }

    async fn delete_detection(
        &self,
        tenant: &TenantId,
        id: &DetectionId,
    ) -> Result<bool, StoreError> {
        let existed = self
            .trees
            .detections
            .remove(keys::scoped(tenant, &[id.as_str()]))?
            .is_some();
        // The subject index entry stays; readers skip entries whose record is gone.
        self.trees.locator.remove(super::tenancy::locator_key(
            Locatable::Detection,
            id.as_str(),
        ))?;
        self.durable().await?;
        Ok(existed)
    }

    async fn detections_about(
        &self,
        tenant: &TenantId,
        subject: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<Detection>, StoreError> {
        self.detections_about_now(tenant, subject, since)
    }

    async fn get_detection(
        &self,
        tenant: &TenantId,
        id: &DetectionId,
    ) -> Result<Option<Detection>, StoreError> {
        decode_opt(
            self.trees
                .detections
                .get(keys::scoped(tenant, &[id.as_str()]))?,
        )
    }

    async fn list_detections(
        &self,
        tenant: &TenantId,
        filter: &DetectionFilter,
        page: &PageRequest,
    ) -> Result<Page<Detection>, StoreError> {
        self.page(&self.trees.detections, tenant, None, page, |d| {
            filter.matches(d)
        })
    }

    async fn put_action(&self, action: &Action) -> Result<(), StoreError> {
        self.put_action_now(action)?;
        self.durable().await
    }

    async fn get_action(
        &self,
        tenant: &TenantId,
        id: &ActionId,
    ) -> Result<Option<Action>, StoreError> {
        decode_opt(
            self.trees
                .actions
                .get(keys::scoped(tenant, &[id.as_str()]))?,
        )
    }

    async fn create_action(&self, action: &Action) -> Result<Option<Action>, StoreError> {
        let existing = self.create_action_now(action)?;
        if existing.is_none() {
            self.durable().await?;
        }
        Ok(existing)
    }

    async fn find_action_by_key(
        &self,
        tenant: &TenantId,
        idempotency_key: &str,
    ) -> Result<Option<Action>, StoreError> {
        self.find_action_by_key_now(tenant, idempotency_key)
    }

    async fn list_actions(
        &self,
        tenant: &TenantId,
        filter: &ActionFilter,
        page: &PageRequest,
    ) -> Result<Page<Action>, StoreError> {
        self.page(&self.trees.actions, tenant, None, page, |a| {
            filter.matches(a)
        })
    }

    async fn open_actions(&self) -> Result<Vec<Action>, StoreError> {
        self.open_actions_now()
    }

    async fn put_policy(&self, policy: &Policy) -> Result<(), StoreError> {
        self.put_policy_now(policy)?;
        self.durable().await
    }

    async fn get_policy(
        &self,
        tenant: &TenantId,
        id: &PolicyId,
    ) -> Result<Option<Policy>, StoreError> {
        decode_opt(
            self.trees
                .policies
                .get(keys::scoped(tenant, &[id.as_str()]))?,
        )
    }

    async fn list_policies(&self, tenant: &TenantId) -> Result<Vec<Policy>, StoreError> {
        self.list_policies_now(tenant)
    }

    async fn delete_policy(&self, tenant: &TenantId, id: &PolicyId) -> Result<bool, StoreError> {
        let existed = self.delete_policy_now(tenant, id)?;
        self.durable().await?;
        Ok(existed)
    }

    async fn list_detection_subjects(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<(String, DetectionId)>, StoreError> {
        self.list_detection_subjects_now(tenant, page)
    }
}

#[async_trait]
impl OperationsStore for SledStore {
    async fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        SledStore::probe_write(self).await
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.scim_writer.stop();
        self.committer.stop();
        Ok(())
    }
}

#[async_trait]
impl ScimStore for SledStore {
    // --- SCIM ----------------------------------------------------------------------------------
    async fn scim_create(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        resource: &serde_json::Value,
        rows: &crate::InventoryRows,
    ) -> Result<(), StoreError> {
        // Durable when the writer answers (it waits for the group commit).
        let write = super::scim_write::Write::new(tenant, integration, kind, resource, None, rows)?;
        self.scim_writer.write(write).await.map(|_| ())
    }

    async fn scim_replace(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        resource: &serde_json::Value,
        expected: &str,
        rows: &crate::InventoryRows,
    ) -> Result<crate::ScimWrite, StoreError> {
        let write = super::scim_write::Write::new(
            tenant,
            integration,
            kind,
            resource,
            Some(expected),
            rows,
        )?;
        self.scim_writer.write(write).await
    }

    async fn scim_delete(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        id: &str,
        expected: Option<&str>,
    ) -> Result<crate::ScimWrite, StoreError> {
        let written = self.scim_delete_now(tenant, integration, kind, id, expected)?;
        self.durable().await?;
        Ok(written)
    }

    async fn scim_get(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        id: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        self.scim_get_now(tenant, integration, kind, id)
    }

    async fn scim_find(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        attr: &str,
        value: &str,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        self.scim_find_now(tenant, integration, kind, attr, value)
    }

    async fn scim_scan(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        self.scim_scan_now(tenant, integration, kind, after, limit)
    }

    async fn scim_groups_of(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        member: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.scim_groups_of_now(tenant, integration, member)
    }
}
