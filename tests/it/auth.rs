//! Who is asking: login, bearer tokens, logout.

use std::time::Duration;

use serde_json::json;

const WAIT: Duration = Duration::from_secs(5);

use crate::{
    both_backends,
    helpers::{status_json, Backend, TestApp, WsClient, ADMIN_EMAIL, ADMIN_PASSWORD},
};

async fn routes_need_a_valid_token_and_logout_revokes_it(b: Backend) {
    let app = TestApp::spawn(b).await;
    for path in [
        "/api/conversations",
        "/api/auth/me",
        "/api/conversations/0190c000-0000-7000-8000-000000000000/messages",
    ] {
        let resp = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("req");
        // Every answer, refusals included, says how long the server took.
        let timing = resp
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .and_then(switchboard::http::timing::parse_micros);
        assert!(timing.is_some(), "{path}: Server-Timing");
        let (s, body) = status_json(resp).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (401, Some("unauthorized")),
            "{path}"
        );
        let (s, _) = app.get("not-a-token", path).await;
        assert_eq!(s, 401, "{path}");
    }
    let token = app.login().await;
    let (s, me) = app.get(&token, "/api/auth/me").await;
    assert_eq!(s, 200);
    assert_eq!(me["agent"]["email"], ADMIN_EMAIL);
    assert_eq!(me["agent"]["role"], "admin");
    assert!(me["agent"].get("password_hash").is_none());

    let (s, _) = app.post(&token, "/api/auth/logout", &json!({})).await;
    assert_eq!(s, 204);
    let (s, _) = app.get(&token, "/api/auth/me").await;
    assert_eq!(s, 401, "a revoked token no longer works");
}

async fn wrong_credentials_are_refused_alike(b: Backend) {
    let app = TestApp::spawn(b).await;
    for (email, password) in [
        (ADMIN_EMAIL, "wrong-password"),
        ("nobody@test.local", "whatever1"),
    ] {
        let resp = app
            .client
            .post(format!("{}/api/auth/login", app.base))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("req");
        let (s, body) = status_json(resp).await;
        assert_eq!(
            (s, body["message"].as_str()),
            (
                401,
                Some("authentication required: wrong email or password")
            )
        );
    }
}

/// A client with its own source address on loopback (127.0.0.x), as a second machine.
fn client_from(last: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, last]))
        .build()
        .expect("client")
}

