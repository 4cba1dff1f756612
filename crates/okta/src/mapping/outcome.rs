//! Okta's `outcome.result` and `outcome.reason` mapped to Gatehouse's outcome and reason.

use gatehouse_core::model::{EventCategory, Outcome};
use serde_json::Value;

use super::json::text;

/// `outcome.result` in Gatehouse's three words, and the reason.
///
/// `SUCCESS`/`ALLOW` → success; `FAILURE`/`DENY`/`RATE_LIMIT`/`ABANDONED`/`UNANSWERED` →
/// failure; `CHALLENGE` → challenge. Results that say nothing about success (`SKIPPED`,
/// `UNKNOWN`, `DEFERRED`, `SCHEDULED`, or none) are a challenge (not finished) for sign-ins and a
/// success for audit events. The reason is `outcome.reason`, or the result itself when that is
/// not one of the plain ones. Two kinds are special: a denied Okta Verify push is a failure with
/// the reason `push_denied`, and a push that was sent is a challenge.
pub(super) fn outcome(
    event: &Value,
    event_type: &str,
    category: EventCategory,
) -> (Outcome, Option<String>) {
    let result = text(event, &["outcome", "result"])
        .map(str::to_ascii_uppercase)
        .unwrap_or_default();
    let okta_reason = text(event, &["outcome", "reason"]).map(str::to_owned);
    if event_type == "user.mfa.okta_verify.deny_push" {
        return (Outcome::Failure, Some("push_denied".to_owned()));
    }
    if event_type == "user.mfa.okta_verify.deny_push_upgrade_needed" {
        return (
            Outcome::Failure,
            okta_reason.or_else(|| Some("okta_verify_upgrade_needed".to_owned())),
        );
    }
    let plain = matches!(
        result.as_str(),
        "SUCCESS" | "ALLOW" | "FAILURE" | "DENY" | "CHALLENGE"
    );
    let mapped = match result.as_str() {
        "SUCCESS" | "ALLOW" => Outcome::Success,
        "FAILURE" | "DENY" | "RATE_LIMIT" | "ABANDONED" | "UNANSWERED" => Outcome::Failure,
        "CHALLENGE" => Outcome::Challenge,
        _ => match category {
            EventCategory::Authentication => Outcome::Challenge,
            EventCategory::Audit => Outcome::Success,
        },
    };
    let mapped =
        if event_type == "system.push.send_factor_verify_push" && mapped == Outcome::Success {
            Outcome::Challenge
        } else {
            mapped
        };
    let reason = okta_reason.or_else(|| (!plain && !result.is_empty()).then_some(result));
    (mapped, reason)
}
