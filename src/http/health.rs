use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::{app::AppState, error::AppResult};

/// Liveness and database reachability.
pub async fn healthz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    state
        .app
        .store
        .read(crate::db::queries::count_agents)
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "status": "ok", "database": state.app.store.backend().name() })))
}
