//! What was learned about a person, for agents: list, add, edit, remove.
//!
//! Memories belong to the person, not to one channel: the contacts with the same phone number
//! (WhatsApp, SMS, the API channel) share one set, so `GET /api/contacts/{id}/memories` answers
//! the live memories of every contact of that person, newest first, as one flat list (each with
//! its `kind`; the dashboard groups them). At most 50 are live per person: past that, the
//! oldest is invalidated.
//!
//! Nothing is deleted: an edit invalidates the memory and stores the edited one as a new row
//! (its answer carries the new id), reconciled like any other (so "Name: Anna" replaces the
//! known name, and an edit into a duplicate of another live memory answers that one); a delete
//! invalidates it. Invalidated memories are never shown again.
//!
//! Visibility follows the conversations: an agent reaches a contact's memories only if they may
//! see a conversation of that contact, and a memory only if they may see a conversation of its
//! person; anything else is 404, as for other hidden resources.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    app::AppState,
    auth::CurrentAgent,
    clock,
    db::{models::MemoryRow, queries},
    domain::{memory::MAX_TEXT_CHARS, text, types::MemoryKind, AgentId, ContactId, MemoryId},
    error::{AppError, AppResult},
    http::{
        extract::Json,
        openapi::{CheckedChangeRefusals, ReadRefusals},
    },
    views::MemoryView,
};

/// The person's live memories, newest first.
#[derive(Serialize, ToSchema)]
#[schema(as = MemoryList)]
struct MemoryList {
    items: Vec<MemoryView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryRequest {
    kind: MemoryKind,
    /// 1-500 characters, not blank; trimmed.
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    text: String,
}

/// At least one of `kind` and `text` (422 otherwise).
// Not said as `minProperties`: utoipa 5 writes `min_properties` out as `maxProperties`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryEdit {
    kind: Option<MemoryKind>,
    /// 1-500 characters, not blank; trimmed.
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    text: Option<String>,
}

/// The text as stored: trimmed, 1-500 characters, nothing blank. (A NUL was refused by the
/// extractor already.)
fn checked_text(raw: &str) -> AppResult<String> {
    let trimmed = text::trim_visible(raw);
    if text::is_blank(trimmed) || raw.chars().count() > MAX_TEXT_CHARS {
        return Err(AppError::Validation(format!(
            "`text` must be 1-{MAX_TEXT_CHARS} characters"
        )));
    }
    Ok(trimmed.to_owned())
}

/// May this agent see any of these conversations (by their assignees)?
fn sees_any(state: &AppState, me: &CurrentAgent, assignees: &[Option<AgentId>]) -> bool {
    let viewer = state.app.viewer(me);
    viewer.sees_all || assignees.iter().any(|a| viewer.may_see_assignee(*a))
}

/// The contact, if this agent may see a conversation of it; 404 otherwise.
pub(crate) async fn reachable_contact(
    state: &AppState,
    me: &CurrentAgent,
    raw_id: &str,
) -> AppResult<ContactId> {
    let id: ContactId = raw_id.parse().map_err(|_| AppError::NotFound("contact"))?;
    let assignees = state
        .app
        .store
        .read(move |c| {
            queries::contact(c, id)?.ok_or(AppError::NotFound("contact"))?;
            let conversations = queries::conversations_of_contacts(c, &[id])?;
            Ok(conversations
                .iter()
                .map(|r| r.assignee_id)
                .collect::<Vec<_>>())
        })
        .await?;
    match sees_any(state, me, &assignees) {
        true => Ok(id),
        false => Err(AppError::NotFound("contact")),
    }
}

/// The live memory, if this agent may see a conversation of its person; 404 otherwise.
async fn reachable_memory(
    state: &AppState,
    me: &CurrentAgent,
    raw_id: &str,
) -> AppResult<MemoryRow> {
    let id: MemoryId = raw_id.parse().map_err(|_| AppError::NotFound("memory"))?;
    let (memory, assignees) = state
        .app
        .store
        .read(move |c| {
            let memory = queries::live_memory(c, id)?.ok_or(AppError::NotFound("memory"))?;
            let contact =
                queries::contact(c, memory.contact_id)?.ok_or(AppError::NotFound("memory"))?;
            let ids: Vec<ContactId> = queries::same_person(c, &contact)?
                .iter()
                .map(|c| c.id)
                .collect();
            let assignees: Vec<_> = queries::conversations_of_contacts(c, &ids)?
                .iter()
                .map(|r| r.assignee_id)
                .collect();
            Ok((memory, assignees))
        })
        .await?;
    match sees_any(state, me, &assignees) {
        true => Ok(memory),
        false => Err(AppError::NotFound("memory")),
    }
}

