//! Detections looked up by subject and time and listed with filters, actions claimed once per
//! idempotency key and resumed across tenants, and policies stored, scoped and located per
//! tenant: on every backend.

use chrono::Duration;
use gatehouse_core::model::{
    Action, ActionKind, ActionStatus, Detection, Policy, PolicyMode, PolicyScope, PolicyWhen,
    Severity,
};
use gatehouse_core::{ActionId, DetectionId, IntegrationId, PolicyId, TenantId, UserId};
use gatehouse_store::{ActionFilter, DetectionFilter, Locatable, PageRequest};

use super::support::{conformance, t0, tenant, Backend};

conformance!(
    detections_by_subject_and_policies,
    detections_page_in_id_order_with_filters,
    actions_are_scoped_listed_and_resumed_across_tenants,
    an_idempotency_key_is_claimed_once_however_many_race_for_it,
);

fn detection(tenant: &TenantId, id: &str, kind: &str, minute: i64) -> Detection {
    Detection {
        id: DetectionId::parse(id).unwrap(),
        tenant_id: tenant.clone(),
        kind: kind.into(),
        severity: Severity::High,
        user_id: None,
        identity_id: None,
        integration_id: None,
        evidence: vec![],
        explanation: "x".into(),
        first_seen: t0() + Duration::minutes(minute),
        last_seen: t0() + Duration::minutes(minute + 1),
        created_at: t0(),
        updated_at: t0(),
    }
}

fn policy(tenant: &TenantId, id: &str, name: &str) -> Policy {
    Policy {
        id: PolicyId::parse(id).unwrap(),
        tenant_id: tenant.clone(),
        name: name.into(),
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

fn ids<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|i| id(i).to_string()).collect()
}

fn detection_ids(items: &[Detection]) -> Vec<String> {
    ids(items, |d| d.id.as_str())
}

