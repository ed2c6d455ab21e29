//! Broadcasts and their recipients (see `domain::broadcast`).
//!
//! A recipient row is the idempotency record of its one send, so every change of its status
//! is a conditional update on the status it is expected to have: `mark_sending` moves it from
//! `queued` only while its broadcast runs (a pause or cancel stops the next send at once),
//! and a provider's report moves it only forward. Indexes: `broadcast_recipients_broadcast`
//! `(broadcast_id, status, id)` serves claiming, counts and pages; `_provider_id` maps a
//! status webhook to its row; `_status (status, updated_at)` the sweeps at start and of
//! unsettled rows; `_reply (address, replied_at)` a customer's reply; `_contact_id` the panel.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::{dsl, prelude::*};
use serde_json::json;

use crate::db::reused;
use crate::{
    db::{
        models::{BroadcastRow, RecipientRow},
        schema::{broadcast_recipients as r, broadcasts as b},
        DbConnection,
    },
    domain::{
        activity::ActivityKind,
        broadcast::{BroadcastStatus, PauseReason, ProviderReport, RecipientStatus, SkipReason},
        types::OptOutSource,
        BroadcastId, ContactId, InboxId, RecipientId,
    },
    error::AppResult,
};

pub fn insert_broadcast(conn: &mut DbConnection, row: &BroadcastRow) -> AppResult<()> {
    diesel::insert_into(b::table).values(row).execute(conn)?;
    Ok(())
}

pub fn broadcast(conn: &mut DbConnection, id: BroadcastId) -> AppResult<Option<BroadcastRow>> {
    Ok(b::table
        .find(id)
        .select(BroadcastRow::as_select())
        .first(conn)
        .optional()?)
}

/// The newest broadcasts first.
pub fn broadcasts(conn: &mut DbConnection, limit: i64) -> AppResult<Vec<BroadcastRow>> {
    Ok(b::table
        .order(b::id.desc())
        .limit(limit)
        .select(BroadcastRow::as_select())
        .load(conn)?)
}

/// Broadcasts in one of these statuses (the dispatcher's look: few rows).
pub fn broadcasts_in(
    conn: &mut DbConnection,
    statuses: &[BroadcastStatus],
) -> AppResult<Vec<BroadcastRow>> {
    Ok(b::table
        .filter(b::status.eq_any(statuses.to_vec()))
        .order(b::id.asc())
        .select(BroadcastRow::as_select())
        .load(conn)?)
}

/// What a status change writes besides the status.
#[derive(Debug, Default, Clone, Copy)]
pub struct StatusStamp {
    pub pause_reason: Option<PauseReason>,
    pub started_at: Option<NaiveDateTime>,
    pub completed_at: Option<NaiveDateTime>,
}

/// Moves the broadcast from `from` to `to`; false when it was no longer `from` (someone else
/// changed it first: the caller answers 409 rather than act twice).
pub fn set_broadcast_status(
    conn: &mut DbConnection,
    id: BroadcastId,
    from: BroadcastStatus,
    to: BroadcastStatus,
    stamp: StatusStamp,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let target = b::table.filter(b::id.eq(id)).filter(b::status.eq(from));
    let n = diesel::update(target)
        .set((
            b::status.eq(to),
            b::pause_reason.eq(stamp.pause_reason),
            b::updated_at.eq(now),
        ))
        .execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    if let Some(at) = stamp.started_at {
        diesel::update(b::table.find(id))
            .set(b::started_at.eq(Some(at)))
            .execute(conn)?;
    }
    if let Some(at) = stamp.completed_at {
        diesel::update(b::table.find(id))
            .set(b::completed_at.eq(Some(at)))
            .execute(conn)?;
    }
    Ok(true)
}

/// The audience snapshot, in the start's transaction. One statement per row (the
/// multi-backend connection has no batch insert; inside one transaction that costs no extra
/// disk write).
pub fn insert_recipients(conn: &mut DbConnection, rows: &[RecipientRow]) -> AppResult<()> {
    for row in rows {
        diesel::insert_into(r::table).values(row).execute(conn)?;
    }
    Ok(())
}

