//! The group-commit writer: one caller's failure never fails the others. A job that fails
//! without a savepoint after writing rolls its group back, its caller gets its own error, and
//! the rest of the group runs again and commits; nothing of the failing job is half-written.

use std::time::Duration;

use diesel::{connection::SimpleConnection, prelude::*};
use switchboard::{
    clock,
    db::{models::ContactRow, queries, schema::contacts, DbConnection, Store},
    domain::ContactId,
    error::{AppError, AppResult},
};

use crate::{
    both_backends,
    helpers::{Backend, TestDb},
};

fn contact(external_id: &str) -> ContactRow {
    ContactRow {
        id: ContactId::new(),
        inbox_id: "support".into(),
        external_id: external_id.to_owned(),
        name: None,
        phone: None,
        email: None,
        blocked: false,
        created_at: clock::now(),
        unsubscribed_at: None,
        unsubscribed_reason: None,
        profile: Default::default(),
    }
}

fn insert(c: &mut DbConnection, external_id: &str) -> AppResult<()> {
    queries::insert_contact(c, &contact(external_id))
}

fn stored(c: &mut DbConnection, external_id: &str) -> AppResult<bool> {
    let n: i64 = contacts::table
        .filter(contacts::external_id.eq(external_id))
        .count()
        .get_result(c)?;
    Ok(n > 0)
}

async fn a_failed_unguarded_job_fails_alone(b: Backend) {
    let db = TestDb::new(b);
    let store = Store::open(&db.url, 2).expect("open");

    // Holds the writer of lane "k" (the only one on SQLite) so that the next jobs queue up
    // and share one group.
    let blocker = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write_checked("k", |c| {
                    std::thread::sleep(Duration::from_millis(300));
                    insert(c, "blocker")
                })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    // An innocent job of the same lane, run in the group before the failing one.
    let guarded = {
        let store = store.clone();
        tokio::spawn(async move { store.write_checked("k", |c| insert(c, "guarded")).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let failing = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write_checked("k", |c| {
                    insert(c, "half-written")?;
                    Err::<(), _>(AppError::Validation("refused after writing".to_owned()))
                })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let later = {
        let store = store.clone();
        tokio::spawn(async move { store.write_checked("k", |c| insert(c, "later")).await })
    };

    blocker.await.expect("join").expect("the blocker commits");
    let guarded = guarded.await.expect("join");
    let failing = failing.await.expect("join");
    let later = later.await.expect("join");

    assert!(
        matches!(failing, Err(AppError::Validation(_))),
        "the failing caller gets its own error: {failing:?}"
    );
    assert!(
        later.is_ok(),
        "a job queued behind the failure commits: {later:?}"
    );
    assert!(
        guarded.is_ok(),
        "a job that shared the failing job's group commits all the same: {guarded:?}"
    );
    let rows = store
        .read(|c| {
            Ok((
                stored(c, "blocker")?,
                stored(c, "guarded")?,
                stored(c, "half-written")?,
                stored(c, "later")?,
            ))
        })
        .await
        .expect("read");
    assert_eq!(
        rows,
        (true, true, false, true),
        "every good write is stored, nothing of the failing one"
    );

    // The writer goes on after a poisoned group.
    store
        .write_checked("k", |c| insert(c, "after"))
        .await
        .expect("still writing");
}

both_backends!(a_failed_unguarded_job_fails_alone);

/// Sustained writes keep SQLite's write-ahead log bounded: the checkpointer's thread cannot
/// finish a checkpoint while the writer keeps appending, so past a size the writer completes
/// one, and the log starts again from the beginning. (Without that, a bulk load left a WAL
/// of 10 GB beside a database of 6.)
#[actix_rt::test]
async fn sustained_writes_keep_the_sqlite_wal_bounded() {
    let db = TestDb::new(Backend::Sqlite);
    let store = Store::open(&db.url, 2).expect("open");
    let exec = |sql: &'static str| {
        store.write(move |c| {
            c.batch_execute(sql)?;
            Ok(())
        })
    };
    exec("CREATE TABLE scratch (id INTEGER PRIMARY KEY, blob BLOB NOT NULL)")
        .await
        .expect("create");
    // 240 MiB in 960 writes of 256 KiB, one after the other, as fast as the writer goes.
    for _ in 0..960 {
        exec("INSERT INTO scratch (blob) VALUES (randomblob(262144))")
            .await
            .expect("insert");
    }
    let wal = db.dir.join("test.db-wal");
    let size = std::fs::metadata(&wal).map_or(0, |m| m.len());
    // The writer's checkpoint at 8,192 pages (32 MiB), and the file cut back to 64 MiB.
    assert!(
        size <= 100 * 1024 * 1024,
        "the WAL grew to {} MiB",
        size / 1024 / 1024
    );
}
