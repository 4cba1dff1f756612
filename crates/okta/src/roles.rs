//! Which users hold an Okta admin role, for the inventory's `is_admin`.
//!
//! Okta keeps role assignments apart from the user record, and assigning or removing a role does
//! not change the user's `lastUpdated`, so neither kind of directory pull sees it. The roster comes
//! from `GET /api/v1/iam/assignees/users` ("List all users with role assignments", scope
//! `okta.roles.read`, `limit` default 100), whose pages link onward in the body's
//! `_links.next.href` rather than in a `Link` header. It is read at the start of every users
//! pull. An incremental pull also re-emits the users whose admin standing changed since the
//! last pull of this process that reached its final page (a pull that failed part-way does not
//! count, so its changes come again with the retry), so a grant or removal reaches the inventory
//! within one pull rather than at the next full pull (after a restart, the next full pull
//! reconciles).
//!
//! The roster is auxiliary: when it cannot be read (403 for a token without the right, 404 where
//! the API is absent, or any other failure but a refused credential) the pull goes on without
//! it, each user's `is_admin` unknown (`None`: the inventory keeps what it knew, false for a new
//! account), and logs a warning each pull, so the gap is visible.

use std::collections::HashSet;
use std::sync::Arc;

use futures::lock::Mutex;
use gatehouse_core::provider::ConnectorError;
use serde_json::Value;
use url::Url;

use crate::connector::OktaConnector;

/// Page size asked for: Okta's documented default.
const PAGE_SIZE: &str = "100";
/// Pages one roster may span (100,000 admins): past it the answer is taken as broken.
const MAX_PAGES: usize = 1_000;

/// The ids of the users holding at least one admin role.
pub(crate) type Roster = Arc<HashSet<String>>;

/// The roster of the pull under way and of the last one that finished.
#[derive(Debug, Default)]
pub(crate) struct RosterCache {
    state: Mutex<RosterState>,
}

#[derive(Debug, Default)]
struct RosterState {
    /// The roster read at the start of the current pull; `None` before the first pull and when
    /// roles could not be read.
    current: Option<Roster>,
    /// Whether `current` holds a successful read (a pull resumed after a restart reads again).
    read: bool,
    /// The roster of the last pull that reached its final page: what changes are measured from.
    settled: Option<Roster>,
}

/// A pull's view of admin roles.
pub(crate) struct PullRoster {
    /// `None` when the org would not list roles to this token.
    pub(crate) admins: Option<Roster>,
    /// Users whose admin standing differs from the previous pull's roster (only when both
    /// rosters are known).
    pub(crate) changed: Vec<String>,
}

impl PullRoster {
    /// No roster read (roles enrichment is off): admin standing stays as the inventory had it.
    pub(crate) fn unknown() -> Self {
        Self {
            admins: None,
            changed: Vec::new(),
        }
    }

    /// `None` when the roster could not be read: the inventory keeps what it knew.
    pub(crate) fn is_admin(&self, id: &str) -> Option<bool> {
        self.admins.as_ref().map(|a| a.contains(id))
    }
}

impl RosterCache {
    /// The roster for a page of a users pull: read afresh for a pull's first page (`starting`),
    /// or when none is held (a pull resumed after a restart).
    pub(crate) async fn for_page(
        &self,
        connector: &OktaConnector,
        starting: bool,
    ) -> Result<PullRoster, ConnectorError> {
        let mut state = self.state.lock().await;
        if !starting && state.read {
            return Ok(PullRoster {
                admins: state.current.clone(),
                changed: Vec::new(),
            });
        }
        let fresh = match read_roster(connector).await {
            Ok(roster) => Some(Arc::new(roster)),
            // A refused credential fails every call of the pull: say so now.
            Err(err @ ConnectorError::Unauthorized(_)) => return Err(err),
            Err(err) => {
                tracing::warn!(
                    error = %err,
                    "could not read okta's admin role assignments (scope okta.roles.read); this pull leaves is_admin as the inventory had it"
                );
                None
            }
        };
        let changed = match (&state.settled, &fresh) {
            (Some(before), Some(now)) if starting => {
                let mut changed: Vec<String> = before.symmetric_difference(now).cloned().collect();
                changed.sort();
                changed
            }
            _ => Vec::new(),
        };
        state.current = fresh.clone();
        state.read = true;
        Ok(PullRoster {
            admins: fresh,
            changed,
        })
    }

