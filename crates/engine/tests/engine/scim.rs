//! SCIM OAuth access tokens minted by the gateway, and their expiry.

use std::sync::Arc;

use gatehouse_engine::NewIntegration;
use gatehouse_testkit::InProcess;
use serde_json::{json, Map};

use super::support::t;

#[tokio::test]
async fn scim_access_tokens_expire() {
    use gatehouse_core::ManualClock;
    use secrecy::ExposeSecret;
    let clock = Arc::new(ManualClock::new(t(0)));
    let daemon = InProcess::start(|options| options.clock = clock.clone())
        .await
        .unwrap();
    let gateway = &daemon.app.gateway;
    let tenant = gateway
        .create_tenant("OAuth", Some("ten_exp"))
        .await
        .unwrap()
        .id;
    let credentials =
        serde_json::from_value(json!({"oauth_client_id": "idp", "oauth_client_secret": "pw"}))
            .unwrap();
    gateway
        .create_integration(NewIntegration {
            kind: "scim".into(),
            tenant_id: tenant,
            credentials,
            config: Map::new(),
        })
        .await
        .unwrap();
    assert!(gateway
        .scim_access_token("idp", "nope")
        .await
        .unwrap()
        .is_none());
    let (token, lifetime) = gateway
        .scim_access_token("idp", "pw")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lifetime, 3600);
    assert!(gateway
        .authenticate(token.expose_secret())
        .await
        .unwrap()
        .is_some());
    clock.advance(chrono::Duration::seconds(3599));
    assert!(gateway
        .authenticate(token.expose_secret())
        .await
        .unwrap()
        .is_some());
    clock.advance(chrono::Duration::seconds(2));
    assert!(
        gateway
            .authenticate(token.expose_secret())
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
}
