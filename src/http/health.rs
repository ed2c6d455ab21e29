//! `GET /healthz`: whether the server answers and its database can be read, for load balancers
//! and orchestrators. No credentials.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{app::AppState, error::AppResult, http::openapi::Unavailable};

/// The answer of a healthy server.
#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(value_type = String, pattern = "^ok$")]
    pub status: &'static str,
    /// The database in use: `sqlite` or `postgres`.
    #[schema(value_type = String, pattern = "^(sqlite|postgres)$")]
    pub database: &'static str,
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
    Ok(HttpResponse::Ok().json(Health {
        status: "ok",
        database: state.app.store.backend().name(),
    }))
}
