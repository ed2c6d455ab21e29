//! The contact profile (`PATCH /api/contacts/{id}`: validation, the phone conflict, sources,
//! detection that never overwrites a person's edit), the widget visitor's browser profile, and
//! the activity timeline (conversation events from the actor's commit, block, notes, edits;
//! keyset pages, kinds).

use std::{collections::HashSet, time::Duration};

use serde_json::{json, Value};
use switchboard::domain::types::Role;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::{
    both_backends,
    helpers::{eventually, status_json, Backend, TestApp, WsClient},
    whatsapp,
};

const WAIT: Duration = Duration::from_secs(10);
const ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like \
    Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";

/// A customer of the API channel with this phone writes; returns (conversation, contact).
async fn customer_with_phone(
    app: &TestApp,
    token: &str,
    who: &str,
    phone: &str,
) -> (String, String) {
    let body = json!({"external_id": format!("{who}-m1"), "contact": {"external_id": who, "name": who, "phone": phone}, "text": "Hello"});
    let (s, v) = status_json(app.inbound(&body).await).await;
    assert_eq!(s, 200, "{v}");
    let conversation = v["conversation_id"].as_str().expect("id").to_owned();
    let c = app.conversation(token, &conversation).await;
    let contact = c["contact"]["id"].as_str().expect("contact").to_owned();
    (conversation, contact)
}

async fn patch(app: &TestApp, token: &str, contact: &str, body: Value) -> (u16, Value) {
    app.call(
        reqwest::Method::PATCH,
        token,
        &format!("/api/contacts/{contact}"),
        Some(&body),
    )
    .await
}

async fn profile_edits_are_checked_and_keep_their_sources(b: Backend) {
    // Agents see their own and unassigned conversations only.
    let app = TestApp::spawn_with(b, |s| {
        s.access.visibility = switchboard::config::Visibility::AssignedAndUnassigned;
    })
    .await;
    let token = app.login().await;
    let (conv_a, a) = customer_with_phone(&app, &token, "ana", "+34612345678").await;
    let (_, b_contact) = customer_with_phone(&app, &token, "bea", "+34612345679").await;
    // Shaped like E.164, but not a valid number in the Bahamas' plan.
    let (_, c) = customer_with_phone(&app, &token, "cid", "+12425551234").await;

    // Detected from a valid number's prefix; not from an invalid one.
    let (s, person) = app.get(&token, &format!("/api/contacts/{a}")).await;
    assert_eq!(s, 200, "{person}");
    assert_eq!(person["contact"]["country"], "ES", "{person}");
    assert_eq!(person["contact"]["country_source"], "phone_prefix");
    assert_eq!(person["contact"]["link"], "tel:+34612345678");
    assert_eq!(person["conversations"][0]["id"], conv_a.as_str());
    let (_, person) = app.get(&token, &format!("/api/contacts/{c}")).await;
    assert_eq!(person["contact"]["country"], Value::Null, "{person}");

    // Every field, each with its source.
    let (s, person) = patch(
        &app,
        &token,
        &a,
        json!({"name": "Ana Pérez", "email": "ana@example.com", "country": "pt", "language": "pt-br"}),
    )
    .await;
    assert_eq!(s, 200, "{person}");
    let contact = &person["contact"];
    assert_eq!(contact["name"], "Ana Pérez");
    assert_eq!(contact["email"], "ana@example.com");
    assert_eq!(contact["country"], "PT");
    assert_eq!(contact["country_source"], "agent");
    assert_eq!(contact["language"], "pt-BR");
    assert_eq!(contact["language_source"], "agent");

    // The channel's profile name no longer replaces the one a person set.
    let body = json!({"external_id": "ana-m2", "contact": {"external_id": "ana", "name": "Ana from the CRM", "phone": "+34612345678"}, "text": "Me again"});
    let (s, v) = status_json(app.inbound(&body).await).await;
    assert_eq!(s, 200, "{v}");
    let (_, person) = app.get(&token, &format!("/api/contacts/{a}")).await;
    assert_eq!(person["contact"]["name"], "Ana Pérez", "{person}");

    // Refusals name the field.
    for (body, field) in [
        (json!({"email": "not-an-email"}), "email"),
        (json!({"phone": "12"}), "phone"),
        (json!({"phone": "+1 242 555 1234"}), "phone"),
        (json!({"country": "ZZ"}), "country"),
        (json!({"language": "klingon"}), "language"),
    ] {
        let (s, v) = patch(&app, &token, &a, body.clone()).await;
        assert_eq!(s, 422, "{body}: {v}");
        assert!(
            v["message"].as_str().unwrap_or_default().starts_with(field),
            "{v}"
        );
    }
    // Another contact's phone on this inbox: 409 naming it.
    let (s, v) = patch(&app, &token, &a, json!({"phone": "+34 612 34 56 79"})).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["error"], "phone_taken");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&b_contact),
        "{v}"
    );

    // A new valid phone: the agent's country stays.
    let (s, person) = patch(&app, &token, &a, json!({"phone": "+351 912 345 678"})).await;
    assert_eq!(s, 200, "{person}");
    assert_eq!(person["contact"]["phone"], "+351912345678");
    assert_eq!(person["contact"]["country"], "PT");
    assert_eq!(person["contact"]["country_source"], "agent");
    // …and a valid phone on a contact with no country gives it one.
    let (s, person) = patch(&app, &token, &c, json!({"phone": "+55 11 98765 4321"})).await;
    assert_eq!(s, 200, "{person}");
    assert_eq!(person["contact"]["country"], "BR");
    assert_eq!(person["contact"]["country_source"], "phone_prefix");
    // …which goes with the phone.
    let (s, person) = patch(&app, &token, &c, json!({"phone": null})).await;
    assert_eq!(s, 200, "{person}");
    assert_eq!(person["contact"]["country"], Value::Null, "{person}");
    // null clears.
    let (s, person) = patch(&app, &token, &a, json!({"email": null, "language": null})).await;
    assert_eq!(s, 200, "{person}");
    assert_eq!(person["contact"]["email"], Value::Null);
    assert_eq!(person["contact"]["language_source"], Value::Null);

    // An agent who may not see the conversation may not edit its contact.
    let (ana_id, _) = app.agent("ana@test.local", Role::Agent).await;
    let (_, bob) = app.agent("bob@test.local", Role::Agent).await;
    let (s, v) = app
        .post(
            &token,
            &format!("/api/conversations/{conv_a}/assign"),
            &json!({"agent_id": ana_id}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = patch(&app, &bob, &a, json!({"name": "Mallory"})).await;
    assert_eq!(s, 404);
    let (s, _) = app.get(&bob, &format!("/api/contacts/{a}/activity")).await;
    assert_eq!(s, 404);
    let (s, _) = patch(&app, &token, "not-an-id", json!({"name": "x"})).await;
    assert_eq!(s, 404);

    // Each edit is in the timeline, by whom and what changed.
    let (s, page) = app
        .get(
            &token,
            &format!("/api/contacts/{a}/activity?kinds=profile_edited"),
        )
        .await;
    assert_eq!(s, 200, "{page}");
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 3, "{page}");
    let first_edit = &items[2]["detail"]["changes"];
    let fields: HashSet<&str> = first_edit
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        HashSet::from(["name", "email", "country", "language"])
    );
    assert!(items.iter().all(|i| i["agent_id"].is_string()), "{page}");
}

