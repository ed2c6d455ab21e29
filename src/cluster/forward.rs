//! Requests for a conversation another node holds, run by that node (NATS request/reply).
//!
//! A node that is asked to write to a conversation of a shard it does not hold answers
//! `Moved` inside ([`AppError::Moved`](crate::error::AppError)); the HTTP layer then sends the
//! whole request to `sb.shard.<n>`, which only the shard's holder subscribes to, and answers
//! with what the holder answered — after the holder committed, as if the request had reached
//! it. The holder runs it through its own HTTP stack (over loopback, marked with a secret only
//! it knows), so every route behaves exactly as on the owner: the same validation, the same
//! signature checks, the same errors. Nobody holding the shard (a handover, a dead node whose
//! lease has not expired yet): NATS says so at once, and the request is sent again with a
//! backoff for up to [`NO_OWNER_WAIT`], the time a failover takes.
//!
//! A visitor's message typed in the website widget arrives over a websocket, not as a
//! request: it travels the same way as a [`VisitorText`], and the holder hands it to the
//! conversation's actor. So does the news that a conversation's contact changed (blocked,
//! unsubscribed, renamed: [`contact_changed`]), which the holder's actor must take before the
//! change is acknowledged.
//!
//! On the wire a request is one line of JSON ([`Head`]) and the raw body after it; a response
//! likewise. Both are bounded by the NATS server's `max_payload`.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::Shard;
use crate::{
    actors::{
        messages::{ContactChanged, DeliverInbound},
        registry::{ask, Conversations},
    },
    domain::{referral::Referral, ConversationId, MessageId},
    error::AppError,
};

/// How many times one request may be forwarded: a shard that moves again while its request
/// travels is followed, a loop is not.
pub const MAX_HOPS: u8 = 3;

/// How long a request waits for a shard without holder to be taken (a node died: its leases
/// expire and are claimed within this).
pub const NO_OWNER_WAIT: Duration = Duration::from_secs(5);

/// Forwarded requests run at once on one node; more wait for their turn.
const IN_FLIGHT: usize = 256;

/// The queue group of the holders' subscriptions: while a shard changes hands, two nodes may
/// subscribe for a moment, and a request must reach one of them only.
const GROUP: &str = "holder";

/// Set by the holder on the request it replays to itself: the secret that says "forwarded by
/// the cluster", so the hop count and the client's address it carries are believed.
pub const TOKEN_HEADER: &str = "x-switchboard-forwarded";
/// How many times the request was forwarded.
pub const HOPS_HEADER: &str = "x-switchboard-hops";
/// The address of the client of the first node, for the per-address rules.
pub const CLIENT_HEADER: &str = "x-switchboard-client";

/// The method of a [`VisitorText`] on the wire (no HTTP method looks like it).
const VISITOR: &str = "VISITOR";

/// The method of a contact change's notice on the wire.
const CONTACT: &str = "CONTACT";

/// One message a visitor typed in the website widget, for the holder of its conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorText {
    pub conversation: ConversationId,
    /// Unique per visitor and send: a resent frame is one message.
    pub external_id: Option<String>,
    pub text: String,
    pub sent_at: chrono::NaiveDateTime,
    pub referral: Option<Referral>,
}

/// Stores a visitor's message through its conversation's actor: here when this node holds
/// the conversation, else (given `forwarder`, cluster mode) on the node that does.
pub async fn deliver_visitor(
    conversations: &Conversations,
    forwarder: Option<&Forwarder>,
    message: VisitorText,
) -> Result<VisitorAccepted, AppError> {
    let mut deliver = DeliverInbound::text(
        message.external_id.clone(),
        message.text.clone(),
        message.sent_at,
    );
    deliver.referral = message.referral.clone();
    match (
        ask(conversations, message.conversation, deliver).await,
        forwarder,
    ) {
        (Ok(accepted), _) => Ok(VisitorAccepted {
            message_id: accepted.message_id,
            duplicate: accepted.duplicate,
        }),
        (Err(AppError::Moved { shard, .. }), Some(forwarder)) => forwarder
            .visitor(shard, &message)
            .await
            .map_err(|e| AppError::Unavailable(e.to_string())),
        (Err(e), _) => Err(e),
    }
}

