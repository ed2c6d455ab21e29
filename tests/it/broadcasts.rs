//! Broadcasts end to end against a stand-in Graph API (and the API channel's callback
//! receiver): the audience snapshot with its skip reasons, a 1,000-recipient broadcast at its
//! pace, statuses from webhooks (by the provider's id and by the callback data), replies,
//! pause/resume/cancel, provider opt-outs and STOP, and a kill -9 in the middle of a
//! 1,000-recipient broadcast: nobody gets it twice.

use std::{
    collections::{HashMap, HashSet},
    num::NonZeroU32,
    time::Duration,
};

use diesel::prelude::*;
use serde_json::{json, Value};
use switchboard::{
    config::{ChannelSettings, Settings},
    db::{models::ContactRow, queries, Backend as DbBackend},
    domain::{types::OptOutSource, ContactId, InboxId},
    providers::whatsapp,
};

use crate::{
    both_backends,
    helpers::{
        eventually, login, status_json, Backend, FakeProvider, Reply, ServerProcess, TestApp,
        TestDb, ADMIN_EMAIL, ADMIN_PASSWORD, CALLBACK_PATH,
    },
    whatsapp::{self as wa, APP_SECRET, PNID, SEND_PATH},
};

const WAIT: Duration = Duration::from_secs(60);
const PREFIX: &str = "broadcast-recipient:";

/// A contact row as the seed writes it.
pub(crate) fn contact(
    inbox: &str,
    external_id: &str,
    name: Option<&str>,
    phone: Option<&str>,
) -> ContactRow {
    ContactRow {
        id: ContactId::new(),
        inbox_id: InboxId::from(inbox),
        external_id: external_id.to_owned(),
        name: name.map(str::to_owned),
        phone: phone.map(str::to_owned),
        email: None,
        blocked: false,
        created_at: chrono::Utc::now().naive_utc(),
        profile: Default::default(),
        unsubscribed_at: None,
        unsubscribed_reason: None,
    }
}

/// `n` WhatsApp contacts with names and numbers `+1555000xxxx`, written straight to the
/// database (no route creates contacts in bulk).
pub(crate) fn seed(db_url: &str, rows: &[ContactRow]) {
    let mut conn = DbBackend::from_url(db_url)
        .expect("url")
        .connect()
        .expect("connect");
    conn.transaction::<_, diesel::result::Error, _>(|c| {
        for row in rows {
            queries::insert_contact(c, row)
                .map_err(|e| diesel::result::Error::QueryBuilderError(e.to_string().into()))?;
        }
        Ok(())
    })
    .expect("seed contacts");
}

fn numbered(n: usize) -> Vec<ContactRow> {
    (0..n)
        .map(|i| {
            let digits = format!("1555{i:07}");
            contact(
                "wa",
                &digits,
                Some(&format!("Name{i} Surname")),
                Some(&format!("+{digits}")),
            )
        })
        .collect()
}

pub(crate) async fn static_segment(
    base: &str,
    token: &str,
    name: &str,
    ids: &[ContactId],
) -> String {
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{base}/api/segments"))
        .bearer_auth(token)
        .json(&json!({"name": name, "kind": "static"}))
        .send()
        .await
        .expect("segment");
    let (s, seg) = status_json(resp).await;
    assert_eq!(s, 201, "{seg}");
    let id = seg["id"].as_str().expect("id").to_owned();
    for chunk in ids.chunks(1000) {
        let resp = client
            .post(format!("{base}/api/segments/{id}/contacts"))
            .bearer_auth(token)
            .json(&json!({"contact_ids": chunk}))
            .send()
            .await
            .expect("members");
        let (s, body) = status_json(resp).await;
        assert_eq!(s, 200, "{body}");
    }
    id
}

pub(crate) async fn call(
    base: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let url = format!("{base}{path}");
    let mut req = match method {
        "POST" => client.post(url),
        _ => client.get(url),
    }
    .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    status_json(req.send().await.expect("request")).await
}

/// `POST /api/broadcasts/{id}/{verb}`, or `GET /api/broadcasts/{id}` when `verb` is empty.
pub(crate) async fn act(base: &str, token: &str, id: &str, verb: &str) -> (u16, Value) {
    match verb {
        "" => call(base, token, "GET", &format!("/api/broadcasts/{id}"), None).await,
        v => {
            call(
                base,
                token,
                "POST",
                &format!("/api/broadcasts/{id}/{v}"),
                None,
            )
            .await
        }
    }
}

pub(crate) async fn until_status(base: &str, token: &str, id: &str, want: &str) -> Value {
    eventually(&format!("broadcast {want}"), WAIT, || async {
        let (_, b) = act(base, token, id, "").await;
        (b["status"] == want).then_some(b)
    })
    .await
}

