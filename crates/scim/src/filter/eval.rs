//! Evaluating a filter against a resource's JSON (RFC 7644 §3.4.2.2): strings compare per the
//! attribute's `caseExact`, dateTimes chronologically, numbers numerically, and a multi-valued
//! attribute matches when any of its values does.

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::{CompValue, CompareOp, Filter};
use crate::error::ScimError;
use crate::json::{field, has_value};
use crate::path::AttrPath;
use crate::schema::{AttrType, AttributeDef, ResourceKind, SchemaRegistry};

/// Where paths are resolved: the resource itself, or one value of a multi-valued complex
/// attribute inside a value filter (`emails[type eq "work"]`).
#[derive(Clone, Copy)]
enum Scope<'a> {
    Resource(&'a SchemaRegistry, ResourceKind),
    Element(Option<&'a AttributeDef>),
}

impl Filter {
    /// Whether `resource` matches. Unknown attributes have no value, so they match nothing (and
    /// `not (…)` of them matches everything), as RFC 7644 treats unassigned attributes.
    pub fn matches(&self, resource: &Value, registry: &SchemaRegistry, kind: ResourceKind) -> bool {
        eval(self, Scope::Resource(registry, kind), resource)
    }

    /// Whether one value of a multi-valued complex attribute (defined by `parent`) matches a value
    /// filter, as in a PATCH path `emails[type eq "work"]`.
    pub(crate) fn matches_element(&self, elem: &Value, parent: Option<&AttributeDef>) -> bool {
        eval(self, Scope::Element(parent), elem)
    }

    /// Refuses what RFC 7644 §3.4.2.2 calls invalid beyond syntax: `gt`/`ge`/`lt`/`le` on a
    /// boolean or binary attribute, and a value filter on an attribute that is not complex.
    pub fn validate(&self, registry: &SchemaRegistry, kind: ResourceKind) -> Result<(), ScimError> {
        check(self, Scope::Resource(registry, kind))
    }
}

fn check(f: &Filter, scope: Scope<'_>) -> Result<(), ScimError> {
    match f {
        Filter::And(l, r) | Filter::Or(l, r) => {
            check(l, scope)?;
            check(r, scope)
        }
        Filter::Not(inner) => check(inner, scope),
        Filter::Present(_) => Ok(()),
        Filter::Compare { path, op, .. } => match leaf_def(scope, path) {
            Some(d) if op.is_ordering() && matches!(d.ty, AttrType::Boolean | AttrType::Binary) => {
                Err(ScimError::invalid_filter(format!(
                    "{op} cannot compare the {:?} attribute {path}",
                    d.ty
                )))
            }
            _ => Ok(()),
        },
        Filter::ValuePath { path, filter } => {
            let def = leaf_def(scope, path);
            if def.is_some_and(|d| !d.is_complex()) {
                return Err(ScimError::invalid_filter(format!(
                    "{path} is not a complex attribute"
                )));
            }
            check(filter, Scope::Element(def))
        }
    }
}

fn eval(f: &Filter, scope: Scope<'_>, v: &Value) -> bool {
    match f {
        Filter::And(l, r) => eval(l, scope, v) && eval(r, scope, v),
        Filter::Or(l, r) => eval(l, scope, v) || eval(r, scope, v),
        Filter::Not(inner) => !eval(inner, scope, v),
        Filter::Present(path) => lookup(scope, v, path).0.into_iter().any(has_value),
        Filter::Compare { path, op, value } => {
            let (vals, def) = lookup(scope, v, path);
            compare_values(&vals, def, *op, value)
        }
        Filter::ValuePath { path, filter } => {
            let (elems, def) = lookup(scope, v, path);
            elems
                .into_iter()
                .any(|e| eval(filter, Scope::Element(def), e))
        }
    }
}

fn leaf_def<'a>(scope: Scope<'a>, path: &'a AttrPath) -> Option<&'a AttributeDef> {
    match scope {
        Scope::Resource(reg, kind) => reg.attribute(kind, path).and_then(|l| l.leaf()),
        Scope::Element(parent) => {
            let d = parent.and_then(|p| p.sub_attribute(&path.name))?;
            match &path.sub {
                Some(s) => d.sub_attribute(s),
                None => Some(d),
            }
        }
    }
}

/// The values at `path` (arrays flattened, nulls dropped) and the definition of the leaf.
fn lookup<'v, 'a>(
    scope: Scope<'a>,
    v: &'v Value,
    path: &'a AttrPath,
) -> (Vec<&'v Value>, Option<&'a AttributeDef>) {
    let (top, sub_name, def) = match scope {
        Scope::Resource(reg, kind) => {
            let Some(loc) = reg.attribute(kind, path) else {
                return (Vec::new(), None);
            };
            let container = match loc.extension {
                Some(ext) => field(v, &ext.id),
                None => Some(v),
            };
            (
                container.and_then(|c| field(c, loc.name)),
                loc.sub.map(|s| s.name),
                loc.leaf(),
            )
        }
        Scope::Element(_) => (
            field(v, &path.name),
            path.sub.as_deref(),
            leaf_def(scope, path),
        ),
    };
    let mut out = Vec::new();
    flatten(top, &mut out);
    if let Some(sub) = sub_name {
        let parents = std::mem::take(&mut out);
        for p in parents {
            flatten(field(p, sub), &mut out);
        }
    }
    (out, def)
}

fn flatten<'v>(v: Option<&'v Value>, out: &mut Vec<&'v Value>) {
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => out.extend(a.iter().filter(|x| !x.is_null())),
        Some(x) => out.push(x),
    }
}

