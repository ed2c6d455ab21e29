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
    // A language model's server that does not answer is reported, not fatal: its
    // conversations fall back to the knowledge base or a person.
    let assistants: Vec<_> = state
        .app
        .assistants
        .all()
        .iter()
        .filter_map(|a| a.health().map(|h| json!({ "id": a.id(), "health": h })))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "status": "ok",
        "database": state.app.store.backend().name(),
        "assistants": assistants,
    })))
}
