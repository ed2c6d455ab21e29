//! Conversations: one per contact and inbox. Finding or opening the conversation of an inbound
//! message, loading and updating one, and the scans of the whole table that the registry and
//! the presence actor make (counts per assignee, follow-ups coming due, turns the assistant
//! still owes). The conversation list with its filters is in [`super::list`].
//!
//! Indexes relied on: the UNIQUE `(inbox_id, contact_id)` constraint (a contact's
//! conversation on its inbox); `conversations_contact` `(contact_id)` for a contact's
//! conversations whatever the inbox (found by provider id, or every conversation of the same
//! person); `conversations_needs_human` `(status, last_message_author, archived, assignee_id)`
//! for the needs-a-person counts; `conversations_status_activity` `(status, last_message_at)`
//! for the assistant's unanswered turns;
//! `conversations_assignee_activity` for the open conversations per agent; the partial
//! `conversations_follow_up` for due follow-ups.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::contacts::{contact_by_external_id, create_contact, refresh_contact, ContactInput};
use crate::db::reused;
use crate::{
    db::{
        models::{ContactRow, ConversationChanges, ConversationRow},
        schema::{contacts, conversations},
        DbConnection,
    },
    domain::{
        types::{Author, Network, Status},
        AgentId, ContactId, ConversationId, InboxId,
    },
    error::AppResult,
};

/// The conversations an agent restricted by visibility may see: theirs and the unassigned.
/// The SQL twin of [`crate::domain::access::Viewer::may_see_assignee`], for every query that
/// lists or counts conversations on someone's behalf.
pub fn seen_by(
    agent: AgentId,
) -> diesel::dsl::Or<
    diesel::dsl::IsNull<conversations::assignee_id>,
    diesel::dsl::Eq<conversations::assignee_id, AgentId>,
> {
    conversations::assignee_id
        .is_null()
        .or(conversations::assignee_id.eq(agent))
}

