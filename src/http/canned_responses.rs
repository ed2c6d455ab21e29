//! Canned responses: saved replies agents insert from the composer by typing `/` and a short
//! code.
//!
//! Every agent lists them (the composer's picker needs them); only admins and supervisors
//! create, change or delete them (403 for agents), since a reply every agent may send speaks
//! for the business. A canned response belongs to one inbox or, with no inbox, is shared by
//! all; its short code is unique within that scope, ignoring case (409
//! `duplicate_short_code`). The text may hold `{{contact.name}}`, `{{contact.first_name}}`,
//! `{{contact.email}}`, `{{contact.phone}}` and `{{agent.name}}`: they are stored as written
//! and expanded by the dashboard when the reply is inserted (it knows the open conversation's
//! contact and the signed-in agent), so an edit to the contact shows in the next insert.

use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    app::AppState,
    auth::CurrentAgent,
    clock,
    db::{models::CannedResponseRow, queries},
    domain::{AgentId, CannedResponseId, InboxId},
    error::{AppError, AppResult, ErrorBody},
    http::{
        extract::{Json, Query},
        openapi::{AgentRefusals, ReadRefusals},
    },
};

/// Longest short code, in characters.
const MAX_CODE: usize = 32;
/// Longest text, in characters: a chat reply, not a document.
const MAX_TEXT: usize = 4000;
/// Longest `q`: more than any short code or useful text fragment.
const MAX_QUERY: usize = 200;

/// A saved reply.
#[derive(Serialize, ToSchema)]
#[schema(as = CannedResponse)]
pub struct CannedResponseView {
    id: CannedResponseId,
    /// What follows `/` in the composer: letters, digits, `-`, `_`.
    short_code: String,
    /// The reply, with its `{{…}}` variables unexpanded.
    text: String,
    /// The inbox it belongs to; `null`: shared by every inbox.
    #[schema(required = true)]
    inbox: Option<InboxId>,
    #[schema(required = true)]
    created_by: Option<AgentId>,
    #[schema(value_type = crate::views::UtcTime)]
    created_at: NaiveDateTime,
    #[schema(value_type = crate::views::UtcTime)]
    updated_at: NaiveDateTime,
}

