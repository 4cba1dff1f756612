//! The engine's pipelines against a scripted connector: pulls with cursors, failures and resume,
//! identity correlation, group memberships, sign-in dedupe, push ingest, and the action executor
//! (guards, dry runs, retries, idempotency, resume after a restart).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use gatehouse_connect::Backoff;
use gatehouse_core::catalog::{self, ProviderDescriptor};
use gatehouse_core::model::{Action, ActionKind, ActionStatus, EventCategory, Outcome, UserStatus};
use gatehouse_core::provider::{
    Capabilities, CheckReport, Connector, ConnectorContext, ConnectorError, ConnectorFactory,
    ConnectorRegistry,
};
use gatehouse_core::records::{
    AccountState, ActionReport, ActionTarget, EventPage, Page, ProviderEvent, ProviderGroup,
    ProviderUser, PullMode, PushOutcome, PushRequest,
};
use gatehouse_core::{SystemClock, TenantId};
use gatehouse_engine::actions::{ActionRequest, ExecutorPolicy};
use gatehouse_engine::ingest::PushResult;
use gatehouse_engine::outputs::{OutputConfig, OutputFormat, SIGNATURE_HEADER};
use gatehouse_engine::secrets::{MasterKey, Sealer};
use gatehouse_engine::sync::{SyncJob, SyncOutcome};
use gatehouse_engine::{
    Engine, EngineError, EngineOptions, Gateway, GatewayOptions, NewIntegration,
};
use gatehouse_store::journal::{Journal, JournalOptions};
use gatehouse_store::{PageRequest, SignInFilter, SledStore, Store, UserFilter};
use serde_json::{json, Map, Value};

/// What the scripted provider holds and what it was asked.
#[derive(Default)]
struct Script {
    /// Pages of users; a `None` entry fails that call once (Unavailable).
    user_pages: Vec<Vec<ProviderUser>>,
    fail_user_page: Option<usize>,
    users_calls: Vec<(String, Option<String>)>,
    groups: Vec<ProviderGroup>,
    /// Event pages served in order; each call pops one (empty page when none left).
    event_pages: VecDeque<Vec<ProviderEvent>>,
    signin_cursors: Vec<Option<String>>,
    /// Results for `act`, popped per call; success when empty.
    act_results: VecDeque<Result<ActionReport, ConnectorError>>,
    acts: Vec<(ActionKind, String)>,
    push_time: Option<DateTime<Utc>>,
    /// What `signin_history_reach` answers.
    history_reach: Option<chrono::Duration>,
    /// Holds the users page of this index: signals the first `Notify` on arrival, then waits
    /// for the second before answering.
    hold_user_page: Option<(usize, Arc<tokio::sync::Notify>, Arc<tokio::sync::Notify>)>,
}

struct Fake(Arc<Mutex<Script>>);

#[async_trait]
impl Connector for Fake {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            users: true,
            groups: true,
            signins: true,
            push: true,
            actions: vec![ActionKind::DisableAccount, ActionKind::RevokeSessions],
        }
    }

    async fn check(&self) -> Result<CheckReport, ConnectorError> {
        Ok(CheckReport {
            principal: Some("admin@fake".into()),
            notes: vec![],
        })
    }

    async fn users_page(
        &self,
        mode: PullMode,
        cursor: Option<&str>,
    ) -> Result<Page<ProviderUser>, ConnectorError> {
        let index: usize = cursor.map_or(0, |c| c.trim_start_matches("page-").parse().unwrap());
        let hold = {
            let mut s = self.0.lock().unwrap();
            match &s.hold_user_page {
                Some((at, _, _)) if *at == index => s.hold_user_page.take(),
                _ => None,
            }
        };
        if let Some((_, arrived, release)) = hold {
            arrived.notify_one();
            release.notified().await;
        }
        let mut s = self.0.lock().unwrap();
        let mode = match mode {
            PullMode::Full => "full".to_owned(),
            PullMode::Changed { since } => format!("since {}", since.to_rfc3339()),
        };
        s.users_calls.push((mode, cursor.map(str::to_owned)));
        if s.fail_user_page == Some(index) {
            s.fail_user_page = None;
            return Err(ConnectorError::Unavailable("scripted outage".into()));
        }
        let items = s.user_pages.get(index).cloned().unwrap_or_default();
        let next = (index + 1 < s.user_pages.len()).then(|| format!("page-{}", index + 1));
        Ok(Page {
            items,
            next_cursor: next,
        })
    }

    async fn groups_page(
        &self,
        _cursor: Option<&str>,
    ) -> Result<Page<ProviderGroup>, ConnectorError> {
        Ok(Page {
            items: self.0.lock().unwrap().groups.clone(),
            next_cursor: None,
        })
    }

    async fn signins_page(&self, cursor: Option<&str>) -> Result<EventPage, ConnectorError> {
        let mut s = self.0.lock().unwrap();
        s.signin_cursors.push(cursor.map(str::to_owned));
        let n: usize = cursor.map_or(0, |c| c.trim_start_matches("log-").parse().unwrap());
        match s.event_pages.pop_front() {
            Some(events) => Ok(EventPage {
                events,
                next_cursor: Some(format!("log-{}", n + 1)),
                caught_up: false,
            }),
            None => Ok(EventPage {
                events: vec![],
                next_cursor: Some(format!("log-{n}")),
                caught_up: true,
            }),
        }
    }

    fn signin_history_reach(&self) -> Option<chrono::Duration> {
        self.0.lock().unwrap().history_reach
    }

    fn decode_push(&self, request: &PushRequest) -> Result<PushOutcome, ConnectorError> {
        if let Some(challenge) = request.header("x-challenge") {
            return Ok(PushOutcome::Respond {
                status: 200,
                body: json!({"verification": challenge}),
            });
        }
        let ids: Vec<String> = serde_json::from_slice(&request.body)
            .map_err(|e| ConnectorError::BadPush(e.to_string()))?;
        // Pushed events are recent, as real pushes are (risk scores decay with age), and keep
        // their time across redeliveries, as providers do.
        let now = *self
            .0
            .lock()
            .unwrap()
            .push_time
            .get_or_insert_with(|| gatehouse_core::Clock::now(&SystemClock));
        Ok(PushOutcome::Events(
            ids.iter()
                .map(|id| ProviderEvent {
                    time: now,
                    ..event(id, "00u1", Outcome::Failure, 0)
                })
                .collect(),
        ))
    }

    async fn act(
        &self,
        action: ActionKind,
        target: &ActionTarget,
    ) -> Result<ActionReport, ConnectorError> {
        let mut s = self.0.lock().unwrap();
        s.acts.push((action, target.external_id.clone()));
        s.act_results.pop_front().unwrap_or_else(|| {
            Ok(ActionReport {
                changed: true,
                detail: format!("{action:?} done"),
                account: None,
            })
        })
    }
}

