//! Who is asking: the agent behind a login token, as an extractor for every API route
//! (`Authorization: Bearer …`) and for the websocket handshake (which may pass `?token=`).

use std::{future::Future, pin::Pin};

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};

use crate::{
    app::{AppContext, AppState},
    auth::{token_hash, CurrentAgent},
    clock,
    db::queries,
    error::{AppError, AppResult},
};

fn bearer(req: &HttpRequest) -> Option<String> {
    let header = req.headers().get("Authorization")?.to_str().ok()?;
    let (scheme, token) = header.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The agent a login token belongs to; 401 if it is unknown, revoked or expired.
pub async fn agent_for_token(app: &AppContext, token: &str) -> AppResult<CurrentAgent> {
    if token.is_empty() || token.len() > 256 {
        return Err(AppError::Unauthorized("invalid or expired token"));
    }
    let hash = token_hash(token);
    let lookup = hash.clone();
    let now = clock::now();
    let row = app
        .store
        .read(move |c| queries::agent_by_token(c, &lookup, now))
        .await?
        .ok_or(AppError::Unauthorized("invalid or expired token"))?;
    let agent = CurrentAgent::from_row(row, hash);
    app.agent_names.note(agent.id, &agent.name);
    Ok(agent)
}

impl CurrentAgent {
    /// From `Authorization: Bearer <token>`.
    pub async fn from_request_headers(
        app: &AppContext,
        req: &HttpRequest,
    ) -> AppResult<CurrentAgent> {
        let token = bearer(req).ok_or(AppError::Unauthorized("missing bearer token"))?;
        agent_for_token(app, &token).await
    }
}

impl FromRequest for CurrentAgent {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let token = token.ok_or(AppError::Unauthorized("missing bearer token"))?;
            let state = state.ok_or_else(|| AppError::internal("app state missing"))?;
            agent_for_token(&state.app, &token).await
        })
    }
}
