//! The discovery endpoints of RFC 7644 §4: `/ServiceProviderConfig` (what the app implements,
//! from the simulator's switches), `/Schemas` (the core User schema's attributes that matter
//! here) and `/ResourceTypes` (User, and Group when the app serves `/Groups`).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::{ScimAppSim, GROUP_SCHEMA, USER_SCHEMA};

const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

pub(crate) fn scim_json(status: axum::http::StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/scim+json"),
    );
    resp
}

pub(crate) fn list_of(items: Vec<Value>, total: usize, start: usize) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": items.len(),
        "Resources": items,
    })
}

pub async fn service_provider_config(State(sim): State<ScimAppSim>, _h: HeaderMap) -> Response {
    let c = sim.config();
    scim_json(
        axum::http::StatusCode::OK,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": "https://example.invalid/scim",
            "patch": {"supported": c.patch},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": c.filter, "maxResults": c.max_page_size},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": c.etag},
            "authenticationSchemes": [{
                "type": "oauthbearertoken", "name": "OAuth Bearer Token",
                "description": "Authentication with a bearer token", "primary": true
            }],
            "meta": {"resourceType": "ServiceProviderConfig"}
        }),
    )
}

fn attribute(name: &str, kind: &str, multi: bool, mutability: &str, unique: &str) -> Value {
    json!({"name": name, "type": kind, "multiValued": multi, "required": name == "userName",
        "caseExact": false, "mutability": mutability, "returned": "default",
        "uniqueness": unique})
}

pub async fn schemas(State(sim): State<ScimAppSim>) -> Response {
    let user = json!({
        "id": USER_SCHEMA, "name": "User", "description": "User Account",
        "attributes": [
            attribute("userName", "string", false, "readWrite", "server"),
            attribute("name", "complex", false, "readWrite", "none"),
            attribute("displayName", "string", false, "readWrite", "none"),
            attribute("emails", "complex", true, "readWrite", "none"),
            attribute("active", "boolean", false, "readWrite", "none"),
        ],
        "meta": {"resourceType": "Schema"}
    });
    let mut all = vec![user];
    if sim.config().groups {
        all.push(json!({
            "id": GROUP_SCHEMA, "name": "Group", "description": "Group",
            "attributes": [
                attribute("displayName", "string", false, "readWrite", "server"),
                attribute("members", "complex", true, "readWrite", "none"),
            ],
            "meta": {"resourceType": "Schema"}
        }));
    }
    let total = all.len();
    scim_json(axum::http::StatusCode::OK, &list_of(all, total, 1))
}

pub async fn resource_types(State(sim): State<ScimAppSim>) -> Response {
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User", "name": "User", "endpoint": "/Users", "schema": USER_SCHEMA,
        "meta": {"resourceType": "ResourceType"}
    });
    let mut all = vec![user];
    if sim.config().groups {
        all.push(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group", "name": "Group", "endpoint": "/Groups", "schema": GROUP_SCHEMA,
            "meta": {"resourceType": "ResourceType"}
        }));
    }
    let total = all.len();
    scim_json(axum::http::StatusCode::OK, &list_of(all, total, 1))
}
