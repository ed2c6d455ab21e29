//! The badge: how many conversations wait for a person (human status, the customer spoke last,
//! not archived), per assignee. Recounts are coalesced: a burst of changes costs one indexed
//! grouped count, then one `badge` event if the numbers moved.
//!
//! The counts are kept: counted once at start and again after every change, so `GET
//! /api/badge` is answered from memory while nothing changed since the last count (a grouped
//! count over a large inbox took milliseconds on PostgreSQL). A change is committed before its
//! `Recount` is sent, and that happens before its request is answered, so a badge request
//! after any answered change finds a recount pending and counts afresh.
//!
//! In cluster mode one node counts and announces (see [`crate::cluster::badge`]), and `GET
//! /api/badge` always counts: a change committed on another node a moment ago may not have
//! reached the announcer yet.

use std::{sync::Arc, time::Duration};

use actix::prelude::*;

use super::hub::{Audience, Hub, Publish};
use crate::{
    cluster::{node::Epochs, Shard},
    db::{queries, Store},
    error::AppResult,
    protocol::{BadgeCounts, ServerEvent},
};

/// Changes within this window share one recount.
const COALESCE: Duration = Duration::from_millis(50);
/// Cluster mode: the announcer counts this often besides, in case a notice was lost.
const RECOUNT_EVERY: Duration = Duration::from_secs(15);

/// Conversation actor → BadgeCounter: something that may change the badge was committed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Recount;

/// HTTP → BadgeCounter: the kept counts, if no change happened since they were counted.
#[derive(Message)]
#[rtype(result = "Option<BadgeCounts>")]
pub struct Current;

pub struct BadgeCounter {
    store: Store,
    hub: Addr<Hub>,
    scheduled: bool,
    last: Option<BadgeCounts>,
    shared: Option<Shared>,
}

/// Cluster mode: where changes are told, and whether this node announces.
struct Shared {
    client: async_nats::Client,
    epochs: Arc<Epochs>,
    announcing: bool,
}

impl BadgeCounter {
    pub fn new(store: Store, hub: Addr<Hub>) -> Self {
        BadgeCounter {
            store,
            hub,
            scheduled: false,
            last: None,
            shared: None,
        }
    }

    /// Counts again after [`COALESCE`], unless a count is already due.
    fn schedule(&mut self, ctx: &mut Context<Self>) {
        if self.scheduled {
            return;
        }
        self.scheduled = true;
        ctx.run_later(COALESCE, |act, ctx| {
            act.scheduled = false;
            act.count(false, ctx);
        });
    }

    /// Counts, holding the mailbox meanwhile (a `Current` waits for the result). Publishes a
    /// `badge` event when the numbers moved, unless `quiet` (the first count, at start).
    fn count(&mut self, quiet: bool, ctx: &mut Context<Self>) {
        let store = self.store.clone();
        let fut = async move { fetch_counts(&store).await };
        ctx.wait(fut.into_actor(self).map(move |res, act, _| match res {
            Ok(counts) if quiet => act.last = Some(counts),
            Ok(counts) => {
                if act.last.as_ref() != Some(&counts) {
                    act.hub.do_send(Publish::new(
                        ServerEvent::Badge {
                            counts: counts.clone(),
                        },
                        Audience::Everyone,
                    ));
                    act.last = Some(counts);
                }
            }
            Err(e) => {
                // Not kept: requests count for themselves until a count succeeds.
                act.last = None;
                tracing::error!(error = %e, "badge count failed")
            }
        }));
    }
}

/// One indexed grouped count of the conversations waiting for a person.
pub async fn fetch_counts(store: &Store) -> AppResult<BadgeCounts> {
    let rows = store.read(queries::needs_human_counts).await?;
    let mut counts = BadgeCounts::default();
    for (assignee, n) in rows {
        counts.total += n;
        match assignee {
            None => counts.unassigned += n,
            Some(a) => *counts.by_agent.entry(a).or_default() += n,
        }
    }
    Ok(counts)
}

impl Actor for BadgeCounter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.count(true, ctx);
    }
}

impl Handler<Recount> for BadgeCounter {
    type Result = ();

    fn handle(&mut self, _: Recount, ctx: &mut Self::Context) {
        match &self.shared {
            Some(shared) => crate::cluster::badge::tell(&shared.client),
            None => self.schedule(ctx),
        }
    }
}

/// Server start, cluster mode: changes are told through `client`; this node counts and
/// announces while it holds [`Shard::FIRST`] in `epochs`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Clustered {
    pub client: async_nats::Client,
    pub epochs: Arc<Epochs>,
}

impl Handler<Clustered> for BadgeCounter {
    type Result = ();

    fn handle(&mut self, msg: Clustered, ctx: &mut Self::Context) {
        self.shared = Some(Shared {
            client: msg.client,
            epochs: msg.epochs,
            announcing: false,
        });
        ctx.run_interval(Duration::from_secs(1), |act, ctx| {
            let Some(shared) = act.shared.as_mut() else {
                return;
            };
            let holds = shared.epochs.of(Shard::FIRST).is_some();
            let took = holds && !shared.announcing;
            shared.announcing = holds;
            if took {
                // What the previous announcer said is unknown here: announce the count once.
                act.last = None;
                act.schedule(ctx);
            }
        });
        ctx.run_interval(RECOUNT_EVERY, |act, ctx| {
            if act.shared.as_ref().is_some_and(|s| s.announcing) {
                act.schedule(ctx);
            }
        });
    }
}

/// Cluster mode: some node (this one too) committed a change that may move the badge.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ChangedSomewhere;

impl Handler<ChangedSomewhere> for BadgeCounter {
    type Result = ();

    fn handle(&mut self, _: ChangedSomewhere, ctx: &mut Self::Context) {
        if self.shared.as_ref().is_some_and(|s| s.announcing) {
            self.schedule(ctx);
        }
    }
}

impl Handler<Current> for BadgeCounter {
    type Result = Option<BadgeCounts>;

    fn handle(&mut self, _: Current, _: &mut Self::Context) -> Option<BadgeCounts> {
        if self.scheduled || self.shared.is_some() {
            None
        } else {
            self.last.clone()
        }
    }
}
