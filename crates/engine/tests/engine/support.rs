//! Shared test support: the scripted fake connector (`Script`, `Fake`, `FakeFactory`), the
//! `Harness` that runs an engine over a temporary store with it, and builders for provider
//! records, accounts and action requests.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use gatehouse_connect::Backoff;
use gatehouse_core::catalog::{FieldSet, Fields, ProviderDescriptor, PullConfig};
use gatehouse_core::model::{
    Action, ActionKind, AuthStep, EventCategory, EventSignal, Outcome, UserStatus,
};
use gatehouse_core::provider::{
    Capabilities, CheckReport, Connector, ConnectorContext, ConnectorError, ConnectorFactory,
    ConnectorRegistry,
};
use gatehouse_core::records::{
    ActionReport, ActionTarget, DesiredAccount, EventPage, Page, ProviderEvent, ProviderGroup,
    ProviderUser, ProvisionReport, PullMode, PushOutcome, PushReply, PushRequest,
    DEFAULT_TOKEN_PLACES,
};
use gatehouse_core::{SystemClock, TenantId};
use gatehouse_engine::actions::{ActionRequest, ExecutorPolicy};
use gatehouse_engine::outputs::OutputConfig;
use gatehouse_engine::sync::SyncJob;
use gatehouse_engine::{Engine, EngineOptions, NewIntegration};
use gatehouse_store::{PageRequest, SignInFilter, Store, UserFilter};
use gatehouse_testkit::InProcess;
use serde_json::{json, Map, Value};

/// What the scripted provider holds and what it was asked.
#[derive(Default)]
pub(crate) struct Script {
    /// Pages of users; a `None` entry fails that call once (Unavailable).
    pub(crate) user_pages: Vec<Vec<ProviderUser>>,
    pub(crate) fail_user_page: Option<usize>,
    pub(crate) users_calls: Vec<(String, Option<String>)>,
    /// Every users and groups page asked for, in order (`users <cursor>`, `groups`).
    pub(crate) directory_calls: Vec<String>,
    pub(crate) groups: Vec<ProviderGroup>,
    /// Event pages served in order; each call pops one (empty page when none left).
    pub(crate) event_pages: VecDeque<Vec<ProviderEvent>>,
    pub(crate) signin_cursors: Vec<Option<String>>,
    /// Results for `act`, popped per call; success when empty.
    pub(crate) act_results: VecDeque<Result<ActionReport, ConnectorError>>,
    pub(crate) acts: Vec<(ActionKind, String)>,
    push_time: Option<DateTime<Utc>>,
    /// What `signin_history_reach` answers.
    pub(crate) history_reach: Option<chrono::Duration>,
    /// The event ids the provider's log holds (`confirm_events`); `None`: cannot confirm.
    pub(crate) confirmable: Option<Vec<String>>,
    /// Every `confirm_events` call's ids.
    pub(crate) confirm_calls: Vec<Vec<String>>,
    /// How long each `act` takes, and how many ran at once at most.
    pub(crate) act_delay: Option<Duration>,
    pub(crate) acts_in_flight: usize,
    pub(crate) max_acts_in_flight: usize,
    /// Holds the users page of this index: signals the first `Notify` on arrival, then waits
    /// for the second before answering.
    pub(crate) hold_user_page: Option<(usize, Arc<tokio::sync::Notify>, Arc<tokio::sync::Notify>)>,
    /// The change token the last users page of a pass returns (`Page::sync_state`).
    pub(crate) sync_state: Option<String>,
    /// A change token the provider has forgotten: an incremental pull from it fails so.
    pub(crate) forgotten_state: Option<String>,
    /// Every `maintain` call: the state it was given and the push URL it saw.
    pub(crate) maintain_calls: Vec<(Option<String>, Option<String>)>,
    /// What `provisions_groups` answers.
    pub(crate) provision_groups: bool,
    /// Every account `provision` was handed.
    pub(crate) provisioned: Vec<DesiredAccount>,
}

