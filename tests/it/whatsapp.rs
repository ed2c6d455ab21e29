//! WhatsApp Cloud API end to end, against a stand-in Graph API that records every request and
//! answers as Meta does: the handshake, signatures over the raw bytes, every inbound kind,
//! duplicates and order, statuses out of order, the exact send requests, the 24-hour window,
//! provider errors, an outage, throughput, and files.

use std::{num::NonZeroU32, time::Duration};

use serde_json::{json, Value};
use switchboard::{
    config::{ChannelSettings, InboxSettings, Secret, Settings, TemplateSettings, WhatsappChannel},
    providers::whatsapp,
};

use crate::{
    both_backends,
    fixtures::{given_a_whatsapp_conversation, given_a_whatsapp_conversation_with, Conversation},
    helpers::{eventually, setting, status_json, Backend, FakeProvider, Reply, TestApp},
};

pub const APP_SECRET: &str = "wa-app-secret-0123456789abcdef";
pub const TOKEN: &str = "EAAG-test-access-token";
pub const VERIFY: &str = "verify-token-42";
pub const PNID: &str = "106540352242922";
pub const SEND_PATH: &str = "/v25.0/106540352242922/messages";
pub const CUSTOMER: &str = "16315551181";
pub const PUBLIC_URL: &str = "https://inbox.example.test";
const WAIT: Duration = Duration::from_secs(10);
/// A customer message that hands the conversation to a person, so no assistant reply is sent.
pub const HANDOFF: &str = "I need to talk to someone";

/// The WhatsApp inbox `wa` of the tests, sending to the stand-in Graph API at `api_url`.
pub fn whatsapp_inbox(api_url: &str) -> InboxSettings {
    let channel = WhatsappChannel {
        phone_number_id: setting(PNID),
        access_token: Secret::new(TOKEN),
        verify_token: Secret::new(VERIFY),
        api_base_url: Some(setting(api_url)),
        api_version: None,
        throughput_per_second: None,
        messaging_limit: None,
        templates: vec![TemplateSettings {
            name: "order_update".into(),
            language: "en_US".into(),
            body: "Your order {{1}} ships on {{2}}.".into(),
            parameters: vec!["order number".into(), "date".into()],
            content_sid: None,
        }],
    };
    InboxSettings::new(
        "wa",
        Secret::new(APP_SECRET),
        ChannelSettings::Whatsapp(channel),
    )
}

pub async fn start(b: Backend, customize: impl FnOnce(&mut Settings)) -> (TestApp, FakeProvider) {
    let graph = FakeProvider::start().await;
    let app = start_against(b, &graph, customize).await;
    (app, graph)
}

/// The server with the WhatsApp inbox `wa` sending to `graph`, which accepts every send.
pub async fn start_against(
    b: Backend,
    graph: &FakeProvider,
    customize: impl FnOnce(&mut Settings),
) -> TestApp {
    graph.on(
        "POST",
        SEND_PATH,
        Reply::json(
            200,
            json!({"messaging_product": "whatsapp",
               "contacts": [{"input": CUSTOMER, "wa_id": CUSTOMER}],
               "messages": [{"id": "wamid.OUT{seq}", "message_status": "accepted"}]}),
        ),
    );
    let url = graph.url.clone();
    TestApp::spawn_with(b, |s| {
        let mut wa = whatsapp_inbox(&url);
        wa.default_country_code = Some(setting("1"));
        crate::helpers::quiet(&mut wa);
        s.inboxes.push(wa);
        s.server.public_url = Some(setting(PUBLIC_URL));
        customize(s);
    })
    .await
}

/// Unix seconds `ago` seconds before now, as WhatsApp sends them (a string).
pub fn ts(ago: i64) -> String {
    (chrono::Utc::now().timestamp() - ago).to_string()
}

pub fn notification(messages: Vec<Value>, statuses: Vec<Value>) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [entry(CUSTOMER, "Jörg", messages, statuses)]})
}

pub fn entry(from: &str, name: &str, messages: Vec<Value>, statuses: Vec<Value>) -> Value {
    let mut value = json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PNID},
    });
    if !messages.is_empty() {
        value["contacts"] = json!([{"profile": {"name": name}, "wa_id": from}]);
        value["messages"] = json!(messages);
    }
    if !statuses.is_empty() {
        value["statuses"] = json!(statuses);
    }
    json!({"id": "102290129340398", "changes": [{"field": "messages", "value": value}]})
}

pub fn text(id: &str, ago: i64, body: &str) -> Value {
    json!({"from": CUSTOMER, "id": id, "timestamp": ts(ago), "type": "text", "text": {"body": body}})
}

pub fn status(id: &str, status: &str) -> Value {
    json!({"id": id, "status": status, "timestamp": ts(0), "recipient_id": CUSTOMER})
}

/// POSTs a notification signed like Meta signs it.
pub async fn notify_raw(app: &TestApp, raw: &[u8], signature: Option<&str>) -> (u16, Value) {
    let mut req = app
        .client
        .post(format!("{}/webhooks/whatsapp/wa", app.base))
        .header("Content-Type", "application/json")
        .body(raw.to_vec());
    if let Some(sig) = signature {
        req = req.header("X-Hub-Signature-256", sig);
    }
    status_json(req.send().await.expect("request")).await
}

