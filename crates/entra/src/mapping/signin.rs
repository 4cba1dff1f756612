//! A Graph `signIn` (`GET /auditLogs/signIns`) as a [`ProviderEvent`], and the classifier that
//! says what it means in provider-neutral words ([`EventSignal`]).
//!
//! The outcome comes from `status.errorCode` (Microsoft's AADSTS error codes, "Microsoft Entra
//! authentication and authorization error codes"):
//!
//! | codes | outcome | signal |
//! |---|---|---|
//! | 0 | success | first factor (interactive) or session (non-interactive) |
//! | 50074, 50076, 50072, 50079, 53004, 50158 | challenge: MFA (or its registration) required | first factor, policy `challenge` |
//! | 50140, 50199, 16000, 16001, 50125 | challenge: an interrupt, not an attempt | not an attempt |
//! | 50126 | failure | bad credentials |
//! | 50034 | failure | unknown user |
//! | 50053 | failure | locked out |
//! | 50057 | failure | account disabled |
//! | 53000–53003, 530032 | failure | policy denied, policy `deny` |
//! | 500121 | failure | MFA step; `additionalDetails` "user declined" → push denied, "did not respond" → push failed (a timeout), else failed |
//! | 50058 | failure | not an attempt (silent SSO found no session) |
//! | others | failure | other |
//!
//! `riskLevelDuringSignIn`/`riskLevelAggregated` (`hidden` and `none` say nothing) and
//! `riskState` `confirmedCompromised` give the provider risk; `riskEventTypes_v2` holding
//! `anonymizedIPAddress` marks an anonymous tunnel. v1.0 has no MFA detail; the beta fields
//! `mfaDetail` and `authenticationDetails` are read when present.

use gatehouse_core::model::{
    Anonymizer, AuthStep, EventCategory, EventSignal, FailureReason, MfaMethod, MfaResult, Outcome,
    PolicyDecision, RawEvent, RiskLevel,
};
use gatehouse_core::records::ProviderEvent;
use serde_json::Value;

use super::{text, time};

/// MFA or MFA registration required: the password was right and a second step was asked for.
const MFA_REQUIRED: &[i64] = &[50074, 50076, 50072, 50079, 53004, 50158];
/// Interrupts in a sign-in flow (keep me signed in, account picker, password reset prompt).
const INTERRUPTS: &[i64] = &[50140, 50199, 16000, 16001, 50125];
/// Conditional Access and device policy blocks.
const POLICY_BLOCKS: &[i64] = &[53000, 53001, 53002, 53003, 530032];
/// The MFA step failed.
const MFA_FAILED: i64 = 500121;

/// The sign-in, or `None` without an `id` or a `createdDateTime`.
pub fn map_signin(event: Value) -> Option<ProviderEvent> {
    let mut mapped = map_fields(&event)?;
    mapped.raw = Some(RawEvent::from(event));
    Some(mapped)
}

