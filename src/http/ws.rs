//! The agent websocket, `GET /api/ws` (token in `Authorization: Bearer` or `?token=`): who is
//! asking, then the handshake ([`super::socket`]) and an [`AgentSession`].

use actix::prelude::*;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{
    agent_session::AgentSession,
    socket::{upgrade, Incoming},
};
use crate::{app::AppState, auth::CurrentAgent, error::AppResult, http::extract::Query};

#[derive(Deserialize)]
pub struct WsQuery {
    token: Option<String>,
    /// Resume from this `seq` right away (same as a first `resume` frame).
    since: Option<u64>,
}

pub async fn agent_ws(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query<WsQuery>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let me = match &query.token {
        // Browsers cannot set headers on a websocket: the token may come in the query.
        Some(token) => super::current_agent::agent_for_token(&state.app, token).await?,
        None => CurrentAgent::from_request_headers(&state.app, &req).await?,
    };
    let (response, writer, incoming) =
        upgrade(&req, payload, state.app.settings.realtime.outbound_queue)?;
    let viewer = state.app.viewer(&me);
    AgentSession::start(
        AgentSession::new(state.app.clone(), me, viewer, writer, query.since),
        incoming,
    );
    Ok(response)
}

impl AgentSession {
    fn start(
        session: AgentSession,
        incoming: impl futures_util::Stream<Item = Incoming> + 'static,
    ) {
        AgentSession::create(move |ctx| {
            ctx.add_stream(incoming);
            session
        });
    }
}
