//! Who is asking: login, bearer tokens, logout.

use serde_json::json;

use crate::{
    both_backends,
    helpers::{status_json, Backend, TestApp, ADMIN_EMAIL},
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

both_backends!(
    routes_need_a_valid_token_and_logout_revokes_it,
    wrong_credentials_are_refused_alike,
    repeated_wrong_passwords_lock_the_email_for_a_while,
);

async fn repeated_wrong_passwords_lock_the_email_for_a_while(b: Backend) {
    let app = TestApp::spawn(b).await;
    let attempt = |password: &'static str| {
        let app = &app;
        async move {
            app.client
                .post(format!("{}/api/auth/login", app.base))
                .json(&json!({"email": ADMIN_EMAIL, "password": password}))
                .send()
                .await
                .expect("req")
        }
    };
    for _ in 0..switchboard::login_throttle::MAX_FAILURES {
        assert_eq!(attempt("wrong-password").await.status().as_u16(), 401);
    }
    // Now even the right password waits, with a clear error and Retry-After.
    let resp = attempt(crate::helpers::ADMIN_PASSWORD).await;
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (s, body) = status_json(resp).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (429, Some("too_many_requests")),
        "{body}"
    );
    assert!(retry.is_some_and(|r| r > 0 && r <= 900), "{retry:?}");
    // Other agents are unaffected.
    let (_, other) = app
        .agent("sam@test.local", switchboard::domain::types::Role::Agent)
        .await;
    assert_eq!(other.len(), 64);
}
