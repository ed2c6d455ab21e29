//! Who may do what: a permanent delete is for admins, and is recorded with who and when;
//! agents archive.

use serde_json::json;
use switchboard::{db::queries, domain::types::Role};

use crate::{
    both_backends,
    helpers::{Backend, TestApp},
};

async fn only_admins_delete_for_good_and_it_is_recorded(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.login().await;
    let (_, agent) = app.agent("a@test.local", Role::Agent).await;
    let (_, sup) = app.agent("sup@test.local", Role::Supervisor).await;
    let id = app.customer_writes("m1", "c1", "hello").await;

    for token in [&agent, &sup] {
        let (s, v) = app.delete(token, &format!("/api/conversations/{id}")).await;
        assert_eq!(s, 403, "{v}");
        assert_eq!(v["error"], "forbidden");
    }
    app.conversation(&admin, &id).await;
    // Agents archive instead.
    let (s, v) = app
        .post(
            &agent,
            &format!("/api/conversations/{id}/archive"),
            &json!({"archived": true}),
        )
        .await;
    assert_eq!((s, &v["archived"]), (200, &json!(true)), "{v}");

    let before = chrono::Utc::now().naive_utc();
    let (s, _) = app
        .delete(&admin, &format!("/api/conversations/{id}"))
        .await;
    assert_eq!(s, 204);
    let (s, _) = app.get(&admin, &format!("/api/conversations/{id}")).await;
    assert_eq!(s, 404);
    let log = app
        .handle
        .app
        .store
        .read(|c| queries::audit_entries(c, 10))
        .await
        .expect("audit log");
    assert_eq!(log.len(), 1, "{log:?}");
    let entry = &log[0];
    assert_eq!(
        (
            entry.action.as_str(),
            entry.subject.as_str(),
            entry.agent_email.as_str()
        ),
        ("conversation.deleted", id.as_str(), "admin@test.local")
    );
    assert!(entry.at >= before - chrono::Duration::seconds(1));
    assert!(entry
        .detail
        .as_deref()
        .is_some_and(|d| d.contains("support")));
}

both_backends!(only_admins_delete_for_good_and_it_is_recorded);
