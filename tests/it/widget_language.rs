//! The widget in the visitor's language (the handoff acknowledgement and the satisfaction
//! question the server sends over the widget's websocket), and the visitor's typing shown to
//! the agents who may see the conversation.

use std::{collections::BTreeMap, time::Duration};

use serde_json::{json, Value};
use switchboard::{
    config::{AckTexts, ChannelSettings, InboxSettings, Secret, Settings, Visibility},
    domain::types::Role,
};

use crate::{
    both_backends,
    helpers::{status_json, Backend, TestApp, WsClient},
};

const STEP: Duration = Duration::from_secs(5);

/// The `website` inbox acknowledges handoffs and asks for a rating; `shop`, another widget
/// inbox, has its own Spanish texts.
fn languages(s: &mut Settings) {
    for inbox in &mut s.inboxes {
        inbox.handoff_ack.enabled = true;
        inbox.csat = true;
    }
    let mut shop = InboxSettings::new(
        "shop",
        Secret::new("shop-widget-secret-0123456789"),
        ChannelSettings::Widget,
    );
    shop.csat = true;
    shop.handoff_ack.languages.insert(
        "es".to_owned(),
        AckTexts {
            text: Some("¡Hola! Enseguida te atiende alguien de la tienda.".to_owned()),
            out_of_hours_text: None,
        },
    );
    shop.csat_question = BTreeMap::from([
        ("es".to_owned(), "¿Qué tal te atendimos?".to_owned()),
        ("en".to_owned(), "How did we do?".to_owned()),
    ]);
    s.inboxes.push(shop);
}

/// A visitor of `inbox` whose widget speaks `language` (sent to the session and the socket,
/// as the widget does): their token and socket.
async fn visitor_in(app: &TestApp, inbox: &str, language: &str) -> (String, WsClient) {
    let resp = app
        .client
        .post(format!("{}/widget/{inbox}/session", app.base))
        .json(&json!({ "language": language }))
        .send()
        .await
        .expect("req");
    let (s, v) = status_json(resp).await;
    assert_eq!(s, 200, "{language}: {v}");
    let token = v["visitor_token"].as_str().expect("token").to_owned();
    let url = format!(
        "{}/widget/{inbox}/ws?visitor_token={token}&language={}",
        app.base.replacen("http://", "ws://", 1),
        language.replace(' ', "%20").replace('!', "%21")
    );
    let mut ws = WsClient::connect_url(&url).await;
    let hello = ws.next_json(STEP).await.expect("hello");
    assert_eq!(hello["type"], "hello");
    (token, ws)
}

