//! Snooze: an agent puts a conversation aside until a time or until the customer writes; the
//! customer writing, the time coming, an agent or closing ends it. While snoozed it needs no
//! reply (off the badge and the "Needs reply" view). Each row: the state before, one event at
//! 10:00 (server time), and what follows.

#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;

use super::*;

fn t(h: u32, m: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 12, 1)
        .unwrap()
        .and_hms_opt(h, m, 0)
        .unwrap()
}

fn customer(text: &str, at: NaiveDateTime) -> Event {
    Event::CustomerMessage {
        text: text.to_owned(),
        at,
        rating: None,
    }
}

/// A person's conversation the customer is waiting in since 9:00, snoozed at 9:30 (or not).
fn waiting(snooze: Option<Option<NaiveDateTime>>) -> ConversationState {
    ConversationState {
        status: Status::Human,
        last_message_at: Some(t(9, 0)),
        last_message_author: Some(Author::Customer),
        last_customer_message_at: Some(t(9, 0)),
        first_reply_at: Some(t(8, 0)),
        waiting_since: snooze.is_none().then_some(t(9, 0)),
        snooze: snooze.map(|until| Snooze { until }),
        ..ConversationState::new()
    }
}

const NOW: (u32, u32) = (10, 0);

fn run(before: &ConversationState, event: &Event) -> Transition {
    transition(before, event, t(NOW.0, NOW.1), &Policy::default())
}

