//! The OData query options the simulated endpoints honour: `$select`
//! (validated against the type's properties), `$top` bounds, a small
//! `$filter` grammar (`eq`/`ne`/`ge`/`le`/`gt`/`lt`, `startswith`, `and`/`or`),
//! opaque `$skiptoken`/`$deltatoken` state, `Prefer: odata.maxpagesize`, and
//! absolute next links on the sim's own host.

use axum::http::HeaderMap;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::errors::GraphError;
use crate::common::http::encode;

/// The query string as ordered pairs (first occurrence wins on lookup).
#[derive(Debug, Clone, Default)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        Query(
            raw.map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default(),
        )
    }

    /// The value of `name`, with or without its `$` (Graph accepts both in v1.0).
    pub fn get(&self, name: &str) -> Option<&str> {
        let bare = name.trim_start_matches('$');
        self.0
            .iter()
            .find(|(k, _)| k.trim_start_matches('$').eq_ignore_ascii_case(bare))
            .map(|(_, v)| v.as_str())
    }

    /// `base + path` with these pairs, `$skiptoken`/`$deltatoken` replaced by `token`.
    pub fn link(&self, base: &str, path: &str, token: (&str, &str)) -> String {
        let mut parts: Vec<String> = self
            .0
            .iter()
            .filter(|(k, _)| {
                let b = k.trim_start_matches('$').to_ascii_lowercase();
                b != "skiptoken" && b != "deltatoken"
            })
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        parts.push(format!("{}={}", token.0, encode(token.1)));
        format!("{base}{path}?{}", parts.join("&"))
    }
}

/// Encodes paging state into an opaque token.
pub fn seal<T: Serialize>(state: &T) -> String {
    let json = serde_json::to_vec(state).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a token made by [`seal`].
pub fn open<T: DeserializeOwned>(token: &str) -> Option<T> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim())
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `$top` for a collection allowing `1..=max`.
pub fn top(q: &Query, max: usize) -> Result<Option<usize>, GraphError> {
    let Some(raw) = q.get("$top") else {
        return Ok(None);
    };
    match raw.trim().parse::<i64>() {
        Ok(n) if n >= 1 && n as usize <= max => Ok(Some(n as usize)),
        Ok(n) => Err(GraphError::bad_request(
            "Request_UnsupportedQuery",
            format!("Invalid page size specified: '{n}'. Must be between 1 and {max} inclusive."),
        )),
        Err(_) => Err(GraphError::bad_request(
            "BadRequest",
            format!("Invalid value '{raw}' for query option '$top'."),
        )),
    }
}

/// `Prefer: odata.maxpagesize=N` (capped at `max`).
pub fn max_page_size(headers: &HeaderMap, max: usize) -> Option<usize> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("odata.maxpagesize")
                .then(|| v.trim().parse::<usize>().ok())
                .flatten()
        })
        .next()
        .map(|n| n.clamp(1, max))
}

/// `$select` validated against `known` for type `type_name`.
pub fn select(
    q: &Query,
    known: &[&str],
    type_name: &str,
) -> Result<Option<Vec<String>>, GraphError> {
    let Some(raw) = q.get("$select") else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for p in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match known.iter().find(|k| k.eq_ignore_ascii_case(p)) {
            Some(k) => out.push((*k).to_string()),
            None => {
                return Err(GraphError::bad_request(
                    "BadRequest",
                    format!("Parsing OData Select and Expand failed: Could not find a property named '{p}' on type '{type_name}'."),
                ))
            }
        }
    }
    Ok(Some(out))
}

/// A parsed `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Cmp { prop: String, op: Op, value: Value },
    StartsWith { prop: String, value: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Ge,
    Le,
    Gt,
    Lt,
}

