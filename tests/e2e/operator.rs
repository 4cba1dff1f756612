//! The operator commands through the real binary: `healthcheck`, `config check`, `openapi`,
//! `keys generate` and `keys rotate`, and the refusal to generate a master key over a store that
//! already holds sealed credentials.

use std::process::{Command, Output};

use gatehouse_testkit::{binary, Gatehouse, TEST_OPERATOR_KEY};
use reqwest::StatusCode;
use serde_json::{json, Value};

const OKTA_API_TOKEN: &str = "00Qx7-e2e-operator-okta-token-DO-NOT-LEAK";

/// Runs `gatehouse <args>` with a clean environment (no inherited GATEHOUSE_* settings).
fn gatehouse(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Output> {
    let mut command = Command::new(binary("gatehouse")?);
    command.args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("GATEHOUSE_") && name != "GATEHOUSE_BIN" {
            command.env_remove(name);
        }
    }
    command.env_remove("RUST_LOG");
    for (k, v) in env {
        command.env(k, v);
    }
    Ok(command.output()?)
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A daemon with one tenant and one okta integration; returns the integration id.
async fn with_integration(daemon: &Gatehouse) -> anyhow::Result<String> {
    let op = daemon.operator()?;
    let tenant = op
        .post("/v1/tenants", &json!({"name": "Acme", "id": "ten_ops"}))
        .await?;
    assert_eq!(tenant.status, StatusCode::CREATED, "{:?}", tenant.body);
    let created = op
        .post(
            "/v1/integrations",
            &json!({"type": "okta", "tenant_id": "ten_ops",
                    "credentials": {"domain": "acme.okta.com", "api_token": OKTA_API_TOKEN},
                    "config": {"ingest_users": true}}),
        )
        .await?;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    Ok(created.str("/id"))
}

/// PATCHes the integration's token: the daemon must open the sealed credentials to merge it.
async fn patch_credentials(daemon: &Gatehouse, id: &str) -> anyhow::Result<(StatusCode, Value)> {
    let response = reqwest::Client::new()
        .patch(format!("{}/v1/integrations/{id}", daemon.base_url))
        .bearer_auth(TEST_OPERATOR_KEY)
        .json(&json!({"credentials": {"api_token": "00Qx7-rotated-okta-token"}}))
        .send()
        .await?;
    let status = response.status();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

#[tokio::test]
async fn healthcheck_exits_zero_only_when_ready() -> anyhow::Result<()> {
    let daemon = Gatehouse::builder().start().await?;
    let ok = gatehouse(&["healthcheck", "--url", &daemon.base_url], &[])?;
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    // A port nobody listens on: bind one, then close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let down = gatehouse(
        &[
            "healthcheck",
            "--url",
            &format!("http://127.0.0.1:{port}"),
            "--timeout",
            "2",
        ],
        &[],
    )?;
    assert_ne!(down.status.code(), Some(0), "{}", text(&down));
    Ok(())
}

#[tokio::test]
async fn openapi_prints_the_served_document() -> anyhow::Result<()> {
    let daemon = Gatehouse::builder().start().await?;
    let printed = gatehouse(&["openapi"], &[])?;
    assert_eq!(printed.status.code(), Some(0), "{}", text(&printed));
    let printed: Value = serde_json::from_slice(&printed.stdout)?;
    let served = daemon.client(None).get("/v1/openapi.json").await?;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(printed, served.body);
    Ok(())
}

#[tokio::test]
async fn config_check_resolves_without_secrets_and_exits_2_on_errors() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let data_arg = data.to_string_lossy().into_owned();
    let master = "q0MNiSXJm6HvjI6eWm+CoR1lGqzIz5Jp8yLU1bQKz3A=";
    let webhook = "https://hooks.example/secret-path?token=hook-token-DO-NOT-SHOW";
    let ok = gatehouse(
        &["config", "check", "--data-dir", &data_arg],
        &[
            ("GATEHOUSE_OPERATOR_KEY", TEST_OPERATOR_KEY),
            ("GATEHOUSE_MASTER_KEY", master),
            ("GATEHOUSE_OUTPUTS_WEBHOOK_URL", webhook),
            (
                "GATEHOUSE_OUTPUTS_WEBHOOK_SECRET",
                "webhook-secret-DO-NOT-SHOW",
            ),
        ],
    )?;
    let shown = text(&ok);
    assert_eq!(ok.status.code(), Some(0), "{shown}");
    assert!(shown.contains("configuration OK"), "{shown}");
    assert!(shown.contains(&data_arg), "{shown}");
    assert!(shown.contains("hooks.example"), "{shown}");
    for secret in [TEST_OPERATOR_KEY, master, "DO-NOT-SHOW", "secret-path"] {
        assert!(!shown.contains(secret), "{secret} shown:\n{shown}");
    }
    assert!(!data.exists(), "config check creates nothing");

    // The key file would be created: reported, not written.
    let fresh = gatehouse(&["config", "check", "--data-dir", &data_arg], &[])?;
    assert_eq!(fresh.status.code(), Some(0), "{}", text(&fresh));
    assert!(text(&fresh).contains("will create it"), "{}", text(&fresh));
    assert!(!data.join("master.key").exists());

    let bad = gatehouse(
        &["config", "check", "--data-dir", &data_arg],
        &[("GATEHOUSE_MASTER_KEY", "not-a-key")],
    )?;
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(
        text(&bad).contains("GATEHOUSE_MASTER_KEY"),
        "{}",
        text(&bad)
    );
    assert!(!text(&bad).contains("not-a-key"), "{}", text(&bad));

    let config = dir.path().join("gatehouse.toml");
    std::fs::write(&config, "[server]\nlisen = \"127.0.0.1:1\"\n")?;
    let unknown = gatehouse(
        &["config", "check", "--config", &config.to_string_lossy()],
        &[],
    )?;
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    assert!(
        text(&unknown).contains("server.lisen"),
        "{}",
        text(&unknown)
    );
    Ok(())
}

