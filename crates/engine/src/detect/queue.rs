//! The detection runner's queue: one FIFO of batches per tenant, served in turns of at most
//! [`TURN`] sign-ins or [`TURN_TIME`] (the runner gives back what it did not reach), tenants in
//! rotation, so a tenant with a deep backlog (a flood, a hot key) delays another tenant's
//! assessment by one turn rather than by its whole backlog.
//!
//! Memory stays bounded: a tenant may hold at most [`PER_TENANT`] batches and all tenants
//! together [`TOTAL`]; a submitter past either waits (what feeds the queue, the push inbox's
//! journal or a pull's cursor, holds the backlog durably). Since one tenant can hold only part
//! of the total, the others always find room while a single tenant floods. Small submissions
//! (a delivery of ten events) join the tenant's last batch while it has room, so the limit
//! counts events, not deliveries: the inbox consumer is not held up by a tenant's many small
//! deliveries while other tenants' deliveries wait behind them in the journal.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use gatehouse_core::model::SignInEvent;
use gatehouse_core::TenantId;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// Most sign-ins in one queued batch (one context fetch per subject serves the whole batch).
pub(super) const BATCH: usize = 1_000;
/// Most sign-ins of one tenant assessed before the next tenant's turn.
pub(super) const TURN: usize = 256;
/// Longest one tenant's turn runs before the next tenant's (an expensive event, such as one
/// that grows a large detection, can take tens of milliseconds).
pub(super) const TURN_TIME: std::time::Duration = std::time::Duration::from_millis(50);
/// Batches one tenant may have waiting.
pub(super) const PER_TENANT: usize = 32;
/// Batches all tenants together may have waiting.
pub(super) const TOTAL: usize = 64;

/// A stored sign-in waiting for assessment.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) event: SignInEvent,
    /// When its delivery was received, for a pushed sign-in (the wait is measured).
    pub(super) received_at: Option<DateTime<Utc>>,
}

