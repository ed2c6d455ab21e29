//! A graceful stop: agent and visitor websockets are closed with 1012 (service restart) at
//! once, no new connection is accepted, and the real binary exits on SIGTERM within
//! `[server] shutdown_secs` with everything it acknowledged stored. `/readyz` says ready
//! until the server starts stopping.

use std::{
    process::Command,
    time::{Duration, Instant},
};

use crate::{
    helpers::{
        binary_config, login, post_customer, status_json, Backend, ServerProcess, TestApp, TestDb,
        WsClient, ADMIN_EMAIL, ADMIN_PASSWORD,
    },
    widget::{session, visitor},
};

const RESTART: u16 = 1012;

/// `/readyz`: ready with each check `ok` (both backends' writer and pool answer), then
/// `not_ready` with the reason and `Retry-After` once the server is stopping.
async fn readiness_flips_when_the_server_stops(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (s, body) = crate::helpers::status_json(
        app.client
            .get(format!("{}/readyz", app.base))
            .send()
            .await
            .expect("readyz"),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body,
        serde_json::json!({"status": "ready", "reason": null,
            "checks": {"database": "ok", "writer": "ok", "lifecycle": "ok"}})
    );
    app.handle.app.stopping.send_replace(true);
    let resp = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .expect("readyz");
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let (s, body) = crate::helpers::status_json(resp).await;
    assert_eq!(s, 503, "{body}");
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["reason"], "lifecycle: stopping");
    assert_eq!(body["checks"]["database"], "ok");
}

crate::both_backends!(readiness_flips_when_the_server_stops);

/// In process: `server::stop` closes an agent's and a visitor's socket with 1012 within a
/// second, and the listener is gone afterwards.
#[actix_rt::test]
async fn stopping_closes_every_websocket_with_1012() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.login().await;
    let mut agent = WsClient::connect(&app.base, &token, None).await;
    let s = session(&app, None).await;
    let visitor_token = s["visitor_token"].as_str().expect("token").to_owned();
    let mut widget = visitor(&app, &visitor_token).await;

    let started = Instant::now();
    switchboard::server::stop(&app.handle).await;
    let agent_close = agent.closed(Duration::from_secs(2)).await;
    let widget_close = widget.closed(Duration::from_secs(2)).await;
    assert_eq!(agent_close.map(|c| c.0), Some(RESTART));
    assert_eq!(widget_close.map(|c| c.0), Some(RESTART));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "stopped in {:?}",
        started.elapsed()
    );
    let after = app
        .client
        .get(format!("{}/healthz", app.base))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(after.is_err(), "no longer listening: {after:?}");
}

/// The binary: SIGTERM while messages arrive closes the agent's socket with 1012 and exits
/// (status 0) well within `shutdown_secs`; every message it acknowledged is there after a
/// restart on the same database.
#[actix_rt::test]
async fn sigterm_closes_sockets_and_exits_within_the_deadline_losing_nothing() {
    let db = TestDb::new(Backend::Sqlite);
    let path = binary_config(&db, "shutdown_secs = 5");
    let mut server = ServerProcess::start(&path, &[]);
    let client = reqwest::Client::new();
    let token = login(&client, &server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let mut ws = WsClient::connect(&server.base, &token, None).await;

    // Messages keep arriving while the signal lands; each answer says whether it was stored.
    let base = server.base.clone();
    let sender = tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut acknowledged = Vec::new();
        for i in 0..400 {
            let id = format!("gs-{i}");
            // Refused or cut off: not acknowledged, so the provider sends it again.
            if post_customer(&client, &base, &id, "hello").await {
                acknowledged.push(id);
            }
        }
        acknowledged
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let pid = server.child.id().to_string();
    let started = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(kill.success());
    let close = ws.closed(Duration::from_secs(3)).await;
    assert_eq!(close.map(|c| c.0), Some(RESTART), "the agent's socket");
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(7),
            "still running {:?} after SIGTERM",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status:?}");
    let acknowledged = sender.await.expect("sender");
    assert!(
        !acknowledged.is_empty(),
        "some messages were acknowledged before the stop"
    );
    drop(server);

    // Everything acknowledged is stored.
    let server = ServerProcess::start(&path, &[]);
    let token = login(&client, &server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let resp = client
        .get(format!("{}/api/conversations?limit=100", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list");
    let (s, _) = status_json(resp).await;
    assert_eq!(s, 200);
    let store = switchboard::db::Store::open(&db.url, 1).expect("open the database");
    let stored: Vec<String> = store
        .read(|c| {
            use diesel::prelude::*;
            use switchboard::db::schema::messages;
            Ok(messages::table
                .filter(messages::external_id.is_not_null())
                .select(messages::external_id.assume_not_null())
                .load::<String>(c)?)
        })
        .await
        .expect("read");
    for id in &acknowledged {
        assert!(stored.contains(id), "acknowledged {id} is stored");
    }
}
