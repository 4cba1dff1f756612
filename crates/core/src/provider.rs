//! The provider contract: what a connector offers, how it is built from an integration, and the
//! registry that maps a provider type id (`okta`, …) to its descriptor and factory.
//!
//! Adding a provider is one crate implementing [`ConnectorFactory`] (with its descriptor, typed
//! config, endpoint rules, rate-limit headers, push handshake and event mapping) and one
//! `register` line in the daemon; no shared crate names a provider.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::catalog::ProviderDescriptor;
use crate::clock::Clock;
use crate::ids::{IntegrationId, TenantId};
use crate::model::ActionKind;
use crate::records::{
    ActionReport, ActionTarget, DesiredAccount, EventPage, Page, ProviderGroup, ProviderUser,
    ProvisionReport, PullMode, PushOutcome, PushReply, PushRequest, PushScreen,
};

/// Provider credentials held in memory: never printed, never serialized back out.
#[derive(Clone)]
pub struct Credentials {
    json: SecretString,
}

impl Credentials {
    /// Takes ownership of the decrypted credential object.
    pub fn from_object(object: Map<String, Value>) -> Self {
        Self {
            json: SecretString::from(Value::Object(object).to_string()),
        }
    }

    /// Parses sealed-and-opened credential bytes.
    pub fn from_json_text(text: SecretString) -> Self {
        Self { json: text }
    }

    /// The whole credential object, exposed for re-sealing only.
    pub fn expose_json(&self) -> &str {
        self.json.expose_secret()
    }

    fn object(&self) -> Map<String, Value> {
        match serde_json::from_str(self.json.expose_secret()) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    /// A string field as a secret (`api_token`, `client_secret`, …).
    pub fn secret(&self, field: &str) -> Option<SecretString> {
        match self.object().get(field) {
            Some(Value::String(s)) => Some(SecretString::from(s.clone())),
            _ => None,
        }
    }

    /// A non-secret part of the credentials (a domain, a client id, a nested object).
    pub fn value(&self, field: &str) -> Option<Value> {
        self.object().get(field).cloned()
    }

    /// Applies a PATCH of credentials: given keys replace stored ones, `null` removes a key.
    pub fn merged_with(&self, patch: &Map<String, Value>) -> Self {
        let mut object = self.object();
        for (key, value) in patch {
            if value.is_null() {
                object.remove(key);
            } else {
                object.insert(key.clone(), value.clone());
            }
        }
        Self::from_object(object)
    }

    /// The credential object, for validation against a descriptor.
    pub fn to_object_for_validation(&self) -> Map<String, Value> {
        self.object()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(**REDACTED**)")
    }
}

/// Everything a connector is built from.
#[derive(Clone)]
pub struct ConnectorContext {
    /// Told about provider answers worth counting (429s); `None` counts nothing.
    pub observer: Option<Arc<dyn CallObserver>>,
    pub tenant_id: TenantId,
    pub integration_id: IntegrationId,
    pub credentials: Credentials,
    pub config: Map<String, Value>,
    /// Whether the operator let integrations point at any base URL (simulators, proxies).
    pub allow_custom_endpoints: bool,
    pub clock: Arc<dyn Clock>,
    /// The integration's public push URL with its ingest token, for connectors that register
    /// it at the provider themselves (a Graph subscription): set when the config names a
    /// `public_base_url` and the engine holds the token; `None` otherwise.
    pub push_url: Option<SecretString>,
}

/// Hears about a connector's calls that operators count: the engine's metrics implement it.
pub trait CallObserver: Send + Sync {
    /// The provider answered 429 Too Many Requests.
    fn rate_limited(&self);
}

impl fmt::Debug for ConnectorContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorContext")
            .field("tenant_id", &self.tenant_id)
            .field("integration_id", &self.integration_id)
            .field("config", &self.config)
            .field("allow_custom_endpoints", &self.allow_custom_endpoints)
            .finish_non_exhaustive()
    }
}

impl ConnectorContext {
    /// A boolean config key, with its default.
    pub fn flag(&self, key: &str, default: bool) -> bool {
        self.config
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(default)
    }

    /// A string config key.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.config.get(key).and_then(Value::as_str)
    }
}

/// What a connector can do; the engine asks before it schedules or runs anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub users: bool,
    pub groups: bool,
    pub signins: bool,
    pub push: bool,
    pub actions: Vec<ActionKind>,
}

/// What the provider's log said about pushed events ([`Connector::confirm_events`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Confirmation {
    /// The events the provider's log holds, as the log describes them.
    pub confirmed: Vec<ConfirmedEvent>,
}

/// One pushed event as the provider's own log has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmedEvent {
    pub provider_event_id: String,
    /// The provider's id of the account the event is about, as the log says (not as the push
    /// said): a forged push could reuse a real event's id for another account.
    pub external_user_id: Option<String>,
    /// The account's login, as the log says.
    pub login: Option<String>,
}

