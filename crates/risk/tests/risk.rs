#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Integration tests of `gatehouse-risk`: every detection against a firing fixture and a near
//! miss (`tests/fixtures/<kind>.json`, `<kind>_near_miss.json`), replayed the way the engine runs
//! them (store an event, build its context from the windows, assess, reconcile); out-of-order
//! delivery; merging; scores; escalation; OCSF and ECS output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use gatehouse_core::model::{
    Detection, EventCategory, Outcome, Severity, SignInEvent, User, UserStatus,
};
use gatehouse_core::{DetectionId, IdentityId, IntegrationId, SignInId, TenantId, UserId};
use gatehouse_risk::{
    assess, clear, escalate, merge, ocsf, reconcile, risk_score, same_incident, windows, Change,
    Context, Finding, Kind, RiskConfig,
};
use serde::Deserialize;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Fixtures

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    description: String,
    #[serde(default)]
    config: Value,
    #[serde(default)]
    history_start: Option<DateTime<Utc>>,
    #[serde(default)]
    users: Vec<UserSpec>,
    events: Vec<Value>,
    expect: Vec<Expect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserSpec {
    id: String,
    login: String,
    status: UserStatus,
    #[serde(default)]
    identity_id: Option<String>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
}

/// One detection the scenario must end with.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    kind: String,
    severity: Severity,
    user_id: Option<String>,
    evidence: Vec<String>,
    /// Substrings of the stored detection's explanation.
    explanation: Vec<String>,
    /// Substrings of at least one finding's explanation of this kind.
    #[serde(default)]
    finding: Vec<String>,
}

