//! `POST /api/conversations/bulk`: one action on several conversations, each changed by its
//! own actor with the single routes' checks; the answer says which succeeded and why not.

use serde_json::{json, Value};
use switchboard::domain::types::Role;

use crate::{
    both_backends,
    helpers::{Backend, TestApp},
};

const BULK: &str = "/api/conversations/bulk";

fn oks(v: &Value) -> Vec<bool> {
    v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["ok"].as_bool().expect("ok"))
        .collect()
}

async fn resolve_assign_tag_and_archive_several(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        s.access.visibility = switchboard::config::Visibility::AssignedAndUnassigned;
    })
    .await;
    let admin = app.login().await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(
            app.customer_writes(&format!("m{i}"), &format!("c{i}"), "talk to a human")
                .await,
        );
    }

    // Resolve three, plus an unknown id and a malformed one: three succeed, in order.
    let gone = "01a22e48-7845-70c6-9c2c-08e0d659a7cd";
    let body = json!({"ids": [ids[0], ids[1], gone, ids[2], "nope"], "action": "resolve"});
    let (s, v) = app.post(&admin, BULK, &body).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(oks(&v), [true, true, false, true, false], "{v}");
    assert_eq!(
        (v["succeeded"].as_u64(), v["failed"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(v["results"][2]["error"]["error"], "not_found", "{v}");
    assert_eq!(v["results"][0]["conversation"]["status"], "closed", "{v}");
    for id in &ids[..3] {
        assert_eq!(app.conversation(&admin, id).await["status"], "closed");
    }
    assert_eq!(app.conversation(&admin, &ids[3]).await["status"], "human");

    // Tag adds to the tags each has (one spelling per tag).
    let (s, _) = app
        .put(
            &admin,
            &format!("/api/conversations/{}/tags", ids[3]),
            &json!({"tags": ["vip"]}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, v) = app
        .post(
            &admin,
            BULK,
            &json!({"ids": [ids[2], ids[3]], "action": "tag", "tags": ["Refund", "VIP"]}),
        )
        .await;
    assert_eq!((s, oks(&v)), (200, vec![true, true]), "{v}");
    assert_eq!(
        app.conversation(&admin, &ids[3]).await["tags"],
        json!(["Refund", "vip"])
    );
    assert_eq!(
        app.conversation(&admin, &ids[2]).await["tags"],
        json!(["Refund", "VIP"])
    );

    // Assign two to an agent; that agent (restricted to theirs and unassigned ones) cannot
    // touch the one the admin keeps, and may not assign to someone else.
    let (alice_id, alice) = app.agent("alice@test.local", Role::Agent).await;
    let (s, v) = app
        .post(
            &admin,
            BULK,
            &json!({"ids": [ids[0], ids[1]], "action": "assign", "agent_id": alice_id}),
        )
        .await;
    assert_eq!((s, oks(&v)), (200, vec![true, true]), "{v}");
    assert_eq!(
        app.conversation(&admin, &ids[0]).await["assignee_id"],
        json!(alice_id)
    );
    let (s, _) = app
        .post(
            &admin,
            &format!("/api/conversations/{}/take", ids[3]),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, v) = app
        .post(
            &alice,
            BULK,
            &json!({"ids": [ids[0], ids[3]], "action": "archive"}),
        )
        .await;
    assert_eq!((s, oks(&v)), (200, vec![true, false]), "{v}");
    assert_eq!(v["results"][1]["error"]["error"], "not_found", "{v}");
    assert_eq!(app.conversation(&admin, &ids[0]).await["archived"], true);
    assert_eq!(app.conversation(&admin, &ids[3]).await["archived"], false);
    let held = app.conversation(&admin, &ids[3]).await;
    let me = held["assignee_id"]
        .as_str()
        .expect("the admin holds it")
        .to_owned();
    let (s, v) = app
        .post(
            &alice,
            BULK,
            &json!({"ids": [ids[1]], "action": "assign", "agent_id": me}),
        )
        .await;
    assert_eq!(s, 403, "{v}");
}

async fn a_bad_request_changes_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.login().await;
    let id = app.customer_writes("m1", "c1", "talk to a human").await;
    let many: Vec<String> = (0..101).map(|_| id.clone()).collect();
    let cases = [
        (json!({"ids": [], "action": "resolve"}), 422),
        (json!({"ids": many, "action": "resolve"}), 422),
        (json!({"ids": [id, id], "action": "resolve"}), 422),
        (json!({"ids": [id], "action": "tag"}), 422),
        (json!({"ids": [id], "action": "tag", "tags": []}), 422),
        (json!({"ids": [id], "action": "tag", "tags": [" "]}), 422),
        (
            json!({"ids": [id], "action": "resolve", "tags": ["x"]}),
            422,
        ),
        (
            json!({"ids": [id], "action": "archive", "agent_id": "01a22e48-7845-70c6-9c2c-08e0d659a7cd"}),
            422,
        ),
        (
            json!({"ids": [id], "action": "assign", "agent_id": "01a22e48-7845-70c6-9c2c-08e0d659a7cd"}),
            422,
        ),
        (json!({"ids": [id], "action": "explode"}), 400),
        (json!({"ids": id, "action": "resolve"}), 400),
        (json!({"ids": [id], "action": "resolve", "extra": 1}), 400),
    ];
    for (body, code) in cases {
        let (s, v) = app.post(&admin, BULK, &body).await;
        assert_eq!(s, code, "{body}: {v}");
        assert!(v["error"].is_string(), "{v}");
    }
    let after = app.conversation(&admin, &id).await;
    assert_eq!(
        (after["status"].as_str(), after["archived"].as_bool()),
        (Some("human"), Some(false))
    );
    let (s, _) = app
        .post(
            "not-a-token",
            BULK,
            &json!({"ids": [id], "action": "resolve"}),
        )
        .await;
    assert_eq!(s, 401);
}

both_backends!(
    resolve_assign_tag_and_archive_several,
    a_bad_request_changes_nothing
);
