//! Group commit: one thread owns the write connection, takes every queued write, runs them all
//! in one transaction (each in its own savepoint) and answers each caller after the commit.
//!
//! One transaction per message waits for the disk every time and stops near a thousand
//! messages a second; grouped, the cost of a commit is shared by everything that arrived while
//! the previous one was being written. A caller is answered only once its write is durable,
//! so an acknowledged message is never lost.

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    thread,
    time::Duration,
};

use diesel::{connection::SimpleConnection, Connection};
use tokio::sync::{mpsc, oneshot};

use super::{Backend, DbConnection};
use crate::error::{AppError, AppResult};

/// Writes waiting for the writer; when full, callers wait (backpressure), memory stays bounded.
const QUEUE_CAPACITY: usize = 8192;
/// Most writes in one transaction, so one commit never grows without limit.
const MAX_BATCH: usize = 1024;

/// Runs after the batch's commit (or its failure) to answer the caller.
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
/// One caller's write; returns how to answer once the outcome of the commit is known.
type Job = Box<dyn FnOnce(&mut DbConnection) -> Completion + Send>;

#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    pub fn start(conn: DbConnection, backend: Backend) -> Result<Writer, String> {
        let (tx, rx) = mpsc::channel::<Job>(QUEUE_CAPACITY);
        thread::Builder::new()
            .name("db-writer".to_owned())
            .spawn(move || run(conn, backend, rx))
            .map_err(|e| format!("cannot start the database writer: {e}"))?;
        Ok(Writer { tx })
    }

    pub async fn write<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (done_tx, done_rx) = oneshot::channel::<AppResult<T>>();
        let job: Job = Box::new(move |conn| {
            // A savepoint per job: its error rolls back its own writes only.
            let result = catch_unwind(AssertUnwindSafe(|| conn.transaction(|c| f(c))))
                .unwrap_or_else(|_| Err(AppError::internal("a database write panicked")));
            Box::new(move |commit: Result<(), String>| {
                let answer = match commit {
                    Ok(()) => result,
                    Err(e) => Err(AppError::internal(format!("commit failed: {e}"))),
                };
                // The caller may have gone away (client disconnected); the write stands.
                let _ = done_tx.send(answer);
            })
        });
        self.tx
            .send(job)
            .await
            .map_err(|_| AppError::Unavailable("the database writer has stopped".to_owned()))?;
        done_rx
            .await
            .map_err(|_| AppError::Unavailable("the database writer has stopped".to_owned()))?
    }
}

fn run(mut conn: DbConnection, backend: Backend, mut rx: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut completions: Vec<Completion> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = conn
            .transaction::<_, diesel::result::Error, _>(|c| {
                for job in batch.drain(..) {
                    completions.push(job(c));
                }
                Ok(())
            })
            .map_err(|e| e.to_string());
        // Jobs not run because the transaction could not even begin still get an answer.
        let not_run = batch.len();
        batch.clear();
        if let Err(e) = &outcome {
            tracing::error!(error = %e, jobs = completions.len() + not_run, "group commit failed");
        }
        for done in completions.drain(..) {
            done(outcome.clone());
        }
        if outcome.is_err() && conn.batch_execute("SELECT 1").is_err() {
            conn = reconnect(&backend);
        }
    }
    tracing::info!("database writer stopped");
}

/// The connection broke (database restarted): keep trying, writes queue up meanwhile.
fn reconnect(backend: &Backend) -> DbConnection {
    let mut delay = Duration::from_millis(100);
    loop {
        match backend.connect() {
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
