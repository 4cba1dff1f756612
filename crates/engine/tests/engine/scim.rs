//! SCIM OAuth access tokens minted by the gateway, and their expiry.

use std::sync::Arc;

use gatehouse_engine::{ClientRefusal, NewIntegration};
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
    assert_eq!(
        gateway
            .scim_access_token("idp", "nope")
            .await
            .unwrap()
            .err(),
        Some(ClientRefusal::InvalidClient)
    );
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

/// A client id names one integration across every tenant; a wrong secret is limited per client;
/// an integration whose credentials cannot be opened fails only its own client.
#[tokio::test]
async fn scim_oauth_clients_are_unique_limited_and_isolated() {
    let daemon = InProcess::start(|_| {}).await.unwrap();
    let gateway = &daemon.app.gateway;
    let scim = |tenant: &str, id: &str, secret: &str| NewIntegration {
        kind: "scim".into(),
        tenant_id: gatehouse_core::TenantId::parse(tenant).unwrap(),
        credentials: serde_json::from_value(
            json!({"oauth_client_id": id, "oauth_client_secret": secret}),
        )
        .unwrap(),
        config: Map::new(),
    };
    for tenant in ["ten_one", "ten_two"] {
        gateway.create_tenant(tenant, Some(tenant)).await.unwrap();
    }
    let first = gateway
        .create_integration(scim("ten_one", "shared-id", "pw1"))
        .await
        .unwrap()
        .integration;
    // Another tenant cannot take the same client id (it would lock the first out).
    let taken = gateway
        .create_integration(scim("ten_two", "shared-id", "pw2"))
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(taken, gatehouse_engine::EngineError::Conflict(_)),
        "{taken}"
    );
    let second = gateway
        .create_integration(scim("ten_two", "other-id", "pw2"))
        .await
        .unwrap()
        .integration;
    // Nor by rotating its credentials onto it.
    let patch = gatehouse_engine::IntegrationPatch {
        credentials: serde_json::from_value(json!({"oauth_client_id": "shared-id"})).unwrap(),
        ..Default::default()
    };
    assert!(gateway
        .patch_integration(&second.tenant_id, &second.id, patch)
        .await
        .is_err());
    assert!(gateway
        .scim_access_token("shared-id", "pw1")
        .await
        .unwrap()
        .is_ok());
    assert!(gateway
        .scim_access_token("other-id", "pw2")
        .await
        .unwrap()
        .is_ok());

    // Ten wrong secrets, then the client waits, even with the right one.
    for _ in 0..10 {
        assert_eq!(
            gateway
                .scim_access_token("other-id", "guess")
                .await
                .unwrap()
                .err(),
            Some(ClientRefusal::InvalidClient)
        );
    }
    assert!(matches!(
        gateway.scim_access_token("other-id", "pw2").await.unwrap(),
        Err(ClientRefusal::TooManyAttempts { .. })
    ));
    // The other client is not held back by it.
    assert!(gateway
        .scim_access_token("shared-id", "pw1")
        .await
        .unwrap()
        .is_ok());

    // Credentials that cannot be opened fail their own client only.
    let store = &daemon.app.store;
    let mut broken = store
        .get_integration(&second.tenant_id, &second.id)
        .await
        .unwrap()
        .unwrap();
    broken.credentials.sealed = "AAAA".into();
    store.update_integration(&broken).await.unwrap();
    assert!(gateway
        .scim_access_token("shared-id", "pw1")
        .await
        .unwrap()
        .is_ok());
    let _ = first;
}
