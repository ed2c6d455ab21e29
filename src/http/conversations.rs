//! The inbox API: list and read conversations, reply, and change what agents may change.
//! Every write goes to the conversation's actor; reads go straight to the database.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDateTime};
use serde::Deserialize;
use serde_json::json;

use crate::{
    actors::{
        messages::{ApplyEvent, SendAgentReply},
        registry::ask,
    },
    app::AppState,
    auth::CurrentAgent,
    channels::api::MAX_TEXT_CHARS,
    clock,
    db::{
        models::{ContactRow, ConversationRow},
        queries,
    },
    domain::{
        conversation::{By, Event, FollowUpPreset},
        types::Status,
        AgentId, ConversationId,
    },
    error::{AppError, AppResult},
    views::{ConversationView, MessageView},
};

const MAX_PAGE: i64 = 200;
const DEFAULT_PAGE: i64 = 50;

fn parse_id(raw: &str) -> AppResult<ConversationId> {
    raw.parse().map_err(|_| AppError::NotFound("conversation"))
}

fn page_size(limit: Option<i64>) -> AppResult<i64> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(AppError::BadRequest(format!(
            "`limit` must be 1-{MAX_PAGE}"
        ))),
    }
}

/// Loads a conversation the agent may see; anything else is 404 (not 403), so ids of others'
/// conversations are not confirmed.
async fn visible(
    state: &AppState,
    _me: &CurrentAgent,
    id: ConversationId,
) -> AppResult<(ConversationRow, ContactRow)> {
    state
        .app
        .store
        .read(move |c| queries::conversation_with_contact(c, id))
        .await?
        .ok_or(AppError::NotFound("conversation"))
}

fn view(
    state: &AppState,
    row: &ConversationRow,
    contact: &ContactRow,
) -> AppResult<ConversationView> {
    let inbox = state.app.inboxes.for_conversation(&row.inbox_id);
    ConversationView::from_rows(row, contact, &inbox, clock::now())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<Status>,
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn encode_cursor(at: NaiveDateTime, id: &str) -> String {
    format!("{}_{id}", at.and_utc().timestamp_micros())
}

fn decode_cursor(c: &str) -> AppResult<(NaiveDateTime, String)> {
    let bad = || AppError::BadRequest("invalid `cursor`".to_owned());
    let (micros, id) = c.split_once('_').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let at = DateTime::from_timestamp_micros(micros)
        .ok_or_else(bad)?
        .naive_utc();
    id.parse::<ConversationId>().map_err(|_| bad())?;
    Ok((at, id.to_owned()))
}

/// `GET /api/conversations`: latest activity first, keyset-paged.
pub async fn list(
    state: web::Data<AppState>,
    me: CurrentAgent,
    q: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let _ = &me;
    let limit = page_size(q.limit)?;
    let before = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let status = q.status;
    let rows = state
        .app
        .store
        .read(move |c| queries::list_conversations(c, status, before, limit))
        .await?;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last())
        .flatten()
        .and_then(|(r, _)| r.last_message_at.map(|at| encode_cursor(at, &r.id)));
    let items = rows
        .iter()
        .map(|(r, c)| view(&state, r, c))
        .collect::<AppResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_cursor": next_cursor })))
}

