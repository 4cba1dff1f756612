//! A Directory Insights event as a [`ProviderEvent`] (sign-in events only; others map to
//! nothing and are skipped).
//!
//! * `provider_event_id`: the event's `id`; `time`: its `timestamp`.
//! * the account: `initiated_by.id` and `initiated_by.username`/`email`, else the top-level
//!   `username` (RADIUS, LDAP); for `admin_login_attempt`, the `resource` (the admin) when
//!   `initiated_by` is absent.
//! * `user_login_attempt` (User Portal), `admin_login_attempt` (Admin Portal), `radius_auth` /
//!   `radius_auth_attempt`, `ldap_bind`: first-factor attempts, `success` → outcome, failures
//!   classified from `error_message` (kept as `reason`). When the password step succeeded
//!   (`auth_context.auth_methods.password.success`) and a second factor failed, the attempt is
//!   an MFA step that failed, not a password guess.
//! * `sso_auth` (SAML application): access through the portal session, outcome from
//!   `sso_token_success` (else `success`), the application's `display_label`/`name` as app.
//! * `mfa: true` with `mfa_meta.type` (`totp`, `duo`, `webauthn`, `push`, …) → the MFA factor
//!   and method; a success with MFA is an MFA success.
//! * `client_ip`; `geoip.country_code` (or `country_code2`), `region_name` (as city: the
//!   finest place JumpCloud gives), `latitude`/`longitude`; `useragent` as
//!   `name major.minor (os)`, `useragent.device` as device.

use chrono::{DateTime, Utc};
use gatehouse_core::model::{
    AuthStep, EventCategory, EventSignal, FailureReason, MfaMethod, MfaResult, Outcome, RawEvent,
};
use gatehouse_core::records::ProviderEvent;
use serde_json::Value;

use super::{text, time};

/// The sign-in event types mapped.
pub const SIGNIN_TYPES: &[&str] = &[
    "user_login_attempt",
    "admin_login_attempt",
    "sso_auth",
    "radius_auth",
    "radius_auth_attempt",
    "ldap_bind",
];

/// The event, or `None` when it is no sign-in or has no id or time.
pub fn map_event(event: &Value) -> Option<ProviderEvent> {
    let mut mapped = map_fields(event)?;
    mapped.raw = Some(RawEvent::from(event.clone()));
    Some(mapped)
}

