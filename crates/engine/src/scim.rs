//! The SCIM 2.0 service provider behind `/v1/scim/v2`: Users and Groups of one tenant's SCIM
//! integration, kept in the store as SCIM JSON and mirrored into the inventory.
//!
//! The protocol logic (validation, PATCH, filters, projection, paging, bulk) is the pure
//! `gatehouse-scim` crate's; this module adds what needs I/O: ids and times, the store with its
//! indexes and optimistic versions, member checks within the tenant, the User's read-only
//! `groups`, and the inventory rows (provider `scim`) with the integration's deprovision policy.
//! Every failure is a [`ScimError`], ready for the wire.

use std::sync::{Arc, OnceLock};

use gatehouse_core::model::{Integration, IntegrationStatus, UserStatus};
use gatehouse_core::TenantId;
use gatehouse_scim::bulk::{run_bulk, BulkMethod, BulkOutcome, BulkRequest, ResolvedOperation};
use gatehouse_scim::mapping::{group_to_provider, user_to_provider};
use gatehouse_scim::resource::{
    etag_matches, finalize, list_response, prepare, prepare_replace, search, version_of,
};
use gatehouse_scim::{
    apply_patch, Filter, PatchRequest, ResourceKind, SchemaRegistry, ScimError, SearchRequest,
    ServiceConfig,
};
use gatehouse_store::{InventoryRows, ScimWrite, StoreError};
use rand::RngCore;
use serde_json::{json, Value};

use crate::inventory::Inventory;
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

/// The stored `meta.version`, or the content's version for a record written without one.
fn version(resource: &Value) -> String {
    meta_str(resource, "version").map_or_else(|| version_of(resource), str::to_owned)
}

fn check_if_match(if_match: Option<&str>, current: &str) -> Result<(), ScimError> {
    match if_match {
        Some(tag) if !etag_matches(tag, current) => Err(ScimError::precondition_failed(format!(
            "the resource is at version {current}"
        ))),
        _ => Ok(()),
    }
}

/// A random RFC 4122 version 4 id: the GUID shape Entra ID and Okta expect of SCIM ids.
fn new_id() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Index keys are NUL-separated, so indexed values may not hold NUL.
fn check_indexable(resource: &Value) -> Result<(), ScimError> {
    for attr in &INDEXED[1..] {
        if resource
            .get(*attr)
            .and_then(Value::as_str)
            .is_some_and(|v| v.contains('\0'))
        {
            return Err(ScimError::invalid_value(format!(
                "{attr} may not contain NUL"
            )));
        }
    }
    Ok(())
}

