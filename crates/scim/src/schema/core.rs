//! The schemas RFC 7643 defines (§3.1 common attributes, §4.1 User, §4.2 Group, §4.3 Enterprise
//! User), with the characteristics of the §8.7.1 representation. Descriptions are our own words.

use std::sync::LazyLock;

use super::{AttrType, AttributeDef, Mutability, Returned, Schema, Uniqueness};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn string(name: &str) -> AttributeDef {
    AttributeDef::new(name, AttrType::String)
}

fn boolean(name: &str) -> AttributeDef {
    AttributeDef::new(name, AttrType::Boolean)
}

fn reference(name: &str, types: &[&str]) -> AttributeDef {
    AttributeDef::new(name, AttrType::Reference).references(types)
}

fn complex(name: &str, subs: Vec<AttributeDef>) -> AttributeDef {
    AttributeDef::new(name, AttrType::Complex).subs(subs)
}

/// `value`, `display`, `type`, `primary`: the shape of emails, phoneNumbers, ims, photos, …
fn labelled(name: &str, describe: &str, value: AttributeDef, types: &[&str]) -> AttributeDef {
    complex(
        name,
        vec![
            value.describe("The value, in canonical form where the type has one."),
            string("display").describe("A human-readable name, for display only."),
            string("type")
                .canonical(types)
                .describe("A label for the value's function."),
            boolean("primary").describe("Whether this is the preferred value; true at most once."),
        ],
    )
    .multi()
    .describe(describe)
}

/// RFC 7643 §2.4: sub-attributes every multi-valued attribute may carry.
pub(crate) fn multi_valued_defaults() -> &'static [AttributeDef] {
    static DEFAULTS: LazyLock<Vec<AttributeDef>> = LazyLock::new(|| {
        vec![
            string("type"),
            boolean("primary"),
            string("display"),
            string("value"),
            reference("$ref", &[]),
        ]
    });
    &DEFAULTS
}

/// `id`, `externalId`, `meta` (RFC 7643 §3.1) and `schemas` (§3): on every resource, listed in no
/// schema's `attributes`.
pub fn common_attributes() -> Vec<AttributeDef> {
    vec![
        string("id")
            .case_exact()
            .mutability(Mutability::ReadOnly)
            .returned(Returned::Always)
            .uniqueness(Uniqueness::Server)
            .describe("The service provider's unique, stable identifier of the resource."),
        string("externalId")
            .case_exact()
            .describe("The provisioning client's identifier of the resource."),
        complex(
            "meta",
            vec![
                string("resourceType")
                    .case_exact()
                    .mutability(Mutability::ReadOnly),
                AttributeDef::new("created", AttrType::DateTime).mutability(Mutability::ReadOnly),
                AttributeDef::new("lastModified", AttrType::DateTime)
                    .mutability(Mutability::ReadOnly),
                reference("location", &["uri"])
                    .case_exact()
                    .mutability(Mutability::ReadOnly),
                string("version")
                    .case_exact()
                    .mutability(Mutability::ReadOnly),
            ],
        )
        .mutability(Mutability::ReadOnly)
        .describe("Resource metadata maintained by the service provider."),
        string("schemas")
            .multi()
            .case_exact()
            .mutability(Mutability::ReadOnly)
            .returned(Returned::Always)
            .describe("The URIs of the schemas the resource uses."),
    ]
}

