//! Messenger and Instagram end to end, against a stand-in Graph API that records every
//! request: the handshake, signatures, messaging events (messages, attachments, quick
//! replies, postbacks), echoes, delivery and read receipts, the Send API request, the 24-hour
//! window and the 7-day HUMAN_AGENT tag for people, provider errors and an outage.

use std::time::Duration;

use serde_json::{json, Value};
use switchboard::{
    config::{ChannelSettings, InboxSettings, MetaChannel, MetaPlatform, Secret, Settings},
    providers::meta,
};

use crate::{
    both_backends,
    fixtures::{given_a_messenger_conversation, given_a_messenger_conversation_with, Conversation},
    helpers::{eventually, setting, status_json, Backend, FakeProvider, Reply, TestApp},
};

pub const APP_SECRET: &str = "meta-app-secret-0123456789abcdef";
pub const PAGE_TOKEN: &str = "EAAB-page-access-token";
pub const VERIFY: &str = "meta-verify-token";
pub const PAGE: &str = "1234567890";
const IG_ACCOUNT: &str = "17841400000000000";
pub const PSID: &str = "6543210987654321";
const SEND_PATH: &str = "/v25.0/1234567890/messages";
const IG_SEND_PATH: &str = "/v25.0/17841400000000000/messages";
const WAIT: Duration = Duration::from_secs(10);
pub const HANDOFF: &str = "I need to talk to someone";

/// A Messenger or Instagram inbox of the tests, sending to the stand-in Graph API at `api_url`.
pub fn meta_inbox(id: &str, platform: MetaPlatform, page: &str, api_url: &str) -> InboxSettings {
    let channel = MetaChannel {
        platform,
        page_id: setting(page),
        page_access_token: Secret::new(PAGE_TOKEN),
        verify_token: Secret::new(VERIFY),
        api_base_url: Some(setting(api_url)),
        api_version: None,
        throughput_per_second: None,
    };
    InboxSettings::new(id, Secret::new(APP_SECRET), ChannelSettings::Meta(channel))
}

