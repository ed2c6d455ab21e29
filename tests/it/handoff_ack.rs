//! The customer hears that a person is coming: when a conversation goes to a person, the inbox
//! acknowledges it (out of hours, with the hours), and in the widget "Sam joined" comes before
//! Sam's first message.

use std::time::Duration;

use serde_json::{json, Value};
use switchboard::{config::BusinessHoursSettings, domain::types::Role};

use crate::{
    both_backends,
    helpers::{eventually, Backend, TestApp, WsClient},
};

const WAIT: Duration = Duration::from_secs(10);

fn acknowledging(s: &mut switchboard::config::Settings) {
    for inbox in &mut s.inboxes {
        inbox.handoff_ack.enabled = true;
    }
}

async fn delivered_texts(app: &TestApp, n: usize) -> Vec<Value> {
    eventually(&format!("{n} callbacks"), WAIT, || async {
        let got: Vec<Value> = app.callbacks.accepted().iter().map(|r| r.json()).collect();
        (got.len() >= n).then_some(got)
    })
    .await
}

async fn asking_for_a_person_is_acknowledged(b: Backend) {
    let app = TestApp::spawn_with(b, acknowledging).await;
    let token = app.login().await;
    let id = app
        .customer_writes("m1", "c1", "I need to talk to someone")
        .await;
    let sent = delivered_texts(&app, 1).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        sent[0]["text"],
        "Thanks for your message. A person from our team will be with you shortly."
    );
    assert_eq!(sent[0]["author"], "assistant");
    // An acknowledgement is not an answer: a person is still needed.
    let c = app.conversation(&token, &id).await;
    assert_eq!(
        (&c["status"], &c["needs_reply"]),
        (&json!("human"), &json!(true)),
        "{c}"
    );
    assert_eq!(
        c["last_message_preview"], "I need to talk to someone",
        "{c}"
    );
    let (_, badge) = app.get(&token, "/api/badge").await;
    assert_eq!(badge["count"], 1);
    let ack = app
        .message_where(&token, &id, "the acknowledgement", |m| {
            m["payload"]["automatic"] == "handoff_ack"
        })
        .await;
    assert_eq!(ack["direction"], "outbound", "{ack}");
    // A complaint goes to a person too, acknowledged the same way.
    app.customer_writes("m2", "c2", "I was charged twice, this is fraud!!")
        .await;
    let sent = delivered_texts(&app, 2).await;
    assert_eq!(sent[1]["contact"]["external_id"], "c2", "{sent:?}");
    assert!(sent[1]["text"]
        .as_str()
        .is_some_and(|t| t.contains("A person")));
}

async fn out_of_hours_the_customer_is_told_when_people_are_back(b: Backend) {
    // Hours that are certainly closed now: an hour that starts two hours from now.
    let now = chrono::Utc::now();
    let open = (now + chrono::Duration::hours(2))
        .format("%H:00")
        .to_string();
    let close = (now + chrono::Duration::hours(3))
        .format("%H:00")
        .to_string();
    let app = TestApp::spawn_with(b, |s| {
        acknowledging(s);
        s.inboxes[0].handoff_ack.business_hours = Some(BusinessHoursSettings {
            timezone: "UTC".into(),
            days: vec!["mon-sun".into()],
            open: open.clone(),
            close: close.clone(),
        });
    })
    .await;
    app.customer_writes("m1", "c1", "talk to a human").await;
    let sent = delivered_texts(&app, 1).await;
    let text = sent[0]["text"].as_str().unwrap_or_default().to_owned();
    assert!(text.contains("away right now"), "{text}");
    assert!(
        text.contains(&format!("Mon-Sun {open}-{close} (UTC)")),
        "{text}"
    );
}

async fn the_widget_says_who_joined_before_their_first_words(b: Backend) {
    let app = TestApp::spawn_with(b, acknowledging).await;
    let (_, agent) = app.agent("sam@test.local", Role::Agent).await;
    let session: Value = app
        .client
        .post(format!("{}/widget/website/session", app.base))
        .json(&json!({}))
        .send()
        .await
        .expect("session")
        .json()
        .await
        .expect("json");
    let token = session["visitor_token"].as_str().expect("token");
    let mut ws = WsClient::connect_url(&format!(
        "{}/widget/website/ws?visitor_token={token}",
        app.base.replacen("http://", "ws://", 1)
    ))
    .await;
    ws.next_json(WAIT).await.expect("hello");
    ws.send_json(&json!({"type": "message", "text": "talk to a human", "client_id": "k1"}))
        .await;
    let frames = ws
        .until("the acknowledgement", WAIT, |v| {
            v["type"] == "message" && v["message"]["author"] == "assistant"
        })
        .await;
    assert!(frames
        .last()
        .and_then(|f| f["message"]["text"].as_str())
        .is_some_and(|t| t.contains("A person")));
    let (_, list) = app.get(&agent, "/api/conversations?channel=widget").await;
    let id = list["items"][0]["id"].as_str().expect("id").to_owned();
    // Sam answers straight away, without taking it first.
    let (s, v) = app
        .post(
            &agent,
            &format!("/api/conversations/{id}/messages"),
            &json!({"text": "Hi, Sam here!"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let frames = ws
        .until("Sam's words", WAIT, |v| {
            v["type"] == "message" && v["message"]["author"] == "agent"
        })
        .await;
    let joined = frames
        .iter()
        .position(|f| f["type"] == "agent_joined")
        .expect("Sam joined is announced");
    assert_eq!(frames[joined]["name"], "sam@test.local");
    assert!(joined < frames.len() - 1, "joined comes first: {frames:?}");
    for f in ws.drain(Duration::from_millis(300)).await {
        assert_ne!(f["type"], "agent_joined", "announced once: {f}");
    }
}

both_backends!(
    asking_for_a_person_is_acknowledged,
    out_of_hours_the_customer_is_told_when_people_are_back,
    the_widget_says_who_joined_before_their_first_words,
);
