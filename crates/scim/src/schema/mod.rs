//! SCIM schemas (RFC 7643 §2, §7): attribute definitions with their characteristics, the User, Group
//! and Enterprise User schemas, tenant-declared extensions, and case-insensitive attribute lookup.
//!
//! Everything else in the crate asks this module what an attribute is (its type, whether it is
//! multi-valued, case-exact, writable, returned) instead of hard-coding names.

mod attribute;
mod core;
mod discovery;
mod registry;

pub use self::core::{
    common_attributes, enterprise_user_schema, group_schema, user_schema, ENTERPRISE_USER_SCHEMA,
    GROUP_SCHEMA, USER_SCHEMA,
};
pub use attribute::{AttrType, AttributeDef, Mutability, Returned, Uniqueness};
pub use discovery::{
    resource_type_json, resource_types_json, schema_json, schemas_json,
    service_provider_config_json, BulkLimits, ServiceConfig,
};
pub use registry::{AttrLoc, CustomSchema, Resolved, ResourceKind, Schema, SchemaRegistry, SubLoc};

#[cfg(test)]
mod tests;
