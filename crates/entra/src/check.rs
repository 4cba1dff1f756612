//! `check()`: a token from the token service, then `GET /v1.0/users?$top=1&$select=id` (the
//! cheapest call that needs User.Read.All). Optional permissions and licences are probed and
//! reported as notes, not failures: `GET /auditLogs/signIns?$top=1` (AuditLog.Read.All and
//! Entra ID P1) when sign-ins are pulled.

use gatehouse_core::provider::{CheckReport, ConnectorError};

use crate::connector::EntraConnector;

pub(crate) async fn check(connector: &EntraConnector) -> Result<CheckReport, ConnectorError> {
    let mut url = connector.endpoint(&["users"]);
    url.query_pairs_mut()
        .append_pair("$top", "1")
        .append_pair("$select", "id");
    match connector
        .get_json("users", &url, "reading one user", &[])
        .await
    {
        Ok(_) => {}
        Err(ConnectorError::Forbidden(message)) => {
            return Err(ConnectorError::Forbidden(format!(
                "{message}; grant the app the User.Read.All application permission (admin consent)"
            )))
        }
        Err(err) => return Err(err),
    }
    let mut notes = Vec::new();
    if connector.settings.ingest_signins {
        let mut url = connector.endpoint(&["auditLogs", "signIns"]);
        url.query_pairs_mut().append_pair("$top", "1");
        match connector
            .get_json("signins", &url, "reading the sign-in log", &[])
            .await
        {
            Ok(_) => {}
            Err(ConnectorError::Forbidden(message)) => notes.push(format!(
                "sign-in logs need AuditLog.Read.All and Entra ID P1 ({message})"
            )),
            Err(err) => return Err(err),
        }
    }
    if connector.push_url.is_none() {
        notes.push("change notifications: no public_base_url, so no subscription is kept".into());
    }
    Ok(CheckReport {
        principal: Some(format!(
            "app {} in tenant {}",
            connector.client_id(),
            connector.tenant_id
        )),
        notes,
    })
}
