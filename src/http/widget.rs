//! The website widget's public endpoints. They take no agent token: a visitor is whoever holds a
//! visitor token the server signed. Answers carry CORS headers, since the widget runs on the
//! business's own site.

use crate::http::extract::{Json, Query};
use actix_web::{http::header, web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::socket::upgrade;
use super::widget_session::{self, WidgetSession};
use crate::{
    app::AppState,
    db::queries,
    domain::profile::WebProfile,
    domain::{
        types::{Author, ChannelKind, Status},
        ConversationId, MessageId,
    },
    error::{AppError, AppResult, ErrorBody},
    http::openapi::{RateLimited, TooLarge, Unavailable, UnknownInbox, Unprocessable},
    inbox::Inbox,
    providers::widget,
    views::UtcTime,
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
#[utoipa::path(
    operation_id = "widget_session_preflight",
    options,
    path = "/widget/{inbox}/session",
    tag = "widget",
    summary = "CORS preflight for the widget's POST (any origin)",
    security(()),
    params(("inbox" = String, Path, description = "Any inbox id: the answer is the same")),
    responses((status = 204, description = "Allowed from any origin", headers(
        ("Access-Control-Allow-Origin" = String, description = "`*`"),
        ("Access-Control-Allow-Methods" = String, description = "`POST, OPTIONS`"),
        ("Access-Control-Allow-Headers" = String, description = "`Content-Type`"),
        ("Access-Control-Max-Age" = String, description = "`86400`"),
    ))),
)]
pub async fn preflight() -> HttpResponse {
    cors(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WidgetSessionRequest)]
pub struct SessionRequest {
    /// The token this browser was given before, if any; an unknown or altered one starts a
    /// new visitor.
    visitor_token: Option<String>,
    /// The widget's language (its `data-lang`, else the browser's), BCP 47 (`es`, `pt-BR`):
    /// the contact's language unless an agent set one, so the handoff acknowledgement and
    /// the satisfaction question are in it. A tag whose language is unknown or malformed is
    /// ignored (the default texts); one longer than 35 characters is refused (400).
    #[schema(max_length = 35)]
    language: Option<String>,
    /// `Intl.DateTimeFormat().resolvedOptions().timeZone` (IANA). An unknown zone is ignored.
    time_zone: Option<String>,
}

/// Longest language tag taken (RFC 5646 asks implementations to take at least 35).
const MAX_LANGUAGE_TAG: usize = 35;

/// Refuses a language tag too long to be one; shorter nonsense is ignored later.
fn check_language(language: Option<&str>) -> AppResult<()> {
    match language {
        Some(l) if l.len() > MAX_LANGUAGE_TAG => Err(AppError::BadRequest(format!(
            "language: a BCP 47 tag of at most {MAX_LANGUAGE_TAG} characters, such as `es` \
             or `pt-BR`"
        ))),
        _ => Ok(()),
    }
}

/// What a browser tells of its visitor: the language and time zone it sent, and its
/// `User-Agent` header (browser, OS, device category).
fn web_profile(req: &HttpRequest, language: Option<&str>, time_zone: Option<&str>) -> WebProfile {
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    WebProfile::from_browser(language, time_zone, ua)
}

/// Who the visitor is and what they see when the widget opens.
#[derive(Serialize, ToSchema)]
#[schema(as = WidgetSessionView)]
pub struct SessionView {
    /// Keep it (the widget stores it in the browser) and send it back next time, and to the
    /// widget's websocket.
    visitor_token: String,
    /// The visitor's conversation, once they have written.
    #[schema(required = true)]
    conversation_id: Option<ConversationId>,
    /// The latest messages the visitor may see (no private notes or system notes), oldest
    /// first.
    messages: Vec<VisitorMessage>,
    /// The person who took the conversation over, if one has.
    #[schema(required = true)]
    agent: Option<AgentName>,
}

/// A message as the visitor sees it.
#[derive(Serialize, ToSchema)]
#[schema(as = WidgetMessage)]
pub struct VisitorMessage {
    id: MessageId,
    author: Author,
    text: String,
    #[schema(value_type = UtcTime)]
    sent_at: NaiveDateTime,
    /// `{"automatic": "csat_survey"}` on the satisfaction survey (the widget shows five
    /// stars); left out otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    payload: Option<serde_json::Value>,
}

/// The name an agent shows visitors.
#[derive(Serialize, ToSchema)]
#[schema(as = WidgetAgent)]
pub struct AgentName {
    name: String,
}

