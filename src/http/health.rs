//! `GET /healthz`: whether the server answers and its database can be read, for load balancers
//! and orchestrators; `GET /readyz`: whether it should get traffic now (the database answers
//! within a deadline, the group-commit writer commits, the server is not stopping). No
//! credentials.

use std::time::Duration;

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

/// The answer of `/readyz`.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`, or `not_ready` with the `reason`.
    #[schema(value_type = String, pattern = "^(ready|not_ready)$")]
    pub status: &'static str,
    /// Why not, when not: the first check that failed.
    pub reason: Option<String>,
    /// Each check: `ok`, or what went wrong.
    pub checks: ReadinessChecks,
}

#[derive(Serialize, ToSchema)]
pub struct ReadinessChecks {
    /// A read on the connection pool answered within the deadline.
    pub database: String,
    /// A (no-op) job went through the group-commit writer within the deadline. Migrations
    /// ran before the server started listening, so a server that answers has them.
    pub writer: String,
    /// `ok`, or `stopping` once a SIGTERM arrived (so a load balancer drains it).
    pub lifecycle: String,
}

/// Runs `check` within `deadline` (`[server] db_deadline_ms`): `ok`, or what failed.
async fn within<F>(deadline: Duration, check: F) -> String
where
    F: std::future::Future<Output = AppResult<()>>,
{
    match tokio::time::timeout(deadline, check).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {} ms", deadline.as_millis()),
    }
}

/// Readiness.
#[utoipa::path(
    operation_id = "readyz",
    get,
    path = "/readyz",
    tag = "health",
    summary = "Readiness: the database answers within the deadline (2 s), the writer commits, not stopping",
    security(()),
    responses(
        (status = 200, description = "Ready for traffic", body = Readiness),
        (status = 503, description = "Not ready: `reason` says why (with `Retry-After`)", body = Readiness),
    ),
)]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let store = &state.app.store;
    let deadline = Duration::from_millis(state.app.settings.server.db_deadline_ms);
    let (database, writer) = tokio::join!(
        within(deadline, async {
            store
                .read(crate::db::queries::count_agents)
                .await
                .map(|_| ())
        }),
        within(deadline, store.write(|_| Ok(()))),
    );
    let lifecycle = match *state.app.stopping.borrow() {
        true => "stopping".to_owned(),
        false => "ok".to_owned(),
    };
    let reason = [
        ("database", &database),
        ("writer", &writer),
        ("lifecycle", &lifecycle),
    ]
    .into_iter()
    .find(|(_, v)| v.as_str() != "ok")
    .map(|(k, v)| format!("{k}: {v}"));
    let ready = reason.is_none();
    let body = Readiness {
        status: if ready { "ready" } else { "not_ready" },
        reason,
        checks: ReadinessChecks {
            database,
            writer,
            lifecycle,
        },
    };
    match ready {
        true => HttpResponse::Ok().json(body),
        false => HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "1"))
            .insert_header(("Cache-Control", "no-store"))
            .json(body),
    }
}
