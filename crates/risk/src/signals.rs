//! Which provider event types mean what: the one table every detection reads, so adding Entra,
//! Google or JumpCloud names is adding rows here (and a fixture), not touching detections.
//!
//! Rows are matched in order (specific rows before prefix rows); `event_type` may end in `*` for
//! a prefix. Some signals also need the event's outcome, factor or raw policy type; those checks
//! live in the functions below, next to the table, and say why.

use gatehouse_core::model::{EventCategory, Outcome, SignInEvent};
use serde_json::Value;

/// What a recognised event type means to the detections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Logged around a sign-in but not an attempt itself (a policy evaluation, a threat notice, a
    /// push being sent): counting it would count one sign-in twice.
    NotAnAttempt,
    /// A second-factor step: its failure is not a password guess.
    MfaStep,
    /// The user rejected a push.
    MfaPushDenied,
    /// A second-factor verification; a push that failed (rejected or timed out) when the factor is
    /// a push and the outcome a failure.
    MfaVerify,
    /// An administrator role granted to a user or a group.
    AdminRoleGranted,
    /// One MFA factor of a user removed.
    FactorRemoved,
    /// Every MFA factor of a user reset.
    FactorsReset,
    /// An MFA factor type switched off for the whole organisation.
    OrgMfaFactorDisabled,
    /// A policy or rule deactivated or deleted; a finding when it is an MFA or sign-on policy.
    PolicyRemoved,
    /// A policy or rule updated; a finding (lower severity) when it is an MFA or sign-on policy,
    /// since the log does not say whether the change weakened MFA.
    PolicyChanged,
    /// A new external identity provider (a way to sign in that bypasses the org's own MFA).
    ExternalIdpCreated,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Recogniser {
    /// `SignInEvent::provider` (`okta`, …), or `*` for any.
    pub provider: &'static str,
    /// Exact event type, or a prefix ending in `*`.
    pub event_type: &'static str,
    pub signal: Signal,
}

const fn okta(event_type: &'static str, signal: Signal) -> Recogniser {
    Recogniser {
        provider: "okta",
        event_type,
        signal,
    }
}

/// Okta System Log names today. Entra ID (`signIns` `status.errorCode` 500121 "MFA denied",
/// `riskLevelDuringSignIn`, directory audit `Add member to role`), Google Workspace (`login`
/// `login_verification`, `suspicious_login`, admin `ASSIGN_ROLE`) and JumpCloud names are added
/// here once their connectors map them; `docs/DETECTIONS.md` lists the fields.
pub const RECOGNISERS: &[Recogniser] = &[
    okta("policy.evaluate_sign_on", Signal::NotAnAttempt),
    okta("security.threat.detected", Signal::NotAnAttempt),
    okta("system.push.send_factor_verify_push", Signal::NotAnAttempt),
    okta("user.mfa.okta_verify.deny_push", Signal::MfaPushDenied),
    okta("user.authentication.auth_via_mfa", Signal::MfaVerify),
    okta("user.mfa.okta_verify", Signal::MfaVerify),
    okta("user.account.privilege.grant", Signal::AdminRoleGranted),
    okta("group.privilege.grant", Signal::AdminRoleGranted),
    okta("user.mfa.factor.deactivate", Signal::FactorRemoved),
    okta("user.mfa.factor.reset_all", Signal::FactorsReset),
    okta("system.mfa.factor.deactivate", Signal::OrgMfaFactorDisabled),
    okta("policy.lifecycle.deactivate", Signal::PolicyRemoved),
    okta("policy.lifecycle.delete", Signal::PolicyRemoved),
    okta("policy.rule.deactivate", Signal::PolicyRemoved),
    okta("policy.rule.delete", Signal::PolicyRemoved),
    okta("policy.lifecycle.update", Signal::PolicyChanged),
    okta("policy.rule.update", Signal::PolicyChanged),
    okta("system.idp.lifecycle.create", Signal::ExternalIdpCreated),
    // After the specific `user.mfa.*` rows: every other MFA event is an MFA step.
    okta("user.mfa.*", Signal::MfaStep),
];

