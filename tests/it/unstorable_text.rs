//! Text no database can store (NUL) and other hostile text: the same behaviour on SQLite and
//! PostgreSQL. What a customer wrote through a provider is cleaned and stored; what an
//! integrator or an agent sends to our API is refused with 422 naming the field; nothing
//! ever gets a 500, and one bad request never fails anyone else's.

use std::time::Duration;

use serde_json::{json, Value};
use switchboard::{
    config::MetaPlatform,
    providers::{api, meta as meta_channel, twilio as twilio_channel, whatsapp as wa_channel},
};

use crate::{
    both_backends,
    helpers::{customer, eventually, setting, status_json, Backend, FakeProvider, TestApp, SECRET},
    meta, twilio, whatsapp,
};

const WAIT: Duration = Duration::from_secs(20);

/// One server with every channel: API (`support`), WhatsApp (`wa`), Twilio (`sms`) and
/// Messenger (`fb`), the providers played by one stand-in.
pub async fn all_channels(b: Backend) -> (TestApp, FakeProvider) {
    let provider = FakeProvider::start().await;
    let url = provider.url.clone();
    let app = TestApp::spawn_with(b, |s| {
        let mut wa = whatsapp::whatsapp_inbox(&url);
        crate::helpers::quiet(&mut wa);
        s.inboxes.push(wa);
        s.inboxes.push(twilio::twilio_inbox(&url));
        let mut fb = meta::meta_inbox("fb", MetaPlatform::Messenger, meta::PAGE, &url);
        crate::helpers::quiet(&mut fb);
        s.inboxes.push(fb);
        s.server.public_url = Some(setting("https://inbox.example.test"));
    })
    .await;
    (app, provider)
}

