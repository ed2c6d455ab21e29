//! The OpenAPI document of every route the server answers but its static files, derived from
//! the code: each handler's `#[utoipa::path]` says its method, path, parameters, body, the
//! credentials it takes and every status it can answer, and the schemas come from the types
//! the handlers read and write (`ToSchema`, `IntoParams`). [`ApiDoc`] gathers them;
//! [`document`] renders the JSON once, and `GET /api/openapi.json` serves it.
//!
//! It covers the agents' API under `/api` (bearer tokens) and the routes outside it: `/healthz`,
//! the providers' webhooks (each with its signature header as a security scheme), the website
//! widget's session and websocket (visitor tokens), and the signed media links providers fetch
//! files from. The dashboard's and the widget's own files (`/`, `/demo`, `/app.js`,
//! `/widget.js`, `/js/…`) are not in it: they are the pages, not an API.
//!
//! Tests hold the document to the router (`API_ROUTES` and `EDGE_ROUTES`, the tables the
//! routes are registered from), to the realtime events (`ServerEvent::KINDS`), to a committed
//! copy (`docs/openapi.json`), and to the running server with a property-based fuzzer.

use std::{collections::BTreeMap, sync::OnceLock};

use utoipa::{
    openapi::{
        header::HeaderBuilder,
        schema::{SchemaType, Type},
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
        ContentBuilder, ObjectBuilder, Ref, RefOr, Response, ResponseBuilder,
    },
    IntoResponses, Modify, OpenApi, ToResponse, ToSchema,
};

use crate::error::ErrorBody;

/// Standard error answers, shared by the routes as `$ref`s: `{"error": code, "message": …}`.
macro_rules! error_responses {
    ($( $(#[$doc:meta])* $name:ident => $description:literal $(, retry_after = $retry:literal)? ;)*) => {
        $(
            $(#[$doc])*
            pub struct $name;

            impl<'r> ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    #[allow(unused_mut)]
                    let mut response = ResponseBuilder::new()
                        .description($description)
                        .content("application/json", ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                            .build());
                    $( response = response.header("Retry-After", retry_after_header($retry)); )?
                    (stringify!($name), response.build().into())
                }
            }
        )*
    };
}

fn retry_after_header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::Integer))
                .minimum(Some(1)),
        )
        .description(Some(description))
        .build()
}

error_responses! {
    /// 400.
    BadRequest => "bad_request: a malformed request: invalid JSON, a missing or wrong \
        Content-Type, an unknown field or query parameter, a value of the wrong type or out of \
        range (the message says which)";
    /// 401.
    Unauthorized => "unauthorized: a missing, invalid, expired or revoked token";
    /// 403.
    Forbidden => "forbidden: this role may not do that";
    /// 403 from managing the team.
    AdminOnly => "forbidden: only admins manage agents";
    /// 404.
    NotFound => "not_found: no such resource, or not one this agent may see (a malformed id \
        is not found either)";
    /// 413.
    TooLarge => "payload_too_large: the body is over server.max_body_bytes";
    /// 422.
    Unprocessable => "validation_failed: a value breaks a rule; the message names the field \
        (empty or too long text, a NUL character U+0000 anywhere, an unknown id…)";
    /// 429.
    TooManyRequests => "too_many_requests: this address failed for this email too often \
        lately, or too many failures everywhere this minute; retry after the given seconds (the \
        right password passes once the wait is over)",
        retry_after = "Seconds to wait before trying again";
    /// 429 from the public surface.
    RateLimited => "too_many_requests: this source address is over `[server] webhook_rate_*` \
        (webhooks) or `widget_rate_*` (the widget's endpoints); retry after the given seconds",
        retry_after = "Seconds until the address may send again";
    /// 503.
    Unavailable => "unavailable: the server or its database is busy or briefly down; retry \
        after the given seconds. In cluster mode also `moved`: no node held the \
        conversation's shard for 5 s (a node died and its shards are being taken), or the \
        request could not be forwarded to the node holding it; send it again, to any node",
        retry_after = "Seconds to wait before retrying";
    /// 401 from a webhook.
    BadSignature => "unauthorized: the signature header (see the operation's security) is \
        missing or does not match the raw body";
    /// 404 from a route of one inbox.
    UnknownInbox => "not_found: no inbox with this id, or not one of this route's channel";
    /// 403 of Meta's webhook handshakes (WhatsApp, Messenger and Instagram).
    VerifyRefused => "forbidden: `hub.mode` is not `subscribe`, `hub.challenge` is missing, \
        `hub.verify_token` does not match, or the inbox has no verify token";
    /// 413 from a provider's webhook.
    WebhookTooLarge => "payload_too_large: the body is over 4 MiB (or server.max_body_bytes \
        when that is larger)";
}

