//! Agent management: admins add agents (with a password shown once), change roles, deactivate
//! and reactivate them and reset their passwords; every agent changes their own name and
//! password. Access follows at once: a deactivated agent's token is refused on the very next
//! request and their websocket is closed before the admin is answered.

use std::time::Duration;

use serde_json::{json, Value};

use crate::{
    both_backends,
    helpers::{login, status_json, Backend, TestApp, WsClient, ADMIN_EMAIL, ADMIN_PASSWORD},
};

use switchboard::{db::queries, domain::types::Role, error::AppError};

const WAIT: Duration = Duration::from_secs(5);
/// How soon a revoked socket must see its close frame.
const AT_ONCE: Duration = Duration::from_secs(2);

/// Adds an agent through the API: `(id, password)`.
async fn add(app: &TestApp, admin: &str, email: &str, role: &str) -> (String, String) {
    let (s, body) = app
        .post(
            admin,
            "/api/agents",
            &json!({"email": email, "name": "New Person", "role": role}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["agent"]["email"], email);
    assert_eq!(body["agent"]["role"], role);
    assert_eq!(body["agent"]["deactivated"], false);
    let password = body["password"].as_str().expect("password").to_owned();
    assert!(password.len() >= 8, "{password}");
    (
        body["agent"]["id"].as_str().expect("id").to_owned(),
        password,
    )
}

async fn login_status(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    let resp = app
        .client
        .post(format!("{}/api/auth/login", app.base))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login");
    status_json(resp).await
}

async fn patch(app: &TestApp, token: &str, path: &str, body: &Value) -> (u16, Value) {
    app.call(reqwest::Method::PATCH, token, path, Some(body))
        .await
}

/// `POST /api/agents/{id}/{action}` (deactivate, reactivate, password).
async fn act(app: &TestApp, token: &str, id: &str, action: &str) -> (u16, Value) {
    app.post(token, &format!("/api/agents/{id}/{action}"), &json!({}))
        .await
}

async fn set_role(app: &TestApp, token: &str, id: &str, role: &str) -> (u16, Value) {
    patch(
        app,
        token,
        &format!("/api/agents/{id}"),
        &json!({ "role": role }),
    )
    .await
}

async fn my_id(app: &TestApp, token: &str) -> String {
    app.get(token, "/api/auth/me").await.1["agent"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

#[track_caller]
fn assert_refused((s, body): &(u16, Value), status: u16, code: &str) {
    assert_eq!((*s, body["error"].as_str()), (status, Some(code)), "{body}");
}

fn listed<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|a| a["id"] == id)
        .expect("the agent is listed")
}

/// An admin adds an agent; the password shown once logs in; the list shows them with role,
/// availability and status; other roles may not manage agents.
async fn admins_add_agents_with_a_password_shown_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.login().await;
    let (id, password) = add(&app, &admin, "new@test.local", "agent").await;
    let token = login(&app.client, &app.base, "new@test.local", &password).await;
    let (s, me) = app.get(&token, "/api/auth/me").await;
    assert_eq!((s, me["agent"]["id"].as_str()), (200, Some(id.as_str())));

    let (_, list) = app.get(&admin, "/api/agents").await;
    let a = listed(&list, &id);
    assert_eq!(
        (&a["email"], &a["role"], &a["deactivated"]),
        (&json!("new@test.local"), &json!("agent"), &json!(false))
    );
    assert!(a["availability"].is_string());

    // Neither agents nor supervisors manage agents.
    let (_, supervisor) = app.agent("sup@test.local", Role::Supervisor).await;
    for who in [&token, &supervisor] {
        let (s, body) = app
            .post(
                who,
                "/api/agents",
                &json!({"email": "x@test.local", "name": "X", "role": "admin"}),
            )
            .await;
        assert_refused(&(s, body), 403, "forbidden");
        assert_refused(&set_role(&app, who, &id, "admin").await, 403, "forbidden");
        for action in ["deactivate", "reactivate", "password"] {
            assert_refused(&act(&app, who, &id, action).await, 403, "forbidden");
        }
    }
}

