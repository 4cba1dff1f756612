//! The PATCH engine (RFC 7644 §3.5.2): parses a PatchOp request, applies it atomically to a copy
//! of the resource, validates the result against the schema, and reports what changed so the
//! caller can update its indexes (members added and removed, `active` flipped, attributes
//! touched).
//!
//! Real clients bend the RFC; the engine accepts what Entra ID and Okta actually send:
//! capitalised ops, booleans as strings, a manager as a bare id, member removal by value,
//! `"$ref": null`, `""`/`null` to clear, pathless replaces carrying `id`, and filtered paths that
//! name a value not there yet (`emails[type eq "work"].value` on a user without a work e-mail).

mod apply;
mod changes;
mod values;

use serde_json::Value;

use crate::error::ScimError;
use crate::json::{get_ci, key_ci};
use crate::path::PatchPath;
use crate::resource::{check_required, tidy};
use crate::schema::{ResourceKind, SchemaRegistry};

pub use changes::{diff, ChangeSet};

pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// `add`, `replace` or `remove`, matched case-insensitively (Entra sends `"Replace"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    Add,
    Replace,
    Remove,
}

/// One operation. `value` is `None` when absent and `Some(Value::Null)` when sent as `null`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    pub op: PatchOpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// A parsed `urn:ietf:params:scim:api:messages:2.0:PatchOp` request.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    pub operations: Vec<PatchOperation>,
}

/// The patched resource (normalized, `meta` untouched) and what changed.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOutcome {
    pub resource: Value,
    pub changes: ChangeSet,
}

impl PatchRequest {
    /// Parses a PATCH body; structural problems are `invalidSyntax`, bad paths `invalidPath`.
    pub fn from_json(body: &Value) -> Result<Self, ScimError> {
        let Some(obj) = body.as_object() else {
            return Err(ScimError::invalid_syntax("the body must be a JSON object"));
        };
        if let Some(s) = get_ci(obj, "schemas") {
            let ok = s.as_array().is_some_and(|a| {
                a.iter().any(|x| {
                    x.as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
                })
            });
            if !ok {
                return Err(ScimError::invalid_syntax(format!(
                    "schemas must include {PATCH_OP_SCHEMA}"
                )));
            }
        }
        let Some(ops) = key_ci(obj, "Operations").and_then(|k| obj.get(&k)?.as_array().cloned())
        else {
            return Err(ScimError::invalid_syntax("Operations must be an array"));
        };
        let operations = ops
            .iter()
            .enumerate()
            .map(|(i, o)| parse_operation(i, o))
            .collect::<Result<_, _>>()?;
        Ok(Self { operations })
    }
}

fn parse_operation(i: usize, o: &Value) -> Result<PatchOperation, ScimError> {
    let Some(obj) = o.as_object() else {
        return Err(ScimError::invalid_syntax(format!(
            "operation {i} is not an object"
        )));
    };
    let op = match get_ci(obj, "op").and_then(Value::as_str) {
        Some(s) if s.eq_ignore_ascii_case("add") => PatchOpKind::Add,
        Some(s) if s.eq_ignore_ascii_case("replace") => PatchOpKind::Replace,
        Some(s) if s.eq_ignore_ascii_case("remove") => PatchOpKind::Remove,
        other => {
            return Err(ScimError::invalid_syntax(format!(
                "operation {i}: op must be add, replace or remove, not {other:?}"
            )))
        }
    };
    let path = match get_ci(obj, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(PatchPath::parse(s)?),
        Some(_) => {
            return Err(ScimError::invalid_path(format!(
                "operation {i}: path must be a string"
            )))
        }
    };
    Ok(PatchOperation {
        op,
        path,
        value: get_ci(obj, "value").cloned(),
    })
}

/// Applies `req` to `resource`: all operations or none (the input is never modified). The result
/// is normalized and checked for required attributes; `meta` is left for the caller to
/// [`finalize`](crate::resource::finalize) when `changes` is not empty.
pub fn apply_patch(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    resource: &Value,
    req: &PatchRequest,
) -> Result<PatchOutcome, ScimError> {
    let Some(mut doc) = resource.as_object().cloned() else {
        return Err(ScimError::new(
            500,
            None,
            "stored resource is not an object",
        ));
    };
    let ctx = apply::Ctx { registry, kind };
    for op in &req.operations {
        ctx.apply(&mut doc, op)?;
    }
    tidy(registry, kind, &mut doc);
    check_required(registry, kind, &doc)?;
    let patched = Value::Object(doc);
    let changes = diff(registry, kind, resource, &patched);
    Ok(PatchOutcome {
        resource: patched,
        changes,
    })
}

#[cfg(test)]
mod tests;