/// POSTs raw bytes to a JSON webhook with a signature header.
pub async fn post_signed(
    app: &TestApp,
    path: &str,
    header: &str,
    signature: &str,
    raw: &[u8],
) -> (u16, Value) {
    let resp = app
        .client
        .post(format!("{}{path}", app.base))
        .header("Content-Type", "application/json")
        .header(header, signature)
        .body(raw.to_vec())
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub async fn api_raw(app: &TestApp, raw: &[u8]) -> (u16, Value) {
    post_signed(
        app,
        "/webhooks/api/support",
        api::SIGNATURE_HEADER,
        &api::sign(SECRET, raw),
        raw,
    )
    .await
}

pub async fn whatsapp_raw(app: &TestApp, raw: &[u8]) -> (u16, Value) {
    let sig = wa_channel::sign(whatsapp::APP_SECRET, raw);
    post_signed(
        app,
        "/webhooks/whatsapp/wa",
        "X-Hub-Signature-256",
        &sig,
        raw,
    )
    .await
}

pub async fn meta_raw(app: &TestApp, raw: &[u8]) -> (u16, Value) {
    let sig = meta_channel::sign(meta::APP_SECRET, raw);
    post_signed(app, "/webhooks/meta/fb", "X-Hub-Signature-256", &sig, raw).await
}

pub async fn twilio_form(app: &TestApp, params: &[(String, String)]) -> (u16, String) {
    let resp = app
        .client
        .post(format!("{}/webhooks/twilio/sms", app.base))
        .header(
            "X-Twilio-Signature",
            twilio_channel::expected_signature(twilio::AUTH_TOKEN, twilio::PUBLIC, params),
        )
        .form(params)
        .send()
        .await
        .expect("request");
    (
        resp.status().as_u16(),
        resp.text().await.unwrap_or_default(),
    )
}

fn assert_names(status: u16, body: &Value, field: &str) {
    assert_eq!(status, 422, "{field}: {body}");
    assert_eq!(body["error"], "validation_failed", "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("`{field}`")), "{field}: {body}");
}

/// The texts stored in a conversation of an inbox, waiting until `n` customer messages are in.
async fn customer_texts(app: &TestApp, token: &str, inbox: &str, n: usize) -> Vec<String> {
    eventually(
        &format!("{n} customer messages in {inbox}"),
        WAIT,
        || async {
            let list = app.conversations(token).await;
            let id = list.iter().find(|c| c["inbox_id"] == inbox)?["id"]
                .as_str()?
                .to_owned();
            let texts: Vec<String> = app
                .messages(token, &id)
                .await
                .iter()
                .filter(|m| m["author"] == "customer")
                .filter_map(|m| m["text"].as_str().map(str::to_owned))
                .collect();
            (texts.len() >= n).then_some(texts)
        },
    )
    .await
}

async fn nul_is_cleaned_from_customers_and_refused_from_our_api(b: Backend) {
    let (app, _provider) = all_channels(b).await;
    let token = app.login().await;

    // The API channel: its sender can fix the request, so it is told which field.
    for (body, field) in [
        (
            json!({"external_id": "n1", "contact": {"external_id": "c1"}, "text": "a\u{0}b"}),
            "text",
        ),
        (
            json!({"external_id": "n2", "contact": {"external_id": "c1", "name": "An\u{0}a"}, "text": "hi"}),
            "contact.name",
        ),
        (
            json!({"external_id": "n\u{0}3", "contact": {"external_id": "c1"}, "text": "hi"}),
            "external_id",
        ),
        (
            json!({"external_id": "n4", "contact": {"external_id": "c\u{0}1"}, "text": "hi"}),
            "contact.external_id",
        ),
    ] {
        let (status, answer) = status_json(app.inbound(&body).await).await;
        assert_names(status, &answer, field);
    }
    // A lone surrogate is not Unicode: serde refuses the JSON itself.
    let (status, answer) = api_raw(
        &app,
        br#"{"external_id":"n5","contact":{"external_id":"c1"},"text":"\ud800 lone"}"#,
    )
    .await;
    assert_eq!(
        (status, &answer["error"]),
        (400, &json!("bad_request")),
        "{answer}"
    );
    assert!(
        app.conversations(&token).await.is_empty(),
        "nothing of a refused request is stored"
    );

    // Providers: the customer cannot write again, so the text is stored without the NUL.
    let (status, answer) = whatsapp_raw(
        &app,
        &serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [
            whatsapp::entry(whatsapp::CUSTOMER, "J\u{0}örg", vec![whatsapp::text("wamid.N1", 0, "where is\u{0} my order")], vec![])
        ]}))
        .expect("json"),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        customer_texts(&app, &token, "wa", 1).await,
        ["where is my order"]
    );
    let wa = app
        .conversations(&token)
        .await
        .into_iter()
        .find(|c| c["inbox_id"] == "wa")
        .expect("the WhatsApp conversation");
    assert_eq!(wa["contact"]["name"], "Jörg", "{wa}");

    let (status, body) = twilio_form(
        &app,
        &twilio::sms(
            "SMnul00000000000000000000000000001",
            twilio::PHONE,
            "hel\u{0}lo",
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(customer_texts(&app, &token, "sms", 1).await, ["hello"]);

    let (status, answer) = meta_raw(
        &app,
        &serde_json::to_vec(&meta::page(vec![meta::text(
            "m_nul1",
            0,
            "\u{0}bonjour\u{0}",
        )]))
        .expect("json"),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(customer_texts(&app, &token, "fb", 1).await, ["bonjour"]);

    // Agents: every route that takes text, in bodies and in queries.
    let id = wa["id"].as_str().expect("id");
    for (method, path, body, field) in [
        (
            "POST",
            format!("/api/conversations/{id}/messages"),
            json!({"text": "x\u{0}y"}),
            "text",
        ),
        (
            "POST",
            format!("/api/conversations/{id}/messages"),
            json!({"text": "ok", "client_id": "\u{0}"}),
            "client_id",
        ),
        (
            "PUT",
            format!("/api/conversations/{id}/tags"),
            json!({"tags": ["fine", "b\u{0}d"]}),
            "tags[1]",
        ),
        (
            "POST",
            format!("/api/conversations/{id}/follow-up"),
            json!({"preset": "1h", "reason": "call\u{0}back"}),
            "reason",
        ),
        (
            "POST",
            "/api/sms/segments".to_owned(),
            json!({"text": "a\u{0}"}),
            "text",
        ),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let (status, answer) = app.call(method, &token, &path, Some(&body)).await;
        assert_names(status, &answer, field);
    }
    for (path, field) in [
        ("/api/conversations?q=%00".to_owned(), "q"),
        ("/api/conversations?q=a%00b".to_owned(), "q"),
        ("/api/conversations?inbox=%00".to_owned(), "inbox"),
        ("/api/conversations?tag=x%00".to_owned(), "tag"),
        (
            format!("/api/conversations/{id}/messages?before=%00"),
            "before",
        ),
        ("/api/events?since=1&x%00=1".to_owned(), "x\\u0000"),
    ] {
        let (status, answer) = app.get(&token, &path).await;
        assert_names(status, &answer, field);
    }
    let resp = app
        .client
        .post(format!("{}/api/auth/login", app.base))
        .json(&json!({"email": "admin@test.local\u{0}", "password": "x"}))
        .send()
        .await
        .expect("login");
    let (status, answer) = status_json(resp).await;
    assert_names(status, &answer, "email");
    let messages = app.messages(&token, id).await;
    assert!(
        messages.iter().all(|m| m["author"] != "agent"),
        "no refused reply was stored: {messages:?}"
    );
}

/// Six customers asking ordinary questions while three send poisoned messages, all at once:
/// every good message is acknowledged and answered by the assistant; the bad ones are
/// refused on their own.
async fn a_poisoned_message_never_fails_the_others(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let mut tasks = Vec::new();
    for sender in 0..9 {
        let (client, base) = (app.client.clone(), app.base.clone());
        tasks.push(actix_rt::spawn(async move {
            let mut statuses = Vec::new();
            for i in 0..20 {
                let text = match sender % 3 {
                    0 => format!("poisoned \u{0} {i}"),
                    _ => format!("What are your opening hours? ({i})"),
                };
                let body = customer(&format!("m-{sender}-{i}"), &format!("c-{sender}"), &text);
                let raw = serde_json::to_vec(&body).expect("json");
                let resp = client
                    .post(format!("{base}/webhooks/api/support"))
                    .header(api::SIGNATURE_HEADER, api::sign(SECRET, &raw))
                    .body(raw)
                    .send()
                    .await
                    .expect("request");
                statuses.push((sender % 3 != 0, resp.status().as_u16()));
            }
            statuses
        }));
    }
    let mut good = 0;
    for task in tasks {
        for (is_good, status) in task.await.expect("sender") {
            if is_good {
                assert_eq!(status, 200, "an ordinary message is acknowledged");
                good += 1;
            } else {
                assert_eq!(status, 422, "a poisoned message is refused on its own");
            }
        }
    }
    assert_eq!(good, 120);
    // Every acknowledged question gets the assistant's answer.
    let conversations = app.conversations(&token).await;
    assert_eq!(
        conversations.len(),
        6,
        "only the good senders have conversations"
    );
    for c in conversations {
        let id = c["id"].as_str().expect("id");
        eventually("an answer to every question", WAIT, || async {
            let messages = app.messages(&token, id).await;
            let asked = messages
                .iter()
                .filter(|m| m["author"] == "customer")
                .count();
            let answered = messages
                .iter()
                .filter(|m| m["author"] == "assistant")
                .count();
            (asked == 20 && answered == 20).then_some(())
        })
        .await;
    }
}

both_backends!(
    nul_is_cleaned_from_customers_and_refused_from_our_api,
    a_poisoned_message_never_fails_the_others,
);
