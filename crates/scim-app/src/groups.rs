//! Group memberships, provisioned after the users of a batch (apps that serve the Group
//! schema, for people whose [`DesiredAccount::groups`] is set).
//!
//! A group Gatehouse manages carries `externalId` = [`MANAGED_PREFIX`] + the IdP group's name;
//! the app's other groups (created by hand, or by another IdP) are never written. Per batch:
//!
//! 1. `GET /Groups` page by page, once: the managed groups and their `members` (a group whose
//!    listing leaves `members` out is read with `GET /Groups/{id}`);
//! 2. a desired group that is not there is looked up by `filter=displayName eq "…"` (an
//!    unmanaged group of that name is left alone and reported) and else created with
//!    `POST /Groups` (`displayName`, `externalId` and the batch's members at once); a 409
//!    `uniqueness` is looked up by `displayName`;
//! 3. each managed group gets the batch's people it should hold and loses the batch's people it
//!    should not: one `PATCH /Groups/{id}` with an `add` of `members` and a `remove` of
//!    `members[value eq "<id>"]` per person leaving (RFC 7644 §3.5.2), or, where the app has no
//!    PATCH, a `PUT` of the group with its new `members`. A group already as desired is not
//!    written, so a second run with nothing changed writes nothing. People outside the batch
//!    are left as they are (their own batch sees to them).
//!
//! The managed groups read (step 1) are kept for the rest of the pass, with the writes made to
//! them, so each group's members are read once per pass, not once per batch: the pass is told
//! apart by a marker the connector puts in the provisioning state of its batches (the sweep
//! ends it).
//!
//! Groups are never deleted: a group the IdPs no longer bring keeps the people no batch
//! removed, and is emptied as the people who leave it are provisioned.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{DesiredAccount, ProvisionReport};
use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::actions::PATCH_OP;
use crate::connector::ScimAppConnector;
use crate::errors::error_from_response;
use crate::features::Features;
use crate::users::{list_of, DEFAULT_PAGE};

/// The core Group schema's URN (RFC 7643 §8.7.1).
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Heads the `externalId` of every group Gatehouse created; the rest is the IdP group's name.
pub const MANAGED_PREFIX: &str = "gatehouse-group:";
/// Failure messages a report keeps.
const MAX_ERRORS: usize = 10;

/// The `externalId` of the managed group for the IdP group `name`.
pub fn external_id_of(name: &str) -> String {
    format!("{MANAGED_PREFIX}{name}")
}

/// The managed groups a pass has read: its marker and the groups by `externalId`.
pub(crate) type Cached = (String, HashMap<String, AppGroup>);

/// One managed group at the app.
#[derive(Debug)]
pub(crate) struct AppGroup {
    id: String,
    /// The group as the app answered (for a PUT).
    resource: Value,
    /// The app user ids it holds.
    members: BTreeSet<String>,
}

fn members_of(group: &Value) -> Option<BTreeSet<String>> {
    let members = group.get("members")?;
    Some(
        members
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
            .collect(),
    )
}

fn managed_external_id(group: &Value) -> Option<&str> {
    group
        .get("externalId")
        .and_then(Value::as_str)
        .filter(|e| e.starts_with(MANAGED_PREFIX))
}

/// Whether an error is about one group (reported, the batch goes on) rather than the app.
fn about_one(error: &ConnectorError) -> bool {
    matches!(
        error,
        ConnectorError::Protocol(_) | ConnectorError::NotFound(_)
    )
}

fn note(report: &mut ProvisionReport, what: String) {
    tracing::warn!(%what, "provisioning a group failed");
    if report.errors.len() < MAX_ERRORS {
        report.errors.push(what);
    }
}

/// Provisions the memberships of one batch of the pass `run`: `people` are (app user id,
/// desired account).
pub(crate) async fn provision(
    connector: &ScimAppConnector,
    features: &Features,
    people: &[(String, &DesiredAccount)],
    report: &mut ProvisionReport,
    run: &str,
) -> Result<(), ConnectorError> {
    // group name → the batch's app user ids that belong in it.
    let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut batch: BTreeSet<String> = BTreeSet::new();
    for (id, account) in people {
        let Some(groups) = &account.groups else {
            continue;
        };
        batch.insert(id.clone());
        for name in groups {
            wanted.entry(name.clone()).or_default().insert(id.clone());
        }
    }
    if batch.is_empty() {
        return Ok(());
    }
    // The pass's groups as earlier batches left them, else read now. Taken out while in use:
    // a batch that ends in an error leaves none, and the next reads again.
    let cached = connector
        .group_cache
        .lock()
        .ok()
        .and_then(|mut slot| slot.take())
        .filter(|(marker, _)| marker == run)
        .map(|(_, groups)| groups);
    let mut managed = match cached {
        Some(groups) => groups,
        None => managed_groups(connector, features).await?,
    };
    let result = memberships(connector, features, &wanted, &batch, &mut managed, report).await;
    if result.is_ok() {
        if let Ok(mut slot) = connector.group_cache.lock() {
            *slot = Some((run.to_owned(), managed));
        }
    }
    result
}

