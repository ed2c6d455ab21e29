//! The conversation list: every filter of the inbox view combined into one keyset-paginated
//! query, latest activity first.
//!
//! The order `(last_message_at DESC, id DESC)` and the cursor follow `conversations_activity`;
//! `conversations_status_activity`, `conversations_assignee_activity` and
//! `conversations_inbox_activity` (and `conversations_assistant_activity`) serve the same order
//! narrowed by status, assignee, inbox (or assistant);
//! a tag goes through `conversation_tags_tag` `(tag, conversation_id)`. Text search is in
//! [`super::search`].

use chrono::NaiveDateTime;
use diesel::{dsl, prelude::*};

use super::search::filter_by_search;
use crate::{
    db::{
        models::{ContactRow, ConversationRow},
        schema::{contacts, conversation_tags, conversations},
        DbConnection, MultiBackend,
    },
    domain::{
        access::Viewer,
        conversation::DerivedState,
        types::{Author, Status},
        AgentId, AssistantId, ConversationId, InboxId,
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
    /// Answered (last) by this assistant.
    pub assistant: Option<AssistantId>,
    pub tag: Option<String>,
    /// Last activity within `[from, to]`.
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    /// Search over contact name, phone number and message text.
    pub query: Option<String>,
}

/// The list query as its filters are added: conversations joined to their contact, boxed so
/// each group of filters can be a function of its own.
pub(super) type ListQuery = dsl::IntoBoxed<
    'static,
    dsl::Select<
        dsl::InnerJoin<conversations::table, contacts::table>,
        (
            dsl::AsSelect<ConversationRow, MultiBackend>,
            dsl::AsSelect<ContactRow, MultiBackend>,
        ),
    >,
    MultiBackend,
>;

/// Conversations matching `filter` that `viewer` may see, latest activity first, after an
/// optional keyset cursor `(last_message_at, id)`.
pub fn list_conversations(
    conn: &mut DbConnection,
    filter: &ConversationFilter,
    viewer: Viewer,
    before: Option<(NaiveDateTime, ConversationId)>,
    limit: i64,
) -> AppResult<Vec<(ConversationRow, ContactRow)>> {
    let mut q: ListQuery = conversations::table
        .inner_join(contacts::table)
        .select((ConversationRow::as_select(), ContactRow::as_select()))
        .into_boxed()
        .filter(conversations::last_message_at.is_not_null())
        .filter(conversations::archived.eq(filter.archived))
        .order((
            conversations::last_message_at.desc(),
            conversations::id.desc(),
        ))
        .limit(limit);
    if !viewer.sees_all {
        q = q.filter(
            conversations::assignee_id
                .is_null()
                .or(conversations::assignee_id.eq(viewer.agent)),
        );
    }
    q = filter_by_status(q, filter);
    q = filter_by_state(q, filter.state);
    q = filter_by_assignee(q, filter);
    q = filter_by_inbox_and_tag(q, filter);
    q = filter_by_activity(q, filter.from, filter.to);
    if let Some(query) = filter
        .query
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
    {
        q = filter_by_search(q, conn, query);
    }
    if let Some(cursor) = before {
        q = after_cursor(q, cursor);
    }
    Ok(q.load(conn)?)
}

/// The status filters: one status, unread, resolved or not, and waiting for a person.
fn filter_by_status(mut q: ListQuery, filter: &ConversationFilter) -> ListQuery {
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
    q
}

/// Seed 002's derived state, from the status, the first reply and who spoke last.
fn filter_by_state(q: ListQuery, state: Option<DerivedState>) -> ListQuery {
    match state {
        None => q,
        Some(DerivedState::Resolved) => q.filter(conversations::status.eq(Status::Closed)),
        Some(DerivedState::Created) => q
            .filter(conversations::status.ne(Status::Closed))
            .filter(conversations::first_reply_at.is_null()),
        Some(DerivedState::Pending) => q
            .filter(conversations::status.ne(Status::Closed))
            .filter(conversations::first_reply_at.is_not_null())
            .filter(conversations::last_message_author.eq(Author::Customer)),
        Some(DerivedState::Replied) => q
            .filter(conversations::status.ne(Status::Closed))
            .filter(conversations::first_reply_at.is_not_null())
            .filter(conversations::last_message_author.ne(Author::Customer)),
    }
}

/// Assigned to one agent, or to nobody.
fn filter_by_assignee(mut q: ListQuery, filter: &ConversationFilter) -> ListQuery {
    if let Some(a) = filter.assignee {
        q = q.filter(conversations::assignee_id.eq(a));
    }
    if filter.unassigned {
        q = q.filter(conversations::assignee_id.is_null());
    }
    q
}

/// On one of these inboxes, carrying this tag.
fn filter_by_inbox_and_tag(mut q: ListQuery, filter: &ConversationFilter) -> ListQuery {
    if let Some(inboxes) = &filter.inboxes {
        q = q.filter(conversations::inbox_id.eq_any(inboxes.clone()));
    }
    if let Some(assistant) = &filter.assistant {
        q = q.filter(conversations::assistant_id.eq(assistant.clone()));
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
    q
}

/// Last activity within `[from, to]` (either end open).
fn filter_by_activity(
    mut q: ListQuery,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
) -> ListQuery {
    if let Some(from) = from {
        q = q.filter(conversations::last_message_at.ge(from));
    }
    if let Some(to) = to {
        q = q.filter(conversations::last_message_at.le(to));
    }
    q
}

/// The page after the keyset cursor `(last_message_at, id)`: older activity, or the same
/// moment and a smaller id.
fn after_cursor(q: ListQuery, (at, id): (NaiveDateTime, ConversationId)) -> ListQuery {
    q.filter(
        conversations::last_message_at
            .lt(at)
            .or(conversations::last_message_at
                .eq(at)
                .and(conversations::id.lt(id))),
    )
}
