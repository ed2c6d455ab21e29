//! The summary report (`GET /api/reports/summary`) over conversations seeded straight into
//! the database with known times (no route lets a test choose when a note was written), so
//! every figure below is worked out by hand from the definitions, not from the server.
//!
//! The seed, period 2026-11-02 … 2026-11-05 (UTC):
//!
//! | conv | inbox   | assignee | created      | steps                                                        |
//! |------|---------|----------|--------------|--------------------------------------------------------------|
//! | C1   | support | alice    | 11-02 09:00  | handoff 09:00, alice 09:02, closed 10:00                     |
//! | C2   | support | alice    | 11-02 12:00  | handoff 12:10, alice 12:15, closed 11-03 12:00               |
//! | C3   | support | bob      | 11-03 08:00  | handoff 08:00, bob 08:10                                     |
//! | C4   | support | —        | 11-03 15:00  | closed 15:20                                                 |
//! | C5   | website | bob      | 11-04 10:00  | handoff 10:01 (no reply)                                     |
//! | C6   | website | —        | 11-04 11:00  | closed 11:05, reopened 11-05 09:00, closed 09:40             |
//! | C7   | support | alice    | 10-30 09:00  | handoff 10-30 10:00, alice 10:05, closed 11-04 09:00         |
//! | C8   | support | bob      | 11-06 09:00  | closed 11-06 10:00 (after the period)                        |
//! | C9   | support | alice    | 11-05 20:00  | handoff 20:00, private note 20:01, alice 20:20, alice 11-06  |
//!
//! Opened: C1 C2 C3 C4 C5 C6 C9 = 7. Resolutions: C1 3600 s, C2 86400, C4 1200 (assistant),
//! C6 300 and 2400 (assistant), C7 432000 = 6; median (rank 3 of 6) 2400, p90 (rank 6)
//! 432000. First responses: C1 120, C2 300, C3 600, C9 1200; median (rank 2 of 4) 300, p90
//! (rank 4) 1200. Handed off: 5 of 7. Assistant resolutions: 3 of 6.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{json, Value};
use switchboard::{
    config::Visibility,
    db::{
        models::{ContactRow, ConversationRow, MessageRow},
        queries,
    },
    domain::{
        types::{Author, Direction, MessageKind, Role},
        AgentId, ContactId, ConversationId, InboxId, MessageId,
    },
};

use crate::{
    both_backends,
    helpers::{Backend, TestApp},
};

fn t(day: u32, h: u32, m: u32) -> NaiveDateTime {
    let (month, day) = if day >= 20 { (10, day) } else { (11, day) };
    NaiveDate::from_ymd_opt(2026, month, day)
        .unwrap()
        .and_hms_opt(h, m, 0)
        .unwrap()
}

