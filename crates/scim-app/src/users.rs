//! Directory pull: `GET /Users?startIndex={i}&count={n}` (RFC 7644 §3.4.2.4), pages of the
//! integration's `page_size`, else the app's `filter.maxResults`, else 100. An app may return
//! fewer than asked (its own maximum), so the next page starts after what it returned, and a
//! pass ends at `totalResults`, or at an empty page.
//!
//! `startIndex` is an offset into a list that can change between pages: a user removed before
//! the offset shifts every later user back by one, which would skip one. So each page after the
//! first re-reads [`OVERLAP`] users before its offset, and drops the ones the previous page
//! ended with (the cursor carries their ids): nothing is doubled, and up to `OVERLAP` removals
//! between two pages miss nobody. (SCIM lists have no documented order; apps keep creation
//! order in practice, which is what this relies on. Past `OVERLAP` removals mid-pass an account
//! may be missed until the next pull.)
//!
//! SCIM offers no change feed every app implements (`meta.lastModified gt` filters are
//! optional and often missing), so incremental pulls compare fingerprints with the last pass
//! (`gatehouse_connect::compare`): every page is read, only changed users are stored, users
//! gone since are tombstoned.

use gatehouse_connect::compare::Passes;
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{Page, ProviderUser, PullMode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::connector::ScimAppConnector;
use crate::features::Features;
use crate::mapping::map_user;

/// Users re-read before each page's offset.
pub const OVERLAP: usize = 5;
/// Page size when neither the integration nor the app says.
pub const DEFAULT_PAGE: usize = 100;
/// Heads the change token: the fingerprint is of the record without `meta`.
const FORMAT: &str = "gatehouse-scim-app-fingerprints-1";

pub(crate) fn passes() -> Passes {
    Passes::new(FORMAT)
}

/// A record's fingerprint: every attribute but `meta` (its `location` names the host the app
/// was reached through; `lastModified` moves with the attributes anyway).
pub(crate) fn fingerprint(record: &Value) -> u64 {
    gatehouse_connect::compare::fingerprint(record, &["meta"])
}

/// Where a pass stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersCursor {
    /// The 1-based index of the next user to read.
    pub next: usize,
    /// The ids the previous page ended with.
    pub recent: Vec<String>,
}

impl UsersCursor {
    pub fn parse(text: &str) -> Result<Self, ConnectorError> {
        serde_json::from_str(text).map_err(|_| {
            ConnectorError::Protocol("the users cursor is not this connector's".into())
        })
    }

    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A ListResponse's `Resources` (absent when there are none) and `totalResults`.
pub(crate) fn list_of(
    mut value: Value,
    what: &str,
) -> Result<(Vec<Value>, Option<usize>), ConnectorError> {
    let total = value
        .get("totalResults")
        .and_then(Value::as_u64)
        .map(|t| t as usize);
    match value.get_mut("Resources").map(Value::take) {
        Some(Value::Array(items)) => Ok((items, total)),
        None | Some(Value::Null) if value.is_object() => Ok((Vec::new(), total)),
        _ => Err(ConnectorError::Protocol(format!(
            "{what}: the app's answer is not a SCIM ListResponse"
        ))),
    }
}

/// The page size `/Users` is listed in: the integration's `page_size`, else the app's
/// `filter.maxResults`, else [`DEFAULT_PAGE`].
pub(crate) fn page_size(connector: &ScimAppConnector, features: &Features) -> usize {
    connector
        .settings
        .page_size
        .or(features.max_results)
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, 1000)
}

