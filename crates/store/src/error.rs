//! Store errors, shared by every backend.

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("storage backend failed: {0}")]
    Backend(String),
    #[error("a stored record could not be decoded: {0}")]
    Corrupt(String),
    #[error("the store is closed")]
    Closed,
    /// A pull's cursor no longer held the value its page was read at: another puller (a
    /// replica that took the pull's lease over) moved it. Nothing of the page was written on a
    /// transactional backend.
    #[error("the pull cursor {0} was moved by another puller")]
    CursorMoved(String),
    /// PostgreSQL gave the call up to concurrent transactions (a deadlock or a serialization
    /// failure) every time it was tried; nothing of it was written, and it may be sent again.
    #[error("the store gave {0} up to concurrent writes; retry it")]
    Contended(String),
    /// A flush or fsync failed earlier; nothing written since can be promised durable, so the
    /// store refuses every write until the daemon restarts (see docs/DURABILITY.md).
    #[error("the store refuses writes after a durability failure ({0}); restart the daemon")]
    Failed(String),
}

impl From<sled::Error> for StoreError {
    fn from(err: sled::Error) -> Self {
        Self::Backend(err.to_string())
    }
}

impl From<std::io::Error> for StoreError {
    fn from(err: std::io::Error) -> Self {
        Self::Backend(err.to_string())
    }
}