struct Fake(Arc<Mutex<Script>>, Option<secrecy::SecretString>);

#[async_trait]
impl Connector for Fake {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            users: true,
            groups: true,
            signins: true,
            push: true,
            actions: vec![
                ActionKind::DisableAccount,
                ActionKind::RevokeSessions,
                ActionKind::EnforceMfa,
            ],
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
            PullMode::Changed {
                sync_state: Some(state),
                ..
            } => {
                if s.forgotten_state.as_ref() == Some(&state) {
                    s.users_calls
                        .push((format!("state {state}"), cursor.map(str::to_owned)));
                    return Err(ConnectorError::SyncStateExpired("scripted".into()));
                }
                format!("state {state}")
            }
            PullMode::Changed { since, .. } => format!("since {}", since.to_rfc3339()),
        };
        s.directory_calls.push(format!("users {cursor:?}"));
        s.users_calls.push((mode, cursor.map(str::to_owned)));
        if s.fail_user_page == Some(index) {
            s.fail_user_page = None;
            return Err(ConnectorError::Unavailable("scripted outage".into()));
        }
        let items = s.user_pages.get(index).cloned().unwrap_or_default();
        let next = (index + 1 < s.user_pages.len()).then(|| format!("page-{}", index + 1));
        let state = if next.is_none() {
            s.sync_state.clone()
        } else {
            None
        };
        Ok(Page::new(items, next).with_sync_state(state))
    }

    async fn groups_page(
        &self,
        _cursor: Option<&str>,
    ) -> Result<Page<ProviderGroup>, ConnectorError> {
        let mut s = self.0.lock().unwrap();
        s.directory_calls.push("groups".to_owned());
        Ok(Page::new(s.groups.clone(), None))
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

    async fn maintain(&self, state: Option<&str>) -> Result<Option<String>, ConnectorError> {
        use secrecy::ExposeSecret;
        let mut s = self.0.lock().unwrap();
        s.maintain_calls.push((
            state.map(str::to_owned),
            self.1.as_ref().map(|url| url.expose_secret().to_owned()),
        ));
        Ok(Some(format!("upkeep-{}", s.maintain_calls.len())))
    }

    async fn provisions_groups(&self) -> Result<bool, ConnectorError> {
        Ok(self.0.lock().unwrap().provision_groups)
    }

    async fn provision(
        &self,
        desired: &[DesiredAccount],
        state: Option<&str>,
    ) -> Result<ProvisionReport, ConnectorError> {
        self.0
            .lock()
            .unwrap()
            .provisioned
            .extend(desired.iter().cloned());
        Ok(ProvisionReport {
            state: state.map(str::to_owned),
            ..ProvisionReport::default()
        })
    }

    async fn provision_sweep(
        &self,
        _keep: &std::collections::HashSet<String>,
        state: Option<&str>,
    ) -> Result<ProvisionReport, ConnectorError> {
        Ok(ProvisionReport {
            state: state.map(str::to_owned),
            ..ProvisionReport::default()
        })
    }

    fn decode_push(&self, request: &PushRequest) -> Result<PushOutcome, ConnectorError> {
        if let Some(changed) = request.header("x-changed") {
            return Ok(PushOutcome::AccountsChanged(vec![changed.to_owned()]));
        }
        if let Some(challenge) = request.header("x-challenge") {
            return Ok(PushOutcome::Respond(PushReply::json(
                200,
                &json!({"verification": challenge}),
            )));
        }
        let items: Vec<PushItem> = serde_json::from_slice(&request.body)
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
            items
                .iter()
                .map(|item| match item {
                    PushItem::Id(id) => ProviderEvent {
                        time: now,
                        ..event(id, "00u1", Outcome::Failure, 0)
                    },
                    PushItem::Event {
                        id,
                        user,
                        session,
                        ip,
                        success,
                    } => {
                        let outcome = if *success {
                            Outcome::Success
                        } else {
                            Outcome::Failure
                        };
                        let base = event(id, user.as_deref().unwrap_or("00u1"), outcome, 0);
                        ProviderEvent {
                            time: now,
                            session_id: session.clone(),
                            ip: ip.clone().or(base.ip.clone()),
                            ..base
                        }
                    }
                })
                .collect(),
        ))
    }

    async fn confirm_events(
        &self,
        provider_event_ids: &[String],
    ) -> Result<gatehouse_core::provider::Confirmation, ConnectorError> {
        let mut s = self.0.lock().unwrap();
        s.confirm_calls.push(provider_event_ids.to_vec());
        let Some(known) = s.confirmable.clone() else {
            return Err(ConnectorError::Unsupported("confirming pushed events"));
        };
        Ok(gatehouse_core::provider::Confirmation {
            confirmed: provider_event_ids
                .iter()
                .filter(|id| known.contains(id))
                .map(|id| gatehouse_core::provider::ConfirmedEvent {
                    provider_event_id: id.clone(),
                    external_user_id: Some("00u1".into()),
                    login: None,
                })
                .collect(),
        })
    }

    async fn act(
        &self,
        action: ActionKind,
        target: &ActionTarget,
    ) -> Result<ActionReport, ConnectorError> {
        let (result, delay) = {
            let mut s = self.0.lock().unwrap();
            s.acts.push((action, target.external_id.clone()));
            s.acts_in_flight += 1;
            s.max_acts_in_flight = s.max_acts_in_flight.max(s.acts_in_flight);
            (s.act_results.pop_front(), s.act_delay)
        };
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        self.0.lock().unwrap().acts_in_flight -= 1;
        result.unwrap_or_else(|| {
            Ok(ActionReport {
                changed: true,
                detail: format!("{action:?} done"),
                account: None,
            })
        })
    }
}

