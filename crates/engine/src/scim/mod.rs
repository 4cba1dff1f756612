//! The SCIM 2.0 service provider behind `/v1/scim/v2`: Users and Groups of one tenant's SCIM
//! integration, kept in the store as SCIM JSON and mirrored into the inventory.
//!
//! The protocol logic (validation, PATCH, filters, projection, paging, bulk) is the pure
//! `gatehouse-scim` crate's; this module adds what needs I/O: ids and times, the store with its
//! indexes and optimistic versions, member checks within the tenant, the User's read-only
//! `groups`, and the inventory rows (provider `scim`) with the integration's deprovision policy.
//! Every failure is a [`ScimError`], ready for the wire.
//!
//! Laid out as: this module (the scope, the schema registry, error mapping and reads),
//! `operations` (create, get, replace, patch, delete),
//! `mirror` (the inventory rows and deprovisioning), `search`
//! (list and `.search`) and `bulk` (`/Bulk`).

mod bulk;
mod mirror;
mod operations;
mod search;

use std::sync::{Arc, OnceLock};

use gatehouse_core::model::{Integration, IntegrationStatus};
use gatehouse_core::TenantId;
use gatehouse_scim::{ResourceKind, SchemaRegistry, ScimError, ServiceConfig};
use gatehouse_store::StoreError;
use serde_json::{json, Value};

use crate::{EngineError, Gateway};

/// How often a write is retried when another write to the same resource slipped in between its
/// read and its write (only when the client sent no `If-Match`; with one, that is a 412).
const WRITE_ATTEMPTS: usize = 5;
/// Resources read per store call when a filter has no index to use.
const SCAN_PAGE: usize = 200;
/// Attributes the store indexes for equality (`Filter::equality_on`).
const INDEXED: [&str; 4] = ["id", "userName", "externalId", "displayName"];

/// Who is calling and where they see us: the tenant and SCIM integration their token selects,
/// and the absolute SCIM root for `meta.location` (e.g. `https://gh.example/v1/scim/v2`).
#[derive(Debug, Clone)]
pub struct ScimScope {
    pub tenant: TenantId,
    pub integration: Integration,
    pub base_url: String,
    /// The standard schemas plus the integration's declared extensions (`custom_schemas`).
    pub registry: Arc<SchemaRegistry>,
}

/// The schemas an integration serves: the standard ones plus those declared in its config
/// (`custom_schemas`: RFC 7643 schema objects). The error says what is wrong with them.
pub fn registry_for(
    config: &serde_json::Map<String, Value>,
) -> Result<Arc<SchemaRegistry>, String> {
    let Some(declared) = config.get("custom_schemas") else {
        return Ok(standard_registry());
    };
    let custom: Vec<gatehouse_scim::schema::CustomSchema> =
        serde_json::from_value(declared.clone())
            .map_err(|e| format!("custom_schemas must be RFC 7643 schema objects: {e}"))?;
    SchemaRegistry::with_custom(&custom)
        .map(Arc::new)
        .map_err(|e| format!("custom_schemas: {}", e.detail))
}

/// What DELETE does to the inventory account of a SCIM User (integration config `deprovision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deprovision {
    /// Keep the inventory account, marked `deprovisioned` (the default).
    Deactivate,
    /// Remove the inventory account.
    Delete,
}

impl Deprovision {
    pub fn of(integration: &Integration) -> Self {
        match integration
            .config
            .get("deprovision")
            .and_then(Value::as_str)
        {
            Some("delete") => Self::Delete,
            _ => Self::Deactivate,
        }
    }
}

/// The SCIM service provider.
#[derive(Clone)]
pub struct ScimService {
    gateway: Arc<Gateway>,
    registry: Arc<SchemaRegistry>,
    config: ServiceConfig,
}

fn standard_registry() -> Arc<SchemaRegistry> {
    static REGISTRY: OnceLock<Arc<SchemaRegistry>> = OnceLock::new();
    Arc::clone(REGISTRY.get_or_init(|| Arc::new(SchemaRegistry::standard())))
}

fn store_error(err: StoreError) -> ScimError {
    match err {
        StoreError::Conflict(what) => {
            ScimError::uniqueness(format!("{what} is already taken in this tenant"))
        }
        StoreError::NotFound(what) => ScimError::not_found(format!("{what} not found")),
        StoreError::Contended(what) => {
            tracing::warn!(%what, "a SCIM write kept losing to concurrent ones");
            ScimError::new(
                503,
                None,
                "the store is busy with concurrent writes to the same records; retry",
            )
        }
        StoreError::Failed(reason) => {
            tracing::error!(%reason, "SCIM write refused after a durability failure");
            ScimError::new(
                503,
                None,
                "the store cannot make writes durable; the daemon is restarting, retry later",
            )
        }
        other => {
            tracing::error!(error = %other, "SCIM store failure");
            ScimError::new(500, None, "the store failed; see the daemon log")
        }
    }
}

