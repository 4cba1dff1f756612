//! The sign-ins around a batch of triggers, fetched once per subject and window for the whole
//! batch and sliced per trigger. A busy IP (a corporate NAT, say) has thousands of sign-ins in
//! its window; reading and decoding them again for every event that came from it made
//! assessment quadratic in a burst.
//!
//! The short windows (account, IP, session) are also capped per trigger: at most
//! [`EACH_SIDE`] events on either side of the trigger in (time, id) order. A hot key (one
//! session id or IP behind 100,000 events) otherwise handed every one of its events to every
//! assessment, so each event cost more than the last and one tenant's hot key stalled the
//! runner for everyone. The cap keeps each assessment's reads and scans bounded whatever the
//! key distribution: a batch fetch reads at most `2 × EACH_SIDE + 1` events per trigger, and a
//! trigger whose batch fetch was cut short reads its own `2 × EACH_SIDE + 2` neighbours through
//! the store's index ([`Store::signins_near`]). The thresholds the detections count to (10
//! failures, 15 accounts, 3 denials) are far below the cap, so only evidence lists longer than
//! the cap are shortened; the identity's successes (months of history, few events) are not
//! capped.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::model::{Identity, SignInEvent, Tenant, User};
use gatehouse_core::{IntegrationId, SignInId, TenantId, UserId};
use gatehouse_risk::{RiskConfig, Span};
use gatehouse_store::{KnownSignIns, SignInSubject, Store, StoreError};

use super::risk_config;
use crate::{EngineError, Gateway};

/// Most events a list in a context may hold (a busy IP can have many).
pub(super) const CONTEXT_LIMIT: usize = 20_000;
/// Most events one batch-wide fetch may hold; past it each trigger fetches its own window.
const BATCH_LIMIT: usize = 4 * CONTEXT_LIMIT;
/// Most events a capped list holds on each side of its trigger.
pub(crate) const EACH_SIDE: usize = 500;
/// Triggers about one subject in a batch from which it is read as a busy key at once.
const BUSY_TRIGGERS: usize = 8;

/// The time-sorted sign-ins of one subject over the batch's combined window.
struct Fetched {
    events: Vec<SignInEvent>,
    /// False when the fetch stopped at [`BATCH_LIMIT`]: slices of it could miss events.
    complete: bool,
}

/// Windows and tenant settings shared by the assessments of one batch.
pub(crate) struct ContextCache {
    earliest: DateTime<Utc>,
    latest: DateTime<Utc>,
    /// Triggers in the batch: a capped batch-wide fetch needs at most the neighbours of each.
    triggers: usize,
    windows: HashMap<Key, Fetched>,
    /// Fetched per trigger when the batch-wide fetch was truncated.
    single: HashMap<(Key, SignInId), Vec<SignInEvent>>,
    /// Sign-ins read from the store so far (the cost the cap bounds).
    read: usize,
    /// The batch's triggers and the sign-ins read so far: a later list that holds one of them
    /// takes it from here instead of reading it again.
    known: KnownSignIns,
    tenants: HashMap<TenantId, (Tenant, RiskConfig)>,
    history_starts: HashMap<IntegrationId, Option<DateTime<Utc>>>,
    /// The batch's first and last trigger (in list order) of each capped subject, and how many.
    subject_triggers: HashMap<String, Triggers>,
}

/// What assessing one trigger reads besides its lists.
pub(super) struct Loaded {
    pub(super) tenant: Tenant,
    pub(super) config: RiskConfig,
    pub(super) account: Option<User>,
    pub(super) identity: Option<Identity>,
    /// The accounts of the trigger's person (its own at least, when it has one).
    pub(super) people: Vec<UserId>,
    pub(super) history_start: Option<DateTime<Utc>>,
}

/// Where a subject's triggers lie in a batch.
struct Triggers {
    first: (DateTime<Utc>, SignInId),
    last: (DateTime<Utc>, SignInId),
    count: usize,
}

impl Triggers {
    fn of(event: &SignInEvent) -> Self {
        let at = (event.time, event.id.clone());
        Self {
            first: at.clone(),
            last: at,
            count: 1,
        }
    }