    /// The pull under way reached its final page: later pulls measure changes from its roster
    /// (a pull that could not read one leaves the reference as it was).
    pub(crate) async fn settle(&self) {
        let mut state = self.state.lock().await;
        if state.current.is_some() {
            state.settled = state.current.clone();
        }
    }
}

/// Every page of `GET /api/v1/iam/assignees/users`.
async fn read_roster(connector: &OktaConnector) -> Result<HashSet<String>, ConnectorError> {
    let mut url = connector.endpoint(&["api", "v1", "iam", "assignees", "users"]);
    url.query_pairs_mut().append_pair("limit", PAGE_SIZE);
    let expected_path = url.path().to_owned();
    let mut admins = HashSet::new();
    for _ in 0..MAX_PAGES {
        let (page, _) = connector
            .get_json("roles", &url, "listing users with admin roles")
            .await?;
        let (ids, next) = parse_page(&page)?;
        let empty = ids.is_empty();
        admins.extend(ids);
        match next {
            // An empty page that still links onward would loop forever on a broken server.
            Some(next) if !empty => url = connector.same_org(&next, &expected_path)?,
            _ => return Ok(admins),
        }
    }
    Err(ConnectorError::Protocol(format!(
        "listing users with admin roles: more than {MAX_PAGES} pages"
    )))
}

/// The user ids of one page and its `_links.next.href`.
fn parse_page(page: &Value) -> Result<(Vec<String>, Option<String>), ConnectorError> {
    let Some(items) = page.get("value").and_then(Value::as_array) else {
        return Err(ConnectorError::Protocol(
            "listing users with admin roles: the answer has no `value` array".into(),
        ));
    };
    let ids = items
        .iter()
        .filter_map(|item| item.get("id").and_then(Value::as_str))
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect();
    let next = page
        .pointer("/_links/next/href")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok((ids, next))
}

/// The roster's effect on a page: ids already in it need no extra fetch.
pub(crate) fn missing_from_page(changed: &[String], page_ids: &[&str]) -> Vec<String> {
    changed
        .iter()
        .filter(|id| !page_ids.contains(&id.as_str()))
        .cloned()
        .collect()
}

/// `GET /api/v1/users/{id}`: the record of a user whose admin standing changed; `None` when the
/// user is gone.
pub(crate) async fn user_record(
    connector: &OktaConnector,
    id: &str,
) -> Result<Option<Value>, ConnectorError> {
    let url: Url = connector.endpoint(&["api", "v1", "users", id]);
    match connector.get_json("users", &url, "reading a user").await {
        Ok((user, _)) => Ok(Some(user)),
        Err(ConnectorError::NotFound(_)) => Ok(None),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_gives_its_ids_and_the_body_next_link() {
        let page: Value =
            serde_json::from_str(include_str!("../tests/fixtures/role_assigned_users.json"))
                .expect("fixture");
        let (ids, next) = parse_page(&page).expect("a page");
        assert_eq!(ids, ["00u118oQYT4TBGuay0g4"]);
        assert_eq!(
            next.as_deref(),
            Some("https://acme.okta.com/api/v1/iam/assignees/users?after=00u118oQYT4TBGuay0g4&limit=1")
        );
        let last = serde_json::json!({"value": [], "_links": {}});
        assert_eq!(parse_page(&last).expect("a page"), (Vec::new(), None));
    }

    #[test]
    fn an_answer_without_a_value_array_is_a_protocol_error() {
        let err = parse_page(&serde_json::json!([{"id": "00u1"}])).expect_err("not a page");
        assert!(matches!(err, ConnectorError::Protocol(_)));
    }

    #[test]
    fn changed_users_already_on_the_page_are_not_fetched_again() {
        let changed = vec!["00u1".to_owned(), "00u2".to_owned()];
        assert_eq!(missing_from_page(&changed, &["00u2", "00u3"]), ["00u1"]);
    }
}
