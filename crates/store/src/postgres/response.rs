//! Detections, actions and response policies, on PostgreSQL.

// Until this aggregate's queries land, its methods answer "not available yet".
#![allow(unused_variables, unused_imports)]

use super::*;

impl PgStore {
    pub(super) async fn put_detection_sql(
        &self,
        detection: &Detection,
        subject: &str,
    ) -> Result<(), StoreError> {
        Err(unimplemented("put_detection"))
    }

    pub(super) async fn delete_detection_sql(
        &self,
        tenant: &TenantId,
        id: &DetectionId,
    ) -> Result<bool, StoreError> {
        Err(unimplemented("delete_detection"))
    }

    pub(super) async fn detections_about_sql(
        &self,
        tenant: &TenantId,
        subject: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<Detection>, StoreError> {
        Err(unimplemented("detections_about"))
    }

    pub(super) async fn get_detection_sql(
        &self,
        tenant: &TenantId,
        id: &DetectionId,
    ) -> Result<Option<Detection>, StoreError> {
        Err(unimplemented("get_detection"))
    }

    pub(super) async fn list_detections_sql(
        &self,
        tenant: &TenantId,
        filter: &DetectionFilter,
        page: &PageRequest,
    ) -> Result<Page<Detection>, StoreError> {
        Err(unimplemented("list_detections"))
    }

    pub(super) async fn put_action_sql(&self, action: &Action) -> Result<(), StoreError> {
        Err(unimplemented("put_action"))
    }

    pub(super) async fn get_action_sql(
        &self,
        tenant: &TenantId,
        id: &ActionId,
    ) -> Result<Option<Action>, StoreError> {
        Err(unimplemented("get_action"))
    }

    pub(super) async fn create_action_sql(
        &self,
        action: &Action,
    ) -> Result<Option<Action>, StoreError> {
        Err(unimplemented("create_action"))
    }

    pub(super) async fn find_action_by_key_sql(
        &self,
        tenant: &TenantId,
        idempotency_key: &str,
    ) -> Result<Option<Action>, StoreError> {
        Err(unimplemented("find_action_by_key"))
    }

    pub(super) async fn list_actions_sql(
        &self,
        tenant: &TenantId,
        filter: &ActionFilter,
        page: &PageRequest,
    ) -> Result<Page<Action>, StoreError> {
        Err(unimplemented("list_actions"))
    }

    pub(super) async fn open_actions_sql(&self) -> Result<Vec<Action>, StoreError> {
        Err(unimplemented("open_actions"))
    }

    pub(super) async fn put_policy_sql(&self, policy: &Policy) -> Result<(), StoreError> {
        Err(unimplemented("put_policy"))
    }

    pub(super) async fn get_policy_sql(
        &self,
        tenant: &TenantId,
        id: &PolicyId,
    ) -> Result<Option<Policy>, StoreError> {
        Err(unimplemented("get_policy"))
    }

    pub(super) async fn list_policies_sql(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<Policy>, StoreError> {
        Err(unimplemented("list_policies"))
    }

    pub(super) async fn delete_policy_sql(
        &self,
        tenant: &TenantId,
        id: &PolicyId,
    ) -> Result<bool, StoreError> {
        Err(unimplemented("delete_policy"))
    }
}
