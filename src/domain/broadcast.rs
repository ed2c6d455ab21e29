//! The rules of a broadcast, pure and table-tested before any storage or sending is built on
//! them (issue 15; `../shared/CRM.md` §6): a broadcast's own lifecycle, the audience snapshot
//! with its skip reasons, each recipient's status under out-of-order status webhooks, the
//! "never twice" rule for a send whose outcome a crash hid, what a provider's error means for
//! the recipient and the broadcast, the pace per sender, and per-contact parameters.
//!
//! The guarantee these rules serve: **a restart never sends one broadcast twice to a
//! contact.** The providers offer no idempotency key, so a recipient is marked `sending`
//! (committed) before its HTTP call; one still `sending` after a crash becomes `unknown` and is
//! settled only by the provider's status webhooks (or, after a timeout, `failed` with
//! `unknown_outcome`), never re-sent by itself.

use std::collections::HashSet;

use chrono::{Duration, NaiveDateTime};
use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use super::{
    types::{text_enum, UnknownName},
    ContactId,
};

// ---------------------------------------------------------------------------------------
// The broadcast

text_enum!(
    /// Where a broadcast stands.
    BroadcastStatus, "broadcast status" {
        /// Created, not started: its audience and message can still change.
        Draft => "draft",
        /// Will start by itself at its `scheduled_at`.
        Scheduled => "scheduled",
        /// Its recipients are being sent to.
        Running => "running",
        /// Stopped by an agent or by a limit (see [`PauseReason`]); resumes where it stopped.
        Paused => "paused",
        /// Every recipient has an outcome.
        Completed => "completed",
        /// Stopped for good; recipients not yet sent to stay unsent.
        Cancelled => "cancelled",
    }
);

text_enum!(
    /// Why a running broadcast paused.
    PauseReason, "pause reason" {
        /// An agent paused it.
        Agent => "agent",
        /// Sending more would pass the number's (or portfolio's) daily messaging limit: better
        /// paused with the reason than failures burnt against the limit.
        MessagingLimit => "messaging_limit",
    }
);

/// What an agent or the scheduler asks of a broadcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BroadcastCommand {
    /// Start now, or at `scheduled_at` when given (in the future).
    Start {
        scheduled: bool,
    },
    /// The scheduled time came.
    Due,
    Pause(PauseReason),
    Resume,
    Cancel,
    /// The last recipient got an outcome.
    Finished,
}

/// A command the broadcast's status does not allow (a 409 at the API).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {from:?} broadcast cannot be {command}")]
pub struct NotNow {
    pub from: BroadcastStatus,
    pub command: &'static str,
}

/// The status after `command`, or why it is refused. Starting twice, resuming a broadcast that
/// runs or cancelling twice are refused rather than ignored: two agents pressing Start must
/// learn that one of them already did (the duplicate-send bugs of other inboxes began with a
/// second scheduler picking up a running campaign).
pub fn next_status(
    from: BroadcastStatus,
    command: BroadcastCommand,
) -> Result<BroadcastStatus, NotNow> {
    use BroadcastCommand as C;
    use BroadcastStatus as S;
    let refused = |command| Err(NotNow { from, command });
    match (from, command) {
        (S::Draft, C::Start { scheduled: true }) => Ok(S::Scheduled),
        (S::Draft, C::Start { scheduled: false }) | (S::Scheduled, C::Due) => Ok(S::Running),
        (_, C::Start { .. }) => refused("started"),
        (_, C::Due) => refused("started by its schedule"),
        (S::Running, C::Pause(_)) => Ok(S::Paused),
        (_, C::Pause(_)) => refused("paused"),
        (S::Paused, C::Resume) => Ok(S::Running),
        (_, C::Resume) => refused("resumed"),
        (S::Draft | S::Scheduled | S::Running | S::Paused, C::Cancel) => Ok(S::Cancelled),
        (_, C::Cancel) => refused("cancelled"),
        (S::Running | S::Paused, C::Finished) => Ok(S::Completed),
        (_, C::Finished) => refused("completed"),
    }
}

// ---------------------------------------------------------------------------------------
// The audience snapshot

text_enum!(
    /// Why a contact of the audience gets no message.
    SkipReason, "skip reason" {
        Blocked => "blocked",
        /// Unsubscribed here (an agent, a STOP reply, the template's opt-out button).
        Unsubscribed => "unsubscribed",
        /// The provider refuses to send to them (Twilio 21610, WhatsApp 131050).
        ProviderOptedOut => "provider_opted_out",
        /// Nothing to send to on the broadcast's channel (no phone for an SMS broadcast).
        NoAddress => "no_address",
        /// Another contact of the audience has the same address: one message per address.
        DuplicateAddress => "duplicate_address",
        /// A `{{field}}` of the message names something the contact lacks, and the broadcast
        /// gives no fallback (an empty template parameter is a provider error).
        MissingField => "missing_field",
    }
);

