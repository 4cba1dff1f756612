//! What connectors hand to the engine: provider records normalized into Gatehouse's words but not
//! yet given Gatehouse ids, pages with resumable cursors, pushed requests and action reports.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{
    EventCategory, EventSignal, EventSource, Outcome, ProvisionCounts, RawEvent, RiskLevel,
    SignInEvent, UserStatus,
};
use crate::{IntegrationId, SignInId, TenantId, UserId};

/// The status flag of a [`ProviderUser`] that only says an account is gone (a Graph delta
/// `@removed` entry carries nothing but the id): the inventory keeps what it knew of the account
/// and takes only the status and flags from it.
pub const TOMBSTONE_FLAG: &str = "tombstone";

/// An account as the provider described it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderUser {
    pub external_id: String,
    pub login: String,
    pub email: Option<String>,
    pub emails: Vec<String>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub status: UserStatus,
    pub status_flags: Vec<String>,
    pub department: Option<String>,
    pub title: Option<String>,
    pub manager: Option<String>,
    /// External ids of the account's groups, when the provider lists them with the account.
    pub groups: Option<Vec<String>>,
    pub mfa_enrolled: Option<bool>,
    pub mfa_factors: Vec<String>,
    /// Whether the account holds an admin role; `None` when this pull could not tell (the
    /// inventory then keeps what it knew).
    pub is_admin: Option<bool>,
    pub created_at: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub raw: Option<crate::model::RawRecord>,
}

/// A group as the provider described it, with its members' external ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderGroup {
    pub external_id: String,
    pub name: String,
    pub description: Option<String>,
    pub members: Vec<String>,
    pub updated_at: Option<DateTime<Utc>>,
    pub raw: Option<crate::model::RawRecord>,
}

/// A sign-in or audit event as the provider described it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderEvent {
    /// The provider's unique event id: the dedupe key.
    pub provider_event_id: String,
    pub time: DateTime<Utc>,
    pub category: EventCategory,
    pub event_type: String,
    /// The provider's id of the account the event is about (the actor of a sign-in).
    pub external_user_id: Option<String>,
    pub login: Option<String>,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub ip: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub asn: Option<u32>,
    pub user_agent: Option<String>,
    pub device: Option<String>,
    pub mfa_factor: Option<String>,
    pub session_id: Option<String>,
    pub is_proxy: Option<bool>,
    pub provider_risk: Option<RiskLevel>,
    /// What the event means in provider-neutral words (the connector's mapping fills it).
    #[serde(default)]
    pub signal: EventSignal,
    /// The event as the provider sent it.
    pub raw: Option<RawEvent>,
}

impl ProviderEvent {
    /// The sign-in this event becomes in `integration` of `tenant`, about the inventory's
    /// `user_id` when the engine matched one: its id is derived from the event's time and
    /// (integration, provider event id), so a resent event gets the same one.
    pub fn into_signin(
        self,
        tenant: &TenantId,
        integration: &IntegrationId,
        provider: &str,
        user_id: Option<UserId>,
        source: EventSource,
    ) -> SignInEvent {
        SignInEvent {
            id: SignInId::derive(self.time, &[integration.as_str(), &self.provider_event_id]),
            tenant_id: tenant.clone(),
            integration_id: integration.clone(),
            provider: provider.to_owned(),
            provider_event_id: self.provider_event_id,
            time: self.time,
            category: self.category,
            event_type: self.event_type,
            user_id,
            external_user_id: self.external_user_id,
            login: self.login,
            outcome: self.outcome,
            reason: self.reason,
            ip: self.ip,
            country: self.country,
            city: self.city,
            latitude: self.latitude,
            longitude: self.longitude,
            asn: self.asn,
            user_agent: self.user_agent,
            device: self.device,
            mfa_factor: self.mfa_factor,
            session_id: self.session_id,
            is_proxy: self.is_proxy,
            provider_risk: self.provider_risk,
            source,
            signal: self.signal,
            raw: self.raw,
        }
    }
}

/// Which accounts a directory pull asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullMode {
    /// Every account in every status.
    Full,
    /// Accounts changed after `since`; `sync_state` is what the last completed pass returned as
    /// [`Page::sync_state`] (a provider's own change token, such as Graph's deltaLink), when the
    /// connector keeps one. A connector with a state ignores `since`; without one (a first
    /// incremental pull after an upgrade, a lost state) it starts a new pass from scratch.
    Changed {
        since: DateTime<Utc>,
        sync_state: Option<String>,
    },
}

impl PullMode {
    /// An incremental pull by time alone (providers without change tokens).
    pub fn changed_since(since: DateTime<Utc>) -> Self {
        Self::Changed {
            since,
            sync_state: None,
        }
    }
}

/// One page of a directory pull. `next_cursor` resumes after this page; `None` means done.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    /// On the page that ends a pass (`next_cursor` is `None`): where the provider resumes
    /// changes from next time (Graph's deltaLink). The engine stores it once the page is stored
    /// and hands it back in [`PullMode::Changed`].
    pub sync_state: Option<String>,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, next_cursor: Option<String>) -> Self {
        Self {
            items,
            next_cursor,
            sync_state: None,
        }
    }

    /// The provider's change token for the next incremental pull.
    pub fn with_sync_state(mut self, sync_state: Option<String>) -> Self {
        self.sync_state = sync_state;
        self
    }
}