struct FakeFactory(Arc<Mutex<Script>>);

impl ConnectorFactory for FakeFactory {
    fn descriptor(&self) -> &'static ProviderDescriptor {
        &catalog::OKTA
    }
    fn build(&self, _context: ConnectorContext) -> Result<Arc<dyn Connector>, ConnectorError> {
        Ok(Arc::new(Fake(Arc::clone(&self.0))))
    }
}

fn t(minute: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_780_000_000 + minute * 60, 0).unwrap()
}

fn puser(id: &str, email: &str, status: UserStatus) -> ProviderUser {
    ProviderUser {
        external_id: id.into(),
        login: email.into(),
        email: Some(email.into()),
        emails: vec![],
        display_name: Some(format!("User {id}")),
        given_name: None,
        family_name: None,
        status,
        status_flags: vec![],
        department: None,
        title: None,
        manager: None,
        groups: None,
        mfa_enrolled: Some(false),
        mfa_factors: vec![],
        is_admin: false,
        created_at: None,
        last_login_at: None,
        updated_at: Some(t(0)),
        raw: None,
    }
}

fn event(id: &str, user: &str, outcome: Outcome, minute: i64) -> ProviderEvent {
    ProviderEvent {
        provider_event_id: id.into(),
        time: t(minute),
        category: EventCategory::Authentication,
        event_type: "user.session.start".into(),
        external_user_id: Some(user.into()),
        login: None,
        outcome,
        reason: None,
        ip: Some("198.51.100.7".into()),
        country: Some("United States".into()),
        city: None,
        latitude: None,
        longitude: None,
        asn: None,
        user_agent: None,
        device: None,
        mfa_factor: None,
        session_id: None,
        is_proxy: None,
        provider_risk: None,
        raw: None,
    }
}

struct Harness {
    engine: Arc<Engine>,
    script: Arc<Mutex<Script>>,
    store: Arc<dyn Store>,
    tenant: TenantId,
    _dir: tempfile::TempDir,
}

async fn harness_in(
    dir: tempfile::TempDir,
    key: &MasterKey,
    script: Arc<Mutex<Script>>,
) -> Harness {
    harness_with(dir, key, script, OutputConfig::default()).await
}

async fn harness_with(
    dir: tempfile::TempDir,
    key: &MasterKey,
    script: Arc<Mutex<Script>>,
    outputs: OutputConfig,
) -> Harness {
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).unwrap());
    let mut registry = ConnectorRegistry::new();
    registry.register(FakeFactory(Arc::clone(&script)));
    let gateway = Arc::new(Gateway::new(
        Arc::clone(&store),
        Arc::new(registry),
        Sealer::new(key),
        Arc::new(SystemClock),
        GatewayOptions::default(),
    ));
    let options = EngineOptions {
        schedules: false,
        executor: ExecutorPolicy {
            max_attempts: 3,
            backoff: Backoff {
                base: Duration::from_millis(5),
                max: Duration::from_millis(20),
                factor: 2.0,
            },
            poll: Duration::from_millis(20),
        },
        outputs,
        ..EngineOptions::default()
    };
    let engine = Engine::start(gateway, options).await.unwrap();
    Harness {
        engine,
        script,
        store,
        tenant: TenantId::parse("ten_engine").unwrap(),
        _dir: dir,
    }
}

async fn harness() -> Harness {
    harness_in(
        tempfile::tempdir().unwrap(),
        &MasterKey::generate(),
        Arc::new(Mutex::new(Script::default())),
    )
    .await
}

impl Harness {
    async fn integration(&self, config: Value) -> gatehouse_core::model::Integration {
        if self.engine.gateway.tenant(&self.tenant).await.is_err() {
            self.engine
                .gateway
                .create_tenant("Engine", Some(self.tenant.as_str()))
                .await
                .unwrap();
        }
        let config: Map<String, Value> = serde_json::from_value(config).unwrap();
        let credentials =
            serde_json::from_value(json!({"domain": "acme.okta.com", "api_token": "t"})).unwrap();
        self.engine
            .gateway
            .create_integration(NewIntegration {
                kind: "okta".into(),
                tenant_id: self.tenant.clone(),
                credentials,
                config,
            })
            .await
            .unwrap()
            .integration
    }

    async fn users(&self) -> Vec<gatehouse_core::model::User> {
        self.store
            .list_users(
                &self.tenant,
                &UserFilter::default(),
                &PageRequest::first(1000),
            )
            .await
            .unwrap()
            .items
    }

    async fn signins(&self) -> Vec<gatehouse_core::model::SignInEvent> {
        self.store
            .list_signins(
                &self.tenant,
                &SignInFilter::default(),
                &PageRequest::first(1000),
            )
            .await
            .unwrap()
            .items
    }

    async fn wait_for(
        &self,
        id: &gatehouse_core::ActionId,
        done: impl Fn(&Action) -> bool,
    ) -> Action {
        for _ in 0..300 {
            let action = self
                .store
                .get_action(&self.tenant, id)
                .await
                .unwrap()
                .unwrap();
            if done(&action) {
                return action;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the action did not reach the expected state");
    }
}

#[tokio::test]
async fn directory_pull_pages_resumes_after_failure_and_goes_incremental() {
    let h = harness().await;
    {
        let mut s = h.script.lock().unwrap();
        s.user_pages = vec![
            vec![
                puser("00u1", "ann@acme.example", UserStatus::Active),
                puser("00u2", "bob@acme.example", UserStatus::Suspended),
            ],
            vec![puser("00u3", "cat@acme.example", UserStatus::Deprovisioned)],
            vec![puser("00u4", "dan@acme.example", UserStatus::Staged)],
        ];
        s.fail_user_page = Some(2);
    }
    let integration = h.integration(json!({})).await;
    let err = h
        .engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Users)
        .await;
    assert!(err.is_err(), "the scripted outage fails the pull");
    assert_eq!(
        h.users().await.len(),
        3,
        "the pages before the failure are stored"
    );
    let status = h.engine.gateway.sync_status(&integration).await.unwrap();
    assert!(status
        .last_error
        .as_deref()
        .unwrap_or("")
        .contains("users pull failed"));
    assert!(status.last_success_at.is_none());
    // Another job succeeding does not hide the failed one.
    h.engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Groups)
        .await
        .unwrap();
    let status = h.engine.gateway.sync_status(&integration).await.unwrap();
    assert!(
        status
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("users pull failed"),
        "{status:?}"
    );
    assert!(
        status.jobs["users"].last_error.is_some() && status.jobs["groups"].last_error.is_none()
    );

