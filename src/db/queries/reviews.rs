//! What the reviewer reads: the conversations whose review is due, and one conversation's
//! messages as the review reads them.
//!
//! Indexes relied on: the partial `conversations_review_due` `(review_due_at) WHERE
//! review_due_at IS NOT NULL` for the sweep (only conversations with a review due are in
//! it, so the sweep costs nothing when none is); `messages_conversation_time`
//! `(conversation_id, sent_at, id)` for a conversation's messages.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{models::ConversationRow, schema::conversations, schema::messages, DbConnection},
    domain::{types::Author, ConversationId},
    error::AppResult,
};

/// Conversations whose review is due by `now`, the longest due first.
pub fn reviews_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<ConversationId>> {
    Ok(conversations::table
        .filter(conversations::review_due_at.le(now))
        .order(conversations::review_due_at.asc())
        .select(conversations::id)
        .limit(limit)
        .load(conn)?)
}

/// One message as the reviewer reads it: who, what, when, and the system event's payload.
#[derive(Debug, Clone, Queryable)]
pub struct ReviewedMessage {
    pub author: Author,
    pub body: String,
    pub sent_at: NaiveDateTime,
    pub payload: Option<String>,
}

/// The conversation and its latest `limit` messages (private notes left out), oldest first;
/// `None` when it is gone.
pub fn review_material(
    conn: &mut DbConnection,
    id: ConversationId,
    limit: i64,
) -> AppResult<Option<(ConversationRow, Vec<ReviewedMessage>)>> {
    let Some(row) = conversations::table
        .find(id)
        .select(ConversationRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let mut messages: Vec<ReviewedMessage> = messages::table
        .filter(messages::conversation_id.eq(id))
        .filter(messages::private_note.eq(false))
        .order((messages::sent_at.desc(), messages::id.desc()))
        .select((
            messages::author,
            messages::body,
            messages::sent_at,
            messages::payload,
        ))
        .limit(limit)
        .load(conn)?;
    messages.reverse();
    Ok(Some((row, messages)))
}
