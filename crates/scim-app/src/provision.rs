//! Outbound provisioning (`provision: true`): the tenant's people, as its IdPs bring them in,
//! created, updated and deactivated in the app.
//!
//! Each desired account is found by `filter=externalId eq "<identity id>"`, else by
//! `filter=userName eq "…"` (an account the app already had: adopted, its `externalId` set),
//! else created with `POST /Users`; a 409 `uniqueness` to the POST (created meanwhile, or
//! under another spelling) is looked up by `userName` and adopted. What differs from the
//! desired state is then written, and nothing else:
//!
//! | app supports | call |
//! |---|---|
//! | PATCH | `PATCH /Users/{id}` with one `replace` per changed attribute (`userName`, `externalId`, `name.givenName`, `name.familyName`, `displayName`, `emails`, `active`) |
//! | no PATCH | `PUT /Users/{id}` with the resource just read, the changed attributes set and `meta` left out |
//!
//! With ETags a write carries `If-Match`; a 412 reads the user again and tries once more. An
//! account already as desired is not written, so a second run with the same people writes
//! nothing. Someone whose accounts are all suspended is deactivated (`active: false`), and
//! never created only to be deactivated. A pass ends with a sweep over the app's `/Users`: an
//! account whose `externalId` is a Gatehouse identity id that the pass did not bring is
//! deactivated, never deleted. 429s wait as the app's `Retry-After` says (the shared client).
//!
//! An app that does not filter (`filter.supported: false`) gets no `filter` at all: the pass
//! lists the app's whole `/Users` once (`startIndex`/`count` pages of the app's page size),
//! indexes it by `externalId` and by lower-cased `userName`, and finds accounts there instead
//! of the two GETs. The index is kept on the connector for the pass (its marker, in the state
//! each batch hands to the next), follows what the pass writes and creates, and is dropped at
//! the sweep. A 409 to a create is looked up in the index, and `/Users` read again once when
//! the index does not have it.
//!
//! Where the app serves the Group schema and the desired accounts carry `groups`, the batch's
//! group memberships follow its users (`groups.rs`).

use std::collections::{HashMap, HashSet};

use gatehouse_core::model::ProvisionCounts;
use gatehouse_core::provider::ConnectorError;
use gatehouse_core::records::{DesiredAccount, ProvisionReport};
use gatehouse_core::IdentityId;
use http::{Method, StatusCode};
use serde_json::{json, Map, Value};

use crate::actions::{read_by_id, write, PATCH_OP};
use crate::connector::ScimAppConnector;
use crate::errors::error_from_response;
use crate::features::Features;
use crate::mapping::is_active;
use crate::users::{list_of, page_size};

/// The core User schema's URN.
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Heads the provisioning state of a pass in progress (its marker: `groups.rs` keeps the
/// groups it read for the pass's later batches).
const RUN_PREFIX: &str = "pass:";
/// Failure messages a report keeps.
const MAX_ERRORS: usize = 10;

/// What happened to one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Created,
    Updated,
    Deactivated,
    Unchanged,
}

fn count(counts: &mut ProvisionCounts, outcome: Outcome) {
    match outcome {
        Outcome::Created => counts.created += 1,
        Outcome::Updated => counts.updated += 1,
        Outcome::Deactivated => counts.deactivated += 1,
        Outcome::Unchanged => counts.unchanged += 1,
    }
}

/// Errors that end the pass (the app or its credentials, not one account).
fn ends_the_pass(error: &ConnectorError) -> bool {
    !matches!(
        error,
        ConnectorError::Protocol(_) | ConnectorError::NotFound(_)
    )
}

/// The app's users by `id`, and their ids by `externalId` and by lower-cased `userName`: how
/// a pass finds accounts in an app that does not filter.
#[derive(Debug, Default)]
pub(crate) struct UserIndex {
    users: HashMap<String, Value>,
    by_external: HashMap<String, Vec<String>>,
    by_name: HashMap<String, Vec<String>>,
}