async fn detections_by_subject_and_policies(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_det").id;
    // `ten_det` prefixes `ten_det2`: neither sees the other's records.
    let other = tenant("ten_det2").id;
    store
        .put_detection(&detection(&a, "det_2", "brute_force", 60), "account:usr_1")
        .await
        .unwrap();
    store
        .put_detection(&detection(&a, "det_1", "brute_force", 0), "account:usr_1")
        .await
        .unwrap();
    store
        .put_detection(&detection(&a, "det_3", "brute_force", 60), "ip:203.0.113.9")
        .await
        .unwrap();
    store
        .put_detection(
            &detection(&other, "det_4", "brute_force", 60),
            "account:usr_1",
        )
        .await
        .unwrap();
    let found = store
        .detections_about(&a, "account:usr_1", t0() + Duration::minutes(30))
        .await
        .unwrap();
    assert_eq!(detection_ids(&found), ["det_2"]);
    // In detection id order, whatever the order of writing.
    assert_eq!(
        detection_ids(
            &store
                .detections_about(&a, "account:usr_1", t0())
                .await
                .unwrap()
        ),
        ["det_1", "det_2"]
    );
    assert_eq!(
        store.locate(Locatable::Detection, "det_3").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        store.locate(Locatable::Detection, "det_4").await.unwrap(),
        Some(other.clone())
    );
    assert!(store
        .get_detection(&other, &DetectionId::parse("det_1").unwrap())
        .await
        .unwrap()
        .is_none());

    // Rewritten with later evidence and indexed under a second subject: found under both, once.
    let mut later = detection(&a, "det_1", "brute_force", 120);
    later.explanation = "grew".into();
    store
        .put_detection(&later, "ip:198.51.100.7")
        .await
        .unwrap();
    let since = t0() + Duration::minutes(90);
    for subject in ["account:usr_1", "ip:198.51.100.7"] {
        let found = store.detections_about(&a, subject, since).await.unwrap();
        assert!(found.contains(&later), "{subject}: {found:?}");
        assert_eq!(found.iter().filter(|d| d.id == later.id).count(), 1);
    }
    assert_eq!(
        store.get_detection(&a, &later.id).await.unwrap(),
        Some(later.clone())
    );

    // Deleting is per tenant, and a deleted detection is found nowhere.
    let det_2 = DetectionId::parse("det_2").unwrap();
    assert!(!store.delete_detection(&other, &det_2).await.unwrap());
    assert!(store.delete_detection(&a, &det_2).await.unwrap());
    assert!(!store.delete_detection(&a, &det_2).await.unwrap());
    assert!(store.get_detection(&a, &det_2).await.unwrap().is_none());
    assert!(store
        .locate(Locatable::Detection, "det_2")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        detection_ids(
            &store
                .detections_about(&a, "account:usr_1", t0())
                .await
                .unwrap()
        ),
        ["det_1"]
    );
    assert_eq!(
        detection_ids(
            &store
                .detections_about(&other, "account:usr_1", t0())
                .await
                .unwrap()
        ),
        ["det_4"]
    );

    // Policies: listed in id order, replaced by id, scoped and located per tenant.
    let second = policy(&a, "pol_2", "notify");
    let first = policy(&a, "pol_1", "contain");
    store.put_policy(&second).await.unwrap();
    store.put_policy(&first).await.unwrap();
    assert_eq!(
        store.list_policies(&a).await.unwrap(),
        vec![first.clone(), second.clone()]
    );
    let mut renamed = first.clone();
    renamed.name = "contain fast".into();
    renamed.enabled = false;
    store.put_policy(&renamed).await.unwrap();
    assert_eq!(
        store.get_policy(&a, &first.id).await.unwrap(),
        Some(renamed.clone())
    );
    assert!(store.get_policy(&other, &first.id).await.unwrap().is_none());
    assert!(store.list_policies(&other).await.unwrap().is_empty());
    assert_eq!(
        store.locate(Locatable::Policy, "pol_1").await.unwrap(),
        Some(a.clone())
    );
    assert!(first.matches("brute_force", Severity::High, Some("okta")));
    assert!(!first.matches("brute_force", Severity::Low, Some("okta")));
    assert!(!first.matches("mfa_fatigue", Severity::High, Some("okta")));
    // A write naming an id another tenant holds never changes that tenant's record (PostgreSQL
    // refuses it as a conflict; sled keys records by tenant).
    let _ = store.put_policy(&policy(&other, "pol_2", "hijack")).await;
    assert_eq!(
        store.get_policy(&a, &second.id).await.unwrap(),
        Some(second.clone())
    );
    let _ = store
        .put_detection(&detection(&other, "det_3", "hijack", 500), "ip:elsewhere")
        .await;
    assert_eq!(
        store
            .get_detection(&a, &DetectionId::parse("det_3").unwrap())
            .await
            .unwrap(),
        Some(detection(&a, "det_3", "brute_force", 60))
    );
    assert!(store
        .detections_about(&a, "ip:elsewhere", t0())
        .await
        .unwrap()
        .is_empty());
    assert!(!store.delete_policy(&other, &first.id).await.unwrap());
    assert!(store.delete_policy(&a, &first.id).await.unwrap());
    assert!(!store.delete_policy(&a, &first.id).await.unwrap());
    assert!(store
        .locate(Locatable::Policy, "pol_1")
        .await
        .unwrap()
        .is_none());

    // All of it is there after a restart.
    drop(store);
    let store = backend.open().await;
    assert_eq!(store.list_policies(&a).await.unwrap(), vec![second]);
    assert_eq!(
        store.get_detection(&a, &later.id).await.unwrap(),
        Some(later.clone())
    );
    assert_eq!(
        detection_ids(
            &store
                .detections_about(&a, "ip:198.51.100.7", t0())
                .await
                .unwrap()
        ),
        ["det_1"]
    );
}

