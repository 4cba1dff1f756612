//! The three operations on a resource's JSON. Each works on the object that holds the attribute
//! (the resource, or an extension's object) and goes through `coerce` so that types, clearing
//! and client leniencies are handled in one place.

use serde_json::{Map, Value};

use super::values::{
    append, check_immutable, coerce_for, eq_seed, objects_mut, put, remove_indices, same_item,
    single_element, take_items,
};
use super::{PatchOpKind, PatchOperation};
use crate::coerce::coerce;
use crate::error::ScimError;
use crate::filter::Filter;
use crate::json::{field, get_ci, has_value, key_ci, remove_ci, set_ci};
use crate::path::{is_attr_name, AttrPath, PatchPath};
use crate::schema::{
    AttrLoc, AttributeDef, Mutability, Resolved, ResourceKind, Schema, SchemaRegistry, SubLoc,
};

type Doc = Map<String, Value>;

pub(super) struct Ctx<'a> {
    pub registry: &'a SchemaRegistry,
    pub kind: ResourceKind,
}

impl Ctx<'_> {
    pub(super) fn apply(&self, doc: &mut Doc, op: &PatchOperation) -> Result<(), ScimError> {
        match (op.op, &op.path) {
            (PatchOpKind::Remove, None) => Err(ScimError::no_target("remove needs a path")),
            (PatchOpKind::Remove, Some(p)) => self.remove(doc, p, op.value.as_ref()),
            (kind, None) => {
                let Some(Value::Object(fields)) = &op.value else {
                    return Err(ScimError::invalid_syntax(
                        "an add or replace without a path needs an object value",
                    ));
                };
                for (k, v) in fields {
                    self.pathless(doc, kind, k, v)?;
                }
                Ok(())
            }
            (kind, Some(p)) => match &op.value {
                Some(v) => self.set(doc, kind, p, v.clone(), false),
                None => Err(ScimError::invalid_syntax(format!(
                    "{p}: the operation needs a value"
                ))),
            },
        }
    }

    /// One key of a pathless add/replace: an attribute path (`active`, `name.givenName`,
    /// `urn:…:User:department`) or an extension URN holding an object.
    fn pathless(
        &self,
        doc: &mut Doc,
        kind: PatchOpKind,
        key: &str,
        v: &Value,
    ) -> Result<(), ScimError> {
        // Server-managed; clients echo them back (Okta sends whole representations).
        if key.eq_ignore_ascii_case("schemas") || key.eq_ignore_ascii_case("meta") {
            return Ok(());
        }
        if let Some(ext) = self.registry.extension(self.kind, key) {
            return self.set_extension(doc, kind, ext, v.clone(), true);
        }
        let path = PatchPath::parse(key)?;
        self.set(doc, kind, &path, v.clone(), true)
    }

    fn set_extension(
        &self,
        doc: &mut Doc,
        kind: PatchOpKind,
        ext: &Schema,
        v: Value,
        pathless: bool,
    ) -> Result<(), ScimError> {
        match v {
            Value::Object(fields) => {
                for (k, x) in fields {
                    if k.eq_ignore_ascii_case("schemas") {
                        continue;
                    }
                    if !is_attr_name(&k) {
                        return Err(ScimError::invalid_path(format!("{}:{k}", ext.id)));
                    }
                    let attr = AttrPath {
                        urn: Some(ext.id.clone()),
                        name: k,
                        sub: None,
                    };
                    self.set(doc, kind, &PatchPath { attr, filter: None }, x, pathless)?;
                }
                Ok(())
            }
            v if !has_value(&v) => {
                remove_ci(doc, &ext.id);
                Ok(())
            }
            _ => Err(ScimError::invalid_value(format!(
                "{} must be an object",
                ext.id
            ))),
        }
    }

    fn resolve<'p>(&'p self, path: &'p PatchPath) -> Result<Resolved<'p>, ScimError> {
        self.registry
            .resolve(self.kind, &path.attr)
            .ok_or_else(|| ScimError::invalid_path(format!("no attribute {path}")))
    }

    fn set(
        &self,
        doc: &mut Doc,
        kind: PatchOpKind,
        path: &PatchPath,
        value: Value,
        pathless: bool,
    ) -> Result<(), ScimError> {
        let loc = match self.resolve(path)? {
            Resolved::Extension(ext) if path.filter.is_none() => {
                return self.set_extension(doc, kind, ext, value, pathless)
            }
            Resolved::Extension(ext) => {
                return Err(ScimError::invalid_path(format!(
                    "{} takes no filter",
                    ext.id
                )))
            }
            Resolved::Attribute(loc) => loc,
        };
        // Passwords are accepted and discarded: Gatehouse never stores them.
        if loc
            .leaf()
            .is_some_and(|d| d.mutability == Mutability::WriteOnly)
        {
            return Ok(());
        }
        let q = loc.qualified();
        match (&path.filter, loc.sub) {
            (Some(f), _) => set_filtered(doc, kind, &loc, f, value, &q),
            (None, None) => set_whole(doc, kind, &loc, value, pathless, &q),
            (None, Some(sub)) => set_sub(doc, &loc, sub, value, &q),
        }
    }

    fn remove(
        &self,
        doc: &mut Doc,
        path: &PatchPath,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        let loc = match self.resolve(path)? {
            Resolved::Extension(ext) => {
                remove_ci(doc, &ext.id);
                return Ok(());
            }
            Resolved::Attribute(loc) => loc,
        };
        let q = loc.qualified();
        let read_only =
            |d: Option<&AttributeDef>| d.is_some_and(|d| d.mutability == Mutability::ReadOnly);
        if read_only(loc.def) || read_only(loc.leaf()) {
            return Err(ScimError::mutability(format!("{q} is readOnly")));
        }
        with_container(doc, loc.extension, |c| match (&path.filter, loc.sub) {
            (Some(f), sub) => remove_filtered(c, &loc, f, sub, &q),
            (None, Some(sub)) => {
                if let Some(slot) = key_ci(c, loc.name).and_then(|k| c.get_mut(&k)) {
                    for o in objects_mut(slot) {
                        check_immutable(sub.def, get_ci(o, sub.name), None, &q)?;
                        remove_ci(o, sub.name);
                    }
                }
                Ok(())
            }
            (None, None) => match (loc.def, value.filter(|v| has_value(v))) {
                // Entra removes group members as {"path":"members","value":[{"value":"<id>"}]}:
                // only the listed values go, not the whole attribute.
                (Some(def), Some(listed)) if def.multi_valued => {
                    let listed = match coerce(def, listed.clone(), &q)? {
                        Some(Value::Array(a)) => a,
                        _ => Vec::new(),
                    };
                    if let Some(Value::Array(items)) =
                        key_ci(c, loc.name).and_then(|k| c.get_mut(&k))
                    {
                        items.retain(|it| !listed.iter().any(|l| same_item(def, it, l)));
                    }
                    Ok(())
                }
                _ => {
                    check_immutable(loc.def, get_ci(c, loc.name), None, &q)?;
                    remove_ci(c, loc.name);
                    Ok(())
                }
            },
        })
    }
}

