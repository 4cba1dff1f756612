//! Strategies for the connectors' property tests (feature `fuzz`, on only in dev-dependencies):
//! arbitrary JSON, and a provider's real record (a fixture) with a few of its fields removed,
//! retyped or replaced, so that the mappers and push decoders see what a provider, a proxy or an
//! attacker might send: the right shape with the wrong insides. docs/SECURITY.md lists the tests.

use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// A test's case count: `PROPTEST_CASES` when set (`make fuzz`), else `default` (`make test`).
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A property test's settings: [`cases`] of `default`, and no files of failed cases written
/// into the source tree (a failure becomes a regression test by hand).
pub fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A JSON scalar, with the values that break naive code: huge and negative numbers, floats,
/// empty and odd strings (timestamps, addresses, control and non-ASCII characters).
pub fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just(String::new()),
            Just("2024-02-30T25:61:61Z".to_owned()),
            Just("9999-12-31T23:59:59.999999999+14:00".to_owned()),
            Just("@".to_owned()),
            Just("user@".to_owned()),
            Just("::1".to_owned()),
            "\\PC{0,24}",
            ".{0,8}",
        ]
        .prop_map(Value::String),
    ]
}

/// Any JSON value, a few levels deep.
pub fn json() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z@._]{0,12}", inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// One change to a record: which node (an index into its nodes, wrapped) and what to do.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Remove the node from its object or array.
    Remove(usize),
    /// Put another value (of any type) in its place.
    Replace(usize, Value),
    /// Turn a scalar into the other scalar types' spelling of it, or a container into a scalar.
    Retype(usize, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Remove),
        (any::<usize>(), json()).prop_map(|(at, v)| Mutation::Replace(at, v)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, how)| Mutation::Retype(at, how)),
    ]
}

/// The JSON pointers of every node under the root, in document order.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                out.push(path.clone());
                pointers(child, path, out);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                let path = format!("{at}/{index}");
                out.push(path.clone());
                pointers(child, path, out);
            }
        }
        _ => {}
    }
}

fn retyped(value: &Value, how: u8) -> Value {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match how % 6 {
        0 => Value::String(text),
        1 => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or(Value::from(text.len())),
        2 => Value::Bool(!text.is_empty()),
        3 => Value::Array(vec![value.clone()]),
        4 => {
            let mut map = Map::new();
            map.insert("value".to_owned(), value.clone());
            Value::Object(map)
        }
        _ => Value::Null,
    }
}

/// Applies `mutation` to `record` (nothing when it has no nodes).
pub fn apply(record: &mut Value, mutation: &Mutation) {
    let mut all = Vec::new();
    pointers(record, String::new(), &mut all);
    if all.is_empty() {
        return;
    }
    let (Mutation::Remove(at) | Mutation::Replace(at, _) | Mutation::Retype(at, _)) = mutation;
    let path = &all[*at % all.len()];
    match mutation {
        Mutation::Remove(_) => {
            let (parent, last) = path.rsplit_once('/').unwrap_or(("", path));
            let key = last.replace("~1", "/").replace("~0", "~");
            match record.pointer_mut(parent) {
                Some(Value::Object(map)) => {
                    map.remove(&key);
                }
                Some(Value::Array(items)) => {
                    if let Ok(i) = key.parse::<usize>() {
                        if i < items.len() {
                            items.remove(i);
                        }
                    }
                }
                _ => {}
            }
        }
        Mutation::Replace(_, value) => {
            if let Some(node) = record.pointer_mut(path) {
                *node = value.clone();
            }
        }
        Mutation::Retype(_, how) => {
            if let Some(node) = record.pointer_mut(path) {
                *node = retyped(node, *how);
            }
        }
    }
}

/// `record` with one to `max` mutations applied.
pub fn mutated(record: Value, max: usize) -> impl Strategy<Value = Value> {
    prop::collection::vec(mutation(), 1..=max.max(1)).prop_map(move |mutations| {
        let mut out = record.clone();
        for m in &mutations {
            apply(&mut out, m);
        }
        out
    })
}

/// Arbitrary bytes, or mostly-JSON bytes: a record's text with a slice cut out or garbage
/// spliced in (truncated bodies, bad UTF-8, a proxy's error page in the middle).
pub fn bytes_around(record: &Value) -> impl Strategy<Value = Vec<u8>> {
    let text = record.to_string().into_bytes();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        (
            any::<usize>(),
            any::<usize>(),
            prop::collection::vec(any::<u8>(), 0..16)
        )
            .prop_map(move |(at, len, splice)| {
                let mut out = text.clone();
                let at = at % (out.len() + 1);
                let end = (at + len % 32).min(out.len());
                out.splice(at..end, splice);
                out
            }),
    ]
}
