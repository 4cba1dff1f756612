//! Directory pull of groups: `GET /api/v1/groups` paged by `Link`, and for each group every page
//! of `GET /api/v1/groups/{id}/users` for its members' ids.

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use gatehouse_connect::raw_size::RawCopy;
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{Page, ProviderGroup};
use serde_json::Value;

use crate::connector::OktaConnector;

/// Groups per page. Each group costs at least one more call for its members, so pages stay
/// smaller than Okta's maximum to keep one page's work (and a retry of it) modest.
const PAGE_SIZE: &str = "100";
/// Members per page: the spec's recommended `limit=200` for `listGroupUsers`.
const MEMBER_PAGE_SIZE: &str = "200";
/// Member lists fetched at once.
const MEMBER_CONCURRENCY: usize = 4;

pub(crate) async fn groups_page(
    connector: &OktaConnector,
    cursor: Option<&str>,
) -> Result<Page<ProviderGroup>, ConnectorError> {
    let collection = connector.endpoint(&["api", "v1", "groups"]);
    let url = match cursor {
        Some(cursor) => connector.same_org(cursor, collection.path())?,
        None => {
            let mut url = collection;
            url.query_pairs_mut().append_pair("limit", PAGE_SIZE);
            url
        }
    };
    let (records, next) = connector.get_page("groups", &url, "listing groups").await?;
    // Owned ids, so the buffered futures borrow nothing but the connector.
    let ids: Vec<Option<String>> = records
        .iter()
        .map(|g| g.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let members: Vec<Result<Vec<String>, ConnectorError>> = stream::iter(ids)
        .map(|id| members_of(connector, id))
        .buffered(MEMBER_CONCURRENCY)
        .collect()
        .await;
    let mut items = Vec::with_capacity(records.len());
    for (record, members) in records.iter().zip(members) {
        let members = members?;
        match map_group(record, members) {
            Some(group) => items.push(group),
            None => tracing::warn!("skipping an Okta group record without an id"),
        }
    }
    Ok(Page::new(items, next.map(String::from)))
}

async fn members_of(
    connector: &OktaConnector,
    id: Option<String>,
) -> Result<Vec<String>, ConnectorError> {
    let Some(id) = id else {
        return Ok(Vec::new());
    };
    let mut url = connector.endpoint(&["api", "v1", "groups", &id, "users"]);
    url.query_pairs_mut().append_pair("limit", MEMBER_PAGE_SIZE);
    connector
        .collect_all("group-members", url, "listing a group's members", |user| {
            user.get("id").and_then(Value::as_str).map(str::to_owned)
        })
        .await
}

/// The group record for investigations, without its links and embedded objects.
const RAW_COPY: RawCopy<'static> = RawCopy::without(&[&["_links"], &["_embedded"]]);

/// An Okta group as a [`ProviderGroup`]. `updated_at` is the later of `lastUpdated` (profile)
/// and `lastMembershipUpdated` (members), since either is a change of the group.
pub(crate) fn map_group(group: &Value, members: Vec<String>) -> Option<ProviderGroup> {
    let external_id = group.get("id").and_then(Value::as_str)?.to_owned();
    let profile = group.get("profile").unwrap_or(&Value::Null);
    let name = profile
        .get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(&external_id)
        .to_owned();
    let description = profile
        .get("description")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let time = |key: &str| {
        group
            .get(key)
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let updated_at = time("lastUpdated").max(time("lastMembershipUpdated"));
    Some(ProviderGroup {
        external_id,
        name,
        description,
        members,
        updated_at,
        raw: Some(RAW_COPY.of(group)),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn maps_the_spec_example_group() {
        let group = json!({
            "id": "00g1emaKYZTWRYYRRTSK",
            "created": "2015-02-06T10:11:28.000Z",
            "lastUpdated": "2015-10-05T19:16:43.000Z",
            "lastMembershipUpdated": "2015-11-28T19:15:32.000Z",
            "objectClass": ["okta:user_group"],
            "type": "OKTA_GROUP",
            "profile": {"name": "West Coast users", "description": "All users West of The Rockies"},
            "_links": {"users": {"href": "https://acme.okta.com/api/v1/groups/00g1emaKYZTWRYYRRTSK/users"}}
        });
        let mapped = map_group(&group, vec!["00u1".into()]).unwrap();
        assert_eq!(mapped.name, "West Coast users");
        assert_eq!(
            mapped.description.as_deref(),
            Some("All users West of The Rockies")
        );
        assert_eq!(mapped.members, vec!["00u1".to_owned()]);
        assert_eq!(
            mapped.updated_at.unwrap().to_rfc3339(),
            "2015-11-28T19:15:32+00:00"
        );
        assert!(mapped.raw.unwrap().get("_links").is_none());
        assert!(map_group(&json!({"profile": {}}), vec![]).is_none());
    }
}