/// One contact of the audience as the snapshot reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub contact: ContactId,
    /// Where the broadcast's channel would send (E.164 phone, provider user id), if anywhere.
    pub address: Option<String>,
    pub blocked: bool,
    pub unsubscribed: bool,
    pub provider_opted_out: bool,
}

/// What the snapshot decided for one contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    Send {
        contact: ContactId,
        address: String,
    },
    Skip {
        contact: ContactId,
        reason: SkipReason,
    },
}

/// The audience at start: one row per contact (a contact in two segments once), the first
/// contact of each address sent to, the others skipped with the reason. Order is kept, so
/// a snapshot taken in chunks decides the same way given the addresses already taken.
pub fn snapshot(candidates: &[Candidate], taken: &mut HashSet<String>) -> Vec<Planned> {
    let mut seen_contacts = HashSet::new();
    let mut out = Vec::with_capacity(candidates.len());
    for c in candidates {
        if !seen_contacts.insert(c.contact) {
            continue;
        }
        let skip = |reason| Planned::Skip {
            contact: c.contact,
            reason,
        };
        let planned = if c.blocked {
            skip(SkipReason::Blocked)
        } else if c.unsubscribed {
            skip(SkipReason::Unsubscribed)
        } else if c.provider_opted_out {
            skip(SkipReason::ProviderOptedOut)
        } else {
            match c
                .address
                .as_deref()
                .map(str::trim)
                .filter(|a| !a.is_empty())
            {
                None => skip(SkipReason::NoAddress),
                Some(a) if !taken.insert(a.to_owned()) => skip(SkipReason::DuplicateAddress),
                Some(a) => Planned::Send {
                    contact: c.contact,
                    address: a.to_owned(),
                },
            }
        };
        out.push(planned);
    }
    out
}

// ---------------------------------------------------------------------------------------
// A recipient

text_enum!(
    /// One recipient's status.
    RecipientStatus, "recipient status" {
        Queued => "queued",
        Skipped => "skipped",
        /// Committed before the HTTP call: if the server dies now, the outcome is unknown.
        Sending => "sending",
        Sent => "sent",
        Delivered => "delivered",
        Read => "read",
        Failed => "failed",
        /// Was `sending` when the server stopped: the provider may or may not have it. Settled
        /// by its status webhooks, never re-sent by itself.
        Unknown => "unknown",
    }
);

/// What the provider reported about a message (status webhooks, in any order, batched).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderReport {
    Sent,
    Delivered,
    Read,
    Failed,
}

impl RecipientStatus {
    /// sent 1 < delivered 2 < read 3; 0 for the rest.
    fn rank(self) -> u8 {
        match self {
            RecipientStatus::Sent => 1,
            RecipientStatus::Delivered => 2,
            RecipientStatus::Read => 3,
            _ => 0,
        }
    }

    /// The status after a provider report, or `None` when the report changes nothing: reports
    /// only move forward; `failed` may follow `sent` or `delivered` (a message can fail after
    /// delivery is reported) but not `read`; `failed` is final; an `unknown` recipient takes
    /// whatever the provider says (that is how it is settled). A recipient never sent
    /// (`queued`, `skipped`) ignores reports: they cannot be about it.
    pub fn on_report(self, report: ProviderReport) -> Option<RecipientStatus> {
        use RecipientStatus as S;
        let reported = match report {
            ProviderReport::Sent => S::Sent,
            ProviderReport::Delivered => S::Delivered,
            ProviderReport::Read => S::Read,
            ProviderReport::Failed => S::Failed,
        };
        match (self, reported) {
            (S::Queued | S::Skipped | S::Failed, _) => None,
            (S::Sending | S::Unknown, to) => Some(to),
            (S::Read, S::Failed) => None,
            (_, S::Failed) => Some(S::Failed),
            (from, to) if to.rank() > from.rank() => Some(to),
            _ => None,
        }
    }

    /// At start after a crash: a recipient still `sending` becomes `unknown` (never `queued`:
    /// that is how a restart would send twice). Everything else stays.
    pub fn after_restart(self) -> RecipientStatus {
        match self {
            RecipientStatus::Sending => RecipientStatus::Unknown,
            other => other,
        }
    }

    /// Whether the recipient is done (nothing more will be sent to it).
    pub fn settled(self) -> bool {
        !matches!(self, RecipientStatus::Queued | RecipientStatus::Sending)
    }
}

