//! Directory pull of user groups (v2): `GET /api/v2/usergroups?limit=100&skip={n}` (a JSON
//! array of `UserGroup`; `limit` is "Limited to 100"), and for each group of the page every
//! page of `GET /api/v2/usergroups/{id}/members?limit=100&skip={n}` (the group's direct user
//! members as `GraphConnection`s). `/membership` would list the same users as
//! `GraphObjectWithPaths`; `/members` is the documented list of a user group's members and
//! carries only what is needed (the user's id).
//!
//! Both lists page by offset, and neither documents its order: the v2 `sort` takes "fields
//! … from an endpoint response", but JumpCloud's paging advice names v1's `_id`, and
//! JumpCloud's own SDK pages v2 lists without a sort. So the connector relies on no order
//! beyond the list keeping its order between two calls, and re-reads [`OVERLAP`] records
//! before each offset: groups or members removed between two pages (up to the overlap) shift
//! the list back without a record being missed. For groups, the cursor carries the ids of the
//! last records read, and a page returns only what comes after the last of them in its window;
//! for members, which are read within one page, ids already read are skipped. A group
//! returned twice (more than the overlap removed at once) is harmless: the engine stores a
//! group by its id. A list ends with an answer shorter than the limit.
//!
//! A group removed between the listing and the read of its members (404) is left out of the
//! page: it is gone.

use std::collections::HashSet;

use futures::stream::{self, StreamExt};
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{Page, ProviderGroup};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::connector::JumpCloudConnector;
use crate::mapping::group::{map_group, member_id};
use crate::mapping::text;

/// Groups and members per answer: the v2 lists' documented maximum.
pub const PAGE_SIZE: usize = 100;
/// Records re-read before each offset, so removals between two pages miss nothing.
pub const OVERLAP: usize = 10;
/// Member lists read at once (one page of groups costs a call per group at least).
const MEMBER_CONCURRENCY: usize = 4;
/// Member pages read for one group before its list counts as never ending (about 1.8 million
/// members: far past any organization, so only a list that repeats itself reaches it).
const MAX_MEMBER_PAGES: usize = 20_000;

/// Where a pass over the groups stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupsCursor {
    /// How many groups the list held before the next page when the last one was read.
    pub skip: usize,
    /// The ids of the last [`OVERLAP`] groups read, which the next window re-reads.
    pub tail: Vec<String>,
}