/// Bad or duplicate input gets a clear 4xx naming the problem; nothing is added.
async fn bad_and_duplicate_agents_are_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.login().await;
    add(&app, &admin, "taken@test.local", "supervisor").await;
    let twin = json!({"email": " TAKEN@test.local", "name": "Twin", "role": "agent"});
    assert_refused(
        &app.post(&admin, "/api/agents", &twin).await,
        409,
        "duplicate_email",
    );
    for (bad, field) in [
        (
            json!({"email": "not-an-email", "name": "A", "role": "agent"}),
            "email",
        ),
        (
            json!({"email": "a@test.local", "name": "  ", "role": "agent"}),
            "name",
        ),
        (
            json!({"email": "a@test.local", "name": "x".repeat(101), "role": "agent"}),
            "name",
        ),
        (
            json!({"email": "a@test.local", "name": "A", "role": "boss"}),
            "role",
        ),
    ] {
        let (s, body) = app.post(&admin, "/api/agents", &bad).await;
        assert_eq!(s, 422, "{bad}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(field), "{bad}: {message}");
    }
    let (s, _) = app
        .post(
            &admin,
            "/api/agents",
            &json!({"email": "a@test.local", "name": "A"}),
        )
        .await;
    assert_eq!(s, 400, "a missing role");
    let (s, _) = app
        .post(
            &admin,
            "/api/agents",
            &json!({"email": "a@test.local", "name": "A", "role": "agent", "password": "mine"}),
        )
        .await;
    assert_eq!(s, 400, "an unknown field");
    let (_, list) = app.get(&admin, "/api/agents").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
    // Unknown agents are 404; an edit must change something.
    let unknown = "0190c000-0000-7000-8000-000000000000";
    let (s, _) = patch(
        &app,
        &admin,
        &format!("/api/agents/{unknown}"),
        &json!({"name": "N"}),
    )
    .await;
    assert_eq!(s, 404);
    for id in [unknown, "nope"] {
        assert_refused(&act(&app, &admin, id, "deactivate").await, 404, "not_found");
    }
    let (id, _) = add(&app, &admin, "c@test.local", "agent").await;
    let (s, _) = patch(&app, &admin, &format!("/api/agents/{id}"), &json!({})).await;
    assert_eq!(s, 422);
}

/// A new role takes effect at once (the agent's socket closes so it reconnects with what the
/// role sees); the team always keeps an active admin.
async fn roles_change_and_the_last_admin_stays(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.login().await;
    let me_id = my_id(&app, &admin).await;
    // Alone: I may not demote or deactivate myself.
    assert_refused(
        &set_role(&app, &admin, &me_id, "agent").await,
        409,
        "own_account",
    );
    assert_refused(
        &act(&app, &admin, &me_id, "deactivate").await,
        409,
        "own_account",
    );

    let (id, password) = add(&app, &admin, "second@test.local", "agent").await;
    let token = login(&app.client, &app.base, "second@test.local", &password).await;
    let mut ws = WsClient::connect(&app.base, &token, None).await;
    ws.next_json(WAIT).await.expect("hello");
    let both = json!({"role": "admin", "name": "Second Admin"});
    let (s, body) = patch(&app, &admin, &format!("/api/agents/{id}"), &both).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        (&body["role"], &body["name"]),
        (&both["role"], &both["name"])
    );
    assert_eq!(
        ws.closed(AT_ONCE).await,
        Some((1008, "role changed".to_owned()))
    );
    let (_, me) = app.get(&token, "/api/auth/me").await;
    assert_eq!(
        me["agent"]["role"], "admin",
        "the token stays, with the new role"
    );

    // Two admins: the second demotes me, and then may not demote themselves.
    assert_eq!(set_role(&app, &token, &me_id, "supervisor").await.0, 200);
    assert_refused(
        &set_role(&app, &token, &id, "agent").await,
        409,
        "own_account",
    );
    // A supervisor now: no longer manages agents.
    assert_refused(
        &act(&app, &admin, &id, "deactivate").await,
        403,
        "forbidden",
    );
}

