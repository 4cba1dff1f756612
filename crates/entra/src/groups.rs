//! Groups with their members: `GET /v1.0/groups?$select=id,displayName,description` paged by
//! `@odata.nextLink` (the cursor), and for each group every page of
//! `GET /v1.0/groups/{id}/members?$select=id` (directory objects; only users are kept when Graph
//! names their type). `$expand=members` is not used: Graph returns at most 20 expanded members.

use futures::stream::{self, StreamExt};
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{Page, ProviderGroup};
use serde_json::Value;

use crate::connector::{EntraConnector, ODataPage};
use crate::mapping::{text, time};

const GROUP_PAGE: &str = "100";
const MEMBER_CONCURRENCY: usize = 4;

pub(crate) async fn groups_page(
    connector: &EntraConnector,
    cursor: Option<&str>,
) -> Result<Page<ProviderGroup>, ConnectorError> {
    let collection = connector.endpoint(&["groups"]);
    let url = match cursor {
        Some(cursor) => connector.same_graph(cursor, &collection)?,
        None => {
            let mut url = collection.clone();
            url.query_pairs_mut()
                .append_pair("$select", "id,displayName,description,createdDateTime")
                .append_pair("$top", GROUP_PAGE);
            url
        }
    };
    let value = connector
        .get_json("groups", &url, "listing groups", &[])
        .await?;
    let page = ODataPage::from_value(value, "listing groups")?;
    let groups: Vec<(String, Value)> = page
        .items
        .into_iter()
        .filter_map(|g| text(g.get("id")).map(str::to_owned).map(|id| (id, g)))
        .collect();
    let ids: Vec<String> = groups.iter().map(|(id, _)| id.clone()).collect();
    let members: Vec<Result<Vec<String>, ConnectorError>> = stream::iter(ids)
        .map(|id| members_of(connector, id))
        .buffered(MEMBER_CONCURRENCY)
        .collect()
        .await;
    let mut items = Vec::with_capacity(groups.len());
    for ((id, group), members) in groups.into_iter().zip(members) {
        items.push(ProviderGroup {
            name: text(group.get("displayName")).unwrap_or(&id).to_owned(),
            description: text(group.get("description")).map(str::to_owned),
            members: members?,
            updated_at: time(group.get("createdDateTime")),
            external_id: id,
            raw: Some(group.into()),
        });
    }
    let next = page
        .next
        .map(|n| connector.same_graph(&n, &collection).map(String::from))
        .transpose()?;
    Ok(crate::contract::page(items, next, None))
}

async fn members_of(connector: &EntraConnector, id: String) -> Result<Vec<String>, ConnectorError> {
    let collection = connector.endpoint(&["groups", &id, "members"]);
    let mut url = collection.clone();
    url.query_pairs_mut().append_pair("$select", "id");
    let mut members = Vec::new();
    for _ in 0..10_000 {
        let value = connector
            .get_json("group-members", &url, "listing a group's members", &[])
            .await?;
        let page = ODataPage::from_value(value, "listing a group's members")?;
        for member in &page.items {
            let is_user = text(member.get("@odata.type"))
                .is_none_or(|t| t.eq_ignore_ascii_case("#microsoft.graph.user"));
            if let (true, Some(id)) = (is_user, text(member.get("id"))) {
                members.push(id.to_owned());
            }
        }
        match page.next {
            Some(next) if !page.items.is_empty() => {
                url = connector.same_graph(&next, &collection)?
            }
            _ => break,
        }
    }
    Ok(members)
}