/// [`map_signin`] without keeping the raw event (tests, screening).
pub fn map_fields(event: &Value) -> Option<ProviderEvent> {
    let provider_event_id = text(event.get("id"))?.to_owned();
    let time = time(event.get("createdDateTime"))?;
    let status = event.get("status").unwrap_or(&Value::Null);
    let code = status.get("errorCode").and_then(Value::as_i64).unwrap_or(0);
    let failure_reason = text(status.get("failureReason"));
    let details = text(status.get("additionalDetails"));
    let interactive = event.get("isInteractive").and_then(Value::as_bool);
    let outcome = outcome(code);
    let reason = (code != 0).then(|| match failure_reason {
        Some(text) => format!("{code}: {text}"),
        None => code.to_string(),
    });
    let location = event.get("location").unwrap_or(&Value::Null);
    let coordinate = |key: &str| {
        location
            .get("geoCoordinates")
            .and_then(|g| g.get(key))
            .and_then(Value::as_f64)
    };
    let device = event.get("deviceDetail").unwrap_or(&Value::Null);
    let device_name = text(device.get("displayName"))
        .map(str::to_owned)
        .or_else(|| {
            let parts: Vec<&str> = [
                text(device.get("operatingSystem")),
                text(device.get("browser")),
            ]
            .into_iter()
            .flatten()
            .collect();
            (!parts.is_empty()).then(|| parts.join(" / "))
        });
    let mfa_factor = mfa_factor(event);
    let risk_types = strings(event.get("riskEventTypes_v2"))
        .chain(strings(event.get("riskEventTypes")))
        .collect::<Vec<_>>();
    let signal = classify(&SignalInput {
        code,
        outcome,
        interactive,
        details,
        mfa_factor: mfa_factor.as_deref(),
        mfa_succeeded: mfa_succeeded(event),
        risk_types: &risk_types,
        app: text(event.get("appDisplayName")),
    });
    Some(ProviderEvent {
        provider_event_id,
        time,
        category: EventCategory::Authentication,
        event_type: if interactive == Some(false) {
            "signIn.nonInteractive".to_owned()
        } else {
            "signIn".to_owned()
        },
        external_user_id: text(event.get("userId")).map(str::to_owned),
        login: text(event.get("userPrincipalName")).map(str::to_owned),
        outcome,
        reason,
        ip: text(event.get("ipAddress")).map(str::to_owned),
        country: text(location.get("countryOrRegion")).map(str::to_owned),
        city: text(location.get("city")).map(str::to_owned),
        latitude: coordinate("latitude"),
        longitude: coordinate("longitude"),
        asn: event
            .get("autonomousSystemNumber")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok()),
        user_agent: text(event.get("userAgent")).map(str::to_owned),
        device: device_name,
        mfa_factor,
        session_id: text(event.get("sessionId"))
            .or_else(|| text(event.get("correlationId")))
            .map(str::to_owned),
        is_proxy: risk_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case("anonymizedIPAddress"))
            .then_some(true),
        provider_risk: provider_risk(event),
        signal,
        raw: None,
    })
}

fn strings(value: Option<&Value>) -> impl Iterator<Item = String> + '_ {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
}

/// `status.errorCode` as an outcome.
pub fn outcome(code: i64) -> Outcome {
    if code == 0 {
        Outcome::Success
    } else if MFA_REQUIRED.contains(&code) || INTERRUPTS.contains(&code) {
        Outcome::Challenge
    } else {
        Outcome::Failure
    }
}

/// What the classifier reads, taken from the sign-in by the mapping.
#[derive(Debug, Clone, Copy)]
pub struct SignalInput<'a> {
    pub code: i64,
    pub outcome: Outcome,
    pub interactive: Option<bool>,
    /// `status.additionalDetails`.
    pub details: Option<&'a str>,
    pub mfa_factor: Option<&'a str>,
    /// Whether the MFA step the beta detail describes succeeded.
    pub mfa_succeeded: Option<bool>,
    pub risk_types: &'a [String],
    pub app: Option<&'a str>,
}

/// The typed signal of one sign-in.
pub fn classify(input: &SignalInput<'_>) -> EventSignal {
    let code = input.code;
    let step = if INTERRUPTS.contains(&code) || code == 50058 {
        AuthStep::NotAnAttempt
    } else if code == MFA_FAILED {
        AuthStep::Mfa
    } else if input.interactive == Some(false) {
        AuthStep::Session
    } else {
        AuthStep::FirstFactor
    };
    let failure_reason = (input.outcome == Outcome::Failure).then(|| match code {
        50126 => FailureReason::BadCredentials,
        50034 => FailureReason::UnknownUser,
        50053 => FailureReason::LockedOut,
        50057 => FailureReason::AccountDisabled,
        MFA_FAILED => FailureReason::MfaFailed,
        c if POLICY_BLOCKS.contains(&c) => FailureReason::PolicyDenied,
        _ => FailureReason::Other,
    });
    let details = input.details.unwrap_or_default().to_ascii_lowercase();
    let mfa_method = input.mfa_factor.map(method).or_else(|| {
        (code == MFA_FAILED)
            .then(|| method_from_details(&details))
            .flatten()
    });
    let mfa_result = if code == MFA_FAILED {
        let push = mfa_method.is_none_or(|m| m == MfaMethod::Push);
        Some(
            if push && (details.contains("declined") || details.contains("fraud")) {
                MfaResult::PushDenied
            } else if push && (details.contains("did not respond") || details.contains("timed out"))
            {
                MfaResult::PushFailed
            } else {
                MfaResult::Failed
            },
        )
    } else if input.mfa_factor.is_some() {
        match (input.mfa_succeeded, input.outcome) {
            (Some(true), _) | (None, Outcome::Success) => Some(MfaResult::Success),
            (Some(false), _) => Some(MfaResult::Failed),
            _ => None,
        }
    } else {
        None
    };
    let policy_decision = if MFA_REQUIRED.contains(&code) {
        Some(PolicyDecision::Challenge)
    } else if POLICY_BLOCKS.contains(&code) {
        Some(PolicyDecision::Deny)
    } else {
        None
    };
    let anonymizer = input
        .risk_types
        .iter()
        .any(|t| t.eq_ignore_ascii_case("anonymizedIPAddress"))
        .then_some(Anonymizer::AnonymousTunnel);
    EventSignal {
        step: Some(step),
        failure_reason,
        mfa_method,
        mfa_result,
        policy_decision,
        privilege_change: None,
        actor: None,
        app: input.app.map(str::to_owned),
        anonymizer,
    }
}

