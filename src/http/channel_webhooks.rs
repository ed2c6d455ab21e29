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
use serde::Serialize;
use utoipa::ToSchema;

use super::body::read_limited;
use crate::{
    app::AppState,
    channels::inbound,
    clock,
    config::{ChannelSettings, Secret, TwilioChannel},
    domain::{text, types::ChannelKind},
    error::{AppError, AppResult},
    http::openapi::{
        BadRequest, UnknownInbox, Unprocessable, VerifyRefused, WebhookRefusals, WebhookTooLarge,
    },
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

/// `hub.mode` in Meta's verification handshake. Documentation only: the handler reads the
/// query as text and refuses any other mode with 403.
#[derive(ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum HubMode {
    subscribe,
}

/// The answer to an accepted WhatsApp or Meta notification.
#[derive(Serialize, ToSchema)]
pub struct Received {
    pub received: inbound::Ingested,
}

/// The form fields of a Twilio message webhook that are read (Twilio sends more; every field
/// it sends is covered by the signature). Documentation only: the handler checks the signature
/// over the raw fields before reading any.
#[derive(ToSchema)]
#[allow(dead_code, non_snake_case)]
pub struct TwilioMessageForm {
    /// `SM…`, `MM…`; `SmsMessageSid` or `SmsSid` are read when it is absent.
    MessageSid: String,
    /// The customer: `+E.164`, or `whatsapp:+E.164`.
    From: String,
    /// This inbox's number (or one of its Messaging Service's).
    To: String,
    #[schema(nullable = false)]
    Body: Option<String>,
    /// How many `MediaUrl<n>` and `MediaContentType<n>` follow, 0-10.
    #[schema(nullable = false)]
    NumMedia: Option<String>,
    #[schema(nullable = false)]
    MediaUrl0: Option<String>,
    #[schema(nullable = false)]
    MediaContentType0: Option<String>,
    /// The customer's WhatsApp profile name.
    #[schema(nullable = false)]
    ProfileName: Option<String>,
    /// `text`, `image`, `location`, `button`, `interactive`…
    #[schema(nullable = false)]
    MessageType: Option<String>,
    #[schema(nullable = false)]
    ButtonPayload: Option<String>,
    #[schema(nullable = false)]
    ButtonText: Option<String>,
    #[schema(nullable = false)]
    Latitude: Option<String>,
    #[schema(nullable = false)]
    Longitude: Option<String>,
    #[schema(nullable = false)]
    Label: Option<String>,
    #[schema(nullable = false)]
    Address: Option<String>,
    /// The message this one answers (WhatsApp replies).
    #[schema(nullable = false)]
    OriginalRepliedMessageSid: Option<String>,
}

/// The form fields of a Twilio status callback that are read (Twilio sends more; every field
/// it sends is covered by the signature). Documentation only, as the message form.
#[derive(ToSchema)]
#[allow(dead_code, non_snake_case)]
pub struct TwilioStatusForm {
    /// The message sent; `SmsSid` is read when it is absent.
    MessageSid: String,
    /// `queued`, `sent`, `delivered`, `read`, `undelivered`, `failed`… (`SmsStatus` is read
    /// when it is absent). A status only moves forward.
    MessageStatus: String,
    #[schema(nullable = false)]
    To: Option<String>,
    /// Twilio's error code, for `failed` and `undelivered`.
    #[schema(nullable = false)]
    ErrorCode: Option<String>,
    #[schema(nullable = false)]
    ErrorMessage: Option<String>,
    #[schema(nullable = false)]
    ChannelStatusMessage: Option<String>,
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
#[utoipa::path(
    operation_id = "whatsapp_verify",
    get,
    path = "/webhooks/whatsapp/{inbox}",
    tag = "webhooks",
    summary = "WhatsApp Cloud API: the webhook's verification handshake",
    description = "Meta calls this once, when the webhook is set up: the challenge is echoed \
        when `hub.mode` is `subscribe` and `hub.verify_token` is the inbox's `verify_token`.",
    security(()),
    params(
        ("inbox" = String, Path, description = "An inbox of the `whatsapp` channel"),
        ("hub.mode" = inline(HubMode), Query, description = "Always `subscribe`"),
        ("hub.verify_token" = String, Query, description = "The inbox's `verify_token`"),
        ("hub.challenge" = String, Query, description = "Echoed back"),
    ),
    responses(
        (status = 200, description = "The challenge, as sent", content_type = "text/plain",
            body = String),
        (status = 400, response = BadRequest),
        (status = 403, response = VerifyRefused),
        (status = 404, response = UnknownInbox),
        (status = 422, response = Unprocessable),
    ),
)]
pub async fn whatsapp_verify(
    state: web::Data<AppState>,
    inbox_id: web::Path<String>,
    query: Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let inbox = inbox_of(&state, &inbox_id, ChannelKind::Whatsapp)?;
    handshake(&inbox, &query)
}