/// `urn:ietf:params:scim:schemas:core:2.0:User` (RFC 7643 §4.1, §8.7.1).
pub fn user_schema() -> Schema {
    let name = complex(
        "name",
        vec![
            string("formatted").describe("The full name, formatted for display."),
            string("familyName").describe("The family (last) name."),
            string("givenName").describe("The given (first) name."),
            string("middleName").describe("The middle name(s)."),
            string("honorificPrefix").describe("Honorific prefix, such as 'Ms.'."),
            string("honorificSuffix").describe("Honorific suffix, such as 'III'."),
        ],
    )
    .describe("The components of the user's real name.");
    let addresses = complex(
        "addresses",
        vec![
            string("formatted").describe("The full mailing address, formatted for display."),
            string("streetAddress").describe("Street, house number and similar."),
            string("locality").describe("City or locality."),
            string("region").describe("State or region."),
            string("postalCode").describe("Zip or postal code."),
            string("country").describe("Country, as an ISO 3166-1 alpha-2 code."),
            string("type")
                .canonical(&["work", "home", "other"])
                .describe("A label for the address's function."),
        ],
    )
    .multi()
    .describe("Physical mailing addresses.");
    let groups = complex(
        "groups",
        vec![
            string("value")
                .mutability(Mutability::ReadOnly)
                .describe("The group's id."),
            reference("$ref", &["User", "Group"])
                .mutability(Mutability::ReadOnly)
                .describe("The group's URI."),
            string("display")
                .mutability(Mutability::ReadOnly)
                .describe("The group's display name."),
            string("type")
                .canonical(&["direct", "indirect"])
                .mutability(Mutability::ReadOnly)
                .describe("Direct or indirect membership."),
        ],
    )
    .multi()
    .mutability(Mutability::ReadOnly)
    .describe("The groups the user belongs to; changed through the Group resource only.");
    let entitlements = complex(
        "entitlements",
        vec![
            string("value"),
            string("display"),
            string("type"),
            boolean("primary"),
        ],
    )
    .multi()
    .describe("Entitlements the user has.");
    let roles = complex(
        "roles",
        vec![
            string("value"),
            string("display"),
            string("type"),
            boolean("primary"),
        ],
    )
    .multi()
    .describe("Roles the user has.");
    Schema {
        id: USER_SCHEMA.to_owned(),
        name: "User".to_owned(),
        description: "User Account".to_owned(),
        open: false,
        attributes: vec![
            string("userName")
                .required()
                .uniqueness(Uniqueness::Server)
                .describe("The unique identifier the user signs in with. REQUIRED."),
            name,
            string("displayName").describe("The name to display for the user."),
            string("nickName").describe("The casual name of the user."),
            reference("profileUrl", &["external"]).describe("The user's online profile."),
            string("title").describe("The user's title, such as 'Vice President'."),
            string("userType").describe("The relationship to the organization, e.g. 'Employee'."),
            string("preferredLanguage").describe("Preferred written or spoken language."),
            string("locale").describe("Default location for localizing values."),
            string("timezone").describe("Time zone in IANA format, e.g. 'America/Los_Angeles'."),
            boolean("active").describe("The user's administrative status."),
            string("password")
                .mutability(Mutability::WriteOnly)
                .returned(Returned::Never)
                .describe("A cleartext password; never returned (Gatehouse discards it)."),
            labelled(
                "emails",
                "E-mail addresses of the user.",
                string("value"),
                &["work", "home", "other"],
            ),
            labelled(
                "phoneNumbers",
                "Phone numbers of the user.",
                string("value"),
                &["work", "home", "mobile", "fax", "pager", "other"],
            ),
            labelled(
                "ims",
                "Instant messaging addresses of the user.",
                string("value"),
                &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
            ),
            labelled(
                "photos",
                "URLs of photos of the user.",
                reference("value", &["external"]),
                &["photo", "thumbnail"],
            ),
            addresses,
            groups,
            entitlements,
            roles,
            labelled(
                "x509Certificates",
                "X.509 certificates issued to the user.",
                AttributeDef::new("value", AttrType::Binary),
                &[],
            ),
        ],
    }
}

/// `urn:ietf:params:scim:schemas:core:2.0:Group` (RFC 7643 §4.2, §8.7.1).
pub fn group_schema() -> Schema {
    // §8.7.1 marks displayName `required: false` though §4.2 calls it REQUIRED; the JSON follows
    // §8.7.1 and `resource::prepare` enforces §4.2.
    Schema {
        id: GROUP_SCHEMA.to_owned(),
        name: "Group".to_owned(),
        description: "Group".to_owned(),
        open: false,
        attributes: vec![
            // RFC 7643 §4.2 makes it REQUIRED (the §8.7.1 listing says otherwise); the served
            // schema states what is enforced, so clients that generate from it agree with us.
            string("displayName")
                .required()
                .describe("A human-readable name for the group. REQUIRED."),
            complex(
                "members",
                vec![
                    string("value")
                        .mutability(Mutability::Immutable)
                        .describe("The member's id."),
                    reference("$ref", &["User", "Group"])
                        .mutability(Mutability::Immutable)
                        .describe("The member's URI."),
                    string("type")
                        .canonical(&["User", "Group"])
                        .mutability(Mutability::Immutable)
                        .describe("The member's resource type."),
                ],
            )
            .multi()
            .describe("The members of the group."),
        ],
    }
}

/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` (RFC 7643 §4.3, §8.7.1).
pub fn enterprise_user_schema() -> Schema {
    Schema {
        id: ENTERPRISE_USER_SCHEMA.to_owned(),
        name: "EnterpriseUser".to_owned(),
        description: "Enterprise User".to_owned(),
        open: false,
        attributes: vec![
            string("employeeNumber").describe("The organization's identifier of the person."),
            string("costCenter").describe("The cost center."),
            string("organization").describe("The organization."),
            string("division").describe("The division."),
            string("department").describe("The department."),
            complex(
                "manager",
                vec![
                    string("value").describe("The manager's id."),
                    reference("$ref", &["User"]).describe("The manager's URI."),
                    string("displayName")
                        .mutability(Mutability::ReadOnly)
                        .describe("The manager's display name."),
                ],
            )
            .describe("The user's manager."),
        ],
    }
}