/// `POST /widget/{inbox}/session`: who the visitor is (a new token if needed) and their history.
#[utoipa::path(
    operation_id = "widget_session",
    post,
    path = "/widget/{inbox}/session",
    tag = "widget",
    summary = "Start or resume a visitor's session: a visitor token and their history",
    description = "Called by the widget from the business's own site (answers carry CORS \
        headers for any origin). No credentials: the visitor token in the body, when valid, \
        says who the visitor is; without one a new visitor begins.",
    security(()),
    params(("inbox" = String, Path, description = "An inbox of the `widget` channel")),
    request_body = SessionRequest,
    responses(
        (status = 200, description = "The visitor's token and history", body = SessionView),
        (status = 400, description = "bad_request: malformed JSON, or a `language` longer \
            than 35 characters", body = ErrorBody),
        (status = 404, response = UnknownInbox),
        (status = 413, response = TooLarge),
        (status = 422, response = Unprocessable),
        (status = 429, response = RateLimited),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn session(
    state: web::Data<AppState>,
    inbox: web::Path<String>,
    req: HttpRequest,
    body: Result<Json<SessionRequest>, actix_web::Error>,
) -> HttpResponse {
    // A body refused before the handler (malformed, too large) is answered with the CORS
    // headers too, or the page could not read why.
    let answer = match body {
        Ok(body) => {
            let body = body.into_inner();
            match check_language(body.language.as_deref()) {
                Ok(()) => {
                    let web =
                        web_profile(&req, body.language.as_deref(), body.time_zone.as_deref());
                    session_inner(&state, &inbox, body, web).await
                }
                Err(e) => Err(e),
            }
        }
        Err(e) => return cors(e.error_response()),
    };
    cors(match answer {
        Ok(r) => r,
        Err(e) => actix_web::ResponseError::error_response(&e),
    })
}

async fn session_inner(
    state: &AppState,
    inbox_id: &str,
    body: SessionRequest,
    web: WebProfile,
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
            Ok(Some((conv.id, conv.contact_id, messages, agent)))
        })
        .await?;
    // A returning visitor's contact takes what the browser says now (the language only when
    // no agent set one). A new visitor's is stored when the contact is created (see
    // `WidgetSession`).
    if let (Some((_, contact, _, _)), false) = (&found, web == WebProfile::default()) {
        let contact = *contact;
        let web = web.clone();
        state
            .app
            .store
            .write(move |c| queries::detect_web_profile(c, contact, &web))
            .await?;
    }
    let (conversation_id, messages, agent) = match found {
        Some((id, _, messages, agent)) => (Some(id), messages, agent),
        None => (None, Vec::new(), None),
    };
    let messages = messages
        .into_iter()
        .filter(|m| !m.private_note && m.author != Author::System)
        .map(|m| VisitorMessage {
            payload: widget::visitor_payload(Some(&m.payload_json())),
            id: m.id,
            author: m.author,
            text: m.body,
            sent_at: m.sent_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(SessionView {
        visitor_token: token,
        conversation_id,
        messages,
        agent: agent.map(|name| AgentName { name }),
    }))
}

#[derive(Deserialize)]
pub struct WidgetWsQuery {
    /// The token from `POST /widget/{inbox}/session`: the visitor's only credential.
    visitor_token: String,
    /// The widget's language, stored on the contact when the visitor first writes.
    language: Option<String>,
    /// The browser's IANA time zone, likewise.
    time_zone: Option<String>,
}

/// `GET /widget/{inbox}/ws?visitor_token=…`: the visitor's live connection.
#[utoipa::path(
    operation_id = "widget_websocket",
    get,
    path = "/widget/{inbox}/ws",
    tag = "widget",
    summary = "The visitor's websocket: the agents' replies and typing; the visitor's messages",
    description = "A websocket upgrade. The visitor token (from POST /widget/{inbox}/session) \
        is the credential. Frames are JSON with a `type` (see `VisitorFrame` in the server's \
        `protocol.rs`).",
    security(("visitor_token" = [])),
    params(
        ("inbox" = String, Path, description = "An inbox of the `widget` channel"),
        ("language" = Option<String>, Query, description = "The widget's language (BCP 47, \
            as in the session's body), stored on the contact when the visitor first writes"),
        ("time_zone" = Option<String>, Query, description = "The browser's IANA time zone, \
            likewise"),
    ),
    responses(
        (status = 101, description = "Switching protocols"),
        (status = 400, description = "bad_request: not a websocket request, no \
            `visitor_token`, or a `language` longer than 35 characters", body = ErrorBody),
        (status = 401, description = "unauthorized: the visitor token is not one this inbox \
            signed", body = ErrorBody),
        (status = 404, response = UnknownInbox),
        (status = 422, response = Unprocessable),
        (status = 429, response = RateLimited),
    ),
)]
pub async fn ws(
    state: web::Data<AppState>,
    inbox: web::Path<String>,
    query: Query<WidgetWsQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let inbox = widget_inbox(&state, &inbox)?;
    check_language(query.language.as_deref())?;
    let visitor = widget::verify(inbox.secret.expose(), &query.visitor_token)
        .ok_or(AppError::Unauthorized("invalid visitor token"))?;
    let (response, writer, incoming) =
        upgrade(&req, payload, state.app.settings.realtime.outbound_queue)?;
    let web = web_profile(&req, query.language.as_deref(), query.time_zone.as_deref());
    widget_session::start(
        WidgetSession::new(state.clone(), inbox, visitor, writer, web),
        incoming,
    );
    Ok(response)
}
