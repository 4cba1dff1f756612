//! Detections decided by one event alone (and the inventory): anonymizing network, deprovisioned
//! activity, provider risk and privilege change. Every event is judged when it arrives, so they
//! cannot depend on arrival order; the inventory record is an input like the config.

use gatehouse_core::model::{
    EventCategory, Outcome, PrivilegeChange, RiskLevel, Severity, SignInEvent, UserStatus,
};

use super::View;
use crate::explain::{place, ts};
use crate::finding::{Finding, Subject};
use crate::geo::in_networks;
use crate::kind::Kind;
use crate::signals::{self, actor_name, is_success, provider_anonymizer};

/// The account when known, else the source IP.
fn account_or_ip(event: &SignInEvent) -> Option<Subject> {
    match (&event.user_id, &event.ip) {
        (Some(user), _) => Some(Subject::Account(user.clone())),
        (None, Some(ip)) => Some(Subject::Ip(ip.clone())),
        (None, None) => None,
    }
}

fn outcome_word(event: &SignInEvent) -> &'static str {
    match event.outcome {
        Outcome::Success => "successful",
        Outcome::Failure => "failed",
        Outcome::Challenge => "challenged",
    }
}

/// A sign-in event from a provider-flagged proxy / anonymous tunnel or a configured network.
pub(crate) fn anonymizing_network(view: &View<'_>) -> Option<Finding> {
    let t = view.trigger;
    if !view.config.anonymizing_network.enabled
        || t.category != EventCategory::Authentication
        || view.allowlisted(t)
    {
        return None;
    }
    let reason = provider_anonymizer(t).or_else(|| {
        in_networks(t, &view.anonymizers).then_some("the IP is in a configured anonymizing network")
    })?;
    let subject = account_or_ip(t)?;
    let severity = if is_success(t) {
        Severity::Medium
    } else {
        Severity::Low
    };
    let explanation = format!(
        "A {} {} event for {} at {} came from {}: {reason}.",
        outcome_word(t),
        t.event_type,
        view.account_label(t),
        ts(t.time),
        place(t),
    );
    Finding::over(
        Kind::AnonymizingNetwork,
        severity,
        &subject,
        t.user_id.clone(),
        &[t],
        explanation,
    )
}

/// Any sign-in attempt by an account the inventory lists as suspended or deprovisioned, made
/// after the inventory last saw the account change (an older event may predate the suspension).
pub(crate) fn deprovisioned_activity(view: &View<'_>) -> Option<Finding> {
    let t = view.trigger;
    if !view.config.deprovisioned_activity.enabled || t.category != EventCategory::Authentication {
        return None;
    }
    let user = view.user?;
    if !matches!(
        user.status,
        UserStatus::Suspended | UserStatus::Deprovisioned
    ) {
        return None;
    }
    if user.updated_at.is_some_and(|changed| t.time < changed) {
        return None;
    }
    let severity = if is_success(t) {
        Severity::Critical
    } else {
        Severity::High
    };
    let explanation = format!(
        "A {} {} event at {} from {} by {}, which is {} in the inventory{}.",
        outcome_word(t),
        t.event_type,
        ts(t.time),
        place(t),
        view.account_label(t),
        user.status.as_str(),
        user.updated_at
            .map(|c| format!(" (last changed {})", ts(c)))
            .unwrap_or_default(),
    );
    Finding::over(
        Kind::DeprovisionedActivity,
        severity,
        &Subject::Account(user.id.clone()),
        Some(user.id.clone()),
        &[t],
        explanation,
    )
}

/// The provider's own verdict at or above the configured level (Okta ThreatInsight and risk
/// scoring, Entra risk level, Google suspicious login), on sign-ins and risk audit events alike.
pub(crate) fn provider_risk(view: &View<'_>) -> Option<Finding> {
    let config = &view.config.provider_risk;
    let t = view.trigger;
    let level = t.provider_risk?;
    if !config.enabled || level == RiskLevel::None || level < config.min_level {
        return None;
    }
    let subject = account_or_ip(t)?;
    let (severity, word) = match level {
        RiskLevel::High => (Severity::High, "high"),
        RiskLevel::Medium => (Severity::Medium, "medium"),
        RiskLevel::Low | RiskLevel::None => (Severity::Low, "low"),
    };
    let explanation = format!(
        "{} rated a {} {} event for {} at {} from {} as {word} risk{}.",
        t.provider,
        outcome_word(t),
        t.event_type,
        view.account_label(t),
        ts(t.time),
        place(t),
        t.reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default(),
    );
    Finding::over(
        Kind::ProviderRisk,
        severity,
        &subject,
        t.user_id.clone(),
        &[t],
        explanation,
    )
}

/// An audit event that grants admin rights, removes MFA factors, weakens an MFA policy or adds
/// an external identity provider.
pub(crate) fn privilege_change(view: &View<'_>) -> Option<Finding> {
    let t = view.trigger;
    if !view.config.privilege_change.enabled {
        return None;
    }
    let change = signals::privilege_change(t)?;
    let named =
        |what: &Option<String>| what.as_deref().map(|s| format!(" {s}")).unwrap_or_default();
    let account = view.account_label(t);
    let (severity, what) = match change {
        PrivilegeChange::AdminRoleGranted { role, group } => (
            Severity::High,
            match group {
                Some(group) => format!("admin role{} granted to group {group}", named(role)),
                None => format!("admin role{} granted to {account}", named(role)),
            },
        ),
        PrivilegeChange::FactorRemoved { factor } => (
            Severity::Medium,
            format!("MFA factor{} removed from {account}", named(factor)),
        ),
        PrivilegeChange::FactorsReset => (
            Severity::Medium,
            format!("every MFA factor of {account} reset"),
        ),
        PrivilegeChange::OrgMfaFactorDisabled { factor } => (
            Severity::High,
            format!(
                "MFA factor type{} deactivated for the whole organisation",
                named(factor)
            ),
        ),
        PrivilegeChange::MfaPolicyRemoved { policy } => (
            Severity::High,
            format!(
                "MFA or sign-on policy{} deactivated or deleted",
                named(policy)
            ),
        ),
        PrivilegeChange::MfaPolicyChanged { policy } => (
            Severity::Medium,
            format!(
                "MFA or sign-on policy{} changed (possibly weakening MFA)",
                named(policy)
            ),
        ),
        PrivilegeChange::ExternalIdpCreated { idp } => (
            Severity::High,
            format!("external identity provider{} added", named(idp)),
        ),
    };
    let by = actor_name(t)
        .map(|actor| format!(" by {actor}"))
        .unwrap_or_default();
    let explanation = format!(
        "{}{by} at {} ({}, from {}).",
        capitalize(&what),
        ts(t.time),
        t.event_type,
        place(t),
    );
    let subject = match &t.user_id {
        Some(user) => Subject::Account(user.clone()),
        None => Subject::Integration(t.integration_id.clone()),
    };
    Finding::over(
        Kind::PrivilegeChange,
        severity,
        &subject,
        t.user_id.clone(),
        &[t],
        explanation,
    )
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