// ---------------------------------------------------------------------------------------
// Provider errors

/// What a provider's error on a broadcast send means (CRM.md §6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorAction {
    /// The sender is sending too fast: put the recipient back and slow down.
    RetryLater(Duration),
    /// The provider stops marketing to this person: mark the contact opted out there, skip.
    OptedOut,
    /// Not delivered for a reason that may pass (Meta's per-user marketing cap): failed, and
    /// not an opt-out.
    FailedForNow,
    /// Failed for good (not on WhatsApp, expired in the provider's queue…).
    Failed,
}

/// A provider error code (WhatsApp Cloud API or Twilio) as an action.
pub fn error_action(code: &str) -> ErrorAction {
    match code.trim() {
        // Throughput (WhatsApp), queue full / queue overflow (Twilio).
        "130429" | "21611" | "30001" => ErrorAction::RetryLater(Duration::seconds(30)),
        // The pair rate limit: about one message in 6 s to one user.
        "131056" => ErrorAction::RetryLater(Duration::seconds(6)),
        "131049" => ErrorAction::FailedForNow,
        "131050" | "21610" => ErrorAction::OptedOut,
        _ => ErrorAction::Failed,
    }
}

// ---------------------------------------------------------------------------------------
// Pace and limits

/// A token bucket per sender: at most `per_second` sends a second, bursts of `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    per_second: f64,
    burst: f64,
    tokens: f64,
    at: NaiveDateTime,
}

impl Pace {
    /// Full at `now`. A rate of 0 is taken as 1 a second (a paused sender is a pause, not a
    /// rate).
    pub fn new(per_second: u32, burst: u32, now: NaiveDateTime) -> Pace {
        let burst = f64::from(burst.max(1));
        Pace {
            per_second: f64::from(per_second.max(1)),
            burst,
            tokens: burst,
            at: now,
        }
    }

    /// Takes one send if the bucket allows it at `now`; otherwise says how long to wait.
    pub fn take(&mut self, now: NaiveDateTime) -> Result<(), Duration> {
        let elapsed = (now - self.at)
            .num_microseconds()
            .unwrap_or(i64::MAX)
            .max(0) as f64
            / 1e6;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.at = now.max(self.at);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let wait = (1.0 - self.tokens) / self.per_second;
        Err(Duration::microseconds((wait * 1e6).ceil() as i64))
    }
}

/// How many more people a broadcast may reach today outside their service window: the
/// messaging limit (unique users in a moving 24 hours) less those already reached. `None`
/// for a sender without a limit (SMS, the API channel).
pub fn remaining_today(limit: Option<u32>, reached_last_24h: u32) -> Option<u32> {
    limit.map(|l| l.saturating_sub(reached_last_24h))
}

// ---------------------------------------------------------------------------------------
// Per-contact parameters

/// What a broadcast's parameters may name about each contact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactFields {
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// A placeholder that names a field the contact lacks, or no field at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParameterError {
    #[error("`{{{{{0}}}}}` is not a contact field (name, first_name, phone, email)")]
    Unknown(String),
    #[error("the contact has no {0}")]
    Missing(&'static str),
}

/// The parameters for one contact: `{{name}}`, `{{first_name}}`, `{{phone}}`, `{{email}}`
/// inside each parameter are replaced by the contact's; anything else is kept as written.
/// A contact without the field is skipped by the caller (an empty template parameter is a
/// provider error), unless `fallback` gives the text to use instead.
pub fn render_parameters(
    parameters: &[String],
    contact: &ContactFields,
    fallback: Option<&str>,
) -> Result<Vec<String>, ParameterError> {
    parameters
        .iter()
        .map(|p| render_one(p, contact, fallback))
        .collect()
}

fn render_one(
    text: &str,
    contact: &ContactFields,
    fallback: Option<&str>,
) -> Result<String, ParameterError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let key = after[..end].trim();
        let (value, field): (&Option<String>, &'static str) = match key {
            "name" => (&contact.name, "name"),
            "first_name" => (&contact.first_name, "first name"),
            "phone" => (&contact.phone, "phone"),
            "email" => (&contact.email, "email"),
            other => return Err(ParameterError::Unknown(other.to_owned())),
        };
        match (
            value.as_deref().map(str::trim).filter(|v| !v.is_empty()),
            fallback,
        ) {
            (Some(v), _) => out.push_str(v),
            (None, Some(f)) => out.push_str(f),
            (None, None) => return Err(ParameterError::Missing(field)),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
#[path = "broadcast_tests.rs"]
mod tests;
