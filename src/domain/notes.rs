//! System events in a conversation's thread ("Alice assigned this to Bob"): what happened and
//! who did it, as data. The state machine returns a [`Note`]; the actor stores its text (with
//! the agents' names, for readers of the API) and its data as the message's payload, from
//! which the dashboard renders names and times in the reader's own language and time zone.

use chrono::NaiveDateTime;
use serde_json::{json, Value};

use super::{
    conversation::{AiFollowUpCancel, SnoozeEnd},
    csat::CsatScore,
    ids::{AgentId, MessageId},
    types::{By, HandoffReason, Status},
};

/// One system event of a thread.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// The customer wrote to a closed conversation.
    Reopened {
        to: Status,
    },
    /// A status change asked for by an agent or the system.
    StatusChanged {
        to: Status,
        by: By,
    },
    /// An agent answered while the assistant held the conversation.
    AgentReplyTookOver {
        agent: AgentId,
    },
    Assigned {
        to: Option<AgentId>,
        by: By,
    },
    Claimed {
        agent: AgentId,
    },
    HandedOff(HandoffReason),
    FollowUpScheduled {
        at: NaiveDateTime,
        reason: Option<String>,
        by: By,
    },
    FollowUpCancelled {
        by: By,
    },
    FollowUpDue {
        reason: Option<String>,
    },
    /// The review found the customer quiet after a question or promise of ours.
    AiFollowUpScheduled {
        at: NaiveDateTime,
        reason: String,
    },
    /// The AI's follow-up went out (its message, or the template outside the window).
    AiFollowUpTriggered {
        template: bool,
    },
    /// The AI's follow-up came due but could not be sent.
    AiFollowUpSkipped {
        reason: String,
    },
    AiFollowUpCancelled {
        why: AiFollowUpCancel,
    },
    /// The customer answered the satisfaction survey.
    CsatReceived {
        score: CsatScore,
    },
    /// An agent set, corrected or cleared the score.
    CsatSet {
        score: Option<CsatScore>,
        by: AgentId,
    },
    /// The conversation closed after the customer's window did: no survey could be sent.
    CsatNotSent {
        window_hours: i64,
    },
    /// The customer's message was an opt-out keyword (STOP, BAJA…): no more broadcasts.
    Unsubscribed {
        keyword: String,
    },
    /// The customer's message was an opt-in keyword (START, ALTA…).
    Resubscribed {
        keyword: String,
    },
    /// An agent put the conversation aside until a time (`None`: until the customer writes).
    Snoozed {
        until: Option<NaiveDateTime>,
        by: AgentId,
    },
    /// The snooze ended: its time came, the customer wrote, or an agent woke it.
    Unsnoozed {
        why: SnoozeEnd,
    },
    /// An agent marked one of the assistant's answers wrong (`wrong`), or took the mark back.
    AnswerMarked {
        message: MessageId,
        by: AgentId,
        wrong: bool,
        reason: Option<String>,
    },
}

/// Who did it, for the text: an agent's name, or what the system is.
fn who(by: By, name: &dyn Fn(AgentId) -> Option<String>) -> String {
    match by {
        By::Agent(id) => agent(id, name),
        By::System => "Switchboard".to_owned(),
    }
}

fn agent(id: AgentId, name: &dyn Fn(AgentId) -> Option<String>) -> String {
    name(id).unwrap_or_else(|| "An agent".to_owned())
}