impl UserIndex {
    fn keys(user: &Value) -> (Option<String>, Option<String>) {
        (
            text(user, "/externalId").map(str::to_owned),
            text(user, "/userName").map(str::to_lowercase),
        )
    }

    /// Adds the user, or replaces the one with its id. A user without an id is left out.
    fn insert(&mut self, user: Value) {
        let Some(id) = text(&user, "/id").map(str::to_owned) else {
            return;
        };
        if let Some(old) = self.users.remove(&id) {
            let (external, name) = Self::keys(&old);
            for (map, key) in [(&mut self.by_external, external), (&mut self.by_name, name)] {
                if let Some(ids) = key.and_then(|k| map.get_mut(&k)) {
                    ids.retain(|i| *i != id);
                }
            }
        }
        let (external, name) = Self::keys(&user);
        if let Some(external) = external {
            self.by_external
                .entry(external)
                .or_default()
                .push(id.clone());
        }
        if let Some(name) = name {
            self.by_name.entry(name).or_default().push(id.clone());
        }
        self.users.insert(id, user);
    }

    /// The one user whose `attribute` (`externalId` or `userName`) is `value`, as [`find`].
    fn find(&self, attribute: &str, value: &str) -> Result<Option<Value>, ConnectorError> {
        let ids = if attribute == "userName" {
            self.by_name.get(&value.to_lowercase())
        } else {
            self.by_external.get(value)
        };
        match ids.map(Vec::as_slice).unwrap_or_default() {
            [] => Ok(None),
            [id] => Ok(self.users.get(id).cloned()),
            _ => Err(ConnectorError::Protocol(format!(
                "looking the user up: more than one user has that {attribute}"
            ))),
        }
    }
}

/// Lists the app's whole `/Users`, page by page, into an index.
async fn read_index(
    connector: &ScimAppConnector,
    features: &Features,
) -> Result<UserIndex, ConnectorError> {
    let count = page_size(connector, features);
    let mut index = UserIndex::default();
    let mut start = 1usize;
    loop {
        let mut url = connector.url(&["Users"]);
        url.query_pairs_mut()
            .append_pair("startIndex", &start.to_string())
            .append_pair("count", &count.to_string());
        let what = "listing users";
        let (users, total) = list_of(connector.get_json("users", &url, what).await?, what)?;
        let returned = users.len();
        for user in users {
            index.insert(user);
        }
        start += returned;
        if returned == 0 || total.is_some_and(|t| start > t) {
            tracing::debug!(
                users = index.users.len(),
                "scim_app users indexed for provisioning"
            );
            return Ok(index);
        }
    }
}

/// Forgets the users a pass read (it ended).
pub(crate) fn end_pass(connector: &ScimAppConnector) {
    if let Ok(mut slot) = connector.user_index.lock() {
        *slot = None;
    }
}

/// Whether `external_id` is one provisioning manages (a Gatehouse identity id).
fn is_managed(external_id: &str) -> bool {
    external_id.starts_with(IdentityId::PREFIX) && IdentityId::parse(external_id).is_some()
}

