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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// The bearer token, for clients that cannot set headers.
    token: Option<String>,
    /// Resume from this `seq` right away (same as a first `resume` frame).
    #[param(value_type = Option<crate::http::openapi::Seq>)]
    since: Option<u64>,
}

#[utoipa::path(
    operation_id = "agent_websocket",
    get,
    path = "/api/ws",
    tag = "realtime",
    summary = "Agent websocket: events {type, seq, …}; send {type: resume, since} after reconnecting",
    description = "Events pushed: see the ServerEvent schema. The socket also sends hello, \
        resumed, reload, pong and error frames (not numbered).",
    params(WsQuery),
    responses(
        (status = 101, description = "Switching protocols"),
        (status = 400, description = "bad_request: not a websocket request, or a malformed \
            query", body = crate::error::ErrorBody),
        (status = 401, response = crate::http::openapi::Unauthorized),
        (status = 422, response = crate::http::openapi::Unprocessable),
        (status = 503, response = crate::http::openapi::Unavailable),
    ),
)]
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
