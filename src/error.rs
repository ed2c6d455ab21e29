//! One error type for the whole server, with one mapping to HTTP.
//!
//! Every failure a client can cause is a 4xx with a stable JSON body
//! `{"error": "snake_case_code", "message": "…"}`; only our own faults are 5xx, and their
//! details go to the log, never to the client. A failure of the database is a 503 with
//! `Retry-After` (the same request may well succeed in a moment), or a 422 when the database
//! refused a value of the request; never a 500.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::conversation::TransitionError;

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Malformed input: bad JSON, a missing field, a value out of range.
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed input that breaks a rule (too long, in the past…).
    #[error("{0}")]
    Validation(String),
    #[error("authentication required: {0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the current state (someone else holds it…).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Too many attempts; retry after this many seconds.
    #[error("too many attempts; retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// A rule of the conversation refused the action (window closed…).
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// Push back: a bounded queue is full or the server is shutting down.
    #[error("the server is busy, retry shortly")]
    Unavailable(String),
    /// Cluster mode: another node serves this conversation now (or will once its lease is
    /// taken): the request is to be sent again, to any node.
    #[error("this conversation is served by another node; retry")]
    Moved {
        /// The conversation's shard: a request refused here is forwarded to its holder.
        shard: crate::cluster::Shard,
        why: String,
    },
    /// The database failed (unreachable, busy, a conflict between concurrent writes):
    /// temporary, so the client is told to retry.
    #[error("the database is unavailable, retry shortly")]
    Database(#[source] diesel::result::Error),
    /// The database refused a value that validation let through: the request cannot succeed.
    #[error("a value of the request cannot be stored")]
    UnstorableValue(#[source] diesel::result::Error),
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        AppError::Internal(e.to_string())
    }

    /// The stable machine-readable code in the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Validation(_) => "validation_failed",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict { code, .. } => code,
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Transition(t) => match t {
                TransitionError::WindowClosed { .. } => "window_closed",
                TransitionError::AssistantSilenced(_) => "assistant_silenced",
                TransitionError::FollowUpInPast => "follow_up_in_past",
                TransitionError::AlreadyAssigned => "already_assigned",
                TransitionError::SnoozeInPast => "snooze_in_past",
                TransitionError::SnoozeClosed => "conversation_resolved",
                TransitionError::NotSnoozed => "not_snoozed",
            },
            AppError::Unavailable(_) => "unavailable",
            AppError::Moved { .. } => "moved",
            AppError::Database(_) => "unavailable",
            AppError::UnstorableValue(_) => "invalid_input",
            AppError::Internal(_) => "internal_error",
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => AppError::NotFound("record"),
            other if refused_value(&other) => AppError::UnstorableValue(other),
            other => AppError::Database(other),
        }
    }
}

/// Whether the database refused a value itself (PostgreSQL's data exceptions: a NUL or an
/// invalid byte in text, a number out of range; SQLite's "too big"), as opposed to failing.
/// Validation should catch these first; this keeps a miss from looking like an outage.
fn refused_value(e: &diesel::result::Error) -> bool {
    const REFUSALS: &[&str] = &[
        "invalid byte sequence",
        "character with byte sequence",
        "out of range",
        "value too long",
        "string or blob too big",
        "invalid input syntax",
    ];
    match e {
        diesel::result::Error::DatabaseError(_, info) => {
            let message = info.message();
            REFUSALS.iter().any(|r| message.contains(r))
        }
        diesel::result::Error::SerializationError(_) => true,
        _ => false,
    }
}

/// Seconds a client should wait before retrying a 503.
const RETRY_AFTER_SECS: u64 = 1;

impl From<actix::MailboxError> for AppError {
    fn from(e: actix::MailboxError) -> Self {
        AppError::Unavailable(e.to_string())
    }
}

/// The body of every error answer.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// The stable machine-readable code (`window_closed`, `not_found`…).
    #[schema(example = "window_closed")]
    pub error: &'static str,
    /// What went wrong, for people.
    pub message: String,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Transition(t) => match t {
                TransitionError::WindowClosed { .. }
                | TransitionError::FollowUpInPast
                | TransitionError::SnoozeInPast => StatusCode::UNPROCESSABLE_ENTITY,
                TransitionError::AssistantSilenced(_)
                | TransitionError::AlreadyAssigned
                | TransitionError::SnoozeClosed
                | TransitionError::NotSnoozed => StatusCode::CONFLICT,
            },
            AppError::UnstorableValue(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unavailable(_) | AppError::Moved { .. } | AppError::Database(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() || matches!(self, AppError::UnstorableValue(_)) {
            // Details stay in the log; the client gets the code only.
            tracing::error!(error = ?self, "request failed");
        }
        let mut resp = HttpResponse::build(status);
        match self {
            AppError::TooManyRequests { retry_after_secs } => {
                resp.insert_header(("Retry-After", retry_after_secs.to_string()));
            }
            AppError::Unavailable(_) | AppError::Moved { .. } | AppError::Database(_) => {
                resp.insert_header(("Retry-After", RETRY_AFTER_SECS.to_string()));
            }
            _ => {}
        }
        resp.json(ErrorBody {
            error: self.code(),
            message: self.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_closed_is_422_with_its_code() {
        let e = AppError::from(TransitionError::WindowClosed { closed_at: None });
        assert_eq!(e.status_code(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.code(), "window_closed");
    }

    #[test]
    fn database_errors_are_404_422_or_503_with_retry_after_never_500() {
        use diesel::result::{DatabaseErrorKind, Error};
        assert_eq!(
            AppError::from(Error::NotFound).status_code(),
            StatusCode::NOT_FOUND
        );
        let e = AppError::from(Error::RollbackTransaction);
        assert_eq!(e.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.code(), "unavailable");
        let resp = e.error_response();
        assert_eq!(
            resp.headers()
                .get("Retry-After")
                .and_then(|v| v.to_str().ok()),
            Some("1")
        );
        let nul = Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("invalid byte sequence for encoding \"UTF8\": 0x00".to_owned()),
        );
        let e = AppError::from(nul);
        assert_eq!(e.status_code(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.code(), "invalid_input");
        let busy = Error::DatabaseError(
            DatabaseErrorKind::SerializationFailure,
            Box::new("could not serialize access".to_owned()),
        );
        assert_eq!(
            AppError::from(busy).status_code(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