/// Tells the actor of conversation `id` that its contact's row changed, here when this node
/// holds the conversation, else (given `forwarder`, cluster mode) on the node that does; the
/// actor has taken the new row when this returns. A conversation not found is fine (deleted
/// meanwhile).
pub async fn contact_changed(
    conversations: &Conversations,
    forwarder: Option<&Forwarder>,
    id: ConversationId,
) -> Result<(), AppError> {
    match (ask(conversations, id, ContactChanged).await, forwarder) {
        (Ok(()) | Err(AppError::NotFound(_)), _) => Ok(()),
        (Err(AppError::Moved { shard, .. }), Some(forwarder)) => forwarder
            .typed::<_, ()>(shard, CONTACT, &id)
            .await
            .map_err(|e| AppError::Unavailable(e.to_string())),
        (Err(e), _) => Err(e),
    }
}

/// What the holder stored of a [`VisitorText`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorAccepted {
    pub message_id: MessageId,
    pub duplicate: bool,
}

/// The NATS subject of a shard's holder.
pub fn subject(shard: Shard) -> String {
    format!("sb.shard.{}", shard.number())
}

/// Headers that describe one connection, not the request: never forwarded.
pub fn hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "content-length"
            | TOKEN_HEADER
            | HOPS_HEADER
            | CLIENT_HEADER
    )
}

/// What travels before the body: the request line and headers, or the status and headers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The method, or empty in a response.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub method: String,
    /// Path and query, or empty in a response.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// The status of a response (0 in a request).
    #[serde(default)]
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Forwards so far, this one included.
    #[serde(default)]
    pub hops: u8,
    /// The first node's client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<IpAddr>,
}

/// A request or a response as it travels: its head and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framed {
    pub head: Head,
    pub body: Bytes,
}

/// A payload that is not one [`Framed`].
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed forwarded message: {0}")]
pub struct Malformed(String);

impl Framed {
    pub fn encode(&self) -> Bytes {
        // Serialising plain strings and numbers cannot fail.
        let head = serde_json::to_vec(&self.head).unwrap_or_default();
        let mut out = BytesMut::with_capacity(head.len() + 1 + self.body.len());
        out.extend_from_slice(&head);
        out.extend_from_slice(b"\n");
        out.extend_from_slice(&self.body);
        out.freeze()
    }

    pub fn decode(mut payload: Bytes) -> Result<Framed, Malformed> {
        // JSON escapes every newline inside its strings: the first one ends the head.
        let end = payload
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| Malformed("no head".to_owned()))?;
        let head = payload.split_to(end);
        let head = serde_json::from_slice(&head).map_err(|e| Malformed(e.to_string()))?;
        let body = payload.split_off(1);
        Ok(Framed { head, body })
    }
}

/// Why a request could not be run by the shard's holder.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("no node took shard {0} within the wait")]
    NoHolder(Shard),
    #[error("the holder of shard {0} did not answer in time")]
    TimedOut(Shard),
    #[error("the request does not fit in one NATS message")]
    TooLarge,
    #[error("forwarding failed: {0}")]
    Nats(String),
    #[error(transparent)]
    Malformed(#[from] Malformed),
    /// The holder answered with an error.
    #[error("the holder refused it ({status}): {body}")]
    Refused { status: u16, body: String },
}

/// Sends requests to the holders of shards.
#[derive(Clone)]
pub struct Forwarder {
    client: async_nats::Client,
    /// How long one holder may take to answer (its own deadline for writes, and some).
    answer_within: Duration,
}

impl Forwarder {
    pub fn new(client: async_nats::Client, answer_within: Duration) -> Forwarder {
        Forwarder {
            client,
            answer_within,
        }
    }

