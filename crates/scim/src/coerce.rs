//! Turning what a client sent for one attribute into what we store: type checks (a bad type is
//! `invalidValue`), the leniencies real clients need (booleans as strings, a manager as a bare id,
//! a one-element array for a single value), and "null or empty string means unassigned".

use serde_json::{Map, Number, Value};

use crate::error::ScimError;
use crate::json::as_bool;
use crate::schema::{AttrType, AttributeDef, Mutability};

/// The stored form of `v` for attribute `def`, or `None` when it leaves the attribute unassigned
/// (`null`, `""`, `[]`, or a complex value with nothing in it). `name` is for error messages.
pub(crate) fn coerce(def: &AttributeDef, v: Value, name: &str) -> Result<Option<Value>, ScimError> {
    if def.multi_valued {
        let items = match v {
            Value::Null => return Ok(None),
            Value::String(s) if s.is_empty() => return Ok(None),
            Value::Array(a) => a,
            other => vec![other],
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(x) = coerce_single(def, item, name)? {
                if !out.contains(&x) {
                    out.push(x);
                }
            }
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    let v = match v {
        // Entra has sent a single-valued complex attribute (the manager) as `[{"value": …}]`.
        Value::Array(mut a) if a.len() <= 1 => match a.pop() {
            Some(x) => x,
            None => return Ok(None),
        },
        Value::Array(_) => {
            return Err(ScimError::invalid_value(format!(
                "{name} is single-valued but got an array"
            )))
        }
        other => other,
    };
    coerce_single(def, v, name)
}

/// The stored form of a value of an undeclared attribute of an open extension: kept as sent.
pub(crate) fn coerce_open(v: Value) -> Option<Value> {
    crate::json::has_value(&v).then_some(v)
}

fn bad(name: &str, def: &AttributeDef, v: &Value) -> ScimError {
    let got = match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    ScimError::invalid_value(format!("{name} must be of type {:?}, got {got}", def.ty))
}

fn coerce_single(def: &AttributeDef, v: Value, name: &str) -> Result<Option<Value>, ScimError> {
    match &v {
        Value::Null => return Ok(None),
        Value::String(s) if s.is_empty() => return Ok(None),
        _ => {}
    }
    let out = match def.ty {
        AttrType::String | AttrType::Reference | AttrType::Binary => match v {
            Value::String(_) => v,
            // Numbers sent for string attributes (an employeeNumber as 42) are kept as text.
            Value::Number(n) => Value::String(n.to_string()),
            other => return Err(bad(name, def, &other)),
        },
        AttrType::DateTime => match &v {
            Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => v,
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "{name} must be an RFC 3339 date-time"
                )))
            }
        },
        AttrType::Boolean => match as_bool(&v) {
            Some(b) => Value::Bool(b),
            None => return Err(bad(name, def, &v)),
        },
        AttrType::Integer => match &v {
            Value::Number(n) if n.is_i64() || n.is_u64() => v,
            Value::String(s) => match s.trim().parse::<i64>() {
                Ok(i) => Value::Number(i.into()),
                Err(_) => return Err(bad(name, def, &v)),
            },
            _ => return Err(bad(name, def, &v)),
        },
        AttrType::Decimal => match &v {
            Value::Number(_) => v,
            Value::String(s) => match s.trim().parse::<f64>().ok().and_then(Number::from_f64) {
                Some(n) => Value::Number(n),
                None => return Err(bad(name, def, &v)),
            },
            _ => return Err(bad(name, def, &v)),
        },
        AttrType::Complex => return coerce_complex(def, v, name),
    };
    Ok(Some(out))
}

fn coerce_complex(def: &AttributeDef, v: Value, name: &str) -> Result<Option<Value>, ScimError> {
    let obj = match v {
        Value::Object(o) => o,
        // A bare string stands for the `value` sub-attribute: Entra sends the manager as its id.
        Value::String(s) if def.sub_attribute("value").is_some() => {
            let mut o = Map::new();
            o.insert("value".to_owned(), Value::String(s));
            o
        }
        other => return Err(bad(name, def, &other)),
    };
    let mut out = Map::new();
    for (k, x) in obj {
        // Unknown sub-attributes are ignored and readOnly ones are the server's to set
        // (RFC 7643 §7: "any values provided SHALL be ignored").
        let Some(sd) = def.sub_attribute(&k) else {
            continue;
        };
        if sd.mutability == Mutability::ReadOnly {
            continue;
        }
        if let Some(y) = coerce(sd, x, &format!("{name}.{}", sd.name))? {
            out.insert(sd.name.clone(), y);
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{enterprise_user_schema, group_schema, user_schema};
    use serde_json::json;

    fn user_attr(name: &str) -> AttributeDef {
        user_schema().attribute(name).unwrap().clone()
    }

    #[test]
    fn booleans_accept_strings() {
        let d = user_attr("active");
        assert_eq!(
            coerce(&d, json!("False"), "active").unwrap(),
            Some(json!(false))
        );
        assert_eq!(
            coerce(&d, json!("true"), "active").unwrap(),
            Some(json!(true))
        );
        let e = coerce(&d, json!("maybe"), "active").unwrap_err();
        assert_eq!(e.scim_type, Some(crate::error::ScimType::InvalidValue));
    }

    #[test]
    fn empty_and_null_clear() {
        let d = user_attr("title");
        assert_eq!(coerce(&d, json!(""), "title").unwrap(), None);
        assert_eq!(coerce(&d, json!(null), "title").unwrap(), None);
    }

    #[test]
    fn manager_as_string_array_or_object() {
        let ent = enterprise_user_schema();
        let m = ent.attribute("manager").unwrap();
        let want = Some(json!({"value": "u1"}));
        assert_eq!(coerce(m, json!("u1"), "manager").unwrap(), want);
        assert_eq!(coerce(m, json!({"value": "u1"}), "manager").unwrap(), want);
        assert_eq!(
            coerce(m, json!([{"value": "u1"}]), "manager").unwrap(),
            want
        );
        // displayName is readOnly: dropped on input.
        assert_eq!(
            coerce(m, json!({"value": "u1", "displayName": "Boss"}), "manager").unwrap(),
            want
        );
        assert_eq!(coerce(m, json!(""), "manager").unwrap(), None);
    }

    #[test]
    fn members_drop_null_refs_and_duplicates() {
        let g = group_schema();
        let m = g.attribute("members").unwrap();
        let got = coerce(
            m,
            json!([{"$ref": null, "value": "a"}, {"value": "a"}, {"value": "b", "display": "B"}]),
            "members",
        )
        .unwrap();
        assert_eq!(
            got,
            Some(json!([{"value": "a"}, {"value": "b", "display": "B"}]))
        );
    }

    #[test]
    fn wrong_types_are_invalid_value() {
        for (attr, v) in [
            ("userName", json!({"a": 1})),
            ("name", json!(5)),
            ("emails", json!([true])),
            ("active", json!(1)),
        ] {
            let e = coerce(&user_attr(attr), v, attr).unwrap_err();
            assert_eq!(
                e.scim_type,
                Some(crate::error::ScimType::InvalidValue),
                "{attr}"
            );
        }
    }
}
