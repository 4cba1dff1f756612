//! `check()`: a token of the directory scope, then
//! `GET /admin/directory/v1/users?customer={customer}&maxResults=1` (the cheapest call that
//! needs it). Optional scopes are probed and reported as notes, not failures: the login report
//! (`admin.reports.audit.readonly`) when sign-ins are pulled, and groups
//! (`admin.directory.group.readonly`).

use gatehouse_core::provider::{CheckReport, ConnectorError};

use crate::auth::Scope;
use crate::connector::GoogleConnector;

/// The note for a login report the service account may not read.
pub const REPORTS_NOTE: &str = "login activity needs the admin.reports.audit.readonly scope in \
    domain-wide delegation";
/// The note for groups the service account may not read.
pub const GROUPS_NOTE: &str = "groups need the admin.directory.group.readonly scope in \
    domain-wide delegation";

pub(crate) async fn check(connector: &GoogleConnector) -> Result<CheckReport, ConnectorError> {
    let mut url = connector.directory(&["users"]);
    url.query_pairs_mut()
        .append_pair("customer", &connector.customer)
        .append_pair("maxResults", "1");
    match connector
        .get_json(&[Scope::UserReadonly], "users", &url, "reading one user")
        .await
    {
        Ok(_) => {}
        Err(ConnectorError::Forbidden(message)) => {
            return Err(ConnectorError::Forbidden(format!(
                "{message}; admin_email must be an administrator who may read users"
            )))
        }
        Err(err) => return Err(err),
    }
    let mut notes = Vec::new();
    let mut groups = connector.directory(&["groups"]);
    groups
        .query_pairs_mut()
        .append_pair("customer", &connector.customer)
        .append_pair("maxResults", "1");
    if let Err(err) = connector
        .get_json(
            &[Scope::GroupReadonly],
            "groups",
            &groups,
            "reading one group",
        )
        .await
    {
        match err {
            ConnectorError::Forbidden(_) | ConnectorError::Unauthorized(_) => {
                notes.push(format!("{GROUPS_NOTE} ({err})"))
            }
            other => return Err(other),
        }
    }
    if connector.settings.ingest_signins {
        let mut url = crate::signins::activities_url(connector);
        url.query_pairs_mut().append_pair("maxResults", "1");
        if let Err(err) = connector
            .get_json(
                &[Scope::AuditReadonly],
                "reports",
                &url,
                "reading the login report",
            )
            .await
        {
            match err {
                ConnectorError::Forbidden(_) | ConnectorError::Unauthorized(_) => {
                    notes.push(format!("{REPORTS_NOTE} ({err})"))
                }
                other => return Err(other),
            }
        }
    }
    Ok(CheckReport {
        principal: Some(format!(
            "service account {} acting as {}",
            connector.client_email(),
            connector.admin_email()
        )),
        notes,
    })
}
