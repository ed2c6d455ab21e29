//! Your account: every agent changes their own name and password.
//!
//! Changing the password takes the current one (a token left open on a shared computer is not
//! enough to lock its owner out), with the login's throttle on wrong guesses. The token the
//! change is made with stays valid; every other token of the agent is revoked and its
//! websockets closed, so a session elsewhere that knew the old password ends at once.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    actors::hub::Revoke,
    app::AppState,
    auth::{self, CurrentAgent},
    db::queries,
    error::{AppError, AppResult, ErrorBody},
    http::{
        auth::{client_address, close_sessions, hashed, password_matches, throttle},
        extract::Json,
        openapi::{AgentRefusals, BadRequest, TooLarge, TooManyRequests},
    },
};

/// My new name.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    /// 1-100 characters, not only spaces.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: String,
}

/// My current password, and the new one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(max_length = 1024)]
    current: String,
    /// At least 8 characters, at most 1,024 bytes.
    #[schema(min_length = 8, max_length = 1024)]
    new: String,
}

/// `PATCH /api/agents/me`.
#[utoipa::path(
    operation_id = "rename_me",
    patch,
    path = "/api/agents/me",
    tag = "agents",
    summary = "Change my name",
    request_body = Rename,
    responses(
        (status = 200, description = "Me, renamed", body = CurrentAgent),
        (status = 400, response = BadRequest),
        (status = 413, response = TooLarge),
        (status = 422, description = "validation_failed: `name` is not 1-100 characters", body = ErrorBody),
        AgentRefusals,
    ),
)]
pub async fn rename(
    state: web::Data<AppState>,
    me: CurrentAgent,
    body: Json<Rename>,
) -> AppResult<HttpResponse> {
    let name = auth::checked_name(&body.name)?;
    let id = me.id;
    let stored = name.clone();
    state
        .app
        .store
        .write(move |c| {
            let changes = queries::AgentChanges {
                role: None,
                name: Some(&stored),
            };
            queries::update_agent(c, id, &changes)
        })
        .await?;
    state.app.agent_names.note(id, &name);
    Ok(HttpResponse::Ok().json(CurrentAgent { name, ..me }))
}

/// `PUT /api/agents/me/password`.
#[utoipa::path(
    operation_id = "change_my_password",
    put,
    path = "/api/agents/me/password",
    tag = "agents",
    summary = "Change my password: this token stays, my other tokens are revoked",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, response = BadRequest),
        (status = 403, description = "forbidden: `current` is not my password", body = ErrorBody),
        (status = 413, response = TooLarge),
        (status = 422, description = "validation_failed: `new` is shorter than 8 characters or longer than 1,024 bytes", body = ErrorBody),
        (status = 429, response = TooManyRequests),
        AgentRefusals,
    ),
)]
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: CurrentAgent,
    body: Json<PasswordChange>,
) -> AppResult<HttpResponse> {
    let PasswordChange { current, new } = body.into_inner();
    auth::check_new_password("new", &new)?;
    let from = client_address(&state, &req);
    throttle(&state, &me.email, from, std::time::Instant::now())?;
    let id = me.id;
    let stored = state
        .app
        .store
        .read(move |c| queries::existing_agent(c, id))
        .await?
        .password_hash;
    if !password_matches(&state, &me.email, from, current, stored).await? {
        return Err(AppError::Forbidden("`current` is not your password"));
    }
    let hash = hashed(new).await?;
    let keep = me.token_hash.clone();
    state
        .app
        .store
        .write(move |c| {
            queries::set_password_hash(c, id, &hash)?;
            queries::delete_tokens_of(c, id, Some(&keep))
        })
        .await?;
    tracing::info!(agent = %id, "agent changed their password");
    let others = Revoke::OtherTokens {
        agent: id,
        keep: me.token_hash,
    };
    close_sessions(&state, others, "password changed").await?;
    Ok(HttpResponse::NoContent().finish())
}
