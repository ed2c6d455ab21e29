//! A person's activity timeline (`GET /api/contacts/{id}/activity`), and contact notes
//! (`POST /api/contacts/{id}/notes`).
//!
//! The timeline is the person's: the entries of every contact with the same phone, newest
//! first, in keyset pages. A contact note is an entry of kind `note_added` with its text in
//! `detail.text`: notes are read only in the timeline, so one table serves both.

use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use super::{
    contacts::{person, view},
    cursor,
};
use crate::{
    app::AppState,
    auth::CurrentAgent,
    clock,
    db::{models::ActivityRow, queries},
    domain::{activity::ActivityKind, text, ActivityId, AgentId, ContactId, ConversationId},
    error::{AppError, AppResult},
    http::{
        extract::{Json, Query},
        openapi::{
            BadRequest, CheckedChangeRefusals, NotFound, Unauthorized, Unavailable, Unprocessable,
        },
    },
    views::UtcTime,
};

/// Entries per page unless `limit` says otherwise, and at most.
const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 100;
/// Longest contact note.
const MAX_NOTE_CHARS: usize = 4000;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// Only these kinds, comma-separated (`note_added,profile_edited`).
    kinds: Option<String>,
    /// `next_cursor` of the previous page (`<microseconds>_<entry id>`).
    #[param(
        pattern = "^-?[0-9]{1,16}_[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    cursor: Option<String>,
    /// Page size (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// One entry of the timeline.
#[derive(Serialize, ToSchema)]
#[schema(as = Activity)]
pub struct ActivityView {
    id: ActivityId,
    /// The contact it happened to (one of the person's contacts).
    contact_id: ContactId,
    kind: ActivityKind,
    #[schema(value_type = UtcTime)]
    at: NaiveDateTime,
    /// The agent who did it, when a person did.
    #[schema(required = true)]
    agent_id: Option<AgentId>,
    #[schema(required = true)]
    conversation_id: Option<ConversationId>,
    /// What happened, with names as they were: `text` (note_added), `changes`
    /// (profile_edited: `[{field, from, to}]`), `to`/`to_name` (assigned), `reason`
    /// (handed_off), `file_id`/`name`/`mime`/`size` (file_uploaded), `by_name`.
    #[schema(value_type = Object)]
    detail: Value,
}

impl From<&ActivityRow> for ActivityView {
    fn from(r: &ActivityRow) -> Self {
        ActivityView {
            id: r.id,
            contact_id: r.contact_id,
            kind: r.kind,
            at: r.at,
            agent_id: r.agent_id,
            conversation_id: r.conversation_id,
            detail: serde_json::from_str(&r.detail).unwrap_or(Value::Null),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = ActivityPage)]
pub struct ActivityPage {
    items: Vec<ActivityView>,
    /// The `cursor` of the next page; `null` on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

fn parse_kinds(raw: Option<&str>) -> AppResult<Vec<ActivityKind>> {
    raw.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| {
            k.parse()
                .map_err(|e| AppError::BadRequest(format!("`kinds`: {e}")))
        })
        .collect()
}

/// `GET /api/contacts/{id}/activity`: the person's timeline, newest first.
#[utoipa::path(
    operation_id = "contact_activity",
    get,
    path = "/api/contacts/{id}/activity",
    tag = "contacts",
    summary = "The person's activity timeline, newest first (keyset pages)",
    params(("id" = ContactId, Path, description = "The contact"), ActivityQuery),
    responses(
        (status = 200, description = "A page", body = ActivityPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn list(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    q: Query<ActivityQuery>,
) -> AppResult<HttpResponse> {
    let kinds = parse_kinds(q.kinds.as_deref())?;
    let before = q.cursor.as_deref().map(cursor::decode).transpose()?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::BadRequest(format!(
            "`limit` must be 1-{MAX_LIMIT}"
        )));
    }
    let (contact, all, conversations) = person(&state, &id).await?;
    view(&state, &me, &contact, &all, &conversations)?;
    let ids: Vec<ContactId> = all.iter().map(|c| c.id).collect();
    let rows = state
        .app
        .store
        .read(move |c| queries::activity_page(c, &ids, &kinds, before, limit))
        .await?;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last())
        .flatten()
        .map(|r| cursor::encode(r.at, r.id));
    Ok(HttpResponse::Ok().json(ActivityPage {
        items: rows.iter().map(ActivityView::from).collect(),
        next_cursor,
    }))
}

/// A contact note.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ContactNote)]
pub struct NoteBody {
    #[schema(min_length = 1, max_length = 4000)]
    text: String,
}

/// `POST /api/contacts/{id}/notes`: a note about the person, in the timeline.
#[utoipa::path(
    operation_id = "add_contact_note",
    post,
    path = "/api/contacts/{id}/notes",
    tag = "contacts",
    summary = "Add a note about the contact (a `note_added` entry of its timeline)",
    params(("id" = ContactId, Path, description = "The contact")),
    request_body = NoteBody,
    responses(
        (status = 201, description = "The note's entry", body = ActivityView),
        CheckedChangeRefusals,
    ),
)]
pub async fn add_note(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: Json<NoteBody>,
) -> AppResult<HttpResponse> {
    let (contact, all, conversations) = person(&state, &id).await?;
    view(&state, &me, &contact, &all, &conversations)?;
    let note = text::trim_visible(&text::clean(&body.text)).to_owned();
    if text::is_blank(&note) || note.chars().count() > MAX_NOTE_CHARS {
        return Err(AppError::Validation(format!(
            "text: a note must be 1-{MAX_NOTE_CHARS} characters"
        )));
    }
    let detail = json!({ "text": note, "by_name": me.name });
    let row = queries::activity_row(
        contact.id,
        ActivityKind::NoteAdded,
        clock::now(),
        Some(me.id),
        None,
        &detail,
    );
    let written = row.clone();
    state
        .app
        .store
        .write(move |c| queries::insert_activity(c, std::slice::from_ref(&written)))
        .await?;
    tracing::info!(contact_id = %contact.id, activity_id = %row.id, "contact note added");
    Ok(HttpResponse::Created().json(ActivityView::from(&row)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_cursors_parse_or_are_refused() {
        assert_eq!(
            parse_kinds(Some("note_added, blocked")).ok(),
            Some(vec![ActivityKind::NoteAdded, ActivityKind::Blocked])
        );
        assert_eq!(parse_kinds(None).ok(), Some(vec![]));
        assert!(parse_kinds(Some("note_added,nope")).is_err());
        let at = clock::now();
        let id = ActivityId::new();
        assert_eq!(cursor::decode(&cursor::encode(at, id)).ok(), Some((at, id)));
        for bad in ["", "x_y", "1_notanid", "12"] {
            assert!(cursor::decode::<ActivityId>(bad).is_err(), "{bad}");
        }
    }
}
