//! A Reports API login `Activity` as [`ProviderEvent`]s, one per entry of its `events`.
//!
//! * `provider_event_id`: `{id.time}/{id.uniqueQualifier}` (Google's unique key of an
//!   activity), with `#{n}` for its n-th event after the first: the engine's dedupe key, so the
//!   overlap each round re-reads is stored once.
//! * the account: `actor.profileId` (the user's id) and `actor.email`; `ipAddress` and
//!   `networkInfo.ipAsn[0]`. Google gives no geolocation (the engine's IP database fills it).
//! * `login_success` → success, first factor; the non-password `login_challenge_method` is the
//!   MFA factor; `is_suspicious: true` → provider risk medium.
//! * `login_failure` → failure, reason `login_failure_type`
//!   (`login_failure_invalid_password` → bad credentials, `…_invalid_second_factor` → MFA
//!   failed, `…_account_disabled` → account disabled, `…_access_code_disallowed` → policy
//!   denied, anything else → other).
//! * `login_challenge` / `login_verification` → an MFA step (`Challenge Passed` → success,
//!   anything else → failure) with the challenge method.
//! * `suspicious_login`, `suspicious_login_less_secure_app`, `suspicious_programmatic_login`,
//!   `gov_attack_warning` → provider risk high (medium for a less-secure-app warning), not a
//!   sign-in attempt.
//! * `account_disabled_*` → the account disabled by Google (failure, account disabled, risk
//!   high for `…_hijacked` and `…_password_leak`), not an attempt.
//! * `logout` → nothing (not a sign-in).
//! * `2sv_disable` → audit, every factor reset; other login-application events (2SV enrolment,
//!   password and recovery changes, risky sensitive actions) → audit events.

use chrono::{DateTime, Utc};
use gatehouse_core::model::{
    AuthStep, EventCategory, EventSignal, FailureReason, MfaMethod, MfaResult, Outcome,
    PolicyDecision, PrivilegeChange, RawEvent, RiskLevel,
};
use gatehouse_core::records::ProviderEvent;
use serde_json::Value;

use super::{text, time};

/// The events of one activity, or nothing when it has no id or time.
pub fn map_activity(activity: &Value) -> Vec<ProviderEvent> {
    let mut out = map_fields(activity);
    if out.len() == 1 {
        if let Some(event) = out.first_mut() {
            event.raw = Some(RawEvent::from(activity.clone()));
        }
    } else {
        for event in &mut out {
            event.raw = Some(RawEvent::from(activity.clone()));
        }
    }
    out
}

/// [`map_activity`] without the raw copy.
pub fn map_fields(activity: &Value) -> Vec<ProviderEvent> {
    let id = activity.get("id");
    let (Some(at), Some(unique)) = (
        time(id.and_then(|i| i.get("time"))),
        id.and_then(|i| i.get("uniqueQualifier")).and_then(|q| {
            text(Some(q))
                .map(str::to_owned)
                .or_else(|| q.as_i64().map(|n| n.to_string()))
        }),
    ) else {
        return Vec::new();
    };
    let time_text = text(id.and_then(|i| i.get("time"))).unwrap_or_default();
    let actor = activity.get("actor");
    let events = match activity.get("events") {
        Some(Value::Array(events)) => events.as_slice(),
        _ => &[],
    };
    let mut out = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let Some(name) = text(event.get("name")) else {
            continue;
        };
        let Some(meaning) = classify(name, event) else {
            continue;
        };
        let provider_event_id = if index == 0 {
            format!("{time_text}/{unique}")
        } else {
            format!("{time_text}/{unique}#{index}")
        };
        out.push(event_of(
            activity,
            actor,
            at,
            provider_event_id,
            name,
            meaning,
        ));
    }
    out
}

/// What one login event means.
struct Meaning {
    category: EventCategory,
    outcome: Outcome,
    reason: Option<String>,
    mfa_factor: Option<String>,
    risk: Option<RiskLevel>,
    signal: EventSignal,
}

