//! SCIM Users and Groups with their indexes, on PostgreSQL.

// Until this aggregate's queries land, its methods answer "not available yet".
#![allow(unused_variables, unused_imports)]

use super::*;

impl PgStore {
    pub(super) async fn scim_create_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        resource: &serde_json::Value,
        rows: &InventoryRows,
    ) -> Result<(), StoreError> {
        Err(unimplemented("scim_create"))
    }

    pub(super) async fn scim_replace_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        resource: &serde_json::Value,
        expected: &str,
        rows: &InventoryRows,
    ) -> Result<ScimWrite, StoreError> {
        Err(unimplemented("scim_replace"))
    }

    pub(super) async fn scim_delete_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        id: &str,
        expected: Option<&str>,
    ) -> Result<ScimWrite, StoreError> {
        Err(unimplemented("scim_delete"))
    }

    pub(super) async fn scim_get_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        id: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        Err(unimplemented("scim_get"))
    }

    pub(super) async fn scim_find_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        attr: &str,
        value: &str,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        Err(unimplemented("scim_find"))
    }

    pub(super) async fn scim_scan_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        kind: gatehouse_scim::ResourceKind,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        Err(unimplemented("scim_scan"))
    }

    pub(super) async fn scim_groups_of_sql(
        &self,
        tenant: &TenantId,
        integration: &IntegrationId,
        member: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Err(unimplemented("scim_groups_of"))
    }
}
