//! The whole route table in one place, and the handlers that turn extractor failures into the
//! same JSON errors as everything else.

pub mod auth;
pub mod body;
pub mod conversations;
pub mod health;
pub mod webhooks;

use actix_web::{
    error::{JsonPayloadError, PathError, QueryPayloadError},
    web, HttpRequest,
};

use crate::error::AppError;

pub fn configure(cfg: &mut web::ServiceConfig, max_body: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(max_body)
            .error_handler(move |e, _| json_error(e, max_body).into()),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|e: PathError, _| AppError::NotFound(path_what(&e)).into()),
    )
    .app_data(
        web::QueryConfig::default().error_handler(|e: QueryPayloadError, _| {
            AppError::BadRequest(format!("invalid query: {e}")).into()
        }),
    )
    .route("/healthz", web::get().to(health::healthz))
    .service(web::resource("/webhooks/api/{inbox}").route(web::post().to(webhooks::api_inbound)))
    .service(
        web::scope("/api")
            .route("/auth/login", web::post().to(auth::login))
            .route("/auth/logout", web::post().to(auth::logout))
            .route("/auth/me", web::get().to(auth::me))
            .route("/conversations", web::get().to(conversations::list))
            .route("/conversations/{id}", web::get().to(conversations::get))
            .route(
                "/conversations/{id}/messages",
                web::get().to(conversations::messages),
            )
            .route(
                "/conversations/{id}/messages",
                web::post().to(conversations::reply),
            )
            .route(
                "/conversations/{id}/status",
                web::post().to(conversations::set_status),
            )
            .route(
                "/conversations/{id}/assign",
                web::post().to(conversations::assign),
            )
            .route(
                "/conversations/{id}/read",
                web::post().to(conversations::mark_read),
            )
            .route(
                "/conversations/{id}/unread",
                web::post().to(conversations::mark_unread),
            )
            .route(
                "/conversations/{id}/archive",
                web::post().to(conversations::archive),
            )
            .route(
                "/conversations/{id}/follow-up",
                web::post().to(conversations::schedule_follow_up),
            )
            .route(
                "/conversations/{id}/follow-up",
                web::delete().to(conversations::cancel_follow_up),
            ),
    )
    .default_service(web::to(not_found));
}

fn path_what(_: &PathError) -> &'static str {
    "resource"
}

fn json_error(e: JsonPayloadError, max_body: usize) -> AppError {
    match e {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            AppError::PayloadTooLarge { limit: max_body }
        }
        JsonPayloadError::ContentType => {
            AppError::BadRequest("expected Content-Type: application/json".to_owned())
        }
        JsonPayloadError::Deserialize(e) => AppError::BadRequest(format!("invalid JSON: {e}")),
        other => AppError::BadRequest(format!("invalid request body: {other}")),
    }
}

async fn not_found(_req: HttpRequest) -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound("route"))
}
