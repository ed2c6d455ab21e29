//! Storage: one diesel build over SQLite (embedded default) and PostgreSQL, picked by URL scheme.
//!
//! Reads use an r2d2 pool on tokio's blocking threads; writes go through the [`writer`]'s
//! threads (one for SQLite, a few lanes for PostgreSQL), which group many callers' writes into
//! one transaction (group commit), so neither actors nor HTTP workers ever wait on the disk on
//! their own thread.

pub mod backup;
pub mod contact_cache;
pub mod models;
pub mod queries;
pub mod reused;
pub mod schema;
pub mod seed;
pub mod sql;
pub mod writer;

use std::{path::PathBuf, sync::Arc, time::Duration};

use diesel::{
    connection::SimpleConnection,
    pg::PgConnection,
    r2d2::{self, ManageConnection},
    sqlite::SqliteConnection,
    Connection,
};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::{
    error::{AppError, AppResult},
    metrics::WriterMetrics,
};

/// How long a request waits for the database by default (`[server] db_deadline_ms`).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(2);

/// How long PostgreSQL lets a writer's transaction sit idle before it ends it (releasing its
/// locks): in cluster mode, a node frozen in the middle of a transaction must not keep the
/// node that takes its conversations over waiting.
pub const IDLE_IN_TRANSACTION: Duration = Duration::from_secs(5);

/// A connection to either backend; queries written once run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    // Last, as diesel advises: SQLite would accept any string as a file name.
    Sqlite(SqliteConnection),
}

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Which database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres(url.to_owned()))
        } else if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() || path == ":memory:" {
                Err("needs a file path (sqlite://data/switchboard.db); in-memory databases lose data".to_owned())
            } else {
                Ok(Backend::Sqlite(PathBuf::from(path)))
            }
        } else {
            Err("must start with sqlite:// or postgres://".to_owned())
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Opens one connection, set up for how Switchboard uses it.
    pub fn connect(&self) -> Result<DbConnection, String> {
        match self {
            Backend::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Pg)
                .map_err(|e| format!("cannot connect to PostgreSQL: {e}")),
            Backend::Sqlite(path) => {
                let path = path.to_string_lossy();
                let mut conn = SqliteConnection::establish(&path)
                    .map_err(|e| format!("cannot open SQLite database {path}: {e}"))?;
                // WAL lets readers run beside the writer; NORMAL sync is durable in WAL mode
                // against process crashes (only an OS crash can lose the last commits).
                // temp_store = MEMORY keeps the savepoint sub-journals of the group commit (one
                // savepoint per caller) off the disk: profiling showed them as file writes.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA temp_store = MEMORY;",
                )
                .map_err(|e| format!("cannot set up SQLite database {path}: {e}"))?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    /// Opens the group-commit writer's connection.
    ///
    /// On PostgreSQL its statements are planned for their actual parameters every time: the
    /// writer's tables grow from empty, and a generic plan made while a table was empty (a
    /// prepared statement's plan is kept after five runs) can pick an index that reads the
    /// whole inbox for a one-row lookup until autovacuum's ANALYZE comes round. Measured on
    /// a fresh database under load: 170 million index tuples read for 23,000 lookups.
    pub fn connect_writer(&self) -> Result<DbConnection, String> {
        let mut conn = self.connect()?;
        match &mut conn {
            // A transaction left open by a process that stopped mid-way (paused, frozen,
            // partitioned) would hold its locks for as long as its connection lives; the
            // server ends it after IDLE_IN_TRANSACTION instead. The writer's transactions
            // never wait on anything but the database between their statements.
            DbConnection::Pg(c) => c
                .batch_execute(&format!(
                    "SET plan_cache_mode = force_custom_plan; \
                     SET idle_in_transaction_session_timeout = '{}ms'",
                    IDLE_IN_TRANSACTION.as_millis()
                ))
                .map_err(|e| format!("cannot set up the PostgreSQL writer connection: {e}"))?,
            // The WAL is copied into the database file by the checkpointer's thread, not in
            // the writer's commits (see `start_checkpointer`); the writer finishes a
            // checkpoint only when the log has grown past `WRITER_CHECKPOINT_PAGES`.
            DbConnection::Sqlite(c) => c
                .batch_execute(&format!(
                    "PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES}; \
                     PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}"
                ))
                .map_err(|e| format!("cannot set up the SQLite writer connection: {e}"))?,
        }
        Ok(conn)
    }
}

/// r2d2 manager that picks the backend from the URL instead of trying each in turn.
#[derive(Debug, Clone)]
pub struct Manager {
    backend: Backend,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        self.backend
            .connect()
            .map_err(|e| r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(e)))
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

pub type Pool = r2d2::Pool<Manager>;

/// Runs the pending migrations of the connection's backend.
pub fn run_migrations(conn: &mut DbConnection) -> Result<(), String> {
    let result = match conn {
        DbConnection::Pg(c) => c.run_pending_migrations(PG_MIGRATIONS).map(|_| ()),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
    };
    result.map_err(|e| format!("migrations failed: {e}"))
}

/// Reverts every migration (used by the up → down → up test).
pub fn revert_all_migrations(conn: &mut DbConnection) -> Result<(), String> {
    let result = match conn {
        DbConnection::Pg(c) => c.revert_all_migrations(PG_MIGRATIONS).map(|_| ()),
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|_| ()),
    };
    result.map_err(|e| format!("reverting migrations failed: {e}"))
}