/// A step of a seeded thread.
enum S {
    Note(&'static str),
    Agent,
    PrivateNote,
}

pub struct Seeded {
    pub alice: String,
    pub bob: String,
    pub bob_token: String,
    pub admin: String,
}

fn message(
    conv: &ConversationRow,
    author: Author,
    agent: Option<AgentId>,
    at: NaiveDateTime,
) -> MessageRow {
    MessageRow {
        id: MessageId::new(),
        conversation_id: conv.id,
        inbox_id: conv.inbox_id.clone(),
        external_id: None,
        client_id: None,
        direction: if author == Author::Agent {
            Direction::Outbound
        } else {
            Direction::Internal
        },
        author,
        agent_id: agent,
        body: "seeded".to_owned(),
        private_note: false,
        delivery_status: None,
        failure_reason: None,
        sent_at: at,
        created_at: at,
        kind: MessageKind::Text,
        media_source: None,
        media_path: None,
        media_mime: None,
        media_filename: None,
        payload: None,
        segments: None,
        provider_sent_at: None,
    }
}

/// Writes one conversation with its thread.
async fn conversation(
    app: &TestApp,
    n: u32,
    inbox: &str,
    assignee: Option<&str>,
    created: NaiveDateTime,
    steps: Vec<(S, NaiveDateTime)>,
) {
    let inbox = InboxId::from(inbox);
    let assignee: Option<AgentId> = assignee.map(|a| a.parse().expect("agent id"));
    let contact = ContactRow {
        id: ContactId::new(),
        inbox_id: inbox.clone(),
        external_id: format!("report-{n}"),
        name: Some(format!("Customer {n}")),
        phone: None,
        email: None,
        blocked: false,
        created_at: created,
        unsubscribed_at: None,
        unsubscribed_reason: None,
        profile: Default::default(),
    };
    let conv = ConversationRow {
        assignee_id: assignee,
        ..ConversationRow::opened(ConversationId::new(), inbox, contact.id, None, created)
    };
    let mut rows = Vec::new();
    for (step, at) in steps {
        rows.push(match step {
            S::Note(event) => {
                let mut m = message(&conv, Author::System, None, at);
                m.payload = Some(json!({ "event": event, "by": null }).to_string());
                m
            }
            S::Agent => message(&conv, Author::Agent, assignee, at),
            S::PrivateNote => {
                let mut m = message(&conv, Author::Agent, assignee, at);
                m.private_note = true;
                m.direction = Direction::Internal;
                m
            }
        });
    }
    app.handle
        .app
        .store
        .write(move |c| {
            queries::insert_contact(c, &contact)?;
            queries::insert_conversation(c, &conv)?;
            queries::insert_messages(c, &rows)
        })
        .await
        .expect("seed");
}

pub async fn seed(app: &TestApp) -> Seeded {
    let admin = app.login().await;
    let (alice, _) = app.agent("alice@test.local", Role::Agent).await;
    let (bob, bob_token) = app.agent("bob@test.local", Role::Agent).await;
    use S::*;
    let a = Some(alice.as_str());
    let b = Some(bob.as_str());
    conversation(
        app,
        1,
        "support",
        a,
        t(2, 9, 0),
        vec![
            (Note("handed_off"), t(2, 9, 0)),
            (Agent, t(2, 9, 2)),
            (Note("closed"), t(2, 10, 0)),
        ],
    )
    .await;
    conversation(
        app,
        2,
        "support",
        a,
        t(2, 12, 0),
        vec![
            (Note("handed_off"), t(2, 12, 10)),
            (Agent, t(2, 12, 15)),
            (Note("closed"), t(3, 12, 0)),
        ],
    )
    .await;
    conversation(
        app,
        3,
        "support",
        b,
        t(3, 8, 0),
        vec![(Note("handed_off"), t(3, 8, 0)), (Agent, t(3, 8, 10))],
    )
    .await;
    conversation(
        app,
        4,
        "support",
        None,
        t(3, 15, 0),
        vec![
            (Note("assigned"), t(3, 15, 1)),
            (Note("closed"), t(3, 15, 20)),
        ],
    )
    .await;
    conversation(
        app,
        5,
        "website",
        b,
        t(4, 10, 0),
        vec![(Note("handed_off"), t(4, 10, 1))],
    )
    .await;
    conversation(
        app,
        6,
        "website",
        None,
        t(4, 11, 0),
        vec![
            (Note("closed"), t(4, 11, 5)),
            (Note("reopened"), t(5, 9, 0)),
            (Note("closed"), t(5, 9, 40)),
        ],
    )
    .await;
    conversation(
        app,
        7,
        "support",
        a,
        t(30, 9, 0),
        vec![
            (Note("handed_off"), t(30, 10, 0)),
            (Agent, t(30, 10, 5)),
            (Note("closed"), t(4, 9, 0)),
        ],
    )
    .await;
    conversation(
        app,
        8,
        "support",
        b,
        t(6, 9, 0),
        vec![(Note("closed"), t(6, 10, 0))],
    )
    .await;
    conversation(
        app,
        9,
        "support",
        a,
        t(5, 20, 0),
        vec![
            (Note("handed_off"), t(5, 20, 0)),
            (PrivateNote, t(5, 20, 1)),
            (Agent, t(5, 20, 20)),
            (Agent, t(6, 8, 0)),
        ],
    )
    .await;
    Seeded {
        alice,
        bob,
        bob_token,
        admin,
    }
}

const PERIOD: &str = "/api/reports/summary?from=2026-11-02&to=2026-11-05";

fn durations(median: Option<i64>, p90: Option<i64>, count: u64) -> Value {
    json!({"median_seconds": median, "p90_seconds": p90, "count": count})
}

fn rate(numerator: u64, denominator: u64) -> Value {
    json!({
        "rate": (denominator > 0).then(|| numerator as f64 / denominator as f64),
        "numerator": numerator,
        "denominator": denominator,
    })
}

async fn every_figure_matches_the_seeded_threads(b: Backend) {
    let app = TestApp::spawn(b).await;
    let s = seed(&app).await;
    let (status, r) = app.get(&s.admin, PERIOD).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["from"], "2026-11-02T00:00:00+00:00");
    assert_eq!(r["to"], "2026-11-05T23:59:59.999999+00:00");
    assert_eq!(
        r["totals"],
        json!({
            "opened": 7,
            "resolved": 6,
            "first_response": durations(Some(300), Some(1200), 4),
            "resolution": durations(Some(2400), Some(432_000), 6),
            "handoff_rate": rate(5, 7),
            "assistant_resolution_rate": rate(3, 6),
        })
    );
    assert_eq!(
        r["days"],
        json!([
            {"date": "2026-11-02", "opened": 2, "resolved": 1},
            {"date": "2026-11-03", "opened": 2, "resolved": 2},
            {"date": "2026-11-04", "opened": 2, "resolved": 2},
            {"date": "2026-11-05", "opened": 1, "resolved": 1},
        ])
    );
    assert_eq!(
        r["agents"],
        json!([
            {"id": s.alice, "name": "alice@test.local", "conversations": 3, "resolved": 3,
             "first_response": durations(Some(300), Some(1200), 3)},
            {"id": s.bob, "name": "bob@test.local", "conversations": 2, "resolved": 0,
             "first_response": durations(Some(600), Some(600), 1)},
        ])
    );
    assert_eq!(
        r["inboxes"],
        json!([
            {"id": "support", "name": "support", "opened": 5, "resolved": 4, "handoff_rate": rate(4, 5)},
            {"id": "website", "name": "Website", "opened": 2, "resolved": 2, "handoff_rate": rate(1, 2)},
        ])
    );
}

