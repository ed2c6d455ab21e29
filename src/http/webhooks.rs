//! Inbound webhooks. The order of checks matters: unknown inbox, size, signature over the raw
//! bytes, then parsing; nothing is stored before all of them pass.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::body::read_limited;
use crate::{
    actors::messages::DeliverInbound,
    app::AppState,
    channels::inbound,
    clock,
    domain::types::ChannelKind,
    error::{AppError, AppResult},
    providers::api::{self, InboundPayload},
};

/// `POST /webhooks/api/{inbox}`: a customer message from a system using the API channel.
/// Answered 200 only once the message is committed.
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
    let body = read_limited(payload, app.settings.server.max_body_bytes).await?;
    let signature = req
        .headers()
        .get(api::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    if !api::verify(inbox.secret.expose(), &body, signature) {
        return Err(AppError::Unauthorized(
            "missing or invalid X-Switchboard-Signature",
        ));
    }
    let parsed: InboundPayload = serde_json::from_slice(&body)
        .map_err(|e| AppError::BadRequest(format!("invalid JSON: {e}")))?;
    let inbound = parsed.validate(inbox.settings.default_country_code())?;
    let sent_at = inbound.sent_at.unwrap_or_else(clock::now);
    let deliver = DeliverInbound::text(Some(inbound.external_id), inbound.text, sent_at);
    let (conversation_id, accepted) = inbound::receive(
        app,
        &state.registry,
        &inbox.id,
        inbound.contact,
        None,
        deliver,
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "message_id": accepted.message_id,
        "conversation_id": conversation_id,
        "duplicate": accepted.duplicate,
    })))
}
