//! The Okta connector against Okta's documented payloads (fixtures) and against a small fake
//! Okta org on loopback that pages with separate `link` headers, omits DEPROVISIONED users from
//! unfiltered lists, fails on request, and records every call.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use gatehouse_connect::{Backoff, RetryPolicy};
use gatehouse_core::model::{ActionKind, EventCategory, Outcome, RiskLevel, UserStatus};
use gatehouse_core::provider::{
    Connector, ConnectorContext, ConnectorError, ConnectorFactory, Credentials,
};
use gatehouse_core::records::{ActionTarget, ProviderEvent, PullMode, PushOutcome, PushRequest};
use gatehouse_core::{Clock, IntegrationId, ManualClock, SystemClock, TenantId};
use gatehouse_okta::{decode_push, map_event, map_user, Factory, OktaConnector};
use serde_json::{json, Map, Value};

const TOKEN: &str = "00QCjAl4MlV-test-token-SECRET";

// ---------------------------------------------------------------- fixtures

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn fixture(name: &str) -> Value {
    let path = fixtures().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// What one System Log fixture must map to.
#[derive(Debug, Clone, Default)]
struct Expect {
    category: Option<EventCategory>,
    user: Option<&'static str>,
    login: Option<&'static str>,
    outcome: Option<Outcome>,
    reason: Option<&'static str>,
    ip: Option<&'static str>,
    country: Option<&'static str>,
    city: Option<&'static str>,
    asn: Option<u32>,
    mfa: Option<&'static str>,
    session: Option<&'static str>,
    proxy: Option<bool>,
    risk: Option<RiskLevel>,
}

fn check_event(file: &str, event: &ProviderEvent, raw: &Value, e: &Expect) {
    assert_eq!(
        event.provider_event_id,
        raw["uuid"].as_str().unwrap(),
        "{file}"
    );
    assert_eq!(
        event.event_type,
        raw["eventType"].as_str().unwrap(),
        "{file}"
    );
    assert_eq!(event.time, at(raw["published"].as_str().unwrap()), "{file}");
    assert_eq!(Some(event.category), e.category, "{file} category");
    assert_eq!(event.external_user_id.as_deref(), e.user, "{file} user");
    assert_eq!(event.login.as_deref(), e.login, "{file} login");
    assert_eq!(Some(event.outcome), e.outcome, "{file} outcome");
    assert_eq!(event.reason.as_deref(), e.reason, "{file} reason");
    assert_eq!(event.ip.as_deref(), e.ip, "{file} ip");
    assert_eq!(event.country.as_deref(), e.country, "{file} country");
    assert_eq!(event.city.as_deref(), e.city, "{file} city");
    assert_eq!(event.asn, e.asn, "{file} asn");
    assert_eq!(event.mfa_factor.as_deref(), e.mfa, "{file} mfa");
    assert_eq!(event.session_id.as_deref(), e.session, "{file} session");
    assert_eq!(event.is_proxy, e.proxy, "{file} proxy");
    assert_eq!(event.provider_risk, e.risk, "{file} risk");
    assert_eq!(
        event.raw.as_ref().map(|r| r.value()),
        Some(raw),
        "{file} keeps the raw event"
    );
    let geo = &raw["client"]["geographicalContext"]["geolocation"];
    assert_eq!(event.latitude, geo["lat"].as_f64(), "{file} lat");
    assert_eq!(event.longitude, geo["lon"].as_f64(), "{file} lon");
    let agent = raw["client"]["userAgent"]["rawUserAgent"].as_str();
    assert_eq!(event.user_agent.as_deref(), agent, "{file} user agent");
}

const JANE: &str = "00u1abvz4pYqdM8ms4x6";
const JANE_LOGIN: &str = "jdoe@example.com";
const ADMIN: &str = "00uz9fj5aT69fHVro1d6";
const ADMIN_LOGIN: &str = "admin@example.com";

fn auth(outcome: Outcome) -> Expect {
    Expect {
        category: Some(EventCategory::Authentication),
        user: Some(JANE),
        login: Some(JANE_LOGIN),
        outcome: Some(outcome),
        asn: Some(394_089),
        proxy: Some(false),
        ..Expect::default()
    }
}

fn audit_of_jane() -> Expect {
    Expect {
        category: Some(EventCategory::Audit),
        user: Some(JANE),
        login: Some(JANE_LOGIN),
        outcome: Some(Outcome::Success),
        ip: Some("142.126.158.61"),
        country: Some("Canada"),
        city: Some("Toronto"),
        asn: Some(394_089),
        proxy: Some(false),
        session: Some("idxAdminSession0001"),
        ..Expect::default()
    }
}

fn event_expectations() -> Vec<(&'static str, Expect)> {
    let us = |e: Expect| Expect {
        country: Some("United States"),
        ..e
    };
    vec![
        (
            "user.session.start.success",
            Expect {
                user: Some("00uttidj01jqL21aM1d6"),
                login: Some("john.doe@example.com"),
                ip: Some("10.0.0.1"),
                city: Some("New York"),
                mfa: Some("Okta Verify"),
                session: Some("idxBager62CSveUkTxvgRtonA"),
                ..us(auth(Outcome::Success))
            },
        ),
        (
            "user.session.start.risk",
            Expect {
                user: Some("00uttidj01jqL21aM1d6"),
                login: Some("john.doe@example.com"),
                ip: Some("10.0.0.1"),
                city: Some("New York"),
                mfa: Some("Okta Verify"),
                session: Some("idxBager62CSveUkTxvgRtonA"),
                risk: Some(RiskLevel::High),
                ..us(auth(Outcome::Success))
            },
        ),
        (
            "user.session.start.failure",
            Expect {
                reason: Some("INVALID_CREDENTIALS"),
                ip: Some("175.16.199.1"),
                city: Some("Dublin"),
                asn: None,
                proxy: None,
                ..us(auth(Outcome::Failure))
            },
        ),
        (
            "user.authentication.sso",
            Expect {
                ip: Some("81.2.69.160"),
                country: Some("United Kingdom"),
                city: Some("London"),
                session: Some("idxSso8ZBq0d9yLh"),
                ..auth(Outcome::Success)
            },
        ),
        (
            "user.authentication.auth_via_mfa.success",
            Expect {
                ip: Some("175.16.199.1"),
                city: Some("Dublin"),
                mfa: Some("OKTA_VERIFY_PUSH"),
                session: Some("102mfaSession77aB"),
                ..us(auth(Outcome::Success))
            },
        ),
        (
            "user.authentication.auth_via_mfa.failure",
            Expect {
                reason: Some("INVALID_CREDENTIALS"),
                ip: Some("203.0.113.50"),
                country: Some("Nigeria"),
                city: Some("Lagos"),
                asn: Some(64_500),
                proxy: Some(true),
                mfa: Some("Okta Verify"),
                session: Some("idxMfaFail0Root"),
                risk: Some(RiskLevel::High),
                ..auth(Outcome::Failure)
            },
        ),
        (
            "user.authentication.verify",
            Expect {
                ip: Some("175.16.199.1"),
                city: Some("Dublin"),
                mfa: Some("Email"),
                session: Some("idxVerify0Root"),
                ..us(auth(Outcome::Success))
            },
        ),
        (
            "user.mfa.okta_verify.deny_push",
            Expect {
                reason: Some("push_denied"),
                ip: Some("198.51.100.23"),
                city: Some("Austin"),
                mfa: Some("OKTA_VERIFY_PUSH"),
                session: Some("102denyPush0Session"),
                ..us(auth(Outcome::Failure))
            },
        ),
        (
            "system.push.send_factor_verify_push",
            Expect {
                ip: Some("203.0.113.50"),
                country: Some("Nigeria"),
                city: Some("Lagos"),
                mfa: Some("Okta Verify"),
                session: Some("idxMfaFail0Root"),
                ..auth(Outcome::Challenge)
            },
        ),
        (
            "policy.evaluate_sign_on",
            Expect {
                reason: Some("Sign-on policy evaluation resulted in CHALLENGE"),
                ip: Some("203.0.113.50"),
                country: Some("Nigeria"),
                city: Some("Lagos"),
                session: Some("idxMfaFail0Root"),
                risk: Some(RiskLevel::Medium),
                ..auth(Outcome::Challenge)
            },
        ),
        (
            "security.threat.detected",
            Expect {
                category: Some(EventCategory::Authentication),
                user: None,
                login: None,
                outcome: Some(Outcome::Failure),
                reason: Some("Password Spray"),
                ip: Some("192.0.2.77"),
                country: Some("Germany"),
                city: Some("Frankfurt am Main"),
                asn: Some(64_511),
                proxy: Some(true),
                risk: Some(RiskLevel::High),
                ..Expect::default()
            },
        ),
        ("user.account.privilege.grant", audit_of_jane()),
        ("user.lifecycle.suspend", audit_of_jane()),
        (
            "user.mfa.factor.deactivate",
            Expect {
                reason: Some("User reset OKTA_VERIFY_PUSH factor"),
                mfa: Some("OKTA_VERIFY_PUSH"),
                ..audit_of_jane()
            },
        ),
        ("user.mfa.factor.reset_all", audit_of_jane()),
        (
            "system.idp.lifecycle.create",
            Expect {
                user: Some(ADMIN),
                login: Some(ADMIN_LOGIN),
                ..audit_of_jane()
            },
        ),
        (
            "policy.lifecycle.update",
            Expect {
                user: Some(ADMIN),
                login: Some(ADMIN_LOGIN),
                ..audit_of_jane()
            },
        ),
        (
            "user.risk.detect",
            Expect {
                category: Some(EventCategory::Audit),
                user: Some(JANE),
                login: Some(JANE_LOGIN),
                outcome: Some(Outcome::Success),
                risk: Some(RiskLevel::High),
                ..Expect::default()
            },
        ),
        (
            "application.lifecycle.update",
            Expect {
                user: Some(ADMIN),
                login: Some(ADMIN_LOGIN),
                ..audit_of_jane()
            },
        ),
    ]
}

#[test]
fn every_system_log_fixture_maps() {
    let expectations = event_expectations();
    let mut files: Vec<String> = std::fs::read_dir(fixtures().join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let mut covered: Vec<String> = expectations
        .iter()
        .map(|(f, _)| format!("{f}.json"))
        .collect();
    covered.sort();
    assert_eq!(
        files, covered,
        "every fixture has an expectation and vice versa"
    );
    for (file, expect) in &expectations {
        let raw = fixture(&format!("events/{file}.json"));
        let event = map_event(&raw).unwrap_or_else(|| panic!("{file} did not map"));
        check_event(file, &event, &raw, expect);
    }
}

#[test]
fn users_of_every_status_map() {
    let users = fixture("users.json");
    let factors = fixture("factors.json");
    let factors = factors.as_array().unwrap();
    let mapped: BTreeMap<String, _> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let f = (u["id"] == "00ub0oNGTSWTBKOLGLNR").then_some(factors.as_slice());
            let user = map_user(u, f).unwrap();
            (user.external_id.clone(), user)
        })
        .collect();
    let status = |id: &str| (mapped[id].status, mapped[id].status_flags.clone());
    let flags = |f: &[&str]| f.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        status("00ub0oNGTSWTBKOLGLNR"),
        (UserStatus::Active, flags(&[]))
    );
    assert_eq!(
        status("00u1xke1apZnmHgpB1d7"),
        (UserStatus::Staged, flags(&[]))
    );
    assert_eq!(
        status("00u269cmneNMFHCH51d7"),
        (UserStatus::Active, flags(&["provisioned"]))
    );
    assert_eq!(
        status("00u3m5wrdPjJYUFb81d6"),
        (UserStatus::Locked, flags(&[]))
    );
    assert_eq!(
        status("00u4recovery0RECOV1d6"),
        (UserStatus::Active, flags(&["recovery"]))
    );
    assert_eq!(
        status("00u5pwexpired0EXPR1d6"),
        (UserStatus::Active, flags(&["password_expired"]))
    );
    assert_eq!(
        status("00u6suspended0SUSP1d6"),
        (UserStatus::Suspended, flags(&[]))
    );
    assert_eq!(
        status("00u7deprovisioned01d6"),
        (UserStatus::Deprovisioned, flags(&[]))
    );
    assert_eq!(
        status("00u8transitioning01d6"),
        (
            UserStatus::Active,
            flags(&["transitioning_to_deprovisioned"])
        )
    );

    let isaac = &mapped["00ub0oNGTSWTBKOLGLNR"];
    assert_eq!(isaac.login, "isaac.brock@example.com");
    assert_eq!(isaac.email.as_deref(), Some("isaac.brock@example.com"));
    assert_eq!(
        isaac.emails,
        vec!["isaac.brock@example.com", "isaac@example.org"]
    );
    assert_eq!(isaac.display_name.as_deref(), Some("Isaac Brock"));
    assert_eq!(isaac.given_name.as_deref(), Some("Isaac"));
    assert_eq!(isaac.family_name.as_deref(), Some("Brock"));
    assert_eq!(isaac.department.as_deref(), Some("Engineering"));
    assert_eq!(isaac.title.as_deref(), Some("Director"));
    assert_eq!(isaac.manager.as_deref(), Some("00u118oQYT4TBTemp0g4"));
    assert_eq!(isaac.mfa_enrolled, Some(true));
    assert_eq!(
        isaac.mfa_factors,
        vec!["question", "sms"],
        "only ACTIVE factors"
    );
    assert_eq!(isaac.created_at, Some(at("2013-06-24T16:39:18.000Z")));
    assert_eq!(isaac.last_login_at, Some(at("2013-06-24T17:39:19.000Z")));
    assert_eq!(isaac.updated_at, Some(at("2013-07-02T21:36:25.344Z")));
    let raw = isaac.raw.as_ref().unwrap();
    assert!(raw.get("_links").is_none(), "links are dropped");
    assert!(raw["credentials"].get("recovery_question").is_none());
    assert_eq!(raw["profile"]["employeeNumber"], "187");

    let ben = &mapped["00u1xke1apZnmHgpB1d7"];
    assert_eq!(
        ben.emails,
        vec!["ben.richler@example.com"],
        "an empty secondEmail is no address"
    );
    assert_eq!(ben.display_name.as_deref(), Some("Ben Richler"));
    assert_eq!(ben.last_login_at, None);
    assert_eq!(ben.mfa_enrolled, None, "factors unknown");
}

