//! Bad input never hurts: every malformed, oversized, unsigned or misaddressed request gets a
//! clear 4xx JSON error and changes nothing.

use serde_json::{json, Value};
use switchboard::providers::api;

use crate::{
    both_backends,
    helpers::{customer, status_json, Backend, TestApp, SECRET},
};

async fn assert_error(resp: reqwest::Response, status: u16, code: &str) -> Value {
    let (s, body) = status_json(resp).await;
    assert_eq!(s, status, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

async fn nothing_stored(app: &TestApp) {
    let token = app.login().await;
    let (s, list) = app.get(&token, "/api/conversations").await;
    assert_eq!(s, 200);
    assert_eq!(list["items"], json!([]), "nothing may be stored");
    assert!(app.callbacks.calls().is_empty());
}

async fn bad_or_missing_signature_is_401_and_stores_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let raw = serde_json::to_vec(&customer("m1", "c1", "hello")).expect("json");
    assert_error(
        app.inbound_raw("support", &raw, None).await,
        401,
        "unauthorized",
    )
    .await;
    let wrong = api::sign("some-other-secret-value", &raw);
    assert_error(
        app.inbound_raw("support", &raw, Some(&wrong)).await,
        401,
        "unauthorized",
    )
    .await;
    assert_error(
        app.inbound_raw("support", &raw, Some("sha256=nothex"))
            .await,
        401,
        "unauthorized",
    )
    .await;
    // Signed over different bytes than those sent.
    let other = serde_json::to_vec(&customer("m1", "c1", "hello!")).expect("json");
    let sig = api::sign(SECRET, &other);
    assert_error(
        app.inbound_raw("support", &raw, Some(&sig)).await,
        401,
        "unauthorized",
    )
    .await;
    nothing_stored(&app).await;
}

async fn malformed_oversized_and_misaddressed_requests_get_clear_errors(b: Backend) {
    let app = TestApp::spawn(b).await;
    let signed = |raw: &[u8]| api::sign(SECRET, raw);

    let raw = b"{not json".to_vec();
    assert_error(
        app.inbound_raw("support", &raw, Some(&signed(&raw))).await,
        400,
        "bad_request",
    )
    .await;

    let raw = br#"{"external_id":"m1","text":"no contact"}"#.to_vec();
    assert_error(
        app.inbound_raw("support", &raw, Some(&signed(&raw))).await,
        400,
        "bad_request",
    )
    .await;

    let raw = br#"{"external_id":"m1","contact":{"external_id":"c"},"text":"   "}"#.to_vec();
    assert_error(
        app.inbound_raw("support", &raw, Some(&signed(&raw))).await,
        422,
        "validation_failed",
    )
    .await;

    let raw = br#"[1,2,3]"#.to_vec();
    assert_error(
        app.inbound_raw("support", &raw, Some(&signed(&raw))).await,
        400,
        "bad_request",
    )
    .await;

    let big = serde_json::to_vec(&customer("m1", "c1", &"x".repeat(200_000))).expect("json");
    assert_error(
        app.inbound_raw("support", &big, Some(&signed(&big))).await,
        413,
        "payload_too_large",
    )
    .await;

    let raw = serde_json::to_vec(&customer("m1", "c1", "hello")).expect("json");
    assert_error(
        app.inbound_raw("nope", &raw, Some(&signed(&raw))).await,
        404,
        "not_found",
    )
    .await;

    let resp = app
        .client
        .get(format!("{}/no/such/route", app.base))
        .send()
        .await
        .expect("req");
    assert_error(resp, 404, "not_found").await;

    nothing_stored(&app).await;
}

async fn api_routes_validate_their_input(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    let ack: Value = app
        .inbound(&customer("m1", "c1", "talk to a human"))
        .await
        .json()
        .await
        .expect("json");
    let id = ack["conversation_id"].as_str().expect("id").to_owned();

    let cases: Vec<(String, Value, u16, &str)> = vec![
        (
            format!("/api/conversations/{id}/status"),
            json!({"status": "open"}),
            400,
            "bad_request",
        ),
        (
            format!("/api/conversations/{id}/messages"),
            json!({"text": ""}),
            422,
            "validation_failed",
        ),
        (
            format!("/api/conversations/{id}/messages"),
            json!({"txt": "hi"}),
            400,
            "bad_request",
        ),
        (
            format!("/api/conversations/{id}/assign"),
            json!({"agent_id": "0190c000-0000-7000-8000-000000000000"}),
            422,
            "validation_failed",
        ),
        (
            format!("/api/conversations/{id}/follow-up"),
            json!({}),
            422,
            "validation_failed",
        ),
        (
            format!("/api/conversations/{id}/follow-up"),
            json!({"preset": "2h"}),
            400,
            "bad_request",
        ),
        (
            format!("/api/conversations/{id}/follow-up"),
            json!({"at": "9999-12-31T23:59:59Z"}),
            422,
            "validation_failed",
        ),
        (
            format!("/api/conversations/{id}/messages"),
            json!({"text": "\u{200b}\u{200b}"}),
            422,
            "validation_failed",
        ),
        (
            "/api/conversations/not-a-uuid/status".to_owned(),
            json!({"status": "bot"}),
            404,
            "not_found",
        ),
        (
            "/api/conversations/0190c000-0000-7000-8000-000000000000/status".to_owned(),
            json!({"status": "bot"}),
            404,
            "not_found",
        ),
    ];
    for (path, body, status, code) in cases {
        let (s, err) = app.post(&token, &path, &body).await;
        assert_eq!(
            (s, err["error"].as_str()),
            (status, Some(code)),
            "{path} {body}: {err}"
        );
    }
    let (s, err) = app.get(&token, "/api/conversations?limit=0").await;
    assert_eq!((s, err["error"].as_str()), (400, Some("bad_request")));
    let (s, err) = app.get(&token, "/api/conversations?cursor=garbage").await;
    assert_eq!((s, err["error"].as_str()), (400, Some("bad_request")));
    for range in [
        "from=0001-01-01",
        "to=9999-12-31",
        "from=1970-01-01T00:00:00Z",
    ] {
        let (s, err) = app
            .get(&token, &format!("/api/conversations?{range}"))
            .await;
        assert_eq!(
            (s, err["error"].as_str()),
            (400, Some("bad_request")),
            "{range}: dates out of any sane range"
        );
    }

    // Nothing changed.
    let conv = app.conversation(&token, &id).await;
    assert_eq!(conv["status"], "human");
    assert_eq!(conv["follow_up"], Value::Null);
    assert_eq!(conv["assignee_id"], Value::Null);
}

/// A known path with a method it does not take is 405 with `Allow`, never 404; HEAD works
/// wherever GET does (uptime monitors use it).
async fn wrong_methods_are_405_with_allow_and_head_works(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = app.login().await;
    for (method, path, allow) in [
        ("PUT", "/api/auth/login", "POST"),
        ("GET", "/api/auth/logout", "POST"),
        ("POST", "/api/badge", "GET, HEAD"),
        ("PATCH", "/api/agents", "GET, POST, HEAD"),
        ("OPTIONS", "/api/agents", "GET, POST, HEAD"),
        ("TRACE", "/api/conversations", "GET, POST, HEAD"),
        (
            "PATCH",
            "/api/conversations/0190c000-0000-7000-8000-000000000000",
            "GET, DELETE, HEAD",
        ),
        ("GET", "/webhooks/api/support", "POST"),
        ("DELETE", "/healthz", "GET, HEAD"),
        ("PUT", "/widget/website/session", "POST, OPTIONS"),
        ("POST", "/widget/website/ws", "GET, HEAD"),
    ] {
        let resp = app
            .client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                format!("{}{path}", app.base),
            )
            .bearer_auth(&token)
            .send()
            .await
            .expect("request");
        let got_allow = resp
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (s, body) = status_json(resp).await;
        assert_eq!(
            (s, body["error"].as_str(), got_allow.as_deref()),
            (405, Some("method_not_allowed"), Some(allow)),
            "{method} {path}: {body}"
        );
    }
    for path in ["/", "/healthz", "/api/badge", "/app.js"] {
        let resp = app
            .client
            .head(format!("{}{path}", app.base))
            .bearer_auth(&token)
            .send()
            .await
            .expect("head");
        assert_eq!(resp.status().as_u16(), 200, "HEAD {path}");
        assert!(
            resp.bytes().await.expect("body").is_empty(),
            "HEAD {path} has no body"
        );
    }
    // The widget's socket takes HEAD as its `Allow` says: answered as a GET that is not a
    // websocket handshake.
    let resp = app
        .client
        .head(format!("{}/widget/website/ws?visitor_token=x", app.base))
        .send()
        .await
        .expect("head");
    assert_eq!(resp.status().as_u16(), 401, "HEAD /widget/website/ws");
    let (s, body) = app.get(&token, "/api/no-such-thing").await;
    assert_eq!((s, body["error"].as_str()), (404, Some("not_found")));
}

both_backends!(
    bad_or_missing_signature_is_401_and_stores_nothing,
    malformed_oversized_and_misaddressed_requests_get_clear_errors,
    api_routes_validate_their_input,
    wrong_methods_are_405_with_allow_and_head_works,
);