/// Reads through the pool, writes through the group-commit writer.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    writer: writer::Writer,
    backend: Arc<Backend>,
    /// How long a read waits for a pooled connection while the database answers.
    deadline: Duration,
    /// Set when a read could not get a connection within the deadline because the pool could
    /// not open one (not merely because all were busy), cleared by the next read that does:
    /// meanwhile reads wait only [`OUTAGE_WAIT`], so during an outage every request is
    /// answered 503 at once instead of each waiting out the deadline again.
    reads_failing: Arc<std::sync::atomic::AtomicBool>,
    /// SQLite: the checkpointer's thread runs while any copy of the store holds this.
    _checkpointer: Option<Arc<std::sync::mpsc::Sender<()>>>,
}

/// How often the SQLite checkpointer copies the WAL into the database file. Often, so that when
/// the writer completes a checkpoint (`WRITER_CHECKPOINT_PAGES`) little is left to copy: at
/// 100 ms that copy made a few group commits take 8–64 ms, which set the p99 of every write
/// queued behind them (POST → frame p99 at 1,000/s: 14.9 ms at 100 ms, 8.3–8.6 ms at 20 ms).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(20);

/// Pages in the WAL past which the writer completes a checkpoint itself, after a commit.
///
/// The checkpointer's thread alone cannot bound the log under sustained writes: its PASSIVE
/// checkpoint copies the frames that were there when it began, the writer has appended more by
/// the time it ends, so it never completes, and SQLite rewinds the log only after a complete
/// one (a 1M-conversation bulk load left a 10 GB WAL). Past this many pages the writer's own
/// checkpoint completes it; the thread has already copied all but the frames of the last
/// [`CHECKPOINT_EVERY`], so that costs the writer little.
const WRITER_CHECKPOINT_PAGES: u32 = 8192;

/// Bytes the WAL file is cut back to after a checkpoint, so a burst does not keep its size.
const WAL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// SQLite: copies the write-ahead log into the database file from a thread and connection of
/// its own, every [`CHECKPOINT_EVERY`], instead of in the writer's commits (SQLite's
/// automatic checkpoint runs in the commit that crosses 1,000 pages, with an fsync: a fifth
/// of the writer thread's time under load, on the path every acknowledgement waits for). A
/// PASSIVE checkpoint never blocks the writer or the readers. The thread stops when the last
/// copy of the store is dropped.
fn start_checkpointer(
    backend: &Backend,
) -> Result<Option<Arc<std::sync::mpsc::Sender<()>>>, String> {
    let Backend::Sqlite(_) = backend else {
        return Ok(None);
    };
    let mut conn = backend.connect()?;
    let (alive, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("db-checkpoint".to_owned())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(CHECKPOINT_EVERY)
            {
                if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::warn!(error = %e, "WAL checkpoint failed; trying again");
                }
            }
        })
        .map_err(|e| format!("cannot start the checkpointer: {e}"))?;
    Ok(Some(Arc::new(alive)))
}

/// How long a read waits for a connection once the database is known to be down: enough to
/// open a new connection to a database that is back.
const OUTAGE_WAIT: Duration = Duration::from_millis(150);

impl Store {
    /// Opens the database with the default deadline and metrics no one reads (tools, tests).
    pub fn open(url: &str, pool_size: u32) -> Result<Store, String> {
        Store::open_with(url, pool_size, DEFAULT_DEADLINE, WriterMetrics::default())
    }

