//! Plain query functions. They take a connection and never decide business rules; writes are
//! called from inside `Store::write` jobs, reads from `Store::read`.

use chrono::NaiveDateTime;
use diesel::{connection::SimpleConnection, prelude::*};

use std::collections::HashMap;

use super::{
    models::{
        AgentRow, AuditRow, AuthTokenRow, ContactRow, ConversationChanges, ConversationRow,
        MessageRow, OutboxRow, PendingStatusRow,
    },
    schema::{
        agents, audit_log, auth_tokens, contacts, conversation_tags, conversations, messages,
        outbox, pending_statuses,
    },
    DbConnection,
};
use crate::{
    domain::{
        access::Viewer,
        conversation::DerivedState,
        delivery::DeliveryStatus,
        types::{Author, Availability, Direction, Network, Status},
        AgentId, ContactId, ConversationId, InboxId, MessageId,
    },
    error::AppResult,
};

// ---- agents and tokens -------------------------------------------------------------------

pub fn count_agents(conn: &mut DbConnection) -> AppResult<i64> {
    Ok(agents::table.count().get_result(conn)?)
}

pub fn insert_agent(conn: &mut DbConnection, row: &AgentRow) -> AppResult<()> {
    diesel::insert_into(agents::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn agent_by_email(conn: &mut DbConnection, email: &str) -> AppResult<Option<AgentRow>> {
    Ok(agents::table
        .filter(agents::email.eq(email))
        .select(AgentRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn agent_by_id(conn: &mut DbConnection, id: AgentId) -> AppResult<Option<AgentRow>> {
    Ok(agents::table
        .find(id)
        .select(AgentRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_token(conn: &mut DbConnection, row: &AuthTokenRow) -> AppResult<()> {
    diesel::insert_into(auth_tokens::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The agent a token belongs to, if the token exists and has not expired.
pub fn agent_by_token(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> AppResult<Option<AgentRow>> {
    Ok(auth_tokens::table
        .inner_join(agents::table)
        .filter(auth_tokens::token_hash.eq(token_hash))
        .filter(auth_tokens::expires_at.gt(now))
        .select(AgentRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_contact(conn: &mut DbConnection, row: &ContactRow) -> AppResult<()> {
    diesel::insert_into(contacts::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn insert_conversation(conn: &mut DbConnection, row: &ConversationRow) -> AppResult<()> {
    diesel::insert_into(conversations::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn delete_token(conn: &mut DbConnection, token_hash: &str) -> AppResult<usize> {
    Ok(diesel::delete(auth_tokens::table.find(token_hash)).execute(conn)?)
}

// ---- contacts and conversations ------------------------------------------------------------

/// What a channel knows about the customer who wrote.
#[derive(Debug, Clone)]
pub struct ContactInput {
    pub external_id: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// Gives a name to the contacts of the same phone number (the same person on other channels)
/// that have none.
fn name_same_person(conn: &mut DbConnection, phone: &str, name: &str) -> AppResult<()> {
    diesel::update(
        contacts::table
            .filter(contacts::phone.eq(phone))
            .filter(contacts::name.is_null()),
    )
    .set(contacts::name.eq(name))
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
    let existing: Option<ContactRow> = contacts::table
        .filter(contacts::inbox_id.eq(inbox_id))
        .filter(contacts::external_id.eq(&input.external_id))
        .select(ContactRow::as_select())
        .first(conn)
        .optional()?;
    let contact = match existing {
        Some(mut c) => {
            // Keep what we knew; take what the channel now tells us.
            let changed = (input.name.is_some() && input.name != c.name)
                || (input.phone.is_some() && input.phone != c.phone)
                || (input.email.is_some() && input.email != c.email);
            if changed {
                c.name = input.name.clone().or(c.name);
                c.phone = input.phone.clone().or(c.phone);
                c.email = input.email.clone().or(c.email);
                diesel::update(contacts::table.find(c.id))
                    .set((
                        contacts::name.eq(&c.name),
                        contacts::phone.eq(&c.phone),
                        contacts::email.eq(&c.email),
                    ))
                    .execute(conn)?;
                if let (Some(phone), Some(name)) = (&c.phone, &c.name) {
                    name_same_person(conn, phone, name)?;
                }
            }
            c
        }
        None => {
            let blocked = match &input.phone {
                Some(phone) => {
                    contacts::table
                        .filter(contacts::phone.eq(phone))
                        .filter(contacts::blocked.eq(true))
                        .count()
                        .get_result::<i64>(conn)?
                        > 0
                }
                None => false,
            };
            // An SMS number says nothing about its owner; the same number's WhatsApp profile
            // (or any other channel's) may: the same person gets the name they are known by.
            let name = match (&input.name, &input.phone) {
                (Some(name), _) => Some(name.clone()),
                (None, Some(phone)) => contacts::table
                    .filter(contacts::phone.eq(phone))
                    .filter(contacts::name.is_not_null())
                    .order(contacts::created_at.asc())
                    .select(contacts::name)
                    .first::<Option<String>>(conn)
                    .optional()?
                    .flatten(),
                (None, None) => None,
            };
            if let (Some(phone), Some(name)) = (&input.phone, &input.name) {
                name_same_person(conn, phone, name)?;
            }
            let c = ContactRow {
                id: ContactId::new(),
                inbox_id: inbox_id.clone(),
                external_id: input.external_id.clone(),
                name,
                phone: input.phone.clone(),
                email: input.email.clone(),
                blocked,
                created_at: now,
            };
            diesel::insert_into(contacts::table)
                .values(&c)
                .execute(conn)?;
            c
        }
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
    diesel::update(conversations::table.find(id))
        .set(changes)
        .execute(conn)?;
    Ok(())
}

/// What the conversation list is narrowed to. Every filter combines with the others.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub status: Option<Status>,
    pub unread: bool,
    /// Not closed.
    pub unresolved: bool,
    /// Closed.
    pub resolved: bool,
    /// Waiting for a person: human status and the customer spoke last.
    pub needs_reply: bool,
    /// Assigned to this agent.
    pub assignee: Option<AgentId>,
    pub unassigned: bool,
    /// `true`: only archived ones; `false` (default): only those not archived.
    pub archived: bool,
    /// Seed 002's Created / Pending / Replied / Resolved.
    pub state: Option<DerivedState>,
    pub inboxes: Option<Vec<InboxId>>,
    pub tag: Option<String>,
    /// Last activity within `[from, to]`.
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    /// Search over contact name, phone number and message text.
    pub query: Option<String>,
}

/// Words of a search, stripped of anything a full-text query language would read as syntax.
/// `s` for a `LIKE … ESCAPE '\'` pattern: its own `%`, `_` and `\` match themselves.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn search_terms(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(8)
        .map(str::to_lowercase)
        .collect()
}

/// Conversation ids whose messages contain every word (as a prefix), via the backend's own
/// full-text index: FTS5 on SQLite, a GIN-indexed tsvector on PostgreSQL.
fn text_match_sql(conn: &DbConnection, terms: &[String]) -> String {
    match conn {
        DbConnection::Sqlite(_) => {
            let fts: Vec<String> = terms.iter().map(|t| format!("\"{t}\"*")).collect();
            format!(
                "conversations.id IN (SELECT m.conversation_id FROM messages_fts f JOIN messages m ON m.rid = f.rowid \
                 WHERE messages_fts MATCH '{}' AND m.private_note = 0)",
                fts.join(" ").replace('\'', "''")
            )
        }
        DbConnection::Pg(_) => {
            let ts: Vec<String> = terms.iter().map(|t| format!("{t}:*")).collect();
            format!(
                "conversations.id IN (SELECT m.conversation_id FROM messages m \
                 WHERE m.body_tsv @@ to_tsquery('simple', '{}') AND m.private_note = FALSE)",
                ts.join(" & ").replace('\'', "''")
            )
        }
    }
}

/// Conversations matching `filter` that `viewer` may see, latest activity first, after an
/// optional keyset cursor `(last_message_at, id)`.
pub fn list_conversations(
    conn: &mut DbConnection,
    filter: &ConversationFilter,
    viewer: Viewer,
    before: Option<(NaiveDateTime, ConversationId)>,
    limit: i64,
) -> AppResult<Vec<(ConversationRow, ContactRow)>> {
    use diesel::dsl::sql;
    use diesel::sql_types::Bool;

    let mut q = conversations::table
        .inner_join(contacts::table)
        .filter(conversations::last_message_at.is_not_null())
        .filter(conversations::archived.eq(filter.archived))
        .select((ConversationRow::as_select(), ContactRow::as_select()))
        .order((
            conversations::last_message_at.desc(),
            conversations::id.desc(),
        ))
        .limit(limit)
        .into_boxed();
    if !viewer.sees_all {
        q = q.filter(
            conversations::assignee_id
                .is_null()
                .or(conversations::assignee_id.eq(viewer.agent)),
        );
    }
    if let Some(s) = filter.status {
        q = q.filter(conversations::status.eq(s));
    }
    if filter.unread {
        q = q.filter(conversations::unread_count.gt(0));
    }
    if filter.unresolved {
        q = q.filter(conversations::status.ne(Status::Closed));
    }
    if filter.resolved {
        q = q.filter(conversations::status.eq(Status::Closed));
    }
    if filter.needs_reply {
        q = q
            .filter(conversations::status.eq(Status::Human))
            .filter(conversations::last_message_author.eq(Author::Customer));
    }
    match filter.state {
        None => {}
        Some(DerivedState::Resolved) => q = q.filter(conversations::status.eq(Status::Closed)),
        Some(DerivedState::Created) => {
            q = q
                .filter(conversations::status.ne(Status::Closed))
                .filter(conversations::first_reply_at.is_null())
        }
        Some(DerivedState::Pending) => {
            q = q
                .filter(conversations::status.ne(Status::Closed))
                .filter(conversations::first_reply_at.is_not_null())
                .filter(conversations::last_message_author.eq(Author::Customer))
        }
        Some(DerivedState::Replied) => {
            q = q
                .filter(conversations::status.ne(Status::Closed))
                .filter(conversations::first_reply_at.is_not_null())
                .filter(conversations::last_message_author.ne(Author::Customer))
        }
    }
    if let Some(a) = filter.assignee {
        q = q.filter(conversations::assignee_id.eq(a));
    }
    if filter.unassigned {
        q = q.filter(conversations::assignee_id.is_null());
    }
    if let Some(inboxes) = &filter.inboxes {
        q = q.filter(conversations::inbox_id.eq_any(inboxes.clone()));
    }
    if let Some(tag) = &filter.tag {
        q = q.filter(
            conversations::id.eq_any(
                conversation_tags::table
                    .filter(conversation_tags::tag.eq(tag.clone()))
                    .select(conversation_tags::conversation_id),
            ),
        );
    }
    if let Some(from) = filter.from {
        q = q.filter(conversations::last_message_at.ge(from));
    }
    if let Some(to) = filter.to {
        q = q.filter(conversations::last_message_at.le(to));
    }
    if let Some(query) = filter
        .query
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
    {
        let terms = search_terms(query);
        // The name is matched literally: `ann_12` finds `ann_12`, and `%` or `_` are not
        // wildcards. A query of symbols only (no letter or digit) matches nothing.
        let like = format!("%{}%", escape_like(query));
        let digits: String = query.chars().filter(char::is_ascii_digit).collect();
        // Case-insensitive name match: LIKE is case-insensitive for ASCII on SQLite; PostgreSQL
        // needs lower() on both sides.
        let mut by_contact = Box::new(
            diesel::dsl::sql::<Bool>("lower(contacts.name) LIKE lower(")
                .bind::<diesel::sql_types::Text, _>(like)
                .sql(") ESCAPE '\\'"),
        )
            as Box<dyn diesel::expression::BoxableExpression<_, _, SqlType = Bool>>;
        if digits.len() >= 3 {
            by_contact = Box::new(
                by_contact.or(contacts::phone
                    .assume_not_null()
                    .like(format!("%{digits}%"))),
            );
        }
        q = if !query.chars().any(char::is_alphanumeric) {
            q.filter(sql::<Bool>("1 = 0"))
        } else if terms.is_empty() {
            q.filter(by_contact)
        } else {
            q.filter(by_contact.or(sql::<Bool>(&text_match_sql(conn, &terms))))
        };
    }
    if let Some((at, id)) = before {
        q = q.filter(
            conversations::last_message_at
                .lt(at)
                .or(conversations::last_message_at
                    .eq(at)
                    .and(conversations::id.lt(id))),
        );
    }
    Ok(q.load(conn)?)
}

/// Tags of several conversations at once (for a page of the list).
pub fn tags_of(
    conn: &mut DbConnection,
    ids: &[ConversationId],
) -> AppResult<HashMap<ConversationId, Vec<String>>> {
    let rows: Vec<(ConversationId, String)> = conversation_tags::table
        .filter(conversation_tags::conversation_id.eq_any(ids))
        .order((conversation_tags::conversation_id, conversation_tags::tag))
        .select((conversation_tags::conversation_id, conversation_tags::tag))
        .load(conn)?;
    let mut map: HashMap<ConversationId, Vec<String>> = HashMap::new();
    for (id, tag) in rows {
        map.entry(id).or_default().push(tag);
    }
    Ok(map)
}

pub fn set_tags(
    conn: &mut DbConnection,
    conversation_id: ConversationId,
    tags: &[String],
) -> AppResult<()> {
    diesel::delete(
        conversation_tags::table.filter(conversation_tags::conversation_id.eq(conversation_id)),
    )
    .execute(conn)?;
    for tag in tags {
        diesel::insert_into(conversation_tags::table)
            .values((
                conversation_tags::conversation_id.eq(conversation_id),
                conversation_tags::tag.eq(tag),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn insert_audit(conn: &mut DbConnection, row: &AuditRow) -> AppResult<()> {
    diesel::insert_into(audit_log::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The audit log, newest first.
pub fn audit_entries(conn: &mut DbConnection, limit: i64) -> AppResult<Vec<AuditRow>> {
    Ok(audit_log::table
        .order((audit_log::at.desc(), audit_log::id.desc()))
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)?)
}

/// Deletes a conversation with its messages, tags and pending deliveries (by cascade).
pub fn delete_conversation(conn: &mut DbConnection, id: ConversationId) -> AppResult<usize> {
    Ok(diesel::delete(conversations::table.find(id)).execute(conn)?)
}

/// Conversations waiting for a person, per assignee (`None`: unassigned).
pub fn needs_human_counts(conn: &mut DbConnection) -> AppResult<Vec<(Option<AgentId>, i64)>> {
    Ok(conversations::table
        .filter(conversations::status.eq(Status::Human))
        .filter(conversations::last_message_author.eq(Author::Customer))
        .filter(conversations::archived.eq(false))
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

pub fn list_agents(conn: &mut DbConnection) -> AppResult<Vec<AgentRow>> {
    Ok(agents::table
        .order(agents::name)
        .select(AgentRow::as_select())
        .load(conn)?)
}

pub fn set_availability(
    conn: &mut DbConnection,
    id: AgentId,
    availability: Availability,
) -> AppResult<()> {
    diesel::update(agents::table.find(id))
        .set(agents::availability.eq(availability))
        .execute(conn)?;
    Ok(())
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

// ---- messages --------------------------------------------------------------------------

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

/// Adds the messages stored since the last call to SQLite's full-text index, in one
/// statement; the writer calls it at the end of every group transaction. (Indexing from a
/// trigger made FTS5 flush a tiny index segment per message.) PostgreSQL indexes a generated
/// column as it goes: nothing to do there.
pub fn index_new_messages(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    if let DbConnection::Sqlite(c) = conn {
        c.batch_execute(
            "INSERT INTO messages_fts(rowid, body) SELECT rid, body FROM messages \
                 WHERE rid > (SELECT indexed_rid FROM search_index_state); \
             UPDATE search_index_state SET indexed_rid = \
                 MAX(indexed_rid, COALESCE((SELECT MAX(rid) FROM messages), 0));",
        )?;
    }
    Ok(())
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
    diesel::update(messages::table.find(id))
        .set((
            messages::delivery_status.eq(status),
            messages::failure_reason.eq(reason),
        ))
        .execute(conn)?;
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

// ---- outbox ----------------------------------------------------------------------------

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

/// The contacts that are the same person as `contact`: itself, and every contact on any
/// inbox with the same phone number (stored in E.164, so SMS, WhatsApp and the API channel
/// match).
pub fn same_person(conn: &mut DbConnection, contact: &ContactRow) -> AppResult<Vec<ContactRow>> {
    let Some(phone) = &contact.phone else {
        return Ok(vec![contact.clone()]);
    };
    let mut rows: Vec<ContactRow> = contacts::table
        .filter(contacts::phone.eq(phone).or(contacts::id.eq(contact.id)))
        .order(contacts::created_at.asc())
        .select(ContactRow::as_select())
        .load(conn)?;
    // The asked-for contact first.
    rows.sort_by_key(|c| c.id != contact.id);
    Ok(rows)
}

pub fn set_blocked(conn: &mut DbConnection, ids: &[ContactId], blocked: bool) -> AppResult<usize> {
    Ok(
        diesel::update(contacts::table.filter(contacts::id.eq_any(ids)))
            .set(contacts::blocked.eq(blocked))
            .execute(conn)?,
    )
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

pub fn contact(conn: &mut DbConnection, id: ContactId) -> AppResult<Option<ContactRow>> {
    Ok(contacts::table
        .find(id)
        .select(ContactRow::as_select())
        .first(conn)
        .optional()?)
}
