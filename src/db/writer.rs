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
//!   writes only. Savepoints are not free: each one copies pages to a sub-journal on SQLite
//!   and costs PostgreSQL two more round trips.
//! - [`Writer::write_checked`] runs its job without one, in the lane its key picks (see
//!   [`PG_LANES`]). It is for the hot paths whose jobs make every check before their first
//!   write, so that after writing they can fail only on a fault of the database itself.
//!
//! One caller's failure never fails the others. When a job without a savepoint fails, its
//! writes may be half done, so the group is rolled back; the failing caller is answered with
//! its own error, and the group runs again without it, this time each job in a savepoint of
//! its own, so no other failure can take the rest down with it. That is why jobs are `FnMut`:
//! a job may run twice, and only the run that commits is answered.

use std::{
    hash::{DefaultHasher, Hash, Hasher},
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{
        atomic::{AtomicU32, Ordering},
        Arc,
    },
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

/// One caller's write, as the writer thread sees it.
trait Job: Send {
    /// Runs the caller's statements; `savepoint` forces a savepoint even for an unguarded job
    /// (the re-run of a poisoned group). Returns `false` when the job failed without a
    /// savepoint (or panicked), leaving writes that only rolling back the whole group undoes.
    fn run(&mut self, conn: &mut DbConnection, savepoint: bool) -> bool;
    /// Answers the caller once the group's fate is known: its own result if the group
    /// committed, else the reason it did not.
    fn answer(self: Box<Self>, commit: Result<(), String>);
    /// Answers with the job's own error: it poisoned its group and is not run again.
    fn fail(self: Box<Self>);
}

struct Call<T, F> {
    f: F,
    /// Runs without a savepoint (unless re-run after a poisoned group).
    unguarded: bool,
    result: Option<AppResult<T>>,
    done: oneshot::Sender<AppResult<T>>,
}

impl<T, F> Job for Call<T, F>
where
    F: FnMut(&mut DbConnection) -> AppResult<T> + Send,
    T: Send,
{
    fn run(&mut self, conn: &mut DbConnection, savepoint: bool) -> bool {
        let guarded = savepoint || !self.unguarded;
        let f = &mut self.f;
        let (result, panicked) = match catch_unwind(AssertUnwindSafe(|| match guarded {
            true => conn.transaction(|c| f(c)),
            false => f(conn),
        })) {
            Ok(result) => (result, false),
            // Whatever it left half done, only rolling back the group undoes.
            Err(_) => (Err(AppError::internal("a database write panicked")), true),
        };
        let poisoned = panicked || (!guarded && result.is_err());
        self.result = Some(result);
        !poisoned
    }

    fn answer(self: Box<Self>, commit: Result<(), String>) {
        let result = self
            .result
            .unwrap_or_else(|| Err(AppError::internal("the write was never run")));
        let answer = match (commit, result) {
            (Ok(()), result) => result,
            // Its own failure is the news, whatever became of the group.
            (Err(_), Err(e)) => Err(e),
            (Err(e), Ok(_)) => Err(AppError::Unavailable(format!(
                "the write was rolled back ({e}); retry"
            ))),
        };
        // The caller may have gone away (client disconnected); the write stands.
        let _ = self.done.send(answer);
    }

    fn fail(self: Box<Self>) {
        self.answer(Err("its own statements failed".to_owned()));
    }
}

/// Writer lanes on PostgreSQL. Each lane is a thread with its own connection and its own
/// group commits; one connection spends most of its time waiting for round trips, so several
/// run side by side. SQLite allows one writer at a time: one lane.
pub const PG_LANES: usize = 4;

#[derive(Clone)]
pub struct Writer {
    lanes: Vec<mpsc::Sender<Box<dyn Job>>>,
    /// Test hook: this many of the next unguarded jobs fail as a broken database would.
    faults: Arc<AtomicU32>,
}

impl Writer {
    /// Starts one lane per connection; the first lane takes every write that has no key.
    pub fn start(conns: Vec<DbConnection>, backend: Backend) -> Result<Writer, String> {
        let mut lanes = Vec::with_capacity(conns.len());
        for (i, conn) in conns.into_iter().enumerate() {
            let (tx, rx) = mpsc::channel::<Box<dyn Job>>(QUEUE_CAPACITY);
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
        Ok(Writer {
            lanes,
            faults: Arc::default(),
        })
    }

    /// Test hook: makes the next `n` jobs without a savepoint (the conversation commits and
    /// first contacts) fail as if the database had gone away, so tests can prove that no
    /// effect of a failed commit is lost. Never called by the server itself.
    #[doc(hidden)]
    pub fn inject_faults(&self, n: u32) {
        self.faults.store(n, Ordering::SeqCst);
    }

    /// Runs `f` in its own savepoint in the next group of the first lane: its error rolls back
    /// its writes only.
    pub async fn write<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnMut(&mut DbConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(0, f, false).await
    }

    /// Runs `f` without a savepoint in the next group of the lane `key` picks. `f` must make
    /// all its checks before its first write (see the module documentation). Writes with the
    /// same key share a lane, so they commit in the order they were made; callers give the
    /// key of the rows they write (a conversation's id, a contact's address).
    pub async fn write_checked<T, F>(&self, key: &str, f: F) -> AppResult<T>
    where
        F: FnMut(&mut DbConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(lane_of(key, self.lanes.len()), f, true).await
    }

    async fn submit<T, F>(&self, lane: usize, mut f: F, unguarded: bool) -> AppResult<T>
    where
        F: FnMut(&mut DbConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (done, done_rx) = oneshot::channel::<AppResult<T>>();
        let faults = self.faults.clone();
        let f = move |c: &mut DbConnection| {
            let take = |n: u32| n.checked_sub(1);
            if unguarded
                && faults
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, take)
                    .is_ok()
            {
                return Err(AppError::Database(
                    diesel::result::Error::BrokenTransactionManager,
                ));
            }
            f(c)
        };
        let job: Box<dyn Job> = Box::new(Call {
            f,
            unguarded,
            result: None,
            done,
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

fn run(mut conn: DbConnection, backend: Backend, mut rx: mpsc::Receiver<Box<dyn Job>>) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    loop {
        if batch.is_empty() {
            match rx.blocking_recv() {
                Some(job) => batch.push(job),
                None => break,
            }
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = commit_group(&mut conn, &mut batch);
        if let Err(e) = &outcome {
            tracing::error!(error = %e, jobs = batch.len(), "group commit failed");
        }
        for job in batch.drain(..) {
            job.answer(outcome.clone());
        }
        if outcome.is_err() && conn.batch_execute("SELECT 1").is_err() {
            conn = reconnect(&backend);
        }
    }
    tracing::info!("database writer stopped");
}

/// Runs `batch` in one transaction and commits it. A job that fails without a savepoint is
/// taken out and answered with its own error, and the rest run again, each in a savepoint:
/// what is left in `batch` is what the outcome applies to.
fn commit_group(conn: &mut DbConnection, batch: &mut Vec<Box<dyn Job>>) -> Result<(), String> {
    let mut savepoints = false;
    loop {
        let mut poisoned = None;
        let outcome = conn.transaction::<_, diesel::result::Error, _>(|c| {
            for (i, job) in batch.iter_mut().enumerate() {
                if !job.run(c, savepoints) {
                    poisoned = Some(i);
                    return Err(diesel::result::Error::RollbackTransaction);
                }
            }
            queries::index_new_messages(c)
        });
        match poisoned {
            None => return outcome.map_err(|e| e.to_string()),
            Some(i) => {
                let failed = batch.remove(i);
                failed.fail();
                tracing::warn!(
                    jobs = batch.len(),
                    "a write failed after writing; its group runs again without it"
                );
                savepoints = true;
            }
        }
    }
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