/// The MFA method a failed step's `additionalDetails` names.
fn method_from_details(details: &str) -> Option<MfaMethod> {
    if details.contains("mobile app")
        || details.contains("notification")
        || details.contains("declined the authentication")
    {
        Some(MfaMethod::Push)
    } else if details.contains("call") {
        Some(MfaMethod::Voice)
    } else if details.contains("text") || details.contains("sms") {
        Some(MfaMethod::Sms)
    } else if details.contains("code") {
        Some(MfaMethod::Otp)
    } else {
        None
    }
}

/// The kind of a Microsoft MFA method name (`mfaDetail.authMethod`,
/// `authenticationDetails[].authenticationMethod`).
pub fn method(name: &str) -> MfaMethod {
    let n = name.to_ascii_lowercase();
    if n.contains("fido")
        || n.contains("hello")
        || n.contains("passkey")
        || n.contains("security key")
    {
        MfaMethod::Webauthn
    } else if n.contains("code") || n.contains("oath") || n.contains("otp") || n.contains("token") {
        MfaMethod::Otp
    } else if n.contains("notification") || n.contains("authenticator") || n.contains("mobile app")
    {
        MfaMethod::Push
    } else if n.contains("text") || n.contains("sms") {
        MfaMethod::Sms
    } else if n.contains("call") || n.contains("voice") {
        MfaMethod::Voice
    } else if n.contains("email") {
        MfaMethod::Email
    } else {
        MfaMethod::Other
    }
}

/// The MFA method used, from the beta `mfaDetail` or the second `authenticationDetails` step.
fn mfa_factor(event: &Value) -> Option<String> {
    if let Some(method) = event
        .get("mfaDetail")
        .and_then(|m| text(m.get("authMethod")))
    {
        return Some(method.to_owned());
    }
    event
        .get("authenticationDetails")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(|step| text(step.get("authenticationMethod")))
        .find(|m| {
            !m.eq_ignore_ascii_case("password") && !m.eq_ignore_ascii_case("previously satisfied")
        })
        .map(str::to_owned)
}

fn mfa_succeeded(event: &Value) -> Option<bool> {
    event
        .get("authenticationDetails")
        .and_then(Value::as_array)?
        .iter()
        .filter(|step| {
            text(step.get("authenticationMethod"))
                .is_some_and(|m| !m.eq_ignore_ascii_case("password"))
        })
        .find_map(|step| step.get("succeeded").and_then(Value::as_bool))
}

/// The provider's risk verdict: the higher of `riskLevelDuringSignIn` and
/// `riskLevelAggregated`, high when Identity Protection confirmed the user compromised; `None`
/// when Graph hides it (`hidden`, no P2) or says nothing.
pub fn provider_risk(event: &Value) -> Option<RiskLevel> {
    let level = |key: &str| match text(event.get(key))?.to_ascii_lowercase().as_str() {
        "none" => Some(RiskLevel::None),
        "low" => Some(RiskLevel::Low),
        "medium" => Some(RiskLevel::Medium),
        "high" => Some(RiskLevel::High),
        _ => None,
    };
    let compromised = text(event.get("riskState"))
        .is_some_and(|s| s.eq_ignore_ascii_case("confirmedCompromised"))
        .then_some(RiskLevel::High);
    [
        level("riskLevelDuringSignIn"),
        level("riskLevelAggregated"),
        compromised,
    ]
    .into_iter()
    .flatten()
    .max()
}