/// Two admins demoting or deactivating each other at the same moment leave one active admin:
/// the check is made in the database's write, not from what the caller saw.
async fn no_change_leaves_no_active_admin(b: Backend) {
    let app = TestApp::spawn(b).await;
    let first = app.login().await;
    let first_id = my_id(&app, &first).await;
    // The rule, as the write applies it: the only active admin may not stop being one.
    let id: switchboard::domain::AgentId = first_id.parse().expect("an agent id");
    let rule = app
        .handle
        .app
        .store
        .read(move |c| {
            let me = queries::existing_agent(c, id)?;
            queries::ensure_another_admin(c, &me)
        })
        .await;
    assert!(
        matches!(
            &rule,
            Err(AppError::Conflict {
                code: "last_admin",
                ..
            })
        ),
        "{rule:?}"
    );
    for action in ["demote", "deactivate"] {
        let email = format!("{action}@test.local");
        let (second_id, password) = add(&app, &first, &email, "admin").await;
        let second = login(&app.client, &app.base, &email, &password).await;
        let against = |token: &str, id: &str| {
            let (token, id) = (token.to_owned(), id.to_owned());
            let app = &app;
            async move {
                match action {
                    "demote" => set_role(app, &token, &id, "agent").await,
                    _ => act(app, &token, &id, "deactivate").await,
                }
            }
        };
        let (a, b) = tokio::join!(against(&first, &second_id), against(&second, &first_id));
        assert_eq!(
            [a.0, b.0].iter().filter(|s| **s == 200).count(),
            1,
            "{action}: {a:?} {b:?}"
        );
        for (s, body) in [&a, &b] {
            // Refused in the write (`last_admin`), or no longer an admin when it was read.
            assert!(
                *s == 200 || (*s == 409 && body["error"] == "last_admin") || *s == 403 || *s == 401,
                "{action}: {body}"
            );
        }
        let survivor = if a.0 == 200 { &first } else { &second };
        let (_, list) = app.get(survivor, "/api/agents").await;
        let active_admins = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|x| x["role"] == "admin" && x["deactivated"] == false)
            .count();
        assert_eq!(active_admins, 1, "{action}: {list}");
        // Back to one admin (`first`) for the next round.
        if a.0 != 200 {
            let restore = match action {
                "demote" => set_role(&app, &second, &first_id, "admin").await,
                _ => act(&app, &second, &first_id, "reactivate").await,
            };
            assert_eq!(restore.0, 200);
        }
        let first_again = login(&app.client, &app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(
            act(&app, &first_again, &second_id, "deactivate").await.0,
            200
        );
    }
}

/// Deactivation: the agent's bearer token is refused on the very next request, their open
/// websocket is closed before the admin is answered, they cannot log in (refused like a wrong
/// password) and are listed offline and deactivated; reactivated, they log in again.
async fn deactivation_revokes_rest_and_websocket_at_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.login().await;
    let (id, password) = add(&app, &admin, "leaver@test.local", "agent").await;
    let token = login(&app.client, &app.base, "leaver@test.local", &password).await;
    let second = login(&app.client, &app.base, "leaver@test.local", &password).await;
    let mut ws = WsClient::connect(&app.base, &token, None).await;
    ws.next_json(WAIT).await.expect("hello");
    let mut admin_ws = WsClient::connect(&app.base, &admin, None).await;
    admin_ws.next_json(WAIT).await.expect("hello");

    let (s, body) = act(&app, &admin, &id, "deactivate").await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        (&body["deactivated"], &body["availability"]),
        (&json!(true), &json!("offline"))
    );
    for t in [&token, &second] {
        let (s, _) = app.get(t, "/api/conversations").await;
        assert_eq!(s, 401, "the very next REST call");
    }
    assert_eq!(
        ws.closed(AT_ONCE).await,
        Some((1008, "account deactivated".to_owned()))
    );
    // The admin's own socket is untouched, and learns the agent went offline.
    admin_ws
        .until("the agent offline", WAIT, |f| {
            f["type"] == "presence"
                && f["agent_id"] == id.as_str()
                && f["availability"] == "offline"
        })
        .await;
    let (s, body) = login_status(&app, "leaver@test.local", &password).await;
    assert_eq!(
        (s, body["message"].as_str()),
        (
            401,
            Some("authentication required: wrong email or password")
        )
    );
    let ws_again = tokio_tungstenite::connect_async(format!(
        "{}/api/ws?token={token}",
        app.base.replacen("http://", "ws://", 1)
    ))
    .await;
    assert!(ws_again.is_err(), "no new socket with the old token");
    let (_, list) = app.get(&admin, "/api/agents").await;
    let a = listed(&list, &id);
    assert_eq!(
        (&a["deactivated"], &a["availability"]),
        (&json!(true), &json!("offline"))
    );
    // Nobody assigns work to them.
    let conversation = app.customer_writes("d1", "d-contact", "hello").await;
    let (s, body) = app
        .post(
            &admin,
            &format!("/api/conversations/{conversation}/assign"),
            &json!({"agent_id": id}),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    // Again is no change.
    assert_eq!(act(&app, &admin, &id, "deactivate").await.0, 200);

    let (s, body) = act(&app, &admin, &id, "reactivate").await;
    assert_eq!((s, &body["deactivated"]), (200, &json!(false)), "{body}");
    let (s, _) = login_status(&app, "leaver@test.local", &password).await;
    assert_eq!(s, 200, "the same password works again");
}

