//! Unit tests of the filter parser, printer, evaluator and index hints.

use serde_json::json;

use super::*;
use crate::error::ScimType;
use crate::schema::{ResourceKind, SchemaRegistry};

fn p(s: &str) -> Filter {
    Filter::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn cmp(path: &str, op: CompareOp, v: CompValue) -> Filter {
    Filter::Compare {
        path: AttrPath::parse(path).unwrap(),
        op,
        value: v,
    }
}

fn s(v: &str) -> CompValue {
    CompValue::Str(v.to_owned())
}

#[test]
fn parses_every_operator_case_insensitively() {
    for op in CompareOp::ALL {
        let upper = format!("userName {} \"x\"", op.as_str().to_uppercase());
        assert_eq!(p(&upper), cmp("userName", op, s("x")));
    }
    assert_eq!(p("title PR"), Filter::Present(AttrPath::new("title")));
}

#[test]
fn precedence_is_not_and_or() {
    let a = || cmp("a", CompareOp::Eq, s("1"));
    let b = || cmp("b", CompareOp::Eq, s("2"));
    let c = || cmp("c", CompareOp::Eq, s("3"));
    let bx = Box::new;
    assert_eq!(
        p(r#"a eq "1" or b eq "2" and c eq "3""#),
        Filter::Or(bx(a()), bx(Filter::And(bx(b()), bx(c()))))
    );
    assert_eq!(
        p(r#"(a eq "1" or b eq "2") and c eq "3""#),
        Filter::And(bx(Filter::Or(bx(a()), bx(b()))), bx(c()))
    );
    assert_eq!(
        p(r#"not (a eq "1") and b eq "2""#),
        Filter::And(bx(Filter::Not(bx(a()))), bx(b()))
    );
    // Left-associative chains print without parentheses, right-nested ones with them.
    let left = p(r#"a eq "1" and b eq "2" and c eq "3""#);
    assert_eq!(left.to_string(), r#"a eq "1" and b eq "2" and c eq "3""#);
    let right = Filter::And(bx(a()), bx(Filter::And(bx(b()), bx(c()))));
    assert_eq!(right.to_string(), r#"a eq "1" and (b eq "2" and c eq "3")"#);
    assert_eq!(p(&right.to_string()), right);
}

#[test]
fn value_paths_and_literals() {
    let f = p(r#"emails[type eq "work" and value co "@example.com"]"#);
    let Filter::ValuePath { path, filter } = &f else {
        panic!("{f:?}")
    };
    assert_eq!(path.name, "emails");
    assert!(matches!(**filter, Filter::And(..)));
    assert_eq!(
        f.to_string(),
        r#"emails[type eq "work" and value co "@example.com"]"#
    );
    assert_eq!(
        p("age gt 5"),
        cmp("age", CompareOp::Gt, CompValue::Num(5.into()))
    );
    assert_eq!(p("x eq -1.5e3").to_string(), "x eq -1500.0");
    // Found by the round-trip property: serde_json's fast float parsing is off by one ulp here.
    let tiny = p("x le -5.0758760637042644e-220");
    assert_eq!(p(&tiny.to_string()), tiny);
    assert_eq!(
        p("x eq 18446744073709551615").to_string(),
        "x eq 18446744073709551615"
    );
    assert_eq!(
        p("x eq 18446744073709551616").to_string(),
        "x eq 1.8446744073709552e+19"
    );
    assert_eq!(
        p("active eq TRUE"),
        cmp("active", CompareOp::Eq, CompValue::Bool(true))
    );
    assert_eq!(
        p("manager eq null"),
        cmp("manager", CompareOp::Eq, CompValue::Null)
    );
    assert_eq!(
        p(r#"x eq "a\"b\u00e9""#),
        cmp("x", CompareOp::Eq, s("a\"bé"))
    );
}

#[test]
fn malformed_filters_are_invalid_filter_never_panics() {
    let deep = format!("{}a pr{}", "(".repeat(40), ")".repeat(40));
    let wide = vec!["a pr"; 300].join(" and ");
    let bad = [
        "",
        "userName",
        "userName eq",
        "userName xx \"a\"",
        "userName eq \"a",
        "(a pr",
        "a pr)",
        "emails[type eq \"w\"",
        "emails[x[y pr]]",
        "not a pr",
        "a eq 01",
        "a eq 1e999",
        "a eq bare",
        "a pr and",
        "a.b.c pr",
        "userName eq \"\\",
        "a eq \"\\x\"",
        "name.givenName[x pr]",
        "\u{e9} pr",
        &deep,
        &wide,
    ];
    for b in bad {
        let e = Filter::parse(b).expect_err(b);
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{b:?}");
        assert_eq!(e.status, 400);
    }
}

#[test]
fn equality_on_finds_indexable_terms() {
    let f = p(r#"userName eq "Bjensen""#);
    assert_eq!(f.equality_on("username"), Some("Bjensen"));
    let f = p(r#"id eq "g1" and members[value eq "u1"]"#);
    assert_eq!(f.equality_on("id"), Some("g1"));
    assert_eq!(f.equality_on("userName"), None);
    let f = p(r#"active eq true and (title pr and externalId eq "E1")"#);
    assert_eq!(f.equality_on("externalId"), Some("E1"));
    assert_eq!(
        p(r#"userName eq "a" or userName eq "b""#).equality_on("userName"),
        None
    );
    assert_eq!(p(r#"not (userName eq "a")"#).equality_on("userName"), None);
    assert_eq!(p(r#"userName co "a""#).equality_on("userName"), None);
    assert_eq!(p(r#"name.givenName eq "a""#).equality_on("name"), None);
    assert_eq!(index_key("userName", "BJensen"), "bjensen");
    assert_eq!(index_key("externalId", "AbC"), "AbC");
}

#[test]
fn evaluates_per_case_exactness_dates_and_multi_values() {
    let reg = SchemaRegistry::standard();
    let u = json!({
        "id": "AbC", "userName": "BJensen", "active": true,
        "emails": [{"value": "b@home.example", "type": "home"},
                   {"value": "bjensen@example.com", "type": "work"}],
        "meta": {"lastModified": "2024-05-01T10:00:00+02:00"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tours"}
    });
    let m = |f: &str| p(f).matches(&u, &reg, ResourceKind::User);
    assert!(m(r#"username eq "bjensen""#));
    assert!(!m(r#"id eq "abc""#), "id is caseExact");
    assert!(m(r#"id eq "AbC""#));
    assert!(m(r#"emails.value ew "EXAMPLE.COM""#));
    assert!(m(r#"emails co "home""#));
    assert!(m(r#"emails[type eq "work" and value sw "bjensen"]"#));
    assert!(!m(r#"emails[type eq "work" and value sw "b@"]"#));
    assert!(m(r#"meta.lastModified gt "2024-05-01T07:59:59Z""#));
    assert!(!m(r#"meta.lastModified gt "2024-05-01T08:00:00Z""#));
    assert!(m(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tours""#
    ));
    assert!(m("active eq true and not (title pr)"));
    assert!(
        m(r#"title ne "x""#),
        "an unassigned attribute is ne anything"
    );
    assert!(m("title eq null"));
    assert!(!m(r#"emails.type ne "home""#), "ne: no value may equal");
    assert!(!m(r#"nosuch eq "x""#));
    let e = p("active gt true")
        .validate(&reg, ResourceKind::User)
        .unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
    assert!(p("userName[x pr]")
        .validate(&reg, ResourceKind::User)
        .is_err());
    assert!(p(r#"emails[type gt "a"]"#)
        .validate(&reg, ResourceKind::User)
        .is_ok());
}
