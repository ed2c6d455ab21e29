//! The broadcast rules, table by table.

#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;

use super::*;

fn t(ms: i64) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 30)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap()
        + Duration::milliseconds(ms)
}

#[test]
fn the_broadcast_lifecycle_refuses_what_its_status_does_not_allow() {
    use BroadcastCommand as C;
    use BroadcastStatus as S;
    let ok = [
        (S::Draft, C::Start { scheduled: false }, S::Running),
        (S::Draft, C::Start { scheduled: true }, S::Scheduled),
        (S::Scheduled, C::Due, S::Running),
        (S::Running, C::Pause(PauseReason::Agent), S::Paused),
        (S::Running, C::Pause(PauseReason::MessagingLimit), S::Paused),
        (S::Paused, C::Resume, S::Running),
        (S::Draft, C::Cancel, S::Cancelled),
        (S::Scheduled, C::Cancel, S::Cancelled),
        (S::Running, C::Cancel, S::Cancelled),
        (S::Paused, C::Cancel, S::Cancelled),
        (S::Running, C::Finished, S::Completed),
        (S::Paused, C::Finished, S::Completed),
    ];
    for (from, command, to) in ok {
        assert_eq!(next_status(from, command), Ok(to), "{from:?} {command:?}");
    }
    let refused = [
        (S::Running, C::Start { scheduled: false }),
        (S::Scheduled, C::Start { scheduled: false }),
        (S::Completed, C::Start { scheduled: true }),
        (S::Running, C::Due),
        (S::Cancelled, C::Due),
        (S::Paused, C::Pause(PauseReason::Agent)),
        (S::Draft, C::Pause(PauseReason::Agent)),
        (S::Running, C::Resume),
        (S::Completed, C::Resume),
        (S::Cancelled, C::Cancel),
        (S::Completed, C::Cancel),
        (S::Draft, C::Finished),
    ];
    for (from, command) in refused {
        assert!(next_status(from, command).is_err(), "{from:?} {command:?}");
    }
    let e = next_status(S::Running, C::Start { scheduled: false }).unwrap_err();
    assert_eq!(e.to_string(), "a Running broadcast cannot be started");
}

fn candidate(n: u8, address: Option<&str>) -> Candidate {
    Candidate {
        contact: ContactId(uuid::Uuid::from_u128(u128::from(n))),
        address: address.map(str::to_owned),
        blocked: false,
        unsubscribed: false,
        provider_opted_out: false,
    }
}

#[test]
fn the_snapshot_sends_once_per_contact_and_address_and_says_why_it_skips() {
    let mut blocked = candidate(2, Some("+34600000002"));
    blocked.blocked = true;
    let mut unsubscribed = candidate(3, Some("+34600000003"));
    unsubscribed.unsubscribed = true;
    let mut opted_out = candidate(4, Some("+34600000004"));
    opted_out.provider_opted_out = true;
    // Blocked and unsubscribed: blocked is said (it is the stronger one).
    let mut both = candidate(8, Some("+34600000008"));
    both.blocked = true;
    both.unsubscribed = true;
    let audience = vec![
        candidate(1, Some("+34600000001")),
        blocked,
        unsubscribed,
        opted_out,
        candidate(5, None),
        candidate(6, Some("  ")),
        candidate(7, Some("+34600000001")), // the same phone as contact 1
        candidate(1, Some("+34600000001")), // contact 1 again (in two segments)
        both,
    ];
    let mut taken = HashSet::new();
    let planned = snapshot(&audience, &mut taken);
    let reasons: Vec<Option<SkipReason>> = planned
        .iter()
        .map(|p| match p {
            Planned::Send { .. } => None,
            Planned::Skip { reason, .. } => Some(*reason),
        })
        .collect();
    use SkipReason::*;
    assert_eq!(
        reasons,
        [
            None,
            Some(Blocked),
            Some(Unsubscribed),
            Some(ProviderOptedOut),
            Some(NoAddress),
            Some(NoAddress),
            Some(DuplicateAddress),
            Some(Blocked),
        ]
    );
    // A later chunk of the same snapshot: the addresses taken so far stay taken.
    let next = snapshot(&[candidate(9, Some("+34600000001"))], &mut taken);
    assert!(matches!(
        next[0],
        Planned::Skip {
            reason: DuplicateAddress,
            ..
        }
    ));
}

