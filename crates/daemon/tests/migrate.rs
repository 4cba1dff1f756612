//! `gatehouse store migrate`'s copy: an embedded store holding every kind of record (several
//! tenants; more users and sign-ins than one batch) copied into a throwaway PostgreSQL, then
//! read back through the store traits on both sides: equal records, working indexes, equal
//! counts. And the refusals: a non-empty target, a store a daemon holds, an inbox not drained.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::model::{
    Action, ActionKind, ActionStatus, ApiKey, Detection, Group, Identity, Integration,
    IntegrationStatus, Outcome, Policy, PolicyMode, PolicyScope, PolicyWhen, SealedSecret,
    Severity, SignInEvent, SyncCursor, SyncStatus, Tenant, TenantSettings, TokenKind, TokenRecord,
    User, UserStatus,
};
use gatehouse_core::{
    ActionId, ApiKeyId, DetectionId, GroupId, IdentityId, IntegrationId, PolicyId, SignInId,
    TenantId, UserId,
};
use gatehouse_daemon::migrate::{self, MigrateError, BATCH};
use gatehouse_scim::ResourceKind;
use gatehouse_store::prelude::*;
use gatehouse_store::{
    ActionFilter, DetectionFilter, IdentityFilter, InventoryRows, Locatable, Page, PageRequest,
    PgOptions, PgStore, SignInFilter, SignInSubject, SledStore, UserFilter,
};
use serde_json::{json, Value};

const USERS: u32 = 1_234;
const SIGNINS: u32 = 1_105;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn tenant_id(id: &str) -> TenantId {
    TenantId::parse(id).unwrap()
}

fn tenant(id: &str) -> Tenant {
    Tenant {
        id: tenant_id(id),
        name: format!("Tenant {id}"),
        settings: TenantSettings {
            protected_accounts: vec!["breakglass@example.com".into()],
            ..TenantSettings::default()
        },
        created_at: t0(),
        updated_at: t0() + Duration::nanoseconds(123_456_789),
    }
}

fn token(hash: &str, kind: TokenKind, tenant: Option<&TenantId>) -> TokenRecord {
    TokenRecord {
        hash: hash.into(),
        kind,
        tenant_id: tenant.cloned(),
        integration_id: None,
        api_key_id: None,
        created_at: t0(),
        expires_at: None,
    }
}

fn integration(tenant: &TenantId, id: &str, kind: &str) -> Integration {
    let mut config = serde_json::Map::new();
    config.insert("domain".into(), json!(format!("{id}.example.com")));
    Integration {
        id: IntegrationId::parse(id).unwrap(),
        tenant_id: tenant.clone(),
        kind: kind.into(),
        config,
        status: IntegrationStatus::Active,
        // Sealed under the master key: copied as it is, so the same key opens it.
        credentials: SealedSecret {
            key_id: "mk1".into(),
            sealed: format!("c2VhbGVk-{id}"),
        },
        ingest_token_hash: Some(format!("ingest-{id}")),
        scim_token_hash: None,
        oauth_client_id_hash: None,
        push_token: Some(SealedSecret {
            key_id: "mk1".into(),
            sealed: format!("cHVzaA-{id}"),
        }),
        created_at: t0(),
        updated_at: t0(),
    }
}

