//! SCIM 2.0 (RFC 7643 core schema, RFC 7644 protocol) as pure data and logic for Gatehouse's
//! `/v1/scim/v2` endpoints: no I/O, no async, no HTTP types. The API layer parses requests with
//! this crate, keeps resources in its store, and turns [`ScimError`] into responses.
//!
//! - [`schema`]: User, Group, Enterprise User and tenant extensions; discovery documents.
//! - [`filter`]: filter parsing, printing and evaluation; index hints for the store.
//! - [`patch`]: the PATCH engine, atomic, with a change set.
//! - [`resource`]: POST/PUT validation, `meta`, projection, sorting, paging, list responses.
//! - [`bulk`]: Bulk requests with `bulkId` references, executed through a caller's callback.
//! - [`mapping`]: SCIM resources to Gatehouse's provider records.
//! - [`error`]: the RFC 7644 §3.12 error type.

pub mod bulk;
mod coerce;
pub mod error;
pub mod filter;
mod json;
pub mod mapping;
pub mod patch;
pub mod path;
pub mod resource;
pub mod schema;

pub use error::{ScimError, ScimType};
pub use filter::Filter;
pub use patch::{apply_patch, ChangeSet, PatchOutcome, PatchRequest};
pub use path::{AttrPath, PatchPath};
pub use resource::{Projection, SearchRequest, SortOrder};
pub use schema::{CustomSchema, ResourceKind, SchemaRegistry, ServiceConfig};
