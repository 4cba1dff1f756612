//! The inventory read and action routes over accounts, identities and sign-ins seeded straight
//! into the store: users and sign-ins filtered and paged per tenant, actions queued and isolated.

use chrono::{TimeZone, Utc};
use gatehouse_core::model::{Identity, Outcome, SignInEvent, User, UserStatus};
use gatehouse_core::{IdentityId, IntegrationId, SignInId, TenantId, UserId};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, start, Server};

pub(crate) fn user(tenant: &str, integration: &str, n: u32, status: UserStatus) -> User {
    User {
        id: UserId::parse(&format!("usr_{tenant}_{n}")).unwrap(),
        tenant_id: TenantId::parse(tenant).unwrap(),
        integration_id: IntegrationId::parse(integration).unwrap(),
        provider: "okta".into(),
        external_id: format!("00u{n}"),
        login: format!("user{n}@{tenant}.example"),
        email: Some(format!("user{n}@{tenant}.example")),
        emails: vec![],
        display_name: Some(format!("User Number{n}")),
        given_name: None,
        family_name: None,
        status,
        status_flags: vec![],
        department: None,
        title: None,
        manager: None,
        groups: vec![],
        mfa_enrolled: Some(n.is_multiple_of(2)),
        mfa_factors: vec![],
        is_admin: false,
        identity_id: Some(IdentityId::parse(&format!("idn_{tenant}_{n}")).unwrap()),
        risk_score: 0,
        created_at: None,
        last_login_at: None,
        updated_at: None,
        synced_at: Utc.timestamp_opt(1_780_000_000, 0).unwrap(),
        raw: Some(json!({"id": format!("00u{n}")}).into()),
    }
}

fn signin(u: &User, event: &str, minute: i64, outcome: Outcome) -> SignInEvent {
    let time = Utc.timestamp_opt(1_780_000_000 + minute * 60, 0).unwrap();
    SignInEvent {
        id: SignInId::derive(time, &[u.integration_id.as_str(), event]),
        tenant_id: u.tenant_id.clone(),
        integration_id: u.integration_id.clone(),
        provider: "okta".into(),
        provider_event_id: event.into(),
        time,
        category: Default::default(),
        event_type: "user.session.start".into(),
        user_id: Some(u.id.clone()),
        external_user_id: Some(u.external_id.clone()),
        login: Some(u.login.clone()),
        outcome,
        reason: None,
        ip: Some("203.0.113.5".into()),
        country: Some("Ireland".into()),
        city: Some("Dublin".into()),
        latitude: None,
        longitude: None,
        asn: None,
        user_agent: Some("curl".into()),
        device: None,
        mfa_factor: None,
        session_id: Some("idx1".into()),
        is_proxy: None,
        provider_risk: None,
        source: Default::default(),
        signal: Default::default(),
        raw: Some(json!({"uuid": event}).into()),
    }
}

