//! Cluster mode: a request this node answered `moved` is run by the node holding the
//! conversation instead (see [`crate::cluster::forward`]), so a client may send anything to
//! any node. One node: nothing here runs.

use std::net::IpAddr;

use actix_web::{
    body::{BoxBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::{header, StatusCode},
    middleware::Next,
    web, Error, HttpMessage, HttpRequest, HttpResponse,
};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use crate::{
    app::AppState,
    cluster::{
        forward::{self, Framed, Head},
        node::ClusterNode,
        Shard,
    },
    error::AppError,
};

/// What this node was told of a request forwarded to it by the cluster: believed only when
/// it carries this node's own secret.
pub struct Forwarded {
    pub hops: u8,
    pub client: Option<IpAddr>,
}

/// The request's forwarding marks, when another node (or this one) forwarded it here.
pub fn forwarded(state: &AppState, req: &HttpRequest) -> Option<Forwarded> {
    let cluster = state.app.cluster.as_ref()?;
    let token = req.headers().get(forward::TOKEN_HEADER)?;
    if !cluster.is_forwarded(token.as_bytes()) {
        return None;
    }
    let text = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    Some(Forwarded {
        hops: text(forward::HOPS_HEADER)
            .and_then(|h| h.parse().ok())
            .unwrap_or(forward::MAX_HOPS),
        client: text(forward::CLIENT_HEADER).and_then(|c| c.parse().ok()),
    })
}

/// Keeps the request's body, runs the request here, and when the answer is `moved`, runs it
/// on the holder of the conversation's shard and answers with the holder's answer.
///
/// Not forwarded (answered `moved` as before, for the client to send again): websocket
/// upgrades, bodies of unknown length or larger than a NATS message, and requests that
/// already travelled [`forward::MAX_HOPS`] times.
pub async fn forward_moved(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let Some((state, cluster)) = state.and_then(|s| {
        let c = s.app.cluster.clone()?;
        Some((s, c))
    }) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let Some(length) = forwardable_length(&req, &cluster) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let body = read_body(&mut req, length).await?;
    req.set_payload(Payload::from(body.clone()));
    let marks = forwarded(&state, req.request());
    let hops = marks.as_ref().map_or(0, |m| m.hops);
    let client = marks
        .and_then(|m| m.client)
        .unwrap_or_else(|| super::auth::client_address(&state, req.request()));
    let method = req.method().as_str().to_owned();
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path().to_owned(), |p| p.as_str().to_owned());
    let headers = forwarded_headers(req.headers());
    let res = next.call(req).await?;
    let Some(shard) = moved(&res) else {
        return Ok(res.map_into_boxed_body());
    };
    let Some(headers) = headers.filter(|_| hops < forward::MAX_HOPS) else {
        return Ok(res.map_into_boxed_body());
    };
    let request = Framed {
        head: Head {
            method,
            path,
            status: 0,
            headers,
            hops: hops.saturating_add(1),
            client: Some(client),
        },
        body,
    };
    match cluster.forwarder.send(shard, &request).await {
        Ok(answer) => {
            state.app.metrics.forwarded.inc();
            Ok(res.into_response(response(answer)))
        }
        Err(e) => {
            tracing::warn!(%shard, error = %e, "a request for another node could not be forwarded");
            Ok(res.map_into_boxed_body())
        }
    }
}

/// The length of the body to keep, when the request may be forwarded at all.
fn forwardable_length(req: &ServiceRequest, cluster: &ClusterNode) -> Option<usize> {
    let headers = req.headers();
    if headers.contains_key(header::UPGRADE) || headers.contains_key(header::TRANSFER_ENCODING) {
        return None;
    }
    let length = match headers.get(header::CONTENT_LENGTH) {
        None => 0,
        Some(v) => v.to_str().ok()?.parse::<usize>().ok()?,
    };
    // Room for the head beside the body.
    (length + 16 * 1024 <= cluster.forwarder.max_payload()).then_some(length)
}

/// Reads the whole body (its length is known and bounded).
async fn read_body(req: &mut ServiceRequest, length: usize) -> Result<Bytes, Error> {
    let mut payload = req.take_payload();
    let mut body = BytesMut::with_capacity(length);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > length {
            return Err(AppError::BadRequest(
                "the body is longer than its Content-Length".to_owned(),
            )
            .into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The headers to send on, or `None` when one cannot travel as text (then the request is
/// not forwarded: a header left out could change what it means).
fn forwarded_headers(headers: &header::HeaderMap) -> Option<Vec<(String, String)>> {
    headers
        .iter()
        .filter(|(name, _)| !forward::hop_by_hop(name.as_str()))
        .map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect()
}

/// The shard of a `moved` answer.
fn moved(res: &ServiceResponse<impl MessageBody>) -> Option<Shard> {
    if res.status() != StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    match res.response().error()?.as_error::<AppError>()? {
        AppError::Moved { shard, .. } => Some(*shard),
        _ => None,
    }
}

/// The holder's answer, as this node's.
fn response(answer: Framed) -> HttpResponse {
    let status = StatusCode::from_u16(answer.head.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out = HttpResponse::build(status);
    for (name, value) in &answer.head.headers {
        out.append_header((name.as_str(), value.as_str()));
    }
    out.body(answer.body)
}
