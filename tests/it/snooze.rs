//! Snooze: `POST /api/conversations/{id}/snooze` puts a conversation aside until a time or
//! until the customer writes; it leaves the open views, "Needs reply" and the badge, is listed
//! with `snoozed=true`, and comes back by itself — when the customer writes, when its time
//! comes, or when an agent wakes it (`DELETE`). Across a kill -9: `restart.rs`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::{
    both_backends,
    helpers::{eventually, Backend, TestApp, WsClient},
};

const WAIT: Duration = Duration::from_secs(15);

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The conversation ids of a list query.
async fn listed(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let (s, page) = app.get(token, &format!("/api/conversations?{query}")).await;
    assert_eq!(s, 200, "{query}: {page}");
    ids(&page)
}

async fn badge(app: &TestApp, token: &str) -> i64 {
    let (s, b) = app.get(token, "/api/badge").await;
    assert_eq!(s, 200, "{b}");
    b["count"].as_i64().expect("count")
}

/// Where a conversation shows: (default list, Needs reply, longest waiting, Snoozed).
async fn views(app: &TestApp, token: &str, id: &str) -> [bool; 4] {
    let mut seen = [false; 4];
    for (i, q) in ["", "needs_reply=true", "sort=waiting", "snoozed=true"]
        .iter()
        .enumerate()
    {
        seen[i] = listed(app, token, q).await.iter().any(|c| c == id);
    }
    seen
}

const IN_OPEN_VIEWS: [bool; 4] = [true, true, true, false];
const ONLY_SNOOZED: [bool; 4] = [false, false, false, true];

fn events(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["author"] == "system")
        .filter_map(|m| m["payload"]["event"].as_str().map(str::to_owned))
        .filter(|e| e.contains("snooze"))
        .collect()
}

async fn until_the_customer_writes(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let id = app.customer_writes("s1", "c-s1", "talk to a human").await;
    let other = app.customer_writes("s2", "c-s2", "talk to a human").await;
    assert_eq!(views(&app, &token, &id).await, IN_OPEN_VIEWS);
    assert_eq!(badge(&app, &token).await, 2);
    let mut ws = WsClient::connect(&app.base, &token, None).await;

    let (s, c) = app
        .post(
            &token,
            &format!("/api/conversations/{id}/snooze"),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["snoozed"], true);
    assert_eq!(c["snoozed_until"], Value::Null);
    assert_eq!(c["needs_reply"], false, "set aside: no reply owed now");
    assert_eq!(c["waiting_since"], Value::Null);
    // Agents see it leave their views live.
    ws.until("the snooze pushed to agents", WAIT, |e| {
        e["type"] == "conversation.updated"
            && e["conversation"]["id"] == id.as_str()
            && e["conversation"]["snoozed"] == true
    })
    .await;
    assert_eq!(views(&app, &token, &id).await, ONLY_SNOOZED);
    assert_eq!(views(&app, &token, &other).await, IN_OPEN_VIEWS);
    assert_eq!(
        badge(&app, &token).await,
        1,
        "the badge counts the other one only"
    );

    // The customer writes: it is back everywhere, waiting from now.
    app.customer_writes("s1b", "c-s1", "any news?").await;
    let c = app.conversation(&token, &id).await;
    assert_eq!(c["snoozed"], false, "{c}");
    assert_eq!(c["needs_reply"], true);
    assert!(c["waiting_since"].is_string());
    assert_eq!(views(&app, &token, &id).await, IN_OPEN_VIEWS);
    assert_eq!(badge(&app, &token).await, 2);
    let messages = app.messages(&token, &id).await;
    assert_eq!(events(&messages), ["snoozed", "unsnoozed"]);
    let back = messages
        .iter()
        .find(|m| m["payload"]["event"] == "unsnoozed")
        .expect("the return is in the thread");
    assert_eq!(back["payload"]["why"], "customer_wrote");
    assert_eq!(back["text"], "Back from snooze: the customer wrote");
}

