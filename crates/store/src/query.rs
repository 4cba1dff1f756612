//! Paging and list filters, shared by every backend.

use chrono::{DateTime, Utc};
use gatehouse_core::model::{
    Action, ActionStatus, Detection, Identity, Outcome, Severity, SignInEvent, User, UserStatus,
};
use gatehouse_core::{IntegrationId, TenantId, UserId};

/// Which page of a list to read: at most `limit` items after the opaque `cursor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub cursor: Option<String>,
}

impl PageRequest {
    pub const MAX_LIMIT: usize = 1000;

    pub fn new(limit: usize, cursor: Option<String>) -> Self {
        Self {
            limit: limit.clamp(1, Self::MAX_LIMIT),
            cursor,
        }
    }

    pub fn first(limit: usize) -> Self {
        Self::new(limit, None)
    }
}

/// One page of a list and the cursor of the next, if there is more.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// What the end of a full pull needs of each account to find those the pull did not see:
/// the fields of [`User`] by the same names, so a backend can read them without decoding the
/// whole record (its raw provider copy is most of it).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct UserSyncMark {
    pub id: UserId,
    pub integration_id: IntegrationId,
    pub synced_at: DateTime<Utc>,
    pub status: UserStatus,
    #[serde(default)]
    pub status_flags: Vec<String>,
}

impl From<User> for UserSyncMark {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            integration_id: user.integration_id,
            synced_at: user.synced_at,
            status: user.status,
            status_flags: user.status_flags,
        }
    }
}

/// `GET /v1/users` filters.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub status: Option<UserStatus>,
    pub provider: Option<String>,
    pub integration_id: Option<IntegrationId>,
    /// Exact, case-insensitive match on any of the user's e-mails.
    pub email: Option<String>,
    /// Case-insensitive substring of login, e-mail or display name.
    pub q: Option<String>,
}

impl UserFilter {
    pub fn matches(&self, user: &User) -> bool {
        self.status.is_none_or(|s| user.status == s)
            && self.provider.as_ref().is_none_or(|p| &user.provider == p)
            && self
                .integration_id
                .as_ref()
                .is_none_or(|i| &user.integration_id == i)
            && self.email.as_ref().is_none_or(|e| {
                let e = e.to_lowercase();
                user.email
                    .iter()
                    .chain(&user.emails)
                    .any(|m| m.to_lowercase() == e)
            })
            && self.q.as_ref().is_none_or(|q| {
                let q = q.to_lowercase();
                [
                    Some(&user.login),
                    user.email.as_ref(),
                    user.display_name.as_ref(),
                ]
                .into_iter()
                .flatten()
                .any(|field| field.to_lowercase().contains(&q))
            })
    }
}

/// `GET /v1/identities` filters, on what the identity record itself holds.
#[derive(Debug, Clone, Default)]
pub struct IdentityFilter {
    /// Case-insensitive substring of any of the identity's e-mails or its display name.
    pub q: Option<String>,
}

impl IdentityFilter {
    pub fn matches(&self, identity: &Identity) -> bool {
        self.q.as_ref().is_none_or(|q| {
            let q = q.to_lowercase();
            identity
                .emails
                .iter()
                .chain(identity.display_name.as_ref())
                .any(|field| field.to_lowercase().contains(&q))
        })
    }
}