/// A queued batch and the room it holds until it is assessed.
struct Queued {
    events: VecDeque<Pending>,
    /// `None` for events given back at the end of a turn (at most a turn's worth: they were
    /// taken from a batch whose room is already freed).
    _rooms: Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)>,
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

    /// Queues `tenant`'s sign-ins (at most [`BATCH`]), joining its last batch when that has
    /// room, else waiting while the tenant (or everyone) is at the limit. `Err` gives the
    /// events back when the queue is unusable.
    pub(super) async fn push(
        &self,
        tenant: &TenantId,
        events: Vec<Pending>,
    ) -> Result<(), Vec<Pending>> {
        {
            let Ok(mut state) = self.state.lock() else {
                return Err(events);
            };
            let last = state
                .batches
                .get_mut(tenant)
                .and_then(|queue| queue.back_mut());
            if let Some(last) = last.filter(|b| b.events.len() + events.len() <= BATCH) {
                last.events.extend(events);
                drop(state);
                self.ready.notify_one();
                return Ok(());
            }
        }
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
            events: events.into(),
            _rooms: Some((tenant_room, total_room)),
        });
        if was_idle {
            state.turn.push_back(tenant.clone());
        }
        state.queued += 1;
        drop(state);
        self.ready.notify_one();
        Ok(())
    }

    /// The next turn: at most [`TURN`] sign-ins of the next tenant in rotation, in the order
    /// they were queued; waits while nothing is queued. `None` when the queue is unusable.
    pub(super) async fn pop(&self) -> Option<Vec<Pending>> {
        loop {
            if let Some(turn) = self.try_pop()? {
                return Some(turn);
            }
            self.ready.notified().await;
        }
    }

    /// `Some(None)` when nothing is queued.
    fn try_pop(&self) -> Option<Option<Vec<Pending>>> {
        let mut state = self.state.lock().ok()?;
        let state = &mut *state;
        while let Some(tenant) = state.turn.pop_front() {
            let Some(queue) = state.batches.get_mut(&tenant) else {
                continue;
            };
            let Some(front) = queue.front_mut() else {
                state.batches.remove(&tenant);
                continue;
            };
            let take = front.events.len().min(TURN);
            let turn: Vec<Pending> = front.events.drain(..take).collect();
            if front.events.is_empty() {
                // Frees the batch's room.
                queue.pop_front();
                state.queued -= 1;
            }
            if queue.is_empty() {
                state.batches.remove(&tenant);
            } else {
                state.turn.push_back(tenant);
            }
            return Some(Some(turn));
        }
        Some(None)
    }

    /// Puts the part of a turn the runner did not reach back at the head of its tenant's
    /// queue; the tenant is served again after the others.
    pub(super) fn give_back(&self, events: Vec<Pending>) {
        let Some(tenant) = events.first().map(|p| p.event.tenant_id.clone()) else {
            return;
        };
        let Ok(mut guard) = self.state.lock() else {
            return;
        };
        let state = &mut *guard;
        let queue = state.batches.entry(tenant.clone()).or_default();
        if queue.is_empty() {
            state.turn.push_back(tenant);
        }
        queue.push_front(Queued {
            events: events.into(),
            _rooms: None,
        });
        state.queued += 1;
        drop(guard);
        self.ready.notify_one();
    }

    /// Batches waiting, all tenants together.
    pub(super) fn queued(&self) -> usize {
        self.state.lock().map_or(0, |s| s.queued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(tenant: &str, from: usize, n: usize) -> Vec<Pending> {
        (from..from + n)
            .map(|i| Pending {
                received_at: None,
                event: serde_json::from_value(serde_json::json!({
                    "id": format!("sin_{tenant}_{i}"), "tenant_id": tenant,
                    "integration_id": "int_1", "provider": "idp",
                    "provider_event_id": format!("{i}"), "time": "2026-05-01T10:00:00Z",
                    "event_type": "sign_in", "outcome": "failure",
                }))
                .unwrap(),
            })
            .collect()
    }

    /// A tenant with a deep backlog is served one turn at a time, in rotation with the others,
    /// each tenant's events in the order they came.
    #[tokio::test]
    async fn tenants_are_served_in_turn_whatever_their_backlog() {
        let queue = FairQueue::new();
        let a = TenantId::parse("ten_a").unwrap();
        let b = TenantId::parse("ten_b").unwrap();
        for n in 0..3 {
            queue
                .push(&a, batch("ten_a", n * BATCH, BATCH))
                .await
                .unwrap();
        }
        queue.push(&b, batch("ten_b", 0, 1)).await.unwrap();
        let first = queue.pop().await.unwrap();
        assert_eq!(
            (first.len(), first[0].event.tenant_id.as_str()),
            (TURN, "ten_a")
        );
        let second = queue.pop().await.unwrap();
        assert_eq!(
            second[0].event.tenant_id.as_str(),
            "ten_b",
            "B waits one turn of A"
        );
        let mut a_events = first;
        while queue.queued() > 0 {
            a_events.extend(queue.pop().await.unwrap());
        }
        let expected: Vec<String> = (0..3 * BATCH).map(|i| format!("sin_ten_a_{i}")).collect();
        let got: Vec<String> = a_events.iter().map(|p| p.event.id.to_string()).collect();
        assert_eq!(got, expected);
    }

    /// Many small submissions share batches, so a tenant's limit counts events, not deliveries.
    #[tokio::test]
    async fn small_submissions_join_the_last_batch() {
        let queue = FairQueue::new();
        let a = TenantId::parse("ten_a").unwrap();
        for n in 0..100 {
            queue.push(&a, batch("ten_a", n * 10, 10)).await.unwrap();
        }
        assert_eq!(queue.queued(), 1);
    }

    /// A tenant at its limit waits; another tenant still gets in.
    #[tokio::test]
    async fn a_full_tenant_waits_while_others_still_queue() {
        let queue = Arc::new(FairQueue::new());
        let a = TenantId::parse("ten_a").unwrap();
        let b = TenantId::parse("ten_b").unwrap();
        for n in 0..PER_TENANT {
            queue
                .push(&a, batch("ten_a", n * BATCH, BATCH))
                .await
                .unwrap();
        }
        let blocked = {
            let queue = Arc::clone(&queue);
            let a = a.clone();
            tokio::spawn(async move { queue.push(&a, batch("ten_a", 0, BATCH)).await.is_ok() })
        };
        let pushed_b = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            queue.push(&b, batch("ten_b", 0, 1)),
        )
        .await;
        assert!(matches!(pushed_b, Ok(Ok(()))));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!blocked.is_finished(), "A is at its limit");
        // A's first batch assessed in full frees its room.
        for _ in 0..BATCH.div_ceil(TURN) + 1 {
            drop(queue.pop().await);
        }
        let done = tokio::time::timeout(std::time::Duration::from_secs(1), blocked).await;
        assert!(matches!(done, Ok(Ok(true))));
    }
}
