//! Group commit of sign-in inserts on PostgreSQL: deliveries that arrive together share one
//! transaction, so a burst of pushes costs a few commits (WAL flushes) instead of one each.
//! Each caller is answered only after the transaction holding its events has committed — a
//! push is still acknowledged only once durable. One delivery whose insert fails (a value
//! PostgreSQL cannot store) must not fail the others of its group: the group is then written
//! again in halves, down to that one delivery.

use std::sync::Arc;

use deadpool_postgres::Pool;
use gatehouse_core::model::SignInEvent;
use gatehouse_core::TenantId;
use tokio::sync::{mpsc, oneshot, Mutex};

use super::events::{insert_rows, SignInRows};
use super::pg_error;
use crate::StoreError;

/// Most events one transaction carries (a group closes earlier when nothing more is waiting).
const GROUP_EVENTS: usize = 5_000;
/// Transactions in flight at once: while some commit, the next groups gather.
const WRITERS: usize = 4;

type Reply = oneshot::Sender<Result<Vec<usize>, StoreError>>;

struct Job {
    tenant: TenantId,
    events: Vec<SignInEvent>,
    reply: Reply,
}

/// The queue in front of the group writers.
#[derive(Clone)]
pub(super) struct GroupCommit {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the writers on the current runtime; they end when the last handle is dropped.
    pub(super) fn start(pool: Pool) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>(4 * GROUP_EVENTS);
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..WRITERS {
            let (queue, pool) = (Arc::clone(&queue), pool.clone());
            tokio::spawn(async move {
                while let Some(group) = next_group(&queue).await {
                    write_group(&pool, group).await;
                }
            });
        }
        Self { jobs }
    }

    /// Inserts `events` in the next group's transaction; the positions of the new ones.
    pub(super) async fn insert(
        &self,
        tenant: &TenantId,
        events: &[SignInEvent],
    ) -> Result<Vec<usize>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            tenant: tenant.clone(),
            events: events.to_vec(),
            reply,
        };
        self.jobs.send(job).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

/// The jobs waiting now, up to [`GROUP_EVENTS`] events (at least one job; none once closed).
async fn next_group(queue: &Mutex<mpsc::Receiver<Job>>) -> Option<Vec<Job>> {
    let mut queue = queue.lock().await;
    let first = queue.recv().await?;
    let mut events = first.events.len();
    let mut group = vec![first];
    while events < GROUP_EVENTS {
        match queue.try_recv() {
            Ok(job) => {
                events += job.events.len();
                group.push(job);
            }
            Err(_) => break,
        }
    }
    Some(group)
}

/// Writes a group in one transaction; if that fails, each half again (so one bad delivery
/// costs a few more transactions, and fails alone).
async fn write_group(pool: &Pool, mut group: Vec<Job>) {
    let mut pending = Vec::new();
    loop {
        match write(pool, &group).await {
            Ok(answers) => answer_all(group, Ok(answers)),
            Err(error) if group.len() == 1 => answer_all(group, Err(error)),
            Err(_) => {
                let second = group.split_off(group.len() / 2);
                pending.push(second);
                pending.push(group);
            }
        }
        match pending.pop() {
            Some(next) => group = next,
            None => return,
        }
    }
}

fn answer_all(jobs: Vec<Job>, answer: Result<Vec<Vec<usize>>, StoreError>) {
    match answer {
        Ok(answers) => {
            for (job, fresh) in jobs.into_iter().zip(answers) {
                let _ = job.reply.send(Ok(fresh));
            }
        }
        Err(error) => {
            let text = error.to_string();
            let mut first = Some(error);
            for job in jobs {
                let error = first
                    .take()
                    .unwrap_or_else(|| StoreError::Backend(text.clone()));
                let _ = job.reply.send(Err(error));
            }
        }
    }
}

/// Every job's events in one transaction; each job's new positions, in order.
async fn write(pool: &Pool, jobs: &[Job]) -> Result<Vec<Vec<usize>>, StoreError> {
    let mut client = pool
        .get()
        .await
        .map_err(|e| StoreError::Backend(format!("no PostgreSQL connection: {e}")))?;
    let tx = client
        .transaction()
        .await
        .map_err(pg_error("transaction"))?;
    let mut answers = Vec::with_capacity(jobs.len());
    for job in jobs {
        let rows = SignInRows::of(&job.tenant, &job.events)?;
        answers.push(if rows.is_empty() {
            Vec::new()
        } else {
            insert_rows(&tx, &job.tenant, &rows).await?
        });
    }
    tx.commit().await.map_err(pg_error("commit"))?;
    Ok(answers)
}
