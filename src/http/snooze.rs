//! Snooze: an agent puts a conversation aside until a time or until the customer writes
//! (`POST /api/conversations/{id}/snooze`), or brings it back early (`DELETE`). A snoozed
//! conversation is in no view but "Snoozed" and off the badge; the customer writing, its time
//! coming (a timer the conversation's actor re-arms from the row after a restart) or closing
//! it ends the snooze. The rules are the state machine's ([`Event::Snoozed`]).

use actix_web::{web, HttpResponse};
use chrono::DateTime;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{conversations::apply, extract::Json};
use crate::{
    app::AppState,
    auth::CurrentAgent,
    clock,
    domain::{conversation::Event, ConversationId},
    error::{AppError, AppResult, ErrorBody},
    http::openapi::{ChangeRefusals, ReadRefusals},
    views::ConversationView,
};

/// The furthest a snooze may reach: a year, as follow-ups.
const MAX_SNOOZE_DAYS: i64 = 366;

/// `until` absent (or `null`): until the customer writes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeRequest {
    /// An RFC 3339 time in the future and within 366 days; absent: until the customer writes.
    #[schema(format = DateTime)]
    until: Option<String>,
}

/// `POST /api/conversations/{id}/snooze`.
#[utoipa::path(
    operation_id = "snooze",
    post,
    path = "/api/conversations/{id}/snooze",
    tag = "conversations",
    summary = "Snooze until a time, or until the customer writes",
    params(("id" = ConversationId, Path, description = "The conversation")),
    request_body = SnoozeRequest,
    responses(
        (status = 200, description = "The conversation, snoozed", body = ConversationView),
        (status = 409, description = "conversation_resolved: a resolved conversation is not snoozed", body = ErrorBody),
        (status = 422, description = "validation_failed: `until` not RFC 3339 or more than 366 days ahead; snooze_in_past", body = ErrorBody),
        ChangeRefusals,
    ),
)]
pub async fn snooze(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
    body: Json<SnoozeRequest>,
) -> AppResult<HttpResponse> {
    let until = body
        .into_inner()
        .until
        .map(|raw| {
            DateTime::parse_from_rfc3339(&raw)
                .map(|d| clock::truncate(d.naive_utc()))
                .map_err(|e| AppError::Validation(format!("`until` is not RFC 3339: {e}")))
        })
        .transpose()?;
    if until.is_some_and(|at| at > clock::now() + chrono::Duration::days(MAX_SNOOZE_DAYS)) {
        return Err(AppError::Validation(format!(
            "`until` must be within {MAX_SNOOZE_DAYS} days"
        )));
    }
    apply(&state, &me, &id, Event::Snoozed { until, by: me.id }).await
}

/// `DELETE /api/conversations/{id}/snooze`.
#[utoipa::path(
    operation_id = "unsnooze",
    delete,
    path = "/api/conversations/{id}/snooze",
    tag = "conversations",
    summary = "Bring a snoozed conversation back now",
    params(("id" = ConversationId, Path, description = "The conversation")),
    responses(
        (status = 200, description = "The conversation, back in its views", body = ConversationView),
        (status = 409, description = "not_snoozed", body = ErrorBody),
        ReadRefusals,
    ),
)]
pub async fn unsnooze(
    state: web::Data<AppState>,
    me: CurrentAgent,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    apply(&state, &me, &id, Event::Unsnoozed { by: me.id }).await
}