/// A websocket to the widget with a browser's user agent and profile.
async fn browser_visitor(app: &TestApp, token: &str) -> WsClient {
    let url = format!(
        "{}/widget/website/ws?visitor_token={token}&language=es-ES&time_zone=Europe%2FMadrid",
        app.base.replacen("http://", "ws://", 1)
    );
    let mut req = url.into_client_request().expect("request");
    req.headers_mut()
        .insert("User-Agent", ANDROID.parse().expect("header"));
    let (stream, _) = tokio_tungstenite::connect_async(req).await.expect("ws");
    let mut ws = WsClient { stream };
    assert_eq!(ws.next_json(WAIT).await.expect("hello")["type"], "hello");
    ws
}

async fn widget_session(app: &TestApp, body: Value) -> Value {
    let resp = app
        .client
        .post(format!("{}/widget/website/session", app.base))
        .header("User-Agent", ANDROID)
        .json(&body)
        .send()
        .await
        .expect("session");
    let (s, v) = status_json(resp).await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn a_widget_visitor_has_browser_os_device_language_and_time_zone(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let s = widget_session(
        &app,
        json!({"language": "es-ES", "time_zone": "Europe/Madrid"}),
    )
    .await;
    let visitor = s["visitor_token"].as_str().expect("token").to_owned();
    let mut ws = browser_visitor(&app, &visitor).await;
    ws.send_json(&json!({"type": "message", "text": "Hola", "client_id": "k1"}))
        .await;
    let conversation = eventually("the widget conversation", WAIT, || async {
        app.conversations(&token)
            .await
            .into_iter()
            .find(|c| c["inbox_id"] == "website")
    })
    .await;
    let contact = conversation["contact"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (_, person) = app.get(&token, &format!("/api/contacts/{contact}")).await;
    let c = &person["contact"];
    assert!(
        c["browser"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Chrome"),
        "{c}"
    );
    assert!(
        c["os"].as_str().unwrap_or_default().starts_with("Android"),
        "{c}"
    );
    assert_eq!(c["device"], "mobile", "{c}");
    assert_eq!(c["language"], "es-ES", "{c}");
    assert_eq!(c["language_source"], "browser", "{c}");
    assert_eq!(c["time_zone"], "Europe/Madrid", "{c}");
    assert_eq!(c["link"], Value::Null, "{c}");

    // An agent's language stays when the visitor comes back with another browser language.
    let (s, _) = patch(&app, &token, &contact, json!({"language": "en"})).await;
    assert_eq!(s, 200);
    widget_session(
        &app,
        json!({"visitor_token": visitor, "language": "fr-FR", "time_zone": "America/New_York"}),
    )
    .await;
    let (_, person) = app.get(&token, &format!("/api/contacts/{contact}")).await;
    assert_eq!(person["contact"]["language"], "en", "{person}");
    assert_eq!(person["contact"]["language_source"], "agent");
    assert_eq!(person["contact"]["time_zone"], "America/New_York");
    // An unknown language or zone is ignored, never refused.
    widget_session(
        &app,
        json!({"visitor_token": visitor, "language": "??", "time_zone": "Mars/Base"}),
    )
    .await;
}

/// Every page of the timeline, following `next_cursor`.
async fn all_pages(app: &TestApp, token: &str, contact: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/contacts/{contact}/activity?limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (s, page) = app.get(token, &path).await;
        assert_eq!(s, 200, "{page}");
        let got = page["items"].as_array().expect("items");
        assert!(got.len() <= limit);
        items.extend(got.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
}

fn kinds(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn the_timeline_records_each_kind_newest_first(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let (ana_id, _) = app.agent("ana@test.local", Role::Agent).await;
    let conversation = app.customer_writes("m1", "cus-1", "Hello").await;
    app.customer_writes("m2", "cus-1", "Are you there?").await;
    app.customer_writes("m3", "cus-1", whatsapp::HANDOFF).await;
    let c = app.conversation(&token, &conversation).await;
    let contact = c["contact"]["id"].as_str().expect("contact").to_owned();
    eventually("handed off", WAIT, || async {
        (app.conversation(&token, &conversation).await["status"] == "human").then_some(())
    })
    .await;
    let post = |path: String, body: Value| {
        let (app, token) = (&app, &token);
        async move {
            let (s, v) = app.post(token, &path, &body).await;
            assert!(s == 200 || s == 201, "{path}: {s} {v}");
            v
        }
    };
    post(
        format!("/api/conversations/{conversation}/assign"),
        json!({"agent_id": ana_id}),
    )
    .await;
    post(
        format!("/api/conversations/{conversation}/status"),
        json!({"status": "closed"}),
    )
    .await;
    app.customer_writes("m4", "cus-1", "One more thing").await;
    eventually("reopened", WAIT, || async {
        (app.conversation(&token, &conversation).await["status"] != "closed").then_some(())
    })
    .await;
    post(format!("/api/contacts/{contact}/block"), json!({})).await;
    post(format!("/api/contacts/{contact}/unblock"), json!({})).await;
    let note = post(
        format!("/api/contacts/{contact}/notes"),
        json!({"text": "Prefers <b>email</b>"}),
    )
    .await;
    assert_eq!(note["kind"], "note_added");
    assert_eq!(note["detail"]["text"], "Prefers <b>email</b>");
    let (s, _) = patch(&app, &token, &contact, json!({"name": "Carla"})).await;
    assert_eq!(s, 200);

    let items = eventually("the whole timeline", WAIT, || async {
        let items = all_pages(&app, &token, &contact, 100).await;
        (items.len() >= 9).then_some(items)
    })
    .await;
    let got = kinds(&items);
    for want in [
        "conversation_started",
        "handed_off",
        "assigned",
        "closed",
        "reopened",
        "blocked",
        "unblocked",
        "note_added",
        "profile_edited",
    ] {
        assert!(got.iter().any(|k| k == want), "{want} missing from {got:?}");
    }
    // Ordinary messages write nothing: one start for four messages.
    assert_eq!(
        got.iter().filter(|k| *k == "conversation_started").count(),
        1,
        "{got:?}"
    );
    assert_eq!(
        got.first().map(String::as_str),
        Some("profile_edited"),
        "{got:?}"
    );
    let times: Vec<&str> = items.iter().filter_map(|i| i["at"].as_str()).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    let assigned = items
        .iter()
        .find(|i| i["kind"] == "assigned")
        .expect("assigned");
    assert_eq!(assigned["detail"]["to"], ana_id.as_str());
    assert_eq!(assigned["conversation_id"], conversation.as_str());

    // Small pages give the same entries, each once.
    let paged = all_pages(&app, &token, &contact, 2).await;
    let ids = |v: &[Value]| -> Vec<String> {
        v.iter()
            .map(|i| i["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(ids(&paged), ids(&items));

    // Kinds filter; unknown kinds and bad cursors are 400.
    let (s, page) = app
        .get(
            &token,
            &format!("/api/contacts/{contact}/activity?kinds=note_added,blocked"),
        )
        .await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(
        kinds(page["items"].as_array().expect("items")),
        ["note_added", "blocked"]
    );
    for bad in ["kinds=nope", "cursor=yesterday", "limit=0"] {
        let (s, v) = app
            .get(&token, &format!("/api/contacts/{contact}/activity?{bad}"))
            .await;
        assert_eq!(s, 400, "{bad}: {v}");
    }
    let (s, _) = app
        .post(
            &token,
            &format!("/api/contacts/{contact}/notes"),
            &json!({"text": "  "}),
        )
        .await;
    assert_eq!(s, 422);
}

both_backends!(
    profile_edits_are_checked_and_keep_their_sources,
    a_widget_visitor_has_browser_os_device_language_and_time_zone,
    the_timeline_records_each_kind_newest_first,
);