// ---------------------------------------------------------------- push

fn push(method: &str, headers: &[(&str, &str)], body: &[u8]) -> PushRequest {
    PushRequest {
        method: method.into(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned()))
            .collect(),
        body: body.to_vec(),
    }
}

#[test]
fn push_verification_challenge() {
    let got = decode_push(&push(
        "GET",
        &[("X-Okta-Verification-Challenge", "Z3mRSOe9sA4")],
        b"",
    ))
    .unwrap();
    assert_eq!(
        got,
        PushOutcome::Respond {
            status: 200,
            body: json!({"verification": "Z3mRSOe9sA4"})
        }
    );
}

#[test]
fn push_delivery_from_okta_docs() {
    let body = fixture("event_hook_delivery.json");
    let got = decode_push(&push(
        "POST",
        &[("content-type", "application/json")],
        body.to_string().as_bytes(),
    ))
    .unwrap();
    let PushOutcome::Events(events) = got else {
        panic!("expected events")
    };
    assert_eq!(events.len(), 1);
    let raw = &body["data"]["events"][0];
    let expect = Expect {
        category: Some(EventCategory::Authentication),
        user: Some("00uz9fj5aT69fHVro1d6"),
        login: Some("admin@okta.com"),
        outcome: Some(Outcome::Success),
        ip: Some("142.126.158.61"),
        country: Some("Canada"),
        city: Some("Toronto"),
        session: Some("idxyNcxVX2ESsSL0u462548Qg"),
        ..Expect::default()
    };
    check_event("event_hook_delivery", &events[0], raw, &expect);
}

