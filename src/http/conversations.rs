//! The inbox API: list and read conversations, reply, and change what agents may change.
//! Every write goes to the conversation's actor; reads go straight to the database. Every route
//! checks that the agent may see the conversation (else 404, so others' ids are not confirmed).

use crate::http::{
    cursor,
    extract::{Json, Query},
};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    actors::{
        badge,
        messages::{ApplyEvent, DeleteConversation, SendAgentReply, SetTags},
        registry::ask,
    },
    app::AppState,
    auth::CurrentAgent,
    clock,
    db::{
        models::{ContactRow, ConversationRow},
        queries::{self, ConversationFilter, ListSort},
    },
    domain::{
        conversation::{By, DerivedState, Event, FollowUpPreset},
        text,
        types::{ChannelKind, LeadStage, Role, Status},
        AgentId, AssistantId, ConversationId, InboxId, MessageId,
    },
    error::{AppError, AppResult, ErrorBody},
    http::openapi::{
        AgentRefusals, BadRequest, ChangeRefusals, CheckedChangeRefusals, NotFound, ReadRefusals,
        Unauthorized, Unavailable, Unprocessable,
    },
    providers::api::MAX_TEXT_CHARS,
    views::{ConversationView, MessageView},
};

/// A page of conversations.
#[derive(Serialize, ToSchema)]
pub struct ConversationPage {
    pub items: Vec<ConversationView>,
    /// The `cursor` of the next page; `null` on the last one.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// A page of messages, oldest first.
#[derive(Serialize, ToSchema)]
pub struct MessagePage {
    pub items: Vec<MessageView>,
    /// Older messages remain (ask with `before` = the first item's id).
    pub has_more: bool,
}

/// How many conversations wait for a person.
#[derive(Serialize, ToSchema)]
pub struct BadgeCount {
    pub count: i64,
}

const MAX_PAGE: i64 = 200;
const DEFAULT_PAGE: i64 = 50;
const MAX_TAGS: usize = 20;
const MAX_TAG_CHARS: usize = 40;
/// Follow-ups further ahead than this are a typo, not a plan.
const MAX_FOLLOW_UP_DAYS: i64 = 366;
/// List filters' dates outside these years are refused rather than scanned for.
const DATE_YEARS: std::ops::RangeInclusive<i32> = 2000..=2200;

pub(super) fn parse_id(raw: &str) -> AppResult<ConversationId> {
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
pub async fn visible(
    state: &AppState,
    me: &CurrentAgent,
    id: ConversationId,
) -> AppResult<(ConversationRow, ContactRow)> {
    let (row, contact) = state
        .app
        .store
        .read(move |c| queries::conversation_with_contact(c, id))
        .await?
        .ok_or(AppError::NotFound("conversation"))?;
    if !state.app.viewer(me).may_see_assignee(row.assignee_id) {
        return Err(AppError::NotFound("conversation"));
    }
    Ok((row, contact))
}

async fn view(
    state: &AppState,
    row: ConversationRow,
    contact: ContactRow,
) -> AppResult<ConversationView> {
    let id = row.id;
    let tags = state
        .app
        .store
        .read(move |c| queries::tags_of(c, &[id]))
        .await?
        .remove(&row.id)
        .unwrap_or_default();
    let inbox = state.app.inboxes.for_conversation(&row.inbox_id);
    Ok(ConversationView::from_rows(
        &row,
        &contact,
        &tags,
        &inbox,
        clock::now(),
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Who answers: bot, human, closed.
    status: Option<Status>,
    /// created / pending / replied / resolved
    state: Option<DerivedState>,
    /// Only unread.
    #[serde(default)]
    unread: bool,
    /// Only not closed.
    #[serde(default)]
    unresolved: bool,
    /// Only closed.
    #[serde(default)]
    resolved: bool,
    /// Only those waiting for a person.
    #[serde(default)]
    needs_reply: bool,
    /// Only assigned to me.
    #[serde(default)]
    mine: bool,
    /// Only unassigned.
    #[serde(default)]
    unassigned: bool,
    /// Archived ones instead of the others.
    #[serde(default)]
    archived: bool,
    /// Snoozed ones instead of the others (snoozed conversations are in no other view until
    /// they come back).
    #[serde(default)]
    snoozed: bool,
    /// An inbox id.
    inbox: Option<InboxId>,
    /// Inboxes of this channel kind.
    channel: Option<ChannelKind>,
    /// Answered (last) by this assistant (an `[[assistant]]` id; see `GET /api/assistants`).
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    assistant: Option<String>,
    /// Conversations with this tag.
    tag: Option<String>,
    /// `true`: only conversations reviewed at least once; `false`: only those not yet.
    reviewed: Option<bool>,
    /// `activity` (default, latest first), `score_asc` (lowest review score first),
    /// `score_desc`, or `waiting` (longest waiting for a person first); the score orders list
    /// reviewed conversations only, `waiting` those waiting only.
    sort: Option<ListSort>,
    /// RFC 3339 or YYYY-MM-DD (start of that day, UTC).
    from: Option<String>,
    /// RFC 3339 or YYYY-MM-DD (end of that day, UTC).
    to: Option<String>,
    /// Contact name, phone number or message text. (On SQLite, while the server is saturated
    /// with writes, a message is found up to a quarter second after it was stored.)
    #[param(max_length = 200)]
    q: Option<String>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page (`<microseconds>_<conversation id>`).
    #[param(
        pattern = "^-?[0-9]{1,16}_[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    cursor: Option<String>,
}

pub(super) fn parse_time(field: &str, raw: &str, end_of_day: bool) -> AppResult<NaiveDateTime> {
    let t = parse_date_or_time(field, raw, end_of_day)?;
    if !DATE_YEARS.contains(&chrono::Datelike::year(&t)) {
        return Err(AppError::BadRequest(format!(
            "`{field}` must be between the years {} and {}",
            DATE_YEARS.start(),
            DATE_YEARS.end()
        )));
    }
    Ok(t)
}

fn parse_date_or_time(field: &str, raw: &str, end_of_day: bool) -> AppResult<NaiveDateTime> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(clock::truncate(t.naive_utc()));
    }
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| AppError::BadRequest(format!("`{field}` must be RFC 3339 or YYYY-MM-DD")))?;
    let t = if end_of_day {
        day.and_hms_micro_opt(23, 59, 59, 999_999)
    } else {
        day.and_hms_opt(0, 0, 0)
    };
    t.ok_or_else(|| AppError::BadRequest(format!("`{field}` is out of range")))
}

/// An id as the configuration writes them (inboxes, assistants).
fn is_config_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl ListQuery {
    fn filter(&self, state: &AppState, me: &CurrentAgent) -> AppResult<ConversationFilter> {
        let mut inboxes: Option<Vec<InboxId>> = self.inbox.as_ref().map(|i| vec![i.clone()]);
        if let Some(kind) = self.channel {
            let of_kind: Vec<InboxId> = state
                .app
                .settings
                .inboxes
                .iter()
                .filter(|i| i.kind() == kind)
                .map(|i| InboxId::from(i.id.as_str()))
                .collect();
            inboxes = Some(match inboxes {
                Some(given) => given.into_iter().filter(|i| of_kind.contains(i)).collect(),
                None => of_kind,
            });
        }
        let assistant = match &self.assistant {
            Some(a) if !is_config_id(a) => {
                return Err(AppError::Validation(
                    "`assistant` must be 1-64 letters, digits, '-' or '_'".to_owned(),
                ))
            }
            a => a.as_deref().map(AssistantId::from),
        };
        if self.q.as_ref().is_some_and(|q| q.chars().count() > 200) {
            return Err(AppError::Validation(
                "`q` must be at most 200 characters".to_owned(),
            ));
        }
        Ok(ConversationFilter {
            status: self.status,
            unread: self.unread,
            unresolved: self.unresolved,
            resolved: self.resolved,
            needs_reply: self.needs_reply,
            assignee: self.mine.then_some(me.id),
            unassigned: self.unassigned,
            archived: self.archived,
            snoozed: self.snoozed,
            state: self.state,
            inboxes,
            assistant,
            tag: self.tag.clone(),
            from: self
                .from
                .as_deref()
                .map(|f| parse_time("from", f, false))
                .transpose()?,
            to: self
                .to
                .as_deref()
                .map(|t| parse_time("to", t, true))
                .transpose()?,
            query: self.q.clone(),
            reviewed: self.reviewed,
            sort: self.sort.unwrap_or_default(),
        })
    }
}

/// `GET /api/conversations`: filters combine; latest activity first; keyset-paged.
#[utoipa::path(
    operation_id = "list_conversations",
    get,
    path = "/api/conversations",
    tag = "conversations",
    summary = "List conversations (filters combine; latest activity first; keyset-paged)",
    params(ListQuery),
    responses(
        (status = 200, description = "A page", body = ConversationPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    me: CurrentAgent,
    q: Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let limit = page_size(q.limit)?;
    let before = q.cursor.as_deref().map(cursor::decode).transpose()?;
    let filter = q.filter(&state, &me)?;
    let viewer = state.app.viewer(&me);
    let (rows, mut tags) = state
        .app
        .store
        .read(move |c| {
            let rows = queries::list_conversations(c, &filter, viewer, before, limit)?;
            let ids: Vec<ConversationId> = rows.iter().map(|(r, _)| r.id).collect();
            let tags = queries::tags_of(c, &ids)?;
            Ok((rows, tags))
        })
        .await?;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last())
        .flatten()
        .and_then(|(r, _)| r.last_message_at.map(|at| cursor::encode(at, r.id)));
    let now = clock::now();
    let items = rows
        .iter()
        .map(|(r, c)| {
            let inbox = state.app.inboxes.for_conversation(&r.inbox_id);
            ConversationView::from_rows(r, c, &tags.remove(&r.id).unwrap_or_default(), &inbox, now)
        })
        .collect::<Vec<_>>();
    Ok(HttpResponse::Ok().json(ConversationPage { items, next_cursor }))
}

/// `GET /api/conversations/{id}`.
#[utoipa::path(
    operation_id = "get_conversation",
    get,
    path = "/api/conversations/{id}",
    tag = "conversations",
    summary = "A conversation",
    params(("id" = ConversationId, Path, description = "The conversation")),
    responses(
        (status = 200, description = "The conversation", body = ConversationView),
        ReadRefusals,
    ),
)]
pub async fn get(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let (row, contact) = visible(&state, &me, id).await?;
    Ok(HttpResponse::Ok().json(view(&state, row, contact).await?))
}

