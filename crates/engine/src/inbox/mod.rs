//! The push inbox: a delivery that passed its connector's screen is written to the journal and
//! acknowledged as soon as it is durable; a consumer then decodes, normalizes and stores its
//! events (dedupe by provider event id) and hands the new ones to the detection runner.
//!
//! Acknowledging needs only the request's bytes on disk, so a burst is answered at close to the
//! HTTP limit while the heavier work runs behind it (on the engine's background runtime, which
//! the daemon gives a lower CPU priority). A crash between the acknowledgement and the store
//! replays the journal from its checkpoint; the store's dedupe absorbs the replay. Readers that
//! must see every acknowledged event (the sign-in list) wait for [`Inbox::settled`] first.

pub mod record;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::model::Integration;
use gatehouse_core::records::PushRequest;
use gatehouse_store::journal::{Journal, JournalError, JournalRecord};
use tokio::sync::watch;

use crate::ingest::DeliveryProcessor;
use crate::EngineError;

/// Records the consumer takes from the journal at once.
const BATCH_RECORDS: usize = 512;
/// Bytes the consumer takes from the journal at once (about).
const BATCH_BYTES: usize = 8 * 1024 * 1024;
/// The longest pause between retries of a batch the store refused.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The journal and the consumer that drains it.
pub struct Inbox {
    journal: Arc<Journal>,
    /// Offset up to which deliveries are stored (or skipped as unreadable).
    applied: watch::Sender<u64>,
    /// From receipt to stored, for the last delivery of the last batch (milliseconds).
    last_lag_ms: AtomicU64,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("journal", &self.journal)
            .field("applied", &*self.applied.borrow())
            .finish()
    }
}

impl Inbox {
    /// Starts the consumer on `runtime`, beginning with whatever a previous run acknowledged
    /// but did not store.
    pub(crate) fn start(
        journal: Arc<Journal>,
        processor: Arc<DeliveryProcessor>,
        runtime: &tokio::runtime::Handle,
    ) -> Arc<Self> {
        let (applied, _) = watch::channel(journal.checkpoint());
        let inbox = Arc::new(Self {
            journal,
            applied,
            last_lag_ms: AtomicU64::new(0),
        });
        let consumer = Arc::clone(&inbox);
        runtime.spawn(async move { consumer.consume(processor).await });
        inbox
    }

    /// Queues one screened delivery; returns once it is durable.
    pub(crate) async fn enqueue(
        &self,
        integration: &Integration,
        request: &PushRequest,
        received_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), EngineError> {
        let record = record::encode(
            received_at,
            &integration.tenant_id,
            &integration.id,
            request,
        );
        self.journal.append(record).await?;
        Ok(())
    }

    /// Waits (at most `wait`) until every delivery acknowledged before the call is stored.
    /// `false` when the wait ran out first.
    pub async fn settled(&self, wait: Duration) -> bool {
        let target = self.journal.durable_end();
        let mut applied = self.applied.subscribe();
        let reached = tokio::time::timeout(wait, applied.wait_for(|&at| at >= target))
            .await
            .is_ok_and(|r| r.is_ok());
        reached
    }

    /// Bytes acknowledged but not yet stored.
    pub fn backlog_bytes(&self) -> u64 {
        self.journal
            .durable_end()
            .saturating_sub(*self.applied.borrow())
    }

    /// The journal's commit rounds so far (one write and one `fdatasync` each).
    pub fn commit_rounds(&self) -> u64 {
        self.journal.commit_rounds()
    }

    /// How long the last stored delivery waited in the inbox.
    pub fn last_lag(&self) -> Duration {
        Duration::from_millis(self.last_lag_ms.load(Ordering::Relaxed))
    }

    async fn consume(self: Arc<Self>, processor: Arc<DeliveryProcessor>) {
        let mut reader = Some(self.journal.reader());
        let mut durable = self.journal.watch_durable();
        loop {
            let until = *durable.borrow_and_update();
            let position = reader.as_ref().map_or(until, |r| r.position());
            if position >= until {
                if durable.changed().await.is_err() {
                    return;
                }
                continue;
            }
            let Some(mut taken) = reader.take() else {
                return;
            };
            let read = tokio::task::spawn_blocking(move || {
                let records = taken.read(until, BATCH_RECORDS, BATCH_BYTES);
                (taken, records)
            })
            .await;
            let Ok((taken, records)) = read else {
                tracing::error!("inbox: the journal reader panicked; the consumer stops");
                return;
            };
            let taken = reader.insert(taken);
            let records = match records {
                Ok(records) => records,
                Err(JournalError::Corrupt { segment, offset }) => {
                    tracing::error!(
                        segment,
                        offset,
                        "inbox: damaged journal segment; skipping the rest of it"
                    );
                    if let Err(error) = taken.skip_damaged() {
                        tracing::error!(%error, "inbox: cannot skip the damaged segment");
                        tokio::time::sleep(MAX_BACKOFF).await;
                    }
                    continue;
                }
                Err(error) => {
                    tracing::error!(%error, "inbox: cannot read the journal; retrying");
                    tokio::time::sleep(MAX_BACKOFF).await;
                    continue;
                }
            };
            self.apply(&processor, records).await;
            let done = taken.position();
            if let Err(error) = self.journal.set_checkpoint(done) {
                tracing::warn!(%error, "inbox: checkpoint not written (a restart replays more)");
            }
            self.applied.send_replace(done);
        }
    }

    /// Stores one batch, retrying (with backoff) for as long as the store refuses it: the
    /// deliveries were acknowledged, so giving up would lose them.
    async fn apply(&self, processor: &DeliveryProcessor, records: Vec<JournalRecord>) {
        let deliveries: Vec<_> = records
            .into_iter()
            .filter_map(|r| match record::decode(r.payload) {
                Ok(delivery) => Some(delivery),
                Err(error) => {
                    tracing::error!(offset = r.end, %error, "inbox: skipping a record");
                    None
                }
            })
            .collect();
        let mut backoff = Duration::from_millis(50);
        while let Err(error) = processor.process(&deliveries).await {
            tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "inbox: storing a batch failed");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        if let Some(last) = deliveries.last() {
            let lag = (processor.now() - last.received_at)
                .num_milliseconds()
                .max(0);
            self.last_lag_ms.store(lag as u64, Ordering::Relaxed);
        }
    }
}