async fn login_status(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> (u16, Option<u64>) {
    let resp = client
        .post(format!("{}/api/auth/login", app.base))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login");
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    (resp.status().as_u16(), retry)
}

/// Wrong passwords slow down whoever makes them, from where they make them: the owner at
/// another address is not locked out, and the right password passes once the short wait is
/// over.
async fn wrong_passwords_delay_their_sender_not_the_owner(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (owner, attacker) = (client_from(1), client_from(2));
    assert_eq!(
        login_status(&app, &owner, ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .0,
        200
    );
    let free = switchboard::login_throttle::FREE_PER_ADDRESS;
    for _ in 0..free + 1 {
        assert_eq!(
            login_status(&app, &attacker, ADMIN_EMAIL, "wrong").await.0,
            401
        );
    }
    // The attacker waits, even with the right password, with a clear error and Retry-After.
    let (s, retry) = login_status(&app, &attacker, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!((s, retry), (429, Some(1)));
    // The owner, elsewhere, gets in at once.
    assert_eq!(
        login_status(&app, &owner, ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .0,
        200
    );
    // A delay, not a lock: after it, the right password passes from there too.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        login_status(&app, &attacker, ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .0,
        200
    );
}

/// A flood of failures for made-up emails spends the global budget: unknown addresses wait
/// out the minute, known ones pass, and a delay set before the flood is not forgotten.
async fn a_flood_cannot_flush_a_delay_or_lock_out_the_owner(b: Backend) {
    let app = TestApp::spawn_with(b, |s| s.server.login_failures_per_minute = 30).await;
    let (owner, guesser, flooder, newcomer) = (
        client_from(1),
        client_from(2),
        client_from(3),
        client_from(4),
    );
    assert_eq!(
        login_status(&app, &owner, ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .0,
        200
    );
    for _ in 0..6 {
        login_status(&app, &guesser, ADMIN_EMAIL, "wrong").await;
    }
    let (s, _) = login_status(&app, &guesser, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(s, 429);
    let mut refused = 0;
    for i in 0..60 {
        let (s, _) = login_status(&app, &flooder, &format!("flood{i}@attacker.test"), "x").await;
        assert!(s == 401 || s == 429, "{s}");
        refused += usize::from(s == 429);
    }
    assert!(
        refused >= 25,
        "the budget stops the flood: {refused} refused"
    );
    let (s, _) = login_status(&app, &guesser, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(s, 429, "the guesser still waits after the flood");
    assert_eq!(
        login_status(&app, &owner, ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .0,
        200,
        "the owner's known address passes during the flood"
    );
    assert_eq!(
        login_status(&app, &newcomer, ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .0,
        429,
        "an unknown address waits out the minute"
    );
}

/// Agents see each other's names; only admins (and each agent for itself) see emails.
async fn agents_see_names_not_emails(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.login().await;
    let (me_id, me) = app
        .agent("sam@test.local", switchboard::domain::types::Role::Agent)
        .await;
    let (_, list) = app.get(&me, "/api/agents").await;
    for a in list["items"].as_array().expect("items") {
        if a["id"] == me_id.as_str() {
            assert_eq!(a["email"], "sam@test.local");
        } else {
            assert_eq!(a["email"], serde_json::Value::Null, "{a}");
            assert!(a["name"].is_string());
        }
    }
    let (_, list) = app.get(&admin, "/api/agents").await;
    assert!(list["items"]
        .as_array()
        .expect("items")
        .iter()
        .all(|a| a["email"].is_string()));
}

/// Logging out closes the websockets opened with that token at once: no customer text
/// reaches them afterwards.
async fn logout_closes_the_tokens_open_websockets(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let other = app.login().await;
    let mut ws = WsClient::connect(&app.base, &token, None).await;
    let mut kept = WsClient::connect(&app.base, &other, None).await;
    ws.next_json(WAIT).await.expect("hello");
    kept.next_json(WAIT).await.expect("hello");
    let (s, _) = app.post(&token, "/api/auth/logout", &json!({})).await;
    assert_eq!(s, 204);
    // Closed before the logout was answered: policy violation, with the reason.
    assert_eq!(ws.closed(WAIT).await, Some((1008, "logged out".to_owned())));
    app.customer_writes("m1", "c1", "secret order details")
        .await;
    kept.until("the other session still gets events", WAIT, |f| {
        f["type"] == "message.created"
    })
    .await;
}

/// A token revoked where this server does not see it (another node, the database) closes its
/// sockets within `realtime.token_recheck_secs`.
async fn a_token_revoked_elsewhere_closes_its_websockets(b: Backend) {
    let app = TestApp::spawn_with(b, |s| s.realtime.token_recheck_secs = 1).await;
    let token = app.login().await;
    let mut ws = WsClient::connect(&app.base, &token, None).await;
    ws.next_json(WAIT).await.expect("hello");
    let hash = switchboard::auth::token_hash(&token);
    app.handle
        .app
        .store
        .write(move |c| switchboard::db::queries::delete_token(c, &hash).map(|_| ()))
        .await
        .expect("revoke");
    assert_eq!(
        ws.closed(WAIT).await,
        Some((1008, "token revoked or expired".to_owned()))
    );
}

both_backends!(
    routes_need_a_valid_token_and_logout_revokes_it,
    wrong_credentials_are_refused_alike,
    wrong_passwords_delay_their_sender_not_the_owner,
    a_flood_cannot_flush_a_delay_or_lock_out_the_owner,
    agents_see_names_not_emails,
    logout_closes_the_tokens_open_websockets,
    a_token_revoked_elsewhere_closes_its_websockets,
);
