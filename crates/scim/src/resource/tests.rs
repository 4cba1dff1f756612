//! Unit tests of POST/PUT normalization, projection, sorting and paging.

use serde_json::json;

use super::*;
use crate::error::ScimType;
use crate::schema::{CustomSchema, ENTERPRISE_USER_SCHEMA, USER_SCHEMA};

fn reg() -> SchemaRegistry {
    SchemaRegistry::with_custom(&[CustomSchema::new("urn:acme:ext:2.0:User", vec![])]).unwrap()
}

#[test]
fn prepare_normalizes_a_user() {
    let body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, "urn:unknown:ext:User"],
        "id": "client-chosen", "meta": {"created": "x"},
        "USERNAME": "bjensen", "active": "False", "password": "hunter2",
        "groups": [{"value": "g1"}], "nickName": "", "unknownAttr": 1,
        "emails": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": "True"}],
        ENTERPRISE_USER_SCHEMA: {"Department": "Tours", "manager": "m1"},
        "urn:unknown:ext:User": {"a": 1},
        "urn:acme:ext:2.0:User": {"anything": {"nested": true}}
    });
    let out = prepare(&reg(), ResourceKind::User, &body).unwrap();
    assert_eq!(
        out,
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, "urn:acme:ext:2.0:User"],
            "userName": "bjensen", "active": false,
            "emails": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": false}],
            ENTERPRISE_USER_SCHEMA: {"department": "Tours", "manager": {"value": "m1"}},
            "urn:acme:ext:2.0:User": {"anything": {"nested": true}}
        })
    );
}

#[test]
fn prepare_refuses_missing_required_and_bad_schemas() {
    let r = reg();
    let e = prepare(&r, ResourceKind::User, &json!({"schemas": [USER_SCHEMA]})).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    let e = prepare(&r, ResourceKind::User, &json!({"userName": "a"})).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    let e = prepare(
        &r,
        ResourceKind::Group,
        &json!({"schemas": [USER_SCHEMA], "displayName": "g"}),
    )
    .unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]});
    let e = prepare(&r, ResourceKind::Group, &group).unwrap_err();
    assert_eq!(
        (e.scim_type, e.detail.as_str()),
        (Some(ScimType::InvalidValue), "displayName is required")
    );
    let e = prepare(&r, ResourceKind::User, &json!([1])).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    let e = prepare(
        &r,
        ResourceKind::User,
        &json!({"schemas": [USER_SCHEMA], "userName": "a", "active": "yes"}),
    )
    .unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
}

#[test]
fn put_keeps_server_attributes() {
    let r = reg();
    let existing = json!({"schemas": [USER_SCHEMA], "id": "u1", "userName": "a", "title": "t",
                          "groups": [{"value": "g1"}], "meta": {"version": "W/\"1\""}});
    let body = json!({"schemas": [USER_SCHEMA], "id": "other", "userName": "b"});
    let out = prepare_replace(&r, ResourceKind::User, &body, &existing).unwrap();
    assert_eq!(
        out,
        json!({"schemas": [USER_SCHEMA], "id": "u1", "userName": "b",
               "groups": [{"value": "g1"}], "meta": {"version": "W/\"1\""}})
    );
}

fn users() -> Vec<serde_json::Value> {
    vec![
        json!({"id": "1", "userName": "carol", "meta": {"created": "2024-01-03T00:00:00Z"},
               "emails": [{"value": "z@x"}, {"value": "c@x", "primary": true}]}),
        json!({"id": "2", "userName": "Alice", "meta": {"created": "2024-01-01T00:00:00+05:00"}}),
        json!({"id": "3", "userName": "bob", "meta": {"created": "2023-12-31T20:00:00Z"},
               "emails": [{"value": "a@x"}]}),
    ]
}

fn ids(list: &[serde_json::Value]) -> Vec<&str> {
    list.iter().map(|u| u["id"].as_str().unwrap()).collect()
}

