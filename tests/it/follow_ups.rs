//! AI follow-ups: when our last message asked the customer something and the customer went
//! quiet, the review schedules a follow-up (with its reason, shown in the thread), sends it
//! when due inside the window, skips it with a note outside it (no template here), and a
//! customer reply, a close or an agent's Cancel calls it off. Restarts: `restart.rs`.

use std::{num::NonZeroU32, time::Duration};

use serde_json::{json, Value};
use switchboard::config::{AutoFollowUps, ChannelSettings, Settings, TemplateSettings};

use crate::{
    both_backends,
    helpers::{eventually, Backend, TestApp, CALLBACK_PATH},
    whatsapp,
};

const WAIT: Duration = Duration::from_secs(15);
const QUESTION: &str = "Could you send me your order number, please?";

/// Quick reviews; the `support` inbox follows up `after_secs` after our unanswered message.
fn follow_ups(after_secs: u64, max: u32) -> impl FnOnce(&mut Settings) {
    move |s| {
        s.review.after_secs = 1;
        s.inboxes[0].follow_ups = AutoFollowUps {
            enabled: true,
            max,
            template: None,
            after_secs,
        };
    }
}

/// A customer asks for a person and an agent asks them something back.
async fn agent_asks(app: &TestApp, token: &str, n: &str, customer: Value) -> String {
    let (s, ack) = crate::helpers::status_json(app.inbound(&customer).await).await;
    assert_eq!(s, 200, "{ack}");
    let id = ack["conversation_id"].as_str().expect("id").to_owned();
    let (s, body) = app
        .post(
            token,
            &format!("/api/conversations/{id}/messages"),
            &json!({"text": QUESTION, "client_id": format!("ask-{n}")}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    id
}

fn wants_a_person(n: &str) -> Value {
    crate::helpers::customer(
        &format!("f-{n}"),
        &format!("fu-{n}"),
        "I want to talk to a person",
    )
}

async fn scheduled(app: &TestApp, token: &str, id: &str) -> Value {
    eventually("the AI schedules a follow-up", WAIT, || async {
        let c = app.conversation(token, id).await;
        (c["follow_up"]["source"] == "ai").then_some(c)
    })
    .await
}

/// What the customer was sent through the callback, in order.
fn sent_texts(app: &TestApp, id: &str) -> Vec<String> {
    app.callbacks
        .calls_to("POST", CALLBACK_PATH)
        .iter()
        .map(|c| c.json())
        .filter(|b| b["conversation_id"] == id)
        .filter_map(|b| b["text"].as_str().map(str::to_owned))
        .collect()
}

async fn has_note(app: &TestApp, token: &str, id: &str, starts: &str) -> Value {
    app.message_where(token, id, starts, |m| {
        m["author"] == "system" && m["text"].as_str().is_some_and(|t| t.starts_with(starts))
    })
    .await
}

/// Scheduled with its reason and message, sent when due (once: `max_follow_ups = 1`, though
/// the follow-up itself ends with a question), with both events in the thread.
async fn an_ai_follow_up_is_scheduled_with_its_reason_and_sent_when_due(b: Backend) {
    let app = TestApp::spawn_with(b, follow_ups(2, 1)).await;
    let token = app.login().await;
    let id = agent_asks(&app, &token, "1", wants_a_person("1")).await;
    let c = scheduled(&app, &token, &id).await;
    let reason = c["follow_up"]["reason"].as_str().expect("a reason");
    assert!(reason.contains("order number"), "{reason}");
    let message = c["follow_up"]["message"].as_str().expect("a message");
    assert!(
        message.starts_with("Hi Test, just following up"),
        "{message}"
    );
    let note = has_note(&app, &token, &id, "AI scheduled a follow-up").await;
    assert!(
        note["text"]
            .as_str()
            .is_some_and(|t| t.contains("order number")),
        "{note}"
    );
    // The list row carries it too.
    let row = app
        .conversations(&token)
        .await
        .into_iter()
        .find(|r| r["id"] == id.as_str())
        .expect("listed");
    assert_eq!(row["follow_up"]["source"], "ai");

    has_note(&app, &token, &id, "AI follow-up triggered").await;
    let sent = eventually("the follow-up is delivered", WAIT, || async {
        let texts = sent_texts(&app, &id);
        texts.iter().any(|t| t == message).then_some(texts)
    })
    .await;
    assert_eq!(sent.last().map(String::as_str), Some(message), "{sent:?}");
    let c = app.conversation(&token, &id).await;
    assert!(c["follow_up"].is_null(), "{c}");
    // Reviewed again after the follow-up, but the cap is reached: no second one.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let c = app.conversation(&token, &id).await;
    assert!(c["follow_up"].is_null(), "{c}");
    assert_eq!(
        sent_texts(&app, &id)
            .iter()
            .filter(|t| *t == message)
            .count(),
        1
    );
}

/// The customer answers before it is due: the follow-up is called off and never sent. An
/// agent's Cancel calls another one off.
async fn a_reply_or_an_agents_cancel_calls_the_follow_up_off(b: Backend) {
    let app = TestApp::spawn_with(b, follow_ups(4, 2)).await;
    let token = app.login().await;
    let id = agent_asks(&app, &token, "2", wants_a_person("2")).await;
    let c = scheduled(&app, &token, &id).await;
    let message = c["follow_up"]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    app.customer_writes("f-2-answer", "fu-2", "Sure, it is 12345")
        .await;
    has_note(
        &app,
        &token,
        &id,
        "AI follow-up cancelled: the customer wrote",
    )
    .await;
    assert!(app.conversation(&token, &id).await["follow_up"].is_null());

    let other = agent_asks(&app, &token, "3", wants_a_person("3")).await;
    scheduled(&app, &token, &other).await;
    let (s, body) = app
        .delete(&token, &format!("/api/conversations/{other}/follow-up"))
        .await;
    assert_eq!(s, 200, "{body}");
    assert!(body["follow_up"].is_null(), "{body}");
    tokio::time::sleep(Duration::from_secs(5)).await;
    for id in [&id, &other] {
        assert!(
            !sent_texts(&app, id).contains(&message),
            "a cancelled follow-up is never sent"
        );
    }
}

/// Due after the customer's window closed, without a template: skipped, and the thread
/// says why.
async fn a_follow_up_due_outside_the_window_is_skipped_without_a_template(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        follow_ups(6, 2)(s);
        if let ChannelSettings::Api(api) = &mut s.inboxes[0].channel {
            api.window_hours = NonZeroU32::new(1);
        }
    })
    .await;
    let token = app.login().await;
    // The customer wrote 59 min 56 s ago: the window closes in 4 seconds.
    let mut customer = wants_a_person("4");
    customer["timestamp"] =
        json!((chrono::Utc::now() - chrono::Duration::seconds(3596)).timestamp());
    let id = agent_asks(&app, &token, "4", customer).await;
    let c = scheduled(&app, &token, &id).await;
    let message = c["follow_up"]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    let note = has_note(&app, &token, &id, "AI follow-up skipped").await;
    assert!(
        note["text"]
            .as_str()
            .is_some_and(|t| t.contains("window has closed")),
        "{note}"
    );
    assert!(!sent_texts(&app, &id).contains(&message));
    assert!(app.conversation(&token, &id).await["follow_up"].is_null());
}