/// `GET /v1/signins` filters.
#[derive(Debug, Clone, Default)]
pub struct SignInFilter {
    pub user_id: Option<UserId>,
    pub outcome: Option<Outcome>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl SignInFilter {
    pub fn matches(&self, event: &SignInEvent) -> bool {
        self.user_id
            .as_ref()
            .is_none_or(|u| event.user_id.as_ref() == Some(u))
            && self.outcome.is_none_or(|o| event.outcome == o)
            && self.since.is_none_or(|t| event.time >= t)
            && self.until.is_none_or(|t| event.time < t)
    }
}

/// `GET /v1/detections` filters.
#[derive(Debug, Clone, Default)]
pub struct DetectionFilter {
    pub user_id: Option<UserId>,
    pub kind: Option<String>,
    pub severity: Option<Severity>,
    pub since: Option<DateTime<Utc>>,
}

impl DetectionFilter {
    pub fn matches(&self, detection: &Detection) -> bool {
        self.user_id
            .as_ref()
            .is_none_or(|u| detection.user_id.as_ref() == Some(u))
            && self.kind.as_ref().is_none_or(|k| &detection.kind == k)
            && self.severity.is_none_or(|s| detection.severity == s)
            && self.since.is_none_or(|t| detection.last_seen >= t)
    }
}

/// `GET /v1/actions` filters.
#[derive(Debug, Clone, Default)]
pub struct ActionFilter {
    pub status: Option<ActionStatus>,
    pub user_id: Option<UserId>,
}

impl ActionFilter {
    pub fn matches(&self, action: &Action) -> bool {
        self.status.is_none_or(|s| action.status == s)
            && self.user_id.as_ref().is_none_or(|u| &action.user_id == u)
    }
}

/// Sign-ins a window read may take from its caller instead of reading them: events the caller
/// holds exactly as they are stored, without their raw event, by id. The risk engine reads the
/// account's, the address's and the session's sign-ins around every new one; those lists share
/// most of their events (an account signs in from its usual address), all hold the new sign-in
/// itself, which the engine has in hand, and a busy address's next batch reads again most of
/// what the one before it read. A stored sign-in never changes, so a copy stays exact.
///
/// Bounded: it holds the [`LIMIT`](Self::LIMIT) sign-ins added last and forgets the oldest
/// first, so a busy key's recent neighbourhood stays in it from one batch to the next.
#[derive(Debug, Default)]
pub struct KnownSignIns {
    events: std::collections::HashMap<String, SignInEvent>,
    /// Ids in the order they were added.
    order: std::collections::VecDeque<String>,
}

impl KnownSignIns {
    /// Most sign-ins held (about a kilobyte each).
    pub const LIMIT: usize = 10_000;

    /// Keeps `event` (without its raw event) unless it is known, forgetting the oldest past
    /// the limit.
    pub fn add(&mut self, event: &SignInEvent) {
        let id = event.id.as_str();
        if self.events.contains_key(id) {
            return;
        }
        if self.order.len() >= Self::LIMIT {
            if let Some(oldest) = self.order.pop_front() {
                self.events.remove(&oldest);
            }
        }
        // Window reads and the risk queue's events come without it already: nothing to copy.
        let mut bare = event.clone();
        bare.raw = None;
        self.events.insert(id.to_owned(), bare);
        self.order.push_back(id.to_owned());
    }

    /// The sign-in `id` of `tenant`, if held.
    pub fn get(&self, tenant: &TenantId, id: &str) -> Option<&SignInEvent> {
        self.events
            .get(id)
            .filter(|event| &event.tenant_id == tenant)
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

#[cfg(test)]
mod known_tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn signin(tenant: &str, id: &str) -> SignInEvent {
        serde_json::from_value(serde_json::json!({
            "id": id, "tenant_id": tenant, "integration_id": "int_1", "provider": "idp",
            "provider_event_id": id, "time": "2026-05-01T10:00:00Z", "event_type": "sign_in",
            "outcome": "success", "raw": {"uuid": id},
        }))
        .unwrap()
    }

    #[test]
    fn known_sign_ins_are_per_tenant_and_forget_the_oldest_past_the_limit() {
        let a = TenantId::parse("ten_a").unwrap();
        let b = TenantId::parse("ten_b").unwrap();
        let mut known = KnownSignIns::default();
        known.add(&signin("ten_a", "sin_first"));
        let held = known.get(&a, "sin_first").unwrap();
        assert!(held.raw.is_none(), "held without the raw event");
        assert!(
            known.get(&b, "sin_first").is_none(),
            "another tenant's id is not served"
        );
        for n in 1..KnownSignIns::LIMIT {
            known.add(&signin("ten_a", &format!("sin_{n}")));
        }
        assert_eq!(known.len(), KnownSignIns::LIMIT);
        known.add(&signin("ten_a", "sin_first"));
        assert!(
            known.get(&a, "sin_first").is_some(),
            "added again: no change"
        );
        known.add(&signin("ten_a", "sin_last"));
        assert_eq!(known.len(), KnownSignIns::LIMIT);
        assert!(known.get(&a, "sin_first").is_none(), "the oldest forgotten");
        assert!(known.get(&a, "sin_1").is_some());
        assert!(known.get(&a, "sin_last").is_some());
    }
}
