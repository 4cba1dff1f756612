//! System Log: polling that always offers a next link and picks up new
//! events, and bounded queries that end.

use axum::http::StatusCode;
use serde_json::Value;

use crate::support::{assert_keys, config, fixture, next_link, Api};

#[tokio::test]
async fn log_polling_always_has_next_and_sees_new_events() {
    let api = Api::start(config(20, 250));
    let total = api.sim.event_count();
    assert!(total >= 250);
    let mut url = "/api/v1/logs?since=2025-05-25T00:00:00.000Z&limit=100".to_string();
    let mut got = Vec::new();
    let mut last_page_empty = false;
    for _ in 0..20 {
        let resp = api.get(&url).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let next = next_link(resp.headers()).expect("polling always has a next link");
        assert!(
            !next.contains("since="),
            "next link must not combine since and after: {next}"
        );
        let page: Vec<Value> = resp.json().await.unwrap();
        url = next;
        if page.is_empty() {
            last_page_empty = true;
            break;
        }
        for e in &page {
            assert_keys(e, "logEvent");
            assert_keys(&e["client"], "client");
            assert_keys(&e["client"]["geographicalContext"], "geographicalContext");
            assert!(e["client"]["geographicalContext"]["postalCode"].is_string());
            assert_keys(&e["authenticationContext"], "authenticationContext");
            assert_keys(&e["securityContext"], "securityContext");
        }
        got.extend(page);
    }
    assert!(last_page_empty);
    assert_eq!(got.len(), total);
    for kind in [
        "user.session.start",
        "user.authentication.auth_via_mfa",
        "system.push.send_factor_verify_push",
        "user.mfa.okta_verify.deny_push",
        "policy.evaluate_sign_on",
        "security.threat.detected",
    ] {
        assert!(got.iter().any(|e| e["eventType"] == kind), "no {kind}");
    }
    assert!(got
        .iter()
        .any(|e| e["outcome"]["reason"] == "INVALID_CREDENTIALS"));

    // An empty page again, still with a next link.
    let resp = api.get(&url).await;
    let again = next_link(resp.headers()).unwrap();
    assert!(resp.json::<Vec<Value>>().await.unwrap().is_empty());

    // New events, including a late one (published earlier), appear on the next poll.
    let late = fixture("late_failed_login.json");
    let admin = api.sim.admin_id();
    let fresh = api
        .sim
        .make_event(
            &admin,
            "user.session.start",
            "FAILURE",
            Some("INVALID_CREDENTIALS"),
        )
        .unwrap();
    let uuids = api.sim.append_events([late.clone(), fresh]);
    let resp = api.get(&again).await;
    let next = next_link(resp.headers()).unwrap();
    let page: Vec<Value> = resp.json().await.unwrap();
    let page_uuids: Vec<&str> = page.iter().map(|e| e["uuid"].as_str().unwrap()).collect();
    assert_eq!(
        page_uuids,
        uuids.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(page[0], late);
    assert!(api
        .get(&next)
        .await
        .json::<Vec<Value>>()
        .await
        .unwrap()
        .is_empty());

    // Filters apply to polling too.
    let resp = api.get("/api/v1/logs?filter=eventType%20eq%20%22user.session.start%22%20and%20outcome.result%20eq%20%22FAILURE%22&limit=1000").await;
    let failed: Vec<Value> = resp.json().await.unwrap();
    assert!(failed.len() >= 2);
    assert!(failed
        .iter()
        .all(|e| e["eventType"] == "user.session.start" && e["outcome"]["result"] == "FAILURE"));
    let by_actor: Vec<Value> = api
        .get(&format!(
            "/api/v1/logs?filter=actor.id%20eq%20%22{admin}%22&limit=1000"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(by_actor.iter().all(|e| e["actor"]["id"] == admin.as_str()) && !by_actor.is_empty());
    let amsterdam: Vec<Value> = api
        .get("/api/v1/logs?q=amsterdam&limit=1000")
        .await
        .json()
        .await
        .unwrap();
    assert!(amsterdam.iter().any(|e| e["uuid"] == late["uuid"]));
}

#[tokio::test]
async fn bounded_log_queries_end() {
    let api = Api::start(config(20, 300));
    let since = "2025-05-29T00:00:00.000Z";
    let until = "2025-05-31T00:00:00.000Z";
    for order in ["ASCENDING", "DESCENDING"] {
        let mut url =
            format!("/api/v1/logs?since={since}&until={until}&limit=40&sortOrder={order}");
        let mut got: Vec<Value> = Vec::new();
        let mut pages = 0;
        loop {
            let resp = api.get(&url).await;
            assert_eq!(resp.status(), StatusCode::OK, "{url}");
            let next = next_link(resp.headers());
            got.extend(resp.json::<Vec<Value>>().await.unwrap());
            pages += 1;
            match next {
                Some(n) => {
                    assert!(n.contains("until=") && !n.contains("since="), "{n}");
                    url = n;
                }
                None => break,
            }
            assert!(pages < 100);
        }
        assert!(pages > 1);
        let published: Vec<&str> = got
            .iter()
            .map(|e| e["published"].as_str().unwrap())
            .collect();
        let mut sorted = published.clone();
        sorted.sort();
        if order == "DESCENDING" {
            sorted.reverse();
        }
        assert_eq!(published, sorted, "{order} order by published");
        assert!(published.iter().all(|p| *p >= since && *p < until));
        let expected = api
            .sim
            .events()
            .iter()
            .filter(|e| {
                let p = e["published"].as_str().unwrap();
                p >= since && p < until
            })
            .count();
        assert_eq!(got.len(), expected);
    }
}
