//! OAuth 2.0 service apps instead of an API token: the connector gets scoped access tokens from
//! the simulated org authorization server with a `private_key_jwt` assertion (RS256 and ES256
//! keys, as PEM and as JWK), does DPoP with its nonce when the app requires it, renews a token
//! that expires mid-pull, reports a wrong key and a missing scope once and clearly, and never
//! logs a key, an assertion or a token.

use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::Duration;
use gatehouse_core::provider::{Connector, ConnectorError};
use gatehouse_core::records::PullMode;
use gatehouse_core::ManualClock;
use gatehouse_idp_sim::okta::oauth::{ServiceApp, TokenRequest};
use gatehouse_idp_sim::okta::OktaConfig;
use gatehouse_okta::OktaConnector;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

use crate::support::{
    connector, context_with, fast_policy, fixture, manual_clock, org_config, start_org_with, Org,
};

const CLIENT: &str = "0oa1gatehouseSVC1d7";
const READS: [&str; 4] = [
    "okta.users.read",
    "okta.groups.read",
    "okta.roles.read",
    "okta.logs.read",
];

/// A service app key: what the connector is given, and what the org has registered.
#[derive(Clone)]
struct Key {
    private: Value,
    public_jwk: Value,
}

fn rsa(form: &str) -> Key {
    let f = fixture("service_app_rs256_key.json");
    Key {
        private: f[form].clone(),
        public_jwk: f["public_jwk"].clone(),
    }
}

/// A fresh P-256 key; `pem` picks a PKCS#8 PEM over a private JWK.
fn ec(pem: bool) -> Key {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = pair.public_key().as_ref();
    let (x, y) = (
        URL_SAFE_NO_PAD.encode(&point[1..33]),
        URL_SAFE_NO_PAD.encode(&point[33..65]),
    );
    let public_jwk = json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256",
                            "kid": "gatehouse-ec-1", "x": x, "y": y});
    let private = if pem {
        let body = STANDARD.encode(pkcs8.as_ref());
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        json!(format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        ))
    } else {
        // ring's PKCS#8 for P-256 holds the private scalar at bytes 36..68.
        let d = URL_SAFE_NO_PAD.encode(&pkcs8.as_ref()[36..68]);
        let mut jwk = public_jwk.clone();
        jwk["d"] = json!(d);
        jwk
    };
    Key {
        private,
        public_jwk,
    }
}

fn app(key: &Key, scopes: &[&str]) -> ServiceApp {
    ServiceApp::new(CLIENT, key.public_jwk.clone(), scopes)
}

async fn org_with(apps: Vec<ServiceApp>) -> Org {
    start_org_with(OktaConfig {
        service_apps: apps,
        ..org_config()
    })
    .await
}

fn oauth_connector(org: &Org, key: &Key, extra: Value, clock: Arc<ManualClock>) -> OktaConnector {
    let mut credentials = json!({"domain": org.base(), "client_id": CLIENT,
                                 "private_key": key.private});
    if let (Some(c), Value::Object(extra)) = (credentials.as_object_mut(), extra) {
        c.extend(extra);
    }
    OktaConnector::from_context(
        context_with(credentials, json!({"system_log_lookback_hours": 6}), clock),
        fast_policy(3),
    )
    .unwrap()
}

/// Every user id of a full pull.
async fn all_user_ids(connector: &OktaConnector) -> Result<Vec<String>, ConnectorError> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = connector
            .users_page(PullMode::Full, cursor.as_deref())
            .await?;
        ids.extend(page.items.into_iter().map(|u| u.external_id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(ids),
        }
    }
}

fn three_events(org: &Org) {
    let events: Vec<Value> = [
        "user.session.start.failure",
        "user.session.start.success",
        "security.threat.detected",
    ]
    .iter()
    .map(|f| {
        let mut e = fixture(&format!("events/{f}.json"));
        e.as_object_mut().unwrap().remove("published");
        e
    })
    .collect();
    org.sim.append_events(events);
}

fn outcomes(requests: &[TokenRequest]) -> Vec<(bool, u16, Option<&str>)> {
    requests
        .iter()
        .map(|r| (r.dpop, r.status, r.error.as_deref()))
        .collect()
}

