//! The summary report's reads (`GET /api/reports/summary`): which conversations a period
//! concerns, and the steps of their threads. The figures are computed in Rust
//! ([`crate::domain::reports`]) from these rows: three queries whatever the number of
//! conversations (the threads are read in chunks of [`CHUNK`] ids, not one by one).
//!
//! Indexes relied on:
//! - `conversations_created` `(created_at)`: conversations opened in the period;
//! - the partial `messages_system_time` `(sent_at) WHERE author = 'system'`: the `closed`
//!   notes of the period (the query repeats `author = 'system'` for the planner to pick it);
//! - `messages_conversation_time` `(conversation_id, sent_at, id)`: the threads' steps.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{
        schema::{conversations, messages},
        DbConnection,
    },
    domain::{
        access::Viewer,
        reports::{ReportConversation, Step},
        types::Author,
        AgentId, ConversationId, InboxId,
    },
    error::AppResult,
};

/// How many conversation ids one thread query asks for (well under both backends' limits on
/// bound parameters).
pub const CHUNK: usize = 500;

/// Which conversations the report counts. Every filter combines with the others.
#[derive(Debug, Clone)]
pub struct ReportScope {
    /// The period, both ends included.
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    /// Conversations assigned to this agent now.
    pub agent: Option<AgentId>,
    pub inbox: Option<InboxId>,
    /// Whose report it is: an agent restricted by visibility counts only what they may see
    /// (theirs and unassigned), as for the CSAT report.
    pub viewer: Viewer,
}

/// The filters on `conversations` every query of the report applies.
macro_rules! scoped {
    ($q:expr, $s:expr) => {{
        let mut q = $q;
        if let Some(agent) = $s.agent {
            q = q.filter(conversations::assignee_id.eq(agent));
        }
        if let Some(inbox) = &$s.inbox {
            q = q.filter(conversations::inbox_id.eq(inbox.clone()));
        }
        if !$s.viewer.sees_all {
            q = q.filter(super::conversations::seen_by($s.viewer.agent));
        }
        q
    }};
}

type Row = (ConversationId, InboxId, Option<AgentId>, NaiveDateTime);

fn conversation((id, inbox, assignee, created_at): Row) -> ReportConversation {
    ReportConversation {
        id,
        inbox,
        assignee,
        created_at,
    }
}

/// The `LIKE` pattern that finds a system note's event in its JSON payload (written compact
/// by `serde_json`, so `"event":"closed"` has no spaces).
fn event_pattern(event: &str) -> String {
    format!("%\"event\":\"{event}\"%")
}

/// The conversations the period concerns: created in it, or with a `closed` note in it.
/// Each once, in no particular order.
pub fn report_conversations(
    conn: &mut DbConnection,
    s: &ReportScope,
) -> AppResult<Vec<ReportConversation>> {
    let cols = (
        conversations::id,
        conversations::inbox_id,
        conversations::assignee_id,
        conversations::created_at,
    );
    let opened: Vec<Row> = scoped!(
        conversations::table
            .select(cols)
            .filter(conversations::created_at.ge(s.from))
            .filter(conversations::created_at.le(s.to))
            .into_boxed(),
        s
    )
    .load(conn)?;
    let resolved: Vec<Row> = scoped!(
        messages::table
            .inner_join(conversations::table)
            .select(cols)
            .distinct()
            .filter(messages::author.eq(Author::System))
            .filter(messages::sent_at.ge(s.from))
            .filter(messages::sent_at.le(s.to))
            .filter(messages::payload.like(event_pattern("closed")))
            .into_boxed(),
        s
    )
    .load(conn)?;
    let mut seen = std::collections::HashSet::new();
    Ok(opened
        .into_iter()
        .chain(resolved)
        .filter(|r| seen.insert(r.0))
        .map(conversation)
        .collect())
}

/// The steps of these conversations' threads up to `to`, in time order per conversation:
/// the system notes the report reads and agents' messages (private notes excluded).
pub fn report_steps(
    conn: &mut DbConnection,
    ids: &[ConversationId],
    to: NaiveDateTime,
) -> AppResult<Vec<(ConversationId, Step, NaiveDateTime)>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let mut notes = Box::new(messages::payload.like(event_pattern(Step::EVENTS[0])))
            as Box<
                dyn BoxableExpression<
                    messages::table,
                    crate::db::MultiBackend,
                    SqlType = diesel::sql_types::Nullable<diesel::sql_types::Bool>,
                >,
            >;
        for event in &Step::EVENTS[1..] {
            notes = Box::new(notes.or(messages::payload.like(event_pattern(event))));
        }
        let rows: Vec<(ConversationId, Author, Option<String>, NaiveDateTime)> = messages::table
            .select((
                messages::conversation_id,
                messages::author,
                messages::payload,
                messages::sent_at,
            ))
            .filter(messages::conversation_id.eq_any(chunk))
            .filter(messages::sent_at.le(to))
            .filter(
                messages::author
                    .eq(Author::Agent)
                    .and(messages::private_note.eq(false))
                    .nullable()
                    .or(messages::author.eq(Author::System).nullable().and(notes)),
            )
            .order((messages::conversation_id, messages::sent_at, messages::id))
            .load(conn)?;
        out.extend(rows.into_iter().filter_map(|(id, author, payload, at)| {
            let step = match author {
                Author::Agent => Step::AgentReply,
                Author::System => {
                    let p: serde_json::Value = serde_json::from_str(payload.as_deref()?).ok()?;
                    Step::from_event(p.get("event")?.as_str()?)?
                }
                Author::Customer | Author::Assistant => return None,
            };
            Some((id, step, at))
        }));
    }
    Ok(out)
}
