#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Data-driven tests of gatehouse-scim through its public API. Cases live in JSON files under
//! `tests/fixtures/`: filters (matching, printing, malformed), one PATCH fixture per real client
//! request (Entra ID, Okta) and per error, projection, sorting and paging, bulk, error JSON. A
//! property test checks that printing a filter and parsing it back gives the same filter.

use std::collections::HashSet;
use std::path::PathBuf;

use gatehouse_scim::bulk::{run_bulk, BulkOutcome, BulkRequest, ResolvedOperation};
use gatehouse_scim::filter::{CompValue, CompareOp};
use gatehouse_scim::patch::{apply_patch, PatchRequest};
use gatehouse_scim::resource::{search, Projection, SearchRequest};
use gatehouse_scim::schema::{BulkLimits, CustomSchema, ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
use gatehouse_scim::{AttrPath, Filter, ResourceKind, SchemaRegistry, ScimError, ScimType};
use proptest::prelude::*;
use serde_json::{json, Number, Value};

fn fixture(name: &str) -> Value {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", name]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn kind_of(v: &Value) -> ResourceKind {
    ResourceKind::from_name(v.as_str().unwrap()).unwrap()
}

/// Proptest case counts: short by default (`make test`), `PROPTEST_CASES` when set (`make fuzz`).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs every case, then fails once listing all the cases that did not hold.
fn all_hold(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ----------------------------------------------------------------------------------- filters

fn filter_registry(doc: &Value) -> SchemaRegistry {
    let custom: Vec<CustomSchema> = serde_json::from_value(doc["custom_schemas"].clone()).unwrap();
    SchemaRegistry::with_custom(&custom).unwrap()
}

fn check_match(
    reg: &SchemaRegistry,
    resource: &Value,
    filter: &str,
    expected: bool,
) -> Result<(), String> {
    let f = Filter::parse(filter).map_err(|e| format!("{filter}: {e}"))?;
    f.validate(reg, ResourceKind::User)
        .map_err(|e| format!("{filter}: {e}"))?;
    let got = f.matches(resource, reg, ResourceKind::User);
    (got == expected)
        .then_some(())
        .ok_or_else(|| format!("{filter}: expected {expected}, got {got}"))
}

#[test]
fn filters_match_per_fixture() {
    let doc = fixture("filters.json");
    let reg = filter_registry(&doc);
    let failures = doc["match"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| {
            check_match(
                &reg,
                &doc["resource"],
                c[0].as_str().unwrap(),
                c[1].as_bool().unwrap(),
            )
            .err()
        })
        .collect();
    all_hold(failures);
}

#[test]
fn filter_fixtures_use_every_operator() {
    let doc = fixture("filters.json");
    let filters: Vec<String> = doc["match"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[0].as_str().unwrap().to_lowercase())
        .collect();
    let ops = CompareOp::ALL
        .iter()
        .map(|o| o.as_str())
        .chain(["pr", "and", "or", "not", "["]);
    for op in ops {
        assert!(
            filters.iter().any(|f| f.contains(&format!(" {op} "))
                || f.contains(&format!(" {op}"))
                || f.contains(op)),
            "no fixture uses {op}"
        );
    }
}

fn check_print(input: &str, expected: &str) -> Result<(), String> {
    let f = Filter::parse(input).map_err(|e| format!("{input}: {e}"))?;
    let printed = f.to_string();
    if printed != expected {
        return Err(format!(
            "{input}: printed {printed:?}, expected {expected:?}"
        ));
    }
    let again = Filter::parse(&printed).map_err(|e| format!("{printed}: {e}"))?;
    (again == f)
        .then_some(())
        .ok_or_else(|| format!("{input}: reparse differs"))
}

#[test]
fn filters_print_canonically() {
    let doc = fixture("filters.json");
    let failures = doc["print"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| check_print(c[0].as_str().unwrap(), c[1].as_str().unwrap()).err())
        .collect();
    all_hold(failures);
}

#[test]
fn malformed_filters_are_invalid_filter() {
    let doc = fixture("filters.json");
    let failures = doc["invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .filter_map(|f| match Filter::parse(f) {
            Ok(parsed) => Some(format!("{f:?} parsed as {parsed:?}")),
            Err(e) if e.status == 400 && e.scim_type == Some(ScimType::InvalidFilter) => None,
            Err(e) => Some(format!("{f:?}: wrong error {e}")),
        })
        .collect();
    all_hold(failures);
}

fn arb_name() -> impl Strategy<Value = String> {
    ("[a-zA-Z]", "[a-zA-Z0-9_-]{0,6}").prop_map(|(a, b)| a + &b)
}

fn arb_path(with_sub: bool) -> impl Strategy<Value = AttrPath> {
    let urn = prop_oneof![
        Just(None),
        Just(Some(USER_SCHEMA.to_owned())),
        Just(Some(ENTERPRISE_USER_SCHEMA.to_owned())),
        Just(Some("urn:acme:x:1.0:Ext".to_owned())),
    ];
    let sub = if with_sub {
        prop_oneof![
            Just(None),
            arb_name().prop_map(Some),
            Just(Some("$ref".to_owned()))
        ]
        .boxed()
    } else {
        Just(None).boxed()
    };
    (urn, arb_name(), sub).prop_map(|(urn, name, sub)| AttrPath { urn, name, sub })
}

fn arb_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        any::<String>().prop_map(CompValue::Str),
        any::<i64>().prop_map(|i| CompValue::Num(i.into())),
        any::<u64>().prop_map(|u| CompValue::Num(u.into())),
        any::<f64>()
            .prop_filter_map("finite", Number::from_f64)
            .prop_map(CompValue::Num),
        any::<bool>().prop_map(CompValue::Bool),
        Just(CompValue::Null),
    ]
}

