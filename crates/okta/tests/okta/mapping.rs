//! Okta's documented System Log events and users (the fixtures) mapped to Gatehouse's records.

use std::collections::BTreeMap;

use gatehouse_core::model::{EventCategory, Outcome, RiskLevel, UserStatus};
use gatehouse_core::records::ProviderEvent;
use gatehouse_okta::{map_event, map_user};
use serde_json::Value;

use crate::support::{at, fixture, fixtures};

/// What one System Log fixture must map to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expect {
    pub(crate) category: Option<EventCategory>,
    pub(crate) user: Option<&'static str>,
    pub(crate) login: Option<&'static str>,
    pub(crate) outcome: Option<Outcome>,
    pub(crate) reason: Option<&'static str>,
    pub(crate) ip: Option<&'static str>,
    pub(crate) country: Option<&'static str>,
    pub(crate) city: Option<&'static str>,
    pub(crate) asn: Option<u32>,
    pub(crate) mfa: Option<&'static str>,
    pub(crate) session: Option<&'static str>,
    pub(crate) proxy: Option<bool>,
    pub(crate) risk: Option<RiskLevel>,
}

pub(crate) fn check_event(file: &str, event: &ProviderEvent, raw: &Value, e: &Expect) {
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
        serde_json::to_value(&event.signal).unwrap(),
        crate::signals::expected_signal(file),
        "{file} signal"
    );
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

pub(crate) fn event_expectations() -> Vec<(&'static str, Expect)> {
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
    let raw = isaac.raw.as_ref().unwrap().value();
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
