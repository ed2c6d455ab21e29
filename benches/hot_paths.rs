//! `cargo bench`: the pure paths every message goes through.

use chrono::NaiveDate;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use serde_json::json;
use switchboard::{
    assistant::{knowledge::KnowledgeBase, KnowledgeBaseAssistant},
    domain::conversation::{transition, ConversationState, Event, Policy},
    providers::{api, sms},
};

fn state_machine(c: &mut Criterion) {
    let policy = Policy::default();
    let now = NaiveDate::from_ymd_opt(2026, 11, 21)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .unwrap_or_default();
    let state = ConversationState::new();
    let plain = Event::CustomerMessage {
        text: "Where is my order? It was due yesterday.".into(),
        at: now,
        rating: None,
    };
    let handoff = Event::CustomerMessage {
        text: "ok then, agent se baat karao please".into(),
        at: now,
        rating: None,
    };
    c.bench_function("transition: customer message (no handoff phrase)", |b| {
        b.iter(|| transition(black_box(&state), black_box(&plain), now, &policy))
    });
    c.bench_function("transition: customer message with a handoff phrase", |b| {
        b.iter(|| transition(black_box(&state), black_box(&handoff), now, &policy))
    });
}

fn serialisation(c: &mut Criterion) {
    let event = json!({
        "type": "message.created", "seq": 1_763_700_000_000_001u64, "conversation_id": "01a1fc97-6d49-74d5-9e90-40b0a385b09d",
        "message": {"id": "01a1fc97-6d4a-7225-856d-5999eeb92f67", "conversation_id": "01a1fc97-6d49-74d5-9e90-40b0a385b09d",
            "direction": "inbound", "author": "customer", "agent_id": null, "text": "Hello, is my order on its way?",
            "private": false, "delivery_status": null, "failure_reason": null, "external_id": "m-1", "client_id": null,
            "sent_at": "2026-11-21T09:00:00.123456", "created_at": "2026-11-21T09:00:00.123999"}
    });
    c.bench_function(
        "event serialisation (message.created, once per event)",
        |b| b.iter(|| black_box(&event).to_string()),
    );
}

fn assistant(c: &mut Criterion) {
    let bot = KnowledgeBaseAssistant::new(KnowledgeBase::demo());
    c.bench_function("BM25 answer (demo knowledge base)", |b| {
        b.iter(|| bot.answer(black_box("how long does shipping take to Canada?")))
    });
    c.bench_function("BM25 no match", |b| {
        b.iter(|| bot.answer(black_box("xyzzy plugh frobnicate")))
    });
}

fn signatures(c: &mut Criterion) {
    let body = br#"{"external_id":"m-1","contact":{"external_id":"c-1","name":"Ana"},"text":"Hello, is my order on its way?"}"#;
    let sig = api::sign("demo-secret-change-me", body);
    c.bench_function(
        "webhook signature check (HMAC-SHA256, constant time)",
        |b| b.iter(|| api::verify("demo-secret-change-me", black_box(body), Some(&sig))),
    );
    c.bench_function("SMS segments (GSM-7, 300 chars)", |b| {
        let text = "Your order #12345 has shipped! Track it at example.com/t/12345. ".repeat(5);
        b.iter(|| sms::segments(black_box(&text)))
    });
}

criterion_group!(benches, state_machine, serialisation, assistant, signatures);
criterion_main!(benches);