pub async fn start(b: Backend, customize: impl FnOnce(&mut Settings)) -> (TestApp, FakeProvider) {
    let graph = FakeProvider::start().await;
    for path in [SEND_PATH, IG_SEND_PATH] {
        graph.on(
            "POST",
            path,
            Reply::json(
                200,
                json!({"recipient_id": PSID, "message_id": "m_OUT{seq}"}),
            ),
        );
    }
    let url = graph.url.clone();
    let app = TestApp::spawn_with(b, |s| {
        for (id, platform, page) in [
            ("fb", MetaPlatform::Messenger, PAGE),
            ("ig", MetaPlatform::Instagram, IG_ACCOUNT),
        ] {
            let mut m = meta_inbox(id, platform, page, &url);
            crate::helpers::quiet(&mut m);
            s.inboxes.push(m);
        }
        s.server.public_url = Some(setting("https://inbox.example.test"));
        customize(s);
    })
    .await;
    (app, graph)
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub fn page(events: Vec<Value>) -> Value {
    json!({"object": "page", "entry": [{"id": PAGE, "time": now_ms(), "messaging": events}]})
}

pub fn from_customer(ago_ms: i64, body: Value) -> Value {
    let mut e =
        json!({"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": now_ms() - ago_ms});
    if let (Some(obj), Some(extra)) = (e.as_object_mut(), body.as_object()) {
        obj.extend(extra.clone());
    }
    e
}

pub fn text(mid: &str, ago_ms: i64, body: &str) -> Value {
    from_customer(ago_ms, json!({"message": {"mid": mid, "text": body}}))
}

async fn post_raw(app: &TestApp, inbox: &str, raw: &[u8], signature: Option<&str>) -> (u16, Value) {
    let mut req = app
        .client
        .post(format!("{}/webhooks/meta/{inbox}", app.base))
        .header("Content-Type", "application/json")
        .body(raw.to_vec());
    if let Some(sig) = signature {
        req = req.header("X-Hub-Signature-256", sig);
    }
    status_json(req.send().await.expect("request")).await
}

async fn notify_to(app: &TestApp, inbox: &str, body: &Value) -> Value {
    let raw = serde_json::to_vec(body).expect("json");
    let (s, answer) = post_raw(app, inbox, &raw, Some(&meta::sign(APP_SECRET, &raw))).await;
    assert_eq!(s, 200, "{answer}");
    answer
}

pub async fn notify(app: &TestApp, body: &Value) -> Value {
    notify_to(app, "fb", body).await
}

pub async fn the_conversation(app: &TestApp, token: &str, inbox: &str) -> String {
    eventually("the conversation", WAIT, || async {
        app.conversations(token)
            .await
            .into_iter()
            .find(|c| c["inbox_id"] == inbox)
            .and_then(|c| c["id"].as_str().map(str::to_owned))
    })
    .await
}

async fn reply(app: &TestApp, token: &str, id: &str, text: &str) -> (u16, Value) {
    app.post(
        token,
        &format!("/api/conversations/{id}/messages"),
        &json!({"text": text}),
    )
    .await
}

async fn handshake_and_signatures(b: Backend) {
    let (app, _graph) = start(b, |_| {}).await;
    let token = app.login().await;
    let resp = app
        .client
        .get(format!("{}/webhooks/meta/fb?hub.mode=subscribe&hub.challenge=CHALLENGE_ACCEPTED&hub.verify_token={VERIFY}", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.expect("body"), "CHALLENGE_ACCEPTED");
    let (s, body) = status_json(
        app.client
            .get(format!(
                "{}/webhooks/meta/fb?hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope",
                app.base
            ))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!((s, body["error"].as_str()), (403, Some("forbidden")));

    let raw = serde_json::to_vec(&page(vec![text("m_1", 1000, HANDOFF)])).expect("json");
    for (sig, status) in [
        (None, 401),
        (Some(meta::sign("other-app-secret-0000", &raw)), 401),
        (Some("sha1=abc".to_owned()), 401),
    ] {
        let (s, body) = post_raw(&app, "fb", &raw, sig.as_deref()).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (status, Some("unauthorized")),
            "{body}"
        );
    }
    // Signed but not a Messenger webhook for this inbox.
    let ig = serde_json::to_vec(&json!({"object": "instagram", "entry": [{"id": PAGE, "time": 1, "messaging": [text("m_x", 0, "hi")]}]})).expect("json");
    let (s, body) = post_raw(&app, "fb", &ig, Some(&meta::sign(APP_SECRET, &ig))).await;
    assert_eq!(s, 400, "{body}");
    let missing = serde_json::to_vec(&page(vec![
        json!({"sender": {"id": PSID}, "timestamp": 1, "message": {"mid": "m", "text": "x"}}),
    ]))
    .expect("json");
    let (s, body) = post_raw(
        &app,
        "fb",
        &missing,
        Some(&meta::sign(APP_SECRET, &missing)),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("recipient"),
        "{body}"
    );
    assert!(app.conversations(&token).await.is_empty());

    let (s, _) = post_raw(&app, "fb", &raw, Some(&meta::sign(APP_SECRET, &raw))).await;
    assert_eq!(s, 200);
    the_conversation(&app, &token, "fb").await;
}

async fn messaging_events_become_messages(b: Backend) {
    let (app, graph) = start(b, |_| {}).await;
    graph.on(
        "GET",
        "/cdn/photo.jpg",
        Reply::bytes(200, "image/jpeg", b"\xff\xd8 cdn photo".to_vec()),
    );
    let token = app.login().await;
    let events = vec![
        text("m_1", 5000, HANDOFF),
        from_customer(
            4000,
            json!({"message": {"mid": "m_2", "text": "and this", "attachments": [
            {"type": "image", "payload": {"url": format!("{}/cdn/photo.jpg", graph.url)}}]}}),
        ),
        from_customer(
            3000,
            json!({"message": {"mid": "m_3", "text": "Red", "quick_reply": {"payload": "COLOR_RED"}}}),
        ),
        from_customer(
            2000,
            json!({"postback": {"mid": "m_4", "title": "Get started", "payload": "GET_STARTED"}}),
        ),
        from_customer(
            1000,
            json!({"message": {"mid": "m_5", "attachments": [{"type": "location", "payload": {"coordinates": {"lat": 48.8584, "long": 2.2945}}, "title": "Eiffel"}]}}),
        ),
    ];
    let answer = notify(&app, &page(events)).await;
    assert_eq!(answer["received"]["messages"], 5, "{answer}");
    let id = the_conversation(&app, &token, "fb").await;
    let conv = app.conversation(&token, &id).await;
    assert_eq!(
        (
            conv["network"].as_str(),
            conv["contact"]["external_id"].as_str()
        ),
        (Some("messenger"), Some(PSID))
    );
    let msgs = app.messages(&token, &id).await;
    let customer: Vec<&Value> = msgs.iter().filter(|m| m["author"] == "customer").collect();
    let kinds: Vec<&str> = customer
        .iter()
        .map(|m| m["kind"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        kinds,
        [
            "text",
            "text",
            "image",
            "interactive",
            "interactive",
            "location"
        ]
    );
    assert_eq!(customer[2]["external_id"], "m_2#1");
    assert_eq!(
        customer[3]["payload"],
        json!({"id": "COLOR_RED", "title": "Red"})
    );
    assert_eq!(
        customer[4]["payload"],
        json!({"id": "GET_STARTED", "title": "Get started"})
    );
    assert_eq!(customer[5]["payload"]["name"], "Eiffel");
    let mid = customer[2]["id"].as_str().expect("id").to_owned();
    let stored = app
        .message_where(&token, &id, "photo stored", |m| {
            m["id"] == mid.as_str() && m["media_url"].is_string()
        })
        .await;
    let (s, _, bytes) = app
        .get_bytes(Some(&token), stored["media_url"].as_str().expect("url"))
        .await;
    assert_eq!((s, bytes.as_slice()), (200, &b"\xff\xd8 cdn photo"[..]));
    let cdn = graph.calls_to("GET", "/cdn/photo.jpg");
    assert_eq!(
        cdn[0].header("authorization"),
        None,
        "Meta's CDN URLs are pre-signed: no token"
    );

    assert!(
        graph.calls_to("POST", SEND_PATH).is_empty(),
        "handed to a person: nothing sent"
    );
}

/// Meta retries deliveries and batches differently: a message seen before is a duplicate, and an
/// older one takes its place by time.
async fn retried_and_reordered_deliveries_change_nothing(b: Backend) {
    let c = given_a_messenger_conversation(b).await;
    let answer = notify(
        &c.app,
        &page(vec![
            text("m_1", 1000, HANDOFF),
            text("m_0", 9000, "the first one"),
        ]),
    )
    .await;
    assert_eq!(
        (
            answer["received"]["duplicates"].as_u64(),
            answer["received"]["messages"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let customer: Vec<Value> = c
        .messages()
        .await
        .into_iter()
        .filter(|m| m["author"] == "customer")
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(customer, [json!("the first one"), json!(HANDOFF)]);
}

/// The agent's reply is sent and accepted: the message as sent, with Meta's message id.
async fn reply_sent(c: &Conversation, text: &str) -> Value {
    let m = c.replied(text).await;
    c.delivery(&m["id"], "sent").await
}

fn echo(mid: &str, text: &str) -> Value {
    json!({"sender": {"id": PAGE}, "recipient": {"id": PSID}, "timestamp": now_ms(),
    "message": {"mid": mid, "is_echo": true, "app_id": 1517776481860111_i64, "text": text}})
}

async fn a_reply_is_the_send_api_request(b: Backend) {
    let c = given_a_messenger_conversation(b).await;
    reply_sent(&c, "Hi! How can I help?").await;
    let calls = c.provider.calls_to("POST", SEND_PATH);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].header("authorization"),
        Some(format!("Bearer {PAGE_TOKEN}").as_str())
    );
    assert_eq!(
        calls[0].json(),
        json!({"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"text": "Hi! How can I help?"}})
    );
}

/// The echo of our own message is not a second message; one sent from the Page inbox is shown
/// as an agent's, once.
async fn echoes_are_not_second_messages(b: Backend) {
    let c = given_a_messenger_conversation(b).await;
    let sent = reply_sent(&c, "Hi! How can I help?").await;
    let our_mid = sent["external_id"].as_str().expect("mid");
    notify(
        &c.app,
        &page(vec![
            echo(our_mid, "Hi! How can I help?"),
            echo("m_PAGE1", "Sent from the Page inbox"),
        ]),
    )
    .await;
    let msgs = c.messages().await;
    let outbound: Vec<&Value> = msgs
        .iter()
        .filter(|m| m["direction"] == "outbound")
        .collect();
    assert_eq!(outbound.len(), 2, "{outbound:?}");
    assert_eq!(
        (
            outbound[1]["text"].as_str(),
            outbound[1]["author"].as_str(),
            outbound[1]["external_id"].as_str()
        ),
        (
            Some("Sent from the Page inbox"),
            Some("agent"),
            Some("m_PAGE1")
        )
    );
    notify(
        &c.app,
        &page(vec![echo("m_PAGE1", "Sent from the Page inbox")]),
    )
    .await;
    assert_eq!(
        c.messages().await.len(),
        msgs.len(),
        "echoes are idempotent"
    );
}

/// Delivery names messages; read is a watermark over everything sent before it.
async fn delivery_names_messages_and_read_is_a_watermark(b: Backend) {
    let c = given_a_messenger_conversation(b).await;
    let sent = reply_sent(&c, "Hi! How can I help?").await;
    let delivery = json!({"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": now_ms(), "delivery": {"mids": [sent["external_id"]], "watermark": now_ms()}});
    notify(&c.app, &page(vec![delivery])).await;
    c.delivery(&sent["id"], "delivered").await;
    let read = json!({"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": now_ms(), "read": {"watermark": now_ms() + 1000}});
    notify(&c.app, &page(vec![read])).await;
    c.delivery(&sent["id"], "read").await;
}

/// A file goes as an attachment by our signed link; Messenger attachments take no caption.
async fn a_file_goes_as_an_attachment_by_our_signed_link(b: Backend) {
    let c = given_a_messenger_conversation(b).await;
    let (s, body) = c
        .app
        .post_bytes(
            &c.token,
            &format!("/api/conversations/{}/attachments?caption=hi", c.id),
            "image/png",
            b"\x89PNG",
        )
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (422, Some("validation_failed"))
    );
    let (s, sent) = c
        .app
        .post_bytes(
            &c.token,
            &format!("/api/conversations/{}/attachments?filename=plan.pdf", c.id),
            "application/pdf",
            b"%PDF",
        )
        .await;
    assert_eq!(s, 201, "{sent}");
    let file = eventually("the file at the Send API", WAIT, || async {
        c.provider
            .calls_to("POST", SEND_PATH)
            .into_iter()
            .map(|c| c.json())
            .find(|b| b["message"]["attachment"].is_object())
    })
    .await;
    let url = file["message"]["attachment"]["payload"]["url"]
        .as_str()
        .expect("url")
        .to_owned();
    assert!(url.starts_with(&format!(
        "https://inbox.example.test/media/{}?sig=",
        sent["id"].as_str().expect("id")
    )));
    assert_eq!(
        file,
        json!({"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"attachment": {"type": "file", "payload": {"url": url}}}})
    );
}

/// An echo that overtakes our record of the send is merged into our message.
async fn an_echo_that_overtakes_the_send_is_merged_into_our_message(b: Backend) {
    let c = given_a_messenger_conversation(b).await;
    notify(&c.app, &page(vec![echo("m_RACE", "Racing the echo")])).await;
    c.provider.script(
        "POST",
        SEND_PATH,
        [Reply::json(
            200,
            json!({"recipient_id": PSID, "message_id": "m_RACE"}),
        )],
    );
    let raced = c.replied("Racing the echo").await;
    c.app
        .message_where(&c.token, &c.id, "raced message sent", |x| {
            x["id"] == raced["id"] && x["external_id"] == "m_RACE"
        })
        .await;
    let with_mid: Vec<Value> = c
        .messages()
        .await
        .into_iter()
        .filter(|x| x["external_id"] == "m_RACE")
        .collect();
    assert_eq!(with_mid.len(), 1, "{with_mid:?}");
    assert!(with_mid[0]["agent_id"].is_string(), "ours, not the echo");
}

/// Conversations with Messenger users start when they write: an agent cannot start one.
async fn an_agent_cannot_start_a_messenger_conversation(b: Backend) {
    let (app, graph) = start(b, |_| {}).await;
    let token = app.login().await;
    let (s, body) = app
        .post(
            &token,
            "/api/conversations",
            &json!({"inbox": "fb", "phone": "+34600111222", "text": "hi"}),
        )
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (422, Some("validation_failed"))
    );
    assert!(app.conversations(&token).await.is_empty());
    assert!(graph.calls().is_empty());
}

/// 30 hours after the customer's message: outside the standard window, inside the human-agent
/// one. People answer with the HUMAN_AGENT tag; the assistant stays silent (it may not use it).
async fn people_answer_after_a_day_with_the_human_agent_tag(b: Backend) {
    let (app, graph) = start(b, |_| {}).await;
    let token = app.login().await;
    notify(
        &app,
        &page(vec![text(
            "m_1",
            30 * 3600 * 1000,
            "What are your opening hours?",
        )]),
    )
    .await;
    let id = the_conversation(&app, &token, "fb").await;
    let conv = app.conversation(&token, &id).await;
    assert_eq!(
        (
            conv["window_open"].as_bool(),
            conv["agent_may_reply"].as_bool()
        ),
        (Some(false), Some(true))
    );
    assert!(conv["agent_window_closes_at"].is_string());
    let (s, m) = reply(&app, &token, &id, "Sorry for the delay: we open at 9").await;
    assert_eq!(s, 201, "{m}");
    let call = eventually("the tagged message", WAIT, || async {
        graph.calls_to("POST", SEND_PATH).into_iter().next()
    })
    .await;
    assert_eq!(
        call.json(),
        json!({"recipient": {"id": PSID}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT", "message": {"text": "Sorry for the delay: we open at 9"}})
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        graph.calls_to("POST", SEND_PATH).len(),
        1,
        "no assistant message outside the window"
    );
}

/// Eight days: nobody may write until the customer does, and Messenger has no templates.
async fn after_seven_days_nobody_may_write(b: Backend) {
    let (app, graph) = start(b, |_| {}).await;
    let token = app.login().await;
    let day = 24 * 3600 * 1000;
    let old = json!({"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": now_ms() - 8 * day, "message": {"mid": "m_old", "text": HANDOFF}});
    notify(&app, &page(vec![old])).await;
    let late_id = the_conversation(&app, &token, "fb").await;
    let late = app.conversation(&token, &late_id).await;
    assert_eq!(late["agent_may_reply"], false);
    let (s, body) = reply(&app, &token, &late_id, "Hello?").await;
    assert_eq!((s, body["error"].as_str()), (422, Some("window_closed")));
    let (s, body) = app
        .post(
            &token,
            &format!("/api/conversations/{late_id}/template"),
            &json!({"name": "x", "parameters": []}),
        )
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (422, Some("validation_failed")),
        "Messenger has no templates"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(graph.calls_to("POST", SEND_PATH).is_empty());
}

async fn a_window_error_from_meta_shows_on_the_message(b: Backend) {
    let c = given_a_messenger_conversation(b).await;
    c.provider.script("POST", SEND_PATH, [Reply::json(400, json!({"error": {"message": "(#10) This message is sent outside of allowed window.", "type": "OAuthException", "code": 10, "error_subcode": 2018278, "fbtrace_id": "x"}}))]);
    let m = c.replied("Hello?").await;
    let failed = c.delivery(&m["id"], "failed").await;
    assert_eq!(
        failed["failure_reason"],
        "10/2018278: This message is sent outside of allowed window."
    );
}

async fn an_outage_leaves_messages_queued_then_they_go_out(b: Backend) {
    let c = given_a_messenger_conversation_with(b, |s| s.outbox.max_attempts = 20).await;
    let transient = json!({"error": {"message": "An unexpected error has occurred. Please retry your request later.", "type": "OAuthException", "code": 2, "is_transient": true, "fbtrace_id": "y"}});
    c.provider.script(
        "POST",
        SEND_PATH,
        [
            Reply::json(500, transient.clone()),
            Reply::json(503, json!({})),
            Reply::json(500, transient),
        ],
    );
    let m = c.replied("Back online").await;
    eventually("a failed attempt", WAIT, || async {
        (!c.provider.calls_to("POST", SEND_PATH).is_empty()).then_some(())
    })
    .await;
    let queued = c
        .app
        .message_where(&c.token, &c.id, "queued", |x| x["id"] == m["id"])
        .await;
    assert_eq!(queued["delivery_status"], "queued");
    let sent = c.delivery(&m["id"], "sent").await;
    assert!(sent["external_id"]
        .as_str()
        .is_some_and(|m| m.starts_with("m_OUT")));
    assert_eq!(c.provider.calls_to("POST", SEND_PATH).len(), 4);
}

async fn instagram_direct_messages(b: Backend) {
    let (app, graph) = start(b, |_| {}).await;
    let token = app.login().await;
    let ig = |events: Vec<Value>| json!({"object": "instagram", "entry": [{"id": IG_ACCOUNT, "time": now_ms(), "messaging": events}]});
    let igsid = "987654321";
    let inbound = json!({"sender": {"id": igsid}, "recipient": {"id": IG_ACCOUNT}, "timestamp": now_ms(), "message": {"mid": "aWdfZAG1", "text": HANDOFF}});
    // A Messenger payload is not for the Instagram inbox.
    let raw = serde_json::to_vec(&page(vec![text("m_1", 0, "hi")])).expect("json");
    let (s, _) = post_raw(&app, "ig", &raw, Some(&meta::sign(APP_SECRET, &raw))).await;
    assert_eq!(s, 400);
    notify_to(&app, "ig", &ig(vec![inbound])).await;
    let id = the_conversation(&app, &token, "ig").await;
    assert_eq!(app.conversation(&token, &id).await["network"], "instagram");
    let (_, m) = reply(&app, &token, &id, "Hi from Instagram").await;
    let call = eventually("the Instagram send", WAIT, || async {
        graph.calls_to("POST", IG_SEND_PATH).into_iter().next()
    })
    .await;
    assert_eq!(
        call.json(),
        json!({"recipient": {"id": igsid}, "messaging_type": "RESPONSE", "message": {"text": "Hi from Instagram"}})
    );
    let mid = m["id"].as_str().expect("id").to_owned();
    let sent = app
        .message_where(&token, &id, "sent", |x| {
            x["id"] == mid.as_str() && x["delivery_status"] == "sent"
        })
        .await;
    // Instagram's read receipt names the message.
    let seen = json!({"sender": {"id": igsid}, "recipient": {"id": IG_ACCOUNT}, "timestamp": now_ms(), "read": {"mid": sent["external_id"]}});
    notify_to(&app, "ig", &ig(vec![seen])).await;
    app.message_where(&token, &id, "read", |x| {
        x["id"] == mid.as_str() && x["delivery_status"] == "read"
    })
    .await;
}

both_backends!(
    handshake_and_signatures,
    messaging_events_become_messages,
    retried_and_reordered_deliveries_change_nothing,
    a_reply_is_the_send_api_request,
    echoes_are_not_second_messages,
    delivery_names_messages_and_read_is_a_watermark,
    a_file_goes_as_an_attachment_by_our_signed_link,
    an_echo_that_overtakes_the_send_is_merged_into_our_message,
    an_agent_cannot_start_a_messenger_conversation,
    people_answer_after_a_day_with_the_human_agent_tag,
    after_seven_days_nobody_may_write,
    a_window_error_from_meta_shows_on_the_message,
    an_outage_leaves_messages_queued_then_they_go_out,
    instagram_direct_messages,
);
