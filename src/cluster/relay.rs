//! Joins a node's Hub to the cluster's event log: a publisher that sends what this node's
//! actors publish to the log, and a follower that brings every node's events back, numbered
//! by the log, to this node's Hub. A node delivers even its own events only once they are in
//! the log, so every node delivers the same events in the same order with the same `seq`.

use std::time::Duration;

use actix::prelude::*;
use futures_util::{stream::FuturesOrdered, StreamExt as _};
use tokio::sync::mpsc;

use super::events::{Envelope, EventLog, LogError};
use crate::{
    actors::hub::{FromLog, Hub},
    db::Store,
};

/// Events a node may have published and not yet handed to the log: a bound on memory while
/// NATS is slow or away (past it the Hub logs each event it could not hand over).
const QUEUED: usize = 65_536;
/// Events sent to the log and not yet acknowledged: sending one at a time caps near 5,000
/// events a second on these machines (one round trip each); in a window they keep their
/// order (one connection) and go at the stream's own pace.
const IN_FLIGHT: usize = 256;

/// Acknowledged events whose outbox rows are deleted in one statement.
const FORGET_BATCH: usize = 512;

/// Starts the publisher and the follower for `hub` and starts the hub, clustered. Must run
/// inside an actix system. Events of commits, once acknowledged, leave the event outbox in
/// `store`.
pub async fn start(log: EventLog, hub: Hub, store: Store) -> Result<Addr<Hub>, LogError> {
    let (sender, queued) = mpsc::channel(QUEUED);
    let (acked, to_forget) = mpsc::channel(QUEUED);
    let (latest, events) = log.follow().await?;
    log.note_followed(latest);
    let hub = hub.clustered(sender, latest).start();
    actix_rt::spawn(publish(log.clone(), queued, acked));
    actix_rt::spawn(forget(store, to_forget));
    actix_rt::spawn(follow(log, Box::pin(events), latest, hub.clone()));
    Ok(hub)
}

/// Sends queued events to the log in order, a window at a time; an event the log did not
/// acknowledge is sent again (the log keeps one copy per id) until it is.
async fn publish(log: EventLog, mut queued: mpsc::Receiver<Envelope>, acked: mpsc::Sender<String>) {
    // An acknowledged event of a commit: its outbox row can go (if this queue is full, the
    // row stays, and the shard's next holder publishes it again, which the stream ignores).
    let forget = |envelope: &Envelope| {
        if envelope.durable {
            let _ = acked.try_send(envelope.id.simple().to_string());
        }
    };
    let mut acks = FuturesOrdered::new();
    loop {
        tokio::select! {
            next = queued.recv(), if acks.len() < IN_FLIGHT => {
                let Some(envelope) = next else { break };
                let sent = log.send(&envelope).await;
                acks.push_back(async move {
                    let acked = match sent {
                        Ok(ack) => ack.await.map(|_| ()).map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    (envelope, acked)
                });
            }
            Some((envelope, result)) = acks.next(), if !acks.is_empty() => {
                if let Err(e) = result {
                    tracing::warn!(error = %e, "an event was not acknowledged by the log; sending it again");
                    republish(&log, &envelope).await;
                }
                forget(&envelope);
            }
            else => break,
        }
    }
    // The hub is gone (the server stops): what is in flight is still acknowledged.
    while let Some((envelope, result)) = acks.next().await {
        if result.is_err() {
            republish(&log, &envelope).await;
        }
        forget(&envelope);
    }
}

/// Deletes the outbox rows of acknowledged events, many at a time.
async fn forget(store: Store, mut acked: mpsc::Receiver<String>) {
    while let Some(first) = acked.recv().await {
        let mut ids = vec![first];
        while ids.len() < FORGET_BATCH {
            match acked.try_recv() {
                Ok(id) => ids.push(id),
                Err(_) => break,
            }
        }
        let ids = std::sync::Arc::new(ids);
        let batch = ids.clone();
        if let Err(e) = store
            .write(move |c| super::event_outbox::delete(c, &batch))
            .await
        {
            // Left in the outbox: published again by the shard's next holder, to no effect.
            tracing::warn!(error = %e, events = ids.len(), "cannot forget acknowledged events");
        }
    }
}

/// Sends one event until the log stores it, waiting longer between tries (up to 2 s).
async fn republish(log: &EventLog, envelope: &Envelope) {
    let mut wait = Duration::from_millis(50);
    loop {
        match log.publish(envelope).await {
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "the event log refused an event; trying again");
                actix_rt::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// Hands every event of the log to the hub, in order, from after `latest`; follows again
/// from the last one handed over when the consumer ends. Stops with the hub.
async fn follow(
    log: EventLog,
    mut events: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = Result<super::events::Logged, LogError>> + Send>,
    >,
    mut latest: u64,
    hub: Addr<Hub>,
) {
    loop {
        while let Some(event) = events.next().await {
            match event {
                Ok(logged) => {
                    latest = logged.seq;
                    log.note_followed(latest);
                    if !hub.connected() {
                        return;
                    }
                    hub.do_send(FromLog(logged));
                }
                Err(e) => tracing::warn!(error = %e, "reading the event log"),
            }
        }
        if !hub.connected() {
            return;
        }
        tracing::warn!("the event log's consumer ended; following again");
        actix_rt::time::sleep(Duration::from_millis(200)).await;
        match log.follow_after(latest).await {
            Ok(next) => events = Box::pin(next),
            Err(e) => tracing::warn!(error = %e, "cannot follow the event log yet"),
        }
    }
}
