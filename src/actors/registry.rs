//! ConversationRegistry: maps conversation ids to live actors, starts them on demand, forgets
//! idle ones, and replaces a dead one (a panicked actor's address is disconnected) with a fresh
//! actor loaded from the database.
//!
//! The actors are spread over several threads: [`Conversations`] starts one registry per
//! thread (an arbiter each, one per core by default) and sends each conversation to the same
//! one always (its id decides), so one conversation's messages are handled one after the
//! other, in order, while different conversations use every core. Before, every actor shared
//! the system's one thread, and a busy server used one core for all of them.
//!
//! It also wakes conversations whose follow-up is coming due: an idle conversation has no
//! actor and so no timer, and after a restart no actor exists at all. A periodic indexed scan
//! brings their actors back, and each actor re-arms its timers from its row. At start, it
//! wakes the conversations whose customer was still waiting for the assistant when the
//! server stopped, so that their message is answered after all.

use std::{collections::HashMap, sync::Arc, time::Duration};

use actix::prelude::*;

use super::{
    conversation::{ActorIdle, ConversationActor, ConversationDeps},
    messages::{Relinquished, ResumeUnanswered},
};
use crate::{
    cluster::Shard,
    db::{queries, DbConnection, Store},
    domain::ConversationId,
    error::AppResult,
};

/// Follow-ups woken per scan; more wait for the next one.
const SCAN_LIMIT: i64 = 10_000;
/// Unanswered customer messages younger than this are answered at start; older ones are
/// left to the people (an answer days late reads as a glitch).
const RESUME_WITHIN_HOURS: i64 = 24;

/// Anyone → ConversationRegistry: the actor of this conversation, started if needed.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Addr<ConversationActor>")]
pub struct GetConversation(pub ConversationId);

/// Anyone → ConversationRegistry: how many conversation actors are alive.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "usize")]
pub struct CountLive;

/// Conversations (the scan) → ConversationRegistry: start these conversations' actors,
/// telling them to answer what is unanswered when `resume`.
#[derive(Message, Debug)]
#[rtype(result = "()")]
struct Wake {
    ids: Vec<ConversationId>,
    resume: bool,
}

/// The live conversation actors of one thread.
pub struct ConversationRegistry {
    deps: Arc<ConversationDeps>,
    live: HashMap<ConversationId, Addr<ConversationActor>>,
}

impl ConversationRegistry {
    pub fn new(deps: Arc<ConversationDeps>) -> Self {
        ConversationRegistry {
            deps,
            live: HashMap::new(),
        }
    }

    fn get_or_spawn(&mut self, id: ConversationId, me: Addr<Self>) -> Addr<ConversationActor> {
        if let Some(addr) = self.live.get(&id) {
            if addr.connected() {
                return addr.clone();
            }
            tracing::warn!(conversation_id = %id, "conversation actor died; restarting it from the database");
        }
        // Started on this registry's thread, where all of its messages are handled.
        let addr = ConversationActor::new(id, self.deps.clone(), me.recipient()).start();
        self.live.insert(id, addr.clone());
        addr
    }
}

impl Actor for ConversationRegistry {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(65_536);
    }
}

impl Handler<Wake> for ConversationRegistry {
    type Result = ();

    fn handle(&mut self, msg: Wake, ctx: &mut Self::Context) {
        for id in msg.ids {
            let actor = self.get_or_spawn(id, ctx.address());
            if msg.resume {
                actor.do_send(ResumeUnanswered);
            }
        }
    }
}

impl Handler<GetConversation> for ConversationRegistry {
    type Result = MessageResult<GetConversation>;

    fn handle(&mut self, msg: GetConversation, ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.get_or_spawn(msg.0, ctx.address()))
    }
}

impl Handler<ActorIdle> for ConversationRegistry {
    type Result = ();

    /// Forgets the actor only if it is still the registered one: a leftover (already replaced
    /// after a panic) must not remove its successor.
    fn handle(&mut self, msg: ActorIdle, _: &mut Self::Context) {
        if self.live.get(&msg.id) == Some(&msg.addr) {
            self.live.remove(&msg.id);
        }
    }
}

/// Conversations → ConversationRegistry: stop the actors of this shard (cluster mode).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
struct Relinquish(Shard);

impl Handler<Relinquish> for ConversationRegistry {
    type Result = ();

    fn handle(&mut self, Relinquish(shard): Relinquish, _: &mut Self::Context) {
        self.live.retain(|id, actor| {
            let keep = Shard::of(*id) != shard;
            if !keep {
                actor.do_send(Relinquished);
            }
            keep
        });
    }
}

impl Handler<CountLive> for ConversationRegistry {
    type Result = usize;
    fn handle(&mut self, _: CountLive, _: &mut Self::Context) -> usize {
        self.live.values().filter(|a| a.connected()).count()
    }
}

/// Arbiters (threads with their own event loop) stopped when the last owner is gone, so a
/// test's server leaves no thread behind: the actor threads here, the deliveries' thread in
/// `server`.
pub struct Threads(pub Vec<Arbiter>);

