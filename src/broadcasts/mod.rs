//! Broadcasts: one template (or text, where no window applies) to the contacts of segments,
//! paced per sender, each contact at most once (issue 15; `domain::broadcast` holds the rules).
//!
//! The recipient rows are the broadcasts' outbox. Replies go through the general outbox,
//! which delivers at least once (a crash between the provider's answer and our commit sends
//! again, and API receivers deduplicate); a broadcast must instead never reach anyone twice,
//! so its rows carry their own state: `sending` is committed before the request leaves, and a
//! row found `sending` at start becomes `unknown` and is settled by the provider's status
//! webhooks (which name it through the callback data sent with the message), never re-sent.
//! Both queues share the provider code and the per-number pace ([`Limiter`]).
//!
//! - [`command`]: start (the audience snapshot), pause, resume, cancel — refused with a 409
//!   when the broadcast's status does not allow it, and applied as a conditional update so two
//!   agents pressing Start at once start it once.
//! - [`dispatch`]: a runner per running broadcast claims its due recipients and sends them;
//!   the dispatcher starts scheduled ones when due and settles stale `unknown` rows.
//! - [`status`]: a provider's status webhook about a broadcast message.

pub mod audience;
mod dispatch;
mod send;
pub mod status;

use std::{collections::HashSet, sync::Arc};

pub use dispatch::start;
pub use send::callback_data;

use crate::{
    actors::registry::Conversations,
    app::AppContext,
    clock,
    db::{models::BroadcastRow, queries},
    domain::{
        broadcast::{next_status, BroadcastCommand, BroadcastStatus, PauseReason},
        types::ChannelKind,
        BroadcastId,
    },
    error::{AppError, AppResult},
    inbox::Inbox,
};

/// What [`callback_data`] puts before the recipient id.
pub const CALLBACK_PREFIX: &str = "broadcast-recipient:";
/// The query parameter of Twilio's per-message status callback URL that names the recipient.
pub const TWILIO_STATUS_PARAM: &str = "broadcast_recipient";

/// Sends per second when neither the broadcast nor the inbox says (WhatsApp's default
/// throughput is 80; an SMS long code manages about 1, so Twilio inboxes should set theirs).
pub fn default_rate(channel: ChannelKind) -> u32 {
    match channel {
        ChannelKind::Whatsapp => crate::providers::whatsapp::DEFAULT_THROUGHPUT_PER_SECOND,
        ChannelKind::Twilio => 10,
        _ => 100,
    }
}

/// The pace of a broadcast: its own rate, never above the number's throughput.
pub fn rate_of(broadcast: &BroadcastRow, inbox: &Inbox) -> u32 {
    let throughput = inbox
        .settings
        .throughput_per_second()
        .unwrap_or_else(|| default_rate(inbox.channel));
    broadcast
        .rate_per_second
        .and_then(|r| u32::try_from(r).ok())
        .filter(|&r| r > 0)
        .map_or(throughput, |r| r.min(throughput))
}

/// Applies an agent's (or the schedule's) command; the broadcast as it is after.
pub async fn command(
    app: &Arc<AppContext>,
    id: BroadcastId,
    command: BroadcastCommand,
) -> AppResult<BroadcastRow> {
    let row = app
        .store
        .read(move |c| queries::broadcast(c, id))
        .await?
        .ok_or(AppError::NotFound("broadcast"))?;
    let to = next_status(row.status, command).map_err(|e| AppError::Conflict {
        code: "broadcast_status",
        message: e.to_string(),
    })?;
    let now = clock::now();
    if to == BroadcastStatus::Running
        && matches!(
            row.status,
            BroadcastStatus::Draft | BroadcastStatus::Scheduled
        )
    {
        snapshot(app, &row).await?;
    } else {
        let stamp = queries::StatusStamp {
            pause_reason: match command {
                BroadcastCommand::Pause(reason) => Some(reason),
                _ => None,
            },
            completed_at: matches!(to, BroadcastStatus::Completed | BroadcastStatus::Cancelled)
                .then_some(now),
            started_at: None,
        };
        let from = row.status;
        let changed = app
            .store
            .write(move |c| queries::set_broadcast_status(c, id, from, to, stamp, now))
            .await?;
        if !changed {
            return Err(changed_meanwhile());
        }
    }
    if to == BroadcastStatus::Running {
        app.broadcast_kick.notify_one();
    }
    app.store
        .read(move |c| queries::broadcast(c, id))
        .await?
        .ok_or(AppError::NotFound("broadcast"))
}

