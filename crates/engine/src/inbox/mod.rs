//! The push inbox: a delivery that passed its connector's screen is written to the journal and
//! acknowledged as soon as it is durable; a consumer then decodes, normalizes and stores its
//! events (dedupe by provider event id) and hands the new ones to the detection runner.
//!
//! Acknowledging needs only the request's bytes on disk, so a burst is answered at close to the
//! HTTP limit while the heavier work runs behind it (on the engine's background runtime, which
//! the daemon gives a lower CPU priority). A crash between the acknowledgement and the store
//! replays the journal from its checkpoint; the store's dedupe absorbs the replay. The journal
//! is the durable copy until the checkpoint moves, so the consumer's store writes are not
//! synced one batch at a time: the store syncs once before each checkpoint, which leaves the
//! disk's `fdatasync`s to the acknowledgements during a burst. Readers that
//! must see every acknowledged event (the sign-in list) wait for [`Inbox::settled`] first.
//! Each tenant may fill only its share of the backlog ([`quota`]).

mod quota;
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
use quota::TenantQuota;

/// Records the consumer takes from the journal at once.
const BATCH_RECORDS: usize = 512;
/// Bytes the consumer takes from the journal at once (about).
const BATCH_BYTES: usize = 8 * 1024 * 1024;
/// The longest pause between retries of a batch the store refused.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long stored deliveries may wait for a store sync and the journal checkpoint after it
/// (a crash replays at most about this much; the store's dedupe absorbs it).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// The pause after a batch that was not full, so that under a stream of deliveries the next
/// batch is larger: fewer store writes leave CPU and disk to the acknowledgements.
const GATHER: Duration = Duration::from_millis(20);

