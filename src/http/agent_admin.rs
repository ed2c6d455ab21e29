//! Managing the team (admins only; 403 for everyone else): add an agent with a generated
//! password shown once, change an agent's role or name, deactivate and reactivate, reset a
//! password.
//!
//! Access follows at once. Deactivating an agent or resetting their password deletes their
//! login tokens in the same transaction as the change, so their very next request is a 401,
//! and then closes their open websockets through the hub before answering; a new role closes
//! their websockets too, and the dashboard reconnects with what the new role sees.
//!
//! The team always keeps an active admin: an admin may not deactivate themselves or change
//! their own role, and no change may leave no active admin (409). Conversations assigned to a
//! deactivated agent stay assigned to them until a supervisor reassigns them.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    actors::{
        hub::Revoke,
        presence::{Availability, Snapshot},
    },
    app::AppState,
    auth::{self, CurrentAgent},
    clock,
    db::{models::AgentRow, queries},
    domain::{types::Role, AgentId},
    error::{AppError, AppResult, ErrorBody},
    http::{
        agents::AgentView,
        auth::{close_sessions, hashed},
        extract::Json,
        openapi::{AdminOnly, AdminRefusals, AgentRefusals, BadRequest, TooLarge},
    },
};

fn admin_only(me: &CurrentAgent) -> AppResult<()> {
    match me.role {
        Role::Admin => Ok(()),
        Role::Supervisor | Role::Agent => Err(AppError::Forbidden("only admins manage agents")),
    }
}

fn parse_id(raw: &str) -> AppResult<AgentId> {
    raw.parse().map_err(|_| AppError::NotFound("agent"))
}

/// Refuses an admin's change to their own account (409 `own_account`): the team never loses
/// its admin by a slip, and another admin can always make the change.
fn not_myself(me: &CurrentAgent, id: AgentId, what: &str) -> AppResult<()> {
    match me.id == id {
        true => Err(AppError::Conflict {
            code: "own_account",
            message: format!("you cannot {what} yourself: ask another admin"),
        }),
        false => Ok(()),
    }
}

fn checked_role(raw: &str) -> AppResult<Role> {
    raw.parse()
        .map_err(|_| AppError::Validation("`role` must be admin, supervisor or agent".to_owned()))
}

/// A password shown once: it is stored hashed and cannot be read again.
#[derive(Serialize, ToSchema)]
pub struct NewPassword {
    /// Give it to the agent; they can change it under Your account.
    pub password: String,
}

/// A new agent.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgent {
    /// Their login; unique, ignoring case (409 `duplicate_email`).
    #[schema(min_length = 3, max_length = 254)]
    email: String,
    /// 1-100 characters, not only spaces.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: String,
    #[schema(value_type = Role)]
    role: String,
}

/// The agent added, and their password, shown this once.
#[derive(Serialize, ToSchema)]
pub struct AddedAgent<'a> {
    pub agent: AgentView<'a>,
    /// Generated; stored hashed, never shown again.
    pub password: String,
}

/// Any of the fields.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentEdit {
    /// A new role (not your own; 409 when it would leave no active admin).
    #[schema(value_type = Option<Role>)]
    role: Option<String>,
    /// 1-100 characters, not only spaces.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: Option<String>,
}

/// The live availability of one agent.
async fn availability_of(state: &AppState, id: AgentId) -> AppResult<Availability> {
    let live = state.app.presence.send(Snapshot).await?;
    Ok(live.get(&id).copied().unwrap_or(Availability::Offline))
}

async fn answer(state: &AppState, me: &CurrentAgent, row: &AgentRow) -> AppResult<HttpResponse> {
    let availability = match row.deactivated_at {
        Some(_) => Availability::Offline,
        None => availability_of(state, row.id).await?,
    };
    Ok(HttpResponse::Ok().json(AgentView::of(row, availability, me)))
}

