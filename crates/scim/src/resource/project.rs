//! `attributes` and `excludedAttributes` (RFC 7644 §3.9), with the `returned` characteristic:
//! `always` attributes (`id`, `schemas`) are in every response, `never` ones (`password`) in none,
//! `request` ones only when asked for.

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::path::{parse_attribute_list, AttrPath};
use crate::schema::{AttributeDef, Resolved, ResourceKind, Returned, SchemaRegistry};

/// Which attributes a response carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    /// When non-empty, only these (plus `returned: always`).
    pub attributes: Vec<AttrPath>,
    /// Left out (unless `returned: always`); ignored when `attributes` is non-empty.
    pub excluded_attributes: Vec<AttrPath>,
}

/// One resolved selector: a whole extension, or an attribute (optionally one sub-attribute).
enum Sel {
    Extension(String),
    Attr {
        ext: Option<String>,
        name: String,
        sub: Option<String>,
    },
}

impl Projection {
    /// From the raw query parameters; an unparsable list is `invalidPath`.
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Self, ScimError> {
        Ok(Self {
            attributes: attributes
                .map(parse_attribute_list)
                .transpose()?
                .unwrap_or_default(),
            excluded_attributes: excluded
                .map(parse_attribute_list)
                .transpose()?
                .unwrap_or_default(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty() && self.excluded_attributes.is_empty()
    }

    /// The resource as the response should show it. Selectors no schema knows select nothing.
    pub fn apply(&self, registry: &SchemaRegistry, kind: ResourceKind, resource: &Value) -> Value {
        let Some(obj) = resource.as_object() else {
            return resource.clone();
        };
        // With `attributes` given, only what it names is returned, even when it names nothing
        // a schema knows; so whether it was given is kept apart from what it resolved to.
        let inc =
            (!self.attributes.is_empty()).then(|| resolve_all(registry, kind, &self.attributes));
        let exc = resolve_all(registry, kind, &self.excluded_attributes);
        let mut out = Map::new();
        for (key, val) in obj {
            if let Some(ext) = registry.extension(kind, key) {
                let Some(fields) = val.as_object() else {
                    continue;
                };
                let mut picked = Map::new();
                for (k, v) in fields {
                    if let Some(x) =
                        pick(Some(&ext.id), k, ext.attribute(k), v, inc.as_deref(), &exc)
                    {
                        picked.insert(k.clone(), x);
                    }
                }
                if !picked.is_empty() {
                    out.insert(key.clone(), Value::Object(picked));
                }
                continue;
            }
            let def = registry
                .common()
                .iter()
                .chain(&registry.core(kind).attributes)
                .find(|d| d.name.eq_ignore_ascii_case(key));
            if let Some(x) = pick(None, key, def, val, inc.as_deref(), &exc) {
                out.insert(key.clone(), x);
            }
        }
        Value::Object(out)
    }
}

fn resolve_all(registry: &SchemaRegistry, kind: ResourceKind, paths: &[AttrPath]) -> Vec<Sel> {
    paths
        .iter()
        .filter_map(|p| match registry.resolve(kind, p)? {
            Resolved::Extension(e) => Some(Sel::Extension(e.id.clone())),
            Resolved::Attribute(loc) => Some(Sel::Attr {
                ext: loc.extension.map(|e| e.id.clone()),
                name: loc.name.to_owned(),
                sub: loc.sub.map(|s| s.name.to_owned()),
            }),
        })
        .collect()
}

/// Whether `sels` name the attribute as a whole, and which of its sub-attributes they name.
fn hits<'s>(sels: &'s [Sel], ext: Option<&str>, name: &str) -> (bool, Vec<&'s str>) {
    let mut whole = false;
    let mut subs = Vec::new();
    for s in sels {
        match s {
            Sel::Extension(id) => whole |= ext.is_some_and(|e| e.eq_ignore_ascii_case(id)),
            Sel::Attr {
                ext: e,
                name: n,
                sub,
            } => {
                let same_ext = match (e, ext) {
                    (None, None) => true,
                    (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                    _ => false,
                };
                if same_ext && n.eq_ignore_ascii_case(name) {
                    match sub {
                        None => whole = true,
                        Some(s) => subs.push(s.as_str()),
                    }
                }
            }
        }
    }
    (whole, subs)
}

fn pick(
    ext: Option<&str>,
    name: &str,
    def: Option<&AttributeDef>,
    v: &Value,
    inc: Option<&[Sel]>,
    exc: &[Sel],
) -> Option<Value> {
    let returned = def.map_or(Returned::Default, |d| d.returned);
    match returned {
        Returned::Never => return None,
        Returned::Always => return Some(strip_never(def, v)),
        Returned::Default | Returned::Request => {}
    }
    if let Some(inc) = inc {
        let (whole, subs) = hits(inc, ext, name);
        return if whole {
            Some(strip_never(def, v))
        } else if !subs.is_empty() {
            filter_subs(def, v, |k, sd| {
                subs.iter().any(|s| s.eq_ignore_ascii_case(k))
                    || sd.is_some_and(|d| d.returned == Returned::Always)
            })
        } else {
            None
        };
    }
    if returned == Returned::Request {
        return None;
    }
    let (whole, subs) = hits(exc, ext, name);
    if whole {
        None
    } else {
        filter_subs(def, v, |k, sd| {
            !subs.iter().any(|s| s.eq_ignore_ascii_case(k))
                || sd.is_some_and(|d| d.returned == Returned::Always)
        })
    }
}

fn strip_never(def: Option<&AttributeDef>, v: &Value) -> Value {
    filter_subs(def, v, |_, _| true).unwrap_or(Value::Null)
}

/// Keeps the sub-attributes `keep` accepts (never a `returned: never` one), in a complex value or
/// in each value of a multi-valued one; `None` when nothing is left.
fn filter_subs(
    def: Option<&AttributeDef>,
    v: &Value,
    keep: impl Fn(&str, Option<&AttributeDef>) -> bool + Copy,
) -> Option<Value> {
    let one = |o: &Map<String, Value>| -> Map<String, Value> {
        o.iter()
            .filter(|(k, _)| {
                let sd = def.and_then(|d| d.sub_attribute(k));
                !sd.is_some_and(|d| d.returned == Returned::Never) && keep(k, sd)
            })
            .map(|(k, x)| (k.clone(), x.clone()))
            .collect()
    };
    let out = match v {
        Value::Object(o) => Value::Object(one(o)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter_map(|it| match it {
                    Value::Object(o) => {
                        let m = one(o);
                        (!m.is_empty()).then_some(Value::Object(m))
                    }
                    other => Some(other.clone()),
                })
                .collect(),
        ),
        other => other.clone(),
    };
    crate::json::has_value(&out).then_some(out)
}