pub(crate) async fn users_page(
    connector: &ScimAppConnector,
    mode: PullMode,
    cursor: Option<&str>,
) -> Result<Page<ProviderUser>, ConnectorError> {
    let features = connector.features().await?;
    let count = page_size(connector, &features);
    let state = cursor.map(UsersCursor::parse).transpose()?;
    // Never re-read so much that a page makes no progress.
    let overlap = OVERLAP.min(count / 2);
    let start = state
        .as_ref()
        .map_or(1, |s| s.next.saturating_sub(overlap).max(1));
    let mut url = connector.url(&["Users"]);
    url.query_pairs_mut()
        .append_pair("startIndex", &start.to_string())
        .append_pair("count", &count.to_string());
    let answer = connector.get_json("users", &url, "listing users").await?;
    // RFC 7644 §3.4.2.4: a paged answer says where it starts. One that starts elsewhere (an
    // app answering the same page again whatever it is asked) would be taken for the next
    // page: its users read twice and the real next page's skipped, then marked gone by a full
    // pull. Failing keeps the cursor here for the next run.
    if let Some(answered) = answer.get("startIndex").and_then(Value::as_u64) {
        if answered != start as u64 {
            return Err(ConnectorError::Protocol(format!(
                "listing users: the app answered startIndex {answered} to a request for \
                 {start}: a repeated or misplaced page"
            )));
        }
    }
    let (records, total) = list_of(answer, "listing users")?;
    let returned = records.len();
    let recent: &[String] = state.as_ref().map_or(&[], |s| s.recent.as_slice());
    let mut read = Vec::with_capacity(returned);
    let mut ids = Vec::with_capacity(returned);
    for record in &records {
        let Some(user) = map_user(record) else {
            tracing::warn!("skipping a SCIM user without an id");
            continue;
        };
        ids.push(user.external_id.clone());
        if recent.contains(&user.external_id) {
            continue;
        }
        read.push((user, fingerprint(record)));
    }
    let following = start + returned;
    // An app whose pages are no longer than the re-read window would never get further.
    let progressed = state.as_ref().is_none_or(|s| following > s.next);
    let more = returned > 0 && progressed && total.is_none_or(|t| following <= t);
    let next = more.then(|| {
        UsersCursor {
            next: following,
            recent: ids.iter().rev().take(OVERLAP).rev().cloned().collect(),
        }
        .to_text()
    });
    let listed = read.len();
    let filtered = connector.passes.page(&mode, cursor, read, next.as_deref());
    tracing::debug!(
        listed,
        changed = filtered.users.len(),
        more = next.is_some(),
        "scim_app users page pulled"
    );
    Ok(Page::new(filtered.users, next).with_sync_state(filtered.sync_state))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn cursors_and_fingerprints() {
        let cursor = UsersCursor {
            next: 101,
            recent: vec!["a".into()],
        };
        assert_eq!(UsersCursor::parse(&cursor.to_text()).unwrap(), cursor);
        assert!(UsersCursor::parse("101").is_err());
        let a = serde_json::json!({"id": "1", "active": true, "meta": {"location": "http://a"}});
        let b = serde_json::json!({"active": true, "id": "1", "meta": {"location": "http://b"}});
        let c = serde_json::json!({"id": "1", "active": false});
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
        let (items, total) = list_of(serde_json::json!({"totalResults": 0}), "x").unwrap();
        assert!(items.is_empty() && total == Some(0));
        assert!(list_of(serde_json::json!([]), "x").is_err());
    }

    /// RFC 7644 §3.4.2's example answer, with a second page to follow.
    fn list_response() -> Value {
        serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 2, "startIndex": 1, "itemsPerPage": 1,
            "Resources": [{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": "2819c223-7f76-453a-919d-413861904646", "userName": "bjensen@example.com",
                "active": true, "meta": {"resourceType": "User"}}]
        })
    }

    /// `list_of`'s answer for `page`, or a refusal, checked field by field.
    fn check_list(page: &Value) {
        match list_of(page.clone(), "fuzz") {
            Ok((items, total)) => {
                assert!(page.is_object(), "only an object is a ListResponse");
                let listed = page.get("Resources").and_then(Value::as_array);
                assert_eq!(&items, listed.unwrap_or(&Vec::new()));
                let said = page.get("totalResults").and_then(Value::as_u64);
                assert_eq!(total.map(|t| t as u64), said);
            }
            Err(_) => assert!(
                !page.is_object() || !(page["Resources"].is_array() || page["Resources"].is_null())
            ),
        }
    }

    proptest::proptest! {
        #![proptest_config(gatehouse_connect::fuzz::config(64))]

        /// Any JSON as a ListResponse keeps every resource of its list and the total it says,
        /// or is refused: only when it is not an object or its `Resources` is not a list.
        #[test]
        fn any_json_as_a_list_response_is_read_or_refused(page in gatehouse_connect::fuzz::json()) {
            check_list(&page);
        }

        /// The same for a real ListResponse with fields removed, retyped or replaced.
        #[test]
        fn a_mutated_list_response_is_read_or_refused(
            page in gatehouse_connect::fuzz::mutated(list_response(), 6)
        ) {
            check_list(&page);
        }
    }
}