async fn the_filters_narrow_every_figure(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        s.access.visibility = Visibility::AssignedAndUnassigned
    })
    .await;
    let s = seed(&app).await;

    // An agent's totals are their row of the unfiltered report, with their resolutions.
    let (status, r) = app
        .get(&s.admin, &format!("{PERIOD}&agent={}", s.alice))
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        r["totals"],
        json!({
            "opened": 3,
            "resolved": 3,
            "first_response": durations(Some(300), Some(1200), 3),
            "resolution": durations(Some(86_400), Some(432_000), 3),
            "handoff_rate": rate(3, 3),
            "assistant_resolution_rate": rate(0, 3),
        })
    );
    assert_eq!(r["agents"].as_array().unwrap().len(), 1);
    assert_eq!(r["agents"][0]["id"], s.alice.as_str());

    let (status, r) = app.get(&s.admin, &format!("{PERIOD}&inbox=website")).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        r["totals"],
        json!({
            "opened": 2,
            "resolved": 2,
            "first_response": durations(None, None, 0),
            "resolution": durations(Some(300), Some(2400), 2),
            "handoff_rate": rate(1, 2),
            "assistant_resolution_rate": rate(2, 2),
        })
    );
    assert_eq!(
        r["inboxes"],
        json!([{"id": "website", "name": "Website", "opened": 2, "resolved": 2, "handoff_rate": rate(1, 2)}])
    );

    // One day: C5 and C6 opened; C6's first closing and C7's fall on it.
    let (status, r) = app
        .get(
            &s.admin,
            "/api/reports/summary?from=2026-11-04&to=2026-11-04",
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["totals"]["opened"], 2);
    assert_eq!(r["totals"]["resolved"], 2);
    assert_eq!(
        r["totals"]["resolution"],
        durations(Some(300), Some(432_000), 2)
    );
    assert_eq!(r["totals"]["first_response"], durations(None, None, 0));
    assert_eq!(
        r["days"],
        json!([{"date": "2026-11-04", "opened": 2, "resolved": 2}])
    );

    // RFC 3339 ends: only C2 was created between 11:00 and 23:00 on the 2nd; C1 closed at 10:00.
    let (status, r) = app
        .get(
            &s.admin,
            "/api/reports/summary?from=2026-11-02T11:00:00Z&to=2026-11-02T23:00:00Z",
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["totals"]["opened"], 1);
    assert_eq!(r["totals"]["resolved"], 0);

    // Bob under "assigned and unassigned" counts his (C3, C5) and the unassigned (C4, C6).
    let (status, r) = app.get(&s.bob_token, PERIOD).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["totals"]["opened"], 4);
    assert_eq!(r["totals"]["resolved"], 3);
    assert_eq!(r["totals"]["assistant_resolution_rate"], rate(3, 3));
    assert_eq!(r["totals"]["handoff_rate"], rate(2, 4));
}

