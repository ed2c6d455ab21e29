//! Contact memories end to end: learned from customers' messages (in English, Spanish,
//! Portuguese and Hinglish), reconciled (a new name replaces the old, the same sentence twice is
//! one memory), shared by the same phone on WhatsApp and SMS, and listed, added, edited and
//! removed by agents who may see the contact, with bad input changing nothing.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use switchboard::{
    config::Visibility,
    db::queries,
    domain::{types::Role, MemoryId},
};

use crate::{
    both_backends,
    helpers::{eventually, status_json, Backend, FakeProvider, Reply, TestApp},
    twilio, whatsapp,
};

const WAIT: Duration = Duration::from_secs(10);
/// The customer's WhatsApp id, and the same number in E.164 (as SMS gives it).
const WA_ID: &str = "447700900123";
const E164: &str = "+447700900123";

async fn memories(app: &TestApp, token: &str, contact: &str) -> Vec<Value> {
    let (s, v) = app
        .get(token, &format!("/api/contacts/{contact}/memories"))
        .await;
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().cloned().expect("items")
}

fn texts(items: &[Value]) -> Vec<String> {
    let mut t: Vec<String> = items
        .iter()
        .map(|m| {
            format!(
                "{}: {}",
                m["kind"].as_str().unwrap_or("?"),
                m["text"].as_str().unwrap_or("?")
            )
        })
        .collect();
    t.sort();
    t
}

