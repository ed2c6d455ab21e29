//! The customer is never left unanswered: when the assistant's answer cannot be stored it is
//! tried again, and when it still cannot, the conversation goes to a person with the reason.
//! The database's failure is played by the writer's fault hook (a commit fails as if the
//! database had gone away).

use std::time::Duration;

use serde_json::Value;

use crate::{
    both_backends,
    helpers::{assistant_delay, eventually, Backend, TestApp, WsClient},
};

const WAIT: Duration = Duration::from_secs(15);

async fn slow_assistant(b: Backend) -> TestApp {
    // The answer comes a moment after the question, so the test can break the database
    // in between.
    TestApp::spawn_with(b, |s| assistant_delay(s, 400)).await
}

async fn an_answer_that_could_not_be_stored_is_stored_on_a_later_try(b: Backend) {
    let app = slow_assistant(b).await;
    let token = app.login().await;
    let id = app
        .customer_writes("q1", "c1", "What are your opening hours?")
        .await;
    // The next two commits fail: the answer's first two tries.
    app.handle.app.store.inject_write_faults(2);
    let answer = app
        .message_where(&token, &id, "the assistant's answer", |m| {
            m["author"] == "assistant"
        })
        .await;
    assert!(answer["text"].as_str().is_some_and(|t| !t.is_empty()));
    eventually("the answer delivered", WAIT, || async {
        (app.callbacks.accepted().len() == 1).then_some(())
    })
    .await;
    let c = app.conversation(&token, &id).await;
    assert_eq!(c["status"], "bot", "{c}");
}

async fn an_answer_that_never_stores_hands_the_conversation_to_a_person(b: Backend) {
    let app = slow_assistant(b).await;
    let token = app.login().await;
    let mut ws = WsClient::connect(&app.base, &token, None).await;
    let id = app
        .customer_writes("q1", "c1", "What are your opening hours?")
        .await;
    // Every try of the answer fails, and the first two tries of the handoff too.
    app.handle.app.store.inject_write_faults(5);
    let frames = ws
        .until("handoff.requested", WAIT, |f| {
            f["type"] == "handoff.requested"
        })
        .await;
    let handoff = frames.last().expect("frame");
    assert_eq!(handoff["conversation_id"], id.as_str(), "{handoff}");
    assert_eq!(
        handoff["reason"]["kind"], "assistant_unavailable",
        "{handoff}"
    );
    let c = app.conversation(&token, &id).await;
    assert_eq!(
        (&c["status"], &c["needs_reply"]),
        (&Value::from("human"), &Value::from(true)),
        "{c}"
    );
    let (_, badge) = app.get(&token, "/api/badge").await;
    assert_eq!(badge["count"], 1);
    let messages = app.messages(&token, &id).await;
    assert!(
        messages.iter().all(|m| m["author"] != "assistant"),
        "{messages:?}"
    );
    let note = messages
        .iter()
        .find(|m| m["author"] == "system")
        .expect("a system event says why");
    assert_eq!(note["payload"]["event"], "handed_off", "{note}");
    assert_eq!(note["payload"]["reason"], "assistant_unavailable", "{note}");
    assert!(
        note["text"]
            .as_str()
            .is_some_and(|t| t.contains("the assistant could not answer")),
        "{note}"
    );
}

/// The same for a follow-up coming due: its record is tried again, not lost.
async fn a_due_follow_up_that_could_not_be_stored_is_stored_on_a_later_try(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let id = app.customer_writes("q1", "c1", "talk to a human").await;
    let at = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let (s, v) = app
        .post(
            &token,
            &format!("/api/conversations/{id}/follow-up"),
            &serde_json::json!({"at": at, "reason": "call back"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    app.handle.app.store.inject_write_faults(1);
    let due = app
        .message_where(&token, &id, "the due follow-up", |m| {
            m["payload"]["event"] == "follow_up_due"
        })
        .await;
    assert_eq!(due["text"], "Follow-up due: call back");
    let c = app.conversation(&token, &id).await;
    assert_eq!(c["follow_up"], Value::Null, "{c}");
}

both_backends!(
    a_due_follow_up_that_could_not_be_stored_is_stored_on_a_later_try,
    an_answer_that_could_not_be_stored_is_stored_on_a_later_try,
    an_answer_that_never_stores_hands_the_conversation_to_a_person,
);