/// A time for the stored text: to the minute, in UTC (the dashboard shows the reader's time).
fn minute(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn with_reason(text: String, reason: &Option<String>) -> String {
    match reason {
        Some(r) => format!("{text}: {r}"),
        None => text,
    }
}

impl Note {
    /// A stable name for the kind of event (the payload's `event`).
    pub fn kind(&self) -> &'static str {
        match self {
            Note::Reopened { .. } => "reopened",
            Note::StatusChanged {
                to: Status::Human, ..
            } => "took_over",
            Note::StatusChanged {
                to: Status::Bot, ..
            } => "handed_back",
            Note::StatusChanged {
                to: Status::Closed, ..
            } => "closed",
            Note::AgentReplyTookOver { .. } => "reply_took_over",
            Note::Assigned { to: Some(_), .. } => "assigned",
            Note::Assigned { to: None, .. } => "unassigned",
            Note::Claimed { .. } => "claimed",
            Note::HandedOff(_) => "handed_off",
            Note::FollowUpScheduled { .. } => "follow_up_scheduled",
            Note::FollowUpCancelled { .. } => "follow_up_cancelled",
            Note::FollowUpDue { .. } => "follow_up_due",
            Note::AiFollowUpScheduled { .. } => "ai_follow_up_scheduled",
            Note::AiFollowUpTriggered { .. } => "ai_follow_up_triggered",
            Note::AiFollowUpSkipped { .. } => "ai_follow_up_skipped",
            Note::AiFollowUpCancelled { .. } => "ai_follow_up_cancelled",
            Note::CsatReceived { .. } => "csat_received",
            Note::CsatSet { .. } => "csat_set",
            Note::CsatNotSent { .. } => "csat_not_sent",
            Note::Unsubscribed { .. } => "unsubscribed",
            Note::Resubscribed { .. } => "resubscribed",
            Note::Snoozed { .. } => "snoozed",
            Note::Unsnoozed { .. } => "unsnoozed",
            Note::AnswerMarked { wrong: true, .. } => "answer_marked_wrong",
            Note::AnswerMarked { wrong: false, .. } => "answer_mark_cleared",
        }
    }

    /// The text stored in the thread, naming people with `name` (an unknown agent is "An
    /// agent").
    pub fn text(&self, name: &dyn Fn(AgentId) -> Option<String>) -> String {
        match self {
            Note::Reopened { to } => format!("Conversation reopened by the customer ({to})"),
            Note::StatusChanged { to, by } => {
                let who = who(*by, name);
                match to {
                    Status::Human => format!("{who} took over the conversation"),
                    Status::Bot => format!("{who} handed the conversation back to the assistant"),
                    Status::Closed => format!("Resolved by {who}"),
                }
            }
            Note::AgentReplyTookOver { agent: a } => format!(
                "{} replied and took over from the assistant",
                agent(*a, name)
            ),
            Note::Assigned { to: Some(to), by } => match by {
                By::System => format!("Assigned to {} automatically", agent(*to, name)),
                By::Agent(a) if a == to => {
                    format!("{} assigned this to themselves", agent(*a, name))
                }
                By::Agent(a) => {
                    format!("{} assigned this to {}", agent(*a, name), agent(*to, name))
                }
            },
            Note::Assigned { to: None, by } => format!("{} unassigned this", who(*by, name)),
            Note::Claimed { agent: a } => format!("{} took the conversation", agent(*a, name)),
            Note::HandedOff(reason) => match reason {
                HandoffReason::CustomerAsked { phrase } => {
                    format!("Handed to a person: the customer asked (\u{201c}{phrase}\u{201d})")
                }
                HandoffReason::AssistantCouldNotHelp { misses } => format!(
                    "Handed to a person: the assistant could not help {misses} times in a row"
                ),
                HandoffReason::Complaint { phrase } => format!(
                    "Handed to a person: the customer has a complaint (\u{201c}{phrase}\u{201d})"
                ),
                HandoffReason::AssistantUnavailable => {
                    "Handed to a person: the assistant could not answer".to_owned()
                }
                HandoffReason::AssistantHandoff { reason } => {
                    format!("Handed to a person by the assistant: {reason}")
                }
                HandoffReason::AssistantBudgetExhausted => {
                    "Handed to a person: the assistant's daily token budget is spent".to_owned()
                }
            },
            Note::FollowUpScheduled { at, reason, by } => with_reason(
                format!(
                    "{} scheduled a follow-up for {}",
                    who(*by, name),
                    minute(*at)
                ),
                reason,
            ),
            Note::FollowUpCancelled { by } => {
                format!("{} cancelled the follow-up", who(*by, name))
            }
            Note::FollowUpDue { reason } => with_reason("Follow-up due".to_owned(), reason),
            Note::AiFollowUpScheduled { at, reason } => {
                format!("AI scheduled a follow-up for {}: {reason}", minute(*at))
            }
            Note::AiFollowUpTriggered { template: false } => "AI follow-up triggered".to_owned(),
            Note::AiFollowUpTriggered { template: true } => {
                "AI follow-up triggered: the window had closed, so the follow-up template was sent"
                    .to_owned()
            }
            Note::AiFollowUpSkipped { reason } => format!("AI follow-up skipped: {reason}"),
            Note::AiFollowUpCancelled {
                why: AiFollowUpCancel::CustomerWrote,
            } => "AI follow-up cancelled: the customer wrote".to_owned(),
            Note::AiFollowUpCancelled {
                why: AiFollowUpCancel::Closed,
            } => "AI follow-up cancelled: the conversation was closed".to_owned(),
            Note::CsatReceived { score } => format!("Customer rated {}/5", score.get()),
            Note::CsatSet {
                score: Some(score),
                by,
            } => format!(
                "{} set the satisfaction score to {}/5",
                agent(*by, name),
                score.get()
            ),
            Note::CsatSet { score: None, by } => {
                format!("{} cleared the satisfaction score", agent(*by, name))
            }
            Note::CsatNotSent { window_hours } => format!(
                "Satisfaction survey not sent: the customer's {window_hours}-hour window has closed"
            ),
            Note::Unsubscribed { keyword } => {
                format!("The customer unsubscribed from broadcasts (\u{201c}{keyword}\u{201d})")
            }
            Note::Resubscribed { keyword } => {
                format!("The customer resubscribed to broadcasts (\u{201c}{keyword}\u{201d})")
            }
            Note::Snoozed {
                until: Some(at),
                by,
            } => {
                format!("{} snoozed this until {}", agent(*by, name), minute(*at))
            }
            Note::Snoozed { until: None, by } => format!(
                "{} snoozed this until the customer writes",
                agent(*by, name)
            ),
            Note::Unsnoozed {
                why: SnoozeEnd::TimeUp,
            } => "Back from snooze".to_owned(),
            Note::Unsnoozed {
                why: SnoozeEnd::CustomerWrote,
            } => "Back from snooze: the customer wrote".to_owned(),
            Note::Unsnoozed {
                why: SnoozeEnd::Woken(by),
            } => format!("{} brought this back from snooze", agent(*by, name)),
            Note::AnswerMarked {
                by,
                wrong: true,
                reason,
                ..
            } => with_reason(
                format!("{} marked the assistant's answer wrong", agent(*by, name)),
                reason,
            ),
            Note::AnswerMarked {
                by, wrong: false, ..
            } => format!(
                "{} took back the mark on the assistant's answer",
                agent(*by, name)
            ),
        }
    }

    /// What the dashboard needs to say it in the reader's words and time: the event, who
    /// did it, whom it concerns and when (RFC 3339, UTC).
    pub fn payload(&self) -> Value {
        let by = |b: &By| match b {
            By::Agent(a) => json!(a),
            By::System => Value::Null,
        };
        let mut p = json!({ "event": self.kind() });
        match self {
            Note::Reopened { to } => p["to"] = json!(to.as_str()),
            Note::StatusChanged { by: b, .. } | Note::FollowUpCancelled { by: b } => {
                p["by"] = by(b)
            }
            Note::AgentReplyTookOver { agent } | Note::Claimed { agent } => p["by"] = json!(agent),
            Note::Assigned { to, by: b } => {
                p["by"] = by(b);
                p["to"] = json!(to);
            }
            Note::HandedOff(reason) => p["reason"] = json!(reason.kind()),
            Note::FollowUpScheduled { at, reason, by: b } => {
                p["by"] = by(b);
                p["at"] = json!(at.and_utc().to_rfc3339());
                p["reason"] = json!(reason);
            }
            Note::FollowUpDue { reason } => p["reason"] = json!(reason),
            Note::AiFollowUpScheduled { at, reason } => {
                p["at"] = json!(at.and_utc().to_rfc3339());
                p["reason"] = json!(reason);
            }
            Note::AiFollowUpTriggered { template } => p["template"] = json!(template),
            Note::AiFollowUpSkipped { reason } => p["reason"] = json!(reason),
            Note::AiFollowUpCancelled { why } => {
                p["why"] = json!(match why {
                    AiFollowUpCancel::CustomerWrote => "customer_wrote",
                    AiFollowUpCancel::Closed => "closed",
                })
            }
            Note::CsatReceived { score } => p["score"] = json!(score),
            Note::CsatSet { score, by } => {
                p["score"] = json!(score);
                p["by"] = json!(by);
            }
            Note::CsatNotSent { window_hours } => {
                p["reason"] = json!("window_closed");
                p["window_hours"] = json!(window_hours);
            }
            Note::Unsubscribed { keyword } | Note::Resubscribed { keyword } => {
                p["keyword"] = json!(keyword)
            }
            Note::Snoozed { until, by } => {
                p["by"] = json!(by);
                p["until"] = json!(until.map(|at| at.and_utc().to_rfc3339()));
            }
            Note::Unsnoozed { why } => {
                let (why, by) = match why {
                    SnoozeEnd::TimeUp => ("time_up", None),
                    SnoozeEnd::CustomerWrote => ("customer_wrote", None),
                    SnoozeEnd::Woken(by) => ("woken", Some(*by)),
                };
                p["why"] = json!(why);
                p["by"] = json!(by);
            }
            Note::AnswerMarked {
                message,
                by,
                reason,
                ..
            } => {
                p["by"] = json!(by);
                p["message_id"] = json!(message);
                p["reason"] = json!(reason);
            }
        }
        p
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn notes_name_who_did_what() {
        let (alice, bob, gone) = (AgentId::new(), AgentId::new(), AgentId::new());
        let names = move |id: AgentId| {
            if id == alice {
                Some("Alice".to_owned())
            } else if id == bob {
                Some("Bob".to_owned())
            } else {
                None
            }
        };
        let at = NaiveDate::from_ymd_opt(2026, 11, 30)
            .unwrap()
            .and_hms_micro_opt(6, 1, 42, 19_333)
            .unwrap();
        for (note, text) in [
            (
                Note::Assigned {
                    to: Some(bob),
                    by: By::Agent(alice),
                },
                "Alice assigned this to Bob",
            ),
            (
                Note::Assigned {
                    to: Some(alice),
                    by: By::Agent(alice),
                },
                "Alice assigned this to themselves",
            ),
            (
                Note::Assigned {
                    to: Some(bob),
                    by: By::System,
                },
                "Assigned to Bob automatically",
            ),
            (
                Note::Assigned {
                    to: None,
                    by: By::Agent(bob),
                },
                "Bob unassigned this",
            ),
            (
                Note::StatusChanged {
                    to: Status::Closed,
                    by: By::Agent(alice),
                },
                "Resolved by Alice",
            ),
            (
                Note::StatusChanged {
                    to: Status::Human,
                    by: By::Agent(gone),
                },
                "An agent took over the conversation",
            ),
            (
                Note::StatusChanged {
                    to: Status::Bot,
                    by: By::Agent(bob),
                },
                "Bob handed the conversation back to the assistant",
            ),
            (
                Note::AgentReplyTookOver { agent: alice },
                "Alice replied and took over from the assistant",
            ),
            (Note::Claimed { agent: bob }, "Bob took the conversation"),
            (
                Note::FollowUpScheduled {
                    at,
                    reason: Some("send the quote".into()),
                    by: By::Agent(alice),
                },
                "Alice scheduled a follow-up for 2026-11-30 06:01 UTC: send the quote",
            ),
            (
                Note::FollowUpCancelled { by: By::Agent(bob) },
                "Bob cancelled the follow-up",
            ),
            (
                Note::FollowUpDue {
                    reason: Some("call".into()),
                },
                "Follow-up due: call",
            ),
            (
                Note::Reopened { to: Status::Bot },
                "Conversation reopened by the customer (bot)",
            ),
            (
                Note::HandedOff(HandoffReason::AssistantUnavailable),
                "Handed to a person: the assistant could not answer",
            ),
            (
                Note::CsatReceived {
                    score: CsatScore::try_from(4).unwrap(),
                },
                "Customer rated 4/5",
            ),
            (
                Note::CsatSet {
                    score: CsatScore::try_from(2).ok(),
                    by: alice,
                },
                "Alice set the satisfaction score to 2/5",
            ),
            (
                Note::CsatSet {
                    score: None,
                    by: gone,
                },
                "An agent cleared the satisfaction score",
            ),
            (
                Note::CsatNotSent { window_hours: 24 },
                "Satisfaction survey not sent: the customer's 24-hour window has closed",
            ),
        ] {
            assert_eq!(note.text(&names), text, "{note:?}");
        }
    }

    #[test]
    fn payloads_carry_ids_and_utc_times_for_the_reader() {
        let (alice, bob) = (AgentId::new(), AgentId::new());
        let at = NaiveDate::from_ymd_opt(2026, 11, 30)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        assert_eq!(
            Note::Assigned {
                to: Some(bob),
                by: By::Agent(alice)
            }
            .payload(),
            json!({"event": "assigned", "by": alice, "to": bob})
        );
        assert_eq!(
            Note::FollowUpScheduled {
                at,
                reason: None,
                by: By::Agent(alice)
            }
            .payload(),
            json!({"event": "follow_up_scheduled", "by": alice, "at": "2026-11-30T09:00:00+00:00", "reason": null})
        );
        assert_eq!(
            Note::HandedOff(HandoffReason::AssistantUnavailable).payload(),
            json!({"event": "handed_off", "reason": "assistant_unavailable"})
        );
        assert_eq!(
            Note::CsatSet {
                score: CsatScore::try_from(5).ok(),
                by: alice
            }
            .payload(),
            json!({"event": "csat_set", "score": 5, "by": alice})
        );
        assert_eq!(
            Note::CsatSet {
                score: None,
                by: alice
            }
            .payload(),
            json!({"event": "csat_set", "score": null, "by": alice})
        );
        assert_eq!(
            Note::CsatReceived {
                score: CsatScore::try_from(3).unwrap()
            }
            .payload(),
            json!({"event": "csat_received", "score": 3})
        );
    }
}
