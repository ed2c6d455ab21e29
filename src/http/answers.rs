//! The assistant's answers as agents judge them: `POST`/`DELETE
//! /api/conversations/{id}/messages/{message_id}/wrong` marks an answer wrong (or takes the
//! mark back), which the review's accuracy counts; `GET /api/reports/knowledge-base` lists
//! the questions the assistant could not answer (most frequent first) and the answers marked
//! wrong, per knowledge entry: the page to improve the knowledge base from.
//!
//! What each answer rested on (the entry or model, and the confidence) is in its message's
//! `payload` (`entry`, `model`, `confidence`, `outcome`), written with it.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    conversations::{parse_id, visible},
    extract::{Json, Query},
};
use crate::{
    actors::{messages::MarkAnswer, registry::ask},
    app::AppState,
    auth::CurrentAgent,
    clock,
    db::{
        models::AnswerRow,
        queries::{self, AnswerScope},
    },
    domain::{
        answer::{self, AnswerOutcome, EntryView, UnansweredQuestion, WrongAnswers},
        InboxId, MessageId,
    },
    error::{AppError, AppResult, ErrorBody},
    http::openapi::ChangeRefusals,
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkWrongRequest {
    /// What was wrong, for whoever improves the knowledge base (at most 500 characters).
    reason: Option<String>,
}

/// An answer's mark after the change.
#[derive(Serialize, ToSchema)]
pub struct AnswerMarkView {
    #[schema(value_type = String)]
    message_id: MessageId,
    wrong: bool,
    reason: Option<String>,
}

/// The answer `raw_message` of the visible conversation `raw_id`, or a 404.
async fn visible_answer(
    state: &AppState,
    me: &CurrentAgent,
    raw_id: &str,
    raw_message: &str,
) -> AppResult<AnswerRow> {
    let id = parse_id(raw_id)?;
    visible(state, me, id).await?;
    let message: MessageId = raw_message
        .parse()
        .map_err(|_| AppError::NotFound("answer"))?;
    state
        .app
        .store
        .read(move |c| queries::answer(c, id, message))
        .await?
        .ok_or(AppError::NotFound("answer"))
}

/// `POST /api/conversations/{id}/messages/{message_id}/wrong`.
#[utoipa::path(
    operation_id = "mark_answer_wrong",
    post,
    path = "/api/conversations/{id}/messages/{message_id}/wrong",
    tag = "conversations",
    summary = "Mark one of the assistant's answers wrong",
    description = "Writes a note in the thread, makes the conversation's review due again \
        (each answer marked wrong costs 8 of the rubric's 15 accuracy points) and lists the \
        answer in the knowledge-base report. Only answers of the assistant (messages whose \
        payload has an `outcome`) can be marked; any agent who may see the conversation may.",
    params(
        ("id" = String, Path, description = "The conversation"),
        ("message_id" = String, Path, description = "The assistant's message"),
    ),
    request_body = MarkWrongRequest,
    responses(
        (status = 200, description = "Marked", body = AnswerMarkView),
        (status = 409, description = "answer_already_marked", body = ErrorBody),
        (status = 422, description = "validation_failed: the reason is longer than 500 characters", body = ErrorBody),
        ChangeRefusals,
    ),
)]
pub async fn mark_wrong(
    state: web::Data<AppState>,
    me: CurrentAgent,
    path: web::Path<(String, String)>,
    body: Json<MarkWrongRequest>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let reason = answer::reason(body.reason.as_deref()).map_err(AppError::Validation)?;
    set_mark(&state, &me, path.into_inner(), true, reason).await
}

/// Marks the answer (`wrong`) or takes the mark back, through its conversation's actor.
async fn set_mark(
    state: &AppState,
    me: &CurrentAgent,
    (raw_id, raw_message): (String, String),
    wrong: bool,
    reason: Option<String>,
) -> AppResult<HttpResponse> {
    let row = visible_answer(state, me, &raw_id, &raw_message).await?;
    let msg = MarkAnswer {
        message: row.message_id,
        by: me.id,
        wrong,
        reason: reason.clone(),
    };
    ask(&state.registry, row.conversation_id, msg).await?;
    Ok(HttpResponse::Ok().json(AnswerMarkView {
        message_id: row.message_id,
        wrong,
        reason,
    }))
}

