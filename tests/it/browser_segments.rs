//! Segments and unsubscribe in a real browser: a segment is created on the Segments page, the
//! open conversation's contact is added to it from the contact panel, and unsubscribed there.

use serde_json::json;

use crate::{
    browser::{dashboard_of, q, ONE_BROWSER},
    cdp::{browser_available, Browser},
    helpers::{Backend, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD},
};

async fn segments_and_unsubscribe_in_the_dashboard(backend: Backend) {
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn(backend).await;
    let token = app.login().await;
    let id = app
        .customer_writes("s-1", "browser-seg", "I want to talk to a person")
        .await;
    let mut b = Browser::launch().await;
    let dash = dashboard_of(
        &mut b,
        &app.base,
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
        (1366, 800),
        "UTC",
    )
    .await;

    // The Segments page: create a static segment (its name is markup, shown as text).
    dash.click(&mut b, "#nav-segments").await;
    dash.wait_for(
        &mut b,
        "the Segments page",
        "!document.querySelector('#segments-page').hidden && !document.querySelector('#segment-form').hidden",
    )
    .await;
    dash.type_text(&mut b, "#seg-name", "<b>VIP</b> list").await;
    dash.click(&mut b, "#seg-create").await;
    dash.wait_for(
        &mut b,
        "the new segment listed",
        "[...document.querySelectorAll('#segment-list .segment-row strong')].some((e) => e.textContent === '<b>VIP</b> list')",
    )
    .await;
    assert_eq!(
        dash.eval(
            &mut b,
            "document.querySelectorAll('#segment-list b').length"
        )
        .await,
        json!(0),
        "names never become elements"
    );

    // Back to the inbox: the conversation's contact joins it from the panel.
    dash.click(&mut b, "#nav-inbox").await;
    let item = format!(".conv-item[data-id={}]", q(&id));
    dash.wait_for(
        &mut b,
        "the conversation",
        &format!("document.querySelector({})", q(&item)),
    )
    .await;
    dash.click(&mut b, &item).await;
    dash.click(&mut b, "#contact-toggle").await;
    dash.wait_for(
        &mut b,
        "the segment offered",
        "document.querySelector('#segment-add').options.length > 1",
    )
    .await;
    dash.eval(
        &mut b,
        "(() => { const s = document.querySelector('#segment-add'); s.value = s.options[1].value; s.dispatchEvent(new Event('change')); })()",
    )
    .await;
    dash.wait_for(
        &mut b,
        "the segment chip",
        "[...document.querySelectorAll('#segment-chips .segment-chip')].some((e) => e.textContent.startsWith('<b>VIP</b> list'))",
    )
    .await;

    // Unsubscribe from the panel.
    dash.click(&mut b, "#subscription-toggle").await;
    dash.wait_for(
        &mut b,
        "the unsubscribed state",
        "document.querySelector('#subscription-state').textContent.startsWith('Unsubscribed') && document.querySelector('#subscription-toggle').textContent === 'Resubscribe'",
    )
    .await;
    let c = app.conversation(&token, &id).await;
    assert!(c["contact"]["unsubscribed_at"].is_string(), "{c}");
    let contact = c["contact"]["id"].as_str().expect("contact id");
    let (_, segs) = app
        .get(&token, &format!("/api/contacts/{contact}/segments"))
        .await;
    assert_eq!(segs["items"][0]["name"], "<b>VIP</b> list");

    // Block from the panel (after a confirmation), then unblock.
    dash.click(&mut b, "#block-toggle").await;
    dash.wait_for(
        &mut b,
        "the confirmation",
        "document.querySelector('#confirm-dialog').open",
    )
    .await;
    dash.click(&mut b, "#confirm-ok").await;
    dash.wait_for(
        &mut b,
        "the blocked state",
        "document.querySelector('#block-state').textContent.startsWith('Blocked') && document.querySelector('#block-toggle').textContent === 'Unblock'",
    )
    .await;
    assert_eq!(
        app.conversation(&token, &id).await["contact"]["blocked"],
        true
    );
    dash.click(&mut b, "#block-toggle").await;
    dash.wait_for(
        &mut b,
        "unblocked",
        "document.querySelector('#block-toggle').textContent === 'Block'",
    )
    .await;
    assert_eq!(
        app.conversation(&token, &id).await["contact"]["blocked"],
        false
    );
    dash.assert_no_console_errors(&mut b, "segments, unsubscribe and block")
        .await;
}

#[actix_rt::test]
async fn segments_and_unsubscribe_in_the_dashboard_on_sqlite() {
    segments_and_unsubscribe_in_the_dashboard(Backend::Sqlite).await;
}
