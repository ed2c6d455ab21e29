//! Referral attribution end to end: a Click-to-WhatsApp ad (Cloud API and Twilio), a catalog
//! product, a Messenger ad on a message and an m.me link without a message
//! (`messaging_referrals`), a website visit with UTM parameters; each stored once however
//! often the webhook is retried, shown as the person's first and latest referral, and written
//! to the timeline. Also WhatsApp's opt-out signals: `user_preferences` stop / resume, and a
//! 131050 failure that overtakes the send.

use std::time::Duration;

use serde_json::{json, Value};

use crate::{
    both_backends,
    fixtures::given_a_whatsapp_conversation,
    helpers::{eventually, Backend, Reply, TestApp},
    meta, twilio,
    whatsapp::{self, notification, notify, ts, CUSTOMER, PNID, SEND_PATH},
    widget,
};

const WAIT: Duration = Duration::from_secs(10);
const CLID: &str = "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0";

/// The contact of a conversation, as the panel loads it.
async fn contact_of(app: &TestApp, token: &str, conversation_id: &str) -> (String, Value) {
    let c = app.conversation(token, conversation_id).await;
    let contact_id = c["contact"]["id"].as_str().expect("contact id").to_owned();
    let (s, person) = app.get(token, &format!("/api/contacts/{contact_id}")).await;
    assert_eq!(s, 200, "{person}");
    (contact_id, person)
}

