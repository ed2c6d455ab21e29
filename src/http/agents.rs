//! Agents: the list (for assignee pickers, with live availability) and setting my availability.

use crate::http::extract::Json;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::{
    actors::presence::{Availability, SetAvailability, Snapshot},
    app::AppState,
    auth::CurrentAgent,
    db::queries,
    domain::types::Role,
    error::AppResult,
};

/// `GET /api/agents`. Emails are for admins (and each agent's own): other agents see names,
/// so a list of logins is not handed to everyone.
pub async fn list(state: web::Data<AppState>, me: CurrentAgent) -> AppResult<HttpResponse> {
    let rows = state.app.store.read(queries::list_agents).await?;
    let live = state.app.presence.send(Snapshot).await?;
    let agents: Vec<_> = rows
        .iter()
        .map(|a| {
            let availability = live.get(&a.id).copied().unwrap_or(Availability::Offline);
            let email = (me.role == Role::Admin || a.id == me.id).then_some(&a.email);
            json!({ "id": a.id, "name": a.name, "email": email, "role": a.role, "availability": availability })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "items": agents })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityRequest {
    availability: Availability,
}

/// `POST /api/agents/me/availability`: online or away while connected; offline follows the
/// websocket closing.
pub async fn set_availability(
    state: web::Data<AppState>,
    me: CurrentAgent,
    body: Json<AvailabilityRequest>,
) -> AppResult<HttpResponse> {
    state.app.presence.do_send(SetAvailability {
        agent: me.id,
        availability: body.availability,
    });
    Ok(HttpResponse::Ok().json(json!({ "availability": body.availability })))
}