/// Runs `f` on the object holding the attribute: the resource or the extension's object (created
/// when missing; `tidy` drops it again if it stays empty).
fn with_container<T>(
    doc: &mut Doc,
    ext: Option<&Schema>,
    f: impl FnOnce(&mut Doc) -> Result<T, ScimError>,
) -> Result<T, ScimError> {
    let Some(ext) = ext else {
        return f(doc);
    };
    let mut inner = match key_ci(doc, &ext.id).and_then(|k| doc.remove(&k)) {
        Some(Value::Object(o)) => o,
        _ => Map::new(),
    };
    let out = f(&mut inner);
    doc.insert(ext.id.clone(), Value::Object(inner));
    out
}

fn set_whole(
    doc: &mut Doc,
    kind: PatchOpKind,
    loc: &AttrLoc<'_>,
    value: Value,
    pathless: bool,
    q: &str,
) -> Result<(), ScimError> {
    with_container(doc, loc.extension, |c| {
        let existing = get_ci(c, loc.name).cloned();
        if let Some(d) = loc.def {
            if d.mutability == Mutability::ReadOnly {
                // Okta renames a group with a pathless replace that repeats the group's `id`.
                if pathless && existing.as_ref() == Some(&value) {
                    return Ok(());
                }
                return Err(ScimError::mutability(format!("{q} is readOnly")));
            }
        }
        let new = coerce_for(loc.def, value, q)?;
        check_immutable(loc.def, existing.as_ref(), new.as_ref(), q)?;
        let Some(new) = new else {
            remove_ci(c, loc.name);
            return Ok(());
        };
        let merged = match (loc.def, existing) {
            (Some(d), Some(Value::Array(old))) if d.multi_valued && kind == PatchOpKind::Add => {
                Value::Array(append(d, old, new))
            }
            // RFC 7644 §3.5.2.3: sub-attributes not given are left alone. A value carrying its own
            // `value` (a manager) names a different thing, and replaces the old one whole.
            (Some(d), Some(Value::Object(mut old)))
                if d.is_complex() && !d.multi_valued && field(&new, "value").is_none() =>
            {
                if let Value::Object(n) = new {
                    old.extend(n);
                }
                Value::Object(old)
            }
            _ => new,
        };
        set_ci(c, loc.name, merged);
        Ok(())
    })
}