fn arb_compare() -> impl Strategy<Value = Filter> {
    prop_oneof![
        (
            arb_path(true),
            prop::sample::select(CompareOp::ALL.to_vec()),
            arb_value()
        )
            .prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
        arb_path(true).prop_map(Filter::Present),
    ]
}

fn arb_tree(leaf: BoxedStrategy<Filter>) -> BoxedStrategy<Filter> {
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::And(Box::new(l), Box::new(r))),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::Or(Box::new(l), Box::new(r))),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
    .boxed()
}

fn arb_filter() -> BoxedStrategy<Filter> {
    let value_path = (arb_path(false), arb_tree(arb_compare().boxed())).prop_map(|(path, f)| {
        Filter::ValuePath {
            path,
            filter: Box::new(f),
        }
    });
    arb_tree(prop_oneof![3 => arb_compare(), 1 => value_path].boxed())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(512),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn printing_then_parsing_gives_the_same_filter(f in arb_filter()) {
        let printed = f.to_string();
        let parsed = Filter::parse(&printed);
        prop_assert_eq!(parsed.as_ref(), Ok(&f), "printed: {}", printed);
    }

    #[test]
    fn no_input_makes_the_parser_panic(s in "(\\PC|[()\\[\\]\" ]){0,40}") {
        // Any outcome but a panic is fine; errors must be invalidFilter.
        if let Err(e) = Filter::parse(&s) {
            prop_assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
        }
    }
}

// ------------------------------------------------------------------------------------- PATCH

const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn arb_json() -> BoxedStrategy<Value> {
    let word = prop_oneof![
        Just("add"),
        Just("Replace"),
        Just("remove"),
        Just(""),
        Just("True"),
        Just("u1"),
        Just("work"),
        Just(USER_SCHEMA),
        Just(ENTERPRISE_USER_SCHEMA),
        Just(PATCH_SCHEMA),
    ]
    .prop_map(|s| json!(s));
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        word,
        "\\PC{0,8}".prop_map(Value::String),
    ];
    let key = prop_oneof![
        Just("value".to_owned()),
        Just("type".to_owned()),
        Just("primary".to_owned()),
        Just("userName".to_owned()),
        Just("emails".to_owned()),
        Just("members".to_owned()),
        Just("displayName".to_owned()),
        Just("active".to_owned()),
        Just("name".to_owned()),
        Just("givenName".to_owned()),
        Just("id".to_owned()),
        Just("manager".to_owned()),
        Just("schemas".to_owned()),
        Just(ENTERPRISE_USER_SCHEMA.to_owned()),
        Just("$ref".to_owned()),
        "[a-zA-Z.:\\[\\] \"]{0,10}",
    ];
    leaf.prop_recursive(3, 32, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
    .boxed()
}

