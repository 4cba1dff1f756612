//! Seeded generator of the directory: users in every status, managers,
//! departments, groups and memberships, and MFA factors (with a share of users
//! who have none). The same seed and anchor time give the same org.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};

use super::data::{DEPARTMENTS, FIRST_NAMES, HOME_PLACES, LAST_NAMES, QUESTIONS};
use super::rng::{OktaIds, SimRng};
use super::state::{Factor, Group, Store, User, UserStatus};

/// What to generate.
#[derive(Debug, Clone)]
pub struct DirectorySpec {
    /// Total users, the admin included.
    pub users: usize,
    /// Extra `OKTA_GROUP`s beyond the standard set.
    pub extra_groups: usize,
    /// Login of the admin who owns the API token.
    pub admin_login: String,
    /// Domain of generated logins.
    pub email_domain: String,
}

/// Builds the org's directory.
pub fn directory(spec: &DirectorySpec, anchor: DateTime<Utc>, rng: &mut SimRng) -> Store {
    let mut store = Store::default();
    let type_id = rng.okta_id("oty");
    let mut taken: HashSet<String> = HashSet::new();
    let mut dept_members: HashMap<&str, Vec<String>> = HashMap::new();

    let admin = admin_user(spec, &type_id, anchor, rng);
    store.admin_id = admin.id.clone();
    taken.insert(admin.login().to_lowercase());
    store.put_user(admin);

    for i in 1..spec.users.max(1) {
        // The first seven regular users take the statuses other than ACTIVE in
        // turn, so even a tiny org has every status; the rest follow real-world weights.
        let status = if i < UserStatus::ALL.len() {
            UserStatus::ALL[i]
        } else {
            UserStatus::ALL[rng.weighted(&[70, 4, 4, 2, 3, 3, 6, 8])]
        };
        let dept_idx = rng.below(DEPARTMENTS.len() as u64) as usize;
        let (dept, _, _) = DEPARTMENTS[dept_idx];
        let manager = dept_members
            .get(dept)
            .and_then(|m| m.first().cloned())
            .or_else(|| Some(store.admin_id.clone()));
        let mut user = person(spec, &type_id, status, dept_idx, i, anchor, rng, &mut taken);
        if let Some(mid) = manager.and_then(|m| store.users.get(&m)) {
            user.profile.insert("managerId".into(), json!(mid.id));
            user.profile
                .insert("manager".into(), json!(mid.display_name()));
        }
        dept_members.entry(dept).or_default().push(user.id.clone());
        store.put_user(user);
    }
    groups(spec, &mut store, anchor, rng);
    store
}

fn admin_user(
    spec: &DirectorySpec,
    type_id: &str,
    anchor: DateTime<Utc>,
    rng: &mut SimRng,
) -> User {
    let created = anchor - Duration::days(1800);
    let mut profile = Map::new();
    profile.insert("login".into(), json!(spec.admin_login));
    profile.insert("email".into(), json!(spec.admin_login));
    profile.insert("firstName".into(), json!("Org"));
    profile.insert("lastName".into(), json!("Admin"));
    profile.insert("displayName".into(), json!("Org Admin"));
    profile.insert("title".into(), json!("IT Administrator"));
    profile.insert("department".into(), json!("IT"));
    profile.insert("userType".into(), json!("Employee"));
    profile.insert("employeeNumber".into(), json!("1000"));
    profile.insert("secondEmail".into(), Value::Null);
    profile.insert("mobilePhone".into(), Value::Null);
    let factors = vec![
        factor(rng, "push", created, anchor),
        factor(rng, "webauthn", created, anchor),
    ];
    User {
        id: rng.okta_id("00u"),
        status: UserStatus::Active,
        transitioning_to: None,
        created,
        activated: Some(created + Duration::minutes(5)),
        status_changed: Some(created + Duration::minutes(5)),
        last_login: Some(anchor - Duration::hours(2)),
        last_updated: anchor - Duration::days(3),
        password_changed: Some(anchor - Duration::days(40)),
        type_id: type_id.to_string(),
        profile,
        provider: ("OKTA".into(), "OKTA".into()),
        has_password: true,
        recovery_question: None,
        factors,
    }
}

