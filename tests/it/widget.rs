//! The website widget's server side: visitor sessions, the visitor websocket, history.

use std::time::Duration;

use serde_json::{json, Value};
use switchboard::domain::types::Role;

use crate::{
    both_backends,
    helpers::{status_json, Backend, TestApp, WsClient},
};

const STEP: Duration = Duration::from_secs(5);

pub(crate) async fn session(app: &TestApp, token: Option<&str>) -> Value {
    let resp = app
        .client
        .post(format!("{}/widget/website/session", app.base))
        .json(&json!({ "visitor_token": token }))
        .send()
        .await
        .expect("req");
    assert_eq!(
        resp.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("*")
    );
    let (s, v) = status_json(resp).await;
    assert_eq!(s, 200, "{v}");
    v
}

pub(crate) async fn visitor(app: &TestApp, token: &str) -> WsClient {
    let url = format!(
        "{}/widget/website/ws?visitor_token={token}",
        app.base.replacen("http://", "ws://", 1)
    );
    let mut ws = WsClient::connect_url(&url).await;
    let hello = ws.next_json(STEP).await.expect("hello");
    assert_eq!(hello["type"], "hello");
    ws
}

async fn the_widget_loop_with_handoff_and_history(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (_, agent) = app.agent("sam@test.local", Role::Agent).await;
    let s = session(&app, None).await;
    let token = s["visitor_token"].as_str().expect("token").to_owned();
    assert_eq!(s["conversation_id"], Value::Null);
    assert_eq!(s["messages"], json!([]));

    let mut ws = visitor(&app, &token).await;
    ws.send_json(
        &json!({"type": "message", "text": "What are your opening hours?", "client_id": "k1"}),
    )
    .await;
    let frames = ws
        .until("assistant answer", STEP, |v| {
            v["type"] == "message" && v["message"]["author"] == "assistant"
        })
        .await;
    assert!(
        frames
            .iter()
            .any(|v| v["type"] == "ack" && v["client_id"] == "k1"),
        "{frames:?}"
    );
    assert!(frames
        .iter()
        .any(|v| v["type"] == "message" && v["message"]["author"] == "customer"));
    assert!(frames.last().expect("frame")["message"]["text"]
        .as_str()
        .unwrap_or_default()
        .contains("Monday"));

    // The visitor asks for a person; the agent sees a widget conversation and takes it.
    ws.send_json(
        &json!({"type": "message", "text": "I want to talk to a human", "client_id": "k2"}),
    )
    .await;
    ws.until("ack", STEP, |v| {
        v["type"] == "ack" && v["client_id"] == "k2"
    })
    .await;
    let (_, list) = app.get(&agent, "/api/conversations?channel=widget").await;
    let id = list["items"][0]["id"]
        .as_str()
        .expect("widget conversation listed")
        .to_owned();
    assert_eq!(list["items"][0]["status"], "human");
    let (st, _) = app
        .post(&agent, &format!("/api/conversations/{id}/take"), &json!({}))
        .await;
    assert_eq!(st, 200);
    let joined = ws
        .until("agent joined", STEP, |v| v["type"] == "agent_joined")
        .await;
    assert_eq!(joined.last().expect("frame")["name"], "sam@test.local");

    // A private note never reaches the visitor; the reply does.
    app.post(
        &agent,
        &format!("/api/conversations/{id}/messages"),
        &json!({"text": "internal: VIP", "private": true}),
    )
    .await;
    app.post(
        &agent,
        &format!("/api/conversations/{id}/messages"),
        &json!({"text": "Hi, Sam here!"}),
    )
    .await;
    let got = ws
        .until("agent reply", STEP, |v| {
            v["type"] == "message" && v["message"]["author"] == "agent"
        })
        .await;
    assert!(
        got.iter().all(|v| v["message"]["text"] != "internal: VIP"),
        "{got:?}"
    );
    assert_eq!(
        got.last().expect("frame")["message"]["text"],
        "Hi, Sam here!"
    );

    // Handing back to the assistant is announced.
    app.post(
        &agent,
        &format!("/api/conversations/{id}/status"),
        &json!({"status": "bot"}),
    )
    .await;
    ws.until("agent left", STEP, |v| v["type"] == "agent_left")
        .await;

    // A reload: the same token brings the history back (no notes, no system events).
    drop(ws);
    let again = session(&app, Some(&token)).await;
    assert_eq!(again["conversation_id"], id.as_str());
    let authors: Vec<&str> = again["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["author"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(authors, ["customer", "assistant", "customer", "agent"]);
    // Resending a frame (same client_id) does not duplicate the message.
    let mut ws = visitor(&app, &token).await;
    ws.send_json(
        &json!({"type": "message", "text": "I want to talk to a human", "client_id": "k2"}),
    )
    .await;
    ws.until("ack of the resend", STEP, |v| v["type"] == "ack")
        .await;
    let msgs = app.messages(&agent, &id).await;
    assert_eq!(
        msgs.iter()
            .filter(|m| m["text"] == "I want to talk to a human")
            .count(),
        1
    );
}

async fn widget_input_is_checked(b: Backend) {
    let app = TestApp::spawn(b).await;
    // Unknown inbox, or an inbox that is not a widget.
    for inbox in ["nope", "support"] {
        let resp = app
            .client
            .post(format!("{}/widget/{inbox}/session", app.base))
            .json(&json!({}))
            .send()
            .await
            .expect("req");
        assert_eq!(status_json(resp).await.0, 404, "{inbox}");
    }
    // A malformed body is refused with the CORS headers, so the page can read why.
    let resp = app
        .client
        .post(format!("{}/widget/website/session", app.base))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("req");
    let cors = resp
        .headers()
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (s, v) = status_json(resp).await;
    assert_eq!(
        (s, v["error"].as_str(), cors.as_deref()),
        (400, Some("bad_request"), Some("*"))
    );
    // A forged token starts a new visitor instead of reading someone else's history.
    let s = session(&app, Some("0123456789abcdef0123456789abcdef.AAAA")).await;
    assert_ne!(s["visitor_token"], "0123456789abcdef0123456789abcdef.AAAA");
    // The websocket refuses a forged token.
    let url = format!(
        "{}/widget/website/ws?visitor_token=forged.token",
        app.base.replacen("http://", "ws://", 1)
    );
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
    // Preflight.
    let resp = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/widget/website/session", app.base),
        )
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status().as_u16(), 204);
    assert!(resp.headers().get("access-control-allow-methods").is_some());

    let token = s["visitor_token"].as_str().expect("token").to_owned();
    let mut ws = visitor(&app, &token).await;
    for bad in [
        json!({"type": "message", "text": "", "client_id": "a"}),
        json!({"type": "message", "text": "x".repeat(5000), "client_id": "b"}),
        json!({"type": "shout"}),
    ] {
        ws.send_json(&bad).await;
        let e = ws.until("error", STEP, |v| v["type"] == "error").await;
        assert!(e.last().expect("frame")["error"].is_string());
    }
    // Flooding is refused after the limit.
    let mut limited = false;
    for i in 0..15 {
        ws.send_json(
            &json!({"type": "message", "text": format!("spam {i}"), "client_id": format!("s{i}")}),
        )
        .await;
    }
    for v in ws.drain(Duration::from_millis(800)).await {
        if v["error"] == "rate_limited" {
            limited = true;
        }
    }
    assert!(limited);
}

both_backends!(
    the_widget_loop_with_handoff_and_history,
    widget_input_is_checked
);
