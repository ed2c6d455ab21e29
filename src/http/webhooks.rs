//! Inbound webhooks. The order of checks matters: unknown inbox, size, signature over the raw
//! bytes, then parsing; nothing is stored before all of them pass.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::body::read_limited;
use crate::{
    actors::messages::DeliverInbound,
    app::AppState,
    channels::inbound,
    clock,
    domain::{types::ChannelKind, ConversationId, MessageId},
    error::{AppError, AppResult},
    http::openapi::{TooLarge, WebhookRefusals},
    metrics::InboundResult,
    providers::api::{self, Inbound, InboundPayload},
};

/// The answer to an accepted message.
#[derive(Serialize, ToSchema)]
#[schema(as = ApiInboundAccepted)]
pub struct Accepted {
    /// The stored message.
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    /// Whether a message with this `external_id` had been received before (nothing was
    /// stored twice).
    pub duplicate: bool,
}

/// The body of an API-channel message, read within `limit`, its signature checked against
/// `secret`, then parsed and validated, in that order. The benchmark's no-storage ceiling
/// (`src/bin/ceiling.rs`) calls it too, so it does exactly this work.
pub async fn read_signed(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
    secret: &str,
    default_country_code: Option<&str>,
) -> AppResult<Inbound> {
    let body = read_limited(payload, limit).await?;
    let signature = req
        .headers()
        .get(api::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    if !api::verify(secret, &body, signature) {
        return Err(AppError::Unauthorized(
            "missing or invalid X-Switchboard-Signature",
        ));
    }
    let parsed: InboundPayload = serde_json::from_slice(&body)
        .map_err(|e| AppError::BadRequest(format!("invalid JSON: {e}")))?;
    parsed.validate(default_country_code)
}

/// `POST /webhooks/api/{inbox}`: a customer message from a system using the API channel.
/// Answered 200 only once the message is committed.
#[utoipa::path(
    operation_id = "api_channel_inbound",
    post,
    path = "/webhooks/api/{inbox}",
    tag = "webhooks",
    summary = "A customer message from the system behind an API inbox",
    description = "Signed with `X-Switchboard-Signature: sha256=<hex HMAC-SHA256 of the raw \
        body, keyed by the inbox secret>`. Checked in this order: the inbox, the size, the \
        signature, the JSON, its values; nothing is stored before all pass. The same \
        `external_id` twice is one message. Replies go to the inbox's callback URL, signed \
        the same way.",
    security(("api_signature" = [])),
    params(("inbox" = String, Path, description = "An inbox of the `api` channel")),
    request_body = InboundPayload,
    responses(
        (status = 200, description = "Stored (or stored before)", body = Accepted),
        (status = 413, response = TooLarge),
        WebhookRefusals,
    ),
)]
pub async fn api_inbound(
    state: web::Data<AppState>,
    inbox_id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let app = &state.app;
    let inbox = app
        .inboxes
        .get(inbox_id.as_str())
        .filter(|i| i.channel == ChannelKind::Api)
        .cloned()
        .ok_or(AppError::NotFound("inbox"))?;
    let inbound = read_signed(
        &req,
        payload,
        app.settings.server.max_body_bytes,
        inbox.secret.expose(),
        inbox.settings.default_country_code(),
    )
    .await?;
    let sent_at = inbound.sent_at.unwrap_or_else(clock::now);
    let deliver = DeliverInbound::text(Some(inbound.external_id), inbound.text, sent_at);
    let received = inbound::receive(
        app,
        &state.registry,
        &inbox.id,
        inbound.contact,
        None,
        deliver,
    )
    .await;
    let result = InboundResult::of(&received.as_ref().map(|(_, a)| a.duplicate));
    app.metrics.inbound(ChannelKind::Api.as_str(), result);
    let (conversation_id, accepted) = received?;
    Ok(HttpResponse::Ok().json(Accepted {
        message_id: accepted.message_id,
        conversation_id,
        duplicate: accepted.duplicate,
    }))
}
