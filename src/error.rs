//! One error type for the whole server, with one mapping to HTTP.
//!
//! Every failure a client can cause is a 4xx with a stable JSON body
//! `{"error": "snake_case_code", "message": "…"}`; only our own faults are 5xx, and their
//! details go to the log, never to the client.

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
    #[error("database error")]
    Database(#[source] diesel::result::Error),
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
            },
            AppError::Unavailable(_) => "unavailable",
            AppError::Database(_) => "database_error",
            AppError::Internal(_) => "internal_error",
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => AppError::NotFound("record"),
            other => AppError::Database(other),
        }
    }
}

impl From<actix::MailboxError> for AppError {
    fn from(e: actix::MailboxError) -> Self {
        AppError::Unavailable(e.to_string())
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
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
                TransitionError::WindowClosed { .. } | TransitionError::FollowUpInPast => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                TransitionError::AssistantSilenced(_) | TransitionError::AlreadyAssigned => {
                    StatusCode::CONFLICT
                }
            },
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Database(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            // Details stay in the log; the client gets the code only.
            tracing::error!(error = ?self, "request failed");
        }
        let mut resp = HttpResponse::build(status);
        if let AppError::TooManyRequests { retry_after_secs } = self {
            resp.insert_header(("Retry-After", retry_after_secs.to_string()));
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
    fn not_found_from_diesel_is_404_and_other_db_errors_are_500() {
        assert_eq!(
            AppError::from(diesel::result::Error::NotFound).status_code(),
            StatusCode::NOT_FOUND
        );
        let e = AppError::from(diesel::result::Error::RollbackTransaction);
        assert_eq!(e.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.to_string(), "database error");
    }
}