async fn detections_page_in_id_order_with_filters(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_a").id;
    // `ten_a` prefixes `ten_ab`, whose detection sorts after all of `ten_a`'s.
    let ab = tenant("ten_ab").id;
    let user = UserId::parse("usr_1").unwrap();
    for (n, kind) in [
        "brute_force",
        "brute_force",
        "impossible_travel",
        "brute_force",
    ]
    .into_iter()
    .enumerate()
    {
        let mut d = detection(&a, &format!("det_{}", n + 1), kind, 10 * n as i64);
        if n % 2 == 0 {
            d.user_id = Some(user.clone());
            d.severity = Severity::Medium;
        }
        store.put_detection(&d, "account:usr_1").await.unwrap();
    }
    store
        .put_detection(&detection(&a, "det_5", "impossible_travel", 40), "ip:x")
        .await
        .unwrap();
    store
        .put_detection(&detection(&ab, "det_9", "brute_force", 0), "ip:x")
        .await
        .unwrap();

    let list = |filter: DetectionFilter, limit: usize, cursor: Option<&'static str>| {
        let store = store.clone();
        let a = a.clone();
        async move {
            let page = store
                .list_detections(
                    &a,
                    &filter,
                    &PageRequest::new(limit, cursor.map(String::from)),
                )
                .await
                .unwrap();
            (detection_ids(&page.items), page.next_cursor)
        }
    };
    let all = DetectionFilter::default;
    assert_eq!(
        list(all(), 2, None).await,
        (vec!["det_1".into(), "det_2".into()], Some("det_2".into()))
    );
    assert_eq!(
        list(all(), 2, Some("det_2")).await,
        (vec!["det_3".into(), "det_4".into()], Some("det_4".into()))
    );
    assert_eq!(
        list(all(), 2, Some("det_4")).await,
        (vec!["det_5".into()], None)
    );
    // A page that ends on the tenant's last record has no next page.
    assert_eq!(list(all(), 5, None).await.1, None);

    let brute_force = || DetectionFilter {
        kind: Some("brute_force".into()),
        ..Default::default()
    };
    assert_eq!(
        list(brute_force(), 2, None).await,
        (vec!["det_1".into(), "det_2".into()], Some("det_2".into()))
    );
    assert_eq!(
        list(brute_force(), 2, Some("det_2")).await,
        (vec!["det_4".into()], None)
    );
    // A full page names its last id whenever any record follows, even one the filter refuses:
    // the next page is then empty.
    assert_eq!(
        list(brute_force(), 3, None).await,
        (
            vec!["det_1".into(), "det_2".into(), "det_4".into()],
            Some("det_4".into())
        )
    );
    assert_eq!(list(brute_force(), 3, Some("det_4")).await, (vec![], None));
    // Matches far apart: read past the refused records between them.
    let travel = || DetectionFilter {
        kind: Some("impossible_travel".into()),
        ..Default::default()
    };
    assert_eq!(
        list(travel(), 1, None).await,
        (vec!["det_3".into()], Some("det_3".into()))
    );
    assert_eq!(
        list(travel(), 1, Some("det_3")).await,
        (vec!["det_5".into()], None)
    );

    let by_user = DetectionFilter {
        user_id: Some(user.clone()),
        ..Default::default()
    };
    assert_eq!(
        list(by_user, 10, None).await.0,
        ["det_1", "det_3"].map(String::from)
    );
    let by_severity = DetectionFilter {
        severity: Some(Severity::High),
        ..Default::default()
    };
    assert_eq!(
        list(by_severity, 10, None).await.0,
        ["det_2", "det_4", "det_5"].map(String::from)
    );
    let combined = DetectionFilter {
        kind: Some("brute_force".into()),
        severity: Some(Severity::High),
        since: Some(t0() + Duration::minutes(20)),
        ..Default::default()
    };
    assert_eq!(
        list(combined, 10, None).await.0,
        ["det_4"].map(String::from)
    );
    assert_eq!(
        list(brute_force(), 10, Some("det_9")).await,
        (vec![], None),
        "a cursor past the tenant's records"
    );

    // Times finer than PostgreSQL's microseconds still compare exactly.
    let mut fine = detection(&ab, "det_8", "brute_force", 0);
    fine.last_seen = t0() + Duration::nanoseconds(1_500);
    store.put_detection(&fine, "ip:fine").await.unwrap();
    let since = t0() + Duration::nanoseconds(1_800);
    assert!(store
        .detections_about(&ab, "ip:fine", since)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .detections_about(&ab, "ip:fine", t0() + Duration::nanoseconds(1_500))
            .await
            .unwrap(),
        vec![fine.clone()]
    );
    let after_fine = DetectionFilter {
        since: Some(since),
        ..Default::default()
    };
    let page = store
        .list_detections(&ab, &after_fine, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(detection_ids(&page.items), ["det_9"]);
}