/// A broadcast's recipients by status, and how many replied.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecipientCounts {
    pub by_status: HashMap<RecipientStatus, i64>,
    pub skipped_by_reason: HashMap<SkipReason, i64>,
    pub replied: i64,
}

impl RecipientCounts {
    pub fn of(&self, s: RecipientStatus) -> i64 {
        self.by_status.get(&s).copied().unwrap_or(0)
    }

    pub fn total(&self) -> i64 {
        self.by_status.values().sum()
    }
}

pub fn recipient_counts(
    conn: &mut DbConnection,
    ids: &[BroadcastId],
) -> AppResult<HashMap<BroadcastId, RecipientCounts>> {
    let mut out: HashMap<BroadcastId, RecipientCounts> = HashMap::new();
    let statuses: Vec<(BroadcastId, RecipientStatus, i64)> = r::table
        .filter(r::broadcast_id.eq_any(ids.to_vec()))
        .group_by((r::broadcast_id, r::status))
        .select((r::broadcast_id, r::status, dsl::count_star()))
        .load(conn)?;
    for (id, status, n) in statuses {
        out.entry(id).or_default().by_status.insert(status, n);
    }
    let reasons: Vec<(BroadcastId, Option<SkipReason>, i64)> = r::table
        .filter(r::broadcast_id.eq_any(ids.to_vec()))
        .filter(r::status.eq(RecipientStatus::Skipped))
        .group_by((r::broadcast_id, r::skip_reason))
        .select((r::broadcast_id, r::skip_reason, dsl::count_star()))
        .load(conn)?;
    for (id, reason, n) in reasons {
        if let Some(reason) = reason {
            out.entry(id)
                .or_default()
                .skipped_by_reason
                .insert(reason, n);
        }
    }
    let replied: Vec<(BroadcastId, i64)> = r::table
        .filter(r::broadcast_id.eq_any(ids.to_vec()))
        .filter(r::replied_at.is_not_null())
        .group_by(r::broadcast_id)
        .select((r::broadcast_id, dsl::count_star()))
        .load(conn)?;
    for (id, n) in replied {
        out.entry(id).or_default().replied = n;
    }
    Ok(out)
}

