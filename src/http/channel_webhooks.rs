//! Provider webhooks: WhatsApp Cloud API, Twilio (SMS and WhatsApp) and Meta (Messenger,
//! Instagram).
//!
//! The order of checks is the same everywhere: the inbox exists and speaks this provider, the
//! body is within size, the signature matches the raw bytes (before anything is parsed), the
//! body parses; only then is anything stored. What the customer wrote is cleaned of NUL and
//! other invisible control characters (see [`crate::domain::text`]), never refused for them. A refused request gets a 4xx JSON error and
//! changes nothing. An accepted one is answered once its messages and statuses are committed;
//! media downloads happen after the answer.

use crate::http::extract::Query;
use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::body::read_limited;
use crate::{
    app::AppState,
    channels::inbound,
    clock,
    config::{ChannelSettings, Secret, TwilioChannel},
    domain::{text, types::ChannelKind},
    error::{AppError, AppResult},
    inbox::Inbox,
    providers::{
        hub_signature::{self, HandshakeError},
        meta,
        normalized::WebhookEvent,
        twilio, whatsapp,
    },
};

/// Provider notifications batch many events (Meta allows about 3 MB); larger is refused.
pub const MAX_WEBHOOK_BYTES: usize = 4 * 1024 * 1024;

fn inbox_of(state: &AppState, id: &str, channel: ChannelKind) -> AppResult<std::sync::Arc<Inbox>> {
    state
        .app
        .inboxes
        .get(id)
        .filter(|i| i.channel == channel)
        .cloned()
        .ok_or(AppError::NotFound("inbox"))
}

/// The Twilio settings of an inbox found by [`inbox_of`] as a Twilio one.
fn twilio_settings(inbox: &Inbox) -> AppResult<&TwilioChannel> {
    match &inbox.settings.channel {
        ChannelSettings::Twilio(t) => Ok(t),
        _ => Err(AppError::NotFound("inbox")),
    }
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn body(state: &AppState, payload: web::Payload) -> AppResult<web::Bytes> {
    let limit = MAX_WEBHOOK_BYTES.max(state.app.settings.server.max_body_bytes);
    read_limited(payload, limit).await
}

/// Meta's subscription handshake: `hub.mode=subscribe`, the verify token, the challenge echoed
/// back as `text/plain`.
fn handshake(inbox: &Inbox, query: &HashMap<String, String>) -> AppResult<HttpResponse> {
    let expected = inbox.settings.verify_token().map_or("", Secret::expose);
    let q = |k: &str| query.get(k).map(String::as_str);
    match hub_signature::verify_handshake(
        q("hub.mode"),
        q("hub.verify_token"),
        q("hub.challenge"),
        expected,
    ) {
        Ok(challenge) => Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(challenge)),
        Err(e) => Err(AppError::Forbidden(match e {
            HandshakeError::WrongMode => "`hub.mode` must be `subscribe`",
            HandshakeError::MissingChallenge => "`hub.challenge` is missing",
            HandshakeError::TokenMismatch => "`hub.verify_token` does not match",
            HandshakeError::NotConfigured => "no verify token is configured",
        })),
    }
}

/// Checks `X-Hub-Signature-256` (the app secret over the raw body).
fn check_hub_signature(inbox: &Inbox, req: &HttpRequest, raw: &[u8]) -> AppResult<()> {
    hub_signature::verify(
        inbox.secret.expose(),
        raw,
        header(req, hub_signature::SIGNATURE_HEADER),
    )
    .map_err(|e| {
        tracing::warn!(inbox = %inbox.id, error = %e, "webhook refused: bad signature");
        AppError::Unauthorized("missing or invalid X-Hub-Signature-256")
    })
}

async fn apply(
    state: &AppState,
    inbox: &std::sync::Arc<Inbox>,
    events: Vec<WebhookEvent>,
) -> AppResult<inbound::Ingested> {
    let done = inbound::ingest(&state.app, &state.registry, inbox, events).await?;
    tracing::debug!(inbox = %inbox.id, ?done, "webhook applied");
    Ok(done)
}

/// `GET /webhooks/whatsapp/{inbox}`: the subscription handshake.
pub async fn whatsapp_verify(
    state: web::Data<AppState>,
    inbox_id: web::Path<String>,
    query: Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let inbox = inbox_of(&state, &inbox_id, ChannelKind::Whatsapp)?;
    handshake(&inbox, &query)
}