/// `POST /api/agents`.
#[utoipa::path(
    operation_id = "add_agent",
    post,
    path = "/api/agents",
    tag = "agents",
    summary = "Add an agent, with a generated password shown once (admins)",
    request_body = NewAgent,
    responses(
        (status = 201, description = "Added; the password is in this answer only", body = AddedAgent<'_>),
        (status = 400, response = BadRequest),
        (status = 403, response = AdminOnly),
        (status = 409, description = "duplicate_email: an agent with this email exists already", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 422, description = "validation_failed: `email` is not an email address, `name` is not 1-100 characters, or `role` is not admin, supervisor or agent", body = ErrorBody),
        AgentRefusals,
    ),
)]
pub async fn create(
    state: web::Data<AppState>,
    me: CurrentAgent,
    body: Json<NewAgent>,
) -> AppResult<HttpResponse> {
    admin_only(&me)?;
    let NewAgent { email, name, role } = body.into_inner();
    let role = checked_role(&role)?;
    let password = auth::generate_password();
    let given = password.clone();
    let row = web::block(move || auth::new_agent_row(&email, &name, role, &given))
        .await
        .map_err(AppError::internal)??;
    let stored = row.clone();
    state
        .app
        .store
        .write(move |c| queries::insert_new_agent(c, &stored))
        .await?;
    state.app.agent_names.note(row.id, &row.name);
    tracing::info!(agent = %row.id, by = %me.id, role = %row.role, "agent added");
    Ok(HttpResponse::Created().json(AddedAgent {
        agent: AgentView::of(&row, Availability::Offline, &me),
        password,
    }))
}

/// `PATCH /api/agents/{id}`.
#[utoipa::path(
    operation_id = "edit_agent",
    patch,
    path = "/api/agents/{id}",
    tag = "agents",
    summary = "Change an agent's role or name (admins); a new role closes their websockets",
    params(("id" = AgentId, Path, description = "The agent")),
    request_body = AgentEdit,
    responses(
        (status = 200, description = "The agent after the change", body = AgentView<'_>),
        (status = 400, response = BadRequest),
        (status = 409, description = "own_account: an admin cannot change their own role; last_admin: no active admin would remain", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 422, description = "validation_failed: nothing to change, `name` is not 1-100 characters, or `role` is not admin, supervisor or agent", body = ErrorBody),
        AdminRefusals,
    ),
)]
pub async fn edit(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: Json<AgentEdit>,
) -> AppResult<HttpResponse> {
    admin_only(&me)?;
    let id = parse_id(&id)?;
    let AgentEdit { role, name } = body.into_inner();
    let role = role.as_deref().map(checked_role).transpose()?;
    let name = name.as_deref().map(auth::checked_name).transpose()?;
    if role.is_none() && name.is_none() {
        return Err(AppError::Validation(
            "give a new `role` or `name`".to_owned(),
        ));
    }
    if role.is_some_and(|r| r != me.role) {
        not_myself(&me, id, "change the role of")?;
    }
    let (row, new_role) = state
        .app
        .store
        .write(move |c| {
            let mut agent = queries::existing_agent(c, id)?;
            let before = agent.role;
            if role.is_some_and(|r| r != Role::Admin) {
                queries::ensure_another_admin(c, &agent)?;
            }
            let changes = queries::AgentChanges {
                role,
                name: name.as_deref(),
            };
            queries::update_agent(c, id, &changes)?;
            agent.role = role.unwrap_or(agent.role);
            if let Some(name) = &name {
                agent.name.clone_from(name);
            }
            Ok((agent, role.filter(|r| *r != before)))
        })
        .await?;
    state.app.agent_names.note(row.id, &row.name);
    if let Some(role) = new_role {
        tracing::info!(agent = %id, by = %me.id, %role, "agent's role changed");
        close_sessions(&state, Revoke::Agent(id), "role changed").await?;
    }
    answer(&state, &me, &row).await
}

