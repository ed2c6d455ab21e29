//! ConversationRegistry: maps conversation ids to live actors, starts them on demand, forgets
//! idle ones, and replaces a dead one (a panicked actor's address is disconnected) with a fresh
//! actor loaded from the database.
//!
//! It also wakes conversations whose follow-up is coming due: an idle conversation has no
//! actor and so no timer, and after a restart no actor exists at all. A periodic indexed scan
//! brings their actors back, and each actor re-arms its timers from its row. At start, it
//! wakes the conversations whose customer was still waiting for the assistant when the
//! server stopped, so that their message is answered after all.

use std::{collections::HashMap, sync::Arc};

use actix::prelude::*;

use super::{
    conversation::{ActorIdle, ConversationActor, ConversationDeps},
    messages::ResumeUnanswered,
};
use crate::{
    db::{queries, DbConnection},
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
        let addr = ConversationActor::new(id, self.deps.clone(), me.recipient()).start();
        self.live.insert(id, addr.clone());
        addr
    }

    /// Starts the actors of conversations with a follow-up due or a snooze ending before the
    /// next scan.
    fn scan_timers(&mut self, ctx: &mut Context<Self>) {
        let until = crate::clock::now() + self.deps.follow_up_horizon();
        self.wake(ctx, "follow-up", false, move |c| {
            queries::follow_ups_due_before(c, until, SCAN_LIMIT)
        });
        self.wake(ctx, "snooze", false, move |c| {
            queries::snoozes_due_before(c, until, SCAN_LIMIT)
        });
    }

    /// Wakes the conversations left waiting for the assistant by the last stop.
    fn resume_unanswered(&mut self, ctx: &mut Context<Self>) {
        let since = crate::clock::now() - chrono::Duration::hours(RESUME_WITHIN_HOURS);
        self.wake(ctx, "unanswered messages", true, move |c| {
            queries::awaiting_assistant(c, since, SCAN_LIMIT)
        });
    }

    /// Starts the actors of the conversations `find` returns (each re-arms its timers from its
    /// row), telling them to answer what is unanswered when `resume`.
    fn wake<F>(&mut self, ctx: &mut Context<Self>, what: &'static str, resume: bool, find: F)
    where
        F: FnOnce(&mut DbConnection) -> AppResult<Vec<ConversationId>> + Send + 'static,
    {
        let store = self.deps.store.clone();
        let fut = async move { store.read(find).await };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| match res {
            Ok(ids) => {
                for id in ids {
                    let actor = act.get_or_spawn(id, ctx.address());
                    if resume {
                        actor.do_send(ResumeUnanswered);
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, what, "scan failed"),
        }));
    }
}

impl Actor for ConversationRegistry {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(65_536);
        self.scan_timers(ctx);
        self.resume_unanswered(ctx);
        ctx.run_interval(self.deps.timer_scan, |act, ctx| act.scan_timers(ctx));
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

impl Handler<CountLive> for ConversationRegistry {
    type Result = usize;
    fn handle(&mut self, _: CountLive, _: &mut Self::Context) -> usize {
        self.live.values().filter(|a| a.connected()).count()
    }
}

/// Sends `msg` to the conversation's actor. If the actor stopped between lookup and delivery
/// (idle stop, panic), the message was not handled, so it is safe to ask again: the registry
/// then starts a fresh actor from the database.
pub async fn ask<M, R>(
    registry: &Addr<ConversationRegistry>,
    id: ConversationId,
    msg: M,
) -> AppResult<R>
where
    M: Message<Result = AppResult<R>> + Clone + Send + 'static,
    R: Send + 'static,
    ConversationActor: Handler<M>,
{
    let mut attempt = 0;
    loop {
        let addr = registry.send(GetConversation(id)).await?;
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