fn set_sub(
    doc: &mut Doc,
    loc: &AttrLoc<'_>,
    sub: SubLoc<'_>,
    value: Value,
    q: &str,
) -> Result<(), ScimError> {
    if sub
        .def
        .is_some_and(|d| d.mutability == Mutability::ReadOnly)
    {
        return Err(ScimError::mutability(format!("{q} is readOnly")));
    }
    let new = coerce_for(sub.def, value, q)?;
    let multi = loc.def.is_some_and(|d| d.multi_valued);
    with_container(doc, loc.extension, |c| {
        let key = key_ci(c, loc.name).unwrap_or_else(|| loc.name.to_owned());
        let slot = c.entry(key).or_insert(Value::Null);
        if !slot.is_array() && !slot.is_object() {
            *slot = if multi {
                Value::Array(Vec::new())
            } else {
                Value::Object(Map::new())
            };
        }
        if let Value::Array(items) = slot {
            if items.is_empty() {
                if let Some(n) = &new {
                    let mut o = Map::new();
                    o.insert(sub.name.to_owned(), n.clone());
                    items.push(Value::Object(o));
                }
                return Ok(());
            }
        }
        for o in objects_mut(slot) {
            check_immutable(sub.def, get_ci(o, sub.name), new.as_ref(), q)?;
            put(o, sub.name, new.clone());
        }
        Ok(())
    })
}

fn set_filtered(
    doc: &mut Doc,
    kind: PatchOpKind,
    loc: &AttrLoc<'_>,
    filter: &Filter,
    value: Value,
    q: &str,
) -> Result<(), ScimError> {
    let def = loc.def;
    if def.is_some_and(|d| !d.multi_valued) {
        return Err(ScimError::invalid_path(format!("{q} is not multi-valued")));
    }
    let sub = loc.sub;
    let sub_def = sub.and_then(|s| s.def);
    if sub_def.is_some_and(|d| d.mutability == Mutability::ReadOnly) {
        return Err(ScimError::mutability(format!("{q} is readOnly")));
    }
    with_container(doc, loc.extension, |c| {
        let mut items = take_items(c, loc.name);
        let hits: Vec<usize> = (0..items.len())
            .filter(|&i| {
                items
                    .get(i)
                    .is_some_and(|it| filter.matches_element(it, def))
            })
            .collect();
        let result = if hits.is_empty() {
            upsert(&mut items, def, sub, filter, value, q)
        } else {
            update_hits(&mut items, &hits, kind, def, sub, value, q)
        };
        if !items.is_empty() {
            c.insert(loc.name.to_owned(), Value::Array(items));
        }
        result
    })
}

