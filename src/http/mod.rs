//! The whole route table in one place, and the handlers that turn extractor failures into the
//! same JSON errors as everything else.

pub mod account;
pub mod agent_admin;
pub mod agent_session;
pub mod agents;
pub mod answers;
pub mod assistants;
pub mod auth;
pub mod body;
pub mod broadcasts;
pub mod bulk;
pub mod canned_responses;
pub mod channel_webhooks;
pub mod cluster;
pub mod contact_activity;
pub mod contact_files;
pub mod contact_profile;
pub mod contacts;
pub mod conversations;
pub mod csat;
pub mod current_agent;
mod cursor;
pub mod events;
pub mod extract;
pub mod files;
pub mod forward;
pub mod health;
#[cfg(test)]
mod i18n_check;
pub mod memories;
pub mod metrics;
pub mod openapi;
pub mod reports;
pub mod segments;
pub mod sms;
pub mod snooze;
pub mod socket;
pub mod static_files;
pub mod templates;
pub mod timing;
pub mod webhooks;
pub mod widget;
pub mod widget_session;
pub mod ws;

use actix_web::{
    error::{JsonPayloadError, PathError, QueryPayloadError},
    web, HttpRequest, HttpResponse,
};

use crate::error::AppError;

/// Registers a table of routes and lists them from the same table, so the list cannot drift
/// from what is served. One resource per path: a method it does not take is 405 with `Allow`,
/// and HEAD is answered wherever GET is. `$list` is the `(method, path)` list, `$resources`
/// the function that makes the resources, `$prefix` what the paths are mounted under.
macro_rules! route_table {
    (
        $(#[$doc:meta])* $list:ident, $resources:ident, $prefix:literal;
        $( $path:literal => { $( $method:ident : $handler:path ),* $(,)? } ),* $(,)?
    ) => {
        $(#[$doc])*
        pub const $list: &[(&str, &str)] = &[$( $( (stringify!($method), concat!($prefix, $path)) ),* ),*];

        fn $resources() -> Vec<actix_web::Resource> {
            vec![$( {
                let r = web::resource($path);
                $( let r = method_route!(r, $method, $handler); )*
                allow_only(r, &[$( stringify!($method) ),*])
            } ),*]
        }
    };
}

/// One method's route on a resource; GET brings HEAD along (same handler, the server sends no
/// body for HEAD).
macro_rules! method_route {
    ($r:expr, get, $h:path) => {
        $r.route(web::get().to($h)).route(web::head().to($h))
    };
    ($r:expr, options, $h:path) => {
        $r.route(web::method(actix_web::http::Method::OPTIONS).to($h))
    };
    ($r:expr, $m:ident, $h:path) => {
        $r.route(web::$m().to($h))
    };
}

route_table! {
    /// Every route under `/api` as `(method, path)`: the OpenAPI document lists exactly these
    /// and [`EDGE_ROUTES`].
    API_ROUTES, api_resources, "/api";
    "/openapi.json" => { get: openapi::openapi },
    "/auth/login" => { post: auth::login },
    "/auth/logout" => { post: auth::logout },
    "/auth/me" => { get: auth::me },
    "/agents" => { get: agents::list, post: agent_admin::create },
    "/cluster" => { get: cluster::status },
    // `me` before `{id}`, which would otherwise take `me` for an id.
    "/agents/me" => { patch: account::rename },
    "/agents/me/password" => { put: account::change_password },
    "/agents/me/availability" => { post: agents::set_availability },
    "/agents/me/notifications" => { put: agents::set_notifications },
    "/agents/{id}" => { patch: agent_admin::edit },
    "/agents/{id}/deactivate" => { post: agent_admin::deactivate },
    "/agents/{id}/reactivate" => { post: agent_admin::reactivate },
    "/agents/{id}/password" => { post: agent_admin::reset_password },
    "/assistants" => { get: assistants::list },
    "/badge" => { get: conversations::badge },
    "/events" => { get: events::poll },
    "/ws" => { get: ws::agent_ws },
    "/conversations" => { get: conversations::list, post: templates::start },
    // Before `/conversations/{id}`, which would otherwise take `bulk` for an id.
    "/conversations/bulk" => { post: bulk::apply },
    "/conversations/{id}" => { get: conversations::get, delete: conversations::delete },
    "/conversations/{id}/messages" => {
        get: conversations::messages,
        post: conversations::reply,
    },
    "/conversations/{id}/usage" => { get: conversations::usage },
    "/conversations/{id}/status" => { post: conversations::set_status },
    "/conversations/{id}/assign" => { post: conversations::assign },
    "/conversations/{id}/take" => { post: conversations::take },
    "/conversations/{id}/read" => { post: conversations::mark_read },
    "/conversations/{id}/unread" => { post: conversations::mark_unread },
    "/conversations/{id}/archive" => { post: conversations::archive },
    "/conversations/{id}/tags" => { put: conversations::set_tags },
    "/conversations/{id}/lead-stage" => { post: conversations::set_lead_stage },
    "/conversations/{id}/csat" => { put: csat::set_csat },
    "/reports/csat" => { get: reports::csat },
    "/reports/summary" => { get: reports::summary },
    "/reports/knowledge-base" => { get: answers::knowledge_report },
    "/conversations/{id}/messages/{message_id}/wrong" => {
        post: answers::mark_wrong,
        delete: answers::unmark_wrong,
    },
    "/conversations/{id}/follow-up" => {
        post: conversations::schedule_follow_up,
        delete: conversations::cancel_follow_up,
    },
    "/conversations/{id}/snooze" => { post: snooze::snooze, delete: snooze::unsnooze },
    "/conversations/{id}/attachments" => { post: files::attach },
    "/files/{message_id}" => { get: files::get },
    "/inboxes" => { get: templates::list },
    "/conversations/{id}/template" => { post: templates::send },
    "/sms/segments" => { post: sms::segments },
    "/contacts/{id}" => { get: contacts::get, patch: contact_profile::edit },
    "/contacts/{id}/activity" => { get: contact_activity::list },
    "/contacts/{id}/notes" => { post: contact_activity::add_note },
    "/contacts/{id}/files" => { get: contact_files::list, post: contact_files::upload },
    "/contacts/{id}/files/{file_id}" => { get: contact_files::download },
    "/contacts/{id}/block" => { post: contacts::block },
    "/contacts/{id}/unblock" => { post: contacts::unblock },
    "/contacts/{id}/unsubscribe" => { post: contacts::unsubscribe },
    "/contacts/{id}/resubscribe" => { post: contacts::resubscribe },
    "/contacts/{id}/segments" => { get: segments::of_contact },
    "/segments" => { get: segments::list, post: segments::create },
    "/canned-responses" => { get: canned_responses::list, post: canned_responses::create },
    "/canned-responses/{id}" => {
        patch: canned_responses::edit,
        delete: canned_responses::delete,
    },
    "/segments/{id}" => {
        get: segments::get,
        patch: segments::edit,
        delete: segments::delete,
    },
    "/segments/{id}/contacts" => {
        get: segments::contacts,
        post: segments::add_contacts,
        delete: segments::remove_contacts,
    },
    "/contacts/{id}/memories" => { get: memories::list, post: memories::add },
    "/broadcasts" => { get: broadcasts::list, post: broadcasts::create },
    "/broadcasts/{id}" => { get: broadcasts::get },
    "/broadcasts/{id}/preview" => { post: broadcasts::preview },
    "/broadcasts/{id}/start" => { post: broadcasts::start },
    "/broadcasts/{id}/pause" => { post: broadcasts::pause },
    "/broadcasts/{id}/resume" => { post: broadcasts::resume },
    "/broadcasts/{id}/cancel" => { post: broadcasts::cancel },
    "/broadcasts/{id}/recipients" => { get: broadcasts::recipients },
    "/contacts/{id}/broadcasts" => { get: broadcasts::of_contact },
    "/memories/{id}" => { patch: memories::edit, delete: memories::delete },
}

route_table! {
    /// Every route outside `/api` but the static files, as `(method, path)`: health, the
    /// webhooks, the widget's endpoints and the signed media links. The OpenAPI document lists
    /// exactly these and [`API_ROUTES`]. The dashboard's and widget's files (`/`, `/demo`,
    /// `/app.js`…) are registered apart in [`configure`] and left out of the document.
    EDGE_ROUTES, edge_resources, "";
    "/healthz" => { get: health::healthz },
    "/readyz" => { get: health::readyz },
    "/metrics" => { get: metrics::metrics },
    "/webhooks/api/{inbox}" => { post: webhooks::api_inbound },
    "/widget/{inbox}/session" => { post: widget::session, options: widget::preflight },
    "/widget/{inbox}/ws" => { get: widget::ws },
    "/webhooks/whatsapp/{inbox}" => {
        get: channel_webhooks::whatsapp_verify,
        post: channel_webhooks::whatsapp_notify,
    },
    "/webhooks/meta/{inbox}" => {
        get: channel_webhooks::meta_verify,
        post: channel_webhooks::meta_notify,
    },
    "/webhooks/twilio/{inbox}" => { post: channel_webhooks::twilio_inbound },
    "/webhooks/twilio/{inbox}/status" => { post: channel_webhooks::twilio_status },
    "/media/{message_id}" => { get: files::public },
}

/// The value of `Allow` for these methods (HEAD with GET).
fn allow_header(methods: &[&str]) -> String {
    let mut allow: Vec<String> = methods.iter().map(|m| m.to_ascii_uppercase()).collect();
    if allow.iter().any(|m| m == "GET") {
        allow.push("HEAD".to_owned());
    }
    allow.join(", ")
}

/// Answers any other method with 405, naming the ones the resource takes in `Allow`.
fn allow_only(resource: actix_web::Resource, methods: &[&str]) -> actix_web::Resource {
    let allow = allow_header(methods);
    resource.default_service(web::to(move || {
        let allow = allow.clone();
        async move { method_not_allowed(&allow) }
    }))
}

/// 405 in the same JSON shape as every other error, with `Allow`.
fn method_not_allowed(allow: &str) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((actix_web::http::header::ALLOW, allow.to_owned()))
        .json(serde_json::json!({
            "error": "method_not_allowed",
            "message": format!("this route takes {allow}"),
        }))
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
    // The static files: the dashboard and the widget (not in the API document).
    .service(allow_only(
        method_route!(web::resource("/"), get, static_files::dashboard),
        &["get"],
    ))
    .service(allow_only(
        method_route!(web::resource("/demo"), get, static_files::demo),
        &["get"],
    ))
    .service(allow_only(
        method_route!(
            web::resource(
                "/{file:(app|widget)\\.(js|css)|js/[a-z][a-z0-9-]*\\.js|i18n/[a-z][a-z-]*\\.json}"
            ),
            get,
            static_files::file
        ),
        &["get"],
    ));
    for resource in edge_resources() {
        cfg.service(resource);
    }
    let api = api_resources()
        .into_iter()
        .fold(web::scope("/api"), |scope, resource| {
            scope.service(resource)
        });
    cfg.service(api).default_service(web::to(not_found));
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

async fn not_found(_req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound("route"))
}
