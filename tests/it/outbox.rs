//! Outbound delivery: written first, retried with backoff, ending `sent` or `failed` with the
//! reason.

use std::time::Duration;

use serde_json::Value;

use crate::{
    both_backends,
    helpers::{eventually, Backend, Reply, TestApp, CALLBACK_PATH},
};

const WAIT: Duration = Duration::from_secs(10);

async fn assistant_message(app: &TestApp, token: &str, id: &str, status: &str) -> Value {
    eventually(&format!("assistant reply {status}"), WAIT, || async {
        app.messages(token, id)
            .await
            .into_iter()
            .find(|m| m["author"] == "assistant" && m["delivery_status"] == status)
    })
    .await
}

async fn callback_outage_is_retried_until_it_succeeds(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.callbacks
        .script("POST", CALLBACK_PATH, [503, 500, 502].map(Reply::status));
    let token = app.login().await;
    let id = app
        .customer_writes("m1", "c1", "What are your opening hours?")
        .await;
    let sent = assistant_message(&app, &token, &id, "sent").await;
    let all = app.callbacks.calls();
    assert_eq!(all.len(), 4, "three failures, then the delivery");
    assert_eq!(app.callbacks.accepted()[0].json()["message_id"], sent["id"]);
    assert_eq!(sent["failure_reason"], Value::Null);
}

async fn a_refused_callback_fails_the_message_with_the_reason(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.callbacks.on("POST", CALLBACK_PATH, Reply::status(400));
    let token = app.login().await;
    let id = app
        .customer_writes("m1", "c1", "What are your opening hours?")
        .await;
    let failed = assistant_message(&app, &token, &id, "failed").await;
    let reason = failed["failure_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("400"), "{reason}");
    assert_eq!(app.callbacks.calls().len(), 1, "a 4xx is not retried");
}

async fn retries_stop_after_max_attempts(b: Backend) {
    let app = TestApp::spawn_with(b, |s| s.outbox.max_attempts = 3).await;
    app.callbacks.on("POST", CALLBACK_PATH, Reply::status(503));
    let token = app.login().await;
    let id = app
        .customer_writes("m1", "c1", "What are your opening hours?")
        .await;
    let failed = assistant_message(&app, &token, &id, "failed").await;
    let reason = failed["failure_reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("503") && reason.contains("after 3 attempts"),
        "{reason}"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(app.callbacks.calls().len(), 3);
}

both_backends!(
    callback_outage_is_retried_until_it_succeeds,
    a_refused_callback_fails_the_message_with_the_reason,
    retries_stop_after_max_attempts,
);