fn user(tenant: &TenantId, integration: &IntegrationId, n: u32) -> User {
    User {
        id: UserId::parse(&format!("usr_{}_{n:06}", tenant.as_str())).unwrap(),
        tenant_id: tenant.clone(),
        integration_id: integration.clone(),
        provider: "okta".into(),
        external_id: format!("00u{n}"),
        login: format!("user{n}@example.com"),
        email: Some(format!("User{n}@Example.com")),
        emails: if n.is_multiple_of(3) {
            vec![format!("alias{n}@example.org")]
        } else {
            vec![]
        },
        display_name: Some(format!("User {n}")),
        given_name: None,
        family_name: None,
        status: if n.is_multiple_of(10) {
            UserStatus::Suspended
        } else {
            UserStatus::Active
        },
        status_flags: vec![],
        department: Some("Engineering".into()),
        title: None,
        manager: None,
        groups: vec!["Admins".into()],
        mfa_enrolled: Some(n.is_multiple_of(2)),
        mfa_factors: vec![],
        is_admin: n == 1,
        identity_id: None,
        risk_score: (n % 100) as u8,
        created_at: None,
        last_login_at: Some(t0() + Duration::nanoseconds(i64::from(n) * 1_001)),
        updated_at: None,
        synced_at: t0(),
        raw: Some(json!({"id": format!("00u{n}"), "profile": {"n": n}}).into()),
    }
}

fn signin(tenant: &TenantId, integration: &IntegrationId, n: u32) -> SignInEvent {
    // Nanoseconds past the microsecond: PostgreSQL keeps them beside its timestamptz.
    let time = t0() + Duration::seconds(i64::from(n)) + Duration::nanoseconds(789);
    let event_id = format!("evt-{n}");
    SignInEvent {
        id: SignInId::derive(time, &[integration.as_str(), &event_id]),
        tenant_id: tenant.clone(),
        integration_id: integration.clone(),
        provider: "okta".into(),
        provider_event_id: event_id,
        time,
        category: Default::default(),
        event_type: "user.session.start".into(),
        user_id: n
            .is_multiple_of(2)
            .then(|| UserId::parse(&format!("usr_{}_{:06}", tenant.as_str(), n % 50)).unwrap()),
        external_user_id: None,
        login: Some(format!("user{}@example.com", n % 50)),
        outcome: if n.is_multiple_of(7) {
            Outcome::Failure
        } else {
            Outcome::Success
        },
        reason: None,
        ip: Some(format!("203.0.113.{}", n % 20)),
        country: Some("NL".into()),
        city: None,
        latitude: None,
        longitude: None,
        asn: None,
        user_agent: None,
        device: None,
        mfa_factor: None,
        session_id: n.is_multiple_of(5).then(|| format!("sess-{}", n % 3)),
        is_proxy: None,
        provider_risk: None,
        source: Default::default(),
        signal: Default::default(),
        raw: None,
    }
}

fn identity(tenant: &TenantId, id: &str, email: &str, accounts: &[&UserId]) -> Identity {
    Identity {
        id: IdentityId::parse(id).unwrap(),
        tenant_id: tenant.clone(),
        emails: vec![email.into()],
        display_name: Some(format!("Person {id}")),
        accounts: accounts.iter().map(|a| (*a).clone()).collect(),
        risk_score: 0,
        created_at: t0(),
        updated_at: t0(),
    }
}

fn group(tenant: &TenantId, integration: &IntegrationId, n: u32) -> Group {
    Group {
        id: GroupId::parse(&format!("grp_{}_{n}", tenant.as_str())).unwrap(),
        tenant_id: tenant.clone(),
        integration_id: integration.clone(),
        provider: "okta".into(),
        external_id: format!("00g{n}"),
        name: format!("Group {n}"),
        description: None,
        members: vec!["00u1".into(), "00u2".into()],
        updated_at: None,
        synced_at: t0(),
        raw: None,
    }
}

fn detection(tenant: &TenantId, id: &str, minute: i64) -> Detection {
    Detection {
        id: DetectionId::parse(id).unwrap(),
        tenant_id: tenant.clone(),
        kind: "brute_force".into(),
        severity: Severity::High,
        user_id: None,
        identity_id: None,
        integration_id: None,
        evidence: vec![],
        explanation: "many failures".into(),
        first_seen: t0() + Duration::minutes(minute),
        last_seen: t0() + Duration::minutes(minute + 1) + Duration::nanoseconds(5),
        created_at: t0(),
        updated_at: t0(),
    }
}