#[tokio::test]
async fn users_and_system_log_pull_with_rsa_and_ec_keys_as_pem_and_jwk() {
    for (name, key) in [
        ("rsa pem", rsa("private_pem")),
        ("rsa jwk", rsa("private_jwk")),
        ("ec jwk", ec(false)),
        ("ec pem", ec(true)),
    ] {
        let org = org_with(vec![app(&key, &READS)]).await;
        three_events(&org);
        let expected = all_user_ids(&connector(&org)).await.unwrap();
        let service = oauth_connector(&org, &key, json!({}), manual_clock());

        let report = service.check().await.unwrap();
        assert_eq!(
            report.principal.as_deref(),
            Some("service app 0oa1gatehouseSVC1d7"),
            "{name}"
        );
        assert_eq!(all_user_ids(&service).await.unwrap(), expected, "{name}");
        let events = service.signins_page(None).await.unwrap();
        assert_eq!(events.events.len(), 2, "{name}: one page of the log");

        let requests = org.sim.token_requests();
        assert_eq!(
            outcomes(&requests),
            [(false, 200, None)],
            "{name}: one token"
        );
        assert_eq!(requests[0].client_id.as_deref(), Some(CLIENT));
        assert_eq!(requests[0].scopes, READS, "{name}: the default read scopes");
        assert!(org.calls_to("/api/v1/users/me").is_empty(), "{name}");
    }
}

#[tokio::test]
async fn a_dpop_app_gets_its_nonce_once_and_proves_every_call() {
    for key in [rsa("private_pem"), ec(false)] {
        let mut dpop = app(&key, &READS);
        dpop.require_dpop = true;
        let org = org_with(vec![dpop]).await;
        three_events(&org);
        let expected = all_user_ids(&connector(&org)).await.unwrap();
        let clock = manual_clock();
        let service = oauth_connector(&org, &key, json!({}), clock.clone());

        assert_eq!(all_user_ids(&service).await.unwrap(), expected);
        service.signins_page(None).await.unwrap();
        assert_eq!(
            outcomes(&org.sim.token_requests()),
            [
                (false, 400, Some("invalid_dpop_proof")),
                (true, 400, Some("use_dpop_nonce")),
                (true, 200, None),
            ],
            "no proof, then a proof without the nonce, then with it"
        );

        // The next token (after expiry) goes with a proof and the nonce at once.
        org.sim.advance_time(Duration::minutes(61));
        clock.advance(Duration::minutes(61));
        assert_eq!(all_user_ids(&service).await.unwrap(), expected);
        let requests = org.sim.token_requests();
        assert_eq!(outcomes(&requests[3..]), [(true, 200, None)]);
        assert!(org.calls().iter().all(|c| c.status != 401));
    }
}