impl From<CannedResponseRow> for CannedResponseView {
    fn from(r: CannedResponseRow) -> Self {
        Self {
            id: r.id,
            short_code: r.short_code,
            text: r.text,
            inbox: r.inbox_id,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = CannedResponseList)]
struct CannedResponseList {
    /// By short code, ignoring case.
    items: Vec<CannedResponseView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCannedResponse {
    /// 1-32 letters, digits, `-` or `_`; unique within its inbox (or among the shared ones),
    /// ignoring case (409 `duplicate_short_code`).
    #[schema(min_length = 1, max_length = 32, pattern = "^[A-Za-z0-9_-]{1,32}$")]
    short_code: String,
    /// 1-4,000 characters, no NUL.
    #[schema(min_length = 1, max_length = 4000)]
    text: String,
    /// A configured inbox; absent or `null`: shared by every inbox.
    inbox: Option<String>,
}

/// Absent stays `None`; `null` is `Some(None)`; a value is `Some(Some(v))`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Any of the fields; `inbox: null` makes it shared.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedResponseEdit {
    #[schema(min_length = 1, max_length = 32, pattern = "^[A-Za-z0-9_-]{1,32}$")]
    short_code: Option<String>,
    #[schema(min_length = 1, max_length = 4000)]
    text: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    inbox: Option<Option<String>>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Keeps those whose short code starts with it or whose text contains it, ignoring case.
    #[param(max_length = 200)]
    q: Option<String>,
    /// Keeps this inbox's canned responses and the shared ones (422 for an unknown inbox).
    inbox: Option<String>,
}

fn parse_id(raw: &str) -> AppResult<CannedResponseId> {
    raw.parse()
        .map_err(|_| AppError::NotFound("canned response"))
}

fn may_manage(me: &CurrentAgent) -> AppResult<()> {
    match me.role.sees_everything() {
        true => Ok(()),
        false => Err(AppError::Forbidden(
            "only admins and supervisors create, change or delete canned responses",
        )),
    }
}

fn checked_code(raw: &str) -> AppResult<String> {
    let n = raw.chars().count();
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if n == 0 || n > MAX_CODE || !raw.chars().all(allowed) {
        return Err(AppError::Validation(format!(
            "`short_code` must be 1-{MAX_CODE} letters, digits, `-` or `_` (no spaces)"
        )));
    }
    Ok(raw.to_owned())
}

fn checked_text(raw: &str) -> AppResult<String> {
    let n = raw.chars().count();
    if raw.trim().is_empty() || n > MAX_TEXT {
        return Err(AppError::Validation(format!(
            "`text` must be 1-{MAX_TEXT} characters, not only spaces"
        )));
    }
    if raw.contains('\0') {
        return Err(AppError::Validation(
            "`text` must not contain a NUL character".to_owned(),
        ));
    }
    Ok(raw.to_owned())
}

/// `None` (shared) or a configured inbox.
fn checked_inbox(state: &AppState, raw: Option<&str>) -> AppResult<Option<InboxId>> {
    match raw {
        None => Ok(None),
        Some(id) if state.app.inboxes.get(id).is_some() => Ok(Some(InboxId::from(id))),
        Some(id) => Err(AppError::Validation(format!(
            "`inbox`: no inbox `{id}` is configured"
        ))),
    }
}

async fn load(state: &AppState, raw_id: &str) -> AppResult<CannedResponseRow> {
    let id = parse_id(raw_id)?;
    state
        .app
        .store
        .read(move |c| queries::canned(c, id)?.ok_or(AppError::NotFound("canned response")))
        .await
}

/// Whether `row` matches `q` (already lower-cased): a short code prefix or a text substring.
fn matches(row: &CannedResponseRow, q: &str) -> bool {
    row.short_code.to_lowercase().starts_with(q) || row.text.to_lowercase().contains(q)
}

/// `GET /api/canned-responses`.
#[utoipa::path(
    operation_id = "list_canned_responses",
    get,
    path = "/api/canned-responses",
    tag = "canned-responses",
    summary = "Canned responses by short code, optionally narrowed to an inbox's and a search",
    params(ListQuery),
    responses(
        (status = 200, description = "The canned responses", body = CannedResponseList),
        (status = 400, response = crate::http::openapi::BadRequest),
        (status = 422, description = "validation_failed: `q` is too long, or `inbox` names no configured inbox", body = ErrorBody),
        AgentRefusals,
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    _me: CurrentAgent,
    query: Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let ListQuery { q, inbox } = query.into_inner();
    if q.as_ref().is_some_and(|q| q.chars().count() > MAX_QUERY) {
        return Err(AppError::Validation(format!(
            "`q` must be at most {MAX_QUERY} characters"
        )));
    }
    let inbox = checked_inbox(&state, inbox.as_deref())?;
    let q = q.map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty());
    let mut rows = state
        .app
        .store
        .read(move |c| queries::canned_responses_of(c, inbox.as_ref()))
        .await?;
    if let Some(q) = &q {
        rows.retain(|r| matches(r, q));
    }
    rows.sort_by(|a, b| {
        (a.short_code.to_lowercase(), &a.short_code, a.id).cmp(&(
            b.short_code.to_lowercase(),
            &b.short_code,
            b.id,
        ))
    });
    let items = rows.into_iter().map(CannedResponseView::from).collect();
    Ok(HttpResponse::Ok().json(CannedResponseList { items }))
}