fn action(tenant: &TenantId, id: &str, key: &str, status: ActionStatus) -> Action {
    Action {
        id: ActionId::parse(id).unwrap(),
        tenant_id: tenant.clone(),
        user_id: UserId::parse(&format!("usr_{}_000001", tenant.as_str())).unwrap(),
        integration_id: IntegrationId::parse("int_x").unwrap(),
        action: ActionKind::RevokeSessions,
        status,
        dry_run: false,
        reason: Some("detection".into()),
        requested_by: "policy".into(),
        detection_id: None,
        idempotency_key: key.into(),
        attempts: 1,
        error: None,
        result: None,
        next_attempt_at: Some(t0() + Duration::minutes(5)),
        history: vec![],
        confirmation: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

fn policy(tenant: &TenantId, id: &str) -> Policy {
    Policy {
        id: PolicyId::parse(id).unwrap(),
        tenant_id: tenant.clone(),
        name: "lock out brute force".into(),
        when: PolicyWhen {
            kinds: vec!["brute_force".into()],
            min_severity: Severity::Medium,
            providers: vec![],
        },
        then: vec![ActionKind::RevokeSessions],
        mode: PolicyMode::Auto,
        scope: PolicyScope::Account,
        enabled: true,
        created_at: t0(),
        updated_at: t0(),
    }
}

fn scim_user(id: &str, name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": id,
           "userName": name, "externalId": format!("ext-{id}"),
           "displayName": format!("{name} Display"), "active": true,
           "emails": [{"value": format!("{}@example.com", name.to_lowercase()), "primary": true}],
           "meta": {"resourceType": "User", "version": format!("W/\"{id}-1\""),
                    "created": "2026-03-01T10:00:00Z"}})
}

fn scim_group(id: &str, name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": id,
           "displayName": name, "members": members,
           "meta": {"resourceType": "Group", "version": format!("W/\"{id}-1\"")}})
}

/// One tenant's fixtures, named for the lookups the test checks.
struct Filled {
    a: TenantId,
    b: TenantId,
    a_okta: IntegrationId,
    a_scim: IntegrationId,
}