#[allow(clippy::too_many_arguments)]
fn person(
    spec: &DirectorySpec,
    type_id: &str,
    status: UserStatus,
    dept_idx: usize,
    index: usize,
    anchor: DateTime<Utc>,
    rng: &mut SimRng,
    taken: &mut HashSet<String>,
) -> User {
    let first = *rng.pick(FIRST_NAMES).unwrap_or(&"Alex");
    let last = *rng.pick(LAST_NAMES).unwrap_or(&"Doe");
    let base = format!("{}.{}", first.to_lowercase(), last.to_lowercase());
    let mut login = format!("{base}@{}", spec.email_domain);
    let mut n = 2;
    while taken.contains(&login) {
        login = format!("{base}{n}@{}", spec.email_domain);
        n += 1;
    }
    taken.insert(login.clone());
    let (dept, titles, cost_center) = DEPARTMENTS[dept_idx];
    let place = rng.pick(HOME_PLACES).copied().unwrap_or(HOME_PLACES[0]);
    let contractor = rng.chance(0.12);
    let ad_sourced = rng.chance(0.1);

    let created =
        anchor - Duration::days(rng.range(30, 1500)) - Duration::minutes(rng.range(0, 1440));
    let activated =
        (!status.never_activated()).then(|| created + Duration::minutes(rng.range(5, 7 * 1440)));
    let since_activation = activated.unwrap_or(created);
    let status_changed = match status {
        UserStatus::Active => activated,
        UserStatus::Staged => None,
        _ => Some(latest(
            since_activation,
            anchor - Duration::days(rng.range(1, 60)),
        )),
    };
    let last_login = match status {
        _ if status.never_activated() => None,
        UserStatus::Deprovisioned | UserStatus::Suspended => {
            status_changed.map(|s| s - Duration::hours(rng.range(1, 24 * 20)))
        }
        _ => Some(latest(
            since_activation,
            anchor - Duration::minutes(rng.range(1, 30 * 1440)),
        )),
    }
    .map(|t| latest(t, since_activation));
    let has_password = !matches!(status, UserStatus::Staged | UserStatus::Provisioned);
    let password_changed =
        has_password.then(|| latest(since_activation, anchor - Duration::days(rng.range(1, 200))));
    let mut last_updated = [Some(created), activated, status_changed, password_changed]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(created);
    if rng.chance(0.3) {
        last_updated = latest(
            last_updated,
            anchor - Duration::hours(rng.range(1, 24 * 30)),
        );
    }

    let mut profile = Map::new();
    profile.insert("login".into(), json!(login));
    profile.insert("email".into(), json!(login));
    profile.insert("secondEmail".into(), Value::Null);
    profile.insert("firstName".into(), json!(first));
    profile.insert("lastName".into(), json!(last));
    profile.insert("displayName".into(), json!(format!("{first} {last}")));
    profile.insert(
        "title".into(),
        json!(rng.pick(titles).copied().unwrap_or("Analyst")),
    );
    profile.insert("department".into(), json!(dept));
    profile.insert("organization".into(), json!("Example Corp"));
    profile.insert("costCenter".into(), json!(cost_center));
    profile.insert("employeeNumber".into(), json!(format!("{}", 1000 + index)));
    profile.insert(
        "userType".into(),
        json!(if contractor { "Contractor" } else { "Employee" }),
    );
    profile.insert(
        "mobilePhone".into(),
        json!(format!(
            "+1-555-{:03}-{:04}",
            rng.below(1000),
            rng.below(10000)
        )),
    );
    profile.insert("city".into(), json!(place.city));
    profile.insert("state".into(), json!(place.state));
    profile.insert("countryCode".into(), json!(place.country_code));
    profile.insert("timezone".into(), json!(place.timezone));
    profile.insert("locale".into(), json!("en_US"));

    let factors = if status.never_activated() || rng.chance(0.15) {
        Vec::new()
    } else {
        let kinds = [
            "push",
            "token:software:totp",
            "sms",
            "webauthn",
            "email",
            "question",
            "call",
            "google_totp",
        ];
        let mut chosen = BTreeSet::new();
        for _ in 0..rng.range(1, 4) {
            chosen.insert(kinds[rng.weighted(&[40, 15, 15, 10, 8, 5, 2, 5])]);
        }
        chosen
            .into_iter()
            .map(|k| factor(rng, k, since_activation, anchor))
            .collect()
    };

    User {
        id: rng.okta_id("00u"),
        status,
        transitioning_to: None,
        created,
        activated,
        status_changed,
        last_login,
        last_updated,
        password_changed,
        type_id: type_id.to_string(),
        profile,
        provider: if ad_sourced {
            ("ACTIVE_DIRECTORY".into(), "corp.example.com".into())
        } else {
            ("OKTA".into(), "OKTA".into())
        },
        has_password,
        recovery_question: (has_password && rng.chance(0.5)).then(|| {
            rng.pick(QUESTIONS)
                .map(|q| q.1.to_string())
                .unwrap_or_default()
        }),
        factors,
    }
}

