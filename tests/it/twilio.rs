//! Twilio (SMS, MMS and WhatsApp through Twilio) end to end, against a stand-in Messages API
//! that records every request: X-Twilio-Signature over the configured URL, inbound kinds and
//! media, duplicates, every MessageStatus, the exact Messages API requests with Basic auth and
//! StatusCallback, SMS segments, the WhatsApp window and 63016, an outage.

use std::time::Duration;

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use serde_json::{json, Value};
use switchboard::{
    config::{ChannelSettings, InboxSettings, Secret, Settings, TemplateSettings, TwilioChannel},
    providers::twilio,
};

use crate::{
    both_backends,
    fixtures::{given_a_twilio_conversation, given_a_twilio_conversation_with, Conversation},
    helpers::{eventually, setting, Backend, Call, FakeProvider, Reply, TestApp},
};

pub const AUTH_TOKEN: &str = "twilio-auth-token-0123456789abcdef";
pub const SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const FROM: &str = "+14155550100";
pub const PUBLIC: &str = "https://inbox.example.test/webhooks/twilio/sms";
pub const SEND_PATH: &str = "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json";
pub const PHONE: &str = "+447700900123";
const CONTENT_SID: &str = "HXb5b62575e6e4ff6129ad7c8efe1f983e";
const WAIT: Duration = Duration::from_secs(10);
pub const HANDOFF: &str = "I need to talk to someone";

pub async fn start(b: Backend, customize: impl FnOnce(&mut Settings)) -> (TestApp, FakeProvider) {
    let api = FakeProvider::start().await;
    api.on("POST", SEND_PATH, Reply::json(201, json!({"sid": "SM{seq}", "status": "queued", "num_segments": "1", "error_code": null, "error_message": null})));
    let url = api.url.clone();
    let app = TestApp::spawn_with(b, |s| {
        s.inboxes.push(twilio_inbox(&url));
        s.server.public_url = Some(setting("https://inbox.example.test"));
        customize(s);
    })
    .await;
    (app, api)
}

