//! Membership and shard leases in NATS KV: which nodes are alive, and which node may serve
//! each shard right now.
//!
//! Two buckets, each a JetStream stream whose `max_age` is the lease's time to live:
//! - `sb_nodes`: one key per node, rewritten every `renew_every` (its value says which shards
//!   the node holds, for `GET /api/cluster`). A node whose key aged out is gone.
//! - `sb_shards`: one key per held shard, its value the holder's name. A node takes a free
//!   shard with `create` (compare-to-nothing), keeps it with `update` at the revision its own
//!   last write returned (compare-and-set), and gives it back with a delete at that revision.
//!   Ownership is decided only from the result of our own `create`/`update`, never from a
//!   read (reads of KV are not guaranteed to see our own latest write).
//!
//! A holder counts a shard as its own only until its last renewal was *sent* + TTL − one
//! renewal period, by its own monotonic clock: a renewal that does not come back in time (NATS
//! unreachable, this process paused) gives the shard up locally before anyone else can have
//! created it, which is at least the full TTL after that renewal reached NATS. The database's
//! epoch ([`super::fence`]) covers what clocks cannot: a process paused *between* its check and
//! its write.
//!
//! nats-server 2.9 (Debian's package) cannot answer the account query that async-nats'
//! `create_key_value` makes first, so the buckets' streams are created here as that call would
//! create them, and opened with `get_key_value`; on 2.9 an expired key sends no event, so
//! free shards are found by listing the keys each round, not by watching.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::Duration,
};

use async_nats::jetstream::{self, kv, stream};
use futures_util::{future::BoxFuture, StreamExt as _, TryStreamExt as _};
use tokio::{sync::watch, task::JoinHandle, time::Instant};

use super::shard::{plan, NodeId, Shard};

/// The bucket of live nodes.
pub const NODES_BUCKET: &str = "sb_nodes";
/// The bucket of shard leases.
pub const SHARDS_BUCKET: &str = "sb_shards";
/// Shards a node hands over per round when another node joins: a join moves a few shards a
/// round, not a third of the cluster at once (Akka's rebalance limit).
const RELEASE_PER_ROUND: usize = 16;
/// How long a shard must be seen without any lease before a node that does not prefer it
/// claims it: long enough for its preferred node to take it first in the normal case.
const ORPHAN_GRACE: Duration = Duration::from_millis(1500);

/// How leases are timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTiming {
    /// A lease or membership not renewed for this long expires in NATS.
    pub ttl: Duration,
    /// How often held leases and the membership key are renewed.
    pub renew_every: Duration,
    /// How often a node looks for shards to claim (those of a dead node, once its leases
    /// expired).
    pub poll_every: Duration,
}

impl Default for LeaseTiming {
    /// A dead node's shards are taken within TTL + one poll: 3.25 s, inside the 5 s the
    /// failover must take.
    fn default() -> Self {
        LeaseTiming {
            ttl: Duration::from_secs(3),
            renew_every: Duration::from_secs(1),
            poll_every: Duration::from_millis(250),
        }
    }
}

impl LeaseTiming {
    /// How long after sending a renewal the holder still counts the shard as its own.
    fn validity(&self) -> Duration {
        self.ttl.saturating_sub(self.renew_every)
    }
}

/// What a node does when it gains or loses a shard: the serving side of a lease.
pub trait Holder: Send + Sync + 'static {
    /// The lease of `shard` was granted: take the shard's fencing epoch and start serving
    /// it. An error gives the lease back (someone else may do better).
    fn granted(&self, shard: Shard) -> BoxFuture<'static, Result<(), String>>;
    /// Stop serving `shard`: before its lease is handed over, or once it is lost. After this
    /// returns, nothing of this node writes the shard's conversations.
    fn revoked(&self, shard: Shard) -> BoxFuture<'static, ()>;

    /// This node's load, told with its membership every renewal.
    fn load(&self) -> NodeLoad {
        NodeLoad::default()
    }
}

/// What a node says about itself in the nodes bucket.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Member {
    pub node: String,
    /// Where its HTTP server listens, as it was told (for operators).
    pub address: String,
    /// The shards it holds, by number.
    pub shards: Vec<u16>,
    /// Its open websockets (agents' and visitors').
    #[serde(default)]
    pub connections: u64,
    /// The last event `seq` it delivered to its clients.
    #[serde(default)]
    pub events_followed: u64,
}

/// What a node tells of its load with its membership.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeLoad {
    pub connections: u64,
    pub events_followed: u64,
}

