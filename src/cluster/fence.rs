//! Fencing in the database: what makes "one writer per conversation" hold even when a lease
//! holder pauses past its lease (a long GC-like stall, SIGSTOP, a partition) and then writes.
//!
//! The lease in NATS KV grants a shard; it cannot stop a holder that does not know it lost
//! it. So each activation of a shard takes a new, larger epoch in `shard_owners`, and every
//! write of one of its conversations first checks, in the same transaction, that the row
//! still carries the epoch its node activated. The check reads the row `FOR SHARE`: writers
//! of one shard do not block each other, an activation (an `UPDATE` of the row) waits for the
//! writes in flight to commit, and a write that starts after an activation sees the new epoch
//! (under READ COMMITTED a locking read re-checks the newest row version). So of a stale
//! write and a takeover, exactly one wins, and a stale owner can never write after it.

use diesel::prelude::*;

use super::shard::{NodeId, Shard};
use crate::{clock, error::AppError};

diesel::table! {
    shard_owners (shard) {
        shard -> SmallInt,
        epoch -> BigInt,
        node -> Text,
        since -> Timestamp,
    }
}

/// The fencing token of one activation of a shard: larger than every earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Epoch(pub i64);

/// A write refused because its node no longer owns the conversation's shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("shard {shard} moved to another node (epoch {current:?}, this node's {mine:?})")]
pub struct Fenced {
    pub shard: Shard,
    pub mine: Epoch,
    /// The epoch the row carries now (none: never activated, which cannot happen after an
    /// activation, but a wiped table must fence too).
    pub current: Option<Epoch>,
}

impl From<Fenced> for AppError {
    /// Temporary for the client: the new owner will take the request when it is sent again.
    fn from(f: Fenced) -> AppError {
        AppError::Moved {
            shard: f.shard,
            why: f.to_string(),
        }
    }
}

/// Takes `shard` for `node`: a new epoch, larger than any before. Call only while holding the
/// shard's lease, before any write of its conversations. Waits for the writes in flight under
/// the previous epoch to commit (they hold the row `FOR SHARE`).
pub fn activate(c: &mut PgConnection, shard: Shard, node: &NodeId) -> QueryResult<Epoch> {
    use shard_owners::dsl as so;
    let now = clock::now();
    diesel::insert_into(so::shard_owners)
        .values((
            so::shard.eq(shard.number() as i16),
            so::epoch.eq(1_i64),
            so::node.eq(node.as_str()),
            so::since.eq(now),
        ))
        .on_conflict(so::shard)
        .do_update()
        .set((
            so::epoch.eq(so::epoch + 1_i64),
            so::node.eq(node.as_str()),
            so::since.eq(now),
        ))
        .returning(so::epoch)
        .get_result(c)
        .map(Epoch)
}

/// The fence of one write: `Ok` when `shard` still carries `mine`, in which case the row stays
/// share-locked until the transaction ends, so no activation can slip in before the commit.
/// Call first in every transaction that writes a conversation of `shard`.
pub fn check(c: &mut PgConnection, shard: Shard, mine: Epoch) -> Result<(), FenceError> {
    use shard_owners::dsl as so;
    let current: Option<i64> = so::shard_owners
        .filter(so::shard.eq(shard.number() as i16))
        .select(so::epoch)
        .for_share()
        .first(c)
        .optional()?;
    match current {
        Some(e) if e == mine.0 => Ok(()),
        current => Err(FenceError::Fenced(Fenced {
            shard,
            mine,
            current: current.map(Epoch),
        })),
    }
}

/// A fence check that could not run (the database) or that refused the write.
#[derive(Debug, thiserror::Error)]
pub enum FenceError {
    #[error(transparent)]
    Fenced(#[from] Fenced),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl From<FenceError> for AppError {
    fn from(e: FenceError) -> AppError {
        match e {
            FenceError::Fenced(f) => f.into(),
            FenceError::Database(e) => AppError::Database(e),
        }
    }
}

/// One row of `shard_owners`, for `GET /api/cluster`.
#[derive(Debug, Clone, Queryable, serde::Serialize)]
pub struct Activation {
    pub shard: i16,
    pub epoch: i64,
    pub node: String,
    pub since: chrono::NaiveDateTime,
}

/// Every activated shard, in shard order.
pub fn activations(c: &mut PgConnection) -> QueryResult<Vec<Activation>> {
    use shard_owners::dsl as so;
    so::shard_owners.order(so::shard).load(c)
}

/// What a conversation's writes are fenced with in cluster mode: its shard, the epoch this
/// node held it with when the conversation's actor started, and the epochs held now.
#[derive(Clone)]
pub struct WriteFence {
    pub shard: Shard,
    pub epoch: Epoch,
    pub held: std::sync::Arc<super::node::Epochs>,
}

/// The fence of one write of a conversation, first in its transaction: this node must still
/// hold the shard under the same epoch (else its actor's state may be stale), and on
/// PostgreSQL the row must still carry it ([`check`]). Without a fence (one node), nothing.
pub fn guard(c: &mut crate::db::DbConnection, fence: Option<&WriteFence>) -> Result<(), AppError> {
    let Some(f) = fence else {
        return Ok(());
    };
    if f.held.of(f.shard) != Some(f.epoch) {
        return Err(AppError::Moved {
            shard: f.shard,
            why: format!("shard {} is no longer held here", f.shard),
        });
    }
    match c {
        crate::db::DbConnection::Pg(c) => Ok(check(c, f.shard, f.epoch)?),
        crate::db::DbConnection::Sqlite(_) => Err(AppError::internal(
            "a fenced write on SQLite: cluster mode runs on PostgreSQL only",
        )),
    }
}
