//! Messages: storing them (once per provider id), a conversation's history page by page, and
//! the updates a delivery brings (provider id, status, stored file).
//!
//! Indexes relied on: `messages_conversation_time` `(conversation_id, sent_at, id)` for pages
//! and every per-conversation lookup; the UNIQUE `messages_inbox_external` `(inbox_id,
//! external_id)` for provider ids (it also makes a redelivered webhook a no-op, see
//! [`insert_new_messages`]); the UNIQUE `messages_conversation_client` for the client's own
//! id; the partial `messages_media_pending` for files still to download.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::reused;
use crate::{
    db::{models::MessageRow, schema::messages, DbConnection},
    domain::{
        delivery::DeliveryStatus,
        types::{Author, Direction},
        AgentId, ConversationId, InboxId, MessageId,
    },
    error::AppResult,
};

/// The text of the customer's latest message (by arrival) in a conversation.
pub fn last_customer_text(
    conn: &mut DbConnection,
    conversation_id: ConversationId,
) -> AppResult<Option<String>> {
    Ok(messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .filter(messages::author.eq(Author::Customer))
        .order((messages::created_at.desc(), messages::id.desc()))
        .select(messages::body)
        .first(conn)
        .optional()?)
}

/// One message as the assistant reads it: its id, who wrote it (and which agent), the text.
pub type HistoryRow = (MessageId, Author, Option<AgentId>, String);

/// The conversation's latest `limit` messages the assistant may read, newest first: what
/// customers, the assistant and agents said (no private notes, no system events), with the
/// agent who wrote each.
pub fn assistant_history(
    conn: &mut DbConnection,
    conversation_id: ConversationId,
    limit: i64,
) -> AppResult<Vec<HistoryRow>> {
    Ok(messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .filter(messages::author.ne(Author::System))
        .filter(messages::private_note.eq(false))
        .order((messages::created_at.desc(), messages::id.desc()))
        .select((
            messages::id,
            messages::author,
            messages::agent_id,
            messages::body,
        ))
        .limit(limit)
        .load(conn)?)
}

pub fn message_by_external_id(
    conn: &mut DbConnection,
    inbox_id: &InboxId,
    external_id: &str,
) -> AppResult<Option<MessageRow>> {
    Ok(messages::table
        .filter(messages::inbox_id.eq(inbox_id))
        .filter(messages::external_id.eq(external_id))
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?)
}

/// The messages with these provider ids (the parts of one provider message).
pub fn messages_by_external_ids(
    conn: &mut DbConnection,
    inbox_id: &InboxId,
    external_ids: &[String],
) -> AppResult<Vec<MessageRow>> {
    let mut rows: Vec<MessageRow> = messages::table
        .filter(messages::inbox_id.eq(inbox_id))
        .filter(messages::external_id.eq_any(external_ids))
        .select(MessageRow::as_select())
        .load(conn)?;
    // In the order asked (the first part first).
    rows.sort_by_key(|m| {
        external_ids
            .iter()
            .position(|id| m.external_id.as_ref() == Some(id))
    });
    Ok(rows)
}

/// One of our outbound messages with this text whose provider id is not recorded yet (its
/// send is in flight): a Meta echo of it is not a message from elsewhere.
pub fn unrecorded_outbound_with_text(
    conn: &mut DbConnection,
    conversation_id: ConversationId,
    text: &str,
) -> AppResult<Option<MessageRow>> {
    Ok(messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .filter(messages::direction.eq(Direction::Outbound))
        .filter(messages::external_id.is_null())
        .filter(messages::body.eq(text))
        .order(messages::created_at.desc())
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?)
}

/// Our outbound messages sent up to `until` whose status is `sent` or `delivered`: what a
/// delivery or read watermark may move forward.
pub fn outbound_before(
    conn: &mut DbConnection,
    conversation_id: ConversationId,
    until: NaiveDateTime,
) -> AppResult<Vec<MessageRow>> {
    Ok(messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .filter(messages::direction.eq(Direction::Outbound))
        .filter(messages::delivery_status.eq_any([DeliveryStatus::Sent, DeliveryStatus::Delivered]))
        .filter(messages::sent_at.le(until))
        .select(MessageRow::as_select())
        .load(conn)?)
}

pub fn delete_message(conn: &mut DbConnection, id: MessageId) -> AppResult<usize> {
    Ok(diesel::delete(messages::table.find(id)).execute(conn)?)
}