    let done = h
        .engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Users)
        .await
        .unwrap();
    assert_eq!(
        done,
        SyncOutcome::Done { records: 1 },
        "it resumed at the failed page"
    );
    let calls = h.script.lock().unwrap().users_calls.clone();
    assert_eq!(calls.last().unwrap().1.as_deref(), Some("page-2"));
    assert!(
        calls.iter().all(|(mode, _)| mode == "full"),
        "the first pull is a full one: {calls:?}"
    );
    let users = h.users().await;
    assert_eq!(users.len(), 4);
    let status = h.engine.gateway.sync_status(&integration).await.unwrap();
    assert!(status.last_error.is_none() && status.last_success_at.is_some());

    // The next run is incremental, from the start of the last successful pull.
    let ids_before: Vec<_> = users
        .iter()
        .map(|u| (u.external_id.clone(), u.id.clone()))
        .collect();
    h.engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Users)
        .await
        .unwrap();
    let calls = h.script.lock().unwrap().users_calls.clone();
    assert!(calls.last().unwrap().0.starts_with("since "), "{calls:?}");
    // Re-pulled accounts keep their Gatehouse ids.
    for (external, id) in ids_before {
        let again = h
            .store
            .find_user_by_external_id(&h.tenant, &integration.id, &external)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.id, id);
    }
    // A full pull ignores the incremental cursor.
    h.engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::FullUsers)
        .await
        .unwrap();
    assert_eq!(
        h.script.lock().unwrap().users_calls.last().unwrap().0,
        "full"
    );
}

#[tokio::test]
async fn identities_join_accounts_by_email_across_integrations() {
    let h = harness().await;
    h.script.lock().unwrap().user_pages =
        vec![vec![puser("00u1", "Ann@Acme.example", UserStatus::Active)]];
    let first = h.integration(json!({})).await;
    let second = h.integration(json!({})).await;
    h.engine
        .sync
        .run(&h.tenant, &first.id, SyncJob::Users)
        .await
        .unwrap();
    h.script.lock().unwrap().user_pages = vec![vec![puser(
        "xyz",
        "ann@acme.example",
        UserStatus::Suspended,
    )]];
    h.engine
        .sync
        .run(&h.tenant, &second.id, SyncJob::Users)
        .await
        .unwrap();
    let users = h.users().await;
    assert_eq!(users.len(), 2);
    let identity = users[0].identity_id.clone().unwrap();
    assert_eq!(users[1].identity_id.as_ref(), Some(&identity));
    let person = h
        .store
        .get_identity(&h.tenant, &identity)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(person.accounts.len(), 2);
    assert_eq!(person.emails, vec!["ann@acme.example".to_owned()]);

    // Deleting an integration takes its accounts out of the inventory and out of the person.
    h.engine
        .gateway
        .delete_integration(&h.tenant, &second.id)
        .await
        .unwrap();
    let users = h.users().await;
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0].integration_id, first.id);
    let person = h
        .store
        .get_identity(&h.tenant, &identity)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(person.accounts, vec![users[0].id.clone()]);
}

#[tokio::test]
async fn a_pull_stops_when_its_integration_is_deleted_under_it() {
    let h = harness().await;
    let (arrived, release) = (
        Arc::new(tokio::sync::Notify::new()),
        Arc::new(tokio::sync::Notify::new()),
    );
    {
        let mut script = h.script.lock().unwrap();
        script.user_pages = vec![
            vec![puser("00u1", "ann@acme.example", UserStatus::Active)],
            vec![puser("00u2", "bob@acme.example", UserStatus::Active)],
        ];
        script.hold_user_page = Some((1, Arc::clone(&arrived), Arc::clone(&release)));
    }
    let integration = h.integration(json!({})).await;
    let pull = {
        let engine = Arc::clone(&h.engine);
        let (tenant, id) = (h.tenant.clone(), integration.id.clone());
        tokio::spawn(async move { engine.sync.run(&tenant, &id, SyncJob::Users).await })
    };
    arrived.notified().await;
    assert_eq!(h.users().await.len(), 1, "the first page is stored");
    h.engine
        .gateway
        .delete_integration(&h.tenant, &integration.id)
        .await
        .unwrap();
    release.notify_one();
    let outcome = pull.await.unwrap();
    assert!(
        matches!(outcome, Err(EngineError::NotFound(_))),
        "{outcome:?}"
    );
    assert!(h.users().await.is_empty(), "no account came back");
    assert!(h
        .store
        .get_sync_status(&h.tenant, &integration.id)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn groups_set_memberships_on_accounts() {
    let h = harness().await;
    h.script.lock().unwrap().user_pages = vec![vec![
        puser("00u1", "ann@acme.example", UserStatus::Active),
        puser("00u2", "bob@acme.example", UserStatus::Active),
    ]];
    let integration = h.integration(json!({})).await;
    h.engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Users)
        .await
        .unwrap();
    let group = |members: &[&str]| ProviderGroup {
        external_id: "00g1".into(),
        name: "Admins".into(),
        description: None,
        members: members.iter().map(|m| (*m).to_owned()).collect(),
        updated_at: None,
        raw: None,
    };
    h.script.lock().unwrap().groups = vec![group(&["00u1", "00u2"])];
    h.engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Groups)
        .await
        .unwrap();
    let groups_of = |users: &[gatehouse_core::model::User], ext: &str| {
        users
            .iter()
            .find(|u| u.external_id == ext)
            .unwrap()
            .groups
            .clone()
    };
    let users = h.users().await;
    assert_eq!(groups_of(&users, "00u1"), vec!["00g1".to_owned()]);
    assert_eq!(groups_of(&users, "00u2"), vec!["00g1".to_owned()]);
    h.script.lock().unwrap().groups = vec![group(&["00u1"])];
    h.engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Groups)
        .await
        .unwrap();
    let users = h.users().await;
    assert_eq!(groups_of(&users, "00u1"), vec!["00g1".to_owned()]);
    assert!(
        groups_of(&users, "00u2").is_empty(),
        "removed members lose the group"
    );
    let stored = h
        .store
        .list_groups(&h.tenant, &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(stored.len(), 1, "the group keeps its id across pulls");
}