/// [`map_event`] without the raw copy.
pub fn map_fields(event: &Value) -> Option<ProviderEvent> {
    let id = text(event.get("id"))?.to_owned();
    let at: DateTime<Utc> = time(event.get("timestamp"))?;
    let event_type = text(event.get("event_type"))?;
    if !SIGNIN_TYPES.contains(&event_type) {
        return None;
    }
    let bool_of = |v: Option<&Value>| v.and_then(Value::as_bool);
    let success = if event_type == "sso_auth" {
        bool_of(event.get("sso_token_success")).or(bool_of(event.get("success")))
    } else {
        bool_of(event.get("success"))
    }
    .unwrap_or(false);
    let reason = text(event.get("error_message")).map(str::to_owned);
    let mfa_used = bool_of(event.get("mfa")).unwrap_or(false);
    let mfa_type = text(event.get("mfa_meta").and_then(|m| m.get("type")))
        .filter(|t| !t.eq_ignore_ascii_case("none"))
        .map(str::to_ascii_lowercase);
    let methods = event
        .get("auth_context")
        .and_then(|c| c.get("auth_methods"));
    let method_success = |name: &str| {
        bool_of(
            methods
                .and_then(|m| m.get(name))
                .and_then(|m| m.get("success")),
        )
    };
    let password_ok = method_success("password");
    // The second factor the context names, with how it went.
    let second = ["totp", "webauthn", "duo", "jumpcloud_protect", "push"]
        .into_iter()
        .find_map(|name| method_success(name).map(|ok| (name.to_owned(), ok)));
    let mfa_factor = mfa_type
        .clone()
        .or_else(|| second.as_ref().map(|(name, _)| name.clone()))
        .filter(|_| mfa_used || second.is_some());
    let mut signal = EventSignal {
        mfa_method: mfa_factor.as_deref().map(mfa_method),
        ..EventSignal::default()
    };
    if event_type == "sso_auth" {
        signal.step = Some(AuthStep::Session);
        signal.app = text(
            event
                .get("application")
                .and_then(|a| a.get("display_label")),
        )
        .or_else(|| text(event.get("application").and_then(|a| a.get("name"))))
        .map(str::to_owned);
    } else {
        signal.step = Some(AuthStep::FirstFactor);
    }
    if success {
        if mfa_factor.is_some() {
            signal.mfa_result = Some(MfaResult::Success);
        }
    } else {
        let mfa_failed = password_ok == Some(true) && second.as_ref().is_some_and(|(_, ok)| !ok);
        let class = if mfa_failed {
            FailureReason::MfaFailed
        } else {
            failure_reason(reason.as_deref())
        };
        if class == FailureReason::MfaFailed && signal.step == Some(AuthStep::FirstFactor) {
            signal.step = Some(AuthStep::Mfa);
            signal.mfa_result = Some(MfaResult::Failed);
        }
        signal.failure_reason = Some(class);
    }
    let initiated = event.get("initiated_by");
    let resource = (event_type == "admin_login_attempt")
        .then(|| event.get("resource"))
        .flatten();
    let actor = initiated.filter(|i| i.is_object()).or(resource);
    let external_user_id = text(actor.and_then(|a| a.get("id"))).map(str::to_owned);
    let login = text(actor.and_then(|a| a.get("username")))
        .or_else(|| text(actor.and_then(|a| a.get("email"))))
        .or_else(|| text(event.get("username")))
        .map(str::to_owned);
    let geo = event.get("geoip");
    let coordinate = |key: &str| {
        geo.and_then(|g| g.get(key)).and_then(|v| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        })
    };
    let country = text(geo.and_then(|g| g.get("country_code")))
        .or_else(|| text(geo.and_then(|g| g.get("country_code2"))))
        .map(str::to_ascii_uppercase);
    let agent = event.get("useragent");
    Some(ProviderEvent {
        provider_event_id: id,
        time: at,
        category: EventCategory::Authentication,
        event_type: event_type.to_owned(),
        external_user_id,
        login,
        outcome: if success {
            Outcome::Success
        } else {
            Outcome::Failure
        },
        reason: if success { None } else { reason },
        ip: text(event.get("client_ip")).map(str::to_owned),
        country,
        city: text(geo.and_then(|g| g.get("region_name"))).map(str::to_owned),
        latitude: coordinate("latitude"),
        longitude: coordinate("longitude"),
        asn: None,
        user_agent: agent.and_then(user_agent),
        device: text(agent.and_then(|a| a.get("device")))
            .filter(|d| *d != "Other")
            .map(str::to_owned),
        mfa_factor,
        session_id: None,
        is_proxy: None,
        provider_risk: None,
        signal,
        raw: None,
    })
}

/// `Chrome 109.0 (Mac OS X)` from the parsed user agent JumpCloud gives.
fn user_agent(agent: &Value) -> Option<String> {
    let name = text(agent.get("name"))?;
    let version = [text(agent.get("major")), text(agent.get("minor"))]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(".");
    let mut out = name.to_owned();
    if !version.is_empty() {
        out.push(' ');
        out.push_str(&version);
    }
    if let Some(os) = text(agent.get("os_name")).or_else(|| text(agent.get("os"))) {
        out.push_str(&format!(" ({os})"));
    }
    Some(out)
}

/// The kind of a JumpCloud MFA type.
pub fn mfa_method(kind: &str) -> MfaMethod {
    match kind {
        "totp" => MfaMethod::Otp,
        "webauthn" | "u2f" | "fido" => MfaMethod::Webauthn,
        "push" | "jumpcloud_protect" | "duo" => MfaMethod::Push,
        "sms" => MfaMethod::Sms,
        "email" => MfaMethod::Email,
        _ => MfaMethod::Other,
    }
}

/// A failure's class from JumpCloud's `error_message` (free text, not a documented enum).
pub fn failure_reason(message: Option<&str>) -> FailureReason {
    let Some(message) = message else {
        return FailureReason::Other;
    };
    let m = message.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| m.contains(w));
    if has(&["mfa", "totp", "factor", "otp", "duo", "push", "webauthn"]) {
        FailureReason::MfaFailed
    } else if has(&["locked", "lockout"]) {
        FailureReason::LockedOut
    } else if has(&[
        "suspended",
        "disabled",
        "inactive",
        "not activated",
        "deactivated",
    ]) {
        FailureReason::AccountDisabled
    } else if has(&[
        "not found",
        "unknown user",
        "no such user",
        "does not exist",
    ]) {
        FailureReason::UnknownUser
    } else if has(&[
        "policy",
        "denied",
        "not allowed",
        "not authorized",
        "blocked",
    ]) {
        FailureReason::PolicyDenied
    } else if has(&["password", "credential", "authentication failed", "invalid"]) {
        FailureReason::BadCredentials
    } else {
        FailureReason::Other
    }
}
