//! Integrations through the management API: tokens shown once and credentials never, validation
//! per provider type, custom endpoints only when allowed, patch, delete, test/sync and the
//! rotation of ingest and SCIM tokens.

use gatehouse_engine::Principal;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, okta_body, start, start_with, OPERATOR_KEY};

#[tokio::test]
async fn integration_create_shows_tokens_once_and_never_credentials() {
    let s = start().await;
    let key = s.tenant("ten_i").await;
    let body = s.okta("ten_i").await;
    assert!(body["id"].as_str().unwrap().starts_with("int_"));
    assert_eq!(body["type"], "okta");
    assert_eq!(body["tenant_id"], "ten_i");
    assert_eq!(body["status"], "active");
    assert!(body["created_at"].is_string());
    assert_eq!(body["config"]["enable_response_actions"], true);
    let token = body["ingest"]["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("gh_in_"));
    assert_eq!(
        body["ingest"]["url"],
        format!("/v1/idp/okta?tenant_id=ten_i&token={token}")
    );
    assert!(body.get("credentials").is_none());
    assert!(!body.to_string().contains("00okta-secret-token"));
    let id = body["id"].as_str().unwrap().to_owned();
    let principal = s.gateway.authenticate(&token).await.unwrap();
    assert!(matches!(principal, Some(Principal::Ingest { .. })));

    // GET never shows the token or credentials again
    let (status, got) = s
        .call(
            Method::GET,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(got["ingest"].get("token").is_none());
    assert!(!got.to_string().contains(&token));
    assert!(!got.to_string().contains("00okta-secret-token"));
    assert_eq!(got["sync"]["last_run_at"], Value::Null);

    // scim gets a SCIM token and no ingest; jumpcloud gets neither
    let (status, scim) = s
        .op(
            Method::POST,
            "/v1/integrations",
            Some(json!({"type": "scim", "tenant_id": "ten_i"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{scim}");
    assert!(scim["scim"]["token"]
        .as_str()
        .unwrap()
        .starts_with("gh_scim_"));
    assert_eq!(scim["scim"]["base_url"], "/v1/scim/v2");
    assert!(scim.get("ingest").is_none());
    let (status, jc) = s
        .call(
            Method::POST,
            "/v1/integrations",
            Some(&key),
            Some(json!({"type": "jumpcloud", "credentials": {"api_key": "jc-secret"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{jc}");
    assert_eq!(
        jc["tenant_id"], "ten_i",
        "a tenant key defaults to its own tenant"
    );
    assert!(jc.get("ingest").is_none() && jc.get("scim").is_none());

    // list
    let (status, list) = s
        .call(Method::GET, "/v1/integrations", Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["data"].as_array().unwrap().len(), 3);
    let (status, list) = s
        .op(
            Method::GET,
            "/v1/integrations?tenant_id=ten_i&limit=2",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    assert!(list["next_cursor"].is_string());
    let (status, body) = s.op(Method::GET, "/v1/integrations", None).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("tenant_id"));
}

#[tokio::test]
async fn integration_validation_per_type() {
    let s = start().await;
    s.tenant("ten_v").await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"type": "okta", "credentials": {"domain": "acme.okta.com"}}),
            "credentials.api_token",
        ),
        (
            json!({"type": "okta", "credentials": {"api_token": "t"}}),
            "credentials.domain",
        ),
        (
            json!({"type": "okta", "credentials": {"domain": "evil.example.com", "api_token": "t"}}),
            "credentials.domain",
        ),
        (
            json!({"type": "okta", "credentials": {"domain": "okta.com.evil.io", "api_token": "t"}}),
            "credentials.domain",
        ),
        (
            json!({"type": "okta", "credentials": {"domain": "http://127.0.0.1:9001", "api_token": "t"}}),
            "credentials.domain",
        ),
        (
            json!({"type": "okta", "credentials": {"domain": "a.okta.com", "api_token": "t", "extra": 1}}),
            "credentials.extra",
        ),
        (
            json!({"type": "okta", "credentials": {"domain": "a.okta.com", "api_token": "t"}, "config": {"ingest_userz": true}}),
            "config.ingest_userz",
        ),
        (
            json!({"type": "okta", "credentials": {"domain": "a.okta.com", "api_token": "t"}, "config": {"ingest_users": "yes"}}),
            "config.ingest_users",
        ),
        (
            json!({"type": "okta", "credentials": {"domain": "a.okta.com", "api_token": "t"}, "config": {"disable_mode": "delete"}}),
            "config.disable_mode",
        ),
        (
            json!({"type": "okta", "credentials": {"domain": "a.okta.com", "api_token": "t"}, "config": {"users_schedule": "hourly"}}),
            "config.users_schedule",
        ),
        (
            // Parses, but February has no 30th: the scheduler would keep it and never run it.
            json!({"type": "okta", "credentials": {"domain": "a.okta.com", "api_token": "t"}, "config": {"full_sync_schedule": "0 0 0 30 2 *"}}),
            "config.full_sync_schedule",
        ),
        (
            json!({"type": "okta", "credentials": {"domain": "acme-admin.okta.com", "api_token": "t"}}),
            "credentials.domain",
        ),
        (
            json!({"type": "entra", "credentials": {"tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47", "client_id": "c"}}),
            "credentials.client_secret",
        ),
        (
            json!({"type": "entra", "credentials": {"tenant_id": "not a guid!", "client_id": "c", "client_secret": "s"}}),
            "credentials.tenant_id",
        ),
        (
            json!({"type": "entra", "credentials": {"tenant_id": "contoso.onmicrosoft.com", "client_id": "c", "client_secret": "s"}, "config": {"graph_base_url": "http://127.0.0.1:1"}}),
            "config.graph_base_url",
        ),
        (
            json!({"type": "google_workspace", "credentials": {"admin_email": "a@acme.example"}}),
            "credentials.service_account",
        ),
        (
            json!({"type": "google_workspace", "credentials": {"service_account": "{}", "admin_email": "a@acme.example"}}),
            "credentials.service_account",
        ),
        (
            json!({"type": "google_workspace", "credentials": {"service_account": {"type": "service_account", "client_email": "x@p.iam.gserviceaccount.com", "private_key": "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----"}, "admin_email": "not-an-email"}}),
            "credentials.admin_email",
        ),
        (
            json!({"type": "jumpcloud", "credentials": {}}),
            "credentials.api_key",
        ),
        (
            json!({"type": "jumpcloud", "credentials": {"api_key": "k"}, "config": {"base_url": "http://127.0.0.1:1"}}),
            "config.base_url",
        ),
        (
            json!({"type": "saml", "credentials": {"idp_entity_id": "e", "idp_certificate": "nope", "attribute_mapping": {}}}),
            "credentials.idp_certificate",
        ),
        (
            json!({"type": "saml", "credentials": {"idp_entity_id": "e", "idp_certificate": "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----", "attribute_mapping": {"shoe_size": "x"}}}),
            "credentials.attribute_mapping",
        ),
        (
            json!({"type": "saml", "credentials": {"idp_certificate": "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----"}}),
            "credentials.idp_entity_id",
        ),
        (
            json!({"type": "scim", "config": {"deprovision": "shred"}}),
            "config.deprovision",
        ),
        (
            json!({"type": "scim", "credentials": {"token": "x"}}),
            "credentials.token",
        ),
    ];
    for (mut body, field) in cases {
        body["tenant_id"] = json!("ten_v");
        let (status, answer) = s
            .op(Method::POST, "/v1/integrations", Some(body.clone()))
            .await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, Some(field));
        // No error message echoes a submitted secret.
        assert!(
            !answer.to_string().contains("\"t\"")
                && !answer.to_string().contains("client_secret\":\"s")
        );
    }
    // Unknown type lists the supported ones.
    let (status, body) = s
        .op(
            Method::POST,
            "/v1/integrations",
            Some(json!({"type": "ldap", "tenant_id": "ten_v"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("type"));
    let message = body["error"]["message"].as_str().unwrap();
    for t in [
        "okta",
        "entra",
        "google_workspace",
        "jumpcloud",
        "saml",
        "scim",
    ] {
        assert!(message.contains(t), "{message}");
    }
    // Unknown top-level field, wrong JSON, wrong content type.
    let (status, body) = s
        .op(
            Method::POST,
            "/v1/integrations",
            Some(json!({"type": "scim", "tenant_id": "ten_v", "x": 1})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("x"));
    let resp = s
        .http
        .post(format!("{}/v1/integrations", s.base))
        .bearer_auth(OPERATOR_KEY)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = s
        .http
        .post(format!("{}/v1/integrations", s.base))
        .bearer_auth(OPERATOR_KEY)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsupported_media_type");
    // Missing tenant.
    let (status, body) = s
        .op(
            Method::POST,
            "/v1/integrations",
            Some(okta_body("ten_nope")),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, None);
    // Valid ones of every type.
    let pem = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----";
    let valid = [
        json!({"type": "entra", "credentials": {"tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47", "client_id": "c", "client_secret": "s"}}),
        json!({"type": "google_workspace", "credentials": {"service_account": {"type": "service_account", "client_email": "x@p.iam.gserviceaccount.com", "private_key": "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----"}, "admin_email": "admin@acme.example"}}),
        json!({"type": "saml", "credentials": {"idp_entity_id": "https://idp.example/e", "idp_certificate": pem, "attribute_mapping": {"email": "mail"}}}),
        json!({"type": "okta", "credentials": {"domain": "acme.oktapreview.com", "api_token": "t"}, "config": {"users_schedule": "0 0 * * * *", "disable_mode": "deactivate", "rate_limit_share": 0.3}}),
    ];
    for mut body in valid {
        body["tenant_id"] = json!("ten_v");
        let (status, answer) = s.op(Method::POST, "/v1/integrations", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
}

#[tokio::test]
async fn custom_endpoints_only_when_allowed() {
    let s = start_with(true, 1024 * 1024).await;
    s.tenant("ten_sim").await;
    let body = json!({"type": "okta", "tenant_id": "ten_sim", "credentials": {"domain": "http://127.0.0.1:9001", "api_token": "t"}});
    let (status, answer) = s.op(Method::POST, "/v1/integrations", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let body = json!({"type": "jumpcloud", "tenant_id": "ten_sim", "credentials": {"api_key": "k"}, "config": {"base_url": "http://127.0.0.1:9004"}});
    let (status, answer) = s.op(Method::POST, "/v1/integrations", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let body = json!({"type": "okta", "tenant_id": "ten_sim", "credentials": {"domain": "file:///etc/passwd", "api_token": "t"}});
    let (status, answer) = s.op(Method::POST, "/v1/integrations", Some(body)).await;
    assert_error(
        status,
        &answer,
        StatusCode::BAD_REQUEST,
        Some("credentials.domain"),
    );
}

#[tokio::test]
async fn patch_delete_test_sync_and_rotation() {
    let s = start().await;
    let key = s.tenant("ten_p").await;
    let created = s.okta("ten_p").await;
    let id = created["id"].as_str().unwrap().to_owned();
    let old_token = created["ingest"]["token"].as_str().unwrap().to_owned();
    // config change: set and remove keys, invalid values refused
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            Some(json!({"config": {"disable_mode": "deactivate", "ingest_system_log": null}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["config"]["disable_mode"], "deactivate");
    assert!(body["config"].get("ingest_system_log").is_none());
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            Some(json!({"config": {"nope": 1}})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("config.nope"));
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            Some(json!({"config": {"signins_schedule": "0 0 0 31 4 *"}})),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("config.signins_schedule"),
    );
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("never fires"));
    // credential rotation: validated, never echoed
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            Some(json!({"credentials": {"domain": "evil.example"}})),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("credentials.domain"),
    );
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            Some(json!({"credentials": {"api_token": "00rotated-secret"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.to_string().contains("00rotated-secret"));
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            Some(json!({"credentials": {"api_token": null}})),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("credentials.api_token"),
    );
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            Some(json!({"status": "disabled"})),
        )
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("disabled"))
    );
    // /test and /sync: 501 with a clear message for a type declared without a connector
    let (status, declared) = s
        .call(
            Method::POST,
            "/v1/integrations",
            Some(&key),
            Some(json!({"type": "saml", "tenant_id": "ten_p",
                        "credentials": {"idp_entity_id": "https://idp.example/e",
                            "idp_certificate": "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----",
                            "attribute_mapping": {"email": "mail"}}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{declared}");
    let declared_id = declared["id"].as_str().unwrap();
    for action in ["test", "sync"] {
        let (status, body) = s
            .call(
                Method::POST,
                &format!("/v1/integrations/{declared_id}/{action}"),
                Some(&key),
                None,
            )
            .await;
        assert_error(status, &body, StatusCode::NOT_IMPLEMENTED, None);
        assert!(
            body["error"]["message"].as_str().unwrap().contains("saml"),
            "{body}"
        );
    }
    // ingest token rotation: the old one fails at once, the new one works
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/v1/integrations/{id}/ingest-token"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new_token = body["ingest"]["token"].as_str().unwrap().to_owned();
    assert_ne!(new_token, old_token);
    assert!(s.gateway.authenticate(&old_token).await.unwrap().is_none());
    assert!(matches!(
        s.gateway.authenticate(&new_token).await.unwrap(),
        Some(Principal::Ingest { .. })
    ));
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/v1/integrations/{id}/scim-token"),
            Some(&key),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, None);
    // scim token rotation
    let (_, scim) = s
        .call(
            Method::POST,
            "/v1/integrations",
            Some(&key),
            Some(json!({"type": "scim"})),
        )
        .await;
    let scim_id = scim["id"].as_str().unwrap();
    let old_scim = scim["scim"]["token"].as_str().unwrap();
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/v1/integrations/{scim_id}/scim-token"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let new_scim = body["scim"]["token"].as_str().unwrap();
    assert!(s.gateway.authenticate(old_scim).await.unwrap().is_none());
    assert!(matches!(
        s.gateway.authenticate(new_scim).await.unwrap(),
        Some(Principal::Scim { .. })
    ));
    // delete: the integration and its token are gone
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .call(
            Method::GET,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(s.gateway.authenticate(&new_token).await.unwrap().is_none());
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/v1/integrations/{id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s
        .call(Method::GET, "/v1/integrations/not-an-id!", Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Turning Okta's System Log pull off makes some detections blind (Okta sends those events
/// only to the log): the integration says so when it is created and whenever it is read.
#[tokio::test]
async fn an_okta_integration_without_its_log_says_which_detections_cannot_fire() {
    let s = start().await;
    s.tenant("ten_notes").await;
    let body = json!({"type": "okta", "tenant_id": "ten_notes",
        "credentials": {"domain": "acme.okta.com", "api_token": "t"},
        "config": {"ingest_system_log": false}});
    let (status, created) = s.op(Method::POST, "/v1/integrations", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let note = created["notes"][0].as_str().unwrap_or_default().to_owned();
    assert!(
        note.contains("mfa_fatigue") && note.contains("deny_push"),
        "{created}"
    );
    let id = created["id"].as_str().unwrap();
    let (_, read) = s
        .op(Method::GET, &format!("/v1/integrations/{id}"), None)
        .await;
    assert_eq!(read["notes"][0], note.as_str());
    let (_, patched) = s
        .op(
            Method::PATCH,
            &format!("/v1/integrations/{id}"),
            Some(json!({"config": {"ingest_system_log": true}})),
        )
        .await;
    assert!(patched.get("notes").is_none(), "{patched}");
}
