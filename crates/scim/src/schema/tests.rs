//! Unit tests of schema definitions, lookup and discovery documents.

use serde_json::json;

use super::*;
use crate::path::AttrPath;

const BASE: &str = "https://gh.example/v1/scim/v2/";

#[test]
fn user_schema_characteristics_follow_rfc_7643() {
    let u = user_schema();
    let un = u.attribute("USERNAME").unwrap();
    assert!(un.required && !un.case_exact);
    assert_eq!(un.uniqueness, Uniqueness::Server);
    let pw = u.attribute("password").unwrap();
    assert_eq!(
        (pw.mutability, pw.returned),
        (Mutability::WriteOnly, Returned::Never)
    );
    let groups = u.attribute("groups").unwrap();
    assert_eq!(groups.mutability, Mutability::ReadOnly);
    assert!(groups.multi_valued);
    let emails = u.attribute("emails").unwrap();
    assert_eq!(
        emails.sub_attribute("type").unwrap().canonical_values,
        ["work", "home", "other"]
    );
    let g = group_schema();
    let members = g.attribute("members").unwrap();
    assert_eq!(
        members.sub_attribute("value").unwrap().mutability,
        Mutability::Immutable
    );
    // §2.4 default sub-attribute, not listed by §8.7.1 for members.
    assert!(members.sub_attribute("display").is_some());
    let ent = enterprise_user_schema();
    let mgr = ent.attribute("manager").unwrap();
    assert_eq!(
        mgr.sub_attribute("displayName").unwrap().mutability,
        Mutability::ReadOnly
    );
    // Single-valued complex attributes get no §2.4 defaults.
    assert!(user_schema()
        .attribute("name")
        .unwrap()
        .sub_attribute("value")
        .is_none());
}

#[test]
fn attribute_json_matches_rfc_layout() {
    let u = user_schema();
    let v = serde_json::to_value(u.attribute("userName").unwrap()).unwrap();
    assert_eq!(
        v,
        json!({"name": "userName", "type": "string", "multiValued": false,
               "description": "The unique identifier the user signs in with. REQUIRED.",
               "required": true, "caseExact": false, "mutability": "readWrite",
               "returned": "default", "uniqueness": "server"})
    );
    let active = serde_json::to_value(u.attribute("active").unwrap()).unwrap();
    assert!(active.get("caseExact").is_none() && active.get("uniqueness").is_none());
    let name = serde_json::to_value(u.attribute("name").unwrap()).unwrap();
    assert_eq!(name["subAttributes"].as_array().unwrap().len(), 6);
    let photos = serde_json::to_value(u.attribute("photos").unwrap()).unwrap();
    assert_eq!(
        photos["subAttributes"][0]["referenceTypes"],
        json!(["external"])
    );
}

#[test]
fn resolves_names_case_insensitively_and_by_urn() {
    let reg = SchemaRegistry::standard();
    let p = AttrPath::parse("USERNAME").unwrap();
    let loc = reg.attribute(ResourceKind::User, &p).unwrap();
    assert_eq!((loc.name, loc.extension.is_none()), ("userName", true));

    let p = AttrPath::parse("urn:ietf:params:scim:schemas:core:2.0:User:name.GIVENNAME").unwrap();
    let loc = reg.attribute(ResourceKind::User, &p).unwrap();
    assert_eq!(loc.qualified(), "name.givenName");

    let p = AttrPath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager")
        .unwrap();
    let loc = reg.attribute(ResourceKind::User, &p).unwrap();
    assert_eq!(loc.extension.unwrap().id, ENTERPRISE_USER_SCHEMA);
    assert_eq!(
        loc.qualified(),
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
    );

    // Unqualified extension attributes are found too.
    let p = AttrPath::parse("department").unwrap();
    assert!(reg
        .attribute(ResourceKind::User, &p)
        .unwrap()
        .extension
        .is_some());
    // But not on Groups.
    assert!(reg.attribute(ResourceKind::Group, &p).is_none());

    let p = AttrPath::parse(ENTERPRISE_USER_SCHEMA).unwrap();
    assert!(matches!(
        reg.resolve(ResourceKind::User, &p),
        Some(Resolved::Extension(_))
    ));

    for unknown in ["nope", "name.nope", "userName.x", "urn:x:y:z:userName"] {
        let p = AttrPath::parse(unknown).unwrap();
        assert!(reg.resolve(ResourceKind::User, &p).is_none(), "{unknown}");
    }
    let p = AttrPath::parse("id").unwrap();
    assert!(reg.attribute(ResourceKind::Group, &p).unwrap().case_exact());
}

