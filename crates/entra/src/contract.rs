//! The few places where this connector meets the parts of the provider contract that are
//! newer than the rest (delta sync state on pages and pull modes, `SyncStateExpired`,
//! `AccountsChanged` pushes, `maintain`, the push URL): kept together so the rest of the crate
//! reads them through one small surface.

use gatehouse_core::provider::{ConnectorContext, ConnectorError};
use gatehouse_core::records::{Page, PullMode, PushOutcome};
use secrecy::SecretString;

/// The provider no longer knows a delta token: the engine runs a full pull.
pub(crate) fn sync_state_expired(message: String) -> ConnectorError {
    ConnectorError::SyncStateExpired(message)
}

#[cfg(test)]
pub(crate) fn is_sync_state_expired(err: &ConnectorError) -> bool {
    matches!(err, ConnectorError::SyncStateExpired(_))
}

/// The delta link an incremental pull resumes from, when the engine has one.
pub(crate) fn resume_state(mode: &PullMode) -> Option<&str> {
    match mode {
        PullMode::Full => None,
        PullMode::Changed { sync_state, .. } => sync_state.as_deref(),
    }
}

/// A page, carrying the state to resume changes from when it ends a pass.
pub(crate) fn page<T>(items: Vec<T>, next: Option<String>, state: Option<String>) -> Page<T> {
    Page::new(items, next).with_sync_state(state)
}

/// A delivery that says which accounts changed.
pub(crate) fn accounts_changed(ids: Vec<String>) -> PushOutcome {
    PushOutcome::AccountsChanged(ids)
}

/// The integration's push URL with its ingest token, when the engine knows it.
pub(crate) fn push_url(context: &ConnectorContext) -> Option<SecretString> {
    context.push_url.clone()
}
