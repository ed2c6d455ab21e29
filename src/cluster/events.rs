//! The cluster's event log: every committed change, from whichever node made it, in one
//! JetStream stream whose order is the one order every node and every client sees.
//!
//! The `seq` a client gets is the stream's sequence plus the stream's creation time in
//! microseconds (its *epoch*), so a cursor means the same event on every node and the realtime
//! protocol is the single node's: there, `seq` starts at the process's start time in
//! microseconds. A stream that was re-created (its events lost) starts above every old cursor's
//! base, so a client resuming from before is told to reload, as after a single node's restart.
//! A cursor older than the oldest event the stream keeps is refused the same way (the server
//! would silently start at its first kept event instead).
//!
//! Each event carries its id as `Nats-Msg-Id`: publishing one again within the duplicate
//! window (two minutes; a node re-publishing its outbox after a crash) stores it once.

use std::time::Duration;

use async_nats::jetstream::{
    self,
    consumer::{pull, DeliverPolicy},
    message::PublishMessage,
    stream,
};
use futures_util::{Stream, StreamExt as _};

use crate::actors::hub::Audience;

/// The stream's name and the subjects it holds (`sb.ev.<conversation>`, `sb.ev.all`).
pub const STREAM: &str = "SB_EVENTS";
const SUBJECTS: &str = "sb.ev.>";

/// How long a replay may take before it is given up (the client reloads instead).
const REPLAY_WITHIN: Duration = Duration::from_secs(5);

/// How much the stream keeps, and so how far back a client can resume.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub max_age: Duration,
    pub max_events: i64,
}

impl Default for Retention {
    /// A day, or ten million events: a dashboard closed overnight reloads; one that lost its
    /// network for minutes resumes.
    fn default() -> Self {
        Retention {
            max_age: Duration::from_secs(24 * 3600),
            max_events: 10_000_000,
        }
    }
}

/// One event as it travels between nodes: who may see it and its JSON without `seq` (each
/// node adds the stream's), encoded once by the node that committed it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Envelope {
    /// Unique per event: the stream keeps one copy per id.
    pub id: uuid::Uuid,
    pub audience: Audience,
    /// The event's `type`.
    pub kind: String,
    /// Typing and viewing: delivered live, never replayed.
    #[serde(default)]
    pub ephemeral: bool,
    /// The event's JSON object, without `seq`.
    pub body: String,
    /// This node wrote it in the event outbox with its commit (never sent: the stream's
    /// copy is nobody's to delete).
    #[serde(skip)]
    pub durable: bool,
}

impl Envelope {
    fn subject(&self) -> String {
        match self.audience {
            Audience::Everyone => "sb.ev.all".to_owned(),
            Audience::Conversation { id, .. } | Audience::LostSight { id, .. } => {
                format!("sb.ev.{}", id.0.simple())
            }
        }
    }
}

/// An event read from the log, with the `seq` clients see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub seq: u64,
    pub envelope: Envelope,
}

impl Logged {
    /// The event as `viewer`'s client gets it on a resume (`{"seq":N, …}`), or none when it
    /// is not replayed (typing, viewing) or not theirs to see.
    pub fn replayed_to(&self, viewer: &crate::actors::hub::Viewer) -> Option<String> {
        let e = &self.envelope;
        (!e.ephemeral && viewer.may_see(&e.audience))
            .then(|| crate::actors::hub::numbered(self.seq, &e.body))
    }
}

/// A cursor the log cannot resume from: older than what it keeps, from another epoch, or
/// ahead of its latest event. The client reloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the event log no longer reaches back to {since} (latest {latest}): reload")]
pub struct TooOld {
    pub since: u64,
    pub latest: u64,
}

/// Why the log could not be used.
#[derive(Debug, thiserror::Error)]
#[error("NATS JetStream event log: {0}")]
pub struct LogError(String);

fn log_err(e: impl std::fmt::Display) -> LogError {
    LogError(e.to_string())
}

