//! Directory pull of system users: `GET /api/systemusers?limit=100&skip={n}&sort=_id`.
//!
//! `skip` paging is an offset into a list that may change between pages. JumpCloud's own
//! advice is to sort by `_id` when paging with `skip` ("Best practices for the JumpCloud API");
//! new users get the newest ids, so they land at the end. A user removed between two pages
//! still shifts every later page back by one, which would skip a user. So each page after the
//! first re-reads [`OVERLAP`] records before its offset and keeps only the users whose `_id`
//! sorts after the last one already returned (the cursor carries it): nothing is doubled, and
//! up to `OVERLAP` removals between two pages miss nothing. When more were removed (the
//! re-read window starts after the last id returned), the window steps back a page at a time
//! until it reaches that id. A pass ends with a page shorter than the limit.
//!
//! `filter=_id:$gt:<id>` would page without offsets, but the v1 spec documents `filter` for
//! the user's fields without saying that `_id` compares as an ordered value, so this connector
//! relies only on `skip` and `sort`.
//!
//! Incremental pulls: see [`crate::changes`].

use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{Page, ProviderUser, PullMode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::changes::fingerprint;
use crate::connector::{results, JumpCloudConnector};
use crate::mapping::user::map_user;

/// Users per page: the limit v1 list endpoints document (`/systemusers` states none).
pub const PAGE_SIZE: usize = 100;
/// Records re-read before each page's offset, so removals between pages miss nobody.
pub const OVERLAP: usize = 10;

/// Where a pass of the directory stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersCursor {
    /// How many records the list held before the next page when the last one was read.
    pub skip: usize,
    /// The last `_id` returned in this pass.
    pub after: String,
}

impl UsersCursor {
    pub fn parse(text: &str) -> Result<Self, ConnectorError> {
        serde_json::from_str(text).map_err(|_| {
            ConnectorError::Protocol("the system users cursor is not this connector's".into())
        })
    }

    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A record's `_id` (or `id`).
fn id_of(record: &Value) -> Option<&str> {
    record
        .get("_id")
        .or_else(|| record.get("id"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Whether id `a` sorts after `b` as JumpCloud sorts `_id` (ObjectIds: 24 hex digits, so
/// by length, then text).
fn sorts_after(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

async fn read_window(
    connector: &JumpCloudConnector,
    skip: usize,
) -> Result<Vec<Value>, ConnectorError> {
    let mut url = connector.api(&["systemusers"]);
    url.query_pairs_mut()
        .append_pair("limit", &PAGE_SIZE.to_string())
        .append_pair("skip", &skip.to_string())
        .append_pair("sort", "_id");
    let value = connector
        .get_json("users", &url, "listing system users")
        .await?;
    results(value, "listing system users")
}

pub(crate) async fn users_page(
    connector: &JumpCloudConnector,
    mode: PullMode,
    cursor: Option<&str>,
) -> Result<Page<ProviderUser>, ConnectorError> {
    let state = cursor.map(UsersCursor::parse).transpose()?;
    let mut skip = state.as_ref().map_or(0, |s| s.skip.saturating_sub(OVERLAP));
    let records = loop {
        let records = read_window(connector, skip).await?;
        let reaches_back = match (&state, records.first().and_then(id_of)) {
            (None, _) => true,
            (Some(s), Some(first)) => !sorts_after(first, &s.after),
            (Some(_), None) => records.is_empty() && skip == 0,
        };
        if reaches_back || skip == 0 {
            break records;
        }
        tracing::debug!(
            skip,
            "more users removed than the overlap re-reads; stepping back"
        );
        skip = skip.saturating_sub(PAGE_SIZE);
    };
    let after = state.as_ref().map(|s| s.after.as_str());
    let mut read = Vec::with_capacity(records.len());
    let mut last: Option<&str> = after;
    for record in &records {
        let Some(id) = id_of(record) else {
            tracing::warn!("skipping a JumpCloud user record without an _id");
            continue;
        };
        if after.is_some_and(|after| !sorts_after(id, after)) {
            continue;
        }
        if last.is_some_and(|last| !sorts_after(id, last)) {
            // Out of order within a page: never return an id twice.
            continue;
        }
        last = Some(id);
        match map_user(record) {
            Some(user) => read.push((user, fingerprint(record))),
            None => tracing::warn!("skipping a JumpCloud user record without an _id"),
        }
    }
    // A full page holding nothing after the last id already returned cannot come from a list
    // sorted by `_id` (new users take the largest ids): JumpCloud answered a page already read.
    // Moving on would read that answer again for as long as it repeats; the pull fails
    // instead and resumes from here once the answers move on.
    if after.is_some() && records.len() >= PAGE_SIZE && last == after {
        return Err(ConnectorError::Protocol(
            "listing system users: JumpCloud repeated a page already read".into(),
        ));
    }
    let next = (records.len() >= PAGE_SIZE).then(|| {
        UsersCursor {
            skip: skip + records.len(),
            after: last.unwrap_or_default().to_owned(),
        }
        .to_text()
    });
    let listed = read.len();
    let filtered = connector.passes.page(&mode, cursor, read, next.as_deref());
    tracing::debug!(
        listed,
        changed = filtered.users.len(),
        more = next.is_some(),
        "jumpcloud users page pulled"
    );
    Ok(Page::new(filtered.users, next).with_sync_state(filtered.sync_state))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ids_sort_as_object_ids() {
        assert!(sorts_after(
            "5c86b7149fdce00001d38015",
            "5c86b7149fdce00001d38014"
        ));
        assert!(!sorts_after(
            "5c86b7149fdce00001d38014",
            "5c86b7149fdce00001d38014"
        ));
        assert!(sorts_after("10", "9"));
        let cursor = UsersCursor {
            skip: 200,
            after: "abc".into(),
        };
        assert_eq!(UsersCursor::parse(&cursor.to_text()).unwrap(), cursor);
        assert!(UsersCursor::parse("200").is_err());
    }
}
