//! A person's files (`/api/contacts/{id}/files`): a customer's WhatsApp photo (downloaded from
//! the stand-in Graph API), an agent's attachment on the same person's SMS conversation and a
//! file uploaded to the contact, in one list newest first; search by name; keyset pages across
//! both sources; downloads with safe headers; the timeline entry; access; bad input.

use std::collections::HashSet;

use diesel::RunQueryDsl;
use serde_json::{json, Value};
use switchboard::domain::types::Role;

use crate::{
    both_backends,
    helpers::{Backend, FakeProvider, Reply, TestApp},
    twilio, whatsapp,
};

/// The WhatsApp customer's number, as the SMS channel sees it: the same person.
const PHONE: &str = "+16315551181";

fn files_of(page: &Value) -> Vec<Value> {
    page["items"].as_array().cloned().unwrap_or_default()
}

/// GET with the token: status and the headers a browser would act on.
async fn fetch(app: &TestApp, token: &str, path: &str) -> (u16, Vec<u8>, [String; 3]) {
    let resp = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let headers = [
        header("x-content-type-options"),
        header("content-security-policy"),
        header("content-disposition"),
    ];
    let status = resp.status().as_u16();
    (status, resp.bytes().await.expect("body").to_vec(), headers)
}

async fn files_from_every_source_make_one_list(b: Backend) {
    let sms_api = FakeProvider::start().await;
    sms_api.on("POST", twilio::SEND_PATH, Reply::json(201, json!({"sid": "SM{seq}", "status": "queued", "num_segments": "1", "error_code": null, "error_message": null})));
    let sms_url = sms_api.url.clone();
    let (app, graph) = whatsapp::start(b, |s| s.inboxes.push(twilio::twilio_inbox(&sms_url))).await;
    let token = app.login().await;

    // 1. The customer sends a photo on WhatsApp (two minutes ago, by its timestamp).
    let jpeg = b"\xff\xd8\xff\xe0 a photo of the broken part".to_vec();
    whatsapp::media_answer(&graph, "IMG1", "image/jpeg", &jpeg);
    let photo = json!({"from": whatsapp::CUSTOMER, "id": "wamid.IMG", "timestamp": whatsapp::ts(120),
        "type": "image", "image": {"id": "IMG1", "mime_type": "image/jpeg", "sha256": "x"}});
    whatsapp::notify(
        &app,
        &whatsapp::notification(
            vec![whatsapp::text("wamid.T1", 130, whatsapp::HANDOFF), photo],
            vec![],
        ),
    )
    .await;
    let wa = whatsapp::the_conversation(&app, &token).await;
    let stored = app
        .message_where(&token, &wa, "the photo stored", |m| {
            m["kind"] == "image" && m["media_url"].is_string()
        })
        .await;
    let photo_id = stored["id"].as_str().expect("id").to_owned();
    let contact = app.conversation(&token, &wa).await["contact"]["id"]
        .as_str()
        .expect("contact")
        .to_owned();

    // 2. The same person writes by SMS; an agent sends them a document there.
    twilio::inbound(&app, &twilio::sms("SM0001", PHONE, twilio::HANDOFF)).await;
    let sms = twilio::conversation_with(&app, &token, PHONE).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (s, sent) = app
        .post_bytes(
            &token,
            &format!("/api/conversations/{sms}/attachments?filename=Quote%202026.pdf"),
            "application/pdf",
            b"%PDF-1.4 quote",
        )
        .await;
    assert_eq!(s, 201, "{sent}");
    let quote_id = sent["id"].as_str().expect("id").to_owned();
    let (_, person) = app.get(&token, &format!("/api/contacts/{contact}")).await;
    assert_eq!(
        person["channels"].as_array().map(Vec::len),
        Some(2),
        "{person}"
    );

    // 3. An agent uploads a file to the contact itself.
    let contract = b"%PDF-1.4 the signed contract".to_vec();
    let (s, up) = app
        .post_bytes(
            &token,
            &format!("/api/contacts/{contact}/files?filename=Contract%20signed.pdf"),
            "application/pdf",
            &contract,
        )
        .await;
    assert_eq!(s, 201, "{up}");
    let upload_id = up["id"].as_str().expect("id").to_owned();
    assert_eq!(up["source"], "upload");
    assert_eq!(up["size"], contract.len());
    let (_, me) = app.get(&token, "/api/auth/me").await;
    let me = &me["agent"];
    assert_eq!(up["uploaded_by"]["name"], me["name"], "{up} {me}");
    assert!(app
        .data_dir
        .join(format!("media/contacts/{contact}/{upload_id}"))
        .is_file());

    // One list, newest first, from whichever of the person's contacts it is asked.
    let sms_contact = app.conversation(&token, &sms).await["contact"]["id"]
        .as_str()
        .expect("contact")
        .to_owned();
    for asked in [&contact, &sms_contact] {
        let (s, page) = app
            .get(&token, &format!("/api/contacts/{asked}/files"))
            .await;
        assert_eq!(s, 200, "{page}");
        let items = files_of(&page);
        let ids: Vec<&str> = items.iter().filter_map(|f| f["id"].as_str()).collect();
        assert_eq!(ids, [&upload_id, &quote_id, &photo_id], "{page}");
        assert_eq!(page["next_cursor"], Value::Null);
        let (upload, quote, image) = (&items[0], &items[1], &items[2]);
        assert_eq!(upload["name"], "Contract signed.pdf");
        assert_eq!(
            upload["url"],
            format!("/api/contacts/{contact}/files/{upload_id}")
        );
        assert_eq!(
            (
                quote["source"].as_str(),
                quote["direction"].as_str(),
                quote["channel"].as_str()
            ),
            (Some("message"), Some("outbound"), Some("twilio"))
        );
        assert_eq!(quote["name"], "Quote 2026.pdf");
        assert_eq!(quote["conversation_id"], sms.as_str());
        assert_eq!(
            (
                image["direction"].as_str(),
                image["channel"].as_str(),
                image["state"].as_str()
            ),
            (Some("inbound"), Some("whatsapp"), Some("stored"))
        );
        assert_eq!(image["name"], "image.jpeg");
        assert_eq!(image["url"], format!("/api/files/{photo_id}"));
    }

    // Downloads: the bytes, with the shared safe headers.
    let (s, body, [nosniff, csp, disposition]) = fetch(
        &app,
        &token,
        &format!("/api/contacts/{contact}/files/{upload_id}"),
    )
    .await;
    assert_eq!((s, body), (200, contract.clone()));
    assert_eq!(nosniff, "nosniff");
    assert!(csp.contains("sandbox"), "{csp}");
    assert_eq!(disposition, "attachment; filename=\"Contract signed.pdf\"");
    let (s, body, _) = fetch(&app, &token, &format!("/api/files/{photo_id}")).await;
    assert_eq!((s, body), (200, jpeg));
    let (s, _, _) = app
        .get_bytes(None, &format!("/api/contacts/{contact}/files/{upload_id}"))
        .await;
    assert_eq!(s, 401);

    // Search by name: a case-insensitive substring, `%` literal; nameless photos match none.
    for (q, want) in [
        ("contract", vec![upload_id.as_str()]),
        ("QUOTE", vec![quote_id.as_str()]),
        (".pdf", vec![upload_id.as_str(), quote_id.as_str()]),
        ("image", vec![]),
        ("%25", vec![]),
        (
            "  ",
            vec![upload_id.as_str(), quote_id.as_str(), photo_id.as_str()],
        ),
    ] {
        let (s, page) = app
            .get(&token, &format!("/api/contacts/{contact}/files?q={q}"))
            .await;
        assert_eq!(s, 200, "{q}: {page}");
        let ids: Vec<String> = files_of(&page)
            .iter()
            .filter_map(|f| f["id"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(ids, want, "{q}");
    }

    // More uploads, then pages of two across both sources: every file once, in order.
    let mut expected = Vec::new();
    for i in 0..3 {
        let (s, up) = app
            .post_bytes(
                &token,
                &format!("/api/contacts/{sms_contact}/files?filename=note-{i}.txt"),
                "text/plain",
                format!("note {i}").as_bytes(),
            )
            .await;
        assert_eq!(s, 201, "{up}");
        expected.insert(0, up["id"].as_str().expect("id").to_owned());
    }
    expected.extend([upload_id.clone(), quote_id.clone(), photo_id.clone()]);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let path = match &cursor {
            Some(c) => format!("/api/contacts/{contact}/files?limit=2&cursor={c}"),
            None => format!("/api/contacts/{contact}/files?limit=2"),
        };
        let (s, page) = app.get(&token, &path).await;
        assert_eq!(s, 200, "{page}");
        let items = files_of(&page);
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .filter_map(|f| f["id"].as_str().map(str::to_owned)),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, expected, "no duplicates, no gaps");

    // The upload is in the timeline, written with it.
    let (s, page) = app
        .get(
            &token,
            &format!("/api/contacts/{contact}/activity?kinds=file_uploaded"),
        )
        .await;
    assert_eq!(s, 200, "{page}");
    let entries = files_of(&page);
    assert_eq!(entries.len(), 4, "{page}");
    let first = &entries[3];
    assert_eq!(first["detail"]["name"], "Contract signed.pdf");
    assert_eq!(first["detail"]["file_id"], upload_id.as_str());
    assert_eq!(first["agent_id"], me["id"]);
}

async fn bad_input_and_other_agents_are_refused_and_nothing_is_stored(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        s.access.visibility = switchboard::config::Visibility::AssignedAndUnassigned;
        s.server.max_media_bytes = 1024;
    })
    .await;
    let token = app.login().await;
    let conversation = app.customer_writes("m1", "c1", "Hello").await;
    let contact = app.conversation(&token, &conversation).await["contact"]["id"]
        .as_str()
        .expect("contact")
        .to_owned();
    let files = format!("/api/contacts/{contact}/files");

    for (query, ct, body, status) in [
        ("?filename=a.txt", "text/plain", Vec::new(), 422),
        (
            "?filename=big.bin",
            "application/octet-stream",
            vec![7u8; 2048],
            413,
        ),
        (
            "?filename=a.txt",
            "multipart/form-data; boundary=x",
            b"x".to_vec(),
            400,
        ),
        (
            "?filename=..%2Fetc%2Fpasswd",
            "text/plain",
            b"x".to_vec(),
            422,
        ),
        ("?filename=a%00b", "text/plain", b"x".to_vec(), 422),
        (
            &format!("?filename={}", "a".repeat(201)),
            "text/plain",
            b"x".to_vec(),
            422,
        ),
        ("?nope=1", "text/plain", b"x".to_vec(), 400),
    ] {
        let (s, v) = app
            .post_bytes(&token, &format!("{files}{query}"), ct, &body)
            .await;
        assert_eq!(s, status, "{query} {ct}: {v}");
        if status != 413 {
            assert!(v["error"].is_string(), "{v}");
        }
    }
    for query in [
        "?cursor=nope".to_owned(),
        "?cursor=1_not-a-uuid".to_owned(),
        "?limit=0".to_owned(),
        "?limit=101".to_owned(),
        "?sort=name".to_owned(),
    ] {
        let (s, v) = app.get(&token, &format!("{files}{query}")).await;
        assert_eq!(s, 400, "{query}: {v}");
    }
    // A search too long, or with a control character (NUL would break PostgreSQL): 422, as
    // for the conversation list's `q`.
    for query in [
        format!("?q={}", "a".repeat(101)),
        "?q=a%01".to_owned(),
        "?q=a%00".to_owned(),
    ] {
        let (s, v) = app.get(&token, &format!("{files}{query}")).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (422, Some("validation_failed")),
            "{query}: {v}"
        );
    }
    for path in [
        "/api/contacts/not-an-id/files".to_owned(),
        format!("/api/contacts/{}/files", uuid::Uuid::now_v7()),
        format!("{files}/not-an-id"),
        format!("{files}/{}", uuid::Uuid::now_v7()),
    ] {
        let (s, v) = app.get(&token, &path).await;
        assert_eq!(s, 404, "{path}: {v}");
    }
    // Nothing of the refused uploads was kept.
    let (_, page) = app.get(&token, &files).await;
    assert!(files_of(&page).is_empty(), "{page}");
    let dir = app.data_dir.join(format!("media/contacts/{contact}"));
    let left = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "no file left in {}", dir.display());
    let (_, page) = app
        .get(
            &token,
            &format!("/api/contacts/{contact}/activity?kinds=file_uploaded"),
        )
        .await;
    assert!(files_of(&page).is_empty(), "{page}");

    // A file of one person is not reachable through another.
    let (s, up) = app
        .post_bytes(
            &token,
            &format!("{files}?filename=a.txt"),
            "text/plain",
            b"mine",
        )
        .await;
    assert_eq!(s, 201, "{up}");
    let file = up["id"].as_str().expect("id").to_owned();
    let other = app.customer_writes("m2", "c2", "Hi").await;
    let other = app.conversation(&token, &other).await["contact"]["id"]
        .as_str()
        .expect("contact")
        .to_owned();
    let (s, _) = app
        .get(&token, &format!("/api/contacts/{other}/files/{file}"))
        .await;
    assert_eq!(s, 404);

    // An agent who may not see the contact's conversation gets 404 everywhere, as for the
    // contact's other endpoints.
    let (ana_id, ana) = app.agent("ana@test.local", Role::Agent).await;
    let (_, bob) = app.agent("bob@test.local", Role::Agent).await;
    let (s, v) = app
        .post(
            &token,
            &format!("/api/conversations/{conversation}/assign"),
            &json!({"agent_id": ana_id}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = app.get(&bob, &files).await;
    assert_eq!(s, 404);
    let (s, _) = app.get(&bob, &format!("{files}/{file}")).await;
    assert_eq!(s, 404);
    let (s, _) = app
        .post_bytes(&bob, &format!("{files}?filename=b.txt"), "text/plain", b"x")
        .await;
    assert_eq!(s, 404);
    let (s, page) = app.get(&token, &files).await;
    let names: HashSet<String> = files_of(&page)
        .iter()
        .filter_map(|f| f["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!((s, names), (200, HashSet::from(["a.txt".to_owned()])));
    // Ana, the assignee, sees the file.
    let (s, _, _) = fetch(&app, &ana, &format!("{files}/{file}")).await;
    assert_eq!(s, 200);

    // A row that cannot be committed takes its file and its timeline entry with it: with the
    // table gone, the upload fails and leaves only the earlier file on disk.
    app.handle
        .app
        .store
        .write(|c| {
            diesel::sql_query("ALTER TABLE contact_files RENAME TO contact_files_gone")
                .execute(c)?;
            Ok(())
        })
        .await
        .expect("rename the table");
    let (s, v) = app
        .post_bytes(
            &token,
            &format!("{files}?filename=lost.txt"),
            "text/plain",
            b"lost",
        )
        .await;
    assert!(s >= 500, "{s} {v}");
    let left: Vec<String> = std::fs::read_dir(&dir)
        .expect("the contact's folder")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        std::slice::from_ref(&file),
        "only the committed file stays"
    );
    let (_, page) = app
        .get(
            &token,
            &format!("/api/contacts/{contact}/activity?kinds=file_uploaded"),
        )
        .await;
    assert_eq!(files_of(&page).len(), 1, "{page}");
}

both_backends!(
    files_from_every_source_make_one_list,
    bad_input_and_other_agents_are_refused_and_nothing_is_stored
);