fn latest(a: DateTime<Utc>, b: DateTime<Utc>) -> DateTime<Utc> {
    a.max(b)
}

/// One factor of `kind`, enrolled some time between `from` and `anchor`.
pub fn factor(rng: &mut SimRng, kind: &str, from: DateTime<Utc>, anchor: DateTime<Utc>) -> Factor {
    let span = (anchor - from).num_minutes().max(2);
    let created = from + Duration::minutes(rng.range(1, span));
    let pending = rng.chance(0.05);
    let status = if pending {
        "PENDING_ACTIVATION"
    } else {
        "ACTIVE"
    };
    let (prefix, factor_type, provider, vendor, profile) = match kind {
        "push" => (
            "opf",
            "push",
            "OKTA",
            "OKTA",
            json!({
                "credentialId": rng.okta_id("pfd"),
                "deviceType": if rng.chance(0.6) { "SmartPhone_IPhone" } else { "SmartPhone_Android" },
                "name": "Okta Verify",
                "platform": if rng.chance(0.6) { "IOS" } else { "ANDROID" },
                "version": "17.5"
            }),
        ),
        "token:software:totp" => (
            "ost",
            "token:software:totp",
            "OKTA",
            "OKTA",
            json!({ "credentialId": rng.okta_id("cre") }),
        ),
        "google_totp" => (
            "uft",
            "token:software:totp",
            "GOOGLE",
            "GOOGLE",
            json!({ "credentialId": rng.okta_id("cre") }),
        ),
        "sms" => (
            "sms",
            "sms",
            "OKTA",
            "OKTA",
            json!({ "phoneNumber": format!("+1-555-{:03}-{:04}", rng.below(1000), rng.below(10000)) }),
        ),
        "call" => (
            "clf",
            "call",
            "OKTA",
            "OKTA",
            json!({ "phoneNumber": format!("+1-555-{:03}-{:04}", rng.below(1000), rng.below(10000)) }),
        ),
        "webauthn" => (
            "fwf",
            "webauthn",
            "FIDO",
            "FIDO",
            json!({ "credentialId": rng.base62(43), "authenticatorName": if rng.chance(0.5) { "YubiKey 5 NFC" } else { "Touch ID" } }),
        ),
        "email" => (
            "emf",
            "email",
            "OKTA",
            "OKTA",
            json!({ "email": format!("user{}@example.org", rng.below(100_000)) }),
        ),
        _ => {
            let (key, text) = rng.pick(QUESTIONS).copied().unwrap_or(QUESTIONS[0]);
            (
                "ufs",
                "question",
                "OKTA",
                "OKTA",
                json!({ "question": key, "questionText": text }),
            )
        }
    };
    Factor {
        id: rng.okta_id(prefix),
        factor_type: factor_type.into(),
        provider: provider.into(),
        vendor_name: vendor.into(),
        status: status.into(),
        created,
        last_updated: created,
        profile,
    }
}

