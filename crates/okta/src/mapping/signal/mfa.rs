//! The kind of an Okta MFA factor and how an MFA step ended.
//!
//! Okta names factors in three dialects: Classic's `debugData.factor` (`OKTA_VERIFY_PUSH`,
//! `GOOGLE_OTP`, `SMS_FACTOR`, `CALL_FACTOR`, `U2F_FACTOR`, …), Identity Engine authenticator
//! names (`Okta Verify`, `Google Authenticator`, `Phone`, `Email`, `Security Key or Biometric`)
//! and `authenticationContext.credentialType` (`OTP`, `SMS`, `EMAIL`, …). Where one
//! authenticator offers several methods (`Okta Verify`: push or code; `Phone`: SMS or voice)
//! the target's `detailEntry.methodTypeUsed` tells them apart.

use gatehouse_core::model::{MfaMethod, MfaResult, Outcome};
use serde_json::Value;

use super::table::Meaning;

/// The method of `factor`, reading `methodTypeUsed` where the factor alone does not say.
pub(super) fn method(factor: &str, event: &Value) -> MfaMethod {
    let name = factor.to_ascii_uppercase();
    let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
    let used = method_type_used(event).map(|m| m.to_ascii_lowercase());
    if name == "OKTA VERIFY" {
        // Okta Verify without `methodTypeUsed` is a push: the Classic-style events that omit it
        // are push verifications.
        return match used.as_deref() {
            None => MfaMethod::Push,
            Some(m) if m.contains("push") => MfaMethod::Push,
            Some(m) if m.contains("code") || m.contains("otp") => MfaMethod::Otp,
            Some(_) => MfaMethod::Other,
        };
    }
    if name == "PHONE" {
        return match used.as_deref() {
            Some(m) if m.contains("sms") => MfaMethod::Sms,
            Some(m) if m.contains("voice") || m.contains("call") => MfaMethod::Voice,
            _ => MfaMethod::Other,
        };
    }
    if has(&["PUSH"]) {
        MfaMethod::Push
    } else if has(&["SMS"]) {
        MfaMethod::Sms
    } else if has(&["CALL", "VOICE"]) {
        MfaMethod::Voice
    } else if has(&["EMAIL"]) {
        MfaMethod::Email
    } else if has(&["WEBAUTHN", "U2F", "FIDO", "SECURITY KEY", "BIOMETRIC"]) {
        MfaMethod::Webauthn
    } else if has(&[
        "OTP",
        "TOTP",
        "AUTHENTICATOR",
        "SOFT_TOKEN",
        "TOKEN:",
        "YUBIKEY",
        "SECURID",
        "SYMANTEC",
    ]) {
        MfaMethod::Otp
    } else {
        MfaMethod::Other
    }
}

/// `target[].detailEntry.methodTypeUsed` (Identity Engine), e.g. `Get a push notification`.
fn method_type_used(event: &Value) -> Option<&str> {
    event
        .get("target")?
        .as_array()?
        .iter()
        .find_map(|t| t.pointer("/detailEntry/methodTypeUsed")?.as_str())
}

/// How an MFA step ended: a denial row is a denial whatever the result; a failed verification
/// with a push factor is a push that failed (Okta maps `UNANSWERED`/`ABANDONED`, a push nobody
/// answered, to a failure); other failed MFA steps (a wrong code) are plain failures.
pub(super) fn result(
    meaning: Option<Meaning>,
    outcome: Outcome,
    method: Option<MfaMethod>,
) -> Option<MfaResult> {
    if meaning == Some(Meaning::MfaPushDenied) {
        return Some(MfaResult::PushDenied);
    }
    match outcome {
        Outcome::Success => Some(MfaResult::Success),
        Outcome::Failure
            if meaning == Some(Meaning::MfaVerify) && method == Some(MfaMethod::Push) =>
        {
            Some(MfaResult::PushFailed)
        }
        Outcome::Failure => Some(MfaResult::Failed),
        Outcome::Challenge => None,
    }
}
