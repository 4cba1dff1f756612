//! The secrets scan: after an end-to-end run with every provider (Okta, Entra, Google Workspace,
//! JumpCloud, a SCIM application, Gatehouse's own SCIM server), its pushes and its error paths,
//! no credential or token appears in the daemon's logs, in any API answer (but the one that
//! hands a token out, once), in `/metrics` or in any byte of the data directory: not as is, not
//! base64-encoded, not percent-encoded.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use gatehouse_testkit::idp_sim::entra::{EntraConfig, EntraSim};
use gatehouse_testkit::idp_sim::google::{GoogleConfig, GoogleSim};
use gatehouse_testkit::idp_sim::jumpcloud::{JumpCloudConfig, JumpCloudSim};
use gatehouse_testkit::idp_sim::okta::{OktaConfig, OktaSim, UserStatus};
use gatehouse_testkit::idp_sim::scim_app::{ScimAppConfig, ScimAppSim};
use gatehouse_testkit::{Api, Gatehouse, Reply, TEST_OPERATOR_KEY};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::support::{create_tenant, eventually};

/// A cron schedule that does not fire during a test: pulls run when the test asks.
const NEVER: &str = "0 0 0 1 1 *";
const TENANT: &str = "ten_secrets_scan";
const OKTA_TOKEN: &str = "00Qleak-canary-okta-api-token-7Hq2Zr";
const ENTRA_SECRET: &str = "LeakCanary~Entra.client_secret_9xVb3";
const ENTRA_CLIENT_STATE: &str = "leak-canary-entra-client-state-4Kd8";
const JUMPCLOUD_KEY: &str = "jca_LeakCanaryJumpCloudApiKey5Tm1Pw";
const SCIM_APP_TOKEN: &str = "leak-canary-scim-app-bearer-2Wn6Ys";
const SCIM_OAUTH_SECRET: &str = "leak-canary-scim-oauth-client-secret-8Rf4";
/// The wrong secrets of the error paths: refused by the providers, never repeated by Gatehouse.
const WRONG_OKTA: &str = "00Qwrong-canary-okta-token-3Pz9Lm";
const WRONG_ENTRA: &str = "Wrong~Canary.entra_secret_6Gh1Qa";
const WRONG_JUMPCLOUD: &str = "jca_WrongCanaryJumpCloudKey0Bv7Ne";
const WRONG_SCIM_APP: &str = "wrong-canary-scim-app-token-1Xc5Ju";
/// A valid RSA key that is not the service account's.
const OTHER_GOOGLE_KEY: &str = include_str!("fixtures/google_other_key.pem");

/// A secret and the answers allowed to carry it (those that hand it out, once).
struct Secret {
    name: String,
    value: String,
}

/// Every API answer the test received, with the secrets each may carry.
#[derive(Default)]
struct Seen {
    answers: Vec<(String, String, Vec<String>)>,
}