/// What `check()` learned about the connection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckReport {
    /// Who the credentials act as at the provider (a user, an app, a service account).
    pub principal: Option<String>,
    /// Human-readable notes (missing optional permissions, …).
    pub notes: Vec<String>,
}

/// Why a provider call failed, in the words the engine acts on.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("the provider rejected the credentials: {0}")]
    Unauthorized(String),
    #[error("the provider denied the operation: {0}")]
    Forbidden(String),
    #[error("not found at the provider: {0}")]
    NotFound(String),
    #[error("the provider's rate limit was reached")]
    RateLimited { retry_after: Option<Duration> },
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
    #[error("the integration's settings are invalid: {0}")]
    InvalidConfig(String),
    #[error("the provider's answer was not understood: {0}")]
    Protocol(String),
    #[error("this connector does not support {0}")]
    Unsupported(&'static str),
    /// The provider no longer knows the change token an incremental pull resumed from
    /// (expired, or reset at the provider): the engine runs a full pull instead.
    #[error("the provider asks for a full resynchronisation: {0}")]
    SyncStateExpired(String),
    /// A pushed request that is not what the provider sends (bad JSON, wrong shape).
    #[error("the pushed request is invalid: {0}")]
    BadPush(String),
}

impl ConnectorError {
    /// Whether trying again later can succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable(_))
    }
}

/// A live connection to one provider for one integration. Each pull method returns one page and
/// the cursor to resume from, so the engine stores a page before it asks for the next and never
/// holds a whole directory in memory.
#[async_trait]
pub trait Connector: Send + Sync {
    fn capabilities(&self) -> Capabilities;

    /// Proves the credentials work with the cheapest call that needs them.
    async fn check(&self) -> Result<CheckReport, ConnectorError>;

    /// One page of accounts; `cursor` is the previous page's `next_cursor`.
    async fn users_page(
        &self,
        _mode: PullMode,
        _cursor: Option<&str>,
    ) -> Result<Page<ProviderUser>, ConnectorError> {
        Err(ConnectorError::Unsupported("directory pulls"))
    }

    /// One page of groups with their members.
    async fn groups_page(
        &self,
        _cursor: Option<&str>,
    ) -> Result<Page<ProviderGroup>, ConnectorError> {
        Err(ConnectorError::Unsupported("group pulls"))
    }

    /// One page of sign-in and audit events after `cursor` (`None`: the first pull).
    async fn signins_page(&self, _cursor: Option<&str>) -> Result<EventPage, ConnectorError> {
        Err(ConnectorError::Unsupported("sign-in log pulls"))
    }

    /// How far before its own time a first sign-in pull reaches, when from there on the pulls
    /// hold every sign-in the provider records: what lets a detection say "no successful
    /// sign-in since". `None` when unknown or when sign-ins are not pulled.
    fn signin_history_reach(&self) -> Option<chrono::Duration> {
        None
    }

    /// Decodes a pushed request (already authenticated by its ingest token).
    fn decode_push(&self, _request: &PushRequest) -> Result<PushOutcome, ConnectorError> {
        Err(ConnectorError::Unsupported("pushed events"))
    }

    /// Checks a pushed request at the door, before it is acknowledged and queued: answers
    /// handshakes and rejects whatever [`decode_push`](Self::decode_push) would reject, as
    /// cheaply as it can (this runs on the acknowledgement path). The default decodes in full.
    fn screen_push(&self, request: &PushRequest) -> Result<PushScreen, ConnectorError> {
        self.decode_push(request).map(PushScreen::from)
    }

    /// Looks pushed events up in the provider's own log, by the provider's event ids: what the
    /// engine asks before a destructive automatic action that rests only on pushed events (anyone
    /// holding an ingest token can push). Answers which of them the provider has, retrying
    /// briefly where the provider's log lags behind its pushes. The default cannot confirm
    /// anything, so such actions end `unconfirmed` for a connector that does not implement it.
    async fn confirm_events(
        &self,
        _provider_event_ids: &[String],
    ) -> Result<Confirmation, ConnectorError> {
        Err(ConnectorError::Unsupported("confirming pushed events"))
    }

    /// Periodic upkeep at the provider (creating and renewing a change-notification
    /// subscription): the engine calls it when the integration is created or changed and then
    /// hourly, passing what the previous call returned (persisted), and stores the new value.
    async fn maintain(&self, _state: Option<&str>) -> Result<Option<String>, ConnectorError> {
        Ok(None)
    }

    /// Runs a response action; idempotent at the provider.
    async fn act(
        &self,
        _action: ActionKind,
        _target: &ActionTarget,
    ) -> Result<ActionReport, ConnectorError> {
        Err(ConnectorError::Unsupported("response actions"))
    }

    /// Outbound provisioning, one batch of a pass: brings each desired account to its state at
    /// the provider (creates it, updates what differs, deactivates it when `active` is false),
    /// found by its `external_id`, else adopted by its `user_name` (a uniqueness conflict is
    /// resolved by looking the account up, never by a second one). Idempotent: an account
    /// already as desired is not written. Never deletes. A refusal about one account counts it
    /// `failed` and goes on; an error ends the pass. `state` is what the previous call of the
    /// pass (or the last pass) returned.
    async fn provision(
        &self,
        _desired: &[DesiredAccount],
        _state: Option<&str>,
    ) -> Result<ProvisionReport, ConnectorError> {
        Err(ConnectorError::Unsupported("outbound provisioning"))
    }