/// Forgets the groups a pass read (it ended).
pub(crate) fn end_pass(connector: &ScimAppConnector) {
    if let Ok(mut slot) = connector.group_cache.lock() {
        *slot = None;
    }
}

async fn memberships(
    connector: &ScimAppConnector,
    features: &Features,
    wanted: &BTreeMap<String, BTreeSet<String>>,
    batch: &BTreeSet<String>,
    managed: &mut HashMap<String, AppGroup>,
    report: &mut ProvisionReport,
) -> Result<(), ConnectorError> {
    for (name, members) in wanted {
        let external = external_id_of(name);
        if managed.contains_key(&external) {
            continue;
        }
        match ensure(connector, features, name, members).await {
            Ok(Some(group)) => {
                managed.insert(external, group);
            }
            Ok(None) => note(
                report,
                format!("group {name}: the app has a group of that name that Gatehouse did not create; left alone"),
            ),
            Err(error) if about_one(&error) => note(report, format!("group {name}: {error}")),
            Err(error) => return Err(error),
        }
    }
    let empty = BTreeSet::new();
    let mut stale = Vec::new();
    for (external, group) in managed.iter_mut() {
        let name = &external[MANAGED_PREFIX.len()..];
        let desired = wanted.get(name).unwrap_or(&empty);
        let add: Vec<String> = desired.difference(&group.members).cloned().collect();
        let remove: Vec<String> = group
            .members
            .intersection(batch)
            .filter(|id| !desired.contains(*id))
            .cloned()
            .collect();
        if add.is_empty() && remove.is_empty() {
            continue;
        }
        match set_members(connector, features, group, &add, &remove).await {
            Ok(()) => {
                tracing::debug!(group = %name, added = add.len(), removed = remove.len(),
                    "group memberships provisioned");
                written(group, &add, &remove);
            }
            Err(error) if about_one(&error) => {
                note(report, format!("group {name}: {error}"));
                // Read again by the next batch that wants it.
                stale.push(external.clone());
            }
            Err(error) => return Err(error),
        }
    }
    for external in stale {
        managed.remove(&external);
    }
    Ok(())
}

/// Keeps a group as the app now has it, after `add` and `remove` were written.
fn written(group: &mut AppGroup, add: &[String], remove: &[String]) {
    for id in remove {
        group.members.remove(id);
    }
    group.members.extend(add.iter().cloned());
    if let Some(map) = group.resource.as_object_mut() {
        map.insert(
            "members".into(),
            Value::Array(
                group
                    .members
                    .iter()
                    .map(|id| json!({"value": id}))
                    .collect(),
            ),
        );
    }
}

/// The app's managed groups by `externalId`, each with its members.
async fn managed_groups(
    connector: &ScimAppConnector,
    features: &Features,
) -> Result<HashMap<String, AppGroup>, ConnectorError> {
    let count = connector
        .settings
        .page_size
        .or(features.max_results)
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, 1000);
    let mut managed = HashMap::new();
    let mut start = 1usize;
    loop {
        let mut url = connector.url(&["Groups"]);
        url.query_pairs_mut()
            .append_pair("startIndex", &start.to_string())
            .append_pair("count", &count.to_string());
        let what = "listing groups";
        let (groups, total) = list_of(connector.get_json("groups", &url, what).await?, what)?;
        let returned = groups.len();
        for group in groups {
            let Some(external) = managed_external_id(&group).map(str::to_owned) else {
                continue;
            };
            let Some(id) = group.get("id").and_then(Value::as_str).map(str::to_owned) else {
                continue;
            };
            let group = match members_of(&group) {
                Some(_) => group,
                // Listed without its members (many apps leave them out of lists): read it.
                None => read(connector, &id).await?,
            };
            let members = members_of(&group).unwrap_or_default();
            managed.insert(
                external,
                AppGroup {
                    id,
                    resource: group,
                    members,
                },
            );
        }
        start += returned;
        if returned == 0 || total.map_or(returned < count, |t| start > t) {
            return Ok(managed);
        }
    }
}

async fn read(connector: &ScimAppConnector, id: &str) -> Result<Value, ConnectorError> {
    connector
        .get_json("groups", &connector.url(&["Groups", id]), "reading a group")
        .await
}