async fn the_csv_has_a_row_per_day_and_the_totals(b: Backend) {
    let app = TestApp::spawn(b).await;
    let s = seed(&app).await;
    let resp = app
        .client
        .get(format!("{}{PERIOD}&format=csv", app.base))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header("content-type").starts_with("text/csv"));
    assert_eq!(
        header("content-disposition"),
        "attachment; filename=\"switchboard-report-2026-11-02-to-2026-11-05.csv\""
    );
    let body = resp.text().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), 6, "{body}");
    assert!(lines[0].starts_with("date,opened,resolved,"), "{body}");
    assert_eq!(lines[1], "2026-11-02,2,1,,,,,,,,,");
    assert_eq!(lines[4], "2026-11-05,1,1,,,,,,,,,");
    assert_eq!(
        lines[5],
        "total,7,6,300,1200,4,2400,432000,5,0.7143,3,0.5000"
    );
}

async fn bad_input_is_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    for (path, status) in [
        ("/api/reports/summary?from=yesterday", 400),
        ("/api/reports/summary?to=2026-13-01", 400),
        ("/api/reports/summary?from=2026-11-05&to=2026-11-02", 422),
        ("/api/reports/summary?from=2025-01-01&to=2026-11-02", 422),
        ("/api/reports/summary?agent=not-an-id", 400),
        (
            "/api/reports/summary?agent=0190a000-0000-7000-8000-000000000000",
            422,
        ),
        ("/api/reports/summary?inbox=nowhere", 422),
        ("/api/reports/summary?format=xml", 400),
        ("/api/reports/summary?colour=blue", 400),
    ] {
        let (got, body) = app.get(&token, path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(body["error"].is_string(), "{path}: {body}");
    }
    // The default period: the last 30 days, every day listed.
    let (got, body) = app.get(&token, "/api/reports/summary").await;
    assert_eq!(got, 200, "{body}");
    assert_eq!(body["days"].as_array().unwrap().len(), 30);
    let resp = app
        .client
        .get(format!("{}/api/reports/summary", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

both_backends!(
    every_figure_matches_the_seeded_threads,
    the_filters_narrow_every_figure,
    the_csv_has_a_row_per_day_and_the_totals,
    bad_input_is_refused,
);