    fn add(&mut self, event: &SignInEvent) {
        let at = (event.time, event.id.clone());
        if (at.0, at.1.as_str()) < (self.first.0, self.first.1.as_str()) {
            self.first = at.clone();
        }
        if (at.0, at.1.as_str()) > (self.last.0, self.last.1.as_str()) {
            self.last = at;
        }
        self.count += 1;
    }
}

/// A list: its subject, its span, and whether it is capped around each trigger.
type Key = (String, Span, bool);

/// What a list is about: the store's subject, as an owned key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Subject {
    User(gatehouse_core::UserId),
    Login(String),
    Ip(String),
    Session(String),
}

impl Subject {
    /// The subjects of a sign-in's capped lists: its account (by id, else by lower-cased
    /// login), its source address and its session.
    pub(super) fn capped_of(event: &SignInEvent) -> [Option<Subject>; 3] {
        let account = match (&event.user_id, &event.login) {
            (Some(user), _) => Some(Subject::User(user.clone())),
            (None, Some(login)) => Some(Subject::Login(login.to_lowercase())),
            (None, None) => None,
        };
        [
            account,
            event.ip.clone().map(Subject::Ip),
            event.session_id.clone().map(Subject::Session),
        ]
    }

    fn key(&self) -> String {
        match self {
            Self::User(id) => format!("u:{id}"),
            Self::Login(login) => format!("l:{login}"),
            Self::Ip(ip) => format!("i:{ip}"),
            Self::Session(session) => format!("s:{session}"),
        }
    }

    fn as_store(&self) -> SignInSubject<'_> {
        match self {
            Self::User(id) => SignInSubject::User(id),
            Self::Login(login) => SignInSubject::Login(login),
            Self::Ip(ip) => SignInSubject::Ip(ip),
            Self::Session(session) => SignInSubject::Session(session),
        }
    }
}