#[tokio::test]
async fn a_token_expiring_mid_pull_is_renewed_without_failing_the_pull() {
    let key = ec(false);
    let mut short = app(&key, &READS);
    short.token_lifetime = Duration::minutes(2);
    let org = org_with(vec![short]).await;
    let expected = all_user_ids(&connector(&org)).await.unwrap();
    let clock = manual_clock();
    let service = oauth_connector(&org, &key, json!({}), clock.clone());

    // Both clocks move between pages: the connector renews before its token runs out.
    let first = service.users_page(PullMode::Full, None).await.unwrap();
    org.sim.advance_time(Duration::minutes(3));
    clock.advance(Duration::minutes(3));
    let second = service
        .users_page(PullMode::Full, first.next_cursor.as_deref())
        .await
        .unwrap();
    let mut ids: Vec<String> = first
        .items
        .into_iter()
        .chain(second.items)
        .map(|u| u.external_id)
        .collect();
    // Only Okta's clock moves: the API refuses the token the connector still trusts, and the
    // call is made once more with a new one.
    org.sim.advance_time(Duration::minutes(3));
    let mut cursor = second.next_cursor;
    assert!(cursor.is_some(), "the fixtures span more than two pages");
    while let Some(next) = cursor {
        let page = service
            .users_page(PullMode::Full, Some(&next))
            .await
            .unwrap();
        ids.extend(page.items.into_iter().map(|u| u.external_id));
        cursor = page.next_cursor;
    }
    assert_eq!(ids, expected);
    assert_eq!(
        outcomes(&org.sim.token_requests()),
        [(false, 200, None), (false, 200, None), (false, 200, None)]
    );
    assert_eq!(
        org.calls().iter().filter(|c| c.status == 401).count(),
        1,
        "one refused call, retried with a new token"
    );
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized_and_not_retried() {
    let registered = ec(false);
    let org = org_with(vec![app(&registered, &READS)]).await;
    let service = oauth_connector(&org, &ec(false), json!({}), manual_clock());
    for attempt in 1..=2 {
        let err = service.users_page(PullMode::Full, None).await.unwrap_err();
        assert!(matches!(err, ConnectorError::Unauthorized(_)), "{err}");
        assert!(err.to_string().contains("invalid_client"), "{err}");
        assert!(!err.to_string().contains("eyJ"), "no JWT in: {err}");
        assert_eq!(
            org.sim.token_requests().len(),
            attempt,
            "one request a call"
        );
    }
    assert!(org.calls_to("/api/v1/users").is_empty());
}

#[tokio::test]
async fn a_scope_the_app_lacks_is_forbidden_naming_it() {
    let key = ec(false);
    // Granted the reads but not the System Log: the default ask includes it, and Okta refuses.
    let org = org_with(vec![app(&key, &READS[..3])]).await;
    let service = oauth_connector(&org, &key, json!({}), manual_clock());
    let err = service.signins_page(None).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Forbidden(m) if m.contains("invalid_scope") && m.contains("okta.logs.read")),
        "{err}"
    );

    // Scopes narrowed to what is granted: the token comes, the System Log call is refused.
    let narrowed = oauth_connector(
        &org,
        &key,
        json!({"scopes": ["okta.users.read"]}),
        manual_clock(),
    );
    all_user_ids(&narrowed).await.unwrap();
    let err = narrowed.signins_page(None).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Forbidden(m) if m.contains("lacks the Okta scope okta.logs.read")),
        "{err}"
    );
}

/// Everything written through `tracing` while it is installed.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn no_log_line_carries_the_key_an_assertion_a_proof_or_a_token() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    // Global, not scoped: a scoped subscriber misses events whose callsites another test's
    // thread saw first (tracing caches their interest). Under nextest each test is a process of
    // its own; under `cargo test` no other test here installs one, and the lines of the tests
    // beside this one must hold no secret either.
    tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");

    let key = rsa("private_jwk");
    let pem = rsa("private_pem");
    let mut dpop = app(&key, &READS);
    dpop.require_dpop = true;
    dpop.token_lifetime = Duration::minutes(2);
    let org = org_with(vec![dpop]).await;
    three_events(&org);
    let clock = manual_clock();
    let service = oauth_connector(&org, &key, json!({}), clock.clone());
    all_user_ids(&service).await.unwrap();
    org.sim.advance_time(Duration::minutes(3));
    service.signins_page(None).await.unwrap();
    let wrong = oauth_connector(&org, &ec(true), json!({}), clock);
    let err = wrong.check().await.unwrap_err();
    tracing::info!(error = %err, connector = ?service, "the test's own line");

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("okta access token issued"), "{logs}");
    assert!(logs.contains("the test's own line"), "{logs}");
    let d = key.private["d"].as_str().unwrap();
    let pem_line = pem.private.as_str().unwrap().lines().nth(1).unwrap();
    for secret in [&d[..24], pem_line, "eyJ", "PRIVATE KEY"] {
        assert!(!logs.contains(secret), "{secret} in the logs");
    }
    // Okta's (and the simulator's) access tokens are long unbroken runs of token characters.
    let longest = logs
        .split(|c: char| !(c.is_ascii_alphanumeric() || "-_.~+/".contains(c)))
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(
        longest < 40,
        "a token-like run of {longest} characters in the logs"
    );
}