/// The journal and the consumer that drains it.
pub struct Inbox {
    journal: Arc<Journal>,
    /// Offset up to which deliveries are stored (or skipped as unreadable).
    applied: watch::Sender<u64>,
    /// From receipt to stored, for the last delivery of the last batch (milliseconds).
    last_lag_ms: AtomicU64,
    quota: TenantQuota,
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
        tenant_share_percent: u8,
        processor: Arc<DeliveryProcessor>,
        runtime: &tokio::runtime::Handle,
    ) -> Arc<Self> {
        let (applied, _) = watch::channel(journal.checkpoint());
        let inbox = Arc::new(Self {
            quota: TenantQuota::new(journal.max_backlog_bytes(), tenant_share_percent),
            journal,
            applied,
            last_lag_ms: AtomicU64::new(0),
        });
        let consumer = Arc::clone(&inbox);
        runtime.spawn(async move { consumer.consume(processor).await });
        inbox
    }

    /// Queues one screened delivery; returns once it is durable. Refused while the tenant has
    /// its share of the backlog waiting.
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
        let bytes = record.len() as u64;
        self.quota.reserve(&integration.tenant_id, bytes)?;
        if let Err(error) = self.journal.append(record).await {
            self.quota.release(&integration.tenant_id, bytes);
            return Err(error.into());
        }
        Ok(())
    }

    /// Waits (at most `wait`) until every delivery acknowledged before the call is stored.
    /// `false` when the wait ran out first.
    pub async fn settled(&self, wait: Duration) -> bool {
        let target = self.journal.durable_end();
        let mut applied = self.applied.subscribe();
        tokio::time::timeout(wait, applied.wait_for(|&at| at >= target))
            .await
            .is_ok_and(|r| r.is_ok())
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
        let mut checkpoint = Checkpoint::new(self.journal.checkpoint());
        loop {
            let until = *durable.borrow_and_update();
            let position = reader.as_ref().map_or(until, |r| r.position());
            if position >= until {
                let waited = match checkpoint.due() {
                    Some(due) => tokio::time::timeout_at(due, durable.changed()).await,
                    None => Ok(durable.changed().await),
                };
                match waited {
                    Ok(Ok(())) => {}
                    // Caught up and quiet: make what was stored durable and let the journal go.
                    Err(_) => checkpoint.write(&self.journal, &processor, position).await,
                    Ok(Err(_)) => return,
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
            let full = records.len() >= BATCH_RECORDS;
            self.apply(&processor, records).await;
            let done = taken.position();
            self.applied.send_replace(done);
            checkpoint.stored(done);
            if checkpoint.overdue() {
                checkpoint.write(&self.journal, &processor, done).await;
            }
            if !full {
                // Deliveries are still arriving one round at a time: let a fuller batch gather.
                tokio::time::sleep(GATHER).await;
            }
        }
    }

    /// Stores one batch, retrying (with backoff) for as long as the store refuses it: the
    /// deliveries were acknowledged, so giving up would lose them.
    async fn apply(&self, processor: &DeliveryProcessor, records: Vec<JournalRecord>) {
        let deliveries: Vec<_> = records
            .into_iter()
            .map(|r| {
                let bytes = r.payload.len() as u64;
                (record::decode(r.payload), bytes, r.end)
            })
            .filter_map(|(decoded, bytes, end)| match decoded {
                Ok(delivery) => Some((delivery, bytes)),
                Err(error) => {
                    tracing::error!(offset = end, %error, "inbox: skipping a record");
                    None
                }
            })
            .collect();
        let (deliveries, sizes): (Vec<_>, Vec<_>) = deliveries.into_iter().unzip();
        let mut backoff = Duration::from_millis(50);
        while let Err(error) = processor.process(&deliveries).await {
            tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "inbox: storing a batch failed");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        for (delivery, bytes) in deliveries.iter().zip(sizes) {
            self.quota.release(&delivery.tenant, bytes);
        }
        if let Some(last) = deliveries.last() {
            let lag = (processor.now() - last.received_at)
                .num_milliseconds()
                .max(0);
            self.last_lag_ms.store(lag as u64, Ordering::Relaxed);
        }
    }
}

/// When the consumer syncs the store and moves the journal's checkpoint: stored deliveries
/// stay in the journal until the store has made them durable, at most about once a second
/// during a stream and as soon as the consumer catches up otherwise.
struct Checkpoint {
    /// The journal's checkpoint as last written.
    written: u64,
    /// When the first delivery stored after the last checkpoint was stored.
    pending_since: Option<tokio::time::Instant>,
}

impl Checkpoint {
    fn new(written: u64) -> Self {
        Self {
            written,
            pending_since: None,
        }
    }

    fn stored(&mut self, offset: u64) {
        if offset > self.written && self.pending_since.is_none() {
            self.pending_since = Some(tokio::time::Instant::now());
        }
    }

    /// When the next checkpoint is due, if anything waits for one.
    fn due(&self) -> Option<tokio::time::Instant> {
        self.pending_since.map(|since| since + CHECKPOINT_EVERY)
    }

    fn overdue(&self) -> bool {
        self.due()
            .is_some_and(|due| due <= tokio::time::Instant::now())
    }

    /// Syncs the store, then moves the journal's checkpoint to `offset`. On failure the
    /// checkpoint stays: the deliveries remain in the journal and a restart replays them.
    async fn write(&mut self, journal: &Journal, processor: &DeliveryProcessor, offset: u64) {
        if offset <= self.written {
            self.pending_since = None;
            return;
        }
        if let Err(error) = processor.sync().await {
            tracing::warn!(%error, "inbox: the store did not sync; keeping the checkpoint");
            self.pending_since = Some(tokio::time::Instant::now());
            return;
        }
        match journal.set_checkpoint(offset) {
            Ok(()) => {
                self.written = offset;
                self.pending_since = None;
            }
            Err(error) => {
                tracing::warn!(%error, "inbox: checkpoint not written (a restart replays more)");
                self.pending_since = Some(tokio::time::Instant::now());
            }
        }
    }
}