fn event_of(
    activity: &Value,
    actor: Option<&Value>,
    at: DateTime<Utc>,
    provider_event_id: String,
    name: &str,
    meaning: Meaning,
) -> ProviderEvent {
    let asn = activity
        .get("networkInfo")
        .and_then(|n| n.get("ipAsn"))
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|a| {
            a.as_u64()
                .or_else(|| a.as_str().and_then(|s| s.parse().ok()))
        })
        .and_then(|a| u32::try_from(a).ok());
    ProviderEvent {
        provider_event_id,
        time: at,
        category: meaning.category,
        event_type: name.to_owned(),
        external_user_id: text(actor.and_then(|a| a.get("profileId"))).map(str::to_owned),
        login: text(actor.and_then(|a| a.get("email"))).map(str::to_owned),
        outcome: meaning.outcome,
        reason: meaning.reason,
        ip: text(activity.get("ipAddress")).map(str::to_owned),
        country: None,
        city: None,
        latitude: None,
        longitude: None,
        asn,
        user_agent: None,
        device: None,
        mfa_factor: meaning.mfa_factor,
        session_id: None,
        is_proxy: None,
        provider_risk: meaning.risk,
        signal: meaning.signal,
        raw: None,
    }
}

/// A parameter's value as text: `value`, `intValue`, `boolValue`, or the `multiValue` joined.
fn param<'a>(event: &'a Value, name: &str) -> Option<&'a Value> {
    event
        .get("parameters")?
        .as_array()?
        .iter()
        .find(|p| text(p.get("name")) == Some(name))
}

fn param_text(event: &Value, name: &str) -> Option<String> {
    let p = param(event, name)?;
    if let Some(v) = text(p.get("value")).or_else(|| text(p.get("intValue"))) {
        return Some(v.to_owned());
    }
    if let Some(b) = p.get("boolValue").and_then(Value::as_bool) {
        return Some(b.to_string());
    }
    let list: Vec<&str> = p
        .get("multiValue")?
        .as_array()?
        .iter()
        .filter_map(|v| text(Some(v)))
        .collect();
    (!list.is_empty()).then(|| list.join(","))
}

fn param_bool(event: &Value, name: &str) -> Option<bool> {
    let p = param(event, name)?;
    p.get("boolValue")
        .and_then(Value::as_bool)
        .or_else(|| text(p.get("value")).and_then(|v| v.parse().ok()))
}

/// The challenge methods, `password` last so the second factor comes first.
fn methods(event: &Value) -> Vec<String> {
    let mut list: Vec<String> = param_text(event, "login_challenge_method")
        .map(|m| m.split(',').map(|s| s.trim().to_owned()).collect())
        .unwrap_or_default();
    list.retain(|m| !m.is_empty());
    list.sort_by_key(|m| m == "password");
    list
}

/// The second factor among the challenge methods (anything but the password).
fn second_factor(event: &Value) -> Option<String> {
    methods(event).into_iter().find(|m| m != "password")
}

/// The kind of a Google challenge method.
pub fn mfa_method(method: &str) -> MfaMethod {
    match method {
        "security_key" | "passkey" => MfaMethod::Webauthn,
        "google_authenticator" | "totp" | "backup_code" | "internal_two_factor" | "offline_otp" => {
            MfaMethod::Otp
        }
        "google_prompt" => MfaMethod::Push,
        "idv_preregistered_phone" | "idv_any_phone" | "sms" => MfaMethod::Sms,
        "phone" | "voice" => MfaMethod::Voice,
        "idv_preregistered_email" | "email" => MfaMethod::Email,
        _ => MfaMethod::Other,
    }
}

fn failure_reason(kind: &str) -> FailureReason {
    match kind {
        "login_failure_invalid_password" => FailureReason::BadCredentials,
        "login_failure_invalid_second_factor" => FailureReason::MfaFailed,
        "login_failure_account_disabled" => FailureReason::AccountDisabled,
        "login_failure_access_code_disallowed" => FailureReason::PolicyDenied,
        "login_failure_unknown_user" | "login_failure_invalid_user" => FailureReason::UnknownUser,
        _ => FailureReason::Other,
    }
}