#[test]
fn statuses_only_move_forward_whatever_order_the_reports_come_in() {
    use ProviderReport as R;
    use RecipientStatus as S;
    // (from, report, to or None for no change)
    let cases = [
        (S::Sending, R::Sent, Some(S::Sent)),
        (S::Sending, R::Read, Some(S::Read)),
        (S::Sending, R::Failed, Some(S::Failed)),
        (S::Sent, R::Delivered, Some(S::Delivered)),
        (S::Sent, R::Read, Some(S::Read)),
        (S::Delivered, R::Sent, None),
        (S::Read, R::Delivered, None),
        (S::Read, R::Sent, None),
        (S::Sent, R::Failed, Some(S::Failed)),
        (S::Delivered, R::Failed, Some(S::Failed)),
        (S::Read, R::Failed, None),
        (S::Failed, R::Delivered, None),
        (S::Failed, R::Read, None),
        (S::Unknown, R::Delivered, Some(S::Delivered)),
        (S::Unknown, R::Failed, Some(S::Failed)),
        (S::Queued, R::Sent, None),
        (S::Skipped, R::Delivered, None),
    ];
    for (from, report, to) in cases {
        assert_eq!(from.on_report(report), to, "{from:?} + {report:?}");
    }
}

#[test]
fn a_recipient_being_sent_when_the_server_died_is_unknown_never_queued_again() {
    use RecipientStatus as S;
    assert_eq!(S::Sending.after_restart(), S::Unknown);
    for s in [
        S::Queued,
        S::Skipped,
        S::Sent,
        S::Delivered,
        S::Read,
        S::Failed,
        S::Unknown,
    ] {
        assert_eq!(s.after_restart(), s);
    }
    assert!(!S::Queued.settled() && !S::Sending.settled());
    assert!(S::Unknown.settled() && S::Failed.settled() && S::Skipped.settled());
}

#[test]
fn provider_errors_map_to_what_to_do() {
    let cases = [
        ("130429", ErrorAction::RetryLater(Duration::seconds(30))),
        ("21611", ErrorAction::RetryLater(Duration::seconds(30))),
        ("30001", ErrorAction::RetryLater(Duration::seconds(30))),
        ("131056", ErrorAction::RetryLater(Duration::seconds(6))),
        ("131049", ErrorAction::FailedForNow),
        ("131050", ErrorAction::OptedOut),
        ("21610", ErrorAction::OptedOut),
        (" 21610 ", ErrorAction::OptedOut),
        ("131026", ErrorAction::Failed),
        ("30036", ErrorAction::Failed),
        ("", ErrorAction::Failed),
    ];
    for (code, action) in cases {
        assert_eq!(error_action(code), action, "{code:?}");
    }
}

#[test]
fn the_pace_allows_a_burst_then_the_rate() {
    let mut pace = Pace::new(80, 80, t(0));
    for _ in 0..80 {
        assert!(pace.take(t(0)).is_ok());
    }
    let wait = pace.take(t(0)).unwrap_err();
    assert_eq!(wait, Duration::microseconds(12_500), "1/80 s");
    // 100 ms later: 8 more.
    let sent = (0..20).filter(|_| pace.take(t(100)).is_ok()).count();
    assert_eq!(sent, 8);
    // A clock that steps back never mints tokens.
    assert!(pace.take(t(50)).is_err());
    // A rate of zero is one a second.
    let mut slow = Pace::new(0, 1, t(0));
    assert!(slow.take(t(0)).is_ok());
    assert_eq!(slow.take(t(0)).unwrap_err(), Duration::seconds(1));
}

#[test]
fn the_daily_limit_leaves_what_is_not_used() {
    assert_eq!(remaining_today(Some(250), 100), Some(150));
    assert_eq!(remaining_today(Some(250), 300), Some(0));
    assert_eq!(remaining_today(None, 10_000), None);
}

#[test]
fn parameters_take_each_contacts_fields() {
    let ana = ContactFields {
        name: Some("Ana Lima".into()),
        first_name: Some("Ana".into()),
        phone: Some("+34600000001".into()),
        email: None,
    };
    let params = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        render_parameters(
            &params(&["{{first_name}}", "order {{ name }}!", "fixed"]),
            &ana,
            None
        ),
        Ok(params(&["Ana", "order Ana Lima!", "fixed"]))
    );
    assert_eq!(
        render_parameters(&params(&["{{email}}"]), &ana, None),
        Err(ParameterError::Missing("email"))
    );
    assert_eq!(
        render_parameters(&params(&["{{email}}"]), &ana, Some("there")),
        Ok(params(&["there"]))
    );
    assert_eq!(
        render_parameters(&params(&["{{city}}"]), &ana, Some("x")),
        Err(ParameterError::Unknown("city".into()))
    );
    // An unclosed brace is text.
    assert_eq!(
        render_parameters(&params(&["{{first_name"]), &ana, None),
        Ok(params(&["{{first_name"]))
    );
    assert_eq!(
        ParameterError::Unknown("city".into()).to_string(),
        "`{{city}}` is not a contact field (name, first_name, phone, email)"
    );
}