fn engine_error(err: EngineError) -> ScimError {
    match err {
        EngineError::Store(e) => store_error(e),
        other => {
            tracing::error!(error = %other, "SCIM inventory update failed");
            ScimError::new(500, None, "the inventory update failed; see the daemon log")
        }
    }
}

fn not_found(kind: ResourceKind, id: &str) -> ScimError {
    ScimError::not_found(format!("{} {id} not found", kind.name()))
}

fn meta_str<'a>(resource: &'a Value, key: &str) -> Option<&'a str> {
    resource.get("meta")?.get(key)?.as_str()
}

impl ScimService {
    pub fn new(gateway: Arc<Gateway>) -> Self {
        Self {
            gateway,
            registry: standard_registry(),
            config: ServiceConfig::default(),
        }
    }

    pub fn registry(&self) -> &SchemaRegistry {
        &self.registry
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// The scope of a SCIM token's principal: 401 when its integration is gone, 403 when it is
    /// disabled.
    pub async fn scope(
        &self,
        tenant: TenantId,
        integration: &gatehouse_core::IntegrationId,
        base_url: String,
    ) -> Result<ScimScope, ScimError> {
        let found = self
            .gateway
            .store()
            .get_integration(&tenant, integration)
            .await
            .map_err(store_error)?;
        let Some(integration) = found else {
            return Err(ScimError::new(401, None, "the SCIM token is not valid"));
        };
        if integration.status == IntegrationStatus::Disabled {
            return Err(ScimError::new(
                403,
                None,
                "this SCIM integration is disabled",
            ));
        }
        let registry = registry_for(&integration.config)
            .map_err(|e| ScimError::new(500, None, format!("the integration's {e}")))?;
        Ok(ScimScope {
            tenant,
            integration,
            base_url,
            registry,
        })
    }

    async fn load(&self, s: &ScimScope, kind: ResourceKind, id: &str) -> Result<Value, ScimError> {
        self.gateway
            .store()
            .scim_get(&s.tenant, &s.integration.id, kind, id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| not_found(kind, id))
    }

    /// A stored resource as clients see it: `meta.location` under this request's root, and a
    /// User's `groups`.
    async fn present(
        &self,
        s: &ScimScope,
        kind: ResourceKind,
        mut resource: Value,
    ) -> Result<Value, ScimError> {
        let id = resource
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let location = format!(
            "{}{}/{}",
            s.base_url.trim_end_matches('/'),
            kind.endpoint(),
            id
        );
        if kind == ResourceKind::User {
            let groups = self
                .gateway
                .store()
                .scim_groups_of(&s.tenant, &s.integration.id, &id)
                .await
                .map_err(store_error)?;
            if !groups.is_empty() {
                let base = s.base_url.trim_end_matches('/');
                let items: Vec<Value> = groups
                    .into_iter()
                    .map(|(gid, display)| {
                        json!({"value": gid, "$ref": format!("{base}/Groups/{gid}"),
                               "display": display, "type": "direct"})
                    })
                    .collect();
                if let Some(o) = resource.as_object_mut() {
                    o.insert("groups".to_owned(), Value::Array(items));
                }
            }
        }
        if let Some(meta) = resource.get_mut("meta").and_then(Value::as_object_mut) {
            meta.insert("location".to_owned(), Value::String(location));
        }
        Ok(resource)
    }

    /// Members are typed by what they are when they name a User or Group of this integration.
    /// An id that names nothing here is kept as the client sent it: RFC 7644 does not require
    /// referential integrity, and provisioning clients add members before creating them. Every
    /// lookup is scoped to this tenant's integration, so an id from another tenant links to
    /// nothing and reveals nothing.
    async fn check_members(
        &self,
        s: &ScimScope,
        resource: &mut Value,
        only: Option<&[String]>,
    ) -> Result<(), ScimError> {
        let Some(items) = resource.get_mut("members").and_then(Value::as_array_mut) else {
            return Ok(());
        };
        let store = self.gateway.store();
        for item in items.iter_mut() {
            let Some(value) = item.get("value").and_then(Value::as_str).map(str::to_owned) else {
                continue;
            };
            if only.is_some_and(|o| !o.contains(&value)) {
                continue;
            }
            for kind in [ResourceKind::User, ResourceKind::Group] {
                let found = store
                    .scim_get(&s.tenant, &s.integration.id, kind, &value)
                    .await
                    .map_err(store_error)?;
                if found.is_some() {
                    if let Some(o) = item.as_object_mut() {
                        o.entry("type").or_insert_with(|| json!(kind.name()));
                    }
                    break;
                }
            }
        }
        Ok(())
    }
}
