//! Property tests (docs/SECURITY.md): the system user and Directory Insights event mappers given
//! arbitrary JSON and JumpCloud's own payloads (the fixtures, and a system user as the v1 API
//! documents it) with fields removed, retyped or replaced: a value or nothing, never a panic.
//! JumpCloud pushes nothing, so there is no push decoder. `make fuzz` runs them long.

use gatehouse_connect::fuzz::{cases, json, mutated};
use gatehouse_jumpcloud::{map_event, map_user};
use proptest::prelude::*;
use serde_json::{json, Value};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn events() -> Vec<Value> {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names.iter().map(|n| fixture(n)).collect()
}

/// A system user as `GET /api/systemusers` lists it.
fn user() -> Value {
    json!({
        "_id": "5f3e8b1c2a9d4e0012345678", "id": "5f3e8b1c2a9d4e0012345678",
        "username": "ada.lovelace", "email": "ada@example.com",
        "alternateEmail": "ada.l@example.org", "firstname": "Ada", "lastname": "Lovelace",
        "displayname": "Ada Lovelace", "department": "Engineering", "jobTitle": "Analyst",
        "manager": "5f3e8b1c2a9d4e0087654321", "state": "ACTIVATED", "activated": true,
        "suspended": false, "account_locked": false, "admin": false,
        "created": "2023-01-05T10:00:00.000Z",
        "mfa": {"configured": true, "exclusion": false, "exclusionUntil": null},
        "mfaEnrollment": {"overallStatus": "ENROLLED", "totpStatus": "ENROLLED",
            "webAuthnStatus": "NOT_ENROLLED", "pushStatus": "NOT_ENROLLED"}
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_mutated_user_maps_or_is_skipped(user in mutated(user(), 6)) {
        let _ = map_user(&user);
    }

    #[test]
    fn any_json_as_a_user_maps_or_is_skipped(user in json()) {
        let _ = map_user(&user);
    }

    #[test]
    fn a_mutated_event_maps_or_is_skipped(event in (0..events().len())
        .prop_flat_map(|i| mutated(events()[i].clone(), 6))) {
        let _ = map_event(&event);
    }

    #[test]
    fn any_json_as_an_event_maps_or_is_skipped(event in json()) {
        let _ = map_event(&event);
    }
}
