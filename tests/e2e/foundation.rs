//! The daemon's foundation through the real binary: restart on the same data dir, SIGTERM and
//! SIGKILL, secrets never in plaintext on disk or in logs, the generated operator key, config
//! errors before the port is bound.

use std::path::Path;

use gatehouse_testkit::{Api, Gatehouse};
use reqwest::StatusCode;
use serde_json::{json, Value};

const OKTA_API_TOKEN: &str = "00Qx7-e2e-okta-api-token-DO-NOT-LEAK-4f9a";

async fn tenant_with_key(op: &Api, id: &str) -> anyhow::Result<String> {
    let created = op
        .post("/v1/tenants", &json!({"name": "Acme", "id": id}))
        .await?;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let key = op.post_empty(&format!("/v1/tenants/{id}/api-keys")).await?;
    assert_eq!(key.status, StatusCode::CREATED);
    Ok(key.str("/key"))
}

async fn okta_integration(api: &Api) -> anyhow::Result<Value> {
    let reply = api
        .post(
            "/v1/integrations",
            &json!({"type": "okta",
                    "credentials": {"domain": "acme.okta.com", "api_token": OKTA_API_TOKEN},
                    "config": {"ingest_users": true, "ingest_system_log": true, "enable_response_actions": true}}),
        )
        .await?;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    Ok(reply.body)
}

/// Status of a push with `token`: 401 when the token does not authenticate.
async fn push_status(base: &str, token: &str) -> anyhow::Result<StatusCode> {
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/idp/okta"))
        .bearer_auth(token)
        .json(&json!({"data": {"events": []}}))
        .send()
        .await?;
    Ok(response.status())
}

