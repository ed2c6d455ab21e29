//! The satisfaction survey's rules, table-tested like the rest of the state machine.

#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;

use super::*;

fn t(h: i64) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 21)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        + Duration::hours(h)
}

fn score(n: u8) -> CsatScore {
    CsatScore::try_from(n).unwrap()
}

fn csat(windows: Windows) -> Policy {
    Policy {
        windows,
        csat: true,
        ..Policy::default()
    }
}

fn wrote(text: &str, at: NaiveDateTime, rating: Option<CsatScore>) -> Event {
    Event::CustomerMessage {
        text: text.to_owned(),
        at,
        rating,
    }
}

fn close() -> Event {
    Event::StatusChanged {
        to: Status::Closed,
        by: By::Agent(AgentId::new()),
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

/// A conversation whose customer wrote at `at` and which a person handles.
fn talking(at: NaiveDateTime, p: &Policy) -> ConversationState {
    let s = ConversationState {
        status: Status::Human,
        ..ConversationState::new()
    };
    step(&s, wrote("my order is late", at, None), at, p).0
}

fn notes(fx: &[Effect]) -> Vec<&'static str> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::SystemNote(n) => Some(n.kind()),
            _ => None,
        })
        .collect()
}

#[test]
fn closing_asks_inside_the_window_and_says_why_not_outside() {
    // (window, customer wrote at, closed at, asked?)
    for (windows, wrote_at, closed_at, asked) in [
        (Windows::whatsapp(), t(0), t(1), true),
        (Windows::whatsapp(), t(0), t(23), true),
        (Windows::whatsapp(), t(0), t(24), false),
        (Windows::whatsapp(), t(0), t(25), false),
        (Windows::messenger(), t(0), t(25), false),
        // No window (SMS, widget, API): always open.
        (Windows::default(), t(0), t(24 * 30), true),
    ] {
        let p = csat(windows);
        let s = talking(wrote_at, &p);
        let (n, fx) = step(&s, close(), closed_at, &p);
        let case = format!("{windows:?} {wrote_at} {closed_at}");
        assert_eq!(n.status, Status::Closed, "{case}");
        if asked {
            assert!(fx.contains(&Effect::AskCsat), "{case}: {fx:?}");
            assert_eq!(n.csat_requested_at, Some(closed_at), "{case}");
            assert_eq!(notes(&fx), vec!["closed"], "{case}");
        } else {
            assert!(!fx.contains(&Effect::AskCsat), "{case}: {fx:?}");
            assert_eq!(n.csat_requested_at, None, "{case}");
            assert_eq!(notes(&fx), vec!["closed", "csat_not_sent"], "{case}");
            let why = fx.iter().find_map(|e| match e {
                Effect::SystemNote(n @ Note::CsatNotSent { .. }) => Some(n.text(&|_| None)),
                _ => None,
            });
            assert_eq!(
                why.as_deref(),
                Some("Satisfaction survey not sent: the customer's 24-hour window has closed")
            );
        }
    }
}

#[test]
fn no_survey_without_the_switch_or_without_a_customer_message() {
    let off = Policy {
        windows: Windows::whatsapp(),
        ..Policy::default()
    };
    let (n, fx) = step(&talking(t(0), &off), close(), t(1), &off);
    assert!(!fx.contains(&Effect::AskCsat));
    assert_eq!(notes(&fx), vec!["closed"]);
    assert_eq!(n.csat_requested_at, None);
    // An agent opened it and closed it; the customer never wrote: nothing, not even a note.
    for windows in [Windows::whatsapp(), Windows::default()] {
        let p = csat(windows);
        let s = ConversationState {
            status: Status::Human,
            ..ConversationState::new()
        };
        let (n, fx) = step(&s, close(), t(1), &p);
        assert_eq!(notes(&fx), vec!["closed"], "{windows:?}");
        assert!(!fx.contains(&Effect::AskCsat));
        assert_eq!(n.csat_requested_at, None);
    }
}

#[test]
fn a_rating_is_stored_without_reopening_or_asking_the_assistant() {
    let p = csat(Windows::whatsapp());
    let (closed, _) = step(&talking(t(0), &p), close(), t(1), &p);
    assert!(closed.awaits_rating(t(2)));
    let (n, fx) = step(&closed, wrote("4", t(2), Some(score(4))), t(2), &p);
    assert_eq!(n.status, Status::Closed);
    assert_eq!(n.csat, Some(score(4)));
    assert_eq!(n.csat_requested_at, None);
    assert_eq!(n.resolved_at, closed.resolved_at);
    assert_eq!(
        n.unread_count, closed.unread_count,
        "nobody needs to answer it"
    );
    assert_eq!(n.last_message_at, closed.last_message_at);
    assert_eq!(
        n.last_customer_message_at,
        Some(t(2)),
        "the window is theirs"
    );
    assert!(!fx.contains(&Effect::RequestAssistantReply));
    assert!(fx.contains(&Effect::ArmWindow(t(26))));
    assert_eq!(notes(&fx), vec!["csat_received"]);
    let text = fx.iter().find_map(|e| match e {
        Effect::SystemNote(n) => Some(n.text(&|_| None)),
        _ => None,
    });
    assert_eq!(text.as_deref(), Some("Customer rated 4/5"));
    // Only the first answer counts: a second "5" is an ordinary message and reopens.
    let (again, fx) = step(&n, wrote("5", t(3), Some(score(5))), t(3), &p);
    assert_eq!(again.csat, Some(score(4)));
    assert_eq!(again.status, Status::Bot);
    assert!(fx.contains(&Effect::RequestAssistantReply));
}