/// The error answers families of routes share, named once so each route lists its family
/// instead of the same `$ref`s again (`responses((status = 200, …), ReadRefusals)`). The
/// answers themselves are the shared ones above.
macro_rules! refusals {
    ($( $(#[$doc:meta])* $name:ident => [$( $status:literal: $response:ident ),* $(,)?]; )*) => {
        $(
            $(#[$doc])*
            pub struct $name;

            impl IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<Response>> {
                    BTreeMap::from([$(
                        (
                            $status.to_owned(),
                            RefOr::Ref(Ref::from_response_name(
                                <$response as ToResponse>::response().0,
                            )),
                        ),
                    )*])
                }
            }
        )*
    };
}

refusals! {
    /// Any agent's request: not logged in, or the server is busy.
    AgentRefusals => ["401": Unauthorized, "503": Unavailable];
    /// A request about one resource by its id.
    ReadRefusals => ["401": Unauthorized, "404": NotFound, "503": Unavailable];
    /// An admin's request about one agent by its id.
    AdminRefusals => ["401": Unauthorized, "403": AdminOnly, "404": NotFound, "503": Unavailable];
    /// A JSON body sent to one resource by its id.
    ChangeRefusals => [
        "400": BadRequest, "401": Unauthorized, "404": NotFound, "413": TooLarge,
        "503": Unavailable,
    ];
    /// The same, where the body's values are checked against rules too (422).
    CheckedChangeRefusals => [
        "400": BadRequest, "401": Unauthorized, "404": NotFound, "413": TooLarge,
        "422": Unprocessable, "503": Unavailable,
    ];
    /// A webhook's refusals but its size limit (which differs between our own channel and the
    /// providers'): the body cannot be read or parsed, the signature does not match, no such
    /// inbox, a value cannot be stored, the server is busy.
    WebhookRefusals => [
        "400": BadRequest, "401": BadSignature, "404": UnknownInbox, "422": Unprocessable,
        "429": RateLimited, "503": Unavailable,
    ];
}

/// A `seq` as queries take it: any `u64` (an `int64` format would cap it at `i64::MAX`).
pub struct Seq;

impl utoipa::PartialSchema for Seq {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Integer))
            .minimum(Some(0))
            .maximum(Some(utoipa::Number::UInt(usize::MAX)))
            .description(Some("An event number (`seq`)"))
            .into()
    }
}

impl ToSchema for Seq {}

/// A file sent as the raw request body (`POST /api/contacts/{id}/files`): bytes, not JSON.
/// Described as `string`/`binary` so clients and the fuzzer send bytes rather than a JSON
/// array of numbers.
pub struct RawFile;

impl utoipa::PartialSchema for RawFile {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
                utoipa::openapi::schema::KnownFormat::Binary,
            )))
            .description(Some("The file's bytes"))
            .into()
    }
}

impl ToSchema for RawFile {}

