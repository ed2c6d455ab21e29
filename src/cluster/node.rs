//! One node's part of the cluster: its NATS connection, the event log, its membership and
//! shard leases, and the epochs of the shards it holds.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, RwLock},
};

use async_nats::jetstream;
use diesel::{connection::SimpleConnection, Connection, PgConnection};
use futures_util::future::BoxFuture;

use super::{
    event_outbox::{self, Leftovers},
    events::{EventLog, Retention},
    fence::{self, Epoch},
    forward::{Forwarder, Served},
    lease::{self, Holder, LeaseTiming, Leases, Member},
    NodeId, Shard,
};
use crate::{actors::registry::Conversations, config::ClusterSettings, db::Store, error::AppError};

/// This node in the cluster. Cheap to share.
pub struct ClusterNode {
    pub id: NodeId,
    pub events: EventLog,
    /// Sends a request this node cannot serve to the holder of its conversation's shard.
    pub forwarder: Forwarder,
    /// Marks the requests this node runs for another (see [`super::forward`]); random,
    /// never written anywhere.
    token: Arc<str>,
    client: async_nats::Client,
    answer_within: std::time::Duration,
    js: jetstream::Context,
    /// The members bucket, opened once: `GET /api/cluster` reads it.
    nodes: async_nats::jetstream::kv::Store,
    timing: LeaseTiming,
    epochs: Arc<Epochs>,
    leases: tokio::sync::Mutex<Option<Leases>>,
}

/// The fencing epoch of every shard this node holds now.
#[derive(Default)]
pub struct Epochs(RwLock<HashMap<Shard, Epoch>>);

impl Epochs {
    /// The epoch this node activated `shard` with, while it holds it.
    pub fn of(&self, shard: Shard) -> Option<Epoch> {
        self.0.read().ok()?.get(&shard).copied()
    }

    /// The epoch of `shard`, or `Moved` when this node does not hold it: a conversation of
    /// another node's shard is neither started nor written here.
    pub fn require(&self, shard: Shard) -> Result<Epoch, AppError> {
        self.of(shard).ok_or_else(|| AppError::Moved {
            shard,
            why: format!("shard {shard} is not held by this node"),
        })
    }

    /// The shards held now, by number.
    pub fn shards(&self) -> Vec<u16> {
        self.0
            .read()
            .map(|e| e.keys().map(|s| s.number()).collect())
            .unwrap_or_default()
    }

    fn set(&self, shard: Shard, epoch: Option<Epoch>) {
        if let Ok(mut epochs) = self.0.write() {
            match epoch {
                Some(e) => epochs.insert(shard, e),
                None => epochs.remove(&shard),
            };
        }
    }

    fn snapshot(&self) -> BTreeMap<Shard, Epoch> {
        self.0
            .read()
            .map(|e| e.iter().map(|(s, e)| (*s, *e)).collect())
            .unwrap_or_default()
    }
}

/// Takes a granted shard's epoch in PostgreSQL; forgets it and stops the shard's actors when
/// the lease goes.
///
/// Activations use a connection of their own, not the group-commit writer's: an activation
/// waits for the writes in flight under the previous epoch, and those of a node frozen in the
/// middle of its transaction wait until the server ends that transaction
/// ([`IDLE_IN_TRANSACTION`](crate::db::IDLE_IN_TRANSACTION)). Meanwhile the writer goes on,
/// and the activation gives up after [`ACTIVATION_WAIT`], so its lease is handed back and
/// claimed again later.
struct Activator {
    node: NodeId,
    url: String,
    conn: Arc<std::sync::Mutex<Option<PgConnection>>>,
    epochs: Arc<Epochs>,
    conversations: Conversations,
    served: Arc<Served>,
    events: EventLog,
    /// This node's open websockets, for its membership.
    connections: Arc<dyn Fn() -> u64 + Send + Sync>,
}

/// How long an activation waits for the previous owner's writes in flight.
const ACTIVATION_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

impl Activator {
    /// Activates `shard` on the activator's connection (opened on first use, and again
    /// after a failure), and reads the events its previous holder committed and did not see
    /// acknowledged (see [`event_outbox`]).
    fn activate(
        conn: &std::sync::Mutex<Option<PgConnection>>,
        url: &str,
        shard: Shard,
        node: &NodeId,
    ) -> Result<(Epoch, Leftovers), String> {
        let mut conn = conn
            .lock()
            .map_err(|_| "the activation connection is poisoned")?;
        if conn.is_none() {
            let mut c = PgConnection::establish(url).map_err(|e| e.to_string())?;
            c.batch_execute(&format!(
                "SET lock_timeout = '{}ms'",
                ACTIVATION_WAIT.as_millis()
            ))
            .map_err(|e| e.to_string())?;
            *conn = Some(c);
        }
        let Some(c) = conn.as_mut() else {
            return Err("no activation connection".to_owned());
        };
        let activated = fence::activate(c, shard, node)
            .and_then(|epoch| Ok((epoch, event_outbox::left_in(c, shard, crate::clock::now())?)));
        activated.map_err(|e| {
            *conn = None;
            e.to_string()
        })
    }

