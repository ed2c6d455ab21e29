//! The assistant's answers (`assistant_answers`): written with their message, marked wrong by
//! agents, and read by the knowledge-base report.
//!
//! Indexes relied on:
//! - the primary key `(message_id)`: one answer, and its mark;
//! - `assistant_answers_created` `(created_at)`: the answers of a period;
//! - the partial `assistant_answers_wrong` `(wrong_at) WHERE wrong_at IS NOT NULL`: the
//!   answers marked wrong in a period.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{
        models::AnswerRow,
        schema::{assistant_answers, conversations},
        DbConnection,
    },
    domain::{access::Viewer, answer::AnswerOutcome, AgentId, ConversationId, InboxId, MessageId},
    error::AppResult,
};

/// The most answers one report reads for each of its lists: a period with more is reported
/// from its latest ones (the report says so).
pub const REPORT_ROWS: i64 = 20_000;

pub fn insert_answer(conn: &mut DbConnection, row: &AnswerRow) -> AppResult<()> {
    diesel::insert_into(assistant_answers::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The answer stored with this message of this conversation.
pub fn answer(
    conn: &mut DbConnection,
    conversation: ConversationId,
    message: MessageId,
) -> AppResult<Option<AnswerRow>> {
    Ok(assistant_answers::table
        .find(message)
        .filter(assistant_answers::conversation_id.eq(conversation))
        .select(AnswerRow::as_select())
        .first(conn)
        .optional()?)
}

/// An agent's mark that the answer was wrong (`Some`), or its removal (`None`). Changes the
/// row only when the mark changes; the number of rows changed (0 or 1) says whether it did,
/// so a check can come before any other write of the commit.
pub fn mark_answer(
    conn: &mut DbConnection,
    message: MessageId,
    mark: Option<(AgentId, NaiveDateTime, Option<String>)>,
) -> AppResult<usize> {
    let target = assistant_answers::table.find(message);
    Ok(match mark {
        Some((by, at, reason)) => {
            diesel::update(target.filter(assistant_answers::wrong_at.is_null()))
                .set((
                    assistant_answers::wrong_at.eq(at),
                    assistant_answers::wrong_by.eq(by),
                    assistant_answers::wrong_reason.eq(reason),
                ))
                .execute(conn)?
        }
        None => diesel::update(target.filter(assistant_answers::wrong_at.is_not_null()))
            .set((
                assistant_answers::wrong_at.eq(None::<NaiveDateTime>),
                assistant_answers::wrong_by.eq(None::<AgentId>),
                assistant_answers::wrong_reason.eq(None::<String>),
            ))
            .execute(conn)?,
    })
}

/// Which answers the knowledge-base report reads.
#[derive(Debug, Clone)]
pub struct AnswerScope {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    pub inbox: Option<InboxId>,
    /// A restricted agent reads only the answers of conversations they may see.
    pub viewer: Viewer,
}

macro_rules! scoped_answers {
    ($q:expr, $s:expr) => {{
        let mut q = $q;
        if let Some(inbox) = &$s.inbox {
            q = q.filter(assistant_answers::inbox_id.eq(inbox.clone()));
        }
        if !$s.viewer.sees_all {
            q = q.filter(super::conversations::seen_by($s.viewer.agent));
        }
        q
    }};
}

/// The "I could not answer" replies of the period, latest first.
pub fn unanswered(conn: &mut DbConnection, s: &AnswerScope) -> AppResult<Vec<AnswerRow>> {
    let q = assistant_answers::table
        .inner_join(conversations::table)
        .filter(assistant_answers::created_at.between(s.from, s.to))
        .filter(assistant_answers::outcome.eq(AnswerOutcome::NoMatch))
        .into_boxed();
    Ok(scoped_answers!(q, s)
        .order(assistant_answers::created_at.desc())
        .limit(REPORT_ROWS)
        .select(AnswerRow::as_select())
        .load(conn)?)
}

/// The answers marked wrong in the period, latest first.
pub fn marked_wrong(conn: &mut DbConnection, s: &AnswerScope) -> AppResult<Vec<AnswerRow>> {
    let q = assistant_answers::table
        .inner_join(conversations::table)
        .filter(assistant_answers::wrong_at.is_not_null())
        .filter(assistant_answers::wrong_at.between(s.from, s.to))
        .into_boxed();
    Ok(scoped_answers!(q, s)
        .order(assistant_answers::wrong_at.desc())
        .limit(REPORT_ROWS)
        .select(AnswerRow::as_select())
        .load(conn)?)
}

/// How many answers of this outcome the period had.
pub fn count_answers(
    conn: &mut DbConnection,
    s: &AnswerScope,
    outcome: AnswerOutcome,
) -> AppResult<i64> {
    let q = assistant_answers::table
        .inner_join(conversations::table)
        .filter(assistant_answers::created_at.between(s.from, s.to))
        .filter(assistant_answers::outcome.eq(outcome))
        .into_boxed();
    Ok(scoped_answers!(q, s)
        .select(diesel::dsl::count_star())
        .first(conn)?)
}