impl Drop for Threads {
    fn drop(&mut self) {
        for arbiter in &self.0 {
            arbiter.stop();
        }
    }
}

/// Every conversation actor, on all of the actor threads: the handle the rest of the server
/// uses to reach a conversation. Cheap to clone.
#[derive(Clone)]
pub struct Conversations {
    shards: Arc<[Addr<ConversationRegistry>]>,
    /// Cluster mode: the shards of conversations this node holds; only their timers are
    /// woken here.
    owner: Option<Arc<crate::cluster::node::Epochs>>,
    /// Cluster mode: shards taken since the scan last looked, whose conversations left
    /// waiting for the assistant by their previous node are to be answered here.
    taken: Arc<std::sync::Mutex<std::collections::BTreeSet<Shard>>>,
    taken_kick: Arc<tokio::sync::Notify>,
    /// Tells the shards taken, once their conversations were woken, to whoever resumes work
    /// of its own there (the media downloads a previous holder left).
    taken_news: tokio::sync::broadcast::Sender<Arc<std::collections::BTreeSet<Shard>>>,
    _threads: Arc<Threads>,
}

impl Conversations {
    /// Starts `threads` actor threads with a registry each, and the scans that wake due
    /// follow-ups and snoozes (every `deps.timer_scan`) and, once, the conversations left
    /// waiting for the assistant by the last stop. Must be called inside an actix system.
    pub fn start(deps: Arc<ConversationDeps>, threads: usize) -> Self {
        let arbiters: Vec<Arbiter> = (0..threads.max(1)).map(|_| Arbiter::new()).collect();
        let shards: Arc<[Addr<ConversationRegistry>]> = arbiters
            .iter()
            .map(|arbiter| {
                let deps = deps.clone();
                ConversationRegistry::start_in_arbiter(&arbiter.handle(), move |_| {
                    ConversationRegistry::new(deps)
                })
            })
            .collect();
        let me = Conversations {
            shards,
            owner: deps.owner.clone(),
            taken: Arc::default(),
            taken_kick: Arc::default(),
            taken_news: tokio::sync::broadcast::channel(16).0,
            _threads: Arc::new(Threads(arbiters)),
        };
        actix_rt::spawn(me.clone().scan(deps.clone()));
        me
    }

    /// Which thread runs this conversation: always the same one. Ids are random in their low
    /// bits, so conversations spread evenly.
    fn index(&self, id: ConversationId) -> usize {
        (id.0.as_u64_pair().1 % self.shards.len() as u64) as usize
    }

    /// The registry whose thread runs this conversation.
    fn shard(&self, id: ConversationId) -> &Addr<ConversationRegistry> {
        &self.shards[self.index(id)]
    }

    /// The actor of this conversation, started if needed. Cluster mode: only for a shard
    /// this node holds; any other is answered `Moved` at once (the client sends it again, to
    /// any node).
    pub async fn actor(&self, id: ConversationId) -> AppResult<Addr<ConversationActor>> {
        if let Some(held) = &self.owner {
            held.require(Shard::of(id))?;
        }
        Ok(self.shard(id).send(GetConversation(id)).await?)
    }

    /// How many conversation actors are alive, on all threads.
    pub async fn count_live(&self) -> AppResult<usize> {
        let mut total = 0;
        for shard in self.shards.iter() {
            total += shard.send(CountLive).await?;
        }
        Ok(total)
    }

    /// Cluster mode: stops the actors of a shard this node no longer holds (their next
    /// writes would be fenced anyway). Messages already queued to them fail to deliver, and
    /// their senders ask again, to be told the conversation moved.
    pub fn relinquish(&self, shard: Shard) {
        for registry in self.shards.iter() {
            registry.do_send(Relinquish(shard));
        }
    }

    /// Cluster mode: this node just took `shard`. Its conversations whose customer was left
    /// waiting for the assistant (the node that held it died or handed it over before the
    /// answer was stored) are answered here, shortly (shards taken together are looked up
    /// together). Follow-ups and snoozes come with the next timer scan.
    pub fn took(&self, shard: Shard) {
        if let Ok(mut taken) = self.taken.lock() {
            taken.insert(shard);
        }
        self.taken_kick.notify_one();
    }

    /// The shards this node takes from now on, in batches (cluster mode).
    pub fn taken_news(
        &self,
    ) -> tokio::sync::broadcast::Receiver<Arc<std::collections::BTreeSet<Shard>>> {
        self.taken_news.subscribe()
    }

    /// How many threads the actors run on.
    pub fn threads(&self) -> usize {
        self.shards.len()
    }