/// The contact's timeline entries of these kinds, newest first.
async fn activity(app: &TestApp, token: &str, contact_id: &str, kinds: &str) -> Vec<Value> {
    let (s, page) = app
        .get(
            token,
            &format!("/api/contacts/{contact_id}/activity?kinds={kinds}"),
        )
        .await;
    assert_eq!(s, 200, "{page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

fn ctwa_message(id: &str, body: &str) -> Value {
    json!({"from": CUSTOMER, "id": id, "timestamp": ts(5), "type": "text", "text": {"body": body},
        "referral": {"source_url": "https://fb.me/3cr4Wqqkv", "source_id": "120226305854810726",
            "source_type": "ad", "headline": "Summer sale: 30% off", "body": "Tap to chat about the sale",
            "media_type": "image", "image_url": "https://scontent.xx.fbcdn.net/v/ad.jpg",
            "thumbnail_url": "https://scontent.xx.fbcdn.net/v/thumb.jpg", "ctwa_clid": CLID,
            "welcome_message": {"text": "Hi! How can we help?"}}})
}

/// A CTWA ad's first message, delivered three times (Meta retries): one referral with its
/// click id and headline, one timeline entry; a later product question is the latest
/// referral while the ad stays the first touch.
async fn a_ctwa_ad_retried_is_stored_once_and_shown(b: Backend) {
    let (app, _graph) = whatsapp::start(b, |_| {}).await;
    let token = app.login().await;
    let ad = notification(
        vec![ctwa_message("wamid.CTWA1", "Is the sale still on?")],
        vec![],
    );
    for _ in 0..3 {
        notify(&app, &ad).await;
    }
    let id = whatsapp::the_conversation(&app, &token).await;
    let (contact_id, person) = contact_of(&app, &token, &id).await;
    let r = &person["referral"];
    assert_eq!(r["first"]["kind"], "ctwa_ad", "{person}");
    assert_eq!(r["first"]["ctwa_clid"], CLID);
    assert_eq!(r["first"]["headline"], "Summer sale: 30% off");
    assert_eq!(r["first"]["source_id"], "120226305854810726");
    assert_eq!(
        r["first"]["extra"]["welcome_message"],
        "Hi! How can we help?"
    );
    assert_eq!(r["first"]["id"], r["latest"]["id"]);
    let entries = activity(&app, &token, &contact_id, "referral_captured").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["detail"]["kind"], "ctwa_ad");
    assert_eq!(entries[0]["detail"]["headline"], "Summer sale: 30% off");
    // The message is stored once too.
    let texts: Vec<Value> = app
        .messages(&token, &id)
        .await
        .into_iter()
        .filter(|m| m["author"] == "customer")
        .collect();
    assert_eq!(texts.len(), 1);

    let product = json!({"from": CUSTOMER, "id": "wamid.PROD1", "timestamp": ts(1), "type": "text",
        "text": {"body": "Is this in stock?"},
        "context": {"from": "15550783881", "id": "wamid.CATALOG1",
            "referred_product": {"catalog_id": "2201742053284510", "product_retailer_id": "sku-42"}}});
    notify(&app, &notification(vec![product.clone()], vec![])).await;
    notify(&app, &notification(vec![product], vec![])).await;
    let (_, person) = contact_of(&app, &token, &id).await;
    let r = &person["referral"];
    assert_eq!(r["first"]["kind"], "ctwa_ad", "{person}");
    assert_eq!(r["latest"]["kind"], "product");
    assert_eq!(r["latest"]["product_retailer_id"], "sku-42");
    assert_eq!(r["latest"]["ctwa_clid"], Value::Null);
    assert_eq!(
        activity(&app, &token, &contact_id, "referral_captured")
            .await
            .len(),
        2
    );
}

/// A WhatsApp message through Twilio after a CTWA ad: the `Referral*` fields become the
/// same referral, once under retries.
async fn a_twilio_whatsapp_referral_is_stored_once(b: Backend) {
    let (app, _api) = twilio::start(b, |_| {}).await;
    let token = app.login().await;
    let params: Vec<(String, String)> = [
        ("MessageSid", "SMref1"),
        ("SmsMessageSid", "SMref1"),
        ("AccountSid", twilio::SID),
        ("From", "whatsapp:+447700900123"),
        ("To", "whatsapp:+14155550100"),
        ("Body", "Hi, I saw your ad"),
        ("NumMedia", "0"),
        ("ProfileName", "Ana"),
        ("WaId", "447700900123"),
        ("MessageType", "text"),
        ("ReferralSourceId", "120226305854810726"),
        ("ReferralSourceType", "ad"),
        ("ReferralSourceUrl", "https://fb.me/3cr4Wqqkv"),
        ("ReferralHeadline", "Summer sale"),
        ("ReferralBody", "Chat with us"),
        ("ReferralCtwaClid", CLID),
        ("ReferralNumMedia", "0"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    twilio::inbound(&app, &params).await;
    twilio::inbound(&app, &params).await;
    let c = twilio::conversation_with(&app, &token, "whatsapp:+447700900123").await;
    let id = c["id"].as_str().expect("id").to_owned();
    let (contact_id, person) = contact_of(&app, &token, &id).await;
    let r = &person["referral"]["first"];
    assert_eq!(r["kind"], "ctwa_ad", "{person}");
    assert_eq!(r["ctwa_clid"], CLID);
    assert_eq!(r["headline"], "Summer sale");
    assert_eq!(r["source_url"], "https://fb.me/3cr4Wqqkv");
    assert_eq!(
        activity(&app, &token, &contact_id, "referral_captured")
            .await
            .len(),
        1
    );
}

/// A Messenger ad's first message and, later, the same person opening the thread from an
/// m.me link without writing (`messaging_referrals`): each stored once under retries, the ad
/// first and the link latest.
async fn messenger_referrals_on_a_message_and_alone(b: Backend) {
    let (app, _graph) = meta::start(b, |_| {}).await;
    let token = app.login().await;
    let message = meta::from_customer(
        2000,
        json!({"message": {"mid": "m_ad1", "text": "Is this still available?",
        "referral": {"ref": "summer-promo", "ad_id": "6045246247433", "source": "ADS", "type": "OPEN_THREAD",
            "ads_context_data": {"ad_title": "Summer shoes", "photo_url": "https://scontent.xx.fbcdn.net/ad.jpg", "post_id": "1234_5678"}}}}),
    );
    let first = meta::page(vec![message]);
    meta::notify(&app, &first).await;
    meta::notify(&app, &first).await;
    let id = meta::the_conversation(&app, &token, "fb").await;
    let opened = meta::page(vec![meta::from_customer(
        0,
        json!({"referral": {"ref": "newsletter", "source": "SHORTLINK", "type": "OPEN_THREAD"}}),
    )]);
    for _ in 0..3 {
        let answer = meta::notify(&app, &opened).await;
        assert_eq!(answer["received"]["messages"], 0, "{answer}");
    }
    let (contact_id, person) = contact_of(&app, &token, &id).await;
    let r = &person["referral"];
    assert_eq!(r["first"]["kind"], "messenger_ad", "{person}");
    assert_eq!(r["first"]["source_id"], "6045246247433");
    assert_eq!(r["first"]["ref"], "summer-promo");
    assert_eq!(r["first"]["headline"], "Summer shoes");
    assert_eq!(r["latest"]["kind"], "m_me");
    assert_eq!(r["latest"]["ref"], "newsletter");
    assert_eq!(r["latest"]["message_id"], Value::Null);
    assert_eq!(r["latest"]["conversation_id"], id.as_str());
    let entries = activity(&app, &token, &contact_id, "referral_captured").await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0]["detail"]["kind"], "m_me");
    // Nobody to attribute it to: a referral from a stranger without a thread is skipped.
    let stranger = json!({"object": "page", "entry": [{"id": meta::PAGE, "time": meta::now_ms(), "messaging": [
        {"sender": {"id": "999"}, "recipient": {"id": meta::PAGE}, "timestamp": meta::now_ms(),
         "referral": {"ref": "x", "source": "SHORTLINK", "type": "OPEN_THREAD"}}]}]});
    let answer = meta::notify(&app, &stranger).await;
    assert_eq!(answer["received"]["skipped"], 1, "{answer}");
}

/// A visitor who came from a campaign starts a chat: the widget's attribution becomes a
/// `widget_utm` referral with the first message; later messages add nothing, and a bad URL
/// is dropped, never refused.
async fn a_widget_visit_with_utm_is_a_referral(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let s = widget::session(&app, None).await;
    let visitor = s["visitor_token"].as_str().expect("token").to_owned();
    let mut ws = widget::visitor(&app, &visitor).await;
    let attribution = json!({
        "landing_url": "https://shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=bf&gclid=EAIaIQ",
        "page_url": "https://shop.example/contact",
        "referrer": "https://www.google.com/",
        "params": {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "bf", "gclid": "EAIaIQ", "color": "red"}
    });
    for (text, client) in [("Do you ship to Spain?", "k1"), ("And to Portugal?", "k2")] {
        ws.send_json(&json!({"type": "message", "text": text, "client_id": client, "attribution": attribution}))
            .await;
        ws.until("ack", WAIT, |v| {
            v["type"] == "ack" && v["client_id"] == client
        })
        .await;
    }
    let (_, list) = app.get(&token, "/api/conversations?channel=widget").await;
    let id = list["items"][0]["id"]
        .as_str()
        .expect("widget conversation")
        .to_owned();
    let (contact_id, person) = contact_of(&app, &token, &id).await;
    let r = &person["referral"]["first"];
    assert_eq!(r["kind"], "widget_utm", "{person}");
    assert_eq!(r["utm_source"], "google");
    assert_eq!(r["utm_campaign"], "bf");
    assert_eq!(r["referrer"], "https://www.google.com/");
    assert_eq!(r["page_url"], "https://shop.example/contact");
    assert_eq!(r["extra"]["gclid"], "EAIaIQ");
    assert_eq!(r["extra"].get("color"), None);
    assert_eq!(
        activity(&app, &token, &contact_id, "referral_captured")
            .await
            .len(),
        1
    );

    // Another visitor with a hostile attribution: the message goes through, the bad URLs go.
    let s = widget::session(&app, None).await;
    let other = s["visitor_token"].as_str().expect("token").to_owned();
    let mut ws = widget::visitor(&app, &other).await;
    let hostile = json!({"landing_url": "javascript:alert(1)", "referrer": "x".repeat(5000),
        "params": {"utm_campaign": "<img src=x onerror=alert(1)>"}});
    ws.send_json(
        &json!({"type": "message", "text": "hi", "client_id": "h1", "attribution": hostile}),
    )
    .await;
    ws.until("ack", WAIT, |v| {
        v["type"] == "ack" && v["client_id"] == "h1"
    })
    .await;
    // A frame whose attribution is not an object is refused as a bad frame.
    ws.send_json(&json!({"type": "message", "text": "hi", "client_id": "h2", "attribution": 7}))
        .await;
    ws.until("error", WAIT, |v| {
        v["type"] == "error" && v["error"] == "bad_frame"
    })
    .await;
    let (_, list) = app.get(&token, "/api/conversations?channel=widget").await;
    let hostile_id = list["items"]
        .as_array()
        .and_then(|items| items.iter().find(|c| c["id"] != id.as_str()))
        .and_then(|c| c["id"].as_str())
        .expect("second widget conversation")
        .to_owned();
    let (_, person) = contact_of(&app, &token, &hostile_id).await;
    let r = &person["referral"]["first"];
    assert_eq!(
        r["utm_campaign"], "<img src=x onerror=alert(1)>",
        "{person}"
    );
    assert_eq!(
        (&r["landing_url"], &r["referrer"]),
        (&Value::Null, &Value::Null)
    );
}

fn preference(value: &str, at: i64) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "user_preferences",
        "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PNID},
            "contacts": [{"profile": {"name": "Jörg"}, "wa_id": CUSTOMER}],
            "user_preferences": [{"wa_id": CUSTOMER, "detail": format!("User requested to {value} marketing messages"),
                "category": "marketing_messages", "value": value, "timestamp": at}]}}]}]})
}

