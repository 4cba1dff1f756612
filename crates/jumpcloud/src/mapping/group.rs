//! A v2 user group (`UserGroup`) and its members (`GraphConnection`s) as a [`ProviderGroup`].
//!
//! * `id` is the external id; `name` (else the id) and `description` (when not empty).
//! * `UserGroup` carries no creation or change time, so `updated_at` stays unknown.
//! * A member is a `GraphConnection` whose `to` is `{"id", "type": "user"}`; connections to
//!   anything but a user are not accounts and are left out (the spec's `to` is a `GraphObject`
//!   of any `GraphType`).

use gatehouse_core::records::ProviderGroup;
use serde_json::Value;

use super::text;

/// The group with `members` (external ids of system users), or `None` without an `id`.
pub fn map_group(group: &Value, members: Vec<String>) -> Option<ProviderGroup> {
    let external_id = text(group.get("id"))?.to_owned();
    Some(ProviderGroup {
        name: text(group.get("name")).unwrap_or(&external_id).to_owned(),
        description: text(group.get("description")).map(str::to_owned),
        external_id,
        members,
        updated_at: None,
        raw: Some(gatehouse_core::model::RawRecord::from_value(group)),
    })
}

/// The system user a member connection points to, or `None` for anything else.
pub fn member_id(connection: &Value) -> Option<&str> {
    let to = connection.get("to")?;
    let is_user = text(to.get("type")).is_none_or(|t| t.eq_ignore_ascii_case("user"));
    if is_user {
        text(to.get("id"))
    } else {
        None
    }
}
