//! Helpers over the values of (multi-valued) attributes that the PATCH operations share:
//! identity of values, appending without duplicates, immutability, and the values an equality
//! filter pins down.

use serde_json::{Map, Value};

use crate::coerce::{coerce, coerce_open};
use crate::error::ScimError;
use crate::filter::{CompValue, CompareOp, Filter};
use crate::json::{field, get_ci, has_value, key_ci, remove_ci, set_ci};
use crate::schema::{AttributeDef, Mutability};

type Doc = Map<String, Value>;

/// The objects in a complex value or in each value of a multi-valued one.
pub(super) fn objects_mut(v: &mut Value) -> Vec<&mut Doc> {
    match v {
        Value::Object(o) => vec![o],
        Value::Array(items) => items.iter_mut().filter_map(Value::as_object_mut).collect(),
        _ => Vec::new(),
    }
}

/// An immutable attribute may be set once; changing or removing its value is `mutability`.
pub(super) fn check_immutable(
    def: Option<&AttributeDef>,
    current: Option<&Value>,
    new: Option<&Value>,
    q: &str,
) -> Result<(), ScimError> {
    let immutable = def.is_some_and(|d| d.mutability == Mutability::Immutable);
    if immutable && current.is_some_and(has_value) && current != new {
        return Err(ScimError::mutability(format!(
            "{q} is immutable and already set"
        )));
    }
    Ok(())
}

pub(super) fn put(o: &mut Doc, name: &str, v: Option<Value>) {
    match v {
        Some(v) => set_ci(o, name, v),
        None => {
            remove_ci(o, name);
        }
    }
}

pub(super) fn coerce_for(
    def: Option<&AttributeDef>,
    value: Value,
    q: &str,
) -> Result<Option<Value>, ScimError> {
    match def {
        Some(d) => coerce(d, value, q),
        None => Ok(coerce_open(value)),
    }
}

/// One value of a multi-valued attribute (a filtered path addresses values one at a time).
pub(super) fn single_element(
    def: Option<&AttributeDef>,
    value: Value,
    q: &str,
) -> Result<Option<Value>, ScimError> {
    match coerce_for(def, value, q)? {
        Some(Value::Array(mut a)) if a.len() <= 1 => Ok(a.pop()),
        Some(Value::Array(_)) => Err(ScimError::invalid_value(format!(
            "{q}: a filtered path takes a single value"
        ))),
        other => Ok(other),
    }
}

pub(super) fn take_items(c: &mut Doc, name: &str) -> Vec<Value> {
    match key_ci(c, name).and_then(|k| c.remove(&k)) {
        Some(Value::Array(a)) => a,
        None | Some(Value::Null) => Vec::new(),
        Some(other) => vec![other],
    }
}

/// The values a conjunction of `sub eq value` terms pins down, or false if the filter is more.
pub(super) fn eq_seed(f: &Filter, def: Option<&AttributeDef>, out: &mut Doc) -> bool {
    match f {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.urn.is_none() && path.sub.is_none() => {
            let v = match value {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::Num(n) => Value::Number(n.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Null => return false,
            };
            let name = def
                .and_then(|d| d.sub_attribute(&path.name))
                .map_or_else(|| path.name.clone(), |s| s.name.clone());
            out.insert(name, v);
            true
        }
        Filter::And(l, r) => eq_seed(l, def, out) && eq_seed(r, def, out),
        _ => false,
    }
}

pub(super) fn remove_indices(items: &mut Vec<Value>, hits: &[usize]) {
    let mut i = 0;
    items.retain(|_| {
        let keep = !hits.contains(&i);
        i += 1;
        keep
    });
}

/// Adds values to a multi-valued attribute: a value already there (same `value` and compatible
/// `type`) is merged rather than duplicated, and a new primary demotes the old one.
pub(super) fn append(def: &AttributeDef, mut items: Vec<Value>, new: Value) -> Vec<Value> {
    let adds = match new {
        Value::Array(a) => a,
        other => vec![other],
    };
    for n in adds {
        if field(&n, "primary") == Some(&Value::Bool(true)) {
            for o in items.iter_mut().filter_map(Value::as_object_mut) {
                if o.contains_key("primary") {
                    o.insert("primary".to_owned(), Value::Bool(false));
                }
            }
        }
        match items.iter_mut().find(|it| same_item(def, it, &n)) {
            Some(Value::Object(o)) => {
                if let Value::Object(add) = n {
                    // The existing `value` keeps its spelling: it is what others refer to.
                    o.extend(add.into_iter().filter(|(k, _)| k != "value"));
                }
            }
            Some(_) => {}
            None => items.push(n),
        }
    }
    items
}

/// Whether two values of a multi-valued attribute are the same value: equal `value` (per its
/// caseExact) and no conflicting `type`, or plain equality where the schema has no `value`.
pub(super) fn same_item(def: &AttributeDef, a: &Value, b: &Value) -> bool {
    let declares_value = def.sub_attributes.iter().any(|s| s.name == "value");
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if declares_value => {
            let (Some(va), Some(vb)) = (get_ci(x, "value"), get_ci(y, "value")) else {
                return x == y;
            };
            let exact = def.sub_attribute("value").is_some_and(|d| d.case_exact);
            let same_value = match (va.as_str(), vb.as_str()) {
                (Some(s), Some(t)) if !exact => s.to_lowercase() == t.to_lowercase(),
                _ => va == vb,
            };
            let ty = |o: &Doc| {
                get_ci(o, "type")
                    .and_then(Value::as_str)
                    .map(str::to_lowercase)
            };
            let (tx, ty_) = (ty(x), ty(y));
            same_value && (tx.is_none() || ty_.is_none() || tx == ty_)
        }
        _ => a == b,
    }
}