/// RFC 7644 semantics over a set of values: any value matching is a match; `ne` matches when no
/// value equals (so an unassigned attribute is `ne` anything); `eq null` means unassigned.
fn compare_values(
    vals: &[&Value],
    def: Option<&AttributeDef>,
    op: CompareOp,
    cv: &CompValue,
) -> bool {
    if *cv == CompValue::Null {
        let present = vals.iter().any(|v| has_value(v));
        return match op {
            CompareOp::Eq => !present,
            CompareOp::Ne => present,
            _ => false,
        };
    }
    match op {
        CompareOp::Ne => !vals.iter().any(|v| compare_one(v, def, CompareOp::Eq, cv)),
        _ => vals.iter().any(|v| compare_one(v, def, op, cv)),
    }
}

fn ordering_matches(ord: Ordering, op: CompareOp) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn parse_datetime(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok()
}

fn compare_one(v: &Value, def: Option<&AttributeDef>, op: CompareOp, cv: &CompValue) -> bool {
    // A complex value compared directly (`emails co "@example.com"`) compares its `value`.
    let v = match v {
        Value::Object(_) => match field(v, "value") {
            Some(inner) => inner,
            None => return false,
        },
        other => other,
    };
    match (v, cv) {
        (Value::String(s), CompValue::Str(c)) => compare_strings(s, c, def, op),
        (Value::String(s), CompValue::Num(n)) => compare_strings(s, &n.to_string(), def, op),
        (Value::Number(a), CompValue::Num(b)) => {
            let ord = match (a.as_i64(), b.as_i64()) {
                (Some(x), Some(y)) => Some(x.cmp(&y)),
                _ => a
                    .as_f64()
                    .zip(b.as_f64())
                    .and_then(|(x, y)| x.partial_cmp(&y)),
            };
            ord.is_some_and(|o| ordering_matches(o, op))
        }
        (Value::Bool(a), CompValue::Bool(b)) => match op {
            CompareOp::Eq => a == b,
            CompareOp::Ne => a != b,
            _ => false,
        },
        (Value::Bool(a), CompValue::Str(s)) => {
            let b = crate::json::as_bool(&Value::String(s.clone()));
            match op {
                CompareOp::Eq => b == Some(*a),
                _ => false,
            }
        }
        _ => false,
    }
}

fn compare_strings(s: &str, c: &str, def: Option<&AttributeDef>, op: CompareOp) -> bool {
    let ty = def.map(|d| d.ty);
    let dated = ty == Some(AttrType::DateTime) || ty.is_none();
    if dated && !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
        if let (Some(a), Some(b)) = (parse_datetime(s), parse_datetime(c)) {
            return ordering_matches(a.cmp(&b), op);
        }
    }
    let exact = def.is_some_and(|d| d.case_exact);
    let (a, b) = if exact {
        (s.to_owned(), c.to_owned())
    } else {
        (s.to_lowercase(), c.to_lowercase())
    };
    match op {
        CompareOp::Co => a.contains(&b),
        CompareOp::Sw => a.starts_with(&b),
        CompareOp::Ew => a.ends_with(&b),
        _ => ordering_matches(a.cmp(&b), op),
    }
}