/// A User's `groups` is computed from memberships; it is never stored with the User.
fn strip_server_computed(kind: ResourceKind, resource: &mut Value) {
    if kind == ResourceKind::User {
        if let Some(o) = resource.as_object_mut() {
            o.remove("groups");
        }
    }
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
    async fn account_rows(
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

    async fn mirror_group(&self, s: &ScimScope, resource: &Value) -> Result<(), ScimError> {
        self.inventory()
            .apply_groups(&s.integration, vec![group_to_provider(resource)])
            .await
            .map(|_| ())
            .map_err(engine_error)
    }

    /// Stores a resource that is new, with its inventory rows; the resource as clients see it.
    async fn write_new(
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

    async fn deprovision(
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
            raw: None,
        };
        store
            .insert_signins(&s.tenant, std::slice::from_ref(&record))
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

    // --- the operations ------------------------------------------------------------------------

    /// POST: the new resource as clients see it.
    pub async fn create(
        &self,
        s: &ScimScope,
        kind: ResourceKind,
        body: &Value,
    ) -> Result<Value, ScimError> {
        let mut resource = prepare(&s.registry, kind, body)?;
        strip_server_computed(kind, &mut resource);
        check_indexable(&resource)?;
        if kind == ResourceKind::Group {
            self.check_members(s, &mut resource, None).await?;
        }
        let now = self.gateway.clock().now();
        let id = new_id();
        finalize(&mut resource, kind, &id, now, now, &s.base_url);
        self.write_new(s, kind, resource).await
    }

    pub async fn get(
        &self,
        s: &ScimScope,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Value, ScimError> {
        let resource = self.load(s, kind, id).await?;
        self.present(s, kind, resource).await
    }

    /// PUT: replaces everything but `id`, `meta` and what the server computes.
    pub async fn replace(
        &self,
        s: &ScimScope,
        kind: ResourceKind,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Value, ScimError> {
        self.rewrite(s, kind, id, if_match, |svc, existing| {
            let body = body.clone();
            let registry = Arc::clone(&s.registry);
            async move {
                let mut new = prepare_replace(&registry, kind, &body, &existing)?;
                strip_server_computed(kind, &mut new);
                if kind == ResourceKind::Group {
                    svc.check_members(s, &mut new, None).await?;
                }
                Ok(new)
            }
        })
        .await
    }

    /// PATCH: the patched resource as clients see it.
    pub async fn patch(
        &self,
        s: &ScimScope,
        kind: ResourceKind,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Value, ScimError> {
        let req = PatchRequest::from_json(body)?;
        self.rewrite(s, kind, id, if_match, |svc, existing| {
            let req = req.clone();
            let registry = Arc::clone(&s.registry);
            async move {
                let outcome = apply_patch(&registry, kind, &existing, &req)?;
                let mut new = outcome.resource;
                strip_server_computed(kind, &mut new);
                if kind == ResourceKind::Group && !outcome.changes.members_added.is_empty() {
                    svc.check_members(s, &mut new, Some(&outcome.changes.members_added))
                        .await?;
                }
                Ok(new)
            }
        })
        .await
    }

    /// Read, change, write with the version read; retried when another write came between.
    async fn rewrite<'a, F, Fut>(
        &'a self,
        s: &'a ScimScope,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&str>,
        change: F,
    ) -> Result<Value, ScimError>
    where
        F: Fn(&'a Self, Value) -> Fut,
        Fut: std::future::Future<Output = Result<Value, ScimError>> + 'a,
    {
        let store = self.gateway.store();
        for _ in 0..WRITE_ATTEMPTS {
            let existing = self.load(s, kind, id).await?;
            let current = version(&existing);
            check_if_match(if_match, &current)?;
            let created = meta_str(&existing, "created")
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&chrono::Utc));
            let mut new = change(self, existing.clone()).await?;
            check_indexable(&new)?;
            if version_of(&new) == current {
                // Nothing changed: keep lastModified and skip the write.
                return self.present(s, kind, existing).await;
            }
            let now = self.gateway.clock().now();
            finalize(&mut new, kind, id, created.unwrap_or(now), now, &s.base_url);
            let shown = self.present(s, kind, new.clone()).await?;
            let rows = self.account_rows(s, kind, &shown, false).await?;
            match store
                .scim_replace(&s.tenant, &s.integration.id, kind, &new, &current, &rows)
                .await
                .map_err(store_error)?
            {
                ScimWrite::Written => {
                    if kind == ResourceKind::Group {
                        self.mirror_group(s, &new).await?;
                    }
                    return Ok(shown);
                }
                ScimWrite::NotFound => return Err(not_found(kind, id)),
                ScimWrite::Stale => continue,
            }
        }
        Err(ScimError::new(
            409,
            None,
            "the resource kept changing while this write was applied; retry",
        ))
    }

    /// DELETE: the resource leaves every group it was in, then answers 404; its inventory
    /// account follows the integration's `deprovision` policy.
    pub async fn delete(
        &self,
        s: &ScimScope,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ScimError> {
        let store = self.gateway.store();
        for _ in 0..WRITE_ATTEMPTS {
            let existing = self.load(s, kind, id).await?;
            let current = version(&existing);
            check_if_match(if_match, &current)?;
            let groups = store
                .scim_groups_of(&s.tenant, &s.integration.id, id)
                .await
                .map_err(store_error)?;
            for (group, _) in groups {
                self.drop_member(s, &group, id).await?;
            }
            match store
                .scim_delete(&s.tenant, &s.integration.id, kind, id, Some(&current))
                .await
                .map_err(store_error)?
            {
                ScimWrite::Written => return self.deprovision(s, kind, &existing).await,
                ScimWrite::NotFound => return Err(not_found(kind, id)),
                ScimWrite::Stale => continue,
            }
        }
        Err(ScimError::new(
            409,
            None,
            "the resource kept changing while it was deleted; retry",
        ))
    }

    async fn drop_member(&self, s: &ScimScope, group: &str, member: &str) -> Result<(), ScimError> {
        let result = self
            .rewrite(
                s,
                ResourceKind::Group,
                group,
                None,
                |_, mut existing| async move {
                    if let Some(items) = existing.get_mut("members").and_then(Value::as_array_mut) {
                        items.retain(|m| m.get("value").and_then(Value::as_str) != Some(member));
                        if items.is_empty() {
                            if let Some(o) = existing.as_object_mut() {
                                o.remove("members");
                            }
                        }
                    }
                    Ok(existing)
                },
            )
            .await;
        match result {
            // Gone meanwhile: nothing to leave.
            Err(e) if e.status == 404 => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// GET list and `.search`: indexed candidates for an equality on an indexed attribute,
    /// otherwise a streamed scan that keeps only the matches (and, unsorted, only the page).
    pub async fn search(
        &self,
        s: &ScimScope,
        kind: ResourceKind,
        req: &SearchRequest,
    ) -> Result<Value, ScimError> {
        if let Some(f) = &req.filter {
            f.validate(&s.registry, kind)?;
            if let Some(candidates) = self.indexed_candidates(s, kind, f).await? {
                return search(&s.registry, kind, req, candidates, self.config.max_results);
            }
        }
        let max = self.config.max_results;
        let start = req.start_index.max(1) - 1;
        let count = req.count.unwrap_or(max).min(max);
        let keep_all = req.sort_by.is_some();
        let mut kept = Vec::new();
        let mut total = 0usize;
        let mut after: Option<String> = None;
        loop {
            let batch = self
                .gateway
                .store()
                .scim_scan(
                    &s.tenant,
                    &s.integration.id,
                    kind,
                    after.as_deref(),
                    SCAN_PAGE,
                )
                .await
                .map_err(store_error)?;
            let Some(last) = batch.last() else { break };
            after = last.get("id").and_then(Value::as_str).map(str::to_owned);
            let full = batch.len() == SCAN_PAGE;
            for r in batch {
                let r = self.present(s, kind, r).await?;
                if req
                    .filter
                    .as_ref()
                    .is_some_and(|f| !f.matches(&r, &s.registry, kind))
                {
                    continue;
                }
                if keep_all || (total >= start && total < start.saturating_add(count)) {
                    kept.push(r);
                }
                total += 1;
            }
            if !full || after.is_none() {
                break;
            }
        }
        if keep_all {
            return search(&s.registry, kind, req, kept, max);
        }
        let page = kept
            .iter()
            .map(|r| req.projection.apply(&s.registry, kind, r))
            .collect();
        Ok(list_response(page, total, req.start_index))
    }

    async fn indexed_candidates(
        &self,
        s: &ScimScope,
        kind: ResourceKind,
        f: &Filter,
    ) -> Result<Option<Vec<Value>>, ScimError> {
        for attr in INDEXED {
            if let Some(value) = f.equality_on(attr) {
                let found = self
                    .gateway
                    .store()
                    .scim_find(&s.tenant, &s.integration.id, kind, attr, value)
                    .await
                    .map_err(store_error)?;
                let mut out = Vec::with_capacity(found.len());
                for r in found {
                    out.push(self.present(s, kind, r).await?);
                }
                return Ok(Some(out));
            }
        }
        Ok(None)
    }

    /// POST /Bulk: the BulkResponse. `run_bulk` is synchronous, so it runs on a blocking thread
    /// that drives each operation on the runtime in turn.
    pub async fn bulk(&self, s: &ScimScope, body: &[u8]) -> Result<Value, ScimError> {
        let req = BulkRequest::parse(body, &self.config.bulk)?;
        let svc = self.clone();
        let scope = s.clone();
        let handle = tokio::runtime::Handle::current();
        let response = tokio::task::spawn_blocking(move || {
            let mut exec = |op: &ResolvedOperation| handle.block_on(svc.bulk_one(&scope, op));
            run_bulk(&req, &mut exec)
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "SCIM bulk task failed");
            ScimError::new(500, None, "the bulk request failed")
        })?;
        Ok(response.to_json())
    }

    async fn bulk_one(
        &self,
        s: &ScimScope,
        op: &ResolvedOperation,
    ) -> Result<BulkOutcome, ScimError> {
        let kind = op.kind;
        let data = op.data.clone().unwrap_or(Value::Null);
        let id = op.id.as_deref();
        let need_id =
            || id.ok_or_else(|| ScimError::invalid_syntax("the path needs a resource id"));
        let (status, resource) = match op.method {
            BulkMethod::Post => (201, Some(self.create(s, kind, &data).await?)),
            BulkMethod::Put => (
                200,
                Some(
                    self.replace(s, kind, need_id()?, &data, op.version.as_deref())
                        .await?,
                ),
            ),
            BulkMethod::Patch => (
                200,
                Some(
                    self.patch(s, kind, need_id()?, &data, op.version.as_deref())
                        .await?,
                ),
            ),
            BulkMethod::Delete => {
                self.delete(s, kind, need_id()?, op.version.as_deref())
                    .await?;
                (204, None)
            }
        };
        let location = match &resource {
            Some(r) => meta_str(r, "location").map(str::to_owned),
            None => id.map(|i| {
                format!(
                    "{}{}/{i}",
                    s.base_url.trim_end_matches('/'),
                    kind.endpoint()
                )
            }),
        };
        Ok(BulkOutcome {
            status,
            id: resource
                .as_ref()
                .and_then(|r| r.get("id"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| id.map(str::to_owned)),
            location,
            version: resource
                .as_ref()
                .and_then(|r| meta_str(r, "version"))
                .map(str::to_owned),
            response: None,
        })
    }
}
