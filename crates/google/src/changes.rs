//! Incremental directory pulls by comparison. The Directory API has no change feed and no
//! "updated since" filter, so every pull reads every page; what makes a pull incremental is
//! that the connector remembers a fingerprint of each user (of the record's `etag`, which
//! Google changes with the record) from the last complete pass, hands the engine only the users
//! whose fingerprint changed, and reports users that disappeared as tombstones. The
//! fingerprints travel as the pass's change token ([`Page::sync_state`]): the engine keeps them
//! between pulls and hands them back.
//!
//! The comparison itself (passes, tombstones, the token's format) is
//! [`gatehouse_connect::compare`]; this module says what a fingerprint covers.
//!
//! [`Page::sync_state`]: gatehouse_core::records::Page::sync_state

use std::hash::{Hash, Hasher};

use gatehouse_connect::compare::Passes;
use serde_json::Value;

/// Heads the change token: the fingerprint below is of the `etag`.
const FORMAT: &str = "gatehouse-google-fingerprints-1";

/// The comparison state of the connector's directory passes.
pub(crate) fn passes() -> Passes {
    Passes::new(FORMAT)
}

/// A user record's fingerprint: its `etag`, else the whole record. (`DefaultHasher::new` is
/// fixed within a build; a toolchain that changes it makes one pull report every user as
/// changed, which costs an upsert of each and loses nothing.)
pub(crate) fn fingerprint(record: &Value) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    match record.get("etag").and_then(Value::as_str) {
        Some(etag) => etag.hash(&mut hasher),
        None => record.to_string().hash(&mut hasher),
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_follow_the_etag() {
        let a = serde_json::json!({"id": "1", "etag": "\"x\"", "name": "A"});
        let b = serde_json::json!({"id": "1", "etag": "\"x\"", "name": "B"});
        let c = serde_json::json!({"id": "1", "etag": "\"y\"", "name": "A"});
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }
}