/// `POST /api/canned-responses`.
#[utoipa::path(
    operation_id = "create_canned_response",
    post,
    path = "/api/canned-responses",
    tag = "canned-responses",
    summary = "Create a canned response (admins and supervisors)",
    request_body = NewCannedResponse,
    responses(
        (status = 201, description = "Created", body = CannedResponseView),
        (status = 400, response = crate::http::openapi::BadRequest),
        (status = 403, description = "forbidden: agents may not create canned responses", body = ErrorBody),
        (status = 409, description = "duplicate_short_code: the short code is taken in this scope", body = ErrorBody),
        (status = 413, response = crate::http::openapi::TooLarge),
        (status = 422, description = "validation_failed: a bad `short_code` or `text`, or an unknown `inbox`", body = ErrorBody),
        AgentRefusals,
    ),
)]
pub async fn create(
    state: web::Data<AppState>,
    me: CurrentAgent,
    body: Json<NewCannedResponse>,
) -> AppResult<HttpResponse> {
    may_manage(&me)?;
    let NewCannedResponse {
        short_code,
        text,
        inbox,
    } = body.into_inner();
    let short_code = checked_code(&short_code)?;
    let text = checked_text(&text)?;
    let inbox_id = checked_inbox(&state, inbox.as_deref())?;
    let now = clock::now();
    let row = CannedResponseRow {
        id: CannedResponseId::new(),
        short_code,
        text,
        inbox_id,
        created_by: Some(me.id),
        created_at: now,
        updated_at: now,
    };
    let stored = row.clone();
    state
        .app
        .store
        .write(move |c| queries::insert_canned(c, &stored))
        .await?;
    tracing::info!(canned_response_id = %row.id, "canned response created");
    Ok(HttpResponse::Created().json(CannedResponseView::from(row)))
}

/// `PATCH /api/canned-responses/{id}`.
#[utoipa::path(
    operation_id = "edit_canned_response",
    patch,
    path = "/api/canned-responses/{id}",
    tag = "canned-responses",
    summary = "Change a canned response's short code, text or inbox (admins and supervisors)",
    params(("id" = CannedResponseId, Path, description = "The canned response")),
    request_body = CannedResponseEdit,
    responses(
        (status = 200, description = "The canned response after the change", body = CannedResponseView),
        (status = 400, response = crate::http::openapi::BadRequest),
        (status = 403, description = "forbidden: agents may not change canned responses", body = ErrorBody),
        (status = 409, description = "duplicate_short_code: the short code is taken in this scope", body = ErrorBody),
        (status = 413, response = crate::http::openapi::TooLarge),
        (status = 422, description = "validation_failed: nothing to change, a bad `short_code` or `text`, or an unknown `inbox`", body = ErrorBody),
        ReadRefusals,
    ),
)]
pub async fn edit(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: Json<CannedResponseEdit>,
) -> AppResult<HttpResponse> {
    may_manage(&me)?;
    let CannedResponseEdit {
        short_code,
        text,
        inbox,
    } = body.into_inner();
    if short_code.is_none() && text.is_none() && inbox.is_none() {
        return Err(AppError::Validation(
            "give a new `short_code`, `text` or `inbox`".to_owned(),
        ));
    }
    let short_code = short_code.as_deref().map(checked_code).transpose()?;
    let text = text.as_deref().map(checked_text).transpose()?;
    let inbox = inbox
        .map(|i| checked_inbox(&state, i.as_deref()))
        .transpose()?;
    let mut row = load(&state, &id).await?;
    if let Some(code) = short_code {
        row.short_code = code;
    }
    if let Some(text) = text {
        row.text = text;
    }
    if let Some(inbox) = inbox {
        row.inbox_id = inbox;
    }
    let now = clock::now();
    row.updated_at = now;
    let stored = row.clone();
    state
        .app
        .store
        .write(move |c| queries::update_canned(c, &stored, now))
        .await?;
    Ok(HttpResponse::Ok().json(CannedResponseView::from(row)))
}

/// `DELETE /api/canned-responses/{id}`.
#[utoipa::path(
    operation_id = "delete_canned_response",
    delete,
    path = "/api/canned-responses/{id}",
    tag = "canned-responses",
    summary = "Delete a canned response (admins and supervisors)",
    params(("id" = CannedResponseId, Path, description = "The canned response")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "forbidden: agents may not delete canned responses", body = ErrorBody),
        ReadRefusals,
    ),
)]
pub async fn delete(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    may_manage(&me)?;
    let id = parse_id(&id)?;
    let deleted = state
        .app
        .store
        .write(move |c| queries::delete_canned(c, id))
        .await?;
    if !deleted {
        return Err(AppError::NotFound("canned response"));
    }
    tracing::info!(canned_response_id = %id, "canned response deleted");
    Ok(HttpResponse::NoContent().finish())
}
