//! A keyboard-only session in a real browser, no mouse: j opens the first conversation, r
//! goes to the composer, a canned response is picked with `/` and Enter and sent with Enter,
//! Escape goes back to the list, e resolves, j moves on to the next one; ? shows the
//! shortcuts and Escape closes them; the filter bar is one Tab stop with arrows inside.

use serde_json::{json, Value};

use crate::{
    browser::{admin_dashboard, screenshot, ONE_BROWSER},
    cdp::{browser_available, Browser},
    helpers::{eventually, Backend, TestApp},
};

#[actix_rt::test]
async fn a_keyboard_only_session() {
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.login().await;
    for i in 0..3 {
        app.customer_writes(&format!("k-{i}"), &format!("keys-{i}"), "talk to a human")
            .await;
    }
    let (s, saved) = app
        .post(
            &token,
            "/api/canned-responses",
            &json!({"short_code": "thanks", "text": "Sorted, thank you for waiting, {{contact.name}}."}),
        )
        .await;
    assert_eq!(s, 201, "{saved}");
    let mut b = Browser::launch().await;
    let dash = admin_dashboard(&mut b, &app.base).await;
    dash.wait_for(
        &mut b,
        "three conversations",
        "document.querySelectorAll('#conv-list .conv-item').length === 3",
    )
    .await;
    // The README's picture of the waiting list.
    dash.wait_for(
        &mut b,
        "the waits shown",
        "document.querySelectorAll('#conv-list .conv-needs-reply[data-urgency]').length === 3",
    )
    .await;
    dash.screenshot(&mut b, &screenshot("urgency.png")).await;
    let open_id = "((location.hash.match(/^#\\/c\\/(.+)$/) || [])[1] || '')";

    // j opens the first one and keeps the focus in the list.
    dash.press_key(&mut b, "j").await;
    let first = dash
        .wait_for(
            &mut b,
            "the first conversation open",
            &format!("document.activeElement.classList.contains('conv-item') && document.activeElement.dataset.id === {open_id} && {open_id}"),
        )
        .await;
    let first = first.as_str().expect("an id").to_owned();

    // r: the composer; type and send with Enter.
    dash.press_key(&mut b, "r").await;
    dash.wait_for(
        &mut b,
        "the composer focused",
        "document.activeElement.id === 'composer-input'",
    )
    .await;
    // A canned response: `/tha` opens the picker, Enter inserts it (its variable filled in),
    // Enter sends. (Typed as keystrokes into the focused composer; its focus() is a no-op.)
    dash.type_text(&mut b, "#composer-input", "/tha").await;
    dash.wait_for(
        &mut b,
        "the picker with the saved reply",
        "!document.querySelector('#canned-picker').hidden && document.querySelector('#canned-picker').textContent.includes('/thanks')",
    )
    .await;
    dash.press_key(&mut b, "Enter").await;
    dash.wait_for(
        &mut b,
        "the reply inserted",
        "document.querySelector('#composer-input').value === 'Sorted, thank you for waiting, Test Customer.'",
    )
    .await;
    dash.press_enter(&mut b).await;
    eventually(
        "the reply stored",
        std::time::Duration::from_secs(10),
        || async {
            let messages = app.messages(&token, &first).await;
            messages
                .iter()
                .any(|m| {
                    m["author"] == "agent"
                        && m["text"] == "Sorted, thank you for waiting, Test Customer."
                })
                .then_some(())
        },
    )
    .await;

    // Escape: back to the list; e resolves the open one.
    dash.press_key(&mut b, "Escape").await;
    dash.wait_for(
        &mut b,
        "the list focused",
        "document.activeElement.classList.contains('conv-item')",
    )
    .await;
    dash.press_key(&mut b, "e").await;
    eventually("resolved", std::time::Duration::from_secs(10), || async {
        (app.conversation(&token, &first).await["status"] == "closed").then_some(())
    })
    .await;

    // j: the next one.
    dash.press_key(&mut b, "j").await;
    let next: Value = dash
        .wait_for(
            &mut b,
            "another conversation open",
            &format!("{open_id} !== {} && {open_id}", json!(first)),
        )
        .await;
    assert_ne!(next, json!(first));

    // ? shows the sheet; Escape closes it.
    dash.press_key(&mut b, "?").await;
    dash.wait_for(
        &mut b,
        "the shortcuts",
        "document.querySelector('#keys-dialog').open && document.querySelectorAll('#keys-list kbd').length > 10",
    )
    .await;
    dash.press_key(&mut b, "Escape").await;
    dash.wait_for(
        &mut b,
        "the sheet closed",
        "!document.querySelector('#keys-dialog').open",
    )
    .await;

    // The filter bar is one Tab stop (roving focus): / then Tab reaches the chosen tab, the
    // arrows choose another, Tab leaves the bar.
    dash.press_key(&mut b, "/").await;
    dash.wait_for(
        &mut b,
        "the search focused",
        "document.activeElement.id === 'search'",
    )
    .await;
    dash.press_key(&mut b, "Tab").await;
    dash.wait_for(
        &mut b,
        "the chosen tab focused",
        "document.activeElement.dataset.filter === 'all' && [...document.querySelectorAll('button[data-filter]')].filter((t) => t.tabIndex === 0).length === 1",
    )
    .await;
    dash.press_key(&mut b, "ArrowLeft").await;
    dash.wait_for(
        &mut b,
        "Needs reply chosen by the arrow",
        "document.activeElement.dataset.filter === 'waiting' && document.activeElement.getAttribute('aria-selected') === 'true' && document.activeElement.tabIndex === 0",
    )
    .await;
    dash.press_key(&mut b, "Tab").await;
    dash.wait_for(
        &mut b,
        "out of the bar in one Tab",
        "!document.activeElement.closest('.filters')",
    )
    .await;
    dash.assert_no_console_errors(&mut b, "a keyboard-only session")
        .await;
}