impl GroupsCursor {
    pub fn parse(text: &str) -> Result<Self, ConnectorError> {
        serde_json::from_str(text).map_err(|_| {
            ConnectorError::Protocol("the user groups cursor is not this connector's".into())
        })
    }

    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One answer of a v2 list: a JSON array.
async fn read_list(
    connector: &JumpCloudConnector,
    bucket: &str,
    segments: &[&str],
    skip: usize,
    what: &str,
) -> Result<Vec<Value>, ConnectorError> {
    let mut url = connector.api(segments);
    url.query_pairs_mut()
        .append_pair("limit", &PAGE_SIZE.to_string())
        .append_pair("skip", &skip.to_string());
    match connector.get_json(bucket, &url, what).await? {
        Value::Array(items) => Ok(items),
        Value::Null => Ok(Vec::new()),
        _ => Err(ConnectorError::Protocol(format!(
            "{what}: JumpCloud's answer is not a list"
        ))),
    }
}

/// Where a window picks up after the previous page: just past the last record of the cursor's
/// tail it holds. Without any (more groups removed than the overlap re-reads, or the tail's
/// groups removed), the whole window: some groups may come twice, none is skipped here.
fn start_of(records: &[Value], tail: &[String]) -> usize {
    records
        .iter()
        .rposition(|r| text(r.get("id")).is_some_and(|id| tail.iter().any(|t| t == id)))
        .map_or(0, |last| last + 1)
}

pub(crate) async fn groups_page(
    connector: &JumpCloudConnector,
    cursor: Option<&str>,
) -> Result<Page<ProviderGroup>, ConnectorError> {
    let state = cursor.map(GroupsCursor::parse).transpose()?;
    let skip = state.as_ref().map_or(0, |s| s.skip.saturating_sub(OVERLAP));
    let records = read_list(
        connector,
        "groups",
        &["v2", "usergroups"],
        skip,
        "listing user groups",
    )
    .await?;
    let start = match &state {
        Some(s) if !s.tail.is_empty() => {
            let start = start_of(&records, &s.tail);
            if start == 0 && !records.is_empty() {
                tracing::debug!(
                    skip,
                    "none of the last groups read is in the re-read window; reading it whole"
                );
            }
            start
        }
        _ => 0,
    };
    let mut seen = HashSet::new();
    let mut groups: Vec<(String, &Value)> = Vec::new();
    for record in records.get(start..).unwrap_or_default() {
        match text(record.get("id")) {
            Some(id) if seen.insert(id) => groups.push((id.to_owned(), record)),
            Some(_) => {}
            None => tracing::warn!("skipping a JumpCloud user group without an id"),
        }
    }
    let ids: Vec<String> = groups.iter().map(|(id, _)| id.clone()).collect();
    let members: Vec<Result<Option<Vec<String>>, ConnectorError>> = stream::iter(ids)
        .map(|id| members_of(connector, id))
        .buffered(MEMBER_CONCURRENCY)
        .collect()
        .await;
    let mut items = Vec::with_capacity(groups.len());
    for ((_, record), members) in groups.into_iter().zip(members) {
        let Some(members) = members? else {
            continue;
        };
        if let Some(group) = map_group(record, members) {
            items.push(group);
        }
    }
    let next = (records.len() >= PAGE_SIZE).then(|| {
        let tail = records
            .iter()
            .rev()
            .take(OVERLAP)
            .rev()
            .filter_map(|r| text(r.get("id")).map(str::to_owned))
            .collect();
        GroupsCursor {
            skip: skip + records.len(),
            tail,
        }
        .to_text()
    });
    tracing::debug!(
        listed = records.len(),
        groups = items.len(),
        more = next.is_some(),
        "jumpcloud user groups page pulled"
    );
    Ok(Page::new(items, next))
}

/// Every user member of group `id`, each once; `None` when the group is gone (404).
async fn members_of(
    connector: &JumpCloudConnector,
    id: String,
) -> Result<Option<Vec<String>>, ConnectorError> {
    let mut members = Vec::new();
    let mut seen = HashSet::new();
    let mut skip = 0;
    for _ in 0..MAX_MEMBER_PAGES {
        let records = match read_list(
            connector,
            "group-members",
            &["v2", "usergroups", &id, "members"],
            skip,
            "listing a user group's members",
        )
        .await
        {
            Ok(records) => records,
            Err(ConnectorError::NotFound(_)) => {
                tracing::debug!(group = %id, "user group removed while it was read; leaving it out");
                return Ok(None);
            }
            Err(other) => return Err(other),
        };
        for record in &records {
            if let Some(member) = member_id(record) {
                if seen.insert(member.to_owned()) {
                    members.push(member.to_owned());
                }
            }
        }
        if records.len() < PAGE_SIZE {
            return Ok(Some(members));
        }
        skip += records.len() - OVERLAP;
    }
    Err(ConnectorError::Protocol(format!(
        "listing a user group's members: more than {MAX_MEMBER_PAGES} pages of {PAGE_SIZE}"
    )))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn window(ids: &[&str]) -> Vec<Value> {
        ids.iter().map(|id| json!({"id": id})).collect()
    }

    fn tail(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|id| (*id).to_owned()).collect()
    }

    #[test]
    fn a_window_picks_up_after_the_last_group_already_read() {
        // Unchanged: the re-read records are the tail.
        assert_eq!(
            start_of(&window(&["a", "b", "c", "d"]), &tail(&["a", "b"])),
            2
        );
        // One removed before the offset: the window starts one later.
        assert_eq!(start_of(&window(&["b", "c", "d"]), &tail(&["a", "b"])), 1);
        // The last of the tail removed: the one before it still anchors the window.
        assert_eq!(start_of(&window(&["a", "c", "d"]), &tail(&["a", "b"])), 1);
        // None of the tail in the window: all of it.
        assert_eq!(start_of(&window(&["x", "y"]), &tail(&["a", "b"])), 0);
        let cursor = GroupsCursor {
            skip: 200,
            tail: tail(&["a", "b"]),
        };
        assert_eq!(GroupsCursor::parse(&cursor.to_text()).unwrap(), cursor);
        assert!(GroupsCursor::parse("{\"skip\": 200, \"after\": \"x\"}").is_err());
    }
}
