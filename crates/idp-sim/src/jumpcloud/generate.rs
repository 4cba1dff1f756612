//! Building an organization from a seed: system users (names, departments,
//! managers, MFA, a few suspended, staged or locked), user groups, and
//! Directory Insights events of the login kinds JumpCloud documents
//! (`user_login_attempt`, `admin_login_attempt`, `sso_auth`, `radius_auth`,
//! `ldap_bind`, `login_attempt`) plus `user_update`, spread over the
//! configured span. Also the builders behind [`super::JumpCloudSim::add_user`],
//! [`super::JumpCloudSim::add_event`] and [`super::JumpCloudSim::add_login_events`].

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::model::{fmt_ts, Event, Group, Mfa, Store, User};
use super::JumpCloudConfig;
use crate::common::SimRng;

const GIVEN: &[&str] = &[
    "Alice", "Bob", "Carol", "Dan", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
    "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Yusuf",
];
const FAMILY: &[&str] = &[
    "Smith", "Jones", "Garcia", "Chen", "Okafor", "Novak", "Silva", "Kim", "Dubois", "Rossi",
    "Muller", "Nakamura", "Haddad", "Kowalski", "Larsen", "Patel",
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
    pub username: Option<String>,
    pub email: Option<String>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    /// `STAGED`, `ACTIVATED` (default) or `SUSPENDED`.
    pub state: Option<String>,
    pub account_locked: bool,
    pub password_expired: bool,
    /// TOTP enrolled (`totp_enabled`, `mfa.configured`).
    pub mfa_configured: bool,
    pub enable_user_portal_multifactor: bool,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub employee_identifier: Option<String>,
    /// Manager's user id.
    pub manager: Option<String>,
    /// Creation time; `None` = now.
    pub created: Option<DateTime<Utc>>,
}

/// A login event to add through the library API ([`super::JumpCloudSim::add_login_events`]):
/// built like the generated ones, with the kind, account, time, outcome and address chosen.
#[derive(Debug, Clone)]
pub struct NewLogin {
    /// `user_login_attempt` (default), `admin_login_attempt`, `sso_auth`, `radius_auth`,
    /// `ldap_bind`, `login_attempt` or `user_update`; the `service` follows it.
    pub event_type: String,
    /// The system user's id; `None` = a random user. An unknown id gives the events the
    /// simulator writes for an unknown account (`username` `unknown`).
    pub user: Option<String>,
    /// When it happened; `None` = now.
    pub at: Option<DateTime<Utc>>,
    /// The outcome (`success`, or `sso_token_success` for `sso_auth`).
    pub success: bool,
    /// `client_ip`; `None` = a random public address.
    pub client_ip: Option<String>,
    /// `error_message` of a failure; `None` = "authentication failed".
    pub error_message: Option<String>,
    /// Visible this long after `at` (an event reaching the log late); `None` =
    /// [`JumpCloudConfig::event_lag`].
    pub visible_after: Option<std::time::Duration>,
}

impl Default for NewLogin {
    fn default() -> Self {
        Self {
            event_type: "user_login_attempt".into(),
            user: None,
            at: None,
            success: true,
            client_ip: None,
            error_message: None,
            visible_after: None,
        }
    }
}

/// Stores one [`NewLogin`] at `now` (its time unless it names one); returns its `id`. The
/// caller sorts the events once it has added them all.
pub fn push_login(
    store: &mut Store,
    cfg: &JumpCloudConfig,
    login: NewLogin,
    now: DateTime<Utc>,
) -> String {
    let user = match &login.user {
        Some(id) => store.user_index(id),
        None => {
            let n = store.users.len() as u64;
            (n > 0).then(|| store.rng.below(n) as usize)
        }
    };
    let at = login.at.unwrap_or(now);
    let mut v = event_value(store, cfg, &login.event_type, user, at, login.success);
    if let Some(o) = v.as_object_mut() {
        if let Some(ip) = login.client_ip {
            o.insert("client_ip".into(), json!(ip));
        }
        if let (false, Some(message)) = (login.success, login.error_message) {
            o.insert("error_message".into(), json!(message));
        }
    }
    let lag = login.visible_after.unwrap_or(cfg.event_lag);
    let lag = chrono::Duration::from_std(lag).unwrap_or_else(|_| chrono::Duration::zero());
    push_event(store, v, at, lag)
}

