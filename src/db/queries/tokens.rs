//! Login tokens (`auth_tokens`): stored as a hash of the token, looked up on every
//! authenticated request and websocket recheck by the primary key `token_hash`, then joined to
//! the agent by its primary key.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{
    db::{
        models::{AgentRow, AuthTokenRow},
        schema::{agents, auth_tokens},
        DbConnection,
    },
    domain::AgentId,
    error::AppResult,
};

pub fn insert_token(conn: &mut DbConnection, row: &AuthTokenRow) -> AppResult<()> {
    diesel::insert_into(auth_tokens::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The agent a token belongs to, if the token exists, has not expired and the agent is active.
pub fn agent_by_token(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> AppResult<Option<AgentRow>> {
    Ok(auth_tokens::table
        .inner_join(agents::table)
        .filter(auth_tokens::token_hash.eq(token_hash))
        .filter(auth_tokens::expires_at.gt(now))
        .filter(agents::deactivated_at.is_null())
        .select(AgentRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn delete_token(conn: &mut DbConnection, token_hash: &str) -> AppResult<usize> {
    Ok(diesel::delete(auth_tokens::table.find(token_hash)).execute(conn)?)
}

/// Revokes every token of an agent but `keep` (the one the agent is using, when they change
/// their own password). Returns how many were revoked.
pub fn delete_tokens_of(
    conn: &mut DbConnection,
    agent: AgentId,
    keep: Option<&str>,
) -> AppResult<usize> {
    let of_agent = auth_tokens::table.filter(auth_tokens::agent_id.eq(agent));
    Ok(match keep {
        Some(hash) => {
            diesel::delete(of_agent.filter(auth_tokens::token_hash.ne(hash))).execute(conn)?
        }
        None => diesel::delete(of_agent).execute(conn)?,
    })
}
