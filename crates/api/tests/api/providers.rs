//! The catalog of integration types: derived from each provider crate's typed structs (the
//! ones that validate integrations), served at `/v1/providers`, and kept in step with the
//! configuration reference (a key the structs take but the docs do not name fails here).

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::start;

/// Top-level property names of an object schema, following `allOf` (a flattened struct).
fn property_names(schema: &Value, names: &mut Vec<String>) {
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for part in parts {
            property_names(part, names);
        }
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        names.extend(props.keys().cloned());
    }
}

#[tokio::test]
async fn the_catalog_comes_from_the_typed_structs_and_the_docs_name_every_key() {
    let s = start().await;
    let (status, body) = s.op(Method::GET, "/v1/providers", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let types: Vec<&Value> = body["data"].as_array().unwrap().iter().collect();
    let ids: Vec<&str> = types.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "entra",
            "google_workspace",
            "jumpcloud",
            "okta",
            "saml",
            "scim",
            "scim_app"
        ]
    );
    let okta = types.iter().find(|t| t["id"] == "okta").unwrap();
    assert_eq!(okta["connector"], true);
    assert_eq!(okta["push"], true);
    assert_eq!(okta["signins_flag"], "ingest_system_log");
    let hours = &okta["config"]["allOf"][1]["properties"]["system_log_lookback_hours"];
    assert_eq!(
        (hours["minimum"].as_f64(), hours["maximum"].as_f64()),
        (Some(1.0), Some(2160.0))
    );
    let jumpcloud = types.iter().find(|t| t["id"] == "jumpcloud").unwrap();
    assert_eq!(
        (
            jumpcloud["push"].as_bool(),
            jumpcloud["connector"].as_bool()
        ),
        (Some(false), Some(true))
    );
    let saml = types.iter().find(|t| t["id"] == "saml").unwrap();
    assert_eq!(saml["connector"].as_bool(), Some(false));

    let docs_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/CONFIGURATION.md");
    let docs = std::fs::read_to_string(docs_path).unwrap();
    for t in &types {
        for section in ["credentials", "config"] {
            let mut names = Vec::new();
            property_names(&t[section], &mut names);
            for name in names {
                assert!(
                    docs.contains(&format!("`{name}`")),
                    "docs/CONFIGURATION.md does not name {}'s {section}.{name}",
                    t["id"]
                );
            }
        }
    }

    let (status, one) = s.op(Method::GET, "/v1/providers/okta", None).await;
    assert_eq!((status, &one["id"]), (StatusCode::OK, &Value::from("okta")));
    let (status, _) = s.op(Method::GET, "/v1/providers/nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