/// WhatsApp, due after the 24-hour window closed, with `follow_up_template`: the approved
/// template goes instead, each parameter the customer's first name.
async fn outside_the_window_the_follow_up_template_is_sent(b: Backend) {
    let (app, graph) = whatsapp::start(b, |s| {
        s.review.after_secs = 1;
        let wa = s.inboxes.last_mut().expect("the wa inbox");
        if let ChannelSettings::Whatsapp(w) = &mut wa.channel {
            w.templates.push(TemplateSettings {
                name: "checking_in".into(),
                language: "en_US".into(),
                body: "Hi {{1}}, are you still there? Reply to carry on.".into(),
                parameters: vec!["first name".into()],
                content_sid: None,
            });
        }
        wa.follow_ups = AutoFollowUps {
            enabled: true,
            max: 2,
            template: Some("checking_in".into()),
            after_secs: 6,
        };
    })
    .await;
    let token = app.login().await;
    // The customer wrote 23 h 59 min 56 s ago: the window closes in 4 seconds.
    whatsapp::notify(
        &app,
        &whatsapp::notification(
            vec![whatsapp::text("wamid.IN1", 86_396, whatsapp::HANDOFF)],
            vec![],
        ),
    )
    .await;
    let id = whatsapp::the_conversation(&app, &token).await;
    let (s, body) = app
        .post(
            &token,
            &format!("/api/conversations/{id}/messages"),
            &json!({"text": QUESTION}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    scheduled(&app, &token, &id).await;
    has_note(
        &app,
        &token,
        &id,
        "AI follow-up triggered: the window had closed",
    )
    .await;
    let sent = eventually("the template is sent", WAIT, || async {
        let sent = whatsapp::sends(&graph, |b| b["type"] == "template");
        (!sent.is_empty()).then_some(sent)
    })
    .await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let template = &sent[0]["template"];
    assert_eq!(template["name"], "checking_in", "{template}");
    assert_eq!(
        template["components"][0]["parameters"][0]["text"], "Jörg",
        "{template}"
    );
}

both_backends!(
    outside_the_window_the_follow_up_template_is_sent,
    an_ai_follow_up_is_scheduled_with_its_reason_and_sent_when_due,
    a_reply_or_an_agents_cancel_calls_the_follow_up_off,
    a_follow_up_due_outside_the_window_is_skipped_without_a_template,
);
