//! Whether an Okta event type is a sign-in attempt (`Authentication`) or an auditable change
//! (`Audit`).

use gatehouse_core::model::EventCategory;

/// The `user.authentication.*` kinds that are not sign-in attempts.
const NOT_SIGN_INS: &[&str] = &[
    "user.authentication.slo",
    "user.authentication.universal_logout",
    "user.authentication.universal_logout.scheduled",
];
/// Whether an event type is a sign-in attempt or an auditable change.
pub fn category(event_type: &str) -> EventCategory {
    let sign_in = event_type == "user.session.start"
        || (event_type.starts_with("user.authentication.") && !NOT_SIGN_INS.contains(&event_type))
        || (event_type.starts_with("user.mfa.")
            && !event_type.starts_with("user.mfa.factor.")
            && event_type != "user.mfa.promote_enrollment")
        || matches!(
            event_type,
            "system.push.send_factor_verify_push"
                | "policy.evaluate_sign_on"
                | "security.threat.detected"
        );
    if sign_in {
        EventCategory::Authentication
    } else {
        EventCategory::Audit
    }
}
