//! Queries over a collection (RFC 7644 §3.4.2): the parsed request, sorting (`sortBy`,
//! `sortOrder`), paging (1-based `startIndex`, `count`, capped by `maxResults`) and the
//! ListResponse. [`search`] runs the whole pipeline in memory over candidate resources.

use std::cmp::Ordering;
use std::ops::Range;

use serde_json::{json, Value};

use super::Projection;
use crate::error::ScimError;
use crate::filter::Filter;
use crate::json::{as_bool, field, get_ci};
use crate::path::AttrPath;
use crate::schema::{AttrType, AttributeDef, ResourceKind, SchemaRegistry};

pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// `sortOrder`; ascending is the default (RFC 7644 §3.4.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    Ascending,
    Descending,
}

impl SortOrder {
    pub fn parse(s: &str) -> Result<Self, ScimError> {
        if s.eq_ignore_ascii_case("ascending") {
            Ok(Self::Ascending)
        } else if s.eq_ignore_ascii_case("descending") {
            Ok(Self::Descending)
        } else {
            Err(ScimError::invalid_value(format!(
                "sortOrder must be ascending or descending, not {s:?}"
            )))
        }
    }
}

/// A list or search request, from query parameters or a `POST /.search` body.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    pub filter: Option<Filter>,
    pub sort_by: Option<AttrPath>,
    pub sort_order: SortOrder,
    /// 1-based; values below 1 are taken as 1 (RFC 7644 §3.4.2.4).
    pub start_index: usize,
    /// `None`: as many as `maxResults` allows; `Some(0)`: only `totalResults`.
    pub count: Option<usize>,
    pub projection: Projection,
}

impl Default for SearchRequest {
    fn default() -> Self {
        Self {
            filter: None,
            sort_by: None,
            sort_order: SortOrder::Ascending,
            start_index: 1,
            count: None,
            projection: Projection::default(),
        }
    }
}

fn parse_int(name: &str, s: &str) -> Result<i64, ScimError> {
    s.trim()
        .parse::<i64>()
        .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer, not {s:?}")))
}

fn clamp(i: i64, min: i64) -> usize {
    usize::try_from(i.max(min)).unwrap_or(usize::MAX)
}

impl SearchRequest {
    /// From query parameters (names matched case-insensitively, as clients vary).
    pub fn from_query<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ScimError> {
        let mut req = Self::default();
        let (mut attrs, mut excluded) = (None, None);
        for (k, v) in params {
            match k.to_ascii_lowercase().as_str() {
                "filter" => req.filter = Some(Filter::parse(v)?),
                "sortby" => req.sort_by = Some(AttrPath::parse(v)?),
                "sortorder" => req.sort_order = SortOrder::parse(v)?,
                "startindex" => req.start_index = clamp(parse_int("startIndex", v)?, 1),
                "count" => req.count = Some(clamp(parse_int("count", v)?, 0)),
                "attributes" => attrs = Some(v),
                "excludedattributes" => excluded = Some(v),
                _ => {}
            }
        }
        req.projection = Projection::parse(attrs, excluded)?;
        Ok(req)
    }

    /// From a `POST /.search` body (RFC 7644 §3.4.3).
    pub fn from_json(body: &Value) -> Result<Self, ScimError> {
        let Some(obj) = body.as_object() else {
            return Err(ScimError::invalid_syntax("the body must be a JSON object"));
        };
        if let Some(s) = get_ci(obj, "schemas") {
            let ok = s.as_array().is_some_and(|a| {
                a.iter().any(|x| {
                    x.as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(SEARCH_REQUEST_SCHEMA))
                })
            });
            if !ok {
                return Err(ScimError::invalid_syntax(format!(
                    "schemas must include {SEARCH_REQUEST_SCHEMA}"
                )));
            }
        }
        let text = |name: &str| -> Result<Option<String>, ScimError> {
            match get_ci(obj, name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(Value::Array(a)) => {
                    let parts: Option<Vec<&str>> = a.iter().map(Value::as_str).collect();
                    parts.map(|p| Some(p.join(","))).ok_or_else(|| {
                        ScimError::invalid_syntax(format!("{name} must hold strings"))
                    })
                }
                Some(_) => Err(ScimError::invalid_syntax(format!(
                    "{name} has the wrong type"
                ))),
            }
        };
        let names = [
            "filter",
            "sortBy",
            "sortOrder",
            "startIndex",
            "count",
            "attributes",
            "excludedAttributes",
        ];
        let mut pairs = Vec::new();
        for n in names {
            if let Some(v) = text(n)? {
                pairs.push((n, v));
            }
        }
        Self::from_query(pairs.iter().map(|(k, v)| (*k, v.as_str())))
    }

    /// The slice of `total` sorted results this request pages to.
    pub fn window(&self, total: usize, max_results: usize) -> Range<usize> {
        let start = (self.start_index.max(1) - 1).min(total);
        let count = self.count.unwrap_or(max_results).min(max_results);
        start..start.saturating_add(count).min(total)
    }
}

