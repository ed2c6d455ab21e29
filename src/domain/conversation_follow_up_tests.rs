//! The review's suggestions in the state machine: the lead stage rule and the AI's
//! follow-ups (scheduled, capped, sent inside the window, a template or a skip outside it,
//! called off by a reply or a close), table by table.

#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;

use super::*;
use crate::domain::window::Windows;

fn t(h: u32, m: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 30)
        .unwrap()
        .and_hms_opt(h, m, 0)
        .unwrap()
}

/// WhatsApp's 24-hour window, AI follow-ups on (at most `max`), a template when `template`.
fn policy(max: i32, template: bool) -> Policy {
    Policy {
        windows: Windows::whatsapp(),
        ai_follow_ups: Some(AiFollowUpRules {
            max,
            has_template: template,
        }),
        ..Policy::default()
    }
}

/// The customer wrote at 9:00 and a person asked them something at 9:05.
fn asked() -> ConversationState {
    ConversationState {
        status: Status::Human,
        last_customer_message_at: Some(t(9, 0)),
        last_message_at: Some(t(9, 5)),
        last_message_author: Some(Author::Agent),
        first_reply_at: Some(t(9, 5)),
        ..ConversationState::new()
    }
}

fn suggestion(at: NaiveDateTime) -> Event {
    Event::ReviewSuggested {
        lead_stage: None,
        follow_up: Some(AiFollowUp {
            at,
            message: "Hi, just following up".into(),
            reason: "we asked for the order number".into(),
        }),
    }
}

fn step(
    s: &ConversationState,
    ev: Event,
    now: NaiveDateTime,
    p: &Policy,
) -> (ConversationState, Vec<Effect>) {
    transition(s, &ev, now, p).unwrap()
}

#[test]
fn a_suggested_stage_is_taken_only_when_none_is_set() {
    let p = policy(2, false);
    let suggest = |stage| Event::ReviewSuggested {
        lead_stage: Some(stage),
        follow_up: None,
    };
    let (n, fx) = step(&asked(), suggest(LeadStage::Opportunity), t(9, 15), &p);
    assert_eq!(n.lead_stage, Some(LeadStage::Opportunity));
    assert!(fx.is_empty());
    let chosen = ConversationState {
        lead_stage: Some(LeadStage::Contacted),
        ..asked()
    };
    let (n, _) = step(&chosen, suggest(LeadStage::Spam), t(9, 15), &p);
    assert_eq!(n.lead_stage, Some(LeadStage::Contacted));
}

#[test]
fn the_ai_schedules_a_follow_up_only_when_the_inbox_and_the_conversation_allow_it() {
    let at = t(10, 0);
    let agents = ConversationState {
        follow_up: Some(FollowUp {
            at: t(12, 0),
            reason: None,
            source: FollowUpSource::Agent,
            message: None,
        }),
        ..asked()
    };
    let closed = ConversationState {
        status: Status::Closed,
        ..asked()
    };
    let capped = ConversationState {
        ai_follow_ups: 2,
        ..asked()
    };
    let off = Policy {
        ai_follow_ups: None,
        ..policy(2, false)
    };
    // (case, state, policy, scheduled?)
    let cases: [(&str, &ConversationState, &Policy, bool); 5] = [
        ("allowed", &asked(), &policy(2, false), true),
        ("the inbox does not follow up", &asked(), &off, false),
        (
            "an agent's follow-up is never replaced",
            &agents,
            &policy(2, false),
            false,
        ),
        ("closed", &closed, &policy(2, false), false),
        ("the cap is reached", &capped, &policy(2, false), false),
    ];
    for (case, s, p, expected) in cases {
        let (n, fx) = step(s, suggestion(at), t(9, 15), p);
        let ai = n
            .follow_up
            .as_ref()
            .is_some_and(|f| f.source == FollowUpSource::Ai);
        assert_eq!(ai, expected, "{case}");
        assert_eq!(fx.contains(&Effect::ArmFollowUp(at)), expected, "{case}");
    }
    let (n, fx) = step(&asked(), suggestion(at), t(9, 15), &policy(2, false));
    let f = n.follow_up.unwrap();
    assert_eq!(f.reason.as_deref(), Some("we asked for the order number"));
    assert_eq!(f.message.as_deref(), Some("Hi, just following up"));
    assert!(matches!(
        &fx[1],
        Effect::SystemNote(Note::AiFollowUpScheduled { at: a, .. }) if *a == at
    ));
    // A time already past fires at once.
    let (n, _) = step(&asked(), suggestion(t(9, 10)), t(9, 15), &policy(2, false));
    assert_eq!(n.follow_up.unwrap().at, t(9, 15));
}