/// The tags of `PUT /api/conversations/{id}/tags`: at most 20, each 1-40 characters with
/// something visible.
pub fn tag_list() -> utoipa::openapi::Array {
    utoipa::openapi::ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::String))
                .min_length(Some(1))
                .max_length(Some(40))
                .pattern(Some(r"\S")),
        )
        .max_items(Some(20))
        .build()
}

/// The credentials routes take: the bearer token of every `/api` route but login and this
/// document; a signature header on each webhook; the visitor token on the widget's socket.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A token from POST /api/auth/login"))
                    .build(),
            ),
        );
        let header = |name: &str, description: &str| {
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                name,
                description,
            )))
        };
        components.add_security_scheme(
            "api_signature",
            header(
                crate::providers::api::SIGNATURE_HEADER,
                "`sha256=<hex HMAC-SHA256 of the raw body, keyed by the inbox secret>`",
            ),
        );
        components.add_security_scheme(
            "hub_signature",
            header(
                crate::providers::hub_signature::SIGNATURE_HEADER,
                "Meta's signature: `sha256=<hex HMAC-SHA256 of the raw body, keyed by the app \
                 secret (the inbox secret)>`",
            ),
        );
        components.add_security_scheme(
            "twilio_signature",
            header(
                crate::providers::twilio::SIGNATURE_HEADER,
                "Twilio's signature: base64 HMAC-SHA1, keyed by the auth token (the inbox \
                 secret), of the webhook's URL as configured in Twilio followed by each form \
                 field's name and value in name order",
            ),
        );
        components.add_security_scheme(
            "visitor_token",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "visitor_token",
                "A website visitor's token, from POST /widget/{inbox}/session",
            ))),
        );
    }
}

/// Every event as pushed carries the hub's `seq` beside its fields (see `actors::hub`): the
/// schema of each `ServerEvent` variant says so. A variant that wraps an untagged enum
/// (`presence`) is derived as `allOf` [the enum, the tag]; it is spelled out here as one object
/// per shape, so each variant is a plain object with its `type`, as clients read it.
struct NumberedEvents;