/// Fills `store` with at least one record of every kind the store keeps.
async fn fill(store: &dyn Store) -> Filled {
    let (a, b) = (tenant_id("ten_a"), tenant_id("ten_b"));
    // Tenant c holds nothing but itself.
    for t in ["ten_a", "ten_b", "ten_c"] {
        store.create_tenant(&tenant(t)).await.unwrap();
    }
    store
        .put_token(&token("op-hash", TokenKind::Operator, None))
        .await
        .unwrap();

    // Tenant a: every kind, more users and sign-ins than a batch.
    let key = ApiKey {
        id: ApiKeyId::parse("key_a1").unwrap(),
        tenant_id: a.clone(),
        created_at: t0(),
    };
    let mut key_token = token("api-hash-a1", TokenKind::TenantApi, Some(&a));
    key_token.api_key_id = Some(key.id.clone());
    store.create_api_key(&key, &key_token).await.unwrap();

    let okta = integration(&a, "int_a_okta", "okta");
    let mut ingest = token("ingest-int_a_okta", TokenKind::Ingest, Some(&a));
    ingest.integration_id = Some(okta.id.clone());
    store.create_integration(&okta, &[ingest]).await.unwrap();
    let mut status = SyncStatus {
        last_run_at: Some(t0()),
        ..SyncStatus::default()
    };
    status.counts.users = u64::from(USERS);
    store.put_sync_status(&a, &okta.id, &status).await.unwrap();
    for (name, value) in [("users", "next-page"), ("signins", "2026-03-01T10:00:00Z")] {
        let cursor = SyncCursor {
            value: value.into(),
            updated_at: t0(),
        };
        store.put_cursor(&a, &okta.id, name, &cursor).await.unwrap();
    }

    let mut scim = integration(&a, "int_a_scim", "scim");
    scim.ingest_token_hash = None;
    scim.push_token = None;
    scim.scim_token_hash = Some("scim-int_a_scim".into());
    scim.oauth_client_id_hash = Some("client-hash".into());
    let mut scim_token = token("scim-int_a_scim", TokenKind::Scim, Some(&a));
    scim_token.integration_id = Some(scim.id.clone());
    store
        .create_integration(&scim, &[scim_token])
        .await
        .unwrap();
    // An OAuth access token, put on its own as the token endpoint does.
    let mut oauth = token("oauth-hash", TokenKind::Scim, Some(&a));
    oauth.integration_id = Some(scim.id.clone());
    oauth.expires_at = Some(t0() + Duration::hours(1));
    store.put_token(&oauth).await.unwrap();
    for (id, name) in [("u1", "Alice"), ("u2", "Bob"), ("u3", "Carol")] {
        store
            .scim_create(
                &a,
                &scim.id,
                ResourceKind::User,
                &scim_user(id, name),
                &InventoryRows::default(),
            )
            .await
            .unwrap();
    }
    for (id, name, members) in [
        ("g1", "Admins", &["u1", "u2"][..]),
        ("g2", "Staff", &["u1", "u3", "g1"][..]),
    ] {
        store
            .scim_create(
                &a,
                &scim.id,
                ResourceKind::Group,
                &scim_group(id, name, members),
                &InventoryRows::default(),
            )
            .await
            .unwrap();
    }

    let mut users: Vec<User> = (0..USERS).map(|n| user(&a, &okta.id, n)).collect();
    let alice_id = IdentityId::parse("idn_a_alice").unwrap();
    users[1].identity_id = Some(alice_id.clone());
    users[2].identity_id = Some(alice_id.clone());
    for chunk in users.chunks(300) {
        store.upsert_users(&a, chunk).await.unwrap();
    }
    for n in 0..3 {
        store
            .upsert_groups(&a, &[group(&a, &okta.id, n)])
            .await
            .unwrap();
    }
    let alice = identity(
        &a,
        "idn_a_alice",
        "alice@example.com",
        &[&users[1].id, &users[2].id],
    );
    let bob = identity(&a, "idn_a_bob", "bob@example.com", &[&users[3].id]);
    store
        .put_identities(&[alice.clone(), bob.clone()])
        .await
        .unwrap();
    for (minute, score) in [(0, 10), (5, 40), (9, 25)] {
        store
            .record_identity_risk(
                &a,
                &alice.id,
                score,
                t0() + Duration::minutes(minute) + Duration::nanoseconds(7),
            )
            .await
            .unwrap();
    }
    // Bob's stored score differs from his history's last point: the copy keeps both as they are.
    store
        .record_identity_risk(&a, &bob.id, 60, t0())
        .await
        .unwrap();
    store.put_identity(&bob).await.unwrap();

    let signins: Vec<SignInEvent> = (0..SIGNINS).map(|n| signin(&a, &okta.id, n)).collect();
    for chunk in signins.chunks(400) {
        store
            .insert_signins(&a, chunk, gatehouse_store::Durability::Now)
            .await
            .unwrap();
    }

    store
        .put_detection(&detection(&a, "det_a1", 0), "account:usr_a_1")
        .await
        .unwrap();
    store
        .put_detection(&detection(&a, "det_a1", 0), "ip:203.0.113.1")
        .await
        .unwrap();
    store
        .put_detection(&detection(&a, "det_a2", 30), "account:usr_a_1")
        .await
        .unwrap();
    store
        .put_action(&action(&a, "act_a1", "key-open", ActionStatus::Pending))
        .await
        .unwrap();
    store
        .put_action(&action(&a, "act_a2", "key-done", ActionStatus::Succeeded))
        .await
        .unwrap();
    store.put_policy(&policy(&a, "pol_a1")).await.unwrap();

    // Tenant b: a little of most kinds, a SCIM userName tenant a also has.
    let b_int = integration(&b, "int_b_scim", "scim");
    store.create_integration(&b_int, &[]).await.unwrap();
    store
        .upsert_users(&b, &[user(&b, &b_int.id, 1), user(&b, &b_int.id, 2)])
        .await
        .unwrap();
    store
        .insert_signins(
            &b,
            &[signin(&b, &b_int.id, 1), signin(&b, &b_int.id, 2)],
            gatehouse_store::Durability::Now,
        )
        .await
        .unwrap();
    store
        .put_detection(&detection(&b, "det_b1", 0), "account:usr_b_1")
        .await
        .unwrap();
    store
        .put_action(&action(&b, "act_b1", "key-open", ActionStatus::Pending))
        .await
        .unwrap();
    store
        .scim_create(
            &b,
            &b_int.id,
            ResourceKind::User,
            &scim_user("u1", "alice"),
            &InventoryRows::default(),
        )
        .await
        .unwrap();

    Filled {
        a,
        b,
        a_okta: okta.id,
        a_scim: scim.id,
    }
}