pub(crate) async fn provision(
    connector: &ScimAppConnector,
    desired: &[DesiredAccount],
    state: Option<&str>,
) -> Result<ProvisionReport, ConnectorError> {
    let features = connector.features().await?;
    let mut report = ProvisionReport {
        state: state.map(str::to_owned),
        ..ProvisionReport::default()
    };
    // The pass's marker, in the state its next batch is given back.
    let run = match state.filter(|s| s.starts_with(RUN_PREFIX)) {
        Some(run) => run.to_owned(),
        None => format!(
            "{RUN_PREFIX}{}-{}",
            connector
                .clock
                .now()
                .timestamp_nanos_opt()
                .unwrap_or_default(),
            connector
                .runs
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ),
    };
    // An app that does not filter: the pass's index of its users, as earlier batches left it,
    // else read now. Taken out while in use: a batch that ends in an error leaves none.
    let mut index = None;
    if !features.filter && !desired.is_empty() {
        let cached = connector
            .user_index
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
            .filter(|(marker, _)| *marker == run)
            .map(|(_, users)| users);
        index = Some(match cached {
            Some(users) => users,
            None => read_index(connector, &features).await?,
        });
        report.state = Some(run.clone());
    }
    // (app user id, account) of the people whose group memberships are provisioned.
    let mut members: Vec<(String, &DesiredAccount)> = Vec::new();
    for account in desired {
        match provision_one(connector, &features, index.as_mut(), account).await {
            Ok((outcome, id)) => {
                count(&mut report.counts, outcome);
                if let (Some(id), Some(_)) = (id, &account.groups) {
                    members.push((id, account));
                }
            }
            Err(error) if ends_the_pass(&error) => return Err(error),
            Err(error) => {
                tracing::warn!(external_id = %account.external_id, %error, "provisioning an account failed");
                report.counts.failed += 1;
                if report.errors.len() < MAX_ERRORS {
                    report
                        .errors
                        .push(format!("{}: {error}", account.external_id));
                }
            }
        }
    }
    if let Some(users) = index {
        if let Ok(mut slot) = connector.user_index.lock() {
            *slot = Some((run.clone(), users));
        }
    }
    if features.groups && !members.is_empty() {
        crate::groups::provision(connector, &features, &members, &mut report, &run).await?;
        report.state = Some(run);
    }
    Ok(report)
}

/// The one user whose `attribute` is `value`: in the pass's index where the app does not
/// filter, else by the app's filter.
async fn lookup(
    connector: &ScimAppConnector,
    index: Option<&UserIndex>,
    attribute: &str,
    value: &str,
) -> Result<Option<Value>, ConnectorError> {
    match index {
        Some(index) => index.find(attribute, value),
        None => find(connector, attribute, value).await,
    }
}

/// What happened to the account, and its id at the app (none when it is not there).
async fn provision_one(
    connector: &ScimAppConnector,
    features: &Features,
    mut index: Option<&mut UserIndex>,
    account: &DesiredAccount,
) -> Result<(Outcome, Option<String>), ConnectorError> {
    let found = lookup(
        connector,
        index.as_deref(),
        "externalId",
        &account.external_id,
    )
    .await?;
    let mut user = match found {
        Some(user) => user,
        None => match adoptable(connector, index.as_deref(), account).await? {
            Some(user) => user,
            // Someone all of whose accounts are off is not created only to be deactivated.
            None if !account.active => return Ok((Outcome::Unchanged, None)),
            None => match create(connector, account).await? {
                Some(created) => {
                    let id = text(&created, "/id").map(str::to_owned);
                    if let Some(index) = index.as_deref_mut() {
                        index.insert(created);
                    }
                    return Ok((Outcome::Created, id));
                }
                None => {
                    let mut taken = adoptable(connector, index.as_deref(), account).await?;
                    if taken.is_none() {
                        // Created since the index was read: read it again, once.
                        if let Some(index) = index.as_deref_mut() {
                            *index = read_index(connector, features).await?;
                            taken = adoptable(connector, Some(index), account).await?;
                        }
                    }
                    taken.ok_or_else(|| {
                        ConnectorError::Protocol(
                            "the app answered 409 to the create, but no user has that userName"
                                .into(),
                        )
                    })?
                }
            },
        },
    };
    let mut retried = false;
    loop {
        let id = user.get("id").and_then(Value::as_str).map(str::to_owned);
        let changes = differences(&user, account);
        if changes.is_empty() {
            return Ok((Outcome::Unchanged, id));
        }
        let outcome = if is_active(&user) && !account.active {
            Outcome::Deactivated
        } else {
            Outcome::Updated
        };
        let id = user
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| ConnectorError::Protocol("the app's user has no id".into()))?
            .to_owned();
        if apply(connector, features, &id, &user, &changes).await? {
            if let Some(index) = index.as_deref_mut() {
                index.insert(with_changes(&user, &changes));
            }
            return Ok((outcome, Some(id)));
        }
        if retried {
            return Err(ConnectorError::Unavailable(
                "the user kept changing at the app (412 twice); try again".into(),
            ));
        }
        retried = true;
        user = read_by_id(connector, &id).await?;
        if let Some(index) = index.as_deref_mut() {
            index.insert(user.clone());
        }
    }
}

