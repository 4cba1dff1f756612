//! `check()`: `GET /api/systemusers?limit=1` (the cheapest call that needs the key), then,
//! when events are pulled, one Directory Insights query of a minute (`limit: 1`), whose
//! refusal is reported as a note rather than a failure.

use chrono::{Duration, SecondsFormat};
use gatehouse_core::provider::{CheckReport, ConnectorError};
use http::Method;
use serde_json::json;

use crate::connector::JumpCloudConnector;

/// The note for Directory Insights events the key may not read.
pub const INSIGHTS_NOTE: &str = "Directory Insights events could not be read with this key \
    (an administrator role with access to Directory Insights is needed)";

pub(crate) async fn check(connector: &JumpCloudConnector) -> Result<CheckReport, ConnectorError> {
    let mut url = connector.api(&["systemusers"]);
    url.query_pairs_mut().append_pair("limit", "1");
    connector
        .get_json("users", &url, "reading one system user")
        .await?;
    let mut notes = Vec::new();
    if connector.settings.ingest_signins {
        let now = connector.clock.now();
        let body = json!({
            "service": ["all"],
            "start_time": (now - Duration::minutes(1)).to_rfc3339_opts(SecondsFormat::Secs, true),
            "limit": 1,
        });
        let url = connector.insights(&["events"]);
        if let Err(err) = connector
            .call_json(
                "insights",
                Method::POST,
                &url,
                Some(&body),
                "reading Directory Insights events",
            )
            .await
        {
            match err {
                ConnectorError::Forbidden(_) | ConnectorError::Unauthorized(_) => {
                    notes.push(format!("{INSIGHTS_NOTE} ({err})"))
                }
                other => return Err(other),
            }
        }
    }
    Ok(CheckReport {
        principal: Some("JumpCloud administrator API key".to_owned()),
        notes,
    })
}