/// `user_preferences` stop unsubscribes the contact (by the provider), resume resubscribes
/// it; a resume never undoes an agent's unsubscribe.
async fn user_preferences_stop_and_resume(b: Backend) {
    let c = given_a_whatsapp_conversation(b).await;
    let now = chrono::Utc::now().timestamp();
    let (contact_id, person) = contact_of(&c.app, &c.token, &c.id).await;
    assert_eq!(person["contact"]["unsubscribed_at"], Value::Null);
    notify(&c.app, &preference("stop", now - 60)).await;
    notify(&c.app, &preference("stop", now - 60)).await;
    let (_, person) = contact_of(&c.app, &c.token, &c.id).await;
    assert_ne!(
        person["contact"]["unsubscribed_at"],
        Value::Null,
        "{person}"
    );
    let entries = activity(&c.app, &c.token, &contact_id, "unsubscribed").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["detail"]["by"], "provider");
    notify(&c.app, &preference("resume", now - 30)).await;
    let (_, person) = contact_of(&c.app, &c.token, &c.id).await;
    assert_eq!(
        person["contact"]["unsubscribed_at"],
        Value::Null,
        "{person}"
    );
    assert_eq!(
        activity(&c.app, &c.token, &contact_id, "resubscribed")
            .await
            .len(),
        1
    );

    // An agent unsubscribes the person: WhatsApp's resume does not undo it.
    let (s, _) = c
        .app
        .post(
            &c.token,
            &format!("/api/contacts/{contact_id}/unsubscribe"),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200);
    notify(&c.app, &preference("resume", now)).await;
    let (_, person) = contact_of(&c.app, &c.token, &c.id).await;
    assert_ne!(
        person["contact"]["unsubscribed_at"],
        Value::Null,
        "{person}"
    );
    assert_eq!(
        activity(&c.app, &c.token, &contact_id, "resubscribed")
            .await
            .len(),
        1
    );
}

