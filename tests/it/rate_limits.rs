//! Per-address rate limits on the public surface: past its burst an address gets 429 with
//! `Retry-After` from the webhooks and the widget's endpoints, and what it sent is not stored;
//! other addresses (behind a trusted proxy) and the other routes are not affected.

use serde_json::json;

use crate::helpers::{customer, status_json, Backend, TestApp, SECRET};

async fn post(app: &TestApp, id: &str, from: Option<&str>) -> reqwest::Response {
    let raw = serde_json::to_vec(&customer(id, &format!("{id}-c"), "hello")).expect("json");
    let mut req = app
        .client
        .post(format!("{}/webhooks/api/support", app.base))
        .header(
            switchboard::providers::api::SIGNATURE_HEADER,
            switchboard::providers::api::sign(SECRET, &raw),
        )
        .header("Content-Type", "application/json");
    if let Some(addr) = from {
        req = req.header("X-Forwarded-For", addr);
    }
    req.body(raw).send().await.expect("request")
}

#[actix_rt::test]
async fn an_address_past_its_burst_gets_429_and_nothing_is_stored() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.server.webhook_rate_per_second = 1;
        s.server.webhook_rate_burst = 3;
        s.server.widget_rate_per_second = 1;
        s.server.widget_rate_burst = 2;
        s.server.trust_forwarded_for = true;
    })
    .await;
    for i in 0..3 {
        let resp = post(&app, &format!("rl-{i}"), Some("203.0.113.7")).await;
        assert_eq!(resp.status().as_u16(), 200, "request {i}");
    }
    let resp = post(&app, "rl-over", Some("203.0.113.7")).await;
    let retry_after: u64 = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let (s, body) = status_json(resp).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (429, Some("too_many_requests")),
        "{body}"
    );
    // Another address is not held back; nor are the other routes.
    assert_eq!(
        post(&app, "rl-other", Some("198.51.100.9"))
            .await
            .status()
            .as_u16(),
        200
    );
    for _ in 0..10 {
        let resp = app
            .client
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .expect("healthz");
        assert_eq!(resp.status().as_u16(), 200);
    }
    let token = app.login().await;
    let stored: Vec<String> = app
        .conversations(&token)
        .await
        .iter()
        .filter_map(|c| c["contact"]["external_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(stored.len(), 4, "{stored:?}");
    assert!(!stored.iter().any(|c| c == "rl-over-c"), "{stored:?}");

    // The widget's endpoints have their own, smaller budget.
    let session = || async {
        app.client
            .post(format!("{}/widget/website/session", app.base))
            .header("X-Forwarded-For", "192.0.2.44")
            .json(&json!({ "visitor_token": null }))
            .send()
            .await
            .expect("session")
            .status()
            .as_u16()
    };
    assert_eq!(session().await, 200);
    assert_eq!(session().await, 200);
    assert_eq!(session().await, 429);
    // A second later the address has a token again.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(session().await, 200);
}
