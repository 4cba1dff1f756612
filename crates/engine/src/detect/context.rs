//! The sign-ins around a batch of triggers, fetched once per subject and window for the whole
//! batch and sliced per trigger. A busy IP (a corporate NAT, say) has thousands of sign-ins in
//! its window; reading and decoding them again for every event that came from it made
//! assessment quadratic in a burst.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::model::{SignInEvent, Tenant};
use gatehouse_core::{IntegrationId, TenantId};
use gatehouse_risk::{RiskConfig, Span};
use gatehouse_store::{SignInSubject, Store, StoreError};

use super::risk_config;
use crate::{EngineError, Gateway};

/// Most events a list in a context may hold (a busy IP can have many).
pub(super) const CONTEXT_LIMIT: usize = 20_000;
/// Most events one batch-wide fetch may hold; past it each trigger fetches its own window.
const BATCH_LIMIT: usize = 4 * CONTEXT_LIMIT;

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
    windows: HashMap<(String, Span), Fetched>,
    /// Fetched per trigger when the batch-wide fetch was truncated.
    single: HashMap<(String, Span), Vec<SignInEvent>>,
    tenants: HashMap<TenantId, (Tenant, RiskConfig)>,
    history_starts: HashMap<IntegrationId, Option<DateTime<Utc>>>,
}

/// What a list is about: the store's subject, as an owned key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Subject {
    User(gatehouse_core::UserId),
    Login(String),
    Ip(String),
    Session(String),
}

impl Subject {
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
    pub(crate) fn for_batch(triggers: &[SignInEvent]) -> Self {
        let earliest = triggers
            .iter()
            .map(|e| e.time)
            .min()
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let latest = triggers
            .iter()
            .map(|e| e.time)
            .max()
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        Self {
            earliest,
            latest,
            windows: HashMap::new(),
            single: HashMap::new(),
            tenants: HashMap::new(),
            history_starts: HashMap::new(),
        }
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

    /// Makes sure `subject`'s window around `trigger` can be answered by [`slice`](Self::slice).
    pub(super) async fn load(
        &mut self,
        store: &dyn Store,
        trigger: &SignInEvent,
        subject: &Subject,
        span: Span,
    ) -> Result<(), StoreError> {
        // Inclusive at both ends, as `slice` cuts.
        let fetch = |from: DateTime<Utc>, to: DateTime<Utc>, limit| {
            store.signins_about(
                &trigger.tenant_id,
                subject.as_store(),
                from,
                to + Duration::milliseconds(1),
                limit,
            )
        };
        let key = (subject.key(), span);
        if !self.windows.contains_key(&key) {
            let (from, _) = span.around(self.earliest);
            let (_, to) = span.around(self.latest);
            let mut events = fetch(from, to, BATCH_LIMIT).await?;
            let complete = events.len() < BATCH_LIMIT;
            events.sort_by_key(|e| e.time);
            self.windows
                .insert(key.clone(), Fetched { events, complete });
        }
        let complete = self.windows.get(&key).is_some_and(|f| f.complete);
        if !complete {
            let (from, to) = span.around(trigger.time);
            let events = fetch(from, to, CONTEXT_LIMIT).await?;
            self.single.insert(key, events);
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
    ) -> &[SignInEvent] {
        let key = (subject.key(), span);
        match self.windows.get(&key) {
            Some(fetched) if fetched.complete => {
                // The same bounds as a direct fetch: from `from`, up to `to` plus a millisecond.
                let (from, to) = span.around(trigger.time);
                let to = to + Duration::milliseconds(1);
                let start = fetched.events.partition_point(|e| e.time < from);
                let end = fetched.events.partition_point(|e| e.time < to);
                let end = end.min(start + CONTEXT_LIMIT).max(start);
                &fetched.events[start..end]
            }
            _ => self.single.get(&key).map_or(&[], Vec::as_slice),
        }
    }
}
