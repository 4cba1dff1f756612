//! Unit tests of the PATCH engine's RFC semantics; real-client requests are in tests/scim.rs.

use serde_json::{json, Value};

use super::*;
use crate::error::ScimType;
use crate::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

fn user() -> Value {
    json!({"schemas": [USER_SCHEMA], "id": "u1", "userName": "bjensen", "active": true,
           "name": {"givenName": "Barbara", "familyName": "Jensen"},
           "emails": [{"value": "b@work.example", "type": "work", "primary": true},
                      {"value": "b@home.example", "type": "home"}],
           "groups": [{"value": "g1"}],
           "meta": {"resourceType": "User", "version": "W/\"1\""}})
}

fn group() -> Value {
    json!({"schemas": [GROUP_SCHEMA], "id": "g1", "displayName": "Admins",
           "members": [{"value": "u1"}, {"value": "u2", "type": "User"}]})
}

fn run(kind: ResourceKind, r: &Value, ops: Value) -> Result<PatchOutcome, ScimError> {
    let req = PatchRequest::from_json(&json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops}))?;
    apply_patch(&SchemaRegistry::standard(), kind, r, &req)
}

fn err(kind: ResourceKind, r: &Value, ops: Value) -> Option<ScimType> {
    run(kind, r, ops).expect_err("patch should fail").scim_type
}