/// `POST /webhooks/whatsapp/{inbox}`: messages and statuses from the Cloud API.
#[utoipa::path(
    operation_id = "whatsapp_notify",
    post,
    path = "/webhooks/whatsapp/{inbox}",
    tag = "webhooks",
    summary = "WhatsApp Cloud API: messages and statuses",
    description = "Signed with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, \
        keyed by the app secret (the inbox secret)>`. Checked in this order: the inbox, the \
        size, the signature, the payload; answered once every event is committed (a \
        redelivery stores nothing twice). Events for another phone number id are skipped.",
    security(("hub_signature" = [])),
    params(("inbox" = String, Path, description = "An inbox of the `whatsapp` channel")),
    request_body(content = Object, description = "A notification as the Cloud API sends it: \
        `object` is `whatsapp_business_account`, each `entry[].changes[].value` holds \
        `messages`, `statuses`, `contacts` and `metadata.phone_number_id`"),
    responses(
        (status = 200, description = "Applied", body = Received),
        (status = 413, response = WebhookTooLarge),
        WebhookRefusals,
    ),
)]
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
    Ok(HttpResponse::Ok().json(Received { received: done }))
}

/// `GET /webhooks/meta/{inbox}`: the subscription handshake.
#[utoipa::path(
    operation_id = "meta_verify",
    get,
    path = "/webhooks/meta/{inbox}",
    tag = "webhooks",
    summary = "Messenger and Instagram: the webhook's verification handshake",
    description = "Meta calls this once, when the webhook is set up: the challenge is echoed \
        when `hub.mode` is `subscribe` and `hub.verify_token` is the inbox's `verify_token`.",
    security(()),
    params(
        ("inbox" = String, Path, description = "An inbox of the `meta` channel"),
        ("hub.mode" = inline(HubMode), Query, description = "Always `subscribe`"),
        ("hub.verify_token" = String, Query, description = "The inbox's `verify_token`"),
        ("hub.challenge" = String, Query, description = "Echoed back"),
    ),
    responses(
        (status = 200, description = "The challenge, as sent", content_type = "text/plain",
            body = String),
        (status = 400, response = BadRequest),
        (status = 403, response = VerifyRefused),
        (status = 404, response = UnknownInbox),
        (status = 422, response = Unprocessable),
    ),
)]
pub async fn meta_verify(
    state: web::Data<AppState>,
    inbox_id: web::Path<String>,
    query: Query<HashMap<String, String>>,
) -> AppResult<HttpResponse> {
    let inbox = inbox_of(&state, &inbox_id, ChannelKind::Meta)?;
    handshake(&inbox, &query)
}