fn arb_operation() -> impl Strategy<Value = Value> {
    let op = prop_oneof![
        Just("add"),
        Just("Replace"),
        Just("remove"),
        Just("REMOVE"),
        Just("copy")
    ];
    let path = prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "emails",
            "emails[type eq \"work\"]",
            "emails[type eq \"work\"].value",
            "emails[value co \"x\" or primary eq true].type",
            "members",
            "members[value eq \"u1\"]",
            "members[value eq \"u1\"].display",
            "name",
            "name.givenName",
            "userName",
            "displayName",
            "active",
            "password",
            "groups",
            "id",
            "meta.created",
            "addresses[type eq \"home\"].locality",
            "roles[primary eq \"True\"].value",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            "nosuch",
            "emails[",
        ])
        .prop_map(|p| Some(p.to_owned())),
        "\\PC{0,12}".prop_map(Some),
    ];
    (op, path, prop::option::of(arb_json())).prop_map(|(op, path, value)| {
        let mut o = serde_json::Map::new();
        o.insert("op".into(), json!(op));
        if let Some(p) = path {
            o.insert("path".into(), json!(p));
        }
        if let Some(v) = value {
            o.insert("value".into(), v);
        }
        Value::Object(o)
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(384),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Nothing a client sends may panic, and every refusal is a 4xx with a body clients parse.
    #[test]
    fn no_request_makes_the_engine_panic(
        ops in prop::collection::vec(arb_operation(), 0..4),
        body in arb_json(),
    ) {
        let reg = SchemaRegistry::standard();
        let user = json!({"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "id": "u1",
                          "userName": "a", "emails": [{"value": "a@x", "type": "work"}],
                          ENTERPRISE_USER_SCHEMA: {"manager": {"value": "m"}}});
        let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1",
                           "displayName": "G", "members": [{"value": "u1"}]});
        let patch = json!({"schemas": [PATCH_SCHEMA], "Operations": ops});
        let mut outcomes = Vec::new();
        if let Ok(req) = PatchRequest::from_json(&patch) {
            outcomes.push(apply_patch(&reg, ResourceKind::User, &user, &req).map(|o| o.resource));
            outcomes.push(apply_patch(&reg, ResourceKind::Group, &group, &req).map(|o| o.resource));
        }
        outcomes.push(PatchRequest::from_json(&body).map(|_| Value::Null));
        for kind in [ResourceKind::User, ResourceKind::Group] {
            outcomes.push(gatehouse_scim::resource::prepare(&reg, kind, &body));
            outcomes.push(gatehouse_scim::resource::prepare_replace(&reg, kind, &body, &user));
        }
        outcomes.push(SearchRequest::from_json(&body).map(|_| Value::Null));
        let limits = BulkLimits { max_operations: 5, max_payload_size: 4096 };
        outcomes.push(BulkRequest::from_json(&body, &limits).map(|_| Value::Null));
        for o in outcomes {
            if let Err(e) = o {
                prop_assert!((400..500).contains(&e.status), "{}", e);
                prop_assert!(e.to_json()["status"].is_string());
            }
        }
    }
}

fn check_patch(name: &str) {
    let doc = fixture(&format!("patch/{name}.json"));
    let reg = SchemaRegistry::standard();
    let kind = kind_of(&doc["kind"]);
    let result = PatchRequest::from_json(&doc["request"])
        .and_then(|req| apply_patch(&reg, kind, &doc["before"], &req));
    if let Some(want) = doc.get("error") {
        let e = result.expect_err("the fixture expects an error");
        let got = e.to_json();
        assert_eq!(got["status"], want["status"], "{name}: {e}");
        assert_eq!(got["scimType"], want["scimType"], "{name}: {e}");
        return;
    }
    let out = result.unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(out.resource, doc["after"], "{name}: resource");
    let want = &doc["changes"];
    let mut attrs: Vec<String> = serde_json::from_value(want["attributes"].clone()).unwrap();
    attrs.sort();
    assert_eq!(out.changes.attributes, attrs, "{name}: changed attributes");
    assert_eq!(
        out.changes.active,
        want["active"].as_bool(),
        "{name}: active"
    );
    let list =
        |k: &str| -> Vec<String> { serde_json::from_value(want[k].clone()).unwrap_or_default() };
    assert_eq!(
        out.changes.members_added,
        list("members_added"),
        "{name}: members added"
    );
    assert_eq!(
        out.changes.members_removed,
        list("members_removed"),
        "{name}: members removed"
    );
}

