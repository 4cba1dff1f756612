//! The discovery documents of RFC 7644 §4: `/ServiceProviderConfig`, `/ResourceTypes` and
//! `/Schemas`. Each takes the absolute base URL of the SCIM root (e.g.
//! `https://gh.example/v1/scim/v2`) because `meta.location` must be absolute.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{ResourceKind, Schema, SchemaRegistry};
use crate::error::ScimError;
use crate::resource::list_response;

const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// Limits advertised in `/ServiceProviderConfig` and enforced by [`crate::bulk`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkLimits {
    pub max_operations: usize,
    pub max_payload_size: usize,
}

impl Default for BulkLimits {
    fn default() -> Self {
        Self {
            max_operations: 1000,
            max_payload_size: 1_048_576,
        }
    }
}

/// What the service provider advertises and enforces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceConfig {
    /// The most resources one list response holds (`filter.maxResults`).
    pub max_results: usize,
    pub bulk: BulkLimits,
    pub documentation_uri: Option<String>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            max_results: 1000,
            bulk: BulkLimits::default(),
            documentation_uri: None,
        }
    }
}

fn base(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

/// One schema as served at `/Schemas/{id}`.
pub fn schema_json(schema: &Schema, base_url: &str) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": schema.attributes,
        "meta": {
            "resourceType": "Schema",
            "location": format!("{}/Schemas/{}", base(base_url), schema.id),
        },
    })
}

/// `/Schemas`: every schema of the tenant as a ListResponse. `id` picks one (404 if unknown).
pub fn schemas_json(
    registry: &SchemaRegistry,
    base_url: &str,
    id: Option<&str>,
) -> Result<Value, ScimError> {
    match id {
        Some(id) => registry
            .schema(id)
            .map(|s| schema_json(s, base_url))
            .ok_or_else(|| ScimError::not_found(format!("schema {id} not found"))),
        None => {
            let all: Vec<Value> = registry
                .schemas()
                .map(|s| schema_json(s, base_url))
                .collect();
            let n = all.len();
            Ok(list_response(all, n, 1))
        }
    }
}

/// One resource type as served at `/ResourceTypes/{name}`.
pub fn resource_type_json(registry: &SchemaRegistry, kind: ResourceKind, base_url: &str) -> Value {
    let extensions: Vec<Value> = registry
        .extensions(kind)
        .map(|e| json!({"schema": e.id, "required": false}))
        .collect();
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": kind.name(),
        "name": kind.name(),
        "endpoint": kind.endpoint(),
        "description": match kind {
            ResourceKind::User => "User Account",
            ResourceKind::Group => "Group",
        },
        "schema": kind.core_schema_id(),
        "schemaExtensions": extensions,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{}/ResourceTypes/{}", base(base_url), kind.name()),
        },
    })
}

/// `/ResourceTypes`: User and Group as a ListResponse. `name` picks one (404 if unknown).
pub fn resource_types_json(
    registry: &SchemaRegistry,
    base_url: &str,
    name: Option<&str>,
) -> Result<Value, ScimError> {
    match name {
        Some(n) => match ResourceKind::from_name(n) {
            Some(kind) if kind.name().eq_ignore_ascii_case(n) => {
                Ok(resource_type_json(registry, kind, base_url))
            }
            _ => Err(ScimError::not_found(format!("resource type {n} not found"))),
        },
        None => {
            let all = vec![
                resource_type_json(registry, ResourceKind::User, base_url),
                resource_type_json(registry, ResourceKind::Group, base_url),
            ];
            Ok(list_response(all, 2, 1))
        }
    }
}

/// `/ServiceProviderConfig` (RFC 7643 §5).
pub fn service_provider_config_json(cfg: &ServiceConfig, base_url: &str) -> Value {
    let mut doc = json!({
        "schemas": [SPC_SCHEMA],
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": cfg.bulk.max_operations,
            "maxPayloadSize": cfg.bulk.max_payload_size,
        },
        "filter": {"supported": true, "maxResults": cfg.max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with the tenant's SCIM bearer token (RFC 6750).",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", base(base_url)),
        },
    });
    if let (Some(uri), Some(obj)) = (&cfg.documentation_uri, doc.as_object_mut()) {
        obj.insert("documentationUri".to_owned(), json!(uri));
    }
    doc
}
