//! The broadcasts' dispatcher, on the outbox's arbiter (it shares the outbox's per-number
//! [`Limiter`]): at start it turns the rows a dead process left `sending` into `unknown`; then
//! it starts scheduled broadcasts when due, settles `unknown` rows no webhook answered in time,
//! and keeps one runner per running broadcast. A runner claims the broadcast's due recipients
//! a batch at a time, within the number's messaging limit, and sends them at the broadcast's
//! pace; it stops when the broadcast is paused, cancelled or done. Everything it knows is
//! read from the database, so a restart resumes exactly where the rows say.

use std::{cell::RefCell, collections::HashSet, rc::Rc, sync::Arc, time::Duration};

use tokio::sync::Semaphore;

use super::send::send_one;
use crate::{
    actors::registry::Conversations,
    app::AppContext,
    channels::outbox::Limiter,
    clock,
    cluster::Shard,
    config::ChannelSettings,
    db::queries,
    domain::{
        broadcast::{remaining_today, BroadcastCommand, BroadcastStatus},
        BroadcastId,
    },
    inbox::Inbox,
};

/// How often stale `unknown` rows are looked for.
const UNKNOWN_SWEEP_EVERY: Duration = Duration::from_secs(60);
/// How long a runner waits for recipients queued for later (a retry) before looking again.
const IDLE_WAIT: Duration = Duration::from_millis(200);

/// Starts the dispatcher on the current arbiter (the outbox's, for the shared `limiter`).
pub fn start(app: Arc<AppContext>, registry: Conversations, limiter: Limiter) {
    actix_rt::spawn(run(app, registry, limiter));
}

/// Whether this node dispatches the broadcasts now: one node always; in cluster mode the
/// holder of [`Shard::FIRST`], so that one node sends them and another takes over when it
/// dies or stops.
fn dispatches(registry: &Conversations) -> bool {
    registry.holds_shard(Shard::FIRST)
}

/// Rows left `sending` by the dispatcher before this one (a stopped process, or in cluster
/// mode another node) may or may not have reached the provider: `unknown` until the provider
/// reports on them, never sent again.
async fn settle_cut_sends(app: &AppContext) {
    let now = clock::now();
    match app
        .store
        .write(move |c| queries::sending_to_unknown(c, now))
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            recipients = n,
            "broadcast sends cut by the last dispatcher are unknown until the provider reports on them"
        ),
        Err(e) => tracing::error!(error = %e, "cannot settle the broadcast sends of the last run"),
    }
}

async fn run(app: Arc<AppContext>, registry: Conversations, limiter: Limiter) {
    let runners: Rc<RefCell<HashSet<BroadcastId>>> = Rc::default();
    let permits = Arc::new(Semaphore::new(app.settings.broadcasts.concurrency));
    let poll = Duration::from_millis(app.settings.broadcasts.poll_interval_ms);
    let mut last_unknown_sweep: Option<std::time::Instant> = None;
    let mut dispatching = false;
    loop {
        if !dispatches(&registry) {
            dispatching = false;
            tokio::time::sleep(poll).await;
            continue;
        }
        if !dispatching {
            dispatching = true;
            settle_cut_sends(&app).await;
        }
        start_due(&app).await;
        if last_unknown_sweep.is_none_or(|t| t.elapsed() >= UNKNOWN_SWEEP_EVERY) {
            last_unknown_sweep = Some(std::time::Instant::now());
            expire_unknown(&app).await;
        }
        let running = app
            .store
            .read(|c| queries::broadcasts_in(c, &[BroadcastStatus::Running]))
            .await;
        match running {
            Ok(rows) => {
                for row in rows {
                    if !runners.borrow_mut().insert(row.id) {
                        continue;
                    }
                    let (app, registry, limiter, permits, runners) = (
                        app.clone(),
                        registry.clone(),
                        limiter.clone(),
                        permits.clone(),
                        runners.clone(),
                    );
                    actix_rt::spawn(async move {
                        run_broadcast(&app, &registry, &limiter, &permits, row.id).await;
                        runners.borrow_mut().remove(&row.id);
                    });
                }
            }
            Err(e) => tracing::error!(error = %e, "broadcasts: cannot read the running ones"),
        }
        tokio::select! {
            _ = app.broadcast_kick.notified() => {}
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

/// Starts the scheduled broadcasts whose time came.
async fn start_due(app: &Arc<AppContext>) {
    let now = clock::now();
    let due = app
        .store
        .read(|c| queries::broadcasts_in(c, &[BroadcastStatus::Scheduled]))
        .await;
    let due = match due {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "broadcasts: cannot read the scheduled ones");
            return;
        }
    };
    for row in due
        .into_iter()
        .filter(|r| r.scheduled_at.is_none_or(|at| at <= now))
    {
        if let Err(e) = super::command(app, row.id, BroadcastCommand::Due).await {
            tracing::error!(broadcast = %row.id, error = %e, "cannot start a scheduled broadcast");
        }
    }
}

/// `unknown` rows older than the setting become failed (`unknown_outcome`).
async fn expire_unknown(app: &AppContext) {
    let now = clock::now();
    let secs = i64::try_from(app.settings.broadcasts.unknown_outcome_after_secs).unwrap_or(86_400);
    let before = now - chrono::Duration::seconds(secs);
    match app
        .store
        .write(move |c| queries::expire_unknown(c, before, now))
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            recipients = n,
            "broadcast sends with an unknown outcome marked failed"
        ),
        Err(e) => tracing::error!(error = %e, "cannot settle old unknown broadcast sends"),
    }
}

