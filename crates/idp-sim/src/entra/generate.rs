//! Deterministic org generation from the config's seed: users with
//! realistic names and UPNs, a few disabled, a management chain, group
//! memberships, registered authentication methods, and a sign-in log that
//! mixes successes with the documented failure and interrupt codes.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::model::{fmt_ts_frac, Group, Method, MethodKind, SignIn, Store, User};
use crate::common::SimRng;

const GIVEN: &[&str] = &[
    "Adele",
    "Alex",
    "Allan",
    "Diego",
    "Grady",
    "Henrietta",
    "Isaiah",
    "Johanna",
    "Joni",
    "Lee",
    "Lidia",
    "Lynne",
    "Megan",
    "Miriam",
    "Nestor",
    "Patti",
    "Pradeep",
    "Amara",
    "Yuki",
    "Omar",
    "Sofia",
    "Mateo",
    "Chen",
    "Priya",
    "Liam",
    "Olivia",
    "Noah",
    "Emma",
    "Aiden",
    "Fatima",
    "Kwame",
    "Ingrid",
    "Rafael",
    "Zara",
    "Hiro",
    "Elena",
    "Tomas",
    "Aisha",
    "Lucas",
    "Maya",
];
const SURNAMES: &[&str] = &[
    "Vance",
    "Wilber",
    "Deyoung",
    "Siciliani",
    "Archie",
    "Cerrato",
    "Langer",
    "Lauer",
    "Sherman",
    "Gu",
    "Holloway",
    "Robbins",
    "Bowen",
    "Graham",
    "Wilke",
    "Fernandez",
    "Gupta",
    "Okafor",
    "Tanaka",
    "Haddad",
    "Rossi",
    "Garcia",
    "Wang",
    "Patel",
    "Murphy",
    "Smith",
    "Johnson",
    "Brown",
    "Kim",
    "Khan",
    "Mensah",
    "Larsen",
    "Silva",
    "Ahmed",
    "Sato",
    "Popescu",
    "Novak",
    "Diallo",
    "Martin",
    "Cohen",
];
const DEPARTMENTS: &[&str] = &[
    "Engineering",
    "Finance",
    "Sales",
    "Marketing",
    "Human Resources",
    "Legal",
    "Operations",
    "IT",
    "Support",
    "Research",
];
const TITLES: &[&str] = &[
    "Software Engineer",
    "Analyst",
    "Account Executive",
    "Product Manager",
    "Director",
    "Accountant",
    "Recruiter",
    "Counsel",
    "Support Engineer",
    "Designer",
    "Administrator",
];
const OFFICES: &[&str] = &[
    "18/2111", "20/1101", "131/1104", "Remote", "London", "Sydney",
];
const GROUP_NAMES: &[&str] = &[
    "All Company",
    "Engineering",
    "Finance",
    "Sales",
    "Marketing",
    "Human Resources",
    "Legal",
    "Operations",
    "IT Admins",
    "Support",
    "Research",
    "Executives",
    "Contractors",
    "VPN Users",
];

/// (appDisplayName, appId, resourceDisplayName, resourceId, clientAppUsed)
const APPS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "Office 365 Exchange Online",
        "00000002-0000-0ff1-ce00-000000000000",
        "Office 365 Exchange Online",
        "00000002-0000-0ff1-ce00-000000000000",
        "Browser",
    ),
    (
        "Microsoft Teams",
        "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
        "Microsoft Graph",
        "00000003-0000-0000-c000-000000000000",
        "Mobile Apps and Desktop clients",
    ),
    (
        "Azure Portal",
        "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        "Windows Azure Service Management API",
        "797f4846-ba00-4fd7-ba43-dac1f8f63013",
        "Browser",
    ),
    (
        "Microsoft Office",
        "d3590ed6-52b3-4102-aeff-aad2292ab01c",
        "Office 365 SharePoint Online",
        "00000003-0000-0ff1-ce00-000000000000",
        "Mobile Apps and Desktop clients",
    ),
    (
        "Graph Explorer",
        "de8bc8b5-d9f9-48b1-a8ad-b748da725064",
        "Microsoft Graph",
        "00000003-0000-0000-c000-000000000000",
        "Browser",
    ),
];