    /// Opens the database, migrates it and starts the writer thread. Blocking: call at start.
    /// No read waits longer than `deadline` for a connection and no write longer than it to
    /// be taken into a group: past it they fail with 503 and `Retry-After`.
    pub fn open_with(
        url: &str,
        pool_size: u32,
        deadline: Duration,
        metrics: WriterMetrics,
    ) -> Result<Store, String> {
        let backend = Backend::from_url(url)?;
        if let Backend::Sqlite(path) = &backend {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
        }
        let mut conn = backend.connect_writer()?;
        run_migrations(&mut conn)?;
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .connection_timeout(deadline)
            .build(Manager {
                backend: backend.clone(),
            })
            .map_err(|e| format!("cannot open the connection pool: {e}"))?;
        let mut conns = vec![conn];
        if let Backend::Postgres(_) = backend {
            for _ in 1..writer::PG_LANES {
                conns.push(backend.connect_writer()?);
            }
        }
        let writer = writer::Writer::start(conns, backend.clone(), deadline, metrics)?;
        let checkpointer = start_checkpointer(&backend)?;
        Ok(Store {
            pool,
            writer,
            _checkpointer: checkpointer,
            backend: Arc::new(backend),
            deadline,
            reads_failing: Arc::default(),
        })
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Whether the writer's connections work (false during a database outage).
    pub fn is_up(&self) -> bool {
        self.writer.is_up()
    }

    /// Writes waiting for the group-commit writer.
    pub fn queue_depth(&self) -> usize {
        self.writer.queue_depth()
    }

    /// Test hook: see [`writer::Writer::inject_faults`].
    #[doc(hidden)]
    pub fn inject_write_faults(&self, n: u32) {
        self.writer.inject_faults(n);
    }

    /// Runs `f` on a pooled connection on a blocking thread.
    pub async fn read<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        use std::sync::atomic::Ordering;
        let pool = self.pool.clone();
        let failing = self.reads_failing.clone();
        let wait = match failing.load(Ordering::Relaxed) || !self.writer.is_up() {
            true => OUTAGE_WAIT.min(self.deadline),
            false => self.deadline,
        };
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get_timeout(wait).map_err(|e| {
                // An outage only when the pool could not open its connections: a pool whose
                // connections are all busy (a burst of slow reads) is not one, and later reads
                // keep the whole deadline.
                if pool.state().connections < pool.max_size() {
                    failing.store(true, Ordering::Relaxed);
                }
                AppError::Unavailable(format!("no database connection: {e}"))
            })?;
            // Cleared only when set: an unconditional store on every read would bounce the
            // flag's cache line between the cores on the hottest path.
            if failing.load(Ordering::Relaxed) {
                failing.store(false, Ordering::Relaxed);
            }
            f(&mut conn)
        })
        .await
        .map_err(|e| AppError::internal(format!("database task failed: {e}")))?
    }

    /// Runs `f` in the next group commit; resolves once that transaction has committed.
    /// `f` runs inside its own savepoint, so its failure rolls back only its own writes.
    /// `f` may run twice (when another job of its group failed): only the run that commits
    /// is answered, so it must not consume what it captured.
    pub async fn write<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnMut(&mut DbConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.writer.write(f).await
    }

    /// Like [`Store::write`], without the savepoint, for hot paths: `f` should make all its
    /// checks before its first write, because if it fails after writing, its whole group is
    /// rolled back and run again without it (see [`writer`]): correct, but slower.
    ///
    /// `key` names what is written (a conversation's id, a contact's address): writes with the
    /// same key commit in order; on PostgreSQL, different keys spread over several writer
    /// connections.
    pub async fn write_checked<T, F>(&self, key: &str, f: F) -> AppResult<T>
    where
        F: FnMut(&mut DbConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.writer.write_checked(key, f).await
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeSet, path::Path};

    fn migrations_of(backend: &str) -> BTreeSet<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// The rule of `migrations/README.md`: every migration exists for both backends under the
    /// same name, so a schema change cannot reach one backend only.
    #[test]
    fn both_backends_have_the_same_migrations() {
        let sqlite = migrations_of("sqlite");
        let postgres = migrations_of("postgres");
        assert!(!sqlite.is_empty());
        assert_eq!(
            sqlite.symmetric_difference(&postgres).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "migrations present for one backend only"
        );
    }
}
