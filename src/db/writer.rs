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
        atomic::{AtomicU32, AtomicU8, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

use diesel::{connection::SimpleConnection, Connection};
use tokio::sync::{mpsc, oneshot};

use super::{queries, Backend, DbConnection};
use crate::{
    error::{AppError, AppResult},
    metrics::WriterMetrics,
};

/// Writes waiting for the writer; when full, callers wait (backpressure), memory stays bounded.
const QUEUE_CAPACITY: usize = 8192;
/// Most writes in one transaction, so one commit never grows without limit.
const MAX_BATCH: usize = 1024;

/// Under sustained writes, SQLite's full-text index is brought up to date at least this often
/// (and in every group when nothing else waits): FTS5 writes an index segment each time, so
/// indexing in every group cost a third of the writer's time when saturated. Search may miss
/// messages stored this long ago at most, and only while the writer is saturated.
pub const INDEX_EVERY: Duration = Duration::from_millis(250);

/// Where a job is: waiting in the queue, taken into a group, or given up by its caller.
const QUEUED: u8 = 0;
const TAKEN: u8 = 1;
const GIVEN_UP: u8 = 2;

/// One caller's write, as the writer thread sees it.
trait Job: Send {
    /// Takes the job into a group, unless its caller gave up waiting (then it must never
    /// run: the caller was told it was not stored).
    fn take(&self) -> bool;
    /// When the caller queued it.
    fn queued_at(&self) -> Instant;
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
    /// [`QUEUED`], [`TAKEN`] or [`GIVEN_UP`], shared with the waiting caller.
    stage: Arc<AtomicU8>,
    /// Runs without a savepoint (unless re-run after a poisoned group).
    unguarded: bool,
    queued_at: Instant,
    result: Option<AppResult<T>>,
    done: oneshot::Sender<AppResult<T>>,
}

impl<T, F> Job for Call<T, F>
where
    F: FnMut(&mut DbConnection) -> AppResult<T> + Send,
    T: Send,
{
    fn take(&self) -> bool {
        self.stage
            .compare_exchange(QUEUED, TAKEN, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    fn queued_at(&self) -> Instant {
        self.queued_at
    }

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
        let answer = match (commit, self.result) {
            // The group could not even begin (the connection broke): nothing ran.
            (Err(e), None) => Err(AppError::Unavailable(format!(
                "the database did not take the write ({e}); retry"
            ))),
            (Ok(()), None) => Err(AppError::internal("the write was never run")),
            (Ok(()), Some(result)) => result,
            // Its own failure is the news, whatever became of the group.
            (Err(_), Some(Err(e))) => Err(e),
            (Err(e), Some(Ok(_))) => Err(AppError::Unavailable(format!(
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
    shared: Arc<Shared>,
}

/// What the lanes and the callers share.
struct Shared {
    /// Test hook: this many of the next unguarded jobs fail as a broken database would.
    faults: AtomicU32,
    /// Lanes whose connection is broken and reconnecting: while any is, writes are refused
    /// at once (503) instead of queueing behind a database that is not there.
    lanes_down: AtomicU32,
    /// How long a caller waits for its write to be taken into a group.
    deadline: Duration,
    metrics: WriterMetrics,
}

impl Writer {
    /// Starts one lane per connection; the first lane takes every write that has no key.
    pub fn start(
        conns: Vec<DbConnection>,
        backend: Backend,
        deadline: Duration,
        metrics: WriterMetrics,
    ) -> Result<Writer, String> {
        let shared = Arc::new(Shared {
            faults: AtomicU32::new(0),
            lanes_down: AtomicU32::new(0),
            deadline,
            metrics,
        });
        let mut lanes = Vec::with_capacity(conns.len());
        for (i, conn) in conns.into_iter().enumerate() {
            let (tx, rx) = mpsc::channel::<Box<dyn Job>>(QUEUE_CAPACITY);
            let backend = backend.clone();
            let shared = shared.clone();
            thread::Builder::new()
                .name(format!("db-writer-{i}"))
                .spawn(move || run(conn, backend, rx, &shared))
                .map_err(|e| format!("cannot start the database writer: {e}"))?;
            lanes.push(tx);
        }
        if lanes.is_empty() {
            return Err("the database writer needs a connection".to_owned());
        }
        Ok(Writer { lanes, shared })
    }

    /// Whether every lane's connection works (false during a database outage).
    pub fn is_up(&self) -> bool {
        self.shared.lanes_down.load(Ordering::SeqCst) == 0
    }

    /// Writes waiting in the lanes' queues.
    pub fn queue_depth(&self) -> usize {
        self.lanes
            .iter()
            .map(|l| l.max_capacity() - l.capacity())
            .sum()
    }

    /// Test hook: makes the next `n` jobs without a savepoint (the conversation commits and
    /// first contacts) fail as if the database had gone away, so tests can prove that no
    /// effect of a failed commit is lost. Never called by the server itself.
    #[doc(hidden)]
    pub fn inject_faults(&self, n: u32) {
        self.shared.faults.store(n, Ordering::SeqCst);
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

    /// Queues `f` and waits for its answer. A caller never waits longer than the deadline
    /// for its write to be taken into a group: past it (the database is unreachable, the disk
    /// is full and the queue grows) the write is withdrawn, never runs, and the caller gets
    /// 503, so nothing is acknowledged that was not stored and nothing stored later behind an
    /// answer that said it was not. A write already taken into a group is waited for: its
    /// group's outcome comes soon, and only it says whether the write stands.
    async fn submit<T, F>(&self, lane: usize, mut f: F, unguarded: bool) -> AppResult<T>
    where
        F: FnMut(&mut DbConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let refused = |why: &str| {
            self.shared.metrics.refused_writes.inc();
            AppError::Unavailable(format!("{why}; retry"))
        };
        if !self.is_up() {
            return Err(refused("the database is unreachable"));
        }
        let (done, mut done_rx) = oneshot::channel::<AppResult<T>>();
        let shared = self.shared.clone();
        let f = move |c: &mut DbConnection| {
            let take = |n: u32| n.checked_sub(1);
            if unguarded
                && shared
                    .faults
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, take)
                    .is_ok()
            {
                return Err(AppError::Database(
                    diesel::result::Error::BrokenTransactionManager,
                ));
            }
            f(c)
        };
        let stage = Arc::new(AtomicU8::new(QUEUED));
        let job: Box<dyn Job> = Box::new(Call {
            f,
            stage: stage.clone(),
            unguarded,
            queued_at: Instant::now(),
            result: None,
            done,
        });
        let gone = || AppError::Unavailable("the database write did not complete; retry".into());
        let Some(lane) = self.lanes.get(lane) else {
            return Err(gone());
        };
        let deadline = tokio::time::sleep(self.shared.deadline);
        tokio::pin!(deadline);
        tokio::select! {
            sent = lane.send(job) => sent.map_err(|_| gone())?,
            // The queue stayed full: the job was never queued.
            _ = &mut deadline => return Err(refused("the database is not keeping up")),
        }
        tokio::select! {
            answer = &mut done_rx => return answer.map_err(|_| gone())?,
            _ = &mut deadline => {}
        }
        let given_up = stage
            .compare_exchange(QUEUED, GIVEN_UP, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if given_up {
            return Err(refused("the database did not answer in time"));
        }
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

fn run(
    mut conn: DbConnection,
    backend: Backend,
    mut rx: mpsc::Receiver<Box<dyn Job>>,
    shared: &Shared,
) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    let metrics = &shared.metrics;
    // SQLite's full-text index: messages committed but not indexed yet, and when it was last
    // brought up to date (see `INDEX_EVERY`). PostgreSQL indexes as it writes.
    let indexes = matches!(backend, Backend::Sqlite(_));
    let mut index_pending = false;
    let mut last_indexed = Instant::now();
    loop {
        while batch.is_empty() {
            // Nothing waits: bring the index up to date before sleeping. (A failure leaves it
            // pending for the next group; it is not retried in a loop against a database
            // that is down.)
            if index_pending && rx.is_empty() {
                index_pending = conn.transaction(queries::index_new_messages).is_err();
                last_indexed = Instant::now();
            }
            match rx.blocking_recv() {
                // A job its caller gave up on is dropped unrun.
                Some(job) if job.take() => batch.push(job),
                Some(_) => {}
                None => {
                    tracing::info!("database writer stopped");
                    return;
                }
            }
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) if job.take() => batch.push(job),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let size = batch.len();
        let started = Instant::now();
        for job in &batch {
            let waited = started.saturating_duration_since(job.queued_at());
            metrics.queue_wait_seconds.observe(waited.as_secs_f64());
        }
        // Index in this group when nothing else waits for the writer, or when the index is
        // `INDEX_EVERY` behind; otherwise a later group (or the idle writer) does.
        let index = indexes && (rx.is_empty() || last_indexed.elapsed() >= INDEX_EVERY);
        let outcome = commit_group(&mut conn, &mut batch, index);
        if outcome.is_ok() && indexes {
            if index {
                last_indexed = Instant::now();
            }
            index_pending = !index;
        }
        metrics
            .commit_seconds
            .observe(started.elapsed().as_secs_f64());
        metrics.group_size.observe(size as f64);
        if let Err(e) = &outcome {
            metrics.failed_groups.inc();
            tracing::error!(error = %e, jobs = batch.len(), "group commit failed");
        }
        for job in batch.drain(..) {
            job.answer(outcome.clone());
        }
        if outcome.is_err() && conn.batch_execute("SELECT 1").is_err() {
            shared.lanes_down.fetch_add(1, Ordering::SeqCst);
            conn = reconnect(&backend);
            shared.lanes_down.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Runs `batch` in one transaction and commits it. A job that fails without a savepoint is
/// taken out and answered with its own error, and the rest run again, each in a savepoint:
/// what is left in `batch` is what the outcome applies to.
fn commit_group(
    conn: &mut DbConnection,
    batch: &mut Vec<Box<dyn Job>>,
    index: bool,
) -> Result<(), String> {
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
            if index {
                queries::index_new_messages(c)?;
            }
            Ok(())
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

/// The connection broke (database restarted): keep trying. Meanwhile new writes are refused
/// at once and those already queued are given up by their callers at their deadline.
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
                // At most a second between tries: recovery is noticed within a second of the
                // database coming back.
                delay = (delay * 2).min(Duration::from_secs(1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    fn sqlite_writer(deadline: Duration) -> (Writer, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let backend = Backend::Sqlite(dir.path().join("w.db"));
        let mut conn = backend.connect_writer().expect("connect");
        super::super::run_migrations(&mut conn).expect("migrations");
        let writer =
            Writer::start(vec![conn], backend, deadline, WriterMetrics::default()).expect("writer");
        (writer, dir)
    }

    /// A write that cannot be taken into a group within the deadline (the writer is stuck on
    /// a slow group) is refused with 503 and never runs later: nothing happens behind an
    /// answer that said it did not.
    #[tokio::test]
    async fn a_write_past_its_deadline_is_refused_and_never_runs() {
        let (writer, _dir) = sqlite_writer(Duration::from_millis(200));
        let slow = writer.clone();
        let blocker = tokio::spawn(async move {
            slow.write(|_| {
                std::thread::sleep(Duration::from_millis(700));
                Ok(())
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let started = std::time::Instant::now();
        let refused = writer
            .write(move |_| {
                flag.store(true, Ordering::SeqCst);
                Ok(())
            })
            .await;
        assert!(
            matches!(refused, Err(AppError::Unavailable(_))),
            "{refused:?}"
        );
        assert!(started.elapsed() < Duration::from_millis(600));
        let blocked = blocker.await.expect("join");
        assert!(blocked.is_ok(), "{blocked:?}");
        // The next group runs after the slow one: the refused write is not in it.
        writer.write(|_| Ok(())).await.expect("a later write");
        assert!(!ran.load(Ordering::SeqCst), "a refused write ran");
        assert_eq!(writer.queue_depth(), 0);
        assert!(writer.is_up());
    }

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
