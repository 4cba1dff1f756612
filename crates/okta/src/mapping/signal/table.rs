//! Which Okta System Log event type means what: the one table the classifier reads.
//!
//! Rows are matched in order, specific rows before prefix rows (an `event_type` ending in `*` is
//! a prefix). An authentication event no row names is a first-factor attempt
//! (`user.session.start`, `user.authentication.verify`, `auth_via_IDP`, …), and an audit event no
//! row names carries no privilege change.

/// What a recognised event type means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Meaning {
    /// Logged around a sign-in but not an attempt itself.
    NotAnAttempt,
    /// Access to an app through the Okta session.
    Session,
    /// A second-factor step whose failure is not a push rejection.
    MfaStep,
    /// The user rejected a push.
    MfaPushDenied,
    /// A second-factor verification: a push that failed when the factor is a push.
    MfaVerify,
    AdminRoleGranted,
    FactorRemoved,
    FactorsReset,
    OrgMfaFactorDisabled,
    /// A policy or rule deactivated or deleted (a change when it is an MFA or sign-on policy).
    PolicyRemoved,
    /// A policy or rule updated (a change when it is an MFA or sign-on policy).
    PolicyChanged,
    ExternalIdpCreated,
}

use Meaning::*;

pub(super) const EVENT_TYPES: &[(&str, Meaning)] = &[
    ("policy.evaluate_sign_on", NotAnAttempt),
    ("security.threat.detected", NotAnAttempt),
    ("system.push.send_factor_verify_push", NotAnAttempt),
    ("user.authentication.sso", Session),
    ("user.mfa.okta_verify.deny_push", MfaPushDenied),
    ("user.authentication.auth_via_mfa", MfaVerify),
    ("user.mfa.okta_verify", MfaVerify),
    ("user.account.privilege.grant", AdminRoleGranted),
    ("group.privilege.grant", AdminRoleGranted),
    ("user.mfa.factor.deactivate", FactorRemoved),
    ("user.mfa.factor.reset_all", FactorsReset),
    ("system.mfa.factor.deactivate", OrgMfaFactorDisabled),
    ("policy.lifecycle.deactivate", PolicyRemoved),
    ("policy.lifecycle.delete", PolicyRemoved),
    ("policy.rule.deactivate", PolicyRemoved),
    ("policy.rule.delete", PolicyRemoved),
    ("policy.lifecycle.update", PolicyChanged),
    ("policy.rule.update", PolicyChanged),
    ("system.idp.lifecycle.create", ExternalIdpCreated),
    // After the specific `user.mfa.*` rows: every other MFA event is an MFA step (the factor
    // lifecycle `user.mfa.factor.*` kinds are audit events, which have no step).
    ("user.mfa.*", MfaStep),
];

/// The first row matching `event_type`, if any.
pub(super) fn meaning(event_type: &str) -> Option<Meaning> {
    EVENT_TYPES
        .iter()
        .find(|(row, _)| match row.strip_suffix('*') {
            Some(prefix) => event_type.starts_with(prefix),
            None => *row == event_type,
        })
        .map(|(_, meaning)| *meaning)
}
