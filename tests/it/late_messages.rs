//! A new customer message always needs a reply: one that arrives after our last reply counts as
//! unanswered (needs reply, badge, state, preview, list order) whatever the provider's
//! timestamp says, and timestamps far in the past or the future are filed at the arrival time
//! with the original kept.

use serde_json::{json, Value};

use crate::{
    both_backends,
    helpers::{status_json, Backend, TestApp},
};

fn late(external_id: &str, text: &str, timestamp: Value) -> Value {
    json!({"external_id": external_id, "contact": {"external_id": "c1", "name": "Ana"},
           "text": text, "timestamp": timestamp})
}

async fn answered_conversation(app: &TestApp, token: &str) -> String {
    let id = app.customer_writes("m1", "c1", "talk to a human").await;
    let (s, v) = app
        .post(
            token,
            &format!("/api/conversations/{id}/messages"),
            &json!({"text": "Hi Ana, how can I help?"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    app.post(token, &format!("/api/conversations/{id}/read"), &json!({}))
        .await;
    let c = app.conversation(token, &id).await;
    assert_eq!(c["needs_reply"], false, "{c}");
    id
}

async fn needs_reply_everywhere(app: &TestApp, token: &str, id: &str, text: &str) {
    let c = app.conversation(token, id).await;
    assert_eq!(c["needs_reply"], true, "{c}");
    assert_eq!(c["state"], "pending", "{c}");
    assert_eq!(c["last_message_author"], "customer", "{c}");
    assert_eq!(c["last_message_preview"], text, "{c}");
    let (_, list) = app.get(token, "/api/conversations?needs_reply=true").await;
    assert_eq!(list["items"][0]["id"], id, "{list}");
    let (_, badge) = app.get(token, "/api/badge").await;
    assert_eq!(badge["count"], 1, "{badge}");
}

async fn a_message_with_timestamp_zero_is_filed_now_and_needs_a_reply(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    // Another conversation, more recent than the one below until the late message arrives.
    let id = answered_conversation(&app, &token).await;
    app.customer_writes("o1", "other", "What are your opening hours?")
        .await;

    let text = "URGENT: my order never arrived";
    let (s, v) = status_json(app.inbound(&late("late-1", text, json!(0))).await).await;
    assert_eq!(s, 200, "{v}");
    needs_reply_everywhere(&app, &token, &id, text).await;
    let (_, list) = app.get(&token, "/api/conversations").await;
    assert_eq!(
        list["items"][0]["id"],
        id.as_str(),
        "on top of the list: {list}"
    );
    let messages = app.messages(&token, &id).await;
    let last = messages.last().expect("messages");
    assert_eq!(last["text"], text, "last in the thread: {messages:?}");
    assert_eq!(last["provider_sent_at"], "1970-01-01T00:00:00", "{last}");
    assert_ne!(last["sent_at"], "1970-01-01T00:00:00", "{last}");

    // Absurd times either side are filed at arrival too, never refused.
    for (i, ts) in [
        json!(-99_999_999_999i64),
        json!("0000-01-01T00:00:00Z"),
        json!("9999-12-31T23:59:59Z"),
    ]
    .into_iter()
    .enumerate()
    {
        let (s, v) = status_json(
            app.inbound(&late(&format!("odd-{i}"), &format!("odd {i}"), ts.clone()))
                .await,
        )
        .await;
        assert_eq!(s, 200, "{ts}: {v}");
    }
    let messages = app.messages(&token, &id).await;
    let texts: Vec<&str> = messages.iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(
        &texts[texts.len() - 4..],
        [text, "odd 0", "odd 1", "odd 2"],
        "in arrival order at the end: {texts:?}"
    );
}

async fn a_late_delivery_after_our_reply_still_needs_a_reply(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let id = answered_conversation(&app, &token).await;
    // Written two hours ago, delivered now (a provider's retry): believable, so it keeps its
    // place in the thread, but it arrived after our reply.
    let written = (chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc3339();
    let text = "Sorry, one more thing";
    let (s, v) = status_json(app.inbound(&late("late-2", text, json!(written))).await).await;
    assert_eq!(s, 200, "{v}");
    needs_reply_everywhere(&app, &token, &id, text).await;
    let messages = app.messages(&token, &id).await;
    assert_eq!(messages[0]["text"], text, "in provider order in the thread");
    assert_eq!(messages[0]["provider_sent_at"], Value::Null);
}

both_backends!(
    a_message_with_timestamp_zero_is_filed_now_and_needs_a_reply,
    a_late_delivery_after_our_reply_still_needs_a_reply,
);