async fn recipients(base: &str, token: &str, id: &str, status: Option<&str>) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/broadcasts/{id}/recipients?limit=200");
        if let Some(s) = status {
            path.push_str(&format!("&status={s}"));
        }
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (s, page) = call(base, token, "GET", &path, None).await;
        assert_eq!(s, 200, "{page}");
        out.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

fn fast_whatsapp(s: &mut Settings) {
    for inbox in &mut s.inboxes {
        if let ChannelSettings::Whatsapp(w) = &mut inbox.channel {
            w.throughput_per_second = NonZeroU32::new(1000);
        }
    }
}

/// A status webhook naming the message by the callback data we sent with it.
fn status_with_data(
    id: &str,
    status: &str,
    to: &str,
    data: Option<&str>,
    error: Option<(u32, &str)>,
) -> Value {
    let mut s = json!({"id": id, "status": status, "timestamp": wa::ts(0), "recipient_id": to});
    if let Some(d) = data {
        s["biz_opaque_callback_data"] = json!(d);
    }
    if let Some((code, title)) = error {
        s["errors"] = json!([{"code": code, "title": title}]);
    }
    s
}

fn statuses(list: Vec<Value>) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PNID},
        "statuses": list}}]}]})
}

async fn a_broadcast_reaches_everyone_once_at_its_pace(b: Backend) {
    let (app, graph) = wa::start(b, fast_whatsapp).await;
    let token = app.login().await;
    let mut rows = numbered(1000);
    let mut blocked = contact(
        "wa",
        "15559000001",
        Some("Bea Blocked"),
        Some("+15559000001"),
    );
    blocked.blocked = true;
    let mut unsubscribed = contact("wa", "15559000002", Some("Ulla Un"), Some("+15559000002"));
    unsubscribed.unsubscribed_at = Some(chrono::Utc::now().naive_utc());
    unsubscribed.unsubscribed_reason = Some(OptOutSource::Agent);
    let mut opted_out = contact("wa", "15559000003", Some("Otto Out"), Some("+15559000003"));
    opted_out.unsubscribed_at = Some(chrono::Utc::now().naive_utc());
    opted_out.unsubscribed_reason = Some(OptOutSource::Provider);
    let no_address = contact("support", "api-no-phone", Some("Nora None"), None);
    // The same number as the first contact, on another channel: one message per address.
    let duplicate = contact("support", "api-dup", Some("Dup Same"), Some("+15550000000"));
    let nameless = contact("wa", "15559000004", None, Some("+15559000004"));
    rows.extend([
        blocked,
        unsubscribed,
        opted_out,
        no_address,
        duplicate,
        nameless,
    ]);
    seed(app.db_url(), &rows);
    let ids: Vec<ContactId> = rows.iter().map(|r| r.id).collect();
    let segment = static_segment(&app.base, &token, "Everyone", &ids).await;

    // Bad drafts change nothing.
    for (bad, why) in [
        (
            json!({"name": "x", "inbox": "wa", "segments": [segment], "text": "hi"}),
            "template",
        ),
        (
            json!({"name": "x", "inbox": "wa", "segments": [uuid::Uuid::now_v7()], "template": "order_update", "parameters": ["a", "b"]}),
            "no segment",
        ),
        (
            json!({"name": "x", "inbox": "wa", "segments": [segment], "template": "order_update", "parameters": ["{{nickname}}", "b"]}),
            "nickname",
        ),
        (
            json!({"name": "x", "inbox": "wa", "segments": [segment], "template": "order_update", "parameters": ["a"]}),
            "parameters",
        ),
        (
            json!({"name": "", "inbox": "wa", "segments": [segment], "template": "order_update", "parameters": ["a", "b"]}),
            "name",
        ),
    ] {
        let (s, body) = call(&app.base, &token, "POST", "/api/broadcasts", Some(bad)).await;
        assert_eq!(s, 422, "{body}");
        assert!(
            body["message"].as_str().unwrap_or_default().contains(why),
            "{why}: {body}"
        );
    }
    let (s, list) = call(&app.base, &token, "GET", "/api/broadcasts", None).await;
    assert_eq!((s, list["items"].as_array().map(Vec::len)), (200, Some(0)));

    let (s, draft) = call(
        &app.base,
        &token,
        "POST",
        "/api/broadcasts",
        Some(json!({
            "name": "Spring sale", "inbox": "wa", "segments": [segment],
            "template": "order_update", "parameters": ["{{first_name}}", "Monday"],
            "rate_per_second": 250,
        })),
    )
    .await;
    assert_eq!(s, 201, "{draft}");
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["rate_per_second"], 250);
    let id = draft["id"].as_str().expect("id").to_owned();

    let (s, preview) = act(&app.base, &token, &id, "preview").await;
    assert_eq!(s, 200, "{preview}");
    assert_eq!(preview["audience"], 1006);
    assert_eq!(preview["sends"], 1000);
    for reason in [
        "blocked",
        "unsubscribed",
        "provider_opted_out",
        "no_address",
        "duplicate_address",
        "missing_field",
    ] {
        assert_eq!(
            preview["skipped_by_reason"][reason], 1,
            "{reason}: {preview}"
        );
    }
    assert!(
        graph.calls_to("POST", SEND_PATH).is_empty(),
        "a preview sends nothing"
    );

    let (s, started) = act(&app.base, &token, &id, "start").await;
    assert_eq!(s, 200, "{started}");
    assert_eq!(started["counts"]["total"], 1006);
    let (s, again) = act(&app.base, &token, &id, "start").await;
    assert_eq!(s, 409, "{again}");
    assert_eq!(again["error"], "broadcast_status");

    let done = until_status(&app.base, &token, &id, "completed").await;
    assert_eq!(done["counts"]["sent"], 1000, "{done}");
    assert_eq!(done["counts"]["skipped"], 6, "{done}");

    // Each address once, the contact's own parameters, the callback data that names it.
    let calls = graph.calls_to("POST", SEND_PATH);
    assert_eq!(calls.len(), 1000);
    let bodies: Vec<Value> = calls.iter().map(|c| c.json()).collect();
    let to: HashSet<&str> = bodies.iter().filter_map(|b| b["to"].as_str()).collect();
    assert_eq!(to.len(), 1000, "one message per address");
    let first = bodies
        .iter()
        .find(|b| b["to"].as_str().map(|t| t.trim_start_matches('+')) == Some("15550000000"))
        .expect("the first contact got it");
    assert_eq!(first["template"]["name"], "order_update");
    assert_eq!(
        first["template"]["components"][0]["parameters"][0]["text"], "Name0",
        "{first}"
    );
    assert!(bodies.iter().all(|b| b["biz_opaque_callback_data"]
        .as_str()
        .is_some_and(|d| d.starts_with(PREFIX))));
    // The pace: 250 a second, so any 280 consecutive sends span at least a second (the
    // slack allows for sends that waited together on a database write).
    let mut at: Vec<_> = calls.iter().map(|c| c.at).collect();
    at.sort();
    for w in at.windows(281) {
        assert!(
            w[280] - w[0] >= Duration::from_millis(950),
            "{:?}",
            w[280] - w[0]
        );
    }

    // Statuses: by the provider's id, by the callback data alone, and failures.
    let sent = recipients(&app.base, &token, &id, Some("sent")).await;
    assert_eq!(sent.len(), 1000);
    let by_address: HashMap<&str, &Value> = sent
        .iter()
        .map(|r| (r["address"].as_str().expect("address"), r))
        .collect();
    let pid = |addr: &str| {
        by_address[addr]["provider_message_id"]
            .as_str()
            .expect("pid")
            .to_owned()
    };
    let rid = |addr: &str| format!("{PREFIX}{}", by_address[addr]["id"].as_str().expect("id"));
    wa::notify(
        &app,
        &statuses(vec![
            status_with_data(&pid("15550000001"), "delivered", "15550000001", None, None),
            status_with_data(
                &pid("15550000002"),
                "read",
                "15550000002",
                Some(&rid("15550000002")),
                None,
            ),
            // Out of order: delivered after read changes nothing.
            status_with_data(
                &pid("15550000002"),
                "delivered",
                "15550000002",
                Some(&rid("15550000002")),
                None,
            ),
            status_with_data(
                &pid("15550000003"),
                "failed",
                "15550000003",
                None,
                Some((131026, "Message undeliverable")),
            ),
            status_with_data(
                &pid("15550000004"),
                "failed",
                "15550000004",
                Some(&rid("15550000004")),
                Some((131050, "User stopped marketing messages")),
            ),
        ]),
    )
    .await;
    let (_, after) = act(&app.base, &token, &id, "").await;
    let counts = &after["counts"];
    assert_eq!(
        (
            counts["delivered"].as_i64(),
            counts["read"].as_i64(),
            counts["failed"].as_i64()
        ),
        (Some(1), Some(1), Some(1)),
        "{after}"
    );
    assert_eq!(
        counts["skipped_by_reason"]["provider_opted_out"], 2,
        "{after}"
    );
    let failed = recipients(&app.base, &token, &id, Some("failed")).await;
    assert_eq!(failed[0]["error_code"], "131026");
    // The opted-out contact is unsubscribed.
    let opted = &rows[4];
    let (_, c) = call(
        &app.base,
        &token,
        "GET",
        &format!("/api/contacts/{}", opted.id),
        None,
    )
    .await;
    assert!(c["contact"]["unsubscribed_at"].is_string(), "{c}");

    // A reply marks the broadcast replied; the contact's timeline and panel list it.
    wa::notify(
        &app,
        &json!({"object": "whatsapp_business_account", "entry": [
        wa::entry("15550000005", "Name5", vec![json!({"from": "15550000005", "id": "wamid.REPLY5",
            "timestamp": wa::ts(0), "type": "text", "text": {"body": "Yes please"}})], vec![])]}),
    )
    .await;
    let (_, after) = act(&app.base, &token, &id, "").await;
    assert_eq!(after["counts"]["replied"], 1, "{after}");
    let fifth = &rows[5];
    let (s, mine) = call(
        &app.base,
        &token,
        "GET",
        &format!("/api/contacts/{}/broadcasts", fifth.id),
        None,
    )
    .await;
    assert_eq!(s, 200, "{mine}");
    assert_eq!(mine["items"][0]["name"], "Spring sale");
    assert!(mine["items"][0]["replied_at"].is_string(), "{mine}");
    let (_, timeline) = call(
        &app.base,
        &token,
        "GET",
        &format!(
            "/api/contacts/{}/activity?kinds=broadcast_received",
            fifth.id
        ),
        None,
    )
    .await;
    assert_eq!(
        timeline["items"].as_array().map(Vec::len),
        Some(1),
        "{timeline}"
    );
    assert_eq!(timeline["items"][0]["detail"]["name"], "Spring sale");
}