    /// Whether [`provision`](Self::provision) provisions group memberships
    /// ([`DesiredAccount::groups`]): the provider has groups this connector writes. When false
    /// the caller leaves `groups` unset (and spares itself reading the group names).
    async fn provisions_groups(&self) -> Result<bool, ConnectorError> {
        Ok(false)
    }

    /// Ends a complete provisioning pass: deactivates the accounts provisioning manages at the
    /// provider (an `external_id` that is a Gatehouse identity id) whose id `keep` does not hold,
    /// the people no IdP brings in any more. Counts only what it deactivated.
    async fn provision_sweep(
        &self,
        _keep: &HashSet<String>,
        _state: Option<&str>,
    ) -> Result<ProvisionReport, ConnectorError> {
        Err(ConnectorError::Unsupported("outbound provisioning"))
    }
}

/// Builds connectors for one provider type and describes what its integrations carry.
pub trait ConnectorFactory: Send + Sync {
    fn descriptor(&self) -> &'static ProviderDescriptor;
    fn build(&self, context: ConnectorContext) -> Result<Arc<dyn Connector>, ConnectorError>;

    /// What an operator should know about an integration with this config: a detection that
    /// cannot fire without a feature it turned off, a licence a feature needs. Shown with the
    /// integration; empty when there is nothing to say.
    fn notes(&self, _config: &Map<String, Value>) -> Vec<String> {
        Vec::new()
    }

    /// Answers a provider handshake that arrives without a valid ingest token (Okta's one-time
    /// verification GET may carry none, Microsoft Graph's validation POST carries only a
    /// `validationToken`); `None` when the request is no such handshake. Any method may carry
    /// one; the answer must reveal nothing but what the request itself holds.
    fn handshake(&self, _request: &PushRequest) -> Option<PushReply> {
        None
    }
}

struct Registration {
    descriptor: &'static ProviderDescriptor,
    factory: Option<Arc<dyn ConnectorFactory>>,
}

/// Every provider type the daemon knows, with its connector once one is registered.
#[derive(Default)]
pub struct ConnectorRegistry {
    providers: BTreeMap<&'static str, Registration>,
}

impl ConnectorRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes a type known (integrations can be registered) before its connector exists.
    pub fn declare(&mut self, descriptor: &'static ProviderDescriptor) {
        self.providers.entry(descriptor.id).or_insert(Registration {
            descriptor,
            factory: None,
        });
    }

    /// Registers a connector; its descriptor replaces any declared one.
    pub fn register(&mut self, factory: impl ConnectorFactory + 'static) {
        let descriptor = factory.descriptor();
        self.providers.insert(
            descriptor.id,
            Registration {
                descriptor,
                factory: Some(Arc::new(factory)),
            },
        );
    }

    pub fn descriptor(&self, type_id: &str) -> Option<&'static ProviderDescriptor> {
        self.providers.get(type_id).map(|r| r.descriptor)
    }

    pub fn factory(&self, type_id: &str) -> Option<Arc<dyn ConnectorFactory>> {
        self.providers.get(type_id).and_then(|r| r.factory.clone())
    }

    /// The known type ids, sorted.
    pub fn type_ids(&self) -> Vec<&'static str> {
        self.providers.keys().copied().collect()
    }
}

impl fmt::Debug for ConnectorRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.providers
                    .iter()
                    .map(|(id, r)| (id, r.factory.is_some())),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;

    #[test]
    fn credentials_never_print() {
        let mut map = Map::new();
        map.insert("api_token".into(), Value::String("s3cr3t-token".into()));
        let creds = Credentials::from_object(map);
        assert!(!format!("{creds:?}").contains("s3cr3t"));
        assert_eq!(
            creds
                .secret("api_token")
                .map(|s| s.expose_secret().to_owned()),
            Some("s3cr3t-token".to_owned())
        );
    }

    #[test]
    fn credential_patch_replaces_and_removes() {
        let creds = Credentials::from_object(
            serde_json::from_value(serde_json::json!({"a": "1", "b": "2"})).unwrap(),
        );
        let patch = serde_json::from_value(serde_json::json!({"a": "9", "b": null})).unwrap();
        let merged = creds.merged_with(&patch);
        assert_eq!(merged.value("a"), Some(Value::String("9".into())));
        assert_eq!(merged.value("b"), None);
    }

    #[test]
    fn registry_lists_declared_types_without_factories() {
        let mut registry = ConnectorRegistry::new();
        for d in catalog::gatehouse_types() {
            registry.declare(d);
        }
        assert_eq!(registry.type_ids(), vec!["saml", "scim"]);
        assert!(registry.factory("saml").is_none());
        assert!(registry.descriptor("saml").is_some());
    }
}
