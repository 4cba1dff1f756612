//! A directory pull's pages in a pipeline over both cores: page N is correlated (its store
//! reads, identities matched) while page N−1 is written and page N+1 fetched.
//!
//! Why: correlating a page and writing it took about a quarter and three quarters of the
//! page's store time, one after the other, while the other core waited. What makes the overlap
//! safe:
//! - the tenant's correlation lock stays held from a page's correlation to its write, so no
//!   other writer can give an address an identity in between;
//! - page N sees page N−1's rows before the store does ([`Unwritten`]);
//! - writes stay in page order, each moving the pull's cursor from where the one before left
//!   it.
//!
//! The lock is kept from one page to the next only while the next page is already fetched and
//! no one else waits for it: a slow provider or a waiting push never holds up behind a pull.

use std::sync::Arc;

use gatehouse_core::model::Integration;
use gatehouse_core::records::ProviderUser;
use gatehouse_store::{CursorMove, InventoryRows, StoreError};

use crate::inventory::Inventory;
use crate::unwritten::Unwritten;
use crate::EngineError;

/// A page correlated under the lock and not yet written, with the cursor move its write makes.
pub(crate) struct Prepared {
    pub rows: Arc<InventoryRows>,
    pub cursor: CursorMove,
}

impl Prepared {
    /// Writes it (the caller still holds the lock it was correlated under).
    pub async fn write(
        self,
        inventory: &Inventory,
        integration: &Integration,
    ) -> Result<(), EngineError> {
        inventory
            .write_users_page(&integration.tenant_id, &self.rows, &self.cursor)
            .await
    }
}

/// Writes `prepared` in a task of its own.
pub(crate) async fn write_in_task(
    inventory: &Inventory,
    integration: &Integration,
    prepared: Prepared,
) -> Result<(), EngineError> {
    let inventory = inventory.clone();
    let owner = integration.clone();
    tokio::spawn(async move { prepared.write(&inventory, &owner).await })
        .await
        .map_err(lost_task)?
}

/// Writes `before` (if any) while `items` is correlated as it will be after that write, each in
/// a task of its own so that the two run on both cores. Answers the correlated rows of `items`
/// once both are done; a failed write fails the stage.
pub(crate) async fn write_and_prepare(
    inventory: &Inventory,
    integration: &Integration,
    before: Option<Prepared>,
    items: Vec<ProviderUser>,
) -> Result<InventoryRows, EngineError> {
    let unwritten = before.as_ref().map(|b| Unwritten::new(Arc::clone(&b.rows)));
    let write = before.map(|before| write_in_task(inventory, integration, before));
    let prepare = {
        let inventory = inventory.clone();
        let owner = integration.clone();
        tokio::spawn(async move {
            inventory
                .prepare_users_page(&owner, items, unwritten.as_ref())
                .await
        })
    };
    let written = match write {
        Some(write) => write.await,
        None => Ok(()),
    };
    let prepared = prepare.await.map_err(lost_task)?;
    written?;
    prepared
}

fn lost_task(error: tokio::task::JoinError) -> EngineError {
    EngineError::Store(StoreError::Backend(format!(
        "storing a users page: {error}"
    )))
}