/// The group named `name` found by `filter=displayName eq "…"` (only a real match counts).
async fn find(connector: &ScimAppConnector, name: &str) -> Result<Option<Value>, ConnectorError> {
    let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
    let mut url = connector.url(&["Groups"]);
    url.query_pairs_mut()
        .append_pair("filter", &format!("displayName eq \"{escaped}\""));
    let what = "looking the group up";
    let (found, _) = list_of(connector.get_json("groups", &url, what).await?, what)?;
    Ok(found
        .into_iter()
        .find(|g| g.get("displayName").and_then(Value::as_str) == Some(name)))
}

/// A found group as a managed one, or `None` when it is not Gatehouse's.
async fn adopt(
    connector: &ScimAppConnector,
    name: &str,
    group: Value,
) -> Result<Option<AppGroup>, ConnectorError> {
    if managed_external_id(&group) != Some(external_id_of(name).as_str()) {
        return Ok(None);
    }
    let id = group
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| ConnectorError::Protocol("the app's group has no id".into()))?
        .to_owned();
    let group = match members_of(&group) {
        Some(_) => group,
        None => read(connector, &id).await?,
    };
    Ok(Some(AppGroup {
        id,
        members: members_of(&group).unwrap_or_default(),
        resource: group,
    }))
}

/// Finds or creates the managed group `name`, created with `members`; `None` when the app has
/// an unmanaged group of that name.
async fn ensure(
    connector: &ScimAppConnector,
    features: &Features,
    name: &str,
    members: &BTreeSet<String>,
) -> Result<Option<AppGroup>, ConnectorError> {
    if features.filter {
        if let Some(group) = find(connector, name).await? {
            return adopt(connector, name, group).await;
        }
    }
    let body = json!({
        "schemas": [GROUP_SCHEMA],
        "displayName": name,
        "externalId": external_id_of(name),
        "members": members.iter().map(|id| json!({"value": id})).collect::<Vec<_>>(),
    });
    let fetched = connector
        .send(
            "group-writes",
            Method::POST,
            &connector.url(&["Groups"]),
            Some(&body),
            None,
        )
        .await?;
    match fetched.status {
        s if s.is_success() => {
            let created: Value = crate::connector::parse_json(&fetched.body, "creating a group")?;
            let id = created
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| ConnectorError::Protocol("the app's new group has no id".into()))?
                .to_owned();
            Ok(Some(AppGroup {
                id,
                // What was sent: the app may leave members out of its answer.
                members: members.clone(),
                resource: created,
            }))
        }
        StatusCode::CONFLICT if features.filter => match find(connector, name).await? {
            Some(group) => adopt(connector, name, group).await,
            None => Err(ConnectorError::Protocol(
                "the app answered 409 to the create, but no group has that displayName".into(),
            )),
        },
        s => Err(error_from_response(s, &fetched.body, "creating a group")),
    }
}

/// Adds and removes members: one PATCH, or a PUT of the group where PATCH is refused.
async fn set_members(
    connector: &ScimAppConnector,
    features: &Features,
    group: &AppGroup,
    add: &[String],
    remove: &[String],
) -> Result<(), ConnectorError> {
    let url = connector.url(&["Groups", &group.id]);
    if connector.use_patch(features) {
        let mut operations = Vec::new();
        if !add.is_empty() {
            let value: Vec<Value> = add.iter().map(|id| json!({"value": id})).collect();
            operations.push(json!({"op": "add", "path": "members", "value": value}));
        }
        for id in remove {
            let escaped = id.replace('\\', "\\\\").replace('"', "\\\"");
            operations.push(json!({"op": "remove",
                "path": format!("members[value eq \"{escaped}\"]")}));
        }
        let body = json!({"schemas": [PATCH_OP], "Operations": operations});
        let fetched = connector
            .send("group-writes", Method::PATCH, &url, Some(&body), None)
            .await?;
        match fetched.status {
            s if s.is_success() => return Ok(()),
            StatusCode::NOT_IMPLEMENTED | StatusCode::METHOD_NOT_ALLOWED => {
                tracing::info!("the app refused PATCH; replacing groups with PUT");
                connector
                    .patch_refused
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
            s => return Err(error_from_response(s, &fetched.body, "updating a group")),
        }
    }
    let mut members: Vec<Value> = group
        .resource
        .get("members")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    members.retain(|m| {
        m.get("value")
            .and_then(Value::as_str)
            .is_none_or(|v| !remove.iter().any(|r| r.as_str() == v))
    });
    for id in add {
        members.push(json!({"value": id}));
    }
    let mut body = group.resource.clone();
    if let Some(map) = body.as_object_mut() {
        map.remove("meta");
        map.insert("members".into(), Value::Array(members));
    }
    let fetched = connector
        .send("group-writes", Method::PUT, &url, Some(&body), None)
        .await?;
    if fetched.status.is_success() {
        Ok(())
    } else {
        Err(error_from_response(
            fetched.status,
            &fetched.body,
            "replacing a group",
        ))
    }
}
