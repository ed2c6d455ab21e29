//! Bulk actions in a real browser: "Select", pick three of four conversations, Resolve; the
//! three close (through the API each by its own actor), the fourth is untouched, and picking
//! never opened a conversation.

use serde_json::json;

use crate::{
    browser::{admin_dashboard, q, ONE_BROWSER},
    cdp::{browser_available, Browser},
    helpers::{Backend, TestApp},
};

#[actix_rt::test]
async fn bulk_resolve_of_three_conversations() {
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.login().await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(
            app.customer_writes(&format!("b-{i}"), &format!("bulk-{i}"), "talk to a human")
                .await,
        );
    }
    let mut b = Browser::launch().await;
    let dash = admin_dashboard(&mut b, &app.base).await;
    let item = |id: &str| format!("#conv-list .conv-item[data-id={}]", q(id));
    dash.wait_for(
        &mut b,
        "the four conversations",
        "document.querySelectorAll('#conv-list .conv-item').length === 4",
    )
    .await;

    dash.click(&mut b, "#select-toggle").await;
    dash.wait_for(&mut b, "the bulk bar", "!document.querySelector('#bulk-bar').hidden && document.querySelector('#bulk-resolve').disabled").await;
    for id in &ids[..3] {
        dash.click(&mut b, &item(id)).await;
    }
    dash.wait_for(
        &mut b,
        "three picked",
        "document.querySelector('#bulk-count').textContent === '3 selected' \
         && document.querySelectorAll('#conv-list .conv-item.selected').length === 3",
    )
    .await;
    assert_eq!(
        dash.eval(&mut b, "location.hash.startsWith('#/c/')").await,
        json!(false),
        "picking opens nothing"
    );
    dash.click(&mut b, "#bulk-resolve").await;
    dash.wait_for(
        &mut b,
        "three resolved in the list, the bar gone",
        &format!(
            "document.querySelector('#bulk-bar').hidden && [{}].every((s) => document.querySelector(s)?.querySelector('.conv-status')?.textContent === 'closed') \
             && document.querySelector({})?.querySelector('.conv-status')?.textContent === 'human'",
            ids[..3].iter().map(|id| q(&item(id))).collect::<Vec<_>>().join(", "),
            q(&item(&ids[3]))
        ),
    )
    .await;
    for id in &ids[..3] {
        assert_eq!(app.conversation(&token, id).await["status"], "closed");
    }
    assert_eq!(app.conversation(&token, &ids[3]).await["status"], "human");
    dash.assert_no_console_errors(&mut b, "a bulk resolve")
        .await;
}
