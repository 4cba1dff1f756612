//! Groups and their members: `GET /admin/directory/v1/groups?customer=…&maxResults=200`
//! (`groups.list`, at most 200 per page) and, for each group of the page, every page of
//! `GET /admin/directory/v1/groups/{id}/members?maxResults=200` (`members.list`). Scope
//! `admin.directory.group.readonly`. Only members of `type: USER` are kept (nested groups and
//! the whole-customer member are not accounts), by their user id.

use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{Page, ProviderGroup};

use crate::auth::Scope;
use crate::connector::{list_page, GoogleConnector};
use crate::mapping::text;

const PAGE_SIZE: &str = "200";
/// The most member pages read for one group (200 000 members) before giving up on it.
const MAX_MEMBER_PAGES: usize = 1000;

pub(crate) async fn groups_page(
    connector: &GoogleConnector,
    cursor: Option<&str>,
) -> Result<Page<ProviderGroup>, ConnectorError> {
    let mut url = connector.directory(&["groups"]);
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("customer", &connector.customer)
            .append_pair("maxResults", PAGE_SIZE);
        if let Some(token) = cursor {
            query.append_pair("pageToken", token);
        }
    }
    let value = connector
        .get_json(&[Scope::GroupReadonly], "groups", &url, "listing groups")
        .await?;
    let (records, next) = list_page(value, "groups", "listing groups")?;
    let mut items = Vec::with_capacity(records.len());
    for record in records {
        let Some(id) = text(record.get("id")).map(str::to_owned) else {
            continue;
        };
        let members = members_of(connector, &id).await?;
        items.push(ProviderGroup {
            name: text(record.get("name"))
                .or_else(|| text(record.get("email")))
                .unwrap_or(&id)
                .to_owned(),
            description: text(record.get("description")).map(str::to_owned),
            external_id: id,
            members,
            updated_at: None,
            raw: Some(record.into()),
        });
    }
    Ok(Page::new(items, next))
}

async fn members_of(
    connector: &GoogleConnector,
    group: &str,
) -> Result<Vec<String>, ConnectorError> {
    let mut members = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_MEMBER_PAGES {
        let mut url = connector.directory(&["groups", group, "members"]);
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("maxResults", PAGE_SIZE);
            if let Some(token) = &token {
                query.append_pair("pageToken", token);
            }
        }
        let value = connector
            .get_json(
                &[Scope::GroupReadonly],
                "groups",
                &url,
                "listing a group's members",
            )
            .await?;
        let (records, next) = list_page(value, "members", "listing a group's members")?;
        members.extend(records.iter().filter_map(|m| {
            let kind = text(m.get("type")).unwrap_or("USER");
            kind.eq_ignore_ascii_case("user")
                .then(|| text(m.get("id")).map(str::to_owned))
                .flatten()
        }));
        match next {
            Some(next) if Some(&next) != token.as_ref() => token = Some(next),
            _ => return Ok(members),
        }
    }
    tracing::warn!(
        group,
        "group has more member pages than read; membership truncated"
    );
    Ok(members)
}