/// The account found by `userName`, when provisioning may take it over: not one that belongs
/// to another Gatehouse identity.
async fn adoptable(
    connector: &ScimAppConnector,
    index: Option<&UserIndex>,
    account: &DesiredAccount,
) -> Result<Option<Value>, ConnectorError> {
    let Some(user) = lookup(connector, index, "userName", &account.user_name).await? else {
        return Ok(None);
    };
    match user.get("externalId").and_then(Value::as_str) {
        Some(other) if other != account.external_id && is_managed(other) => {
            Err(ConnectorError::Protocol(format!(
                "the app's user with that userName is provisioned for {other}"
            )))
        }
        _ => Ok(Some(user)),
    }
}

/// The one user whose `attribute` equals `value` (`userName` case-insensitively, as RFC 7643
/// makes it; `externalId` exactly). An app that ignored the filter would answer with
/// everyone, so only a real match counts.
async fn find(
    connector: &ScimAppConnector,
    attribute: &str,
    value: &str,
) -> Result<Option<Value>, ConnectorError> {
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
    let mut url = connector.url(&["Users"]);
    url.query_pairs_mut()
        .append_pair("filter", &format!("{attribute} eq \"{escaped}\""));
    let what = "looking the user up";
    let (found, _) = list_of(connector.get_json("users", &url, what).await?, what)?;
    let mut matching = found.into_iter().filter(|u| {
        u.get(attribute).and_then(Value::as_str).is_some_and(|v| {
            if attribute == "userName" {
                v.eq_ignore_ascii_case(value)
            } else {
                v == value
            }
        })
    });
    match (matching.next(), matching.next()) {
        (first, None) => Ok(first),
        (_, Some(_)) => Err(ConnectorError::Protocol(format!(
            "{what}: more than one user has that {attribute}"
        ))),
    }
}

fn name_of(account: &DesiredAccount) -> Value {
    let mut name = Map::new();
    if let Some(given) = &account.given_name {
        name.insert("givenName".into(), Value::from(given.as_str()));
    }
    if let Some(family) = &account.family_name {
        name.insert("familyName".into(), Value::from(family.as_str()));
    }
    Value::Object(name)
}

fn emails_of(account: &DesiredAccount) -> Value {
    Value::Array(
        account
            .emails
            .iter()
            .enumerate()
            .map(|(i, address)| json!({"value": address, "type": "work", "primary": i == 0}))
            .collect(),
    )
}

/// `POST /Users`: the new user (the app's answer over what was sent); `None` on a 409 (the
/// userName is taken).
async fn create(
    connector: &ScimAppConnector,
    account: &DesiredAccount,
) -> Result<Option<Value>, ConnectorError> {
    let mut body = json!({
        "schemas": [USER_SCHEMA],
        "externalId": account.external_id,
        "userName": account.user_name,
        "emails": emails_of(account),
        "active": account.active,
    });
    let name = name_of(account);
    if name.as_object().is_some_and(|n| !n.is_empty()) {
        body["name"] = name;
    }
    if let Some(display) = &account.display_name {
        body["displayName"] = Value::from(display.as_str());
    }
    let url = connector.url(&["Users"]);
    let fetched = connector
        .send("user-writes", Method::POST, &url, Some(&body), None)
        .await?;
    match fetched.status {
        s if s.is_success() => {
            let created = crate::connector::parse_json(&fetched.body, "creating the user")?;
            if text(&created, "/id").is_none() {
                return Err(ConnectorError::Protocol(
                    "the app's new user has no id".into(),
                ));
            }
            if let (Some(user), Value::Object(answer)) = (body.as_object_mut(), created) {
                user.extend(answer);
            }
            Ok(Some(body))
        }
        StatusCode::CONFLICT => Ok(None),
        s => Err(error_from_response(s, &fetched.body, "creating the user")),
    }
}

