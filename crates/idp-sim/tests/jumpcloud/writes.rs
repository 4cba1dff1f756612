//! PUT, resetmfa, expire and unlock, as seen over HTTP and through the library.

use reqwest::Method;
use serde_json::{json, Value};

use gatehouse_idp_sim::jumpcloud::NewUser;

use crate::support::{config, jc_error, Api};

#[tokio::test]
async fn put_suspends_and_sets_flags() {
    let api = Api::start(config(3, 0)).await;
    let id = api.sim.add_user(NewUser::default());
    let resp = api
        .send(
            Method::PUT,
            &format!("/api/systemusers/{id}"),
            Some(json!({"suspended": true, "enable_user_portal_multifactor": true, "password_expired": true})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let u: Value = resp.json().await.unwrap();
    assert_eq!(u["suspended"], true);
    assert_eq!(u["state"], "SUSPENDED");
    assert_eq!(u["enable_user_portal_multifactor"], true);
    assert!(api.sim.password_expired(&id));

    let u: Value = api
        .send(
            Method::PUT,
            &format!("/api/systemusers/{id}"),
            Some(json!({"state": "ACTIVATED", "account_locked": false})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(u["suspended"], false);
    assert_eq!(u["activated"], true);

    // Wrong types change nothing.
    let resp = api
        .send(
            Method::PUT,
            &format!("/api/systemusers/{id}"),
            Some(json!({"suspended": "yes", "department": "X"})),
        )
        .await;
    jc_error(resp, 400).await;
    assert_ne!(api.sim.user(&id).unwrap()["department"], "X");
    jc_error(
        api.send(
            Method::PUT,
            &format!("/api/systemusers/{id}"),
            Some(json!({"state": "STAGED"})),
        )
        .await,
        400,
    )
    .await;
    jc_error(
        api.send(
            Method::PUT,
            "/api/systemusers/0123456789abcdef01234567",
            Some(json!({"suspended": true})),
        )
        .await,
        404,
    )
    .await;
    let writes = api.sim.writes();
    assert_eq!(writes.len(), 5);
    assert_eq!(writes[0].method, "PUT");
    assert_eq!(writes[0].body.as_ref().unwrap()["suspended"], true);
}

#[tokio::test]
async fn resetmfa_expire_and_unlock() {
    let api = Api::start(config(3, 0)).await;
    let id = api.sim.add_user(NewUser {
        mfa_configured: true,
        account_locked: true,
        ..NewUser::default()
    });
    assert_eq!(api.sim.user(&id).unwrap()["totp_enabled"], true);
    let resp = api
        .send(
            Method::POST,
            &format!("/api/systemusers/{id}/resetmfa"),
            Some(json!({"exclusion": true, "exclusionUntil": "2025-06-08T00:00:00Z"})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(api.sim.mfa_resets(&id), 1);
    let u = api.sim.user(&id).unwrap();
    assert_eq!(u["totp_enabled"], false);
    assert_eq!(u["mfa"]["configured"], false);
    assert_eq!(u["mfa"]["exclusion"], true);
    assert_eq!(u["mfa"]["exclusionUntil"], "2025-06-08T00:00:00.000Z");
    // Without a body too; a bad date is refused.
    let resp = api
        .send(
            Method::POST,
            &format!("/api/systemusers/{id}/resetmfa"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(api.sim.mfa_resets(&id), 2);
    jc_error(
        api.send(
            Method::POST,
            &format!("/api/systemusers/{id}/resetmfa"),
            Some(json!({"exclusionUntil": "next week"})),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(api.sim.mfa_resets(&id), 2);

    assert!(!api.sim.password_expired(&id));
    let resp = api
        .send(Method::POST, &format!("/api/systemusers/{id}/expire"), None)
        .await;
    assert_eq!(resp.status(), 200);
    assert!(api.sim.password_expired(&id));

    assert_eq!(api.sim.user(&id).unwrap()["account_locked"], true);
    let resp = api
        .send(Method::POST, &format!("/api/systemusers/{id}/unlock"), None)
        .await;
    assert_eq!(resp.status(), 200);
    let u = api.sim.user(&id).unwrap();
    assert_eq!(u["account_locked"], false);
    assert_eq!(u["account_locked_date"], Value::Null);

    jc_error(
        api.send(
            Method::POST,
            "/api/systemusers/0123456789abcdef01234567/unlock",
            None,
        )
        .await,
        404,
    )
    .await;
}
