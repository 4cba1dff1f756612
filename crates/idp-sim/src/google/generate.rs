//! Building a Workspace from a seed: the super admin first, then users with
//! names, departments, managers, org units and 2SV; groups; and login
//! activities (the login audit's event names and parameters) spread over
//! the configured span. Also the user and activity builders behind
//! [`super::GoogleSim::add_user`] and [`super::GoogleSim::add_activity`].

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::model::{fmt_ts, parse_ts, Activity, Group, Store, User};
use super::GoogleConfig;
use crate::common::SimRng;

const GIVEN: &[&str] = &[
    "Alice", "Bob", "Carol", "Dan", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
    "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Yusuf",
];
const FAMILY: &[&str] = &[
    "Smith", "Jones", "Garcia", "Chen", "Okafor", "Novak", "Silva", "Kim", "Dubois", "Rossi",
    "Müller", "Nakamura", "Haddad", "Kowalski", "Larsen", "Patel",
];
const DEPTS: &[(&str, &str)] = &[
    ("Engineering", "Software Engineer"),
    ("Finance", "Analyst"),
    ("Sales", "Account Executive"),
    ("Support", "Support Engineer"),
    ("People", "HR Partner"),
];

/// A user to add through the library API; unset fields are generated.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub primary_email: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub is_admin: bool,
    pub suspended: bool,
    pub org_unit_path: Option<String>,
    /// Manager's email (a `relations[]` item of type `manager`).
    pub manager: Option<String>,
    pub department: Option<String>,
    pub title: Option<String>,
    pub enrolled_2sv: bool,
    pub last_login_time: Option<DateTime<Utc>>,
}

