//! Sign-in events, pull cursors and sync status, on PostgreSQL.

// Until this aggregate's queries land, its methods answer "not available yet".
#![allow(unused_variables, unused_imports)]

use super::*;

impl PgStore {
    pub(super) async fn insert_signins_sql(
        &self,
        tenant: &TenantId,
        events: &[SignInEvent],
    ) -> Result<Vec<usize>, StoreError> {
        Err(unimplemented("insert_signins"))
    }

    pub(super) async fn sync_sql(&self) -> Result<(), StoreError> {
        Err(unimplemented("sync"))
    }

    pub(super) async fn signins_about_sql(
        &self,
        tenant: &TenantId,
        subject: SignInSubject<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<SignInEvent>, StoreError> {
        Err(unimplemented("signins_about"))
    }

    pub(super) async fn get_signin_sql(
        &self,
        tenant: &TenantId,
        id: &gatehouse_core::SignInId,
    ) -> Result<Option<SignInEvent>, StoreError> {
        Err(unimplemented("get_signin"))
    }

    pub(super) async fn signins_near_sql(
        &self,
        tenant: &TenantId,
        subject: SignInSubject<'_>,
        window: (DateTime<Utc>, DateTime<Utc>),
        around: &SignInId,
        each_side: usize,
    ) -> Result<Vec<SignInEvent>, StoreError> {
        Err(unimplemented("signins_near"))
    }

    pub(super) async fn list_signins_sql(
        &self,
        tenant: &TenantId,
        filter: &SignInFilter,
        page: &PageRequest,
    ) -> Result<Page<SignInEvent>, StoreError> {
        Err(unimplemented("list_signins"))
    }

    pub(super) async fn get_cursor_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        name: &str,
    ) -> Result<Option<SyncCursor>, StoreError> {
        Err(unimplemented("get_cursor"))
    }

    pub(super) async fn put_cursor_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        name: &str,
        cursor: &SyncCursor,
    ) -> Result<(), StoreError> {
        Err(unimplemented("put_cursor"))
    }

    pub(super) async fn get_sync_status_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
    ) -> Result<Option<SyncStatus>, StoreError> {
        Err(unimplemented("get_sync_status"))
    }

    pub(super) async fn put_sync_status_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        status: &SyncStatus,
    ) -> Result<(), StoreError> {
        Err(unimplemented("put_sync_status"))
    }
}