impl Seen {
    async fn call(
        &mut self,
        api: &Api,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Reply> {
        self.call_showing(api, method, path, body, &[]).await
    }

    /// A call whose answer hands out the secrets at the JSON pointers `shown`.
    async fn call_showing(
        &mut self,
        api: &Api,
        method: Method,
        path: &str,
        body: Option<&Value>,
        shown: &[&str],
    ) -> anyhow::Result<Reply> {
        let reply = api.call(method.clone(), path, body).await?;
        let allowed = shown.iter().map(|p| reply.str(p)).collect();
        let text = match &reply.body {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        self.answers
            .push((format!("{method} {path} ({})", reply.status), text, allowed));
        Ok(reply)
    }

    fn record(&mut self, what: &str, text: String) {
        self.answers.push((what.to_owned(), text, Vec::new()));
    }
}

/// Creates an integration; its `ingest.token` and `scim.token` are shown in this answer only.
async fn create(seen: &mut Seen, op: &Api, body: Value) -> anyhow::Result<Value> {
    let reply = seen
        .call_showing(
            op,
            Method::POST,
            "/v1/integrations",
            Some(&body),
            &["/ingest/token", "/ingest/url", "/scim/token"],
        )
        .await?;
    anyhow::ensure!(reply.status == StatusCode::CREATED, "{:?}", reply.body);
    Ok(reply.body)
}

/// `/test` of `id`, with the status expected.
async fn test(seen: &mut Seen, op: &Api, id: &str, ok: bool) -> anyhow::Result<()> {
    let path = format!("/v1/integrations/{id}/test");
    let reply = seen.call(op, Method::POST, &path, None).await?;
    anyhow::ensure!(
        (reply.status == StatusCode::OK) == ok,
        "{path}: {} {:?}",
        reply.status,
        reply.body
    );
    Ok(())
}

/// Asks for a pull of `id` and waits until a job of it succeeded (`ok`) or failed.
async fn sync(seen: &mut Seen, op: &Api, id: &str, ok: bool) -> anyhow::Result<()> {
    let path = format!("/v1/integrations/{id}/sync");
    let reply = seen.call(op, Method::POST, &path, None).await?;
    anyhow::ensure!(reply.status == StatusCode::ACCEPTED, "{:?}", reply.body);
    let field = if ok { "last_success_at" } else { "last_error" };
    let shown = eventually(Duration::from_secs(60), || async {
        let reply = op.get(&format!("/v1/integrations/{id}")).await?;
        let jobs = reply.body["sync"]["jobs"].as_object().cloned();
        let done = jobs.is_some_and(|jobs| jobs.values().any(|job| job[field].is_string()));
        Ok(done.then_some(reply))
    })
    .await?;
    seen.record(
        &format!("GET /v1/integrations/{id}"),
        shown.body.to_string(),
    );
    Ok(())
}

fn id(integration: &Value) -> String {
    integration["id"].as_str().unwrap_or_default().to_owned()
}

/// Every file under `dir`, recursively, as raw bytes.
fn read_all_files(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            read_all_files(&path, out)?;
        } else {
            out.push((path.display().to_string(), std::fs::read(&path)?));
        }
    }
    Ok(())
}