/// One page of a sign-in log pull.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    pub events: Vec<ProviderEvent>,
    /// Where the next pull resumes; persisted only after `events` are stored.
    pub next_cursor: Option<String>,
    /// Nothing more is available right now (polling: an empty page).
    pub caught_up: bool,
}

/// A request pushed to `/v1/idp/{provider}`, already authenticated by its ingest token. The
/// token itself, cookies and `Authorization` are taken out before a connector sees it.
#[derive(Debug, Clone, Default)]
pub struct PushRequest {
    pub method: String,
    /// The query string's parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The media type of the body (`application/json`), without parameters, lower-cased.
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl PushRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A `Content-Type` value's media type, lower-cased, without parameters (what
    /// [`content_type`](Self::content_type) holds).
    pub fn media_type(value: &str) -> String {
        value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    }

    /// The first value of a query parameter (names compare exactly, as providers send them).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Where a provider puts the ingest token on a pushed request; a descriptor lists the places
/// its provider can use, tried in order.
#[derive(Debug, Clone, Copy)]
pub enum TokenPlace {
    /// `Authorization: Bearer <token>`, or the bare header value (Okta sends the configured
    /// value verbatim).
    Authorization,
    /// A query parameter of the push URL.
    Query(&'static str),
    /// A header of the provider's own (a channel token).
    Header(&'static str),
}

/// Where most providers put the token: `Authorization`, else `?token=`.
pub const DEFAULT_TOKEN_PLACES: &[TokenPlace] =
    &[TokenPlace::Authorization, TokenPlace::Query("token")];

/// An answer a connector gives a pushed request itself (a handshake or validation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReply {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl PushReply {
    /// A JSON answer.
    pub fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            content_type: "application/json".to_owned(),
            body: body.to_string().into_bytes(),
        }
    }

    /// A `text/plain` answer (Microsoft Graph expects its validation token echoed so).
    pub fn text(status: u16, body: &str) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8".to_owned(),
            body: body.as_bytes().to_vec(),
        }
    }

    /// An answer with no body (a provider's control message acknowledged).
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8".to_owned(),
            body: Vec::new(),
        }
    }

    /// The body as JSON, when it is JSON (for tests and logs).
    pub fn json_body(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// What a push decoded to.
#[derive(Debug, Clone, PartialEq)]
pub enum PushOutcome {
    /// A handshake or control message: answer it so and store nothing.
    Respond(PushReply),
    /// Events to store before acknowledging.
    Events(Vec<ProviderEvent>),
    /// The provider says these accounts (external ids) changed, without saying how (Graph's
    /// change notifications): the engine runs an incremental directory pull.
    AccountsChanged(Vec<String>),
}

/// What a push looks like at the door, before it is queued for decoding.
#[derive(Debug, Clone, PartialEq)]
pub enum PushScreen {
    /// A handshake or control message: answer it so and queue nothing.
    Respond(PushReply),
    /// A delivery of this many events, shaped as the provider sends them: queue it. Decoding it
    /// later must not fail for any reason this check could have seen.
    Accept { events: usize },
}

impl From<PushOutcome> for PushScreen {
    fn from(outcome: PushOutcome) -> Self {
        match outcome {
            PushOutcome::Respond(reply) => Self::Respond(reply),
            PushOutcome::Events(events) => Self::Accept {
                events: events.len(),
            },
            PushOutcome::AccountsChanged(accounts) => Self::Accept {
                events: accounts.len(),
            },
        }
    }
}

/// The account an action is aimed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionTarget {
    pub external_id: String,
    pub login: String,
}

/// What an action did at the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionReport {
    /// False when the account already was in the asked-for state (an idempotent no-op).
    pub changed: bool,
    pub detail: String,
    /// The account's lifecycle state at the provider once the action is done, when the
    /// connector knows it: the inventory shows it at once instead of at the next pull.
    #[serde(default)]
    pub account: Option<AccountState>,
}

/// An account's lifecycle state as a provider reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    pub status: UserStatus,
    /// As [`ProviderUser::status_flags`].
    pub status_flags: Vec<String>,
}

/// One person as outbound provisioning wants them in a downstream app: built by the engine from
/// a Gatehouse identity and its accounts at the tenant's IdPs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredAccount {
    /// The Gatehouse identity id: the app's `externalId`, what provisioning finds the app's
    /// account by on every later run.
    pub external_id: String,
    /// The person's primary e-mail (their login at the app).
    pub user_name: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    /// Addresses, `user_name` first, no duplicates (compared case-insensitively).
    pub emails: Vec<String>,
    /// False when every source account is suspended or deprovisioned.
    pub active: bool,
    /// Names of the person's groups at the IdPs; `None`: memberships are not provisioned.
    pub groups: Option<Vec<String>>,
}

/// What one provisioning call did ([`crate::provider::Connector::provision`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvisionReport {
    pub counts: ProvisionCounts,
    /// The connector's opaque state for its next call (passed back as `state`); `None` when it
    /// keeps none.
    pub state: Option<String>,
    /// Why accounts counted as failed did (a few, for the run's log), without secrets.
    pub errors: Vec<String>,
}