/// `POST /webhooks/meta/{inbox}`: Messenger or Instagram messaging events.
#[utoipa::path(
    operation_id = "meta_notify",
    post,
    path = "/webhooks/meta/{inbox}",
    tag = "webhooks",
    summary = "Messenger and Instagram: messaging events",
    description = "Signed with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, \
        keyed by the app secret (the inbox secret)>`. Checked in this order: the inbox, the \
        size, the signature, the payload; answered once every event is committed (a \
        redelivery stores nothing twice). A Messenger inbox refuses Instagram messages and the \
        reverse (400); events for another page are skipped.",
    security(("hub_signature" = [])),
    params(("inbox" = String, Path, description = "An inbox of the `meta` channel")),
    request_body(content = Object, description = "A webhook as Meta sends it: `object` is \
        `page` or `instagram`, each `entry[]` has the page's `id`, `time` and `messaging` (each \
        with `sender`, `recipient`, `timestamp` and a `message`, `delivery`, `read` or \
        `postback`)"),
    responses(
        (status = 200, description = "Applied", body = Received),
        (status = 413, response = WebhookTooLarge),
        WebhookRefusals,
    ),
)]
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
    Ok(HttpResponse::Ok().json(Received { received: done }))
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
#[utoipa::path(
    operation_id = "twilio_inbound",
    post,
    path = "/webhooks/twilio/{inbox}",
    tag = "webhooks",
    summary = "Twilio: an SMS, MMS or WhatsApp message",
    description = "Signed with `X-Twilio-Signature`: base64 HMAC-SHA1, keyed by the auth token \
        (the inbox secret), of the inbox's `public_url` (as configured in Twilio) followed by \
        each form field's name and value in name order. Checked in this order: the inbox, the \
        size, the signature, the fields; answered once the message is committed (a redelivery \
        stores nothing twice).",
    security(("twilio_signature" = [])),
    params(("inbox" = String, Path, description = "An inbox of the `twilio` channel")),
    request_body(content = TwilioMessageForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Stored; an empty TwiML answer (replies go through the \
            Messages API)", content_type = "text/xml", body = String),
        (status = 413, response = WebhookTooLarge),
        WebhookRefusals,
    ),
)]
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
#[utoipa::path(
    operation_id = "twilio_status",
    post,
    path = "/webhooks/twilio/{inbox}/status",
    tag = "webhooks",
    summary = "Twilio: the delivery status of a message sent",
    description = "Signed with `X-Twilio-Signature` as the message webhook, over the status \
        URL (the inbox's `public_url` followed by `/status`). A status only moves forward; one \
        for a send not recorded yet is kept until it is.",
    security(("twilio_signature" = [])),
    params(("inbox" = String, Path, description = "An inbox of the `twilio` channel")),
    request_body(content = TwilioStatusForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 204, description = "Applied"),
        (status = 413, response = WebhookTooLarge),
        WebhookRefusals,
    ),
)]
pub async fn twilio_status(
    state: web::Data<AppState>,
    inbox_id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let inbox = inbox_of(&state, &inbox_id, ChannelKind::Twilio)?;
    let raw = body(&state, payload).await?;
    let mut url = twilio_settings(&inbox)?.status_url();
    // A broadcast's message names its recipient in the query of its own status URL; Twilio
    // signs the whole URL, query included.
    let query = req.query_string();
    if !query.is_empty() {
        url = format!("{url}?{query}");
    }
    let params = twilio_params(&inbox, &req, &raw, &url)?;
    let callback_data = twilio::parse_form(query.as_bytes())
        .into_iter()
        .find(|(k, _)| k == crate::broadcasts::TWILIO_STATUS_PARAM)
        .map(|(_, v)| v);
    let events: Vec<WebhookEvent> = twilio::parse_status(&params)
        .map_err(|e| AppError::BadRequest(format!("invalid Twilio status callback: {e}")))?
        .map(|mut s| {
            s.callback_data = callback_data;
            WebhookEvent::Status(s)
        })
        .into_iter()
        .collect();
    apply(&state, &inbox, events).await?;
    Ok(HttpResponse::NoContent().finish())
}