/// One pushed event: an id (a failed sign-in of `00u1`), or an event with its own account,
/// session, IP and outcome.
#[derive(serde::Deserialize)]
#[serde(untagged)]
pub(crate) enum PushItem {
    Id(String),
    Event {
        id: String,
        #[serde(default)]
        user: Option<String>,
        #[serde(default)]
        session: Option<String>,
        #[serde(default)]
        ip: Option<String>,
        #[serde(default)]
        success: bool,
    },
}

/// The scripted provider's credentials: a token, as most providers take.
#[derive(serde::Deserialize, utoipa::ToSchema)]
struct FakeCredentials {
    #[schema(min_length = 1)]
    #[allow(dead_code)]
    api_token: String,
}

impl Fields for FakeCredentials {}

#[derive(serde::Deserialize, utoipa::ToSchema)]
struct FakeConfig {
    #[serde(flatten)]
    #[schema(inline)]
    #[allow(dead_code)]
    pull: PullConfig,
    #[allow(dead_code)]
    ingest_signins: Option<bool>,
    /// Where the provider reaches the daemon (the push URL `maintain` registers).
    #[allow(dead_code)]
    public_base_url: Option<String>,
    /// Outbound provisioning into the scripted provider.
    #[allow(dead_code)]
    provision: Option<bool>,
}

impl Fields for FakeConfig {}

pub(crate) static SCRIPTED: ProviderDescriptor = ProviderDescriptor {
    id: "scripted",
    display_name: "A scripted provider",
    push_capable: true,
    push_token: DEFAULT_TOKEN_PLACES,
    scim_server: false,
    signins_flag: Some("ingest_signins"),
    credentials: FieldSet::of::<FakeCredentials>(),
    config: FieldSet::of::<FakeConfig>(),
};

struct FakeFactory(Arc<Mutex<Script>>);

impl ConnectorFactory for FakeFactory {
    fn descriptor(&self) -> &'static ProviderDescriptor {
        &SCRIPTED
    }
    fn build(&self, context: ConnectorContext) -> Result<Arc<dyn Connector>, ConnectorError> {
        Ok(Arc::new(Fake(Arc::clone(&self.0), context.push_url)))
    }
}