/// Policy types (letters and digits only, upper case) whose weakening can remove MFA.
const MFA_POLICY_TYPES: &[&str] = &[
    "MFAENROLL",
    "OKTASIGNON",
    "SIGNON",
    "ACCESSPOLICY",
    "AUTHENTICATIONPOLICY",
];

/// The table's meaning of an event, if any row matches.
pub fn recognise(event: &SignInEvent) -> Option<Signal> {
    RECOGNISERS
        .iter()
        .find(|row| {
            (row.provider == "*" || row.provider == event.provider)
                && match row.event_type.strip_suffix('*') {
                    Some(prefix) => event.event_type.starts_with(prefix),
                    None => row.event_type == event.event_type,
                }
        })
        .map(|row| row.signal)
}

fn is_mfa(signal: Option<Signal>) -> bool {
    matches!(
        signal,
        Some(Signal::MfaStep | Signal::MfaPushDenied | Signal::MfaVerify)
    )
}

/// A first-factor sign-in attempt (any outcome): what brute force, spray and stuffing count.
pub fn is_attempt(event: &SignInEvent) -> bool {
    let signal = recognise(event);
    event.category == EventCategory::Authentication
        && signal != Some(Signal::NotAnAttempt)
        && !is_mfa(signal)
}

/// A failed first-factor sign-in attempt.
pub fn is_failed_attempt(event: &SignInEvent) -> bool {
    event.outcome == Outcome::Failure && is_attempt(event)
}

/// A successful sign-in (first factor, MFA or SSO): what travel, new country and dormancy use.
pub fn is_success(event: &SignInEvent) -> bool {
    event.category == EventCategory::Authentication
        && event.outcome == Outcome::Success
        && recognise(event) != Some(Signal::NotAnAttempt)
}

/// Whether a push rejection is an explicit denial or a failure (timeout, error): a provider may
/// log one rejection as both, so the two are counted apart and the larger count is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rejection {
    Denied,
    Failed,
}

/// An MFA push denial or timeout.
pub fn push_rejection(event: &SignInEvent) -> Option<Rejection> {
    if event.category != EventCategory::Authentication {
        return None;
    }
    match recognise(event)? {
        Signal::MfaPushDenied => Some(Rejection::Denied),
        Signal::MfaVerify if event.outcome == Outcome::Failure && is_push(event) => {
            Some(Rejection::Failed)
        }
        _ => None,
    }
}

/// Okta names the factor `OKTA_VERIFY_PUSH` (Classic) or `Okta Verify` (Identity Engine, where the
/// same authenticator also offers codes: the target's `methodTypeUsed` tells them apart).
fn is_push(event: &SignInEvent) -> bool {
    let Some(factor) = event.mfa_factor.as_deref() else {
        return false;
    };
    let factor = factor.to_ascii_uppercase();
    if factor.contains("PUSH") {
        return true;
    }
    if factor != "OKTA VERIFY" {
        return false;
    }
    let method = event
        .raw
        .as_ref()
        .and_then(|raw| raw.get("target"))
        .and_then(Value::as_array)
        .and_then(|targets| {
            targets
                .iter()
                .find_map(|t| t.pointer("/detailEntry/methodTypeUsed")?.as_str())
        });
    method.is_none_or(|m| m.to_ascii_lowercase().contains("push"))
}

/// What an audit event changed, if it is a privilege or MFA change worth a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrivilegeSignal {
    /// `group` is set when the role went to a group (the event's account is then the admin).
    AdminRoleGranted {
        role: Option<String>,
        group: Option<String>,
    },
    FactorRemoved {
        factor: Option<String>,
    },
    FactorsReset,
    OrgMfaFactorDisabled {
        factor: Option<String>,
    },
    MfaPolicyRemoved {
        policy: Option<String>,
    },
    MfaPolicyChanged {
        policy: Option<String>,
    },
    ExternalIdpCreated {
        idp: Option<String>,
    },
}

