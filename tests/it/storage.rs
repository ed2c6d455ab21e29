//! The group-commit writer: a failing job without a savepoint takes its whole group back, its
//! caller gets its own error, the other callers of the group are told to retry, and nothing
//! of the group is half-written; jobs not run yet go into the next group.

use std::time::Duration;

use diesel::prelude::*;
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
        id: ContactId::new().to_string(),
        inbox_id: "support".to_owned(),
        external_id: external_id.to_owned(),
        name: None,
        phone: None,
        email: None,
        blocked: false,
        created_at: clock::now(),
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

async fn a_failed_unguarded_job_rolls_back_its_group_only(b: Backend) {
    let db = TestDb::new(b);
    let store = Store::open(&db.url, 2).expect("open");

    // Holds the (first) writer so that the next jobs queue up and share one group.
    let blocker = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write(|c| {
                    std::thread::sleep(Duration::from_millis(300));
                    insert(c, "blocker")
                })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let guarded = {
        let store = store.clone();
        tokio::spawn(async move { store.write(|c| insert(c, "guarded")).await })
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
    if b == Backend::Sqlite {
        // One writer: the guarded job ran in the failing job's group, so it was rolled back.
        assert!(
            matches!(guarded, Err(AppError::Unavailable(_))),
            "rolled back with its group and told to retry: {guarded:?}"
        );
    }
    let (guarded_ok, rows) = (
        guarded.is_ok(),
        store
            .read(|c| {
                Ok((
                    stored(c, "blocker")?,
                    stored(c, "guarded")?,
                    stored(c, "half-written")?,
                    stored(c, "later")?,
                ))
            })
            .await
            .expect("read"),
    );
    assert_eq!(
        rows,
        (true, guarded_ok, false, true),
        "what was answered Ok is stored, nothing else"
    );

    // The writer goes on after a poisoned group.
    store
        .write_checked("k", |c| insert(c, "after"))
        .await
        .expect("still writing");
}

both_backends!(a_failed_unguarded_job_rolls_back_its_group_only);