    /// The largest request or response that fits in one message, head included.
    pub fn max_payload(&self) -> usize {
        self.client.server_info().max_payload
    }

    /// Hands a visitor's message to the holder of its conversation's shard.
    pub async fn visitor(
        &self,
        shard: Shard,
        message: &VisitorText,
    ) -> Result<VisitorAccepted, ForwardError> {
        self.typed(shard, VISITOR, message).await
    }

    /// Sends `message` to the holder of `shard` as a `method` of the cluster's own (no HTTP
    /// method looks like one), and reads its answer.
    async fn typed<T: Serialize, R: serde::de::DeserializeOwned>(
        &self,
        shard: Shard,
        method: &str,
        message: &T,
    ) -> Result<R, ForwardError> {
        let body = serde_json::to_vec(message).map_err(|e| Malformed(e.to_string()))?;
        let request = Framed {
            head: Head {
                method: method.to_owned(),
                path: String::new(),
                status: 0,
                headers: Vec::new(),
                hops: 1,
                client: None,
            },
            body: Bytes::from(body),
        };
        let answer = self.send(shard, &request).await?;
        if answer.head.status != 200 {
            return Err(ForwardError::Refused {
                status: answer.head.status,
                body: String::from_utf8_lossy(&answer.body).into_owned(),
            });
        }
        serde_json::from_slice(&answer.body).map_err(|e| Malformed(e.to_string()).into())
    }

    /// Runs `request` on the holder of `shard` and returns its answer.
    pub async fn send(&self, shard: Shard, request: &Framed) -> Result<Framed, ForwardError> {
        use async_nats::client::RequestErrorKind as Kind;
        let payload = request.encode();
        if payload.len() > self.max_payload() {
            return Err(ForwardError::TooLarge);
        }
        let subject = subject(shard);
        let started = Instant::now();
        let mut pause = Duration::from_millis(25);
        loop {
            let ask = async_nats::Request::new()
                .payload(payload.clone())
                .timeout(Some(self.answer_within));
            match self.client.send_request(subject.clone(), ask).await {
                Ok(reply) => return Ok(Framed::decode(reply.payload)?),
                Err(e) if e.kind() == Kind::NoResponders => {
                    if started.elapsed() + pause > NO_OWNER_WAIT {
                        return Err(ForwardError::NoHolder(shard));
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(400));
                }
                Err(e) if e.kind() == Kind::TimedOut => return Err(ForwardError::TimedOut(shard)),
                Err(e) if e.kind() == Kind::MaxPayloadExceeded => {
                    return Err(ForwardError::TooLarge)
                }
                Err(e) => return Err(ForwardError::Nats(e.to_string())),
            }
        }
    }
}

/// The holder's side: while this node holds a shard it answers the requests forwarded to it
/// by running them on itself.
pub struct Served {
    client: async_nats::Client,
    /// Where this node listens, reached over loopback.
    local: SocketAddr,
    /// Marks the replayed requests as forwarded; known to this process only.
    token: Arc<str>,
    http: reqwest::Client,
    /// Where visitors' messages go.
    conversations: Conversations,
    permits: Arc<tokio::sync::Semaphore>,
    shards: Mutex<HashMap<Shard, tokio::task::JoinHandle<()>>>,
}