/// `GET /api/conversations/{id}`.
pub async fn get(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let (row, contact) = visible(&state, &me, id).await?;
    Ok(HttpResponse::Ok().json(view(&state, &row, &contact)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagesQuery {
    limit: Option<i64>,
    /// A message id: return the page just older than it.
    before: Option<String>,
}

/// `GET /api/conversations/{id}/messages`: one page in provider-timestamp order.
pub async fn messages(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    q: web::Query<MessagesQuery>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    visible(&state, &me, id).await?;
    let limit = page_size(q.limit)?;
    let before = q.before.clone();
    let rows = state
        .app
        .store
        .read(move |c| {
            let cursor = match before {
                Some(b) => Some(
                    queries::message(c, &b)?
                        .filter(|m| m.conversation_id == id.to_string())
                        .ok_or_else(|| {
                            AppError::BadRequest(
                                "`before` is not a message of this conversation".to_owned(),
                            )
                        })?,
                ),
                None => None,
            };
            // One more than asked tells whether older messages remain.
            queries::message_page(c, id, cursor.as_ref(), limit + 1)
        })
        .await?;
    let has_more = rows.len() as i64 > limit;
    let items: Vec<MessageView> = rows
        .iter()
        .skip(usize::from(has_more))
        .map(MessageView::from)
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "has_more": has_more })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    text: String,
    /// Makes retries safe: the same id twice sends once.
    client_id: Option<String>,
    /// A private note, visible to agents only.
    #[serde(default)]
    private: bool,
}

/// `POST /api/conversations/{id}/messages`: an agent's reply or private note.
pub async fn reply(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: web::Json<ReplyRequest>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    visible(&state, &me, id).await?;
    let ReplyRequest {
        text,
        client_id,
        private,
    } = body.into_inner();
    let text = text.trim().to_owned();
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return Err(AppError::Validation(format!(
            "`text` must be 1-{MAX_TEXT_CHARS} characters"
        )));
    }
    if client_id
        .as_ref()
        .is_some_and(|c| c.is_empty() || c.len() > 128)
    {
        return Err(AppError::Validation(
            "`client_id` must be 1-128 bytes".to_owned(),
        ));
    }
    let msg = SendAgentReply {
        agent: me.id,
        text,
        client_id,
        private_note: private,
    };
    let message = ask(&state.registry, id, msg).await?;
    Ok(HttpResponse::Created().json(message))
}

async fn apply(
    state: &AppState,
    me: &CurrentAgent,
    raw_id: &str,
    event: Event,
) -> AppResult<HttpResponse> {
    let id = parse_id(raw_id)?;
    visible(state, me, id).await?;
    let view = ask(&state.registry, id, ApplyEvent(event)).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    status: Status,
}

/// `POST /api/conversations/{id}/status`: take over (`human`), hand back (`bot`), close.
pub async fn set_status(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: web::Json<StatusRequest>,
) -> AppResult<HttpResponse> {
    let event = Event::StatusChanged {
        to: body.status,
        by: By::Agent(me.id),
    };
    apply(&state, &me, &id, event).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    agent_id: Option<AgentId>,
}

/// `POST /api/conversations/{id}/assign`: `{"agent_id": null}` unassigns.
pub async fn assign(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: web::Json<AssignRequest>,
) -> AppResult<HttpResponse> {
    if let Some(agent) = body.agent_id {
        let key = agent.to_string();
        state
            .app
            .store
            .read(move |c| queries::agent_by_id(c, &key))
            .await?
            .ok_or_else(|| AppError::Validation("`agent_id` is not an agent".to_owned()))?;
    }
    let event = Event::Assigned {
        agent: body.agent_id,
        by: By::Agent(me.id),
    };
    apply(&state, &me, &id, event).await
}

pub async fn mark_read(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    apply(&state, &me, &id, Event::MarkedRead).await
}

pub async fn mark_unread(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    apply(&state, &me, &id, Event::MarkedUnread).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveRequest {
    archived: bool,
}

pub async fn archive(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: web::Json<ArchiveRequest>,
) -> AppResult<HttpResponse> {
    apply(&state, &me, &id, Event::Archived(body.archived)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUpRequest {
    /// `1h`, `3h`, `12h` or `24h`…
    preset: Option<FollowUpPreset>,
    /// …or an RFC 3339 time.
    at: Option<String>,
    reason: Option<String>,
}

/// `POST /api/conversations/{id}/follow-up`.
pub async fn schedule_follow_up(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: web::Json<FollowUpRequest>,
) -> AppResult<HttpResponse> {
    let FollowUpRequest { preset, at, reason } = body.into_inner();
    let at = match (preset, at) {
        (Some(p), None) => clock::now() + p.after(),
        (None, Some(at)) => DateTime::parse_from_rfc3339(&at)
            .map(|d| clock::truncate(d.naive_utc()))
            .map_err(|e| AppError::Validation(format!("`at` is not RFC 3339: {e}")))?,
        _ => {
            return Err(AppError::Validation(
                "give exactly one of `preset` and `at`".to_owned(),
            ))
        }
    };
    let reason = reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(AppError::Validation(
            "`reason` must be at most 500 characters".to_owned(),
        ));
    }
    apply(&state, &me, &id, Event::FollowUpScheduled { at, reason }).await
}

/// `DELETE /api/conversations/{id}/follow-up`.
pub async fn cancel_follow_up(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    apply(&state, &me, &id, Event::FollowUpCancelled).await
}