#[test]
fn push_batches_every_mapped_kind() {
    let events: Vec<Value> = event_expectations()
        .iter()
        .map(|(f, _)| fixture(&format!("events/{f}.json")))
        .collect();
    let body = json!({
        "eventType": "com.okta.event_hook", "eventTypeVersion": "1.0", "cloudEventsVersion": "0.1",
        "source": "https://acme.okta.com/api/v1/eventHooks/who7hphp39JoHLni81d7",
        "eventId": "85b60edb-4263-4e13-993b-818e26201052",
        "data": {"events": events}
    });
    let PushOutcome::Events(mapped) =
        decode_push(&push("POST", &[], body.to_string().as_bytes())).unwrap()
    else {
        panic!("expected events")
    };
    assert_eq!(mapped.len(), event_expectations().len());
    for ((file, expect), (event, raw)) in
        event_expectations().iter().zip(mapped.iter().zip(&events))
    {
        check_event(file, event, raw, expect);
    }
}

#[test]
fn push_malformed_is_bad_push() {
    for (method, body) in [
        (
            "POST",
            &b"{\"eventType\":\"com.okta.event_hook\",\"data\":"[..],
        ),
        ("POST", b"{\"data\":{\"events\":\"nope\"}}"),
        ("POST", b"\"just a string\""),
        ("GET", b""),
        ("DELETE", b""),
    ] {
        let err = decode_push(&push(method, &[], body)).unwrap_err();
        assert!(matches!(err, ConnectorError::BadPush(_)), "{method} {err}");
    }
}

// ---------------------------------------------------------------- the fake Okta org

#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    query: BTreeMap<String, String>,
    raw_query: String,
}