/// Every page of a list, from the first.
macro_rules! all {
    (|$request:ident| $list:expr) => {{
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let $request = PageRequest::new(BATCH, cursor.take());
            let page: Page<_> = $list.await.unwrap();
            out.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break out,
            }
        }
    }};
}

/// One read of the snapshot: what a list or lookup answered.
#[derive(Debug, PartialEq)]
enum Read {
    Tenants(Vec<Tenant>),
    Tokens(Vec<TokenRecord>),
    OpenActions(Vec<Action>),
    ApiKeys(Vec<ApiKey>),
    Integrations(Vec<Integration>),
    Status(Option<SyncStatus>),
    Cursors(Vec<(String, SyncCursor)>),
    Scim(Vec<Value>),
    ScimGroupsOf(String, Vec<(String, String)>),
    Users(Vec<User>),
    Groups(Vec<Group>),
    Identities(Vec<Identity>),
    RiskHistory(IdentityId, Vec<gatehouse_core::model::RiskPoint>),
    SignIns(Vec<SignInEvent>),
    Detections(Vec<Detection>),
    DetectionSubjects(Vec<(String, DetectionId)>),
    Actions(Vec<Action>),
    Policies(Vec<Policy>),
}

/// Everything `store` holds that the copy must carry over, read through the traits.
async fn snapshot(store: &dyn Store) -> Vec<Read> {
    let mut out = Vec::new();
    let tenants = all!(|r| store.list_tenants(&r));
    out.push(Read::Tenants(tenants.clone()));
    out.push(Read::Tokens(all!(|r| store.list_tokens(&r))));
    let mut open = store.open_actions().await.unwrap();
    open.sort_by(|x, y| x.id.as_str().cmp(y.id.as_str()));
    out.push(Read::OpenActions(open));
    for tenant in &tenants {
        let t = &tenant.id;
        out.push(Read::ApiKeys(store.list_api_keys(t).await.unwrap()));
        let integrations = all!(|r| store.list_integrations(t, &r));
        out.push(Read::Integrations(integrations.clone()));
        for i in &integrations {
            out.push(Read::Status(store.get_sync_status(t, &i.id).await.unwrap()));
            out.push(Read::Cursors(store.list_cursors(t, &i.id).await.unwrap()));
            for kind in [ResourceKind::User, ResourceKind::Group] {
                let resources = store.scim_scan(t, &i.id, kind, None, 1000).await.unwrap();
                for r in &resources {
                    let id = r["id"].as_str().unwrap().to_owned();
                    let of = store.scim_groups_of(t, &i.id, &id).await.unwrap();
                    out.push(Read::ScimGroupsOf(id, of));
                }
                out.push(Read::Scim(resources));
            }
        }
        out.push(Read::Users(all!(|r| store.list_users(
            t,
            &UserFilter::default(),
            &r
        ))));
        out.push(Read::Groups(all!(|r| store.list_groups(t, &r))));
        let identities = all!(|r| store.list_identities(t, &IdentityFilter::default(), &r));
        for i in &identities {
            let history = store.identity_risk_history(t, &i.id).await.unwrap();
            out.push(Read::RiskHistory(i.id.clone(), history));
        }
        out.push(Read::Identities(identities));
        out.push(Read::SignIns(all!(|r| store.list_signins(
            t,
            &SignInFilter::default(),
            &r
        ))));
        out.push(Read::Detections(all!(|r| store.list_detections(
            t,
            &DetectionFilter::default(),
            &r
        ))));
        out.push(Read::DetectionSubjects(all!(
            |r| store.list_detection_subjects(t, &r)
        )));
        out.push(Read::Actions(all!(|r| store.list_actions(
            t,
            &ActionFilter::default(),
            &r
        ))));
        out.push(Read::Policies(store.list_policies(t).await.unwrap()));
    }
    out
}