fn text<'a>(user: &'a Value, pointer: &str) -> Option<&'a str> {
    user.pointer(pointer).and_then(Value::as_str)
}

/// The app's addresses, lower-cased, primary first.
fn addresses(user: &Value) -> Vec<String> {
    let mut entries: Vec<(bool, String)> = user
        .get("emails")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let value = e.get("value").and_then(Value::as_str)?;
            let primary = e.get("primary").and_then(Value::as_bool) == Some(true);
            Some((!primary, value.trim().to_lowercase()))
        })
        .collect();
    // Stable: the primary first, the others as the app lists them.
    entries.sort_by_key(|(not_primary, _)| *not_primary);
    entries.into_iter().map(|(_, v)| v).collect()
}

/// The attributes (SCIM paths) whose value at the app is not the desired one, with the
/// desired value.
fn differences(user: &Value, account: &DesiredAccount) -> Vec<(&'static str, Value)> {
    let mut changes = Vec::new();
    if text(user, "/externalId") != Some(account.external_id.as_str()) {
        changes.push(("externalId", Value::from(account.external_id.as_str())));
    }
    if !text(user, "/userName").is_some_and(|n| n.eq_ignore_ascii_case(&account.user_name)) {
        changes.push(("userName", Value::from(account.user_name.as_str())));
    }
    let wanted = [
        ("name.givenName", "/name/givenName", &account.given_name),
        ("name.familyName", "/name/familyName", &account.family_name),
        ("displayName", "/displayName", &account.display_name),
    ];
    for (path, pointer, value) in wanted {
        if let Some(value) = value {
            if text(user, pointer) != Some(value.as_str()) {
                changes.push((path, Value::from(value.as_str())));
            }
        }
    }
    let desired: Vec<String> = account.emails.iter().map(|e| e.to_lowercase()).collect();
    if !desired.is_empty() && addresses(user) != desired {
        changes.push(("emails", emails_of(account)));
    }
    if is_active(user) != account.active {
        changes.push(("active", Value::Bool(account.active)));
    }
    changes
}

