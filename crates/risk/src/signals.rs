//! What the detections ask of one event, answered from its normalized fields only (`category`,
//! `outcome`, `is_proxy` and the typed [`EventSignal`]): never from a provider's raw payload or
//! event type names, so every connector that fills the fields feeds every detection.
//!
//! An event without a `step` (a provider the connector does not classify yet, or an event stored
//! before the typed fields existed) is judged by its category and outcome alone: an
//! authentication event is then a first-factor attempt, a success when it succeeded, and never
//! an MFA rejection, a privilege change or a tunnel.
//!
//! [`EventSignal`]: gatehouse_core::model::EventSignal

use gatehouse_core::model::{
    Anonymizer, AuthStep, EventCategory, MfaResult, Outcome, PrivilegeChange, SignInEvent,
};

/// A first-factor sign-in attempt (any outcome): what brute force, spray and stuffing count.
/// Session (SSO) steps count as attempts too, as every authentication that is neither MFA nor
/// "not an attempt" always has.
pub fn is_attempt(event: &SignInEvent) -> bool {
    event.category == EventCategory::Authentication
        && matches!(
            event.signal.step,
            None | Some(AuthStep::FirstFactor | AuthStep::Session)
        )
}

/// A failed first-factor sign-in attempt.
pub fn is_failed_attempt(event: &SignInEvent) -> bool {
    event.outcome == Outcome::Failure && is_attempt(event)
}

/// A successful sign-in (first factor, MFA or SSO): what travel, new country and dormancy use.
pub fn is_success(event: &SignInEvent) -> bool {
    event.category == EventCategory::Authentication
        && event.outcome == Outcome::Success
        && event.signal.step != Some(AuthStep::NotAnAttempt)
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
    match event.signal.mfa_result? {
        MfaResult::PushDenied => Some(Rejection::Denied),
        MfaResult::PushFailed => Some(Rejection::Failed),
        MfaResult::Success | MfaResult::Failed => None,
    }
}

/// The privilege or MFA change an audit event made (a failed attempt at one changed nothing).
pub fn privilege_change(event: &SignInEvent) -> Option<&PrivilegeChange> {
    if event.category != EventCategory::Audit || event.outcome == Outcome::Failure {
        return None;
    }
    event.signal.privilege_change.as_ref()
}

/// Who made an audit change, for explanations.
pub fn actor_name(event: &SignInEvent) -> Option<&str> {
    event.signal.actor.as_ref()?.name()
}

/// Why the provider considers the source anonymizing. `is_proxy` counts on its own as well, so
/// events stored before `signal.anonymizer` existed keep their proxy flag.
pub fn provider_anonymizer(event: &SignInEvent) -> Option<&'static str> {
    let flagged = event
        .signal
        .anonymizer
        .or((event.is_proxy == Some(true)).then_some(Anonymizer::Proxy))?;
    Some(match flagged {
        Anonymizer::Proxy => "the provider flagged the IP as a proxy",
        Anonymizer::AnonymousTunnel => "the provider reported an anonymous tunnel (VPN or Tor)",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use gatehouse_core::model::EventSignal;
    use serde_json::json;

    fn event(category: EventCategory, outcome: Outcome, signal: EventSignal) -> SignInEvent {
        let time = chrono::Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap();
        let mut event: SignInEvent = serde_json::from_value(json!({
            "id": "sin_1", "tenant_id": "ten_1", "integration_id": "int_1", "provider": "any",
            "provider_event_id": "1", "time": time, "category": category,
            "event_type": "whatever.the.provider.calls.it", "outcome": outcome,
        }))
        .unwrap();
        event.signal = signal;
        event
    }

    fn step(step: AuthStep) -> EventSignal {
        EventSignal {
            step: Some(step),
            ..EventSignal::default()
        }
    }

    #[test]
    fn steps_decide_what_counts_as_an_attempt_and_a_success() {
        use AuthStep::*;
        let auth = EventCategory::Authentication;
        for (s, attempt, success) in [
            (Some(FirstFactor), true, true),
            (Some(Session), true, true),
            (Some(Mfa), false, true),
            (Some(NotAnAttempt), false, false),
            (None, true, true),
        ] {
            let signal = EventSignal {
                step: s,
                ..EventSignal::default()
            };
            let failed = event(auth, Outcome::Failure, signal.clone());
            assert_eq!(is_failed_attempt(&failed), attempt, "{s:?}");
            let ok = event(auth, Outcome::Success, signal);
            assert_eq!(is_attempt(&ok), attempt, "{s:?}");
            assert_eq!(is_success(&ok), success, "{s:?}");
        }
        let audit = event(EventCategory::Audit, Outcome::Success, step(FirstFactor));
        assert!(!is_attempt(&audit) && !is_success(&audit));
    }

    #[test]
    fn only_push_results_are_rejections() {
        let with = |result| EventSignal {
            mfa_result: Some(result),
            ..step(AuthStep::Mfa)
        };
        let auth = EventCategory::Authentication;
        let denied = event(auth, Outcome::Failure, with(MfaResult::PushDenied));
        assert_eq!(push_rejection(&denied), Some(Rejection::Denied));
        assert!(
            !is_failed_attempt(&denied),
            "an MFA denial is not a password guess"
        );
        let failed = event(auth, Outcome::Failure, with(MfaResult::PushFailed));
        assert_eq!(push_rejection(&failed), Some(Rejection::Failed));
        let code = event(auth, Outcome::Failure, with(MfaResult::Failed));
        assert_eq!(push_rejection(&code), None, "a wrong code is not a push");
        let audit = event(
            EventCategory::Audit,
            Outcome::Failure,
            with(MfaResult::PushDenied),
        );
        assert_eq!(push_rejection(&audit), None);
    }

    #[test]
    fn privilege_changes_need_a_successful_audit_event() {
        let signal = EventSignal {
            privilege_change: Some(PrivilegeChange::FactorsReset),
            ..EventSignal::default()
        };
        let done = event(EventCategory::Audit, Outcome::Success, signal.clone());
        assert_eq!(
            privilege_change(&done),
            Some(&PrivilegeChange::FactorsReset)
        );
        let failed = event(EventCategory::Audit, Outcome::Failure, signal.clone());
        assert_eq!(privilege_change(&failed), None);
        let auth = event(EventCategory::Authentication, Outcome::Success, signal);
        assert_eq!(privilege_change(&auth), None);
    }

    #[test]
    fn anonymizer_flags() {
        let auth = EventCategory::Authentication;
        let mut e = event(auth, Outcome::Success, step(AuthStep::FirstFactor));
        assert_eq!(provider_anonymizer(&e), None);
        e.signal.anonymizer = Some(Anonymizer::AnonymousTunnel);
        assert!(provider_anonymizer(&e).is_some_and(|r| r.contains("tunnel")));
        e.signal.anonymizer = None;
        e.is_proxy = Some(true);
        assert!(provider_anonymizer(&e).is_some_and(|r| r.contains("proxy")));
    }
}