/// Two snapshots read alike, one read at a time (a difference shows alone).
fn assert_same(before: &[Read], after: &[Read]) {
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(after) {
        assert_eq!(b, a);
    }
}

fn progress_into(lines: &Arc<Mutex<Vec<String>>>) -> impl Fn(&str) + Send + Sync {
    let lines = Arc::clone(lines);
    move |line: &str| lines.lock().unwrap().push(line.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_in_the_embedded_store_reaches_postgresql_with_its_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let source = SledStore::open(dir.path()).unwrap();
    let f = fill(&source).await;
    let server = gatehouse_pgtest::TempPostgres::start().unwrap();
    let target = PgStore::connect(&PgOptions::new(server.url()))
        .await
        .unwrap();

    let lines = Arc::new(Mutex::new(Vec::new()));
    let progress = progress_into(&lines);
    let report = migrate::migrate(&source, &target, &progress).await.unwrap();
    assert!(report.matches(), "{}", report.table());
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let counts = report.target;
    assert_eq!(counts.tenants, 3);
    // The operator key, tenant a's API key, ingest, SCIM and OAuth tokens.
    assert_eq!(counts.tokens, 5);
    assert_eq!(counts.api_keys, 1);
    assert_eq!(counts.integrations, 3);
    assert_eq!((counts.sync_statuses, counts.cursors), (1, 2));
    assert_eq!(counts.users, u64::from(USERS) + 2);
    assert_eq!(counts.groups, 3);
    assert_eq!((counts.identities, counts.risk_points), (2, 4));
    assert_eq!(counts.signins, u64::from(SIGNINS) + 2);
    assert_eq!((counts.detections, counts.detection_subjects), (3, 4));
    assert_eq!((counts.actions, counts.open_actions), (3, 2));
    assert_eq!(counts.policies, 1);
    assert_eq!(
        (
            counts.scim_users,
            counts.scim_groups,
            counts.scim_memberships
        ),
        (4, 2, 5)
    );
    assert!(lines.lock().unwrap().iter().any(|l| l.contains("ten_a")));

    // Records equal, every kind, read through the traits on both sides.
    let (before, after) = (snapshot(&source).await, snapshot(&target).await);
    assert_same(&before, &after);
    let users = before.iter().find_map(|r| match r {
        Read::Users(users) if users.len() > BATCH => Some(users.len()),
        _ => None,
    });
    assert_eq!(
        users,
        Some(USERS as usize),
        "a tenant with more users than a batch"
    );

    // The indexes answer on PostgreSQL as on sled.
    let (a, b) = (&f.a, &f.b);
    for (label, store) in [("sled", &source as &dyn Store), ("postgres", &target)] {
        let found = store
            .find_user_by_external_id(a, &f.a_okta, "00u1000")
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{label}: external id"));
        assert_eq!(found.id.as_str(), "usr_ten_a_001000");
        let by_email = store
            .find_users_by_email(a, "USER7@example.com")
            .await
            .unwrap();
        assert_eq!(by_email.len(), 1, "{label}");
        let by_alias = store
            .find_users_by_email(a, "alias999@example.org")
            .await
            .unwrap();
        assert_eq!(by_alias[0].id.as_str(), "usr_ten_a_000999", "{label}");
        let person = store
            .find_identity_by_email(a, "alice@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((person.id.as_str(), person.risk_score), ("idn_a_alice", 25));
        let about = store
            .detections_about(a, "account:usr_a_1", t0())
            .await
            .unwrap();
        assert_eq!(about.len(), 2, "{label}");
        let about_ip = store
            .detections_about(a, "ip:203.0.113.1", t0())
            .await
            .unwrap();
        assert_eq!(about_ip[0].id.as_str(), "det_a1", "{label}");
        let action = store.find_action_by_key(a, "key-open").await.unwrap();
        assert_eq!(action.unwrap().id.as_str(), "act_a1", "{label}");
        let theirs = store.find_action_by_key(b, "key-open").await.unwrap();
        assert_eq!(theirs.unwrap().id.as_str(), "act_b1", "{label}");
        let named = store
            .scim_find(a, &f.a_scim, ResourceKind::User, "userName", "ALICE")
            .await
            .unwrap();
        assert_eq!(named.len(), 1, "{label}");
        assert_eq!(named[0]["id"], "u1");
        let external = store
            .scim_find(a, &f.a_scim, ResourceKind::User, "externalId", "ext-u2")
            .await
            .unwrap();
        assert_eq!(external[0]["id"], "u2", "{label}");
        let token = store.find_token("api-hash-a1").await.unwrap().unwrap();
        assert_eq!(token.api_key_id.unwrap().as_str(), "key_a1");
        let oauth = store.find_token("oauth-hash").await.unwrap().unwrap();
        assert!(oauth.expires_at.is_some(), "{label}");
        assert!(store.has_token_of_kind(TokenKind::Operator).await.unwrap());
        assert_eq!(
            store
                .locate(Locatable::User, "usr_ten_a_000500")
                .await
                .unwrap(),
            Some(a.clone())
        );
        let user_2 = UserId::parse("usr_ten_a_000002").unwrap();
        let windowed = store
            .signins_about(
                a,
                SignInSubject::User(&user_2),
                t0(),
                t0() + Duration::days(1),
                1000,
            )
            .await
            .unwrap();
        // Sign-ins n with n % 50 == 2 (even: they name their account).
        assert_eq!(windowed.len(), (0..SIGNINS).filter(|n| n % 50 == 2).count());
    }
    // A userName is unique per tenant: tenant a's copied names are taken on PostgreSQL too.
    let taken = target
        .scim_create(
            &f.a,
            &f.a_scim,
            ResourceKind::User,
            &scim_user("u9", "bob"),
            &InventoryRows::default(),
        )
        .await;
    assert!(taken.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_holds_tenants_or_tokens_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let source = SledStore::open(dir.path()).unwrap();
    source.create_tenant(&tenant("ten_src")).await.unwrap();
    let server = gatehouse_pgtest::TempPostgres::start().unwrap();
    let target = PgStore::connect(&PgOptions::new(server.url()))
        .await
        .unwrap();
    target.create_tenant(&tenant("ten_there")).await.unwrap();

    let nothing = |_: &str| {};
    let refused = migrate::migrate(&source, &target, &nothing)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, MigrateError::TargetNotEmpty { what: "tenants" }),
        "{refused}"
    );
    assert!(refused.to_string().contains("nothing was written"));
    let tenants = target.list_tenants(&PageRequest::first(10)).await.unwrap();
    assert_eq!(tenants.items, vec![tenant("ten_there")]);

    // An operator key alone (a daemon started on the database) is refused too.
    target.delete_tenant(&tenant_id("ten_there")).await.unwrap();
    target
        .put_token(&token("minted", TokenKind::Operator, None))
        .await
        .unwrap();
    let refused = migrate::migrate(&source, &target, &nothing)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, MigrateError::TargetNotEmpty { .. }),
        "{refused}"
    );
    assert!(target
        .list_tenants(&PageRequest::first(10))
        .await
        .unwrap()
        .items
        .is_empty());
}

