//! The detection runner: after sign-ins are stored (pulled or pushed), gathers the events around
//! each one from the store, asks the risk engine, stores what it found as detections (one burst,
//! one detection), updates risk scores, sends the detections to the outputs, and applies the
//! tenant's response policies.
//!
//! It runs off the request path: the push is acknowledged once its events are durable, and the
//! events are queued here. The queue is bounded; past it events are dropped with a warning (and
//! can be re-assessed with a backtest) rather than slowing acknowledgements.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::Duration;
use gatehouse_core::model::{Detection, Outcome, PolicyMode, PolicyScope, SignInEvent, Tenant};
use gatehouse_core::TenantId;
use gatehouse_risk::{Change, Context, Kind, RiskConfig};
use gatehouse_store::SignInSubject;
use tokio::sync::mpsc;

use crate::actions::{ActionExecutor, ActionRequest};
use crate::outputs::{OutputFormat, Outputs};
use crate::{EngineError, Gateway};

/// Most events a list in a context may hold (a busy IP can have many).
const CONTEXT_LIMIT: usize = 20_000;
/// Events waiting for assessment before new ones are dropped.
const QUEUE: usize = 100_000;

/// What one assessment changed.
#[derive(Debug, Default, Clone)]
pub struct Outcomes {
    /// Detections created or updated.
    pub detections: Vec<Detection>,
    /// Actions the policies asked for.
    pub actions: Vec<gatehouse_core::model::Action>,
}

/// The tenant's risk settings (defaults unless `settings.risk` overrides them).
pub fn risk_config(tenant: &Tenant) -> Result<RiskConfig, EngineError> {
    let config: RiskConfig = match &tenant.settings.risk {
        Some(value) => serde_json::from_value(value.clone()).map_err(|e| {
            EngineError::invalid(
                "settings.risk",
                format!("is not a valid risk configuration: {e}"),
            )
        })?,
        None => RiskConfig::default(),
    };
    config
        .validate()
        .map_err(|e| EngineError::invalid("settings.risk", e.to_string()))?;
    Ok(config)
}

/// The sign-ins about `subject` within `span` around `event`'s time (inclusive at both ends).
async fn about(
    store: &dyn gatehouse_store::Store,
    event: &SignInEvent,
    subject: SignInSubject<'_>,
    span: gatehouse_risk::Span,
) -> Result<Vec<SignInEvent>, gatehouse_store::StoreError> {
    let (from, to) = span.around(event.time);
    store
        .signins_about(
            &event.tenant_id,
            subject,
            from,
            to + Duration::milliseconds(1),
            CONTEXT_LIMIT,
        )
        .await
}

/// Assesses stored sign-ins and acts on what it finds.
pub struct Detector {
    gateway: Arc<Gateway>,
    actions: Arc<ActionExecutor>,
    outputs: Arc<Outputs>,
    queue: mpsc::Sender<Vec<SignInEvent>>,
    dropped: AtomicU64,
}

impl Detector {
    /// A runner without a worker: [`assess`](Self::assess) is called directly (backtests).
    pub fn passive(
        gateway: Arc<Gateway>,
        actions: Arc<ActionExecutor>,
        outputs: Arc<Outputs>,
    ) -> Arc<Self> {
        let (queue, _) = mpsc::channel::<Vec<SignInEvent>>(1);
        Arc::new(Self {
            gateway,
            actions,
            outputs,
            queue,
            dropped: AtomicU64::new(0),
        })
    }

    /// Starts the runner's worker on `runtime`.
    pub fn spawn(
        gateway: Arc<Gateway>,
        actions: Arc<ActionExecutor>,
        outputs: Arc<Outputs>,
        runtime: &tokio::runtime::Handle,
    ) -> Arc<Self> {
        let (queue, mut receiver) = mpsc::channel::<Vec<SignInEvent>>(QUEUE / 64);
        let detector = Arc::new(Self {
            gateway,
            actions,
            outputs,
            queue,
            dropped: AtomicU64::new(0),
        });
        let worker = Arc::clone(&detector);
        runtime.spawn(async move {
            while let Some(events) = receiver.recv().await {
                for event in &events {
                    if let Err(error) = worker.assess(event, false).await {
                        tracing::warn!(signin_id = %event.id, %error, "risk assessment failed");
                    }
                }
            }
        });
        detector
    }

