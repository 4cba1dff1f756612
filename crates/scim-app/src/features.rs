//! What an app implements, read from `/ServiceProviderConfig` (RFC 7643 §5: `patch`, `bulk`,
//! `filter` with its `maxResults`, `etag`) and `/Schemas` (whether it serves the Group schema;
//! else `/ResourceTypes`: whether it lists Groups),
//! and what the connector does about it: PUT where PATCH is not supported, no `filter` where
//! filtering is not, pages of at most `filter.maxResults`.
//!
//! Apps get these documents wrong in both directions (announcing PATCH and answering 501,
//! serving no `/ServiceProviderConfig` at all), so an app without one is assumed to have
//! PATCH and no filter, and a PATCH answered 501 or 405 switches the connector to PUT for the
//! rest of its life whatever the document said.

use serde_json::Value;

/// The Group schema's URN (RFC 7643 §8.7.1).
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// What the app says it supports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Features {
    pub patch: bool,
    pub filter: bool,
    pub etag: bool,
    pub bulk: bool,
    /// The app serves the Group schema.
    pub groups: bool,
    /// The most resources one answer holds (`filter.maxResults`).
    pub max_results: Option<usize>,
    /// Whether `/ServiceProviderConfig` was read (false: the defaults above were assumed).
    pub discovered: bool,
}

/// A `supported` flag: a boolean, or the strings some apps send.
fn supported(spc: &Value, feature: &str) -> bool {
    match spc.get(feature).and_then(|f| f.get("supported")) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

impl Features {
    /// For an app that serves no `/ServiceProviderConfig`: PATCH is tried (and given up on
    /// its first 501/405), filtering is not used.
    pub fn assumed() -> Self {
        Self {
            patch: true,
            filter: false,
            etag: false,
            bulk: false,
            groups: false,
            max_results: None,
            discovered: false,
        }
    }

    /// From the two discovery documents (`schemas` may be missing).
    pub fn from_documents(spc: &Value, schemas: Option<&Value>) -> Self {
        let max_results = spc
            .get("filter")
            .and_then(|f| f.get("maxResults"))
            .and_then(|m| m.as_u64().or_else(|| m.as_str()?.trim().parse().ok()))
            .filter(|m| *m > 0)
            .map(|m| m.min(10_000) as usize);
        let resources = schemas.and_then(|s| match s {
            Value::Array(items) => Some(items),
            other => other.get("Resources").and_then(Value::as_array),
        });
        let groups = resources.is_some_and(|items| {
            items
                .iter()
                .any(|s| s.get("id").and_then(Value::as_str) == Some(GROUP_SCHEMA))
        });
        Self {
            patch: supported(spc, "patch"),
            filter: supported(spc, "filter"),
            etag: supported(spc, "etag"),
            bulk: supported(spc, "bulk"),
            groups,
            max_results,
            discovered: true,
        }
    }

    /// Whether a `/ResourceTypes` answer (a ListResponse or a bare array) lists Groups: an
    /// entry with the Group schema, or the `/Groups` endpoint.
    pub fn lists_groups(types: &Value) -> bool {
        let items = match types {
            Value::Array(items) => Some(items),
            other => other.get("Resources").and_then(Value::as_array),
        };
        items.is_some_and(|items| {
            items.iter().any(|t| {
                t.get("schema").and_then(Value::as_str) == Some(GROUP_SCHEMA)
                    || t.get("endpoint").and_then(Value::as_str) == Some("/Groups")
            })
        })
    }

    /// What `/test` reports: each feature and what the connector does about it.
    pub fn notes(&self) -> Vec<String> {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let mut notes = vec![format!(
            "the app supports: PATCH {}, filter {}, ETag {}, Bulk {}, Groups {}{}",
            yes(self.patch),
            yes(self.filter),
            yes(self.etag),
            yes(self.bulk),
            yes(self.groups),
            self.max_results
                .map(|m| format!(", at most {m} results per answer"))
                .unwrap_or_default()
        )];
        if !self.discovered {
            notes.push(
                "the app serves no /ServiceProviderConfig: PATCH is tried and PUT used if it \
                 is refused; accounts are looked up without filters"
                    .into(),
            );
        }
        if !self.patch {
            notes.push(
                "without PATCH, actions replace the whole user with PUT (read first, only \
                 `active` changed)"
                    .into(),
            );
        }
        if !self.filter {
            notes.push(
                "without filtering, an action needs the account's SCIM id (from a pull)".into(),
            );
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn reads_the_rfc_example_and_a_minimal_app() {
        let full = Features::from_documents(
            &fixture("service_provider_config.json"),
            Some(&fixture("schemas.json")),
        );
        assert_eq!(
            full,
            Features {
                patch: true,
                filter: true,
                etag: true,
                bulk: true,
                groups: true,
                max_results: Some(200),
                discovered: true,
            }
        );
        let minimal =
            Features::from_documents(&fixture("service_provider_config_no_patch.json"), None);
        assert!(!minimal.patch && !minimal.filter && !minimal.groups);
        assert!(minimal.notes().iter().any(|n| n.contains("PUT")));
    }

    #[test]
    fn resource_types_that_list_groups() {
        let listed = serde_json::json!({"Resources": [
            {"id": "User", "endpoint": "/Users", "schema": "urn:ietf:params:scim:schemas:core:2.0:User"},
            {"id": "Group", "endpoint": "/Groups", "schema": GROUP_SCHEMA}]});
        assert!(Features::lists_groups(&listed));
        let bare = serde_json::json!([{"id": "Group", "endpoint": "/Groups"}]);
        assert!(Features::lists_groups(&bare));
        let users_only = serde_json::json!({"Resources": [{"id": "User", "endpoint": "/Users"}]});
        assert!(!Features::lists_groups(&users_only));
    }
}
