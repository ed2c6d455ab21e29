//! The conversation engine end to end: assistant, handoff, reopen, dedupe, follow-ups, windows.

use std::time::Duration;

use serde_json::{json, Value};
use switchboard::{actors::messages::InjectPanic, providers::api};

use crate::{
    both_backends,
    fixtures::{given_an_api_conversation, given_an_api_conversation_with},
    helpers::{assistant_delay, authors, customer, eventually, Backend, TestApp, SECRET},
};

const WAIT: Duration = Duration::from_secs(10);

async fn send(app: &TestApp, body: &Value) -> Value {
    let resp = app.inbound(body).await;
    let status = resp.status().as_u16();
    let json: Value = resp.json().await.expect("json");
    assert_eq!(status, 200, "{json}");
    json
}

/// Waits until the conversation's messages satisfy `pred`.
async fn wait_messages(
    app: &TestApp,
    token: &str,
    id: &str,
    what: &str,
    pred: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    eventually(what, WAIT, || async {
        let msgs = app.messages(token, id).await;
        pred(&msgs).then_some(msgs)
    })
    .await
}

async fn assistant_replies_and_the_callback_gets_it_signed(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let ack = send(&app, &customer("m1", "c1", "What are your opening hours?")).await;
    assert_eq!(ack["duplicate"], false);
    let id = ack["conversation_id"].as_str().expect("id").to_owned();

    let delivered = eventually("the assistant's reply at the callback", WAIT, || async {
        let d = app.callbacks.accepted();
        (!d.is_empty()).then_some(d)
    })
    .await;
    let cb = &delivered[0];
    assert!(
        api::verify(SECRET, &cb.body, cb.header(api::SIGNATURE_HEADER)),
        "callback signature must verify"
    );
    let payload = cb.json();
    assert_eq!(payload["author"], "assistant");
    assert_eq!(payload["conversation_id"], id.as_str());
    assert_eq!(payload["contact"]["external_id"], "c1");
    assert!(
        payload["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Monday"),
        "{payload}"
    );

    let msgs = wait_messages(&app, &token, &id, "reply marked sent", |m| {
        m.len() == 2 && m[1]["delivery_status"] == "sent"
    })
    .await;
    assert_eq!(authors(&msgs), ["customer", "assistant"]);
    assert_eq!(msgs[0]["text"], "What are your opening hours?");
    assert_eq!(msgs[1]["id"], payload["message_id"]);

    let conv = app.conversation(&token, &id).await;
    assert_eq!(conv["status"], "bot");
    assert_eq!(conv["state"], "replied");
    assert_eq!(conv["needs_reply"], false);
    assert_eq!(conv["contact"]["name"], "Test Customer");
}