    /// Queues freshly stored sign-ins for assessment.
    pub fn submit(&self, events: Vec<SignInEvent>) {
        if events.is_empty() {
            return;
        }
        if let Err(error) = self.queue.try_send(events) {
            let count = match &error {
                mpsc::error::TrySendError::Full(e) | mpsc::error::TrySendError::Closed(e) => {
                    e.len()
                }
            };
            let total = self.dropped.fetch_add(count as u64, Ordering::Relaxed) + count as u64;
            tracing::warn!(
                count,
                total,
                "risk queue full: sign-ins stored but not assessed"
            );
        }
    }

    /// Queues freshly stored sign-ins for assessment, waiting while the queue is full (the push
    /// inbox holds the backlog durably, so nothing needs to be dropped).
    pub async fn submit_waiting(&self, events: Vec<SignInEvent>) {
        if events.is_empty() {
            return;
        }
        if let Err(error) = self.queue.send(events).await {
            let count = error.0.len() as u64;
            self.dropped.fetch_add(count, Ordering::Relaxed);
            tracing::warn!(count, "risk runner stopped: sign-ins stored but not assessed");
        }
    }

    /// Sign-ins dropped from assessment because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Assesses one stored sign-in. With `dry` nothing is written or run: the outcome says what
    /// would have been (backtests).
    pub async fn assess(&self, event: &SignInEvent, dry: bool) -> Result<Outcomes, EngineError> {
        let store = self.gateway.store();
        let tenant = self.gateway.tenant(&event.tenant_id).await?;
        let config = risk_config(&tenant)?;
        let windows = gatehouse_risk::windows(&config);
        let t = &event.tenant_id;
        let account_events = match (&event.user_id, &event.login) {
            (Some(user), _) => {
                about(
                    store.as_ref(),
                    event,
                    SignInSubject::User(user),
                    windows.account_events,
                )
                .await?
            }
            (None, Some(login)) => {
                let login = login.to_lowercase();
                about(
                    store.as_ref(),
                    event,
                    SignInSubject::Login(&login),
                    windows.account_events,
                )
                .await?
            }
            (None, None) => Vec::new(),
        };
        let ip_events = match &event.ip {
            Some(ip) => {
                about(
                    store.as_ref(),
                    event,
                    SignInSubject::Ip(ip),
                    windows.ip_events,
                )
                .await?
            }
            None => Vec::new(),
        };
        let session_events = match &event.session_id {
            Some(session) => {
                about(
                    store.as_ref(),
                    event,
                    SignInSubject::Session(session),
                    windows.session_events,
                )
                .await?
            }
            None => Vec::new(),
        };
        let account = match &event.user_id {
            Some(user) => store.get_user(t, user).await?,
            None => None,
        };
        let identity = match account.as_ref().and_then(|a| a.identity_id.as_ref()) {
            Some(id) => store.get_identity(t, id).await?,
            None => None,
        };
        let mut people: Vec<gatehouse_core::UserId> = identity
            .as_ref()
            .map(|i| i.accounts.clone())
            .unwrap_or_default();
        if let Some(user) = &event.user_id {
            if !people.contains(user) {
                people.push(user.clone());
            }
        }
        let mut identity_successes = Vec::new();
        for person in &people {
            identity_successes.extend(
                about(
                    store.as_ref(),
                    event,
                    SignInSubject::User(person),
                    windows.identity_successes,
                )
                .await?
                .into_iter()
                .filter(|e| e.outcome == Outcome::Success),
            );
        }
        let since = event.time - windows.recent_attacks;
        let mut recent_attacks = Vec::new();
        let mut subjects = Vec::new();
        if let Some(user) = &event.user_id {
            subjects.push(format!("account:{user}"));
        }
        if let Some(ip) = &event.ip {
            subjects.push(format!("ip:{ip}"));
        }
        for subject in &subjects {
            recent_attacks.extend(
                store
                    .detections_about(t, subject, since)
                    .await?
                    .into_iter()
                    .filter(|d| Kind::parse(&d.kind).is_some_and(Kind::is_attack)),
            );
        }
        let context = Context {
            trigger: event,
            account_events: &account_events,
            ip_events: &ip_events,
            session_events: &session_events,
            identity_successes: &identity_successes,
            account: account.as_ref(),
            recent_attacks: &recent_attacks,
            history_start: None,
            config: &config,
        };
        let assessment = gatehouse_risk::assess(&context);
        let now = self.gateway.clock().now();
        let mut outcomes = Outcomes::default();
        let identity_id = identity.as_ref().map(|i| i.id.clone());
        for finding in &assessment.findings {
            let gap = gatehouse_risk::merge_gap(finding.kind, &config);
            let existing: Vec<Detection> = store
                .detections_about(t, &finding.subject, finding.first_seen - gap)
                .await?
                .into_iter()
                .filter(|d| gatehouse_risk::is_subject(d, finding.kind, &finding.subject))
                .collect();
            let changes =
                gatehouse_risk::reconcile(&existing, finding, identity_id.as_ref(), &config, now);
            self.apply(t, &finding.subject, changes, dry, &mut outcomes)
                .await?;
        }
        for cleared in &assessment.cleared {
            let existing: Vec<Detection> = store
                .detections_about(t, &cleared.subject, cleared.time - Duration::days(366))
                .await?
                .into_iter()
                .filter(|d| gatehouse_risk::is_subject(d, cleared.kind, &cleared.subject))
                .collect();
            let changes = gatehouse_risk::clear(&existing, cleared, &config, now);
            self.apply(t, &cleared.subject, changes, dry, &mut outcomes)
                .await?;
        }
        if !dry {
            self.escalate(&tenant.id, &people, &config, &mut outcomes)
                .await?;
            for detection in outcomes.detections.clone() {
                self.after_detection(&tenant, &detection, &config, &mut outcomes)
                    .await?;
            }
        } else {
            for detection in outcomes.detections.clone() {
                outcomes
                    .actions
                    .extend(self.planned_actions(&tenant, &detection).await?);
            }
        }
        Ok(outcomes)
    }

