//! Urgency: `waiting_since` on the conversation JSON (set while a person owes the customer an
//! answer), and the list's longest-waiting order, page by page.

use std::time::Duration;

use serde_json::{json, Value};

use crate::{
    both_backends,
    helpers::{Backend, TestApp},
};

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn the_longest_wait_comes_first(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    // Three customers ask for a person, a moment apart; a fourth talks to the assistant.
    let mut waiting = Vec::new();
    for i in 0..3 {
        let id = app
            .customer_writes(&format!("m{i}"), &format!("c{i}"), "talk to a human")
            .await;
        waiting.push(id);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let bot = app
        .customer_writes("m9", "c9", "what are your opening hours?")
        .await;
    let first = app.conversation(&token, &waiting[0]).await;
    assert_eq!(first["needs_reply"], true, "{first}");
    let since = first["waiting_since"]
        .as_str()
        .expect("waiting since")
        .to_owned();
    assert_eq!(
        app.conversation(&token, &bot).await["waiting_since"],
        Value::Null
    );

    // Oldest wait first, one per page.
    let (s, page) = app
        .get(&token, "/api/conversations?sort=waiting&limit=2")
        .await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(ids(&page), waiting[..2].to_vec());
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let (_, next) = app
        .get(
            &token,
            &format!("/api/conversations?sort=waiting&limit=2&cursor={cursor}"),
        )
        .await;
    assert_eq!(ids(&next), waiting[2..].to_vec());

    // The customer writes again: still waiting since the first time.
    app.customer_writes("m0b", "c0", "hello?").await;
    assert_eq!(
        app.conversation(&token, &waiting[0]).await["waiting_since"],
        json!(since)
    );

    // An agent answers the first: its wait ends and it leaves the order.
    let (s, v) = app
        .post(
            &token,
            &format!("/api/conversations/{}/messages", waiting[0]),
            &json!({"text": "Hello, I am here."}),
        )
        .await;
    assert!((200..300).contains(&s), "{s} {v}");
    let answered = app.conversation(&token, &waiting[0]).await;
    assert_eq!(
        (&answered["waiting_since"], &answered["needs_reply"]),
        (&Value::Null, &json!(false)),
        "{answered}"
    );
    let (_, page) = app.get(&token, "/api/conversations?sort=waiting").await;
    assert_eq!(ids(&page), waiting[1..].to_vec());

    let (s, body) = app.get(&token, "/api/conversations?sort=oldest").await;
    assert_eq!(s, 400, "{body}");
}

both_backends!(the_longest_wait_comes_first);
