//! `GET /v1.0/auditLogs/signIns`: newest first by `createdDateTime` (or
//! `$orderby=createdDateTime asc`), `$top` up to 1,000 (also the default),
//! `$filter` on the documented properties, `$skiptoken` paging that is
//! stable under late arrivals, the P1/P2 licence check, and the arrival
//! lag: an event is listed only once its `visible` time has passed, so an
//! event with an older `createdDateTime` can appear after newer ones.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::errors::GraphError;
use super::odata::{self, Query};
use super::token::Caller;
use super::users::{base, Answer};
use super::EntraSim;

const FILTERABLE: &[&str] = &[
    "id",
    "createdDateTime",
    "userId",
    "userPrincipalName",
    "userDisplayName",
    "appId",
    "appDisplayName",
    "ipAddress",
    "conditionalAccessStatus",
    "correlationId",
    "isInteractive",
    "status/errorCode",
    "deviceDetail/browser",
    "deviceDetail/operatingSystem",
    "location/city",
    "location/countryOrRegion",
    "riskLevelDuringSignIn",
    "riskState",
    "resourceId",
    "clientAppUsed",
];

#[derive(Serialize, Deserialize)]
struct Cursor {
    /// Visibility snapshot of the first page (epoch ms).
    snap: i64,
    /// The last item given: (createdDateTime ms, id).
    c: i64,
    id: String,
    asc: bool,
}

fn path_get(v: &Value, path: &str) -> Option<Value> {
    let mut cur = v;
    for seg in path.split('/') {
        cur = cur.get(seg)?;
    }
    Some(cur.clone())
}

/// `GET /v1.0/auditLogs/signIns`.
pub async fn list(
    State(sim): State<EntraSim>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Answer {
    caller.require(&["AuditLog.Read.All"])?;
    if !sim.config().premium {
        return Err(GraphError::non_premium());
    }
    let q = Query::parse(raw.as_deref());
    let top = odata::top(&q, 1000)?.unwrap_or(1000);
    let filter = match q.get("$filter") {
        Some(t) => {
            let f = odata::parse_filter(t).map_err(|t| {
                GraphError::bad_request(
                    "BadRequest",
                    format!("Invalid filter clause: syntax error near '{t}'."),
                )
            })?;
            let mut names = Vec::new();
            odata::props(&f, &mut names);
            if let Some(n) = names
                .iter()
                .find(|n| !FILTERABLE.iter().any(|a| a.eq_ignore_ascii_case(n)))
            {
                return Err(GraphError::bad_request(
                    "BadRequest",
                    format!("Invalid filter clause: Could not find a property named '{n}' on type 'microsoft.graph.signIn'."),
                ));
            }
            Some(f)
        }
        None => None,
    };
    let asc = match q.get("$orderby").map(|o| o.trim().to_ascii_lowercase()) {
        None => false,
        Some(o) if o == "createddatetime" || o == "createddatetime desc" => false,
        Some(o) if o == "createddatetime asc" => true,
        Some(o) => {
            return Err(GraphError::bad_request(
                "BadRequest",
                format!("Invalid $orderby clause '{o}': only createdDateTime is supported."),
            ))
        }
    };
    let now_ms = sim.clock().now_ms();
    let cursor = match q.get("$skiptoken") {
        Some(t) => Some(
            odata::open::<Cursor>(t)
                .ok_or_else(|| GraphError::bad_request("BadRequest", "Invalid skip token."))?,
        ),
        None => None,
    };
    let snap = cursor.as_ref().map_or(now_ms, |c| c.snap);
    let asc = cursor.as_ref().map_or(asc, |c| c.asc);
    let store = sim.store();
    let list = &store.signins;
    let after = |s: &super::model::SignIn, c: &Cursor| {
        // Ordering of `s` against the cursor's item, newest first.
        c.c.cmp(&s.created_ms)
            .then_with(|| s.id.as_str().cmp(c.id.as_str()))
    };
    let mut value = Vec::new();
    let mut last: Option<(i64, String)> = None;
    let mut more = false;
    let mut consider = |s: &super::model::SignIn, value: &mut Vec<Value>| -> bool {
        if s.visible_ms > snap {
            return true;
        }
        if let Some(f) = &filter {
            if !odata::eval(f, &|p| {
                let canon = FILTERABLE
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(p))
                    .copied()
                    .unwrap_or(p);
                path_get(&s.body, canon)
            }) {
                return true;
            }
        }
        if value.len() == top {
            more = true;
            return false;
        }
        value.push(s.body.clone());
        last = Some((s.created_ms, s.id.clone()));
        true
    };
    if asc {
        let end = match &cursor {
            Some(c) => list.partition_point(|s| after(s, c) == std::cmp::Ordering::Less),
            None => list.len(),
        };
        for s in list[..end].iter().rev() {
            if !consider(s, &mut value) {
                break;
            }
        }
    } else {
        let from = match &cursor {
            Some(c) => list.partition_point(|s| after(s, c) != std::cmp::Ordering::Greater),
            None => 0,
        };
        for s in &list[from..] {
            if !consider(s, &mut value) {
                break;
            }
        }
    }
    drop(store);
    let b = base(&sim, &headers);
    let mut body = json!({"@odata.context": format!("{b}/v1.0/$metadata#auditLogs/signIns")});
    if let (true, Some((c, id))) = (more, last) {
        let token = odata::seal(&Cursor { snap, c, id, asc });
        body["@odata.nextLink"] =
            json!(q.link(&b, "/v1.0/auditLogs/signIns", ("$skiptoken", &token)));
    }
    body["value"] = Value::Array(value);
    Ok(Json(body).into_response())
}