/// `POST /webhooks/whatsapp/{inbox}`: messages and statuses from the Cloud API.
pub async fn whatsapp_notify(
    state: web::Data<AppState>,
    inbox_id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let inbox = inbox_of(&state, &inbox_id, ChannelKind::Whatsapp)?;
    let raw = body(&state, payload).await?;
    check_hub_signature(&inbox, &req, &raw)?;
    let events = whatsapp::parse_notification(&text::clean_json(&raw))
        .map_err(|e| AppError::BadRequest(format!("invalid WhatsApp notification: {e}")))?;
    let done = apply(&state, &inbox, events).await?;
    Ok(HttpResponse::Ok().json(json!({ "received": done })))
}

/// `GET /webhooks/meta/{inbox}`: the subscription handshake.
pub async fn meta_verify(
    state: web::Data<AppState>,
    inbox_id: web::Path<String>,
    query: Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let inbox = inbox_of(&state, &inbox_id, ChannelKind::Meta)?;
    handshake(&inbox, &query)
}

/// `POST /webhooks/meta/{inbox}`: Messenger or Instagram messaging events.
pub async fn meta_notify(
    state: web::Data<AppState>,
    inbox_id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let inbox = inbox_of(&state, &inbox_id, ChannelKind::Meta)?;
    let raw = body(&state, payload).await?;
    check_hub_signature(&inbox, &req, &raw)?;
    let events = meta::parse_webhook(&text::clean_json(&raw))
        .map_err(|e| AppError::BadRequest(format!("invalid Meta webhook: {e}")))?;
    let network = inbox.fixed_network();
    let wrong = events.iter().any(|e| match e {
        WebhookEvent::Message(m) => Some(m.network) != network,
        _ => false,
    });
    if wrong {
        return Err(AppError::BadRequest(format!(
            "this inbox receives {} events only",
            network.map_or("meta", |n| n.as_str())
        )));
    }
    let done = apply(&state, &inbox, events).await?;
    Ok(HttpResponse::Ok().json(json!({ "received": done })))
}

/// Checks `X-Twilio-Signature` over the URL configured in Twilio and the decoded params.
fn twilio_params(
    inbox: &Inbox,
    req: &HttpRequest,
    raw: &[u8],
    url: &str,
) -> AppResult<Vec<(String, String)>> {
    let params = twilio::parse_form(raw);
    if !twilio::verify_signature(
        inbox.secret.expose(),
        url,
        &params,
        header(req, twilio::SIGNATURE_HEADER),
    ) {
        tracing::warn!(inbox = %inbox.id, "Twilio webhook refused: bad signature");
        return Err(AppError::Unauthorized(
            "missing or invalid X-Twilio-Signature",
        ));
    }
    // Signed as sent; stored clean (see `domain::text`).
    Ok(params
        .into_iter()
        .map(|(k, v)| (text::clean_owned(k), text::clean_owned(v)))
        .collect())
}

/// `POST /webhooks/twilio/{inbox}`: an SMS, MMS or WhatsApp message through Twilio. Answered
/// with empty TwiML: replies go through the Messages API (queued, retried, tracked).
pub async fn twilio_inbound(
    state: web::Data<AppState>,
    inbox_id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let inbox = inbox_of(&state, &inbox_id, ChannelKind::Twilio)?;
    let raw = body(&state, payload).await?;
    let url = twilio_settings(&inbox)?.public_url.as_str().to_owned();
    let params = twilio_params(&inbox, &req, &raw, &url)?;
    let events = twilio::parse_webhook(&params, clock::now())
        .map_err(|e| AppError::BadRequest(format!("invalid Twilio webhook: {e}")))?;
    apply(&state, &inbox, events).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/xml")
        .body(twilio::EMPTY_TWIML))
}

/// `POST /webhooks/twilio/{inbox}/status`: a status callback for a message we sent.
pub async fn twilio_status(
    state: web::Data<AppState>,
    inbox_id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let inbox = inbox_of(&state, &inbox_id, ChannelKind::Twilio)?;
    let raw = body(&state, payload).await?;
    let url = twilio_settings(&inbox)?.status_url();
    let params = twilio_params(&inbox, &req, &raw, &url)?;
    let events: Vec<WebhookEvent> = twilio::parse_status(&params)
        .map_err(|e| AppError::BadRequest(format!("invalid Twilio status callback: {e}")))?
        .map(WebhookEvent::Status)
        .into_iter()
        .collect();
    apply(&state, &inbox, events).await?;
    Ok(HttpResponse::NoContent().finish())
}