macro_rules! patch_fixtures {
    ($($name:ident),* $(,)?) => {
        $(#[test] fn $name() { check_patch(stringify!($name)); })*
        const PATCH_FIXTURES: &[&str] = &[$(stringify!($name)),*];
    };
}

patch_fixtures!(
    entra_user_capitalised_ops,
    entra_user_disable_string_boolean,
    entra_user_enable_string_boolean,
    entra_user_manager_bare_id,
    entra_user_manager_object,
    entra_user_manager_cleared,
    entra_user_remove_manager,
    entra_user_add_missing_work_email,
    entra_user_clear_with_null_and_empty,
    entra_group_add_member_null_ref,
    entra_group_remove_member_by_value,
    entra_group_rename,
    okta_user_deactivate_pathless,
    okta_group_rename_pathless_with_id,
    okta_group_members_remove_and_add,
    pathless_add_with_urn_keys,
    error_readonly_id,
    error_pathless_changes_id,
    error_groups_readonly_on_user,
    error_unknown_attribute,
    error_bad_value_type,
    error_remove_filter_no_match,
    error_atomic_second_op_fails,
);

#[test]
fn every_patch_fixture_has_a_test() {
    let dir: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", "patch"]
        .iter()
        .collect();
    let on_disk: HashSet<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let listed: HashSet<String> = PATCH_FIXTURES.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(on_disk, listed);
}

// ----------------------------------------------------------------------- projection and lists

#[test]
fn projection_per_fixture() {
    let doc = fixture("projection.json");
    let reg = SchemaRegistry::standard();
    let failures = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| {
            let p = Projection::parse(c["attributes"].as_str(), c["excludedAttributes"].as_str())
                .unwrap();
            let got = p.apply(&reg, ResourceKind::User, &doc["resource"]);
            (got != c["expected"]).then(|| format!("{}: got {got}", c["name"]))
        })
        .collect();
    all_hold(failures);
}

fn check_list(resources: &[Value], case: &Value) -> Result<(), String> {
    let reg = SchemaRegistry::standard();
    let name = &case["name"];
    let pairs: Vec<(String, String)> = case["query"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    let req = SearchRequest::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| format!("{name}: {e}"))?;
    let max = case["maxResults"].as_u64().unwrap_or(100) as usize;
    let out = search(&reg, ResourceKind::User, &req, resources.to_vec(), max)
        .map_err(|e| format!("{name}: {e}"))?;
    let ids: Vec<&str> = out["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let want_ids: Vec<&str> = case["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    if ids != want_ids {
        return Err(format!("{name}: ids {ids:?}, expected {want_ids:?}"));
    }
    for k in ["totalResults", "startIndex", "itemsPerPage"] {
        if out[k] != case[k] {
            return Err(format!("{name}: {k} {}, expected {}", out[k], case[k]));
        }
    }
    if out["schemas"] != json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]) {
        return Err(format!("{name}: schemas {}", out["schemas"]));
    }
    Ok(())
}

#[test]
fn sorting_and_paging_per_fixture() {
    let doc = fixture("list.json");
    let resources = doc["resources"].as_array().unwrap();
    let failures = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| check_list(resources, c).err())
        .collect();
    all_hold(failures);
}

// ---------------------------------------------------------------------------------------- bulk

const BASE: &str = "https://gh.example/v1/scim/v2";

/// A pretend store: numbered ids, `reject`ed user names fail uniqueness, unknown ids are 404.
struct FakeStore {
    known: HashSet<String>,
    reject: Vec<String>,
    next: usize,
    executed: Vec<Value>,
}