/// A reset password is shown once; the old one and every token of the agent stop working and
/// their socket closes.
async fn a_reset_password_revokes_the_old_tokens(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.login().await;
    let (id, old) = add(&app, &admin, "forgot@test.local", "supervisor").await;
    let token = login(&app.client, &app.base, "forgot@test.local", &old).await;
    let mut ws = WsClient::connect(&app.base, &token, None).await;
    ws.next_json(WAIT).await.expect("hello");
    let (s, body) = act(&app, &admin, &id, "password").await;
    assert_eq!(s, 200, "{body}");
    let new = body["password"].as_str().expect("password").to_owned();
    assert_ne!(new, old);
    let (s, _) = app.get(&token, "/api/auth/me").await;
    assert_eq!(s, 401);
    assert_eq!(
        ws.closed(AT_ONCE).await,
        Some((1008, "password reset".to_owned()))
    );
    assert_eq!(login_status(&app, "forgot@test.local", &old).await.0, 401);
    assert_eq!(login_status(&app, "forgot@test.local", &new).await.0, 200);
    let me_id = my_id(&app, &admin).await;
    assert_refused(
        &act(&app, &admin, &me_id, "password").await,
        409,
        "own_account",
    );
}

/// Every agent changes their own name and password: the current password is required, the
/// token used stays valid, the agent's other tokens and their sockets end.
async fn agents_change_their_own_name_and_password(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.login().await;
    let (id, token) = app.agent("self@test.local", Role::Agent).await;
    let other = login(
        &app.client,
        &app.base,
        "self@test.local",
        "agent-password-1",
    )
    .await;
    let mut kept = WsClient::connect(&app.base, &token, None).await;
    let mut ended = WsClient::connect(&app.base, &other, None).await;
    kept.next_json(WAIT).await.expect("hello");
    ended.next_json(WAIT).await.expect("hello");

    let (s, body) = patch(
        &app,
        &token,
        "/api/agents/me",
        &json!({"name": "  Sam Self "}),
    )
    .await;
    assert_eq!((s, &body["name"]), (200, &json!("Sam Self")), "{body}");
    let (_, list) = app.get(&admin, "/api/agents").await;
    assert_eq!(listed(&list, &id)["name"], "Sam Self");
    let (s, _) = patch(&app, &token, "/api/agents/me", &json!({"name": ""})).await;
    assert_eq!(s, 422);
    let (s, _) = patch(&app, &token, "/api/agents/me", &json!({"role": "admin"})).await;
    assert_eq!(s, 400, "no role of my own choosing");

    let change = |current: &str, new: &str| json!({"current": current, "new": new});
    let (s, body) = app
        .put(
            &token,
            "/api/agents/me/password",
            &change("wrong-password", "brand-new-pass"),
        )
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    let (s, body) = app
        .put(
            &token,
            "/api/agents/me/password",
            &change("agent-password-1", "short"),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    let (s, body) = app
        .put(
            &token,
            "/api/agents/me/password",
            &change("agent-password-1", "brand-new-pass"),
        )
        .await;
    assert_eq!(s, 204, "{body}");
    let (s, _) = app.get(&token, "/api/auth/me").await;
    assert_eq!(s, 200, "the token used stays");
    let (s, _) = app.get(&other, "/api/auth/me").await;
    assert_eq!(s, 401, "the others end");
    assert_eq!(
        ended.closed(AT_ONCE).await,
        Some((1008, "password changed".to_owned()))
    );
    assert_eq!(
        kept.closed(Duration::from_millis(300)).await,
        None,
        "mine stays open"
    );
    assert_eq!(
        login_status(&app, "self@test.local", "agent-password-1")
            .await
            .0,
        401
    );
    assert_eq!(
        login_status(&app, "self@test.local", "brand-new-pass")
            .await
            .0,
        200
    );
}

both_backends!(
    admins_add_agents_with_a_password_shown_once,
    bad_and_duplicate_agents_are_refused,
    roles_change_and_the_last_admin_stays,
    no_change_leaves_no_active_admin,
    deactivation_revokes_rest_and_websocket_at_once,
    a_reset_password_revokes_the_old_tokens,
    agents_change_their_own_name_and_password,
);