/// Two tenants with accounts, an identity and sign-ins written straight into the store.
pub(crate) async fn seeded() -> (Server, String, String, Vec<User>) {
    let s = start().await;
    let key_a = s.tenant("ten_a").await;
    let key_b = s.tenant("ten_b").await;
    let int_a = s.okta("ten_a").await["id"].as_str().unwrap().to_owned();
    let int_b = s.okta("ten_b").await["id"].as_str().unwrap().to_owned();
    let store = s.gateway.store();
    let statuses = [
        UserStatus::Active,
        UserStatus::Suspended,
        UserStatus::Deprovisioned,
        UserStatus::Active,
    ];
    let users_a: Vec<User> = (0..4)
        .map(|n| user("ten_a", &int_a, n, statuses[n as usize]))
        .collect();
    store
        .upsert_users(&users_a[0].tenant_id, &users_a)
        .await
        .unwrap();
    let users_b = vec![user("ten_b", &int_b, 0, UserStatus::Active)];
    store
        .upsert_users(&users_b[0].tenant_id, &users_b)
        .await
        .unwrap();
    store
        .put_identity(&Identity {
            id: users_a[0].identity_id.clone().unwrap(),
            tenant_id: users_a[0].tenant_id.clone(),
            emails: vec![users_a[0].email.clone().unwrap()],
            display_name: None,
            accounts: vec![users_a[0].id.clone()],
            risk_score: 0,
            created_at: Utc.timestamp_opt(1_780_000_000, 0).unwrap(),
            updated_at: Utc.timestamp_opt(1_780_000_000, 0).unwrap(),
        })
        .await
        .unwrap();
    let events = vec![
        signin(&users_a[0], "e1", 0, Outcome::Failure),
        signin(&users_a[0], "e2", 10, Outcome::Success),
        signin(&users_a[1], "e3", 20, Outcome::Failure),
    ];
    store
        .insert_signins(
            &users_a[0].tenant_id,
            &events,
            gatehouse_store::Durability::Now,
        )
        .await
        .unwrap();
    store
        .insert_signins(
            &users_b[0].tenant_id,
            &[signin(&users_b[0], "eb", 5, Outcome::Success)],
            gatehouse_store::Durability::Now,
        )
        .await
        .unwrap();
    (s, key_a, key_b, users_a)
}