async fn pause_resume_and_cancel(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let rows: Vec<ContactRow> = (0..30)
        .map(|i| {
            contact(
                "support",
                &format!("cust-{i}"),
                Some(&format!("C{i}")),
                None,
            )
        })
        .collect();
    seed(app.db_url(), &rows);
    let ids: Vec<ContactId> = rows.iter().map(|r| r.id).collect();
    let segment = static_segment(&app.base, &token, "API people", &ids).await;
    let (s, draft) = call(
        &app.base,
        &token,
        "POST",
        "/api/broadcasts",
        Some(json!({
            "name": "Slow", "inbox": "support", "segments": [segment],
            "text": "Hello {{name}}", "rate_per_second": 5,
        })),
    )
    .await;
    assert_eq!(s, 201, "{draft}");
    let id = draft["id"].as_str().expect("id").to_owned();
    let got = || app.callbacks.calls_to("POST", CALLBACK_PATH);
    let (s, _) = act(&app.base, &token, &id, "pause").await;
    assert_eq!(s, 409, "a draft cannot be paused");
    act(&app.base, &token, &id, "start").await;
    eventually("a few callbacks", WAIT, || async {
        (got().len() >= 3).then_some(())
    })
    .await;
    let (s, paused) = act(&app.base, &token, &id, "pause").await;
    assert_eq!(
        (s, paused["status"].as_str()),
        (200, Some("paused")),
        "{paused}"
    );
    assert_eq!(paused["pause_reason"], "agent");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let at_pause = got().len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(got().len(), at_pause, "nothing is sent while paused");
    let payload = got()[0].json();
    assert_eq!(payload["broadcast_id"], id.as_str());
    assert_eq!(payload["author"], "broadcast");
    assert!(
        payload["text"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Hello C"),
        "{payload}"
    );

    let (s, resumed) = act(&app.base, &token, &id, "resume").await;
    assert_eq!(
        (s, resumed["status"].as_str()),
        (200, Some("running")),
        "{resumed}"
    );
    eventually("more callbacks", WAIT, || async {
        (got().len() >= at_pause + 3).then_some(())
    })
    .await;
    let (s, cancelled) = act(&app.base, &token, &id, "cancel").await;
    assert_eq!(
        (s, cancelled["status"].as_str()),
        (200, Some("cancelled")),
        "{cancelled}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let at_cancel = got().len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(got().len(), at_cancel, "nothing is sent after cancel");
    assert!(at_cancel < 30, "cancelled before the end");
    let (_, final_) = act(&app.base, &token, &id, "").await;
    assert_eq!(
        final_["counts"]["sent"].as_u64(),
        Some(at_cancel as u64),
        "{final_}"
    );
    assert_eq!(
        final_["counts"]["queued"].as_u64(),
        Some(30 - at_cancel as u64),
        "{final_}"
    );
    let (s, _) = act(&app.base, &token, &id, "resume").await;
    assert_eq!(s, 409);
    // Each message once, named by its recipient.
    let ids: HashSet<String> = got()
        .iter()
        .map(|c| c.json()["message_id"].to_string())
        .collect();
    assert_eq!(ids.len(), at_cancel);
}

async fn opt_outs_skip_the_next_broadcast(b: Backend) {
    let (app, graph) = wa::start(b, fast_whatsapp).await;
    let token = app.login().await;
    let rows = numbered(3);
    seed(app.db_url(), &rows);
    let ids: Vec<ContactId> = rows.iter().map(|r| r.id).collect();
    let segment = static_segment(&app.base, &token, "Three", &ids).await;
    let ok = || {
        Reply::json(
            200,
            json!({"messaging_product": "whatsapp", "messages": [{"id": "wamid.B{seq}"}]}),
        )
    };
    let stopped = Reply::json(
        400,
        json!({"error": {"message": "(#131050) Unable to deliver the message", "type": "OAuthException",
        "code": 131050, "error_data": {"messaging_product": "whatsapp", "details": "User stopped marketing messages"}, "fbtrace_id": "x"}}),
    );
    graph.script("POST", SEND_PATH, [ok(), stopped, ok()]);
    let body = json!({"name": "First", "inbox": "wa", "segments": [segment], "template": "order_update",
        "parameters": ["{{name}}", "today"], "rate_per_second": 1});
    let (_, draft) = call(
        &app.base,
        &token,
        "POST",
        "/api/broadcasts",
        Some(body.clone()),
    )
    .await;
    let id = draft["id"].as_str().expect("id").to_owned();
    act(&app.base, &token, &id, "start").await;
    let done = until_status(&app.base, &token, &id, "completed").await;
    assert_eq!(done["counts"]["sent"], 2, "{done}");
    assert_eq!(
        done["counts"]["skipped_by_reason"]["provider_opted_out"], 1,
        "{done}"
    );
    let skipped = recipients(&app.base, &token, &id, Some("skipped")).await;
    assert_eq!(skipped[0]["error_code"], "131050");
    let opted = skipped[0]["contact_id"]
        .as_str()
        .expect("contact")
        .to_owned();
    let (_, c) = call(
        &app.base,
        &token,
        "GET",
        &format!("/api/contacts/{opted}"),
        None,
    )
    .await;
    assert!(c["contact"]["unsubscribed_at"].is_string(), "{c}");

    // Another of them replies STOP.
    let other = rows
        .iter()
        .find(|r| r.id.to_string() != opted)
        .expect("another");
    wa::notify(&app, &json!({"object": "whatsapp_business_account", "entry": [
        wa::entry(&other.external_id, "X", vec![json!({"from": other.external_id, "id": "wamid.STOP1",
            "timestamp": wa::ts(0), "type": "text", "text": {"body": "STOP"}})], vec![])]})).await;
    let mut second = body;
    second["name"] = json!("Second");
    let (_, draft) = call(&app.base, &token, "POST", "/api/broadcasts", Some(second)).await;
    let id = draft["id"].as_str().expect("id").to_owned();
    let (_, preview) = act(&app.base, &token, &id, "preview").await;
    assert_eq!(preview["sends"], 1, "{preview}");
    assert_eq!(preview["skipped_by_reason"]["unsubscribed"], 1, "{preview}");
    assert_eq!(
        preview["skipped_by_reason"]["provider_opted_out"], 1,
        "{preview}"
    );
}

async fn a_scheduled_broadcast_starts_by_itself(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let rows: Vec<ContactRow> = (0..3)
        .map(|i| contact("support", &format!("sched-{i}"), Some("S"), None))
        .collect();
    seed(app.db_url(), &rows);
    let ids: Vec<ContactId> = rows.iter().map(|r| r.id).collect();
    let segment = static_segment(&app.base, &token, "Later", &ids).await;
    let past = (chrono::Utc::now() - chrono::Duration::seconds(5)).naive_utc();
    let (s, body) = call(&app.base, &token, "POST", "/api/broadcasts", Some(json!({
        "name": "Past", "inbox": "support", "segments": [segment], "text": "x", "scheduled_at": past,
    }))).await;
    assert_eq!(s, 422, "{body}");
    let at = (chrono::Utc::now() + chrono::Duration::seconds(2)).naive_utc();
    let (_, draft) = call(&app.base, &token, "POST", "/api/broadcasts", Some(json!({
        "name": "Later", "inbox": "support", "segments": [segment], "text": "Soon", "scheduled_at": at,
    }))).await;
    let id = draft["id"].as_str().expect("id").to_owned();
    let (s, scheduled) = act(&app.base, &token, &id, "start").await;
    assert_eq!(
        (s, scheduled["status"].as_str()),
        (200, Some("scheduled")),
        "{scheduled}"
    );
    assert!(app.callbacks.calls_to("POST", CALLBACK_PATH).is_empty());
    let done = until_status(&app.base, &token, &id, "completed").await;
    assert_eq!(done["counts"]["sent"], 3, "{done}");
}

async fn twilio_statuses_name_their_recipient_in_the_callback_url(b: Backend) {
    let (app, api) = crate::twilio::start(b, |_| {}).await;
    let token = app.login().await;
    let rows: Vec<ContactRow> = (0..3)
        .map(|i| {
            let phone = format!("+44770090010{i}");
            contact("sms", &phone, Some(&format!("Tia{i} T")), Some(&phone))
        })
        .collect();
    seed(app.db_url(), &rows);
    let ids: Vec<ContactId> = rows.iter().map(|r| r.id).collect();
    let segment = static_segment(&app.base, &token, "Texters", &ids).await;
    let (s, draft) = call(
        &app.base,
        &token,
        "POST",
        "/api/broadcasts",
        Some(json!({
            "name": "SMS", "inbox": "sms", "segments": [segment], "text": "Hi {{first_name}}",
        })),
    )
    .await;
    assert_eq!(s, 201, "{draft}");
    let id = draft["id"].as_str().expect("id").to_owned();
    act(&app.base, &token, &id, "start").await;
    until_status(&app.base, &token, &id, "completed").await;
    let sends: Vec<Vec<(String, String)>> = api
        .calls_to("POST", crate::twilio::SEND_PATH)
        .iter()
        .map(|c| switchboard::providers::twilio::parse_form(&c.body))
        .collect();
    assert_eq!(sends.len(), 3);
    let field = |f: &[(String, String)], k: &str| {
        f.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let first = sends
        .iter()
        .find(|f| field(f, "To") == "+447700900100")
        .expect("the first number");
    assert_eq!(field(first, "Body"), "Hi Tia0");
    // Each status URL names its recipient; Twilio signs the URL with its query.
    for (f, (status, error)) in sends.iter().zip([
        ("delivered", None),
        ("failed", Some("21610")),
        ("read", None),
    ]) {
        let callback = field(f, "StatusCallback");
        let (base, query) = callback.split_once('?').expect("a query");
        assert_eq!(base, format!("{}/status", crate::twilio::PUBLIC));
        assert!(
            query.starts_with("broadcast_recipient=broadcast-recipient%3A")
                || query.starts_with("broadcast_recipient=broadcast-recipient:"),
            "{query}"
        );
        let mut params: Vec<(String, String)> = [
            // Not the id the send's answer gave: as if that answer had been lost.
            ("MessageSid", "SMunknown"),
            ("MessageStatus", status),
            ("AccountSid", crate::twilio::SID),
            ("From", crate::twilio::FROM),
            ("To", &field(f, "To")),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        if let Some(code) = error {
            params.push(("ErrorCode".to_owned(), code.to_owned()));
        }
        let path = format!("/webhooks/twilio/sms/status?{query}");
        let (s, body) = crate::twilio::post_form(&app, &path, &params, Some(&callback)).await;
        assert_eq!(s, 204, "{body}");
    }
    // A forged recipient in the URL fails the signature.
    let (s, _) = crate::twilio::post_form(
        &app,
        "/webhooks/twilio/sms/status?broadcast_recipient=x",
        &[("MessageSid".to_owned(), "SM1".to_owned())],
        Some(&format!("{}/status", crate::twilio::PUBLIC)),
    )
    .await;
    assert_eq!(s, 401);
    let (_, after) = act(&app.base, &token, &id, "").await;
    let counts = &after["counts"];
    assert_eq!(
        (counts["delivered"].as_i64(), counts["read"].as_i64()),
        (Some(1), Some(1)),
        "{after}"
    );
    // A failure that says the person opted out skips them, and marks the contact.
    assert_eq!(
        counts["skipped_by_reason"]["provider_opted_out"], 1,
        "{after}"
    );
    let (_, skipped) = call(
        &app.base,
        &token,
        "GET",
        &format!("/api/broadcasts/{id}/recipients?status=skipped"),
        None,
    )
    .await;
    let contact_id = skipped["items"][0]["contact_id"]
        .as_str()
        .expect("contact")
        .to_owned();
    let (_, person) = call(
        &app.base,
        &token,
        "GET",
        &format!("/api/contacts/{contact_id}"),
        None,
    )
    .await;
    assert!(!person["contact"]["unsubscribed_at"].is_null(), "{person}");
    // Pages of the recipients refuse what they cannot serve.
    for (query, code) in [
        ("limit=0", 422),
        ("limit=201", 422),
        ("limit=x", 400),
        ("status=lost", 400),
        ("cursor=nope", 400),
    ] {
        let (s, body) = call(
            &app.base,
            &token,
            "GET",
            &format!("/api/broadcasts/{id}/recipients?{query}"),
            None,
        )
        .await;
        assert_eq!(s, code, "{query}: {body}");
    }
}

/// An API inbox's `throughput_per_second` is its broadcasts' default pace and their cap, and
/// paces its replies too (one limiter per inbox, shared with broadcasts).
async fn an_api_inbox_paces_at_its_throughput(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        if let switchboard::config::ChannelSettings::Api(api) = &mut s.inboxes[0].channel {
            api.throughput_per_second = std::num::NonZeroU32::new(4);
        }
    })
    .await;
    let token = app.login().await;
    let rows: Vec<ContactRow> = (0..8)
        .map(|i| {
            contact(
                "support",
                &format!("paced-{i}"),
                Some(&format!("P{i}")),
                None,
            )
        })
        .collect();
    seed(app.db_url(), &rows);
    let ids: Vec<ContactId> = rows.iter().map(|r| r.id).collect();
    let segment = static_segment(&app.base, &token, "Paced", &ids).await;
    let mut drafts = Vec::new();
    for rate in [None, Some(50)] {
        let mut body =
            json!({"name": "Paced", "inbox": "support", "segments": [segment], "text": "Hi"});
        if let Some(r) = rate {
            body["rate_per_second"] = json!(r);
        }
        let (s, draft) = call(&app.base, &token, "POST", "/api/broadcasts", Some(body)).await;
        assert_eq!(
            (s, draft["rate_per_second"].as_u64()),
            (201, Some(4)),
            "{draft}"
        );
        drafts.push(draft["id"].as_str().expect("id").to_owned());
    }
    let started = std::time::Instant::now();
    act(&app.base, &token, &drafts[0], "start").await;
    until_status(&app.base, &token, &drafts[0], "completed").await;
    // Eight POSTs at four a second, 250 ms apart: the eighth leaves 1.75 s after the first.
    assert!(
        started.elapsed() >= Duration::from_millis(1700),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(app.callbacks.calls_to("POST", CALLBACK_PATH).len(), 8);
}

/// Runs one statement of SQL through the server's own writer (a test's view of the database).
async fn execute_sql(app: &TestApp, sql: &'static str) {
    app.handle
        .app
        .store
        .write(move |c| {
            diesel::sql_query(sql).execute(c)?;
            Ok(())
        })
        .await
        .expect(sql);
}

/// The provider has the message but the database refuses its outcome for a while: the
/// outcome is offered again until it is stored, nothing is sent twice, and the broadcast
/// completes (it used to wait for a restart with the rows left `sending`).
async fn an_outcome_the_database_refuses_for_a_while_is_stored_later(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let rows: Vec<ContactRow> = (0..5)
        .map(|i| {
            contact(
                "support",
                &format!("held-{i}"),
                Some(&format!("H{i}")),
                None,
            )
        })
        .collect();
    seed(app.db_url(), &rows);
    let ids: Vec<ContactId> = rows.iter().map(|r| r.id).collect();
    let segment = static_segment(&app.base, &token, "Held", &ids).await;
    let (s, draft) = call(
        &app.base,
        &token,
        "POST",
        "/api/broadcasts",
        Some(json!({
            "name": "Held", "inbox": "support", "segments": [segment], "text": "Hi {{name}}",
        })),
    )
    .await;
    assert_eq!(s, 201, "{draft}");
    let id = draft["id"].as_str().expect("id").to_owned();
    // Every "sent" is refused, as a database that went away would.
    match b {
        Backend::Sqlite => {
            execute_sql(
                &app,
                "CREATE TRIGGER hold_outcomes BEFORE UPDATE OF status ON broadcast_recipients \
                 WHEN NEW.status = 'sent' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END",
            )
            .await;
        }
        Backend::Postgres => {
            execute_sql(
                &app,
                "CREATE FUNCTION hold_outcomes() RETURNS trigger AS $$ BEGIN \
                 IF NEW.status = 'sent' THEN RAISE EXCEPTION 'could not write to file'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql",
            )
            .await;
            execute_sql(
                &app,
                "CREATE TRIGGER hold_outcomes BEFORE UPDATE ON broadcast_recipients \
                 FOR EACH ROW EXECUTE FUNCTION hold_outcomes()",
            )
            .await;
        }
    }
    act(&app.base, &token, &id, "start").await;
    let got = || app.callbacks.calls_to("POST", CALLBACK_PATH);
    eventually("all five POSTed", WAIT, || async {
        (got().len() == 5).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (_, held) = act(&app.base, &token, &id, "").await;
    assert_eq!(
        (held["status"].as_str(), held["counts"]["sending"].as_i64()),
        (Some("running"), Some(5)),
        "{held}"
    );
    let drop = match b {
        Backend::Sqlite => "DROP TRIGGER hold_outcomes",
        Backend::Postgres => "DROP TRIGGER hold_outcomes ON broadcast_recipients",
    };
    execute_sql(&app, drop).await;
    let done = until_status(&app.base, &token, &id, "completed").await;
    assert_eq!(done["counts"]["sent"], 5, "{done}");
    assert_eq!(got().len(), 5, "nothing is sent twice");
}

both_backends!(
    a_broadcast_reaches_everyone_once_at_its_pace,
    pause_resume_and_cancel,
    opt_outs_skip_the_next_broadcast,
    a_scheduled_broadcast_starts_by_itself,
    twilio_statuses_name_their_recipient_in_the_callback_url,
    an_api_inbox_paces_at_its_throughput,
    an_outcome_the_database_refuses_for_a_while_is_stored_later,
    kill_9_in_the_middle_never_sends_twice,
);

fn config(db: &TestDb, graph: &str) -> std::path::PathBuf {
    let path = db.dir.join("broadcast.toml");
    let text = format!(
        r#"
[server]
data_dir = "{data}"
database_url = "{url}"
workers = 1

[admin]
email = "{ADMIN_EMAIL}"
password = "{ADMIN_PASSWORD}"

[[inbox]]
id = "wa"
channel = "whatsapp"
secret = "{APP_SECRET}"
phone_number_id = "{PNID}"
access_token = "EAAG-test-access-token"
verify_token = "verify-token-42"
api_base_url = "{graph}"
throughput_per_second = 1000
[[inbox.templates]]
name = "order_update"
language = "en_US"
body = "Your order {{{{1}}}} ships on {{{{2}}}}."
parameters = ["order number", "date"]
"#,
        data = db.dir.join("data").display(),
        url = db.url,
    );
    std::fs::write(&path, text).expect("write config");
    path
}

async fn kill_9_in_the_middle_never_sends_twice(b: Backend) {
    let db = TestDb::new(b);
    let graph = FakeProvider::start().await;
    let slow = Reply::json(
        200,
        json!({"messaging_product": "whatsapp", "messages": [{"id": "wamid.K{seq}"}]}),
    )
    .after(Duration::from_millis(40));
    graph.on("POST", SEND_PATH, slow);
    let config = config(&db, &graph.url);
    let server = ServerProcess::start(&config, &[]);
    let client = reqwest::Client::new();
    let token = login(&client, &server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let rows = numbered(1000);
    seed(&db.url, &rows);
    let ids: Vec<ContactId> = rows.iter().map(|r| r.id).collect();
    let segment = static_segment(&server.base, &token, "Thousand", &ids).await;
    let (s, draft) = call(&server.base, &token, "POST", "/api/broadcasts", Some(json!({
        "name": "Crash test", "inbox": "wa", "segments": [segment],
        "template": "order_update", "parameters": ["{{first_name}}", "soon"], "rate_per_second": 400,
    }))).await;
    assert_eq!(s, 201, "{draft}");
    let id = draft["id"].as_str().expect("id").to_owned();
    act(&server.base, &token, &id, "start").await;
    eventually("a third sent", WAIT, || async {
        (graph.calls_to("POST", SEND_PATH).len() >= 300).then_some(())
    })
    .await;
    server.kill9();

    // Back, with a provider that answers at once.
    graph.on(
        "POST",
        SEND_PATH,
        Reply::json(
            200,
            json!({"messaging_product": "whatsapp", "messages": [{"id": "wamid.R{seq}"}]}),
        ),
    );
    let server = ServerProcess::start(&config, &[]);
    let token = login(&client, &server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let done = until_status(&server.base, &token, &id, "completed").await;
    let unknown = recipients(&server.base, &token, &id, Some("unknown")).await;
    assert!(!unknown.is_empty(), "the kill cut sends in flight: {done}");
    assert!(
        unknown.len() <= 16,
        "at most the sends in flight: {}",
        unknown.len()
    );

    // At most once per address; every settled recipient exactly once.
    let calls: Vec<Value> = graph
        .calls_to("POST", SEND_PATH)
        .iter()
        .map(|c| c.json())
        .collect();
    let mut per_address: HashMap<String, usize> = HashMap::new();
    for c in &calls {
        *per_address
            .entry(
                c["to"]
                    .as_str()
                    .expect("to")
                    .trim_start_matches('+')
                    .to_owned(),
            )
            .or_default() += 1;
    }
    assert!(
        per_address.values().all(|&n| n == 1),
        "someone got it twice"
    );
    let sent = recipients(&server.base, &token, &id, Some("sent")).await;
    assert_eq!(sent.len() + unknown.len(), 1000, "{done}");
    for r in &sent {
        let to = r["address"].as_str().expect("address").to_owned();
        assert_eq!(per_address.get(&to), Some(&1), "{r}");
    }

    // The provider's statuses settle the unknown ones it did receive.
    let data_of: HashMap<String, &Value> = calls
        .iter()
        .filter_map(|c| Some((c["biz_opaque_callback_data"].as_str()?.to_owned(), c)))
        .collect();
    let mut reached = 0;
    let mut list = Vec::new();
    for (n, r) in unknown.iter().enumerate() {
        let data = format!("{PREFIX}{}", r["id"].as_str().expect("id"));
        if data_of.contains_key(&data) {
            reached += 1;
            list.push(status_with_data(
                &format!("wamid.LOST{n}"),
                "delivered",
                r["address"].as_str().expect("a"),
                Some(&data),
                None,
            ));
        }
    }
    let raw = serde_json::to_vec(&statuses(list)).expect("json");
    let resp = client
        .post(format!("{}/webhooks/whatsapp/wa", server.base))
        .header("Content-Type", "application/json")
        .header("X-Hub-Signature-256", whatsapp::sign(APP_SECRET, &raw))
        .body(raw)
        .send()
        .await
        .expect("statuses");
    assert_eq!(resp.status().as_u16(), 200);
    let (_, after) = act(&server.base, &token, &id, "").await;
    assert_eq!(
        after["counts"]["delivered"].as_u64(),
        Some(reached as u64),
        "{after}"
    );
    assert_eq!(
        after["counts"]["unknown"].as_u64(),
        Some((unknown.len() - reached) as u64),
        "{after}"
    );
    server.kill9();
}
