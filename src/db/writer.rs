//! Group commit: one thread owns the write connection, takes every queued write, runs them all
//! in one transaction and answers each caller after the commit.
//!
//! One transaction per message waits for the disk every time and stops near a thousand
//! messages a second; grouped, the cost of a commit is shared by everything that arrived while
//! the previous one was being written. A caller is answered only once its write is durable,
//! so an acknowledged message is never lost.
//!
//! Two kinds of job share a transaction:
//! - [`Writer::write`] runs its job in a savepoint, so the job's error rolls back its own
//!   writes only. Savepoints are not free: each one makes SQLite's FTS5 flush its pending index
//!   data and copy pages to a sub-journal, and costs PostgreSQL two more round trips.
//! - [`Writer::write_checked`] runs its job without one, in the lane its key picks (see
//!   [`PG_LANES`]). It is for the hot paths whose jobs make
//!   every check before their first write, so that after writing they can fail only on a fault
//!   of the database itself. When such a job does fail, the whole group is rolled back: the
//!   failing caller gets its own error, the callers whose jobs had run in the group are told to
//!   retry (nothing of theirs was committed), and the jobs not yet run go into the next group.

use std::{
    collections::VecDeque,
    hash::{DefaultHasher, Hash, Hasher},
    panic::{catch_unwind, AssertUnwindSafe},
    thread,
    time::Duration,
};

use diesel::{connection::SimpleConnection, Connection};
use tokio::sync::{mpsc, oneshot};

use super::{queries, Backend, DbConnection};
use crate::error::{AppError, AppResult};

/// Writes waiting for the writer; when full, callers wait (backpressure), memory stays bounded.
const QUEUE_CAPACITY: usize = 8192;
/// Most writes in one transaction, so one commit never grows without limit.
const MAX_BATCH: usize = 1024;

/// Runs after the group's commit (or its failure) to answer the caller.
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;

/// What running one job left behind.
struct Ran {
    answer: Completion,
    /// An unguarded job failed: its writes may be half done, so the group must roll back.
    poisoned: bool,
}

/// One caller's write.
type Job = Box<dyn FnOnce(&mut DbConnection) -> Ran + Send>;

/// Writer lanes on PostgreSQL. Each lane is a thread with its own connection and its own
/// group commits; one connection spends most of its time waiting for round trips, so several
/// run side by side. SQLite allows one writer at a time: one lane.
pub const PG_LANES: usize = 4;

#[derive(Clone)]
pub struct Writer {
    lanes: Vec<mpsc::Sender<Job>>,
}

impl Writer {
    /// Starts one lane per connection; the first lane takes every write that has no key.
    pub fn start(conns: Vec<DbConnection>, backend: Backend) -> Result<Writer, String> {
        let mut lanes = Vec::with_capacity(conns.len());
        for (i, conn) in conns.into_iter().enumerate() {
            let (tx, rx) = mpsc::channel::<Job>(QUEUE_CAPACITY);
            let backend = backend.clone();
            thread::Builder::new()
                .name(format!("db-writer-{i}"))
                .spawn(move || run(conn, backend, rx))
                .map_err(|e| format!("cannot start the database writer: {e}"))?;
            lanes.push(tx);
        }
        if lanes.is_empty() {
            return Err("the database writer needs a connection".to_owned());
        }
        Ok(Writer { lanes })
    }

