//! The few places where this connector meets the parts of the provider contract that are
//! newer than the rest (delta sync state on pages and pull modes, `SyncStateExpired`,
//! `AccountsChanged` pushes, `maintain`, the push URL): kept together so the rest of the crate
//! reads them through one small surface.
//!
//! (Interim form, before the contract lands: the state is dropped.)

use gatehouse_core::provider::{ConnectorContext, ConnectorError};
use gatehouse_core::records::{Page, PullMode, PushOutcome};
use secrecy::SecretString;

const EXPIRED: &str = "sync state expired: ";

pub(crate) fn sync_state_expired(message: String) -> ConnectorError {
    ConnectorError::Protocol(format!("{EXPIRED}{message}"))
}

pub(crate) fn is_sync_state_expired(err: &ConnectorError) -> bool {
    matches!(err, ConnectorError::Protocol(m) if m.starts_with(EXPIRED))
}

pub(crate) fn resume_state(_mode: &PullMode) -> Option<&str> {
    None
}

pub(crate) fn page<T>(items: Vec<T>, next: Option<String>, _state: Option<String>) -> Page<T> {
    Page {
        items,
        next_cursor: next,
    }
}

pub(crate) fn accounts_changed(_ids: Vec<String>) -> PushOutcome {
    PushOutcome::Events(Vec::new())
}

pub(crate) fn push_url(_context: &ConnectorContext) -> Option<SecretString> {
    None
}
