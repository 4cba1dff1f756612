//! Users and Groups as JSON documents: validating and normalizing what a client POSTs or PUTs,
//! `meta` and versions, projection (`attributes` / `excludedAttributes`), sorting, paging and
//! list responses.
//!
//! The stored form of a resource is normalized: attribute names spelled as the schema spells
//! them, extension attributes inside their schema's object, no nulls or empty values, readOnly and
//! writeOnly input dropped, `schemas` listing exactly the core schema and the extensions present.

mod list;
mod meta;
mod project;

use serde_json::{Map, Value};

use crate::coerce::{coerce, coerce_open};
use crate::error::ScimError;
use crate::json::{get_ci, has_value, key_ci};
use crate::path::AttrPath;
use crate::schema::{AttributeDef, Mutability, ResourceKind, Schema, SchemaRegistry};

pub use list::{
    list_response, search, sort_resources, SearchRequest, SortOrder, LIST_RESPONSE_SCHEMA,
};
pub use meta::{etag_matches, finalize, version_of};
pub use project::Projection;

/// Validates and normalizes a POST body. The caller then assigns the id and calls [`finalize`].
pub fn prepare(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    body: &Value,
) -> Result<Value, ScimError> {
    let mut out = normalize_input(registry, kind, body)?;
    tidy(registry, kind, &mut out);
    check_required(registry, kind, &out)?;
    Ok(Value::Object(out))
}

/// Validates and normalizes a PUT body against the stored resource: server-managed attributes
/// (`id`, `meta`, a User's `groups`) are kept from `existing`, and an immutable attribute that
/// already has a value may not change (`mutability`).
pub fn prepare_replace(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    body: &Value,
    existing: &Value,
) -> Result<Value, ScimError> {
    let mut out = normalize_input(registry, kind, body)?;
    let old = existing.as_object().cloned().unwrap_or_default();
    for key in ["id", "meta", "groups"] {
        if let Some(v) = get_ci(&old, key) {
            if key != "groups" || kind == ResourceKind::User {
                out.insert(key.to_owned(), v.clone());
            }
        }
    }
    check_immutable(registry, kind, &old, &mut out)?;
    tidy(registry, kind, &mut out);
    check_required(registry, kind, &out)?;
    Ok(Value::Object(out))
}