    /// Wakes, once at start, the conversations left waiting for the assistant; then, every
    /// `timer_scan`, the ones with a follow-up due or a snooze ending before the next scan.
    /// Stops when the last other handle is gone.
    async fn scan(self, deps: Arc<ConversationDeps>) {
        let store = &deps.store;
        let since = crate::clock::now() - chrono::Duration::hours(RESUME_WITHIN_HOURS);
        self.wake(store, "unanswered messages", true, move |c| {
            queries::awaiting_assistant(c, since, SCAN_LIMIT)
        })
        .await;
        let mut every = actix_rt::time::interval(deps.timer_scan.max(Duration::from_millis(10)));
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = self.taken_kick.notified() => {
                    // Shards come in batches as a node joins or another dies.
                    actix_rt::time::sleep(Duration::from_millis(200)).await;
                    self.resume_taken(&deps).await;
                    continue;
                }
            }
            if Arc::strong_count(&self._threads) == 1 {
                return;
            }
            let until = crate::clock::now() + deps.follow_up_horizon();
            self.wake(store, "follow-up", false, move |c| {
                queries::follow_ups_due_before(c, until, SCAN_LIMIT)
            })
            .await;
            self.wake(store, "snooze", false, move |c| {
                queries::snoozes_due_before(c, until, SCAN_LIMIT)
            })
            .await;
        }
    }

    /// In the shards taken since the last call: answers the conversations left waiting for
    /// the assistant, and starts at once those with a follow-up due or a snooze ending before
    /// the next scan (their timers died with the previous holder; each actor arms its own
    /// from its row), so a timer due during a failover fires on time, not a scan late.
    async fn resume_taken(&self, deps: &ConversationDeps) {
        let store = &deps.store;
        let taken = match self.taken.lock() {
            Ok(mut taken) => std::mem::take(&mut *taken),
            Err(_) => return,
        };
        if taken.is_empty() {
            return;
        }
        let since = crate::clock::now() - chrono::Duration::hours(RESUME_WITHIN_HOURS);
        let until = crate::clock::now() + deps.follow_up_horizon();
        let taken = Arc::new(taken);
        let news = taken.clone();
        let in_taken = move |ids: Vec<ConversationId>| -> Vec<ConversationId> {
            ids.into_iter()
                .filter(|id| taken.contains(&Shard::of(*id)))
                .collect()
        };
        let only = in_taken.clone();
        self.wake(
            store,
            "unanswered messages of taken shards",
            true,
            move |c| Ok(only(queries::awaiting_assistant(c, since, SCAN_LIMIT)?)),
        )
        .await;
        let only = in_taken.clone();
        self.wake(store, "follow-ups of taken shards", false, move |c| {
            Ok(only(queries::follow_ups_due_before(c, until, SCAN_LIMIT)?))
        })
        .await;
        self.wake(store, "snoozes of taken shards", false, move |c| {
            Ok(in_taken(queries::snoozes_due_before(c, until, SCAN_LIMIT)?))
        })
        .await;
        // Nobody listening is fine.
        let _ = self.taken_news.send(news);
    }

    /// Whether this node runs the conversations of `shard` now (one node: all of them).
    pub fn holds_shard(&self, shard: Shard) -> bool {
        self.owner
            .as_ref()
            .is_none_or(|held| held.of(shard).is_some())
    }

    /// Whether this node runs this conversation now.
    pub fn holds(&self, id: ConversationId) -> bool {
        self.holds_shard(Shard::of(id))
    }

    /// Starts the actors of the conversations `find` returns, each on its thread (each
    /// re-arms its timers from its row), telling them to answer what is unanswered when
    /// `resume`.
    async fn wake<F>(&self, store: &Store, what: &'static str, resume: bool, find: F)
    where
        F: FnOnce(&mut DbConnection) -> AppResult<Vec<ConversationId>> + Send + 'static,
    {
        let ids = match store.read(find).await {
            Ok(ids) => ids,
            Err(e) => return tracing::error!(error = %e, what, "scan failed"),
        };
        let mut by_shard: Vec<Vec<ConversationId>> = vec![Vec::new(); self.shards.len()];
        // Cluster mode: another node wakes the conversations of the shards it holds.
        for id in ids.into_iter().filter(|id| self.holds(*id)) {
            by_shard[self.index(id)].push(id);
        }
        for (shard, ids) in self.shards.iter().zip(by_shard) {
            if !ids.is_empty() {
                shard.do_send(Wake { ids, resume });
            }
        }
    }
}

/// Sends `msg` to the conversation's actor. If the actor stopped between lookup and delivery
/// (idle stop, panic), the message was not handled, so it is safe to ask again: the registry
/// then starts a fresh actor from the database.
pub async fn ask<M, R>(conversations: &Conversations, id: ConversationId, msg: M) -> AppResult<R>
where
    M: Message<Result = AppResult<R>> + Clone + Send + 'static,
    R: Send + 'static,
    ConversationActor: Handler<M>,
{
    let mut attempt = 0;
    loop {
        let addr = conversations.actor(id).await?;
        match addr.send(msg.clone()).await {
            Ok(result) => return result,
            Err(e) if attempt < 3 => {
                attempt += 1;
                tracing::debug!(conversation_id = %id, error = %e, attempt, "conversation actor gone; retrying");
            }
            Err(e) => return Err(e.into()),
        }
    }
}