    /// Publishes what the shard's previous holder left in the event outbox (before this node
    /// publishes anything of the shard, so each conversation's events keep their order), then
    /// deletes it.
    async fn republish(
        events: EventLog,
        conn: Arc<std::sync::Mutex<Option<PgConnection>>>,
        shard: Shard,
        left: Leftovers,
    ) -> Result<(), String> {
        if left.again.is_empty() && left.dropped.is_empty() {
            return Ok(());
        }
        let mut ids = left.dropped;
        for (id, envelope) in left.again {
            events
                .publish(&envelope)
                .await
                .map_err(|e| format!("cannot publish the events left in shard {shard}: {e}"))?;
            ids.push(id);
        }
        tracing::info!(%shard, events = ids.len(), "published the events the shard's previous holder left");
        tokio::task::spawn_blocking(move || {
            let mut conn = conn
                .lock()
                .map_err(|_| "the activation connection is poisoned")?;
            let c = conn.as_mut().ok_or("no activation connection")?;
            event_outbox::delete_on(c, &ids).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())??;
        Ok(())
    }
}

impl Holder for Activator {
    fn granted(&self, shard: Shard) -> BoxFuture<'static, Result<(), String>> {
        let (conn, url, node) = (self.conn.clone(), self.url.clone(), self.node.clone());
        let (events, outbox_conn) = (self.events.clone(), self.conn.clone());
        let (epochs, conversations) = (self.epochs.clone(), self.conversations.clone());
        let served = self.served.clone();
        Box::pin(async move {
            let (epoch, leftovers) =
                tokio::task::spawn_blocking(move || Activator::activate(&conn, &url, shard, &node))
                    .await
                    .map_err(|e| e.to_string())??;
            Activator::republish(events, outbox_conn, shard, leftovers).await?;
            epochs.set(shard, Some(epoch));
            // Requests other nodes forward for it come here from now on (if this fails, the
            // lease is given back, which revokes the epoch).
            served.start(shard).await?;
            conversations.took(shard);
            Ok(())
        })
    }

    fn load(&self) -> lease::NodeLoad {
        lease::NodeLoad {
            connections: (self.connections)(),
            events_followed: self.events.followed(),
        }
    }

    fn revoked(&self, shard: Shard) -> BoxFuture<'static, ()> {
        // First: from now on no write of this node passes the fence's local check.
        self.epochs.set(shard, None);
        self.served.stop(shard);
        self.conversations.relinquish(shard);
        Box::pin(async {})
    }
}