impl Served {
    pub fn new(
        client: async_nats::Client,
        local: SocketAddr,
        token: Arc<str>,
        answer_within: Duration,
        conversations: Conversations,
    ) -> Served {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(answer_within)
            .build()
            .unwrap_or_default();
        Served {
            client,
            local: loopback(local),
            token,
            http,
            conversations,
            permits: Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT)),
            shards: Mutex::new(HashMap::new()),
        }
    }

    /// Starts answering for `shard` (after its epoch is taken: what runs here may write).
    pub async fn start(&self, shard: Shard) -> Result<(), String> {
        let mut requests = self
            .client
            .queue_subscribe(subject(shard), GROUP.to_owned())
            .await
            .map_err(|e| e.to_string())?;
        let (client, http, token, local, permits) = (
            self.client.clone(),
            self.http.clone(),
            self.token.clone(),
            self.local,
            self.permits.clone(),
        );
        let conversations = self.conversations.clone();
        let task = tokio::spawn(async move {
            while let Some(msg) = requests.next().await {
                let Some(reply) = msg.reply else { continue };
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                let (client, http, token) = (client.clone(), http.clone(), token.clone());
                let conversations = conversations.clone();
                tokio::spawn(async move {
                    let answer = match Framed::decode(msg.payload) {
                        Ok(r) if r.head.method == VISITOR => visitor(&conversations, r.body).await,
                        Ok(r) if r.head.method == CONTACT => contact(&conversations, r.body).await,
                        Ok(r) => run(&http, local, &token, r).await,
                        Err(e) => failure(400, "bad_request", &e.to_string()),
                    };
                    let max = client.server_info().max_payload;
                    let mut payload = answer.encode();
                    if payload.len() > max {
                        payload = failure(503, "unavailable", "the answer is too large to forward")
                            .encode();
                    }
                    if let Err(e) = client.publish(reply, payload).await {
                        tracing::warn!(error = %e, "cannot answer a forwarded request");
                    }
                    drop(permit);
                });
            }
        });
        let old = self
            .shards
            .lock()
            .ok()
            .and_then(|mut s| s.insert(shard, task));
        if let Some(old) = old {
            old.abort();
        }
        Ok(())
    }

    /// Stops answering for `shard` (before its lease is released). Requests already running
    /// finish; if they reach the conversation now, they are forwarded on to the new holder.
    pub fn stop(&self, shard: Shard) {
        if let Some(task) = self.shards.lock().ok().and_then(|mut s| s.remove(&shard)) {
            task.abort();
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(shards) = self.shards.lock() {
            for task in shards.values() {
                task.abort();
            }
        }
    }
}

/// The address to reach a listener on from the same machine.
fn loopback(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::from(([127, 0, 0, 1], addr.port())),
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port()))
        }
        _ => addr,
    }
}

/// A JSON error answer in the shape of every other error of the API.
fn failure(status: u16, error: &str, message: &str) -> Framed {
    Framed {
        head: Head {
            method: String::new(),
            path: String::new(),
            status,
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            hops: 0,
            client: None,
        },
        body: Bytes::from(serde_json::json!({ "error": error, "message": message }).to_string()),
    }
}

/// Stores a visitor's message forwarded here, through its conversation's actor.
async fn visitor(conversations: &Conversations, body: Bytes) -> Framed {
    let message: VisitorText = match serde_json::from_slice(&body) {
        Ok(m) => m,
        Err(e) => return failure(400, "bad_request", &e.to_string()),
    };
    // Not forwarded on: a shard that moved meanwhile is the visitor's to send again.
    answered(deliver_visitor(conversations, None, message).await)
}

/// Has the actor of a conversation held here take its contact's new row.
async fn contact(conversations: &Conversations, body: Bytes) -> Framed {
    let id: ConversationId = match serde_json::from_slice(&body) {
        Ok(id) => id,
        Err(e) => return failure(400, "bad_request", &e.to_string()),
    };
    answered(contact_changed(conversations, None, id).await)
}

/// A typed message's answer: its result as JSON, or the error as the API writes it.
fn answered<T: Serialize>(result: Result<T, AppError>) -> Framed {
    match result {
        Ok(accepted) => Framed {
            head: Head {
                method: String::new(),
                path: String::new(),
                status: 200,
                headers: Vec::new(),
                hops: 0,
                client: None,
            },
            body: Bytes::from(serde_json::to_vec(&accepted).unwrap_or_default()),
        },
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e).as_u16();
            failure(status, e.code(), &e.to_string())
        }
    }
}