/// What language models spent on a conversation.
#[derive(Serialize, ToSchema)]
pub struct ConversationUsage {
    /// The assistant that answered it last.
    #[schema(required = true)]
    pub assistant_id: Option<AssistantId>,
    /// Calls and tokens over the conversation's life, retries and failed calls included.
    pub tokens: queries::TokenCounts,
}

/// `GET /api/conversations/{id}/usage`.
#[utoipa::path(
    operation_id = "get_conversation_usage",
    get,
    path = "/api/conversations/{id}/usage",
    tag = "conversations",
    summary = "Tokens language models used on a conversation",
    params(("id" = ConversationId, Path, description = "The conversation")),
    responses(
        (status = 200, description = "The conversation's usage", body = ConversationUsage),
        ReadRefusals,
    ),
)]
pub async fn usage(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let (row, _) = visible(&state, &me, id).await?;
    let tokens = state
        .app
        .store
        .read(move |c| queries::conversation_usage(c, id))
        .await?;
    Ok(HttpResponse::Ok().json(ConversationUsage {
        assistant_id: row.assistant_id,
        tokens,
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// A message id of this conversation: return the page just older than it.
    before: Option<MessageId>,
}

/// `GET /api/conversations/{id}/messages`: one page in provider-timestamp order.
#[utoipa::path(
    operation_id = "list_messages",
    get,
    path = "/api/conversations/{id}/messages",
    tag = "messages",
    summary = "A page of messages in provider-timestamp order",
    params(("id" = ConversationId, Path, description = "The conversation"), MessagesQuery),
    responses(
        (status = 200, description = "Messages", body = MessagePage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn messages(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    q: Query<MessagesQuery>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    visible(&state, &me, id).await?;
    let limit = page_size(q.limit)?;
    let before = q.before;
    let rows = state
        .app
        .store
        .read(move |c| {
            let cursor = match before {
                Some(b) => Some(
                    queries::message(c, b)?
                        .filter(|m| m.conversation_id == id)
                        .ok_or_else(|| {
                            AppError::Validation(
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
    Ok(HttpResponse::Ok().json(MessagePage { items, has_more }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    /// Not blank (whitespace or zero-width characters only are blank); trimmed.
    #[schema(min_length = 1, max_length = 4096, pattern = r"\S")]
    text: String,
    /// Makes retries safe: the same id twice sends once. 1-128 bytes.
    #[schema(min_length = 1, max_length = 128)]
    client_id: Option<String>,
    /// A private note, visible to agents only.
    #[serde(default)]
    private: bool,
}

/// `POST /api/conversations/{id}/messages`: an agent's reply or private note.
#[utoipa::path(
    operation_id = "reply",
    post,
    path = "/api/conversations/{id}/messages",
    tag = "messages",
    summary = "Reply (or a private note); the same client_id twice sends once",
    params(("id" = ConversationId, Path, description = "The conversation")),
    request_body = ReplyRequest,
    responses(
        (status = 201, description = "The message", body = MessageView),
        (status = 409, description = "not_assignee: the reply policy allows only the assignee; \
            contact_blocked: unblock the contact to reply", body = ErrorBody),
        (status = 422, description = "window_closed: outside the service window (send a \
            template); validation_failed: a value breaks a rule (named)", body = ErrorBody),
        ChangeRefusals,
    ),
)]
pub async fn reply(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: Json<ReplyRequest>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    visible(&state, &me, id).await?;
    let ReplyRequest {
        text,
        client_id,
        private,
    } = body.into_inner();
    let text = text::trim_visible(&text).to_owned();
    if text::is_blank(&text) || text.chars().count() > MAX_TEXT_CHARS {
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
        only_assignee: state.app.only_assignee(&me),
        text,
        client_id,
        private_note: private,
    };
    let message = ask(&state.registry, id, msg).await?;
    Ok(HttpResponse::Created().json(message))
}

pub(super) async fn apply(
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    status: Status,
}

/// `POST /api/conversations/{id}/status`: take over (`human`), hand back (`bot`), close.
#[utoipa::path(
    operation_id = "set_status",
    post,
    path = "/api/conversations/{id}/status",
    tag = "conversations",
    summary = "Take over (human), hand back (bot) or close",
    params(("id" = ConversationId, Path, description = "The conversation")),
    request_body = StatusRequest,
    responses(
        (status = 200, description = "The conversation after the change", body = ConversationView),
        CheckedChangeRefusals,
    ),
)]
pub async fn set_status(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: Json<StatusRequest>,
) -> AppResult<HttpResponse> {
    let event = Event::StatusChanged {
        to: body.status,
        by: By::Agent(me.id),
    };
    apply(&state, &me, &id, event).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The agent; `null` (or left out) unassigns.
    agent_id: Option<AgentId>,
}

/// `POST /api/conversations/{id}/assign`: `{"agent_id": null}` unassigns. Agents restricted by
/// visibility may only assign to themselves or unassign their own.
#[utoipa::path(
    operation_id = "assign",
    post,
    path = "/api/conversations/{id}/assign",
    tag = "conversations",
    summary = "Assign to an agent, or unassign",
    params(("id" = ConversationId, Path, description = "The conversation")),
    request_body = AssignRequest,
    responses(
        (status = 200, description = "The conversation after the change", body = ConversationView),
        (status = 403, description = "forbidden: agents restricted by visibility may only assign to themselves", body = ErrorBody),
        (status = 422, description = "validation_failed: `agent_id` is not an agent or is a deactivated one, or a value breaks a rule", body = ErrorBody),
        ChangeRefusals,
    ),
)]
pub async fn assign(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: Json<AssignRequest>,
) -> AppResult<HttpResponse> {
    may_assign(&state, &me, body.agent_id).await?;
    let event = Event::Assigned {
        agent: body.agent_id,
        by: By::Agent(me.id),
    };
    apply(&state, &me, &id, event).await
}

/// Whether `me` may assign to `agent` (`None`: unassign): agents restricted by visibility only
/// to themselves, and only to an agent that exists (whose name the system event then uses).
pub(super) async fn may_assign(
    state: &AppState,
    me: &CurrentAgent,
    agent: Option<AgentId>,
) -> AppResult<()> {
    let Some(agent) = agent else {
        return Ok(());
    };
    if agent != me.id && !state.app.viewer(me).sees_all {
        return Err(AppError::Forbidden(
            "agents may only assign conversations to themselves",
        ));
    }
    let row = state
        .app
        .store
        .read(move |c| queries::agent_by_id(c, agent))
        .await?
        .ok_or_else(|| AppError::Validation("`agent_id` is not an agent".to_owned()))?;
    if row.deactivated_at.is_some() {
        return Err(AppError::Validation(
            "`agent_id` is a deactivated agent".to_owned(),
        ));
    }
    state.app.agent_names.note(agent, &row.name);
    Ok(())
}

/// `POST /api/conversations/{id}/take`: assign to me if still unassigned; 409 otherwise.
#[utoipa::path(
    operation_id = "take",
    post,
    path = "/api/conversations/{id}/take",
    tag = "conversations",
    summary = "Assign to me if still unassigned",
    params(("id" = ConversationId, Path, description = "The conversation")),
    responses(
        (status = 200, description = "The conversation after the change", body = ConversationView),
        (status = 409, description = "already_assigned: someone else holds it", body = ErrorBody),
        ReadRefusals,
    ),
)]
pub async fn take(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    apply(&state, &me, &id, Event::Claimed { agent: me.id }).await
}

#[utoipa::path(
    operation_id = "mark_read",
    post,
    path = "/api/conversations/{id}/read",
    tag = "conversations",
    summary = "Mark as read",
    params(("id" = ConversationId, Path, description = "The conversation")),
    responses(
        (status = 200, description = "The conversation after the change", body = ConversationView),
        ReadRefusals,
    ),
)]
pub async fn mark_read(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    apply(&state, &me, &id, Event::MarkedRead).await
}

#[utoipa::path(
    operation_id = "mark_unread",
    post,
    path = "/api/conversations/{id}/unread",
    tag = "conversations",
    summary = "Mark as unread",
    params(("id" = ConversationId, Path, description = "The conversation")),
    responses(
        (status = 200, description = "The conversation after the change", body = ConversationView),
        ReadRefusals,
    ),
)]
pub async fn mark_unread(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    apply(&state, &me, &id, Event::MarkedUnread).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArchiveRequest {
    archived: bool,
}

#[utoipa::path(
    operation_id = "archive",
    post,
    path = "/api/conversations/{id}/archive",
    tag = "conversations",
    summary = "Archive or unarchive",
    params(("id" = ConversationId, Path, description = "The conversation")),
    request_body = ArchiveRequest,
    responses(
        (status = 200, description = "The conversation after the change", body = ConversationView),
        CheckedChangeRefusals,
    ),
)]
pub async fn archive(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: Json<ArchiveRequest>,
) -> AppResult<HttpResponse> {
    apply(&state, &me, &id, Event::Archived(body.archived)).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadStageRequest {
    /// The stage; `null` (or left out) clears it.
    lead_stage: Option<LeadStage>,
}

/// `POST /api/conversations/{id}/lead-stage`: `{"lead_stage": null}` clears it.
#[utoipa::path(
    operation_id = "set_lead_stage",
    post,
    path = "/api/conversations/{id}/lead-stage",
    tag = "conversations",
    summary = "Set or clear the lead stage",
    params(("id" = ConversationId, Path, description = "The conversation")),
    request_body = LeadStageRequest,
    responses(
        (status = 200, description = "The conversation after the change", body = ConversationView),
        CheckedChangeRefusals,
    ),
)]
pub async fn set_lead_stage(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: Json<LeadStageRequest>,
) -> AppResult<HttpResponse> {
    apply(&state, &me, &id, Event::LeadStageSet(body.lead_stage)).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagsRequest {
    /// Each 1-40 characters (trimmed); `VIP` and `vip` are one tag; at most 20.
    #[schema(schema_with = crate::http::openapi::tag_list)]
    tags: Vec<String>,
}

/// `PUT /api/conversations/{id}/tags`: replaces the tags (trimmed, deduplicated).
#[utoipa::path(
    operation_id = "set_tags",
    put,
    path = "/api/conversations/{id}/tags",
    tag = "conversations",
    summary = "Replace the tags (trimmed, deduplicated, sorted)",
    params(("id" = ConversationId, Path, description = "The conversation")),
    request_body = TagsRequest,
    responses(
        (status = 200, description = "The conversation after the change", body = ConversationView),
        CheckedChangeRefusals,
    ),
)]
pub async fn set_tags(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: Json<TagsRequest>,
) -> AppResult<HttpResponse> {
    let tags = clean_tags(body.into_inner().tags)?;
    let id = parse_id(&id)?;
    visible(&state, &me, id).await?;
    let view = ask(&state.registry, id, SetTags(tags)).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Tags as stored: trimmed, 1-40 characters, one spelling per tag whatever its case (the
/// first given is kept), sorted, at most 20.
pub(super) fn clean_tags(raw: Vec<String>) -> AppResult<Vec<String>> {
    let mut tags: Vec<String> = Vec::new();
    for tag in raw {
        let tag = text::trim_visible(&tag).to_owned();
        if text::is_blank(&tag) || tag.chars().count() > MAX_TAG_CHARS {
            return Err(AppError::Validation(format!(
                "each tag must be 1-{MAX_TAG_CHARS} characters"
            )));
        }
        // `VIP` and `vip` are one tag: the first spelling given is kept.
        if !tags.iter().any(|t| t.to_lowercase() == tag.to_lowercase()) {
            tags.push(tag);
        }
    }
    // Sorted, as they are read back from the database.
    tags.sort();
    if tags.len() > MAX_TAGS {
        return Err(AppError::Validation(format!("at most {MAX_TAGS} tags")));
    }
    Ok(tags)
}

/// `DELETE /api/conversations/{id}`: permanent, with every message; admins only (agents
/// archive), recorded in the audit log.
#[utoipa::path(
    operation_id = "delete_conversation",
    delete,
    path = "/api/conversations/{id}",
    tag = "conversations",
    summary = "Delete for good, with every message (admins; recorded in the audit log)",
    params(("id" = ConversationId, Path, description = "The conversation")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "forbidden: only admins delete; agents archive", body = ErrorBody),
        ReadRefusals,
    ),
)]
pub async fn delete(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    visible(&state, &me, id).await?;
    if me.role != Role::Admin {
        return Err(AppError::Forbidden(
            "only admins may delete a conversation for good; archive it instead",
        ));
    }
    let msg = DeleteConversation {
        by: me.id,
        by_email: me.email.clone(),
    };
    ask(&state.registry, id, msg).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Exactly one of `preset` and `at`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpRequest {
    /// `1h`, `3h`, `12h` or `24h`…
    preset: Option<FollowUpPreset>,
    /// …or an RFC 3339 time, in the future and within 366 days.
    #[schema(format = DateTime)]
    at: Option<String>,
    /// Shown with the reminder (trimmed).
    #[schema(max_length = 500)]
    reason: Option<String>,
}

/// `POST /api/conversations/{id}/follow-up`.
#[utoipa::path(
    operation_id = "schedule_follow_up",
    post,
    path = "/api/conversations/{id}/follow-up",
    tag = "conversations",
    summary = "Schedule a follow-up: a preset or a time",
    params(("id" = ConversationId, Path, description = "The conversation")),
    request_body = FollowUpRequest,
    responses(
        (status = 200, description = "The conversation after the change", body = ConversationView),
        (status = 422, description = "validation_failed: not exactly one of `preset` and `at`, `at` not RFC 3339 or too far ahead, `reason` too long; follow_up_in_past", body = ErrorBody),
        ChangeRefusals,
    ),
)]
pub async fn schedule_follow_up(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: Json<FollowUpRequest>,
) -> AppResult<HttpResponse> {
    let FollowUpRequest { preset, at, reason } = body.into_inner();
    let now = clock::now();
    let at = match (preset, at) {
        (Some(p), None) => now + p.after(),
        (None, Some(at)) => DateTime::parse_from_rfc3339(&at)
            .map(|d| clock::truncate(d.naive_utc()))
            .map_err(|e| AppError::Validation(format!("`at` is not RFC 3339: {e}")))?,
        _ => {
            return Err(AppError::Validation(
                "give exactly one of `preset` and `at`".to_owned(),
            ))
        }
    };
    if at > now + chrono::Duration::days(MAX_FOLLOW_UP_DAYS) {
        return Err(AppError::Validation(format!(
            "`at` must be within {MAX_FOLLOW_UP_DAYS} days"
        )));
    }
    let reason = reason
        .map(|r| text::trim_visible(&r).to_owned())
        .filter(|r| !text::is_blank(r));
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(AppError::Validation(
            "`reason` must be at most 500 characters".to_owned(),
        ));
    }
    apply(
        &state,
        &me,
        &id,
        Event::FollowUpScheduled {
            at,
            reason,
            by: By::Agent(me.id),
        },
    )
    .await
}

