//! Parked delivery statuses: a provider's status for a message it knows by an id we have not
//! recorded yet (the send's answer is still on its way, or another tool sent it). Taken when
//! the id arrives through `pending_statuses_message` `(inbox_id, provider_message_id)`;
//! expired through `pending_statuses_age` `(created_at)`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{models::PendingStatusRow, schema::pending_statuses, DbConnection},
    domain::InboxId,
    error::AppResult,
};

/// Keeps a provider status whose message is not known by that id yet.
pub fn park_status(conn: &mut DbConnection, row: &PendingStatusRow) -> AppResult<()> {
    diesel::insert_into(pending_statuses::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Removes and returns the parked statuses of a provider message, oldest first.
pub fn take_pending_statuses(
    conn: &mut DbConnection,
    inbox_id: &InboxId,
    provider_message_id: &str,
) -> AppResult<Vec<PendingStatusRow>> {
    let filter = pending_statuses::table
        .filter(pending_statuses::inbox_id.eq(inbox_id))
        .filter(pending_statuses::provider_message_id.eq(provider_message_id));
    let rows: Vec<PendingStatusRow> = filter
        .order(pending_statuses::created_at.asc())
        .select(PendingStatusRow::as_select())
        .load(conn)?;
    if !rows.is_empty() {
        diesel::delete(filter).execute(conn)?;
    }
    Ok(rows)
}

/// Forgets parked statuses older than `before` (of messages sent by other tools).
pub fn expire_pending_statuses(conn: &mut DbConnection, before: NaiveDateTime) -> AppResult<usize> {
    Ok(
        diesel::delete(pending_statuses::table.filter(pending_statuses::created_at.lt(before)))
            .execute(conn)?,
    )
}