struct Loaded {
    name: String,
    scenario: Scenario,
    config: RiskConfig,
    events: Vec<SignInEvent>,
    users: Vec<User>,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn load(name: &str) -> Loaded {
    let path = fixtures_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let scenario: Scenario = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let config: RiskConfig = if scenario.config.is_null() {
        RiskConfig::default()
    } else {
        serde_json::from_value(scenario.config.clone()).unwrap()
    };
    config.validate().unwrap();
    let events = scenario
        .events
        .iter()
        .map(|raw| {
            let mut value = raw.clone();
            let obj = value.as_object_mut().unwrap();
            let id = obj["id"].clone();
            obj.entry("tenant_id").or_insert(json!("ten_test"));
            obj.entry("integration_id").or_insert(json!("int_okta"));
            obj.entry("provider").or_insert(json!("okta"));
            obj.entry("provider_event_id").or_insert(id);
            serde_json::from_value(value).unwrap_or_else(|e| panic!("{name}: {raw}: {e}"))
        })
        .collect();
    let users = scenario.users.iter().map(user).collect();
    Loaded {
        name: name.to_owned(),
        scenario,
        config,
        events,
        users,
    }
}

fn user(spec: &UserSpec) -> User {
    serde_json::from_value(json!({
        "id": spec.id, "tenant_id": "ten_test", "integration_id": "int_okta", "provider": "okta",
        "external_id": format!("00u{}", spec.id), "login": spec.login, "email": spec.login,
        "display_name": spec.login, "status": spec.status, "mfa_enrolled": true,
        "identity_id": spec.identity_id, "created_at": spec.created_at,
        "last_login_at": null, "updated_at": spec.updated_at,
        "synced_at": "2026-05-01T00:00:00Z",
    }))
    .unwrap()
}

fn all_fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------------
// The engine, as the tests need it: a store of events and detections

struct Replay {
    detections: Vec<Detection>,
    findings: Vec<Finding>,
}

fn in_range(t: DateTime<Utc>, range: (DateTime<Utc>, DateTime<Utc>)) -> bool {
    t >= range.0 && t <= range.1
}

/// Stores the events in `order`, evaluating each as it arrives with the context the store would
/// give at that point, and applies what comes back.
fn replay(l: &Loaded, order: &[usize]) -> Replay {
    let config = &l.config;
    let w = windows(config);
    let mut stored: Vec<SignInEvent> = Vec::new();
    let mut detections: Vec<Detection> = Vec::new();
    let mut findings = Vec::new();
    for &i in order {
        let e = l.events[i].clone();
        stored.push(e.clone());
        let t = e.time;
        let account_events: Vec<SignInEvent> = stored
            .iter()
            .filter(|s| e.user_id.is_some() && s.user_id == e.user_id)
            .filter(|s| in_range(s.time, w.account_events.around(t)))
            .cloned()
            .collect();
        let ip_events: Vec<SignInEvent> = stored
            .iter()
            .filter(|s| e.ip.is_some() && s.ip == e.ip)
            .filter(|s| in_range(s.time, w.ip_events.around(t)))
            .cloned()
            .collect();
        let session_events: Vec<SignInEvent> = stored
            .iter()
            .filter(|s| e.session_id.is_some() && s.session_id == e.session_id)
            .filter(|s| s.integration_id == e.integration_id)
            .filter(|s| in_range(s.time, w.session_events.around(t)))
            .cloned()
            .collect();
        let account = l.users.iter().find(|u| Some(&u.id) == e.user_id.as_ref());
        let accounts: Vec<UserId> = match account {
            Some(a) => l
                .users
                .iter()
                .filter(|u| {
                    u.id == a.id || (a.identity_id.is_some() && u.identity_id == a.identity_id)
                })
                .map(|u| u.id.clone())
                .collect(),
            None => e.user_id.iter().cloned().collect(),
        };
        let identity_successes: Vec<SignInEvent> = stored
            .iter()
            .filter(|s| {
                s.category == EventCategory::Authentication && s.outcome == Outcome::Success
            })
            .filter(|s| s.user_id.as_ref().is_some_and(|u| accounts.contains(u)))
            .filter(|s| in_range(s.time, w.identity_successes.around(t)))
            .cloned()
            .collect();
        let recent_attacks: Vec<Detection> = detections
            .iter()
            .filter(|d| Kind::parse(&d.kind).is_some_and(Kind::is_attack))
            .filter(|d| d.last_seen <= t && d.last_seen >= t - w.recent_attacks)
            .filter(|d| {
                d.evidence.iter().any(|id| {
                    stored.iter().any(|s| {
                        &s.id == id
                            && ((e.user_id.is_some() && s.user_id == e.user_id)
                                || (e.ip.is_some() && s.ip == e.ip))
                    })
                })
            })
            .cloned()
            .collect();
        let ctx = Context {
            trigger: &e,
            account_events: &account_events,
            ip_events: &ip_events,
            session_events: &session_events,
            identity_successes: &identity_successes,
            account,
            recent_attacks: &recent_attacks,
            history_start: l.scenario.history_start,
            config,
        };
        let out = assess(&ctx);
        for finding in &out.findings {
            let identity = l
                .users
                .iter()
                .find(|u| Some(&u.id) == finding.user_id.as_ref())
                .and_then(|u| u.identity_id.clone());
            let changes = reconcile(&detections, finding, identity.as_ref(), config, t);
            apply(&mut detections, changes);
        }
        for cleared in &out.cleared {
            let changes = clear(&detections, cleared, config, t);
            apply(&mut detections, changes);
        }
        findings.extend(out.findings);
    }
    Replay {
        detections,
        findings,
    }
}

fn apply(detections: &mut Vec<Detection>, changes: Vec<Change>) {
    for change in changes {
        match change {
            Change::Put(d) => match detections.iter_mut().find(|x| x.id == d.id) {
                Some(slot) => *slot = *d,
                None => detections.push(*d),
            },
            Change::Delete(id) => detections.retain(|d| d.id != id),
        }
    }
}

fn chronological(l: &Loaded) -> Vec<usize> {
    let mut order: Vec<usize> = (0..l.events.len()).collect();
    order.sort_by(|a, b| {
        let (x, y) = (&l.events[*a], &l.events[*b]);
        x.time.cmp(&y.time).then(x.id.cmp(&y.id))
    });
    order
}

/// A detection without what legitimately depends on arrival: its id and write times.
fn normalized(detections: &[Detection]) -> Vec<Value> {
    let mut out: Vec<Value> = detections
        .iter()
        .map(|d| {
            json!({
                "kind": d.kind, "severity": d.severity, "user_id": d.user_id,
                "identity_id": d.identity_id, "integration_id": d.integration_id,
                "evidence": d.evidence, "explanation": d.explanation,
                "first_seen": d.first_seen, "last_seen": d.last_seen,
            })
        })
        .collect();
    out.sort_by_key(|v| v.to_string());
    out
}

/// A small deterministic generator (SplitMix64), so shuffles are reproducible without a crate.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Every fixture: what fires, and nothing else

fn check_expectations(l: &Loaded, replay: &Replay) {
    let name = &l.name;
    let got = &replay.detections;
    assert_eq!(
        got.len(),
        l.scenario.expect.len(),
        "{name} ({}): expected {} detections, got:\n{:#?}",
        l.scenario.description,
        l.scenario.expect.len(),
        normalized(got)
    );
    for want in &l.scenario.expect {
        let mut evidence = want.evidence.clone();
        evidence.sort();
        let found = got.iter().find(|d| {
            d.kind == want.kind
                && d.evidence.iter().map(SignInId::as_str).collect::<Vec<_>>() == evidence
        });
        let Some(d) = found else {
            panic!(
                "{name}: no {} detection with evidence {evidence:?}; got:\n{:#?}",
                want.kind,
                normalized(got)
            );
        };
        assert_eq!(d.severity, want.severity, "{name}: {} severity", want.kind);
        assert_eq!(
            d.user_id.as_ref().map(UserId::as_str),
            want.user_id.as_deref(),
            "{name}: {} user",
            want.kind
        );
        for part in &want.explanation {
            assert!(
                d.explanation.contains(part.as_str()),
                "{name}: {:?} lacks {part:?}",
                d.explanation
            );
        }
        for part in &want.finding {
            assert!(
                replay
                    .findings
                    .iter()
                    .any(|f| f.kind.as_str() == want.kind && f.explanation.contains(part.as_str())),
                "{name}: no {} finding explains {part:?}; findings: {:#?}",
                want.kind,
                replay
                    .findings
                    .iter()
                    .filter(|f| f.kind.as_str() == want.kind)
                    .map(|f| &f.explanation)
                    .collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn every_fixture_yields_exactly_its_expected_detections() {
    let names = all_fixtures();
    assert!(names.len() >= 26, "fixtures missing: {names:?}");
    for name in names {
        let l = load(&name);
        let replay = replay(&l, &chronological(&l));
        check_expectations(&l, &replay);
    }
}

#[test]
fn every_kind_has_a_firing_fixture_and_a_near_miss() {
    for kind in Kind::ALL {
        let fires = load(kind.as_str());
        assert!(
            fires
                .scenario
                .expect
                .iter()
                .any(|e| e.kind == kind.as_str()),
            "{kind}.json must expect a {kind} detection"
        );
        let near = load(&format!("{kind}_near_miss"));
        assert!(
            near.scenario.expect.iter().all(|e| e.kind != kind.as_str()),
            "{kind}_near_miss.json must not expect a {kind} detection"
        );
        // The near miss exercises the detection: it has events the detection looks at.
        assert!(!near.events.is_empty());
    }
}

#[test]
fn delivery_order_does_not_change_the_detections() {
    for name in all_fixtures() {
        let l = load(&name);
        let expected = normalized(&replay(&l, &chronological(&l)).detections);
        let mut reversed = chronological(&l);
        reversed.reverse();
        assert_eq!(
            normalized(&replay(&l, &reversed).detections),
            expected,
            "{name}: reversed delivery"
        );
        for seed in [1_u64, 7, 42, 1337, 2026, 65_537] {
            let mut order = chronological(&l);
            SplitMix(seed).shuffle(&mut order);
            assert_eq!(
                normalized(&replay(&l, &order).detections),
                expected,
                "{name}: shuffled with seed {seed}"
            );
        }
    }
}

#[test]
fn replaying_the_same_events_again_changes_nothing() {
    let l = load("burst_one_detection");
    let order = chronological(&l);
    let mut twice = order.clone();
    twice.extend(order.iter().copied());
    // The second pass stores duplicates of the same ids: the views dedupe them and merges add
    // nothing, so the result is the same.
    assert_eq!(
        normalized(&replay(&l, &twice).detections),
        normalized(&replay(&l, &order).detections)
    );
}

#[test]
fn one_burst_is_one_detection() {
    let l = load("burst_one_detection");
    let replay = replay(&l, &chronological(&l));
    let brute: Vec<&Detection> = replay
        .detections
        .iter()
        .filter(|d| d.kind == "brute_force")
        .collect();
    // Two bursts, 30 min apart: two detections, the first with all 25 failures.
    assert_eq!(brute.len(), 2);
    assert!(brute.iter().any(|d| d.evidence.len() == 25));
    // Many findings were produced (one per failure past the threshold) and merged.
    assert!(
        replay
            .findings
            .iter()
            .filter(|f| f.kind == Kind::BruteForce)
            .count()
            > 10
    );
}

#[test]
fn mfa_fatigue_is_high_only_when_a_success_follows() {
    let medium = load("mfa_fatigue");
    let d = replay(&medium, &chronological(&medium)).detections;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].severity, Severity::Medium);
    let high = load("mfa_fatigue_success");
    let d = replay(&high, &chronological(&high)).detections;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].severity, Severity::High);
    assert!(d[0].explanation.contains("succeeded after the denials"));
}

#[test]
fn a_late_earlier_success_retracts_new_country_and_dormancy() {
    // dormant_account_near_miss holds bob's successes at day -120, -50 and 0. Delivered with the
    // middle one last, day 0 first looks dormant, then is cleared.
    let l = load("dormant_account_near_miss");
    let bob: Vec<usize> = (0..l.events.len())
        .filter(|i| l.events[*i].user_id.as_ref().map(UserId::as_str) == Some("usr_bob"))
        .collect();
    assert_eq!(bob.len(), 3);
    let mut by_time = bob.clone();
    by_time.sort_by_key(|i| l.events[*i].time);
    let order = vec![by_time[0], by_time[2], by_time[1]];
    let partial = replay(&l, &order[..2]);
    assert_eq!(
        partial.detections.len(),
        1,
        "day 0 looks dormant before day -50 arrives"
    );
    assert_eq!(partial.detections[0].kind, "dormant_account");
    let full = replay(&l, &order);
    assert!(
        full.detections.is_empty(),
        "{:#?}",
        normalized(&full.detections)
    );
}

// ---------------------------------------------------------------------------------------------
// Merge and reconcile

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 10, 0, 0).unwrap()
}