impl Modify for NumberedEvents {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{Object, Schema};
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let schemas = &mut components.schemas;
        let Some(RefOr::T(Schema::OneOf(derived))) = schemas.get("ServerEvent").cloned() else {
            return;
        };
        let number = |mut object: Object| {
            object.properties.insert(
                "seq".to_owned(),
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::Integer))
                    .minimum(Some(0))
                    .description(Some("Strictly increasing; resume from the last one seen"))
                    .into(),
            );
            object.required.push("seq".to_owned());
            RefOr::T(Schema::Object(object))
        };
        let mut events = derived.clone();
        events.items.clear();
        for variant in derived.items {
            match variant {
                RefOr::T(Schema::Object(object)) => events.items.push(number(object)),
                RefOr::T(Schema::AllOf(all)) => {
                    // [$ref to a oneOf of objects, {type}]: one object per shape, with the tag.
                    let mut shapes = Vec::new();
                    let mut tag = None;
                    for part in &all.items {
                        match part {
                            RefOr::Ref(r) => {
                                let name = r.ref_location.rsplit('/').next().unwrap_or_default();
                                if let Some(RefOr::T(Schema::OneOf(one))) = schemas.get(name) {
                                    shapes.extend(one.items.iter().filter_map(|s| match s {
                                        RefOr::T(Schema::Object(o)) => Some(o.clone()),
                                        _ => None,
                                    }));
                                }
                            }
                            RefOr::T(Schema::Object(o)) => tag = Some(o.clone()),
                            _ => {}
                        }
                    }
                    let Some(tag) = tag else { continue };
                    for mut shape in shapes {
                        shape.properties.extend(tag.properties.clone());
                        shape.required.extend(tag.required.clone());
                        shape.description = all.description.clone();
                        events.items.push(number(shape));
                    }
                }
                other => events.items.push(other),
            }
        }
        events.description = Some(
            "Every event pushed on GET /api/ws (and returned by GET /api/events), numbered by \
             seq. One schema per `type` (two for `presence`: an agent's availability, or who \
             views a conversation)."
                .to_owned(),
        );
        schemas.insert("ServerEvent".to_owned(), RefOr::T(Schema::OneOf(events)));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard inbox API",
        description = "The agents' API under /api, and the routes outside it: health, the \
            providers' webhooks, the website widget's endpoints and the signed media links (the \
            dashboard's and widget's static files are not described). Every /api route except \
            /api/auth/login and /api/openapi.json takes `Authorization: Bearer <token>`; each \
            route outside /api says what it takes instead (a signature header, a visitor token, \
            a signed link, or nothing). Errors are `{\"error\": code, \"message\": text}`: 400 \
            malformed, 401 unauthenticated (or a webhook's signature that does not match), 403 \
            not allowed, 404 unknown or not visible, 405 (with `Allow`) a method the path does \
            not take, 409 conflict, 413 too large, 422 invalid value (named), 429 too many \
            attempts (`Retry-After`), 503 busy or database unavailable (`Retry-After`). The \
            /api bodies and queries, and those of our own API channel and widget, refuse \
            unknown fields; providers' payloads are read as the providers send them. HEAD is \
            answered wherever GET is. This document is generated from the server's code."
    ),
    modifiers(&SecuritySchemes, &NumberedEvents),
    security(("bearer" = [])),
    paths(
        openapi,
        crate::http::auth::login,
        crate::http::auth::logout,
        crate::http::auth::me,
        crate::http::agents::list,
        crate::http::agents::set_availability,
        crate::http::agents::set_notifications,
        crate::http::agent_admin::create,
        crate::http::agent_admin::edit,
        crate::http::agent_admin::deactivate,
        crate::http::agent_admin::reactivate,
        crate::http::agent_admin::reset_password,
        crate::http::account::rename,
        crate::http::account::change_password,
        crate::http::assistants::list,
        crate::http::conversations::usage,
        crate::http::conversations::badge,
        crate::http::events::poll,
        crate::http::ws::agent_ws,
        crate::http::conversations::list,
        crate::http::templates::start,
        crate::http::bulk::apply,
        crate::http::conversations::get,
        crate::http::conversations::delete,
        crate::http::conversations::messages,
        crate::http::conversations::reply,
        crate::http::conversations::set_status,
        crate::http::conversations::assign,
        crate::http::conversations::take,
        crate::http::conversations::mark_read,
        crate::http::conversations::mark_unread,
        crate::http::conversations::archive,
        crate::http::conversations::set_tags,
        crate::http::conversations::set_lead_stage,
        crate::http::csat::set_csat,
        crate::http::reports::csat,
        crate::http::reports::summary,
        crate::http::answers::knowledge_report,
        crate::http::answers::mark_wrong,
        crate::http::answers::unmark_wrong,
        crate::http::conversations::schedule_follow_up,
        crate::http::conversations::cancel_follow_up,
        crate::http::snooze::snooze,
        crate::http::snooze::unsnooze,
        crate::http::files::attach,
        crate::http::files::get,
        crate::http::templates::list,
        crate::http::templates::send,
        crate::http::sms::segments,
        crate::http::contacts::get,
        crate::http::contact_profile::edit,
        crate::http::contact_activity::list,
        crate::http::contact_activity::add_note,
        crate::http::contact_files::list,
        crate::http::contact_files::upload,
        crate::http::contact_files::download,
        crate::http::contacts::block,
        crate::http::contacts::unblock,
        crate::http::contacts::unsubscribe,
        crate::http::contacts::resubscribe,
        crate::http::segments::of_contact,
        crate::http::segments::create,
        crate::http::segments::list,
        crate::http::segments::get,
        crate::http::segments::edit,
        crate::http::segments::delete,
        crate::http::segments::add_contacts,
        crate::http::segments::remove_contacts,
        crate::http::segments::contacts,
        crate::http::canned_responses::list,
        crate::http::canned_responses::create,
        crate::http::canned_responses::edit,
        crate::http::canned_responses::delete,
        crate::http::broadcasts::create,
        crate::http::broadcasts::list,
        crate::http::broadcasts::get,
        crate::http::broadcasts::preview,
        crate::http::broadcasts::start,
        crate::http::broadcasts::pause,
        crate::http::broadcasts::resume,
        crate::http::broadcasts::cancel,
        crate::http::broadcasts::recipients,
        crate::http::broadcasts::of_contact,
        crate::http::memories::list,
        crate::http::memories::add,
        crate::http::memories::edit,
        crate::http::memories::delete,
        crate::http::health::healthz,
        crate::http::cluster::status,
        crate::http::health::readyz,
        crate::http::metrics::metrics,
        crate::http::webhooks::api_inbound,
        crate::http::widget::session,
        crate::http::widget::preflight,
        crate::http::widget::ws,
        crate::http::channel_webhooks::whatsapp_verify,
        crate::http::channel_webhooks::whatsapp_notify,
        crate::http::channel_webhooks::meta_verify,
        crate::http::channel_webhooks::meta_notify,
        crate::http::channel_webhooks::twilio_inbound,
        crate::http::channel_webhooks::twilio_status,
        crate::http::files::public,
    ),
    components(
        schemas(
            crate::protocol::ServerEvent,
            ErrorBody,
            Seq,
            crate::db::queries::ListSort,
            crate::domain::ContactFileId,
            RawFile
        ),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            AdminOnly,
            NotFound,
            TooLarge,
            Unprocessable,
            TooManyRequests,
            RateLimited,
            Unavailable,
            BadSignature,
            UnknownInbox,
            VerifyRefused,
            WebhookTooLarge
        )
    ),
    tags(
        (name = "meta", description = "This document"),
        (name = "auth", description = "Logging in and out"),
        (name = "agents", description = "Agents: the team (managed by admins), their availability, and my own account"),
        (name = "assistants", description = "The assistants that answer first, and what they spend"),
        (name = "conversations", description = "Listing, reading and changing conversations"),
        (name = "messages", description = "Replies, templates, attachments and files"),
        (name = "realtime", description = "Events, pushed or polled"),
        (name = "inboxes", description = "Inboxes and their templates"),
        (name = "reports", description = "Figures over many conversations: satisfaction"),
        (name = "contacts", description = "Contacts and the people behind them"),
        (name = "segments", description = "Named audiences of contacts: static members, or \
            a saved filter evaluated when read"),
        (name = "broadcasts", description = "One template or text to the contacts of \
            segments, paced per sender, each contact at most once"),
        (name = "canned-responses", description = "Saved replies agents insert from the \
            composer by typing `/` and a short code"),
        (name = "memories", description = "What was learned about a person, shared across \
            their channels"),
        (name = "health", description = "Whether the server and its database answer"),
        (name = "cluster", description = "Cluster mode: nodes, shards and the event log"),
        (name = "webhooks", description = "Customer messages and delivery statuses from the \
            channels: our own API channel, WhatsApp Cloud API, Messenger and Instagram, \
            Twilio; each signed"),
        (name = "widget", description = "The website widget's endpoints, for visitors"),
        (name = "media", description = "Files agents sent, fetched by the providers from \
            signed links"),
    )
)]
pub struct ApiDoc;

