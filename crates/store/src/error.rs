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
