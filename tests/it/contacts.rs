//! One person across channels (E.164) and blocking: the same phone on WhatsApp, SMS and the API
//! channel is one person; a blocked person's messages are kept but never answered.

use std::time::Duration;

use serde_json::{json, Value};
use switchboard::providers::api;

use crate::{
    both_backends,
    helpers::{eventually, Backend, FakeProvider, Reply, TestApp, SECRET},
    twilio, whatsapp,
};

const WAIT: Duration = Duration::from_secs(10);
/// The customer's WhatsApp id, and the same number in E.164.
const WA_ID: &str = "447700900123";
const E164: &str = "+447700900123";

/// WhatsApp (`wa`), Twilio (`sms`) and the API channel on one server; one stand-in plays both
/// the Graph API and Twilio (their paths differ).
async fn start(b: Backend) -> (TestApp, FakeProvider) {
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

async fn on_api(app: &TestApp, id: &str, text: &str) {
    let body = json!({"external_id": id, "contact": {"external_id": "crm-42", "name": "Amy", "phone": "07700 900123"}, "text": text});
    let raw = serde_json::to_vec(&body).expect("json");
    let resp = app
        .inbound_raw("support", &raw, Some(&api::sign(SECRET, &raw)))
        .await;
    assert_eq!(resp.status().as_u16(), 200);
}

async fn conversation_of(app: &TestApp, token: &str, inbox: &str) -> Value {
    eventually(&format!("{inbox} conversation"), WAIT, || async {
        app.conversations(token)
            .await
            .into_iter()
            .find(|c| c["inbox_id"] == inbox)
    })
    .await
}

async fn the_same_phone_on_every_channel_is_one_person(b: Backend) {
    let (app, _stand_in) = start(b).await;
    let token = app.login().await;
    on_whatsapp(&app, "wamid.1", whatsapp::HANDOFF).await;
    twilio::inbound(&app, &twilio::sms("SM1", E164, whatsapp::HANDOFF)).await;
    on_api(&app, "api-1", whatsapp::HANDOFF).await;
    let wa = conversation_of(&app, &token, "wa").await;
    let sms = conversation_of(&app, &token, "sms").await;
    let crm = conversation_of(&app, &token, "support").await;
    for c in [&wa, &sms, &crm] {
        assert_eq!(c["contact"]["phone"], E164, "{c}");
    }
    let contact = wa["contact"]["id"].as_str().expect("id");
    let (s, person) = app.get(&token, &format!("/api/contacts/{contact}")).await;
    assert_eq!(s, 200, "{person}");
    assert_eq!(person["contact"]["id"], contact);
    let mut channels: Vec<(String, String)> = person["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .map(|c| {
            (
                c["channel"].as_str().unwrap_or_default().to_owned(),
                c["conversation_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    channels.sort();
    let mut want = vec![
        ("api".to_owned(), crm["id"].as_str().expect("id").to_owned()),
        (
            "twilio".to_owned(),
            sms["id"].as_str().expect("id").to_owned(),
        ),
        (
            "whatsapp".to_owned(),
            wa["id"].as_str().expect("id").to_owned(),
        ),
    ];
    want.sort();
    assert_eq!(channels, want);
    let (s, _) = app.get(&token, "/api/contacts/not-an-id").await;
    assert_eq!(s, 404);
    let (s, _) = app
        .get(&token, &format!("/api/contacts/{}", uuid::Uuid::now_v7()))
        .await;
    assert_eq!(s, 404);
}

/// An SMS number carries no name; the same number's WhatsApp profile does: the SMS contact is
/// shown with it, whichever channel wrote first.
async fn an_sms_contact_takes_the_name_the_same_person_has_elsewhere(b: Backend) {
    let (app, _stand_in) = start(b).await;
    let token = app.login().await;
    on_whatsapp(&app, "wamid.1", whatsapp::HANDOFF).await;
    twilio::inbound(&app, &twilio::sms("SM1", E164, whatsapp::HANDOFF)).await;
    let sms = conversation_of(&app, &token, "sms").await;
    assert_eq!(sms["contact"]["name"], "Amy", "{sms}");

    // The other way round: SMS first, the name arrives later with WhatsApp.
    let other = "+447700900456";
    twilio::inbound(&app, &twilio::sms("SM2", other, whatsapp::HANDOFF)).await;
    whatsapp::notify(
        &app,
        &json!({"object": "whatsapp_business_account", "entry": [whatsapp::entry("447700900456", "Bea", vec![
            json!({"from": "447700900456", "id": "wamid.2", "timestamp": whatsapp::ts(1), "type": "text", "text": {"body": "hi"}})], vec![])]}),
    )
    .await;
    let named = eventually("the SMS contact named", WAIT, || async {
        app.conversations(&token)
            .await
            .into_iter()
            .find(|c| c["inbox_id"] == "sms" && c["contact"]["phone"] == other)
            .filter(|c| c["contact"]["name"] == "Bea")
    })
    .await;
    assert_eq!(named["contact"]["name"], "Bea");
}

async fn a_blocked_person_is_kept_but_never_answered(b: Backend) {
    let (app, stand_in) = start(b).await;
    let token = app.login().await;
    on_whatsapp(&app, "wamid.1", "What are your opening hours?").await;
    eventually("the assistant's answer", WAIT, || async {
        (!stand_in.calls_to("POST", whatsapp::SEND_PATH).is_empty()).then_some(())
    })
    .await;
    twilio::inbound(
        &app,
        &twilio::sms("SM1", E164, "What are your opening hours?"),
    )
    .await;
    eventually("the assistant's SMS", WAIT, || async {
        (!stand_in.calls_to("POST", twilio::SEND_PATH).is_empty()).then_some(())
    })
    .await;
    let wa = conversation_of(&app, &token, "wa").await;
    let (wa_id, contact) = (
        wa["id"].as_str().expect("id").to_owned(),
        wa["contact"]["id"].as_str().expect("id").to_owned(),
    );
    let sms_id = conversation_of(&app, &token, "sms").await["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let (s, person) = app
        .post(
            &token,
            &format!("/api/contacts/{contact}/block"),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200, "{person}");
    assert_eq!(person["contact"]["blocked"], true);
    for id in [&wa_id, &sms_id] {
        assert_eq!(
            app.conversation(&token, id).await["contact"]["blocked"],
            true,
            "the same person on SMS too"
        );
    }

    // Kept, never answered, on either channel.
    let before = (
        stand_in.calls_to("POST", whatsapp::SEND_PATH).len(),
        stand_in.calls_to("POST", twilio::SEND_PATH).len(),
    );
    on_whatsapp(&app, "wamid.2", "What are your opening hours?").await;
    twilio::inbound(
        &app,
        &twilio::sms("SM2", E164, "What are your opening hours?"),
    )
    .await;
    // …nor on a channel where they appear only now.
    on_api(&app, "api-1", "What are your opening hours?").await;
    let crm = conversation_of(&app, &token, "support").await;
    assert_eq!(crm["contact"]["blocked"], true);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        (
            stand_in.calls_to("POST", whatsapp::SEND_PATH).len(),
            stand_in.calls_to("POST", twilio::SEND_PATH).len()
        ),
        before
    );
    let crm_id = crm["id"].as_str().expect("id");
    for (id, replies_before) in [(wa_id.as_str(), 1), (sms_id.as_str(), 1), (crm_id, 0)] {
        let msgs = app.messages(&token, id).await;
        let count = |author: &str| msgs.iter().filter(|m| m["author"] == author).count();
        assert_eq!(count("assistant"), replies_before, "{id}: not answered");
        assert_eq!(
            count("customer"),
            replies_before + 1,
            "{id}: the message is kept"
        );
    }
    // Agents are told why they cannot answer; notes are fine.
    let (s, body) = app
        .post(
            &token,
            &format!("/api/conversations/{wa_id}/messages"),
            &json!({"text": "Hello"}),
        )
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (409, Some("contact_blocked")),
        "{body}"
    );
    let (s, body) = app
        .post(
            &token,
            &format!("/api/conversations/{wa_id}/template"),
            &json!({"name": "order_update", "parameters": ["#1", "Monday"]}),
        )
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (409, Some("contact_blocked")),
        "{body}"
    );
    let (s, _) = app
        .post(
            &token,
            &format!("/api/conversations/{wa_id}/messages"),
            &json!({"text": "spam again", "private": true}),
        )
        .await;
    assert_eq!(s, 201);

    // Unblocked: answered again.
    let (s, person) = app
        .post(
            &token,
            &format!("/api/contacts/{contact}/unblock"),
            &json!({}),
        )
        .await;
    assert_eq!(
        (s, person["contact"]["blocked"].as_bool()),
        (200, Some(false))
    );
    assert_eq!(
        app.conversation(&token, crm_id).await["contact"]["blocked"],
        false
    );
    on_whatsapp(&app, "wamid.3", "What are your opening hours?").await;
    eventually("answered again", WAIT, || async {
        (stand_in.calls_to("POST", whatsapp::SEND_PATH).len() > before.0).then_some(())
    })
    .await;
    let (s, _) = app
        .post(
            &token,
            &format!("/api/conversations/{wa_id}/messages"),
            &json!({"text": "Hello"}),
        )
        .await;
    assert_eq!(s, 201);
}

both_backends!(
    an_sms_contact_takes_the_name_the_same_person_has_elsewhere,
    the_same_phone_on_every_channel_is_one_person,
    a_blocked_person_is_kept_but_never_answered,
);