/// The document as served, rendered once.
pub fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        // Rendering a value built from plain strings and numbers cannot fail; an empty
        // document would fail the tests loudly rather than take the server down.
        ApiDoc::openapi().to_pretty_json().unwrap_or_default()
    })
}

/// `GET /api/openapi.json`: this document.
#[utoipa::path(
    operation_id = "openapi",
    get,
    path = "/api/openapi.json",
    tag = "meta",
    summary = "This OpenAPI document",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)),
)]
pub async fn openapi() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed copy of the document, for readers and for review: a change to the API
    /// shows up as a diff of this file.
    const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");

    #[test]
    fn the_document_matches_its_committed_snapshot() {
        let generated = format!("{}\n", document());
        if std::env::var("UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
            if let Err(e) = std::fs::write(SNAPSHOT, &generated) {
                panic!("cannot write {SNAPSHOT}: {e}");
            }
            return;
        }
        let committed = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
        if committed == generated {
            return;
        }
        let (old, new): (Vec<&str>, Vec<&str>) =
            (committed.lines().collect(), generated.lines().collect());
        let first = old
            .iter()
            .zip(&new)
            .position(|(a, b)| a != b)
            .unwrap_or(old.len().min(new.len()));
        let around = |lines: &[&str]| {
            lines
                .iter()
                .enumerate()
                .skip(first.saturating_sub(3))
                .take(8)
                .map(|(i, l)| format!("{:>6} {l}", i + 1))
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "the API document changed: docs/openapi.json differs from the generated one from \
             line {} on.\n--- committed\n{}\n+++ generated\n{}\nIf the change is intended, \
             run `UPDATE_SNAPSHOTS=1 cargo test --lib openapi` and commit docs/openapi.json.",
            first + 1,
            around(&old),
            around(&new),
        );
    }

    /// Every served route but the static files is documented, and every documented route is
    /// served: the document's operations are exactly the route tables (`API_ROUTES`,
    /// `EDGE_ROUTES`), which are what the router is built from.
    #[test]
    fn the_document_lists_exactly_the_served_routes() {
        let doc: serde_json::Value =
            serde_json::from_str(document()).unwrap_or(serde_json::Value::Null);
        let mut documented: Vec<(String, String)> = doc["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(path, ops)| {
                ops.as_object()
                    .into_iter()
                    .flatten()
                    .map(move |(method, _)| (method.clone(), path.clone()))
            })
            .collect();
        documented.sort();
        let mut served: Vec<(String, String)> = crate::http::API_ROUTES
            .iter()
            .chain(crate::http::EDGE_ROUTES)
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        served.sort();
        let missing: Vec<_> = served.iter().filter(|r| !documented.contains(r)).collect();
        let unserved: Vec<_> = documented.iter().filter(|r| !served.contains(r)).collect();
        assert!(
            missing.is_empty() && unserved.is_empty(),
            "served but not documented: {missing:?}; documented but not served: {unserved:?}"
        );
        assert_eq!(documented.len(), served.len(), "no route is listed twice");
    }

    #[test]
    fn every_reference_resolves() {
        fn refs<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
            match v {
                serde_json::Value::Object(map) => {
                    if let Some(r) = map.get("$ref").and_then(|r| r.as_str()) {
                        out.push(r);
                    }
                    map.values().for_each(|v| refs(v, out));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let doc: serde_json::Value =
            serde_json::from_str(document()).unwrap_or(serde_json::Value::Null);
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > 100, "{}", found.len());
        for r in found {
            assert!(
                doc.pointer(r.trim_start_matches('#')).is_some(),
                "{r} points nowhere"
            );
        }
    }

    #[test]
    fn every_error_answer_has_the_error_body() {
        let doc: serde_json::Value =
            serde_json::from_str(document()).unwrap_or(serde_json::Value::Null);
        let responses = doc["components"]["responses"]
            .as_object()
            .map(|r| r.len())
            .unwrap_or(0);
        assert_eq!(
            responses, 14,
            "the shared error answers are in the document"
        );
        assert_eq!(
            doc["components"]["responses"]["Unavailable"]["headers"]["Retry-After"]["schema"]
                ["type"],
            "integer"
        );
        assert_eq!(
            doc["components"]["schemas"]["Error"]["required"],
            serde_json::json!(["error", "message"])
        );
    }
}