/// Why the cluster's buckets could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("NATS JetStream: cannot open the bucket `{bucket}`: {reason}")]
pub struct BucketError {
    bucket: &'static str,
    reason: String,
}

/// Opens a KV bucket whose keys live `ttl`, creating its stream first if needed, as
/// `create_key_value` would (which nats-server 2.9 cannot serve).
pub async fn open_bucket(
    js: &jetstream::Context,
    bucket: &'static str,
    ttl: Duration,
) -> Result<kv::Store, BucketError> {
    let err = |e: &dyn std::fmt::Display| BucketError {
        bucket,
        reason: e.to_string(),
    };
    let config = stream::Config {
        name: format!("KV_{bucket}"),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        max_age: ttl,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        storage: stream::StorageType::File,
        num_replicas: 1,
        ..Default::default()
    };
    let existing = js.get_or_create_stream(config).await.map_err(|e| err(&e))?;
    if existing.cached_info().config.max_age != ttl {
        tracing::warn!(
            bucket,
            theirs = ?existing.cached_info().config.max_age,
            ours = ?ttl,
            "the bucket exists with another lease TTL; its own applies (the nodes disagree on `cluster.lease_ttl_ms`)"
        );
    }
    js.get_key_value(bucket).await.map_err(|e| err(&e))
}

/// A held lease: the revision our last write returned, and until when it counts as ours.
#[derive(Debug, Clone, Copy)]
struct Held {
    revision: u64,
    valid_until: Instant,
}