pub fn twilio_inbox(api_url: &str) -> InboxSettings {
    let channel = TwilioChannel {
        account_sid: setting(SID),
        from: setting(FROM),
        public_url: setting(PUBLIC),
        api_base_url: Some(setting(api_url)),
        throughput_per_second: None,
        templates: vec![TemplateSettings {
            name: "appointment".into(),
            language: "en".into(),
            body: "Your appointment is on {{1}}.".into(),
            parameters: vec!["date".into()],
            content_sid: Some(CONTENT_SID.into()),
        }],
        smart_encoding: false,
    };
    let mut t = InboxSettings::new(
        "sms",
        Secret::new(AUTH_TOKEN),
        ChannelSettings::Twilio(channel),
    );
    t.default_country_code = Some(setting("44"));
    crate::helpers::quiet(&mut t);
    t
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// An inbound SMS as Twilio posts it.
pub fn sms(sid: &str, from: &str, body: &str) -> Vec<(String, String)> {
    pairs(&[
        ("ToCountry", "US"),
        ("ToState", "CA"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("ToCity", ""),
        ("FromZip", ""),
        ("SmsSid", sid),
        ("FromState", ""),
        ("SmsStatus", "received"),
        ("FromCity", ""),
        ("Body", body),
        ("FromCountry", "GB"),
        ("To", FROM),
        ("ToZip", ""),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", SID),
        ("From", from),
        ("ApiVersion", "2010-04-01"),
    ])
}

/// POSTs form params to `path`, signed over `signed_url` (None: unsigned).
pub async fn post_form(
    app: &TestApp,
    path: &str,
    params: &[(String, String)],
    signed_url: Option<&str>,
) -> (u16, String) {
    let mut req = app.client.post(format!("{}{path}", app.base)).form(params);
    if let Some(url) = signed_url {
        req = req.header(
            "X-Twilio-Signature",
            twilio::expected_signature(AUTH_TOKEN, url, params),
        );
    }
    let resp = req.send().await.expect("request");
    (resp.status().as_u16(), resp.text().await.expect("body"))
}

pub async fn inbound(app: &TestApp, params: &[(String, String)]) {
    let (s, body) = post_form(app, "/webhooks/twilio/sms", params, Some(PUBLIC)).await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("<Response></Response>"), "{body}");
}

async fn status_callback(app: &TestApp, sid: &str, status: &str, extra: &[(&str, &str)]) {
    let mut params = pairs(&[
        ("MessageSid", sid),
        ("SmsSid", sid),
        ("MessageStatus", status),
        ("SmsStatus", status),
        ("AccountSid", SID),
        ("From", FROM),
        ("To", PHONE),
        ("ApiVersion", "2010-04-01"),
    ]);
    params.extend(pairs(extra));
    let (s, body) = post_form(
        app,
        "/webhooks/twilio/sms/status",
        &params,
        Some(&format!("{PUBLIC}/status")),
    )
    .await;
    assert_eq!(s, 204, "{status}: {body}");
}

fn form(call: &Call) -> Vec<(String, String)> {
    twilio::parse_form(&call.body)
}

fn basic() -> String {
    format!("Basic {}", BASE64.encode(format!("{SID}:{AUTH_TOKEN}")))
}

pub async fn conversation_with(app: &TestApp, token: &str, external_id: &str) -> Value {
    eventually(
        &format!("conversation with {external_id}"),
        WAIT,
        || async {
            app.conversations(token)
                .await
                .into_iter()
                .find(|c| c["contact"]["external_id"] == external_id)
        },
    )
    .await
}

async fn signatures_are_checked_over_the_configured_url(b: Backend) {
    let (app, _api) = start(b, |_| {}).await;
    let token = app.login().await;
    let params = sms("SM0001", PHONE, HANDOFF);
    let with_port = "https://inbox.example.test:443/webhooks/twilio/sms";
    let local = format!("{}/webhooks/twilio/sms", app.base);
    for (signed, what) in [
        (None, "unsigned"),
        (Some(local.as_str()), "the URL we were reached at"),
        (
            Some("https://inbox.example.test/webhooks/twilio/other"),
            "another URL",
        ),
    ] {
        let (s, body) = post_form(&app, "/webhooks/twilio/sms", &params, signed).await;
        assert_eq!(s, 401, "{what}: {body}");
        let json: Value = serde_json::from_str(&body).expect("JSON error");
        assert_eq!(json["error"], "unauthorized");
    }
    // Signed, then one value changed in transit.
    let sig = twilio::expected_signature(AUTH_TOKEN, PUBLIC, &params);
    let mut tampered = params.clone();
    tampered[10].1 = "Send me money".into();
    let resp = app
        .client
        .post(format!("{}/webhooks/twilio/sms", app.base))
        .form(&tampered)
        .header("X-Twilio-Signature", sig)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 401);
    // A status callback signed over the inbound URL is not a status callback.
    let status = pairs(&[
        ("MessageSid", "SM9"),
        ("MessageStatus", "delivered"),
        ("AccountSid", SID),
    ]);
    let (s, _) = post_form(&app, "/webhooks/twilio/sms/status", &status, Some(PUBLIC)).await;
    assert_eq!(s, 401);
    let (s, _) = post_form(&app, "/webhooks/twilio/nope", &params, Some(PUBLIC)).await;
    assert_eq!(s, 404);
    // Signed but malformed.
    let no_from: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "From")
        .cloned()
        .collect();
    let (s, body) = post_form(&app, "/webhooks/twilio/sms", &no_from, Some(PUBLIC)).await;
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("From"), "{body}");
    assert!(app.conversations(&token).await.is_empty(), "nothing stored");

    // Twilio signs with or without the default port; both are accepted.
    inbound(&app, &params).await;
    let second = sms("SM0002", PHONE, "second");
    let (s, _) = post_form(&app, "/webhooks/twilio/sms", &second, Some(with_port)).await;
    assert_eq!(s, 200);
    let conv = conversation_with(&app, &token, PHONE).await;
    assert_eq!(conv["network"], "sms");
    let texts: Vec<Value> = app
        .messages(&token, conv["id"].as_str().expect("id"))
        .await
        .iter()
        .filter(|m| m["author"] == "customer")
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(texts, [json!(HANDOFF), json!("second")]);
}