/// `GET /api/contacts/{id}/memories`: what is known about the person.
#[utoipa::path(
    operation_id = "list_memories",
    get,
    path = "/api/contacts/{id}/memories",
    tag = "memories",
    summary = "The person's live memories (shared by the contacts with the same phone), newest first",
    params(("id" = ContactId, Path, description = "The contact")),
    responses(
        (status = 200, description = "The memories", body = MemoryList),
        ReadRefusals,
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = reachable_contact(&state, &me, &id).await?;
    let rows = state
        .app
        .store
        .read(move |c| queries::person_memories(c, id))
        .await?;
    let items = rows.iter().map(MemoryView::from).collect();
    Ok(HttpResponse::Ok().json(MemoryList { items }))
}

/// `POST /api/contacts/{id}/memories`: an agent's memory of the person.
#[utoipa::path(
    operation_id = "add_memory",
    post,
    path = "/api/contacts/{id}/memories",
    tag = "memories",
    summary = "Remember something about the person (a fact written \"Name: …\", \"City: …\", \
        \"Email: …\", \"Phone: …\" or \"Works at: …\" replaces the known value)",
    params(("id" = ContactId, Path, description = "The contact")),
    request_body = MemoryRequest,
    responses(
        (status = 201, description = "Stored", body = MemoryView),
        (status = 200, description = "Already known: the live memory it duplicates", body = MemoryView),
        CheckedChangeRefusals,
    ),
)]
pub async fn add(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: Json<MemoryRequest>,
) -> AppResult<HttpResponse> {
    let MemoryRequest { kind, text } = body.into_inner();
    let text = checked_text(&text)?;
    let id = reachable_contact(&state, &me, &id).await?;
    let agent = me.id;
    let now = clock::now();
    let (row, created) = state
        .app
        .store
        .write(move |c| queries::add_memory(c, id, agent, kind, &text, now))
        .await?;
    tracing::info!(contact_id = %id, memory_id = %row.id, created, "memory added by an agent");
    let view = MemoryView::from(&row);
    Ok(match created {
        true => HttpResponse::Created().json(view),
        false => HttpResponse::Ok().json(view),
    })
}

/// `PATCH /api/memories/{id}`: an edit replaces the memory (the answer has the new id).
#[utoipa::path(
    operation_id = "edit_memory",
    patch,
    path = "/api/memories/{id}",
    tag = "memories",
    summary = "Edit a memory: the old one is invalidated and the edited one stored with a new id",
    params(("id" = MemoryId, Path, description = "The memory")),
    request_body = MemoryEdit,
    responses(
        (status = 200, description = "The memory as it now is (a new id unless nothing changed)", body = MemoryView),
        CheckedChangeRefusals,
    ),
)]
pub async fn edit(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: Json<MemoryEdit>,
) -> AppResult<HttpResponse> {
    let MemoryEdit { kind, text } = body.into_inner();
    if kind.is_none() && text.is_none() {
        return Err(AppError::Validation(
            "give the new `kind`, `text` or both".to_owned(),
        ));
    }
    let text = text.as_deref().map(checked_text).transpose()?;
    let memory = reachable_memory(&state, &me, &id).await?;
    let (old, agent, now) = (memory.id, me.id, clock::now());
    let row = state
        .app
        .store
        .write(move |c| queries::edit_memory(c, old, agent, kind, text.as_deref(), now))
        .await?;
    tracing::info!(memory_id = %old, new_id = %row.id, "memory edited by an agent");
    Ok(HttpResponse::Ok().json(MemoryView::from(&row)))
}

/// `DELETE /api/memories/{id}`: invalidates it; it is kept, never shown again.
#[utoipa::path(
    operation_id = "delete_memory",
    delete,
    path = "/api/memories/{id}",
    tag = "memories",
    summary = "Forget a memory (it is invalidated, kept, and never shown again)",
    params(("id" = MemoryId, Path, description = "The memory")),
    responses(
        (status = 204, description = "Forgotten"),
        ReadRefusals,
    ),
)]
pub async fn delete(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let memory = reachable_memory(&state, &me, &id).await?;
    let (id, now) = (memory.id, clock::now());
    state
        .app
        .store
        .write(move |c| queries::forget_memory(c, id, now))
        .await?;
    tracing::info!(memory_id = %id, "memory forgotten by an agent");
    Ok(HttpResponse::NoContent().finish())
}