fn percent(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The forms a secret may be found in: as is, base64 (standard and URL-safe, without the padding
/// that depends on what follows) and percent-encoded.
fn forms(secret: &str) -> Vec<(String, String)> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
    let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    let mut forms = vec![
        ("plain".to_owned(), secret.to_owned()),
        ("base64".to_owned(), b64.trim_end_matches('=').to_owned()),
        ("base64url".to_owned(), b64url),
    ];
    let encoded = percent(secret);
    if encoded != secret {
        forms.push(("percent-encoded".to_owned(), encoded));
    }
    forms
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The body lines of a PEM key: what a leak of the key would show, whole or in part.
fn pem_lines(name: &str, pem: &str) -> Vec<Secret> {
    pem.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("-----") && line.len() >= 16)
        .enumerate()
        .map(|(n, line)| Secret {
            name: format!("{name} line {n}"),
            value: line.to_owned(),
        })
        .collect()
}

#[tokio::test]
async fn no_credential_or_token_leaks_into_logs_answers_metrics_or_data_files() -> anyhow::Result<()>
{
    let okta = OktaSim::new(OktaConfig {
        users: 8,
        events: 20,
        api_token: OKTA_TOKEN.into(),
        ..OktaConfig::default()
    });
    let okta_running = okta.spawn("127.0.0.1:0".parse()?)?;
    let entra = EntraSim::new(EntraConfig {
        users: 6,
        groups: 1,
        signins: 5,
        notification_interval: None,
        client_secret: ENTRA_SECRET.into(),
        ..EntraConfig::default()
    });
    let entra_running = entra.spawn("127.0.0.1:0".parse()?)?;
    let google = GoogleSim::new(GoogleConfig {
        users: 6,
        groups: 1,
        activities: 5,
        reporting_lag: Duration::ZERO,
        notification_interval: None,
        ..GoogleConfig::default()
    });
    let google_running = google.spawn("127.0.0.1:0".parse()?)?;
    let jumpcloud = JumpCloudSim::new(JumpCloudConfig {
        users: 6,
        events: 5,
        event_lag: Duration::ZERO,
        api_key: JUMPCLOUD_KEY.into(),
        ..JumpCloudConfig::default()
    });
    let jumpcloud_running = jumpcloud.spawn("127.0.0.1:0".parse()?)?;
    let app = ScimAppSim::new(ScimAppConfig {
        users: 6,
        token: SCIM_APP_TOKEN.into(),
        ..ScimAppConfig::default()
    });
    let app_running = app.spawn("127.0.0.1:0".parse()?)?;

    let mut daemon = Gatehouse::builder()
        .allow_custom_endpoints()
        .start()
        .await?;
    let op = daemon.operator()?;
    let mut seen = Seen::default();
    create_tenant(&op, TENANT).await?;
    let key = seen
        .call_showing(
            &op,
            Method::POST,
            &format!("/v1/tenants/{TENANT}/api-keys"),
            None,
            &["/key"],
        )
        .await?;
    anyhow::ensure!(key.status == StatusCode::CREATED, "{:?}", key.body);
    let api_key = key.str("/key");
    // The tenant's own key does the integration work; the operator key the rest.
    let tenant = daemon.client(Some(&api_key));

    let okta_base = okta_running.base_url();
    let entra_base = entra_running.base_url();
    let google_base = google_running.base_url();
    let jumpcloud_base = jumpcloud_running.base_url();
    let app_base = app_running.base_url();
    let okta_body = |token: &str| {
        json!({"type": "okta", "tenant_id": TENANT,
            "credentials": {"domain": okta_base, "api_token": token},
            "config": {"system_log_lookback_hours": 100, "signins_schedule": NEVER}})
    };
    let entra_body = |secret: &str| {
        json!({"type": "entra", "tenant_id": TENANT,
            "credentials": {"tenant_id": entra.config().directory_id,
                "client_id": entra.config().client_id, "client_secret": secret,
                "client_state": ENTRA_CLIENT_STATE},
            "config": {"login_base_url": entra_base, "graph_base_url": entra_base,
                "signin_lookback_hours": 24}})
    };
    let mut foreign_account = google.service_account_json(&format!("{google_base}/token"));
    foreign_account["private_key"] = json!(OTHER_GOOGLE_KEY);
    let google_body = |account: Value| {
        json!({"type": "google_workspace", "tenant_id": TENANT,
            "credentials": {"service_account": account,
                "admin_email": google.config().admin_email},
            "config": {"api_base_url": google_base, "signin_lookback_hours": 24}})
    };
    let jumpcloud_body = |key: &str| {
        json!({"type": "jumpcloud", "tenant_id": TENANT,
            "credentials": {"api_key": key},
            "config": {"base_url": jumpcloud_base, "signin_lookback_hours": 24}})
    };
    let app_body = |token: &str| {
        json!({"type": "scim_app", "tenant_id": TENANT,
            "credentials": {"base_url": app_base, "token": token},
            "config": {"provision": false}})
    };

    // One working integration per provider: created, tested, pulled.
    let okta_integration = create(&mut seen, &tenant, okta_body(OKTA_TOKEN)).await?;
    let entra_integration = create(&mut seen, &tenant, entra_body(ENTRA_SECRET)).await?;
    let google_integration = create(
        &mut seen,
        &tenant,
        google_body(google.service_account_json(&format!("{google_base}/token"))),
    )
    .await?;
    let jumpcloud_integration = create(&mut seen, &tenant, jumpcloud_body(JUMPCLOUD_KEY)).await?;
    let app_integration = create(&mut seen, &tenant, app_body(SCIM_APP_TOKEN)).await?;
    for integration in [
        &okta_integration,
        &entra_integration,
        &google_integration,
        &jumpcloud_integration,
        &app_integration,
    ] {
        test(&mut seen, &tenant, &id(integration), true).await?;
        sync(&mut seen, &tenant, &id(integration), true).await?;
    }

    // Gatehouse's own SCIM server: an IdP provisions a user with the bearer token handed out.
    let scim = create(
        &mut seen,
        &tenant,
        json!({"type": "scim", "tenant_id": TENANT,
            "credentials": {"oauth_client_id": "leak-canary-client",
                "oauth_client_secret": SCIM_OAUTH_SECRET}}),
    )
    .await?;
    let first_scim_token = scim["scim"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let scim_client = daemon.client(Some(&first_scim_token));
    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ada@example.com", "active": true,
        "emails": [{"value": "ada@example.com", "primary": true}]});
    let provisioned = seen
        .call(&scim_client, Method::POST, "/v1/scim/v2/Users", Some(&user))
        .await?;
    anyhow::ensure!(
        provisioned.status == StatusCode::CREATED,
        "{:?}",
        provisioned.body
    );
    let rotated_scim = seen
        .call_showing(
            &tenant,
            Method::POST,
            &format!("/v1/integrations/{}/scim-token", id(&scim)),
            None,
            &["/scim/token"],
        )
        .await?;
    anyhow::ensure!(rotated_scim.status.is_success(), "{:?}", rotated_scim.body);
    let second_scim_token = rotated_scim.str("/scim/token");
    let scim_client = daemon.client(Some(&second_scim_token));
    let listed = seen
        .call(&scim_client, Method::GET, "/v1/scim/v2/Users", None)
        .await?;
    anyhow::ensure!(listed.status == StatusCode::OK, "{:?}", listed.body);

    // An Okta event hook: verified, then a delivery, with the token the integration handed out;
    // then the token rotated and a delivery with the old one refused.
    let okta_ingest = okta_integration["ingest"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let hook = format!("{}/v1/idp/okta", daemon.base_url);
    let verification = okta
        .verify_event_hook(&hook, &format!("Bearer {okta_ingest}"))
        .await;
    anyhow::ensure!(verification.verified, "{verification:?}");
    let person = okta.users_with_status(UserStatus::Active).remove(0);
    let events: Vec<Value> = (0..2)
        .filter_map(|_| {
            okta.make_event(
                &person,
                "user.session.start",
                "FAILURE",
                Some("INVALID_CREDENTIALS"),
            )
        })
        .collect();
    let delivery = okta
        .deliver_event_hook(&hook, &format!("Bearer {okta_ingest}"), events.clone())
        .await;
    anyhow::ensure!(delivery.delivered, "{delivery:?}");
    let rotated = seen
        .call_showing(
            &tenant,
            Method::POST,
            &format!("/v1/integrations/{}/ingest-token", id(&okta_integration)),
            None,
            &["/ingest/token", "/ingest/url"],
        )
        .await?;
    anyhow::ensure!(rotated.status.is_success(), "{:?}", rotated.body);
    let second_okta_ingest = rotated.str("/ingest/token");
    let refused = okta
        .deliver_event_hook(&hook, &format!("Bearer {okta_ingest}"), events.clone())
        .await;
    anyhow::ensure!(!refused.delivered, "{refused:?}");
    // The token in the URL, as providers that cannot send headers do.
    let in_url = format!(
        "{hook}?tenant_id={TENANT}&token={}",
        percent(&second_okta_ingest)
    );
    let delivery = okta.deliver_event_hook(&in_url, "", events).await;
    anyhow::ensure!(delivery.delivered, "{delivery:?}");

    // The error paths, where leaks happen: every provider refuses a wrong secret.
    let wrong = [
        create(&mut seen, &tenant, okta_body(WRONG_OKTA)).await?,
        create(&mut seen, &tenant, entra_body(WRONG_ENTRA)).await?,
        create(&mut seen, &tenant, google_body(foreign_account)).await?,
        create(&mut seen, &tenant, jumpcloud_body(WRONG_JUMPCLOUD)).await?,
        create(&mut seen, &tenant, app_body(WRONG_SCIM_APP)).await?,
    ];
    for integration in &wrong {
        test(&mut seen, &tenant, &id(integration), false).await?;
        sync(&mut seen, &tenant, &id(integration), false).await?;
    }
    // A forged ingest token and a wrong key.
    let forged = daemon.client(Some("gh_in_forged-canary"));
    seen.call(&forged, Method::POST, "/v1/idp/okta", Some(&json!({})))
        .await?;
    seen.call(&forged, Method::GET, "/v1/integrations", None)
        .await?;

    // What an operator looks at afterwards.
    for path in [
        "/v1/integrations?limit=1000".to_owned(),
        format!("/v1/integrations?tenant_id={TENANT}&limit=1000"),
        format!("/v1/users?tenant_id={TENANT}&limit=1000"),
        format!("/v1/signins?tenant_id={TENANT}&limit=1000"),
        format!("/v1/tenants/{TENANT}"),
        format!("/v1/tenants/{TENANT}/api-keys"),
        "/v1/actions?limit=1000".to_owned(),
        "/v1/detections?limit=1000".to_owned(),
    ] {
        seen.call(&op, Method::GET, &path, None).await?;
    }
    for integration in [
        &okta_integration,
        &entra_integration,
        &google_integration,
        &jumpcloud_integration,
        &app_integration,
        &scim,
    ]
    .into_iter()
    .chain(&wrong)
    {
        let path = format!("/v1/integrations/{}", id(integration));
        seen.call(&op, Method::GET, &path, None).await?;
    }
    let metrics = seen.call(&op, Method::GET, "/metrics", None).await?;
    anyhow::ensure!(metrics.status == StatusCode::OK, "{:?}", metrics.status);

    // Flushed to disk, then every byte read.
    let status = daemon.terminate().await?;
    anyhow::ensure!(status.success(), "{status}");
    let mut places: Vec<(String, Vec<u8>)> = vec![("daemon log".to_owned(), daemon.logs().into())];
    read_all_files(&daemon.data_dir, &mut places)?;
    anyhow::ensure!(places.len() > 2, "the data dir holds files: {places:?}");

    let mut secrets = vec![
        ("okta api_token", OKTA_TOKEN.to_owned()),
        ("entra client_secret", ENTRA_SECRET.to_owned()),
        ("entra client_state", ENTRA_CLIENT_STATE.to_owned()),
        ("jumpcloud api_key", JUMPCLOUD_KEY.to_owned()),
        ("scim_app token", SCIM_APP_TOKEN.to_owned()),
        ("scim oauth_client_secret", SCIM_OAUTH_SECRET.to_owned()),
        ("wrong okta token", WRONG_OKTA.to_owned()),
        ("wrong entra secret", WRONG_ENTRA.to_owned()),
        ("wrong jumpcloud key", WRONG_JUMPCLOUD.to_owned()),
        ("wrong scim_app token", WRONG_SCIM_APP.to_owned()),
        ("operator key", TEST_OPERATOR_KEY.to_owned()),
        ("tenant api key", api_key),
        ("first okta ingest token", okta_ingest),
        ("second okta ingest token", second_okta_ingest),
        ("first scim token", first_scim_token),
        ("second scim token", second_scim_token),
    ]
    .into_iter()
    .map(|(name, value)| Secret {
        name: name.to_owned(),
        value,
    })
    .collect::<Vec<_>>();
    for integration in [&entra_integration, &google_integration] {
        if let Some(token) = integration["ingest"]["token"].as_str() {
            secrets.push(Secret {
                name: format!("{} ingest token", integration["type"]),
                value: token.to_owned(),
            });
        }
    }
    secrets.extend(pem_lines(
        "google private key",
        &google.config().service_account.private_key_pem,
    ));
    secrets.extend(pem_lines("foreign google private key", OTHER_GOOGLE_KEY));
    for secret in &secrets {
        anyhow::ensure!(
            secret.value.len() >= 16,
            "{} is too short to scan for: {:?}",
            secret.name,
            secret.value
        );
    }

    let mut leaks = Vec::new();
    for secret in &secrets {
        for (form, needle) in forms(&secret.value) {
            for (place, bytes) in &places {
                if find(bytes, needle.as_bytes()) {
                    leaks.push(format!("{} ({form}) in {place}", secret.name));
                }
            }
            for (what, text, allowed) in &seen.answers {
                let shown_here = allowed
                    .iter()
                    .any(|a| !a.is_empty() && a.contains(&secret.value));
                if !shown_here && find(text.as_bytes(), needle.as_bytes()) {
                    leaks.push(format!("{} ({form}) in the answer to {what}", secret.name));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
    Ok(())
}
