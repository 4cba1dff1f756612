//! Engine errors, in terms the API maps to statuses.

use gatehouse_core::provider::ConnectorError;
use gatehouse_core::validate::FieldError;
use gatehouse_store::journal::JournalError;
use gatehouse_store::StoreError;

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Invalid(FieldError),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotImplemented(String),
    #[error("provider: {0}")]
    Provider(#[from] ConnectorError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("credentials could not be opened: {0}")]
    Crypto(String),
    /// The push inbox could not take a delivery (full, or its disk failed).
    #[error("the push inbox refused the delivery: {0}")]
    Inbox(#[from] JournalError),
    /// The tenant already has its share of the push inbox's backlog waiting; other tenants'
    /// deliveries are still taken.
    #[error("tenant {tenant} has {backlog} bytes of pushed deliveries waiting, its share of the inbox is {limit}")]
    TenantBacklog {
        tenant: gatehouse_core::TenantId,
        backlog: u64,
        limit: u64,
    },
}

impl EngineError {
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(FieldError {
            field: field.to_owned(),
            message: message.into(),
        })
    }
}

impl From<FieldError> for EngineError {
    fn from(err: FieldError) -> Self {
        Self::Invalid(err)
    }
}
