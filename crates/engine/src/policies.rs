//! Response policies: validation and storage. Which detections they answer is decided by
//! [`Policy::matches`]; the detection runner applies them.

use gatehouse_core::model::{ActionKind, Policy, PolicyMode, PolicyScope, PolicyWhen};
use gatehouse_core::{PolicyId, TenantId};

use crate::{EngineError, Gateway};

/// Every detection kind the risk engine can raise.
pub const DETECTION_KINDS: &[&str] = &[
    "brute_force",
    "password_spray",
    "mfa_fatigue",
    "impossible_travel",
    "new_country",
    "anonymizing_network",
    "deprovisioned_activity",
    "session_anomaly",
    "provider_risk",
    "dormant_account",
    "credential_stuffing",
    "success_after_attack",
    "privilege_change",
];

/// A policy as submitted (`POST` or `PUT`).
#[derive(Debug, Clone)]
pub struct PolicyInput {
    pub name: String,
    pub when: PolicyWhen,
    pub then: Vec<ActionKind>,
    pub mode: PolicyMode,
    pub scope: PolicyScope,
    pub enabled: bool,
}

fn validate(gateway: &Gateway, input: &PolicyInput) -> Result<(), EngineError> {
    let name = input.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(EngineError::invalid("name", "must be 1 to 200 characters"));
    }
    if input.then.is_empty() {
        return Err(EngineError::invalid(
            "then",
            "must name at least one action",
        ));
    }
    if let Some(kind) = input
        .when
        .kinds
        .iter()
        .find(|k| !DETECTION_KINDS.contains(&k.as_str()))
    {
        return Err(EngineError::invalid(
            "when.kinds",
            format!(
                "{kind:?} is not a detection kind; known: {}",
                DETECTION_KINDS.join(", ")
            ),
        ));
    }
    let known = gateway.registry().type_ids();
    if let Some(provider) = input
        .when
        .providers
        .iter()
        .find(|p| !known.contains(&p.as_str()))
    {
        return Err(EngineError::invalid(
            "when.providers",
            format!(
                "{provider:?} is not a provider type; known: {}",
                known.join(", ")
            ),
        ));
    }
    Ok(())
}

impl Gateway {
    pub async fn create_policy(
        &self,
        tenant: &TenantId,
        input: PolicyInput,
    ) -> Result<Policy, EngineError> {
        self.tenant(tenant).await?;
        validate(self, &input)?;
        let now = self.clock().now();
        let policy = Policy {
            id: PolicyId::generate(now),
            tenant_id: tenant.clone(),
            name: input.name.trim().to_owned(),
            when: input.when,
            then: input.then,
            mode: input.mode,
            scope: input.scope,
            enabled: input.enabled,
            created_at: now,
            updated_at: now,
        };
        self.store().put_policy(&policy).await?;
        tracing::info!(tenant_id = %tenant, policy_id = %policy.id, mode = ?policy.mode, "response policy created");
        Ok(policy)
    }

    pub async fn policy(&self, tenant: &TenantId, id: &PolicyId) -> Result<Policy, EngineError> {
        self.store()
            .get_policy(tenant, id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("policy {id}")))
    }

    pub async fn replace_policy(
        &self,
        tenant: &TenantId,
        id: &PolicyId,
        input: PolicyInput,
    ) -> Result<Policy, EngineError> {
        let mut policy = self.policy(tenant, id).await?;
        validate(self, &input)?;
        policy.name = input.name.trim().to_owned();
        policy.when = input.when;
        policy.then = input.then;
        policy.mode = input.mode;
        policy.scope = input.scope;
        policy.enabled = input.enabled;
        policy.updated_at = self.clock().now();
        self.store().put_policy(&policy).await?;
        Ok(policy)
    }

    pub async fn delete_policy(&self, tenant: &TenantId, id: &PolicyId) -> Result<(), EngineError> {
        if self.store().delete_policy(tenant, id).await? {
            Ok(())
        } else {
            Err(EngineError::NotFound(format!("policy {id}")))
        }
    }

    pub async fn policies(&self, tenant: &TenantId) -> Result<Vec<Policy>, EngineError> {
        self.tenant(tenant).await?;
        Ok(self.store().list_policies(tenant).await?)
    }
}