/// (city, state, countryOrRegion, lat, lon, ip prefix)
const PLACES: &[(&str, &str, &str, f64, f64, &str)] = &[
    (
        "Redmond",
        "Washington",
        "US",
        47.680_500_030_517_58,
        -122.120_941_162_109_38,
        "131.107.159.",
    ),
    (
        "New York",
        "New York",
        "US",
        40.7128,
        -74.006,
        "64.233.160.",
    ),
    ("London", "England", "GB", 51.5072, -0.1276, "81.2.69."),
    (
        "Sydney",
        "New South Wales",
        "AU",
        -33.8688,
        151.2093,
        "1.128.0.",
    ),
    ("Berlin", "Berlin", "DE", 52.52, 13.405, "85.214.132."),
    (
        "Sao Paulo",
        "Sao Paulo",
        "BR",
        -23.5505,
        -46.6333,
        "177.71.128.",
    ),
];
/// Places of hostile sign-ins.
const HOSTILE: &[(&str, &str, &str, f64, f64, &str)] = &[
    ("Moscow", "Moscow", "RU", 55.7558, 37.6173, "185.220.101."),
    ("Lagos", "Lagos", "NG", 6.5244, 3.3792, "102.89.32."),
];
const DEVICES: &[(&str, &str)] = &[
    ("Windows 10", "Edge 120.0.2210"),
    ("Windows 11", "Chrome 121.0.0"),
    ("MacOs", "Safari 17.2"),
    ("Ios 17", "Mobile Safari"),
    ("Android 14", "Chrome Mobile 121.0.0"),
];

/// A sign-in outcome: `status.errorCode` with its documented failure text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub code: u32,
    pub reason: Option<&'static str>,
    pub details: Option<&'static str>,
}

/// The outcomes the generator draws from, with the identity platform's texts
/// (from the AADSTS error-code reference).
pub const OUTCOMES: &[Outcome] = &[
    Outcome { code: 0, reason: None, details: None },
    Outcome { code: 50126, reason: Some("Error validating credentials due to invalid username or password."), details: Some("The user didn't enter the right credentials.  It's expected to see some number of these errors in your logs due to users making mistakes.") },
    Outcome { code: 50053, reason: Some("Account is locked because user tried to sign in too many times with an incorrect user ID or password."), details: Some("Sign-in was blocked because it came from an IP address with malicious activity.") },
    Outcome { code: 50057, reason: Some("User account is disabled."), details: Some("The user object in Active Directory backing this account has been disabled.") },
    Outcome { code: 50074, reason: Some("Strong Authentication is required."), details: Some("The user is required to complete multi-factor authentication.") },
    Outcome { code: 50076, reason: Some("Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource."), details: Some("MFA requirement satisfied by claim in the token") },
    Outcome { code: 500121, reason: Some("Authentication failed during strong authentication request."), details: Some("The user didn't complete the MFA prompt. They may have decided not to authenticate, timed out while doing other work, or has an issue with their authentication setup.") },
    Outcome { code: 50140, reason: Some("This error occurred due to 'Keep me signed in' interrupt when the user was signing-in."), details: Some("This is an expected part of the login flow, where a user is asked if they want to remain signed into this browser to make further logins easier.") },
    Outcome { code: 53003, reason: Some("Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."), details: None },
];

/// The documented outcome for `code`, else a generic failure.
pub fn outcome(code: u32) -> Outcome {
    OUTCOMES
        .iter()
        .copied()
        .find(|o| o.code == code)
        .unwrap_or(Outcome {
            code,
            reason: Some("Other."),
            details: None,
        })
}

pub struct Spec<'a> {
    pub users: usize,
    pub groups: usize,
    pub signins: usize,
    pub domain: &'a str,
    pub signin_span: Duration,
    pub signin_lag: Duration,
}

fn method_id(kind: MethodKind, rng: &mut SimRng) -> String {
    match kind {
        // Graph's fixed ids for the password method and the mobile phone slot.
        MethodKind::Password => "28c10230-6103-485e-b985-444c60001490".into(),
        MethodKind::Phone => "3179e48a-750b-4051-897c-87b9720928f7".into(),
        MethodKind::Email => "3ddfcfc8-9383-446f-83cc-3ab9be4be18f".into(),
        _ => rng.uuid(),
    }
}

