//! Directory pull of users: `GET /admin/directory/v1/users?customer={customer}&maxResults=500
//! &projection=full&pageToken=…` (`users.list`: at most 500 per page, `nextPageToken` to
//! continue; scope `admin.directory.user.readonly`). The cursor is the page token, sent back
//! as a query parameter of the same fixed URL, so a forged cursor cannot send the token
//! anywhere else.
//!
//! Incremental pulls: the Directory API has no change feed and no "updated since" filter, so a
//! [`PullMode::Changed`] pull reads every page and returns only the users whose record changed
//! since the last complete pass, and tombstones for the users gone since (see
//! [`crate::changes`]).

use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{Page, ProviderUser, PullMode};

use crate::auth::Scope;
use crate::changes::fingerprint;
use crate::connector::{list_page, GoogleConnector};
use crate::mapping::user::map_user;

/// Users per page: the API's maximum.
pub const PAGE_SIZE: &str = "500";

pub(crate) async fn users_page(
    connector: &GoogleConnector,
    mode: PullMode,
    cursor: Option<&str>,
) -> Result<Page<ProviderUser>, ConnectorError> {
    let mut url = connector.directory(&["users"]);
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("customer", &connector.customer)
            .append_pair("maxResults", PAGE_SIZE)
            .append_pair("projection", "full");
        if let Some(token) = cursor {
            query.append_pair("pageToken", token);
        }
    }
    let value = connector
        .get_json(&[Scope::UserReadonly], "users", &url, "listing users")
        .await?;
    let (records, next) = list_page(value, "users", "listing users")?;
    if next.is_some() && next.as_deref() == cursor {
        return Err(ConnectorError::Protocol(
            "listing users: the next page token is the one just used".into(),
        ));
    }
    let mut read = Vec::with_capacity(records.len());
    for record in records {
        let fingerprint = fingerprint(&record);
        match map_user(&record) {
            Some(user) => read.push((user, fingerprint)),
            None => tracing::warn!("skipping a Google user record without an id"),
        }
    }
    let listed = read.len();
    let filtered = connector.passes.page(&mode, cursor, read, next.as_deref());
    tracing::debug!(
        listed,
        changed = filtered.users.len(),
        more = next.is_some(),
        "google users page pulled"
    );
    Ok(Page::new(filtered.users, next).with_sync_state(filtered.sync_state))
}
