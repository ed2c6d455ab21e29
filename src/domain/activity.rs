//! A contact's activity timeline: what happened to the person, newest first.
//!
//! Each entry is written in the same transaction as what it records. The conversation events
//! are derived here, purely, from a change of state ([`derive`]): an ordinary message derives
//! nothing, so the ingest path writes no extra row. Names are resolved at write time, so a
//! renamed or deleted agent does not rewrite history.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{
    conversation::{ConversationState, Effect},
    ids::AgentId,
    notes::Note,
    types::{text_enum, By, Status, UnknownName},
};

text_enum!(
    /// What a timeline entry records.
    ActivityKind, "activity kind" {
        /// The person's first message on a conversation.
        ConversationStarted => "conversation_started",
        /// The assistant handed the conversation to a person (`detail.reason`).
        HandedOff => "handed_off",
        /// The assignee changed (`detail.to`, `detail.to_name`; `to` null: unassigned).
        Assigned => "assigned",
        Closed => "closed",
        Reopened => "reopened",
        /// A contact note (`detail.text`).
        NoteAdded => "note_added",
        /// Reserved: an agent uploaded a file to the contact.
        FileUploaded => "file_uploaded",
        /// `detail.changes`: `[{field, from, to}]`.
        ProfileEdited => "profile_edited",
        Blocked => "blocked",
        Unblocked => "unblocked",
        /// Reserved for segments.
        SegmentAdded => "segment_added",
        /// Reserved for segments.
        SegmentRemoved => "segment_removed",
        /// Reserved for broadcasts.
        BroadcastReceived => "broadcast_received",
        /// Reserved for unsubscribe.
        Unsubscribed => "unsubscribed",
        /// Reserved for unsubscribe.
        Resubscribed => "resubscribed",
        /// Where the person came from (an ad, a link, a product, a campaign visit):
        /// `detail.kind`, `detail.headline`, `detail.ref`, `detail.utm_source`… (see
        /// `domain::referral`).
        ReferralCaptured => "referral_captured",
    }
);

/// One entry derived from a conversation's change, before it gets its ids and time.
#[derive(Debug, Clone, PartialEq)]
pub struct Derived {
    pub kind: ActivityKind,
    /// The agent who did it, when a person did.
    pub agent: Option<AgentId>,
    pub detail: Value,
}

/// The agent a change's notes name as its author, if any.
fn author(effects: &[Effect]) -> Option<AgentId> {
    effects.iter().find_map(|fx| match fx {
        Effect::SystemNote(
            Note::Assigned {
                by: By::Agent(a), ..
            }
            | Note::StatusChanged {
                by: By::Agent(a), ..
            },
        ) => Some(*a),
        Effect::SystemNote(Note::Claimed { agent } | Note::AgentReplyTookOver { agent }) => {
            Some(*agent)
        }
        _ => None,
    })
}

/// The timeline entries of one change of a conversation's state: started (its first
/// message), handed off, assigned, closed, reopened. Cheap when nothing rare happened: a few
/// comparisons, no allocation.
pub fn derive(
    before: &ConversationState,
    after: &ConversationState,
    effects: &[Effect],
    name: &dyn Fn(AgentId) -> Option<String>,
) -> Vec<Derived> {
    let started = before.last_message_at.is_none() && after.last_message_at.is_some();
    let handoff = effects.iter().find_map(|fx| match fx {
        Effect::HandoffRequested(reason) => Some(reason),
        _ => None,
    });
    let assigned = before.assignee != after.assignee;
    let closed = before.status != Status::Closed && after.status == Status::Closed;
    let reopened = before.status == Status::Closed && after.status != Status::Closed;
    if !(started || handoff.is_some() || assigned || closed || reopened) {
        return Vec::new();
    }
    let by = author(effects);
    let mut out = Vec::new();
    let mut push = |kind, agent, detail| {
        out.push(Derived {
            kind,
            agent,
            detail,
        })
    };
    if started {
        push(ActivityKind::ConversationStarted, None, json!({}));
    }
    if reopened {
        push(
            ActivityKind::Reopened,
            by,
            json!({ "status": after.status }),
        );
    }
    if let Some(reason) = handoff {
        push(ActivityKind::HandedOff, None, json!({ "reason": reason }));
    }
    if assigned {
        let detail = json!({
            "from": before.assignee,
            "to": after.assignee,
            "to_name": after.assignee.and_then(name),
        });
        push(ActivityKind::Assigned, by, detail);
    }
    if closed {
        push(ActivityKind::Closed, by, json!({}));
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::domain::types::HandoffReason;

    fn kinds(d: &[Derived]) -> Vec<ActivityKind> {
        d.iter().map(|d| d.kind).collect()
    }

    #[test]
    fn changes_derive_their_entries() {
        let t = NaiveDate::from_ymd_opt(2026, 11, 30)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .unwrap_or_default();
        let agent = AgentId::new();
        let fresh = ConversationState::new();
        let talking = ConversationState {
            last_message_at: Some(t),
            ..fresh.clone()
        };
        let human = ConversationState {
            status: Status::Human,
            ..talking.clone()
        };
        let assigned = ConversationState {
            assignee: Some(agent),
            ..human.clone()
        };
        let closed = ConversationState {
            status: Status::Closed,
            ..assigned.clone()
        };
        let handoff = Effect::HandoffRequested(HandoffReason::AssistantUnavailable);
        let claimed = Effect::SystemNote(Note::Claimed { agent });
        use ActivityKind as K;
        type Row<'a> = (
            &'a str,
            &'a ConversationState,
            &'a ConversationState,
            Vec<Effect>,
            Vec<K>,
        );
        let table: Vec<Row<'_>> = vec![
            (
                "first message",
                &fresh,
                &talking,
                vec![],
                vec![K::ConversationStarted],
            ),
            ("ordinary message", &talking, &talking, vec![], vec![]),
            (
                "handoff",
                &talking,
                &human,
                vec![handoff],
                vec![K::HandedOff],
            ),
            (
                "claim",
                &human,
                &assigned,
                vec![claimed.clone()],
                vec![K::Assigned],
            ),
            ("close", &assigned, &closed, vec![], vec![K::Closed]),
            ("reopen", &closed, &assigned, vec![], vec![K::Reopened]),
            ("unassign", &assigned, &human, vec![], vec![K::Assigned]),
        ];
        let name = |_| Some("Alice".to_owned());
        for (what, before, after, effects, want) in table {
            let got = derive(before, after, &effects, &name);
            assert_eq!(kinds(&got), want, "{what}");
        }
        let got = derive(&human, &assigned, &[claimed], &name);
        assert_eq!(got[0].agent, Some(agent));
        assert_eq!(got[0].detail["to_name"], "Alice");
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in ActivityKind::ALL {
            assert_eq!(k.as_str().parse::<ActivityKind>().ok(), Some(*k));
        }
        assert!("segment".parse::<ActivityKind>().is_err());
    }
}
