//! The typed [`EventSignal`] of an Okta System Log event: which step of signing in it records,
//! why it failed, the MFA method and result, the sign-on policy decision, the privilege change,
//! the admin who made it, the app and the anonymizer flag. The risk detections read only these,
//! so everything they need to know about Okta's event types and payload is decided here.
//!
//! The parts: `table` (which event type means what), `mfa` (factor kinds and MFA results),
//! `audit` (privilege changes and their actor); failure reasons and anonymizers below.

mod audit;
mod mfa;
mod table;
#[cfg(test)]
mod tests;

use gatehouse_core::model::{
    Anonymizer, AuthStep, EventCategory, EventSignal, FailureReason, Outcome, PolicyDecision,
};
use serde_json::Value;

use super::json::debug_data;
use table::Meaning;

/// What the classifier reads: the fields the mapping already took from the event, and the event
/// itself (`Value::Null` when there is none).
#[derive(Debug, Clone, Copy)]
pub struct SignalInput<'a> {
    pub event_type: &'a str,
    pub category: EventCategory,
    pub outcome: Outcome,
    /// The mapped reason (`outcome.reason`, or Okta's result when it is not a plain one).
    pub reason: Option<&'a str>,
    /// The mapped MFA factor.
    pub mfa_factor: Option<&'a str>,
    /// `securityContext.isProxy`.
    pub is_proxy: Option<bool>,
    /// The System Log event as Okta sent it.
    pub event: &'a Value,
}

/// The typed signal of one event.
pub fn classify(input: &SignalInput<'_>) -> EventSignal {
    let meaning = table::meaning(input.event_type);
    let step = (input.category == EventCategory::Authentication).then(|| step(meaning));
    let mfa_method = input.mfa_factor.map(|f| mfa::method(f, input.event));
    let audit = input.category == EventCategory::Audit;
    EventSignal {
        step,
        failure_reason: (input.category == EventCategory::Authentication
            && input.outcome == Outcome::Failure)
            .then(|| failure_reason(input, step)),
        mfa_method,
        mfa_result: (step == Some(AuthStep::Mfa))
            .then(|| mfa::result(meaning, input.outcome, mfa_method))
            .flatten(),
        policy_decision: (input.event_type == "policy.evaluate_sign_on")
            .then_some(policy_decision(input.outcome)),
        privilege_change: meaning
            .and_then(|m| audit::privilege_change(m, input.event, input.mfa_factor)),
        actor: audit.then(|| audit::actor(input.event)).flatten(),
        app: audit::target_name(input.event, "AppInstance"),
        anonymizer: anonymizer(input.is_proxy, input.event),
    }
}

/// Okta logs a sign-on policy's `ALLOW`, `DENY` and `CHALLENGE` as the event's result.
fn policy_decision(outcome: Outcome) -> PolicyDecision {
    match outcome {
        Outcome::Success => PolicyDecision::Allow,
        Outcome::Failure => PolicyDecision::Deny,
        Outcome::Challenge => PolicyDecision::Challenge,
    }
}

fn step(meaning: Option<Meaning>) -> AuthStep {
    match meaning {
        Some(Meaning::NotAnAttempt) => AuthStep::NotAnAttempt,
        Some(Meaning::Session) => AuthStep::Session,
        Some(Meaning::MfaStep | Meaning::MfaPushDenied | Meaning::MfaVerify) => AuthStep::Mfa,
        _ => AuthStep::FirstFactor,
    }
}

/// The class of a failure: any failed MFA step is an MFA failure, a denied policy evaluation a
/// policy denial; otherwise Okta's documented `outcome.reason` codes (`INVALID_CREDENTIALS`,
/// `UNKNOWN_USER`, `LOCKED_OUT`, …) and the sentences it logs for suspended or denied users.
fn failure_reason(input: &SignalInput<'_>, step: Option<AuthStep>) -> FailureReason {
    if step == Some(AuthStep::Mfa) {
        return FailureReason::MfaFailed;
    }
    if input.event_type == "policy.evaluate_sign_on" {
        return FailureReason::PolicyDenied;
    }
    let reason = input.reason.unwrap_or_default().to_ascii_uppercase();
    let has = |words: &[&str]| words.iter().any(|w| reason.contains(w));
    if has(&["INVALID_CREDENTIALS", "INVALID CREDENTIALS"]) {
        FailureReason::BadCredentials
    } else if has(&[
        "UNKNOWN_USER",
        "UNKNOWN USER",
        "USER_NOT_FOUND",
        "USER NOT FOUND",
    ]) {
        FailureReason::UnknownUser
    } else if has(&["LOCKED"]) {
        FailureReason::LockedOut
    } else if has(&[
        "SUSPENDED",
        "DEACTIVATED",
        "NOT_ACTIVE",
        "NOT ACTIVE",
        "DISABLED",
    ]) {
        FailureReason::AccountDisabled
    } else if has(&["POLICY", "DENY", "DENIED", "DISALLOWED"]) {
        FailureReason::PolicyDenied
    } else {
        FailureReason::Other
    }
}

/// `securityContext.isProxy`, else an entry of Identity Engine's `debugData.tunnels` (a JSON
/// list, often sent as a string) marked anonymous or of type Tor.
fn anonymizer(is_proxy: Option<bool>, event: &Value) -> Option<Anonymizer> {
    if is_proxy == Some(true) {
        return Some(Anonymizer::Proxy);
    }
    let parsed;
    let list = match debug_data(event, "tunnels")? {
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
    anonymous.then_some(Anonymizer::AnonymousTunnel)
}