/// An action for `key`, as the executor writes a new one.
fn action(tenant: &TenantId, id: &str, key: &str) -> Action {
    Action {
        id: ActionId::parse(id).unwrap(),
        tenant_id: tenant.clone(),
        user_id: UserId::parse("usr_1").unwrap(),
        integration_id: IntegrationId::parse("int_1").unwrap(),
        action: ActionKind::RevokeSessions,
        status: ActionStatus::Pending,
        dry_run: false,
        reason: None,
        requested_by: "test".into(),
        detection_id: None,
        idempotency_key: key.into(),
        attempts: 0,
        error: None,
        result: None,
        next_attempt_at: None,
        history: vec![],
        confirmation: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

fn action_ids(items: &[Action]) -> Vec<String> {
    ids(items, |a| a.id.as_str())
}

async fn actions_are_scoped_listed_and_resumed_across_tenants(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_a").id;
    let b = tenant("ten_b").id;
    // Id order and tenant order differ: open actions come in id order.
    store.put_action(&action(&b, "act_1", "k1")).await.unwrap();
    store.put_action(&action(&a, "act_2", "k2")).await.unwrap();
    let mut done = action(&a, "act_3", "k3");
    done.status = ActionStatus::Succeeded;
    store.put_action(&done).await.unwrap();
    let mut other_user = action(&a, "act_4", "k4");
    other_user.user_id = UserId::parse("usr_2").unwrap();
    store.put_action(&other_user).await.unwrap();
    assert_eq!(
        action_ids(&store.open_actions().await.unwrap()),
        ["act_1", "act_2", "act_4"]
    );

    // Scoped by tenant, also by idempotency key (b's "k1" is not a's).
    let act_1 = ActionId::parse("act_1").unwrap();
    assert!(store.get_action(&a, &act_1).await.unwrap().is_none());
    assert_eq!(
        store.get_action(&b, &act_1).await.unwrap(),
        Some(action(&b, "act_1", "k1"))
    );
    assert!(store.find_action_by_key(&a, "k1").await.unwrap().is_none());
    assert_eq!(
        store
            .find_action_by_key(&b, "k1")
            .await
            .unwrap()
            .map(|x| x.id),
        Some(act_1.clone())
    );
    assert!(store
        .create_action(&action(&a, "act_5", "k1"))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.locate(Locatable::Action, "act_5").await.unwrap(),
        Some(a.clone())
    );
    // A taken key returns the action holding it and writes nothing.
    let existing = store
        .create_action(&action(&a, "act_6", "k2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(existing.id.as_str(), "act_2");
    assert!(store
        .get_action(&a, &ActionId::parse("act_6").unwrap())
        .await
        .unwrap()
        .is_none());
    assert!(store
        .locate(Locatable::Action, "act_6")
        .await
        .unwrap()
        .is_none());

    // Finishing an action takes it off the executor's list; its key still finds it.
    let mut finished = action(&b, "act_1", "k1");
    finished.status = ActionStatus::Failed;
    finished.attempts = 3;
    store.put_action(&finished).await.unwrap();
    assert_eq!(
        action_ids(&store.open_actions().await.unwrap()),
        ["act_2", "act_4", "act_5"]
    );
    assert_eq!(
        store.find_action_by_key(&b, "k1").await.unwrap(),
        Some(finished.clone())
    );

    let list = |filter: ActionFilter, limit: usize, cursor: Option<String>| {
        let store = store.clone();
        let a = a.clone();
        async move {
            let page = store
                .list_actions(&a, &filter, &PageRequest::new(limit, cursor))
                .await
                .unwrap();
            (action_ids(&page.items), page.next_cursor)
        }
    };
    let first = list(ActionFilter::default(), 2, None).await;
    assert_eq!(
        first,
        (vec!["act_2".into(), "act_3".into()], Some("act_3".into()))
    );
    assert_eq!(
        list(ActionFilter::default(), 2, first.1).await,
        (vec!["act_4".into(), "act_5".into()], None)
    );
    let pending = || ActionFilter {
        status: Some(ActionStatus::Pending),
        ..Default::default()
    };
    assert_eq!(
        list(pending(), 10, None).await.0,
        ["act_2", "act_4", "act_5"].map(String::from)
    );
    assert_eq!(
        list(pending(), 1, Some("act_2".into())).await,
        (vec!["act_4".into()], Some("act_4".into()))
    );
    let of_user = ActionFilter {
        user_id: Some(UserId::parse("usr_2").unwrap()),
        status: Some(ActionStatus::Pending),
    };
    assert_eq!(list(of_user, 10, None).await, (vec!["act_4".into()], None));

    // After a restart the executor finds the same open actions.
    drop(store);
    let store = backend.open().await;
    assert_eq!(
        action_ids(&store.open_actions().await.unwrap()),
        ["act_2", "act_4", "act_5"]
    );
    assert_eq!(store.get_action(&b, &act_1).await.unwrap(), Some(finished));

    // A write naming an action id another tenant holds never changes that tenant's action.
    let act_2 = ActionId::parse("act_2").unwrap();
    let before = store.get_action(&a, &act_2).await.unwrap();
    let _ = store.put_action(&action(&b, "act_2", "k9")).await;
    assert_eq!(store.get_action(&a, &act_2).await.unwrap(), before);
    assert_eq!(store.find_action_by_key(&a, "k2").await.unwrap(), before);
}

async fn an_idempotency_key_is_claimed_once_however_many_race_for_it(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_idem").id;
    // Three times PostgreSQL's default pool: a loser that took a second connection while
    // holding its first starved the pool for good once more racers than connections queued.
    let racers = 3 * gatehouse_store::PgOptions::new("").pool_size;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(racers));
    let mut tasks = Vec::new();
    for n in 0..racers {
        let (store, barrier, a) = (store.clone(), barrier.clone(), a.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store
                .create_action(&action(&a, &format!("act_{n}"), "key:same"))
                .await
                .unwrap()
        }));
    }
    let mut written = 0;
    let mut existing = std::collections::BTreeSet::new();
    for task in tasks {
        let answer = tokio::time::timeout(std::time::Duration::from_secs(60), task)
            .await
            .expect("every racer is answered within a minute");
        match answer.unwrap() {
            None => written += 1,
            Some(found) => {
                existing.insert(found.id.to_string());
            }
        }
    }
    assert_eq!(written, 1, "exactly one writer claims the key");
    assert_eq!(existing.len(), 1, "every other writer gets that one action");
    let claimed = store
        .find_action_by_key(&a, "key:same")
        .await
        .unwrap()
        .unwrap();
    assert!(existing.contains(&claimed.id.to_string()));
    assert_eq!(
        store.open_actions().await.unwrap().len(),
        1,
        "the losers wrote nothing"
    );
    // Another tenant's key of the same name is its own.
    let b = tenant("ten_idem_b").id;
    assert!(store
        .create_action(&action(&b, "act_b", "key:same"))
        .await
        .unwrap()
        .is_none());
}

conformance!(batched_reads_answer_as_their_single_reads);

/// `get_users` and `detections_about_each` (one read for a page of accounts) give what their
/// one-at-a-time counterparts give, and stay within the tenant.
async fn batched_reads_answer_as_their_single_reads(backend: Backend) {
    let store = backend.open().await;
    let a = tenant("ten_batch");
    let other = tenant("ten_batch2");
    for t in [&a, &other] {
        store.create_tenant(t).await.unwrap();
    }
    let int = super::support::integration(&a.id, 1);
    store.create_integration(&int, &[]).await.unwrap();
    let users: Vec<_> = (1..=5)
        .map(|n| super::support::user(&a.id, &int.id, n, &format!("u{n}@a.example")))
        .collect();
    store.upsert_users(&a.id, &users).await.unwrap();
    let mut asked: Vec<_> = users.iter().map(|u| u.id.clone()).collect();
    asked.push(gatehouse_core::UserId::parse("usr_999999").unwrap());
    let mut got: Vec<String> = store
        .get_users(&a.id, &asked)
        .await
        .unwrap()
        .iter()
        .map(|u| u.id.to_string())
        .collect();
    got.sort();
    let mut want: Vec<String> = users.iter().map(|u| u.id.to_string()).collect();
    want.sort();
    assert_eq!(got, want);
    assert!(store.get_users(&other.id, &asked).await.unwrap().is_empty());

    for (id, subject, minute) in [
        ("det_b1", "account:usr_1", 0),
        ("det_b2", "account:usr_1", 30),
        ("det_b3", "account:usr_2", 60),
        ("det_b4", "ip:10.0.0.1", 90),
    ] {
        store
            .put_detection(&detection(&a.id, id, "brute_force", minute), subject)
            .await
            .unwrap();
    }
    let subjects: Vec<String> = [
        "account:usr_2",
        "account:usr_1",
        "account:usr_9",
        "account:usr_1",
    ]
    .map(String::from)
    .to_vec();
    for since in [t0(), t0() + Duration::minutes(31)] {
        let each = store
            .detections_about_each(&a.id, &subjects, since)
            .await
            .unwrap();
        assert_eq!(each.len(), subjects.len());
        for (subject, found) in subjects.iter().zip(&each) {
            let single = store.detections_about(&a.id, subject, since).await.unwrap();
            assert_eq!(detection_ids(found), detection_ids(&single), "{subject}");
        }
    }
    let elsewhere = store
        .detections_about_each(&other.id, &subjects, t0())
        .await
        .unwrap();
    assert!(elsewhere.iter().all(Vec::is_empty));
}
