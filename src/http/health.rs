//! `GET /healthz`: whether the server answers and its database can be read, for load balancers
//! and orchestrators. No credentials.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{app::AppState, domain::AssistantId, error::AppResult, http::openapi::Unavailable};

/// The answer of a healthy server.
#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(value_type = String, pattern = "^ok$")]
    pub status: &'static str,
    /// The database in use: `sqlite` or `postgres`.
    #[schema(value_type = String, pattern = "^(sqlite|postgres)$")]
    pub database: &'static str,
    /// Each language-model assistant's server as last seen (knowledge-base assistants need
    /// none): one that does not answer is reported here, not fatal.
    pub assistants: Vec<AssistantHealth>,
}

/// Whether a model's server answered. Only that: this route needs no credentials, and the
/// provider's error text (which may quote part of a key) is for agents, at
/// `GET /api/assistants`.
#[derive(Serialize, ToSchema)]
pub struct AssistantHealth {
    pub id: AssistantId,
    /// `true` after an answer, `false` after a failure; `null` before the first call.
    #[schema(required = true)]
    pub reachable: Option<bool>,
}

/// Liveness and database reachability.
#[utoipa::path(
    operation_id = "healthz",
    get,
    path = "/healthz",
    tag = "health",
    summary = "Liveness and database reachability",
    security(()),
    responses(
        (status = 200, description = "Up, and the database answered a read", body = Health),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn healthz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    state
        .app
        .store
        .read(crate::db::queries::count_agents)
        .await?;
    // A language model's server that does not answer is reported, not fatal: its
    // conversations fall back to the knowledge base or a person.
    let assistants = state
        .app
        .assistants
        .all()
        .iter()
        .filter_map(|a| {
            a.health().map(|health| AssistantHealth {
                id: a.id().clone(),
                reachable: health.reachable,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(Health {
        status: "ok",
        database: state.app.store.backend().name(),
        assistants,
    }))
}
