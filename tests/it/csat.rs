//! Automatic CSAT end to end: a closing inside the customer's window asks for a 1–5 rating
//! (WhatsApp: an interactive list to the stand-in Graph API; the API channel: text; the
//! widget: a survey message shown as stars), the answer in any form is stored without
//! reopening, anything else reopens, one survey per closing, nothing outside the window but
//! a note saying why; agents set the score by hand; the report counts it.

use std::time::Duration;

use serde_json::{json, Value};
use switchboard::{
    config::{Settings, Visibility},
    domain::{csat::CsatScore, types::Role},
};

use crate::{
    both_backends,
    fixtures::{given_a_whatsapp_conversation_with, given_an_api_conversation_with},
    helpers::{eventually, Backend, FakeProvider, TestApp},
    whatsapp::{self, notification, notify, ts, CUSTOMER, SEND_PATH},
    widget,
};

const WAIT: Duration = Duration::from_secs(10);
const SURVEY_TEXT: &str =
    "How would you rate our help? Reply with a number from 1 (bad) to 5 (excellent).";

/// Every inbox asks for a rating when a conversation closes.
fn csat_everywhere(s: &mut Settings) {
    for inbox in &mut s.inboxes {
        inbox.csat = true;
    }
}

async fn close(app: &TestApp, token: &str, id: &str) -> Value {
    let (status, body) = app
        .post(
            token,
            &format!("/api/conversations/{id}/status"),
            &json!({"status": "closed"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Waits until the conversation's score is `score`: the conversation then.
async fn rated(app: &TestApp, token: &str, id: &str, score: u8) -> Value {
    eventually(&format!("csat {score}"), WAIT, || async {
        let c = app.conversation(token, id).await;
        (c["csat"] == score).then_some(c)
    })
    .await
}

/// The system notes of a conversation with this payload event.
async fn notes(app: &TestApp, token: &str, id: &str, event: &str) -> Vec<Value> {
    app.messages(token, id)
        .await
        .into_iter()
        .filter(|m| m["author"] == "system" && m["payload"]["event"] == event)
        .collect()
}

/// The surveys the API inbox's callback received.
fn text_surveys(callbacks: &FakeProvider) -> usize {
    callbacks
        .calls()
        .iter()
        .filter(|c| c.json()["text"] == SURVEY_TEXT)
        .count()
}

async fn whatsapp_asks_with_a_list_and_a_tap_rates_without_reopening(b: Backend) {
    let c = given_a_whatsapp_conversation_with(b, csat_everywhere).await;
    let closed = close(&c.app, &c.token, &c.id).await;
    assert!(closed["csat_requested_at"].is_string(), "{closed}");
    let survey = eventually("the survey list", WAIT, || async {
        whatsapp::sends(&c.provider, |b| b["type"] == "interactive")
            .into_iter()
            .next()
    })
    .await;
    assert_eq!(survey["to"], CUSTOMER);
    let list = &survey["interactive"];
    assert_eq!(list["type"], "list");
    assert_eq!(list["body"]["text"], "How would you rate our help?");
    let rows = list["action"]["sections"][0]["rows"]
        .as_array()
        .expect("rows")
        .clone();
    let ids: Vec<&str> = rows.iter().filter_map(|r| r["id"].as_str()).collect();
    let expected: Vec<String> = CsatScore::ALL
        .iter()
        .rev()
        .map(|s| s.interactive_id())
        .collect();
    assert_eq!(ids, expected);
    // Stored as the business's message, with what it is.
    let stored = c
        .app
        .message_where(&c.token, &c.id, "the survey message", |m| {
            m["payload"]["automatic"] == "csat_survey"
        })
        .await;
    assert_eq!(stored["text"], "How would you rate our help?");
    assert_eq!(stored["payload"]["format"], "list");

    // The customer taps "⭐⭐⭐⭐⭐ Excellent".
    let tap = json!({"from": CUSTOMER, "id": "wamid.RATE", "timestamp": ts(0), "type": "interactive",
        "interactive": {"type": "list_reply", "list_reply": {"id": "csat_5", "title": "⭐⭐⭐⭐⭐ Excellent"}}});
    notify(&c.app, &notification(vec![tap], vec![])).await;
    let conv = rated(&c.app, &c.token, &c.id, 5).await;
    assert_eq!(conv["status"], "closed", "{conv}");
    assert_eq!(conv["csat_requested_at"], Value::Null);
    let received = notes(&c.app, &c.token, &c.id, "csat_received").await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["text"], "Customer rated 5/5");
    assert_eq!(received[0]["payload"]["score"], 5);
    assert!(notes(&c.app, &c.token, &c.id, "reopened").await.is_empty());
    // One list, and nothing else was sent (no assistant answer to the rating).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(c.provider.calls_to("POST", SEND_PATH).len(), 1);
}

async fn outside_the_window_nothing_is_sent_and_a_note_says_why(b: Backend) {
    let (app, graph) = whatsapp::start(b, csat_everywhere).await;
    let token = app.login().await;
    // The customer last wrote 25 hours ago.
    notify(
        &app,
        &notification(
            vec![whatsapp::text("wamid.OLD", 25 * 3600, whatsapp::HANDOFF)],
            vec![],
        ),
    )
    .await;
    let id = whatsapp::the_conversation(&app, &token).await;
    let closed = close(&app, &token, &id).await;
    assert_eq!(closed["csat_requested_at"], Value::Null, "{closed}");
    let why = notes(&app, &token, &id, "csat_not_sent").await;
    assert_eq!(why.len(), 1);
    assert_eq!(
        why[0]["text"],
        "Satisfaction survey not sent: the customer's 24-hour window has closed"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(graph.calls_to("POST", SEND_PATH).is_empty());
}

async fn the_api_channel_asks_in_text_and_every_answer_form_is_read(b: Backend) {
    let app = TestApp::spawn_with(b, csat_everywhere).await;
    let token = app.login().await;
    for (n, (answer, score)) in [
        ("4", 4),
        ("⭐⭐⭐", 3),
        ("😡", 1),
        ("excelente", 5),
        ("bahut accha", 5),
    ]
    .into_iter()
    .enumerate()
    {
        let contact = format!("rater{n}");
        let id = app
            .customer_writes(&format!("q{n}"), &contact, "talk to a human")
            .await;
        close(&app, &token, &id).await;
        eventually("the text survey", WAIT, || async {
            (text_surveys(&app.callbacks) == n + 1).then_some(())
        })
        .await;
        app.customer_writes(&format!("a{n}"), &contact, answer)
            .await;
        let conv = rated(&app, &token, &id, score).await;
        assert_eq!(conv["status"], "closed", "{answer}: {conv}");
    }
}

async fn a_reply_that_is_not_a_rating_reopens(b: Backend) {
    let c = given_an_api_conversation_with(b, csat_everywhere).await;
    close(&c.app, &c.token, &c.id).await;
    eventually("the text survey", WAIT, || async {
        (text_surveys(&c.provider) == 1).then_some(())
    })
    .await;
    c.app
        .customer_writes("m2", "c1", "I still have a question")
        .await;
    let conv = eventually("reopened", WAIT, || async {
        let conv = c.show().await;
        (conv["status"] != "closed").then_some(conv)
    })
    .await;
    assert_eq!(conv["csat"], Value::Null);
    assert_eq!(conv["csat_requested_at"], Value::Null);
    assert_eq!(notes(&c.app, &c.token, &c.id, "reopened").await.len(), 1);
    // Now an ordinary conversation again: a "5" is just a message.
    c.app.customer_writes("m3", "c1", "5").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(c.show().await["csat"], Value::Null);
}

async fn one_survey_per_closing(b: Backend) {
    let c = given_an_api_conversation_with(b, csat_everywhere).await;
    let (app, token, id) = (&c.app, &c.token, &c.id);
    // Two closes at once: one closing, one survey.
    let path = format!("/api/conversations/{id}/status");
    let body = json!({"status": "closed"});
    let (a, b2) = tokio::join!(app.post(token, &path, &body), app.post(token, &path, &body));
    assert_eq!((a.0, b2.0), (200, 200));
    eventually("the first survey", WAIT, || async {
        (text_surveys(&c.provider) == 1).then_some(())
    })
    .await;
    close(app, token, id).await;
    app.customer_writes("m2", "c1", "4").await;
    rated(app, token, id, 4).await;
    // Reopened by a new message, closed again: a second survey for the second closing.
    app.customer_writes("m3", "c1", "talk to a human again")
        .await;
    eventually("reopened", WAIT, || async {
        (c.show().await["status"] != "closed").then_some(())
    })
    .await;
    close(app, token, id).await;
    eventually("the second survey", WAIT, || async {
        (text_surveys(&c.provider) == 2).then_some(())
    })
    .await;
    app.customer_writes("m4", "c1", "2").await;
    rated(app, token, id, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(text_surveys(&c.provider), 2);
}

async fn without_the_switch_no_survey(b: Backend) {
    let c = given_an_api_conversation_with(b, |_| {}).await;
    let closed = close(&c.app, &c.token, &c.id).await;
    assert_eq!(closed["csat_requested_at"], Value::Null);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(text_surveys(&c.provider), 0);
    // A "5" reopens as any message would.
    c.app.customer_writes("m2", "c1", "5").await;
    let conv = eventually("reopened", WAIT, || async {
        let conv = c.show().await;
        (conv["status"] != "closed").then_some(conv)
    })
    .await;
    assert_eq!(conv["csat"], Value::Null);
}

/// The survey speaks the contact's language (here set by an agent).
async fn the_survey_is_in_the_contacts_language(b: Backend) {
    let c = given_an_api_conversation_with(b, csat_everywhere).await;
    let contact = c.show().await["contact"]["id"]
        .as_str()
        .expect("contact id")
        .to_owned();
    let (s, body) = c
        .app
        .call(
            reqwest::Method::PATCH,
            &c.token,
            &format!("/api/contacts/{contact}"),
            Some(&json!({"language": "es"})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    close(&c.app, &c.token, &c.id).await;
    let survey = eventually("the survey", WAIT, || async {
        c.provider
            .calls()
            .iter()
            .map(|call| call.json())
            .find(|b| b["text"].as_str().is_some_and(|t| t.contains("calificar")))
    })
    .await;
    assert!(
        survey["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("¿Cómo calificarías")),
        "{survey}"
    );
}

/// A blocked contact is never surveyed, and no survey is awaited from them.
async fn a_blocked_contact_is_not_surveyed(b: Backend) {
    let c = given_an_api_conversation_with(b, csat_everywhere).await;
    let contact = c.show().await["contact"]["id"]
        .as_str()
        .expect("contact id")
        .to_owned();
    let (s, body) = c
        .app
        .post(
            &c.token,
            &format!("/api/contacts/{contact}/block"),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let closed = close(&c.app, &c.token, &c.id).await;
    assert_eq!(closed["csat_requested_at"], Value::Null, "{closed}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(text_surveys(&c.provider), 0);
}

async fn agents_set_correct_and_clear_the_score(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        s.access.visibility = Visibility::AssignedAndUnassigned;
    })
    .await;
    let admin = app.login().await;
    let (sam_id, sam) = app.agent("sam@test.local", Role::Agent).await;
    let (_, kim) = app.agent("kim@test.local", Role::Agent).await;
    let id = app.customer_writes("m1", "c1", "talk to a human").await;
    let path = format!("/api/conversations/{id}/csat");
    let (s, conv) = app.put(&sam, &path, &json!({"score": 4})).await;
    assert_eq!((s, &conv["csat"]), (200, &json!(4)), "{conv}");
    let set = notes(&app, &admin, &id, "csat_set").await;
    assert_eq!(set.len(), 1);
    assert_eq!(
        set[0]["text"],
        "sam@test.local set the satisfaction score to 4/5"
    );
    assert_eq!(set[0]["payload"]["by"], sam_id.as_str());
    for bad in [
        json!({"score": 0}),
        json!({"score": 6}),
        json!({"score": "4"}),
        json!({"score": 2.5}),
        json!({}),
    ] {
        let (s, v) = app.put(&sam, &path, &bad).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (422, Some("validation_failed")),
            "{bad}: {v}"
        );
    }
    let (s, v) = app.put(&sam, &path, &json!({"score": 4, "x": 1})).await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(app.conversation(&admin, &id).await["csat"], 4);
    // Corrected, then cleared.
    let (s, conv) = app.put(&admin, &path, &json!({"score": 2})).await;
    assert_eq!((s, &conv["csat"]), (200, &json!(2)));
    let (s, conv) = app.put(&admin, &path, &json!({"score": null})).await;
    assert_eq!((s, &conv["csat"]), (200, &Value::Null));
    assert_eq!(notes(&app, &admin, &id, "csat_set").await.len(), 3);
    // Kim may not see Sam's conversation: 404, as for every route.
    app.post(
        &admin,
        &format!("/api/conversations/{id}/assign"),
        &json!({"agent_id": sam_id}),
    )
    .await;
    let (s, _) = app.put(&kim, &path, &json!({"score": 5})).await;
    assert_eq!(s, 404);
    let resp = app
        .client
        .put(format!("{}{path}", app.base))
        .json(&json!({"score": 5}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 401);
}

async fn the_report_counts_averages_and_filters(b: Backend) {
    let (app, _graph) = whatsapp::start(b, |s| {
        s.access.visibility = Visibility::AssignedAndUnassigned;
    })
    .await;
    let admin = app.login().await;
    let (sam_id, sam) = app.agent("sam@test.local", Role::Agent).await;
    let (kim_id, kim) = app.agent("kim@test.local", Role::Agent).await;
    // (inbox, assignee, score)
    let cases: [(&str, Option<&str>, u8); 6] = [
        ("support", Some(&sam_id), 5),
        ("support", Some(&sam_id), 4),
        ("support", Some(&kim_id), 1),
        ("support", None, 3),
        ("wa", Some(&sam_id), 5),
        ("wa", None, 4),
    ];
    let mut wa_n = 0;
    let mut seen: Vec<String> = Vec::new();
    for (n, (inbox, assignee, score)) in cases.iter().enumerate() {
        let id = if *inbox == "wa" {
            wa_n += 1;
            let from = format!("1631555120{wa_n}");
            let msg = json!({"from": from, "id": format!("wamid.R{n}"), "timestamp": ts(5),
                             "type": "text", "text": {"body": whatsapp::HANDOFF}});
            notify(
                &app,
                &json!({"object": "whatsapp_business_account",
                        "entry": [whatsapp::entry(&from, "Rae", vec![msg], vec![])]}),
            )
            .await;
            let known = &seen;
            eventually("the wa conversation", WAIT, || async {
                app.conversations(&admin)
                    .await
                    .into_iter()
                    .filter(|c| c["inbox_id"] == "wa")
                    .filter_map(|c| c["id"].as_str().map(str::to_owned))
                    .find(|id| !known.contains(id))
            })
            .await
        } else {
            app.customer_writes(&format!("r{n}"), &format!("rc{n}"), "talk to a human")
                .await
        };
        seen.push(id.clone());
        if let Some(agent) = assignee {
            let (s, v) = app
                .post(
                    &admin,
                    &format!("/api/conversations/{id}/assign"),
                    &json!({"agent_id": agent}),
                )
                .await;
            assert_eq!(s, 200, "{v}");
        }
        let (s, v) = app
            .put(
                &admin,
                &format!("/api/conversations/{id}/csat"),
                &json!({"score": score}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    let report = |token: String, query: String| {
        let app = &app;
        async move {
            let (s, v) = app.get(&token, &format!("/api/reports/csat{query}")).await;
            assert_eq!(s, 200, "{query}: {v}");
            (
                v["count"].as_u64(),
                v["average"].as_f64(),
                v["distribution"].clone(),
            )
        }
    };
    let today = chrono::Utc::now().date_naive();
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    assert_eq!(
        report(admin.clone(), String::new()).await,
        (Some(6), Some(22.0 / 6.0), json!([1, 0, 1, 2, 2]))
    );
    assert_eq!(
        report(
            admin.clone(),
            format!("?from={}&to={}", day(today), day(today))
        )
        .await,
        (Some(6), Some(22.0 / 6.0), json!([1, 0, 1, 2, 2]))
    );
    let tomorrow = today + chrono::Duration::days(1);
    assert_eq!(
        report(admin.clone(), format!("?from={}", day(tomorrow))).await,
        (Some(0), None, json!([0, 0, 0, 0, 0]))
    );
    let yesterday = today - chrono::Duration::days(1);
    assert_eq!(
        report(admin.clone(), format!("?to={}", day(yesterday))).await,
        (Some(0), None, json!([0, 0, 0, 0, 0]))
    );
    let an_hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    assert_eq!(
        report(admin.clone(), format!("?from={}", urlencode(&an_hour_ago)))
            .await
            .0,
        Some(6)
    );
    assert_eq!(
        report(admin.clone(), "?inbox=wa".to_owned()).await,
        (Some(2), Some(4.5), json!([0, 0, 0, 1, 1]))
    );
    assert_eq!(
        report(admin.clone(), format!("?agent={sam_id}")).await,
        (Some(3), Some(14.0 / 3.0), json!([0, 0, 0, 1, 2]))
    );
    assert_eq!(
        report(admin.clone(), format!("?agent={sam_id}&inbox=support")).await,
        (Some(2), Some(4.5), json!([0, 0, 0, 1, 1]))
    );
    // Agents count what they may see: theirs and the unassigned ones.
    assert_eq!(
        report(kim.clone(), String::new()).await,
        (Some(3), Some(8.0 / 3.0), json!([1, 0, 1, 1, 0]))
    );
    assert_eq!(
        report(sam.clone(), format!("?agent={kim_id}")).await,
        (Some(0), None, json!([0, 0, 0, 0, 0]))
    );
    for bad in [
        "?from=yesterday",
        "?to=2026-13-01",
        "?agent=nobody",
        "?sort=x",
    ] {
        let (s, v) = app.get(&admin, &format!("/api/reports/csat{bad}")).await;
        assert_eq!(s, 400, "{bad}: {v}");
    }
    let resp = app
        .client
        .get(format!("{}/api/reports/csat", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 401);
}

/// Where the README's screenshots are written.
fn screenshots() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join("screenshots")
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

async fn the_widget_shows_stars_and_a_star_rates(b: Backend) {
    let app = TestApp::spawn_with(b, csat_everywhere).await;
    let admin = app.login().await;
    let s = widget::session(&app, None).await;
    let visitor_token = s["visitor_token"].as_str().expect("token").to_owned();
    let mut ws = widget::visitor(&app, &visitor_token).await;
    ws.send_json(
        &json!({"type": "message", "text": "I want to talk to a human", "client_id": "k1"}),
    )
    .await;
    ws.until("ack", WAIT, |v| {
        v["type"] == "ack" && v["client_id"] == "k1"
    })
    .await;
    let (_, list) = app.get(&admin, "/api/conversations?channel=widget").await;
    let id = list["items"][0]["id"].as_str().expect("listed").to_owned();
    close(&app, &admin, &id).await;
    let frames = ws
        .until("the survey", WAIT, |v| {
            v["type"] == "message" && v["message"]["payload"]["automatic"] == "csat_survey"
        })
        .await;
    let survey = &frames.last().expect("frame")["message"];
    assert_eq!(survey["text"], "How would you rate our help?");
    assert_eq!(survey["author"], "assistant");
    assert_eq!(survey["payload"], json!({"automatic": "csat_survey"}));
    // Other messages carry no payload to the visitor.
    assert!(frames
        .iter()
        .filter(|v| v["type"] == "message" && v["message"]["id"] != survey["id"])
        .all(|v| v["message"].get("payload").is_none()));
    // After a reload the history still shows the stars.
    let again = widget::session(&app, Some(&visitor_token)).await;
    let history = again["messages"].as_array().expect("history");
    assert_eq!(
        history
            .iter()
            .filter(|m| m["payload"]["automatic"] == "csat_survey")
            .count(),
        1,
        "{again}"
    );
    // The visitor taps the fourth star: the widget sends it as a message.
    ws.send_json(&json!({"type": "message", "text": "⭐⭐⭐⭐ 4/5", "client_id": "k2"}))
        .await;
    let conv = rated(&app, &admin, &id, 4).await;
    assert_eq!(conv["status"], "closed");
}

both_backends!(
    the_survey_is_in_the_contacts_language,
    a_blocked_contact_is_not_surveyed,
    whatsapp_asks_with_a_list_and_a_tap_rates_without_reopening,
    outside_the_window_nothing_is_sent_and_a_note_says_why,
    the_api_channel_asks_in_text_and_every_answer_form_is_read,
    a_reply_that_is_not_a_rating_reopens,
    one_survey_per_closing,
    without_the_switch_no_survey,
    agents_set_correct_and_clear_the_score,
    the_report_counts_averages_and_filters,
    the_widget_shows_stars_and_a_star_rates,
);

/// In a real browser: the widget's stars, a tap that rates, and the dashboard's chip, the
/// "Resolved" card's score, the thread's event and the panel's stars that correct it.
#[actix_rt::test]
async fn the_stars_in_a_real_browser() {
    use crate::{
        browser::ONE_BROWSER,
        cdp::{browser_available, Browser},
        helpers::{ADMIN_EMAIL, ADMIN_PASSWORD},
    };
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn_with(Backend::Sqlite, csat_everywhere).await;
    let admin = app.login().await;
    let mut b = Browser::launch().await;
    let dash = b.open(&format!("{}/", app.base), 1366, 800).await;
    dash.type_text(&mut b, "#login-email", ADMIN_EMAIL).await;
    dash.type_text(&mut b, "#login-password", ADMIN_PASSWORD)
        .await;
    dash.click(&mut b, "#login-submit").await;
    dash.wait_for(&mut b, "the inbox", "document.querySelector('#conv-list') && !document.querySelector('#login-submit')?.offsetParent").await;

    // A visitor asks for a person in the widget; the agent closes the conversation.
    let shop = b.open(&format!("{}/demo", app.base), 1366, 800).await;
    shop.click(&mut b, "#sb-widget-bubble").await;
    shop.type_text(&mut b, "#sb-widget-input", "I want to talk to a human")
        .await;
    shop.press_enter(&mut b).await;
    let id = eventually("the widget conversation", WAIT, || async {
        let (_, list) = app.get(&admin, "/api/conversations?channel=widget").await;
        list["items"][0]["id"].as_str().map(str::to_owned)
    })
    .await;
    close(&app, &admin, &id).await;

    // The widget shows five stars under the question; the fourth rates 4.
    shop.wait_for(
        &mut b,
        "the survey's stars",
        "document.querySelectorAll('.sb-csat .sb-csat-star').length === 5",
    )
    .await;
    shop.screenshot(&mut b, &screenshots().join("csat-widget.png"))
        .await;
    shop.click(&mut b, ".sb-csat-star[data-score=\"4\"]").await;
    let conv = rated(&app, &admin, &id, 4).await;
    assert_eq!(conv["status"], "closed");
    shop.wait_for(
        &mut b,
        "the stars spent",
        "[...document.querySelectorAll('.sb-csat-star')].every(s => s.disabled)",
    )
    .await;
    shop.assert_no_console_errors(&mut b, "rating in the widget")
        .await;

    // The dashboard: the list row's chip, the "Resolved" card, the event, the panel.
    let item = format!(".conv-item[data-id=\"{id}\"]");
    dash.wait_for(
        &mut b,
        "the list chip",
        &format!("document.querySelector('{item} .conv-csat')?.textContent === '★ 4'"),
    )
    .await;
    dash.click(&mut b, &item).await;
    dash.wait_for(
        &mut b,
        "the score on the Resolved card",
        "document.querySelector('.msg-system[data-event=\"closed\"] .csat-badge')?.textContent === '★ 4/5'",
    )
    .await;
    dash.wait_for(
        &mut b,
        "the rating event",
        "[...document.querySelectorAll('.msg-system[data-event=\"csat_received\"]')].some(e => e.textContent.includes('Customer rated 4/5'))",
    )
    .await;
    dash.wait_for(
        &mut b,
        "four stars in the panel",
        "document.querySelectorAll('#csat-section .csat-star.on').length === 4",
    )
    .await;
    dash.eval(
        &mut b,
        "document.body.classList.contains('contact-open') || document.querySelector('#contact-toggle').click()",
    )
    .await;
    dash.screenshot(&mut b, &screenshots().join("csat.png"))
        .await;
    // The agent corrects it to 2.
    dash.click(&mut b, "#csat-section .csat-star[data-score=\"2\"]")
        .await;
    dash.wait_for(
        &mut b,
        "two stars in the panel",
        "document.querySelectorAll('#csat-section .csat-star.on').length === 2",
    )
    .await;
    rated(&app, &admin, &id, 2).await;
    dash.wait_for(
        &mut b,
        "the correction in the thread",
        "[...document.querySelectorAll('.msg-system[data-event=\"csat_set\"]')].some(e => e.textContent.includes('You set the satisfaction score to 2/5'))",
    )
    .await;
    dash.wait_for(
        &mut b,
        "the card follows",
        "document.querySelector('.msg-system[data-event=\"closed\"] .csat-badge')?.textContent === '★ 2/5'",
    )
    .await;
    dash.assert_no_console_errors(&mut b, "the CSAT in the dashboard")
        .await;
}