/// `DELETE /api/conversations/{id}/follow-up`.
#[utoipa::path(
    operation_id = "cancel_follow_up",
    delete,
    path = "/api/conversations/{id}/follow-up",
    tag = "conversations",
    summary = "Cancel the follow-up",
    params(("id" = ConversationId, Path, description = "The conversation")),
    responses(
        (status = 200, description = "The conversation after the change", body = ConversationView),
        ReadRefusals,
    ),
)]
pub async fn cancel_follow_up(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let by = By::Agent(me.id);
    apply(&state, &me, &id, Event::FollowUpCancelled { by }).await
}

/// `GET /api/badge`: how many conversations wait for a person, among those I may see.
#[utoipa::path(
    operation_id = "badge",
    get,
    path = "/api/badge",
    tag = "conversations",
    summary = "Conversations waiting for a person, among those I may see",
    responses(
        (status = 200, description = "The count", body = BadgeCount),
        AgentRefusals,
    ),
)]
pub async fn badge(state: web::Data<AppState>, me: CurrentAgent) -> AppResult<HttpResponse> {
    // The kept counts while nothing changed since they were counted; a fresh count otherwise.
    let counts = match state.app.badge.send(badge::Current).await {
        Ok(Some(counts)) => counts,
        _ => badge::fetch_counts(&state.app.store).await?,
    };
    let count = counts.for_viewer(&state.app.viewer(&me));
    Ok(HttpResponse::Ok().json(BadgeCount { count }))
}