fn finding(kind: Kind, subject: &str, ids: &[&str], from_min: i64, to_min: i64) -> Finding {
    Finding {
        tenant_id: TenantId::parse("ten_test").unwrap(),
        kind,
        severity: Severity::Medium,
        user_id: UserId::parse("usr_jane"),
        integration_id: IntegrationId::parse("int_okta"),
        subject: subject.to_owned(),
        evidence: ids.iter().map(|s| SignInId::parse(s).unwrap()).collect(),
        explanation: "test".into(),
        first_seen: t0() + Duration::minutes(from_min),
        last_seen: t0() + Duration::minutes(to_min),
    }
}

fn put(changes: Vec<Change>) -> Detection {
    match changes.as_slice() {
        [Change::Put(d)] => (**d).clone(),
        other => panic!("expected one put, got {other:?}"),
    }
}

#[test]
fn merge_joins_touching_findings_and_bridges_detections() {
    let config = RiskConfig::default();
    let subject = "account:usr_jane";
    let a = put(reconcile(
        &[],
        &finding(Kind::BruteForce, subject, &["sin_a"], 0, 2),
        None,
        &config,
        t0(),
    ));
    let b = put(reconcile(
        std::slice::from_ref(&a),
        &finding(Kind::BruteForce, subject, &["sin_b"], 20, 22),
        None,
        &config,
        t0(),
    ));
    assert_ne!(a.id, b.id, "18 min apart is a new incident (gap 5 min)");
    // Within 5 min of the first: merged, no write for a repeat.
    let near = finding(Kind::BruteForce, subject, &["sin_a2"], 6, 7);
    assert!(same_incident(&a, &near, &config));
    let grown = merge(&a, &near, &config, t0()).unwrap();
    assert_eq!(grown.evidence.len(), 2);
    assert_eq!(grown.id, a.id);
    assert!(
        merge(&grown, &near, &config, t0()).is_none(),
        "nothing new, nothing to write"
    );
    // Another subject or kind never merges.
    assert!(!same_incident(
        &a,
        &finding(Kind::BruteForce, "account:usr_bob", &["sin_x"], 1, 1),
        &config
    ));
    assert!(!same_incident(
        &a,
        &finding(Kind::MfaFatigue, subject, &["sin_x"], 1, 1),
        &config
    ));
    // A finding spanning the gap folds both into the earlier one and deletes the later.
    let bridge = finding(Kind::BruteForce, subject, &["sin_m"], 5, 17);
    let changes = reconcile(&[a.clone(), b.clone()], &bridge, None, &config, t0());
    assert_eq!(changes.len(), 2, "{changes:?}");
    let Change::Put(merged) = &changes[0] else {
        panic!()
    };
    assert_eq!(merged.id, a.id);
    assert_eq!(merged.evidence.len(), 3);
    assert_eq!(merged.first_seen, a.first_seen);
    assert_eq!(merged.last_seen, b.last_seen);
    assert_eq!(changes[1], Change::Delete(b.id.clone()));
}