    /// Runs `f` in its own savepoint in the next group of the first lane: its error rolls back
    /// its writes only.
    pub async fn write<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(0, move |conn| conn.transaction(f), false).await
    }

    /// Runs `f` without a savepoint in the next group of the lane `key` picks. `f` must make
    /// all its checks before its first write (see the module documentation). Writes with the
    /// same key share a lane, so they commit in the order they were made; callers give the
    /// key of the rows they write (a conversation's id, a contact's address).
    pub async fn write_checked<T, F>(&self, key: &str, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(lane_of(key, self.lanes.len()), f, true).await
    }

    async fn submit<T, F>(&self, lane: usize, f: F, unguarded: bool) -> AppResult<T>
    where
        F: FnOnce(&mut DbConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (done_tx, done_rx) = oneshot::channel::<AppResult<T>>();
        let job: Job = Box::new(move |conn| {
            let result = catch_unwind(AssertUnwindSafe(|| f(conn)))
                .unwrap_or_else(|_| Err(AppError::internal("a database write panicked")));
            let poisoned = unguarded && result.is_err();
            let answer: Completion = Box::new(move |commit: Result<(), String>| {
                let answer = match (commit, result) {
                    (Ok(()), result) => result,
                    // Its own failure is the news, whatever became of the group.
                    (Err(_), Err(e)) => Err(e),
                    (Err(e), Ok(_)) => Err(AppError::Unavailable(format!(
                        "the write was rolled back ({e}); retry"
                    ))),
                };
                // The caller may have gone away (client disconnected); the write stands.
                let _ = done_tx.send(answer);
            });
            Ran { answer, poisoned }
        });
        let gone = || AppError::Unavailable("the database write did not complete; retry".into());
        let Some(lane) = self.lanes.get(lane) else {
            return Err(gone());
        };
        lane.send(job).await.map_err(|_| gone())?;
        done_rx.await.map_err(|_| gone())?
    }
}

/// The lane of a key: the same key always lands in the same lane (within one process, which
/// is all the ordering needs).
fn lane_of(key: &str, lanes: usize) -> usize {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    (hasher.finish() % lanes.max(1) as u64) as usize
}

fn run(mut conn: DbConnection, backend: Backend, mut rx: mpsc::Receiver<Job>) {
    let mut batch: VecDeque<Job> = VecDeque::with_capacity(MAX_BATCH);
    let mut answers: Vec<Completion> = Vec::with_capacity(MAX_BATCH);
    loop {
        if batch.is_empty() {
            match rx.blocking_recv() {
                Some(job) => batch.push_back(job),
                None => break,
            }
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push_back(job),
                Err(_) => break,
            }
        }
        let mut poisoned = false;
        let outcome = conn
            .transaction::<_, diesel::result::Error, _>(|c| {
                while let Some(job) = batch.pop_front() {
                    let ran = job(c);
                    answers.push(ran.answer);
                    if ran.poisoned {
                        poisoned = true;
                        return Err(diesel::result::Error::RollbackTransaction);
                    }
                }
                queries::index_new_messages(c)
            })
            .map_err(|e| match poisoned {
                true => "another write of its group failed".to_owned(),
                false => e.to_string(),
            });
        if let Err(e) = &outcome {
            tracing::error!(error = %e, jobs = answers.len(), "group commit failed");
            if !poisoned {
                // The transaction could not begin or commit: the jobs left were never run;
                // dropping them tells their callers to retry.
                batch.clear();
            }
        }
        for answer in answers.drain(..) {
            answer(outcome.clone());
        }
        if outcome.is_err() && !poisoned && conn.batch_execute("SELECT 1").is_err() {
            conn = reconnect(&backend);
        }
    }
    tracing::info!("database writer stopped");
}

/// The connection broke (database restarted): keep trying, writes queue up meanwhile.
fn reconnect(backend: &Backend) -> DbConnection {
    let mut delay = Duration::from_millis(100);
    loop {
        match backend.connect_writer() {
            Ok(conn) => {
                tracing::info!("database writer reconnected");
                return conn;
            }
            Err(e) => {
                tracing::error!(error = %e, "database writer cannot reconnect");
                thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::lane_of;

    #[test]
    fn a_key_always_picks_the_same_lane_and_keys_spread() {
        assert_eq!(lane_of("anything", 1), 0);
        let lanes: Vec<usize> = (0..1000)
            .map(|i| lane_of(&format!("conversation-{i}"), 4))
            .collect();
        for (i, lane) in lanes.iter().enumerate() {
            assert_eq!(*lane, lane_of(&format!("conversation-{i}"), 4));
        }
        for lane in 0..4 {
            let n = lanes.iter().filter(|l| **l == lane).count();
            assert!(n > 150, "lane {lane} got {n} of 1000 keys");
        }
    }
}
