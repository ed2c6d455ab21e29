//! Snooze in a real browser, by keyboard: `s` opens the menu on the open conversation, the
//! arrows and Space choose "Until the customer writes", which puts it aside — it leaves the list and the "Needs reply" count and
//! shows under "Snoozed" with its chip — and it comes back live when the customer writes. A
//! snooze until a time comes back live by itself when the time comes.

use std::time::Duration;

use serde_json::json;

use crate::{
    browser::{admin_dashboard, q, ONE_BROWSER},
    cdp::{browser_available, Browser},
    helpers::{Backend, TestApp},
};

#[actix_rt::test]
async fn snooze_and_its_return() {
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.login().await;
    let aside = app
        .customer_writes("z-1", "snooze-1", "talk to a human")
        .await;
    let timed = app
        .customer_writes("z-2", "snooze-2", "talk to a human")
        .await;
    let mut b = Browser::launch().await;
    let dash = admin_dashboard(&mut b, &app.base).await;
    let item = |id: &str| format!("#conv-list .conv-item[data-id={}]", q(id));
    let listed = |id: &str| format!("!!document.querySelector({})", q(&item(id)));
    dash.wait_for(
        &mut b,
        "both conversations, both waiting",
        &format!(
            "{} && {} && document.querySelector('#waiting-count').textContent.includes('2')",
            listed(&aside),
            listed(&timed)
        ),
    )
    .await;

    // Keyboard only: open it, `s`, down to "Until the customer writes", Enter.
    dash.eval(
        &mut b,
        &format!("document.querySelector({}).focus()", q(&item(&aside))),
    )
    .await;
    dash.press_key(&mut b, "Enter").await;
    dash.wait_for(
        &mut b,
        "the conversation open",
        &format!(
            "location.hash === '#/c/{aside}' && !document.querySelector('#thread-view').hidden"
        ),
    )
    .await;
    dash.eval(&mut b, "document.activeElement.blur()").await;
    dash.press_key(&mut b, "s").await;
    dash.wait_for(
        &mut b,
        "the snooze menu, its first choice focused",
        "!document.querySelector('#snooze-menu').hidden \
         && document.activeElement === document.querySelector('#snooze-menu [data-snooze=\"1h\"]') \
         && document.querySelector('#snooze-button').getAttribute('aria-expanded') === 'true'",
    )
    .await;
    // A letter inside the menu is not a shortcut: `e` does not resolve the conversation.
    dash.press_key(&mut b, "e").await;
    for _ in 0..4 {
        dash.press_key(&mut b, "ArrowDown").await;
    }
    dash.wait_for(
        &mut b,
        "\"Until the customer writes\" focused",
        "document.activeElement?.dataset?.snooze === 'customer'",
    )
    .await;
    dash.press_key(&mut b, " ").await;
    dash.wait_for(
        &mut b,
        "snoozed: out of the list and the count, back on the list page",
        &format!(
            "!{} && {} && location.hash === '#/' && document.querySelector('#snooze-menu').hidden \
             && document.querySelector('#waiting-count').textContent.includes('1')",
            listed(&aside),
            listed(&timed)
        ),
    )
    .await;
    let c = app.conversation(&token, &aside).await;
    assert_eq!(
        (c["snoozed"].clone(), c["snoozed_until"].clone()),
        (json!(true), json!(null)),
        "{c}"
    );
    assert_eq!(
        c["status"], "human",
        "the `e` pressed in the menu resolved nothing"
    );

    // The Snoozed view lists it, with its chip.
    dash.click(&mut b, "button[data-filter=\"snoozed\"]").await;
    dash.wait_for(
        &mut b,
        "the Snoozed view",
        &format!(
            "{} && !{} && document.querySelector({})?.querySelector('.conv-snoozed')?.textContent === 'Snoozed · until they write'",
            listed(&aside),
            listed(&timed),
            q(&item(&aside))
        ),
    )
    .await;
    // Opened from there: the banner says so and offers to wake it.
    dash.click(&mut b, &item(&aside)).await;
    dash.wait_for(
        &mut b,
        "the snooze banner",
        "!document.querySelector('#snooze-banner').hidden \
         && document.querySelector('#snooze-banner-text').textContent === 'Snoozed until the customer writes'",
    )
    .await;
    dash.click(&mut b, "#thread-back").await;

    // The customer writes: it leaves Snoozed and is back in All, live.
    app.customer_writes("z-1b", "snooze-1", "hello? any news?")
        .await;
    dash.wait_for(&mut b, "gone from Snoozed", &format!("!{}", listed(&aside)))
        .await;
    dash.click(&mut b, "button[data-filter=\"all\"]").await;
    dash.wait_for(
        &mut b,
        "back in All, waiting again",
        &format!(
            "{} && document.querySelector({})?.querySelector('.conv-needs-reply') !== null \
             && document.querySelector('#waiting-count').textContent.includes('2')",
            listed(&aside),
            q(&item(&aside))
        ),
    )
    .await;

    // A snooze until a time: it goes, and comes back by itself.
    let until = chrono::Utc::now() + chrono::Duration::seconds(3);
    let (s, _) = app
        .post(
            &token,
            &format!("/api/conversations/{timed}/snooze"),
            &json!({ "until": until.to_rfc3339() }),
        )
        .await;
    assert_eq!(s, 200);
    dash.wait_for(
        &mut b,
        "snoozed until a time: gone",
        &format!("!{}", listed(&timed)),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    dash.wait_for(
        &mut b,
        "back by itself when its time came",
        &format!(
            "{} && document.querySelector({})?.querySelector('.conv-needs-reply') !== null",
            listed(&timed),
            q(&item(&timed))
        ),
    )
    .await;
    dash.assert_no_console_errors(&mut b, "snoozing and waking")
        .await;
}
