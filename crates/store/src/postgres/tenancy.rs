//! Tenants, tokens, API keys, integrations and the owner of an id, on PostgreSQL.

// Until this aggregate's queries land, its methods answer "not available yet".
#![allow(unused_variables, unused_imports)]

use super::*;

impl PgStore {
    pub(super) async fn create_tenant_sql(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO tenants (id, doc) VALUES ($1, $2)",
                &[&tenant.id.as_str(), &to_doc(tenant)?],
            )
            .await
            .map_err(pg_error(&format!("tenant {}", tenant.id)))?;
        Ok(())
    }

    pub(super) async fn get_tenant_sql(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT doc FROM tenants WHERE id = $1", &[&id.as_str()])
            .await
            .map_err(pg_error("tenant"))?;
        row.map(|row| from_doc(row.get(0))).transpose()
    }

    pub(super) async fn list_tenants_sql(
        &self,
        page: &PageRequest,
    ) -> Result<Page<Tenant>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT doc FROM tenants WHERE $1::text IS NULL OR id > $1 ORDER BY id LIMIT $2",
                &[&page.cursor, &fetch_limit(page)],
            )
            .await
            .map_err(pg_error("tenants"))?;
        let items = rows
            .into_iter()
            .map(|row| from_doc(row.get(0)))
            .collect::<Result<Vec<Tenant>, _>>()?;
        Ok(page_of(items, page, |t| t.id.to_string()))
    }

    pub(super) async fn update_tenant_sql(&self, tenant: &Tenant) -> Result<(), StoreError> {
        Err(unimplemented("update_tenant"))
    }

    pub(super) async fn delete_tenant_sql(&self, id: &TenantId) -> Result<bool, StoreError> {
        Err(unimplemented("delete_tenant"))
    }

    pub(super) async fn find_token_sql(
        &self,
        hash: &str,
    ) -> Result<Option<TokenRecord>, StoreError> {
        Err(unimplemented("find_token"))
    }

    pub(super) async fn put_token_sql(&self, token: &TokenRecord) -> Result<(), StoreError> {
        Err(unimplemented("put_token"))
    }

    pub(super) async fn has_token_of_kind_sql(&self, kind: TokenKind) -> Result<bool, StoreError> {
        Err(unimplemented("has_token_of_kind"))
    }

    pub(super) async fn create_api_key_sql(
        &self,
        key: &ApiKey,
        token: &TokenRecord,
    ) -> Result<(), StoreError> {
        Err(unimplemented("create_api_key"))
    }

    pub(super) async fn list_api_keys_sql(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<ApiKey>, StoreError> {
        Err(unimplemented("list_api_keys"))
    }

    pub(super) async fn delete_api_key_sql(
        &self,
        tenant: &TenantId,
        id: &ApiKeyId,
    ) -> Result<bool, StoreError> {
        Err(unimplemented("delete_api_key"))
    }

    pub(super) async fn create_integration_sql(
        &self,
        integration: &Integration,
        tokens: &[TokenRecord],
    ) -> Result<(), StoreError> {
        Err(unimplemented("create_integration"))
    }

    pub(super) async fn get_integration_sql(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
    ) -> Result<Option<Integration>, StoreError> {
        Err(unimplemented("get_integration"))
    }

    pub(super) async fn list_integrations_sql(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Integration>, StoreError> {
        Err(unimplemented("list_integrations"))
    }

    pub(super) async fn all_integrations_sql(&self) -> Result<Vec<Integration>, StoreError> {
        Err(unimplemented("all_integrations"))
    }

    pub(super) async fn update_integration_sql(
        &self,
        integration: &Integration,
    ) -> Result<(), StoreError> {
        Err(unimplemented("update_integration"))
    }

    pub(super) async fn rotate_integration_token_sql(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
        new_token: &TokenRecord,
        sealed: Option<&SealedSecret>,
    ) -> Result<Integration, StoreError> {
        Err(unimplemented("rotate_integration_token"))
    }

    pub(super) async fn delete_integration_sql(
        &self,
        tenant: &TenantId,
        id: &IntegrationId,
    ) -> Result<bool, StoreError> {
        Err(unimplemented("delete_integration"))
    }

    pub(super) async fn locate_sql(
        &self,
        kind: Locatable,
        id: &str,
    ) -> Result<Option<TenantId>, StoreError> {
        Err(unimplemented("locate"))
    }
}