#[tokio::test]
async fn signin_pull_follows_the_cursor_and_dedupes() {
    let h = harness().await;
    h.script.lock().unwrap().user_pages =
        vec![vec![puser("00u1", "ann@acme.example", UserStatus::Active)]];
    let integration = h.integration(json!({})).await;
    h.engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Users)
        .await
        .unwrap();
    h.script.lock().unwrap().event_pages = VecDeque::from(vec![
        vec![
            event("e1", "00u1", Outcome::Failure, 1),
            event("e2", "00u1", Outcome::Success, 2),
        ],
        vec![
            event("e2", "00u1", Outcome::Success, 2),
            event("e3", "unknown", Outcome::Failure, 3),
        ],
    ]);
    let done = h
        .engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Signins)
        .await
        .unwrap();
    assert_eq!(
        done,
        SyncOutcome::Done { records: 3 },
        "e2 twice is stored once"
    );
    let cursors = h.script.lock().unwrap().signin_cursors.clone();
    assert_eq!(
        cursors,
        vec![None, Some("log-1".to_owned()), Some("log-2".to_owned())]
    );
    let signins = h
        .store
        .list_signins(&h.tenant, &SignInFilter::default(), &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(signins.len(), 3);
    let ann = h.users().await.remove(0);
    assert_eq!(
        signins
            .iter()
            .filter(|s| s.user_id.as_ref() == Some(&ann.id))
            .count(),
        2
    );
    // The next run starts from the persisted cursor.
    h.engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Signins)
        .await
        .unwrap();
    assert_eq!(
        h.script
            .lock()
            .unwrap()
            .signin_cursors
            .last()
            .unwrap()
            .as_deref(),
        Some("log-2")
    );
    let status = h.engine.gateway.sync_status(&integration).await.unwrap();
    assert_eq!(status.counts.signins, 3);
}