/// Runs one forwarded request on this node and returns its answer.
async fn run(http: &reqwest::Client, local: SocketAddr, token: &str, request: Framed) -> Framed {
    let Ok(method) = reqwest::Method::from_bytes(request.head.method.as_bytes()) else {
        return failure(400, "bad_request", "malformed forwarded method");
    };
    if !request.head.path.starts_with('/') {
        return failure(400, "bad_request", "malformed forwarded path");
    }
    let url = format!("http://{local}{}", request.head.path);
    let mut call = http
        .request(method, url)
        .header(TOKEN_HEADER, token)
        .header(HOPS_HEADER, request.head.hops.to_string());
    if let Some(client) = request.head.client {
        call = call.header(CLIENT_HEADER, client.to_string());
    }
    for (name, value) in &request.head.headers {
        if !hop_by_hop(name) {
            call = call.header(name.as_str(), value.as_str());
        }
    }
    let response = match call.body(request.body).send().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "a forwarded request failed on this node");
            return failure(503, "unavailable", "the request could not be run; retry");
        }
    };
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter(|(name, _)| {
            !hop_by_hop(name.as_str()) && *name != "server-timing" && *name != "date"
        })
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    match response.bytes().await {
        Ok(body) => Framed {
            head: Head {
                method: String::new(),
                path: String::new(),
                status,
                headers,
                hops: 0,
                client: None,
            },
            body,
        },
        Err(_) => failure(503, "unavailable", "the answer could not be read; retry"),
    }
}

/// Whether two secrets are equal, in a time that does not depend on where they differ.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &'static [u8]) -> Framed {
        Framed {
            head: Head {
                method: "POST".to_owned(),
                path: "/webhooks/api/support?x=1".to_owned(),
                status: 0,
                headers: vec![
                    ("content-type".to_owned(), "application/json".to_owned()),
                    ("x-signature".to_owned(), "sha256=ab\"cd".to_owned()),
                ],
                hops: 1,
                client: Some(IpAddr::from([10, 0, 0, 7])),
            },
            body: Bytes::from_static(body),
        }
    }

    #[test]
    fn a_request_travels_unchanged() {
        for body in [
            &b""[..],
            b"{\"text\":\"hi\"}",
            b"line one\nline two\n",
            b"\n",
            b"\xff\x00 not utf-8",
        ] {
            let r = request(body);
            assert_eq!(Framed::decode(r.encode()), Ok(r.clone()), "{body:?}");
        }
    }

    #[test]
    fn a_response_travels_unchanged() {
        let r = failure(409, "conflict", "already\nassigned");
        assert_eq!(Framed::decode(r.encode()), Ok(r));
    }

    #[test]
    fn garbage_is_refused() {
        for payload in [&b""[..], b"no newline", b"{not json}\nbody", b"[1,2]\n"] {
            assert!(
                Framed::decode(Bytes::from_static(payload)).is_err(),
                "{payload:?}"
            );
        }
    }

    #[test]
    fn connection_headers_and_the_cluster_marks_are_not_forwarded() {
        for (name, dropped) in [
            ("connection", true),
            ("transfer-encoding", true),
            ("content-length", true),
            ("upgrade", true),
            (TOKEN_HEADER, true),
            (HOPS_HEADER, true),
            (CLIENT_HEADER, true),
            ("authorization", false),
            ("x-hub-signature-256", false),
            ("host", false),
            ("content-type", false),
        ] {
            assert_eq!(hop_by_hop(name), dropped, "{name}");
        }
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"ab"));
        assert!(!same_secret(b"", b"a"));
    }

    #[test]
    fn a_wildcard_listener_is_reached_on_loopback() {
        let any4: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let any6: SocketAddr = "[::]:8080".parse().unwrap();
        let one: SocketAddr = "10.1.2.3:8080".parse().unwrap();
        assert_eq!(loopback(any4), "127.0.0.1:8080".parse().unwrap());
        assert_eq!(loopback(any6), "[::1]:8080".parse().unwrap());
        assert_eq!(loopback(one), one);
    }
}