/// A failure to answer instead of the next request.
#[derive(Debug, Clone)]
struct Planned {
    status: StatusCode,
    headers: Vec<(&'static str, String)>,
    body: Value,
}

#[derive(Default)]
struct Fake {
    base: OnceLock<String>,
    seen: Mutex<Vec<Seen>>,
    planned: Mutex<VecDeque<Planned>>,
    users: Mutex<Vec<Value>>,
    factors: Mutex<BTreeMap<String, Vec<Value>>>,
    user_groups: Mutex<BTreeMap<String, Vec<String>>>,
    group_members: Mutex<BTreeMap<String, Vec<String>>>,
    /// When set, the first users page links onward to this host instead of the org's.
    foreign_next: Mutex<Option<String>>,
    /// Users with a role assignment (`GET /api/v1/iam/assignees/users`); `None`: 403, as for a
    /// token without `okta.roles.read`.
    admins: Mutex<Option<Vec<String>>>,
}

fn okta_error(status: StatusCode, code: &str, summary: &str) -> Response {
    let body = json!({"errorCode": code, "errorSummary": summary, "errorLink": code,
        "errorId": "sampleQPivGUj_ND5v78vbYWW", "errorCauses": []});
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn page(items: Vec<Value>, links: &[(String, &str)]) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    for (target, rel) in links {
        // One `link` header per relation, as Okta sends them.
        headers.append(
            "link",
            HeaderValue::from_str(&format!("<{target}>; rel=\"{rel}\"")).unwrap(),
        );
    }
    (StatusCode::OK, headers, Value::Array(items).to_string()).into_response()
}

fn query_string(pairs: &[(&str, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
        .finish()
}

impl Fake {
    fn base(&self) -> &str {
        self.base.get().unwrap()
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn mutations(&self) -> Vec<String> {
        self.seen()
            .into_iter()
            .filter(|s| s.method != Method::GET)
            .map(|s| {
                if s.raw_query.is_empty() {
                    format!("{} {}", s.method, s.path)
                } else {
                    format!("{} {}?{}", s.method, s.path, s.raw_query)
                }
            })
            .collect()
    }

    fn plan(&self, count: usize, planned: Planned) {
        let mut queue = self.planned.lock().unwrap();
        for _ in 0..count {
            queue.push_back(planned.clone());
        }
    }

    fn user(&self, id: &str) -> Option<Value> {
        // Okta's `{id}` takes an id or a login.
        self.users
            .lock()
            .unwrap()
            .iter()
            .find(|u| u["id"] == id || u["profile"]["login"] == id)
            .cloned()
    }

    fn set_status(&self, id: &str, status: &str) {
        let mut users = self.users.lock().unwrap();
        if let Some(user) = users.iter_mut().find(|u| u["id"] == id) {
            user["status"] = json!(status);
        }
    }

    fn list_users(&self, q: &BTreeMap<String, String>) -> Response {
        let all = self.users.lock().unwrap().clone();
        let filter = q.get("filter").cloned().unwrap_or_default();
        let statuses: Vec<String> = filter
            .split("status eq \"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next().map(str::to_owned))
            .collect();
        let since = filter
            .split("lastUpdated gt \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next().map(str::to_owned));
        let matching: Vec<Value> = all
            .into_iter()
            .filter(|u| {
                let status = u["status"].as_str().unwrap_or_default();
                if let Some(since) = &since {
                    return u["lastUpdated"].as_str().unwrap_or_default() > since.as_str();
                }
                if !statuses.is_empty() {
                    return statuses.iter().any(|s| s == status);
                }
                // Okta: the plain list "omits users that have a status of DEPROVISIONED";
                // a filter or search query returns them.
                let queried = !filter.is_empty() || q.contains_key("search");
                queried || status != "DEPROVISIONED"
            })
            .collect();
        let per_page = 4;
        let start: usize = q.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
        let items: Vec<Value> = matching
            .iter()
            .skip(start)
            .take(per_page)
            .cloned()
            .collect();
        let mut keep: Vec<(&str, String)> = Vec::new();
        if !filter.is_empty() {
            keep.push(("filter", filter.clone()));
        }
        keep.push((
            "limit",
            q.get("limit").cloned().unwrap_or_else(|| "200".into()),
        ));
        let self_link = format!("{}/api/v1/users?{}", self.base(), query_string(&keep));
        let mut links = vec![(self_link, "self")];
        if start + per_page < matching.len() {
            let mut next = vec![("after", (start + per_page).to_string())];
            next.extend(keep.clone());
            let host = if start == 0 {
                self.foreign_next.lock().unwrap().clone()
            } else {
                None
            };
            let host = host.unwrap_or_else(|| self.base().to_owned());
            links.push((
                format!("{host}/api/v1/users?{}", query_string(&next)),
                "next",
            ));
        }
        page(items, &links)
    }

    /// One user a page, linked onward in the body (`_links.next.href`), as Okta pages this list.
    fn role_assignees(&self, q: &BTreeMap<String, String>) -> Response {
        let Some(admins) = self.admins.lock().unwrap().clone() else {
            return okta_error(
                StatusCode::FORBIDDEN,
                "E0000006",
                "You do not have permission to perform the requested action",
            );
        };
        let start: usize = q.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
        let value: Vec<Value> = admins
            .iter()
            .skip(start)
            .take(1)
            .map(|id| {
                json!({"id": id, "orn": format!("orn:okta:00o1:users:{id}"),
                "_links": {"self": {"href": format!("{}/api/v1/users/{id}", self.base())}}})
            })
            .collect();
        let mut links = json!({});
        if start + 1 < admins.len() {
            links["next"] = json!({"href": format!(
                "{}/api/v1/iam/assignees/users?after={}&limit=1", self.base(), start + 1)});
        }
        Json(json!({"value": value, "_links": links})).into_response()
    }

    fn list_logs(&self, q: &BTreeMap<String, String>) -> Response {
        let events: Vec<Value> = [
            "user.session.start.failure",
            "user.mfa.okta_verify.deny_push",
            "security.threat.detected",
        ]
        .iter()
        .map(|f| fixture(&format!("events/{f}.json")))
        .collect();
        // A polling request: every page links onward, an empty one to itself.
        let (items, after) = match q.get("after").map(String::as_str) {
            None => (events[..2].to_vec(), "cursor-2"),
            Some("cursor-2") => (events[2..].to_vec(), "cursor-3"),
            Some(_) => (Vec::new(), "cursor-3"),
        };
        let next = format!(
            "{}/api/v1/logs?{}",
            self.base(),
            query_string(&[
                ("limit", "1000".into()),
                ("sortOrder", "ASCENDING".into()),
                ("after", after.into())
            ])
        );
        page(items, &[(next, "next")])
    }

    fn lifecycle(&self, id: &str, operation: &str) -> Response {
        let Some(user) = self.user(id) else {
            return okta_error(
                StatusCode::NOT_FOUND,
                "E0000007",
                &format!("Not found: Resource not found: {id} (User)"),
            );
        };
        let status = user["status"].as_str().unwrap_or_default().to_owned();
        let invalid = || {
            okta_error(
                StatusCode::BAD_REQUEST,
                "E0000001",
                "Api validation failed: lifecycle transition",
            )
        };
        match operation {
            "suspend" if status == "ACTIVE" => self.set_status(id, "SUSPENDED"),
            "unsuspend" if status == "SUSPENDED" => self.set_status(id, "ACTIVE"),
            "unlock" if status == "LOCKED_OUT" => self.set_status(id, "ACTIVE"),
            "deactivate" if status != "DEPROVISIONED" => self.set_status(id, "DEPROVISIONED"),
            "reset_factors"
                if self
                    .factors
                    .lock()
                    .unwrap()
                    .get(id)
                    .is_some_and(|f| !f.is_empty()) =>
            {
                self.factors.lock().unwrap().remove(id);
            }
            _ => return invalid(),
        }
        (StatusCode::OK, [("content-type", "application/json")], "{}").into_response()
    }
}

async fn handle(
    State(fake): State<Arc<Fake>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let raw_query = uri.query().unwrap_or_default().to_owned();
    let query: BTreeMap<String, String> = url::form_urlencoded::parse(raw_query.as_bytes())
        .into_owned()
        .collect();
    fake.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        path: uri.path().to_owned(),
        query: query.clone(),
        raw_query,
    });
    let authorized = headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("SSWS {TOKEN}"));
    if !authorized {
        return okta_error(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        );
    }
    if let Some(planned) = fake.planned.lock().unwrap().pop_front() {
        let mut response = (planned.status, planned.body.to_string()).into_response();
        for (name, value) in planned.headers {
            response
                .headers_mut()
                .insert(name, HeaderValue::from_str(&value).unwrap());
        }
        return response;
    }
    let segments: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["api", "v1", "users", "me"]) => {
            Json(json!({"id": "00usvc", "status": "ACTIVE", "profile": {"login": "gatehouse-svc@example.com"}}))
        }
        ("GET", ["api", "v1", "users"]) => return fake.list_users(&query),
        ("GET", ["api", "v1", "users", id]) => match fake.user(id) {
            Some(user) => Json(user),
            None => return okta_error(StatusCode::NOT_FOUND, "E0000007", &format!("Not found: Resource not found: {id} (User)")),
        },
        ("GET", ["api", "v1", "users", id, "factors"]) => {
            Json(Value::Array(fake.factors.lock().unwrap().get(*id).cloned().unwrap_or_default()))
        }
        ("GET", ["api", "v1", "users", id, "groups"]) => {
            let groups = fake.user_groups.lock().unwrap().get(*id).cloned().unwrap_or_default();
            Json(Value::Array(groups.into_iter().map(|g| json!({"id": g, "profile": {"name": g}})).collect()))
        }
        ("POST", ["api", "v1", "users", id, "lifecycle", op]) => return fake.lifecycle(id, op),
        ("DELETE", ["api", "v1", "users", id, "sessions"]) => {
            if fake.user(id).is_none() {
                return okta_error(StatusCode::NOT_FOUND, "E0000007", "Not found: Resource not found");
            }
            return StatusCode::NO_CONTENT.into_response();
        }
        ("PUT", ["api", "v1", "groups", gid, "users", uid]) => {
            fake.user_groups.lock().unwrap().entry((*uid).to_owned()).or_default().push((*gid).to_owned());
            return StatusCode::NO_CONTENT.into_response();
        }
        ("GET", ["api", "v1", "groups"]) => {
            let groups = fixture("groups.json");
            let groups = groups.as_array().unwrap();
            let start: usize = query.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
            let mut links = Vec::new();
            if start + 1 < groups.len() {
                links.push((format!("{}/api/v1/groups?after={}&limit=100", fake.base(), start + 1), "next"));
            }
            return page(groups[start..start + 1].to_vec(), &links);
        }
        ("GET", ["api", "v1", "groups", gid, "users"]) => {
            let members = fake.group_members.lock().unwrap().get(*gid).cloned().unwrap_or_default();
            let start: usize = query.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
            let items: Vec<Value> = members.iter().skip(start).take(2).map(|id| json!({"id": id, "status": "ACTIVE"})).collect();
            let mut links = vec![(format!("{}/api/v1/groups/{gid}/users?limit=200", fake.base()), "self")];
            if start + 2 < members.len() {
                links.push((format!("{}/api/v1/groups/{gid}/users?after={}&limit=200", fake.base(), start + 2), "next"));
            }
            return page(items, &links);
        }
        ("GET", ["api", "v1", "logs"]) => return fake.list_logs(&query),
        ("GET", ["api", "v1", "iam", "assignees", "users"]) => return fake.role_assignees(&query),
        _ => return okta_error(StatusCode::NOT_FOUND, "E0000022", "The endpoint does not support the provided HTTP method"),
    }
    .into_response()
}

async fn start_fake() -> Arc<Fake> {
    let fake = Arc::new(Fake::default());
    *fake.users.lock().unwrap() = fixture("users.json").as_array().unwrap().clone();
    fake.factors.lock().unwrap().insert(
        "00ub0oNGTSWTBKOLGLNR".into(),
        fixture("factors.json").as_array().unwrap().clone(),
    );
    fake.group_members.lock().unwrap().insert(
        "00g1emaKYZTWRYYRRTSK".into(),
        vec![
            "00ub0oNGTSWTBKOLGLNR".into(),
            "00u118oQYT4TBTemp0g4".into(),
            "00u6suspended0SUSP1d6".into(),
        ],
    );
    *fake.admins.lock().unwrap() = Some(Vec::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    fake.base.set(format!("http://{addr}")).unwrap();
    let router = Router::new().fallback(handle).with_state(Arc::clone(&fake));
    tokio::spawn(async move { axum::serve(listener, router).await });
    fake
}

fn fast_policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        backoff: Backoff {
            base: Duration::from_millis(1),
            max: Duration::from_millis(5),
            factor: 2.0,
        },
        max_wait: Duration::from_secs(3),
    }
}