/// A ListResponse (RFC 7644 §3.4.2).
pub fn list_response(resources: Vec<Value>, total_results: usize, start_index: usize) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total_results,
        "startIndex": start_index.max(1),
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// Filters, sorts, pages and projects `candidates` into a ListResponse. A store with indexes
/// passes only the candidates an index found (see [`Filter::equality_on`]); the full filter is
/// evaluated here regardless.
pub fn search(
    registry: &SchemaRegistry,
    kind: ResourceKind,
    req: &SearchRequest,
    candidates: impl IntoIterator<Item = Value>,
    max_results: usize,
) -> Result<Value, ScimError> {
    if let Some(f) = &req.filter {
        f.validate(registry, kind)?;
    }
    let mut hits: Vec<Value> = candidates
        .into_iter()
        .filter(|r| match &req.filter {
            Some(f) => f.matches(r, registry, kind),
            None => true,
        })
        .collect();
    if let Some(by) = &req.sort_by {
        sort_resources(&mut hits, registry, kind, by, req.sort_order);
    }
    let total = hits.len();
    let page: Vec<Value> = hits
        .drain(req.window(total, max_results))
        .map(|r| req.projection.apply(registry, kind, &r))
        .collect();
    Ok(list_response(page, total, req.start_index))
}

/// Sorts by one attribute: a multi-valued one by its primary value (else its first, RFC 7644
/// §3.4.2.3), per the attribute's type and caseExact. Resources without the attribute go last
/// ascending and first descending; the sort is stable.
pub fn sort_resources(
    resources: &mut [Value],
    registry: &SchemaRegistry,
    kind: ResourceKind,
    by: &AttrPath,
    order: SortOrder,
) {
    let Some(loc) = registry.attribute(kind, by) else {
        return;
    };
    let def = loc.leaf();
    let key = |r: &Value| -> Option<Value> {
        let container = match loc.extension {
            Some(e) => field(r, &e.id)?,
            None => r,
        };
        let mut v = field(container, loc.name)?;
        if let Value::Array(items) = v {
            v = items
                .iter()
                .find(|i| field(i, "primary").and_then(as_bool) == Some(true))
                .or_else(|| items.first())?;
        }
        let leaf = match loc.sub {
            Some(s) => field(v, s.name)?,
            None if v.is_object() => field(v, "value")?,
            None => v,
        };
        (!leaf.is_null()).then(|| leaf.clone())
    };
    let mut keyed: Vec<(Option<Value>, Value)> = resources
        .iter_mut()
        .map(|r| (key(r), std::mem::take(r)))
        .collect();
    keyed.sort_by(|(a, _), (b, _)| {
        let asc = match (a, b) {
            (Some(x), Some(y)) => compare(x, y, def),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        match order {
            SortOrder::Ascending => asc,
            SortOrder::Descending => asc.reverse(),
        }
    });
    for (slot, (_, r)) in resources.iter_mut().zip(keyed) {
        *slot = r;
    }
}

fn compare(a: &Value, b: &Value, def: Option<&AttributeDef>) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i.cmp(&j),
            _ => x
                .as_f64()
                .zip(y.as_f64())
                .and_then(|(i, j)| i.partial_cmp(&j))
                .unwrap_or(Ordering::Equal),
        },
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => {
            if def.is_some_and(|d| d.ty == AttrType::DateTime) {
                let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
                if let (Some(i), Some(j)) = (parse(x), parse(y)) {
                    return i.cmp(&j);
                }
            }
            if def.is_some_and(|d| d.case_exact) {
                x.cmp(y)
            } else {
                x.to_lowercase().cmp(&y.to_lowercase())
            }
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}
