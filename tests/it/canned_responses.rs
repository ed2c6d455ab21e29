//! Canned responses: CRUD, who may write, validation, short codes unique per scope, and the
//! `q` and `inbox` filters.

use reqwest::Method;
use serde_json::{json, Value};
use switchboard::domain::types::Role;

use crate::{
    both_backends,
    helpers::{Backend, TestApp},
};

const PATH: &str = "/api/canned-responses";

async fn patch(app: &TestApp, token: &str, path: &str, body: &Value) -> (u16, Value) {
    app.call(Method::PATCH, token, path, Some(body)).await
}

fn codes(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["short_code"].as_str().expect("short_code").to_owned())
        .collect()
}

async fn create(app: &TestApp, token: &str, body: Value) -> String {
    let (s, made) = app.post(token, PATH, &body).await;
    assert_eq!(s, 201, "{body} → {made}");
    made["id"].as_str().expect("id").to_owned()
}

async fn crud_and_roles(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.login().await;
    let (_, agent) = app.agent("agent@test.local", Role::Agent).await;
    let (_, sup) = app.agent("sup@test.local", Role::Supervisor).await;

    let (s, made) = app
        .post(
            &admin,
            PATH,
            &json!({"short_code": "greet", "text": "Hello {{contact.name}}!"}),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    assert_eq!(made["short_code"], "greet");
    assert_eq!(made["text"], "Hello {{contact.name}}!");
    assert_eq!(made["inbox"], Value::Null);
    assert!(made["created_by"].is_string(), "{made}");
    let id = made["id"].as_str().expect("id").to_owned();
    let one = format!("{PATH}/{id}");

    // Every agent lists; only admins and supervisors write.
    let (s, list) = app.get(&agent, PATH).await;
    assert_eq!((s, codes(&list)), (200, vec!["greet".to_owned()]));
    assert_eq!(list["items"][0], made);
    for (s, body) in [
        app.post(&agent, PATH, &json!({"short_code": "x", "text": "y"}))
            .await,
        patch(&app, &agent, &one, &json!({"text": "changed"})).await,
        app.delete(&agent, &one).await,
    ] {
        assert_eq!((s, &body["error"]), (403, &json!("forbidden")), "{body}");
    }
    let (s, sup_made) = app
        .post(
            &sup,
            PATH,
            &json!({"short_code": "bye", "text": "Bye", "inbox": "support"}),
        )
        .await;
    assert_eq!(
        (s, &sup_made["inbox"]),
        (201, &json!("support")),
        "{sup_made}"
    );

    // Edits: each field alone, and `inbox: null` makes it shared again.
    let (s, edited) = patch(
        &app,
        &sup,
        &one,
        &json!({"short_code": "hello", "inbox": "website"}),
    )
    .await;
    assert_eq!(s, 200, "{edited}");
    assert_eq!(
        (&edited["short_code"], &edited["inbox"], &edited["text"]),
        (
            &json!("hello"),
            &json!("website"),
            &json!("Hello {{contact.name}}!")
        )
    );
    let (s, edited) = patch(&app, &admin, &one, &json!({"text": "Hi", "inbox": null})).await;
    assert_eq!(s, 200, "{edited}");
    assert_eq!(
        (&edited["short_code"], &edited["inbox"], &edited["text"]),
        (&json!("hello"), &Value::Null, &json!("Hi"))
    );
    let (_, list) = app.get(&agent, PATH).await;
    assert_eq!(codes(&list), ["bye", "hello"]);
    assert_eq!(list["items"][1], edited);

    // Delete, then it is gone: 404 for every route by id, and for ids that are not ids.
    let (s, _) = app.delete(&admin, &one).await;
    assert_eq!(s, 204);
    let (_, list) = app.get(&agent, PATH).await;
    assert_eq!(codes(&list), ["bye"]);
    for path in [one.clone(), format!("{PATH}/not-an-id")] {
        let (s, body) = app.delete(&admin, &path).await;
        assert_eq!((s, &body["error"]), (404, &json!("not_found")), "{body}");
        let (s, body) = patch(&app, &admin, &path, &json!({"text": "x"})).await;
        assert_eq!((s, &body["error"]), (404, &json!("not_found")), "{body}");
    }
}

async fn validation(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.login().await;
    let id = create(&app, &admin, json!({"short_code": "ok", "text": "fine"})).await;
    let one = format!("{PATH}/{id}");
    let long_code = "a".repeat(33);
    let long_text = "é".repeat(4001);
    for (body, field) in [
        (json!({"short_code": "", "text": "t"}), "short_code"),
        (
            json!({"short_code": "has space", "text": "t"}),
            "short_code",
        ),
        (json!({"short_code": "ünï", "text": "t"}), "short_code"),
        (json!({"short_code": "a/b", "text": "t"}), "short_code"),
        (json!({"short_code": long_code, "text": "t"}), "short_code"),
        (json!({"short_code": "c", "text": ""}), "text"),
        (json!({"short_code": "c", "text": "   "}), "text"),
        (json!({"short_code": "c", "text": long_text}), "text"),
        (json!({"short_code": "c", "text": "a\u{0}b"}), "text"),
        (
            json!({"short_code": "c", "text": "t", "inbox": "nope"}),
            "inbox",
        ),
    ] {
        let (s, err) = app.post(&admin, PATH, &body).await;
        assert_eq!(
            (s, &err["error"]),
            (422, &json!("validation_failed")),
            "{body} → {err}"
        );
        let message = err["message"].as_str().expect("message");
        assert!(
            message.contains(&format!("`{field}`")),
            "{body} → {message}"
        );
        // The same values are refused in an edit.
        let mut edit = body.clone();
        let edit = edit.as_object_mut().expect("object");
        edit.retain(|k, _| k == field);
        let (s, err) = patch(&app, &admin, &one, &json!(edit)).await;
        assert_eq!(
            (s, &err["error"]),
            (422, &json!("validation_failed")),
            "{edit:?} → {err}"
        );
        assert!(err["message"]
            .as_str()
            .expect("message")
            .contains(&format!("`{field}`")));
    }
    // The longest allowed are taken; nothing to change is a 422.
    create(
        &app,
        &admin,
        json!({"short_code": "A-z_9".repeat(6) + "xy", "text": "é".repeat(4000)}),
    )
    .await;
    let (s, err) = patch(&app, &admin, &one, &json!({})).await;
    assert_eq!(
        (s, &err["error"]),
        (422, &json!("validation_failed")),
        "{err}"
    );

    // Missing fields, unknown fields and wrong types are malformed (400), as is bad JSON;
    // an oversize body is 413.
    for body in [
        json!({"text": "t"}),
        json!({"short_code": "c"}),
        json!({"short_code": "c", "text": "t", "extra": 1}),
        json!({"short_code": 1, "text": "t"}),
    ] {
        let (s, err) = app.post(&admin, PATH, &body).await;
        assert_eq!(s, 400, "{body} → {err}");
    }
    let (s, _) = app
        .post_bytes(&admin, PATH, "application/json", b"{\"short_code\": ")
        .await;
    assert_eq!(s, 400);
    let huge = json!({"short_code": "big", "text": "x".repeat(70 * 1024)});
    let (s, _) = app.post(&admin, PATH, &huge).await;
    assert_eq!(s, 413);
    let (s, err) = app
        .get(&admin, &format!("{PATH}?q={}", "q".repeat(201)))
        .await;
    assert_eq!(
        (s, &err["error"]),
        (422, &json!("validation_failed")),
        "{err}"
    );
    let (s, err) = app.get(&admin, &format!("{PATH}?inbox=nope")).await;
    assert_eq!(
        (s, &err["error"]),
        (422, &json!("validation_failed")),
        "{err}"
    );
    assert!(err["message"]
        .as_str()
        .expect("message")
        .contains("`inbox`"));
    let (s, _) = app.get(&admin, &format!("{PATH}?other=1")).await;
    assert_eq!(s, 400);
}

async fn short_codes_are_unique_per_scope(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.login().await;
    create(
        &app,
        &admin,
        json!({"short_code": "greet", "text": "shared"}),
    )
    .await;
    let support = create(
        &app,
        &admin,
        json!({"short_code": "greet", "text": "support's", "inbox": "support"}),
    )
    .await;
    create(
        &app,
        &admin,
        json!({"short_code": "greet", "text": "website's", "inbox": "website"}),
    )
    .await;
    // The same scope, whatever the case.
    for body in [
        json!({"short_code": "greet", "text": "again"}),
        json!({"short_code": "GREET", "text": "again"}),
        json!({"short_code": "Greet", "text": "again", "inbox": "support"}),
    ] {
        let (s, err) = app.post(&admin, PATH, &body).await;
        assert_eq!(
            (s, &err["error"]),
            (409, &json!("duplicate_short_code")),
            "{body} → {err}"
        );
    }
    // Moving into a scope where the code is taken, or renaming onto a taken code, is refused;
    // keeping its own code is not a conflict with itself.
    let one = format!("{PATH}/{support}");
    let (s, err) = patch(&app, &admin, &one, &json!({"inbox": null})).await;
    assert_eq!(
        (s, &err["error"]),
        (409, &json!("duplicate_short_code")),
        "{err}"
    );
    let other = create(
        &app,
        &admin,
        json!({"short_code": "thanks", "text": "t", "inbox": "support"}),
    )
    .await;
    let (s, err) = patch(
        &app,
        &admin,
        &format!("{PATH}/{other}"),
        &json!({"short_code": "greet"}),
    )
    .await;
    assert_eq!(
        (s, &err["error"]),
        (409, &json!("duplicate_short_code")),
        "{err}"
    );
    let (s, edited) = patch(&app, &admin, &one, &json!({"short_code": "GREET"})).await;
    assert_eq!(
        (s, &edited["short_code"]),
        (200, &json!("GREET")),
        "{edited}"
    );
    let (_, list) = app.get(&admin, PATH).await;
    assert_eq!(list["items"].as_array().expect("items").len(), 4);
}

async fn filters(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.login().await;
    let (_, agent) = app.agent("agent@test.local", Role::Agent).await;
    for (code, text, inbox) in [
        ("greet", "Hello there", None),
        ("Goodbye", "See you soon", Some("support")),
        ("refund", "Your REFUND is on its way", Some("website")),
        ("ship", "We ship in two days; greetings", Some("support")),
    ] {
        let mut body = json!({"short_code": code, "text": text});
        if let Some(inbox) = inbox {
            body["inbox"] = json!(inbox);
        }
        create(&app, &admin, body).await;
    }
    let list = |query: &'static str| {
        let (app, agent) = (&app, &agent);
        async move {
            let (s, body) = app.get(agent, &format!("{PATH}{query}")).await;
            assert_eq!(s, 200, "{query}: {body}");
            codes(&body)
        }
    };
    // By short code, ignoring case.
    assert_eq!(list("").await, ["Goodbye", "greet", "refund", "ship"]);
    // A short code prefix or a text substring, ignoring case; not a code infix.
    assert_eq!(list("?q=gre").await, ["greet", "ship"]);
    assert_eq!(list("?q=GOOD").await, ["Goodbye"]);
    assert_eq!(list("?q=refund").await, ["refund"]);
    assert_eq!(list("?q=bye").await, Vec::<String>::new());
    assert_eq!(list("?q=soon").await, ["Goodbye"]);
    assert_eq!(list("?q=").await, ["Goodbye", "greet", "refund", "ship"]);
    // An inbox's own and the shared ones.
    assert_eq!(list("?inbox=support").await, ["Goodbye", "greet", "ship"]);
    assert_eq!(list("?inbox=website").await, ["greet", "refund"]);
    assert_eq!(
        list("?inbox=support&q=g").await,
        ["Goodbye", "greet", "ship"]
    );
    assert_eq!(list("?inbox=website&q=we").await, Vec::<String>::new());
    assert_eq!(list("?inbox=support&q=we").await, ["ship"]);
}

both_backends!(
    crud_and_roles,
    validation,
    short_codes_are_unique_per_scope,
    filters
);
