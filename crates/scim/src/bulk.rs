//! Bulk (RFC 7644 §3.7): parsing and limits (`maxOperations`, `maxPayloadSize` → 413 `tooMany`),
//! `bulkId` references (`"bulkId:xyz"` anywhere in an operation's data or path becomes the id
//! the referenced POST created), ordering so referenced resources are created first, circular
//! references (409), `failOnErrors`, and the BulkResponse.
//!
//! Executing an operation is the caller's: it passes a [`BulkExecutor`] (any
//! `FnMut(&ResolvedOperation) -> Result<BulkOutcome, ScimError>`), so this module stays pure.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};

use crate::error::{ScimError, ScimType};
use crate::json::get_ci;
use crate::schema::{BulkLimits, ResourceKind};

pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const BULK_ID_PREFIX: &str = "bulkId:";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMethod {
    Post,
    Put,
    Patch,
    Delete,
}

impl BulkMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Post, Self::Put, Self::Patch, Self::Delete]
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
    }
}

/// One operation as the client sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperation {
    pub method: BulkMethod,
    /// `/Users`, `/Groups/{id}`, `/Groups/bulkId:xyz`.
    pub path: String,
    pub kind: ResourceKind,
    /// The id in the path, if any (still a `bulkId:` reference until resolved).
    pub id: Option<String>,
    pub bulk_id: Option<String>,
    /// The `If-Match` version for PUT, PATCH and DELETE.
    pub version: Option<String>,
    pub data: Option<Value>,
}

/// A parsed BulkRequest.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRequest {
    /// Stop after this many errors (`None`: process everything).
    pub fail_on_errors: Option<usize>,
    pub operations: Vec<BulkOperation>,
}

/// An operation ready to run: every `bulkId:` reference replaced by a real id.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedOperation {
    pub method: BulkMethod,
    pub kind: ResourceKind,
    pub id: Option<String>,
    pub bulk_id: Option<String>,
    pub version: Option<String>,
    pub data: Option<Value>,
}

/// What the caller reports for an operation it ran.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BulkOutcome {
    /// 201 for a create, 200 for a replace or patch, 204 for a delete.
    pub status: u16,
    /// The resource's id (required for a POST that others reference).
    pub id: Option<String>,
    pub location: Option<String>,
    pub version: Option<String>,
    /// The resource, when the caller wants it in the response (RFC 7644 makes it optional).
    pub response: Option<Value>,
}

/// Runs one resolved operation.
pub trait BulkExecutor {
    fn execute(&mut self, op: &ResolvedOperation) -> Result<BulkOutcome, ScimError>;
}

impl<F> BulkExecutor for F
where
    F: FnMut(&ResolvedOperation) -> Result<BulkOutcome, ScimError>,
{
    fn execute(&mut self, op: &ResolvedOperation) -> Result<BulkOutcome, ScimError> {
        self(op)
    }
}

/// One entry of the BulkResponse.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkResult {
    pub method: BulkMethod,
    pub bulk_id: Option<String>,
    pub location: Option<String>,
    pub version: Option<String>,
    pub status: u16,
    pub response: Option<Value>,
}

/// The BulkResponse: results in request order, for the operations that ran.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BulkResponse {
    pub operations: Vec<BulkResult>,
}

impl BulkResponse {
    pub fn to_json(&self) -> Value {
        let ops: Vec<Value> = self
            .operations
            .iter()
            .map(|r| {
                let mut o = Map::new();
                o.insert("method".into(), json!(r.method.as_str()));
                if let Some(b) = &r.bulk_id {
                    o.insert("bulkId".into(), json!(b));
                }
                if let Some(v) = &r.version {
                    o.insert("version".into(), json!(v));
                }
                if let Some(l) = &r.location {
                    o.insert("location".into(), json!(l));
                }
                // Like the Error schema, RFC 7644 §3.7.3 writes the status as a string.
                o.insert("status".into(), json!(r.status.to_string()));
                if let Some(resp) = &r.response {
                    o.insert("response".into(), resp.clone());
                }
                Value::Object(o)
            })
            .collect();
        json!({"schemas": [BULK_RESPONSE_SCHEMA], "Operations": ops})
    }
}

