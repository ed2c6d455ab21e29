//! The outbox: outbound messages waiting for (another) delivery attempt, one row per message
//! (primary key `message_id`), polled in due order through `outbox_due` `(next_attempt_at)`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{models::OutboxRow, schema::outbox, DbConnection},
    domain::MessageId,
    error::AppResult,
};

pub fn insert_outbox(conn: &mut DbConnection, rows: &[OutboxRow]) -> AppResult<()> {
    for row in rows {
        diesel::insert_into(outbox::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn outbox_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<OutboxRow>> {
    Ok(outbox::table
        .filter(outbox::next_attempt_at.le(now))
        .order(outbox::next_attempt_at.asc())
        .select(OutboxRow::as_select())
        .limit(limit)
        .load(conn)?)
}

/// Cluster mode (PostgreSQL): the due rows of the conversations of `shards` only, so each row
/// is sent by the node holding its conversation. A conversation's shard is the last byte of
/// its id ([`Shard::of`](crate::cluster::Shard::of)): the id's last two hex digits.
pub fn outbox_due_in_shards(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
    shards: &[u16],
) -> AppResult<Vec<OutboxRow>> {
    if shards.is_empty() {
        return Ok(Vec::new());
    }
    // Our own numbers, below 256: nothing from outside goes into this text.
    let list = shards
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let in_shards = diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
        "('x' || right(conversation_id, 2))::bit(8)::int IN ({list})"
    ));
    Ok(outbox::table
        .filter(outbox::next_attempt_at.le(now))
        .filter(in_shards)
        .order(outbox::next_attempt_at.asc())
        .select(OutboxRow::as_select())
        .limit(limit)
        .load(conn)?)
}

pub fn outbox_retry_later(
    conn: &mut DbConnection,
    message_id: MessageId,
    attempts: i32,
    next: NaiveDateTime,
    error: &str,
) -> AppResult<()> {
    diesel::update(outbox::table.find(message_id))
        .set((
            outbox::attempts.eq(attempts),
            outbox::next_attempt_at.eq(next),
            outbox::last_error.eq(error),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete_outbox(conn: &mut DbConnection, message_id: MessageId) -> AppResult<()> {
    diesel::delete(outbox::table.find(message_id)).execute(conn)?;
    Ok(())
}

/// Per inbox: messages waiting to be sent and when the oldest of them was queued (`/metrics`).
pub fn outbox_backlog(conn: &mut DbConnection) -> AppResult<Vec<(String, i64, NaiveDateTime)>> {
    use diesel::dsl::{count_star, min};
    let rows: Vec<(String, i64, Option<NaiveDateTime>)> = outbox::table
        .group_by(outbox::inbox_id)
        .select((outbox::inbox_id, count_star(), min(outbox::created_at)))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(inbox, n, oldest)| Some((inbox, n, oldest?)))
        .collect())
}
