//! The agent websocket, `GET /api/ws` (token in `Authorization: Bearer` or `?token=`).
//!
//! This file and `actors/agent_session.rs` are the only users of `actix-web-actors` (for the
//! handshake and the frame codec), so a later move to `actix-ws` touches little.
//!
//! Outbound frames go through a bounded channel into the response stream. The HTTP layer stops
//! pulling from that stream when the client stops reading, the channel fills, and the session
//! disconnects the client: a stalled agent costs a fixed amount of memory, never more.

use crate::http::extract::Query;
use crate::protocol::{SessionFrame, VisitorFrame};
use actix::prelude::*;
use actix_codec::{Decoder, Encoder};
use actix_http::ws::{Codec, Frame, Message as WsMessage, ProtocolError};
use actix_web::{
    web::{self, Bytes, BytesMut},
    HttpRequest, HttpResponse,
};
use actix_web_actors::ws;
use futures_util::{stream, StreamExt};
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::{
    actors::agent_session::AgentSession,
    app::AppState,
    auth::{self, CurrentAgent},
    error::{AppError, AppResult},
};

/// Largest frame a client may send (typing, viewing and resume frames are tiny).
const MAX_CLIENT_FRAME: usize = 16 * 1024;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// The bearer token, for clients that cannot set headers.
    token: Option<String>,
    /// Resume from this `seq` right away (same as a first `resume` frame).
    #[param(value_type = Option<crate::http::openapi::Seq>)]
    since: Option<u64>,
}

/// Encodes server frames for the wire.
pub struct FrameWriter {
    codec: Codec,
    tx: mpsc::Sender<Bytes>,
}

impl FrameWriter {
    /// Queues one frame; `false` when the client is not keeping up (queue full) or gone.
    pub fn send(&mut self, msg: WsMessage) -> bool {
        let mut buf = BytesMut::new();
        if self.codec.encode(msg, &mut buf).is_err() {
            return false;
        }
        self.tx.try_send(buf.freeze()).is_ok()
    }

    pub fn text(&mut self, text: &str) -> bool {
        self.send(WsMessage::Text(text.to_owned().into()))
    }
}

/// A frame from the client, or the reason reading stopped.
pub type Incoming = Result<Frame, ProtocolError>;

/// The error frame an agent gets before the socket closes (1009) over a frame too large.
pub fn frame_too_large() -> SessionFrame<'static> {
    SessionFrame::Error {
        error: "frame_too_large",
        message: format!("a frame may be at most {MAX_CLIENT_FRAME} bytes"),
    }
}

/// The same for a website visitor.
pub fn visitor_frame_too_large() -> VisitorFrame {
    VisitorFrame::Error {
        error: "frame_too_large",
        message: format!("a frame may be at most {MAX_CLIENT_FRAME} bytes"),
    }
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
        Some(token) => auth::agent_for_token(&state.app, token).await?,
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

/// Completes the websocket handshake: the response that streams what the writer queues (at
/// most `queue` frames), and the client's frames.
pub fn upgrade(
    req: &HttpRequest,
    payload: web::Payload,
    queue: usize,
) -> AppResult<(
    HttpResponse,
    FrameWriter,
    impl futures_util::Stream<Item = Incoming> + 'static,
)> {
    let mut response = ws::handshake(req)
        .map_err(|e| AppError::BadRequest(format!("not a websocket request: {e}")))?;
    let (tx, mut rx) = mpsc::channel::<Bytes>(queue);
    let writer = FrameWriter {
        codec: Codec::new(),
        tx,
    };
    let outgoing = stream::poll_fn(move |cx| rx.poll_recv(cx)).map(Ok::<_, actix_web::Error>);
    Ok((response.streaming(outgoing), writer, decode_frames(payload)))
}

/// Turns the request body into client frames.
fn decode_frames(payload: web::Payload) -> impl futures_util::Stream<Item = Incoming> {
    let codec = Codec::new().max_size(MAX_CLIENT_FRAME);
    stream::unfold(
        (payload, BytesMut::new(), codec, false),
        |(mut payload, mut buf, mut codec, done)| async move {
            if done {
                return None;
            }
            loop {
                match codec.decode(&mut buf) {
                    Ok(Some(frame)) => return Some((Ok(frame), (payload, buf, codec, false))),
                    Ok(None) => match payload.next().await {
                        Some(Ok(bytes)) => buf.extend_from_slice(&bytes),
                        Some(Err(e)) => {
                            let err = ProtocolError::Io(std::io::Error::other(e.to_string()));
                            return Some((Err(err), (payload, buf, codec, true)));
                        }
                        None => return None,
                    },
                    Err(e) => return Some((Err(e), (payload, buf, codec, true))),
                }
            }
        },
    )
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
