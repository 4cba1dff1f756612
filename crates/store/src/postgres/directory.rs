//! Accounts, groups, identities and risk history, on PostgreSQL.

// Until this aggregate's queries land, its methods answer "not available yet".
#![allow(unused_variables, unused_imports)]

use super::*;

impl PgStore {
    pub(super) async fn upsert_users_sql(
        &self,
        tenant: &TenantId,
        users: &[User],
    ) -> Result<(), StoreError> {
        Err(unimplemented("upsert_users"))
    }

    pub(super) async fn upsert_users_with_identities_sql(
        &self,
        tenant: &TenantId,
        users: &[User],
        identities: &[Identity],
    ) -> Result<(), StoreError> {
        Err(unimplemented("upsert_users_with_identities"))
    }

    pub(super) async fn get_user_sql(
        &self,
        tenant: &TenantId,
        id: &UserId,
    ) -> Result<Option<User>, StoreError> {
        Err(unimplemented("get_user"))
    }

    pub(super) async fn update_users_sql(
        &self,
        tenant: &TenantId,
        ids: &[UserId],
        change: &(dyn for<'u> Fn(&'u mut User) -> bool + Send + Sync),
    ) -> Result<usize, StoreError> {
        Err(unimplemented("update_users"))
    }

    pub(super) async fn find_user_by_external_id_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        external_id: &str,
    ) -> Result<Option<User>, StoreError> {
        Err(unimplemented("find_user_by_external_id"))
    }

    pub(super) async fn find_users_by_email_sql(
        &self,
        tenant: &TenantId,
        email: &str,
    ) -> Result<Vec<User>, StoreError> {
        Err(unimplemented("find_users_by_email"))
    }

    pub(super) async fn list_users_sql(
        &self,
        tenant: &TenantId,
        filter: &UserFilter,
        page: &PageRequest,
    ) -> Result<Page<User>, StoreError> {
        Err(unimplemented("list_users"))
    }

    pub(super) async fn upsert_groups_sql(
        &self,
        tenant: &TenantId,
        groups: &[Group],
    ) -> Result<(), StoreError> {
        Err(unimplemented("upsert_groups"))
    }

    pub(super) async fn get_group_sql(
        &self,
        tenant: &TenantId,
        id: &GroupId,
    ) -> Result<Option<Group>, StoreError> {
        Err(unimplemented("get_group"))
    }

    pub(super) async fn list_groups_sql(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Group>, StoreError> {
        Err(unimplemented("list_groups"))
    }

    pub(super) async fn put_identities_sql(
        &self,
        identities: &[Identity],
    ) -> Result<(), StoreError> {
        Err(unimplemented("put_identities"))
    }

    pub(super) async fn get_identity_sql(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
    ) -> Result<Option<Identity>, StoreError> {
        Err(unimplemented("get_identity"))
    }

    pub(super) async fn find_identity_by_email_sql(
        &self,
        tenant: &TenantId,
        email: &str,
    ) -> Result<Option<Identity>, StoreError> {
        Err(unimplemented("find_identity_by_email"))
    }

    pub(super) async fn record_identity_risk_sql(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
        score: u8,
        time: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Err(unimplemented("record_identity_risk"))
    }

    pub(super) async fn identity_risk_history_sql(
        &self,
        tenant: &TenantId,
        id: &IdentityId,
    ) -> Result<Vec<RiskPoint>, StoreError> {
        Err(unimplemented("identity_risk_history"))
    }

    pub(super) async fn list_identities_sql(
        &self,
        tenant: &TenantId,
        filter: &IdentityFilter,
        page: &PageRequest,
    ) -> Result<Page<Identity>, StoreError> {
        Err(unimplemented("list_identities"))
    }

    pub(super) async fn delete_user_sql(
        &self,
        tenant: &TenantId,
        id: &UserId,
    ) -> Result<bool, StoreError> {
        Err(unimplemented("delete_user"))
    }
}
