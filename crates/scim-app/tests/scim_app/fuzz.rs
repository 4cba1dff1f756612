//! Property tests (docs/SECURITY.md): the SCIM user mapper given arbitrary JSON and RFC 7643's
//! own user (the fixture) with fields removed, retyped or replaced: an account or nothing, never
//! a panic. A SCIM application pushes nothing, so there is no push decoder. `make fuzz` runs it
//! long.

use gatehouse_connect::fuzz::{cases, json, mutated};
use gatehouse_scim_app::map_user;
use proptest::prelude::*;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_mutated_user_maps_or_is_skipped(user in mutated(fixture("user.json"), 8)) {
        let _ = map_user(&user);
    }

    #[test]
    fn any_json_as_a_user_maps_or_is_skipped(user in json()) {
        let _ = map_user(&user);
    }
}
