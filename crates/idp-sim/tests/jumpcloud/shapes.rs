//! The simulator's answers carry the keys of JumpCloud's documented examples
//! (fixtures in `tests/fixtures/jumpcloud`, see its README).

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{config, fixture, jc_error, keys, Api};

fn key_set(v: &Value) -> BTreeSet<String> {
    let mut out = Vec::new();
    keys(v, "", &mut out);
    out.into_iter().collect()
}

fn assert_covers(sim: &Value, doc: &Value, what: &str) {
    let missing: Vec<_> = key_set(doc).difference(&key_set(sim)).cloned().collect();
    assert!(missing.is_empty(), "{what} lacks {missing:?}: {sim}");
}

fn top_keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn user_list_error_and_event_shapes() {
    let api = Api::start(config(20, 0)).await;
    let list = api.get_json("/api/systemusers?limit=100").await;
    assert_covers(
        &list,
        &json!({"totalCount": 0, "results": [fixture("user.json")]})
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                o.insert("results".into(), json!([]));
                Value::Object(o)
            })
            .unwrap(),
        "list",
    );
    let with_manager = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u.get("manager").is_some())
        .unwrap();
    assert_covers(with_manager, &fixture("user.json"), "user");

    let err = jc_error(api.get("/api/systemusers?limit=500").await, 400).await;
    assert_eq!(top_keys(&err), top_keys(&fixture("error.json")));

    let start = "2025-05-31T00:00:00Z";
    for (kind, service, file, deep) in [
        (
            "admin_login_attempt",
            "directory",
            "event_admin_login_attempt.json",
            false,
        ),
        ("radius_auth", "radius", "event_radius_auth.json", true),
        ("sso_auth", "sso", "event_sso_auth.json", true),
        (
            "user_login_attempt",
            "directory",
            "event_user_login_attempt.json",
            true,
        ),
    ] {
        api.sim.add_logins(200, Duration::from_secs(600));
        let rows: Vec<Value> = api
            .events(&json!({
                "service": [service],
                "start_time": start,
                "search_term": {"and": [{"event_type": kind}]},
                "limit": 50,
            }))
            .await
            .json()
            .await
            .unwrap();
        // An MFA login when there is one (its auth_context lists totp).
        let ev = rows
            .iter()
            .find(|e| e["mfa"] == true)
            .or(rows.first())
            .unwrap_or_else(|| panic!("no {kind}"));
        let doc = fixture(file);
        if deep {
            assert_covers(ev, &doc, kind);
        } else {
            let missing: Vec<_> = top_keys(&doc).difference(&top_keys(ev)).cloned().collect();
            assert!(missing.is_empty(), "{kind} lacks {missing:?}");
        }
        assert_eq!(ev["event_type"], kind);
        assert_eq!(ev["service"], service);
    }
}