/// A node's membership and leases, kept by a task of their own until [`Leases::leave`].
pub struct Leases {
    owned: watch::Receiver<BTreeSet<Shard>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Leases {
    /// Joins the cluster as `me` and keeps claiming and renewing leases, telling `holder`
    /// of every shard gained and lost.
    pub async fn join(
        js: &jetstream::Context,
        me: NodeId,
        address: String,
        timing: LeaseTiming,
        holder: Arc<dyn Holder>,
    ) -> Result<Leases, BucketError> {
        let nodes = open_bucket(js, NODES_BUCKET, timing.ttl).await?;
        let shards = open_bucket(js, SHARDS_BUCKET, timing.ttl).await?;
        let (owned_tx, owned) = watch::channel(BTreeSet::new());
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let keeper = Keeper {
            me,
            address,
            nodes,
            shards,
            timing,
            holder,
            held: BTreeMap::new(),
            orphan_since: BTreeMap::new(),
            lost: Vec::new(),
            owned: owned_tx,
        };
        let task = tokio::spawn(keeper.run(stopped));
        Ok(Leases {
            owned,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The shards this node holds now; changes as leases are gained and lost.
    pub fn owned(&self) -> watch::Receiver<BTreeSet<Shard>> {
        self.owned.clone()
    }

    /// Leaves the cluster gracefully: every shard is revoked (its holder stops serving it),
    /// then its lease is deleted so another node takes it at once, not after the TTL.
    pub async fn leave(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Stops at once without telling anyone, as a killed process would: leases and
    /// membership expire after the TTL. For tests of failover.
    pub fn abandon(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Drop for Leases {
    /// Dropped without `leave`: the task stops; nothing is released (leases expire).
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The task behind [`Leases`].
struct Keeper {
    me: NodeId,
    address: String,
    nodes: kv::Store,
    shards: kv::Store,
    timing: LeaseTiming,
    holder: Arc<dyn Holder>,
    held: BTreeMap<Shard, Held>,
    /// Shards seen without any lease, since when.
    orphan_since: BTreeMap<Shard, Instant>,
    /// Shards whose renewal was refused in this round: revoked after it.
    lost: Vec<Shard>,
    owned: watch::Sender<BTreeSet<Shard>>,
}

impl Keeper {
    async fn run(mut self, mut stop: tokio::sync::oneshot::Receiver<()>) {
        let mut tick = tokio::time::interval(self.timing.poll_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut next_renewal = Instant::now();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut stop => return self.leave().await,
            }
            // First, before any NATS call that may hang: what this node may no longer count
            // as its own (a renewal that did not come back, a process that was paused).
            self.expire_overdue().await;
            // The NATS calls of a round end when the first held lease runs out, so a hanging
            // server never keeps this node serving a shard past its lease.
            let renew = Instant::now() >= next_renewal;
            if renew {
                next_renewal = Instant::now() + self.timing.renew_every;
            }
            let deadline = self.held.values().map(|h| h.valid_until).min();
            let round = self.talk(renew);
            let plan = match deadline {
                Some(deadline) => tokio::time::timeout_at(deadline, round)
                    .await
                    .ok()
                    .flatten(),
                None => round.await,
            };
            // Then what the round decided, outside its time limit: a holder stops serving a
            // shard completely, never half-way.
            for shard in std::mem::take(&mut self.lost) {
                tracing::warn!(node = %self.me, %shard, "lease lost; stopped serving the shard");
                self.lose(shard).await;
            }
            self.expire_overdue().await;
            if let Some((release, claim)) = plan {
                for shard in release {
                    self.release(shard).await;
                }
                self.claim(claim).await;
            }
            self.publish();
        }
    }

    /// One round's NATS calls: renewals (when due) and the membership key, then the plan:
    /// shards to hand over and shards to try to create. `None` when NATS did not answer.
    async fn talk(&mut self, renew: bool) -> Option<(Vec<Shard>, Vec<Shard>)> {
        if renew {
            self.renew().await;
            self.announce().await;
        }
        self.plan().await
    }

    /// The bound of one NATS call outside a round (claims, releases, leaving).
    fn call_limit(&self) -> Duration {
        self.timing.renew_every
    }

    async fn expire_overdue(&mut self) {
        let now = Instant::now();
        let overdue: Vec<Shard> = self
            .held
            .iter()
            .filter(|(_, h)| h.valid_until <= now)
            .map(|(s, _)| *s)
            .collect();
        for shard in overdue {
            tracing::warn!(node = %self.me, %shard, "lease not renewed in time; stopped serving the shard");
            self.lose(shard).await;
        }
    }

    async fn lose(&mut self, shard: Shard) {
        if self.held.remove(&shard).is_some() {
            self.holder.revoked(shard).await;
            self.publish();
        }
    }

    /// Renews every held lease at once; one whose compare-and-set fails is lost (someone
    /// else holds it: this node's lease expired while it was away).
    async fn renew(&mut self) {
        let value = bytes::Bytes::from(self.me.as_str().to_owned());
        let limit = self.call_limit();
        let sent = Instant::now();
        let work: Vec<(Shard, u64)> = self.held.iter().map(|(s, h)| (*s, h.revision)).collect();
        let futures = work.into_iter().map(|(shard, revision)| {
            let (shards, value) = (self.shards.clone(), value.clone());
            async move {
                let update = shards.update(shard.lease_key(), value, revision);
                let result = match tokio::time::timeout(limit, update).await {
                    Ok(Ok(revision)) => Ok(revision),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("timed out".to_owned()),
                };
                (shard, result)
            }
        });
        let results: Vec<(Shard, Result<u64, String>)> = futures_util::stream::iter(futures)
            .buffer_unordered(64)
            .collect()
            .await;
        for (shard, result) in results {
            match result {
                Ok(revision) => {
                    if let Some(h) = self.held.get_mut(&shard) {
                        *h = Held {
                            revision,
                            valid_until: sent + self.timing.validity(),
                        };
                    }
                }
                // Timed out: NATS may yet have it; keep counting on the last renewal until
                // it runs out (expire_overdue), and try again next period.
                Err(e) if e == "timed out" => {
                    tracing::warn!(node = %self.me, %shard, "lease renewal timed out");
                }
                Err(e) => {
                    tracing::warn!(node = %self.me, %shard, error = %e, "lease renewal refused");
                    self.lost.push(shard);
                }
            }
        }
    }

    /// Rewrites this node's membership key (which also says which shards it holds).
    async fn announce(&mut self) {
        let load = self.holder.load();
        let member = Member {
            node: self.me.to_string(),
            address: self.address.clone(),
            shards: self.held.keys().map(|s| s.number()).collect(),
            connections: load.connections,
            events_followed: load.events_followed,
        };
        let Ok(value) = serde_json::to_vec(&member) else {
            return;
        };
        let put = self.nodes.put(self.me.as_str(), value.into());
        match tokio::time::timeout(self.call_limit(), put).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(node = %self.me, error = %e, "membership not renewed"),
            Err(_) => tracing::warn!(node = %self.me, "membership renewal timed out"),
        }
    }

    /// What the plan says: shards another live node now prefers (to hand over) and free
    /// shards this node prefers or that were long orphaned (to claim).
    async fn plan(&mut self) -> Option<(Vec<Shard>, Vec<Shard>)> {
        let live: BTreeSet<NodeId> = keys(&self.nodes)
            .await
            .ok()?
            .iter()
            .filter_map(|k| NodeId::parse(k).ok())
            .collect();
        let leased: BTreeSet<Shard> = keys(&self.shards)
            .await
            .ok()?
            .iter()
            .filter_map(|k| Shard::from_lease_key(k))
            .collect();
        let now = Instant::now();
        self.orphan_since.retain(|s, _| !leased.contains(s));
        for shard in Shard::all().filter(|s| !leased.contains(s)) {
            self.orphan_since.entry(shard).or_insert(now);
        }
        let orphans: BTreeSet<Shard> = self
            .orphan_since
            .iter()
            .filter(|(_, since)| now.duration_since(**since) >= ORPHAN_GRACE)
            .map(|(s, _)| *s)
            .collect();
        let held: BTreeSet<Shard> = self.held.keys().copied().collect();
        let plan = plan(&self.me, &live, &held, &orphans, RELEASE_PER_ROUND);
        // Only shards with no lease now can be created; the others wait for theirs to expire.
        let claim = plan
            .claim
            .into_iter()
            .filter(|s| !leased.contains(s))
            .collect();
        Some((plan.release, claim))
    }

    async fn claim(&mut self, claims: Vec<Shard>) {
        if claims.is_empty() {
            return;
        }
        let value = bytes::Bytes::from(self.me.as_str().to_owned());
        let limit = self.call_limit();
        let sent = Instant::now();
        let futures = claims.into_iter().map(|shard| {
            let (shards, value) = (self.shards.clone(), value.clone());
            async move {
                match tokio::time::timeout(limit, shards.create(shard.lease_key(), value)).await {
                    Ok(Ok(revision)) => Some((shard, revision)),
                    _ => None,
                }
            }
        });
        let won: Vec<(Shard, u64)> = futures_util::stream::iter(futures)
            .buffer_unordered(64)
            .filter_map(|won| async move { won })
            .collect()
            .await;
        for (shard, revision) in won {
            self.held.insert(
                shard,
                Held {
                    revision,
                    valid_until: sent + self.timing.validity(),
                },
            );
            if let Err(e) = self.holder.granted(shard).await {
                tracing::error!(node = %self.me, %shard, error = %e, "could not take the shard; giving its lease back");
                self.release(shard).await;
            } else {
                tracing::info!(node = %self.me, %shard, "shard taken");
            }
            // Taking a shard waits on the database: meanwhile others may have run out.
            self.expire_overdue().await;
        }
    }

    /// Hands a shard over: stop serving it, then delete its lease (at our revision, so a
    /// lease someone else holds by now is left alone).
    async fn release(&mut self, shard: Shard) {
        let Some(held) = self.held.remove(&shard) else {
            return;
        };
        self.holder.revoked(shard).await;
        let delete = self
            .shards
            .delete_expect_revision(shard.lease_key(), Some(held.revision));
        if let Ok(Err(e)) = tokio::time::timeout(self.call_limit(), delete).await {
            tracing::debug!(node = %self.me, %shard, error = %e, "lease already gone at release");
        }
    }

    /// Graceful stop: every shard handed over, then the membership key deleted.
    async fn leave(mut self) {
        let shards: Vec<Shard> = self.held.keys().copied().collect();
        for shard in shards {
            self.release(shard).await;
        }
        self.publish();
        let _ = tokio::time::timeout(self.call_limit(), self.nodes.delete(self.me.as_str())).await;
        tracing::info!(node = %self.me, "left the cluster");
    }

    fn publish(&self) {
        let now: BTreeSet<Shard> = self.held.keys().copied().collect();
        self.owned.send_if_modified(|owned| {
            if *owned == now {
                false
            } else {
                *owned = now;
                true
            }
        });
    }
}

/// The keys of a bucket (a delete marker or an expired key is not one).
/// The bucket's keys, each once. (The listing follows the bucket live until it has caught
/// up: a key renewed meanwhile comes again, and on a busy machine many times.)
async fn keys(store: &kv::Store) -> Result<Vec<String>, String> {
    let keys = store.keys().await.map_err(|e| e.to_string())?;
    let keys: BTreeSet<String> = keys.try_collect().await.map_err(|e| e.to_string())?;
    Ok(keys.into_iter().collect())
}

/// Every member of the cluster, as each described itself.
pub async fn members(nodes: &kv::Store) -> Result<Vec<Member>, String> {
    let mut members = Vec::new();
    for key in keys(nodes).await? {
        if let Ok(Some(value)) = nodes.get(key.as_str()).await {
            if let Ok(member) = serde_json::from_slice::<Member>(&value) {
                members.push(member);
            }
        }
    }
    members.sort_by(|a, b| a.node.cmp(&b.node));
    Ok(members)
}
