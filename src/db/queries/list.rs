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
    /// `true`: only snoozed ones; `false` (default): only those not snoozed (snoozed
    /// conversations leave the open views until they come back).
    pub snoozed: bool,
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
    /// `Some(true)`: only reviewed ones; `Some(false)`: only those not reviewed yet.
    pub reviewed: Option<bool>,
    pub sort: ListSort,
}

/// The order of the list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListSort {
    /// Latest activity first.
    #[default]
    Activity,
    /// Lowest review score first (reviewed conversations only): what a supervisor checks.
    ScoreAsc,
    /// Highest review score first (reviewed conversations only).
    ScoreDesc,
    /// Longest waiting for a person first (waiting conversations only): what to answer next.
    Waiting,
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
        .limit(limit);
    q = if filter.snoozed {
        q.filter(conversations::snoozed_until.is_not_null())
    } else {
        q.filter(conversations::snoozed_until.is_null())
    };
    q = match filter.sort {
        ListSort::Activity => q.order((
            conversations::last_message_at.desc(),
            conversations::id.desc(),
        )),
        ListSort::ScoreAsc => q.filter(conversations::quality_score.is_not_null()).order((
            conversations::quality_score.asc(),
            conversations::last_message_at.desc(),
            conversations::id.desc(),
        )),
        ListSort::ScoreDesc => q.filter(conversations::quality_score.is_not_null()).order((
            conversations::quality_score.desc(),
            conversations::last_message_at.desc(),
            conversations::id.desc(),
        )),
        ListSort::Waiting => q
            .filter(conversations::waiting_since.is_not_null())
            .order((conversations::waiting_since.asc(), conversations::id.asc())),
    };
    match filter.reviewed {
        Some(true) => q = q.filter(conversations::reviewed_at.is_not_null()),
        Some(false) => q = q.filter(conversations::reviewed_at.is_null()),
        None => {}
    }
    if !viewer.sees_all {
        q = q.filter(super::conversations::seen_by(viewer.agent));
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
        q = match filter.sort {
            ListSort::Activity => after_cursor(q, cursor),
            ListSort::Waiting => after_waiting_cursor(q, conn, cursor)?,
            sort => after_score_cursor(q, conn, sort, cursor)?,
        };
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

/// The page after the cursor's conversation in a score order: the cursor names the last
/// row of the previous page, whose score is read back (a conversation re-reviewed between
/// two pages moves, as it would in any live list).
fn after_score_cursor(
    q: ListQuery,
    conn: &mut DbConnection,
    sort: ListSort,
    (at, id): (NaiveDateTime, ConversationId),
) -> AppResult<ListQuery> {
    let score: Option<i32> = conversations::table
        .find(id)
        .select(conversations::quality_score)
        .first(conn)
        .optional()?
        .flatten();
    let Some(score) = score else {
        // Gone, or no longer reviewed: nothing after it can be placed; start over.
        return Ok(q);
    };
    let same_score_after = conversations::quality_score.eq(score).and(
        conversations::last_message_at
            .lt(at)
            .or(conversations::last_message_at
                .eq(at)
                .and(conversations::id.lt(id))),
    );
    Ok(match sort {
        ListSort::ScoreDesc => {
            q.filter(conversations::quality_score.lt(score).or(same_score_after))
        }
        _ => q.filter(conversations::quality_score.gt(score).or(same_score_after)),
    })
}

/// The page after the cursor's conversation in the longest-waiting order: its wait is read
/// back (one answered between two pages is gone from the order: start over).
fn after_waiting_cursor(
    q: ListQuery,
    conn: &mut DbConnection,
    (_, id): (NaiveDateTime, ConversationId),
) -> AppResult<ListQuery> {
    let since: Option<NaiveDateTime> = conversations::table
        .find(id)
        .select(conversations::waiting_since)
        .first(conn)
        .optional()?
        .flatten();
    let Some(since) = since else {
        return Ok(q);
    };
    Ok(q.filter(
        conversations::waiting_since
            .gt(since)
            .or(conversations::waiting_since
                .eq(since)
                .and(conversations::id.gt(id))),
    ))
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