/// Records the provider's id of an outbound message (from its answer to the send).
pub fn set_external_id(conn: &mut DbConnection, id: MessageId, external_id: &str) -> AppResult<()> {
    diesel::update(messages::table.find(id))
        .set(messages::external_id.eq(external_id))
        .execute(conn)?;
    Ok(())
}

/// Records where a message's file was stored.
pub fn set_media(
    conn: &mut DbConnection,
    id: MessageId,
    path: &str,
    mime: Option<&str>,
) -> AppResult<()> {
    diesel::update(messages::table.find(id))
        .set((
            messages::media_path.eq(path),
            messages::media_mime.eq(mime),
            // A download that failed before and worked now: the failure is over.
            messages::failure_reason.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records why an inbound file could not be downloaded (shown on the message).
pub fn set_media_failure(conn: &mut DbConnection, id: MessageId, reason: &str) -> AppResult<()> {
    diesel::update(messages::table.find(id))
        .set(messages::failure_reason.eq(reason))
        .execute(conn)?;
    Ok(())
}

/// Inbound files not downloaded yet, of messages received since `since`, oldest first.
pub fn media_downloads_pending(
    conn: &mut DbConnection,
    since: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<MessageRow>> {
    Ok(messages::table
        .filter(messages::media_source.is_not_null())
        .filter(messages::media_path.is_null())
        .filter(messages::created_at.ge(since))
        .order(messages::created_at.asc())
        .select(MessageRow::as_select())
        .limit(limit)
        .load(conn)?)
}

pub fn message_by_client_id(
    conn: &mut DbConnection,
    conversation_id: ConversationId,
    client_id: &str,
) -> AppResult<Option<MessageRow>> {
    Ok(messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .filter(messages::client_id.eq(client_id))
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn message(conn: &mut DbConnection, id: MessageId) -> AppResult<Option<MessageRow>> {
    Ok(messages::table
        .find(id)
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_messages(conn: &mut DbConnection, rows: &[MessageRow]) -> AppResult<()> {
    // One statement per row: diesel's multi-backend connection has no batch insert. Inside
    // the group-commit transaction this costs no extra disk write.
    for row in rows {
        diesel::insert_into(messages::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Stores the parts of one provider message unless the first part's provider id is already
/// stored (a redelivered webhook): `false` then, and nothing was written. The unique index on
/// `(inbox_id, external_id)` decides, so the check costs no statement of its own, and on
/// PostgreSQL a redelivery racing the first delivery (another writer lane) waits for it
/// instead of failing its group.
pub fn insert_new_messages(conn: &mut DbConnection, rows: &[MessageRow]) -> AppResult<bool> {
    for (i, row) in rows.iter().enumerate() {
        let target = (messages::inbox_id, messages::external_id);
        let stored = match conn {
            DbConnection::Pg(c) => diesel::insert_into(messages::table)
                .values(row)
                .on_conflict(target)
                .do_nothing()
                .execute(c)?,
            DbConnection::Sqlite(c) => diesel::insert_into(messages::table)
                .values(row)
                .on_conflict(target)
                .do_nothing()
                .execute(c)?,
        };
        if i == 0 && stored == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

pub fn set_delivery_status(
    conn: &mut DbConnection,
    id: MessageId,
    status: DeliveryStatus,
    reason: Option<&str>,
) -> AppResult<()> {
    let changes = (
        messages::delivery_status.eq(status),
        messages::failure_reason.eq(reason),
    );
    reused::update(messages::table, changes, messages::id.eq(id)).execute(conn)?;
    Ok(())
}

/// One page of a conversation in provider-timestamp order. `before` is a message id: the page
/// holds the `limit` messages just older than it (for scrolling up); without it, the newest.
pub fn message_page(
    conn: &mut DbConnection,
    conversation_id: ConversationId,
    before: Option<&MessageRow>,
    limit: i64,
) -> AppResult<Vec<MessageRow>> {
    let mut q = messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .select(MessageRow::as_select())
        .order((messages::sent_at.desc(), messages::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(
            messages::sent_at
                .lt(b.sent_at)
                .or(messages::sent_at.eq(b.sent_at).and(messages::id.lt(b.id))),
        );
    }
    let mut rows: Vec<MessageRow> = q.load(conn)?;
    rows.reverse();
    Ok(rows)
}