/// Why this node could not join the cluster.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("cannot connect to NATS at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error(transparent)]
    Log(#[from] super::events::LogError),
    #[error(transparent)]
    Bucket(#[from] lease::BucketError),
    #[error("{0}")]
    Database(String),
}

impl ClusterNode {
    /// Connects to NATS and opens the event log. The node takes shards only once it
    /// [`ClusterNode::join`]s, when it serves.
    ///
    /// `answer_within`: how long a forwarded request may take on the node that runs it.
    pub async fn connect(
        settings: &ClusterSettings,
        id: NodeId,
        answer_within: std::time::Duration,
    ) -> Result<ClusterNode, JoinError> {
        let client = async_nats::ConnectOptions::new()
            .name(format!("switchboard {id}"))
            .retry_on_initial_connect()
            .connect(settings.nats_url.as_str());
        let client = tokio::time::timeout(std::time::Duration::from_secs(10), client)
            .await
            .map_err(|_| JoinError::Connect {
                url: settings.nats_url.clone(),
                reason: "no answer within 10 s".to_owned(),
            })?
            .map_err(|e| JoinError::Connect {
                url: settings.nats_url.clone(),
                reason: e.to_string(),
            })?;
        // The client connects in the background (and reconnects later on its own): wait for
        // the first connection, so an unreachable server is named as such.
        let reached = async {
            while client.connection_state() != async_nats::connection::State::Connected {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), reached)
            .await
            .map_err(|_| JoinError::Connect {
                url: settings.nats_url.clone(),
                reason: "no connection within 10 s".to_owned(),
            })?;
        let js = jetstream::new(client.clone());
        let events = EventLog::open(js.clone(), Retention::default()).await?;
        let timing = settings.lease_timing();
        let nodes = lease::open_bucket(&js, lease::NODES_BUCKET, timing.ttl).await?;
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        Ok(ClusterNode {
            id,
            events,
            forwarder: Forwarder::new(client.clone(), answer_within),
            token: token.into(),
            client,
            answer_within,
            js,
            nodes,
            timing,
            epochs: Arc::new(Epochs::default()),
            leases: tokio::sync::Mutex::new(None),
        })
    }

    /// Becomes a member and starts taking shards (each activated in `store`; the actors of
    /// one it loses are stopped). `address`: where this node's HTTP server listens.
    pub async fn join(
        &self,
        store: Store,
        address: std::net::SocketAddr,
        conversations: Conversations,
        connections: Arc<dyn Fn() -> u64 + Send + Sync>,
    ) -> Result<(), JoinError> {
        let crate::db::Backend::Postgres(url) = store.backend().clone() else {
            return Err(JoinError::Database(
                "cluster mode runs on PostgreSQL only".to_owned(),
            ));
        };
        let holder = Arc::new(Activator {
            node: self.id.clone(),
            url,
            conn: Arc::default(),
            epochs: self.epochs.clone(),
            served: Arc::new(Served::new(
                self.client.clone(),
                address,
                self.token.clone(),
                self.answer_within,
                conversations.clone(),
            )),
            conversations,
            events: self.events.clone(),
            connections,
        });
        let leases = Leases::join(
            &self.js,
            self.id.clone(),
            address.to_string(),
            self.timing,
            holder,
        )
        .await?;
        *self.leases.lock().await = Some(leases);
        Ok(())
    }

    /// Hands every shard over and leaves the membership (graceful stop).
    pub async fn leave(&self) {
        if let Some(leases) = self.leases.lock().await.take() {
            leases.leave().await;
        }
    }

    /// Counts in `throttle` the password attempts the other nodes check.
    pub async fn share_logins(
        &self,
        throttle: Arc<crate::login_throttle::LoginThrottle>,
    ) -> Result<(), String> {
        super::logins::follow(self.client.clone(), self.id.clone(), throttle).await
    }

    /// Shares presence and the badge with the other nodes (see [`super::presence`] and
    /// [`super::badge`]); this node's presence entry is left to expire once `stopping`.
    pub async fn share_presence(
        &self,
        presence: actix::Addr<crate::actors::presence::Presence>,
        badge: actix::Addr<crate::actors::badge::BadgeCounter>,
        stopping: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), String> {
        use crate::actors::{badge, presence as p};
        let to_presence = presence.clone();
        let link = super::presence::PresenceLink::start(
            &self.js,
            self.client.clone(),
            self.id.clone(),
            stopping,
            move |heard| to_presence.do_send(p::FromOthers(heard)),
        )
        .await?;
        presence.do_send(p::Clustered {
            link,
            epochs: self.epochs.clone(),
        });
        let to_badge = badge.clone();
        super::badge::follow(&self.client, move || {
            to_badge.do_send(badge::ChangedSomewhere)
        })
        .await?;
        badge.do_send(badge::Clustered {
            client: self.client.clone(),
            epochs: self.epochs.clone(),
        });
        Ok(())
    }

    /// Tells the other nodes of a password attempt this node checked.
    pub async fn tell_login(&self, key: &str, from: std::net::IpAddr, succeeded: bool) {
        let attempt = super::logins::Attempt {
            node: self.id.to_string(),
            key: key.to_owned(),
            from,
            succeeded,
        };
        super::logins::tell(&self.client, &attempt).await;
    }

    /// Whether `token` is this node's mark of a forwarded request.
    pub fn is_forwarded(&self, token: &[u8]) -> bool {
        super::forward::same_secret(self.token.as_bytes(), token)
    }

    /// The epochs of the shards this node holds, as they change.
    pub fn held(&self) -> Arc<Epochs> {
        self.epochs.clone()
    }

    /// Every member as it described itself, and this node's epochs.
    pub async fn status(&self) -> Result<ClusterStatus, AppError> {
        let members = lease::members(&self.nodes)
            .await
            .map_err(AppError::Unavailable)?;
        let latest = self
            .events
            .latest()
            .await
            .map_err(|e| AppError::Unavailable(e.to_string()))?;
        Ok(ClusterStatus {
            node: self.id.to_string(),
            members,
            epochs: self
                .epochs
                .snapshot()
                .into_iter()
                .map(|(s, e)| (s.number(), e.0))
                .collect(),
            events_epoch: self.events.base(),
            events_latest: latest,
        })
    }
}

/// What `GET /api/cluster` shows.
#[derive(Debug, serde::Serialize)]
pub struct ClusterStatus {
    /// The node that answered.
    pub node: String,
    pub members: Vec<Member>,
    /// The shards this node holds, with the epoch it took each with.
    pub epochs: BTreeMap<u16, i64>,
    /// The event log's epoch (every `seq` is above it) and its latest `seq`.
    pub events_epoch: u64,
    pub events_latest: u64,
}