pub async fn notify(app: &TestApp, body: &Value) -> Value {
    let raw = serde_json::to_vec(body).expect("json");
    let (status, answer) = notify_raw(app, &raw, Some(&whatsapp::sign(APP_SECRET, &raw))).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// The id of the only WhatsApp conversation.
pub async fn the_conversation(app: &TestApp, token: &str) -> String {
    let list = app.conversations(token).await;
    let wa: Vec<&Value> = list.iter().filter(|c| c["inbox_id"] == "wa").collect();
    assert_eq!(wa.len(), 1, "{list:?}");
    wa[0]["id"].as_str().expect("id").to_owned()
}

/// Sent requests whose body (JSON) matches `pred`.
pub fn sends(graph: &FakeProvider, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
    graph
        .calls_to("POST", SEND_PATH)
        .iter()
        .map(|c| c.json())
        .filter(|b| pred(b))
        .collect()
}

pub fn media_answer(graph: &FakeProvider, id: &str, mime: &str, bytes: &[u8]) {
    graph.on("GET", &format!("/v25.0/{id}"), Reply::json(200, json!({"url": format!("{}/lookaside/{id}", graph.url), "mime_type": mime,
               "sha256": "abc", "file_size": bytes.len(), "id": id, "messaging_product": "whatsapp"})));
    graph.on(
        "GET",
        &format!("/lookaside/{id}"),
        Reply::bytes(200, mime, bytes.to_vec()),
    );
}

async fn handshake_echoes_the_challenge_and_refuses_a_wrong_token(b: Backend) {
    let (app, _graph) = start(b, |_| {}).await;
    let get = |query: String| {
        let url = format!("{}/webhooks/whatsapp/wa?{query}", app.base);
        let client = app.client.clone();
        async move { client.get(url).send().await.expect("request") }
    };
    let ok = get(format!(
        "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={VERIFY}"
    ))
    .await;
    assert_eq!(ok.status().as_u16(), 200);
    assert!(ok
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/plain")));
    assert_eq!(ok.text().await.expect("body"), "1158201444");

    for (query, status) in [
        (
            "hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong".to_owned(),
            403,
        ),
        (
            format!("hub.mode=unsubscribe&hub.challenge=1&hub.verify_token={VERIFY}"),
            403,
        ),
        (format!("hub.mode=subscribe&hub.verify_token={VERIFY}"), 403),
    ] {
        let (s, body) = status_json(get(query.clone()).await).await;
        assert_eq!(s, status, "{query}: {body}");
        assert_eq!(body["error"], "forbidden");
        assert!(
            body["message"].as_str().is_some_and(|m| m.contains("hub.")),
            "{body}"
        );
    }
    let (s, body) = status_json(
        app.client
            .get(format!(
                "{}/webhooks/whatsapp/support?hub.mode=subscribe",
                app.base
            ))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (404, Some("not_found")),
        "an API inbox is not a WhatsApp inbox"
    );
}

async fn signature_is_checked_on_the_raw_bytes_before_parsing(b: Backend) {
    let (app, _graph) = start(b, |_| {}).await;
    let token = app.login().await;
    // Meta's own serialisation escapes non-ASCII and `/`: the bytes are signed, not the value.
    let escaped = format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550783881","phone_number_id":"{PNID}"}},"contacts":[{{"profile":{{"name":"J\u00f6rg"}},"wa_id":"{CUSTOMER}"}}],"messages":[{{"from":"{CUSTOMER}","id":"wamid.ESC","timestamp":"{}","text":{{"body":"\u00e4\u00f6\u00e5 https:\/\/example.com {HANDOFF}"}},"type":"text"}}]}},"field":"messages"}}]}}]}}"#,
        ts(5)
    );
    let raw = escaped.as_bytes();
    let good = whatsapp::sign(APP_SECRET, raw);
    let reserialized =
        serde_json::to_vec(&serde_json::from_slice::<Value>(raw).expect("json")).expect("json");
    for (body, sig, status, code) in [
        (raw.to_vec(), None, 401, "unauthorized"),
        (
            raw.to_vec(),
            Some(whatsapp::sign("another-app-secret-000", raw)),
            401,
            "unauthorized",
        ),
        (
            raw.to_vec(),
            Some("sha256=zz".to_owned()),
            401,
            "unauthorized",
        ),
        (reserialized, Some(good.clone()), 401, "unauthorized"),
        (
            b"{not json".to_vec(),
            Some(whatsapp::sign(APP_SECRET, b"{not json")),
            400,
            "bad_request",
        ),
    ] {
        let (s, answer) = notify_raw(&app, &body, sig.as_deref()).await;
        assert_eq!(
            (s, answer["error"].as_str()),
            (status, Some(code)),
            "{answer}"
        );
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let wrong_object = br#"{"object":"page","entry":[]}"#;
    let (s, answer) = notify_raw(
        &app,
        wrong_object,
        Some(&whatsapp::sign(APP_SECRET, wrong_object)),
    )
    .await;
    assert_eq!(s, 400, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap_or_default()
            .contains("object"),
        "{answer}"
    );
    let huge = vec![b' '; 5 * 1024 * 1024];
    let (s, answer) = notify_raw(&app, &huge, Some(&whatsapp::sign(APP_SECRET, &huge))).await;
    assert_eq!(
        (s, answer["error"].as_str()),
        (413, Some("payload_too_large"))
    );
    assert!(app.conversations(&token).await.is_empty(), "nothing stored");

    let (s, answer) = notify_raw(&app, raw, Some(&good)).await;
    assert_eq!(s, 200, "{answer}");
    let id = the_conversation(&app, &token).await;
    let msgs = app.messages(&token, &id).await;
    assert_eq!(
        msgs[0]["text"],
        format!("äöå https://example.com {HANDOFF}")
    );
    assert_eq!(msgs[0]["external_id"], "wamid.ESC");
}

async fn every_inbound_kind_is_stored_with_its_content(b: Backend) {
    let (app, graph) = start(b, |_| {}).await;
    let jpeg = b"\xff\xd8\xff\xe0 a small jpeg".to_vec();
    let pdf = b"%PDF-1.4 menu".to_vec();
    let ogg = b"OggS voice note".to_vec();
    media_answer(&graph, "IMG1", "image/jpeg", &jpeg);
    media_answer(&graph, "DOC1", "application/pdf", &pdf);
    media_answer(&graph, "AUD1", "audio/ogg; codecs=opus", &ogg);
    let token = app.login().await;
    let m = |id: &str, ago: i64, kind: &str, body: Value| {
        let mut v = json!({"from": CUSTOMER, "id": id, "timestamp": ts(ago), "type": kind});
        v[kind] = body;
        v
    };
    let messages = vec![
        m("wamid.1", 80, "text", json!({"body": HANDOFF})),
        m(
            "wamid.2",
            70,
            "image",
            json!({"id": "IMG1", "mime_type": "image/jpeg", "sha256": "x", "caption": "our menu?"}),
        ),
        m(
            "wamid.3",
            60,
            "document",
            json!({"id": "DOC1", "mime_type": "application/pdf", "sha256": "x", "filename": "menu.pdf"}),
        ),
        m(
            "wamid.4",
            50,
            "audio",
            json!({"id": "AUD1", "mime_type": "audio/ogg; codecs=opus", "sha256": "x", "voice": true}),
        ),
        m(
            "wamid.5",
            40,
            "location",
            json!({"latitude": 40.4168, "longitude": -3.7038, "name": "Sol", "address": "Puerta del Sol, Madrid"}),
        ),
        json!({"from": CUSTOMER, "id": "wamid.6", "timestamp": ts(30), "type": "interactive",
               "context": {"from": "15550783881", "id": "wamid.OUT0"},
               "interactive": {"type": "button_reply", "button_reply": {"id": "yes-please", "title": "Yes please"}}}),
        m(
            "wamid.7",
            20,
            "interactive",
            json!({"type": "list_reply", "list_reply": {"id": "size-m", "title": "Medium", "description": "M"}}),
        ),
        m(
            "wamid.8",
            10,
            "button",
            json!({"payload": "STOP_PROMOS", "text": "Stop promotions"}),
        ),
        m(
            "wamid.9",
            5,
            "reaction",
            json!({"message_id": "wamid.OUT0", "emoji": "👍"}),
        ),
    ];
    let answer = notify(&app, &notification(messages, vec![])).await;
    assert_eq!(answer["received"]["messages"], 9, "{answer}");
    let id = the_conversation(&app, &token).await;
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
            "image",
            "document",
            "voice",
            "location",
            "interactive",
            "interactive",
            "button",
            "unsupported"
        ]
    );
    assert_eq!(customer[1]["text"], "[image] our menu?");
    assert_eq!(customer[1]["payload"]["caption"], "our menu?");
    assert_eq!(customer[2]["media_filename"], "menu.pdf");
    assert_eq!(
        customer[4]["payload"],
        json!({"latitude": 40.4168, "longitude": -3.7038, "name": "Sol", "address": "Puerta del Sol, Madrid"})
    );
    assert_eq!(
        customer[5]["payload"],
        json!({"id": "yes-please", "title": "Yes please", "reply_to": "wamid.OUT0"})
    );
    assert_eq!(customer[5]["text"], "Yes please");
    assert_eq!(customer[6]["payload"]["id"], "size-m");
    assert_eq!(
        customer[7]["payload"],
        json!({"payload": "STOP_PROMOS", "text": "Stop promotions"})
    );
    assert_eq!(customer[8]["payload"]["type"], "reaction");
    let conv = app.conversation(&token, &id).await;
    assert_eq!(conv["contact"]["name"], "Jörg");
    assert_eq!(conv["contact"]["phone"], format!("+{CUSTOMER}"));
    assert_eq!(conv["contact"]["external_id"], CUSTOMER);
    assert_eq!(conv["network"], "whatsapp");

    // Files are fetched after the answer, in two authenticated steps, and then served.
    for (i, bytes, mime) in [
        (1, &jpeg, "image/jpeg"),
        (2, &pdf, "application/pdf"),
        (3, &ogg, "audio/ogg"),
    ] {
        let mid = customer[i]["id"].as_str().expect("id").to_owned();
        let stored = app
            .message_where(&token, &id, "file stored", |m| {
                m["id"] == mid.as_str() && m["media_url"].is_string()
            })
            .await;
        assert_eq!(stored["media_pending"], false);
        assert_eq!(stored["media_url"], format!("/api/files/{mid}"));
        let (s, ct, body) = app
            .get_bytes(Some(&token), &format!("/api/files/{mid}"))
            .await;
        assert_eq!(s, 200);
        assert!(ct.starts_with(mime), "{ct}");
        assert_eq!(&body, bytes);
        assert!(app.data_dir.join(format!("media/{id}/{mid}")).is_file());
        let (s, _, _) = app.get_bytes(None, &format!("/api/files/{mid}")).await;
        assert_eq!(s, 401, "files need a login");
    }
    for path in [
        "/v25.0/IMG1",
        "/lookaside/IMG1",
        "/v25.0/DOC1",
        "/lookaside/DOC1",
    ] {
        let calls = graph.calls_to("GET", path);
        assert_eq!(calls.len(), 1, "{path}");
        assert_eq!(
            calls[0].header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{path}"
        );
    }
    assert!(
        sends(&graph, |_| true).is_empty(),
        "handed to a person: nobody answered"
    );
}