fn update_hits(
    items: &mut Vec<Value>,
    hits: &[usize],
    kind: PatchOpKind,
    def: Option<&AttributeDef>,
    sub: Option<SubLoc<'_>>,
    value: Value,
    q: &str,
) -> Result<(), ScimError> {
    match sub {
        Some(s) => {
            let new = coerce_for(s.def, value, q)?;
            for &i in hits {
                if let Some(o) = items.get_mut(i).and_then(Value::as_object_mut) {
                    check_immutable(s.def, get_ci(o, s.name), new.as_ref(), q)?;
                    put(o, s.name, new.clone());
                }
            }
        }
        None => match single_element(def, value, q)? {
            None => remove_indices(items, hits),
            Some(n) => {
                for &i in hits {
                    let Some(slot) = items.get_mut(i) else {
                        continue;
                    };
                    match (kind, slot.as_object_mut(), &n) {
                        (PatchOpKind::Add, Some(o), Value::Object(add)) => {
                            o.extend(add.clone());
                        }
                        _ => *slot = n.clone(),
                    }
                }
            }
        },
    }
    Ok(())
}

/// A filtered add/replace that matched nothing: when the filter only states equalities
/// (`type eq "work"`), the value it describes is created, as Entra ID expects when it sets
/// `emails[type eq "work"].value` on a user that has no work e-mail yet. Otherwise `noTarget`.
fn upsert(
    items: &mut Vec<Value>,
    def: Option<&AttributeDef>,
    sub: Option<SubLoc<'_>>,
    filter: &Filter,
    value: Value,
    q: &str,
) -> Result<(), ScimError> {
    let mut elem = Map::new();
    if !eq_seed(filter, def, &mut elem) {
        return Err(ScimError::no_target(format!(
            "no value of {q} matches {filter}"
        )));
    }
    match sub {
        Some(s) => match coerce_for(s.def, value, q)? {
            Some(n) => {
                elem.insert(s.name.to_owned(), n);
            }
            None => return Ok(()),
        },
        None => match single_element(def, value, q)? {
            Some(Value::Object(o)) => elem.extend(o),
            Some(_) => {
                return Err(ScimError::invalid_value(format!(
                    "{q} takes a complex value"
                )))
            }
            None => return Ok(()),
        },
    }
    if let Some(e) = single_element(def, Value::Object(elem), q)? {
        let d = def.cloned();
        let merged = match d {
            Some(d) => append(&d, std::mem::take(items), Value::Array(vec![e])),
            None => {
                let mut all = std::mem::take(items);
                all.push(e);
                all
            }
        };
        *items = merged;
    }
    Ok(())
}

fn remove_filtered(
    c: &mut Doc,
    loc: &AttrLoc<'_>,
    filter: &Filter,
    sub: Option<SubLoc<'_>>,
    q: &str,
) -> Result<(), ScimError> {
    let def = loc.def;
    if def.is_some_and(|d| !d.multi_valued) {
        return Err(ScimError::invalid_path(format!("{q} is not multi-valued")));
    }
    let mut items = take_items(c, loc.name);
    let hits: Vec<usize> = (0..items.len())
        .filter(|&i| {
            items
                .get(i)
                .is_some_and(|it| filter.matches_element(it, def))
        })
        .collect();
    let result = if hits.is_empty() {
        Err(ScimError::no_target(format!(
            "no value of {q} matches {filter}"
        )))
    } else {
        match sub {
            None => {
                remove_indices(&mut items, &hits);
                Ok(())
            }
            Some(s) => hits.iter().try_for_each(|&i| {
                if let Some(o) = items.get_mut(i).and_then(Value::as_object_mut) {
                    check_immutable(s.def, get_ci(o, s.name), None, q)?;
                    remove_ci(o, s.name);
                }
                Ok(())
            }),
        }
    };
    if !items.is_empty() {
        c.insert(loc.name.to_owned(), Value::Array(items));
    }
    result
}
