//! The websocket plumbing both sockets share (agents' `GET /api/ws`, visitors'
//! `GET /widget/{inbox}/ws`): the handshake, the frame codec and the bounded outbound queue.
//!
//! This file and the two session files (`agent_session.rs`, `widget_session.rs`) are the only
//! users of `actix-web-actors` and the websocket codec, so a later move to `actix-ws` touches
//! little.
//!
//! Outbound frames go through a bounded channel into the response stream. The HTTP layer stops
//! pulling from that stream when the client stops reading, the channel fills, and the session
//! disconnects the client: a stalled client costs a fixed amount of memory, never more.

use actix_codec::{Decoder, Encoder};
use actix_http::ws::{Codec, Frame, Message as WsMessage, ProtocolError};
use actix_web::{
    web::{self, Bytes, BytesMut},
    HttpRequest, HttpResponse,
};
use actix_web_actors::ws;
use futures_util::{stream, StreamExt};
use tokio::sync::mpsc;

use crate::{
    error::{AppError, AppResult},
    protocol::{SessionFrame, VisitorFrame},
};

/// Largest frame a client may send (typing, viewing and resume frames are tiny).
const MAX_CLIENT_FRAME: usize = 16 * 1024;

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

/// Resolves when the server starts stopping (`server::stop`): each session awaits it and
/// closes with 1012 (service restart), so its client reconnects at once instead of waiting
/// for a timeout.
pub fn server_stopping(
    app: &crate::app::AppContext,
) -> impl std::future::Future<Output = ()> + 'static {
    let mut stopping = app.stopping.subscribe();
    async move {
        // An error means the server is gone altogether: stopping too.
        let _ = stopping.wait_for(|s| *s).await;
    }
}