async fn an_mms_is_one_message_with_its_files_fetched_with_the_account_credentials(b: Backend) {
    let (app, api) = start(b, |_| {}).await;
    let token = app.login().await;
    let media0 = format!("/2010-04-01/Accounts/{SID}/Messages/MM0003/Media/ME0");
    let media1 = format!("/2010-04-01/Accounts/{SID}/Messages/MM0003/Media/ME1");
    api.on(
        "GET",
        &media0,
        Reply::bytes(200, "image/jpeg", b"\xff\xd8 photo".to_vec()),
    );
    api.on(
        "GET",
        &media1,
        Reply::bytes(200, "application/pdf", b"%PDF invoice".to_vec()),
    );
    inbound(&app, &sms("SM0001", PHONE, HANDOFF)).await;
    // An MMS: text and two files.
    let mut mms = sms("MM0003", PHONE, "Here are the photo and the invoice");
    mms.retain(|(k, _)| k != "NumMedia");
    let (u0, u1) = (
        format!("{}{media0}", api.url),
        format!("{}{media1}", api.url),
    );
    mms.extend(pairs(&[
        ("NumMedia", "2"),
        ("MediaContentType0", "image/jpeg"),
        ("MediaUrl0", &u0),
        ("MediaContentType1", "application/pdf"),
        ("MediaUrl1", &u1),
    ]));
    inbound(&app, &mms).await;
    let conv = conversation_with(&app, &token, PHONE).await;
    let id = conv["id"].as_str().expect("id").to_owned();
    let msgs = app.messages(&token, &id).await;
    let mms: Vec<&Value> = msgs
        .iter()
        .filter(|m| {
            m["external_id"]
                .as_str()
                .is_some_and(|e| e.starts_with("MM0003"))
        })
        .collect();
    let kinds: Vec<&str> = mms
        .iter()
        .map(|m| m["kind"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds, ["text", "image", "document"]);
    assert_eq!(mms[0]["external_id"], "MM0003");
    for (m, bytes) in [
        (mms[1], &b"\xff\xd8 photo"[..]),
        (mms[2], &b"%PDF invoice"[..]),
    ] {
        let mid = m["id"].as_str().expect("id").to_owned();
        let stored = app
            .message_where(&token, &id, "file stored", |x| {
                x["id"] == mid.as_str() && x["media_url"].is_string()
            })
            .await;
        let (s, _, body) = app
            .get_bytes(Some(&token), stored["media_url"].as_str().expect("url"))
            .await;
        assert_eq!((s, body.as_slice()), (200, bytes));
    }
    for path in [&media0, &media1] {
        let calls = api.calls_to("GET", path);
        assert_eq!(calls.len(), 1);
        assert_eq!(
            calls[0].header("authorization"),
            Some(basic().as_str()),
            "Twilio media need the account's credentials"
        );
    }
    assert_eq!(
        app.conversation(&token, &id).await["unread_count"],
        2,
        "an MMS is one message"
    );
}

/// The same phone over WhatsApp: its own conversation (replies go out on WhatsApp), the same
/// person (E.164).
async fn whatsapp_through_twilio_is_its_own_conversation_with_the_same_person(b: Backend) {
    let c = given_a_twilio_conversation(b).await;
    let mut wa = sms("SM0004", &format!("whatsapp:{PHONE}"), "");
    wa.retain(|(k, _)| !matches!(k.as_str(), "Body" | "To"));
    wa.extend(pairs(&[
        ("To", &format!("whatsapp:{FROM}")),
        ("ProfileName", "Amy"),
        ("WaId", "447700900123"),
        ("Latitude", "51.5072"),
        ("Longitude", "-0.1276"),
        ("Label", "Office"),
        ("Address", "London"),
    ]));
    inbound(&c.app, &wa).await;
    let mut button = sms("SM0005", &format!("whatsapp:{PHONE}"), "Yes");
    button.extend(pairs(&[
        ("ButtonPayload", "confirm-42"),
        ("ButtonText", "Yes"),
    ]));
    inbound(&c.app, &button).await;
    let wconv = conversation_with(&c.app, &c.token, &format!("whatsapp:{PHONE}")).await;
    assert_ne!(wconv["id"], c.id.as_str());
    assert_eq!(wconv["network"], "whatsapp");
    assert_eq!(
        (
            wconv["contact"]["phone"].as_str(),
            wconv["contact"]["name"].as_str()
        ),
        (Some(PHONE), Some("Amy"))
    );
    let wmsgs = c
        .app
        .messages(&c.token, wconv["id"].as_str().expect("id"))
        .await;
    let customer: Vec<&Value> = wmsgs.iter().filter(|m| m["author"] == "customer").collect();
    assert_eq!(customer[0]["kind"], "location");
    assert_eq!(
        customer[0]["payload"],
        json!({"latitude": 51.5072, "longitude": -0.1276, "name": "Office", "address": "London"})
    );
    assert_eq!(customer[1]["kind"], "button");
    assert_eq!(
        customer[1]["payload"],
        json!({"payload": "confirm-42", "text": "Yes"})
    );
}

/// Twilio retries a webhook that timed out: the same MessageSid is one message.
async fn a_retried_webhook_is_one_message(b: Backend) {
    let c = given_a_twilio_conversation(b).await;
    let before = c.messages().await;
    inbound(&c.app, &sms("SM0001", PHONE, HANDOFF)).await;
    assert_eq!(c.messages().await.len(), before.len());
}

/// The agent sends `text`, and Twilio accepts it: the message's id and Twilio's sid.
async fn sent(c: &Conversation, text: &str) -> (Value, String) {
    let m = c.replied(text).await;
    let sent = c.delivery(&m["id"], "sent").await;
    (
        m["id"].clone(),
        sent["external_id"].as_str().expect("sid").to_owned(),
    )
}

async fn every_message_status_moves_forward_only(b: Backend) {
    let c = given_a_twilio_conversation(b).await;
    let (m1, sid1) = sent(&c, "One").await;
    assert!(sid1.starts_with("SM"));
    // Twilio's statuses, late, repeated and out of order.
    for st in [
        "queued",
        "sending",
        "delivered",
        "sent",
        "accepted",
        "scheduled",
        "read",
        "delivered",
        "undelivered",
    ] {
        status_callback(&c.app, &sid1, st, &[]).await;
    }
    let m = c
        .app
        .message_where(&c.token, &c.id, "read", |x| x["id"] == m1)
        .await;
    assert_eq!(
        (m["delivery_status"].as_str(), m["failure_reason"].as_str()),
        (Some("read"), None)
    );
}

async fn undelivered_and_canceled_messages_fail_with_the_reason(b: Backend) {
    let c = given_a_twilio_conversation(b).await;
    let (m2, sid2) = sent(&c, "Two").await;
    status_callback(&c.app, &sid2, "undelivered", &[("ErrorCode", "30003")]).await;
    let m = c.delivery(&m2, "failed").await;
    assert_eq!(
        m["failure_reason"],
        "30003: Unreachable destination handset"
    );

    let (m3, sid3) = sent(&c, "Three").await;
    status_callback(&c.app, &sid3, "partially_delivered", &[]).await;
    status_callback(&c.app, &sid3, "canceled", &[]).await;
    let m = c.delivery(&m3, "failed").await;
    assert!(
        m["failure_reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("canceled: "),
        "{m}"
    );
}

/// Statuses of inbound messages mean nothing here; unknown values are refused.
async fn inbound_and_unknown_statuses_change_nothing(b: Backend) {
    let c = given_a_twilio_conversation(b).await;
    let (m1, sid1) = sent(&c, "One").await;
    status_callback(&c.app, "SM0001", "received", &[]).await;
    let bad = pairs(&[
        ("MessageSid", &sid1),
        ("MessageStatus", "exploded"),
        ("AccountSid", SID),
    ]);
    let (s, body) = post_form(
        &c.app,
        "/webhooks/twilio/sms/status",
        &bad,
        Some(&format!("{PUBLIC}/status")),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    c.delivery(&m1, "sent").await;
    assert_eq!(c.provider.calls_to("POST", SEND_PATH).len(), 1);
}

/// With smart encoding, look-alikes outside GSM-7 are replaced before sending: one segment
/// instead of two, counted and stored as sent.
async fn smart_encoding_sends_look_alikes_in_gsm7(b: Backend) {
    let c = given_a_twilio_conversation_with(b, |s| {
        for inbox in &mut s.inboxes {
            if let ChannelSettings::Twilio(sms) = &mut inbox.channel {
                sms.smart_encoding = true;
            }
        }
    })
    .await;
    let text = "We\u{2019}re open Monday to Friday, 9:00\u{2013}18:00, and Saturday 10:00\u{2013}14:00. \u{201c}See you soon\u{201d}\u{2026} Thanks!";
    let (_, raw) = c
        .app
        .post(&c.token, "/api/sms/segments", &json!({"text": text}))
        .await;
    assert_eq!(
        (&raw["encoding"], &raw["segments"]),
        (&json!("UCS-2"), &json!(2))
    );
    let (_, counted) = c
        .app
        .post(
            &c.token,
            "/api/sms/segments",
            &json!({"text": text, "inbox": "sms"}),
        )
        .await;
    assert_eq!(
        (&counted["encoding"], &counted["segments"]),
        (&json!("GSM-7"), &json!(1))
    );
    let (s, m) = c.reply(text).await;
    assert_eq!((s, &m["segments"]), (201, &json!(1)), "{m}");
    let sent = "We're open Monday to Friday, 9:00-18:00, and Saturday 10:00-14:00. \"See you soon\"... Thanks!";
    assert_eq!(m["text"], sent);
    let call = eventually("the SMS at Twilio", WAIT, || async {
        c.provider.calls_to("POST", SEND_PATH).into_iter().next()
    })
    .await;
    assert!(form(&call).contains(&("Body".to_owned(), sent.to_owned())));
}

async fn a_reply_is_the_messages_api_request_with_basic_auth(b: Backend) {
    let c = given_a_twilio_conversation(b).await;
    let m = c.replied("Your order is ready").await;
    assert_eq!(m["segments"], 1);
    let call = eventually("the SMS at Twilio", WAIT, || async {
        c.provider.calls_to("POST", SEND_PATH).into_iter().next()
    })
    .await;
    assert_eq!(call.header("authorization"), Some(basic().as_str()));
    assert_eq!(
        call.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        form(&call),
        pairs(&[
            ("To", PHONE),
            ("From", FROM),
            ("Body", "Your order is ready"),
            ("StatusCallback", &format!("{PUBLIC}/status"))
        ])
    );
}

/// A long text in UCS-2 (an emoji) takes several segments, counted the way Twilio bills.
async fn a_long_text_takes_the_segments_twilio_bills(b: Backend) {
    let c = given_a_twilio_conversation(b).await;
    let long = format!("{} 🙂", "Danke schön für Ihre Geduld. ".repeat(3));
    let m = c.replied(&long).await;
    let (s, counted) = c
        .app
        .post(&c.token, "/api/sms/segments", &json!({"text": long}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(counted["encoding"], "UCS-2");
    assert_eq!(m["segments"], counted["segments"]);
    assert_eq!(counted["segments"], 2);
}

async fn the_segment_counter_answers_agents_only_and_checks_its_input(b: Backend) {
    let (app, _api) = start(b, |_| {}).await;
    let token = app.login().await;
    let (_, gsm) = app
        .post(&token, "/api/sms/segments", &json!({"text": "hello"}))
        .await;
    assert_eq!(
        gsm,
        json!({"encoding": "GSM-7", "segments": 1, "units": 5, "per_segment": [5]})
    );
    let (s, _) = app
        .post(&token, "/api/sms/segments", &json!({"txt": "hello"}))
        .await;
    assert_eq!(s, 400);
    let (s, _) = app
        .client
        .post(format!("{}/api/sms/segments", app.base))
        .json(&json!({"text": "x"}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .expect("request");
    assert_eq!(s, 401);
}

/// A file goes by MediaUrl (our signed public link) with its caption as Body.
async fn a_file_goes_by_its_signed_media_url_with_the_caption_as_body(b: Backend) {
    let c = given_a_twilio_conversation(b).await;
    let (s, sent) = c
        .app
        .post_bytes(
            &c.token,
            &format!("/api/conversations/{}/attachments?caption=Receipt", c.id),
            "image/jpeg",
            b"\xff\xd8 receipt",
        )
        .await;
    assert_eq!(s, 201, "{sent}");
    assert_eq!(sent["segments"], Value::Null);
    let mms = eventually("the MMS at Twilio", WAIT, || async {
        c.provider
            .calls_to("POST", SEND_PATH)
            .into_iter()
            .find(|c| form(c).iter().any(|(k, _)| k == "MediaUrl"))
    })
    .await;
    let f = form(&mms);
    let media_url = f
        .iter()
        .find(|(k, _)| k == "MediaUrl")
        .map(|(_, v)| v.clone())
        .expect("MediaUrl");
    assert!(
        media_url.starts_with(&format!(
            "https://inbox.example.test/media/{}?sig=",
            sent["id"].as_str().expect("id")
        )),
        "{media_url}"
    );
    assert_eq!(
        f,
        pairs(&[
            ("To", PHONE),
            ("From", FROM),
            ("Body", "Receipt"),
            ("MediaUrl", &media_url),
            ("StatusCallback", &format!("{PUBLIC}/status"))
        ])
    );
    let (s, _, bytes) = c
        .app
        .get_bytes(
            None,
            media_url.trim_start_matches("https://inbox.example.test"),
        )
        .await;
    assert_eq!((s, bytes.as_slice()), (200, &b"\xff\xd8 receipt"[..]));
}

/// A WhatsApp conversation through Twilio that an agent started with the `appointment`
/// template, before the customer answered; the template is at Twilio.
async fn given_a_whatsapp_conversation_started_with_a_template(b: Backend) -> Conversation {
    let (app, provider) = start(b, |_| {}).await;
    let token = app.login().await;
    let (s, started) = app
        .post(&token, "/api/conversations", &json!({"inbox": "sms", "name": "Bea", "phone": "07700 900456", "network": "whatsapp", "template": "appointment", "parameters": ["Friday 10:00"]}))
        .await;
    assert_eq!(s, 201, "{started}");
    assert_eq!(
        started["conversation"]["contact"]["external_id"],
        "whatsapp:+447700900456"
    );
    assert_eq!(
        started["message"]["text"],
        "Your appointment is on Friday 10:00."
    );
    assert_eq!(started["message"]["segments"], Value::Null, "not an SMS");
    eventually("the template at Twilio", WAIT, || async {
        (provider.calls_to("POST", SEND_PATH).len() == 1).then_some(())
    })
    .await;
    let id = started["conversation"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    Conversation {
        app,
        token,
        id,
        provider,
    }
}

async fn whatsapp_through_twilio_starts_with_a_content_template(b: Backend) {
    let c = given_a_whatsapp_conversation_started_with_a_template(b).await;
    let (s, body) = c
        .app
        .post(
            &c.token,
            "/api/conversations",
            &json!({"inbox": "sms", "phone": "07700 900456", "network": "whatsapp", "text": "hi"}),
        )
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (422, Some("validation_failed")),
        "free text cannot start it: {body}"
    );
    let call = eventually("the template at Twilio", WAIT, || async {
        c.provider.calls_to("POST", SEND_PATH).into_iter().next()
    })
    .await;
    assert_eq!(
        form(&call),
        pairs(&[
            ("To", "whatsapp:+447700900456"),
            ("From", &format!("whatsapp:{FROM}")),
            ("ContentSid", CONTENT_SID),
            ("ContentVariables", r#"{"1":"Friday 10:00"}"#),
            ("StatusCallback", &format!("{PUBLIC}/status"))
        ])
    );
    let (s, body) = c.reply("Free text").await;
    assert_eq!((s, body["error"].as_str()), (422, Some("window_closed")));
}

async fn an_sms_conversation_starts_with_text(b: Backend) {
    let (app, api) = start(b, |_| {}).await;
    let token = app.login().await;
    let (s, started) = app
        .post(
            &token,
            "/api/conversations",
            &json!({"inbox": "sms", "phone": "+447700900789", "text": "Your parcel is here"}),
        )
        .await;
    assert_eq!(s, 201, "{started}");
    assert_eq!(started["message"]["segments"], 1);
    let call = eventually("the SMS at Twilio", WAIT, || async {
        api.calls_to("POST", SEND_PATH).into_iter().next()
    })
    .await;
    assert!(form(&call).contains(&("Body".to_owned(), "Your parcel is here".to_owned())));
}

/// Twilio's 63016 (outside the WhatsApp window) shows on the message, whether Twilio answers
/// it at once or reports it by status callback.
async fn a_63016_from_twilio_shows_on_the_message(b: Backend) {
    let c = given_a_whatsapp_conversation_started_with_a_template(b).await;
    inbound(&c.app, &sms("SM0100", "whatsapp:+447700900456", HANDOFF)).await;
    c.provider.script("POST", SEND_PATH, [Reply::json(400, json!({"code": 63016, "message": "Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template.", "more_info": "https://www.twilio.com/docs/errors/63016", "status": 400}))]);
    let m = c.replied("Thanks for writing").await;
    let failed = c.delivery(&m["id"], "failed").await;
    assert!(
        failed["failure_reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("63016: Failed to send freeform message"),
        "{failed}"
    );
    // …and the asynchronous form of it.
    let m = c.replied("Second try").await;
    let sent = c.delivery(&m["id"], "sent").await;
    status_callback(
        &c.app,
        sent["external_id"].as_str().expect("sid"),
        "failed",
        &[("ErrorCode", "63016")],
    )
    .await;
    let failed = c.delivery(&m["id"], "failed").await;
    assert_eq!(failed["failure_reason"], "63016: Outside messaging window");
}

/// Twilio's 429 with `Retry-After`: the send waits that long, not the outbox's own backoff
/// (50–200 ms in tests).
async fn a_rate_limit_waits_the_seconds_twilio_asks_for(b: Backend) {
    let c = given_a_twilio_conversation(b).await;
    c.provider.script(
        "POST",
        SEND_PATH,
        [
            Reply::json(429, json!({"code": 20429, "message": "Too Many Requests"}))
                .header("Retry-After", "2"),
        ],
    );
    let m = c.replied("Patience").await;
    c.delivery(&m["id"], "sent").await;
    let calls = c.provider.calls_to("POST", SEND_PATH);
    assert_eq!(calls.len(), 2, "one refusal, then the send");
    let gap = calls[1].at - calls[0].at;
    assert!(gap >= Duration::from_millis(1900), "waited only {gap:?}");
}

async fn an_outage_leaves_messages_queued_then_they_go_out(b: Backend) {
    let (app, api) = start(b, |s| s.outbox.max_attempts = 20).await;
    let token = app.login().await;
    api.script(
        "POST",
        SEND_PATH,
        [
            Reply::json(
                500,
                json!({"code": 20500, "message": "Internal Server Error"}),
            ),
            Reply::json(429, json!({"code": 20429, "message": "Too Many Requests"})),
            Reply::json(503, json!({})),
        ],
    );
    // The assistant's answer to an SMS goes out through Twilio too.
    inbound(&app, &sms("SM0001", PHONE, "What are your opening hours?")).await;
    let id = conversation_with(&app, &token, PHONE).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    eventually("first failure", WAIT, || async {
        (!api.calls_to("POST", SEND_PATH).is_empty()).then_some(())
    })
    .await;
    let queued = app
        .message_where(&token, &id, "assistant reply", |m| {
            m["author"] == "assistant"
        })
        .await;
    assert_eq!(queued["delivery_status"], "queued");
    let sent = app
        .message_where(&token, &id, "sent", |m| {
            m["author"] == "assistant" && m["delivery_status"] == "sent"
        })
        .await;
    assert!(sent["external_id"]
        .as_str()
        .is_some_and(|s| s.starts_with("SM")));
    let calls = api.calls_to("POST", SEND_PATH);
    assert_eq!(calls.len(), 4);
    assert!(form(&calls[3])
        .iter()
        .any(|(k, v)| k == "Body" && v.contains("Monday")));
}

both_backends!(
    signatures_are_checked_over_the_configured_url,
    an_mms_is_one_message_with_its_files_fetched_with_the_account_credentials,
    whatsapp_through_twilio_is_its_own_conversation_with_the_same_person,
    a_retried_webhook_is_one_message,
    every_message_status_moves_forward_only,
    undelivered_and_canceled_messages_fail_with_the_reason,
    inbound_and_unknown_statuses_change_nothing,
    smart_encoding_sends_look_alikes_in_gsm7,
    a_reply_is_the_messages_api_request_with_basic_auth,
    a_long_text_takes_the_segments_twilio_bills,
    the_segment_counter_answers_agents_only_and_checks_its_input,
    a_file_goes_by_its_signed_media_url_with_the_caption_as_body,
    whatsapp_through_twilio_starts_with_a_content_template,
    an_sms_conversation_starts_with_text,
    a_63016_from_twilio_shows_on_the_message,
    a_rate_limit_waits_the_seconds_twilio_asks_for,
    an_outage_leaves_messages_queued_then_they_go_out,
);
