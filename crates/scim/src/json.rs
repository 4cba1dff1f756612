//! Small helpers over `serde_json` values that the SCIM rules need everywhere: case-insensitive
//! keys (RFC 7643 §2.1: attribute names are case-insensitive), "has a value" in the RFC's sense,
//! booleans sent as strings, and a canonical serialization for version hashes.

use serde_json::{Map, Value};

/// The key of `obj` that equals `name` case-insensitively (an exact match wins).
pub(crate) fn key_ci(obj: &Map<String, Value>, name: &str) -> Option<String> {
    if obj.contains_key(name) {
        return Some(name.to_owned());
    }
    obj.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// `obj[name]`, matching the key case-insensitively.
pub(crate) fn get_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// Like [`get_ci`] on any value (`None` unless it is an object).
pub(crate) fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object().and_then(|o| get_ci(o, name))
}

/// Removes `name` (case-insensitively) and returns its value.
pub(crate) fn remove_ci(obj: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let key = key_ci(obj, name)?;
    obj.remove(&key)
}

/// Sets `name`, replacing a differently-cased key so a resource never holds two spellings.
pub(crate) fn set_ci(obj: &mut Map<String, Value>, name: &str, value: Value) {
    if let Some(old) = key_ci(obj, name) {
        if old != name {
            obj.remove(&old);
        }
    }
    obj.insert(name.to_owned(), value);
}

/// RFC 7644 §3.4.2.2 `pr`: unassigned, null, empty strings, empty arrays and empty complex values
/// have no value.
pub(crate) fn has_value(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(has_value),
        Value::Object(o) => o.values().any(has_value),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// A boolean, accepting the strings `"True"`/`"false"` (any case) that Entra ID sends.
pub(crate) fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// JSON with object keys sorted at every level, whatever map order serde_json was built with,
/// so equal content always hashes the same.
pub(crate) fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(x) = o.get(k) {
                    canonical(x, out);
                }
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_match_case_insensitively_exact_first() {
        let v = json!({"UserName": "a", "userName": "b"});
        let o = v.as_object().unwrap();
        assert_eq!(get_ci(o, "userName"), Some(&json!("b")));
        assert!(get_ci(o, "USERNAME").is_some());
        let mut m = json!({"DisplayName": "x"}).as_object().unwrap().clone();
        set_ci(&mut m, "displayName", json!("y"));
        assert_eq!(Value::Object(m), json!({"displayName": "y"}));
    }

    #[test]
    fn has_value_follows_rfc_presence() {
        assert!(!has_value(&json!(null)));
        assert!(!has_value(&json!("")));
        assert!(!has_value(&json!([])));
        assert!(!has_value(&json!({"a": null})));
        assert!(has_value(&json!(false)));
        assert!(has_value(&json!([{"value": "x"}])));
    }

    #[test]
    fn bools_from_strings() {
        assert_eq!(as_bool(&json!("False")), Some(false));
        assert_eq!(as_bool(&json!("TRUE")), Some(true));
        assert_eq!(as_bool(&json!("no")), None);
    }

    #[test]
    fn canonical_sorts_keys() {
        let mut a = String::new();
        canonical(
            &json!({"b": 1, "a": {"d": [1, {"z": 1, "y": 2}], "c": null}}),
            &mut a,
        );
        assert_eq!(a, r#"{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}"#);
    }
}
