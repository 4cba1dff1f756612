//! Pushed evidence is confirmed before a destructive automatic action runs. Anyone holding an
//! integration's ingest token (it travels in a URL) can push events, so an automatic
//! `disable_account` or `enforce_mfa` whose detection rests only on pushed events first asks the
//! provider's own log for at least one of them ([`Connector::confirm_events`]); the log must
//! also name the action's account. Otherwise the action ends `unconfirmed` and the detection
//! stands on its own. `revoke_sessions` and `enable_account` run at once: ending sessions is
//! mild and reversible by signing in again, which is what a real victim needs fast.

use gatehouse_core::model::{
    Action, ActionKind, EventConfirmation, EventSource, SignInEvent, User,
};
use gatehouse_core::provider::{Connector, ConnectorError};

use super::ActionExecutor;
use crate::EngineError;

/// At most this many of the evidence's pushed events are looked up (the most recent ones): one
/// real event is enough, and the lookup must stay cheap at the provider.
const MAX_EVENTS_TO_CONFIRM: usize = 10;

/// How long a confirmation may take, the connector's own retries for log lag included.
const CONFIRM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// What the confirmation step decided.
#[derive(Debug)]
pub(super) enum Verdict {
    /// The action does not rest only on pushed events (or is not destructive, or was asked for
    /// by a person).
    NotNeeded,
    Confirmed(EventConfirmation),
    /// Why the action must not run.
    Unconfirmed(String),
}

/// Whether an action needs its pushed evidence confirmed: only automatic, destructive ones.
fn needs_confirmation(action: &Action) -> bool {
    action.requested_by.starts_with("policy:")
        && matches!(
            action.action,
            ActionKind::DisableAccount | ActionKind::EnforceMfa
        )
        && action.confirmation.is_none()
}

/// Whether the provider's log says the event is about `user`. A log entry that names no account
/// cannot contradict the push, so it counts.
fn about(user: &User, external_id: Option<&str>, login: Option<&str>) -> bool {
    let by_id = external_id.map(|id| id == user.external_id);
    let by_login = login.map(|l| l.trim().eq_ignore_ascii_case(user.login.trim()));
    match (by_id, by_login) {
        (Some(id), _) if !user.external_id.is_empty() => id,
        (_, Some(login)) => login,
        (Some(id), None) => id,
        (None, None) => true,
    }
}

impl ActionExecutor {
    /// Confirms the action's pushed evidence at the provider when it needs it.
    pub(super) async fn confirm(
        &self,
        action: &Action,
        user: &User,
        connector: &dyn Connector,
    ) -> Result<Verdict, ConfirmError> {
        if !needs_confirmation(action) {
            return Ok(Verdict::NotNeeded);
        }
        let Some(detection_id) = &action.detection_id else {
            return Ok(Verdict::NotNeeded);
        };
        let store = self.gateway.store();
        let Some(detection) = store.get_detection(&action.tenant_id, detection_id).await? else {
            return Ok(Verdict::NotNeeded);
        };
        let mut pushed: Vec<SignInEvent> = Vec::new();
        for id in &detection.evidence {
            let Some(event) = store.get_signin(&action.tenant_id, id).await? else {
                continue;
            };
            if event.source == EventSource::Pull {
                // Read from the provider with Gatehouse's own credentials: nothing to confirm.
                return Ok(Verdict::NotNeeded);
            }
            pushed.push(event);
        }
        if pushed.is_empty() {
            return Ok(Verdict::NotNeeded);
        }
        // The account's own events first, newest first: those are what the log must show.
        pushed.sort_by_key(|e| {
            (
                e.user_id.as_ref() != Some(&user.id),
                std::cmp::Reverse(e.time),
            )
        });
        let ids: Vec<String> = pushed
            .iter()
            .take(MAX_EVENTS_TO_CONFIRM)
            .map(|e| e.provider_event_id.clone())
            .collect();
        let asked = tokio::time::timeout(CONFIRM_TIMEOUT, connector.confirm_events(&ids)).await;
        let asked = asked.unwrap_or_else(|_| {
            Err(ConnectorError::Unavailable(
                "the provider's log did not answer in time".into(),
            ))
        });
        let answer = match asked {
            Ok(answer) => answer,
            Err(ConnectorError::Unsupported(what)) => {
                return Ok(Verdict::Unconfirmed(format!(
                    "the detection rests only on pushed events and this connector cannot confirm \
                     them ({what} is not supported): not run, the detection stands"
                )))
            }
            Err(error) => return Err(ConfirmError::Connector(error)),
        };
        let found = answer.confirmed.iter().find(|c| {
            ids.contains(&c.provider_event_id)
                && about(user, c.external_user_id.as_deref(), c.login.as_deref())
        });
        match found {
            Some(event) => Ok(Verdict::Confirmed(EventConfirmation {
                provider_event_id: event.provider_event_id.clone(),
                confirmed_at: self.gateway.clock().now(),
            })),
            None => Ok(Verdict::Unconfirmed(format!(
                "the detection rests only on pushed events and the provider's log confirmed none \
                 of the {} looked up for {}{}: not run, the detection stands",
                ids.len(),
                user.login,
                if answer.confirmed.is_empty() {
                    String::new()
                } else {
                    " (the log has them about another account)".to_owned()
                }
            ))),
        }
    }
}

/// Why confirming could not decide.
#[derive(Debug, thiserror::Error)]
pub(super) enum ConfirmError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Connector(ConnectorError),
}

impl From<gatehouse_store::StoreError> for ConfirmError {
    fn from(error: gatehouse_store::StoreError) -> Self {
        Self::Engine(error.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(external_id: &str, login: &str) -> User {
        serde_json::from_value(serde_json::json!({
            "id": "usr_1", "tenant_id": "ten_1", "integration_id": "int_1", "provider": "idp",
            "external_id": external_id, "login": login, "status": "active",
            "synced_at": "2026-05-01T00:00:00Z",
        }))
        .unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn the_log_must_name_the_account_when_it_names_one() {
        let ann = user("00u1", "ann@acme.example");
        assert!(about(&ann, Some("00u1"), Some("other@acme.example")));
        assert!(!about(&ann, Some("00u2"), Some("ann@acme.example")));
        assert!(about(&ann, None, Some(" ANN@acme.example")));
        assert!(!about(&ann, None, Some("bob@acme.example")));
        assert!(about(&ann, None, None));
        let no_id = user("", "ann@acme.example");
        assert!(about(&no_id, Some("00u9"), Some("ann@acme.example")));
    }
}