    /// Several detections of one person within the escalation window are one incident: each of
    /// them is raised to the incident's severity (stored again, so the final state does not
    /// depend on which detection arrived last).
    async fn escalate(
        &self,
        tenant: &TenantId,
        people: &[gatehouse_core::UserId],
        config: &RiskConfig,
        outcomes: &mut Outcomes,
    ) -> Result<(), EngineError> {
        let Some(latest) = outcomes.detections.iter().map(|d| d.last_seen).max() else {
            return Ok(());
        };
        let since = latest - Duration::days(1);
        let store = self.gateway.store();
        let mut incident: Vec<(String, Detection)> = Vec::new();
        for person in people {
            let subject = format!("account:{person}");
            for detection in store.detections_about(tenant, &subject, since).await? {
                if !incident.iter().any(|(_, d)| d.id == detection.id) {
                    incident.push((subject.clone(), detection));
                }
            }
        }
        let all: Vec<Detection> = incident.iter().map(|(_, d)| d.clone()).collect();
        let Some(severity) = gatehouse_risk::escalate(&all, config) else {
            return Ok(());
        };
        for (subject, mut detection) in incident {
            if detection.severity < severity {
                detection.severity = severity;
                detection.updated_at = self.gateway.clock().now();
                store.put_detection(&detection, &subject).await?;
                tracing::info!(detection_id = %detection.id, severity = ?severity, "detection escalated");
                outcomes.detections.retain(|d| d.id != detection.id);
                outcomes.detections.push(detection);
            }
        }
        Ok(())
    }

    async fn apply(
        &self,
        tenant: &TenantId,
        subject: &str,
        changes: Vec<Change>,
        dry: bool,
        outcomes: &mut Outcomes,
    ) -> Result<(), EngineError> {
        for change in changes {
            match change {
                Change::Put(detection) => {
                    if !dry {
                        self.gateway
                            .store()
                            .put_detection(&detection, subject)
                            .await?;
                        tracing::info!(
                            tenant_id = %tenant, detection_id = %detection.id, kind = %detection.kind,
                            severity = ?detection.severity, "detection"
                        );
                    }
                    outcomes.detections.retain(|d| d.id != detection.id);
                    outcomes.detections.push(*detection);
                }
                Change::Delete(id) => {
                    if !dry {
                        self.gateway.store().delete_detection(tenant, &id).await?;
                    }
                    outcomes.detections.retain(|d| d.id != id);
                }
            }
        }
        Ok(())
    }