impl ContextCache {
    /// A cache for assessing `triggers` (their times bound the fetches).
    pub(crate) fn for_batch<'a>(triggers: impl Iterator<Item = &'a SignInEvent>) -> Self {
        Self::after(triggers, KnownSignIns::default())
    }

    /// [`for_batch`](Self::for_batch), taking sign-ins the batch before read from `known`.
    pub(crate) fn after<'a>(
        triggers: impl Iterator<Item = &'a SignInEvent>,
        mut known: KnownSignIns,
    ) -> Self {
        let mut earliest = None;
        let mut latest = None;
        let mut count = 0;
        let mut subject_triggers: HashMap<String, Triggers> = HashMap::new();
        for trigger in triggers {
            count += 1;
            known.add(trigger);
            for subject in Subject::capped_of(trigger).into_iter().flatten() {
                subject_triggers
                    .entry(subject.key())
                    .and_modify(|known| known.add(trigger))
                    .or_insert_with(|| Triggers::of(trigger));
            }
            earliest = Some(earliest.map_or(trigger.time, |t: DateTime<Utc>| t.min(trigger.time)));
            latest = Some(latest.map_or(trigger.time, |t: DateTime<Utc>| t.max(trigger.time)));
        }
        let earliest = earliest.unwrap_or(DateTime::<Utc>::MIN_UTC);
        let latest = latest.unwrap_or(DateTime::<Utc>::MIN_UTC);
        Self {
            earliest,
            latest,
            triggers: count,
            windows: HashMap::new(),
            single: HashMap::new(),
            read: 0,
            known,
            tenants: HashMap::new(),
            history_starts: HashMap::new(),
            subject_triggers,
        }
    }

    /// Reads into the cache every list assessing `trigger` slices, and returns what else it
    /// reads: its tenant's settings, its account and the person that account belongs to.
    pub(super) async fn load_for(
        &mut self,
        gateway: &Gateway,
        trigger: &SignInEvent,
    ) -> Result<Loaded, EngineError> {
        let store = gateway.store();
        let (tenant, config) = self.tenant(gateway, &trigger.tenant_id).await?.clone();
        let windows = gatehouse_risk::windows(&config);
        let t = &trigger.tenant_id;
        let account = match &trigger.user_id {
            Some(user) => store.get_user(t, user).await?,
            None => None,
        };
        let identity = match account.as_ref().and_then(|a| a.identity_id.as_ref()) {
            Some(id) => store.get_identity(t, id).await?,
            None => None,
        };
        let mut people: Vec<UserId> = identity
            .as_ref()
            .map(|i| i.accounts.clone())
            .unwrap_or_default();
        if let Some(user) = &trigger.user_id {
            if !people.contains(user) {
                people.push(user.clone());
            }
        }
        let [account_subject, ip_subject, session_subject] = Subject::capped_of(trigger);
        let lists = [
            (account_subject, windows.account_events),
            (ip_subject, windows.ip_events),
            (session_subject, windows.session_events),
        ];
        for (subject, span) in lists {
            if let Some(subject) = subject {
                self.load(store.as_ref(), trigger, &subject, span, true)
                    .await?;
            }
        }
        for person in &people {
            let subject = Subject::User(person.clone());
            self.load(
                store.as_ref(),
                trigger,
                &subject,
                windows.identity_successes,
                false,
            )
            .await?;
        }
        let history_start = self
            .history_start(store.as_ref(), t, &trigger.integration_id)
            .await?;
        Ok(Loaded {
            tenant,
            config,
            account,
            identity,
            people,
            history_start,
        })
    }

    /// The tenant and its validated risk settings.
    pub(super) async fn tenant(
        &mut self,
        gateway: &Gateway,
        id: &TenantId,
    ) -> Result<&(Tenant, RiskConfig), EngineError> {
        if !self.tenants.contains_key(id) {
            let tenant = gateway.tenant(id).await?;
            let config = risk_config(&tenant)?;
            self.tenants.insert(id.clone(), (tenant, config));
        }
        self.tenants
            .get(id)
            .ok_or_else(|| EngineError::NotFound(format!("tenant {id}")))
    }

    /// Since when the store holds the integration's whole sign-in record, if its pulls know.
    pub(super) async fn history_start(
        &mut self,
        store: &dyn Store,
        tenant: &TenantId,
        integration: &IntegrationId,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        if let Some(known) = self.history_starts.get(integration) {
            return Ok(*known);
        }
        let start = store
            .get_cursor(tenant, integration, crate::sync::SIGNIN_HISTORY_START)
            .await?
            .and_then(|c| DateTime::parse_from_rfc3339(&c.value).ok())
            .map(|t| t.with_timezone(&Utc));
        self.history_starts.insert(integration.clone(), start);
        Ok(start)
    }

    /// Sign-ins read from the store by this cache so far.
    pub(crate) fn events_read(&self) -> usize {
        self.read
    }

    /// The sign-ins this batch held and read (and the latest of those before it), for the next
    /// batch; this cache reads from the store from then on.
    pub(crate) fn take_known(&mut self) -> KnownSignIns {
        std::mem::take(&mut self.known)
    }

    /// Makes sure `subject`'s window around `trigger` can be answered by [`slice`](Self::slice);
    /// `capped` lists hold at most [`EACH_SIDE`] events on each side of the trigger.
    pub(super) async fn load(
        &mut self,
        store: &dyn Store,
        trigger: &SignInEvent,
        subject: &Subject,
        span: Span,
        capped: bool,
    ) -> Result<(), StoreError> {
        let key = (subject.key(), span, capped);
        if !self.windows.contains_key(&key) {
            let (from, _) = span.around(self.earliest);
            let (_, to) = span.around(self.latest);
            let triggers = self.subject_triggers.get(&key.0);
            let limit = match (capped, triggers) {
                // Enough for the whole window when the subject is not busy (the usual case).
                (true, Some(t)) => (2 * EACH_SIDE + 1 + t.count).min(BATCH_LIMIT),
                (true, None) => self
                    .triggers
                    .saturating_mul(2 * EACH_SIDE + 1)
                    .clamp(1, BATCH_LIMIT),
                (false, _) => BATCH_LIMIT,
            };
            // A subject with this many triggers in one batch is a busy key: its whole window
            // would only be read to find it too long.
            let busy = capped && triggers.is_some_and(|t| t.count >= BUSY_TRIGGERS);
            let (mut events, mut complete) = if busy {
                (Vec::new(), false)
            } else {
                let events = fetch(
                    store,
                    &trigger.tenant_id,
                    subject,
                    (from, to),
                    limit,
                    &self.known,
                )
                .await?;
                self.read += events.len();
                let complete = events.len() < limit;
                (events, complete)
            };
            if let (false, true, Some(triggers)) = (complete, capped, triggers) {
                // A busy key: its triggers' neighbourhoods, not its whole window.
                if let Some(near) = neighbourhoods(
                    store,
                    &trigger.tenant_id,
                    (subject, span),
                    triggers,
                    &self.known,
                )
                .await?
                {
                    self.read += near.len();
                    events = near;
                    complete = true;
                }
            }
            events.sort_by(|a, b| order(a).cmp(&order(b)));
            events.iter().for_each(|e| self.known.add(e));
            self.windows
                .insert(key.clone(), Fetched { events, complete });
        }
        let complete = self.windows.get(&key).is_some_and(|f| f.complete);
        let single_key = (key, trigger.id.clone());
        if !complete && !self.single.contains_key(&single_key) {
            let (from, to) = span.around(trigger.time);
            let mut events = if capped {
                let window = (from, to + Duration::milliseconds(1));
                store
                    .signins_near_known(
                        &trigger.tenant_id,
                        subject.as_store(),
                        window,
                        &trigger.id,
                        EACH_SIDE + 1,
                        &self.known,
                    )
                    .await?
            } else {
                fetch(
                    store,
                    &trigger.tenant_id,
                    subject,
                    (from, to),
                    CONTEXT_LIMIT,
                    &self.known,
                )
                .await?
            };
            self.read += events.len();
            events.sort_by(|a, b| order(a).cmp(&order(b)));
            events.iter().for_each(|e| self.known.add(e));
            self.single.insert(single_key, events);
        }
        Ok(())
    }

    /// The sign-ins about `subject` within `span` around `trigger` (inclusive at both ends),
    /// at most [`CONTEXT_LIMIT`], after [`load`](Self::load).
    pub(super) fn slice(
        &self,
        trigger: &SignInEvent,
        subject: &Subject,
        span: Span,
        capped: bool,
    ) -> &[SignInEvent] {
        let key = (subject.key(), span, capped);
        let events = match self.windows.get(&key) {
            Some(fetched) if fetched.complete => fetched.events.as_slice(),
            _ => self
                .single
                .get(&(key, trigger.id.clone()))
                .map_or(&[][..], Vec::as_slice),
        };
        // The same bounds as a direct fetch: from `from`, up to `to` plus a millisecond.
        let (from, to) = span.around(trigger.time);
        let to = to + Duration::milliseconds(1);
        let start = events.partition_point(|e| e.time < from);
        let end = events.partition_point(|e| e.time < to).max(start);
        let (start, end) = if capped {
            let at = events.partition_point(|e| order(e) < order(trigger));
            (
                start.max(at.saturating_sub(EACH_SIDE)),
                end.min(at.saturating_add(EACH_SIDE + 1)),
            )
        } else {
            (start, end.min(start + CONTEXT_LIMIT))
        };
        events.get(start..end.max(start)).unwrap_or(&[])
    }
}