impl BulkRequest {
    /// Parses raw bytes, refusing bodies over `maxPayloadSize` before looking at them.
    pub fn parse(body: &[u8], limits: &BulkLimits) -> Result<Self, ScimError> {
        if body.len() > limits.max_payload_size {
            return Err(ScimError::too_many(format!(
                "the bulk request is {} bytes; maxPayloadSize is {}",
                body.len(),
                limits.max_payload_size
            )));
        }
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| ScimError::invalid_syntax(format!("the body is not JSON: {e}")))?;
        Self::from_json(&v, limits)
    }

    /// Parses a BulkRequest document, refusing more than `maxOperations` operations.
    pub fn from_json(body: &Value, limits: &BulkLimits) -> Result<Self, ScimError> {
        let Some(obj) = body.as_object() else {
            return Err(ScimError::invalid_syntax("the body must be a JSON object"));
        };
        let schema_ok = get_ci(obj, "schemas")
            .and_then(Value::as_array)
            .is_some_and(|a| {
                a.iter().any(|s| {
                    s.as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(BULK_REQUEST_SCHEMA))
                })
            });
        if !schema_ok {
            return Err(ScimError::invalid_syntax(format!(
                "schemas must include {BULK_REQUEST_SCHEMA}"
            )));
        }
        let Some(ops) = get_ci(obj, "Operations").and_then(Value::as_array) else {
            return Err(ScimError::invalid_syntax("Operations must be an array"));
        };
        if ops.len() > limits.max_operations {
            return Err(ScimError::too_many(format!(
                "the bulk request has {} operations; maxOperations is {}",
                ops.len(),
                limits.max_operations
            )));
        }
        let fail_on_errors = match get_ci(obj, "failOnErrors") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64() {
                Some(n) if n >= 1 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
                _ => {
                    return Err(ScimError::invalid_value(
                        "failOnErrors must be an integer of at least 1",
                    ))
                }
            },
        };
        let mut seen = HashSet::new();
        let mut operations = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            let op = parse_operation(i, op)?;
            if let Some(b) = &op.bulk_id {
                if !seen.insert(b.clone()) {
                    return Err(ScimError::invalid_syntax(format!(
                        "bulkId {b:?} is used twice"
                    )));
                }
            }
            operations.push(op);
        }
        Ok(Self {
            fail_on_errors,
            operations,
        })
    }
}

fn parse_operation(i: usize, v: &Value) -> Result<BulkOperation, ScimError> {
    let bad = |what: &str| ScimError::invalid_syntax(format!("operation {i}: {what}"));
    let Some(o) = v.as_object() else {
        return Err(bad("not an object"));
    };
    let text = |k: &str| get_ci(o, k).and_then(Value::as_str).map(str::to_owned);
    let method = text("method")
        .as_deref()
        .and_then(BulkMethod::parse)
        .ok_or_else(|| bad("method must be POST, PUT, PATCH or DELETE"))?;
    let path = text("path").ok_or_else(|| bad("path is required"))?;
    let mut segs = path.trim_start_matches('/').splitn(2, '/');
    let kind = segs
        .next()
        .and_then(ResourceKind::from_name)
        .filter(|_| path.starts_with('/'))
        .ok_or_else(|| ScimError::invalid_path(format!("operation {i}: unknown path {path:?}")))?;
    let id = segs.next().filter(|s| !s.is_empty()).map(str::to_owned);
    if id.as_deref().is_some_and(|s| s.contains('/')) {
        return Err(ScimError::invalid_path(format!(
            "operation {i}: unknown path {path:?}"
        )));
    }
    let bulk_id = text("bulkId");
    let data = get_ci(o, "data").filter(|d| !d.is_null()).cloned();
    match method {
        BulkMethod::Post if id.is_some() => return Err(bad("POST goes to a collection path")),
        BulkMethod::Post if bulk_id.is_none() => return Err(bad("POST needs a bulkId")),
        BulkMethod::Put | BulkMethod::Patch | BulkMethod::Delete if id.is_none() => {
            return Err(bad("PUT, PATCH and DELETE need a resource path"))
        }
        _ => {}
    }
    if method != BulkMethod::Delete && data.is_none() {
        return Err(bad("data is required"));
    }
    Ok(BulkOperation {
        method,
        path,
        kind,
        id,
        bulk_id,
        version: text("version"),
        data,
    })
}

