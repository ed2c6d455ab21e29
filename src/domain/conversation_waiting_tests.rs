//! `waiting_since`: since when the customer has waited for a person, kept in step with
//! `needs_reply` by every transition. Each row: the state before, one event at 10:00 (server
//! time), and the wait after.

#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;

use super::*;

fn t(h: u32, m: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 30)
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

/// In `status`, the customer (or not) spoke last, waiting since 9:00 when they did.
fn state(status: Status, customer_last: bool) -> ConversationState {
    let author = if customer_last {
        Author::Customer
    } else {
        Author::Agent
    };
    ConversationState {
        status,
        last_message_at: Some(t(9, 0)),
        last_message_author: Some(author),
        last_customer_message_at: Some(t(9, 0)),
        first_reply_at: Some(t(8, 0)),
        waiting_since: (status == Status::Human && customer_last).then_some(t(9, 0)),
        ..ConversationState::new()
    }
}

#[test]
fn the_wait_follows_needs_reply() {
    let agent = AgentId::new();
    let now = t(10, 0);
    let rows: Vec<(&str, ConversationState, Event, Option<NaiveDateTime>)> = vec![
        (
            "the customer writes to a person who had answered: waits from now",
            state(Status::Human, false),
            customer("and now?", t(9, 59)),
            Some(now),
        ),
        (
            "the customer writes again: still waiting since the first message",
            state(Status::Human, true),
            customer("hello??", t(9, 59)),
            Some(t(9, 0)),
        ),
        (
            "the customer asks the assistant for a person: waits from the handoff",
            state(Status::Bot, false),
            customer("talk to a human", t(9, 59)),
            Some(now),
        ),
        (
            "the customer writes to the assistant: nobody owes an answer yet",
            state(Status::Bot, false),
            customer("opening hours?", t(9, 59)),
            None,
        ),
        (
            "the assistant hands off with the customer unanswered: waits from now",
            state(Status::Bot, true),
            Event::AssistantHandedOff {
                assistant: AssistantId::from("shop"),
                reason: "refund".to_owned(),
                text: Some("A colleague will answer.".to_owned()),
            },
            Some(now),
        ),
        (
            "an agent answers: the wait ends",
            state(Status::Human, true),
            Event::AgentReplied { agent, at: now },
            None,
        ),
        (
            "a private note does not end it",
            state(Status::Human, true),
            Event::NoteAdded,
            Some(t(9, 0)),
        ),
        (
            "an assignment does not end it",
            state(Status::Human, true),
            Event::Assigned {
                agent: Some(agent),
                by: By::Agent(agent),
            },
            Some(t(9, 0)),
        ),
        (
            "closing ends it",
            state(Status::Human, true),
            Event::StatusChanged {
                to: Status::Closed,
                by: By::Agent(agent),
            },
            None,
        ),
        (
            "handing back to the assistant ends it",
            state(Status::Human, true),
            Event::StatusChanged {
                to: Status::Bot,
                by: By::Agent(agent),
            },
            None,
        ),
    ];
    for (what, before, event, want) in rows {
        let (after, _) = transition(&before, &event, now, &Policy::default())
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(after.waiting_since, want, "{what}");
        assert_eq!(after.waiting_since.is_some(), after.needs_reply(), "{what}");
    }
}
