//! What an Okta audit event changed (admin roles, MFA factors, MFA and sign-on policies,
//! identity providers) and who changed it.

use gatehouse_core::model::{Actor, PrivilegeChange};
use serde_json::Value;

use super::super::json::{debug_data, text};
use super::table::Meaning;

/// Policy types (letters and digits only, upper case) whose weakening can remove MFA.
const MFA_POLICY_TYPES: &[&str] = &[
    "MFAENROLL",
    "OKTASIGNON",
    "SIGNON",
    "ACCESSPOLICY",
    "AUTHENTICATIONPOLICY",
];

/// The change an event of `meaning` records; `factor` is the mapped MFA factor.
pub(super) fn privilege_change(
    meaning: Meaning,
    event: &Value,
    factor: Option<&str>,
) -> Option<PrivilegeChange> {
    let factor = factor.map(str::to_owned);
    let change = match meaning {
        Meaning::AdminRoleGranted => PrivilegeChange::AdminRoleGranted {
            role: debug_data(event, "privilegeGranted")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            group: target_name(event, "UserGroup"),
        },
        Meaning::FactorRemoved => PrivilegeChange::FactorRemoved { factor },
        Meaning::FactorsReset => PrivilegeChange::FactorsReset,
        Meaning::OrgMfaFactorDisabled => PrivilegeChange::OrgMfaFactorDisabled { factor },
        Meaning::PolicyRemoved => PrivilegeChange::MfaPolicyRemoved {
            policy: mfa_policy(event)?,
        },
        Meaning::PolicyChanged => PrivilegeChange::MfaPolicyChanged {
            policy: mfa_policy(event)?,
        },
        Meaning::ExternalIdpCreated => PrivilegeChange::ExternalIdpCreated {
            idp: target_name(event, "IdentityProvider"),
        },
        Meaning::NotAnAttempt
        | Meaning::Session
        | Meaning::MfaStep
        | Meaning::MfaPushDenied
        | Meaning::MfaVerify => return None,
    };
    Some(change)
}

/// `Some(name)` when a target of the event is an MFA or sign-on policy (or a rule of one); the
/// System Log says which kind of policy in `target[].detailEntry.policyType`. Other policies
/// (passwords, apps) are not MFA changes.
fn mfa_policy(event: &Value) -> Option<Option<String>> {
    let targets = event.get("target")?.as_array()?;
    let policy = targets.iter().find(|t| {
        t.pointer("/detailEntry/policyType")
            .and_then(Value::as_str)
            .is_some_and(|kind| {
                let normalized = kind
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
                    .to_ascii_uppercase();
                MFA_POLICY_TYPES.contains(&normalized.as_str())
            })
    })?;
    Some(text(policy, &["displayName"]).map(str::to_owned))
}

/// The display name of the first target of `kind` (`UserGroup`, `AppInstance`, …).
pub(super) fn target_name(event: &Value, kind: &str) -> Option<String> {
    event
        .get("target")?
        .as_array()?
        .iter()
        .find(|t| t.get("type").and_then(Value::as_str) == Some(kind))
        .and_then(|t| text(t, &["displayName"]))
        .map(str::to_owned)
}

/// The admin who made an audit change: `actor.id` and `actor.alternateId` (Okta writes
/// `unknown` when it has none).
pub(super) fn actor(event: &Value) -> Option<Actor> {
    let who = event.get("actor")?;
    let known = |key: &str| {
        text(who, &[key])
            .filter(|s| !s.eq_ignore_ascii_case("unknown"))
            .map(str::to_owned)
    };
    let actor = Actor {
        id: known("id"),
        login: known("alternateId"),
    };
    (actor != Actor::default()).then_some(actor)
}
