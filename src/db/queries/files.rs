//! A person's files (`GET /api/contacts/{id}/files`): the files agents uploaded to the contact
//! (`contact_files`, index `contact_files_page`) and the files of their conversations'
//! messages (partial index `messages_files`). Both sources are read newest first, in keyset
//! pages after the same cursor `(time, id)`, and merged by the caller.

use chrono::NaiveDateTime;
use diesel::{
    dsl::{sql, AsExprOf},
    expression::{SqlLiteral, UncheckedBind},
    prelude::*,
    sql_types::{Bool, Text},
};
use uuid::Uuid;

use crate::{
    db::{
        models::{ContactFileRow, MessageRow},
        schema::{agents, contact_files, messages},
        DbConnection,
    },
    domain::{AgentId, ContactFileId, ContactId, ConversationId, MessageId},
    error::AppResult,
};

use super::search::escape_like;

/// `lower(<column>) LIKE lower('%q%')`: a case-insensitive substring (ASCII on both
/// backends: SQLite's LIKE and lower() fold ASCII only), `%` and `_` matched literally.
fn name_contains(column: &str, q: &str) -> NameMatch {
    // Only the column name (a constant of this module) is written into the SQL; the search is
    // bound.
    sql::<Bool>(&format!("lower({column}) LIKE lower("))
        .bind::<Text, _>(format!("%{}%", escape_like(q)))
        .sql(") ESCAPE '\\'")
}

type NameMatch = SqlLiteral<Bool, UncheckedBind<SqlLiteral<Bool>, AsExprOf<String, Text>>>;

/// Up to `limit` uploads of these contacts, newest first, strictly before `before`, whose name
/// contains `q` when given.
pub fn contact_files_page(
    conn: &mut DbConnection,
    contact_ids: &[ContactId],
    q: Option<&str>,
    before: Option<(NaiveDateTime, Uuid)>,
    limit: i64,
) -> AppResult<Vec<ContactFileRow>> {
    let mut query = contact_files::table
        .filter(contact_files::contact_id.eq_any(contact_ids))
        .select(ContactFileRow::as_select())
        .order((contact_files::created_at.desc(), contact_files::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(q) = q {
        query = query.filter(name_contains("contact_files.name", q));
    }
    if let Some((at, id)) = before {
        let id = ContactFileId(id);
        query = query.filter(
            contact_files::created_at
                .lt(at)
                .or(contact_files::created_at
                    .eq(at)
                    .and(contact_files::id.lt(id))),
        );
    }
    Ok(query.load(conn)?)
}

/// Up to `limit` messages of these conversations that carry a file (stored, or still
/// downloading), newest first, strictly before `before`, whose file name contains `q` when
/// given (a file without a name, such as most photos, matches no search).
///
/// One query per conversation (a person has one per inbox at most), each `conversation_id = ?`
/// so that it reads `messages_files`: with `conversation_id IN (…)` and no statistics (SQLite
/// runs no ANALYZE by itself) SQLite prefers `messages_conversation_client` and reads every
/// message of those conversations.
pub fn message_files_page(
    conn: &mut DbConnection,
    conversation_ids: &[ConversationId],
    q: Option<&str>,
    before: Option<(NaiveDateTime, Uuid)>,
    limit: i64,
) -> AppResult<Vec<MessageRow>> {
    let mut rows = Vec::new();
    for conversation in conversation_ids {
        rows.extend(conversation_files(conn, *conversation, q, before, limit)?);
    }
    rows.sort_by_key(|m| std::cmp::Reverse((m.sent_at, m.id)));
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(rows)
}

fn conversation_files(
    conn: &mut DbConnection,
    conversation: ConversationId,
    q: Option<&str>,
    before: Option<(NaiveDateTime, Uuid)>,
    limit: i64,
) -> AppResult<Vec<MessageRow>> {
    let mut query = messages::table
        .filter(messages::conversation_id.eq(conversation))
        // The condition of the partial index `messages_files`, as written there.
        .filter(
            messages::media_source
                .is_not_null()
                .or(messages::media_path.is_not_null()),
        )
        .select(MessageRow::as_select())
        .order((messages::sent_at.desc(), messages::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(q) = q {
        query = query.filter(name_contains("messages.media_filename", q));
    }
    if let Some((at, id)) = before {
        let id = MessageId(id);
        query = query.filter(
            messages::sent_at
                .lt(at)
                .or(messages::sent_at.eq(at).and(messages::id.lt(id))),
        );
    }
    Ok(query.load(conn)?)
}

pub fn insert_contact_file(conn: &mut DbConnection, row: &ContactFileRow) -> AppResult<()> {
    diesel::insert_into(contact_files::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn contact_file(
    conn: &mut DbConnection,
    id: ContactFileId,
) -> AppResult<Option<ContactFileRow>> {
    Ok(contact_files::table
        .find(id)
        .select(ContactFileRow::as_select())
        .first(conn)
        .optional()?)
}

/// The names of these agents (those that still exist).
pub fn agent_names(conn: &mut DbConnection, ids: &[AgentId]) -> AppResult<Vec<(AgentId, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(agents::table
        .filter(agents::id.eq_any(ids))
        .select((agents::id, agents::name))
        .load(conn)?)
}