/// How many more people the inbox may reach today, if it has a messaging limit.
async fn budget(app: &AppContext, inbox: &Inbox) -> Option<u32> {
    let ChannelSettings::Whatsapp(s) = &inbox.settings.channel else {
        return None;
    };
    let limit = s.messaging_limit?.get();
    let (id, since) = (inbox.id.clone(), clock::now() - chrono::Duration::hours(24));
    let reached = app
        .store
        .read(move |c| queries::reached_since(c, &id, since))
        .await
        // Unknown: assume the worst rather than burn failures against the limit.
        .unwrap_or(i64::from(limit));
    remaining_today(Some(limit), u32::try_from(reached).unwrap_or(u32::MAX))
}

/// Sends one broadcast until it is paused, cancelled or done.
async fn run_broadcast(
    app: &Arc<AppContext>,
    registry: &Conversations,
    limiter: &Limiter,
    permits: &Arc<Semaphore>,
    id: BroadcastId,
) {
    loop {
        // Cluster mode: another node dispatches now; it takes this broadcast on from its rows.
        if !dispatches(registry) {
            return;
        }
        let row = match app.store.read(move |c| queries::broadcast(c, id)).await {
            Ok(Some(row)) if row.status == BroadcastStatus::Running => Arc::new(row),
            Ok(_) => return,
            Err(e) => {
                tracing::error!(broadcast = %id, error = %e, "broadcast: cannot read it");
                tokio::time::sleep(IDLE_WAIT * 5).await;
                continue;
            }
        };
        let Some(inbox) = app.inboxes.get(&row.inbox_id).cloned() else {
            tracing::error!(broadcast = %id, inbox = %row.inbox_id, "broadcast: its inbox is no longer configured");
            tokio::time::sleep(Duration::from_secs(60)).await;
            return;
        };
        let rate = super::rate_of(&row, &inbox);
        // About a second of sends per batch: a pause is seen within about a second.
        let mut take = i64::from(rate.clamp(10, 500));
        if let Some(left) = budget(app, &inbox).await {
            if left == 0 {
                if let Err(e) = super::pause_for_limit(app, id).await {
                    tracing::error!(broadcast = %id, error = %e, "cannot pause the broadcast");
                }
                return;
            }
            take = take.min(i64::from(left));
        }
        let now = clock::now();
        let due = match app
            .store
            .read(move |c| queries::due_recipients(c, id, now, take))
            .await
        {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(broadcast = %id, error = %e, "broadcast: cannot read its recipients");
                tokio::time::sleep(IDLE_WAIT * 5).await;
                continue;
            }
        };
        if due.is_empty() {
            match app.store.read(move |c| queries::unsettled(c, id)).await {
                Ok(0) => {
                    if let Err(e) = super::complete(app, id).await {
                        tracing::error!(broadcast = %id, error = %e, "cannot complete the broadcast");
                    }
                    return;
                }
                // Retries due later: look again soon.
                _ => tokio::time::sleep(IDLE_WAIT).await,
            }
            continue;
        }
        let mut batch = Vec::with_capacity(due.len());
        for recipient in due {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let (app, registry, limiter, row, inbox) = (
                app.clone(),
                registry.clone(),
                limiter.clone(),
                row.clone(),
                inbox.clone(),
            );
            batch.push(actix_rt::spawn(async move {
                let recipient_id = recipient.id;
                app.metrics.broadcast_sends.inc();
                match send_one(&app, &limiter, &row, &inbox, rate, recipient).await {
                    Ok(Some(contact)) => super::contact_changed(&app, &registry, contact).await,
                    Ok(None) => {}
                    Err(e) => {
                        tracing::error!(recipient = %recipient_id, error = %e, "broadcast send not recorded");
                    }
                }
                drop(permit);
            }));
        }
        // The batch settles before the next is claimed, so no row is claimed twice.
        for task in batch {
            let _ = task.await;
        }
    }
}
