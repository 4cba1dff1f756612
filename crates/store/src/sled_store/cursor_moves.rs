//! A pull's page and its cursor move on the embedded store. sled recovers its log in order,
//! so the cursor, written after the page, is never on disk without it; the compare-and-swap
//! refuses a move from a value the cursor no longer holds. (One process owns a sled store and
//! its pull leases keep pullers apart, so a refused move means a bug, not a second replica;
//! the page written before it is idempotent.)

use gatehouse_core::TenantId;

use super::keys::{self, decode_opt, encode};
use super::SledStore;
use crate::{CursorMove, StoreError};

impl SledStore {
    pub(super) fn move_cursor_now(
        &self,
        tenant: &TenantId,
        cursor: &CursorMove,
    ) -> Result<(), StoreError> {
        let key = keys::scoped(tenant, &[cursor.integration.as_str(), &cursor.name]);
        let old = self.trees.cursors.get(&key)?;
        let stored: Option<gatehouse_core::model::SyncCursor> = decode_opt(old.clone())?;
        if !cursor.starts_at(stored.as_ref().map(|c| c.value.as_str())) {
            return Err(StoreError::CursorMoved(cursor.describe()));
        }
        self.trees
            .cursors
            .compare_and_swap(key, old, Some(encode(&cursor.to)?))?
            .map_err(|_| StoreError::CursorMoved(cursor.describe()))
    }
}
