//! The pure mapping of an Okta System Log event (`LogEvent`, as pulled from `/api/v1/logs` or
//! pushed in an event hook's `data.events[]`) to a [`ProviderEvent`].
//!
//! Category: sign-in attempts are `Authentication` — `user.session.start`, the
//! `user.authentication.*` family (`sso`, `auth_via_mfa`, `verify`, `auth_via_IDP`, …; not the
//! logout kinds), the MFA verification kinds `user.mfa.*` (`okta_verify`,
//! `okta_verify.deny_push`, `attempt_bypass`, …; not the factor lifecycle `user.mfa.factor.*`),
//! `system.push.send_factor_verify_push`, `policy.evaluate_sign_on` and
//! `security.threat.detected`. Every other event is kept as an `Audit` event with its raw JSON:
//! the admin and lifecycle kinds Gatehouse cares about (`user.lifecycle.*`,
//! `user.account.privilege.grant`/`revoke`, `user.account.lock`, `user.mfa.factor.deactivate`,
//! `user.mfa.factor.reset_all`, `system.idp.lifecycle.*`, `policy.lifecycle.*`, `policy.rule.*`,
//! `user.risk.*`, …) and anything Okta adds later. Nothing well-formed is skipped; an event
//! without `uuid` (the dedupe key), `eventType` or a parsable `published` time is.
//!
//! Whose event it is: for `Authentication` events the actor (the person signing in), else the
//! `User` target. For `Audit` events the `User` target when there is one — the account that was
//! suspended, granted admin rights or had its factors reset is the subject, not the admin who did
//! it (the admin is `signal.actor`) — else the actor when it is a user (an admin changing a
//! policy or an identity provider).
//!
//! Every field is optional in practice: nulls, missing objects, the string `"null"`, numbers
//! sent as strings (`postalCode`, `asNumber`) are all tolerated.
//!
//! The parts live in submodules: `category` (sign-in or audit), `outcome` (result and reason),
//! `fields` (the subject, source IP and MFA factor), `risk` (Okta's risk verdict), `signal`
//! (the typed signal the risk detections read: which event type means what, MFA methods and
//! results, privilege changes, anonymizers) and `json` (tolerant text and number readers).

mod category;
mod fields;
mod json;
mod outcome;
mod risk;
pub(crate) mod signal;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use gatehouse_core::model::{EventSignal, RawEvent};
use gatehouse_core::records::ProviderEvent;
use serde_json::value::RawValue;
use serde_json::Value;

pub use category::category;
use fields::{ip, mfa_factor, subject};
use json::{number, text};
use outcome::outcome;
pub use risk::parse_risk_level;
use risk::provider_risk;
use signal::{classify, SignalInput};

/// Maps one System Log event; `None` when it lacks what every stored event needs.
pub fn map_event(event: &Value) -> Option<ProviderEvent> {
    let mut mapped = map_fields(event)?;
    mapped.raw = Some(RawEvent::from(event.clone()));
    Some(mapped)
}

/// [`map_event`] for an event the caller owns: the raw copy is moved, not cloned (the push path
/// handles tens of thousands of events a second).
pub fn map_event_owned(event: Value) -> Option<ProviderEvent> {
    let mut mapped = map_fields(&event)?;
    mapped.raw = Some(RawEvent::from(event));
    Some(mapped)
}

/// [`map_event`] for an event still in the text it arrived in (a pushed delivery): the text is
/// kept as the raw event rather than written again from the parsed tree. `None` also when the
/// text is not a JSON object.
pub fn map_event_text(event: &RawValue) -> Option<ProviderEvent> {
    let parsed: Value = serde_json::from_str(event.get()).ok()?;
    if !parsed.is_object() {
        return None;
    }
    let mut mapped = map_fields(&parsed)?;
    mapped.raw = Some(RawEvent::from_text(event.to_owned()));
    Some(mapped)
}

fn map_fields(event: &Value) -> Option<ProviderEvent> {
    let provider_event_id = text(event, &["uuid"])?.to_owned();
    let event_type = text(event, &["eventType"])?.to_owned();
    let time = DateTime::parse_from_rfc3339(text(event, &["published"])?)
        .ok()?
        .with_timezone(&Utc);
    let category = category(&event_type);
    let (external_user_id, login) = subject(event, category);
    let (outcome, reason) = outcome(event, &event_type, category);
    let geo = |key: &str| text(event, &["client", "geographicalContext", key]).map(str::to_owned);
    let coordinate = |key: &str| {
        number(event.pointer(&format!("/client/geographicalContext/geolocation/{key}")))
    };
    let mut mapped = ProviderEvent {
        provider_event_id,
        time,
        category,
        event_type: event_type.clone(),
        external_user_id,
        login,
        outcome,
        reason,
        ip: ip(event),
        country: geo("country"),
        city: geo("city"),
        latitude: coordinate("lat"),
        longitude: coordinate("lon"),
        asn: number(event.pointer("/securityContext/asNumber"))
            .filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n <= f64::from(u32::MAX))
            .map(|n| n as u32),
        user_agent: text(event, &["client", "userAgent", "rawUserAgent"]).map(str::to_owned),
        device: text(event, &["client", "device"])
            .or_else(|| text(event, &["device", "name"]))
            .map(str::to_owned),
        mfa_factor: mfa_factor(event, &event_type),
        session_id: text(event, &["authenticationContext", "externalSessionId"])
            .filter(|s| !s.eq_ignore_ascii_case("unknown"))
            .map(str::to_owned),
        is_proxy: event
            .pointer("/securityContext/isProxy")
            .and_then(|v| match v {
                Value::Bool(b) => Some(*b),
                Value::String(s) => s.parse().ok(),
                _ => None,
            }),
        provider_risk: provider_risk(event, &event_type),
        signal: EventSignal::default(),
        raw: None,
    };
    mapped.signal = classify(&SignalInput {
        event_type: &mapped.event_type,
        category: mapped.category,
        outcome: mapped.outcome,
        reason: mapped.reason.as_deref(),
        mfa_factor: mapped.mfa_factor.as_deref(),
        is_proxy: mapped.is_proxy,
        event,
    });
    Some(mapped)
}
