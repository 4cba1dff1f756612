//! What a write changed, computed by comparing the resource before and after, so it is right
//! however the client phrased the operations (and serves PUT as well as PATCH).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::json::{as_bool, field, get_ci};
use crate::schema::{ResourceKind, SchemaRegistry};

/// What a write changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// Attributes whose value changed, sorted: core names (`userName`, `emails`) and extension
    /// attributes qualified by their schema (`urn:…:enterprise:2.0:User:manager`).
    pub attributes: Vec<String>,
    /// The new `active` when it changed (an unassigned `active` counts as true).
    pub active: Option<bool>,
    /// Group members (`members[].value`) that joined, in the order they appear.
    pub members_added: Vec<String>,
    /// Group members that left, in the order they appeared.
    pub members_removed: Vec<String>,
}

impl ChangeSet {
    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty()
    }

    pub fn touched(&self, attribute: &str) -> bool {
        self.attributes
            .iter()
            .any(|a| a.eq_ignore_ascii_case(attribute))
    }
}

/// Compares two stored forms of one resource.
pub fn diff(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    before: &Value,
    after: &Value,
) -> ChangeSet {
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut attrs = BTreeSet::new();
    let ext_ids: Vec<&str> = registry.extensions(kind).map(|e| e.id.as_str()).collect();
    let is_ext = |k: &str| ext_ids.iter().any(|e| e.eq_ignore_ascii_case(k));
    let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    for k in keys {
        if k == "meta" || k == "schemas" {
            continue;
        }
        if is_ext(k) {
            let eb = get_ci(b, k).and_then(Value::as_object).unwrap_or(&empty);
            let ea = get_ci(a, k).and_then(Value::as_object).unwrap_or(&empty);
            let inner: BTreeSet<&String> = eb.keys().chain(ea.keys()).collect();
            for ik in inner {
                if eb.get(ik) != ea.get(ik) {
                    attrs.insert(format!("{k}:{ik}"));
                }
            }
        } else if get_ci(b, k) != get_ci(a, k) {
            attrs.insert(k.clone());
        }
    }
    let active = |o: &Map<String, Value>| get_ci(o, "active").and_then(as_bool).unwrap_or(true);
    let (was, now) = (active(b), active(a));
    let members = |o: &Map<String, Value>| -> Vec<String> {
        get_ci(o, "members")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|m| field(m, "value").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (mb, ma) = if kind == ResourceKind::Group {
        (members(b), members(a))
    } else {
        (Vec::new(), Vec::new())
    };
    ChangeSet {
        attributes: attrs.into_iter().collect(),
        active: (was != now).then_some(now),
        members_added: ma.iter().filter(|m| !mb.contains(m)).cloned().collect(),
        members_removed: mb.iter().filter(|m| !ma.contains(m)).cloned().collect(),
    }
}
