//! What an event means, in provider-neutral words: the step of signing in it records, why it
//! failed, the MFA method and result, a policy decision, a privilege change, who made an audit
//! change, the application and whether the source was an anonymizer.
//!
//! Connectors fill these from their provider's payload (Okta: `crates/okta/src/mapping/signal`);
//! the risk detections read only these, never a provider's raw event or event type names, so
//! every provider feeds the same detections. `docs/DETECTIONS.md` says which detection reads
//! which field and how each connector fills it.
//!
//! Every field is optional and omitted from JSON when unknown: an event stored before these
//! fields existed reads back with an empty [`EventSignal`] and is judged as an unrecognised
//! event (by its category and outcome alone).

use serde::{Deserialize, Serialize};

/// Which step of signing in an event records (authentication events only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthStep {
    /// A first-factor attempt (password, federation, passwordless): what brute force, spray and
    /// stuffing count.
    FirstFactor,
    /// A second-factor step (push, code, key): its failure is not a password guess.
    Mfa,
    /// Access through an existing session (SSO into an application).
    Session,
    /// Logged around a sign-in but not an attempt itself (a policy evaluation, a push being
    /// sent, a threat notice): counting it would count one sign-in twice.
    NotAnAttempt,
}

/// Why an authentication failed, as a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    BadCredentials,
    UnknownUser,
    LockedOut,
    AccountDisabled,
    MfaFailed,
    PolicyDenied,
    Other,
}

/// The kind of MFA factor used (the provider's own name stays in `mfa_factor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MfaMethod {
    Push,
    /// A one-time code from an app or token (TOTP, HOTP).
    Otp,
    Sms,
    Voice,
    Email,
    /// A WebAuthn / FIDO security key or platform authenticator.
    Webauthn,
    Other,
}

/// How an MFA step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MfaResult {
    Success,
    /// The user rejected a push.
    PushDenied,
    /// A push verification that failed without an explicit rejection (timed out, abandoned).
    PushFailed,
    /// Any other failed MFA step (a wrong code, …).
    Failed,
}

/// What a sign-on policy evaluation decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PolicyDecision {
    Allow,
    Deny,
    Challenge,
}

/// Why the provider considers the source anonymizing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Anonymizer {
    /// The provider flagged the IP as a proxy or anonymizer.
    Proxy,
    /// The provider reported an anonymous tunnel (VPN or Tor).
    AnonymousTunnel,
}

/// A privilege or MFA change an audit event records (or attempted: the event's outcome says
/// whether it happened). Names are the provider's display names, when it gave them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PrivilegeChange {
    /// An administrator role granted to the event's account, or to `group` (the event's account
    /// is then the admin who granted it).
    AdminRoleGranted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
    },
    /// One MFA factor of the account removed.
    FactorRemoved {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        factor: Option<String>,
    },
    /// Every MFA factor of the account reset.
    FactorsReset,
    /// An MFA factor type switched off for the whole organisation.
    OrgMfaFactorDisabled {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        factor: Option<String>,
    },
    /// An MFA or sign-on policy (or a rule of one) deactivated or deleted.
    MfaPolicyRemoved {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        policy: Option<String>,
    },
    /// An MFA or sign-on policy (or a rule of one) updated; providers do not say whether the
    /// update weakened MFA.
    MfaPolicyChanged {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        policy: Option<String>,
    },
    /// A new external identity provider: a way to sign in that bypasses the org's own MFA.
    ExternalIdpCreated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idp: Option<String>,
    },
}

/// Who made an audit change (the administrator, not the account changed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Actor {
    /// The provider's id of the actor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The actor's login or e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
}

impl Actor {
    /// The login, else the id: how explanations name the actor.
    pub fn name(&self) -> Option<&str> {
        self.login.as_deref().or(self.id.as_deref())
    }
}

/// What an event means, in provider-neutral words (see the module docs). Each field is absent
/// when the provider said nothing about it or the event is not of that kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventSignal {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<AuthStep>,
    /// Why a failed authentication failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<FailureReason>,
    /// The kind of the event's `mfa_factor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_method: Option<MfaMethod>,
    /// How an MFA step ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_result: Option<MfaResult>,
    /// What a sign-on policy evaluation decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_decision: Option<PolicyDecision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privilege_change: Option<PrivilegeChange>,
    /// Who made an audit change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    /// The application signed in to, by its display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymizer: Option<Anonymizer>,
}

impl EventSignal {
    /// Nothing known: an unrecognised event, or one stored before these fields existed.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn signals_serialize_in_snake_case_and_omit_what_is_unknown() {
        let signal = EventSignal {
            step: Some(AuthStep::Mfa),
            mfa_method: Some(MfaMethod::Webauthn),
            mfa_result: Some(MfaResult::PushDenied),
            privilege_change: Some(PrivilegeChange::AdminRoleGranted {
                role: Some("Super Administrator".into()),
                group: None,
            }),
            actor: Some(Actor {
                id: None,
                login: Some("admin@example.com".into()),
            }),
            ..EventSignal::default()
        };
        let value = serde_json::to_value(&signal).unwrap();
        assert_eq!(
            value,
            json!({
                "step": "mfa", "mfa_method": "webauthn", "mfa_result": "push_denied",
                "privilege_change": {"kind": "admin_role_granted", "role": "Super Administrator"},
                "actor": {"login": "admin@example.com"},
            })
        );
        assert_eq!(
            serde_json::from_value::<EventSignal>(value).unwrap(),
            signal
        );
        let reset: PrivilegeChange =
            serde_json::from_value(json!({"kind": "factors_reset"})).unwrap();
        assert_eq!(reset, PrivilegeChange::FactorsReset);
        assert!(serde_json::from_value::<EventSignal>(json!({}))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn events_stored_before_signals_existed_read_back_with_an_empty_signal() {
        let old = json!({
            "id": "sin_1", "tenant_id": "ten_1", "integration_id": "int_1", "provider": "idp",
            "provider_event_id": "1", "time": "2026-05-01T00:00:00Z",
            "event_type": "user.session.start", "user_id": null, "login": null,
            "outcome": "success", "reason": null, "ip": null, "country": null, "city": null,
            "user_agent": null, "mfa_factor": null, "session_id": null,
        });
        let event: crate::model::SignInEvent = serde_json::from_value(old).unwrap();
        assert!(event.signal.is_empty());
    }
}
