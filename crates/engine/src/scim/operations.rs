//! The SCIM operations on one resource: POST, GET, PUT, PATCH and DELETE, with optimistic
//! versions (`If-Match`) and retries when another write slipped in between.

use std::sync::Arc;

use gatehouse_scim::resource::{etag_matches, finalize, prepare, prepare_replace, version_of};
use gatehouse_scim::{apply_patch, PatchRequest, ResourceKind, ScimError};
use gatehouse_store::ScimWrite;
use rand::RngCore;
use serde_json::Value;

use super::{meta_str, not_found, store_error, ScimScope, ScimService, INDEXED, WRITE_ATTEMPTS};

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
    // Nor any other value: PostgreSQL cannot store it, and no SCIM attribute needs it.
    if holds_nul(resource) {
        return Err(ScimError::invalid_value(
            "SCIM values and attribute names may not contain NUL (U+0000)",
        ));
    }
    Ok(())
}

fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
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
}