/// The privilege or MFA change an audit event records.
pub fn privilege_signal(event: &SignInEvent) -> Option<PrivilegeSignal> {
    if event.category != EventCategory::Audit || event.outcome == Outcome::Failure {
        return None;
    }
    let signal = match recognise(event)? {
        Signal::AdminRoleGranted => PrivilegeSignal::AdminRoleGranted {
            role: debug_text(event, "privilegeGranted"),
            group: target_name(event, "UserGroup"),
        },
        Signal::FactorRemoved => PrivilegeSignal::FactorRemoved {
            factor: event.mfa_factor.clone(),
        },
        Signal::FactorsReset => PrivilegeSignal::FactorsReset,
        Signal::OrgMfaFactorDisabled => PrivilegeSignal::OrgMfaFactorDisabled {
            factor: event.mfa_factor.clone(),
        },
        Signal::PolicyRemoved => PrivilegeSignal::MfaPolicyRemoved {
            policy: mfa_policy(event)?,
        },
        Signal::PolicyChanged => PrivilegeSignal::MfaPolicyChanged {
            policy: mfa_policy(event)?,
        },
        Signal::ExternalIdpCreated => PrivilegeSignal::ExternalIdpCreated {
            idp: target_name(event, "IdentityProvider"),
        },
        _ => return None,
    };
    Some(signal)
}

/// `Some(name)` when a target of the event is an MFA or sign-on policy (or a rule of one); the
/// System Log says which kind of policy in `target[].detailEntry.policyType`.
fn mfa_policy(event: &SignInEvent) -> Option<Option<String>> {
    let targets = event.raw.as_ref()?.get("target")?.as_array()?;
    let policy = targets.iter().find(|t| {
        t.pointer("/detailEntry/policyType")
            .and_then(Value::as_str)
            .is_some_and(|kind| {
                let normalized: String = kind
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
                    .to_ascii_uppercase();
                MFA_POLICY_TYPES.contains(&normalized.as_str())
            })
    })?;
    Some(
        policy
            .get("displayName")
            .and_then(Value::as_str)
            .map(str::to_owned),
    )
}

fn target_name(event: &SignInEvent, kind: &str) -> Option<String> {
    let targets = event.raw.as_ref()?.get("target")?.as_array()?;
    targets
        .iter()
        .find(|t| t.get("type").and_then(Value::as_str) == Some(kind))
        .and_then(|t| t.get("displayName").and_then(Value::as_str))
        .map(str::to_owned)
}

/// A `debugContext.debugData` string.
fn debug_text(event: &SignInEvent, key: &str) -> Option<String> {
    let data = event.raw.as_ref()?.pointer("/debugContext/debugData")?;
    data.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
}

/// The admin who made an audit change (`actor.alternateId`), for explanations.
pub fn actor_name(event: &SignInEvent) -> Option<String> {
    event
        .raw
        .as_ref()?
        .pointer("/actor/alternateId")
        .and_then(Value::as_str)
        .filter(|s| !s.eq_ignore_ascii_case("unknown"))
        .map(str::to_owned)
}