#[tokio::test]
async fn a_store_a_daemon_holds_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let running = SledStore::open(dir.path()).unwrap();
    let refused = migrate::open_sled_source(dir.path())
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(refused, MigrateError::SourceInUse { .. }),
        "{refused}"
    );
    assert!(refused.to_string().contains("stop the daemon first"));
    running.close().await.unwrap();
    drop(running);
    migrate::open_sled_source(dir.path()).unwrap();
}

#[tokio::test]
async fn pushes_waiting_in_the_inbox_are_not_left_behind() {
    use gatehouse_store::journal::{Journal, JournalOptions};

    let dir = tempfile::tempdir().unwrap();
    SledStore::open(dir.path()).unwrap().close().await.unwrap();
    let journal = Journal::open(JournalOptions::new(dir.path().join("inbox"))).unwrap();
    let end = journal.append(b"a push".to_vec()).await.unwrap();
    journal.close();
    drop(journal);
    let refused = migrate::open_sled_source(dir.path())
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(refused, MigrateError::InboxBacklog { .. }),
        "{refused}"
    );

    // Once the daemon has stored them (the checkpoint reached the end), the source opens.
    let journal = Journal::open(JournalOptions::new(dir.path().join("inbox"))).unwrap();
    journal.set_checkpoint(end).unwrap();
    journal.close();
    drop(journal);
    migrate::open_sled_source(dir.path()).unwrap();
}

