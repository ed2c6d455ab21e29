//! The whole route table in one place, and the handlers that turn extractor failures into the
//! same JSON errors as everything else.

pub mod agents;
pub mod auth;
pub mod body;
pub mod channel_webhooks;
pub mod contacts;
pub mod conversations;
pub mod events;
pub mod extract;
pub mod files;
pub mod health;
pub mod sms;
pub mod static_files;
pub mod templates;
pub mod timing;
pub mod webhooks;
pub mod widget;
pub mod ws;

use actix_web::{
    error::{JsonPayloadError, PathError, QueryPayloadError},
    web, HttpRequest, HttpResponse,
};

use crate::error::AppError;

/// The OpenAPI document of `/api`, written by hand; a test holds it to [`API_ROUTES`].
pub const OPENAPI: &str = include_str!("openapi.json");

/// Registers the `/api` routes and lists them in [`API_ROUTES`] from one table, so the list
/// cannot drift from what is served.
macro_rules! api_routes {
    ($( $method:ident $path:literal => $handler:path ),* $(,)?) => {
        /// Every route under `/api` as `(method, path)`: the OpenAPI document lists exactly these.
        pub const API_ROUTES: &[(&str, &str)] = &[$( (stringify!($method), concat!("/api", $path)) ),*];

        fn api_scope() -> actix_web::Scope {
            web::scope("/api")$( .route($path, web::$method().to($handler)) )*
        }
    };
}

api_routes! {
    get "/openapi.json" => openapi,
    post "/auth/login" => auth::login,
    post "/auth/logout" => auth::logout,
    get "/auth/me" => auth::me,
    get "/agents" => agents::list,
    post "/agents/me/availability" => agents::set_availability,
    get "/badge" => conversations::badge,
    get "/events" => events::poll,
    get "/ws" => ws::agent_ws,
    get "/conversations" => conversations::list,
    get "/conversations/{id}" => conversations::get,
    delete "/conversations/{id}" => conversations::delete,
    get "/conversations/{id}/messages" => conversations::messages,
    post "/conversations/{id}/messages" => conversations::reply,
    post "/conversations/{id}/status" => conversations::set_status,
    post "/conversations/{id}/assign" => conversations::assign,
    post "/conversations/{id}/take" => conversations::take,
    post "/conversations/{id}/read" => conversations::mark_read,
    post "/conversations/{id}/unread" => conversations::mark_unread,
    post "/conversations/{id}/archive" => conversations::archive,
    put "/conversations/{id}/tags" => conversations::set_tags,
    post "/conversations/{id}/lead-stage" => conversations::set_lead_stage,
    post "/conversations/{id}/follow-up" => conversations::schedule_follow_up,
    delete "/conversations/{id}/follow-up" => conversations::cancel_follow_up,
    post "/conversations/{id}/attachments" => files::attach,
    get "/files/{message_id}" => files::get,
    get "/inboxes" => templates::list,
    post "/conversations" => templates::start,
    post "/conversations/{id}/template" => templates::send,
    post "/sms/segments" => sms::segments,
    get "/contacts/{id}" => contacts::get,
    post "/contacts/{id}/block" => contacts::block,
    post "/contacts/{id}/unblock" => contacts::unblock,
}

pub fn configure(cfg: &mut web::ServiceConfig, max_body: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(max_body)
            .error_handler(move |e, _| json_error(e, max_body).into()),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|_: PathError, _| AppError::NotFound("resource").into()),
    )
    .app_data(
        web::QueryConfig::default().error_handler(|e: QueryPayloadError, _| {
            AppError::BadRequest(format!("invalid query: {e}")).into()
        }),
    )
    .route("/healthz", web::get().to(health::healthz))
    .route("/", web::get().to(static_files::dashboard))
    .route("/demo", web::get().to(static_files::demo))
    .route(
        "/{file:(app|widget)\\.(js|css)}",
        web::get().to(static_files::file),
    )
    .service(web::resource("/webhooks/api/{inbox}").route(web::post().to(webhooks::api_inbound)))
    .service(
        web::resource("/widget/{inbox}/session")
            .route(web::post().to(widget::session))
            .route(web::method(actix_web::http::Method::OPTIONS).to(widget::preflight)),
    )
    .route("/widget/{inbox}/ws", web::get().to(widget::ws))
    .service(
        web::resource("/webhooks/whatsapp/{inbox}")
            .route(web::get().to(channel_webhooks::whatsapp_verify))
            .route(web::post().to(channel_webhooks::whatsapp_notify)),
    )
    .service(
        web::resource("/webhooks/meta/{inbox}")
            .route(web::get().to(channel_webhooks::meta_verify))
            .route(web::post().to(channel_webhooks::meta_notify)),
    )
    .route(
        "/webhooks/twilio/{inbox}",
        web::post().to(channel_webhooks::twilio_inbound),
    )
    .route(
        "/webhooks/twilio/{inbox}/status",
        web::post().to(channel_webhooks::twilio_status),
    )
    .route("/media/{message_id}", web::get().to(files::public))
    .service(api_scope())
    .default_service(web::to(not_found));
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
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

/// A known path with another method: the same JSON error shape as everything else.
pub fn method_not_allowed<B>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<actix_web::middleware::ErrorHandlerResponse<B>> {
    let (req, _) = res.into_parts();
    let body = HttpResponse::MethodNotAllowed()
        .json(serde_json::json!({"error": "method_not_allowed", "message": "this route does not accept that method"}));
    let res = actix_web::dev::ServiceResponse::new(req, body).map_into_right_body();
    Ok(actix_web::middleware::ErrorHandlerResponse::Response(res))
}

async fn not_found(_req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound("route"))
}