fn pick<'a>(rng: &mut SimRng, items: &'a [&'a str]) -> &'a str {
    rng.pick(items).copied().unwrap_or("x")
}

/// Builds a [`User`] from a [`NewUser`] (id and missing fields drawn from the store's rng).
pub fn user_from(store: &mut Store, new: NewUser, cfg: &GoogleConfig, now: DateTime<Utc>) -> User {
    let id = store.new_id();
    let given = new
        .given_name
        .unwrap_or_else(|| pick(&mut store.rng, GIVEN).to_string());
    let family = new
        .family_name
        .unwrap_or_else(|| pick(&mut store.rng, FAMILY).to_string());
    let email = new.primary_email.unwrap_or_else(|| {
        format!(
            "{}.{}.{}@{}",
            given.to_lowercase(),
            family.to_lowercase(),
            store.next_seq,
            cfg.domain
        )
    });
    let (dept, title) = *store
        .rng
        .pick(DEPTS)
        .unwrap_or(&("Engineering", "Engineer"));
    let dept = new.department.unwrap_or_else(|| dept.to_string());
    User {
        seq: 0,
        id,
        primary_email: email,
        given_name: given,
        family_name: family,
        is_admin: new.is_admin,
        suspended: new.suspended,
        suspension_reason: None,
        archived: false,
        change_password_at_next_login: false,
        org_unit_path: new.org_unit_path.unwrap_or_else(|| format!("/{dept}")),
        creation_time: now,
        last_login_time: new.last_login_time,
        enrolled_2sv: new.enrolled_2sv,
        enforced_2sv: false,
        title: new.title.unwrap_or_else(|| title.to_string()),
        department: dept,
        manager: new.manager,
        version: 1,
        extra: serde_json::Map::new(),
    }
}

/// The whole Workspace for `cfg` at `anchor`.
pub fn build(cfg: &GoogleConfig, anchor: DateTime<Utc>) -> Store {
    let mut store = Store {
        rng: SimRng::new(cfg.seed),
        ..Store::default()
    };
    store.users.reserve(cfg.users);
    let mut gen = SimRng::new(cfg.seed ^ 0x6006_1E00_0000_0001);
    let mut manager_emails: Vec<String> = Vec::new();
    for i in 0..cfg.users.max(1) {
        let created = anchor - chrono::Duration::days(gen.range(30, 2000));
        let logged_in = gen.chance(0.9);
        let new = if i == 0 {
            NewUser {
                primary_email: Some(cfg.admin_email.clone()),
                given_name: Some("Sim".into()),
                family_name: Some("Admin".into()),
                is_admin: true,
                org_unit_path: Some("/".into()),
                enrolled_2sv: true,
                department: Some("IT".into()),
                title: Some("Administrator".into()),
                ..NewUser::default()
            }
        } else {
            NewUser {
                suspended: gen.chance(0.03),
                manager: if manager_emails.is_empty() {
                    None
                } else {
                    manager_emails
                        .get(gen.below(manager_emails.len() as u64) as usize)
                        .cloned()
                },
                enrolled_2sv: gen.chance(0.7),
                ..NewUser::default()
            }
        };
        let mut u = user_from(&mut store, new, cfg, created);
        if logged_in || i == 0 {
            u.last_login_time =
                Some(anchor - chrono::Duration::minutes(gen.range(1, 60 * 24 * 30)));
        }
        if i > 0 && i % 10 == 1 && manager_emails.len() < 200 {
            manager_emails.push(u.primary_email.clone());
        }
        store.insert_user(u);
    }
    for g in 0..cfg.groups {
        let id = format!("0{}", &store.new_id()[1..]);
        let name = format!("team-{g}");
        let n = store.users.len().max(1) as u64;
        let mut members: Vec<String> = Vec::new();
        for _ in 0..gen.range(1, 12) {
            let idx = gen.below(n) as usize;
            if let Some(u) = store.users.get(idx) {
                if !members.contains(&u.id) {
                    members.push(u.id.clone());
                }
            }
        }
        store.groups.push(Group {
            id,
            email: format!("{name}@{}", cfg.domain),
            name,
            members,
        });
    }
    let lag =
        chrono::Duration::from_std(cfg.reporting_lag).unwrap_or_else(|_| chrono::Duration::zero());
    let span_ms = cfg.activity_span.num_milliseconds().max(1);
    for _ in 0..cfg.activities {
        let t = anchor - chrono::Duration::milliseconds(store.rng.range(0, span_ms));
        random_activity(&mut store, cfg, t, lag);
    }
    store.sort_activities();
    store
}

fn param(name: &str, v: Value) -> Value {
    let mut p = json!({ "name": name });
    if let Some(o) = p.as_object_mut() {
        match v {
            Value::Bool(_) => o.insert("boolValue".into(), v),
            Value::Array(_) => o.insert("multiValue".into(), v),
            Value::Number(n) => o.insert("intValue".into(), json!(n.to_string())),
            other => o.insert("value".into(), other),
        };
    }
    p
}

/// A varied login activity at `t` (success mostly, failures, challenges,
/// logouts, suspicious logins), visible at `t + lag`.
pub fn random_activity(
    store: &mut Store,
    cfg: &GoogleConfig,
    t: DateTime<Utc>,
    lag: chrono::Duration,
) -> (String, String) {
    let kind = store.rng.weighted(&[70, 12, 6, 6, 3, 2, 1]);
    let suspicious = kind == 4;
    let (ty, name, params) = match kind {
        1 => (
            "login",
            "login_failure",
            vec![
                param("login_type", json!("google_password")),
                param("login_challenge_method", json!(["password"])),
                param(
                    "login_failure_type",
                    json!("login_failure_invalid_password"),
                ),
                param("is_suspicious", json!(false)),
            ],
        ),
        2 => (
            "login",
            "login_challenge",
            vec![
                param("login_type", json!("google_password")),
                param("login_challenge_method", json!(["google_prompt"])),
                param("login_challenge_status", json!("Challenge Passed.")),
                param("is_second_factor", json!(true)),
            ],
        ),
        3 => (
            "login",
            "logout",
            vec![param("login_type", json!("google_password"))],
        ),
        4 => (
            "account_warning",
            "suspicious_login",
            vec![param("affected_email_address", json!(""))],
        ),
        5 => (
            "login",
            "login_verification",
            vec![
                param("login_type", json!("google_password")),
                param("login_challenge_method", json!(["idv_preregistered_phone"])),
                param("login_challenge_status", json!("Challenge Passed.")),
            ],
        ),
        6 => (
            "account_warning",
            "suspicious_login_less_secure_app",
            vec![param("affected_email_address", json!(""))],
        ),
        _ => (
            "login",
            "login_success",
            vec![
                param("login_type", json!("google_password")),
                param("login_challenge_method", json!(["password"])),
                param("is_suspicious", json!(suspicious)),
                param("is_second_factor", json!(false)),
            ],
        ),
    };
    let events = json!([{ "type": ty, "name": name, "parameters": params }]);
    let patch = json!({ "id": { "time": fmt_ts(t) }, "events": events });
    activity(store, cfg, t, Some(patch), lag)
}

/// RFC 7396 JSON merge of `patch` onto `base`.
pub fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(k);
                } else {
                    merge(b.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

/// Adds an activity made of `patch` merged onto a default `login_success`
/// of a random user at `now`; fills in the actor's profile id from its email
/// and an `affected_email_address` left empty.
pub fn activity(
    store: &mut Store,
    cfg: &GoogleConfig,
    now: DateTime<Utc>,
    patch: Option<Value>,
    lag: chrono::Duration,
) -> (String, String) {
    let n = store.users.len().max(1) as u64;
    let idx = store.rng.below(n) as usize;
    let (email, profile) = store
        .users
        .get(idx)
        .map(|u| (u.primary_email.clone(), u.id.clone()))
        .unwrap_or_default();
    let unique = (store.rng.next_u64() >> 2) as i64 * if store.rng.chance(0.5) { -1 } else { 1 };
    let ip = format!(
        "{}.{}.{}.{}",
        store.rng.range(11, 220),
        store.rng.range(0, 255),
        store.rng.range(0, 255),
        store.rng.range(1, 254)
    );
    let etag_tail = store.rng.base62(27);
    let mut body = json!({
        "kind": "admin#reports#activity",
        "id": {
            "time": fmt_ts(now),
            "uniqueQualifier": unique.to_string(),
            "applicationName": "login",
            "customerId": cfg.customer_id,
        },
        "etag": format!("\"sim/{etag_tail}\""),
        "actor": { "callerType": "USER", "email": email, "profileId": profile },
        "ipAddress": ip,
        "events": [{
            "type": "login",
            "name": "login_success",
            "parameters": [
                param("login_type", json!("google_password")),
                param("login_challenge_method", json!(["password"])),
                param("is_suspicious", json!(false)),
                param("is_second_factor", json!(false)),
            ],
        }],
    });
    if let Some(p) = &patch {
        // An explicit actor replaces the generated one as a whole.
        if let (Some(actor), Some(o)) = (p.get("actor"), body.as_object_mut()) {
            o.insert("actor".into(), actor.clone());
        }
        merge(&mut body, p);
    }
    // Fill the actor's profile id from its email, and the affected address.
    let actor_email = body["actor"]["email"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if body["actor"]["profileId"].is_null() {
        if let Some(u) = store.user(&actor_email) {
            body["actor"]["profileId"] = json!(u.id);
        }
    }
    if let Some(events) = body["events"].as_array_mut() {
        for e in events {
            if let Some(ps) = e["parameters"].as_array_mut() {
                for p in ps {
                    if p["name"] == "affected_email_address" && p["value"] == "" {
                        p["value"] = json!(actor_email);
                    }
                }
            }
        }
    }
    let time = body["id"]["time"]
        .as_str()
        .and_then(parse_ts)
        .unwrap_or(now);
    let unique = body["id"]["uniqueQualifier"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| unique.to_string());
    let profile_id = body["actor"]["profileId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let ip = body["ipAddress"].as_str().unwrap_or_default().to_string();
    let time_s = body["id"]["time"].as_str().unwrap_or_default().to_string();
    store.activities.push(Activity {
        time_ms: time.timestamp_millis(),
        unique: unique.clone(),
        visible_ms: (time + lag).timestamp_millis(),
        email: actor_email,
        profile_id,
        ip,
        body,
    });
    (time_s, unique)
}