/// Waits until the contact's memories, as `kind: text` sorted, are exactly `want`.
async fn until_memories(app: &TestApp, token: &str, contact: &str, want: &[&str]) -> Vec<Value> {
    let mut want: Vec<String> = want.iter().map(|w| (*w).to_owned()).collect();
    want.sort();
    let start = std::time::Instant::now();
    loop {
        let items = memories(app, token, contact).await;
        let have = texts(&items);
        if have == want {
            return items;
        }
        assert!(
            start.elapsed() < WAIT,
            "memories of {contact}: want {want:?}, have {have:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A customer of the API inbox writes; their contact id and conversation id.
async fn api_customer(
    app: &TestApp,
    token: &str,
    contact: &str,
    message: &str,
    text: &str,
) -> (String, String) {
    let conversation = app.customer_writes(message, contact, text).await;
    let c = app.conversation(token, &conversation).await;
    (
        c["contact"]["id"].as_str().expect("contact id").to_owned(),
        conversation,
    )
}

async fn learned_and_reconciled(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let (contact, conversation) =
        api_customer(&app, &token, "c1", "m1", "Hi, my name is Ana").await;
    let first = until_memories(&app, &token, &contact, &["fact: Name: Ana"]).await;
    assert_eq!(first[0]["slot"], "name");
    assert_eq!(first[0]["source_conversation_id"], conversation.as_str());
    assert!(first[0]["source_message_id"].is_string(), "{}", first[0]);
    assert!(first[0]["created_by"].is_null());
    let ana: MemoryId = first[0]["id"].as_str().expect("id").parse().expect("uuid");

    // A new name replaces the old one, which is kept, invalidated, and no longer listed.
    app.customer_writes("m2", "c1", "sorry, my name is Anna")
        .await;
    until_memories(&app, &token, &contact, &["fact: Name: Anna"]).await;
    let old = app
        .handle
        .app
        .store
        .read(move |c| queries::memory_by_id(c, ana))
        .await
        .expect("read")
        .expect("the old memory is kept");
    assert_eq!(old.text, "Name: Ana");
    assert!(old.invalidated_at.is_some());

    // The same sentence twice is one memory. The third message's memory, stored after the
    // second's (one writer, in order), says the second was handled.
    app.customer_writes("m3", "c1", "I prefer email over phone calls.")
        .await;
    app.customer_writes("m4", "c1", "I prefer email over phone calls")
        .await;
    app.customer_writes("m5", "c1", "I live in Madrid").await;
    until_memories(
        &app,
        &token,
        &contact,
        &[
            "fact: Name: Anna",
            "preference: I prefer email over phone calls",
            "fact: City: Madrid",
        ],
    )
    .await;
}

async fn spanish_portuguese_and_hinglish_are_understood(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let (es, _) = api_customer(
        &app,
        &token,
        "es",
        "es-1",
        "Hola, me llamo María y vivo en Sevilla",
    )
    .await;
    app.customer_writes("es-2", "es", "Estoy buscando un regalo para mi madre")
        .await;
    let (pt, _) = api_customer(
        &app,
        &token,
        "pt",
        "pt-1",
        "Olá! Meu nome é João e moro em Lisboa",
    )
    .await;
    app.customer_writes("pt-2", "pt", "Prefiro pagar com pix")
        .await;
    let (hi, _) = api_customer(&app, &token, "hi", "hi-1", "mera naam Ravi hai").await;
    app.customer_writes("hi-2", "hi", "mujhe naya laptop chahiye")
        .await;
    until_memories(
        &app,
        &token,
        &es,
        &[
            "fact: Name: María",
            "fact: City: Sevilla",
            "goal: Estoy buscando un regalo para mi madre",
        ],
    )
    .await;
    until_memories(
        &app,
        &token,
        &pt,
        &[
            "fact: Name: João",
            "fact: City: Lisboa",
            "preference: Prefiro pagar com pix",
        ],
    )
    .await;
    until_memories(
        &app,
        &token,
        &hi,
        &["fact: Name: Ravi", "goal: Mujhe naya laptop chahiye"],
    )
    .await;
}

/// WhatsApp (`wa`) and Twilio SMS (`sms`) on one server; one stand-in plays both.
async fn start_two_channels(b: Backend) -> (TestApp, FakeProvider) {
    let stand_in = FakeProvider::start().await;
    stand_in.on(
        "POST",
        twilio::SEND_PATH,
        Reply::json(201, json!({"sid": "SM{seq}", "status": "queued"})),
    );
    let url = stand_in.url.clone();
    let app = whatsapp::start_against(b, &stand_in, |s| {
        s.inboxes.push(twilio::twilio_inbox(&url));
        s.inboxes[0].default_country_code = Some(crate::helpers::setting("44"));
    })
    .await;
    (app, stand_in)
}

async fn on_whatsapp(app: &TestApp, id: &str, text: &str) {
    whatsapp::notify(
        app,
        &json!({"object": "whatsapp_business_account", "entry": [whatsapp::entry(WA_ID, "Amy", vec![
            json!({"from": WA_ID, "id": id, "timestamp": whatsapp::ts(1), "type": "text", "text": {"body": text}})], vec![])]}),
    )
    .await;
}

async fn contact_on(app: &TestApp, token: &str, inbox: &str) -> String {
    let c = eventually(&format!("{inbox} conversation"), WAIT, || async {
        app.conversations(token)
            .await
            .into_iter()
            .find(|c| c["inbox_id"] == inbox)
    })
    .await;
    c["contact"]["id"].as_str().expect("contact id").to_owned()
}

async fn the_same_phone_on_whatsapp_and_sms_shares_one_memory_set(b: Backend) {
    let (app, _stand_in) = start_two_channels(b).await;
    let token = app.login().await;
    on_whatsapp(&app, "wamid.1", "Hi, my name is Amy").await;
    twilio::inbound(&app, &twilio::sms("SM1", E164, "I live in Leeds")).await;
    let wa = contact_on(&app, &token, "wa").await;
    let sms = contact_on(&app, &token, "sms").await;
    assert_ne!(wa, sms);
    let both = ["fact: Name: Amy", "fact: City: Leeds"];
    until_memories(&app, &token, &wa, &both).await;
    until_memories(&app, &token, &sms, &both).await;

    // Learned on SMS, reconciled against what WhatsApp taught: one name.
    twilio::inbound(&app, &twilio::sms("SM2", E164, "my name is Amelia")).await;
    let now = ["fact: Name: Amelia", "fact: City: Leeds"];
    until_memories(&app, &token, &wa, &now).await;
    let items = until_memories(&app, &token, &sms, &now).await;

    // Forgotten through one channel's contact, gone from the other's.
    let city = items
        .iter()
        .find(|m| m["text"] == "City: Leeds")
        .and_then(|m| m["id"].as_str())
        .expect("city");
    let (s, _) = app.delete(&token, &format!("/api/memories/{city}")).await;
    assert_eq!(s, 204);
    until_memories(&app, &token, &wa, &["fact: Name: Amelia"]).await;
}

async fn patch(app: &TestApp, token: &str, id: &str, body: &Value) -> (u16, Value) {
    app.call(
        Method::PATCH,
        token,
        &format!("/api/memories/{id}"),
        Some(body),
    )
    .await
}

async fn agents_add_edit_and_forget(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let (contact, _) = api_customer(&app, &token, "c1", "m1", "hello").await;
    let path = format!("/api/contacts/{contact}/memories");
    assert_eq!(memories(&app, &token, &contact).await, Vec::<Value>::new());

    let (s, tea) = app
        .post(
            &token,
            &path,
            &json!({"kind": "preference", "text": "  Likes green tea \n"}),
        )
        .await;
    assert_eq!(s, 201, "{tea}");
    assert_eq!(
        (tea["kind"].as_str(), tea["text"].as_str()),
        (Some("preference"), Some("Likes green tea"))
    );
    assert!(tea["created_by"].is_string(), "{tea}");
    assert_eq!(tea["contact_id"], contact.as_str());
    // The same again is the same memory.
    let (s, again) = app
        .post(
            &token,
            &path,
            &json!({"kind": "preference", "text": "likes green tea"}),
        )
        .await;
    assert_eq!((s, &again["id"]), (200, &tea["id"]), "{again}");

    // A fact written as the extractor writes it fills its slot: a new value replaces it.
    let (s, bob) = app
        .post(&token, &path, &json!({"kind": "fact", "text": "Name: Bob"}))
        .await;
    assert_eq!((s, &bob["slot"]), (201, &json!("name")), "{bob}");
    let (s, _) = app
        .post(
            &token,
            &path,
            &json!({"kind": "fact", "text": "Name: Robert"}),
        )
        .await;
    assert_eq!(s, 201);
    until_memories(
        &app,
        &token,
        &contact,
        &["fact: Name: Robert", "preference: Likes green tea"],
    )
    .await;

    // An edit replaces the memory: a new id, the old one gone.
    let tea_id = tea["id"].as_str().expect("id");
    let (s, black) = patch(&app, &token, tea_id, &json!({"text": "Likes black tea"})).await;
    assert_eq!(s, 200, "{black}");
    assert_ne!(black["id"], tea["id"]);
    assert_eq!(black["kind"], "preference");
    let (s, _) = patch(&app, &token, tea_id, &json!({"text": "Likes tea"})).await;
    assert_eq!(s, 404);
    let black_id = black["id"].as_str().expect("id");
    let (s, goal) = patch(&app, &token, black_id, &json!({"kind": "goal"})).await;
    assert_eq!(
        (s, goal["kind"].as_str(), goal["text"].as_str()),
        (200, Some("goal"), Some("Likes black tea"))
    );
    until_memories(
        &app,
        &token,
        &contact,
        &["fact: Name: Robert", "goal: Likes black tea"],
    )
    .await;

    // A delete invalidates it: not listed, not found again.
    let goal_id = goal["id"].as_str().expect("id");
    let (s, _) = app
        .delete(&token, &format!("/api/memories/{goal_id}"))
        .await;
    assert_eq!(s, 204);
    let (s, _) = app
        .delete(&token, &format!("/api/memories/{goal_id}"))
        .await;
    assert_eq!(s, 404);
    let (s, _) = patch(&app, &token, goal_id, &json!({"text": "x"})).await;
    assert_eq!(s, 404);
    until_memories(&app, &token, &contact, &["fact: Name: Robert"]).await;
}

async fn bad_input_changes_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let (contact, _) = api_customer(&app, &token, "c1", "m1", "my name is Ana").await;
    let before = until_memories(&app, &token, &contact, &["fact: Name: Ana"]).await;
    let id = before[0]["id"].as_str().expect("id").to_owned();
    let path = format!("/api/contacts/{contact}/memories");
    let long = "x".repeat(501);
    for (body, status) in [
        (json!({"kind": "wish", "text": "a pony"}), 400),
        (json!({"kind": "fact"}), 400),
        (json!({"kind": "fact", "text": "ok", "extra": 1}), 400),
        (json!({"kind": "fact", "text": 5}), 400),
        (json!({"kind": "fact", "text": "   "}), 422),
        (json!({"kind": "fact", "text": "\u{200b}"}), 422),
        (json!({"kind": "fact", "text": ""}), 422),
        (json!({"kind": "fact", "text": long}), 422),
        (json!({"kind": "fact", "text": "a\u{0}b"}), 422),
    ] {
        let (s, v) = app.post(&token, &path, &body).await;
        assert_eq!(s, status, "POST {body}: {v}");
        assert!(v["error"].is_string(), "{v}");
    }
    for (body, status) in [
        (json!({}), 422),
        (json!({"text": "x".repeat(501)}), 422),
        (json!({"text": "a\u{0}b"}), 422),
        (json!({"text": 5}), 400),
        (json!({"kind": "fact", "extra": 1}), 400),
        (json!({"kind": null}), 422),
        (json!({"text": "   "}), 422),
        (json!({"kind": "hobby"}), 400),
    ] {
        let (s, v) = patch(&app, &token, &id, &body).await;
        assert_eq!(s, status, "PATCH {body}: {v}");
    }
    // Not JSON, not an object.
    let resp = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body("[1]")
        .send()
        .await
        .expect("request");
    assert_eq!(status_json(resp).await.0, 400);
    // Unknown or malformed ids are not found.
    let nobody = uuid::Uuid::now_v7();
    for p in [
        "/api/contacts/not-an-id/memories".to_owned(),
        format!("/api/contacts/{nobody}/memories"),
    ] {
        let (s, _) = app.get(&token, &p).await;
        assert_eq!(s, 404, "{p}");
        let (s, _) = app
            .post(&token, &p, &json!({"kind": "fact", "text": "x"}))
            .await;
        assert_eq!(s, 404, "{p}");
    }
    for m in ["not-an-id".to_owned(), nobody.to_string()] {
        assert_eq!(
            app.delete(&token, &format!("/api/memories/{m}")).await.0,
            404
        );
        assert_eq!(patch(&app, &token, &m, &json!({"text": "x"})).await.0, 404);
    }
    assert_eq!(memories(&app, &token, &contact).await, before);
}

async fn only_agents_who_may_see_the_contact_reach_its_memories(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        s.access.visibility = Visibility::AssignedAndUnassigned;
    })
    .await;
    let admin = app.login().await;
    let (_, alice) = app.agent("alice@test.local", Role::Agent).await;
    let (bob_id, bob) = app.agent("bob@test.local", Role::Agent).await;
    let (contact, conversation) = api_customer(&app, &admin, "c1", "m1", "My name is Ana").await;
    let path = format!("/api/contacts/{contact}/memories");
    // Unassigned: every agent sees it.
    let items = until_memories(&app, &alice, &contact, &["fact: Name: Ana"]).await;
    let id = items[0]["id"].as_str().expect("id").to_owned();

    let (s, v) = app
        .post(
            &admin,
            &format!("/api/conversations/{conversation}/assign"),
            &json!({"agent_id": bob_id}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    // Bob's now: Alice may neither see nor change its memories, and learns nothing of them.
    let (s, v) = app.get(&alice, &path).await;
    assert_eq!((s, v["error"].as_str()), (404, Some("not_found")), "{v}");
    let (s, _) = app
        .post(
            &alice,
            &path,
            &json!({"kind": "goal", "text": "Wants a sofa"}),
        )
        .await;
    assert_eq!(s, 404);
    assert_eq!(
        patch(&app, &alice, &id, &json!({"text": "Name: Eve"}))
            .await
            .0,
        404
    );
    assert_eq!(
        app.delete(&alice, &format!("/api/memories/{id}")).await.0,
        404
    );
    // Bob and the admin do.
    assert_eq!(
        texts(&memories(&app, &bob, &contact).await),
        ["fact: Name: Ana"]
    );
    let (s, v) = app
        .post(
            &bob,
            &path,
            &json!({"kind": "goal", "text": "Wants a sofa"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    until_memories(
        &app,
        &admin,
        &contact,
        &["fact: Name: Ana", "goal: Wants a sofa"],
    )
    .await;
}

both_backends!(
    learned_and_reconciled,
    spanish_portuguese_and_hinglish_are_understood,
    the_same_phone_on_whatsapp_and_sms_shares_one_memory_set,
    agents_add_edit_and_forget,
    bad_input_changes_nothing,
    only_agents_who_may_see_the_contact_reach_its_memories,
);