#[test]
fn anything_but_a_rating_reopens_and_ends_the_wait() {
    let p = csat(Windows::whatsapp());
    let (closed, _) = step(&talking(t(0), &p), close(), t(1), &p);
    let (n, fx) = step(
        &closed,
        wrote("I still have a question", t(2), None),
        t(2),
        &p,
    );
    assert_eq!(n.status, Status::Bot);
    assert_eq!(n.csat, None);
    assert_eq!(n.csat_requested_at, None);
    assert_eq!(n.unread_count, closed.unread_count + 1);
    assert!(fx.contains(&Effect::RequestAssistantReply));
    assert_eq!(notes(&fx), vec!["reopened"]);
}

#[test]
fn a_late_rating_is_an_ordinary_message() {
    // No window: the wait still ends 24 hours after the survey.
    let p = csat(Windows::default());
    let (closed, _) = step(&talking(t(0), &p), close(), t(1), &p);
    assert!(closed.awaits_rating(t(24)));
    assert!(!closed.awaits_rating(t(25)));
    let (n, _) = step(&closed, wrote("5", t(25), Some(score(5))), t(25), &p);
    assert_eq!(n.status, Status::Bot);
    assert_eq!(n.csat, None);
    assert_eq!(n.csat_requested_at, None);
    // Without a survey a rating-looking message is just a message.
    let s = talking(t(0), &p);
    let (n, _) = step(&s, wrote("5", t(1), Some(score(5))), t(1), &p);
    assert_eq!(n.csat, None);
    assert_eq!(n.status, Status::Human);
}

#[test]
fn one_survey_per_closing() {
    let p = csat(Windows::whatsapp());
    let me = AgentId::new();
    let close_by_me = || Event::StatusChanged {
        to: Status::Closed,
        by: By::Agent(me),
    };
    let (closed, fx) = step(&talking(t(0), &p), close_by_me(), t(1), &p);
    assert!(fx.contains(&Effect::AskCsat));
    // Closing twice: the second changes nothing and asks nothing.
    let (twice, fx) = step(&closed, close_by_me(), t(1), &p);
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(twice, closed);
    // Rated, reopened by a new message, closed again: a new survey for the new closing.
    let (rated, _) = step(&closed, wrote("⭐⭐⭐", t(2), Some(score(3))), t(2), &p);
    let (reopened, _) = step(&rated, wrote("one more thing", t(3), None), t(3), &p);
    assert_eq!(reopened.status, Status::Bot);
    let (closed2, fx) = step(&reopened, close_by_me(), t(4), &p);
    assert_eq!(fx.iter().filter(|e| **e == Effect::AskCsat).count(), 1);
    assert_eq!(closed2.csat, Some(score(3)), "kept until a new answer");
    let (rated2, _) = step(&closed2, wrote("5", t(5), Some(score(5))), t(5), &p);
    assert_eq!(rated2.csat, Some(score(5)));
    // An agent reopening ends the wait; the next closing asks again.
    let (open, _) = step(
        &closed2,
        Event::StatusChanged {
            to: Status::Human,
            by: By::Agent(me),
        },
        t(5),
        &p,
    );
    assert_eq!(open.csat_requested_at, None);
    assert!(!open.awaits_rating(t(5)));
}

#[test]
fn agents_set_correct_and_clear_the_score() {
    let p = csat(Windows::whatsapp());
    let me = AgentId::new();
    let s = talking(t(0), &p);
    let (n, fx) = step(
        &s,
        Event::CsatSet {
            score: Some(score(2)),
            by: me,
        },
        t(1),
        &p,
    );
    assert_eq!(n.csat, Some(score(2)));
    assert_eq!(
        fx,
        vec![Effect::SystemNote(Note::CsatSet {
            score: Some(score(2)),
            by: me
        })]
    );
    // The same score again: nothing to say.
    let (same, fx) = step(
        &n,
        Event::CsatSet {
            score: Some(score(2)),
            by: me,
        },
        t(1),
        &p,
    );
    assert!(fx.is_empty());
    assert_eq!(same, n);
    let (cleared, fx) = step(
        &n,
        Event::CsatSet {
            score: None,
            by: me,
        },
        t(2),
        &p,
    );
    assert_eq!(cleared.csat, None);
    assert_eq!(notes(&fx), vec!["csat_set"]);
    assert_eq!(
        cleared.status, s.status,
        "setting a score changes nothing else"
    );
}