/// The copy reads through the traits alone, so it runs between any two stores: here sled to
/// sled, which also shows a second copy of the same source is identical.
#[tokio::test]
async fn the_copy_runs_between_any_two_stores() {
    let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let source = SledStore::open(from.path()).unwrap();
    fill(&source).await;
    let target = SledStore::open(to.path()).unwrap();
    let report = migrate::migrate(&source, &target, &|_: &str| {})
        .await
        .unwrap();
    assert!(report.matches(), "{}", report.table());
    assert_same(&snapshot(&source).await, &snapshot(&target).await);
}

/// A record the traits cannot write is named in a warning, and its count differs: here an API
/// key whose token hash was overwritten by another kind of token, so it has no token to be
/// created with.
#[tokio::test]
async fn a_record_that_cannot_be_copied_is_named_and_its_count_differs() {
    let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let source = SledStore::open(from.path()).unwrap();
    let a = tenant_id("ten_a");
    source.create_tenant(&tenant("ten_a")).await.unwrap();
    let key = ApiKey {
        id: ApiKeyId::parse("key_lost").unwrap(),
        tenant_id: a.clone(),
        created_at: t0(),
    };
    let mut key_token = token("shared-hash", TokenKind::TenantApi, Some(&a));
    key_token.api_key_id = Some(key.id.clone());
    source.create_api_key(&key, &key_token).await.unwrap();
    source
        .put_token(&token("shared-hash", TokenKind::Operator, None))
        .await
        .unwrap();

    let target = SledStore::open(to.path()).unwrap();
    let report = migrate::migrate(&source, &target, &|_: &str| {})
        .await
        .unwrap();
    assert!(!report.matches());
    assert_eq!((report.source.api_keys, report.target.api_keys), (1, 0));
    assert_eq!(report.source.tokens, report.target.tokens);
    assert_eq!(report.warnings.len(), 1);
    assert!(
        report.warnings[0].contains("key_lost"),
        "{:?}",
        report.warnings
    );
    let api_keys = report
        .table()
        .lines()
        .find(|l| l.starts_with("API keys"))
        .unwrap()
        .to_owned();
    assert!(api_keys.ends_with("DIFFERS"), "{api_keys}");
}