#[test]
fn custom_extensions_are_open_and_validated() {
    let attrs: Vec<AttributeDef> =
        serde_json::from_value(json!([{"name": "badge", "type": "string"},
                                      {"name": "level", "type": "integer"}]))
        .unwrap();
    assert_eq!(attrs[0].mutability, Mutability::ReadWrite);
    let reg = SchemaRegistry::with_custom(&[
        CustomSchema::new(
            "urn:acme:params:scim:schemas:extension:acme:2.0:User",
            attrs,
        ),
        CustomSchema::new(
            "urn:acme:params:scim:schemas:extension:acme:2.0:Group",
            vec![],
        ),
    ])
    .unwrap();
    assert_eq!(reg.extensions(ResourceKind::User).count(), 2);
    assert_eq!(reg.extensions(ResourceKind::Group).count(), 1);
    let p =
        AttrPath::parse("urn:acme:params:scim:schemas:extension:acme:2.0:User:undeclared").unwrap();
    let loc = reg.attribute(ResourceKind::User, &p).unwrap();
    assert!(loc.def.is_none());
    assert_eq!(loc.name, "undeclared");

    let bad_id = CustomSchema::new("acme", vec![]);
    assert!(SchemaRegistry::with_custom(&[bad_id]).is_err());
    let dup = CustomSchema::new(ENTERPRISE_USER_SCHEMA, vec![]);
    assert!(SchemaRegistry::with_custom(&[dup]).is_err());
    let bad_name = CustomSchema::new(
        "urn:a:b:User",
        vec![AttributeDef::new("a b", AttrType::String)],
    );
    assert!(SchemaRegistry::with_custom(&[bad_name]).is_err());
}

#[test]
fn schemas_endpoint_lists_every_schema_with_absolute_locations() {
    let reg = SchemaRegistry::standard();
    let all = schemas_json(&reg, BASE, None).unwrap();
    assert_eq!(all["totalResults"], 3);
    let ids: Vec<&str> = all["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA]);
    let one = schemas_json(&reg, BASE, Some(ENTERPRISE_USER_SCHEMA)).unwrap();
    assert_eq!(
        one["meta"]["location"],
        format!("https://gh.example/v1/scim/v2/Schemas/{ENTERPRISE_USER_SCHEMA}")
    );
    assert_eq!(
        one["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:Schema"])
    );
    assert_eq!(
        schemas_json(&reg, BASE, Some("urn:nope"))
            .unwrap_err()
            .status,
        404
    );
}

#[test]
fn resource_types_list_extensions() {
    let reg =
        SchemaRegistry::with_custom(&[CustomSchema::new("urn:acme:ext:User", vec![])]).unwrap();
    let user = resource_types_json(&reg, BASE, Some("User")).unwrap();
    assert_eq!(user["endpoint"], "/Users");
    assert_eq!(user["schema"], USER_SCHEMA);
    assert_eq!(
        user["schemaExtensions"],
        json!([{"schema": ENTERPRISE_USER_SCHEMA, "required": false},
               {"schema": "urn:acme:ext:User", "required": false}])
    );
    assert_eq!(
        user["meta"]["location"],
        "https://gh.example/v1/scim/v2/ResourceTypes/User"
    );
    let all = resource_types_json(&reg, BASE, None).unwrap();
    assert_eq!(all["totalResults"], 2);
    assert_eq!(
        resource_types_json(&reg, BASE, Some("Users"))
            .unwrap_err()
            .status,
        404
    );
}

#[test]
fn service_provider_config_advertises_capabilities() {
    let cfg = ServiceConfig {
        max_results: 200,
        bulk: BulkLimits {
            max_operations: 50,
            max_payload_size: 65536,
        },
        documentation_uri: None,
    };
    let v = service_provider_config_json(&cfg, BASE);
    assert_eq!(v["patch"]["supported"], true);
    assert_eq!(v["filter"], json!({"supported": true, "maxResults": 200}));
    assert_eq!(
        v["bulk"],
        json!({"supported": true, "maxOperations": 50, "maxPayloadSize": 65536})
    );
    assert_eq!(v["sort"]["supported"], true);
    assert_eq!(v["etag"]["supported"], true);
    assert_eq!(v["changePassword"]["supported"], false);
    assert_eq!(v["authenticationSchemes"][0]["type"], "oauthbearertoken");
    assert_eq!(
        v["meta"]["location"],
        "https://gh.example/v1/scim/v2/ServiceProviderConfig"
    );
}