#[test]
fn merged_severity_is_the_highest_and_ids_name_the_subject() {
    let config = RiskConfig::default();
    let mut low = finding(Kind::MfaFatigue, "account:usr_jane", &["sin_a"], 0, 1);
    low.severity = Severity::Medium;
    let mut high = finding(Kind::MfaFatigue, "account:usr_jane", &["sin_b"], 2, 3);
    high.severity = Severity::High;
    let d = put(reconcile(&[], &high, None, &config, t0()));
    let d = put(reconcile(&[d], &low, None, &config, t0()));
    assert_eq!(d.severity, Severity::High);
    assert!(gatehouse_risk::is_subject(
        &d,
        Kind::MfaFatigue,
        "account:usr_jane"
    ));
    assert!(!gatehouse_risk::is_subject(
        &d,
        Kind::MfaFatigue,
        "account:usr_bob"
    ));
    assert!(!gatehouse_risk::is_subject(
        &d,
        Kind::BruteForce,
        "account:usr_jane"
    ));
}

#[test]
fn clearing_the_last_evidence_deletes_the_detection() {
    let config = RiskConfig::default();
    let f = finding(Kind::NewCountry, "account:usr_jane", &["sin_a"], 0, 0);
    let d = put(reconcile(&[], &f, None, &config, t0()));
    let cleared = gatehouse_risk::Cleared {
        tenant_id: f.tenant_id.clone(),
        kind: Kind::NewCountry,
        subject: f.subject.clone(),
        event: SignInId::parse("sin_a").unwrap(),
        time: t0(),
    };
    assert_eq!(
        clear(std::slice::from_ref(&d), &cleared, &config, t0()),
        vec![Change::Delete(d.id.clone())]
    );
    let other = gatehouse_risk::Cleared {
        event: SignInId::parse("sin_zz").unwrap(),
        ..cleared
    };
    assert!(clear(&[d], &other, &config, t0()).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Scores and escalation

fn detection(kind: &str, severity: Severity, first_min: i64, last_min: i64, n: u32) -> Detection {
    Detection {
        id: DetectionId::derive(t0(), &[kind, &n.to_string()]),
        tenant_id: TenantId::parse("ten_test").unwrap(),
        kind: kind.into(),
        severity,
        user_id: UserId::parse("usr_jane"),
        identity_id: IdentityId::parse("idn_jane"),
        integration_id: IntegrationId::parse("int_okta"),
        evidence: vec![SignInId::parse("sin_a").unwrap()],
        explanation: "x".into(),
        first_seen: t0() + Duration::minutes(first_min),
        last_seen: t0() + Duration::minutes(last_min),
        created_at: t0(),
        updated_at: t0(),
    }
}

#[test]
fn risk_score_grows_with_severity_and_decays_by_half_life() {
    let config = RiskConfig::default();
    let now = t0();
    assert_eq!(risk_score(&[], now, &config), 0);
    let high = detection("impossible_travel", Severity::High, 0, 0, 1);
    assert_eq!(risk_score(std::slice::from_ref(&high), now, &config), 50);
    // One half-life later it weighs half; two, a quarter.
    assert_eq!(
        risk_score(
            std::slice::from_ref(&high),
            now + Duration::hours(24),
            &config
        ),
        25
    );
    assert_eq!(
        risk_score(
            std::slice::from_ref(&high),
            now + Duration::hours(48),
            &config
        ),
        13
    );
    let critical = detection("success_after_attack", Severity::Critical, 0, 0, 2);
    assert_eq!(
        risk_score(std::slice::from_ref(&critical), now, &config),
        80
    );
    // Combined like probabilities: 1 - 0.5 × 0.2 = 0.9.
    assert_eq!(
        risk_score(&[high.clone(), critical.clone()], now, &config),
        90
    );
    assert_eq!(
        risk_score(&[critical.clone(), high.clone()], now, &config),
        90
    );
    // The same detection twice counts once; many never pass 100.
    assert_eq!(risk_score(&[high.clone(), high.clone()], now, &config), 50);
    let many: Vec<Detection> = (0..50)
        .map(|n| detection("x", Severity::Critical, 0, 0, 100 + n))
        .collect();
    assert_eq!(risk_score(&many, now, &config), 100);
    // A shorter half-life decays faster.
    let mut fast = config.clone();
    fast.score.half_life_hours = 1.0;
    assert_eq!(
        risk_score(std::slice::from_ref(&high), now + Duration::hours(2), &fast),
        13
    );
}

#[test]
fn several_kinds_in_one_hour_escalate() {
    let config = RiskConfig::default();
    let travel = detection("impossible_travel", Severity::High, 0, 0, 1);
    let country = detection("new_country", Severity::Low, 10, 10, 2);
    let mfa = detection("mfa_fatigue", Severity::Medium, 30, 40, 3);
    assert_eq!(escalate(std::slice::from_ref(&travel), &config), None);
    assert_eq!(
        escalate(&[travel.clone(), country.clone()], &config),
        Some(Severity::Critical)
    );
    assert_eq!(
        escalate(&[country.clone(), mfa.clone()], &config),
        Some(Severity::High)
    );
    assert_eq!(
        escalate(&[country.clone(), mfa.clone(), travel.clone()], &config),
        Some(Severity::Critical)
    );
    // Two hours apart: two incidents, no escalation.
    let late = detection("mfa_fatigue", Severity::Medium, 130, 131, 4);
    assert_eq!(escalate(&[country.clone(), late], &config), None);
    // Repeats of one kind are not several kinds.
    let again = detection("new_country", Severity::Low, 20, 20, 5);
    assert_eq!(escalate(&[country, again], &config), None);
}

// ---------------------------------------------------------------------------------------------
// Alert outputs

#[test]
fn ocsf_detection_finding_shape() {
    let l = load("success_after_attack");
    let d = replay(&l, &chronological(&l))
        .detections
        .into_iter()
        .find(|d| {
            d.kind == "success_after_attack"
                && d.user_id.as_ref().map(UserId::as_str) == Some("usr_jane")
        })
        .unwrap();
    let jane = l
        .users
        .iter()
        .find(|u| u.id.as_str() == "usr_jane")
        .unwrap();
    let v = ocsf::detection_finding(&d, Some(jane), "Gatehouse");
    assert_eq!(v["class_uid"], 2004);
    assert_eq!(v["category_uid"], 2);
    assert_eq!(v["severity_id"], 5);
    assert_eq!(v["severity"], "Critical");
    let activity = v["activity_id"].as_u64().unwrap();
    assert!(activity == 1 || activity == 2);
    assert_eq!(v["type_uid"].as_u64().unwrap(), 200_400 + activity);
    assert_eq!(v["time"], d.updated_at.timestamp_millis());
    assert_eq!(v["metadata"]["version"], "1.1.0");
    assert_eq!(v["metadata"]["product"]["name"], "Gatehouse");
    assert_eq!(v["metadata"]["product"]["vendor_name"], "Gatehouse");
    let info = &v["finding_info"];
    assert_eq!(info["uid"], d.id.as_str());
    assert_eq!(info["title"], "Successful sign-in after an attack");
    assert_eq!(info["desc"], d.explanation.as_str());
    assert_eq!(info["types"], json!(["success_after_attack"]));
    assert_eq!(info["first_seen_time"], d.first_seen.timestamp_millis());
    assert_eq!(info["last_seen_time"], d.last_seen.timestamp_millis());
    assert_eq!(v["evidences"].as_array().unwrap().len(), d.evidence.len());
    assert_eq!(
        v["evidences"][0]["data"]["sign_in_id"],
        d.evidence[0].as_str()
    );
    assert_eq!(v["resources"][0]["uid"], "usr_jane");
    assert_eq!(v["actor"]["user"]["name"], "jane@example.com");
    assert_eq!(v["actor"]["user"]["email_addr"], "jane@example.com");
    // A fresh detection is a Create.
    let mut fresh = d.clone();
    fresh.updated_at = fresh.created_at;
    let v = ocsf::detection_finding(&fresh, None, "Gatehouse");
    assert_eq!(v["activity_id"], 1);
    assert_eq!(v["type_uid"], 200_401);
    assert!(v.get("actor").is_none());
    let severities: Vec<u8> = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ]
    .into_iter()
    .map(ocsf::severity_id)
    .collect();
    assert_eq!(severities, vec![2, 3, 4, 5]);
}

#[test]
fn ecs_alert_shape() {
    let l = load("password_spray");
    let d = replay(&l, &chronological(&l)).detections.remove(0);
    let v = ocsf::ecs(&d, None, Some("203.0.113.66"));
    assert_eq!(v["event"]["kind"], "alert");
    assert_eq!(v["event"]["category"], json!(["authentication"]));
    assert_eq!(v["rule"]["name"], "password_spray");
    assert_eq!(v["source"]["ip"], "203.0.113.66");
    assert_eq!(v["event"]["severity"], 73);
    assert!(v.get("user").is_none(), "an IP detection has no user");
    let l = load("brute_force");
    let d = replay(&l, &chronological(&l)).detections.remove(0);
    let jane = l
        .users
        .iter()
        .find(|u| u.id.as_str() == "usr_jane")
        .unwrap();
    let v = ocsf::ecs(&d, Some(jane), None);
    assert_eq!(v["user"]["name"], "jane@example.com");
    assert_eq!(v["user"]["email"], "jane@example.com");
    assert_eq!(v["user"]["id"], "usr_jane");
    assert!(v.get("source").is_none());
    assert_eq!(
        v["event"]["start"],
        json!(d
            .first_seen
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    );
}

// ---------------------------------------------------------------------------------------------
// Context handling

#[test]
fn context_lists_may_be_loose_unsorted_and_duplicated() {
    let l = load("brute_force");
    let config = &l.config;
    let trigger = l.events.iter().max_by_key(|e| e.time).unwrap();
    let mut noisy: Vec<SignInEvent> = l.events.clone();
    noisy.reverse();
    noisy.extend(l.events.iter().cloned());
    // Another account's failures in the account list must not count.
    let mut stranger = l.events[0].clone();
    stranger.id = SignInId::parse("sin_stranger").unwrap();
    stranger.user_id = UserId::parse("usr_other");
    noisy.push(stranger);
    let ctx = |events: &[SignInEvent]| {
        let c = Context {
            trigger,
            account_events: events,
            ip_events: &[],
            session_events: &[],
            identity_successes: &[],
            account: None,
            recent_attacks: &[],
            history_start: None,
            config,
        };
        assess(&c).findings
    };
    let clean = ctx(&l.events);
    let loose = ctx(&noisy);
    assert_eq!(clean, loose);
    assert_eq!(clean.len(), 1);
    assert_eq!(clean[0].evidence.len(), 10);
    assert_eq!(clean[0].subject, "account:usr_jane");
}

#[test]
fn fixtures_use_the_events_they_name() {
    // Evidence ids in expectations must exist, so a typo cannot make a test vacuous.
    for name in all_fixtures() {
        let l = load(&name);
        let ids: BTreeMap<&str, ()> = l.events.iter().map(|e| (e.id.as_str(), ())).collect();
        for want in &l.scenario.expect {
            for id in &want.evidence {
                assert!(
                    ids.contains_key(id.as_str()),
                    "{name}: unknown evidence {id}"
                );
            }
        }
    }
}