/// A 131050 failure that arrives before the send's answer (parked until its id is known)
/// still marks the contact opted out once the id is recorded.
async fn a_parked_131050_failure_unsubscribes_the_contact(b: Backend) {
    let c = given_a_whatsapp_conversation(b).await;
    let failed = json!({"id": "wamid.EARLY50", "status": "failed", "timestamp": ts(0), "recipient_id": CUSTOMER,
        "errors": [{"code": 131050, "title": "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business",
                    "message": "Unable to deliver the message", "error_data": {"details": "The user has chosen to stop receiving marketing messages"}}]});
    notify(&c.app, &notification(vec![], vec![failed])).await;
    c.provider.script(
        "POST",
        SEND_PATH,
        [Reply::json(
            200,
            json!({"messaging_product": "whatsapp", "contacts": [], "messages": [{"id": "wamid.EARLY50"}]}),
        )],
    );
    let m = c.replied("Our spring offers are here").await;
    let m = c.delivery(&m["id"], "failed").await;
    assert!(
        m["failure_reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("131050"),
        "{m}"
    );
    let (contact_id, _) = contact_of(&c.app, &c.token, &c.id).await;
    let person = eventually("the contact opted out", WAIT, || async {
        let (_, p) = c
            .app
            .get(&c.token, &format!("/api/contacts/{contact_id}"))
            .await;
        (p["contact"]["unsubscribed_at"] != Value::Null).then_some(p)
    })
    .await;
    assert_ne!(person["contact"]["unsubscribed_at"], Value::Null);
    let entries = activity(&c.app, &c.token, &contact_id, "unsubscribed").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["detail"]["by"], "provider");
}

both_backends!(
    a_ctwa_ad_retried_is_stored_once_and_shown,
    a_twilio_whatsapp_referral_is_stored_once,
    messenger_referrals_on_a_message_and_alone,
    a_widget_visit_with_utm_is_a_referral,
    user_preferences_stop_and_resume,
    a_parked_131050_failure_unsubscribes_the_contact,
);