/// `DELETE /api/conversations/{id}/messages/{message_id}/wrong`.
#[utoipa::path(
    operation_id = "unmark_answer_wrong",
    delete,
    path = "/api/conversations/{id}/messages/{message_id}/wrong",
    tag = "conversations",
    summary = "Take back the mark on one of the assistant's answers",
    params(
        ("id" = String, Path, description = "The conversation"),
        ("message_id" = String, Path, description = "The assistant's message"),
    ),
    responses(
        (status = 200, description = "The mark is gone", body = AnswerMarkView),
        (status = 409, description = "answer_not_marked", body = ErrorBody),
        ChangeRefusals,
    ),
)]
pub async fn unmark_wrong(
    state: web::Data<AppState>,
    me: CurrentAgent,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    set_mark(&state, &me, path.into_inner(), false, None).await
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KnowledgeReportQuery {
    /// Start of the period: RFC 3339 or YYYY-MM-DD. Default: 30 days before `to`.
    from: Option<String>,
    /// End of the period: RFC 3339 or YYYY-MM-DD (end of that day). Default: now.
    to: Option<String>,
    /// Only this inbox's answers (an unknown inbox is a 422).
    inbox: Option<InboxId>,
}

/// `GET /api/reports/knowledge-base`.
#[derive(Serialize, ToSchema)]
pub struct KnowledgeReport {
    /// The period (RFC 3339, UTC), both ends included.
    from: String,
    to: String,
    /// Answers the assistant gave in the period.
    answered: u64,
    /// Times it said it could not answer.
    unanswered: u64,
    /// Answers marked wrong in the period.
    marked_wrong: u64,
    /// True when the period had more than 20,000 misses or marks: the lists are of the
    /// latest 20,000.
    truncated: bool,
    /// The questions it could not answer, most frequent first (at most 100).
    questions: Vec<UnansweredQuestion>,
    /// The answers marked wrong, per entry (or model), most marked first (at most 100).
    wrong: Vec<WrongAnswers>,
}

/// `GET /api/reports/knowledge-base`.
#[utoipa::path(
    operation_id = "knowledge_base_report",
    get,
    path = "/api/reports/knowledge-base",
    tag = "reports",
    summary = "Questions the assistant could not answer, most frequent first, and the answers agents marked wrong",
    description = "Questions are grouped by their terms (case, punctuation, function words and \
        numbers ignored), so the same question in other words counts once. Supervisors and \
        admins see every conversation's; a restricted agent those they may see.",
    params(KnowledgeReportQuery),
    responses(
        (status = 200, description = "The report", body = KnowledgeReport),
        (status = 400, response = crate::http::openapi::BadRequest),
        (status = 401, response = crate::http::openapi::Unauthorized),
        (status = 422, response = crate::http::openapi::Unprocessable),
        (status = 503, response = crate::http::openapi::Unavailable),
    ),
)]
pub async fn knowledge_report(
    state: web::Data<AppState>,
    me: CurrentAgent,
    q: Query<KnowledgeReportQuery>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let period = super::reports::period_of(q.from.as_deref(), q.to.as_deref(), clock::now())?;
    if let Some(inbox) = &q.inbox {
        if state.app.inboxes.get(inbox).is_none() {
            return Err(AppError::Validation(format!(
                "no inbox `{}`",
                inbox.as_str()
            )));
        }
    }
    let scope = AnswerScope {
        from: period.from,
        to: period.to,
        inbox: q.inbox,
        viewer: state.app.viewer(&me),
    };
    let (answered, unanswered, misses, marks) = state
        .app
        .store
        .read(move |c| {
            Ok((
                queries::count_answers(c, &scope, AnswerOutcome::Answered)?,
                queries::count_answers(c, &scope, AnswerOutcome::NoMatch)?,
                queries::unanswered(c, &scope)?,
                queries::marked_wrong(c, &scope)?,
            ))
        })
        .await?;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    let limit = usize::try_from(queries::REPORT_ROWS).unwrap_or(usize::MAX);
    let truncated = misses.len() >= limit || marks.len() >= limit;
    let entry = |r: &AnswerRow| {
        r.entry_id.clone().map(|id| EntryView {
            id,
            question: r.entry_question.clone().unwrap_or_default(),
        })
    };
    let misses: Vec<answer::Unanswered> = misses
        .iter()
        .map(|r| answer::Unanswered {
            key: r.question_key.clone(),
            question: r.question.clone(),
            at: r.created_at,
            conversation: r.conversation_id,
            closest: entry(r),
        })
        .collect();
    let marks: Vec<answer::Wrong> = marks
        .iter()
        .map(|r| answer::Wrong {
            message: r.message_id,
            conversation: r.conversation_id,
            entry: entry(r),
            model: r.model.clone(),
            question: r.question.clone(),
            reason: r.wrong_reason.clone(),
            by: r.wrong_by,
            at: r.wrong_at.unwrap_or(r.created_at),
        })
        .collect();
    let report = KnowledgeReport {
        from: period.from.and_utc().to_rfc3339(),
        to: period.to.and_utc().to_rfc3339(),
        answered: count(answered),
        unanswered: count(unanswered),
        marked_wrong: u64::try_from(marks.len()).unwrap_or(0),
        truncated,
        questions: answer::unanswered_questions(&misses),
        wrong: answer::wrong_answers(&marks),
    };
    Ok(HttpResponse::Ok().json(report))
}