#[tokio::test]
async fn no_new_master_key_over_sealed_credentials() -> anyhow::Result<()> {
    let mut first = Gatehouse::builder().start().await?;
    with_integration(&first).await?;
    assert!(first.terminate().await?.success());
    let key_file = first.data_dir.join("master.key");
    std::fs::remove_file(&key_file)?;

    let check = gatehouse(
        &[
            "config",
            "check",
            "--data-dir",
            &first.data_dir.to_string_lossy(),
        ],
        &[],
    )?;
    assert_eq!(check.status.code(), Some(2), "{}", text(&check));
    assert!(
        text(&check).contains(&key_file.display().to_string()),
        "{}",
        text(&check)
    );

    let refused = Gatehouse::builder()
        .data_dir(&first.data_dir)
        .start()
        .await
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
    assert!(refused.contains("exit status: 2"), "{refused}");
    assert!(
        refused.contains(&key_file.display().to_string()),
        "{refused}"
    );
    assert!(refused.contains("does not exist"), "{refused}");
    assert!(!key_file.exists(), "no key was generated");
    Ok(())
}

#[tokio::test]
async fn keys_rotate_reseals_under_the_new_key() -> anyhow::Result<()> {
    let mut first = Gatehouse::builder().start().await?;
    let id = with_integration(&first).await?;
    let data_dir = first.data_dir.clone();
    let data_arg = data_dir.to_string_lossy().into_owned();

    let keys = tempfile::tempdir()?;
    let new_key = keys.path().join("new.key");
    let generated = gatehouse(&["keys", "generate", &new_key.to_string_lossy()], &[])?;
    assert_eq!(generated.status.code(), Some(0), "{}", text(&generated));
    let again = gatehouse(&["keys", "generate", &new_key.to_string_lossy()], &[])?;
    assert_ne!(again.status.code(), Some(0), "never over an existing key");

    // While the daemon runs, the store is locked: the rotation refuses and changes nothing.
    let busy = gatehouse(
        &[
            "keys",
            "rotate",
            "--data-dir",
            &data_arg,
            "--new-key-file",
            &new_key.to_string_lossy(),
        ],
        &[],
    )?;
    assert_ne!(busy.status.code(), Some(0), "{}", text(&busy));
    assert!(first.terminate().await?.success());

    let rotate = || {
        gatehouse(
            &[
                "keys",
                "rotate",
                "--data-dir",
                &data_arg,
                "--new-key-file",
                &new_key.to_string_lossy(),
            ],
            &[],
        )
    };
    let done = rotate()?;
    assert_eq!(done.status.code(), Some(0), "{}", text(&done));
    assert!(
        text(&done).contains("re-sealed 1 integration"),
        "{}",
        text(&done)
    );
    assert!(!text(&done).contains(OKTA_API_TOKEN));
    let rerun = rotate()?;
    assert_eq!(rerun.status.code(), Some(0), "{}", text(&rerun));
    assert!(
        text(&rerun).contains("re-sealed 0 integration(s)"),
        "{}",
        text(&rerun)
    );
    assert!(
        text(&rerun).contains("1 already under the new key"),
        "{}",
        text(&rerun)
    );

    // With the old key the credentials no longer open; with the new one they do.
    let old_key = std::fs::read_to_string(data_dir.join("master.key"))?;
    let stale = Gatehouse::builder().data_dir(&data_dir).start().await?;
    let (status, body) = patch_credentials(&stale, &id).await?;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(
        stale.logs().contains("sealed under another master key"),
        "{}",
        stale.logs()
    );
    drop(stale);
    let new_key_text = std::fs::read_to_string(&new_key)?;
    assert_ne!(old_key, new_key_text);
    let rotated = Gatehouse::builder()
        .data_dir(&data_dir)
        .env("GATEHOUSE_MASTER_KEY", new_key_text.trim())
        .start()
        .await?;
    let (status, body) = patch_credentials(&rotated, &id).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!rotated.logs().contains(OKTA_API_TOKEN));
    Ok(())
}