/// `subject`'s sign-ins from `from` to `to`, inclusive at both ends, as `slice` cuts.
async fn fetch(
    store: &dyn Store,
    tenant: &TenantId,
    subject: &Subject,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    limit: usize,
    known: &KnownSignIns,
) -> Result<Vec<SignInEvent>, StoreError> {
    store
        .signins_about_known(
            tenant,
            subject.as_store(),
            (from, to + Duration::milliseconds(1)),
            limit,
            known,
        )
        .await
}

/// A busy subject's sign-ins around all of a batch's triggers about it, in list order: the
/// [`EACH_SIDE`] before the first trigger, everything from the first to the last, and the
/// `EACH_SIDE + 1` from the last on — a contiguous stretch of the subject's list, so every
/// trigger's capped slice of it is exact. A hot key's triggers in one batch sit close together,
/// so this reads about `2 × EACH_SIDE` plus the triggers, where the whole window can be many
/// thousands. `None` when the stretch between the triggers is past what the triggers' own
/// reads would cost (each trigger then reads its own neighbours).
async fn neighbourhoods(
    store: &dyn Store,
    tenant: &TenantId,
    (subject, span): (&Subject, Span),
    triggers: &Triggers,
    known: &KnownSignIns,
) -> Result<Option<Vec<SignInEvent>>, StoreError> {
    let (from, _) = span.around(triggers.first.0);
    let (_, to) = span.around(triggers.last.0);
    let window = (from, to + Duration::milliseconds(1));
    // Read by time, so bounded like the per-trigger reads it replaces: past that budget (a key
    // whose events share an instant) each trigger reads its own neighbours instead.
    let budget = triggers
        .count
        .saturating_mul(2 * EACH_SIDE + 1)
        .min(BATCH_LIMIT);
    let between = if triggers.first.1 == triggers.last.1 {
        Vec::new()
    } else {
        store
            .signins_about_known(
                tenant,
                subject.as_store(),
                (
                    triggers.first.0,
                    triggers.last.0 + Duration::milliseconds(1),
                ),
                budget,
                known,
            )
            .await?
    };
    if between.len() >= budget {
        return Ok(None);
    }
    let before = store
        .signins_near_known(
            tenant,
            subject.as_store(),
            window,
            &triggers.first.1,
            EACH_SIDE,
            known,
        )
        .await?;
    let after = store
        .signins_near_known(
            tenant,
            subject.as_store(),
            window,
            &triggers.last.1,
            EACH_SIDE + 1,
            known,
        )
        .await?;
    let mut events: Vec<SignInEvent> = before.into_iter().chain(between).chain(after).collect();
    events.sort_by(|a, b| order(a).cmp(&order(b)));
    events.dedup_by(|a, b| a.id == b.id);
    Ok(Some(events))
}