/// `POST /api/agents/{id}/deactivate`.
#[utoipa::path(
    operation_id = "deactivate_agent",
    post,
    path = "/api/agents/{id}/deactivate",
    tag = "agents",
    summary = "Deactivate an agent (admins): their tokens are revoked and websockets closed at once",
    description = "The agent can no longer log in; every token they hold stops working with \
        this answer, and their open websockets are closed before it. Their conversations stay \
        assigned to them until someone reassigns them. Deactivating an inactive agent changes \
        nothing.",
    params(("id" = AgentId, Path, description = "The agent")),
    responses(
        (status = 200, description = "The agent, deactivated", body = AgentView<'_>),
        (status = 409, description = "own_account: an admin cannot deactivate themselves; last_admin: no active admin would remain", body = ErrorBody),
        AdminRefusals,
    ),
)]
pub async fn deactivate(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    admin_only(&me)?;
    let id = parse_id(&id)?;
    not_myself(&me, id, "deactivate")?;
    let now = clock::now();
    let row = state
        .app
        .store
        .write(move |c| {
            let mut agent = queries::existing_agent(c, id)?;
            if agent.deactivated_at.is_none() {
                queries::ensure_another_admin(c, &agent)?;
                queries::set_deactivated(c, id, Some(now))?;
                agent.deactivated_at = Some(now);
                agent.availability = Availability::Offline;
            }
            queries::delete_tokens_of(c, id, None)?;
            Ok(agent)
        })
        .await?;
    tracing::info!(agent = %id, by = %me.id, "agent deactivated");
    close_sessions(&state, Revoke::Agent(id), "account deactivated").await?;
    answer(&state, &me, &row).await
}

/// `POST /api/agents/{id}/reactivate`.
#[utoipa::path(
    operation_id = "reactivate_agent",
    post,
    path = "/api/agents/{id}/reactivate",
    tag = "agents",
    summary = "Reactivate an agent (admins): they can log in again with their password",
    params(("id" = AgentId, Path, description = "The agent")),
    responses(
        (status = 200, description = "The agent, active", body = AgentView<'_>),
        AdminRefusals,
    ),
)]
pub async fn reactivate(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    admin_only(&me)?;
    let id = parse_id(&id)?;
    let row = state
        .app
        .store
        .write(move |c| {
            let mut agent = queries::existing_agent(c, id)?;
            if agent.deactivated_at.is_some() {
                queries::set_deactivated(c, id, None)?;
                agent.deactivated_at = None;
            }
            Ok(agent)
        })
        .await?;
    tracing::info!(agent = %id, by = %me.id, "agent reactivated");
    answer(&state, &me, &row).await
}

/// `POST /api/agents/{id}/password`.
#[utoipa::path(
    operation_id = "reset_agent_password",
    post,
    path = "/api/agents/{id}/password",
    tag = "agents",
    summary = "Reset an agent's password (admins): a new one shown once; their tokens revoked",
    description = "The agent's old password stops working, every token they hold is revoked \
        and their websockets are closed. For your own password use \
        PUT /api/agents/me/password.",
    params(("id" = AgentId, Path, description = "The agent")),
    responses(
        (status = 200, description = "The new password, shown this once", body = NewPassword),
        (status = 409, description = "own_account: change your own password with PUT /api/agents/me/password", body = ErrorBody),
        AdminRefusals,
    ),
)]
pub async fn reset_password(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    admin_only(&me)?;
    let id = parse_id(&id)?;
    not_myself(&me, id, "reset the password of")?;
    let password = auth::generate_password();
    let hash = hashed(password.clone()).await?;
    state
        .app
        .store
        .write(move |c| {
            queries::existing_agent(c, id)?;
            queries::set_password_hash(c, id, &hash)?;
            queries::delete_tokens_of(c, id, None)
        })
        .await?;
    tracing::info!(agent = %id, by = %me.id, "agent's password reset");
    close_sessions(&state, Revoke::Agent(id), "password reset").await?;
    Ok(HttpResponse::Ok().json(NewPassword { password }))
}