fn context(base: &str, token: &str, config: Value, clock: Arc<dyn Clock>) -> ConnectorContext {
    let credentials: Map<String, Value> =
        serde_json::from_value(json!({"domain": base, "api_token": token})).unwrap();
    ConnectorContext {
        tenant_id: TenantId::parse("ten_test").unwrap(),
        integration_id: IntegrationId::parse("int_test").unwrap(),
        credentials: Credentials::from_object(credentials),
        config: serde_json::from_value(config).unwrap(),
        allow_custom_endpoints: true,
        clock,
    }
}

fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(at("2026-01-10T12:00:00Z")))
}

fn connector_with(
    fake: &Fake,
    config: Value,
    clock: Arc<dyn Clock>,
    attempts: u32,
) -> OktaConnector {
    OktaConnector::from_context(
        context(fake.base(), TOKEN, config, clock),
        fast_policy(attempts),
    )
    .unwrap()
}

fn connector(fake: &Fake) -> OktaConnector {
    connector_with(fake, json!({}), manual_clock(), 4)
}

// ---------------------------------------------------------------- HTTP behaviour

#[tokio::test]
async fn factory_builds_from_the_catalog_descriptor() {
    let fake = start_fake().await;
    assert_eq!(Factory.descriptor().id, "okta");
    let built = Factory
        .build(context(fake.base(), TOKEN, json!({}), manual_clock()))
        .unwrap();
    let caps = built.capabilities();
    assert!(caps.users && caps.groups && caps.signins && caps.push);
    assert_eq!(
        caps.actions,
        vec![
            ActionKind::DisableAccount,
            ActionKind::EnableAccount,
            ActionKind::RevokeSessions,
            ActionKind::EnforceMfa
        ]
    );
    let report = built.check().await.unwrap();
    assert_eq!(
        report.principal.as_deref(),
        Some("gatehouse-svc@example.com")
    );
    let seen = fake.seen();
    assert_eq!(seen.last().unwrap().path, "/api/v1/users/me");

    let off = Factory
        .build(context(
            fake.base(),
            TOKEN,
            json!({"ingest_system_log": false}),
            manual_clock(),
        ))
        .unwrap();
    assert!(
        !off.capabilities().signins,
        "ingest_system_log: false turns the log pull off"
    );
    // Where a first System Log pull starts is where the pulled history is complete from.
    assert_eq!(off.signin_history_reach(), None);
    assert_eq!(
        built.signin_history_reach(),
        Some(chrono::Duration::hours(24))
    );
    let week = Factory
        .build(context(
            fake.base(),
            TOKEN,
            json!({"system_log_lookback_hours": 168}),
            manual_clock(),
        ))
        .unwrap();
    assert_eq!(
        week.signin_history_reach(),
        Some(chrono::Duration::hours(168))
    );

    // Outside custom endpoints only Okta's hosts are accepted (no SSRF through `domain`).
    let mut ctx = context(fake.base(), TOKEN, json!({}), manual_clock());
    ctx.allow_custom_endpoints = false;
    assert!(matches!(
        Factory.build(ctx),
        Err(ConnectorError::InvalidConfig(_))
    ));
    let mut ctx = context("acme.okta.com", TOKEN, json!({}), manual_clock());
    ctx.allow_custom_endpoints = false;
    assert!(Factory.build(ctx).is_ok());
    let ctx = context(fake.base(), "", json!({}), manual_clock());
    assert!(matches!(
        Factory.build(ctx),
        Err(ConnectorError::InvalidConfig(_))
    ));
    let ctx = context(fake.base(), "bad\ntoken", json!({}), manual_clock());
    let err = Factory.build(ctx).err().unwrap();
    assert!(!err.to_string().contains("bad\ntoken"), "{err}");
}

#[tokio::test]
async fn wrong_token_is_unauthorized_without_the_token_in_the_message() {
    let fake = start_fake().await;
    let wrong = "00QCjAl4MlV-WRONG-token-value";
    let connector = OktaConnector::from_context(
        context(fake.base(), wrong, json!({}), manual_clock()),
        fast_policy(4),
    )
    .unwrap();
    let err = connector.check().await.unwrap_err();
    let ConnectorError::Unauthorized(message) = &err else {
        panic!("expected Unauthorized, got {err}")
    };
    assert!(
        message.contains("E0000011") && message.contains("Invalid token provided"),
        "{message}"
    );
    assert!(
        !err.to_string().contains(wrong) && !err.to_string().contains("WRONG"),
        "{err}"
    );
    assert!(!format!("{err:?}").contains("WRONG"), "{err:?}");
    assert!(
        !format!("{connector:?}").contains("WRONG"),
        "Debug hides the token"
    );
    assert_eq!(fake.seen().len(), 1, "a 401 is not retried");
}