fn check_immutable(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    old: &Map<String, Value>,
    new: &mut Map<String, Value>,
) -> Result<(), ScimError> {
    let scopes = std::iter::once((None, registry.core(kind)))
        .chain(registry.extensions(kind).map(|e| (Some(e.id.as_str()), e)));
    for (ext, schema) in scopes {
        for def in schema
            .attributes
            .iter()
            .filter(|d| d.mutability == Mutability::Immutable)
        {
            let before = container(old, ext)
                .and_then(|c| get_ci(c, &def.name))
                .cloned();
            let Some(before) = before.filter(has_value) else {
                continue;
            };
            let target = match ext {
                None => &mut *new,
                Some(id) => match new.get_mut(id).and_then(Value::as_object_mut) {
                    Some(o) => o,
                    None => continue,
                },
            };
            match target.get(&def.name) {
                None => {
                    target.insert(def.name.clone(), before);
                }
                Some(now) if *now != before => {
                    return Err(ScimError::mutability(format!(
                        "{} is immutable and already set",
                        def.name
                    )))
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

fn container<'a>(obj: &'a Map<String, Value>, ext: Option<&str>) -> Option<&'a Map<String, Value>> {
    match ext {
        None => Some(obj),
        Some(id) => get_ci(obj, id).and_then(Value::as_object),
    }
}

/// Whether input for `def` is dropped: readOnly values are the server's (RFC 7643 §7), and
/// writeOnly ones (passwords) are never kept by Gatehouse, which has no use for them.
fn ignored_on_input(def: &AttributeDef) -> bool {
    matches!(def.mutability, Mutability::ReadOnly | Mutability::WriteOnly)
}

fn normalize_input(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    body: &Value,
) -> Result<Map<String, Value>, ScimError> {
    let Some(obj) = body.as_object() else {
        return Err(ScimError::invalid_syntax("the body must be a JSON object"));
    };
    check_schemas(kind, obj)?;
    let mut out = Map::new();
    for (key, val) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(ext) = registry.extension(kind, key) {
            let Some(fields) = val.as_object() else {
                if val.is_null() {
                    continue;
                }
                return Err(ScimError::invalid_syntax(format!(
                    "{} must be an object",
                    ext.id
                )));
            };
            for (k, v) in fields {
                put_extension_attr(ext, &mut out, k, v.clone())?;
            }
            continue;
        }
        // Anything else must name one attribute (possibly URN-qualified); unknown ones and
        // undeclared extensions are ignored rather than refused, as RFC 7644 §3.3 allows.
        let Ok(path) = AttrPath::from_word(key) else {
            continue;
        };
        if path.sub.is_some() {
            continue;
        }
        let Some(loc) = registry.attribute(kind, &path) else {
            continue;
        };
        match loc.extension {
            Some(ext) => put_extension_attr(ext, &mut out, loc.name, val.clone())?,
            None => {
                let Some(def) = loc.def else { continue };
                if ignored_on_input(def) {
                    continue;
                }
                if let Some(v) = coerce(def, val.clone(), &def.name)? {
                    out.insert(def.name.clone(), v);
                }
            }
        }
    }
    Ok(out)
}

fn put_extension_attr(
    ext: &Schema,
    out: &mut Map<String, Value>,
    key: &str,
    val: Value,
) -> Result<(), ScimError> {
    let (name, v) = match ext.attribute(key) {
        Some(def) if ignored_on_input(def) => return Ok(()),
        Some(def) => (
            def.name.clone(),
            coerce(def, val, &format!("{}:{}", ext.id, def.name))?,
        ),
        None if ext.open => (key.to_owned(), coerce_open(val)),
        None => return Ok(()),
    };
    if let Some(v) = v {
        let slot = out
            .entry(ext.id.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(o) = slot.as_object_mut() {
            o.insert(name, v);
        }
    }
    Ok(())
}

fn check_schemas(kind: ResourceKind, obj: &Map<String, Value>) -> Result<(), ScimError> {
    let core = kind.core_schema_id();
    let schemas = get_ci(obj, "schemas")
        .and_then(Value::as_array)
        .filter(|a| a.iter().all(Value::is_string));
    match schemas {
        None => Err(ScimError::invalid_syntax(
            "schemas must be an array of schema URNs",
        )),
        Some(a)
            if !a
                .iter()
                .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(core))) =>
        {
            Err(ScimError::invalid_syntax(format!(
                "schemas must include {core}"
            )))
        }
        Some(_) => Ok(()),
    }
}

/// Required attributes (RFC 7643: `userName`; §4.2: a Group's `displayName`) must have a value.
pub(crate) fn check_required(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    obj: &Map<String, Value>,
) -> Result<(), ScimError> {
    let core = registry.core(kind);
    let mut required: Vec<(&str, Option<&str>)> = core
        .attributes
        .iter()
        .filter(|d| d.required)
        .map(|d| (d.name.as_str(), None))
        .collect();
    for ext in registry.extensions(kind) {
        if obj.contains_key(&ext.id) {
            required.extend(
                ext.attributes
                    .iter()
                    .filter(|d| d.required)
                    .map(|d| (d.name.as_str(), Some(ext.id.as_str()))),
            );
        }
    }
    for (name, ext) in required {
        let v = container(obj, ext).and_then(|c| get_ci(c, name));
        if !v.is_some_and(has_value) {
            return Err(ScimError::invalid_value(format!("{name} is required")));
        }
    }
    Ok(())
}

/// Brings a resource to its stored form: no empty values, one primary at most per multi-valued
/// attribute, values without their `value` dropped, `schemas` rebuilt from what is present.
pub(crate) fn tidy(registry: &SchemaRegistry, kind: ResourceKind, obj: &mut Map<String, Value>) {
    let core = registry.core(kind);
    tidy_level(core, obj);
    let mut schemas = vec![Value::String(core.id.clone())];
    for ext in registry.extensions(kind) {
        let Some(key) = key_ci(obj, &ext.id) else {
            continue;
        };
        let keep = match obj.get_mut(&key).and_then(Value::as_object_mut) {
            Some(inner) => {
                tidy_level(ext, inner);
                !inner.is_empty()
            }
            None => false,
        };
        if keep {
            if key != ext.id {
                if let Some(v) = obj.remove(&key) {
                    obj.insert(ext.id.clone(), v);
                }
            }
            schemas.push(Value::String(ext.id.clone()));
        } else {
            obj.remove(&key);
        }
    }
    obj.insert("schemas".to_owned(), Value::Array(schemas));
}

fn tidy_level(schema: &Schema, obj: &mut Map<String, Value>) {
    // Extension objects (URN keys) are tidied by the caller; everything else must hold a value.
    obj.retain(|k, v| k.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) || has_value(v));
    for def in schema
        .attributes
        .iter()
        .filter(|d| d.multi_valued && d.is_complex())
    {
        let Some(Value::Array(items)) = obj.get_mut(&def.name) else {
            continue;
        };
        // Only where the schema declares `value` is it the point of each item (emails, members).
        let keyed = def.sub_attributes.iter().any(|s| s.name == "value");
        items.retain(|it| has_value(it) && (!keyed || it.get("value").is_some_and(has_value)));
        let mut seen_primary = false;
        for it in items.iter_mut() {
            if let Some(p) = it.get_mut("primary") {
                if *p == Value::Bool(true) {
                    if seen_primary {
                        *p = Value::Bool(false);
                    }
                    seen_primary = true;
                }
            }
        }
        if items.is_empty() {
            obj.remove(&def.name);
        }
    }
}

#[cfg(test)]
mod tests;
