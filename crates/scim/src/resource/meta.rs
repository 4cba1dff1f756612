//! `meta` (RFC 7643 §3.1) and versions: the weak ETag is a hash of the resource's content without
//! `meta`, so a PATCH that changes nothing keeps the version, and any change moves it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::json::canonical;
use crate::schema::ResourceKind;

/// Sets `id` and `meta` (resourceType, created, lastModified, location, version). Times come from
/// the caller's clock; `base_url` is the absolute SCIM root, e.g. `https://gh.example/v1/scim/v2`.
pub fn finalize(
    resource: &mut Value,
    kind: ResourceKind,
    id: &str,
    created: DateTime<Utc>,
    last_modified: DateTime<Utc>,
    base_url: &str,
) {
    let Some(obj) = resource.as_object_mut() else {
        return;
    };
    obj.insert("id".to_owned(), json!(id));
    obj.remove("meta");
    let version = version_of(resource);
    let location = format!(
        "{}{}/{}",
        base_url.trim_end_matches('/'),
        kind.endpoint(),
        id
    );
    if let Some(obj) = resource.as_object_mut() {
        obj.insert(
            "meta".to_owned(),
            json!({
                "resourceType": kind.name(),
                "created": created.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                "lastModified": last_modified.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                "location": location,
                "version": version,
            }),
        );
    }
}

/// The weak ETag of a resource's content (everything but `meta`): `W/"<hex>"`.
pub fn version_of(resource: &Value) -> String {
    let mut content = resource.clone();
    if let Some(o) = content.as_object_mut() {
        o.remove("meta");
    }
    let mut text = String::new();
    canonical(&content, &mut text);
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
    format!("W/\"{hex}\"")
}

/// Whether an `If-Match` header value accepts `version` (RFC 7232 §3.1, compared weakly as SCIM
/// versions are weak): `*`, or any listed tag with the same opaque value.
pub fn etag_matches(if_match: &str, version: &str) -> bool {
    let opaque = |t: &str| -> String {
        let t = t.trim();
        t.strip_prefix("W/").unwrap_or(t).to_owned()
    };
    let want = opaque(version);
    if_match
        .split(',')
        .any(|t| t.trim() == "*" || opaque(t) == want)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn finalize_sets_meta_and_version_ignores_meta() {
        let t = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
        let mut r =
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a"});
        finalize(
            &mut r,
            ResourceKind::User,
            "u1",
            t,
            t,
            "https://x.example/scim/v2/",
        );
        assert_eq!(r["id"], "u1");
        assert_eq!(r["meta"]["resourceType"], "User");
        assert_eq!(r["meta"]["created"], "2024-05-01T12:00:00Z");
        assert_eq!(r["meta"]["location"], "https://x.example/scim/v2/Users/u1");
        let v = r["meta"]["version"].as_str().unwrap().to_owned();
        assert!(v.starts_with("W/\"") && v.ends_with('"'));
        assert_eq!(version_of(&r), v, "meta is not part of the version");
        let later = t + chrono::Duration::hours(1);
        let mut again = r.clone();
        finalize(
            &mut again,
            ResourceKind::User,
            "u1",
            t,
            later,
            "https://x.example/scim/v2",
        );
        assert_eq!(again["meta"]["version"], r["meta"]["version"]);
        again["userName"] = json!("b");
        assert_ne!(version_of(&again), v);
    }

    #[test]
    fn if_match_compares_weakly() {
        assert!(etag_matches("W/\"abc\"", "W/\"abc\""));
        assert!(etag_matches("\"abc\"", "W/\"abc\""));
        assert!(etag_matches("W/\"x\", W/\"abc\"", "W/\"abc\""));
        assert!(etag_matches("*", "W/\"abc\""));
        assert!(!etag_matches("W/\"abd\"", "W/\"abc\""));
    }
}
