//! Agents: the list (for assignee pickers, with live availability) and setting my availability.

use crate::http::extract::Json;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    actors::presence::{Availability, SetAvailability, Snapshot},
    app::AppState,
    auth::{CurrentAgent, Notifications},
    db::{models::AgentRow, queries},
    domain::{types::Role, AgentId},
    error::{AppError, AppResult},
    http::openapi::{
        AgentRefusals, BadRequest, TooLarge, Unauthorized, Unavailable, Unprocessable,
    },
};

/// An agent as other agents see it.
#[derive(Serialize, ToSchema)]
#[schema(as = Agent)]
pub struct AgentView<'a> {
    pub id: AgentId,
    /// Only for admins, and for the agent itself.
    #[schema(required = true)]
    pub email: Option<&'a str>,
    pub name: &'a str,
    pub role: Role,
    pub availability: Availability,
    /// Deactivated by an admin: cannot log in, offers no assignee; kept so their past work
    /// still names them.
    pub deactivated: bool,
}

impl<'a> AgentView<'a> {
    /// The agent as `me` may see it: the email for admins and the agent itself.
    pub fn of(row: &'a AgentRow, availability: Availability, me: &CurrentAgent) -> Self {
        AgentView {
            id: row.id,
            email: (me.role == Role::Admin || row.id == me.id).then_some(row.email.as_str()),
            name: &row.name,
            role: row.role,
            availability,
            deactivated: row.deactivated_at.is_some(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AgentList<'a> {
    pub items: Vec<AgentView<'a>>,
}

/// `GET /api/agents`. Emails are for admins (and each agent's own): other agents see names,
/// so a list of logins is not handed to everyone. Deactivated agents are listed (marked), so
/// the conversations they handled still show who did.
#[utoipa::path(
    operation_id = "list_agents",
    get,
    path = "/api/agents",
    tag = "agents",
    summary = "Agents, with their live availability (emails for admins only)",
    responses(
        (status = 200, description = "Every agent", body = AgentList<'_>),
        AgentRefusals,
    ),
)]
pub async fn list(state: web::Data<AppState>, me: CurrentAgent) -> AppResult<HttpResponse> {
    let rows = state.app.store.read(queries::list_agents).await?;
    let live = state.app.presence.send(Snapshot).await?;
    let agents: Vec<_> = rows
        .iter()
        .map(|a| {
            let availability = live.get(&a.id).copied().unwrap_or(Availability::Offline);
            AgentView::of(a, availability, &me)
        })
        .collect();
    Ok(HttpResponse::Ok().json(AgentList { items: agents }))
}

/// `PUT /api/agents/me/notifications`: my own notification setting, kept with my account so it
/// follows me to any browser (each browser still asks its own permission).
#[utoipa::path(
    operation_id = "set_notifications",
    put,
    path = "/api/agents/me/notifications",
    tag = "agents",
    summary = "Set my notifications: browser notifications and sound",
    request_body = Notifications,
    responses(
        (status = 200, description = "Stored", body = Notifications),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = TooLarge),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn set_notifications(
    state: web::Data<AppState>,
    me: CurrentAgent,
    body: Json<Notifications>,
) -> AppResult<HttpResponse> {
    let n = body.into_inner();
    let id = me.id;
    let stored = state
        .app
        .store
        .write(move |c| queries::set_notifications(c, id, n.desktop, n.sound))
        .await?;
    if !stored {
        return Err(AppError::Unauthorized("invalid or expired token"));
    }
    Ok(HttpResponse::Ok().json(n))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityRequest {
    availability: Availability,
}

/// `POST /api/agents/me/availability`: online or away while connected; offline follows the
/// websocket closing.
#[utoipa::path(
    operation_id = "set_availability",
    post,
    path = "/api/agents/me/availability",
    tag = "agents",
    summary = "Set my availability (online/away; offline follows the websocket)",
    request_body = AvailabilityRequest,
    responses(
        (status = 200, description = "Set", body = AvailabilityRequest),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = TooLarge),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn set_availability(
    state: web::Data<AppState>,
    me: CurrentAgent,
    body: Json<AvailabilityRequest>,
) -> AppResult<HttpResponse> {
    state.app.presence.do_send(SetAvailability {
        agent: me.id,
        availability: body.availability,
    });
    Ok(HttpResponse::Ok().json(AvailabilityRequest {
        availability: body.availability,
    }))
}