/// A user built from names; the caller assigns `seq` and indexes.
#[allow(clippy::too_many_arguments)]
pub fn make_user(
    rng: &mut SimRng,
    given: &str,
    surname: &str,
    upn: String,
    enabled: bool,
    now: DateTime<Utc>,
    created: DateTime<Utc>,
) -> User {
    let mut methods = vec![Method {
        kind: MethodKind::Password,
        id: method_id(MethodKind::Password, rng),
        created,
    }];
    for (kind, p) in [
        (MethodKind::Authenticator, 0.7),
        (MethodKind::Phone, 0.3),
        (MethodKind::Fido2, 0.1),
        (MethodKind::SoftwareOath, 0.05),
        (MethodKind::Email, 0.2),
        (MethodKind::WindowsHello, 0.15),
    ] {
        if rng.chance(p) {
            methods.push(Method {
                kind,
                id: method_id(kind, rng),
                created: created + Duration::days(rng.range(0, 30)),
            });
        }
    }
    let phone = rng
        .chance(0.6)
        .then(|| format!("+1 425555{:04}", rng.below(10_000)));
    User {
        id: rng.uuid(),
        mail: Some(upn.clone()),
        upn,
        display_name: format!("{given} {surname}"),
        given_name: given.to_string(),
        surname: surname.to_string(),
        job_title: rng.pick(TITLES).map(|s| s.to_string()),
        department: rng.pick(DEPARTMENTS).map(|s| s.to_string()),
        office_location: rng.pick(OFFICES).map(|s| s.to_string()),
        business_phones: phone.iter().cloned().collect(),
        mobile_phone: phone,
        account_enabled: enabled,
        user_type: "Member",
        employee_id: Some(format!("{:06}", rng.below(1_000_000))),
        created,
        last_password_change: created + Duration::days(rng.range(0, 20)),
        sessions_valid_from: created,
        manager: None,
        methods,
        last_sign_in: None,
        extra: Default::default(),
        seq: 0,
        deleted: None,
        purged: false,
        risk_state: "none",
        created_seq: 0,
        changed: Default::default(),
    }
    .with_created_cap(now)
}

impl User {
    fn with_created_cap(mut self, now: DateTime<Utc>) -> Self {
        if self.last_password_change > now {
            self.last_password_change = now;
        }
        self
    }
}

/// Builds the directory and sign-in log.
pub fn build(spec: &Spec<'_>, now: DateTime<Utc>, rng: &mut SimRng) -> Store {
    let mut store = Store::default();
    let mut seen: HashMap<String, u32> = HashMap::new();
    let managers = (spec.users / 20).max(1);
    for i in 0..spec.users {
        let given = rng.pick(GIVEN).copied().unwrap_or("Alex");
        let surname = rng.pick(SURNAMES).copied().unwrap_or("Smith");
        let local = format!("{}.{}", given.to_lowercase(), surname.to_lowercase());
        let n = seen.entry(local.clone()).or_insert(0);
        *n += 1;
        let upn = if *n == 1 {
            format!("{local}@{}", spec.domain)
        } else {
            format!("{local}{}@{}", n, spec.domain)
        };
        // The first user is an enabled admin; about 5% of the others are disabled.
        let enabled = i == 0 || !rng.chance(0.05);
        let created =
            now - Duration::days(rng.range(30, 1500)) - Duration::seconds(rng.range(0, 86_400));
        let mut user = make_user(rng, given, surname, upn, enabled, now, created);
        if i > 0 {
            user.manager = Some(if i < managers {
                0
            } else {
                rng.below(managers as u64) as usize
            });
        }
        store.seq += 1;
        user.seq = store.seq;
        user.created_seq = store.seq;
        store.changes.push((store.seq, i));
        store.user_index.insert(user.id.clone(), i);
        store.users.push(user);
    }
    for g in 0..spec.groups {
        let name = match GROUP_NAMES.get(g) {
            Some(n) => n.to_string(),
            None => format!("Project {:03}", g - GROUP_NAMES.len() + 1),
        };
        let id = rng.uuid();
        store.group_index.insert(id.clone(), g);
        store.groups.push(Group {
            id,
            description: format!("{name} members"),
            display_name: name,
            created: now - Duration::days(rng.range(100, 2000)),
            members: Vec::new(),
            member_set: Default::default(),
        });
    }
    if spec.groups > 0 {
        for u in 0..spec.users {
            // Everyone is in the first group; one or two more at random.
            let mut picks = vec![0usize];
            for _ in 0..rng.range(1, 3) {
                picks.push(rng.below(spec.groups as u64) as usize);
            }
            for g in picks {
                if let Some(group) = store.groups.get_mut(g) {
                    if group.member_set.insert(u) {
                        group.members.push(u);
                    }
                }
            }
        }
    }
    let span_ms = spec.signin_span.num_milliseconds().max(1);
    let lag_ms = spec.signin_lag.num_milliseconds().max(0);
    for _ in 0..spec.signins {
        if store.users.is_empty() {
            break;
        }
        let idx = rng.below(store.users.len() as u64) as usize;
        let created = now - Duration::milliseconds(rng.range(0, span_ms));
        let code = pick_outcome(rng, store.users[idx].account_enabled);
        let body = signin_body(&store.users[idx], created, outcome(code), rng);
        let visible_ms = created.timestamp_millis() + rng.range(0, lag_ms + 1);
        if code == 0 {
            let rid = body["id"].as_str().unwrap_or_default().to_string();
            let u = &mut store.users[idx];
            if u.last_sign_in.as_ref().is_none_or(|(t, _)| *t < created) {
                u.last_sign_in = Some((created, rid));
            }
        }
        let id = body["id"].as_str().unwrap_or_default().to_string();
        store.signins.push(SignIn {
            created_ms: created.timestamp_millis(),
            visible_ms,
            id,
            body,
        });
    }
    store.sort_signins();
    store
}

