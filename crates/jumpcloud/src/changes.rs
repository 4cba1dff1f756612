//! Incremental directory pulls by comparison. `/api/systemusers` has no change feed and no
//! "updated since" filter (a system user has `created` but no modification time), so every
//! pull reads every page; what makes a pull incremental is that the connector remembers a
//! fingerprint of each user (of the whole record, less the counters that move on every
//! sign-in) from the last complete pass, hands the engine only the users whose fingerprint
//! changed, and reports users that disappeared as tombstones. The fingerprints travel as the
//! pass's change token ([`Page::sync_state`]): the engine keeps them between pulls and hands
//! them back.
//!
//! The comparison itself (passes, tombstones, the token's format) is
//! [`gatehouse_connect::compare`]; this module says what a fingerprint covers.
//!
//! [`Page::sync_state`]: gatehouse_core::records::Page::sync_state

use gatehouse_connect::compare::Passes;
use serde_json::Value;

/// Heads the change token: the fingerprint below is of the record less [`VOLATILE`].
const FORMAT: &str = "gatehouse-jumpcloud-fingerprints-1";

/// The comparison state of the connector's directory passes.
pub(crate) fn passes() -> Passes {
    Passes::new(FORMAT)
}

/// Fields left out of a fingerprint: they move with sign-in attempts, not with the account.
const VOLATILE: &[&str] = &["badLoginAttempts"];

/// A user record's fingerprint: the whole record but [`VOLATILE`] fields.
pub(crate) fn fingerprint(record: &Value) -> u64 {
    gatehouse_connect::compare::fingerprint(record, VOLATILE)
}

#[cfg(test)]
mod tests {
    use std::hash::{Hash, Hasher};

    use super::*;

    /// The fingerprint as first written (a string per field): a pull after this change must
    /// not see every user as changed.
    fn by_strings(record: &Value) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        match record {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map
                    .keys()
                    .filter(|k| !VOLATILE.contains(&k.as_str()))
                    .collect();
                keys.sort();
                for key in keys {
                    key.hash(&mut hasher);
                    map.get(key).map(Value::to_string).hash(&mut hasher);
                }
            }
            other => other.to_string().hash(&mut hasher),
        }
        hasher.finish()
    }

    proptest::proptest! {
        #[test]
        fn streamed_fingerprints_equal_the_first_ones(record in gatehouse_connect::fuzz::json()) {
            assert_eq!(fingerprint(&record), by_strings(&record));
            let object = serde_json::json!({"_id": "5c86", "attributes": record, "n": 1});
            assert_eq!(fingerprint(&object), by_strings(&object));
        }
    }

    #[test]
    fn fingerprints_ignore_sign_in_counters_and_key_order() {
        let a = serde_json::json!({"_id": "1", "email": "a@x", "badLoginAttempts": 0});
        let b = serde_json::json!({"badLoginAttempts": 3, "email": "a@x", "_id": "1"});
        let c = serde_json::json!({"_id": "1", "email": "b@x", "badLoginAttempts": 0});
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }
}
