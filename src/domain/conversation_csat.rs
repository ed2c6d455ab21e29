//! The satisfaction survey's rules inside the state machine (kept apart so the machine's
//! file stays readable): when a closing asks for a rating, and what a rating does.
//!
//! - Closing with the inbox's `csat` on asks once, inside the customer's window (an inbox
//!   without a window is always open); a customer who never wrote is not asked; outside the
//!   window nothing is sent and a note says why (agents otherwise wonder why no rating came).
//! - While the survey awaits ([`ConversationState::awaits_rating`]), a message that reads as a
//!   rating is stored as the score and leaves the conversation closed, without the assistant
//!   and without making it unread or the latest activity (nobody needs to answer it). Any
//!   other customer message ends the wait and reopens the conversation as usual.
//! - Reopening by an agent ends the wait too; the next closing asks again: one survey per
//!   closing.

use chrono::{Duration, NaiveDateTime};

use super::{ConversationState, Effect, Policy};
use crate::domain::{csat::CsatScore, ids::AgentId, notes::Note, types::Status};

/// How long after the survey a rating still counts as its answer (AI.md §5: never past
/// 24 hours, like the window it was sent in).
pub const CSAT_ANSWER_WINDOW: Duration = Duration::hours(24);

impl ConversationState {
    /// Is a customer message at `now` the answer to this closing's satisfaction survey, if it
    /// reads as a rating? Only while the conversation is closed, a survey went out and
    /// [`CSAT_ANSWER_WINDOW`] has not passed since.
    pub fn awaits_rating(&self, now: NaiveDateTime) -> bool {
        self.status == Status::Closed
            && self
                .csat_requested_at
                .is_some_and(|asked| now < asked + CSAT_ANSWER_WINDOW)
    }
}

/// An agent sets, corrects or clears the score; the thread says so (unless nothing changed).
pub(super) fn set_by_agent(
    n: &mut ConversationState,
    fx: &mut Vec<Effect>,
    score: Option<CsatScore>,
    by: AgentId,
) {
    if n.csat != score {
        n.csat = score;
        fx.push(Effect::SystemNote(Note::CsatSet { score, by }));
    }
}

/// The customer answered the survey with `score`: stored, the wait ends, nothing reopens.
/// The message still opens the customer's window (it is theirs).
pub(super) fn rated(
    n: &mut ConversationState,
    fx: &mut Vec<Effect>,
    score: CsatScore,
    at: NaiveDateTime,
    p: &Policy,
) {
    n.csat = Some(score);
    n.csat_requested_at = None;
    n.last_customer_message_at = Some(n.last_customer_message_at.map_or(at, |l| l.max(at)));
    fx.push(Effect::SystemNote(Note::CsatReceived { score }));
    if let Some(closes) = n.window_closes_at(p) {
        fx.push(Effect::ArmWindow(closes));
    }
}

/// After a status change to `to` (from another status): closing asks for a rating when the
/// inbox wants one; anything else ends the wait for the last closing's.
pub(super) fn status_changed(
    n: &mut ConversationState,
    fx: &mut Vec<Effect>,
    to: Status,
    p: &Policy,
    now: NaiveDateTime,
) {
    if to != Status::Closed {
        n.csat_requested_at = None;
        return;
    }
    if !p.csat || n.csat_requested_at.is_some() || n.last_customer_message_at.is_none() {
        return;
    }
    if n.window_open(now, p) {
        n.csat_requested_at = Some(now);
        fx.push(Effect::AskCsat);
    } else {
        let window_hours = p.windows.service.map_or(24, |w| w.num_hours());
        fx.push(Effect::SystemNote(Note::CsatNotSent { window_hours }));
    }
}