/// The event stream of the cluster, as one node uses it.
#[derive(Clone)]
pub struct EventLog {
    js: jetstream::Context,
    stream: stream::Stream,
    /// The epoch: the stream's creation time in microseconds. `seq` = base + stream sequence.
    base: u64,
    /// The last `seq` this node's follower handed to its Hub: the stream's latest minus this
    /// is how far the node's clients lag (`GET /api/cluster`).
    followed: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl EventLog {
    /// The follower handed the event `seq` to the Hub.
    pub fn note_followed(&self, seq: u64) {
        self.followed
            .store(seq, std::sync::atomic::Ordering::Relaxed);
    }

    /// The last `seq` handed to this node's Hub (0 before the first).
    pub fn followed(&self) -> u64 {
        self.followed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Opens the stream, creating it if no node did yet.
    pub async fn open(js: jetstream::Context, retention: Retention) -> Result<EventLog, LogError> {
        let config = stream::Config {
            name: STREAM.to_owned(),
            subjects: vec![SUBJECTS.to_owned()],
            max_age: retention.max_age,
            max_messages: retention.max_events,
            duplicate_window: Duration::from_secs(120).min(retention.max_age),
            discard: stream::DiscardPolicy::Old,
            storage: stream::StorageType::File,
            num_replicas: 1,
            ..Default::default()
        };
        let mut stream = js.get_or_create_stream(config).await.map_err(log_err)?;
        let created = stream.info().await.map_err(log_err)?.created;
        let base = u64::try_from(created.unix_timestamp_nanos() / 1000).unwrap_or(0);
        Ok(EventLog {
            js,
            stream,
            base,
            followed: Default::default(),
        })
    }

    /// The `seq` clients see for a stream sequence.
    pub fn seq_of(&self, stream_sequence: u64) -> u64 {
        self.base + stream_sequence
    }

    /// The epoch: every `seq` of this stream is above it.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Appends an event and waits for the stream to store it; answers its `seq` (the first
    /// copy's when the id was published before).
    pub async fn publish(&self, envelope: &Envelope) -> Result<u64, LogError> {
        let ack = self.send(envelope).await?.await.map_err(log_err)?;
        Ok(self.seq_of(ack.sequence))
    }

    /// The `seq` of the latest event and the oldest one still kept, as the stream says now.
    async fn bounds(&self) -> Result<(u64, u64), LogError> {
        let mut stream = self.stream.clone();
        let state = stream.info().await.map_err(log_err)?.state.clone();
        Ok((state.first_sequence, state.last_sequence))
    }

    /// The `seq` of the latest event.
    pub async fn latest(&self) -> Result<u64, LogError> {
        let (_, last) = self.bounds().await?;
        Ok(self.seq_of(last))
    }

    /// Every event after `since` up to the latest at the time of the call, in order; refused
    /// when the log no longer holds all of them (or never gave out `since`).
    pub async fn since(&self, since: u64) -> Result<Result<Vec<Logged>, TooOld>, LogError> {
        let (first, last) = self.bounds().await?;
        let latest = self.seq_of(last);
        // `first` is 1 in an empty new stream, and last + 1 once events aged out of it.
        if since > latest || since < self.base || since + 1 < self.seq_of(first) {
            return Ok(Err(TooOld { since, latest }));
        }
        if since == latest {
            return Ok(Ok(Vec::new()));
        }
        let start = since - self.base + 1;
        let read = async {
            let mut events = self.follow_from(start).await?;
            let mut out = Vec::with_capacity(usize::try_from(last + 1 - start).unwrap_or(0));
            while let Some(event) = events.next().await {
                let event = event?;
                let done = event.seq >= latest;
                out.push(event);
                if done {
                    return Ok(out);
                }
            }
            Err(LogError(
                "the event log ended before its latest event".to_owned(),
            ))
        };
        // A replay that does not finish in time is a failed one (the client reloads), never
        // a session held forever.
        match tokio::time::timeout(REPLAY_WITHIN, read).await {
            Ok(out) => out.map(Ok),
            Err(_) => Err(LogError(format!(
                "replaying from {since} took longer than {REPLAY_WITHIN:?}"
            ))),
        }
    }

    /// The `seq` of the latest event, and every event after it, in the stream's order, for
    /// as long as the returned stream is polled (the consumer is re-created on a gap, by
    /// async-nats' ordered consumer).
    pub async fn follow(
        &self,
    ) -> Result<
        (
            u64,
            impl Stream<Item = Result<Logged, LogError>> + Send + 'static,
        ),
        LogError,
    > {
        let (_, last) = self.bounds().await?;
        Ok((self.seq_of(last), self.follow_from(last + 1).await?))
    }

    /// Every event after `seq` (one this log gave out), in order.
    pub async fn follow_after(
        &self,
        seq: u64,
    ) -> Result<impl Stream<Item = Result<Logged, LogError>> + Send + 'static, LogError> {
        self.follow_from(seq.saturating_sub(self.base) + 1).await
    }

    /// Sends an event without waiting for the stream to store it: the returned future
    /// answers when it did. Events sent one after the other on one node are stored in that
    /// order.
    pub async fn send(
        &self,
        envelope: &Envelope,
    ) -> Result<jetstream::context::PublishAckFuture, LogError> {
        let payload = serde_json::to_vec(envelope).map_err(log_err)?;
        self.js
            .send_publish(
                envelope.subject(),
                PublishMessage::build()
                    .payload(payload.into())
                    .message_id(envelope.id.simple().to_string()),
            )
            .await
            .map_err(log_err)
    }

    /// Every event from stream sequence `start` on.
    async fn follow_from(
        &self,
        start: u64,
    ) -> Result<impl Stream<Item = Result<Logged, LogError>> + Send + 'static, LogError> {
        let consumer = self
            .stream
            .create_consumer(pull::OrderedConfig {
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: start,
                },
                ..Default::default()
            })
            .await
            .map_err(log_err)?;
        let messages = consumer.messages().await.map_err(log_err)?;
        let base = self.base;
        Ok(messages.map(move |m| {
            let m = m.map_err(log_err)?;
            let sequence = m.info().map_err(log_err)?.stream_sequence;
            let envelope: Envelope = serde_json::from_slice(&m.payload).map_err(log_err)?;
            Ok(Logged {
                seq: base + sequence,
                envelope,
            })
        }))
    }
}