fn pick<'a>(rng: &mut SimRng, items: &'a [&'a str]) -> &'a str {
    rng.pick(items).copied().unwrap_or("x")
}

/// Builds a [`User`] (id and missing fields drawn from the store's rng).
pub fn user_from(
    store: &mut Store,
    new: NewUser,
    cfg: &JumpCloudConfig,
    now: DateTime<Utc>,
) -> User {
    let created = new.created.unwrap_or(now);
    let id = store.object_id(created);
    let first = new
        .firstname
        .unwrap_or_else(|| pick(&mut store.rng, GIVEN).to_string());
    let last = new
        .lastname
        .unwrap_or_else(|| pick(&mut store.rng, FAMILY).to_string());
    let serial = store.counter;
    let username = new
        .username
        .unwrap_or_else(|| format!("{}.{}{}", first.to_lowercase(), last.to_lowercase(), serial));
    let email = new
        .email
        .unwrap_or_else(|| format!("{username}@{}", cfg.domain));
    let (dept, title) = *store
        .rng
        .pick(DEPTS)
        .unwrap_or(&("Engineering", "Engineer"));
    let state = new
        .state
        .filter(|s| super::model::STATES.contains(&s.as_str()))
        .unwrap_or_else(|| "ACTIVATED".to_string());
    User {
        id,
        displayname: format!("{first} {last}"),
        username,
        email,
        firstname: first,
        lastname: last,
        state,
        account_locked: new.account_locked,
        account_locked_date: new.account_locked.then(|| fmt_ts(now)),
        bad_login_attempts: if new.account_locked { 10 } else { 0 },
        created,
        password_date: Some(created),
        password_expired: new.password_expired,
        password_never_expires: false,
        password_expiration_date: Some(created + chrono::Duration::days(90)),
        totp_enabled: new.mfa_configured,
        enable_user_portal_multifactor: new.enable_user_portal_multifactor,
        mfa: Mfa {
            configured: new.mfa_configured,
            ..Mfa::default()
        },
        department: new.department.unwrap_or_else(|| dept.to_string()),
        job_title: new.job_title.unwrap_or_else(|| title.to_string()),
        employee_identifier: new
            .employee_identifier
            .unwrap_or_else(|| format!("E-{serial}")),
        manager: new.manager,
        company: "Example Corp".into(),
        location: String::new(),
        extra: serde_json::Map::new(),
    }
}

/// The whole organization for `cfg` at `anchor`.
pub fn build(cfg: &JumpCloudConfig, anchor: DateTime<Utc>) -> Store {
    let mut store = Store {
        rng: SimRng::new(cfg.seed),
        ..Store::default()
    };
    store.users.reserve(cfg.users);
    let mut gen = SimRng::new(cfg.seed ^ 0x4A43_0000_0000_0001);
    let first = anchor - chrono::Duration::days(1500);
    let step_ms = (1500i64 * 86_400_000) / (cfg.users.max(1) as i64);
    let mut managers: Vec<String> = Vec::new();
    for i in 0..cfg.users {
        let created = first + chrono::Duration::milliseconds(step_ms * i as i64);
        let state = if gen.chance(0.03) {
            "SUSPENDED"
        } else if gen.chance(0.02) {
            "STAGED"
        } else {
            "ACTIVATED"
        };
        let mfa = gen.chance(0.7);
        let new = NewUser {
            state: Some(state.into()),
            account_locked: gen.chance(0.01),
            password_expired: gen.chance(0.02),
            mfa_configured: mfa,
            enable_user_portal_multifactor: mfa && gen.chance(0.8),
            manager: gen.pick(&managers).cloned(),
            created: Some(created),
            ..NewUser::default()
        };
        let user = user_from(&mut store, new, cfg, created);
        if i % 10 == 0 && managers.len() < 200 {
            managers.push(user.id.clone());
        }
        let id = user.id.clone();
        store.index.insert(id, store.users.len());
        store.users.push(user);
    }
    for g in 0..cfg.groups {
        let id = store.object_id(first);
        let n = store.users.len() as u64;
        let mut members = Vec::new();
        if n > 0 {
            for _ in 0..gen.range(1, 30) {
                if let Some(u) = store.users.get(gen.below(n) as usize) {
                    if !members.contains(&u.id) {
                        members.push(u.id.clone());
                    }
                }
            }
        }
        store.groups.push(Group {
            id,
            name: format!("team-{g}"),
            description: String::new(),
            members,
        });
    }
    let span_ms = cfg.event_span.as_millis().max(1) as i64;
    let lag =
        chrono::Duration::from_std(cfg.event_lag).unwrap_or_else(|_| chrono::Duration::zero());
    for _ in 0..cfg.events {
        let t = anchor - chrono::Duration::milliseconds(gen.range(1, span_ms));
        random_event(&mut store, cfg, t, lag);
    }
    store.sort_events();
    store
}

const GEO: &[(&str, &str, &str, &str, &str, f64, f64)] = &[
    (
        "US",
        "CO",
        "Colorado",
        "America/Denver",
        "NA",
        39.7392,
        -104.9903,
    ),
    (
        "US",
        "OR",
        "Oregon",
        "America/Los_Angeles",
        "NA",
        45.8491,
        -119.7143,
    ),
    (
        "AU",
        "QLD",
        "Queensland",
        "Australia/Brisbane",
        "OC",
        -27.658,
        152.8915,
    ),
    ("DE", "BE", "Berlin", "Europe/Berlin", "EU", 52.52, 13.405),
    (
        "GB",
        "ENG",
        "England",
        "Europe/London",
        "EU",
        51.5072,
        -0.1276,
    ),
];

const UA: &[(&str, &str, &str, &str, &str)] = &[
    ("Chrome", "120", "Mac OS X", "10", "Mac"),
    ("Firefox", "121", "Windows", "10", "Other"),
    ("Safari", "17", "iOS", "17", "iPhone"),
    ("Chrome", "119", "Linux", "", "Other"),
];

const APPS: &[(&str, &str)] = &[
    ("zendesk", "Zendesk SSO"),
    ("aws", "AWS Console"),
    ("slack", "Slack"),
    ("salesforce", "Salesforce"),
];

/// The kinds of login event the generator draws, with their weights.
const KINDS: &[(&str, u32)] = &[
    ("user_login_attempt", 35),
    ("sso_auth", 30),
    ("radius_auth", 10),
    ("ldap_bind", 8),
    ("login_attempt", 7),
    ("admin_login_attempt", 5),
    ("user_update", 5),
];

fn ip(rng: &mut SimRng) -> String {
    format!(
        "{}.{}.{}.{}",
        rng.range(11, 223),
        rng.range(0, 255),
        rng.range(0, 255),
        rng.range(1, 254)
    )
}

/// Builds one event of `kind` by `user` (index) at `t`; `success` decides the outcome.
pub fn event_value(
    store: &mut Store,
    cfg: &JumpCloudConfig,
    kind: &str,
    user: Option<usize>,
    t: DateTime<Utc>,
    success: bool,
) -> Value {
    let (uid, username, email) = user
        .and_then(|i| store.users.get(i))
        .map(|u| (u.id.clone(), u.username.clone(), u.email.clone()))
        .unwrap_or_else(|| {
            (
                "000000000000000000000000".into(),
                "unknown".into(),
                format!("unknown@{}", cfg.domain),
            )
        });
    let rng = &mut store.rng;
    let (cc, rc, rn, tz, cont, lat, lon) = *rng.pick(GEO).unwrap_or(&GEO[0]);
    let (ua, major, os, os_major, device) = *rng.pick(UA).unwrap_or(&UA[0]);
    let mfa = success && rng.chance(0.6);
    let mfa_type = if mfa { "totp" } else { "none" };
    let id = rng.hex(24);
    let client_ip = ip(rng);
    let mut v = json!({
        "id": id,
        "event_type": kind,
        "timestamp": fmt_ts(t),
        "organization": cfg.org_id,
        "@version": "1",
        "client_ip": client_ip,
        "geoip": {
            "country_code": cc, "region_code": rc, "region_name": rn, "timezone": tz,
            "continent_code": cont, "latitude": lat, "longitude": lon,
        },
        "useragent": {
            "name": ua, "major": major, "minor": "0", "patch": "0", "build": "",
            "os": os, "os_name": os, "os_major": os_major, "os_minor": "0", "device": device,
        },
    });
    let error = (!success).then_some("authentication failed");
    let extra = match kind {
        "sso_auth" => {
            let (name, label) = *rng.pick(APPS).unwrap_or(&APPS[0]);
            let app_id = rng.hex(24);
            json!({
                "service": "sso",
                "initiated_by": {"id": uid, "type": "systemuser", "username": username},
                "application": {
                    "id": app_id, "name": name, "display_label": label,
                    "sso_url": format!("https://sso.jumpcloud.com/saml2/{name}"),
                },
                "idp_initiated": rng.chance(0.5),
                "sso_token_success": success,
                "mfa": mfa,
                "mfa_meta": {"type": mfa_type},
                "error_message": error,
                "auth_context": {
                    "auth_methods": {"password": {"success": success}},
                    "policies_applied": [],
                },
                "provider": null,
            })
        }
        "admin_login_attempt" => json!({
            "service": "directory",
            "resource": {"id": uid, "type": "admin", "email": email},
            "success": success,
            "mfa": mfa,
            "provider": null,
            "error_message": error,
        }),
        "radius_auth" => json!({
            "service": "radius",
            "username": username,
            "initiated_by": {"id": uid, "type": "user", "username": username},
            "auth_type": "eap",
            "eap_type": "MSCHAPv2",
            "nas_mfa_state": "DISABLED",
            "outer": {"eap_type": "PEAP", "error_message": null, "username": username},
            "success": success,
            "mfa": mfa,
            "mfa_meta": {"type": mfa_type},
            "error_message": error,
        }),
        "ldap_bind" => json!({
            "service": "ldap",
            "username": username,
            "initiated_by": {"id": uid, "type": "user", "username": username},
            "dn": format!("uid={username},ou=Users,o={},dc=jumpcloud,dc=com", cfg.org_id),
            "auth_method": "simple",
            "mech": "simple",
            "start_tls": false,
            "tls_established": true,
            "connection_id": "UhKgFeYIvbsh4so/f8z7xUnH0rDLk5Ph1n6XQnT08ds=",
            "operation_number": 0,
            "success": success,
            "error_code": if success { 0 } else { 49 },
            "error_message": error,
        }),
        "login_attempt" => json!({
            "service": "systems",
            "username": username,
            "initiated_by": {"id": uid, "type": "systemuser", "username": username},
            "system": {"id": "5c86b7149fdce00001d38014", "hostname": "my-host", "displayName": "My System"},
            "system_timestamp": fmt_ts(t),
            "process_name": "loginwindow",
            "message": format!("User {username} logged in"),
            "success": success,
            "mfa": mfa,
            "error_message": error,
        }),
        "user_update" => json!({
            "service": "directory",
            "initiated_by": {"id": cfg.admin_id, "type": "admin", "email": cfg.admin_email},
            "resource": {"id": uid, "type": "user", "username": username},
            "changes": [{"field": "department", "from": "Sales", "to": "Support"}],
            "auth_method": "session",
            "success": true,
            "mfa": false,
        }),
        // user_login_attempt and anything else: a User Portal login.
        _ => json!({
            "service": "directory",
            "initiated_by": {"id": uid, "type": "user", "username": username},
            "username": username,
            "success": success,
            "mfa": mfa,
            "mfa_meta": {"type": mfa_type},
            "auth_method": "password",
            "error_message": error,
            "auth_context": {
                "auth_methods": if mfa {
                    json!({"password": {"success": true}, "totp": {"success": true}})
                } else {
                    json!({"password": {"success": success}})
                },
                "policies_applied": [],
            },
            "provider": null,
        }),
    };
    if let (Some(o), Value::Object(x)) = (v.as_object_mut(), extra) {
        o.extend(x);
    }
    v
}

/// JSON merge (RFC 7386): objects merge recursively, `null` removes a key.
pub fn merge(base: &mut Value, patch: &Value) {
    match (base.as_object_mut(), patch.as_object()) {
        (Some(b), Some(p)) => {
            for (k, pv) in p {
                if pv.is_null() {
                    b.remove(k);
                } else if pv.is_object() && b.get(k).is_some_and(Value::is_object) {
                    if let Some(bv) = b.get_mut(k) {
                        merge(bv, pv);
                    }
                } else {
                    b.insert(k.clone(), pv.clone());
                }
            }
        }
        _ => *base = patch.clone(),
    }
}

/// Stores `value` as an event visible `lag` after its `timestamp`; returns its `id`.
pub fn push_event(
    store: &mut Store,
    value: Value,
    now: DateTime<Utc>,
    lag: chrono::Duration,
) -> String {
    let t = value
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(super::model::parse_ts)
        .unwrap_or(now);
    let id = value
        .get("id")
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| store.rng.hex(24));
    let service = value
        .get("service")
        .and_then(Value::as_str)
        .unwrap_or("directory")
        .to_string();
    let doc_id = store.rng.base62(20);
    store.events.push(Event {
        ts_ms: t.timestamp_millis(),
        doc_id,
        service,
        visible_ms: (t + lag).timestamp_millis(),
        value,
    });
    id
}

/// A random login event by a random user at `t`; returns its id.
pub fn random_event(
    store: &mut Store,
    cfg: &JumpCloudConfig,
    t: DateTime<Utc>,
    lag: chrono::Duration,
) -> String {
    let weights: Vec<u32> = KINDS.iter().map(|(_, w)| *w).collect();
    let kind = KINDS
        .get(store.rng.weighted(&weights))
        .map(|(k, _)| *k)
        .unwrap_or("user_login_attempt");
    let n = store.users.len() as u64;
    let user = (n > 0).then(|| store.rng.below(n) as usize);
    let success = store.rng.chance(0.85);
    let v = event_value(store, cfg, kind, user, t, success);
    push_event(store, v, t, lag)
}
