//! Conversation actors run on several threads, and one conversation's messages stay in order:
//! each conversation lives on one thread for good, so what a customer sends one after the
//! other is stored and pushed to agents in that order, while other conversations are handled
//! beside it on other threads.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use serde_json::Value;
use switchboard::{actors::messages::WhichThread, domain::ConversationId};

use crate::helpers::{customer, Backend, TestApp, WsClient};

const CONVERSATIONS: usize = 16;
const MESSAGES: usize = 12;

async fn thread_of(app: &TestApp, id: ConversationId) -> std::thread::ThreadId {
    let actor = app
        .handle
        .registry
        .actor(id)
        .await
        .expect("the registry answers");
    actor.send(WhichThread).await.expect("the actor answers")
}

#[actix_rt::test]
async fn conversations_run_on_several_threads_and_each_keeps_its_order() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.conversations.actor_threads = 4).await;
    assert_eq!(app.handle.registry.threads(), 4);
    let token = app.login().await;
    let mut ws = WsClient::connect(&app.base, &token, None).await;

    // Every contact writes MESSAGES times, each after the previous was acknowledged; the
    // contacts write at the same time as one another.
    let writers = (0..CONVERSATIONS).map(|c| {
        let app = &app;
        async move {
            let mut id = None;
            for m in 0..MESSAGES {
                let body = customer(&format!("t{c}-{m}"), &format!("tc{c}"), &format!("{c}:{m}"));
                let resp = app.inbound(&body).await;
                assert_eq!(resp.status(), 200);
                let ack: Value = resp.json().await.expect("json");
                id = ack["conversation_id"].as_str().map(str::to_owned);
            }
            id.expect("a conversation id")
        }
    });
    let ids: Vec<String> = futures_util::future::join_all(writers).await;

    // Spread: the conversations' actors run on more than one thread, none of them the
    // test's (the system thread, where every actor used to run), and a conversation asked
    // again is on the same thread.
    let ids: Vec<ConversationId> = ids.iter().map(|i| i.parse().expect("uuid")).collect();
    let mut threads = HashSet::new();
    for &id in &ids {
        let t = thread_of(&app, id).await;
        assert_ne!(
            t,
            std::thread::current().id(),
            "an actor on the system thread"
        );
        assert_eq!(
            t,
            thread_of(&app, id).await,
            "a conversation changed threads"
        );
        threads.insert(t);
    }
    assert!(
        threads.len() >= 2,
        "{CONVERSATIONS} conversations all ran on one thread"
    );

    // Order: every conversation's messages reached the agent in the order they were sent, with
    // rising sequence numbers.
    let mut seen: HashMap<String, Vec<usize>> = HashMap::new();
    let mut last_seq = 0;
    let mut count = 0;
    while count < CONVERSATIONS * MESSAGES {
        let Some(frame) = ws.next_json(Duration::from_secs(10)).await else {
            panic!(
                "only {count} of {} messages reached the agent",
                CONVERSATIONS * MESSAGES
            );
        };
        if let Some(seq) = frame["seq"].as_u64() {
            assert!(seq > last_seq, "seq went from {last_seq} to {seq}");
            last_seq = seq;
        }
        // The assistant's answers are in the stream too.
        if frame["type"] != "message.created" || frame["message"]["author"] != "customer" {
            continue;
        }
        let text = frame["message"]["text"].as_str().expect("text");
        let (c, m) = text.split_once(':').expect("c:m");
        seen.entry(c.to_owned())
            .or_default()
            .push(m.parse().expect("a number"));
        count += 1;
    }
    assert_eq!(seen.len(), CONVERSATIONS);
    for (c, order) in seen {
        assert_eq!(order, (0..MESSAGES).collect::<Vec<_>>(), "conversation {c}");
    }
}