fn changed_meanwhile() -> AppError {
    AppError::Conflict {
        code: "broadcast_status",
        message: "the broadcast changed meanwhile; reload it".to_owned(),
    }
}

/// Starts the broadcast: its audience as it is now becomes its recipients, in the same
/// transaction as the move to `running` (conditional on the status it was read in, so a
/// second start inserts nothing).
async fn snapshot(app: &AppContext, row: &BroadcastRow) -> AppResult<()> {
    let inbox = app.inboxes.get(&row.inbox_id).cloned().ok_or_else(|| {
        AppError::Validation(format!("inbox `{}` is no longer configured", row.inbox_id))
    })?;
    let segments = audience::segments_of(app, row).await?;
    let contacts = audience::contacts_of(app, &segments).await?;
    let now = clock::now();
    let recipients = audience::plan(row, &inbox, &contacts, &mut HashSet::new(), now);
    let (id, from) = (row.id, row.status);
    let stamp = queries::StatusStamp {
        started_at: Some(now),
        ..Default::default()
    };
    let count = recipients.len();
    let started = app
        .store
        .write(move |c| {
            if !queries::set_broadcast_status(c, id, from, BroadcastStatus::Running, stamp, now)? {
                return Ok(false);
            }
            queries::insert_recipients(c, &recipients)?;
            Ok(true)
        })
        .await?;
    if !started {
        return Err(changed_meanwhile());
    }
    tracing::info!(broadcast = %id, recipients = count, "broadcast started");
    Ok(())
}

/// Pauses a running broadcast because of its number's messaging limit.
async fn pause_for_limit(app: &AppContext, id: BroadcastId) -> AppResult<()> {
    let now = clock::now();
    let stamp = queries::StatusStamp {
        pause_reason: Some(PauseReason::MessagingLimit),
        ..Default::default()
    };
    app.store
        .write(move |c| {
            queries::set_broadcast_status(
                c,
                id,
                BroadcastStatus::Running,
                BroadcastStatus::Paused,
                stamp,
                now,
            )
        })
        .await?;
    tracing::warn!(broadcast = %id, "broadcast paused: the messaging limit is reached");
    Ok(())
}

/// Completes a running broadcast whose recipients are all settled.
async fn complete(app: &AppContext, id: BroadcastId) -> AppResult<()> {
    let now = clock::now();
    let stamp = queries::StatusStamp {
        completed_at: Some(now),
        ..Default::default()
    };
    let done = app
        .store
        .write(move |c| {
            if queries::unsettled(c, id)? > 0 {
                return Ok(false);
            }
            queries::set_broadcast_status(
                c,
                id,
                BroadcastStatus::Running,
                BroadcastStatus::Completed,
                stamp,
                now,
            )
        })
        .await?;
    if done {
        tracing::info!(broadcast = %id, "broadcast completed");
    }
    Ok(())
}

/// The provider opted the contact out: its conversation's actor takes the new contact row
/// (the unsubscribe itself was committed with the recipient's outcome).
pub(crate) async fn contact_changed(
    app: &AppContext,
    registry: &Conversations,
    contact: crate::domain::ContactId,
) {
    let conversations = app
        .store
        .read(move |c| queries::conversations_of_contacts(c, &[contact]))
        .await
        .unwrap_or_default();
    for row in conversations {
        let asked =
            crate::actors::registry::ask(registry, row.id, crate::actors::messages::ContactChanged)
                .await;
        if let Err(e) = asked {
            tracing::debug!(conversation = %row.id, error = %e, "contact change not taken");
        }
    }
}
