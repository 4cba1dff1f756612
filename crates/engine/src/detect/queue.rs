//! The detection runner's queue: one FIFO of batches per tenant, served round-robin, so a
//! tenant with a deep backlog (a flood, a hot key) delays another tenant's assessment by at most
//! one of its batches rather than by its whole backlog.
//!
//! Memory stays bounded: a tenant may hold at most [`PER_TENANT`] batches and all tenants
//! together [`TOTAL`]; a submitter past either waits (what feeds the queue, the push inbox's
//! journal or a pull's cursor, holds the backlog durably). Since one tenant can hold only part
//! of the total, the others always find room while a single tenant floods.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use gatehouse_core::model::SignInEvent;
use gatehouse_core::TenantId;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// Batches one tenant may have waiting.
pub(super) const PER_TENANT: usize = 32;
/// Batches all tenants together may have waiting.
pub(super) const TOTAL: usize = 64;

/// A queued batch and the room it holds until it is assessed.
pub(super) struct Queued {
    pub events: Vec<SignInEvent>,
    _tenant_room: OwnedSemaphorePermit,
    _total_room: OwnedSemaphorePermit,
}

#[derive(Default)]
struct State {
    batches: HashMap<TenantId, VecDeque<Queued>>,
    /// Tenants with queued batches, in the order they are served next.
    turn: VecDeque<TenantId>,
    queued: usize,
}

/// Per-tenant queues, one worker.
pub(super) struct FairQueue {
    state: Mutex<State>,
    rooms: Mutex<HashMap<TenantId, Arc<Semaphore>>>,
    total: Arc<Semaphore>,
    ready: Notify,
}

impl FairQueue {
    pub(super) fn new() -> Self {
        Self {
            state: Mutex::new(State::default()),
            rooms: Mutex::new(HashMap::new()),
            total: Arc::new(Semaphore::new(TOTAL)),
            ready: Notify::new(),
        }
    }

    fn room(&self, tenant: &TenantId) -> Option<Arc<Semaphore>> {
        let mut rooms = self.rooms.lock().ok()?;
        Some(Arc::clone(
            rooms
                .entry(tenant.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(PER_TENANT))),
        ))
    }

    /// Queues one batch of `tenant`'s sign-ins, waiting while the tenant (or everyone) is at
    /// the limit. `Err` gives the batch back when the queue is unusable.
    pub(super) async fn push(
        &self,
        tenant: &TenantId,
        events: Vec<SignInEvent>,
    ) -> Result<(), Vec<SignInEvent>> {
        let Some(room) = self.room(tenant) else {
            return Err(events);
        };
        // The tenant's own room first: a tenant at its limit waits without holding shared room.
        let Ok(tenant_room) = room.acquire_owned().await else {
            return Err(events);
        };
        let Ok(total_room) = Arc::clone(&self.total).acquire_owned().await else {
            return Err(events);
        };
        let Ok(mut state) = self.state.lock() else {
            return Err(events);
        };
        let queue = state.batches.entry(tenant.clone()).or_default();
        let was_idle = queue.is_empty();
        queue.push_back(Queued {
            events,
            _tenant_room: tenant_room,
            _total_room: total_room,
        });
        if was_idle {
            state.turn.push_back(tenant.clone());
        }
        state.queued += 1;
        drop(state);
        self.ready.notify_one();
        Ok(())
    }

    /// The next batch, taking tenants in turn; waits while nothing is queued.
    pub(super) async fn pop(&self) -> Option<Queued> {
        loop {
            if let Some(batch) = self.try_pop()? {
                return Some(batch);
            }
            self.ready.notified().await;
        }
    }

    /// `Some(None)` when nothing is queued; `None` when the queue is unusable.
    fn try_pop(&self) -> Option<Option<Queued>> {
        let mut state = self.state.lock().ok()?;
        let state = &mut *state;
        while let Some(tenant) = state.turn.pop_front() {
            let Some(queue) = state.batches.get_mut(&tenant) else {
                continue;
            };
            let Some(batch) = queue.pop_front() else {
                state.batches.remove(&tenant);
                continue;
            };
            if queue.is_empty() {
                state.batches.remove(&tenant);
            } else {
                state.turn.push_back(tenant);
            }
            state.queued -= 1;
            return Some(Some(batch));
        }
        Some(None)
    }

    /// Batches waiting, all tenants together.
    pub(super) fn queued(&self) -> usize {
        self.state.lock().map_or(0, |s| s.queued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(tenant: &str, n: usize) -> Vec<SignInEvent> {
        let event: SignInEvent = match serde_json::from_value(serde_json::json!({
            "id": format!("sin_{tenant}_{n}"), "tenant_id": tenant, "integration_id": "int_1",
            "provider": "idp", "provider_event_id": format!("{n}"),
            "time": "2026-05-01T10:00:00Z", "event_type": "sign_in", "outcome": "failure",
        })) {
            Ok(event) => event,
            Err(error) => panic!("test event: {error}"),
        };
        vec![event]
    }

    /// A tenant with a deep backlog is served one batch at a time, in turn with the others.
    #[tokio::test]
    async fn tenants_are_served_in_turn_whatever_their_backlog() {
        let queue = FairQueue::new();
        let a = TenantId::parse("ten_a").unwrap_or_else(|| panic!("tenant id"));
        let b = TenantId::parse("ten_b").unwrap_or_else(|| panic!("tenant id"));
        for n in 0..10 {
            assert!(queue.push(&a, batch("ten_a", n)).await.is_ok());
        }
        assert!(queue.push(&b, batch("ten_b", 0)).await.is_ok());
        let mut order = Vec::new();
        while queue.queued() > 0 {
            let Some(next) = queue.pop().await else { break };
            order.push(next.events[0].tenant_id.to_string());
        }
        assert_eq!(order[0], "ten_a");
        assert_eq!(order[1], "ten_b", "B waits for one batch of A, not ten");
        assert_eq!(order.len(), 11);
    }

    /// A tenant at its limit waits; another tenant still gets in.
    #[tokio::test]
    async fn a_full_tenant_waits_while_others_still_queue() {
        let queue = Arc::new(FairQueue::new());
        let a = TenantId::parse("ten_a").unwrap_or_else(|| panic!("tenant id"));
        let b = TenantId::parse("ten_b").unwrap_or_else(|| panic!("tenant id"));
        for n in 0..PER_TENANT {
            assert!(queue.push(&a, batch("ten_a", n)).await.is_ok());
        }
        let blocked = {
            let queue = Arc::clone(&queue);
            let a = a.clone();
            tokio::spawn(async move { queue.push(&a, batch("ten_a", 99)).await.is_ok() })
        };
        let pushed_b = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            queue.push(&b, batch("ten_b", 0)),
        )
        .await;
        assert!(matches!(pushed_b, Ok(Ok(()))));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!blocked.is_finished(), "A is at its limit");
        drop(queue.pop().await);
        let done = tokio::time::timeout(std::time::Duration::from_secs(1), blocked).await;
        assert!(matches!(done, Ok(Ok(true))));
    }
}
