//! `GET /metrics`: the numbers move when messages arrive, and only the allowed addresses or an
//! admin may read them.

use std::time::Duration;

use switchboard::domain::types::Role;

use crate::helpers::{customer, eventually, status_json, Backend, TestApp};

/// The value of the sample line that starts with `series` (name and labels), or 0 when the
/// series is not there yet.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.split(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

async fn scrape(app: &TestApp, token: Option<&str>) -> (u16, String) {
    let mut req = app.client.get(format!("{}/metrics", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

const STORED: &str = r#"switchboard_inbound_messages_total{channel="api",result="stored"}"#;
const DUPLICATE: &str = r#"switchboard_inbound_messages_total{channel="api",result="duplicate"}"#;
const WEBHOOK_200: &str =
    r#"switchboard_http_requests_total{method="POST",route="/webhooks/api/{inbox}",status="200"}"#;

#[actix_rt::test]
async fn metrics_move_when_messages_arrive() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, before) = scrape(&app, None).await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(sample(&before, STORED), 0.0);
    assert!(before.contains("# TYPE switchboard_commit_seconds histogram"));
    assert!(before.trim_end().ends_with("# EOF"));

    let token = app.login().await;
    let mut ws = crate::helpers::WsClient::connect(&app.base, &token, None).await;
    for i in 0..3 {
        app.customer_writes(&format!("m-{i}"), &format!("c-{i}"), "hello")
            .await;
    }
    // The same message again is a duplicate, counted as such.
    let (status, _) = status_json(app.inbound(&customer("m-0", "c-0", "hello")).await).await;
    assert_eq!(status, 200);
    let _ = ws.drain(Duration::from_millis(300)).await;

    let after = eventually("the metrics to count", Duration::from_secs(5), || async {
        let (_, text) = scrape(&app, None).await;
        (sample(&text, STORED) == 3.0).then_some(text)
    })
    .await;
    assert_eq!(sample(&after, DUPLICATE), 1.0, "{after}");
    assert_eq!(sample(&after, WEBHOOK_200), 4.0, "{after}");
    assert!(sample(&after, "switchboard_commit_seconds_count") >= 3.0);
    assert!(sample(&after, "switchboard_commit_group_size_sum") >= 3.0);
    assert!(sample(&after, "switchboard_commit_queue_wait_seconds_count") >= 3.0);
    // Each stage a message passes on its way to an agent's websocket timed its wait.
    let stage = |s: &str| {
        sample(
            &after,
            &format!("switchboard_stage_wait_seconds_count{{stage=\"{s}\"}}"),
        )
    };
    assert!(stage("conversation_mailbox") >= 4.0, "{after}");
    assert!(stage("hub") >= 3.0, "{after}");
    assert!(stage("agent_session") >= 3.0, "{after}");
    assert!(sample(&after, "switchboard_events_published_total") > 0.0);
    assert_eq!(
        sample(&after, "switchboard_conversation_actors"),
        3.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, r#"switchboard_websocket_connections{kind="agent"}"#),
        1.0,
        "{after}"
    );
    assert_eq!(sample(&after, "switchboard_database_up"), 1.0);
    assert_eq!(sample(&after, "switchboard_writer_queue_depth"), 0.0);
    assert!(
        after.contains(r#"switchboard_outbox_pending{provider="api"}"#),
        "{after}"
    );
    // Routes are patterns, never paths with ids in them.
    assert!(!after.contains("/webhooks/api/support"), "{after}");
}

#[actix_rt::test]
async fn from_outside_the_allowed_ranges_only_an_admin_reads_metrics() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.server.metrics_allow = vec!["10.99.0.0/16".parse().expect("range")];
    })
    .await;
    let (status, body) = scrape(&app, None).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("unauthorized"), "{body}");
    let (_, agent) = app.agent("agent@test.local", Role::Agent).await;
    let (status, body) = scrape(&app, Some(&agent)).await;
    assert_eq!(status, 403, "{body}");
    let (_, supervisor) = app.agent("super@test.local", Role::Supervisor).await;
    assert_eq!(scrape(&app, Some(&supervisor)).await.0, 403);
    let admin = app.login().await;
    let (status, body) = scrape(&app, Some(&admin)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("switchboard_http_requests_total"), "{body}");
}

/// A reverse proxy on the same machine connects from 127.0.0.1: what it forwards from the
/// internet is not local, whatever forwarded-for header says so.
#[actix_rt::test]
async fn through_a_proxy_even_a_local_address_needs_a_token() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.server.trust_forwarded_for = true).await;
    assert_eq!(scrape(&app, None).await.0, 200);
    for (header, value) in [
        ("X-Forwarded-For", "127.0.0.1"),
        ("X-Forwarded-For", "203.0.113.9"),
        ("Forwarded", "for=127.0.0.1"),
        ("X-Real-IP", "127.0.0.1"),
    ] {
        let resp = app
            .client
            .get(format!("{}/metrics", app.base))
            .header(header, value)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status().as_u16(), 401, "{header}: {value}");
    }
    let admin = app.login().await;
    let resp = app
        .client
        .get(format!("{}/metrics", app.base))
        .header("X-Forwarded-For", "203.0.113.9")
        .bearer_auth(&admin)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let body = resp.text().await.expect("body");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("switchboard_http_requests_total"), "{body}");
}