#[tokio::test]
async fn full_pull_pages_by_link_and_includes_deprovisioned_users() {
    let fake = start_fake().await;
    let connector = connector(&fake);
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = connector
            .users_page(PullMode::Full, cursor.as_deref())
            .await
            .unwrap();
        pages.push(page.items);
        match page.next_cursor {
            Some(next) => {
                assert!(
                    next.starts_with(&format!("{}/api/v1/users?", fake.base())),
                    "cursor = absolute next link: {next}"
                );
                cursor = Some(next);
            }
            None => break,
        }
        assert!(pages.len() < 10, "paging must end");
    }
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![4, 4, 2],
        "three pages from separate link headers"
    );
    let users: Vec<_> = pages.into_iter().flatten().collect();
    assert_eq!(users.len(), 10, "every user, every status");
    let deprovisioned = users
        .iter()
        .find(|u| u.external_id == "00u7deprovisioned01d6")
        .unwrap();
    assert_eq!(deprovisioned.status, UserStatus::Deprovisioned);
    let isaac = users
        .iter()
        .find(|u| u.external_id == "00ub0oNGTSWTBKOLGLNR")
        .unwrap();
    assert_eq!(
        (isaac.mfa_enrolled, isaac.mfa_factors.clone()),
        (Some(true), vec!["question".to_owned(), "sms".to_owned()])
    );
    let alice = users
        .iter()
        .find(|u| u.external_id == "00u118oQYT4TBTemp0g4")
        .unwrap();
    assert_eq!(
        (alice.mfa_enrolled, alice.mfa_factors.len()),
        (Some(false), 0)
    );

    let lists: Vec<Seen> = fake
        .seen()
        .into_iter()
        .filter(|s| s.path == "/api/v1/users")
        .collect();
    assert_eq!(lists.len(), 3);
    let filter = lists[0].query.get("filter").unwrap();
    for status in [
        "STAGED",
        "PROVISIONED",
        "ACTIVE",
        "RECOVERY",
        "PASSWORD_EXPIRED",
        "LOCKED_OUT",
        "SUSPENDED",
        "DEPROVISIONED",
    ] {
        assert!(
            filter.contains(&format!("status eq \"{status}\"")),
            "{filter}"
        );
    }
    assert_eq!(lists[0].query.get("limit").map(String::as_str), Some("200"));
    assert_eq!(
        lists[1].query.get("after").map(String::as_str),
        Some("4"),
        "the next link is followed as sent"
    );
    assert_eq!(lists[1].query.get("filter"), Some(filter));
    let factor_calls = fake
        .seen()
        .iter()
        .filter(|s| s.path.ends_with("/factors"))
        .count();
    assert_eq!(factor_calls, 10, "one factor list per user");
}

#[tokio::test]
async fn incremental_pull_filters_on_last_updated() {
    let fake = start_fake().await;
    let connector = connector(&fake);
    let since = at("2022-05-24T15:38:30Z");
    let page = connector
        .users_page(PullMode::Changed { since }, None)
        .await
        .unwrap();
    let seen = fake.seen();
    let list = seen.iter().find(|s| s.path == "/api/v1/users").unwrap();
    assert_eq!(
        list.query.get("filter").map(String::as_str),
        Some("lastUpdated gt \"2022-05-24T15:38:30.000Z\"")
    );
    let mut ids: Vec<_> = page.items.iter().map(|u| u.external_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        vec![
            "00u1xke1apZnmHgpB1d7",
            "00u4recovery0RECOV1d6",
            "00u5pwexpired0EXPR1d6",
            "00u6suspended0SUSP1d6"
        ],
    );
    assert!(page.next_cursor.is_some(), "more changed users follow");
    let rest = connector
        .users_page(PullMode::Changed { since }, page.next_cursor.as_deref())
        .await
        .unwrap();
    let ids: Vec<_> = rest.items.iter().map(|u| u.external_id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["00u7deprovisioned01d6", "00u8transitioning01d6"],
        "deactivations are changes too"
    );
    assert_eq!(rest.next_cursor, None);
}

/// Every user of a full pull, by id, with its `is_admin`.
async fn admin_flags(connector: &OktaConnector, mode: PullMode) -> BTreeMap<String, bool> {
    let mut flags = BTreeMap::new();
    let mut cursor = None;
    loop {
        let page = connector.users_page(mode, cursor.as_deref()).await.unwrap();
        flags.extend(
            page.items
                .iter()
                .map(|u| (u.external_id.clone(), u.is_admin)),
        );
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return flags,
        }
    }
}

#[tokio::test]
async fn holders_of_an_admin_role_are_admins_across_the_rosters_pages() {
    let fake = start_fake().await;
    *fake.admins.lock().unwrap() = Some(vec![
        "00ub0oNGTSWTBKOLGLNR".into(),
        "00u6suspended0SUSP1d6".into(),
        "00u0nobodyWithThisId0".into(),
    ]);
    let connector = connector(&fake);
    let flags = admin_flags(&connector, PullMode::Full).await;
    let admins: Vec<&str> = flags
        .iter()
        .filter(|(_, admin)| **admin)
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(admins, ["00u6suspended0SUSP1d6", "00ub0oNGTSWTBKOLGLNR"]);
    assert!(
        flags.len() > 5,
        "the other users are in the pull: {flags:?}"
    );
    let roster_pages: Vec<Option<String>> = fake
        .seen()
        .iter()
        .filter(|s| s.path == "/api/v1/iam/assignees/users")
        .map(|s| s.query.get("after").cloned())
        .collect();
    assert_eq!(
        roster_pages,
        [None, Some("1".into()), Some("2".into())],
        "read once per pull, every page followed through the body's next link"
    );
}

#[tokio::test]
async fn an_incremental_pull_brings_the_users_whose_admin_role_changed() {
    let fake = start_fake().await;
    *fake.admins.lock().unwrap() = Some(vec!["00ub0oNGTSWTBKOLGLNR".into()]);
    let connector = connector(&fake);
    admin_flags(&connector, PullMode::Full).await;
    // The role moves to another user; neither user's `lastUpdated` changes (Okta's behaviour),
    // so the `lastUpdated` filter alone would return neither.
    *fake.admins.lock().unwrap() = Some(vec!["00u118oQYT4TBTemp0g4".into()]);
    let since = at("2030-01-01T00:00:00Z");
    let flags = admin_flags(&connector, PullMode::Changed { since }).await;
    assert_eq!(
        flags,
        BTreeMap::from([
            ("00u118oQYT4TBTemp0g4".to_owned(), true),
            ("00ub0oNGTSWTBKOLGLNR".to_owned(), false),
        ])
    );
    // Nothing changed since: the next incremental pull brings nobody.
    let flags = admin_flags(&connector, PullMode::Changed { since }).await;
    assert!(flags.is_empty(), "{flags:?}");
}

#[tokio::test]
async fn role_changes_come_again_after_an_incremental_pull_that_failed() {
    let fake = start_fake().await;
    *fake.admins.lock().unwrap() = Some(vec!["00ub0oNGTSWTBKOLGLNR".into()]);
    let connector = connector(&fake);
    admin_flags(&connector, PullMode::Full).await;
    *fake.admins.lock().unwrap() = Some(vec!["00u118oQYT4TBTemp0g4".into()]);
    // The roster is read, then the users listing is refused: the pull fails after its roster.
    fake.plan(
        1,
        Planned {
            status: StatusCode::OK,
            headers: vec![],
            body: json!({"value": [{"id": "00u118oQYT4TBTemp0g4"}], "_links": {}}),
        },
    );
    fake.plan(
        1,
        Planned {
            status: StatusCode::FORBIDDEN,
            headers: vec![],
            body: json!({"errorCode": "E0000006", "errorSummary": "You do not have permission to perform the requested action"}),
        },
    );
    let since = at("2030-01-01T00:00:00Z");
    let failed = connector
        .users_page(PullMode::Changed { since }, None)
        .await;
    assert!(failed.is_err(), "the planned 403 fails the pull");
    let flags = admin_flags(&connector, PullMode::Changed { since }).await;
    assert_eq!(
        flags,
        BTreeMap::from([
            ("00u118oQYT4TBTemp0g4".to_owned(), true),
            ("00ub0oNGTSWTBKOLGLNR".to_owned(), false),
        ]),
        "the retry still brings both users whose standing changed"
    );
}

#[tokio::test]
async fn a_token_that_cannot_list_roles_still_pulls_users_as_non_admins() {
    let fake = start_fake().await;
    *fake.admins.lock().unwrap() = None;
    let connector = connector(&fake);
    let flags = admin_flags(&connector, PullMode::Full).await;
    assert!(flags.len() > 5);
    assert!(flags.values().all(|admin| !admin), "{flags:?}");
}