fn classify(name: &str, event: &Value) -> Option<Meaning> {
    let auth = |outcome, step, risk: Option<RiskLevel>| Meaning {
        category: EventCategory::Authentication,
        outcome,
        reason: None,
        mfa_factor: None,
        risk,
        signal: EventSignal {
            step: Some(step),
            ..EventSignal::default()
        },
    };
    let suspicious = param_bool(event, "is_suspicious") == Some(true);
    let meaning = match name {
        "logout" => return None,
        "login_success" => {
            let mut m = auth(
                Outcome::Success,
                AuthStep::FirstFactor,
                suspicious.then_some(RiskLevel::Medium),
            );
            if let Some(factor) = second_factor(event) {
                m.signal.mfa_method = Some(mfa_method(&factor));
                m.signal.mfa_result = Some(MfaResult::Success);
                m.mfa_factor = Some(factor);
            }
            m
        }
        "login_failure" => {
            let kind = param_text(event, "login_failure_type");
            let reason = kind
                .as_deref()
                .map(failure_reason)
                .unwrap_or(FailureReason::Other);
            let step = if reason == FailureReason::MfaFailed {
                AuthStep::Mfa
            } else {
                AuthStep::FirstFactor
            };
            let mut m = auth(
                Outcome::Failure,
                step,
                suspicious.then_some(RiskLevel::Medium),
            );
            m.signal.failure_reason = Some(reason);
            if reason == FailureReason::MfaFailed {
                m.signal.mfa_result = Some(MfaResult::Failed);
                if let Some(factor) = second_factor(event) {
                    m.signal.mfa_method = Some(mfa_method(&factor));
                    m.mfa_factor = Some(factor);
                }
            }
            m.reason = kind;
            m
        }
        "login_challenge" | "login_verification" => {
            let status = param_text(event, "login_challenge_status");
            let passed = status.as_deref().is_some_and(|s| {
                let s = s.to_ascii_lowercase();
                s.contains("passed") || s == "success"
            });
            let outcome = if passed {
                Outcome::Success
            } else {
                Outcome::Failure
            };
            let mut m = auth(
                outcome,
                AuthStep::Mfa,
                suspicious.then_some(RiskLevel::Medium),
            );
            let factor = second_factor(event).or_else(|| methods(event).into_iter().next());
            m.signal.mfa_method = factor.as_deref().map(mfa_method);
            m.signal.mfa_result = Some(if passed {
                MfaResult::Success
            } else {
                MfaResult::Failed
            });
            if !passed {
                m.signal.failure_reason = Some(FailureReason::MfaFailed);
            }
            m.mfa_factor = factor;
            m.reason = status;
            m
        }
        "suspicious_login" | "suspicious_programmatic_login" | "gov_attack_warning" => {
            let mut m = auth(
                Outcome::Success,
                AuthStep::NotAnAttempt,
                Some(RiskLevel::High),
            );
            m.reason = Some(name.to_owned());
            m
        }
        "suspicious_login_less_secure_app" => {
            let mut m = auth(
                Outcome::Success,
                AuthStep::NotAnAttempt,
                Some(RiskLevel::Medium),
            );
            m.reason = Some(name.to_owned());
            m
        }
        n if n.starts_with("account_disabled_") => {
            let risk = if matches!(
                n,
                "account_disabled_hijacked" | "account_disabled_password_leak"
            ) {
                RiskLevel::High
            } else {
                RiskLevel::Medium
            };
            let mut m = auth(Outcome::Failure, AuthStep::NotAnAttempt, Some(risk));
            m.signal.failure_reason = Some(FailureReason::AccountDisabled);
            m.reason = Some(n.to_owned());
            m
        }
        "2sv_disable" => Meaning {
            category: EventCategory::Audit,
            outcome: Outcome::Success,
            reason: None,
            mfa_factor: None,
            risk: None,
            signal: EventSignal {
                privilege_change: Some(PrivilegeChange::FactorsReset),
                ..EventSignal::default()
            },
        },
        n => {
            let mut signal = EventSignal::default();
            if n == "risky_sensitive_action_blocked" {
                signal.policy_decision = Some(PolicyDecision::Deny);
            }
            Meaning {
                category: EventCategory::Audit,
                outcome: Outcome::Success,
                reason: None,
                mfa_factor: None,
                risk: None,
                signal,
            }
        }
    };
    Some(meaning)
}
