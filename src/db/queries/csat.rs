//! The satisfaction report's count: how many conversations were rated 1, 2… 5.
//!
//! Index relied on: the partial `conversations_csat` `(csat_at) WHERE csat IS NOT NULL`, so
//! the count reads only rated conversations, in the asked time range (the query repeats
//! `csat IS NOT NULL` for the planner to pick it).

use chrono::NaiveDateTime;
use diesel::{dsl, prelude::*};

use crate::{
    db::{schema::conversations, DbConnection},
    domain::{access::Viewer, AgentId, InboxId},
    error::AppResult,
};

/// Which ratings the report counts. Every filter combines with the others.
#[derive(Debug, Clone)]
pub struct CsatFilter {
    /// Rated (or last corrected) at or after…
    pub from: Option<NaiveDateTime>,
    /// …and at or before.
    pub to: Option<NaiveDateTime>,
    /// Conversations assigned to this agent.
    pub agent: Option<AgentId>,
    pub inbox: Option<InboxId>,
    /// Whose report it is: an agent restricted by visibility counts only what they may see.
    pub viewer: Viewer,
}

/// How many conversations have each score, as `(score, count)`: scores nobody gave are left
/// out.
pub fn csat_counts(conn: &mut DbConnection, f: &CsatFilter) -> AppResult<Vec<(i32, i64)>> {
    let mut q = conversations::table
        .group_by(conversations::csat)
        .select((conversations::csat, dsl::count_star()))
        .filter(conversations::csat.is_not_null())
        .into_boxed();
    if let Some(from) = f.from {
        q = q.filter(conversations::csat_at.ge(from));
    }
    if let Some(to) = f.to {
        q = q.filter(conversations::csat_at.le(to));
    }
    if let Some(agent) = f.agent {
        q = q.filter(conversations::assignee_id.eq(agent));
    }
    if let Some(inbox) = &f.inbox {
        q = q.filter(conversations::inbox_id.eq(inbox.clone()));
    }
    if !f.viewer.sees_all {
        q = q.filter(super::conversations::seen_by(f.viewer.agent));
    }
    let rows: Vec<(Option<i32>, i64)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(score, n)| Some((score?, n)))
        .collect())
}