#[tokio::test]
async fn a_next_link_or_cursor_off_the_org_is_refused() {
    let fake = start_fake().await;
    let connector = connector(&fake);
    *fake.foreign_next.lock().unwrap() = Some("http://169.254.169.254".into());
    let err = connector
        .users_page(PullMode::Full, None)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Protocol(_)), "{err}");
    let calls_before = fake.seen().len();

    let port = fake
        .base()
        .rsplit(':')
        .next()
        .unwrap()
        .parse::<u16>()
        .unwrap();
    for forged in [
        "http://169.254.169.254/api/v1/users?after=1".to_owned(),
        format!(
            "http://127.0.0.1:{}/api/v1/users?after=1",
            port.wrapping_add(1)
        ),
        format!("https://127.0.0.1:{port}/api/v1/users?after=1"),
        format!("http://user:pw@127.0.0.1:{port}/api/v1/users?after=1"),
        format!("{}/api/v1/groups?after=1", fake.base()),
        "not a url".to_owned(),
    ] {
        let err = connector
            .users_page(PullMode::Full, Some(&forged))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ConnectorError::Protocol(_)),
            "{forged}: {err}"
        );
        let err = connector.signins_page(Some(&forged)).await.unwrap_err();
        assert!(
            matches!(err, ConnectorError::Protocol(_)),
            "{forged}: {err}"
        );
    }
    assert_eq!(
        fake.seen().len(),
        calls_before,
        "nothing was sent for a forged cursor"
    );
}

#[tokio::test]
async fn rate_limit_429_waits_for_the_reset_then_succeeds() {
    let fake = start_fake().await;
    let connector = connector_with(&fake, json!({}), Arc::new(SystemClock), 4);
    // Okta's reset is in whole epoch seconds: two seconds ahead is at least one second away.
    let reset = SystemClock.now().timestamp() + 2;
    fake.plan(
        1,
        Planned {
            status: StatusCode::TOO_MANY_REQUESTS,
            headers: vec![
                ("x-rate-limit-limit", "600".into()),
                ("x-rate-limit-remaining", "0".into()),
                ("x-rate-limit-reset", reset.to_string()),
            ],
            body: json!({"errorCode": "E0000047", "errorSummary": "API call exceeded rate limit due to too many requests."}),
        },
    );
    let started = Instant::now();
    let report = connector.check().await.unwrap();
    assert_eq!(
        report.principal.as_deref(),
        Some("gatehouse-svc@example.com")
    );
    assert_eq!(fake.seen().len(), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for X-Rate-Limit-Reset"
    );
    assert!(SystemClock.now().timestamp() >= reset);

    fake.plan(
        10,
        Planned {
            status: StatusCode::TOO_MANY_REQUESTS,
            headers: vec![("retry-after", "0".into())],
            body: json!({"errorCode": "E0000047"}),
        },
    );
    let connector = connector_with(&fake, json!({}), Arc::new(SystemClock), 3);
    let err = connector.check().await.unwrap_err();
    assert!(matches!(err, ConnectorError::RateLimited { .. }), "{err}");
    fake.planned.lock().unwrap().clear();
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_unavailable() {
    let fake = start_fake().await;
    let connector = connector(&fake);
    let failure = Planned {
        status: StatusCode::SERVICE_UNAVAILABLE,
        headers: vec![],
        body: json!({"errorCode": "E0000009", "errorSummary": "Your last request took too long to complete."}),
    };
    fake.plan(2, failure.clone());
    let page = connector.groups_page(None).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        fake.seen()
            .iter()
            .filter(|s| s.path == "/api/v1/groups")
            .count(),
        3,
        "two 503s, then success"
    );

    fake.plan(10, failure);
    let err = connector.check().await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unavailable(_)), "{err}");
    assert!(err.is_transient());
    fake.planned.lock().unwrap().clear();
}

#[tokio::test]
async fn groups_carry_every_member_across_member_pages() {
    let fake = start_fake().await;
    let connector = connector(&fake);
    let first = connector.groups_page(None).await.unwrap();
    assert_eq!(first.items.len(), 1);
    let west = &first.items[0];
    assert_eq!(west.external_id, "00g1emaKYZTWRYYRRTSK");
    assert_eq!(west.name, "West Coast users");
    assert_eq!(
        west.members,
        vec![
            "00ub0oNGTSWTBKOLGLNR",
            "00u118oQYT4TBTemp0g4",
            "00u6suspended0SUSP1d6"
        ],
        "members from two pages of /groups/{{id}}/users"
    );
    let cursor = first.next_cursor.unwrap();
    assert!(cursor.starts_with(&format!("{}/api/v1/groups?", fake.base())));
    let second = connector.groups_page(Some(&cursor)).await.unwrap();
    assert_eq!(second.items[0].external_id, "00garwpuyxHaWOkdV0g4");
    assert!(second.items[0].members.is_empty());
    assert_eq!(second.next_cursor, None);
    let member_calls: Vec<_> = fake
        .seen()
        .into_iter()
        .filter(|s| s.path.ends_with("/users") && s.path.contains("/groups/"))
        .collect();
    assert_eq!(
        member_calls[0].query.get("limit").map(String::as_str),
        Some("200")
    );
}

#[tokio::test]
async fn system_log_polls_from_the_lookback_and_follows_next_links() {
    let fake = start_fake().await;
    let clock = manual_clock();
    let connector = connector_with(&fake, json!({"system_log_lookback_hours": 6}), clock, 4);

    let first = connector.signins_page(None).await.unwrap();
    let seen = fake.seen();
    let request = &seen.last().unwrap().query;
    assert_eq!(
        request.get("since").map(String::as_str),
        Some("2026-01-10T06:00:00.000Z")
    );
    assert_eq!(
        request.get("sortOrder").map(String::as_str),
        Some("ASCENDING")
    );
    assert_eq!(request.get("limit").map(String::as_str), Some("1000"));
    assert!(
        !request.contains_key("until"),
        "a polling request has no until"
    );
    assert_eq!(first.events.len(), 2);
    assert_eq!(first.events[1].reason.as_deref(), Some("push_denied"));
    assert!(!first.caught_up);
    let cursor = first.next_cursor.unwrap();
    assert_eq!(
        cursor,
        format!(
            "{}/api/v1/logs?limit=1000&sortOrder=ASCENDING&after=cursor-2",
            fake.base()
        ),
        "the cursor is Okta's next link, exactly"
    );

    let second = connector.signins_page(Some(&cursor)).await.unwrap();
    assert_eq!(
        fake.seen().last().unwrap().raw_query,
        "limit=1000&sortOrder=ASCENDING&after=cursor-2"
    );
    assert_eq!(second.events.len(), 1);
    assert_eq!(second.events[0].event_type, "security.threat.detected");
    assert!(!second.caught_up);

    let cursor = second.next_cursor.unwrap();
    let third = connector.signins_page(Some(&cursor)).await.unwrap();
    assert!(third.events.is_empty());
    assert!(third.caught_up, "an empty polling page means caught up");
    assert_eq!(third.next_cursor.as_deref(), Some(cursor.as_str()));

    let off = connector_with(
        &fake,
        json!({"ingest_system_log": false}),
        manual_clock(),
        4,
    );
    assert!(matches!(
        off.signins_page(None).await,
        Err(ConnectorError::Unsupported(_))
    ));
}