#[tokio::test]
async fn users_list_filters_page_and_stay_in_their_tenant() {
    let (s, key_a, key_b, users) = seeded().await;
    let (status, body) = s.call(Method::GET, "/v1/users", Some(&key_a), None).await;
    assert_eq!(status, StatusCode::OK);
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 4);
    for field in [
        "id",
        "tenant_id",
        "integration_id",
        "provider",
        "external_id",
        "login",
        "email",
        "display_name",
        "status",
        "mfa_enrolled",
        "last_login_at",
        "updated_at",
        "identity_id",
    ] {
        assert!(data[0].get(field).is_some(), "users carry {field}");
    }
    assert!(
        data[0].get("raw").is_none(),
        "lists leave out the raw record"
    );
    let count = |body: &Value| body["data"].as_array().unwrap().len();
    for (query, expected) in [
        ("status=suspended", 1),
        ("status=active", 2),
        ("provider=okta", 4),
        ("provider=entra", 0),
        ("email=USER2@ten_a.example", 1),
        ("q=number3", 1),
        ("limit=3", 3),
    ] {
        let (status, body) = s
            .call(
                Method::GET,
                &format!("/v1/users?{query}"),
                Some(&key_a),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert_eq!(count(&body), expected, "{query}: {body}");
    }
    let (_, page) = s
        .call(Method::GET, "/v1/users?limit=3", Some(&key_a), None)
        .await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = s
        .call(
            Method::GET,
            &format!("/v1/users?limit=3&cursor={cursor}"),
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(count(&rest), 1);
    let (status, body) = s
        .call(Method::GET, "/v1/users?status=zombie", Some(&key_a), None)
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("status"));
    let (status, body) = s
        .call(Method::GET, "/v1/users?tenant_id=ten_a", Some(&key_b), None)
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, None);
    let (status, body) = s.op(Method::GET, "/v1/users", None).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("tenant_id"));
    let (_, body) = s.op(Method::GET, "/v1/users?tenant_id=ten_b", None).await;
    assert_eq!(count(&body), 1);

    // One user: with the raw record; another tenant's key gets 404; the operator finds it by id.
    let id = users[0].id.as_str();
    let (status, body) = s
        .call(Method::GET, &format!("/v1/users/{id}"), Some(&key_a), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["raw"]["id"], "00u0");
    let (status, _) = s
        .call(Method::GET, &format!("/v1/users/{id}"), Some(&key_b), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = s.op(Method::GET, &format!("/v1/users/{id}"), None).await;
    assert_eq!(
        (status, body["tenant_id"].as_str()),
        (StatusCode::OK, Some("ten_a"))
    );

    // The identity and its accounts.
    let identity = users[0].identity_id.as_ref().unwrap().as_str();
    let (status, body) = s
        .call(
            Method::GET,
            &format!("/v1/identities/{identity}"),
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["users"].as_array().unwrap().len(), 1);
    assert_eq!(body["users"][0]["id"], id);
    assert_eq!(body["risk_history"], json!([]), "no score yet, no history");
    // Two changes of score: two points, oldest first.
    let tenant = TenantId::parse("ten_a").unwrap();
    let person = IdentityId::parse(identity).unwrap();
    let store = s.gateway.store();
    let at = |minute: i64| Utc.timestamp_opt(1_780_000_000 + minute * 60, 0).unwrap();
    for (minute, score) in [(1, 40), (2, 40), (3, 10)] {
        store
            .record_identity_risk(&tenant, &person, score, at(minute))
            .await
            .unwrap();
    }
    let (_, body) = s
        .call(
            Method::GET,
            &format!("/v1/identities/{identity}"),
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(
        body["risk_history"],
        json!([{"time": at(1), "score": 40}, {"time": at(3), "score": 10}]),
        "{body}"
    );
    let (status, _) = s
        .call(
            Method::GET,
            &format!("/v1/identities/{identity}"),
            Some(&key_b),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn signins_filter_by_user_outcome_and_time() {
    let (s, key_a, key_b, users) = seeded().await;
    let count = |body: &Value| body["data"].as_array().unwrap().len();
    let (status, body) = s.call(Method::GET, "/v1/signins", Some(&key_a), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(&body), 3);
    let first = &body["data"][0];
    for field in [
        "id",
        "tenant_id",
        "integration_id",
        "provider",
        "provider_event_id",
        "time",
        "user_id",
        "login",
        "outcome",
        "reason",
        "ip",
        "country",
        "city",
        "user_agent",
        "mfa_factor",
        "session_id",
    ] {
        assert!(first.get(field).is_some(), "sign-ins carry {field}");
    }
    let user0 = users[0].id.as_str();
    for (query, expected) in [
        (format!("user_id={user0}"), 2),
        ("outcome=failure".to_owned(), 2),
        ("outcome=success".to_owned(), 1),
        ("since=2026-05-28T20:36:00Z".to_owned(), 2),
        ("until=2026-05-28T20:36:00Z".to_owned(), 1),
    ] {
        let (status, body) = s
            .call(
                Method::GET,
                &format!("/v1/signins?{query}"),
                Some(&key_a),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert_eq!(count(&body), expected, "{query}: {body}");
    }
    let (status, body) = s
        .call(
            Method::GET,
            "/v1/signins?since=yesterday",
            Some(&key_a),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("since"));
    let (status, body) = s
        .call(Method::GET, "/v1/signins?outcome=maybe", Some(&key_a), None)
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("outcome"));
    let (_, body) = s.call(Method::GET, "/v1/signins", Some(&key_b), None).await;
    assert_eq!(count(&body), 1, "tenant b sees only its own");
}

#[tokio::test]
async fn actions_are_queued_listed_and_isolated() {
    let (s, key_a, key_b, users) = seeded().await;
    let user = users[0].id.as_str();
    let (status, body) = s
        .call(
            Method::POST,
            "/v1/actions",
            Some(&key_a),
            Some(json!({"user_id": user, "action": "revoke_sessions", "reason": "test"})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["action"], "revoke_sessions");
    assert_eq!(body["attempts"], 0);
    assert!(body["requested_by"].as_str().unwrap().contains("ten_a"));
    let id = body["id"].as_str().unwrap().to_owned();
    let (status, body) = s
        .call(
            Method::GET,
            &format!("/v1/actions/{id}"),
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], id);
    let (status, _) = s
        .call(
            Method::GET,
            &format!("/v1/actions/{id}"),
            Some(&key_b),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = s.call(Method::GET, "/v1/actions", Some(&key_a), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    // Validation.
    let (status, body) = s
        .call(
            Method::POST,
            "/v1/actions",
            Some(&key_a),
            Some(json!({"user_id": user, "action": "delete_everything"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, None);
    let (status, body) = s
        .call(
            Method::POST,
            "/v1/actions",
            Some(&key_b),
            Some(json!({"user_id": user, "action": "disable_account"})),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, None);
    let (status, body) = s
        .call(
            Method::POST,
            "/v1/actions",
            Some(&key_a),
            Some(json!({"user_id": "usr_nobody", "action": "disable_account"})),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, None);
}

/// `GET /v1/identities`: each person with their accounts across providers summarized, the risk of
/// their riskiest account now and their latest sign-in; paged with sealed cursors (each identity
/// once), searched by e-mail or name, filtered by risk, and kept within the caller's tenant.
#[tokio::test]
async fn identities_list_summarizes_accounts_pages_searches_and_filters_by_risk() {
    use gatehouse_core::model::{Detection, Severity};
    use gatehouse_core::DetectionId;

    let s = start().await;
    let key_a = s.tenant("ten_ia").await;
    let key_b = s.tenant("ten_ib").await;
    let int_a = s.okta("ten_ia").await["id"].as_str().unwrap().to_owned();
    let store = s.gateway.store();
    let tenant = TenantId::parse("ten_ia").unwrap();
    let at = |minute: i64| Utc.timestamp_opt(1_780_000_000 + minute * 60, 0).unwrap();
    // Five people; the first has an Okta account and a Google one.
    let mut users: Vec<User> = (0..6)
        .map(|n| user("ten_ia", &int_a, n, UserStatus::Active))
        .collect();
    users[5].identity_id = users[0].identity_id.clone();
    users[5].provider = "google".into();
    users[5].status = UserStatus::Suspended;
    users[0].last_login_at = Some(at(5));
    users[5].last_login_at = Some(at(50));
    store.upsert_users(&tenant, &users).await.unwrap();
    for n in 0..5 {
        let mut accounts = vec![users[n].id.clone()];
        if n == 0 {
            accounts.push(users[5].id.clone());
        }
        store
            .put_identity(&Identity {
                id: users[n].identity_id.clone().unwrap(),
                tenant_id: tenant.clone(),
                emails: vec![users[n].email.clone().unwrap()],
                display_name: Some(format!("Person {n}")),
                accounts,
                risk_score: 0,
                created_at: at(0),
                updated_at: at(0),
            })
            .await
            .unwrap();
    }
    // A high-severity detection now on the first person's Google account.
    let now = s.gateway.clock().now();
    let detection = Detection {
        id: DetectionId::parse("det_01HX0000000000000000000001").unwrap(),
        tenant_id: tenant.clone(),
        kind: "brute_force".into(),
        severity: Severity::High,
        user_id: Some(users[5].id.clone()),
        identity_id: users[5].identity_id.clone(),
        integration_id: Some(users[5].integration_id.clone()),
        evidence: vec![],
        explanation: "seeded".into(),
        first_seen: now,
        last_seen: now,
        created_at: now,
        updated_at: now,
    };
    store
        .put_detection(&detection, &format!("account:{}", users[5].id))
        .await
        .unwrap();

    let (status, body) = s
        .call(Method::GET, "/v1/identities", Some(&key_a), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 5, "{body}");
    assert_eq!(body["next_cursor"], Value::Null);
    let first = &data[0];
    assert_eq!(first["id"], "idn_ten_ia_0");
    assert_eq!(first["display_name"], "Person 0");
    assert_eq!(first["emails"], json!(["user0@ten_ia.example"]));
    let accounts = first["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 2, "{first}");
    assert_eq!(accounts[0]["provider"], "okta");
    assert_eq!(accounts[0]["status"], "active");
    assert_eq!(accounts[0]["integration_id"], int_a.as_str());
    assert_eq!(accounts[0]["login"], "user0@ten_ia.example");
    assert_eq!(accounts[1]["provider"], "google");
    assert_eq!(accounts[1]["status"], "suspended");
    let risk = first["risk_score"].as_u64().unwrap();
    assert!(risk > 0, "the detection scores the person: {first}");
    assert_eq!(accounts[1]["risk_score"].as_u64(), Some(risk));
    assert_eq!(accounts[0]["risk_score"], 0);
    assert_eq!(
        first["last_login_at"],
        json!(at(50)),
        "the latest sign-in of any account"
    );
    assert_eq!(data[1]["risk_score"], 0);
    assert_eq!(data[1]["last_login_at"], Value::Null);

    // Two at a time: every identity once, in order, then no cursor.
    let mut seen = Vec::new();
    let mut path = "/v1/identities?limit=2".to_owned();
    loop {
        let (status, body) = s.call(Method::GET, &path, Some(&key_a), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["data"].as_array().unwrap().len() <= 2);
        seen.extend(
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned()),
        );
        match body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/identities?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let all: Vec<String> = (0..5).map(|n| format!("idn_ten_ia_{n}")).collect();
    assert_eq!(seen, all);

    // Search on e-mail or name; risk filter on the score now.
    for (query, want) in [
        ("q=user3%40", vec!["idn_ten_ia_3"]),
        ("email=USER2%40ten_ia.example", vec!["idn_ten_ia_2"]),
        ("email=user2%40ten_ia", vec![]),
        (
            "email=user0%40ten_ia.example&min_risk=1",
            vec!["idn_ten_ia_0"],
        ),
        ("email=user2%40ten_ia.example&min_risk=1", vec![]),
        ("q=PERSON%204", vec!["idn_ten_ia_4"]),
        ("q=nobody", vec![]),
        ("min_risk=1", vec!["idn_ten_ia_0"]),
        ("min_risk=1&limit=1", vec!["idn_ten_ia_0"]),
        ("min_risk=100", vec![]),
        ("min_risk=1&q=user2", vec![]),
        ("status=suspended", vec!["idn_ten_ia_0"]),
        ("provider=google", vec!["idn_ten_ia_0"]),
        ("provider=google&status=active", vec![]),
        (
            "provider=okta&status=active&limit=2",
            vec!["idn_ten_ia_0", "idn_ten_ia_1"],
        ),
        ("status=locked", vec![]),
    ] {
        let (status, body) = s
            .call(
                Method::GET,
                &format!("/v1/identities?{query}"),
                Some(&key_a),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        let ids: Vec<&str> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, want, "{query}");
    }

    // Another tenant sees none of them; the operator names the tenant.
    let (status, body) = s
        .call(Method::GET, "/v1/identities", Some(&key_b), None)
        .await;
    assert_eq!(
        (status, body["data"].as_array().unwrap().len()),
        (StatusCode::OK, 0)
    );
    let (status, body) = s
        .op(Method::GET, "/v1/identities?tenant_id=ten_ia", None)
        .await;
    assert_eq!(
        (status, body["data"].as_array().unwrap().len()),
        (StatusCode::OK, 5)
    );

    // Refused: a cursor of another list, a risk above 100.
    let (_, users_page) = s
        .call(Method::GET, "/v1/users?limit=1", Some(&key_a), None)
        .await;
    let foreign = users_page["next_cursor"].as_str().unwrap();
    let (status, body) = s
        .call(
            Method::GET,
            &format!("/v1/identities?cursor={foreign}"),
            Some(&key_a),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("cursor"));
    let (status, body) = s
        .call(
            Method::GET,
            "/v1/identities?min_risk=101",
            Some(&key_a),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("min_risk"));
    let (status, body) = s
        .call(
            Method::GET,
            "/v1/identities?status=gone",
            Some(&key_a),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("status"));
}
