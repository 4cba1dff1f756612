//! The master key rules over a real store: no key is generated over sealed credentials, and a
//! rotation re-seals every integration, resumes after an interruption and never opens a third key.

use std::sync::Arc;

use gatehouse_core::SystemClock;
use gatehouse_engine::secrets::{MasterKey, Sealer};
use gatehouse_engine::{Gateway, GatewayOptions, NewIntegration};
use gatehouse_store::{SledStore, Store};
use secrecy::ExposeSecret;
use serde_json::json;

use super::*;

const TOKEN: &str = "00okta-rotation-secret-token";

/// A store with `count` okta integrations sealed under `key`.
async fn store_with_integrations(dir: &Path, key: &MasterKey, count: usize) -> Arc<dyn Store> {
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir).unwrap());
    let gateway = Gateway::new(
        Arc::clone(&store),
        Arc::new(crate::registry::build()),
        Sealer::new(key),
        Arc::new(SystemClock),
        GatewayOptions::default(),
    );
    let tenant = gateway
        .create_tenant("Acme", Some("ten_keys"))
        .await
        .unwrap();
    for n in 0..count {
        let credentials = json!({"domain": format!("acme{n}.okta.com"), "api_token": TOKEN});
        gateway
            .create_integration(NewIntegration {
                kind: "okta".into(),
                tenant_id: tenant.id.clone(),
                credentials: credentials.as_object().cloned().unwrap(),
                config: serde_json::Map::new(),
            })
            .await
            .unwrap();
    }
    store
}

fn api_tokens(store_integrations: &[gatehouse_core::model::Integration], key: &MasterKey) -> usize {
    let sealer = Sealer::new(key);
    store_integrations
        .iter()
        .filter_map(|i| sealer.open(&i.credentials, i.id.as_str()).ok())
        .filter(|c| {
            c.secret("api_token").map(|t| t.expose_secret().to_owned()) == Some(TOKEN.into())
        })
        .count()
}

#[tokio::test]
async fn no_key_is_generated_over_sealed_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let old = MasterKey::generate();
    let store = store_with_integrations(&dir.path().join("data"), &old, 2).await;
    let path = dir.path().join("keys").join("master.key");

    let err = resolve(KeySource::File(path.clone()), store.as_ref())
        .await
        .err()
        .unwrap();
    let message = err.to_string();
    assert!(
        matches!(err, KeyError::MissingWithSealed { count: 2, .. }),
        "{message}"
    );
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains(&old.key_id()), "{message}");
    assert!(!path.exists(), "no key file is created");

    // An empty store gets a new key file, mode 0600, read back on the next start.
    let empty: Arc<dyn Store> = Arc::new(SledStore::open(&dir.path().join("empty")).unwrap());
    let (created, fresh) = resolve(KeySource::File(path.clone()), empty.as_ref())
        .await
        .unwrap();
    assert!(fresh);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let (again, fresh) = resolve(KeySource::File(path), empty.as_ref())
        .await
        .unwrap();
    assert!(!fresh);
    assert_eq!(again.key_id(), created.key_id());
}

#[tokio::test]
async fn rotation_reseals_every_integration_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (MasterKey::generate(), MasterKey::generate());
    let store = store_with_integrations(dir.path(), &old, 3).await;

    // An interrupted run: one record already re-sealed by hand, the others not.
    let mut all = store.all_integrations().await.unwrap();
    let credentials = Sealer::new(&old)
        .open(&all[0].credentials, all[0].id.as_str())
        .unwrap();
    all[0].credentials = Sealer::new(&new)
        .seal(&credentials, all[0].id.as_str())
        .unwrap();
    store.update_integration(&all[0]).await.unwrap();

    let done = rotate(store.as_ref(), &old, &new).await.unwrap();
    assert_eq!(
        done,
        Rotation {
            resealed: 2,
            already_new: 1
        }
    );
    let all = store.all_integrations().await.unwrap();
    assert_eq!(
        api_tokens(&all, &new),
        3,
        "every record opens under the new key"
    );
    assert_eq!(api_tokens(&all, &old), 0, "and none under the old one");
    assert!(all.iter().all(|i| i.credentials.key_id == new.key_id()));

    // Running it again changes nothing.
    let again = rotate(store.as_ref(), &old, &new).await.unwrap();
    assert_eq!(
        again,
        Rotation {
            resealed: 0,
            already_new: 3
        }
    );

    // A key that sealed none of them is refused before anything changes.
    let third = MasterKey::generate();
    let err = rotate(store.as_ref(), &third, &old).await.err().unwrap();
    assert!(matches!(err, KeyError::Record { .. }), "{err}");
    assert_eq!(
        api_tokens(&store.all_integrations().await.unwrap(), &new),
        3
    );
    assert!(rotate(store.as_ref(), &new, &new).await.is_err());
    assert!(!err.to_string().contains(TOKEN));
}
