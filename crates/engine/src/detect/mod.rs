//! The detection runner: after sign-ins are stored (pulled or pushed), gathers the events around
//! each one from the store, asks the risk engine, stores what it found as detections (one burst,
//! one detection), updates risk scores, sends the detections to the outputs, and applies the
//! tenant's response policies.
//!
//! It runs off the request path: a push is acknowledged once it is durable in the inbox, whose
//! consumer stores its events and queues them here. The queue is per tenant and served in turn
//! ([`queue`]), so one tenant's backlog does not hold up another's assessment; it is bounded,
//! and past it submitters wait (the inbox and the pull cursors keep the backlog durably), so
//! nothing is dropped.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::model::{Detection, Outcome, PolicyMode, PolicyScope, SignInEvent, Tenant};
use gatehouse_core::TenantId;
/// A tenant's risk settings (`settings.risk`), as [`risk_config`] reads them.
pub use gatehouse_risk::RiskConfig;
use gatehouse_risk::{Change, Context, Kind};
use gatehouse_store::KnownSignIns;

mod context;
mod queue;

use crate::actions::{ActionExecutor, ActionRequest};
use crate::outputs::{OutputFormat, Outputs};
use crate::{EngineError, Gateway};
use context::{ContextCache, Loaded, Subject};
use queue::{FairQueue, Pending, BATCH, TURN_TIME};

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

/// Assesses stored sign-ins and acts on what it finds.
pub struct Detector {
    gateway: Arc<Gateway>,
    actions: Arc<ActionExecutor>,
    outputs: Arc<Outputs>,
    queue: Arc<FairQueue>,
    dropped: AtomicU64,
    /// Turns taken from the queue and not yet judged.
    in_flight: AtomicUsize,
}

impl Detector {
    /// A runner without a worker: [`assess`](Self::assess) is called directly (backtests).
    pub fn passive(
        gateway: Arc<Gateway>,
        actions: Arc<ActionExecutor>,
        outputs: Arc<Outputs>,
    ) -> Arc<Self> {
        Arc::new(Self {
            gateway,
            actions,
            outputs,
            queue: Arc::new(FairQueue::new()),
            dropped: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        })
    }

    /// Starts the runner's worker on `runtime`.
    pub fn spawn(
        gateway: Arc<Gateway>,
        actions: Arc<ActionExecutor>,
        outputs: Arc<Outputs>,
        runtime: &tokio::runtime::Handle,
    ) -> Arc<Self> {
        let queue = Arc::new(FairQueue::new());
        let detector = Arc::new(Self {
            gateway,
            actions,
            outputs,
            queue: Arc::clone(&queue),
            dropped: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        });
        // Two stages: a turn's lists are read (most of an assessment's cost) while the turn
        // before it is judged, so the runner uses two cores where it has them. Both stop at
        // the turn's time limit; what the judge did not reach goes back to the queue.
        let (loaded_tx, mut loaded_rx) =
            tokio::sync::mpsc::channel::<(Vec<Pending>, ContextCache)>(1);
        let reader = Arc::clone(&detector);
        let reading = Arc::clone(&queue);
        runtime.spawn(async move {
            // A busy key's batches read much the same neighbourhood one after another.
            let mut known = KnownSignIns::default();
            while let Some(turn) = reading.pop().await {
                reader.in_flight.fetch_add(1, Ordering::Relaxed);
                let mut cache = ContextCache::after(turn.iter().map(|p| &p.event), known);
                let started = std::time::Instant::now();
                for pending in &turn {
                    // A failure here is met again, and reported, when the judge assesses it.
                    let _ = cache.load_for(&reader.gateway, &pending.event).await;
                    if started.elapsed() >= TURN_TIME {
                        break;
                    }
                }
                known = cache.take_known();
                if loaded_tx.send((turn, cache)).await.is_err() {
                    return;
                }
            }
        });
        let worker = Arc::clone(&detector);
        runtime.spawn(async move {
            while let Some((mut turn, mut cache)) = loaded_rx.recv().await {
                let started = std::time::Instant::now();
                let mut done = 0;
                for pending in &turn {
                    let event = &pending.event;
                    if let Err(error) = worker.assess_in(event, false, &mut cache).await {
                        tracing::warn!(signin_id = %event.id, %error, "risk assessment failed");
                    }
                    let waited = pending
                        .received_at
                        .and_then(|at| (worker.gateway.clock().now() - at).to_std().ok());
                    worker.gateway.stats().assessed(waited);
                    done += 1;
                    if started.elapsed() >= TURN_TIME {
                        break;
                    }
                }
                // The turn is over: the rest waits until the other tenants had theirs.
                queue.give_back(turn.split_off(done));
                worker.in_flight.fetch_sub(1, Ordering::Relaxed);
                tracing::debug!(
                    assessed = turn.len(),
                    read = cache.events_read(),
                    "risk turn assessed"
                );
            }
        });
        detector
    }

    /// Queues freshly stored sign-ins for assessment, waiting while their tenant's queue (or
    /// the whole queue) is full: what feeds it (the push inbox's journal, a pull's cursor)
    /// holds the backlog durably, so nothing is dropped and memory stays bounded. Events of
    /// several tenants are queued per tenant.
    pub async fn submit(&self, events: Vec<SignInEvent>) {
        self.submit_pending(
            events
                .into_iter()
                .map(|event| Pending {
                    event,
                    received_at: None,
                })
                .collect(),
        )
        .await;
    }

