//! Agents: accounts, the sign-in lookup by email, and availability (online, away…).
//!
//! `agents` is small (one row per person on the team): `agent_by_email` uses the UNIQUE
//! constraint on `email`, `agent_by_id` the primary key, and `list_agents` sorts the whole
//! table, which needs no index at this size.

use diesel::prelude::*;

use crate::{
    db::{models::AgentRow, schema::agents, DbConnection},
    domain::{types::Availability, AgentId},
    error::AppResult,
};

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

pub fn list_agents(conn: &mut DbConnection) -> AppResult<Vec<AgentRow>> {
    Ok(agents::table
        .order(agents::name)
        .select(AgentRow::as_select())
        .load(conn)?)
}

/// Stores an agent's notification setting; `false` if there is no such agent.
pub fn set_notifications(
    conn: &mut DbConnection,
    id: AgentId,
    desktop: bool,
    sound: bool,
) -> AppResult<bool> {
    let n = diesel::update(agents::table.find(id))
        .set((
            agents::notify_desktop.eq(desktop),
            agents::notify_sound.eq(sound),
        ))
        .execute(conn)?;
    Ok(n == 1)
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