fn groups(spec: &DirectorySpec, store: &mut Store, anchor: DateTime<Utc>, rng: &mut SimRng) {
    let created = anchor - Duration::days(1800);
    let add = |store: &mut Store,
               rng: &mut SimRng,
               name: &str,
               desc: &str,
               kind: &str,
               source: Option<&str>| {
        let id = rng.okta_id("00g");
        let c = created + Duration::days(rng.range(0, 300));
        store.groups.insert(
            id.clone(),
            Group {
                id: id.clone(),
                group_type: kind.into(),
                created: c,
                last_updated: c + Duration::days(rng.range(0, 30)),
                last_membership_updated: c,
                name: name.into(),
                description: desc.into(),
                source: source.map(String::from),
                members: BTreeSet::new(),
            },
        );
        id
    };
    let everyone = add(
        store,
        rng,
        "Everyone",
        "All users in your organization",
        "BUILT_IN",
        None,
    );
    let admins = add(
        store,
        rng,
        "Okta Administrators",
        "Users with admin roles in Okta",
        "OKTA_GROUP",
        None,
    );
    let vpn = add(
        store,
        rng,
        "VPN Users",
        "Remote access VPN",
        "OKTA_GROUP",
        None,
    );
    let contractors = add(
        store,
        rng,
        "Contractors",
        "External contractors",
        "OKTA_GROUP",
        None,
    );
    let aws = add(
        store,
        rng,
        "AWS Production Access",
        "Break-glass access to production AWS accounts",
        "OKTA_GROUP",
        None,
    );
    let ad_users = add(
        store,
        rng,
        "Domain Users",
        "All domain users",
        "APP_GROUP",
        Some("0oa1adAPP0001d7x"),
    );
    let ad_admins = add(
        store,
        rng,
        "Domain Admins",
        "Designated administrators of the domain",
        "APP_GROUP",
        Some("0oa1adAPP0001d7x"),
    );
    let mut dept_groups = HashMap::new();
    for (dept, _, _) in DEPARTMENTS {
        let id = add(
            store,
            rng,
            dept,
            &format!("Members of the {dept} department"),
            "OKTA_GROUP",
            None,
        );
        dept_groups.insert(dept.to_string(), id);
    }
    let mut projects = Vec::new();
    for i in 0..spec.extra_groups {
        projects.push(add(
            store,
            rng,
            &format!("Project {}", i + 1),
            "Project team",
            "OKTA_GROUP",
            None,
        ));
    }

    let users: Vec<(String, Option<String>, bool, bool)> = store
        .users
        .values()
        .map(|u| {
            (
                u.id.clone(),
                u.profile
                    .get("department")
                    .and_then(Value::as_str)
                    .map(String::from),
                u.profile.get("userType").and_then(Value::as_str) == Some("Contractor"),
                u.provider.0 == "ACTIVE_DIRECTORY",
            )
        })
        .collect();
    let admin_id = store.admin_id.clone();
    for (id, dept, contractor, ad) in users {
        let mut join = |g: &str| {
            store.add_member(g, &id, created);
        };
        join(&everyone);
        if let Some(g) = dept.and_then(|d| dept_groups.get(&d).cloned()) {
            join(&g);
        }
        if contractor {
            join(&contractors);
        }
        if ad {
            join(&ad_users);
            if rng.chance(0.05) {
                join(&ad_admins);
            }
        }
        if rng.chance(0.3) {
            join(&vpn);
        }
        if id == admin_id || rng.chance(0.01) {
            join(&admins);
        }
        if rng.chance(0.03) {
            join(&aws);
        }
        if let Some(p) = rng.pick(&projects).cloned() {
            if rng.chance(0.4) {
                join(&p);
            }
        }
    }
    // Memberships were made "at creation"; give each group a plausible last change.
    let ids: Vec<String> = store.groups.keys().cloned().collect();
    for gid in ids {
        let when = anchor - Duration::hours(rng.range(1, 24 * 90));
        if let Some(g) = store.groups.get_mut(&gid) {
            g.last_membership_updated = when.max(g.created);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn spec(users: usize) -> DirectorySpec {
        DirectorySpec {
            users,
            extra_groups: 2,
            admin_login: "admin@example.com".into(),
            email_domain: "example.com".into(),
        }
    }

    #[test]
    fn same_seed_same_org() {
        let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let a = directory(&spec(50), t, &mut SimRng::new(9));
        let b = directory(&spec(50), t, &mut SimRng::new(9));
        assert_eq!(a.users, b.users);
        assert_eq!(a.groups, b.groups);
    }

    #[test]
    fn small_org_has_every_status() {
        let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let s = directory(&spec(8), t, &mut SimRng::new(1));
        assert_eq!(s.users.len(), 8);
        for st in UserStatus::ALL {
            assert!(s.users.values().any(|u| u.status == st), "{st:?}");
        }
        let logins: HashSet<_> = s.users.values().map(|u| u.login().to_string()).collect();
        assert_eq!(logins.len(), 8);
    }
}