async fn several_entries_and_messages_in_one_notification(b: Backend) {
    let (app, _graph) = start(b, |_| {}).await;
    let token = app.login().await;
    let other = "447700900123";
    let body = json!({"object": "whatsapp_business_account", "entry": [
        entry(CUSTOMER, "Jörg", vec![text("wamid.A1", 30, HANDOFF), text("wamid.A2", 20, "still there?")], vec![]),
        entry(other, "Amy", vec![json!({"from": other, "id": "wamid.B1", "timestamp": ts(10), "type": "text", "text": {"body": HANDOFF}})], vec![status("wamid.unknown", "delivered")]),
    ]});
    let answer = notify(&app, &body).await;
    assert_eq!(answer["received"]["messages"], 3, "{answer}");
    assert_eq!(answer["received"]["statuses"], 1, "{answer}");
    let list = app.conversations(&token).await;
    assert_eq!(list.len(), 2);
    let amy = list
        .iter()
        .find(|c| c["contact"]["name"] == "Amy")
        .expect("Amy");
    assert_eq!(amy["contact"]["phone"], "+447700900123");
    let jorg = list
        .iter()
        .find(|c| c["contact"]["name"] == "Jörg")
        .expect("Jörg");
    let id = jorg["id"].as_str().expect("id");
    let texts: Vec<Value> = app
        .messages(&token, id)
        .await
        .iter()
        .filter(|m| m["author"] == "customer")
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(texts, [json!(HANDOFF), json!("still there?")]);

    // A message for another business number is not ours.
    let mut stray = notification(vec![text("wamid.C1", 5, "hi")], vec![]);
    stray["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = json!("999");
    let answer = notify(&app, &stray).await;
    assert_eq!(answer["received"]["skipped"], 1, "{answer}");
    assert_eq!(
        app.messages(&token, id).await.len(),
        2 + 1,
        "two messages and the handoff note"
    );
}

/// A file that cannot be downloaded says so on its message (pushed to agents at once), and a
/// temporary failure is tried again until the file arrives.
async fn failed_media_downloads_say_so_and_are_tried_again(b: Backend) {
    let (app, graph) = start(b, |_| {}).await;
    let token = app.login().await;
    let mut ws = crate::helpers::WsClient::connect(&app.base, &token, None).await;
    ws.next_json(WAIT).await.expect("hello");
    // The lookup answers without a URL: nothing to fetch, ever.
    graph.on(
        "GET",
        "/v25.0/IMGX",
        Reply::json(
            200,
            json!({"mime_type": "image/jpeg", "id": "IMGX", "messaging_product": "whatsapp"}),
        ),
    );
    // This one fails for a while (more than a round of quick tries), then works.
    media_answer(&graph, "IMGY", "image/png", b"\x89PNG");
    let busy = json!({"error": {"message": "busy", "code": 2, "is_transient": true}});
    graph.script("GET", "/v25.0/IMGY", vec![Reply::json(503, busy); 5]);
    let image = |wamid: &str, media: &str| {
        json!({"from": CUSTOMER, "id": wamid, "timestamp": ts(1), "type": "image",
               "image": {"id": media, "mime_type": "image/jpeg", "sha256": "x"}})
    };
    notify(
        &app,
        &notification(
            vec![text("wamid.T", 2, HANDOFF), image("wamid.X", "IMGX")],
            vec![],
        ),
    )
    .await;
    let id = the_conversation(&app, &token).await;
    let failed = app
        .message_where(&token, &id, "the failure recorded", |m| {
            m["external_id"] == "wamid.X" && m["media_error"].is_string()
        })
        .await;
    assert_eq!(failed["media_pending"], false, "{failed}");
    assert!(
        failed["media_error"]
            .as_str()
            .is_some_and(|e| e.starts_with("could not download the attachment")),
        "{failed}"
    );
    ws.until("the update pushed", WAIT, |f| {
        f["type"] == "message.updated" && f["message"]["external_id"] == "wamid.X"
    })
    .await;

    notify(&app, &notification(vec![image("wamid.Y", "IMGY")], vec![])).await;
    app.message_where(&token, &id, "a temporary failure shown", |m| {
        m["external_id"] == "wamid.Y"
            && m["media_error"]
                .as_str()
                .is_some_and(|e| e.contains("trying again"))
    })
    .await;
    let stored = app
        .message_where(&token, &id, "the file after a later try", |m| {
            m["external_id"] == "wamid.Y" && m["media_url"].is_string()
        })
        .await;
    assert_eq!(
        stored["media_error"],
        Value::Null,
        "the failure is over: {stored}"
    );
    assert_eq!(stored["media_pending"], false);
}

async fn duplicates_are_ignored_and_messages_are_ordered_by_provider_time(b: Backend) {
    let (app, graph) = start(b, |_| {}).await;
    media_answer(&graph, "IMG9", "image/png", b"\x89PNG");
    let token = app.login().await;
    let later = text("wamid.LATER", 10, HANDOFF);
    let image = json!({"from": CUSTOMER, "id": "wamid.IMG", "timestamp": ts(30), "type": "image", "image": {"id": "IMG9", "mime_type": "image/png", "sha256": "x"}});
    let earlier = text("wamid.EARLIER", 60, "first, but delivered last");
    notify(
        &app,
        &notification(vec![later.clone(), image.clone()], vec![]),
    )
    .await;
    let id = the_conversation(&app, &token).await;
    app.message_where(&token, &id, "image stored", |m| m["media_url"].is_string())
        .await;
    // Meta retries for days and batches differently: the same messages again, with a new one.
    let answer = notify(&app, &notification(vec![earlier, later.clone()], vec![])).await;
    assert_eq!(
        (
            answer["received"]["messages"].as_u64(),
            answer["received"]["duplicates"].as_u64()
        ),
        (Some(1), Some(1)),
        "{answer}"
    );
    let answer = notify(&app, &notification(vec![image, later], vec![])).await;
    assert_eq!(answer["received"]["duplicates"], 2, "{answer}");
    let msgs = app.messages(&token, &id).await;
    let customer: Vec<&str> = msgs
        .iter()
        .filter(|m| m["author"] == "customer")
        .map(|m| m["external_id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(customer, ["wamid.EARLIER", "wamid.IMG", "wamid.LATER"]);
    let conv = app.conversation(&token, &id).await;
    assert_eq!(conv["unread_count"], 3);
    assert_eq!(
        conv["last_message_preview"], HANDOFF,
        "the latest by provider time"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        graph.calls_to("GET", "/lookaside/IMG9").len(),
        1,
        "a stored file is not fetched again"
    );
}

async fn statuses_move_forward_only_whatever_their_order(b: Backend) {
    let c = given_a_whatsapp_conversation(b).await;
    let sent = c.replied("On it!").await;
    assert_eq!(sent["delivery_status"], "queued");
    let sent = c.delivery(&sent["id"], "sent").await;
    let wamid = sent["external_id"]
        .as_str()
        .expect("the provider's id is recorded")
        .to_owned();
    assert!(wamid.starts_with("wamid.OUT"), "{wamid}");

    // Read arrives first (Meta skips `delivered` when both happen at once), then the rest.
    for st in ["read", "delivered", "sent", "failed"] {
        notify(&c.app, &notification(vec![], vec![status(&wamid, st)])).await;
    }
    let m = c
        .app
        .message_where(&c.token, &c.id, "read", |m| m["id"] == sent["id"])
        .await;
    assert_eq!(
        (m["delivery_status"].as_str(), m["failure_reason"].as_str()),
        (Some("read"), None)
    );
}

async fn a_failure_reported_by_webhook_shows_its_code_and_title(b: Backend) {
    let c = given_a_whatsapp_conversation(b).await;
    let m = c.replied("Are you there?").await;
    let sent = c.delivery(&m["id"], "sent").await;
    let failed = json!({"id": sent["external_id"], "status": "failed", "timestamp": ts(0), "recipient_id": CUSTOMER,
        "errors": [{"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
                    "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
                    "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]});
    notify(&c.app, &notification(vec![], vec![failed])).await;
    let m = c.delivery(&m["id"], "failed").await;
    assert_eq!(m["failure_reason"], "131047: Re-engagement message");
}

/// A status that overtakes our record of the send is kept and applied once the id is known.
async fn a_status_that_overtakes_the_send_is_applied_once_its_id_is_known(b: Backend) {
    let c = given_a_whatsapp_conversation(b).await;
    notify(
        &c.app,
        &notification(vec![], vec![status("wamid.EARLY", "delivered")]),
    )
    .await;
    c.provider.script(
        "POST",
        SEND_PATH,
        [Reply::json(
            200,
            json!({"messaging_product": "whatsapp", "contacts": [], "messages": [{"id": "wamid.EARLY"}]}),
        )],
    );
    let third = c.replied("Third").await;
    let m = c
        .app
        .message_where(&c.token, &c.id, "early status applied", |m| {
            m["id"] == third["id"] && m["delivery_status"] != "queued"
        })
        .await;
    assert_eq!(
        (m["delivery_status"].as_str(), m["external_id"].as_str()),
        (Some("delivered"), Some("wamid.EARLY"))
    );
}

async fn a_reply_is_the_documented_text_request(b: Backend) {
    let c = given_a_whatsapp_conversation(b).await;
    c.replied("Hello Jörg, how can I help?").await;
    let call = eventually("the text at the Graph API", WAIT, || async {
        c.provider.calls_to("POST", SEND_PATH).into_iter().next()
    })
    .await;
    assert_eq!(
        call.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(call.header("content-type"), Some("application/json"));
    assert_eq!(
        call.json(),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER,
               "type": "text", "text": {"preview_url": false, "body": "Hello Jörg, how can I help?"}})
    );
}

/// An attachment is stored and offered to Meta by a signed public link, with its caption.
async fn an_image_is_offered_by_a_signed_public_link_with_its_caption(b: Backend) {
    let c = given_a_whatsapp_conversation(b).await;
    let (app, token, id) = (&c.app, &c.token, &c.id);
    let png = b"\x89PNG\r\n\x1a\n a picture".to_vec();
    let (s, sent) = app
        .post_bytes(
            token,
            &format!("/api/conversations/{id}/attachments?caption=Our%20menu"),
            "image/png",
            &png,
        )
        .await;
    assert_eq!(s, 201, "{sent}");
    assert_eq!(
        (sent["kind"].as_str(), sent["text"].as_str()),
        (Some("image"), Some("[image] Our menu"))
    );
    let mid = sent["id"].as_str().expect("id").to_owned();
    let body = eventually("the image at the Graph API", WAIT, || async {
        sends(&c.provider, |b| b["type"] == "image")
            .into_iter()
            .next()
    })
    .await;
    let link = body["image"]["link"].as_str().expect("link").to_owned();
    assert!(
        link.starts_with(&format!("{PUBLIC_URL}/media/{mid}?sig=")),
        "{link}"
    );
    assert_eq!(
        body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER,
               "type": "image", "image": {"link": link, "caption": "Our menu"}})
    );
    let path = link.trim_start_matches(PUBLIC_URL);
    let (s, ct, fetched) = app.get_bytes(None, path).await;
    assert_eq!(
        (s, ct.as_str(), fetched),
        (200, "image/png", png.clone()),
        "the provider can fetch it"
    );
    let (s, _, _) = app.get_bytes(None, &format!("/media/{mid}?sig=00")).await;
    assert_eq!(s, 403, "not without the signature");
    let (s, _, mine) = app
        .get_bytes(Some(token), &format!("/api/files/{mid}"))
        .await;
    assert_eq!((s, mine), (200, png));
}

async fn a_document_keeps_its_name(b: Backend) {
    let c = given_a_whatsapp_conversation(b).await;
    let (s, _) = c
        .app
        .post_bytes(
            &c.token,
            &format!(
                "/api/conversations/{}/attachments?filename=prices.pdf",
                c.id
            ),
            "application/pdf",
            b"%PDF-1.4",
        )
        .await;
    assert_eq!(s, 201);
    let doc = eventually("the document at the Graph API", WAIT, || async {
        sends(&c.provider, |b| b["type"] == "document")
            .into_iter()
            .next()
    })
    .await;
    assert_eq!(doc["document"]["filename"], "prices.pdf");
    assert!(doc["document"]["link"]
        .as_str()
        .is_some_and(|l| l.starts_with(PUBLIC_URL)));
}

async fn bad_uploads_are_refused_with_a_clear_error(b: Backend) {
    let c = given_a_whatsapp_conversation(b).await;
    for (ct, bytes, status) in [
        ("multipart/form-data; boundary=x", &b"x"[..], 400),
        ("image/png", &b""[..], 422),
    ] {
        let (s, body) = c
            .app
            .post_bytes(
                &c.token,
                &format!("/api/conversations/{}/attachments", c.id),
                ct,
                bytes,
            )
            .await;
        assert_eq!(s, status, "{body}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        c.provider.calls_to("POST", SEND_PATH).is_empty(),
        "nothing sent"
    );
}

/// The assistant answers WhatsApp customers through the same API.
async fn the_assistant_answers_through_the_graph_api(b: Backend) {
    let (app, graph) = start(b, |_| {}).await;
    let other = "34600111222";
    notify(&app, &json!({"object": "whatsapp_business_account", "entry": [entry(other, "Ana", vec![
        json!({"from": other, "id": "wamid.ANA", "timestamp": ts(2), "type": "text", "text": {"body": "What are your opening hours?"}})], vec![])]}))
    .await;
    let answer = eventually("the assistant's answer at the Graph API", WAIT, || async {
        sends(&graph, |b| b["to"] == other).into_iter().next()
    })
    .await;
    assert_eq!(answer["type"], "text");
    assert!(
        answer["text"]["body"]
            .as_str()
            .unwrap_or_default()
            .contains("Monday"),
        "{answer}"
    );
}

async fn free_form_replies_outside_the_window_are_refused_before_any_call(b: Backend) {
    let (app, graph) = start(b, |_| {}).await;
    let token = app.login().await;
    // The customer's last message is 25 hours old.
    notify(
        &app,
        &notification(
            vec![text("wamid.OLD", 25 * 3600, "What are your opening hours?")],
            vec![],
        ),
    )
    .await;
    let id = the_conversation(&app, &token).await;
    let conv = app.conversation(&token, &id).await;
    assert_eq!(
        (
            conv["window_open"].as_bool(),
            conv["agent_may_reply"].as_bool()
        ),
        (Some(false), Some(false))
    );
    let (s, body) = app
        .post(
            &token,
            &format!("/api/conversations/{id}/messages"),
            &json!({"text": "Sorry for the wait"}),
        )
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (422, Some("window_closed")),
        "{body}"
    );
    let (s, body) = app
        .post_bytes(
            &token,
            &format!("/api/conversations/{id}/attachments"),
            "image/png",
            b"\x89PNG",
        )
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (422, Some("window_closed")),
        "{body}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        graph.calls_to("POST", SEND_PATH).is_empty(),
        "no call to the provider, not even the assistant's"
    );
    assert!(
        !app.data_dir
            .join(format!("media/{id}"))
            .read_dir()
            .map(|mut d| d.next().is_some())
            .unwrap_or(false),
        "the refused file is not kept"
    );

    // A new customer message opens it again.
    notify(
        &app,
        &notification(vec![text("wamid.NEW", 1, HANDOFF)], vec![]),
    )
    .await;
    let (s, _) = app
        .post(
            &token,
            &format!("/api/conversations/{id}/messages"),
            &json!({"text": "Sorry for the wait"}),
        )
        .await;
    assert_eq!(s, 201);
}

async fn a_permanent_provider_error_shows_on_the_message_and_is_not_retried(b: Backend) {
    let c = given_a_whatsapp_conversation(b).await;
    c.provider.script("POST", SEND_PATH, [Reply::json(400, json!({"error": {
        "message": "(#131047) Re-engagement message", "type": "OAuthException", "code": 131047,
        "error_data": {"messaging_product": "whatsapp", "details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
        "fbtrace_id": "AbCdEf"}}))]);
    let m = c.replied("Hello?").await;
    let failed = c.delivery(&m["id"], "failed").await;
    assert_eq!(failed["failure_reason"], "131047: Re-engagement message");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        c.provider.calls_to("POST", SEND_PATH).len(),
        1,
        "a permanent error is not retried"
    );
}

/// Over the number's throughput: retried after the second Meta asks for.
async fn a_throughput_error_is_retried_after_the_second_meta_asks_for(b: Backend) {
    let c = given_a_whatsapp_conversation(b).await;
    c.provider.script("POST", SEND_PATH, [Reply::json(400, json!({"error": {"message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429, "fbtrace_id": "x"}}))]);
    let m = c.replied("Busy day").await;
    c.delivery(&m["id"], "sent").await;
    let calls: Vec<_> = c
        .provider
        .calls_to("POST", SEND_PATH)
        .into_iter()
        .filter(|c| c.json()["text"]["body"] == "Busy day")
        .collect();
    assert_eq!(calls.len(), 2);
    let gap = calls[1].at - calls[0].at;
    assert!(gap >= Duration::from_millis(900), "backed off {gap:?}");
}

/// A Graph API that does not answer in time is given up on and asked again: the message is
/// not stuck behind a hung request.
async fn a_send_that_hangs_is_timed_out_and_tried_again(b: Backend) {
    let c = given_a_whatsapp_conversation_with(b, |s| s.outbox.request_timeout_ms = 500).await;
    c.provider.script(
        "POST",
        SEND_PATH,
        [Reply::json(
            200,
            json!({"messaging_product": "whatsapp", "contacts": [], "messages": [{"id": "wamid.TOO_LATE"}]}),
        )
        .after(Duration::from_secs(3))],
    );
    let m = c.replied("Anyone home?").await;
    let sent = c.delivery(&m["id"], "sent").await;
    assert!(
        sent["external_id"]
            .as_str()
            .is_some_and(|e| e.starts_with("wamid.OUT")),
        "the second answer's id: {sent}"
    );
    let calls = c.provider.calls_to("POST", SEND_PATH);
    assert_eq!(calls.len(), 2, "the hung request, then the one answered");
    assert!(calls[1].at - calls[0].at >= Duration::from_millis(500));
    assert_eq!(calls[0].body, calls[1].body, "the same request again");
}

async fn an_outage_leaves_messages_queued_then_they_go_out(b: Backend) {
    let c = given_a_whatsapp_conversation_with(b, |s| s.outbox.max_attempts = 20).await;
    let down = json!({"error": {"message": "Service temporarily unavailable", "code": 2, "is_transient": true}});
    c.provider.script(
        "POST",
        SEND_PATH,
        [
            Reply::json(503, down.clone()),
            Reply::json(500, json!({})),
            Reply::json(503, down),
        ],
    );
    let m = c.replied("Still here").await;
    eventually("first failure", WAIT, || async {
        (!c.provider.calls_to("POST", SEND_PATH).is_empty()).then_some(())
    })
    .await;
    let queued = c
        .app
        .message_where(&c.token, &c.id, "queued", |x| x["id"] == m["id"])
        .await;
    assert_eq!(queued["delivery_status"], "queued", "not lost, not failed");
    let sent = c.delivery(&m["id"], "sent").await;
    assert!(sent["external_id"]
        .as_str()
        .is_some_and(|e| e.starts_with("wamid.OUT")));
    let calls = c.provider.calls_to("POST", SEND_PATH);
    assert_eq!(calls.len(), 4);
    assert!(
        calls.iter().all(|c| c.body == calls[0].body),
        "the same request each time"
    );
}

async fn sends_from_one_number_respect_its_throughput(b: Backend) {
    let c = given_a_whatsapp_conversation_with(b, |s| {
        for inbox in &mut s.inboxes {
            if let ChannelSettings::Whatsapp(wa) = &mut inbox.channel {
                wa.throughput_per_second = NonZeroU32::new(4);
            }
        }
    })
    .await;
    for i in 0..6 {
        c.replied(&format!("part {i}")).await;
    }
    let calls = eventually("six sends", WAIT, || async {
        let calls = c.provider.calls_to("POST", SEND_PATH);
        (calls.len() == 6).then_some(calls)
    })
    .await;
    let span = calls[5].at - calls[0].at;
    assert!(
        span >= Duration::from_millis(1100),
        "6 sends at 4/s took only {span:?}"
    );
}

async fn deleting_a_conversation_removes_its_files(b: Backend) {
    let (app, graph) = start(b, |_| {}).await;
    media_answer(&graph, "IMG5", "image/jpeg", b"\xff\xd8 jpeg");
    let token = app.login().await;
    let image = json!({"from": CUSTOMER, "id": "wamid.IMG5", "timestamp": ts(5), "type": "image", "image": {"id": "IMG5", "mime_type": "image/jpeg", "sha256": "x"}});
    notify(
        &app,
        &notification(vec![text("wamid.T", 6, HANDOFF), image], vec![]),
    )
    .await;
    let id = the_conversation(&app, &token).await;
    let stored = app
        .message_where(&token, &id, "stored", |m| m["media_url"].is_string())
        .await;
    let (s, _) = app
        .post_bytes(
            &token,
            &format!("/api/conversations/{id}/attachments"),
            "image/png",
            b"\x89PNG",
        )
        .await;
    assert_eq!(s, 201);
    let dir = app.data_dir.join(format!("media/{id}"));
    assert_eq!(dir.read_dir().expect("dir").count(), 2);
    let (s, _) = app
        .delete(&token, &format!("/api/conversations/{id}"))
        .await;
    assert_eq!(s, 204);
    eventually("files removed", WAIT, || async {
        (!dir.exists()).then_some(())
    })
    .await;
    let (s, _, _) = app
        .get_bytes(Some(&token), stored["media_url"].as_str().expect("url"))
        .await;
    assert_eq!(s, 404);
}

async fn templates_are_listed_with_their_inbox(b: Backend) {
    let (app, _graph) = start(b, |_| {}).await;
    let token = app.login().await;
    let (s, inboxes) = app.get(&token, "/api/inboxes").await;
    assert_eq!(s, 200, "{inboxes}");
    let wa = inboxes["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == "wa")
        .expect("wa")
        .clone();
    assert_eq!(wa["channel"], "whatsapp");
    assert_eq!(wa["service_window_hours"], 24);
    assert_eq!(wa["start_needs_template"], true);
    assert_eq!(
        wa["templates"],
        json!([{"name": "order_update", "language": "en_US", "body": "Your order {{1}} ships on {{2}}.", "parameters": ["order number", "date"]}])
    );
    let support = inboxes["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == "support")
        .expect("support")
        .clone();
    assert_eq!(
        (
            support["channel"].as_str(),
            support["templates"].as_array().map(Vec::len)
        ),
        (Some("api"), Some(0))
    );
}

/// A customer whose last message is 30 hours old: only a template may reach them.
async fn given_a_whatsapp_conversation_outside_the_window(b: Backend) -> Conversation {
    let (app, provider) = start(b, |_| {}).await;
    let token = app.login().await;
    notify(
        &app,
        &notification(vec![text("wamid.OLD", 30 * 3600, HANDOFF)], vec![]),
    )
    .await;
    let id = the_conversation(&app, &token).await;
    Conversation {
        app,
        token,
        id,
        provider,
    }
}

async fn a_template_with_wrong_name_language_or_parameters_is_refused(b: Backend) {
    let c = given_a_whatsapp_conversation_outside_the_window(b).await;
    let path = format!("/api/conversations/{}/template", c.id);
    for (body, code) in [
        (
            json!({"name": "nope", "parameters": []}),
            "validation_failed",
        ),
        (
            json!({"name": "order_update", "parameters": ["#42"]}),
            "validation_failed",
        ),
        (
            json!({"name": "order_update", "language": "es", "parameters": ["#42", "lunes"]}),
            "validation_failed",
        ),
        (
            json!({"name": "order_update", "parameters": ["#42", " "]}),
            "validation_failed",
        ),
        (
            json!({"name": "order_update", "parameters": ["#42", "Monday"], "extra": 1}),
            "bad_request",
        ),
    ] {
        let (s, answer) = c.app.post(&c.token, &path, &body).await;
        assert_eq!(answer["error"], code, "{body} -> {s} {answer}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(c.provider.calls_to("POST", SEND_PATH).is_empty());
}

async fn a_template_is_sent_outside_the_window_once_per_client_id(b: Backend) {
    let c = given_a_whatsapp_conversation_outside_the_window(b).await;
    let path = format!("/api/conversations/{}/template", c.id);
    let (s, message) = c
        .app
        .post(&c.token, &path, &json!({"name": "order_update", "language": "en_US", "parameters": ["#42", "Monday"], "client_id": "tpl-1"}))
        .await;
    assert_eq!(s, 201, "{message}");
    assert_eq!(message["kind"], "template");
    assert_eq!(message["text"], "Your order #42 ships on Monday.");
    assert_eq!(
        message["payload"]["template"]["parameters"],
        json!(["#42", "Monday"])
    );
    // The same client id again sends once.
    let (s, again) = c
        .app
        .post(
            &c.token,
            &path,
            &json!({"name": "order_update", "parameters": ["#42", "Monday"], "client_id": "tpl-1"}),
        )
        .await;
    assert_eq!((s, &again["id"]), (201, &message["id"]));
    let call = eventually("the template at the Graph API", WAIT, || async {
        c.provider.calls_to("POST", SEND_PATH).into_iter().next()
    })
    .await;
    assert_eq!(
        call.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(
        call.json(),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER, "type": "template",
               "template": {"name": "order_update", "language": {"code": "en_US"},
                            "components": [{"type": "body", "parameters": [{"type": "text", "text": "#42"}, {"type": "text", "text": "Monday"}]}]}})
    );
    c.delivery(&message["id"], "sent").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(c.provider.calls_to("POST", SEND_PATH).len(), 1);
}

async fn a_template_does_not_open_the_window(b: Backend) {
    let c = given_a_whatsapp_conversation_outside_the_window(b).await;
    let (s, message) = c
        .app
        .post(
            &c.token,
            &format!("/api/conversations/{}/template", c.id),
            &json!({"name": "order_update", "parameters": ["#42", "Monday"]}),
        )
        .await;
    assert_eq!(s, 201, "{message}");
    c.delivery(&message["id"], "sent").await;
    let (s, _) = c.reply("hi").await;
    assert_eq!(s, 422, "free text is still refused");
}

async fn a_refused_start_of_a_conversation_stores_nothing(b: Backend) {
    let (app, graph) = start(b, |_| {}).await;
    let token = app.login().await;
    for (body, code) in [
        (
            json!({"inbox": "wa", "name": "Ana", "phone": "600 111 222", "text": "hello"}),
            "validation_failed",
        ),
        (
            json!({"inbox": "wa", "name": "Ana", "template": "order_update", "parameters": ["#1", "Monday"]}),
            "validation_failed",
        ),
        (
            json!({"inbox": "wa", "name": "Ana", "phone": "12", "template": "order_update", "parameters": ["#1", "Monday"]}),
            "validation_failed",
        ),
        (
            json!({"inbox": "nope", "phone": "+34600111222", "template": "order_update"}),
            "validation_failed",
        ),
        (
            json!({"inbox": "wa", "phone": "+34600111222", "template": "order_update", "parameters": ["#1"]}),
            "validation_failed",
        ),
        (
            json!({"inbox": "wa", "phone": "+34600111222", "network": "sms", "template": "order_update", "parameters": ["#1", "x"]}),
            "validation_failed",
        ),
    ] {
        let (s, answer) = app.post(&token, "/api/conversations", &body).await;
        assert_eq!(
            (s, answer["error"].as_str()),
            (422, Some(code)),
            "{body} -> {answer}"
        );
    }
    assert!(
        app.conversations(&token).await.is_empty(),
        "a refused start stores nothing"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(graph.calls().is_empty(), "and sends nothing");
}

async fn a_template_starts_a_conversation_with_a_new_customer(b: Backend) {
    let (app, graph) = start(b, |_| {}).await;
    let token = app.login().await;
    let (s, started) = app
        .post(&token, "/api/conversations", &json!({"inbox": "wa", "name": "Ana", "phone": "+34 600 111 222", "template": "order_update", "parameters": ["#7", "Friday"]}))
        .await;
    assert_eq!(s, 201, "{started}");
    assert_eq!(started["created"], true);
    let conv = &started["conversation"];
    assert_eq!(conv["contact"]["phone"], "+34600111222");
    assert_eq!(conv["contact"]["external_id"], "34600111222");
    assert_eq!(conv["contact"]["name"], "Ana");
    assert_eq!(
        (conv["window_open"].as_bool(), conv["status"].as_str()),
        (Some(false), Some("human"))
    );
    assert_eq!(started["message"]["text"], "Your order #7 ships on Friday.");
    let call = eventually("the template at the Graph API", WAIT, || async {
        graph.calls_to("POST", SEND_PATH).into_iter().next()
    })
    .await;
    assert_eq!(call.json()["to"], "34600111222");
    assert_eq!(call.json()["template"]["name"], "order_update");

    // Her answer lands in the same conversation and opens the window.
    let id = conv["id"].as_str().expect("id").to_owned();
    notify(&app, &json!({"object": "whatsapp_business_account", "entry": [entry("34600111222", "Ana", vec![
        json!({"from": "34600111222", "id": "wamid.ANA1", "timestamp": ts(1), "type": "text", "text": {"body": "Thanks!"}})], vec![])]}))
    .await;
    assert_eq!(app.conversations(&token).await.len(), 1);
    let conv = app.conversation(&token, &id).await;
    assert_eq!(conv["window_open"], true);
    let (s, _) = app
        .post(
            &token,
            &format!("/api/conversations/{id}/messages"),
            &json!({"text": "You're welcome"}),
        )
        .await;
    assert_eq!(s, 201);

    // Starting again with the same number finds her conversation.
    let (s, again) = app
        .post(&token, "/api/conversations", &json!({"inbox": "wa", "phone": "0034600111222", "template": "order_update", "parameters": ["#8", "Monday"]}))
        .await;
    assert_eq!(
        (
            s,
            again["created"].as_bool(),
            again["conversation"]["id"].as_str()
        ),
        (200, Some(false), Some(id.as_str()))
    );
}

both_backends!(
    handshake_echoes_the_challenge_and_refuses_a_wrong_token,
    signature_is_checked_on_the_raw_bytes_before_parsing,
    every_inbound_kind_is_stored_with_its_content,
    several_entries_and_messages_in_one_notification,
    failed_media_downloads_say_so_and_are_tried_again,
    duplicates_are_ignored_and_messages_are_ordered_by_provider_time,
    statuses_move_forward_only_whatever_their_order,
    a_failure_reported_by_webhook_shows_its_code_and_title,
    a_status_that_overtakes_the_send_is_applied_once_its_id_is_known,
    a_reply_is_the_documented_text_request,
    an_image_is_offered_by_a_signed_public_link_with_its_caption,
    a_document_keeps_its_name,
    bad_uploads_are_refused_with_a_clear_error,
    the_assistant_answers_through_the_graph_api,
    free_form_replies_outside_the_window_are_refused_before_any_call,
    a_permanent_provider_error_shows_on_the_message_and_is_not_retried,
    a_throughput_error_is_retried_after_the_second_meta_asks_for,
    a_send_that_hangs_is_timed_out_and_tried_again,
    an_outage_leaves_messages_queued_then_they_go_out,
    sends_from_one_number_respect_its_throughput,
    deleting_a_conversation_removes_its_files,
    templates_are_listed_with_their_inbox,
    a_template_with_wrong_name_language_or_parameters_is_refused,
    a_template_is_sent_outside_the_window_once_per_client_id,
    a_template_does_not_open_the_window,
    a_refused_start_of_a_conversation_stores_nothing,
    a_template_starts_a_conversation_with_a_new_customer,
);