/// The bulkIds an operation references (in its path and anywhere in its data).
fn references(op: &BulkOperation) -> HashSet<String> {
    fn walk(v: &Value, out: &mut HashSet<String>) {
        match v {
            Value::String(s) => {
                if let Some(b) = s.strip_prefix(BULK_ID_PREFIX) {
                    out.insert(b.to_owned());
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = HashSet::new();
    if let Some(id) = &op.id {
        walk(&Value::String(id.clone()), &mut out);
    }
    if let Some(d) = &op.data {
        walk(d, &mut out);
    }
    out
}

fn substitute(v: &mut Value, ids: &HashMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix(BULK_ID_PREFIX).and_then(|b| ids.get(b)) {
                *s = id.clone();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, ids)),
        Value::Object(o) => o.values_mut().for_each(|x| substitute(x, ids)),
        _ => {}
    }
}

fn failure(op: &BulkOperation, e: &ScimError) -> BulkResult {
    BulkResult {
        method: op.method,
        bulk_id: op.bulk_id.clone(),
        location: None,
        version: None,
        status: e.status,
        response: Some(e.to_json()),
    }
}

/// Runs the operations, each after the POSTs it references, and builds the BulkResponse.
///
/// An operation referencing an unknown bulkId fails with 400 `invalidValue`; one whose referenced
/// operation failed, or that sits in (or waits on) a reference cycle, fails with 409. After
/// `failOnErrors` failures nothing more runs.
pub fn run_bulk(req: &BulkRequest, exec: &mut impl BulkExecutor) -> BulkResponse {
    let ops = &req.operations;
    let definer: HashMap<&str, usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.method == BulkMethod::Post)
        .filter_map(|(i, o)| o.bulk_id.as_deref().map(|b| (b, i)))
        .collect();
    let refs: Vec<HashSet<String>> = ops.iter().map(references).collect();
    let mut results: Vec<Option<BulkResult>> = vec![None; ops.len()];
    let mut created: HashMap<String, String> = HashMap::new();
    let mut failed_ids: HashSet<String> = HashSet::new();
    let mut errors = 0usize;
    let limit = req.fail_on_errors.unwrap_or(usize::MAX);
    'outer: while errors < limit {
        // The first operation not yet run whose references are all settled.
        let next = (0..ops.len()).find(|&i| {
            results.get(i).is_some_and(Option::is_none)
                && refs.get(i).is_some_and(|r| {
                    r.iter().all(|b| {
                        !definer.contains_key(b.as_str())
                            || created.contains_key(b)
                            || failed_ids.contains(b)
                    })
                })
        });
        let Some(i) = next else {
            // Whatever is left waits on a cycle.
            for (j, slot) in results.iter_mut().enumerate() {
                if slot.is_none() && errors < limit {
                    if let Some(op) = ops.get(j) {
                        let e = ScimError::new(409, None, "circular bulkId reference");
                        *slot = Some(failure(op, &e));
                        errors += 1;
                    }
                }
            }
            break 'outer;
        };
        let (Some(op), Some(op_refs)) = (ops.get(i), refs.get(i)) else {
            break;
        };
        let problem = op_refs.iter().find_map(|b| {
            if !definer.contains_key(b.as_str()) {
                Some(ScimError::new(
                    400,
                    Some(ScimType::InvalidValue),
                    format!("bulkId {b:?} is not defined in this request"),
                ))
            } else if failed_ids.contains(b) {
                Some(ScimError::new(
                    409,
                    None,
                    format!("bulkId {b:?} could not be resolved: its operation failed"),
                ))
            } else {
                None
            }
        });
        let result = match problem {
            Some(e) => Err(e),
            None => {
                let mut resolved = ResolvedOperation {
                    method: op.method,
                    kind: op.kind,
                    id: op.id.clone(),
                    bulk_id: op.bulk_id.clone(),
                    version: op.version.clone(),
                    data: op.data.clone(),
                };
                if let Some(id) = &mut resolved.id {
                    let mut v = Value::String(id.clone());
                    substitute(&mut v, &created);
                    if let Value::String(s) = v {
                        *id = s;
                    }
                }
                if let Some(d) = &mut resolved.data {
                    substitute(d, &created);
                }
                exec.execute(&resolved)
            }
        };
        let entry = match result {
            Ok(out) => {
                let id = out.id.clone().or_else(|| {
                    out.location
                        .as_deref()
                        .and_then(|l| l.rsplit('/').next())
                        .map(str::to_owned)
                });
                match (&op.bulk_id, id) {
                    (Some(b), Some(id)) if op.method == BulkMethod::Post => {
                        created.insert(b.clone(), id);
                    }
                    (Some(b), None) if op.method == BulkMethod::Post => {
                        failed_ids.insert(b.clone());
                    }
                    _ => {}
                }
                BulkResult {
                    method: op.method,
                    bulk_id: op.bulk_id.clone(),
                    location: out.location,
                    version: out.version,
                    status: out.status,
                    response: out.response,
                }
            }
            Err(e) => {
                errors += 1;
                if let Some(b) = &op.bulk_id {
                    failed_ids.insert(b.clone());
                }
                failure(op, &e)
            }
        };
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(entry);
        }
    }
    BulkResponse {
        operations: results.into_iter().flatten().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> BulkLimits {
        BulkLimits {
            max_operations: 3,
            max_payload_size: 2000,
        }
    }

    #[test]
    fn limits_are_413_too_many() {
        let big = vec![b' '; 2001];
        let e = BulkRequest::parse(&big, &limits()).unwrap_err();
        assert_eq!((e.status, e.scim_type), (413, Some(ScimType::TooMany)));
        let body = json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": [
            {"method": "DELETE", "path": "/Users/1"}, {"method": "DELETE", "path": "/Users/2"},
            {"method": "DELETE", "path": "/Users/3"}, {"method": "DELETE", "path": "/Users/4"}]});
        let e = BulkRequest::from_json(&body, &limits()).unwrap_err();
        assert_eq!((e.status, e.scim_type), (413, Some(ScimType::TooMany)));
    }

    #[test]
    fn structure_errors_are_invalid_syntax() {
        for ops in [
            json!([{"method": "POST", "path": "/Users", "data": {}}]),
            json!([{"method": "GET", "path": "/Users/1"}]),
            json!([{"method": "PUT", "path": "/Users", "data": {}}]),
            json!([{"method": "POST", "path": "/Users", "bulkId": "a", "data": {}},
                   {"method": "POST", "path": "/Users", "bulkId": "a", "data": {}}]),
        ] {
            let body = json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": ops});
            let e = BulkRequest::from_json(&body, &limits()).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax), "{ops}");
        }
        let body = json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": [
            {"method": "DELETE", "path": "/Widgets/1"}]});
        let e = BulkRequest::from_json(&body, &limits()).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
    }
}