/// Parses the filter grammar; `Err` carries the offending text.
pub fn parse_filter(text: &str) -> Result<Filter, String> {
    let toks = tokenize(text)?;
    let mut pos = 0;
    let f = parse_or(&toks, &mut pos)?;
    if pos != toks.len() {
        return Err(text.to_string());
    }
    Ok(f)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
    Comma,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1
            }
            ')' => {
                out.push(Tok::Close);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            '\'' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(s.to_string()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            v.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            v.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(v));
            }
            _ => {
                let mut w = String::new();
                while let Some(ch) = chars.get(i) {
                    if matches!(ch, ' ' | '(' | ')' | ',' | '\'') {
                        break;
                    }
                    w.push(*ch);
                    i += 1;
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

fn word_is(t: Option<&Tok>, w: &str) -> bool {
    matches!(t, Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
}

fn parse_or(t: &[Tok], pos: &mut usize) -> Result<Filter, String> {
    let mut items = vec![parse_and(t, pos)?];
    while word_is(t.get(*pos), "or") {
        *pos += 1;
        items.push(parse_and(t, pos)?);
    }
    Ok(if items.len() == 1 {
        items.remove(0)
    } else {
        Filter::Or(items)
    })
}

fn parse_and(t: &[Tok], pos: &mut usize) -> Result<Filter, String> {
    let mut items = vec![parse_atom(t, pos)?];
    while word_is(t.get(*pos), "and") {
        *pos += 1;
        items.push(parse_atom(t, pos)?);
    }
    Ok(if items.len() == 1 {
        items.remove(0)
    } else {
        Filter::And(items)
    })
}

fn parse_atom(t: &[Tok], pos: &mut usize) -> Result<Filter, String> {
    match t.get(*pos) {
        Some(Tok::Open) => {
            *pos += 1;
            let f = parse_or(t, pos)?;
            if t.get(*pos) != Some(&Tok::Close) {
                return Err("missing )".into());
            }
            *pos += 1;
            Ok(f)
        }
        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("startswith") => {
            let (
                Some(Tok::Open),
                Some(Tok::Word(prop)),
                Some(Tok::Comma),
                Some(Tok::Str(v)),
                Some(Tok::Close),
            ) = (
                t.get(*pos + 1),
                t.get(*pos + 2),
                t.get(*pos + 3),
                t.get(*pos + 4),
                t.get(*pos + 5),
            )
            else {
                return Err(w.clone());
            };
            *pos += 6;
            Ok(Filter::StartsWith {
                prop: prop.clone(),
                value: v.clone(),
            })
        }
        Some(Tok::Word(prop)) => {
            let op = match t.get(*pos + 1) {
                Some(Tok::Word(o)) => match o.to_ascii_lowercase().as_str() {
                    "eq" => Op::Eq,
                    "ne" => Op::Ne,
                    "ge" => Op::Ge,
                    "le" => Op::Le,
                    "gt" => Op::Gt,
                    "lt" => Op::Lt,
                    _ => return Err(o.clone()),
                },
                _ => return Err(prop.clone()),
            };
            let value = match t.get(*pos + 2) {
                Some(Tok::Str(s)) => Value::String(s.clone()),
                Some(Tok::Word(w)) if w == "true" => Value::Bool(true),
                Some(Tok::Word(w)) if w == "false" => Value::Bool(false),
                Some(Tok::Word(w)) if w == "null" => Value::Null,
                Some(Tok::Word(w)) => match w.parse::<f64>() {
                    // Numbers, and unquoted DateTimeOffset literals kept as text.
                    Ok(n) if !w.contains('-') => serde_json::json!(n),
                    _ => Value::String(w.clone()),
                },
                _ => return Err(prop.clone()),
            };
            *pos += 3;
            Ok(Filter::Cmp {
                prop: prop.clone(),
                op,
                value,
            })
        }
        _ => Err("filter".into()),
    }
}

/// Compares two JSON values the way OData does for the types the sim uses
/// (strings case-insensitively, numbers, booleans, timestamps as text).
pub fn compare(left: &Value, op: Op, right: &Value) -> bool {
    use std::cmp::Ordering;
    let ord = match (left, right) {
        (Value::String(a), Value::String(b)) => {
            // ISO timestamps compare as instants.
            match (
                chrono::DateTime::parse_from_rfc3339(a),
                chrono::DateTime::parse_from_rfc3339(b),
            ) {
                (Ok(x), Ok(y)) => Some(x.cmp(&y)),
                _ => Some(a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase())),
            }
        }
        (Value::Number(a), Value::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(x, y)| x.partial_cmp(&y)),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        _ => None,
    };
    match (ord, op) {
        (Some(o), Op::Eq) => o == Ordering::Equal,
        (Some(o), Op::Ne) => o != Ordering::Equal,
        (None, Op::Ne) => true,
        (Some(o), Op::Ge) => o != Ordering::Less,
        (Some(o), Op::Le) => o != Ordering::Greater,
        (Some(o), Op::Gt) => o == Ordering::Greater,
        (Some(o), Op::Lt) => o == Ordering::Less,
        (None, _) => false,
    }
}

/// Evaluates `f` with `get` resolving a (possibly `a/b`) property path.
pub fn eval(f: &Filter, get: &dyn Fn(&str) -> Option<Value>) -> bool {
    match f {
        Filter::And(items) => items.iter().all(|i| eval(i, get)),
        Filter::Or(items) => items.iter().any(|i| eval(i, get)),
        Filter::Cmp { prop, op, value } => {
            let left = get(prop).unwrap_or(Value::Null);
            compare(&left, *op, value)
        }
        Filter::StartsWith { prop, value } => get(prop)
            .and_then(|v| {
                v.as_str().map(|s| {
                    s.to_ascii_lowercase()
                        .starts_with(&value.to_ascii_lowercase())
                })
            })
            .unwrap_or(false),
    }
}

/// Every property a filter names.
pub fn props(f: &Filter, out: &mut Vec<String>) {
    match f {
        Filter::And(i) | Filter::Or(i) => i.iter().for_each(|x| props(x, out)),
        Filter::Cmp { prop, .. } | Filter::StartsWith { prop, .. } => out.push(prop.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_filters() {
        let f = parse_filter(
            "createdDateTime ge 2024-05-01T00:00:00Z and createdDateTime le 2024-05-02T00:00:00Z",
        )
        .unwrap();
        assert!(matches!(f, Filter::And(ref v) if v.len() == 2));
        let f = parse_filter("id eq 'a' or id eq 'b'").unwrap();
        assert!(eval(&f, &|_| Some(Value::String("B".into()))));
        let f = parse_filter("startsWith(appDisplayName,'Graph')").unwrap();
        assert!(eval(&f, &|_| Some(Value::String("Graph explorer".into()))));
        assert!(parse_filter("accountEnabled eq").is_err());
        let f = parse_filter("accountEnabled eq false").unwrap();
        assert!(eval(&f, &|_| Some(Value::Bool(false))));
    }
}
