//! Segments (static members, dynamic filters) and unsubscribe / resubscribe: by an agent, by
//! a customer's STOP / START, and by a provider's opt-out error.

use std::time::Duration;

use diesel::prelude::*;
use reqwest::Method;
use serde_json::{json, Value};
use switchboard::domain::types::Role;

use crate::{
    both_backends,
    helpers::{eventually, Backend, Reply, TestApp},
    twilio,
};

const WAIT: Duration = Duration::from_secs(10);
const HANDOFF: &str = "I need to talk to someone";

/// A customer writes on the API channel and is handed to a person (the acknowledgement goes
/// in the same transaction, so nothing more is written on its own). Returns the
/// conversation and contact ids.
async fn customer(app: &TestApp, token: &str, who: &str) -> (String, String) {
    let conversation = app.customer_writes(&format!("{who}-1"), who, HANDOFF).await;
    let c = eventually("the handoff", WAIT, || async {
        let c = app.conversation(token, &conversation).await;
        (c["status"] == "human").then_some(c)
    })
    .await;
    let contact = c["contact"]["id"].as_str().expect("contact id").to_owned();
    (conversation, contact)
}

async fn delete_with(app: &TestApp, token: &str, path: &str, body: &Value) -> (u16, Value) {
    app.call(Method::DELETE, token, path, Some(body)).await
}