pub(crate) fn t(minute: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_780_000_000 + minute * 60, 0).unwrap()
}

pub(crate) fn puser(id: &str, email: &str, status: UserStatus) -> ProviderUser {
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
        is_admin: None,
        created_at: None,
        last_login_at: None,
        updated_at: Some(t(0)),
        raw: None,
    }
}

pub(crate) fn event(id: &str, user: &str, outcome: Outcome, minute: i64) -> ProviderEvent {
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
        signal: EventSignal {
            step: Some(AuthStep::FirstFactor),
            ..EventSignal::default()
        },
        raw: None,
    }
}

pub(crate) struct Harness {
    pub(crate) engine: Arc<Engine>,
    pub(crate) script: Arc<Mutex<Script>>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) tenant: TenantId,
    _daemon: InProcess,
}

/// The daemon as `gatehouse serve` builds it (its composition root), in process, with the
/// scripted provider registered and fast action retries.
pub(crate) async fn harness_with(script: Arc<Mutex<Script>>, outputs: OutputConfig) -> Harness {
    harness_full(script, outputs, None).await
}

/// [`harness_with`], with pushes going through the durable inbox (acknowledged, then stored by
/// its consumer) as `gatehouse serve` runs them when `inbox` gives its backlog limit in bytes
/// and each tenant's share of it in percent.
pub(crate) async fn harness_full(
    script: Arc<Mutex<Script>>,
    outputs: OutputConfig,
    inbox: Option<(u64, u8)>,
) -> Harness {
    let factory = FakeFactory(Arc::clone(&script));
    let daemon = InProcess::start(move |options| {
        let mut registry = ConnectorRegistry::new();
        registry.register(factory);
        options.registry = Some(registry);
        if let Some((bytes, _)) = inbox {
            options.inbox_max_backlog_bytes = Some(bytes);
        }
        options.engine = EngineOptions {
            schedules: false,
            executor: ExecutorPolicy {
                max_attempts: 3,
                backoff: Backoff {
                    base: Duration::from_millis(5),
                    max: Duration::from_millis(20),
                    factor: 2.0,
                },
                poll: Duration::from_millis(20),
                ..ExecutorPolicy::default()
            },
            outputs,
            inbox_tenant_share_percent: inbox.map_or(25, |(_, share)| share),
            ..EngineOptions::default()
        };
    })
    .await
    .unwrap();
    Harness {
        engine: Arc::clone(&daemon.app.engine),
        script,
        store: Arc::clone(&daemon.app.store),
        tenant: TenantId::parse("ten_engine").unwrap(),
        _daemon: daemon,
    }
}

pub(crate) async fn harness() -> Harness {
    harness_with(
        Arc::new(Mutex::new(Script::default())),
        OutputConfig::default(),
    )
    .await
}

impl Harness {
    pub(crate) async fn integration(&self, config: Value) -> gatehouse_core::model::Integration {
        if self.engine.gateway.tenant(&self.tenant).await.is_err() {
            self.engine
                .gateway
                .create_tenant("Engine", Some(self.tenant.as_str()))
                .await
                .unwrap();
        }
        let config: Map<String, Value> = serde_json::from_value(config).unwrap();
        let credentials = serde_json::from_value(json!({"api_token": "t"})).unwrap();
        self.engine
            .gateway
            .create_integration(NewIntegration {
                kind: "scripted".into(),
                tenant_id: self.tenant.clone(),
                credentials,
                config,
            })
            .await
            .unwrap()
            .integration
    }

    pub(crate) async fn users(&self) -> Vec<gatehouse_core::model::User> {
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

    pub(crate) async fn signins(&self) -> Vec<gatehouse_core::model::SignInEvent> {
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

    pub(crate) async fn wait_for(
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

pub(crate) async fn with_user(
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

pub(crate) fn request(
    h: &Harness,
    user: &gatehouse_core::UserId,
    kind: ActionKind,
) -> ActionRequest {
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