pub fn insert_conversation(conn: &mut DbConnection, row: &ConversationRow) -> AppResult<()> {
    diesel::insert_into(conversations::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Finds the conversation of this contact on this inbox, creating contact and conversation on
/// first contact. Runs in the writer, so two first messages of one customer cannot race.
///
/// `network` is stored on a new conversation (Twilio carries SMS and WhatsApp). A new contact
/// whose phone number (E.164) belongs to a blocked contact on any channel starts blocked: it
/// is the same person.
///
/// Runs without a savepoint ([`crate::db::Store::write_checked`]): it only reads before it
/// writes.
pub fn resolve_conversation(
    conn: &mut DbConnection,
    inbox_id: &InboxId,
    input: &ContactInput,
    network: Option<Network>,
    now: NaiveDateTime,
) -> AppResult<(ConversationId, bool)> {
    let contact = match contact_by_external_id(conn, inbox_id, &input.external_id)? {
        Some(known) => refresh_contact(conn, known, input)?,
        None => create_contact(conn, inbox_id, input, now)?,
    };
    let conversation: Option<ConversationId> = conversations::table
        .filter(conversations::inbox_id.eq(inbox_id))
        .filter(conversations::contact_id.eq(contact.id))
        .select(conversations::id)
        .first(conn)
        .optional()?;
    if let Some(id) = conversation {
        return Ok((id, false));
    }
    let id = ConversationId::new();
    let row = ConversationRow::opened(id, inbox_id.clone(), contact.id, network, now);
    diesel::insert_into(conversations::table)
        .values(&row)
        .execute(conn)?;
    Ok((id, true))
}

/// The conversation of a contact on an inbox, if the contact ever wrote.
pub fn conversation_of_contact(
    conn: &mut DbConnection,
    inbox_id: &InboxId,
    contact_external_id: &str,
) -> AppResult<Option<ConversationRow>> {
    Ok(conversations::table
        .inner_join(contacts::table)
        .filter(contacts::inbox_id.eq(inbox_id))
        .filter(contacts::external_id.eq(contact_external_id))
        .select(ConversationRow::as_select())
        .first(conn)
        .optional()?)
}

/// The conversation of the contact with this provider id on this inbox.
pub fn conversation_id_of_contact(
    conn: &mut DbConnection,
    inbox_id: &InboxId,
    external_id: &str,
) -> AppResult<Option<ConversationId>> {
    Ok(conversation_of_contact(conn, inbox_id, external_id)?.map(|row| row.id))
}

pub fn conversation(
    conn: &mut DbConnection,
    id: ConversationId,
) -> AppResult<Option<ConversationRow>> {
    Ok(conversations::table
        .find(id)
        .select(ConversationRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn conversation_with_contact(
    conn: &mut DbConnection,
    id: ConversationId,
) -> AppResult<Option<(ConversationRow, ContactRow)>> {
    Ok(conversations::table
        .inner_join(contacts::table)
        .filter(conversations::id.eq(id))
        .select((ConversationRow::as_select(), ContactRow::as_select()))
        .first(conn)
        .optional()?)
}

/// Writes the columns a change changed (see [`ConversationChanges`]).
pub fn update_conversation(
    conn: &mut DbConnection,
    id: ConversationId,
    changes: &ConversationChanges,
) -> AppResult<()> {
    reused::update(conversations::table, changes, conversations::id.eq(id)).execute(conn)?;
    Ok(())
}

/// Deletes a conversation with its messages, tags and pending deliveries (by cascade).
pub fn delete_conversation(conn: &mut DbConnection, id: ConversationId) -> AppResult<usize> {
    Ok(diesel::delete(conversations::table.find(id)).execute(conn)?)
}

/// The conversations of these contacts.
pub fn conversations_of_contacts(
    conn: &mut DbConnection,
    ids: &[ContactId],
) -> AppResult<Vec<ConversationRow>> {
    Ok(conversations::table
        .filter(conversations::contact_id.eq_any(ids))
        .select(ConversationRow::as_select())
        .load(conn)?)
}

/// Conversations waiting for a person, per assignee (`None`: unassigned).
pub fn needs_human_counts(conn: &mut DbConnection) -> AppResult<Vec<(Option<AgentId>, i64)>> {
    Ok(conversations::table
        .filter(conversations::status.eq(Status::Human))
        .filter(conversations::last_message_author.eq(Author::Customer))
        .filter(conversations::archived.eq(false))
        .filter(conversations::snoozed_until.is_null())
        .group_by(conversations::assignee_id)
        .select((conversations::assignee_id, diesel::dsl::count_star()))
        .load(conn)?)
}

/// Open (not closed, not archived) conversations per assignee, for auto-assignment capacity.
pub fn open_conversations_per_agent(conn: &mut DbConnection) -> AppResult<HashMap<AgentId, i64>> {
    let rows: Vec<(Option<AgentId>, i64)> = conversations::table
        .filter(conversations::assignee_id.is_not_null())
        .filter(conversations::status.ne(Status::Closed))
        .filter(conversations::archived.eq(false))
        .group_by(conversations::assignee_id)
        .select((conversations::assignee_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(a, n)| Some((a?, n)))
        .collect())
}

/// Conversations whose follow-up falls before `until`, soonest first: their actors are woken
/// so the timers live again after a restart or an idle stop.
pub fn follow_ups_due_before(
    conn: &mut DbConnection,
    until: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<ConversationId>> {
    Ok(conversations::table
        .filter(conversations::follow_up_at.le(until))
        .order(conversations::follow_up_at.asc())
        .select(conversations::id)
        .limit(limit)
        .load(conn)?)
}

/// Conversations whose snooze ends before `until`, soonest first: woken like
/// [`follow_ups_due_before`], so a snooze ends on time after a restart or an idle stop.
pub fn snoozes_due_before(
    conn: &mut DbConnection,
    until: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<ConversationId>> {
    Ok(conversations::table
        .filter(conversations::snoozed_until.le(until))
        .order(conversations::snoozed_until.asc())
        .select(conversations::id)
        .limit(limit)
        .load(conn)?)
}

/// Conversations the assistant holds whose latest message (since `since`) is the customer's:
/// unanswered, if the server stopped while the assistant thought.
pub fn awaiting_assistant(
    conn: &mut DbConnection,
    since: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<ConversationId>> {
    Ok(conversations::table
        .filter(conversations::status.eq(Status::Bot))
        .filter(conversations::last_message_author.eq(Author::Customer))
        .filter(conversations::last_message_at.ge(since))
        .select(conversations::id)
        .limit(limit)
        .load(conn)?)
}