async fn until_a_time_then_back_by_itself(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let id = app.customer_writes("t1", "c-t1", "talk to a human").await;
    app.post(&token, &format!("/api/conversations/{id}/read"), &json!({}))
        .await;
    let until = chrono::Utc::now() + chrono::Duration::seconds(2);
    let (s, c) = app
        .post(
            &token,
            &format!("/api/conversations/{id}/snooze"),
            &json!({ "until": until.to_rfc3339() }),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    let at = c["snoozed_until"].as_str().expect("until").to_owned();
    let stored =
        chrono::NaiveDateTime::parse_from_str(at.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
            .expect("a UTC time");
    assert_eq!(stored.and_utc().timestamp(), until.timestamp(), "{at}");
    assert_eq!(views(&app, &token, &id).await, ONLY_SNOOZED);
    assert_eq!(badge(&app, &token).await, 0);

    let c = eventually("the snooze ends by itself", WAIT, || async {
        let c = app.conversation(&token, &id).await;
        (c["snoozed"] == false).then_some(c)
    })
    .await;
    assert!(chrono::Utc::now() >= until, "not before its time: {c}");
    assert_eq!(c["needs_reply"], true);
    assert_eq!(c["unread_count"], 1, "back as unread, to be noticed");
    assert_eq!(views(&app, &token, &id).await, IN_OPEN_VIEWS);
    assert_eq!(badge(&app, &token).await, 1);
    let messages = app.messages(&token, &id).await;
    assert_eq!(events(&messages), ["snoozed", "unsnoozed"]);
    assert!(messages
        .iter()
        .any(|m| m["payload"]["why"] == "time_up" && m["text"] == "Back from snooze"));
}

async fn woken_early_resnoozed_or_closed(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let id = app.customer_writes("w1", "c-w1", "talk to a human").await;
    let path = format!("/api/conversations/{id}/snooze");
    let later = (chrono::Utc::now() + chrono::Duration::hours(3)).to_rfc3339();
    let (s, _) = app.post(&token, &path, &json!({ "until": later })).await;
    assert_eq!(s, 200);
    // Snoozing again replaces the time.
    let (s, c) = app.post(&token, &path, &json!({})).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["snoozed_until"], Value::Null);
    // Woken early.
    let (s, c) = app.delete(&token, &path).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["snoozed"], false);
    assert_eq!(views(&app, &token, &id).await, IN_OPEN_VIEWS);
    let (s, e) = app.delete(&token, &path).await;
    assert_eq!((s, e["error"].as_str()), (409, Some("not_snoozed")), "{e}");

    // Closing ends a snooze; a closed conversation is not snoozed.
    app.post(&token, &path, &json!({ "until": later })).await;
    let (s, c) = app
        .post(
            &token,
            &format!("/api/conversations/{id}/status"),
            &json!({"status": "closed"}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["snoozed"], false);
    let (s, e) = app.post(&token, &path, &json!({})).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (409, Some("conversation_resolved")),
        "{e}"
    );
    let messages = app.messages(&token, &id).await;
    assert_eq!(
        events(&messages),
        ["snoozed", "snoozed", "unsnoozed", "snoozed"]
    );
}

async fn bad_snoozes_change_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let id = app.customer_writes("b1", "c-b1", "talk to a human").await;
    let path = format!("/api/conversations/{id}/snooze");
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let far = (chrono::Utc::now() + chrono::Duration::days(400)).to_rfc3339();
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({ "until": past }), 422, "snooze_in_past"),
        (json!({ "until": far }), 422, "validation_failed"),
        (json!({ "until": "tomorrow" }), 422, "validation_failed"),
        (json!({ "until": 12 }), 400, "bad_request"),
        (json!({ "for": "1h" }), 400, "bad_request"),
    ];
    for (body, status, code) in cases {
        let (s, e) = app.post(&token, &path, &body).await;
        assert_eq!(
            (s, e["error"].as_str()),
            (status, Some(code)),
            "{body}: {e}"
        );
    }
    let resp = app
        .client
        .post(format!("{}{path}", app.base))
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 401);
    let (s, _) = app
        .post(
            &token,
            "/api/conversations/00000000-0000-4000-8000-000000000000/snooze",
            &json!({}),
        )
        .await;
    assert_eq!(s, 404);
    let c = app.conversation(&token, &id).await;
    assert_eq!(c["snoozed"], false, "nothing changed: {c}");
    assert!(events(&app.messages(&token, &id).await).is_empty());
}

both_backends!(
    until_the_customer_writes,
    until_a_time_then_back_by_itself,
    woken_early_resnoozed_or_closed,
    bad_snoozes_change_nothing,
);
