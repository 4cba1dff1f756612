//! Leases on the embedded store. One process owns a sled store, so a lease only has to keep the
//! work of this process apart: it lives in memory, and a restart starts with none.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::SledStore;
use crate::{LeaseStore, StoreError};

/// Holder and expiry of each lease.
#[derive(Debug, Default)]
pub(super) struct Leases(Mutex<HashMap<String, (String, Instant)>>);

impl Leases {
    fn acquire(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut leases = self
            .0
            .lock()
            .map_err(|_| StoreError::Backend("lease table poisoned".into()))?;
        let now = Instant::now();
        let free = leases
            .get(name)
            .is_none_or(|(held_by, until)| held_by == holder || *until <= now);
        if free {
            leases.insert(name.to_owned(), (holder.to_owned(), now + ttl));
        }
        Ok(free)
    }

    fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let mut leases = self
            .0
            .lock()
            .map_err(|_| StoreError::Backend("lease table poisoned".into()))?;
        if leases
            .get(name)
            .is_some_and(|(held_by, _)| held_by == holder)
        {
            leases.remove(name);
        }
        Ok(())
    }
}

#[async_trait]
impl LeaseStore for SledStore {
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.leases.acquire(name, holder, ttl)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.leases.release(name, holder)
    }
}