#[test]
fn a_due_ai_follow_up_is_sent_inside_the_window_templated_or_skipped_outside_it() {
    let with_follow_up = |p: &Policy| step(&asked(), suggestion(t(10, 0)), t(9, 15), p).0;
    // Inside the window: the message goes, counted, as the assistant's.
    let p = policy(2, false);
    let (n, fx) = step(&with_follow_up(&p), Event::FollowUpDue, t(10, 0), &p);
    assert_eq!(fx[0], Effect::SendFollowUp("Hi, just following up".into()));
    assert_eq!(
        fx[1],
        Effect::SystemNote(Note::AiFollowUpTriggered { template: false })
    );
    assert_eq!(n.ai_follow_ups, 1);
    assert!(n.follow_up.is_none());
    assert_eq!(n.last_message_author, Some(Author::Assistant));
    // Outside it (the customer wrote at 9:00 yesterday's time + 24 h): the template, or a
    // skip with the reason.
    let late = t(9, 0) + Duration::hours(25);
    let templated = policy(2, true);
    let (n, fx) = step(
        &with_follow_up(&templated),
        Event::FollowUpDue,
        late,
        &templated,
    );
    assert_eq!(fx[0], Effect::SendFollowUpTemplate);
    assert_eq!(n.ai_follow_ups, 1);
    let (n, fx) = step(&with_follow_up(&p), Event::FollowUpDue, late, &p);
    assert!(matches!(
        &fx[..],
        [Effect::SystemNote(Note::AiFollowUpSkipped { reason })] if reason.contains("window has closed")
    ));
    assert_eq!(n.ai_follow_ups, 0);
    assert!(n.follow_up.is_none());
    // Fired early (a stale timer): armed again, nothing sent.
    let (n, fx) = step(&with_follow_up(&p), Event::FollowUpDue, t(9, 30), &p);
    assert_eq!(fx, vec![Effect::ArmFollowUp(t(10, 0))]);
    assert!(n.follow_up.is_some());
}

#[test]
fn a_customer_reply_or_a_close_calls_the_ai_follow_up_off_but_not_an_agents() {
    let p = policy(2, false);
    let (s, _) = step(&asked(), suggestion(t(10, 0)), t(9, 15), &p);
    let reply = Event::CustomerMessage {
        text: "here it is".into(),
        at: t(9, 20),
        rating: None,
    };
    let (n, fx) = step(&s, reply.clone(), t(9, 20), &p);
    assert!(n.follow_up.is_none());
    assert!(fx.contains(&Effect::CancelFollowUpTimer));
    assert!(fx.contains(&Effect::SystemNote(Note::AiFollowUpCancelled {
        why: AiFollowUpCancel::CustomerWrote
    })));
    let close = Event::StatusChanged {
        to: Status::Closed,
        by: By::System,
    };
    let (n, fx) = step(&s, close, t(9, 20), &p);
    assert!(n.follow_up.is_none());
    assert!(fx.contains(&Effect::SystemNote(Note::AiFollowUpCancelled {
        why: AiFollowUpCancel::Closed
    })));
    // An agent's reminder stays through a reply.
    let agents = ConversationState {
        follow_up: Some(FollowUp {
            at: t(12, 0),
            reason: None,
            source: FollowUpSource::Agent,
            message: None,
        }),
        ..asked()
    };
    let (n, fx) = step(&agents, reply, t(9, 20), &p);
    assert!(n.follow_up.is_some());
    assert!(!fx.contains(&Effect::CancelFollowUpTimer));
}