/// Writes the changes; false on a 412 (the user changed since it was read).
async fn apply(
    connector: &ScimAppConnector,
    features: &Features,
    id: &str,
    user: &Value,
    changes: &[(&'static str, Value)],
) -> Result<bool, ConnectorError> {
    let version = features.etag.then(|| text(user, "/meta/version")).flatten();
    if connector.use_patch(features) {
        let operations: Vec<Value> = changes
            .iter()
            .map(|(path, value)| json!({"op": "replace", "path": path, "value": value}))
            .collect();
        let body = json!({"schemas": [PATCH_OP], "Operations": operations});
        match write(
            connector,
            Method::PATCH,
            id,
            &body,
            version,
            "updating the user",
        )
        .await?
        {
            Ok(()) => return Ok(true),
            Err(StatusCode::PRECONDITION_FAILED) => return Ok(false),
            Err(status) => {
                tracing::info!(
                    status = status.as_u16(),
                    "the app refused PATCH; replacing users with PUT"
                );
                connector
                    .patch_refused
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
    let mut body = with_changes(user, changes);
    if let Some(map) = body.as_object_mut() {
        map.remove("meta");
    }
    match write(
        connector,
        Method::PUT,
        id,
        &body,
        version,
        "replacing the user",
    )
    .await?
    {
        Ok(()) => Ok(true),
        Err(StatusCode::PRECONDITION_FAILED) => Ok(false),
        Err(status) => Err(error_from_response(status, b"", "replacing the user")),
    }
}

/// The user with the changes set (as the app keeps it after writing them).
fn with_changes(user: &Value, changes: &[(&'static str, Value)]) -> Value {
    let mut user = user.clone();
    if let Some(map) = user.as_object_mut() {
        for (path, value) in changes {
            match path.split_once('.') {
                Some((parent, child)) => {
                    let entry = map
                        .entry(parent.to_owned())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if !entry.is_object() {
                        *entry = Value::Object(Map::new());
                    }
                    if let Some(inner) = entry.as_object_mut() {
                        inner.insert(child.to_owned(), value.clone());
                    }
                }
                None => {
                    map.insert((*path).to_owned(), value.clone());
                }
            }
        }
    }
    user
}

/// Deactivates the app's managed accounts that `keep` does not hold, page by page over `/Users`.
pub(crate) async fn sweep(
    connector: &ScimAppConnector,
    keep: &HashSet<String>,
    state: Option<&str>,
) -> Result<ProvisionReport, ConnectorError> {
    // The pass ends here: its groups and users are not kept, and the next pass has a marker of its own.
    crate::groups::end_pass(connector);
    end_pass(connector);
    let state = state.filter(|s| !s.starts_with(RUN_PREFIX));
    let features = connector.features().await?;
    let count = page_size(connector, &features);
    let mut report = ProvisionReport {
        state: state.map(str::to_owned),
        ..ProvisionReport::default()
    };
    let mut start = 1usize;
    loop {
        let mut url = connector.url(&["Users"]);
        url.query_pairs_mut()
            .append_pair("startIndex", &start.to_string())
            .append_pair("count", &count.to_string());
        let what = "listing users";
        let (users, total) = list_of(connector.get_json("users", &url, what).await?, what)?;
        let returned = users.len();
        for user in users {
            let Some(external) = text(&user, "/externalId") else {
                continue;
            };
            if !is_managed(external) || keep.contains(external) || !is_active(&user) {
                continue;
            }
            let Some(id) = text(&user, "/id").map(str::to_owned) else {
                continue;
            };
            let changes = [("active", Value::Bool(false))];
            let mut done = apply(connector, &features, &id, &user, &changes).await?;
            if !done {
                let fresh = read_by_id(connector, &id).await?;
                done = !is_active(&fresh)
                    || apply(connector, &features, &id, &fresh, &changes).await?;
            }
            if done {
                report.counts.deactivated += 1;
            } else {
                report.counts.failed += 1;
            }
        }
        start += returned;
        if returned == 0 || total.is_some_and(|t| start > t) {
            return Ok(report);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn account() -> DesiredAccount {
        DesiredAccount {
            external_id: "idn_01hzzzzzzzzzzzzzzzzzzzzzzz".into(),
            user_name: "Ada@Example.com".into(),
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
            display_name: Some("Ada Lovelace".into()),
            emails: vec!["Ada@Example.com".into(), "ada@home.example".into()],
            active: true,
            groups: None,
        }
    }

    #[test]
    fn only_what_differs_is_written() {
        let account = account();
        let same = json!({"id": "1", "externalId": account.external_id,
            "userName": "ada@example.com", "displayName": "Ada Lovelace",
            "name": {"givenName": "Ada", "familyName": "Lovelace", "formatted": "x"},
            "emails": [{"value": "ada@home.example"},
                {"value": "ada@example.com", "primary": true}],
            "active": true, "title": "kept"});
        assert!(differences(&same, &account).is_empty());
        let mut renamed = same.clone();
        renamed["name"]["familyName"] = json!("Byron");
        renamed["active"] = json!("False");
        let changes = differences(&renamed, &account);
        let paths: Vec<&str> = changes.iter().map(|(p, _)| *p).collect();
        assert_eq!(paths, ["name.familyName", "active"]);
        let bare = json!({"id": "2", "userName": "someone@else"});
        assert_eq!(differences(&bare, &account).len(), 6);
    }

    #[test]
    fn only_gatehouse_identity_ids_are_managed() {
        assert!(is_managed("idn_01hzzzzzzzzzzzzzzzzzzzzzzz"));
        assert!(!is_managed("00u1abcd"));
        assert!(!is_managed("usr_01hzzzzzzzzzzzzzzzzzzzzzzz"));
    }
}