/// Why the provider considers the source anonymizing: its proxy flag, or an Okta `tunnels` entry
/// (Identity Engine) marked anonymous or Tor.
pub fn provider_anonymizer(event: &SignInEvent) -> Option<&'static str> {
    if event.is_proxy == Some(true) {
        return Some("the provider flagged the IP as a proxy");
    }
    let tunnels = event
        .raw
        .as_ref()?
        .pointer("/debugContext/debugData/tunnels")?;
    let parsed;
    let list = match tunnels {
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text).ok()?;
            &parsed
        }
        other => other,
    };
    let anonymous = list.as_array()?.iter().any(|t| {
        t.get("anonymous").and_then(Value::as_bool) == Some(true)
            || t.get("type")
                .and_then(Value::as_str)
                .is_some_and(|k| k.eq_ignore_ascii_case("tor"))
    });
    anonymous.then_some("the provider reported an anonymous tunnel (VPN or Tor)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn raw(value: serde_json::Value) -> Option<gatehouse_core::model::RawEvent> {
        Some(value.into())
    }

    fn event(event_type: &str, category: EventCategory, outcome: Outcome) -> SignInEvent {
        let time = chrono::Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap();
        serde_json::from_value(json!({
            "id": "sin_1", "tenant_id": "ten_1", "integration_id": "int_1", "provider": "okta",
            "provider_event_id": "1", "time": time, "category": category,
            "event_type": event_type, "outcome": outcome,
        }))
        .unwrap()
    }

    #[test]
    fn table_order_puts_specific_rows_first() {
        let deny = event(
            "user.mfa.okta_verify.deny_push",
            EventCategory::Authentication,
            Outcome::Failure,
        );
        assert_eq!(recognise(&deny), Some(Signal::MfaPushDenied));
        assert_eq!(push_rejection(&deny), Some(Rejection::Denied));
        assert!(
            !is_failed_attempt(&deny),
            "an MFA denial is not a password guess"
        );
        let other = event(
            "user.mfa.attempt_bypass",
            EventCategory::Authentication,
            Outcome::Failure,
        );
        assert_eq!(recognise(&other), Some(Signal::MfaStep));
        let mut entra = deny.clone();
        entra.provider = "entra".into();
        assert_eq!(recognise(&entra), None, "rows are per provider");
    }

    #[test]
    fn push_failures_need_a_push_factor() {
        let mut mfa = event(
            "user.authentication.auth_via_mfa",
            EventCategory::Authentication,
            Outcome::Failure,
        );
        assert_eq!(push_rejection(&mfa), None, "no factor: not a push");
        mfa.mfa_factor = Some("OKTA_VERIFY_PUSH".into());
        assert_eq!(push_rejection(&mfa), Some(Rejection::Failed));
        mfa.mfa_factor = Some("Okta Verify".into());
        assert_eq!(push_rejection(&mfa), Some(Rejection::Failed));
        mfa.raw = raw(json!({"target": [{"detailEntry": {"methodTypeUsed": "Enter a code"}}]}));
        assert_eq!(
            push_rejection(&mfa),
            None,
            "an Okta Verify code is not a push"
        );
        mfa.raw = raw(
            json!({"target": [{"detailEntry": {"methodTypeUsed": "Get a push notification"}}]}),
        );
        assert_eq!(push_rejection(&mfa), Some(Rejection::Failed));
        mfa.outcome = Outcome::Success;
        assert_eq!(push_rejection(&mfa), None);
        assert!(is_success(&mfa));
    }

    #[test]
    fn policy_changes_count_only_for_mfa_policies() {
        let mut policy = event(
            "policy.lifecycle.deactivate",
            EventCategory::Audit,
            Outcome::Success,
        );
        assert_eq!(privilege_signal(&policy), None, "unknown policy type");
        policy.raw = raw(
            json!({"target": [{"type": "PolicyEntity", "displayName": "Passwords",
            "detailEntry": {"policyType": "PASSWORD"}}]}),
        );
        assert_eq!(privilege_signal(&policy), None);
        policy.raw = raw(
            json!({"target": [{"type": "PolicyEntity", "displayName": "MFA",
            "detailEntry": {"policyType": "MFA_ENROLL"}}]}),
        );
        assert_eq!(
            privilege_signal(&policy),
            Some(PrivilegeSignal::MfaPolicyRemoved {
                policy: Some("MFA".into())
            })
        );
    }

    #[test]
    fn anonymizer_flags() {
        let mut e = event(
            "user.session.start",
            EventCategory::Authentication,
            Outcome::Success,
        );
        assert_eq!(provider_anonymizer(&e), None);
        e.raw = raw(json!({"debugContext": {"debugData": {
            "tunnels": "[{\"anonymous\":true,\"operator\":\"X\",\"type\":\"VPN\"}]"}}}));
        assert!(provider_anonymizer(&e).is_some());
        e.raw = raw(json!({"debugContext": {"debugData": {
            "tunnels": [{"anonymous": false, "type": "TOR"}]}}}));
        assert!(provider_anonymizer(&e).is_some());
        e.raw = None;
        e.is_proxy = Some(true);
        assert!(provider_anonymizer(&e).is_some());
    }
}