/// The next `limit` recipients due to be sent, in audience order.
pub fn due_recipients(
    conn: &mut DbConnection,
    broadcast: BroadcastId,
    now: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<RecipientRow>> {
    Ok(r::table
        .filter(r::broadcast_id.eq(broadcast))
        .filter(r::status.eq(RecipientStatus::Queued))
        .filter(r::next_attempt_at.is_null().or(r::next_attempt_at.le(now)))
        .order(r::id.asc())
        .limit(limit)
        .select(RecipientRow::as_select())
        .load(conn)?)
}

/// `queued` → `sending`, committed before the HTTP call; false when the row is not `queued`
/// any more or its broadcast does not run (paused or cancelled meanwhile): then nothing may
/// be sent.
pub fn mark_sending(
    conn: &mut DbConnection,
    id: RecipientId,
    broadcast: BroadcastId,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let running = b::table
        .filter(b::id.eq(broadcast))
        .filter(b::status.eq(BroadcastStatus::Running));
    let n = diesel::update(
        r::table
            .filter(r::id.eq(id))
            .filter(r::status.eq(RecipientStatus::Queued))
            .filter(dsl::exists(running)),
    )
    .set((
        r::status.eq(RecipientStatus::Sending),
        r::attempts.eq(r::attempts + 1),
        r::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn recipient(conn: &mut DbConnection, id: RecipientId) -> AppResult<Option<RecipientRow>> {
    Ok(r::table
        .find(id)
        .select(RecipientRow::as_select())
        .first(conn)
        .optional()?)
}

/// The provider took the message: its id is recorded (status webhooks name it), and the
/// contact's timeline says what they received. A report that overtook this answer (it names
/// the recipient through the callback data) may have moved the row already: then only the id
/// is added.
pub fn record_sent(
    conn: &mut DbConnection,
    id: RecipientId,
    provider_message_id: Option<&str>,
    broadcast_name: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    let Some(row) = recipient(conn, id)? else {
        return Ok(());
    };
    let status = match row.status {
        RecipientStatus::Sending | RecipientStatus::Unknown => RecipientStatus::Sent,
        other => other,
    };
    diesel::update(r::table.find(id))
        .set((
            r::status.eq(status),
            r::provider_message_id.eq(provider_message_id.or(row.provider_message_id.as_deref())),
            r::sent_at.eq(row.sent_at.unwrap_or(now)),
            r::next_attempt_at.eq(None::<NaiveDateTime>),
            r::updated_at.eq(now),
        ))
        .execute(conn)?;
    if row.sent_at.is_none() {
        received(conn, &row, broadcast_name, now)?;
    }
    Ok(())
}

/// The contact's timeline entry for a broadcast that reached the provider.
fn received(
    conn: &mut DbConnection,
    row: &RecipientRow,
    broadcast_name: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    let detail = json!({ "broadcast_id": row.broadcast_id, "name": broadcast_name });
    let entry = super::activity_row(
        row.contact_id,
        ActivityKind::BroadcastReceived,
        now,
        None,
        None,
        &detail,
    );
    super::insert_activity(conn, &[entry])
}

/// The send did not happen (the provider refused it) and may be tried again at `next`.
pub fn retry_recipient(
    conn: &mut DbConnection,
    id: RecipientId,
    next: NaiveDateTime,
    error: (&str, &str),
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(
        r::table
            .filter(r::id.eq(id))
            .filter(r::status.eq(RecipientStatus::Sending)),
    )
    .set((
        r::status.eq(RecipientStatus::Queued),
        r::next_attempt_at.eq(Some(next)),
        r::error_code.eq(Some(error.0)),
        r::error_title.eq(Some(error.1)),
        r::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// How a send ended without reaching the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotSent {
    /// For good (or for now, as Meta's per-user cap): `failed`.
    Failed,
    /// The person opted out at the provider: `skipped`, and the contact is unsubscribed.
    OptedOut,
}

/// Settles a recipient that was `sending` (or `unknown`) as failed or skipped, with the
/// provider's code; an opt-out also unsubscribes the contact, with its timeline entry.
pub fn recipient_not_sent(
    conn: &mut DbConnection,
    id: RecipientId,
    how: NotSent,
    error: (&str, &str),
    now: NaiveDateTime,
) -> AppResult<()> {
    let Some(row) = recipient(conn, id)? else {
        return Ok(());
    };
    let (status, reason) = match how {
        NotSent::Failed => (RecipientStatus::Failed, None),
        NotSent::OptedOut => (RecipientStatus::Skipped, Some(SkipReason::ProviderOptedOut)),
    };
    diesel::update(
        r::table.filter(r::id.eq(id)).filter(
            r::status
                .eq(RecipientStatus::Sending)
                .or(r::status.eq(RecipientStatus::Unknown)),
        ),
    )
    .set((
        r::status.eq(status),
        r::skip_reason.eq(reason),
        r::error_code.eq(Some(error.0)),
        r::error_title.eq(Some(error.1)),
        r::failed_at.eq(Some(now)),
        r::updated_at.eq(now),
    ))
    .execute(conn)?;
    if how == NotSent::OptedOut {
        provider_opt_out(conn, row.contact_id, error.0, now)?;
    }
    Ok(())
}

/// The provider says the person opted out: unsubscribed (if they were not), with the
/// timeline entry, in the caller's transaction.
pub fn provider_opt_out(
    conn: &mut DbConnection,
    contact: ContactId,
    code: &str,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let changed = super::set_unsubscribed(conn, &[contact], Some((now, OptOutSource::Provider)))?;
    if changed > 0 {
        let detail = json!({ "source": OptOutSource::Provider, "code": code });
        let entry = super::activity_row(
            contact,
            ActivityKind::Unsubscribed,
            now,
            None,
            None,
            &detail,
        );
        super::insert_activity(conn, &[entry])?;
    }
    Ok(changed > 0)
}

/// At start: every `sending` row is from a process that died mid-send. The provider may have
/// the message, so it becomes `unknown` (settled by status webhooks), never `queued`.
pub fn sending_to_unknown(conn: &mut DbConnection, now: NaiveDateTime) -> AppResult<usize> {
    Ok(
        diesel::update(r::table.filter(r::status.eq(RecipientStatus::Sending)))
            .set((
                r::status.eq(RecipientStatus::Unknown),
                r::updated_at.eq(now),
            ))
            .execute(conn)?,
    )
}

/// The send's answer was lost (a timeout, a connection cut after the request left): the
/// provider may have the message, so the row waits for its status webhooks as `unknown`.
pub fn recipient_unknown(
    conn: &mut DbConnection,
    id: RecipientId,
    reason: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(
        r::table
            .filter(r::id.eq(id))
            .filter(r::status.eq(RecipientStatus::Sending)),
    )
    .set((
        r::status.eq(RecipientStatus::Unknown),
        r::error_title.eq(Some(reason)),
        r::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// `unknown` rows no status webhook settled since `before`: failed with `unknown_outcome`
/// (re-sendable only by a new broadcast, never by themselves).
pub fn expire_unknown(
    conn: &mut DbConnection,
    before: NaiveDateTime,
    now: NaiveDateTime,
) -> AppResult<usize> {
    Ok(diesel::update(
        r::table
            .filter(r::status.eq(RecipientStatus::Unknown))
            .filter(r::updated_at.lt(before)),
    )
    .set((
        r::status.eq(RecipientStatus::Failed),
        r::error_code.eq(Some("unknown_outcome")),
        r::error_title.eq(Some(
            "the server stopped during the send and the provider never reported on it",
        )),
        r::failed_at.eq(Some(now)),
        r::updated_at.eq(now),
    ))
    .execute(conn)?)
}

/// Recipients not settled yet: `queued` (due or not) and `sending`.
pub fn unsettled(conn: &mut DbConnection, broadcast: BroadcastId) -> AppResult<i64> {
    Ok(r::table
        .filter(r::broadcast_id.eq(broadcast))
        .filter(
            r::status
                .eq(RecipientStatus::Queued)
                .or(r::status.eq(RecipientStatus::Sending)),
        )
        .count()
        .get_result(conn)?)
}

/// Distinct people this inbox's broadcasts reached since `since` (the messaging limit counts
/// unique users in a moving 24 hours).
pub fn reached_since(
    conn: &mut DbConnection,
    inbox: &InboxId,
    since: NaiveDateTime,
) -> AppResult<i64> {
    let ids: Vec<BroadcastId> = b::table
        .filter(b::inbox_id.eq(inbox))
        .select(b::id)
        .load(conn)?;
    Ok(r::table
        .filter(r::broadcast_id.eq_any(ids))
        .filter(r::sent_at.ge(since))
        .select(dsl::sql::<diesel::sql_types::BigInt>(
            "COUNT(DISTINCT address)",
        ))
        .get_result(conn)?)
}

/// Which recipient a status webhook is about: named by the callback data we sent with it,
/// or by the provider's message id.
#[derive(Debug, Clone)]
pub enum RecipientRef<'a> {
    Id(RecipientId),
    ProviderId(&'a str),
}

/// What a provider's report did to a recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    pub broadcast: BroadcastId,
    pub contact: ContactId,
    pub status: RecipientStatus,
}

/// Applies a provider's report to the recipient it names, forward only (see
/// `RecipientStatus::on_report`); `None` when no recipient has that id. A failure with an
/// opt-out code skips the recipient and unsubscribes the contact.
pub fn apply_report(
    conn: &mut DbConnection,
    which: RecipientRef<'_>,
    provider_message_id: &str,
    report: ProviderReport,
    error: Option<(&str, &str)>,
    opted_out: bool,
    now: NaiveDateTime,
) -> AppResult<Option<Reported>> {
    let row = match which {
        RecipientRef::Id(id) => recipient(conn, id)?,
        RecipientRef::ProviderId(pid) => r::table
            .filter(r::provider_message_id.eq(pid))
            .select(RecipientRow::as_select())
            .first(conn)
            .optional()?,
    };
    let Some(row) = row else { return Ok(None) };
    let mut reported = Reported {
        broadcast: row.broadcast_id,
        contact: row.contact_id,
        status: row.status,
    };
    let Some(to) = row.status.on_report(report) else {
        return Ok(Some(reported));
    };
    let provider_id = row
        .provider_message_id
        .clone()
        .or_else(|| Some(provider_message_id.to_owned()).filter(|p| !p.is_empty()));
    let (to, skip) = match (to, opted_out) {
        (RecipientStatus::Failed, true) => {
            (RecipientStatus::Skipped, Some(SkipReason::ProviderOptedOut))
        }
        (to, _) => (to, None),
    };
    let stamp = |at: Option<NaiveDateTime>, this: RecipientStatus| {
        if to == this {
            Some(at.unwrap_or(now))
        } else {
            at
        }
    };
    // A settled-by-report `unknown` row was sent: its sent time is the report's.
    let sent_at = match to {
        RecipientStatus::Sent | RecipientStatus::Delivered | RecipientStatus::Read => {
            Some(row.sent_at.unwrap_or(now))
        }
        _ => row.sent_at,
    };
    diesel::update(r::table.find(row.id))
        .set((
            r::status.eq(to),
            r::skip_reason.eq(skip.or(row.skip_reason)),
            r::provider_message_id.eq(provider_id),
            r::sent_at.eq(sent_at),
            r::delivered_at.eq(stamp(row.delivered_at, RecipientStatus::Delivered)),
            r::read_at.eq(stamp(row.read_at, RecipientStatus::Read)),
            r::failed_at.eq(
                if matches!(to, RecipientStatus::Failed | RecipientStatus::Skipped) {
                    Some(now)
                } else {
                    row.failed_at
                },
            ),
            r::error_code.eq(error.map(|e| e.0).or(row.error_code.as_deref())),
            r::error_title.eq(error.map(|e| e.1).or(row.error_title.as_deref())),
            r::updated_at.eq(now),
        ))
        .execute(conn)?;
    if row.sent_at.is_none() && sent_at.is_some() {
        let name: String = b::table
            .find(row.broadcast_id)
            .select(b::name)
            .first(conn)
            .optional()?
            .unwrap_or_default();
        received(conn, &row, &name, now)?;
    }
    if skip.is_some() {
        provider_opt_out(conn, row.contact_id, error.map_or("", |e| e.0), now)?;
    }
    reported.status = to;
    Ok(Some(reported))
}

/// The customer wrote to this inbox: the broadcasts it sent them count a reply (the first
/// message after the send).
pub fn mark_replied(
    conn: &mut DbConnection,
    inbox: &InboxId,
    address: &str,
    now: NaiveDateTime,
) -> AppResult<usize> {
    let of_inbox = b::table.filter(b::inbox_id.eq(inbox)).select(b::id);
    let filter = r::address
        .eq(address)
        .and(r::replied_at.is_null())
        .and(r::sent_at.is_not_null())
        .and(r::sent_at.le(now))
        .and(r::broadcast_id.eq_any(of_inbox));
    Ok(reused::update(r::table, r::replied_at.eq(Some(now)), filter).execute(conn)?)
}

/// One page of a broadcast's recipients in audience order after `after`.
pub fn recipient_page(
    conn: &mut DbConnection,
    broadcast: BroadcastId,
    status: Option<RecipientStatus>,
    after: Option<RecipientId>,
    limit: i64,
) -> AppResult<Vec<RecipientRow>> {
    let mut q = r::table
        .filter(r::broadcast_id.eq(broadcast))
        .select(RecipientRow::as_select())
        .order(r::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(r::status.eq(s));
    }
    if let Some(after) = after {
        q = q.filter(r::id.gt(after));
    }
    Ok(q.load(conn)?)
}

/// The broadcasts these contacts were in, newest first, with the broadcast's name.
pub fn broadcasts_of_contacts(
    conn: &mut DbConnection,
    contacts: &[ContactId],
    limit: i64,
) -> AppResult<Vec<(RecipientRow, String)>> {
    Ok(r::table
        .inner_join(b::table)
        .filter(r::contact_id.eq_any(contacts.to_vec()))
        .order(r::id.desc())
        .limit(limit)
        .select((RecipientRow::as_select(), b::name))
        .load(conn)?)
}
