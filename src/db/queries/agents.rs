//! Agents: accounts, the sign-in lookup by email, and availability (online, away…).
//!
//! `agents` is small (one row per person on the team): `agent_by_email` uses the UNIQUE
//! constraint on `email`, `agent_by_id` the primary key, and `list_agents` sorts the whole
//! table, which needs no index at this size.

use diesel::prelude::*;

use chrono::NaiveDateTime;

use crate::{
    db::{models::AgentRow, schema::agents, DbConnection},
    domain::{
        types::{Availability, Role},
        AgentId,
    },
    error::{AppError, AppResult},
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

/// Inserts a new agent unless the email is taken (409 `duplicate_email`, also when two adds
/// race and the UNIQUE constraint refuses the second).
pub fn insert_new_agent(conn: &mut DbConnection, row: &AgentRow) -> AppResult<()> {
    let taken = || AppError::Conflict {
        code: "duplicate_email",
        message: "an agent with this email exists already".to_owned(),
    };
    if agent_by_email(conn, &row.email)?.is_some() {
        return Err(taken());
    }
    diesel::insert_into(agents::table)
        .values(row)
        .execute(conn)
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => taken(),
            other => other.into(),
        })?;
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

/// The agent, or 404.
pub fn existing_agent(conn: &mut DbConnection, id: AgentId) -> AppResult<AgentRow> {
    agent_by_id(conn, id)?.ok_or(AppError::NotFound("agent"))
}

/// Refuses (409 `last_admin`) a change that makes `agent` stop being an active admin when no
/// other active admin remains: someone must be able to manage the team.
pub fn ensure_another_admin(conn: &mut DbConnection, agent: &AgentRow) -> AppResult<()> {
    if agent.role != Role::Admin || agent.deactivated_at.is_some() {
        return Ok(());
    }
    let others: i64 = agents::table
        .filter(agents::role.eq(Role::Admin))
        .filter(agents::deactivated_at.is_null())
        .filter(agents::id.ne(agent.id))
        .count()
        .get_result(conn)?;
    match others {
        0 => Err(AppError::Conflict {
            code: "last_admin",
            message: "this is the last active admin: make another agent admin first".to_owned(),
        }),
        _ => Ok(()),
    }
}

/// What an admin (role, name) or the agent (name) changes; `None` keeps the stored value, and
/// at least one field must be given.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = agents)]
pub struct AgentChanges<'a> {
    pub role: Option<Role>,
    pub name: Option<&'a str>,
}

pub fn update_agent(
    conn: &mut DbConnection,
    id: AgentId,
    changes: &AgentChanges<'_>,
) -> AppResult<()> {
    diesel::update(agents::table.find(id))
        .set(changes)
        .execute(conn)?;
    Ok(())
}

/// Deactivates (`Some(when)`, and marks the agent offline) or reactivates (`None`) an agent.
/// Their tokens are the caller's to delete, in the same transaction.
pub fn set_deactivated(
    conn: &mut DbConnection,
    id: AgentId,
    at: Option<NaiveDateTime>,
) -> AppResult<()> {
    let update = diesel::update(agents::table.find(id));
    match at {
        Some(_) => update
            .set((
                agents::deactivated_at.eq(at),
                agents::availability.eq(Availability::Offline),
            ))
            .execute(conn)?,
        None => update.set(agents::deactivated_at.eq(at)).execute(conn)?,
    };
    Ok(())
}

pub fn set_password_hash(conn: &mut DbConnection, id: AgentId, hash: &str) -> AppResult<()> {
    diesel::update(agents::table.find(id))
        .set(agents::password_hash.eq(hash))
        .execute(conn)?;
    Ok(())
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