#[test]
fn sorts_by_type_case_and_primary() {
    let r = reg();
    let mut l = users();
    let by = |s: &str| crate::path::AttrPath::parse(s).unwrap();
    sort_resources(
        &mut l,
        &r,
        ResourceKind::User,
        &by("userName"),
        SortOrder::Ascending,
    );
    assert_eq!(ids(&l), ["2", "3", "1"], "case-insensitive");
    sort_resources(
        &mut l,
        &r,
        ResourceKind::User,
        &by("meta.created"),
        SortOrder::Ascending,
    );
    assert_eq!(ids(&l), ["2", "3", "1"], "chronological, not lexical");
    sort_resources(
        &mut l,
        &r,
        ResourceKind::User,
        &by("emails"),
        SortOrder::Ascending,
    );
    assert_eq!(ids(&l), ["3", "1", "2"], "primary value; missing last");
    sort_resources(
        &mut l,
        &r,
        ResourceKind::User,
        &by("emails.value"),
        SortOrder::Descending,
    );
    assert_eq!(ids(&l), ["2", "1", "3"], "missing first when descending");
}

#[test]
fn search_filters_sorts_pages_and_projects() {
    let r = reg();
    let req = SearchRequest::from_query([
        ("filter", "userName pr"),
        ("sortBy", "userName"),
        ("startIndex", "2"),
        ("count", "1"),
        ("attributes", "userName"),
    ])
    .unwrap();
    let out = search(&r, ResourceKind::User, &req, users(), 100).unwrap();
    assert_eq!(
        out,
        json!({"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": 3, "startIndex": 2,
               "itemsPerPage": 1, "Resources": [{"id": "3", "userName": "bob"}]})
    );
    let zero = SearchRequest::from_query([("count", "0")]).unwrap();
    let out = search(&r, ResourceKind::User, &zero, users(), 100).unwrap();
    assert_eq!(
        (out["totalResults"].clone(), out["itemsPerPage"].clone()),
        (json!(3), json!(0))
    );
    let capped = SearchRequest::from_query([("count", "50"), ("startIndex", "-4")]).unwrap();
    let out = search(&r, ResourceKind::User, &capped, users(), 2).unwrap();
    assert_eq!(
        (out["startIndex"].clone(), out["itemsPerPage"].clone()),
        (json!(1), json!(2))
    );
    assert!(SearchRequest::from_query([("count", "x")]).is_err());
    assert!(SearchRequest::from_query([("sortOrder", "up")]).is_err());
    let bad = SearchRequest::from_query([("filter", "active lt true")]).unwrap();
    assert!(search(&r, ResourceKind::User, &bad, users(), 10).is_err());
}

#[test]
fn search_request_from_post_body() {
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                      "attributes": ["userName", "emails"], "filter": "userName sw \"a\"",
                      "startIndex": 1, "count": 10, "sortOrder": "descending"});
    let req = SearchRequest::from_json(&body).unwrap();
    assert_eq!(req.projection.attributes.len(), 2);
    assert_eq!(req.count, Some(10));
    assert_eq!(req.sort_order, SortOrder::Descending);
    assert!(req.filter.is_some());
    assert!(SearchRequest::from_json(&json!({"schemas": ["x"]})).is_err());
}

#[test]
fn projection_honours_returned() {
    let r = reg();
    let u = json!({"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "id": "1", "userName": "a",
                   "password": "never", "name": {"givenName": "A", "familyName": "B"},
                   "emails": [{"value": "a@x", "type": "work"}], "meta": {"resourceType": "User"},
                   ENTERPRISE_USER_SCHEMA: {"department": "D", "costCenter": "C"}});
    let only = Projection::parse(Some("name.givenName,emails.value"), None).unwrap();
    assert_eq!(
        only.apply(&r, ResourceKind::User, &u),
        json!({"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "id": "1",
               "name": {"givenName": "A"}, "emails": [{"value": "a@x"}]})
    );
    let ext = Projection::parse(
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
        None,
    )
    .unwrap();
    assert_eq!(
        ext.apply(&r, ResourceKind::User, &u)[ENTERPRISE_USER_SCHEMA],
        json!({"department": "D"})
    );
    let excl = Projection::parse(None, Some("id,emails,name.familyName,meta,schemas")).unwrap();
    assert_eq!(
        excl.apply(&r, ResourceKind::User, &u),
        json!({"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "id": "1", "userName": "a",
               "name": {"givenName": "A"},
               ENTERPRISE_USER_SCHEMA: {"department": "D", "costCenter": "C"}})
    );
    let whole = Projection::parse(None, Some(ENTERPRISE_USER_SCHEMA)).unwrap();
    assert!(whole
        .apply(&r, ResourceKind::User, &u)
        .get(ENTERPRISE_USER_SCHEMA)
        .is_none());
    let none = Projection::default();
    assert!(none
        .apply(&r, ResourceKind::User, &u)
        .get("password")
        .is_none());
}