async fn patch(app: &TestApp, token: &str, path: &str, body: &Value) -> (u16, Value) {
    app.call(Method::PATCH, token, path, Some(body)).await
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn crud_validation_and_roles(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.login().await;
    let (_, agent) = app.agent("agent@test.local", Role::Agent).await;
    let (_, sup) = app.agent("sup@test.local", Role::Supervisor).await;

    let (s, vip) = app
        .post(
            &admin,
            "/api/segments",
            &json!({"name": " VIPs ", "kind": "static"}),
        )
        .await;
    assert_eq!(s, 201, "{vip}");
    assert_eq!(vip["name"], "VIPs");
    assert_eq!(vip["contact_count"], 0);
    assert_eq!(vip["filter"], Value::Null);
    let id = vip["id"].as_str().expect("id").to_owned();

    // Duplicate name, bad filters, a filter on a static one, no filter on a dynamic one.
    for (body, status, code) in [
        (
            json!({"name": "VIPs", "kind": "static"}),
            409,
            "segment_name_taken",
        ),
        (
            json!({"name": "x", "kind": "dynamic"}),
            422,
            "validation_failed",
        ),
        (
            json!({"name": "x", "kind": "static", "filter": {"tags": ["a"]}}),
            422,
            "validation_failed",
        ),
        (
            json!({"name": "x", "kind": "dynamic", "filter": {}}),
            422,
            "validation_failed",
        ),
        (
            json!({"name": "x", "kind": "dynamic", "filter": {"csat_at_least": 5, "csat_at_most": 1}}),
            422,
            "validation_failed",
        ),
        (
            json!({"name": "x", "kind": "dynamic", "filter": {"inboxes": ["nope"]}}),
            422,
            "validation_failed",
        ),
        (
            json!({"name": "x", "kind": "dynamic", "filter": {"sql": "1=1"}}),
            400,
            "bad_request",
        ),
        (
            json!({"name": "x", "kind": "dynamic", "filter": {"csat_at_least": 9}}),
            400,
            "bad_request",
        ),
        (
            json!({"name": "  ", "kind": "static"}),
            422,
            "validation_failed",
        ),
        (json!({"name": "x", "kind": "fancy"}), 400, "bad_request"),
    ] {
        let (s, err) = app.post(&admin, "/api/segments", &body).await;
        assert_eq!(
            (s, err["error"].as_str()),
            (status, Some(code)),
            "{body}: {err}"
        );
    }

    // Agents may not create, change or delete; supervisors may.
    let (s, _) = app
        .post(
            &agent,
            "/api/segments",
            &json!({"name": "Mine", "kind": "static"}),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = patch(
        &app,
        &agent,
        &format!("/api/segments/{id}"),
        &json!({"name": "Z"}),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = app.delete(&agent, &format!("/api/segments/{id}")).await;
    assert_eq!(s, 403);
    let (s, leads) = app
        .post(
            &sup,
            "/api/segments",
            &json!({"name": "Hot leads", "kind": "dynamic", "filter": {"tags": ["lead"], "blocked": false}}),
        )
        .await;
    assert_eq!(s, 201, "{leads}");
    assert_eq!(leads["filter"], json!({"tags": ["lead"], "blocked": false}));

    // Without a token: 401. Unknown or malformed ids: 404.
    let resp = app
        .client
        .get(format!("{}/api/segments", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 401);
    for path in [
        "/api/segments/0190f5c4-0000-7000-8000-000000000000".to_owned(),
        "/api/segments/not-an-id".to_owned(),
    ] {
        let (s, _) = app.get(&admin, &path).await;
        assert_eq!(s, 404, "{path}");
    }

    // Every agent lists them, by name.
    let (s, list) = app.get(&agent, "/api/segments").await;
    assert_eq!(s, 200, "{list}");
    let names: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert_eq!(names, ["Hot leads", "VIPs"]);

    // Rename (a taken name is 409), refilter a dynamic one, not a static one.
    let (s, err) = patch(
        &app,
        &admin,
        &format!("/api/segments/{id}"),
        &json!({"name": "Hot leads"}),
    )
    .await;
    assert_eq!(
        (s, err["error"].as_str()),
        (409, Some("segment_name_taken"))
    );
    let (s, renamed) = patch(
        &app,
        &admin,
        &format!("/api/segments/{id}"),
        &json!({"name": "Gold"}),
    )
    .await;
    assert_eq!(
        (s, renamed["name"].as_str()),
        (200, Some("Gold")),
        "{renamed}"
    );
    let (s, _) = patch(
        &app,
        &admin,
        &format!("/api/segments/{id}"),
        &json!({"filter": {"blocked": true}}),
    )
    .await;
    assert_eq!(s, 422);
    let leads_id = leads["id"].as_str().expect("id");
    let (s, refiltered) = patch(
        &app,
        &sup,
        &format!("/api/segments/{leads_id}"),
        &json!({"filter": {"channels": ["api"]}}),
    )
    .await;
    assert_eq!(s, 200, "{refiltered}");
    assert_eq!(refiltered["filter"], json!({"channels": ["api"]}));

    let (s, _) = app.delete(&admin, &format!("/api/segments/{id}")).await;
    assert_eq!(s, 204);
    let (s, _) = app.delete(&admin, &format!("/api/segments/{id}")).await;
    assert_eq!(s, 404);
}

async fn static_members_in_bulk(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        s.access.visibility = switchboard::config::Visibility::AssignedAndUnassigned;
    })
    .await;
    let admin = app.login().await;
    let mut contacts = Vec::new();
    for who in ["ann", "bob", "cy"] {
        contacts.push(customer(&app, &admin, who).await.1);
    }
    let (_, seg) = app
        .post(
            &admin,
            "/api/segments",
            &json!({"name": "Newsletter", "kind": "static"}),
        )
        .await;
    let path = format!("/api/segments/{}/contacts", seg["id"].as_str().expect("id"));
    let unknown = "0190f5c4-0000-7000-8000-000000000000";

    let body = json!({"contact_ids": [contacts[0], contacts[1], unknown, "garbage"]});
    let (s, added) = app.post(&admin, &path, &body).await;
    assert_eq!(s, 200, "{added}");
    assert_eq!(added["changed"], 2);
    assert_eq!(added["unchanged"], 0);
    assert_eq!(
        sorted(serde_json::from_value(added["unknown"].clone()).expect("ids")),
        sorted(vec![unknown.to_owned(), "garbage".to_owned()])
    );
    // Idempotent.
    let (s, again) = app
        .post(
            &admin,
            &path,
            &json!({"contact_ids": [contacts[0], contacts[1], contacts[2]]}),
        )
        .await;
    assert_eq!(
        (s, again["changed"].as_u64(), again["unchanged"].as_u64()),
        (200, Some(1), Some(2)),
        "{again}"
    );

    // Pages of two, in id order, then the last one.
    let (s, first) = app.get(&admin, &format!("{path}?limit=2")).await;
    assert_eq!(s, 200, "{first}");
    let cursor = first["next_cursor"].as_str().expect("cursor").to_owned();
    let (_, second) = app
        .get(&admin, &format!("{path}?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(second["next_cursor"], Value::Null);
    let mut all = ids(&first);
    all.extend(ids(&second));
    assert_eq!(all, sorted(contacts.clone()));
    let (_, seg_now) = app
        .get(
            &admin,
            &format!("/api/segments/{}", seg["id"].as_str().expect("id")),
        )
        .await;
    assert_eq!(seg_now["contact_count"], 3);

    // The panel's list.
    let (s, of) = app
        .get(&admin, &format!("/api/contacts/{}/segments", contacts[0]))
        .await;
    assert_eq!(s, 200, "{of}");
    assert_eq!(of["items"][0]["name"], "Newsletter");

    // Remove in bulk, idempotent too.
    let (s, removed) = delete_with(
        &app,
        &admin,
        &path,
        &json!({"contact_ids": [contacts[0], contacts[0], unknown]}),
    )
    .await;
    assert_eq!(
        (
            s,
            removed["changed"].as_u64(),
            removed["unchanged"].as_u64()
        ),
        (200, Some(1), Some(0)),
        "{removed}"
    );
    let (_, again) = delete_with(&app, &admin, &path, &json!({"contact_ids": [contacts[0]]})).await;
    assert_eq!(again["changed"], 0);
    let (_, page) = app.get(&admin, &path).await;
    assert_eq!(ids(&page), sorted(contacts[1..].to_vec()));

    // Limits.
    let too_many: Vec<String> = (0..1001).map(|_| unknown.to_owned()).collect();
    let (s, _) = app
        .post(&admin, &path, &json!({"contact_ids": too_many}))
        .await;
    assert_eq!(s, 422);
    let (s, _) = app.post(&admin, &path, &json!({"contact_ids": []})).await;
    assert_eq!(s, 422);
    let (s, _) = app.get(&admin, &format!("{path}?limit=0")).await;
    assert_eq!(s, 400);

    // An agent who sees only their own and unassigned conversations: contacts of others are
    // `unknown` to them, and not listed.
    let (_, agent) = app.agent("agent@test.local", Role::Agent).await;
    let (other_id, _) = app.agent("other@test.local", Role::Agent).await;
    let bob = app
        .conversations(&admin)
        .await
        .into_iter()
        .find(|c| c["contact"]["id"] == contacts[1].as_str())
        .expect("bob's conversation");
    let assign = format!(
        "/api/conversations/{}/assign",
        bob["id"].as_str().expect("id")
    );
    let (s, assigned) = app
        .post(&admin, &assign, &json!({"agent_id": other_id}))
        .await;
    assert_eq!(s, 200, "{assigned}");
    let (_, page) = app.get(&agent, &path).await;
    assert_eq!(ids(&page), vec![contacts[2].clone()]);
    let (_, hidden) = app
        .post(&agent, &path, &json!({"contact_ids": [contacts[1]]}))
        .await;
    assert_eq!(hidden["unknown"], json!([contacts[1]]));
    let (s, _) = app
        .get(&agent, &format!("/api/contacts/{}/segments", contacts[1]))
        .await;
    assert_eq!(s, 404);
}

/// Sets a conversation's last activity, as if its last message were that old.
async fn age(app: &TestApp, conversation: &str, days: i64) {
    use switchboard::db::schema::conversations;
    let id: switchboard::domain::ConversationId = conversation.parse().expect("id");
    let at = switchboard::clock::now() - chrono::Duration::days(days);
    app.handle
        .app
        .store
        .write(move |c| {
            diesel::update(conversations::table.find(id))
                .set(conversations::last_message_at.eq(Some(at)))
                .execute(c)?;
            Ok(())
        })
        .await
        .expect("aged");
}

async fn dynamic_segments_match_exactly(b: Backend) {
    let (app, _stand_in) = twilio::start(b, |_| {}).await;
    let admin = app.login().await;
    let (ann_c, ann) = customer(&app, &admin, "ann").await;
    let (bob_c, bob) = customer(&app, &admin, "bob").await;
    let (cy_c, cy) = customer(&app, &admin, "cy").await;
    twilio::inbound(&app, &twilio::sms("SM1", "+447700900555", HANDOFF)).await;
    let sms = eventually("the SMS conversation", WAIT, || async {
        app.conversations(&admin)
            .await
            .into_iter()
            .find(|c| c["inbox_id"] == "sms")
    })
    .await;
    let sms_contact = sms["contact"]["id"].as_str().expect("id").to_owned();

    for (conv, tags) in [
        (&ann_c, json!(["VIP", "lead"])),
        (&bob_c, json!(["vip"])),
        (&cy_c, json!(["lead"])),
    ] {
        let (s, body) = app
            .put(
                &admin,
                &format!("/api/conversations/{conv}/tags"),
                &json!({"tags": tags}),
            )
            .await;
        assert_eq!(s, 200, "{body}");
    }
    for (conv, score) in [(&ann_c, 5), (&bob_c, 2), (&cy_c, 4)] {
        let (s, body) = app
            .put(
                &admin,
                &format!("/api/conversations/{conv}/csat"),
                &json!({"score": score}),
            )
            .await;
        assert_eq!(s, 200, "{body}");
    }
    age(&app, &bob_c, 10).await;

    let cases = [
        (json!({"tags": ["vip"]}), vec![&ann, &bob]),
        (json!({"tags": ["vip", "lead"]}), vec![&ann]),
        (json!({"channels": ["twilio"]}), vec![&sms_contact]),
        (
            json!({"channels": ["api"], "csat_at_least": 4}),
            vec![&ann, &cy],
        ),
        (json!({"csat_at_most": 2}), vec![&bob]),
        (
            json!({"last_activity_before": (switchboard::clock::now() - chrono::Duration::days(5)).format("%Y-%m-%dT%H:%M:%S").to_string()}),
            vec![&bob],
        ),
        (
            json!({"last_activity_after": (switchboard::clock::now() - chrono::Duration::days(5)).format("%Y-%m-%dT%H:%M:%S").to_string(), "channels": ["api"]}),
            vec![&ann, &cy],
        ),
        (json!({"has_phone": true}), vec![&sms_contact]),
        (
            json!({"name_contains": "TEST cust", "tags": ["lead"]}),
            vec![&ann, &cy],
        ),
    ];
    for (i, (filter, want)) in cases.into_iter().enumerate() {
        let (s, seg) = app
            .post(
                &admin,
                "/api/segments",
                &json!({"name": format!("d{i}"), "kind": "dynamic", "filter": filter}),
            )
            .await;
        assert_eq!(s, 201, "{filter}: {seg}");
        let want = sorted(want.into_iter().cloned().collect());
        assert_eq!(seg["contact_count"], want.len(), "{filter}");
        let (s, page) = app
            .get(
                &admin,
                &format!("/api/segments/{}/contacts", seg["id"].as_str().expect("id")),
            )
            .await;
        assert_eq!(s, 200, "{page}");
        assert_eq!(ids(&page), want, "{filter}");
        // Its members follow the filter: no adding by hand.
        let (s, _) = app
            .post(
                &admin,
                &format!("/api/segments/{}/contacts", seg["id"].as_str().expect("id")),
                &json!({"contact_ids": [ann]}),
            )
            .await;
        assert_eq!(s, 422);
    }
    // The panel lists the dynamic segments the contact matches.
    let (_, of) = app
        .get(&admin, &format!("/api/contacts/{bob}/segments"))
        .await;
    let names: Vec<&str> = of["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["d0", "d4", "d5"], "{of}");
}

async fn agents_unsubscribe_and_resubscribe(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.login().await;
    let (_, contact) = customer(&app, &admin, "ann").await;
    let (_, agent) = app.agent("agent@test.local", Role::Agent).await;
    let (s, person) = app
        .post(
            &agent,
            &format!("/api/contacts/{contact}/unsubscribe"),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200, "{person}");
    let at = person["contact"]["unsubscribed_at"].clone();
    assert!(at.is_string(), "{person}");
    assert_eq!(person["contact"]["blocked"], false);
    // Twice keeps the first time.
    let (_, again) = app
        .post(
            &agent,
            &format!("/api/contacts/{contact}/unsubscribe"),
            &json!({}),
        )
        .await;
    assert_eq!(again["contact"]["unsubscribed_at"], at);
    // A dynamic segment sees it.
    let (_, seg) = app
        .post(
            &admin,
            "/api/segments",
            &json!({"name": "Gone", "kind": "dynamic", "filter": {"unsubscribed": true}}),
        )
        .await;
    assert_eq!(seg["contact_count"], 1, "{seg}");
    let (s, person) = app
        .post(
            &agent,
            &format!("/api/contacts/{contact}/resubscribe"),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(person["contact"]["unsubscribed_at"], Value::Null);
    let (s, _) = app
        .post(&agent, "/api/contacts/not-an-id/unsubscribe", &json!({}))
        .await;
    assert_eq!(s, 404);
}

async fn unsubscribed_at(app: &TestApp, token: &str, contact: &str) -> Value {
    let (_, person) = app.get(token, &format!("/api/contacts/{contact}")).await;
    person["contact"]["unsubscribed_at"].clone()
}

fn system_events(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["author"] == "system")
        .filter_map(|m| m["payload"]["event"].as_str().map(str::to_owned))
        .collect()
}

async fn stop_and_start_from_the_customer(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.login().await;
    let (conversation, contact) = customer(&app, &admin, "ann").await;

    app.customer_writes("ann-2", "ann", "please stop sending me the wrong size")
        .await;
    let (s, _) = app
        .post(
            &admin,
            &format!("/api/conversations/{conversation}/messages"),
            &json!({"text": "Sorry!"}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(unsubscribed_at(&app, &admin, &contact).await, Value::Null);

    app.customer_writes("ann-3", "ann", "  Stop! ").await;
    let messages = eventually("the unsubscribe note", WAIT, || async {
        let m = app.messages(&admin, &conversation).await;
        system_events(&m)
            .contains(&"unsubscribed".to_owned())
            .then_some(m)
    })
    .await;
    assert!(unsubscribed_at(&app, &admin, &contact).await.is_string());
    let conv = app.conversation(&admin, &conversation).await;
    assert!(conv["contact"]["unsubscribed_at"].is_string(), "{conv}");
    // The customer's own message is kept.
    assert!(messages
        .iter()
        .any(|m| m["author"] == "customer"
            && m["text"].as_str().is_some_and(|t| t.contains("Stop!"))));
    // Again: nothing changes, no second note.
    app.customer_writes("ann-4", "ann", "STOP").await;
    app.customer_writes("ann-5", "ann", "START").await;
    let messages = eventually("the resubscribe note", WAIT, || async {
        let m = app.messages(&admin, &conversation).await;
        system_events(&m)
            .contains(&"resubscribed".to_owned())
            .then_some(m)
    })
    .await;
    let events = system_events(&messages);
    assert_eq!(
        events.iter().filter(|e| *e == "unsubscribed").count(),
        1,
        "{events:?}"
    );
    assert_eq!(unsubscribed_at(&app, &admin, &contact).await, Value::Null);
    // The person's timeline has each change once.
    let (s, activity) = app
        .get(
            &admin,
            &format!("/api/contacts/{contact}/activity?kinds=unsubscribed,resubscribed"),
        )
        .await;
    assert_eq!(s, 200, "{activity}");
    let kinds: Vec<&str> = activity["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|a| a["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["resubscribed", "unsubscribed"], "{activity}");
}

/// Adding to and removing from a segment, and an agent's unsubscribe, are in the contact's
/// timeline.
async fn membership_and_unsubscribe_are_in_the_timeline(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.login().await;
    let (_, contact) = customer(&app, &admin, "tim").await;
    let (s, seg) = app
        .post(
            &admin,
            "/api/segments",
            &json!({"name": "Timeline", "kind": "static"}),
        )
        .await;
    assert_eq!(s, 201, "{seg}");
    let path = format!("/api/segments/{}/contacts", seg["id"].as_str().expect("id"));
    let ids = json!({"contact_ids": [contact]});
    let (s, body) = app.post(&admin, &path, &ids).await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = delete_with(&app, &admin, &path, &ids).await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = app
        .post(
            &admin,
            &format!("/api/contacts/{contact}/unsubscribe"),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, activity) = app
        .get(
            &admin,
            &format!(
                "/api/contacts/{contact}/activity?kinds=segment_added,segment_removed,unsubscribed"
            ),
        )
        .await;
    assert_eq!(s, 200, "{activity}");
    let kinds: Vec<&str> = activity["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|a| a["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["unsubscribed", "segment_removed", "segment_added"],
        "{activity}"
    );
}

/// A STOP on SMS unsubscribes the person on every channel; START on another channel brings
/// them all back (that channel's conversation had not heard of the STOP).
async fn keywords_apply_to_the_whole_person(b: Backend) {
    let (app, _api) = twilio::start(b, |_| {}).await;
    let admin = app.login().await;
    let body = json!({"external_id": "p-1", "contact": {"external_id": "crm-7", "name": "Amy", "phone": twilio::PHONE}, "text": HANDOFF});
    let (s, _) = crate::helpers::status_json(app.inbound(&body).await).await;
    assert_eq!(s, 200);
    twilio::inbound(&app, &twilio::sms("SM1", twilio::PHONE, "STOP")).await;
    let convs = eventually("both conversations", WAIT, || async {
        let all = app.conversations(&admin).await;
        (all.len() == 2).then_some(all)
    })
    .await;
    let contacts: Vec<String> = convs
        .iter()
        .map(|c| c["contact"]["id"].as_str().expect("id").to_owned())
        .collect();
    for contact in &contacts {
        let at = eventually("unsubscribed", WAIT, || async {
            let at = unsubscribed_at(&app, &admin, contact).await;
            at.is_string().then_some(at)
        })
        .await;
        assert!(at.is_string());
    }
    let body = json!({"external_id": "p-2", "contact": {"external_id": "crm-7", "name": "Amy", "phone": twilio::PHONE}, "text": "start"});
    let (s, _) = crate::helpers::status_json(app.inbound(&body).await).await;
    assert_eq!(s, 200);
    for contact in &contacts {
        eventually("resubscribed", WAIT, || async {
            unsubscribed_at(&app, &admin, contact)
                .await
                .is_null()
                .then_some(())
        })
        .await;
    }
}

async fn a_twilio_21610_unsubscribes_the_contact(b: Backend) {
    let (app, api) = twilio::start(b, |_| {}).await;
    let admin = app.login().await;
    twilio::inbound(&app, &twilio::sms("SM1", twilio::PHONE, HANDOFF)).await;
    let c = eventually("the SMS conversation", WAIT, || async {
        app.conversations(&admin)
            .await
            .into_iter()
            .find(|c| c["inbox_id"] == "sms")
    })
    .await;
    let (conversation, contact) = (
        c["id"].as_str().expect("id"),
        c["contact"]["id"].as_str().expect("id"),
    );
    assert_eq!(c["contact"]["unsubscribed_at"], Value::Null);
    api.script("POST", twilio::SEND_PATH, [Reply::json(400, json!({"code": 21610, "message": "Attempt to send to unsubscribed recipient", "more_info": "https://www.twilio.com/docs/errors/21610", "status": 400}))]);
    let (s, m) = app
        .post(
            &admin,
            &format!("/api/conversations/{conversation}/messages"),
            &json!({"text": "Our sale starts today"}),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    eventually("the contact unsubscribed", WAIT, || async {
        unsubscribed_at(&app, &admin, contact)
            .await
            .is_string()
            .then_some(())
    })
    .await;
    let failed = eventually("the message failed", WAIT, || async {
        app.messages(&admin, conversation)
            .await
            .into_iter()
            .find(|x| x["id"] == m["id"] && x["delivery_status"] == "failed")
    })
    .await;
    assert!(
        failed["failure_reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("21610"),
        "{failed}"
    );
}

both_backends!(
    crud_validation_and_roles,
    static_members_in_bulk,
    dynamic_segments_match_exactly,
    agents_unsubscribe_and_resubscribe,
    stop_and_start_from_the_customer,
    a_twilio_21610_unsubscribes_the_contact,
    keywords_apply_to_the_whole_person,
    membership_and_unsubscribe_are_in_the_timeline,
);
