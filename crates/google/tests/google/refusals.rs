//! The refusals the end-to-end tests do not already cover (they cover a foreign key and a
//! `sub` that is no administrator): a `sub` Google does not know and a scope domain-wide
//! delegation does not grant. The simulator answers each with the token endpoint's error body
//! as Google words it; the connector's `check()` must name Google's code, say what to fix, and
//! carry no part of the private key.

use anyhow::{ensure, Context as _};
use gatehouse_core::provider::{Connector, ConnectorError};
use gatehouse_google::Scope;
use gatehouse_idp_sim::google::GoogleConfig;
use serde_json::json;

use crate::support::{Workspace, CONNECTOR_SCOPES};

fn config() -> GoogleConfig {
    GoogleConfig {
        users: 5,
        groups: 1,
        activities: 0,
        ..GoogleConfig::default()
    }
}

/// The key's body lines (the PEM armour alone would prove nothing).
fn key_lines(workspace: &Workspace) -> Vec<String> {
    workspace
        .sim
        .config()
        .service_account
        .private_key_pem
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 20)
        .map(str::to_owned)
        .collect()
}

/// The error shown and logged, in both renderings, holds no line of the key.
fn no_key_in(err: &ConnectorError, workspace: &Workspace) -> anyhow::Result<()> {
    let lines = key_lines(workspace);
    ensure!(lines.len() > 10, "the key has a body");
    for text in [err.to_string(), format!("{err:?}")] {
        for line in &lines {
            ensure!(!text.contains(line.as_str()), "the key in {text}");
        }
    }
    Ok(())
}

/// The token requests the simulator answered, as statuses.
fn token_statuses(workspace: &Workspace) -> Vec<u16> {
    workspace
        .sim
        .calls()
        .iter()
        .filter(|c| c.path == "/token")
        .map(|c| c.status)
        .collect()
}

#[tokio::test]
async fn an_unknown_subject_is_invalid_grant_and_names_admin_email() -> anyhow::Result<()> {
    let workspace = Workspace::start(config())?;
    let connector =
        workspace.connector_with(workspace.credentials("nobody.here@example.com"), json!({}))?;
    let err = connector
        .check()
        .await
        .err()
        .context("check passed with an unknown sub")?;
    let text = err.to_string();
    ensure!(
        matches!(err, ConnectorError::Unauthorized(_)),
        "not a credentials error: {err:?}"
    );
    ensure!(
        text.contains("invalid_grant: Invalid email or User ID"),
        "Google's code and words: {text}"
    );
    ensure!(text.contains("admin_email"), "says what to fix: {text}");
    no_key_in(&err, &workspace)?;
    ensure!(
        token_statuses(&workspace) == vec![400],
        "{:?}",
        workspace.sim.calls()
    );
    ensure!(
        !workspace
            .sim
            .calls()
            .iter()
            .any(|c| c.path.starts_with("/admin/")),
        "no API call without a token"
    );
    Ok(())
}

#[tokio::test]
async fn a_directory_scope_not_delegated_is_unauthorized_client() -> anyhow::Result<()> {
    // Domain-wide delegation grants everything but reading users (what check() needs).
    let mut config = config();
    config.authorized_scopes = CONNECTOR_SCOPES
        .iter()
        .filter(|s| **s != Scope::UserReadonly)
        .map(|s| s.url().to_owned())
        .collect();
    let workspace = Workspace::start_exactly(config)?;
    let connector = workspace.connector(json!({}))?;
    let err = connector
        .check()
        .await
        .err()
        .context("check passed without the users scope")?;
    let text = err.to_string();
    ensure!(
        matches!(err, ConnectorError::Unauthorized(_)),
        "not a credentials error: {err:?}"
    );
    ensure!(
        text.contains("unauthorized_client"),
        "Google's code: {text}"
    );
    ensure!(
        text.contains("Domain-wide delegation"),
        "says where to grant it: {text}"
    );
    no_key_in(&err, &workspace)?;
    ensure!(
        token_statuses(&workspace) == vec![401],
        "{:?}",
        workspace.sim.calls()
    );
    Ok(())
}

#[tokio::test]
async fn a_reports_scope_not_delegated_is_a_note_not_a_failure() -> anyhow::Result<()> {
    let mut config = config();
    config.authorized_scopes = CONNECTOR_SCOPES
        .iter()
        .filter(|s| **s != Scope::AuditReadonly)
        .map(|s| s.url().to_owned())
        .collect();
    let workspace = Workspace::start_exactly(config)?;
    let connector = workspace.connector(json!({}))?;
    let report = connector.check().await?;
    ensure!(report.notes.len() == 1, "{:?}", report.notes);
    let note = &report.notes[0];
    ensure!(
        note.contains("admin.reports.audit.readonly") && note.contains("unauthorized_client"),
        "the note names the missing scope and Google's answer: {note}"
    );
    for line in key_lines(&workspace) {
        ensure!(!note.contains(line.as_str()), "the key in {note}");
    }
    // The pull that needs it fails alone, as a credentials error.
    let err = connector
        .signins_page(None)
        .await
        .err()
        .context("login activity read without its scope")?;
    ensure!(matches!(err, ConnectorError::Unauthorized(_)), "{err:?}");
    Ok(())
}
