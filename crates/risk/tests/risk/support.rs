//! Shared test support: loading the fixtures in `tests/fixtures` (`Scenario`, `Loaded`), a
//! replay of the engine over them (a store of events and detections, fed in any order), the
//! normalized view of its detections that ignores arrival, a seeded shuffle and the base time.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use gatehouse_core::model::{
    Detection, EventCategory, Outcome, Severity, SignInEvent, User, UserStatus,
};
use gatehouse_core::UserId;
use gatehouse_risk::{
    assess, clear, reconcile, windows, Change, Context, Finding, Kind, RiskConfig,
};
use serde::Deserialize;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Fixtures

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Scenario {
    pub(crate) description: String,
    #[serde(default)]
    config: Value,
    #[serde(default)]
    history_start: Option<DateTime<Utc>>,
    #[serde(default)]
    users: Vec<UserSpec>,
    events: Vec<Value>,
    pub(crate) expect: Vec<Expect>,
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
pub(crate) struct Expect {
    pub(crate) kind: String,
    pub(crate) severity: Severity,
    pub(crate) user_id: Option<String>,
    pub(crate) evidence: Vec<String>,
    /// Substrings of the stored detection's explanation.
    pub(crate) explanation: Vec<String>,
    /// Substrings of at least one finding's explanation of this kind.
    #[serde(default)]
    pub(crate) finding: Vec<String>,
}

pub(crate) struct Loaded {
    pub(crate) name: String,
    pub(crate) scenario: Scenario,
    pub(crate) config: RiskConfig,
    pub(crate) events: Vec<SignInEvent>,
    pub(crate) users: Vec<User>,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub(crate) fn load(name: &str) -> Loaded {
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

pub(crate) fn all_fixtures() -> Vec<String> {
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

pub(crate) struct Replay {
    pub(crate) detections: Vec<Detection>,
    pub(crate) findings: Vec<Finding>,
}

fn in_range(t: DateTime<Utc>, range: (DateTime<Utc>, DateTime<Utc>)) -> bool {
    t >= range.0 && t <= range.1
}

/// Stores the events in `order`, evaluating each as it arrives with the context the store would
/// give at that point, and applies what comes back.
pub(crate) fn replay(l: &Loaded, order: &[usize]) -> Replay {
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

pub(crate) fn chronological(l: &Loaded) -> Vec<usize> {
    let mut order: Vec<usize> = (0..l.events.len()).collect();
    order.sort_by(|a, b| {
        let (x, y) = (&l.events[*a], &l.events[*b]);
        x.time.cmp(&y.time).then(x.id.cmp(&y.id))
    });
    order
}

/// A detection without what legitimately depends on arrival: its id and write times.
pub(crate) fn normalized(detections: &[Detection]) -> Vec<Value> {
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
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The base time of the hand-built findings and detections

pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 10, 0, 0).unwrap()
}