/// The order lists are kept in, as the store's index and the risk crate order them.
fn order(event: &SignInEvent) -> (DateTime<Utc>, &str) {
    (event.time, event.id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_core::SignInId;
    use gatehouse_store::prelude::*;
    use gatehouse_store::SledStore;

    /// `n` failed sign-ins on one session id, all at the same instant (the hottest key there
    /// is: no time bound narrows it).
    fn hot_session(n: usize) -> Vec<SignInEvent> {
        let time = DateTime::parse_from_rfc3339("2026-05-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        (0..n)
            .map(|i| {
                let id = SignInId::derive(time, &["int_1", &i.to_string()]);
                serde_json::from_value(serde_json::json!({
                    "id": id, "tenant_id": "ten_hot", "integration_id": "int_1",
                    "provider": "idp", "provider_event_id": i.to_string(), "time": time,
                    "event_type": "sign_in", "outcome": "failure",
                    "signal": {"step": "first_factor"}, "session_id": "hot-session",
                    "ip": format!("198.51.{}.{}", i / 250, i % 250),
                }))
                .unwrap()
            })
            .collect()
    }

    /// [`hot_session`] with its events a millisecond apart, stored in a new sled store.
    async fn stored_hot_session_a_millisecond_apart(
        n: usize,
    ) -> (tempfile::TempDir, SledStore, Vec<SignInEvent>) {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let tenant = TenantId::parse("ten_hot").unwrap();
        let mut events = hot_session(n);
        for (i, event) in events.iter_mut().enumerate() {
            event.time += Duration::milliseconds(i as i64);
            event.id = SignInId::derive(event.time, &["int_1", &i.to_string()]);
        }
        store
            .insert_signins(&tenant, &events, gatehouse_store::Durability::Now)
            .await
            .unwrap();
        (dir, store, events)
    }

    /// Whatever the key's size, an assessment hands at most `2 × EACH_SIDE + 1` of its events
    /// to the risk engine and reads at most twice that (a batch fetch cut short at its
    /// per-trigger budget, then the trigger's own neighbours).
    #[tokio::test]
    async fn a_hot_key_costs_each_assessment_at_most_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let tenant = TenantId::parse("ten_hot").unwrap();
        let events = hot_session(6 * EACH_SIDE);
        store
            .insert_signins(&tenant, &events, gatehouse_store::Durability::Now)
            .await
            .unwrap();
        let subject = Subject::Session("hot-session".to_owned());
        let span = gatehouse_risk::windows(&RiskConfig::default()).session_events;
        let bound = 2 * EACH_SIDE + 1;
        for triggers in [1, 3] {
            let batch: Vec<SignInEvent> =
                events.iter().step_by(997).take(triggers).cloned().collect();
            let mut cache = ContextCache::for_batch(batch.iter());
            for trigger in &batch {
                cache
                    .load(&store, trigger, &subject, span, true)
                    .await
                    .unwrap();
                let slice = cache.slice(trigger, &subject, span, true);
                assert!(slice.len() <= bound, "{} events handed over", slice.len());
                assert!(slice.iter().any(|e| e.id == trigger.id));
            }
            assert!(
                cache.events_read() <= triggers * 2 * (bound + 1),
                "{} events read for {triggers} triggers",
                cache.events_read()
            );
        }
        // The same key uncapped (the identity's history) is read whole.
        let mut cache = ContextCache::for_batch(events[..1].iter());
        cache
            .load(&store, &events[0], &subject, span, false)
            .await
            .unwrap();
        assert_eq!(
            cache.slice(&events[0], &subject, span, false).len(),
            events.len()
        );
    }

    /// A hot key's triggers in one batch (100 consecutive events of a key of 3,000, a
    /// millisecond apart) read their neighbourhoods once — about `2 × EACH_SIDE` plus the
    /// triggers, not `2 × EACH_SIDE + 1` each — and every trigger's slice is what it would be
    /// assessed alone.
    #[tokio::test]
    async fn a_hot_keys_triggers_share_one_read_of_their_neighbourhoods() {
        let (_dir, store, events) = stored_hot_session_a_millisecond_apart(6 * EACH_SIDE).await;
        let subject = Subject::Session("hot-session".to_owned());
        let span = gatehouse_risk::windows(&RiskConfig::default()).session_events;
        let batch = &events[2 * EACH_SIDE..2 * EACH_SIDE + 100];
        let mut cache = ContextCache::for_batch(batch.iter());
        for trigger in batch {
            cache
                .load(&store, trigger, &subject, span, true)
                .await
                .unwrap();
        }
        assert!(
            cache.events_read() <= 2 * (2 * EACH_SIDE + 1) + 3 * batch.len(),
            "{} events read for {} triggers",
            cache.events_read(),
            batch.len()
        );
        for trigger in batch.iter().step_by(9) {
            let mut alone = ContextCache::for_batch(std::iter::once(trigger));
            alone
                .load(&store, trigger, &subject, span, true)
                .await
                .unwrap();
            let ids = |events: &[SignInEvent]| -> Vec<String> {
                events.iter().map(|e| e.id.to_string()).collect()
            };
            assert_eq!(
                ids(cache.slice(trigger, &subject, span, true)),
                ids(alone.slice(trigger, &subject, span, true)),
                "trigger {}",
                trigger.provider_event_id
            );
        }
    }

    /// What one batch held and read goes to the next ([`ContextCache::take_known`] then
    /// [`ContextCache::after`]): the next batch of a hot key finds its neighbourhood there, and
    /// its slices are what reading the store gives.
    #[tokio::test]
    async fn a_batch_hands_what_it_read_to_the_next() {
        let (_dir, store, events) = stored_hot_session_a_millisecond_apart(4 * EACH_SIDE).await;
        let tenant = TenantId::parse("ten_hot").unwrap();
        let subject = Subject::Session("hot-session".to_owned());
        let span = gatehouse_risk::windows(&RiskConfig::default()).session_events;
        let first = &events[2 * EACH_SIDE..2 * EACH_SIDE + 50];
        let mut cache = ContextCache::for_batch(first.iter());
        for trigger in first {
            cache
                .load(&store, trigger, &subject, span, true)
                .await
                .unwrap();
        }
        let known = cache.take_known();
        assert!(cache.known.is_empty(), "taken, not copied");
        let next = &events[2 * EACH_SIDE + 50..2 * EACH_SIDE + 60];
        let neighbours = &events[2 * EACH_SIDE + 60 - EACH_SIDE..2 * EACH_SIDE + 50];
        assert!(
            neighbours
                .iter()
                .all(|e| known.get(&tenant, e.id.as_str()).is_some()),
            "the next batch's neighbourhood before it was read by the batch before"
        );
        let mut carried = ContextCache::after(next.iter(), known);
        let mut fresh = ContextCache::for_batch(next.iter());
        for trigger in next {
            for cache in [&mut carried, &mut fresh] {
                cache
                    .load(&store, trigger, &subject, span, true)
                    .await
                    .unwrap();
            }
            assert_eq!(
                carried.slice(trigger, &subject, span, true),
                fresh.slice(trigger, &subject, span, true)
            );
        }
    }
}