/// The visitor asks for a person, then an agent closes the conversation: the acknowledgement
/// and the survey's question, as the visitor's socket delivered them.
async fn ack_and_question(
    app: &TestApp,
    admin: &str,
    inbox: &str,
    language: &str,
) -> (Value, Value) {
    let (token, mut ws) = visitor_in(app, inbox, language).await;
    ws.send_json(
        &json!({"type": "message", "text": "I want to talk to a human", "client_id": "k1"}),
    )
    .await;
    let frames = ws
        .until("the acknowledgement", STEP, |v| {
            v["type"] == "message" && v["message"]["author"] == "assistant"
        })
        .await;
    let ack = frames.last().expect("frame")["message"]["text"].clone();
    let resp = app
        .client
        .post(format!("{}/widget/{inbox}/session", app.base))
        .json(&json!({ "visitor_token": token }))
        .send()
        .await
        .expect("req");
    let (_, s) = status_json(resp).await;
    let id = s["conversation_id"]
        .as_str()
        .expect("a conversation")
        .to_owned();
    let (st, body) = app
        .post(
            admin,
            &format!("/api/conversations/{id}/status"),
            &json!({"status": "closed"}),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let frames = ws
        .until("the survey", STEP, |v| {
            v["type"] == "message" && v["message"]["payload"]["automatic"] == "csat_survey"
        })
        .await;
    let question = frames.last().expect("frame")["message"]["text"].clone();
    (ack, question)
}

async fn the_widget_visitor_is_answered_in_their_language(b: Backend) {
    let app = TestApp::spawn_with(b, languages).await;
    let admin = app.login().await;
    let english_ack = "Thanks for your message. A person from our team will be with you shortly.";
    let table = [
        (
            "website",
            "es",
            "Gracias por tu mensaje. Una persona de nuestro equipo te atenderá en breve.",
            "¿Cómo calificarías nuestra ayuda?",
        ),
        (
            "website",
            "pt-BR",
            "Obrigado pela sua mensagem. Uma pessoa da nossa equipe vai falar com você em breve.",
            "Como você avalia a nossa ajuda?",
        ),
        (
            "website",
            "hi",
            "आपके संदेश के लिए धन्यवाद। हमारी टीम का कोई सदस्य जल्द ही आपसे बात करेगा।",
            "हमारी मदद आपको कैसी लगी?",
        ),
        // A language the widget does not speak: the default.
        (
            "website",
            "fr-FR",
            english_ack,
            "How would you rate our help?",
        ),
        // Not a language tag: ignored (the page still opens), the default.
        (
            "website",
            "klingon!!",
            english_ack,
            "How would you rate our help?",
        ),
        // The inbox's own texts win over the built-in ones; a text it left out is built in.
        (
            "shop",
            "es-MX",
            "¡Hola! Enseguida te atiende alguien de la tienda.",
            "¿Qué tal te atendimos?",
        ),
        (
            "shop",
            "pt",
            "Obrigado pela sua mensagem. Uma pessoa da nossa equipe vai falar com você em breve.",
            "Como você avalia a nossa ajuda?",
        ),
        // Its `en` question is also the one of languages without a built-in question.
        ("shop", "de", english_ack, "How did we do?"),
    ];
    for (inbox, language, ack, question) in table {
        let got = ack_and_question(&app, &admin, inbox, language).await;
        assert_eq!(got, (json!(ack), json!(question)), "{inbox} {language}");
    }
}

async fn a_language_tag_is_checked(b: Backend) {
    let app = TestApp::spawn(b).await;
    // A tag too long to be a language is refused, with the CORS headers.
    let resp = app
        .client
        .post(format!("{}/widget/website/session", app.base))
        .json(&json!({ "language": "en-".repeat(40) }))
        .send()
        .await
        .expect("req");
    let cors = resp
        .headers()
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (s, v) = status_json(resp).await;
    assert_eq!((s, cors.as_deref()), (400, Some("*")), "{v}");
    assert_eq!(v["error"], "bad_request");
    // An unknown but well-formed one is ignored: the session opens.
    for language in ["xx", "english", "es-ZZ"] {
        let resp = app
            .client
            .post(format!("{}/widget/website/session", app.base))
            .json(&json!({ "language": language }))
            .send()
            .await
            .expect("req");
        assert_eq!(status_json(resp).await.0, 200, "{language}");
    }
}

/// Typing frames other than `typing`.
fn typing_of(frames: &[Value]) -> Vec<&Value> {
    frames.iter().filter(|v| v["type"] == "typing").collect()
}

async fn the_visitors_typing_reaches_the_agents_who_may_see_it(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        s.access.visibility = Visibility::AssignedAndUnassigned;
    })
    .await;
    let (_, sam) = app.agent("sam@test.local", Role::Agent).await;
    let (_, kim) = app.agent("kim@test.local", Role::Agent).await;
    let (_, mut visitor) = visitor_in(&app, "website", "en").await;
    // Before the first message there is no conversation: nobody is told.
    visitor.send_json(&json!({"type": "typing"})).await;
    visitor
        .send_json(&json!({"type": "message", "text": "Hello there", "client_id": "k1"}))
        .await;
    visitor.until("ack", STEP, |v| v["type"] == "ack").await;
    let (_, list) = app.get(&sam, "/api/conversations?channel=widget").await;
    let id = list["items"][0]["id"].as_str().expect("listed").to_owned();
    let name = list["items"][0]["contact"]["external_id"]
        .as_str()
        .map(|e| format!("Visitor {}", &e[e.len() - 6..]))
        .expect("external id");
    // Sam takes it: Kim, who sees only her own and unassigned conversations, may not see it.
    let (st, _) = app
        .post(&sam, &format!("/api/conversations/{id}/take"), &json!({}))
        .await;
    assert_eq!(st, 200);
    let mut ws_sam = WsClient::connect(&app.base, &sam, None).await;
    ws_sam.next_json(STEP).await.expect("hello");
    let mut ws_kim = WsClient::connect(&app.base, &kim, None).await;
    ws_kim.next_json(STEP).await.expect("hello");
    ws_sam.drain(Duration::from_millis(300)).await;
    ws_kim.drain(Duration::from_millis(300)).await;

    visitor.send_json(&json!({"type": "typing"})).await;
    let got = ws_sam
        .until("the visitor typing", STEP, |v| v["type"] == "typing")
        .await;
    let typing = got.last().expect("frame");
    for (field, want) in [
        ("conversation_id", json!(id)),
        ("author", json!("customer")),
        ("agent_id", Value::Null),
        ("name", json!(name)),
        ("active", json!(true)),
    ] {
        assert_eq!(typing.get(field), Some(&want), "{field}: {typing}");
    }
    // A flood: at most one a second reaches agents.
    for _ in 0..60 {
        visitor.send_json(&json!({"type": "typing"})).await;
    }
    let flood = ws_sam.drain(Duration::from_millis(1500)).await;
    let relayed = typing_of(&flood).len();
    assert!(relayed <= 2, "{relayed} typing events relayed: {flood:#?}");
    // The visitor empties the field: one stop, and stops do not flood either.
    for _ in 0..20 {
        visitor
            .send_json(&json!({"type": "typing", "active": false}))
            .await;
    }
    let stops = ws_sam.drain(Duration::from_millis(800)).await;
    let stops = typing_of(&stops);
    assert_eq!(stops.len(), 1, "{stops:#?}");
    assert_eq!(stops[0]["active"], false);
    // Kim saw none of it.
    let kim_got = ws_kim.drain(Duration::from_millis(300)).await;
    assert!(typing_of(&kim_got).is_empty(), "{kim_got:#?}");
    // Nothing of it was stored.
    let msgs = app.messages(&sam, &id).await;
    assert!(msgs.iter().all(|m| m["text"] != "typing"), "{msgs:#?}");
}

both_backends!(
    the_widget_visitor_is_answered_in_their_language,
    a_language_tag_is_checked,
    the_visitors_typing_reaches_the_agents_who_may_see_it
);