async fn unknown_question_offers_a_person_then_hands_off(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let ack = send(&app, &customer("m1", "c1", "xyzzy plugh frobnicate")).await;
    let id = ack["conversation_id"].as_str().expect("id").to_owned();
    let msgs = wait_messages(&app, &token, &id, "no-match reply", |m| m.len() >= 2).await;
    assert_eq!(msgs[1]["author"], "assistant");
    assert!(
        msgs[1]["text"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
            .contains("person"),
        "{}",
        msgs[1]
    );
    assert_eq!(app.conversation(&token, &id).await["status"], "bot");

    // A second miss in a row hands the conversation to a person.
    send(&app, &customer("m2", "c1", "qwerty zxcvb asdfg")).await;
    let conv = eventually("handoff after two misses", WAIT, || async {
        let c = app.conversation(&token, &id).await;
        (c["status"] == "human").then_some(c)
    })
    .await;
    assert_eq!(conv["needs_reply"], false, "the assistant spoke last");
}

async fn handoff_phrase_goes_human_and_the_assistant_falls_silent(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let ack = send(&app, &customer("m1", "c1", "agent se baat karao")).await;
    let id = ack["conversation_id"].as_str().expect("id").to_owned();

    let conv = app.conversation(&token, &id).await;
    assert_eq!(conv["status"], "human");
    assert_eq!(conv["needs_reply"], true);
    assert_eq!(conv["state"], "created");

    // More customer messages, even answerable ones, get no assistant reply.
    send(&app, &customer("m2", "c1", "What are your opening hours?")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let msgs = app.messages(&token, &id).await;
    assert_eq!(authors(&msgs), ["customer", "system", "customer"]);
    assert!(
        msgs[1]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("agent se baat"),
        "{}",
        msgs[1]
    );
    assert!(
        app.callbacks.calls().is_empty(),
        "nothing may be sent to the customer"
    );

    // The agent answers; it goes out through the outbox.
    let (status, reply) = app
        .post(
            &token,
            &format!("/api/conversations/{id}/messages"),
            &json!({"text": "Hi, I'm here to help", "client_id": "c-1"}),
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["author"], "agent");
    let delivered = eventually("agent reply at the callback", WAIT, || async {
        let d = app.callbacks.accepted();
        (!d.is_empty()).then_some(d)
    })
    .await;
    assert_eq!(delivered[0].json()["author"], "agent");
    assert_eq!(delivered[0].json()["text"], "Hi, I'm here to help");
    let conv = app.conversation(&token, &id).await;
    assert_eq!(
        (conv["needs_reply"].clone(), conv["state"].clone()),
        (json!(false), json!("replied"))
    );

    // Handing back to the bot: the assistant answers again.
    let (status, _) = app
        .post(
            &token,
            &format!("/api/conversations/{id}/status"),
            &json!({"status": "bot"}),
        )
        .await;
    assert_eq!(status, 200);
    send(&app, &customer("m3", "c1", "How long does shipping take?")).await;
    wait_messages(&app, &token, &id, "assistant back", |m| {
        m.last().is_some_and(|x| x["author"] == "assistant")
    })
    .await;
}

async fn a_takeover_during_a_slow_reply_wins(b: Backend) {
    let app = TestApp::spawn_with(b, |s| assistant_delay(s, 800)).await;
    let token = app.login().await;
    let ack = send(&app, &customer("m1", "c1", "What are your opening hours?")).await;
    let id = ack["conversation_id"].as_str().expect("id").to_owned();
    let (status, conv) = app
        .post(
            &token,
            &format!("/api/conversations/{id}/status"),
            &json!({"status": "human"}),
        )
        .await;
    assert_eq!(status, 200, "{conv}");
    assert_eq!(conv["status"], "human");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let msgs = app.messages(&token, &id).await;
    assert!(
        !authors(&msgs).contains(&"assistant".to_owned()),
        "assistant spoke after takeover: {msgs:?}"
    );
    assert!(app.callbacks.calls().is_empty());
}

async fn closed_conversation_reopens_unread_when_the_customer_writes(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let ack = send(&app, &customer("m1", "c1", "What are your opening hours?")).await;
    let id = ack["conversation_id"].as_str().expect("id").to_owned();
    wait_messages(&app, &token, &id, "first answer", |m| m.len() == 2).await;

    let (s, conv) = app
        .post(
            &token,
            &format!("/api/conversations/{id}/status"),
            &json!({"status": "closed"}),
        )
        .await;
    assert_eq!(
        (s, conv["status"].clone(), conv["state"].clone()),
        (200, json!("closed"), json!("resolved"))
    );
    let (s, conv) = app
        .post(&token, &format!("/api/conversations/{id}/read"), &json!({}))
        .await;
    assert_eq!((s, conv["unread_count"].clone()), (200, json!(0)));

    let ack2 = send(&app, &customer("m2", "c1", "Do you ship internationally?")).await;
    assert_eq!(ack2["conversation_id"], id.as_str(), "same conversation");
    let conv = app.conversation(&token, &id).await;
    assert_eq!(conv["status"], "bot");
    assert_eq!(conv["unread_count"], 1);
    let msgs = wait_messages(&app, &token, &id, "answer after reopen", |m| {
        m.last().is_some_and(|x| x["author"] == "assistant") && m.len() > 4
    })
    .await;
    assert!(msgs
        .iter()
        .any(|m| m["author"] == "system"
            && m["text"].as_str().unwrap_or_default().contains("reopened")));
}

async fn duplicate_webhook_makes_one_message(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let body = customer("dup-1", "c1", "What are your opening hours?");
    let first = send(&app, &body).await;
    let second = send(&app, &body).await;
    assert_eq!(second["duplicate"], true);
    assert_eq!(second["message_id"], first["message_id"]);
    let id = first["conversation_id"].as_str().expect("id").to_owned();
    let msgs = wait_messages(&app, &token, &id, "one answer", |m| {
        m.len() == 2 && m[1]["delivery_status"] == "sent"
    })
    .await;
    assert_eq!(authors(&msgs), ["customer", "assistant"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.callbacks.accepted().len(), 1, "one reply only");
    assert_eq!(app.conversation(&token, &id).await["unread_count"], 1);
}

async fn concurrent_duplicates_make_one_message(b: Backend) {
    let app = TestApp::spawn_with(b, |s| assistant_delay(s, 0)).await;
    let token = app.login().await;
    let body = customer("race-1", "c9", "hello there");
    let results = futures_util::future::join_all((0..8).map(|_| app.inbound(&body))).await;
    let mut ids = Vec::new();
    for r in results {
        assert_eq!(r.status().as_u16(), 200);
        let v: Value = r.json().await.expect("json");
        ids.push(v["message_id"].as_str().unwrap_or_default().to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every copy names the same message");
    let (_, list) = app.get(&token, "/api/conversations").await;
    let id = list["items"][0]["id"].as_str().expect("id").to_owned();
    let msgs = app.messages(&token, &id).await;
    assert_eq!(msgs.iter().filter(|m| m["author"] == "customer").count(), 1);
}

async fn messages_are_ordered_by_provider_timestamp(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let at = |minutes_ago: i64| chrono::Utc::now() - chrono::Duration::minutes(minutes_ago);
    let mut late = customer("late", "c1", "second");
    late["timestamp"] = json!(at(10).to_rfc3339());
    let ack = send(&app, &late).await;
    let id = ack["conversation_id"].as_str().expect("id").to_owned();
    app.message_where(&token, &id, "the assistant's answer", |m| {
        m["author"] == "assistant"
    })
    .await;
    // A person holds it now: nobody answers automatically.
    app.post(
        &token,
        &format!("/api/conversations/{id}/status"),
        &json!({"status": "human"}),
    )
    .await;
    let mut early = customer("early", "c1", "first");
    early["timestamp"] = json!(at(15).timestamp());
    send(&app, &early).await;
    let msgs = app.messages(&token, &id).await;
    let customer_texts: Vec<&str> = msgs
        .iter()
        .filter(|m| m["author"] == "customer")
        .map(|m| m["text"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(customer_texts, ["first", "second"]);
    let conv = app.conversation(&token, &id).await;
    // In the thread it takes its provider time's place; but it arrived after our answer, so
    // it is what the customer said last (the preview) and it needs an answer.
    assert_eq!(conv["last_message_preview"], "first", "{conv}");
    assert_eq!(conv["last_message_author"], "customer", "{conv}");
    assert_eq!(conv["needs_reply"], true, "{conv}");
}

async fn follow_up_presets_are_accepted_and_cancellable(b: Backend) {
    let c = given_an_api_conversation(b).await;
    let path = format!("/api/conversations/{}/follow-up", c.id);
    let (s, conv) = c
        .app
        .post(
            &c.token,
            &path,
            &json!({"preset": "3h", "reason": "call back"}),
        )
        .await;
    assert_eq!(s, 200, "{conv}");
    assert_eq!(conv["follow_up"]["reason"], "call back");
    let (s, conv) = c.app.delete(&c.token, &path).await;
    assert_eq!((s, conv["follow_up"].clone()), (200, Value::Null));
    assert_eq!(c.show().await["follow_up"], Value::Null);
}

async fn a_follow_up_in_the_past_is_refused(b: Backend) {
    let c = given_an_api_conversation(b).await;
    let (s, err) = c
        .app
        .post(
            &c.token,
            &format!("/api/conversations/{}/follow-up", c.id),
            &json!({"at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!((s, err["error"].clone()), (422, json!("follow_up_in_past")));
}

/// A follow-up at a custom time fires: a note in the thread and the conversation unread.
async fn a_due_follow_up_leaves_a_note_and_marks_the_conversation_unread(b: Backend) {
    let c = given_an_api_conversation(b).await;
    let (app, token, id) = (&c.app, &c.token, &c.id);
    app.post(token, &format!("/api/conversations/{id}/read"), &json!({}))
        .await;
    assert_eq!(c.show().await["unread_count"], 0);
    let at = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
    let (s, _) = app
        .post(
            token,
            &format!("/api/conversations/{id}/follow-up"),
            &json!({"at": at, "reason": "send the quote"}),
        )
        .await;
    assert_eq!(s, 200);
    wait_messages(app, token, id, "follow-up due note", |m| {
        m.iter()
            .any(|x| x["text"] == "Follow-up due: send the quote")
    })
    .await;
    let conv = c.show().await;
    assert_eq!(conv["follow_up"], Value::Null);
    assert_eq!(conv["unread_count"], 1);
}

async fn service_window_refuses_free_form_replies_when_closed(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        if let switchboard::config::ChannelSettings::Api(api) = &mut s.inboxes[0].channel {
            api.window_hours = std::num::NonZeroU32::new(1);
        }
    })
    .await;
    let token = app.login().await;
    let mut old = customer("m1", "c1", "talk to a human");
    old["timestamp"] = json!((chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc3339());
    let ack = send(&app, &old).await;
    let id = ack["conversation_id"].as_str().expect("id").to_owned();
    let conv = app.conversation(&token, &id).await;
    assert_eq!(conv["window_open"], false);
    let (s, err) = app
        .post(
            &token,
            &format!("/api/conversations/{id}/messages"),
            &json!({"text": "hello"}),
        )
        .await;
    assert_eq!(
        (s, err["error"].clone()),
        (422, json!("window_closed")),
        "{err}"
    );
    // Private notes are not sent to the customer, so the window does not apply.
    let (s, _) = app
        .post(
            &token,
            &format!("/api/conversations/{id}/messages"),
            &json!({"text": "note", "private": true}),
        )
        .await;
    assert_eq!(s, 201);

    // A fresh customer message reopens the window.
    send(&app, &customer("m2", "c1", "still there?")).await;
    let (s, m) = app
        .post(
            &token,
            &format!("/api/conversations/{id}/messages"),
            &json!({"text": "yes!"}),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    assert!(app.conversation(&token, &id).await["window_open"] == true);
}

async fn duplicate_client_id_sends_once(b: Backend) {
    let c = given_an_api_conversation(b).await;
    let path = format!("/api/conversations/{}/messages", c.id);
    let body = json!({"text": "On it", "client_id": "abc"});
    let (s1, a) = c.app.post(&c.token, &path, &body).await;
    let (s2, b2) = c.app.post(&c.token, &path, &body).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(a["id"], b2["id"]);
    eventually("one delivery", WAIT, || async {
        (c.provider.accepted().len() == 1).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(c.provider.accepted().len(), 1);
}

async fn a_panicked_conversation_actor_is_restarted_from_the_database(b: Backend) {
    let c = given_an_api_conversation(b).await;
    let id: switchboard::domain::ConversationId = c.id.parse().expect("uuid");
    let addr = c.app.handle.registry.actor(id).await.expect("registry");
    let _ = addr.send(InjectPanic).await;
    eventually("actor gone", WAIT, || async {
        (!addr.connected()).then_some(())
    })
    .await;

    // The next message reaches a fresh actor with the stored state (still human).
    send(&c.app, &customer("m2", "c1", "hello?")).await;
    let conv = c.show().await;
    assert_eq!(conv["status"], "human");
    assert_eq!(conv["unread_count"], 2);
    assert_eq!(
        authors(&c.messages().await),
        ["customer", "system", "customer"]
    );
}

async fn idle_conversation_actors_stop_and_come_back(b: Backend) {
    let c = given_an_api_conversation_with(b, |s| s.conversations.idle_actor_secs = 1).await;
    let registry = c.app.handle.registry.clone();
    eventually("idle actor stopped", Duration::from_secs(15), || {
        let registry = registry.clone();
        async move {
            let n = registry.count_live().await.ok()?;
            (n == 0).then_some(())
        }
    })
    .await;
    send(&c.app, &customer("m2", "c1", "anyone?")).await;
    assert_eq!(c.show().await["unread_count"], 2);
}

async fn the_api_channel_starts_a_conversation_with_text(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let (s, api) = app
        .post(&token, "/api/conversations", &json!({"inbox": "support", "name": "Bo", "email": "bo@example.com", "text": "Your ticket is ready"}))
        .await;
    assert_eq!(s, 201, "{api}");
    assert_eq!(
        api["conversation"]["contact"]["external_id"],
        "bo@example.com"
    );
    assert_eq!(api["message"]["text"], "Your ticket is ready");
}

both_backends!(
    assistant_replies_and_the_callback_gets_it_signed,
    unknown_question_offers_a_person_then_hands_off,
    handoff_phrase_goes_human_and_the_assistant_falls_silent,
    a_takeover_during_a_slow_reply_wins,
    closed_conversation_reopens_unread_when_the_customer_writes,
    duplicate_webhook_makes_one_message,
    concurrent_duplicates_make_one_message,
    messages_are_ordered_by_provider_timestamp,
    follow_up_presets_are_accepted_and_cancellable,
    a_follow_up_in_the_past_is_refused,
    a_due_follow_up_leaves_a_note_and_marks_the_conversation_unread,
    service_window_refuses_free_form_replies_when_closed,
    duplicate_client_id_sends_once,
    a_panicked_conversation_actor_is_restarted_from_the_database,
    idle_conversation_actors_stop_and_come_back,
    the_api_channel_starts_a_conversation_with_text,
);
