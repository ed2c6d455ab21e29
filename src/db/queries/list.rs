//! The conversation list: every filter of the inbox view combined into one keyset-paginated
//! query, latest activity first.
//!
//! The order `(last_message_at DESC, id DESC)` and the cursor follow `conversations_activity`;
//! `conversations_status_activity`, `conversations_assignee_activity` and
//! `conversations_inbox_activity` serve the same order narrowed by status, assignee or inbox;
//! a tag goes through `conversation_tags_tag` `(tag, conversation_id)`. Text search is in
//! [`super::search`].

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::search::{escape_like, search_terms, text_match_sql};
use crate::{
    db::{
        models::{ContactRow, ConversationRow},
        schema::{contacts, conversation_tags, conversations},
        DbConnection,
    },
    domain::{
        access::Viewer,
        conversation::DerivedState,
        types::{Author, Status},
        AgentId, ConversationId, InboxId,
    },
    error::AppResult,
};

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
