//! The outbox of events (cluster mode): a commit's realtime events are written in the
//! commit's own transaction and deleted once the event stream acknowledged them. A node that
//! dies between the two leaves them in `event_outbox`, and the node that takes the shard
//! publishes them before it serves the shard, so an event of an acknowledged write is never
//! lost, and never delivered twice: the stream keeps one copy per event id within its
//! duplicate window ([`REPUBLISH_WITHIN`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{events::Envelope, Shard};
use crate::{db::DbConnection, error::AppResult};

diesel::table! {
    event_outbox (id) {
        id -> Text,
        shard -> SmallInt,
        envelope -> Text,
        created_at -> Timestamp,
    }
}

/// Rows older than this are not published again but dropped: the stream no longer knows
/// their ids (its duplicate window is two minutes), so a copy that did reach it would be
/// delivered twice. Such a row means the stream was unreachable for that long before its
/// node died; the clients of that time were told to reload meanwhile.
pub const REPUBLISH_WITHIN: chrono::Duration = chrono::Duration::seconds(100);

/// One event waiting for the stream's acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, Queryable)]
#[diesel(table_name = event_outbox)]
pub struct PendingEvent {
    pub id: String,
    pub shard: i16,
    /// The [`Envelope`] as JSON, exactly as it is published.
    pub envelope: String,
    pub created_at: NaiveDateTime,
}

impl PendingEvent {
    pub fn new(shard: Shard, envelope: &Envelope, now: NaiveDateTime) -> Option<PendingEvent> {
        Some(PendingEvent {
            id: envelope.id.simple().to_string(),
            shard: shard.number() as i16,
            envelope: serde_json::to_string(envelope).ok()?,
            created_at: now,
        })
    }
}

/// Writes a commit's events, in its transaction.
pub fn insert(c: &mut DbConnection, rows: &[PendingEvent]) -> AppResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let insert = diesel::insert_into(event_outbox::table).values(rows);
    match c {
        DbConnection::Pg(c) => insert.execute(c)?,
        DbConnection::Sqlite(c) => insert.execute(c)?,
    };
    Ok(())
}

/// Forgets events the stream acknowledged.
pub fn delete(c: &mut DbConnection, ids: &[String]) -> AppResult<()> {
    let delete = diesel::delete(event_outbox::table.filter(event_outbox::id.eq_any(ids)));
    match c {
        DbConnection::Pg(c) => delete.execute(c)?,
        DbConnection::Sqlite(c) => delete.execute(c)?,
    };
    Ok(())
}

/// The events a shard's previous holder committed and did not see acknowledged.
#[derive(Debug, Default)]
pub struct Leftovers {
    /// To publish again, oldest first, with their row ids.
    pub again: Vec<(String, Envelope)>,
    /// Rows too old for that (or unreadable): only deleted.
    pub dropped: Vec<String>,
}

/// What a shard's previous holder left in the outbox.
pub fn left_in(c: &mut PgConnection, shard: Shard, now: NaiveDateTime) -> QueryResult<Leftovers> {
    use event_outbox::dsl as eo;
    let rows: Vec<PendingEvent> = eo::event_outbox
        .filter(eo::shard.eq(shard.number() as i16))
        .order((eo::created_at.asc(), eo::id.asc()))
        .load(c)?;
    let mut left = Leftovers::default();
    for row in rows {
        match serde_json::from_str::<Envelope>(&row.envelope) {
            Ok(envelope) if now - row.created_at <= REPUBLISH_WITHIN => {
                left.again.push((row.id, envelope))
            }
            Ok(_) => left.dropped.push(row.id),
            Err(e) => {
                tracing::error!(error = %e, id = %row.id, "an unreadable event in the outbox; dropped");
                left.dropped.push(row.id);
            }
        }
    }
    Ok(left)
}

/// Forgets events on the activation's own connection.
pub fn delete_on(c: &mut PgConnection, ids: &[String]) -> QueryResult<usize> {
    diesel::delete(event_outbox::table.filter(event_outbox::id.eq_any(ids))).execute(c)
}