impl FakeStore {
    fn run(&mut self, op: &ResolvedOperation) -> Result<BulkOutcome, ScimError> {
        let endpoint = op.kind.endpoint().trim_start_matches('/');
        self.executed
            .push(json!({"method": op.method.as_str(), "kind": op.kind.name(),
                                  "id": op.id, "version": op.version, "data": op.data}));
        match &op.id {
            None => {
                let data = op.data.clone().unwrap_or_default();
                if let Some(n) = data["userName"].as_str() {
                    if self.reject.iter().any(|r| r == n) {
                        return Err(ScimError::uniqueness("userName taken"));
                    }
                }
                self.next += 1;
                let id = format!("{}-{}", op.kind.name().to_lowercase(), self.next);
                self.known.insert(format!("{endpoint}/{id}"));
                Ok(BulkOutcome {
                    status: 201,
                    id: Some(id.clone()),
                    location: Some(format!("{BASE}/{endpoint}/{id}")),
                    version: Some("W/\"1\"".to_owned()),
                    response: None,
                })
            }
            Some(id) => {
                let key = format!("{endpoint}/{id}");
                if !self.known.contains(&key) {
                    return Err(ScimError::not_found(format!("{key} not found")));
                }
                if op.method.as_str() == "DELETE" {
                    self.known.remove(&key);
                    return Ok(BulkOutcome {
                        status: 204,
                        ..BulkOutcome::default()
                    });
                }
                Ok(BulkOutcome {
                    status: 200,
                    id: Some(id.clone()),
                    location: Some(format!("{BASE}/{key}")),
                    version: Some("W/\"1\"".to_owned()),
                    response: None,
                })
            }
        }
    }
}

fn check_bulk(name: &str) {
    let doc = fixture(&format!("bulk/{name}.json"));
    let limits = BulkLimits {
        max_operations: 10,
        max_payload_size: 64 * 1024,
    };
    let body = serde_json::to_vec(&doc["request"]).unwrap();
    let req = BulkRequest::parse(&body, &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut store = FakeStore {
        known: serde_json::from_value(doc["existing"].clone()).unwrap(),
        reject: serde_json::from_value(doc["reject"].clone()).unwrap(),
        next: 0,
        executed: Vec::new(),
    };
    let resp = run_bulk(&req, &mut |op: &ResolvedOperation| store.run(op));
    assert_eq!(
        Value::Array(store.executed.clone()),
        doc["executed"],
        "{name}: executed operations"
    );
    assert_eq!(resp.to_json(), doc["response"], "{name}: BulkResponse");
}

#[test]
fn bulk_references_resolved_in_dependency_order() {
    check_bulk("references_resolved_in_dependency_order");
}

#[test]
fn bulk_circular_references_are_409() {
    check_bulk("circular_references_are_409");
}

#[test]
fn bulk_fail_on_errors_stops_processing() {
    check_bulk("fail_on_errors_stops_processing");
}

#[test]
fn bulk_unresolvable_references() {
    check_bulk("unresolvable_references");
}

#[test]
fn bulk_limits_are_413_too_many() {
    let doc = fixture("bulk/references_resolved_in_dependency_order.json");
    let body = serde_json::to_vec(&doc["request"]).unwrap();
    let small = BulkLimits {
        max_operations: 10,
        max_payload_size: body.len() - 1,
    };
    let e = BulkRequest::parse(&body, &small).unwrap_err();
    assert_eq!(
        (e.to_json()["status"].clone(), e.scim_type),
        (json!("413"), Some(ScimType::TooMany))
    );
    let few = BulkLimits {
        max_operations: 3,
        max_payload_size: 1 << 20,
    };
    let e = BulkRequest::parse(&body, &few).unwrap_err();
    assert_eq!((e.status, e.scim_type), (413, Some(ScimType::TooMany)));
}

// -------------------------------------------------------------------------------------- errors

#[test]
fn error_json_shape_per_fixture() {
    let cases = fixture("errors.json");
    for c in cases.as_array().unwrap() {
        let scim_type: Option<ScimType> = serde_json::from_value(c["scimType"].clone()).unwrap();
        let e = ScimError::new(
            c["status"].as_u64().unwrap() as u16,
            scim_type,
            c["detail"].as_str().unwrap(),
        );
        assert_eq!(e.to_json(), c["json"]);
        assert_eq!(serde_json::to_value(&e).unwrap(), c["json"]);
    }
}
