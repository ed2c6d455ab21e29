//! An agent's own notification setting: `PUT /api/agents/me/notifications` stores it with the
//! account, `GET /api/auth/me` gives it back (in any browser, after any login), bad bodies
//! change nothing. The browser side: `browser_notify.rs`.

use serde_json::{json, Value};
use switchboard::domain::types::Role;

use crate::{
    both_backends,
    helpers::{Backend, TestApp},
};

const PATH: &str = "/api/agents/me/notifications";

async fn mine(app: &TestApp, token: &str) -> Value {
    let (s, me) = app.get(token, "/api/auth/me").await;
    assert_eq!(s, 200, "{me}");
    me["agent"]["notifications"].clone()
}

async fn put(app: &TestApp, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = app.client.put(format!("{}{PATH}", app.base)).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    crate::helpers::status_json(req.send().await.expect("request")).await
}

async fn each_agent_keeps_their_own_setting(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.login().await;
    let (_, agent) = app.agent("bob@test.local", Role::Agent).await;
    let off = json!({"desktop": false, "sound": false});
    assert_eq!(mine(&app, &admin).await, off, "off until turned on");

    let (s, v) = put(
        &app,
        Some(&agent),
        &json!({"desktop": true, "sound": false}),
    )
    .await;
    assert_eq!(
        (s, v.clone()),
        (200, json!({"desktop": true, "sound": false})),
        "{v}"
    );
    assert_eq!(
        mine(&app, &agent).await,
        json!({"desktop": true, "sound": false})
    );
    assert_eq!(
        mine(&app, &admin).await,
        off,
        "another agent's setting is theirs"
    );
    // Kept with the account: a new login finds it.
    let again =
        crate::helpers::login(&app.client, &app.base, "bob@test.local", "agent-password-1").await;
    assert_eq!(
        mine(&app, &again).await,
        json!({"desktop": true, "sound": false})
    );

    for bad in [
        json!({"desktop": true}),
        json!({"desktop": "yes", "sound": false}),
        json!({"desktop": true, "sound": true, "email": true}),
        json!([true, true]),
    ] {
        let (s, e) = put(&app, Some(&agent), &bad).await;
        assert!((400..500).contains(&s), "{bad}: {s} {e}");
        assert!(e["error"].is_string(), "{e}");
    }
    let (s, _) = put(&app, None, &json!({"desktop": true, "sound": true})).await;
    assert_eq!(s, 401);
    assert_eq!(
        mine(&app, &agent).await,
        json!({"desktop": true, "sound": false}),
        "bad requests changed nothing"
    );
}

both_backends!(each_agent_keeps_their_own_setting);