#[tokio::test]
async fn push_ingest_answers_handshakes_and_stores_once() {
    let h = harness().await;
    let integration = h.integration(json!({})).await;
    let request = |headers: Vec<(&str, &str)>, body: &str| PushRequest {
        method: "POST".into(),
        headers: headers
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        body: body.as_bytes().to_vec(),
    };
    let answer = h
        .engine
        .ingest
        .push(
            &h.tenant,
            &integration.id,
            &request(vec![("x-challenge", "abc")], ""),
        )
        .await
        .unwrap();
    assert_eq!(
        answer,
        PushResult::Respond {
            status: 200,
            body: json!({"verification": "abc"})
        }
    );
    let stored = h
        .engine
        .ingest
        .push(
            &h.tenant,
            &integration.id,
            &request(vec![], r#"["p1","p2"]"#),
        )
        .await
        .unwrap();
    assert!(matches!(
        stored,
        PushResult::Stored {
            received: 2,
            stored: 2
        }
    ));
    let again = h
        .engine
        .ingest
        .push(
            &h.tenant,
            &integration.id,
            &request(vec![], r#"["p2","p3"]"#),
        )
        .await
        .unwrap();
    assert!(matches!(
        again,
        PushResult::Stored {
            received: 2,
            stored: 1
        }
    ));
    assert!(h
        .engine
        .ingest
        .push(&h.tenant, &integration.id, &request(vec![], "not json"))
        .await
        .is_err());
}

/// With the inbox, a push is acknowledged once durable in the journal and stored behind the
/// answer; readers wait for `settled`. What a stopped daemon left in the journal is stored when
/// the next one starts, and redeliveries are stored once.
#[tokio::test]
async fn the_push_inbox_stores_behind_the_answer_once_and_replays_what_was_left() {
    let h = harness().await;
    let integration = h.integration(json!({})).await;
    let delivery = |body: &str| PushRequest {
        method: "POST".into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    };
    let inbox_dir = tempfile::tempdir().unwrap();
    // A previous daemon acknowledged these and stopped before storing them.
    {
        let journal = Journal::open(JournalOptions::new(inbox_dir.path())).unwrap();
        for body in [r#"["q1","q2"]"#, r#"["q2"]"#] {
            let record = gatehouse_engine::inbox::record::encode(
                gatehouse_core::Clock::now(&SystemClock),
                &h.tenant,
                &integration.id,
                &delivery(body),
            );
            journal.append(record).await.unwrap();
        }
    }
    let journal = Arc::new(Journal::open(JournalOptions::new(inbox_dir.path())).unwrap());
    let engine = Engine::start(
        Arc::clone(&h.engine.gateway),
        EngineOptions {
            schedules: false,
            inbox: Some(Arc::clone(&journal)),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(engine.ingest.settled(Duration::from_secs(10)).await);
    let ids = |signins: Vec<gatehouse_core::model::SignInEvent>| {
        let mut ids: Vec<_> = signins.into_iter().map(|e| e.provider_event_id).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(h.signins().await), ["q1", "q2"]);

    let answer = engine
        .ingest
        .push(&h.tenant, &integration.id, &delivery(r#"["q2","q3"]"#))
        .await
        .unwrap();
    assert_eq!(answer, PushResult::Queued { received: 2 });
    assert!(engine.ingest.settled(Duration::from_secs(10)).await);
    assert_eq!(ids(h.signins().await), ["q1", "q2", "q3"]);
    // The checkpoint follows once the store has synced what was stored (about a second later).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while journal.checkpoint() < journal.durable_end() {
        assert!(
            std::time::Instant::now() < deadline,
            "the checkpoint never reached the end of the journal"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Refused at the door, so never acknowledged nor queued.
    let before = journal.durable_end();
    assert!(engine
        .ingest
        .push(&h.tenant, &integration.id, &delivery("not json"))
        .await
        .is_err());
    assert_eq!(journal.durable_end(), before);
    let inbox = engine.ingest.inbox().unwrap();
    assert_eq!(inbox.backlog_bytes(), 0);
}

/// An integration whose account 00u1 was created 400 days ago, then a first sign-in pull with
/// that account's only success (a minute ago), assessed by the runner. Returns the account.
async fn first_success_after_a_first_pull(
    h: &Harness,
    reach: Option<chrono::Duration>,
) -> gatehouse_core::UserId {
    let now = gatehouse_core::Clock::now(&SystemClock);
    {
        let mut s = h.script.lock().unwrap();
        let mut ann = puser("00u1", "ann@acme.example", UserStatus::Active);
        ann.created_at = Some(now - chrono::Duration::days(400));
        s.user_pages = vec![vec![ann]];
        s.history_reach = reach;
        s.event_pages = VecDeque::from(vec![vec![ProviderEvent {
            time: now - chrono::Duration::minutes(1),
            ..event(&format!("first-{reach:?}"), "00u1", Outcome::Success, 0)
        }]]);
    }
    let integration = h.integration(json!({})).await;
    for job in [SyncJob::Users, SyncJob::Signins] {
        h.engine
            .sync
            .run(&h.tenant, &integration.id, job)
            .await
            .unwrap();
    }
    h.store
        .find_user_by_external_id(&h.tenant, &integration.id, "00u1")
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test]
async fn a_first_success_is_dormant_only_when_the_pulled_history_proves_it() {
    let h = harness().await;
    // Without a known history start, no stored success proves nothing.
    let unknown = first_success_after_a_first_pull(&h, None).await;
    // A pull reaching back only 30 days proves nothing about the 90 days before the success.
    let short = first_success_after_a_first_pull(&h, Some(chrono::Duration::days(30))).await;
    // The first pull reached 100 days back, so the store holds every success of the last 100
    // days: none in 90 days for an account 400 days old is dormancy.
    let proven = first_success_after_a_first_pull(&h, Some(chrono::Duration::days(100))).await;
    let mut dormant = Vec::new();
    for _ in 0..300 {
        dormant = h
            .store
            .list_detections(&h.tenant, &Default::default(), &PageRequest::first(100))
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|d| d.kind == "dormant_account")
            .filter_map(|d| d.user_id)
            .collect();
        if !dormant.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The runner assesses in order, so the two earlier successes were assessed by now.
    assert_eq!(dormant, [proven]);
    assert!(!dormant.contains(&unknown) && !dormant.contains(&short));
}

async fn with_user(
    h: &Harness,
    config: Value,
) -> (gatehouse_core::model::Integration, gatehouse_core::UserId) {
    h.script.lock().unwrap().user_pages =
        vec![vec![puser("00u1", "ann@acme.example", UserStatus::Active)]];
    let integration = h.integration(config).await;
    h.engine
        .sync
        .run(&h.tenant, &integration.id, SyncJob::Users)
        .await
        .unwrap();
    let user = h
        .store
        .find_user_by_external_id(&h.tenant, &integration.id, "00u1")
        .await
        .unwrap()
        .unwrap();
    (integration, user.id)
}

fn request(h: &Harness, user: &gatehouse_core::UserId, kind: ActionKind) -> ActionRequest {
    ActionRequest {
        tenant: h.tenant.clone(),
        user_id: user.clone(),
        kind,
        reason: Some("test".into()),
        dry_run: false,
        requested_by: "test".into(),
        detection_id: None,
        idempotency_key: None,
        automatic: false,
        needs_approval: false,
    }
}

#[tokio::test]
async fn actions_are_skipped_unless_the_integration_allows_them() {
    let h = harness().await;
    let (_, user) = with_user(&h, json!({"enable_response_actions": false})).await;
    let action = h
        .engine
        .actions
        .request(request(&h, &user, ActionKind::DisableAccount))
        .await
        .unwrap();
    assert_eq!(action.status, ActionStatus::Pending);
    let done = h.wait_for(&action.id, |a| a.status.is_final()).await;
    assert_eq!(done.status, ActionStatus::Skipped);
    assert!(done
        .result
        .as_deref()
        .unwrap()
        .contains("enable_response_actions"));
    assert!(
        h.script.lock().unwrap().acts.is_empty(),
        "nothing reached the provider"
    );
}

#[tokio::test]
async fn actions_run_retry_and_record_every_transition() {
    let h = harness().await;
    let (_, user) = with_user(&h, json!({"enable_response_actions": true})).await;
    h.script.lock().unwrap().act_results = VecDeque::from(vec![
        Err(ConnectorError::Unavailable("503".into())),
        Err(ConnectorError::RateLimited {
            retry_after: Some(Duration::from_millis(30)),
        }),
    ]);
    let action = h
        .engine
        .actions
        .request(request(&h, &user, ActionKind::DisableAccount))
        .await
        .unwrap();
    let done = h.wait_for(&action.id, |a| a.status.is_final()).await;
    assert_eq!(done.status, ActionStatus::Succeeded, "{done:?}");
    assert_eq!(done.attempts, 3);
    let path: Vec<ActionStatus> = done.history.iter().map(|t| t.to).collect();
    use ActionStatus::{Pending, Running, Succeeded};
    assert_eq!(
        path,
        vec![Pending, Running, Pending, Running, Pending, Running, Succeeded]
    );
    assert_eq!(
        h.script.lock().unwrap().acts,
        vec![(ActionKind::DisableAccount, "00u1".to_owned()); 3]
    );

    // Permanent errors fail at once; transient ones fail after the last attempt.
    h.script.lock().unwrap().act_results =
        VecDeque::from(vec![Err(ConnectorError::Forbidden("E0000006".into()))]);
    let action = h
        .engine
        .actions
        .request(request(&h, &user, ActionKind::RevokeSessions))
        .await
        .unwrap();
    let done = h.wait_for(&action.id, |a| a.status.is_final()).await;
    assert_eq!((done.status, done.attempts), (ActionStatus::Failed, 1));
    assert!(done.error.unwrap().contains("E0000006"));
    h.script.lock().unwrap().act_results = (0..3)
        .map(|_| Err(ConnectorError::Unavailable("down".into())))
        .collect();
    let action = h
        .engine
        .actions
        .request(request(&h, &user, ActionKind::RevokeSessions))
        .await
        .unwrap();
    let done = h.wait_for(&action.id, |a| a.status.is_final()).await;
    assert_eq!((done.status, done.attempts), (ActionStatus::Failed, 3));
    // Unsupported by the connector.
    let action = h
        .engine
        .actions
        .request(request(&h, &user, ActionKind::EnforceMfa))
        .await
        .unwrap();
    let done = h.wait_for(&action.id, |a| a.status.is_final()).await;
    assert_eq!(done.status, ActionStatus::Skipped);
}

#[tokio::test]
async fn the_account_state_an_action_reports_reaches_the_inventory_at_once() {
    let h = harness().await;
    let (_, user) = with_user(&h, json!({"enable_response_actions": true})).await;
    let suspended = AccountState {
        status: UserStatus::Suspended,
        status_flags: vec![],
    };
    h.script.lock().unwrap().act_results = VecDeque::from(vec![
        Ok(ActionReport {
            changed: true,
            detail: "suspended".into(),
            account: Some(suspended),
        }),
        // A report without the account's state leaves the inventory as it is.
        Ok(ActionReport {
            changed: true,
            detail: "revoked".into(),
            account: None,
        }),
    ]);
    for kind in [ActionKind::DisableAccount, ActionKind::RevokeSessions] {
        let action = h
            .engine
            .actions
            .request(request(&h, &user, kind))
            .await
            .unwrap();
        let done = h.wait_for(&action.id, |a| a.status.is_final()).await;
        assert_eq!(done.status, ActionStatus::Succeeded, "{done:?}");
        let stored = h.store.get_user(&h.tenant, &user).await.unwrap().unwrap();
        assert_eq!(stored.status, UserStatus::Suspended, "after {kind:?}");
        assert!(stored.updated_at.is_some());
    }
    let suspended_users = h
        .store
        .list_users(
            &h.tenant,
            &gatehouse_store::UserFilter {
                status: Some(UserStatus::Suspended),
                ..Default::default()
            },
            &gatehouse_store::PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(suspended_users.items.len(), 1, "the status filter sees it");
}

#[tokio::test]
async fn dry_runs_and_idempotency_keys() {
    let h = harness().await;
    let (_, user) = with_user(&h, json!({"enable_response_actions": true})).await;
    let mut dry = request(&h, &user, ActionKind::DisableAccount);
    dry.dry_run = true;
    let action = h.engine.actions.request(dry).await.unwrap();
    let done = h.wait_for(&action.id, |a| a.status.is_final()).await;
    assert_eq!(done.status, ActionStatus::Skipped);
    assert!(done
        .result
        .unwrap()
        .starts_with("dry run: would disable the account of ann@acme.example"));
    assert!(h.script.lock().unwrap().acts.is_empty());

    let mut keyed = request(&h, &user, ActionKind::RevokeSessions);
    keyed.idempotency_key = Some("ticket-42".into());
    let first = h.engine.actions.request(keyed.clone()).await.unwrap();
    let second = h.engine.actions.request(keyed).await.unwrap();
    assert_eq!(first.id, second.id);
    h.wait_for(&first.id, |a| a.status.is_final()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        h.script.lock().unwrap().acts.len(),
        1,
        "the keyed action ran once"
    );
}

#[tokio::test]
async fn actions_left_running_by_a_dead_process_run_again() {
    let h = harness().await;
    let (_, user) = with_user(&h, json!({"enable_response_actions": true})).await;
    let template = h
        .engine
        .actions
        .request(request(&h, &user, ActionKind::DisableAccount))
        .await
        .unwrap();
    h.wait_for(&template.id, |a| a.status.is_final()).await;
    h.script.lock().unwrap().acts.clear();
    // As a crashed process leaves them: one marked running, one pending and due later.
    let mut running = template.clone();
    running.id = gatehouse_core::ActionId::parse("act_left_running").unwrap();
    running.idempotency_key = "left-running".into();
    running.status = ActionStatus::Running;
    running.attempts = 1;
    running.next_attempt_at = None;
    let mut later = template.clone();
    later.id = gatehouse_core::ActionId::parse("act_left_pending").unwrap();
    later.idempotency_key = "left-pending".into();
    later.status = ActionStatus::Pending;
    later.next_attempt_at =
        Some(h.engine.gateway.clock().now() + chrono::Duration::milliseconds(300));
    h.store.put_action(&running).await.unwrap();
    h.store.put_action(&later).await.unwrap();
    let resumed = h.wait_for(&running.id, |a| a.status.is_final()).await;
    assert_eq!(
        (resumed.status, resumed.attempts),
        (ActionStatus::Succeeded, 2)
    );
    let early = h
        .store
        .get_action(&h.tenant, &later.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(early.status, ActionStatus::Pending, "not before its time");
    let done = h.wait_for(&later.id, |a| a.status.is_final()).await;
    assert_eq!(done.status, ActionStatus::Succeeded);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        h.script.lock().unwrap().acts.len(),
        2,
        "each ran exactly once"
    );
    assert!(h.store.open_actions().await.unwrap().is_empty());
}

#[tokio::test]
async fn guards_protect_accounts_cap_disables_and_wait_for_approval() {
    use gatehouse_core::model::TenantSettings;
    let h = harness().await;
    let (_, user) = with_user(&h, json!({"enable_response_actions": true})).await;
    h.engine
        .gateway
        .update_tenant(
            &h.tenant,
            None,
            Some(TenantSettings {
                protected_accounts: vec!["ANN@acme.example".into()],
                max_auto_disables_per_10m: Some(1),
                risk: None,
            }),
        )
        .await
        .unwrap();
    let automatic = |kind| ActionRequest {
        automatic: true,
        requested_by: "policy:pol_test".into(),
        ..request(&h, &user, kind)
    };
    // A protected account is never disabled automatically…
    let skipped = h
        .engine
        .actions
        .request(automatic(ActionKind::DisableAccount))
        .await
        .unwrap();
    assert_eq!(skipped.status, ActionStatus::Skipped);
    assert!(skipped.history[0].cause.contains("protected account"));
    // …but a person may still do it, and other automatic actions run.
    let manual = h
        .engine
        .actions
        .request(request(&h, &user, ActionKind::DisableAccount))
        .await
        .unwrap();
    assert_eq!(manual.status, ActionStatus::Pending);
    let revoke = h
        .engine
        .actions
        .request(automatic(ActionKind::RevokeSessions))
        .await
        .unwrap();
    assert_eq!(revoke.status, ActionStatus::Pending);
    h.wait_for(&manual.id, |a| a.status.is_final()).await;

    // The cap: with the account unprotected, the second automatic disable in 10 minutes waits.
    h.engine
        .gateway
        .update_tenant(
            &h.tenant,
            None,
            Some(TenantSettings {
                protected_accounts: vec![],
                max_auto_disables_per_10m: Some(1),
                risk: None,
            }),
        )
        .await
        .unwrap();
    let first = h
        .engine
        .actions
        .request(automatic(ActionKind::DisableAccount))
        .await
        .unwrap();
    assert_eq!(first.status, ActionStatus::Pending);
    let second = h
        .engine
        .actions
        .request(automatic(ActionKind::DisableAccount))
        .await
        .unwrap();
    assert_eq!(
        second.status,
        ActionStatus::AwaitingApproval,
        "{:?}",
        second.history
    );
    assert!(second.history[0].cause.contains("cap of 1"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let still = h
        .store
        .get_action(&h.tenant, &second.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        still.status,
        ActionStatus::AwaitingApproval,
        "nothing runs before approval"
    );

    // Approval runs it; rejection ends it; deciding twice is a conflict.
    let before = h.script.lock().unwrap().acts.len();
    h.engine
        .actions
        .decide(&h.tenant, &second.id, true, "operator")
        .await
        .unwrap();
    let done = h.wait_for(&second.id, |a| a.status.is_final()).await;
    assert_eq!(done.status, ActionStatus::Succeeded);
    assert!(done
        .history
        .iter()
        .any(|t| t.cause == "approved by operator"));
    assert_eq!(h.script.lock().unwrap().acts.len(), before + 1);
    assert!(h
        .engine
        .actions
        .decide(&h.tenant, &second.id, true, "operator")
        .await
        .is_err());
    let mut waiting = request(&h, &user, ActionKind::RevokeSessions);
    waiting.needs_approval = true;
    let waiting = h.engine.actions.request(waiting).await.unwrap();
    assert_eq!(waiting.status, ActionStatus::AwaitingApproval);
    let rejected = h
        .engine
        .actions
        .decide(&h.tenant, &waiting.id, false, "alice")
        .await
        .unwrap();
    assert_eq!(rejected.status, ActionStatus::Rejected);
    assert!(h
        .store
        .open_actions()
        .await
        .unwrap()
        .iter()
        .all(|a| a.id != waiting.id));
}

#[tokio::test]
async fn a_pushed_brute_force_becomes_a_detection_and_a_policy_action() {
    use gatehouse_core::model::{PolicyMode, PolicyScope, PolicyWhen, Severity};
    use gatehouse_engine::policies::PolicyInput;
    let h = harness().await;
    let (integration, user) = with_user(&h, json!({"enable_response_actions": true})).await;
    h.engine
        .gateway
        .create_policy(
            &h.tenant,
            PolicyInput {
                name: "contain".into(),
                when: PolicyWhen {
                    kinds: vec!["brute_force".into()],
                    min_severity: Severity::Low,
                    providers: vec![],
                },
                then: vec![ActionKind::RevokeSessions],
                mode: PolicyMode::Auto,
                scope: PolicyScope::Account,
                enabled: true,
            },
        )
        .await
        .unwrap();
    let ids: Vec<String> = (0..12).map(|n| format!("bf-{n}")).collect();
    let push = PushRequest {
        method: "POST".into(),
        headers: vec![],
        body: serde_json::to_vec(&ids).unwrap(),
    };
    let stored = h
        .engine
        .ingest
        .push(&h.tenant, &integration.id, &push)
        .await
        .unwrap();
    assert!(matches!(stored, PushResult::Stored { received: 12, .. }));
    let mut detection = None;
    for _ in 0..300 {
        let found = h
            .store
            .list_detections(&h.tenant, &Default::default(), &PageRequest::first(10))
            .await
            .unwrap()
            .items;
        if let Some(d) = found.into_iter().find(|d| d.kind == "brute_force") {
            detection = Some(d);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let detection = detection.expect("a brute_force detection");
    assert_eq!(detection.user_id.as_ref(), Some(&user));
    assert!(detection.evidence.len() >= 10, "{detection:?}");
    let mut action = None;
    for _ in 0..300 {
        let actions = h
            .store
            .list_actions(&h.tenant, &Default::default(), &PageRequest::first(10))
            .await
            .unwrap()
            .items;
        if let Some(a) = actions
            .into_iter()
            .find(|a| a.detection_id.as_ref() == Some(&detection.id) && a.status.is_final())
        {
            action = Some(a);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let action = action.expect("the policy's action ran");
    assert_eq!(
        (action.action, action.status),
        (ActionKind::RevokeSessions, ActionStatus::Succeeded)
    );
    assert!(action.requested_by.starts_with("policy:"));
    // The same burst redelivered is one detection and no second action.
    h.engine
        .ingest
        .push(&h.tenant, &integration.id, &push)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let detections = h
        .store
        .list_detections(&h.tenant, &Default::default(), &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(
        detections
            .iter()
            .filter(|d| d.kind == "brute_force")
            .count(),
        1
    );
    assert_eq!(
        h.script
            .lock()
            .unwrap()
            .acts
            .iter()
            .filter(|(k, _)| *k == ActionKind::RevokeSessions)
            .count(),
        1
    );
    let scored = h.store.get_user(&h.tenant, &user).await.unwrap().unwrap();
    assert!(scored.risk_score > 0, "the account's risk score rose");
}

#[tokio::test]
async fn detections_go_to_a_signed_webhook_and_a_json_lines_file() {
    use axum::routing::post;
    let received: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let sink = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/alerts",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let sink = Arc::clone(&sink);
            async move {
                let signature = headers
                    .get(SIGNATURE_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                sink.lock().unwrap().push((signature, body));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("alerts.jsonl");
    let outputs = OutputConfig {
        webhook_url: Some(format!("http://{addr}/alerts")),
        webhook_secret: Some("hook-secret".to_owned().into()),
        jsonl_path: Some(jsonl.clone()),
        format: OutputFormat::Ocsf,
    };
    let h = harness_with(
        tempfile::tempdir().unwrap(),
        &MasterKey::generate(),
        Arc::new(Mutex::new(Script::default())),
        outputs,
    )
    .await;
    let (integration, _) = with_user(&h, json!({})).await;
    let ids: Vec<String> = (0..11).map(|n| format!("out-{n}")).collect();
    let push = PushRequest {
        method: "POST".into(),
        headers: vec![],
        body: serde_json::to_vec(&ids).unwrap(),
    };
    h.engine
        .ingest
        .push(&h.tenant, &integration.id, &push)
        .await
        .unwrap();
    for _ in 0..300 {
        if !received.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (signature, body) = received
        .lock()
        .unwrap()
        .first()
        .cloned()
        .expect("a webhook delivery");
    assert_eq!(
        signature,
        format!(
            "sha256={}",
            gatehouse_engine::outputs::sign("hook-secret", body.as_bytes())
        )
    );
    let document: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        document["class_uid"], 2004,
        "OCSF Detection Finding: {document}"
    );
    let lines = std::fs::read_to_string(&jsonl).unwrap();
    let first: Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(first["class_uid"], 2004);
    assert!(first["finding_info"]["title"].is_string(), "{first}");
    // Action results go to the outputs too, as OCSF Remediation Activity.
    let user = h
        .store
        .find_user_by_external_id(&h.tenant, &integration.id, "00u1")
        .await
        .unwrap()
        .unwrap();
    let action = h
        .engine
        .actions
        .request(request(&h, &user.id, ActionKind::RevokeSessions))
        .await
        .unwrap();
    h.wait_for(&action.id, |a| a.status.is_final()).await;
    let mut found = None;
    for _ in 0..100 {
        let text = std::fs::read_to_string(&jsonl).unwrap();
        found = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|d| d["class_uid"] == 7001);
        if found.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let remediation = found.expect("the action's result in the JSON-lines output");
    assert_eq!(remediation["metadata"]["uid"], action.id.as_str());
    assert_eq!(remediation["unmapped"]["gatehouse"]["status"], "skipped");
}

#[test]
fn geoip_fills_what_the_provider_left_out() {
    use gatehouse_engine::geoip::GeoIp;
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/geoip-test.mmdb");
    let geoip = GeoIp::open(&path).unwrap();
    let tenant = TenantId::parse("ten_geo").unwrap();
    let integration = gatehouse_core::IntegrationId::parse("int_geo").unwrap();
    let bare = |ip: &str| gatehouse_core::model::SignInEvent {
        id: gatehouse_core::SignInId::derive(t(0), &["int_geo", ip]),
        tenant_id: tenant.clone(),
        integration_id: integration.clone(),
        provider: "okta".into(),
        provider_event_id: ip.into(),
        time: t(0),
        category: EventCategory::Authentication,
        event_type: "user.session.start".into(),
        user_id: None,
        external_user_id: None,
        login: None,
        outcome: Outcome::Success,
        reason: None,
        ip: Some(ip.into()),
        country: None,
        city: None,
        latitude: None,
        longitude: None,
        asn: None,
        user_agent: None,
        device: None,
        mfa_factor: None,
        session_id: None,
        is_proxy: None,
        provider_risk: None,
        raw: None,
    };
    let mut event = bare("198.51.100.7");
    geoip.fill(&mut event);
    assert_eq!(event.country.as_deref(), Some("Iceland"));
    assert_eq!(event.city.as_deref(), Some("Reykjavik"));
    assert!((event.latitude.unwrap() - 64.1466).abs() < 1e-6);
    assert!((event.longitude.unwrap() + 21.9426).abs() < 1e-6);
    // Provider data wins: nothing it sent is overwritten.
    let mut event = bare("203.0.113.9");
    event.country = Some("Provider Says".into());
    event.latitude = Some(1.0);
    event.longitude = Some(2.0);
    geoip.fill(&mut event);
    assert_eq!(event.country.as_deref(), Some("Provider Says"));
    assert_eq!((event.latitude, event.longitude), (Some(1.0), Some(2.0)));
    assert_eq!(
        event.city.as_deref(),
        Some("Wellington"),
        "only the empty field is filled"
    );
    // Unknown and malformed addresses change nothing.
    for ip in ["192.0.2.1", "not an ip"] {
        let mut event = bare(ip);
        geoip.fill(&mut event);
        assert!(event.country.is_none() && event.latitude.is_none(), "{ip}");
    }
    assert!(GeoIp::open(std::path::Path::new("/nonexistent/GeoLite2-City.mmdb")).is_err());
}

#[tokio::test]
async fn scim_access_tokens_expire() {
    use gatehouse_core::ManualClock;
    use secrecy::ExposeSecret;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).unwrap());
    let mut registry = ConnectorRegistry::new();
    for d in catalog::builtin() {
        registry.declare(d);
    }
    let clock = Arc::new(ManualClock::new(t(0)));
    let gateway = Gateway::new(
        store,
        Arc::new(registry),
        Sealer::new(&MasterKey::generate()),
        clock.clone(),
        GatewayOptions::default(),
    );
    let tenant = gateway
        .create_tenant("OAuth", Some("ten_exp"))
        .await
        .unwrap()
        .id;
    let credentials =
        serde_json::from_value(json!({"oauth_client_id": "idp", "oauth_client_secret": "pw"}))
            .unwrap();
    gateway
        .create_integration(NewIntegration {
            kind: "scim".into(),
            tenant_id: tenant,
            credentials,
            config: Map::new(),
        })
        .await
        .unwrap();
    assert!(gateway
        .scim_access_token("idp", "nope")
        .await
        .unwrap()
        .is_none());
    let (token, lifetime) = gateway
        .scim_access_token("idp", "pw")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lifetime, 3600);
    assert!(gateway
        .authenticate(token.expose_secret())
        .await
        .unwrap()
        .is_some());
    clock.advance(chrono::Duration::seconds(3599));
    assert!(gateway
        .authenticate(token.expose_secret())
        .await
        .unwrap()
        .is_some());
    clock.advance(chrono::Duration::seconds(2));
    assert!(
        gateway
            .authenticate(token.expose_secret())
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
}