fn target(id: &str) -> ActionTarget {
    ActionTarget {
        external_id: id.into(),
        login: String::new(),
    }
}

const ALICE: &str = "00u118oQYT4TBTemp0g4";

/// The account status an action reports, if any.
fn report_status(report: &gatehouse_core::records::ActionReport) -> Option<UserStatus> {
    report.account.as_ref().map(|a| a.status)
}

#[tokio::test]
async fn disable_suspends_once_and_enable_unsuspends_once() {
    let fake = start_fake().await;
    let connector = connector(&fake);
    let report = connector
        .act(ActionKind::DisableAccount, &target(ALICE))
        .await
        .unwrap();
    assert!(report.changed, "{report:?}");
    assert_eq!(report_status(&report), Some(UserStatus::Suspended));
    let again = connector
        .act(ActionKind::DisableAccount, &target(ALICE))
        .await
        .unwrap();
    assert!(!again.changed, "already suspended is a no-op: {again:?}");
    assert_eq!(report_status(&again), Some(UserStatus::Suspended));
    assert_eq!(
        fake.mutations(),
        vec![format!("POST /api/v1/users/{ALICE}/lifecycle/suspend")]
    );

    let enabled = connector
        .act(ActionKind::EnableAccount, &target(ALICE))
        .await
        .unwrap();
    assert!(enabled.changed);
    assert_eq!(report_status(&enabled), Some(UserStatus::Active));
    let again = connector
        .act(ActionKind::EnableAccount, &target(ALICE))
        .await
        .unwrap();
    assert!(!again.changed, "already active is a no-op");
    assert_eq!(
        fake.mutations(),
        vec![
            format!("POST /api/v1/users/{ALICE}/lifecycle/suspend"),
            format!("POST /api/v1/users/{ALICE}/lifecycle/unsuspend"),
        ]
    );

    // A deactivated user cannot be suspended and cannot sign in: nothing to do.
    let report = connector
        .act(ActionKind::DisableAccount, &target("00u7deprovisioned01d6"))
        .await
        .unwrap();
    assert!(!report.changed);
    assert_eq!(report_status(&report), Some(UserStatus::Deprovisioned));
    // A locked-out user is enabled by unlocking.
    let report = connector
        .act(ActionKind::EnableAccount, &target("00u3m5wrdPjJYUFb81d6"))
        .await
        .unwrap();
    assert!(report.changed);
    assert_eq!(
        fake.mutations().last().unwrap(),
        "POST /api/v1/users/00u3m5wrdPjJYUFb81d6/lifecycle/unlock"
    );
}

#[tokio::test]
async fn an_invalid_transition_is_a_no_op_when_the_status_confirms_it() {
    let fake = start_fake().await;
    let connector = connector(&fake);
    // A race: our read (answered from the plan) says ACTIVE, but the user is suspended by the
    // time we POST, so Okta answers 400 E0000001; the re-read confirms SUSPENDED.
    let active = fake.user(ALICE).unwrap();
    fake.set_status(ALICE, "SUSPENDED");
    fake.plan(
        1,
        Planned {
            status: StatusCode::OK,
            headers: vec![],
            body: active,
        },
    );
    let report = connector
        .act(ActionKind::DisableAccount, &target(ALICE))
        .await
        .unwrap();
    assert!(!report.changed, "{report:?}");
    assert_eq!(
        fake.mutations(),
        vec![format!("POST /api/v1/users/{ALICE}/lifecycle/suspend")]
    );

    // A refusal the status does not explain is reported, with Okta's code.
    fake.set_status(ALICE, "STAGED");
    let err = connector
        .act(ActionKind::DisableAccount, &target(ALICE))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Forbidden(m) if m.contains("E0000001")),
        "{err}"
    );
}

#[tokio::test]
async fn deactivate_mode_deactivates_without_email_once() {
    let fake = start_fake().await;
    let connector = connector_with(
        &fake,
        json!({"disable_mode": "deactivate"}),
        manual_clock(),
        4,
    );
    let report = connector
        .act(ActionKind::DisableAccount, &target(ALICE))
        .await
        .unwrap();
    assert!(report.changed);
    let again = connector
        .act(ActionKind::DisableAccount, &target(ALICE))
        .await
        .unwrap();
    assert!(!again.changed);
    let transitioning = connector
        .act(ActionKind::DisableAccount, &target("00u8transitioning01d6"))
        .await
        .unwrap();
    assert!(
        !transitioning.changed,
        "a deactivation in progress is not repeated"
    );
    assert_eq!(
        fake.mutations(),
        vec![format!(
            "POST /api/v1/users/{ALICE}/lifecycle/deactivate?sendEmail=false"
        )]
    );
    let err = connector
        .act(ActionKind::EnableAccount, &target(ALICE))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Unsupported(_)), "{err}");
}

#[tokio::test]
async fn revoke_sessions_deletes_sessions_and_tokens() {
    let fake = start_fake().await;
    let connector = connector(&fake);
    let report = connector
        .act(ActionKind::RevokeSessions, &target(ALICE))
        .await
        .unwrap();
    assert!(report.changed);
    assert_eq!(
        fake.mutations(),
        vec![format!(
            "DELETE /api/v1/users/{ALICE}/sessions?oauthTokens=true"
        )]
    );
    // Without an external id the login finds the user, and the id it has is used.
    let by_login = ActionTarget {
        external_id: String::new(),
        login: "alice.smith@example.com".into(),
    };
    assert!(
        connector
            .act(ActionKind::RevokeSessions, &by_login)
            .await
            .unwrap()
            .changed
    );
    assert_eq!(
        fake.mutations().last().unwrap(),
        &format!("DELETE /api/v1/users/{ALICE}/sessions?oauthTokens=true")
    );
    let err = connector
        .act(ActionKind::RevokeSessions, &target("00unknown"))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::NotFound(_)), "{err}");
    let err = connector
        .act(ActionKind::DisableAccount, &target("00unknown"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::NotFound(m) if m.contains("E0000007")),
        "{err}"
    );
}

#[tokio::test]
async fn enforce_mfa_resets_factors_and_joins_the_group_once() {
    let fake = start_fake().await;
    let group = "00g1emaKYZTWRYYRRTSK";
    let connector = connector_with(&fake, json!({"mfa_group_id": group}), manual_clock(), 4);
    let isaac = "00ub0oNGTSWTBKOLGLNR";
    let report = connector
        .act(ActionKind::EnforceMfa, &target(isaac))
        .await
        .unwrap();
    assert!(report.changed, "{report:?}");
    assert_eq!(
        fake.mutations(),
        vec![
            format!("POST /api/v1/users/{isaac}/lifecycle/reset_factors"),
            format!("PUT /api/v1/groups/{group}/users/{isaac}"),
        ]
    );
    let again = connector
        .act(ActionKind::EnforceMfa, &target(isaac))
        .await
        .unwrap();
    assert!(
        !again.changed,
        "no factors left and already a member: {again:?}"
    );
    assert_eq!(fake.mutations().len(), 2, "nothing more was sent");

    // Without a group only the reset happens, and only when factors are enrolled.
    let plain = connector_with(&fake, json!({}), manual_clock(), 4);
    let report = plain
        .act(ActionKind::EnforceMfa, &target(ALICE))
        .await
        .unwrap();
    assert!(!report.changed);
    assert_eq!(fake.mutations().len(), 2);
}