#[test]
fn add_replace_remove_basics() {
    let out = run(ResourceKind::User, &user(), json!([
        {"op": "add", "path": "title", "value": "Tour Guide"},
        {"op": "replace", "path": "name.givenName", "value": "Babs"},
        {"op": "remove", "path": "emails[type eq \"home\"]"},
        {"op": "add", "value": {"nickName": "B", ENTERPRISE_USER_SCHEMA: {"department": "Tours"},
                                 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter": "42"}}
    ]))
    .unwrap();
    let r = &out.resource;
    assert_eq!(r["title"], "Tour Guide");
    assert_eq!(
        r["name"],
        json!({"givenName": "Babs", "familyName": "Jensen"})
    );
    assert_eq!(r["emails"].as_array().unwrap().len(), 1);
    assert_eq!(
        r[ENTERPRISE_USER_SCHEMA],
        json!({"department": "Tours", "costCenter": "42"})
    );
    assert_eq!(r["schemas"], json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
    assert_eq!(r["meta"], user()["meta"], "meta is the caller's to update");
    assert_eq!(
        out.changes.attributes,
        [
            "emails".to_owned(),
            "name".to_owned(),
            "nickName".to_owned(),
            "title".to_owned(),
            format!("{ENTERPRISE_USER_SCHEMA}:costCenter"),
            format!("{ENTERPRISE_USER_SCHEMA}:department"),
        ]
    );
    assert_eq!(out.changes.active, None);
}

#[test]
fn complex_replace_merges_and_multi_valued_add_appends() {
    let out = run(ResourceKind::User, &user(), json!([
        {"op": "replace", "path": "name", "value": {"middleName": "J"}},
        {"op": "add", "path": "emails", "value": [{"value": "new@x", "primary": true},
                                                   {"value": "B@WORK.example", "type": "work", "display": "w"}]}
    ]))
    .unwrap();
    let r = &out.resource;
    assert_eq!(r["name"]["givenName"], "Barbara");
    assert_eq!(r["name"]["middleName"], "J");
    assert_eq!(
        r["emails"],
        json!([{"value": "b@work.example", "type": "work", "primary": false, "display": "w"},
               {"value": "b@home.example", "type": "home"},
               {"value": "new@x", "primary": true}])
    );
    let replaced = run(
        ResourceKind::User,
        &user(),
        json!([
        {"op": "replace", "path": "emails", "value": [{"value": "only@x"}]}]),
    )
    .unwrap();
    assert_eq!(replaced.resource["emails"], json!([{"value": "only@x"}]));
}

#[test]
fn errors_carry_the_rfc_scim_type() {
    let u = user();
    let k = ResourceKind::User;
    assert_eq!(
        err(
            k,
            &u,
            json!([{"op": "replace", "path": "nosuch", "value": 1}])
        ),
        Some(ScimType::InvalidPath)
    );
    assert_eq!(
        err(
            k,
            &u,
            json!([{"op": "replace", "path": "name.nosuch", "value": 1}])
        ),
        Some(ScimType::InvalidPath)
    );
    assert_eq!(
        err(k, &u, json!([{"op": "replace", "value": {"nosuch": 1}}])),
        Some(ScimType::InvalidPath)
    );
    assert_eq!(
        err(
            k,
            &u,
            json!([{"op": "replace", "path": "emails[", "value": 1}])
        ),
        Some(ScimType::InvalidPath)
    );
    assert_eq!(
        err(
            k,
            &u,
            json!([{"op": "replace", "path": "id", "value": "x"}])
        ),
        Some(ScimType::Mutability)
    );
    assert_eq!(
        err(k, &u, json!([{"op": "replace", "value": {"id": "x"}}])),
        Some(ScimType::Mutability)
    );
    assert_eq!(
        err(
            k,
            &u,
            json!([{"op": "add", "path": "groups", "value": [{"value": "g2"}]}])
        ),
        Some(ScimType::Mutability)
    );
    assert_eq!(
        err(k, &u, json!([{"op": "remove", "path": "groups"}])),
        Some(ScimType::Mutability)
    );
    assert_eq!(
        err(
            k,
            &u,
            json!([{"op": "replace", "path": "active", "value": "maybe"}])
        ),
        Some(ScimType::InvalidValue)
    );
    assert_eq!(
        err(
            k,
            &u,
            json!([{"op": "replace", "path": "name", "value": 7}])
        ),
        Some(ScimType::InvalidValue)
    );
    assert_eq!(
        err(k, &u, json!([{"op": "remove", "path": "userName"}])),
        Some(ScimType::InvalidValue)
    );
    assert_eq!(
        err(
            k,
            &u,
            json!([{"op": "remove", "path": "emails[type eq \"other\"]"}])
        ),
        Some(ScimType::NoTarget)
    );
    assert_eq!(
        err(
            k,
            &u,
            json!([{"op": "replace", "path": "emails[value co \"zzz\"].type", "value": "x"}])
        ),
        Some(ScimType::NoTarget)
    );
    assert_eq!(
        err(k, &u, json!([{"op": "remove"}])),
        Some(ScimType::NoTarget)
    );
    assert_eq!(
        err(k, &u, json!([{"op": "move", "path": "title"}])),
        Some(ScimType::InvalidSyntax)
    );
    assert_eq!(
        err(k, &u, json!([{"op": "add", "path": "title"}])),
        Some(ScimType::InvalidSyntax)
    );
    assert_eq!(
        err(k, &u, json!({"op": "add"})),
        Some(ScimType::InvalidSyntax)
    );
    let g = group();
    assert_eq!(
        err(
            ResourceKind::Group,
            &g,
            json!([{"op": "replace", "path": "members[value eq \"u1\"].value", "value": "u9"}])
        ),
        Some(ScimType::Mutability)
    );
}

#[test]
fn atomic_all_or_nothing() {
    let u = user();
    let e = run(
        ResourceKind::User,
        &u,
        json!([
            {"op": "replace", "path": "title", "value": "changed"},
            {"op": "replace", "path": "id", "value": "x"}
        ]),
    );
    assert!(e.is_err());
    assert_eq!(u, user(), "input untouched");
}

#[test]
fn no_op_patch_reports_no_change() {
    let out = run(
        ResourceKind::User,
        &user(),
        json!([
        {"op": "replace", "path": "userName", "value": "bjensen"}]),
    )
    .unwrap();
    assert!(out.changes.is_empty());
    assert_eq!(out.resource, user());
}

#[test]
fn group_member_changes_are_reported() {
    let out = run(
        ResourceKind::Group,
        &group(),
        json!([
            {"op": "add", "path": "members", "value": [{"value": "u3"}, {"value": "U1"}]},
            {"op": "remove", "path": "members[value eq \"u2\"]"}
        ]),
    )
    .unwrap();
    assert_eq!(out.changes.members_added, ["u3"]);
    assert_eq!(out.changes.members_removed, ["u2"]);
    assert_eq!(out.changes.attributes, ["members"]);
    let cleared = run(
        ResourceKind::Group,
        &group(),
        json!([{"op": "remove", "path": "members"}]),
    )
    .unwrap();
    assert!(cleared.resource.get("members").is_none());
    assert_eq!(cleared.changes.members_removed, ["u1", "u2"]);
}

#[test]
fn equality_filters_create_missing_values_others_do_not() {
    let mut u = user();
    u["emails"] = json!([{"value": "b@home.example", "type": "home"}]);
    let out = run(
        ResourceKind::User,
        &u,
        json!([
        {"op": "add", "path": "addresses[type eq \"work\"].locality", "value": "Columbus"}]),
    )
    .unwrap();
    assert_eq!(
        out.resource["addresses"],
        json!([{"type": "work", "locality": "Columbus"}])
    );
    let cleared = run(
        ResourceKind::User,
        &u,
        json!([
        {"op": "replace", "path": "emails[type eq \"home\"].value", "value": ""}]),
    )
    .unwrap();
    assert!(
        cleared.resource.get("emails").is_none(),
        "a value without its value is dropped"
    );
}

#[test]
fn whole_extension_paths() {
    let mut u = user();
    u[ENTERPRISE_USER_SCHEMA] = json!({"department": "D", "division": "V"});
    let out = run(
        ResourceKind::User,
        &u,
        json!([
        {"op": "replace", "path": ENTERPRISE_USER_SCHEMA, "value": {"department": "E"}}]),
    )
    .unwrap();
    assert_eq!(
        out.resource[ENTERPRISE_USER_SCHEMA],
        json!({"department": "E", "division": "V"})
    );
    let out = run(
        ResourceKind::User,
        &u,
        json!([{"op": "remove", "path": ENTERPRISE_USER_SCHEMA}]),
    )
    .unwrap();
    assert!(out.resource.get(ENTERPRISE_USER_SCHEMA).is_none());
    assert_eq!(out.resource["schemas"], json!([USER_SCHEMA]));
}