/// A random outcome code: mostly successes, the documented failures otherwise.
pub fn pick_outcome(rng: &mut SimRng, enabled: bool) -> u32 {
    if !enabled {
        return 50057;
    }
    let weights = [80, 8, 2, 0, 3, 2, 2, 2, 1];
    OUTCOMES.get(rng.weighted(&weights)).map_or(0, |o| o.code)
}

/// A v1.0 `signIn` for `user`. v1.0 has no `mfaDetail`/`authenticationDetails`
/// (those are beta only), so MFA shows only through the status codes
/// (50074/50076 interrupts, 500121 failures) and `conditionalAccessStatus`.
pub fn signin_body(user: &User, created: DateTime<Utc>, o: Outcome, rng: &mut SimRng) -> Value {
    let hostile = matches!(o.code, 50053 | 50126) && rng.chance(0.3);
    let place = if hostile {
        rng.pick(HOSTILE).copied()
    } else {
        rng.pick(PLACES).copied()
    }
    .unwrap_or(PLACES[0]);
    let app = rng.pick(APPS).copied().unwrap_or(APPS[0]);
    let device = rng.pick(DEVICES).copied().unwrap_or(DEVICES[0]);
    let risk = if hostile { "medium" } else { "none" };
    let ca = match o.code {
        53003 => "failure",
        0 if rng.chance(0.5) => "success",
        _ => "notApplied",
    };
    let managed = rng.chance(0.6);
    let policies = if ca == "notApplied" {
        json!([])
    } else {
        json!([{
            "id": "6701123a-b4c6-48af-8565-565c8bf7cabc",
            "displayName": "Require MFA for all users",
            "enforcedGrantControls": ["Mfa"],
            "enforcedSessionControls": [],
            "result": if ca == "failure" { "failure" } else { "success" },
        }])
    };
    json!({
        "id": rng.uuid(),
        "createdDateTime": fmt_ts_frac(created),
        "userDisplayName": user.display_name,
        "userPrincipalName": user.upn,
        "userId": user.id,
        "appId": app.1,
        "appDisplayName": app.0,
        "ipAddress": format!("{}{}", place.5, rng.range(2, 250)),
        "clientAppUsed": app.4,
        "correlationId": rng.uuid(),
        "conditionalAccessStatus": ca,
        "isInteractive": true,
        "riskDetail": "none",
        "riskLevelAggregated": risk,
        "riskLevelDuringSignIn": risk,
        "riskState": if hostile { "atRisk" } else { "none" },
        "riskEventTypes": if hostile { json!(["unfamiliarFeatures"]) } else { json!([]) },
        "riskEventTypes_v2": if hostile { json!(["unfamiliarFeatures"]) } else { json!([]) },
        "resourceDisplayName": app.2,
        "resourceId": app.3,
        "status": {
            "errorCode": o.code,
            "failureReason": o.reason,
            "additionalDetails": o.details,
        },
        "deviceDetail": {
            "deviceId": if managed { json!(rng.uuid()) } else { json!("") },
            "displayName": if managed { json!(format!("{}-PC", user.surname.to_uppercase())) } else { Value::Null },
            "operatingSystem": device.0,
            "browser": device.1,
            "isCompliant": managed,
            "isManaged": managed,
            "trustType": if managed { json!("Azure AD joined") } else { Value::Null },
        },
        "location": {
            "city": place.0,
            "state": place.1,
            "countryOrRegion": place.2,
            "geoCoordinates": {"altitude": null, "latitude": place.3, "longitude": place.4},
        },
        "appliedConditionalAccessPolicies": policies,
    })
}