    /// [`Self::submit`] for pushed sign-ins, each with the moment its delivery was received
    /// (the wait until it is assessed is measured).
    pub async fn submit_received(&self, events: Vec<(SignInEvent, DateTime<Utc>)>) {
        self.submit_pending(
            events
                .into_iter()
                .map(|(event, at)| Pending {
                    event,
                    received_at: Some(at),
                })
                .collect(),
        )
        .await;
    }

    async fn submit_pending(&self, mut events: Vec<Pending>) {
        // The provider's raw event is stored already and no detection reads it: a full queue
        // without it holds about a third of the memory.
        for pending in &mut events {
            pending.event.raw = None;
        }
        while let Some(first) = events.first() {
            let tenant = first.event.tenant_id.clone();
            let split = events
                .iter()
                .take(BATCH)
                .position(|p| p.event.tenant_id != tenant)
                .unwrap_or(events.len().min(BATCH));
            let rest = events.split_off(split);
            if let Err(batch) = self.queue.push(&tenant, events).await {
                let count = (batch.len() + rest.len()) as u64;
                self.dropped.fetch_add(count, Ordering::Relaxed);
                tracing::warn!(
                    count,
                    "risk runner stopped: sign-ins stored but not assessed"
                );
                return;
            }
            events = rest;
        }
    }

    /// Batches of sign-ins waiting for assessment.
    pub fn queued_batches(&self) -> usize {
        self.queue.queued() + self.in_flight.load(Ordering::Relaxed)
    }

    /// Sign-ins dropped from assessment because the runner had stopped.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Assesses one stored sign-in. With `dry` nothing is written or run: the outcome says what
    /// would have been (backtests).
    pub async fn assess(&self, event: &SignInEvent, dry: bool) -> Result<Outcomes, EngineError> {
        let mut cache = ContextCache::for_batch(std::iter::once(event));
        self.assess_in(event, dry, &mut cache).await
    }

    /// Assesses one sign-in of a batch whose windows `cache` holds.
    async fn assess_in(
        &self,
        event: &SignInEvent,
        dry: bool,
        cache: &mut ContextCache,
    ) -> Result<Outcomes, EngineError> {
        let store = self.gateway.store();
        let Loaded {
            tenant,
            config,
            account,
            identity,
            people,
            history_start,
        } = cache.load_for(&self.gateway, event).await?;
        let windows = gatehouse_risk::windows(&config);
        let t = &event.tenant_id;
        let [account_subject, ip_subject, session_subject] = Subject::capped_of(event);
        let people_subjects: Vec<Subject> = people.iter().cloned().map(Subject::User).collect();
        let slice = |subject: Option<&Subject>, span| match subject {
            Some(subject) => cache.slice(event, subject, span, true),
            None => &[],
        };
        let account_events = slice(account_subject.as_ref(), windows.account_events);
        let ip_events = slice(ip_subject.as_ref(), windows.ip_events);
        let session_events = slice(session_subject.as_ref(), windows.session_events);
        let identity_successes: Vec<SignInEvent> = people_subjects
            .iter()
            .flat_map(|person| cache.slice(event, person, windows.identity_successes, false))
            .filter(|e| e.outcome == Outcome::Success)
            .cloned()
            .collect();
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
            account_events,
            ip_events,
            session_events,
            identity_successes: &identity_successes,
            account: account.as_ref(),
            recent_attacks: &recent_attacks,
            history_start,
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
                        if detection.created_at == detection.updated_at {
                            self.gateway.stats().detection(&detection.kind);
                        }
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
                    if let Some(identity) = store.get_identity(&tenant.id, identity_id).await? {
                        // A person is as risky as their riskiest account; the score and a point
                        // of its history are written together.
                        let mut person = score;
                        for account in identity.accounts.iter().filter(|a| **a != user.id) {
                            if let Some(other) = store.get_user(&tenant.id, account).await? {
                                person = person.max(other.risk_score);
                            }
                        }
                        store
                            .record_identity_risk(&tenant.id, identity_id, person, now)
                            .await?;
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
    risk_score_now(gateway, &config, user).await
}

/// [`risk_score_now`] for many accounts of one tenant, with one read of their detections.
pub async fn risk_scores_now(
    gateway: &Gateway,
    config: &RiskConfig,
    tenant: &gatehouse_core::TenantId,
    users: &[gatehouse_core::model::User],
) -> Result<Vec<u8>, EngineError> {
    let now = gateway.clock().now();
    let subjects: Vec<String> = users.iter().map(|u| format!("account:{}", u.id)).collect();
    let found = gateway
        .store()
        .detections_about_each(tenant, &subjects, now - Duration::days(30))
        .await?;
    Ok(found
        .iter()
        .map(|detections| gatehouse_risk::risk_score(detections, now, config))
        .collect())
}

/// [`current_risk_score`] with the tenant's risk configuration already read (lists score many
/// accounts of one tenant).
pub async fn risk_score_now(
    gateway: &Gateway,
    config: &RiskConfig,
    user: &gatehouse_core::model::User,
) -> Result<u8, EngineError> {
    let now = gateway.clock().now();
    let detections = gateway
        .store()
        .detections_about(
            &user.tenant_id,
            &format!("account:{}", user.id),
            now - Duration::days(30),
        )
        .await?;
    Ok(gatehouse_risk::risk_score(&detections, now, config))
}
