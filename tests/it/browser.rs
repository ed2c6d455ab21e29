//! The whole loop in a real browser: a customer writes in the website widget, the assistant
//! answers, the customer asks for a person, the agent's dashboard shows it live, the agent
//! replies, the widget shows it, the agent hands back to the bot. Plus a filter tab, search,
//! mark-unread, and customer HTML rendered as text. Screenshots for the README come from here.

use std::path::PathBuf;

use serde_json::json;

use crate::{
    cdp::{browser_available, Browser},
    helpers::{customer, Backend, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD},
};

fn q(s: &str) -> String {
    json!(s).to_string()
}

fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join("screenshots")
}

#[actix_rt::test]
async fn the_whole_loop_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::launch().await;

    // The agent logs in.
    let dash = b.open(&format!("{}/", app.base), 1366, 800).await;
    dash.type_text(&mut b, "#login-email", ADMIN_EMAIL).await;
    dash.type_text(&mut b, "#login-password", ADMIN_PASSWORD)
        .await;
    dash.click(&mut b, "#login-submit").await;
    dash.wait_for(&mut b, "the inbox", "document.querySelector('#conv-list') && !document.querySelector('#login-submit')?.offsetParent").await;

    // A customer opens the widget on the demo page and asks a question.
    let shop = b.open(&format!("{}/demo", app.base), 1366, 800).await;
    shop.click(&mut b, "#sb-widget-bubble").await;
    shop.type_text(&mut b, "#sb-widget-input", "What are your opening hours?")
        .await;
    shop.press_enter(&mut b).await;
    shop.wait_for(&mut b, "the assistant's answer in the widget", "document.querySelector('.sb-msg[data-author=\"assistant\"] .sb-msg-text')?.textContent.includes('Monday')").await;

    // The customer asks for a person: the dashboard shows the badge and the conversation under
    // Human, without a reload.
    shop.type_text(&mut b, "#sb-widget-input", "I want to talk to a human")
        .await;
    shop.press_enter(&mut b).await;
    dash.wait_for(&mut b, "badge 1", "document.querySelector('#badge')?.textContent.trim() === '1' && !document.querySelector('#badge').hidden").await;
    dash.wait_for(
        &mut b,
        "title shows the count",
        "document.title.startsWith('(1)')",
    )
    .await;
    dash.click(&mut b, "button[data-filter=\"human\"]").await;
    let item = dash
        .wait_for(
            &mut b,
            "the conversation under Human",
            "document.querySelector('#conv-list .conv-item')?.dataset.id",
        )
        .await;
    let id = item.as_str().expect("conversation id").to_owned();
    let item_sel = format!(".conv-item[data-id={}]", q(&id));
    assert_eq!(
        dash.text_of(&mut b, &format!("{item_sel} .conv-status"))
            .await
            .trim(),
        "human"
    );

    // The agent opens it and replies with Enter.
    dash.click(&mut b, &item_sel).await;
    dash.wait_for(
        &mut b,
        "thread",
        "document.querySelectorAll('#thread .msg').length >= 3",
    )
    .await;
    dash.type_text(&mut b, "#composer-input", "Hi! Sam here, how can I help?")
        .await;
    dash.press_enter(&mut b).await;
    dash.wait_for(&mut b, "own reply in the thread", "[...document.querySelectorAll('#thread .msg-agent .msg-text')].some(e => e.textContent.includes('Sam here'))").await;

    // The widget shows the reply and that an agent joined.
    shop.wait_for(&mut b, "agent reply in the widget", "[...document.querySelectorAll('.sb-msg[data-author=\"agent\"] .sb-msg-text')].some(e => e.textContent.includes('Sam here'))").await;
    shop.wait_for(
        &mut b,
        "agent joined notice",
        "document.querySelector('.sb-notice')",
    )
    .await;
    dash.wait_for(&mut b, "badge cleared", "document.querySelector('#badge').hidden || document.querySelector('#badge').textContent.trim() === '0'").await;
    dash.screenshot(&mut b, &screenshot_dir().join("dashboard.png"))
        .await;
    shop.screenshot(&mut b, &screenshot_dir().join("widget.png"))
        .await;

    // Hand back to the bot: the widget is told, and the assistant answers again.
    dash.click(&mut b, "button[data-status=\"bot\"]").await;
    dash.wait_for(
        &mut b,
        "status switched",
        "document.querySelector('button[data-status=\"bot\"]').classList.contains('active')",
    )
    .await;
    shop.wait_for(
        &mut b,
        "back with the assistant",
        "document.querySelectorAll('.sb-notice').length >= 2",
    )
    .await;
    shop.type_text(&mut b, "#sb-widget-input", "How long does shipping take?")
        .await;
    shop.press_enter(&mut b).await;
    shop.wait_for(
        &mut b,
        "assistant answers again",
        "document.querySelectorAll('.sb-msg[data-author=\"assistant\"]').length >= 2",
    )
    .await;

    // Filter tabs: Closed has nothing, All has it.
    dash.click(&mut b, "button[data-filter=\"closed\"]").await;
    dash.wait_for(&mut b, "closed tab active and empty", "document.querySelector('button[data-filter=\"closed\"]').classList.contains('active') && document.querySelectorAll('#conv-list .conv-item').length === 0").await;
    dash.click(&mut b, "button[data-filter=\"all\"]").await;
    dash.wait_for(
        &mut b,
        "all tab lists it",
        &format!("document.querySelector({})", q(&item_sel)),
    )
    .await;

    // Search by message text.
    dash.type_text(&mut b, "#search", "shipping").await;
    dash.wait_for(&mut b, "search finds it", &format!("document.querySelectorAll('#conv-list .conv-item').length === 1 && document.querySelector({})", q(&item_sel))).await;
    dash.eval(&mut b, "(() => { const s = document.querySelector('#search'); s.value = ''; s.dispatchEvent(new Event('input', {bubbles: true})); })()").await;
    dash.type_text(&mut b, "#search", "zzqxv").await;
    dash.wait_for(
        &mut b,
        "search finds nothing",
        "document.querySelectorAll('#conv-list .conv-item').length === 0",
    )
    .await;
    dash.eval(&mut b, "(() => { const s = document.querySelector('#search'); s.value = ''; s.dispatchEvent(new Event('input', {bubbles: true})); })()").await;
    dash.wait_for(
        &mut b,
        "list back",
        &format!("document.querySelector({})", q(&item_sel)),
    )
    .await;

    // Mark unread from the three-dot menu.
    dash.click(&mut b, &item_sel).await;
    dash.click(&mut b, "#menu-button").await;
    dash.click(&mut b, "[data-action=\"mark-unread\"]").await;
    let token = app.login().await;
    let conv = crate::helpers::eventually(
        "unread in the API",
        std::time::Duration::from_secs(5),
        || async {
            let c = app.conversation(&token, &id).await;
            (c["unread_count"].as_i64() >= Some(1)).then_some(c)
        },
    )
    .await;
    assert!(conv["unread_count"].as_i64() >= Some(1));
    dash.wait_for(
        &mut b,
        "unread badge on the item",
        &format!(
            "document.querySelector({} + ' .conv-unread')?.textContent.trim() >= '1'",
            q(&item_sel)
        ),
    )
    .await;

    // Customer HTML is shown as text, never run.
    let evil = "<img src=x onerror=\"window.__xss=1\"><b>bold?</b>";
    let resp = app.inbound(&customer("evil-1", "mallory", evil)).await;
    assert_eq!(resp.status().as_u16(), 200);
    let evil_item = dash
        .wait_for(&mut b, "evil conversation listed", "[...document.querySelectorAll('#conv-list .conv-item')].find(e => e.querySelector('.conv-name')?.textContent.includes('Test Customer'))?.dataset.id")
        .await;
    dash.click(&mut b, &format!(".conv-item[data-id={}]", evil_item))
        .await;
    dash.wait_for(&mut b, "evil text rendered literally", &format!("[...document.querySelectorAll('#thread .msg-customer .msg-text')].some(e => e.textContent === {})", q(evil))).await;
    let injected = dash.eval(&mut b, "window.__xss === undefined && document.querySelectorAll('#thread img[src=\"x\"], #conv-list img[src=\"x\"], #thread b').length === 0").await;
    assert_eq!(
        injected,
        json!(true),
        "customer HTML must never become elements"
    );

    // A narrow screen still works (panels collapse).
    dash.resize(&mut b, 390, 844).await;
    dash.wait_for(
        &mut b,
        "narrow layout renders",
        "document.querySelector('#thread') !== null",
    )
    .await;
}
