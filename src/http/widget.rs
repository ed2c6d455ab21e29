//! The website widget's public endpoints. They take no agent token: a visitor is whoever holds a
//! visitor token the server signed. Answers carry CORS headers, since the widget runs on the
//! business's own site.

use crate::http::extract::{Json, Query};
use actix_web::{http::header, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::socket::upgrade;
use super::widget_session::{self, WidgetSession};
use crate::{
    app::AppState,
    db::queries,
    domain::types::{Author, ChannelKind, Status},
    error::{AppError, AppResult},
    inbox::Inbox,
    providers::widget,
};

/// Messages of history a widget shows when it opens.
const HISTORY: i64 = 100;

fn widget_inbox(state: &AppState, id: &str) -> AppResult<std::sync::Arc<Inbox>> {
    state
        .app
        .inboxes
        .get(id)
        .filter(|i| i.channel == ChannelKind::Widget)
        .cloned()
        .ok_or(AppError::NotFound("inbox"))
}

fn cors(mut resp: HttpResponse) -> HttpResponse {
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        header::HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        header::HeaderValue::from_static("POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        header::HeaderValue::from_static("Content-Type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        header::HeaderValue::from_static("86400"),
    );
    resp
}

/// CORS preflight for the widget's POSTs.
pub async fn preflight() -> HttpResponse {
    cors(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    visitor_token: Option<String>,
}

/// `POST /widget/{inbox}/session`: who the visitor is (a new token if needed) and their history.
pub async fn session(
    state: web::Data<AppState>,
    inbox: web::Path<String>,
    body: Json<SessionRequest>,
) -> HttpResponse {
    cors(
        match session_inner(&state, &inbox, body.into_inner()).await {
            Ok(r) => r,
            Err(e) => actix_web::ResponseError::error_response(&e),
        },
    )
}

async fn session_inner(
    state: &AppState,
    inbox_id: &str,
    body: SessionRequest,
) -> AppResult<HttpResponse> {
    let inbox = widget_inbox(state, inbox_id)?;
    let secret = inbox.secret.expose();
    // An unknown or altered token starts a new visitor rather than failing the page.
    let visitor = body
        .visitor_token
        .as_deref()
        .and_then(|t| widget::verify(secret, t))
        .unwrap_or_else(uuid::Uuid::new_v4);
    let token = widget::issue(secret, visitor);
    let external = widget::contact_external_id(visitor);
    let inbox_key = inbox.id.clone();
    let found = state
        .app
        .store
        .read(move |c| {
            let Some(conv) = queries::conversation_of_contact(c, &inbox_key, &external)? else {
                return Ok(None);
            };
            let messages = queries::message_page(c, conv.id, None, HISTORY)?;
            let agent = match (conv.assignee_id, conv.status == Status::Human) {
                (Some(a), true) => queries::agent_by_id(c, a)?.map(|a| a.name),
                _ => None,
            };
            Ok(Some((conv.id, messages, agent)))
        })
        .await?;
    let (conversation_id, messages, agent) = match found {
        Some((id, messages, agent)) => (Some(id), messages, agent),
        None => (None, Vec::new(), None),
    };
    let public: Vec<_> = messages
        .iter()
        .filter(|m| !m.private_note && m.author != Author::System)
        .map(|m| json!({"id": m.id, "author": m.author, "text": m.body, "sent_at": m.sent_at}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "visitor_token": token,
        "conversation_id": conversation_id,
        "messages": public,
        "agent": agent.map(|name| json!({"name": name})),
    })))
}

#[derive(Deserialize)]
pub struct WidgetWsQuery {
    visitor_token: String,
}

/// `GET /widget/{inbox}/ws?visitor_token=…`: the visitor's live connection.
pub async fn ws(
    state: web::Data<AppState>,
    inbox: web::Path<String>,
    query: Query<WidgetWsQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let inbox = widget_inbox(&state, &inbox)?;
    let visitor = widget::verify(inbox.secret.expose(), &query.visitor_token)
        .ok_or(AppError::Unauthorized("invalid visitor token"))?;
    let (response, writer, incoming) =
        upgrade(&req, payload, state.app.settings.realtime.outbound_queue)?;
    widget_session::start(
        WidgetSession::new(state.clone(), inbox, visitor, writer),
        incoming,
    );
    Ok(response)
}