fn notes(fx: &[Effect]) -> Vec<Note> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::SystemNote(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn snoozing_puts_it_aside() {
    let agent = AgentId::new();
    let rows: Vec<(&str, ConversationState, Option<NaiveDateTime>, Vec<Effect>)> = vec![
        (
            "until a time: the timer is armed for it",
            waiting(None),
            Some(t(12, 0)),
            vec![
                Effect::ArmSnooze(t(12, 0)),
                Effect::SystemNote(Note::Snoozed {
                    until: Some(t(12, 0)),
                    by: agent,
                }),
            ],
        ),
        (
            "until the customer writes: no timer (an earlier one is cancelled)",
            waiting(Some(Some(t(11, 0)))),
            None,
            vec![
                Effect::CancelSnoozeTimer,
                Effect::SystemNote(Note::Snoozed {
                    until: None,
                    by: agent,
                }),
            ],
        ),
    ];
    for (what, before, until, effects) in rows {
        let (after, fx) = run(&before, &Event::Snoozed { until, by: agent }).unwrap();
        assert_eq!(fx, effects, "{what}");
        assert_eq!(after.snooze, Some(Snooze { until }), "{what}");
        assert!(
            !after.needs_reply(),
            "{what}: a snoozed conversation needs no reply now"
        );
        assert_eq!(after.waiting_since, None, "{what}: off the waiting order");
    }
}

#[test]
fn snoozing_is_refused_when_it_cannot_come_back() {
    let agent = AgentId::new();
    let closed = ConversationState {
        status: Status::Closed,
        ..waiting(None)
    };
    let rows: Vec<(&str, ConversationState, Event, TransitionError)> = vec![
        (
            "a time in the past",
            waiting(None),
            Event::Snoozed {
                until: Some(t(9, 59)),
                by: agent,
            },
            TransitionError::SnoozeInPast,
        ),
        (
            "now is not the future",
            waiting(None),
            Event::Snoozed {
                until: Some(t(10, 0)),
                by: agent,
            },
            TransitionError::SnoozeInPast,
        ),
        (
            "a resolved conversation",
            closed,
            Event::Snoozed {
                until: None,
                by: agent,
            },
            TransitionError::SnoozeClosed,
        ),
        (
            "waking one that is not snoozed",
            waiting(None),
            Event::Unsnoozed { by: agent },
            TransitionError::NotSnoozed,
        ),
    ];
    for (what, before, event, error) in rows {
        assert_eq!(run(&before, &event), Err(error), "{what}");
    }
}

#[test]
fn a_snooze_ends_and_the_conversation_comes_back() {
    let agent = AgentId::new();
    let rows: Vec<(&str, ConversationState, Event, Option<SnoozeEnd>)> = vec![
        (
            "its time came",
            waiting(Some(Some(t(10, 0)))),
            Event::SnoozeDue,
            Some(SnoozeEnd::TimeUp),
        ),
        (
            "the customer wrote before its time",
            waiting(Some(Some(t(12, 0)))),
            customer("any news?", t(9, 59)),
            Some(SnoozeEnd::CustomerWrote),
        ),
        (
            "the customer wrote to one snoozed until they write",
            waiting(Some(None)),
            customer("hello again", t(9, 59)),
            Some(SnoozeEnd::CustomerWrote),
        ),
        (
            "an agent woke it",
            waiting(Some(None)),
            Event::Unsnoozed { by: agent },
            Some(SnoozeEnd::Woken(agent)),
        ),
    ];
    for (what, before, event, why) in rows {
        let (after, fx) = run(&before, &event).unwrap();
        assert_eq!(after.snooze, None, "{what}");
        assert!(fx.contains(&Effect::CancelSnoozeTimer), "{what}");
        let ended: Vec<Note> = notes(&fx)
            .into_iter()
            .filter(|n| matches!(n, Note::Unsnoozed { .. }))
            .collect();
        assert_eq!(
            ended,
            why.map(|why| Note::Unsnoozed { why })
                .into_iter()
                .collect::<Vec<_>>(),
            "{what}"
        );
        assert!(after.needs_reply(), "{what}: back in the Needs reply view");
        assert_eq!(
            after.waiting_since,
            Some(t(10, 0)),
            "{what}: waits again from now"
        );
        // Back by itself or by the customer: unread, so it is noticed; an agent who woke it
        // is looking at it.
        let woken = matches!(why, Some(SnoozeEnd::Woken(_)));
        assert_eq!(after.unread_count >= 1, !woken, "{what}: unread");
    }
}

#[test]
fn a_timer_that_fires_early_or_late_does_the_right_thing() {
    // Early (clock skew, or re-snoozed to a later time): armed again, still snoozed.
    let early = waiting(Some(Some(t(11, 0))));
    let (after, fx) = run(&early, &Event::SnoozeDue).unwrap();
    assert_eq!(after.snooze, early.snooze);
    assert_eq!(fx, vec![Effect::ArmSnooze(t(11, 0))]);
    // Snoozed until the customer writes: no time to come.
    let open_ended = waiting(Some(None));
    let (after, fx) = run(&open_ended, &Event::SnoozeDue).unwrap();
    assert_eq!(after, open_ended);
    assert!(fx.is_empty());
    // Not snoozed any more (woken meanwhile): nothing happens.
    let (after, fx) = run(&waiting(None), &Event::SnoozeDue).unwrap();
    assert_eq!(after, waiting(None));
    assert!(fx.is_empty());
}

#[test]
fn closing_ends_the_snooze_silently_and_other_changes_keep_it() {
    let agent = AgentId::new();
    let snoozed = waiting(Some(Some(t(12, 0))));
    let close = Event::StatusChanged {
        to: Status::Closed,
        by: By::Agent(agent),
    };
    let (after, fx) = run(&snoozed, &close).unwrap();
    assert_eq!(after.snooze, None);
    assert!(fx.contains(&Effect::CancelSnoozeTimer));
    assert!(!notes(&fx)
        .iter()
        .any(|n| matches!(n, Note::Unsnoozed { .. })));

    // Assigning, tagging-like changes, an agent's note or reply leave it snoozed.
    for event in [
        Event::Assigned {
            agent: Some(agent),
            by: By::Agent(agent),
        },
        Event::NoteAdded,
        Event::MarkedRead,
        Event::AgentReplied {
            agent,
            at: t(9, 59),
        },
    ] {
        let (after, _) = run(&snoozed, &event).unwrap();
        assert_eq!(after.snooze, snoozed.snooze, "{event:?}");
        assert!(!after.needs_reply(), "{event:?}");
    }
}