    /// Outputs, risk scores and policies for a stored detection.
    async fn after_detection(
        &self,
        tenant: &Tenant,
        detection: &Detection,
        config: &RiskConfig,
        outcomes: &mut Outcomes,
    ) -> Result<(), EngineError> {
        let store = self.gateway.store();
        let user = match &detection.user_id {
            Some(id) => store.get_user(&tenant.id, id).await?,
            None => None,
        };
        let document = match self.outputs.format() {
            OutputFormat::Ocsf => {
                gatehouse_risk::ocsf::detection_finding(detection, user.as_ref(), "Gatehouse")
            }
            OutputFormat::Ecs => gatehouse_risk::ocsf::ecs(detection, user.as_ref(), None),
        };
        self.outputs.emit(&document).await;
        if let Some(mut user) = user {
            let now = self.gateway.clock().now();
            let recent = store
                .detections_about(
                    &tenant.id,
                    &format!("account:{}", user.id),
                    now - Duration::days(30),
                )
                .await?;
            let score = gatehouse_risk::risk_score(&recent, now, config);
            if score != user.risk_score {
                user.risk_score = score;
                store
                    .upsert_users(&tenant.id, std::slice::from_ref(&user))
                    .await?;
                if let Some(identity_id) = &user.identity_id {
                    if let Some(mut identity) = store.get_identity(&tenant.id, identity_id).await? {
                        identity.risk_score = identity.risk_score.max(score);
                        store.put_identity(&identity).await?;
                    }
                }
            }
        }
        for request in self.planned_requests(tenant, detection).await? {
            outcomes.actions.push(self.actions.request(request).await?);
        }
        Ok(())
    }

    /// The action requests the tenant's policies make for a detection.
    async fn planned_requests(
        &self,
        tenant: &Tenant,
        detection: &Detection,
    ) -> Result<Vec<ActionRequest>, EngineError> {
        let store = self.gateway.store();
        let Some(user_id) = &detection.user_id else {
            return Ok(Vec::new());
        };
        let provider = match &detection.integration_id {
            Some(id) => store.get_integration(&tenant.id, id).await?.map(|i| i.kind),
            None => None,
        };
        let mut requests = Vec::new();
        for policy in store.list_policies(&tenant.id).await? {
            if !policy.matches(&detection.kind, detection.severity, provider.as_deref()) {
                continue;
            }
            let targets: Vec<gatehouse_core::UserId> = match policy.scope {
                PolicyScope::Account => vec![user_id.clone()],
                PolicyScope::Identity => match &detection.identity_id {
                    Some(identity) => store
                        .get_identity(&tenant.id, identity)
                        .await?
                        .map(|i| i.accounts)
                        .unwrap_or_else(|| vec![user_id.clone()]),
                    None => vec![user_id.clone()],
                },
            };
            let unique: BTreeSet<_> = targets.into_iter().collect();
            for target in unique {
                for kind in &policy.then {
                    requests.push(ActionRequest {
                        tenant: tenant.id.clone(),
                        user_id: target.clone(),
                        kind: *kind,
                        reason: Some(format!("{}: {}", policy.name, detection.explanation)),
                        dry_run: policy.mode == PolicyMode::DryRun,
                        requested_by: format!("policy:{}", policy.id),
                        detection_id: Some(detection.id.clone()),
                        idempotency_key: Some(format!(
                            "{}:{}:{kind:?}:{target}",
                            policy.id, detection.id
                        )),
                        automatic: true,
                        needs_approval: policy.mode == PolicyMode::Approval,
                    });
                }
            }
        }
        Ok(requests)
    }

    /// What the policies would queue, as unsaved actions (backtests).
    async fn planned_actions(
        &self,
        tenant: &Tenant,
        detection: &Detection,
    ) -> Result<Vec<gatehouse_core::model::Action>, EngineError> {
        let now = self.gateway.clock().now();
        let mut planned = Vec::new();
        for request in self.planned_requests(tenant, detection).await? {
            planned.push(crate::actions::preview(&request, now));
        }
        Ok(planned)
    }
}

/// An account's risk score now: its detections of the last 30 days, decayed to this moment (the
/// stored score is the one computed when the last detection came in).
pub async fn current_risk_score(
    gateway: &Gateway,
    user: &gatehouse_core::model::User,
) -> Result<u8, EngineError> {
    let tenant = gateway.tenant(&user.tenant_id).await?;
    let config = risk_config(&tenant)?;
    let now = gateway.clock().now();
    let detections = gateway
        .store()
        .detections_about(
            &user.tenant_id,
            &format!("account:{}", user.id),
            now - Duration::days(30),
        )
        .await?;
    Ok(gatehouse_risk::risk_score(&detections, now, &config))
}