#[tokio::test]
async fn integration_and_tokens_survive_sigterm_and_restart() -> anyhow::Result<()> {
    let mut first = Gatehouse::builder().start().await?;
    let key = tenant_with_key(&first.operator()?, "ten_restart").await?;
    let tenant = first.client(Some(&key));
    let integration = okta_integration(&tenant).await?;
    let id = integration["id"].as_str().unwrap_or_default().to_owned();
    let ingest_token = integration["ingest"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(
        push_status(&first.base_url, &ingest_token).await?,
        StatusCode::UNAUTHORIZED
    );

    let status = first.terminate().await?;
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
    let logs = first.logs();
    assert!(logs.contains("store flushed"), "{logs}");

    let second = Gatehouse::builder()
        .data_dir(&first.data_dir)
        .start()
        .await?;
    let tenant = second.client(Some(&key));
    let got = tenant.get(&format!("/v1/integrations/{id}")).await?;
    assert_eq!(got.status, StatusCode::OK, "{:?}", got.body);
    assert_eq!(got.body["type"], "okta");
    assert_eq!(got.body["config"]["enable_response_actions"], true);
    let listed = tenant.get("/v1/integrations").await?;
    assert_eq!(listed.body["data"].as_array().map(Vec::len), Some(1));
    // The old ingest token still authenticates (the okta decoder answers 501 until it lands).
    assert_ne!(
        push_status(&second.base_url, &ingest_token).await?,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        push_status(&second.base_url, "gh_in_forged").await?,
        StatusCode::UNAUTHORIZED
    );
    Ok(())
}

#[tokio::test]
async fn acknowledged_writes_survive_sigkill() -> anyhow::Result<()> {
    let mut first = Gatehouse::builder().start().await?;
    let op = first.operator()?;
    for n in 0..20 {
        let reply = op
            .post(
                "/v1/tenants",
                &json!({"name": "T", "id": format!("ten_kill_{n}")}),
            )
            .await?;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    first.kill().await?;
    let second = Gatehouse::builder()
        .data_dir(&first.data_dir)
        .start()
        .await?;
    let listed = second.operator()?.get("/v1/tenants?limit=1000").await?;
    assert_eq!(listed.body["data"].as_array().map(Vec::len), Some(20));
    Ok(())
}

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

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn no_secret_in_plaintext_on_disk_or_in_logs() -> anyhow::Result<()> {
    let mut daemon = Gatehouse::builder().start().await?;
    let op = daemon.operator()?;
    let key = tenant_with_key(&op, "ten_secrets").await?;
    let tenant = daemon.client(Some(&key));
    let integration = okta_integration(&tenant).await?;
    let id = integration["id"].as_str().unwrap_or_default().to_owned();
    let first_ingest = integration["ingest"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let rotated = tenant
        .post_empty(&format!("/v1/integrations/{id}/ingest-token"))
        .await?;
    let second_ingest = rotated.str("/ingest/token");
    let scim = tenant
        .post("/v1/integrations", &json!({"type": "scim"}))
        .await?;
    let scim_token = scim.str("/scim/token");
    let patched = tenant
        .call(
            reqwest::Method::PATCH,
            &format!("/v1/integrations/{id}"),
            Some(&json!({"credentials": {"api_token": "00rotated-okta-token-DO-NOT-LEAK"}})),
        )
        .await?;
    assert_eq!(patched.status, StatusCode::OK);
    // Exercise the push path with the token in the URL, as Okta is configured.
    let _ = reqwest::Client::new()
        .post(format!(
            "{}/v1/idp/okta?tenant_id=ten_secrets&token={second_ingest}",
            daemon.base_url
        ))
        .json(&json!({}))
        .send()
        .await?;
    daemon.terminate().await?;

    let secrets = [
        OKTA_API_TOKEN,
        "00rotated-okta-token-DO-NOT-LEAK",
        key.as_str(),
        first_ingest.as_str(),
        second_ingest.as_str(),
        scim_token.as_str(),
        gatehouse_testkit_operator_key(),
    ];
    for secret in secrets {
        assert!(secret.len() > 20, "a real secret was issued: {secret:?}");
    }
    let mut files = Vec::new();
    read_all_files(&daemon.data_dir, &mut files)?;
    assert!(files.len() > 1, "the data dir holds the store");
    for (path, bytes) in &files {
        for secret in secrets {
            assert!(
                !contains(bytes, secret),
                "{path} holds a secret in plaintext"
            );
        }
    }
    let logs = daemon.logs();
    assert!(
        logs.contains("integration registered"),
        "logs were captured"
    );
    for secret in secrets {
        assert!(!logs.contains(secret), "the log holds a secret");
    }
    // The master key file exists with mode 0600.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(daemon.data_dir.join("master.key"))?
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    Ok(())
}

fn gatehouse_testkit_operator_key() -> &'static str {
    "gh_op_e2e-operator-key-0123456789abcdef"
}

#[tokio::test]
async fn generated_operator_key_is_printed_once_and_persists() -> anyhow::Result<()> {
    let mut first = Gatehouse::builder().without_operator_key().start().await?;
    let logs = first.logs();
    let key = logs
        .split_whitespace()
        .find(|w| w.starts_with("gh_op_"))
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no operator key printed:\n{logs}"))?;
    let reply = first
        .client(Some(&key))
        .post("/v1/tenants", &json!({"name": "A"}))
        .await?;
    assert_eq!(reply.status, StatusCode::CREATED);
    first.terminate().await?;

    let second = Gatehouse::builder()
        .without_operator_key()
        .data_dir(&first.data_dir)
        .start()
        .await?;
    assert!(
        !second.logs().contains("gh_op_"),
        "the key is printed only on the first start"
    );
    let reply = second.client(Some(&key)).get("/v1/tenants").await?;
    assert_eq!(reply.status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn config_errors_name_the_key_and_exit_nonzero() -> anyhow::Result<()> {
    for (var, value) in [
        ("GATEHOUSE_MASTER_KEY", "dG9vLXNob3J0"),
        ("GATEHOUSE_SERVER_BODY_LIMIT_BYTES", "lots"),
        ("GATEHOUSE_ALLOW_CUSTOM_ENDPOINTS", "maybe"),
        (
            "GATEHOUSE_GEOIP_DATABASE",
            "/nonexistent/GeoLite2-City.mmdb",
        ),
    ] {
        let result = Gatehouse::builder().env(var, value).start().await;
        let error = match result {
            Ok(_) => anyhow::bail!("{var}={value} must not start"),
            Err(e) => e.to_string(),
        };
        assert!(error.contains("exited with"), "{error}");
        assert!(error.contains(var), "the error names {var}: {error}");
        assert!(
            !error.contains("gatehouse is serving"),
            "it failed before binding: {error}"
        );
    }
    Ok(())
}
