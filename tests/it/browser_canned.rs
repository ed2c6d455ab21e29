//! Canned responses in a real browser: an admin creates one on the Canned responses page,
//! then in a conversation types `/gre`, picks it from the listbox with the arrows and Enter,
//! and the reply goes out with `{{contact.name}}` and `{{agent.name}}` filled in.

use std::time::Duration;

use serde_json::{json, Value};

use crate::{
    browser::{dashboard_of, q, screenshot, ONE_BROWSER},
    cdp::{browser_available, Browser},
    helpers::{eventually, Backend, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD, CALLBACK_PATH},
};

const WAIT: Duration = Duration::from_secs(10);

async fn canned_responses_in_the_composer(backend: Backend) {
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn(backend).await;
    let token = app.login().await;
    let (_, me) = app.get(&token, "/api/auth/me").await;
    let admin_name = me["agent"]["name"].as_str().expect("name").to_owned();
    let id = app
        .customer_writes("cr-1", "browser-canned", "I want to talk to a person")
        .await;
    // A second one, whose text is markup: the picker shows it as text.
    let (s, made) = app
        .post(
            &token,
            "/api/canned-responses",
            &json!({"short_code": "gre-bold", "text": "<b>Bold</b> welcome", "inbox": "support"}),
        )
        .await;
    assert_eq!(s, 201, "{made}");
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

    // The page: create one with variables.
    dash.click(&mut b, "#nav-canned").await;
    dash.wait_for(
        &mut b,
        "the Canned responses page",
        "!document.querySelector('#canned-page').hidden && document.querySelector('#inbox-panes').hidden",
    )
    .await;
    dash.type_text(&mut b, "#canned-code", "greet").await;
    dash.type_text(
        &mut b,
        "#canned-text",
        "Hello {{contact.name}}, {{agent.name}} here.{{contact.email}}",
    )
    .await;
    dash.click(&mut b, "#canned-save").await;
    dash.wait_for(
        &mut b,
        "the new one listed",
        "[...document.querySelectorAll('#canned-list .canned-code')].map((e) => e.textContent).join() === '/gre-bold,/greet'",
    )
    .await;
    let (_, list) = app.get(&token, "/api/canned-responses?q=greet").await;
    assert_eq!(list["items"][0]["inbox"], Value::Null, "{list}");

    // The conversation: `/gre` opens the picker, by short code.
    dash.click(&mut b, "#nav-inbox").await;
    let item = format!(".conv-item[data-id={}]", q(&id));
    dash.wait_for(
        &mut b,
        "the conversation",
        &format!("document.querySelector({})", q(&item)),
    )
    .await;
    dash.click(&mut b, &item).await;
    dash.type_text(&mut b, "#composer-input", "/gre").await;
    dash.wait_for(
        &mut b,
        "the picker",
        "!document.querySelector('#canned-picker').hidden && document.querySelectorAll('#canned-picker [role=option]').length === 2",
    )
    .await;
    let picker = dash
        .eval(
            &mut b,
            "(() => { const p = document.querySelector('#canned-picker'); const i = document.querySelector('#composer-input'); return [p.getAttribute('role'), i.getAttribute('aria-activedescendant'), [...p.querySelectorAll('.canned-code')].map((e) => e.textContent), p.querySelectorAll('b').length, p.textContent.includes('<b>Bold</b> welcome')]; })()",
        )
        .await;
    assert_eq!(
        picker,
        json!([
            "listbox",
            "canned-option-0",
            ["/gre-bold", "/greet"],
            0,
            true
        ]),
        "an accessible listbox; text never becomes elements"
    );
    dash.screenshot(&mut b, &screenshot("canned-picker.png"))
        .await;

    // Narrowing, Escape, then the arrows and Enter.
    dash.type_text(&mut b, "#composer-input", "e").await;
    dash.wait_for(
        &mut b,
        "narrowed",
        "document.querySelectorAll('#canned-picker [role=option]').length === 1",
    )
    .await;
    dash.press_key(&mut b, "Escape").await;
    dash.wait_for(
        &mut b,
        "closed",
        "document.querySelector('#canned-picker').hidden && !document.querySelector('#composer-input').hasAttribute('aria-activedescendant')",
    )
    .await;
    dash.eval(
        &mut b,
        "(() => { const i = document.querySelector('#composer-input'); i.value = ''; i.dispatchEvent(new Event('input')); })()",
    )
    .await;
    dash.type_text(&mut b, "#composer-input", "/gre").await;
    dash.wait_for(
        &mut b,
        "the picker again",
        "document.querySelectorAll('#canned-picker [role=option]').length === 2",
    )
    .await;
    dash.press_key(&mut b, "ArrowDown").await;
    dash.wait_for(
        &mut b,
        "the second option active",
        "document.querySelector('#composer-input').getAttribute('aria-activedescendant') === 'canned-option-1' && document.querySelector('#canned-option-1').getAttribute('aria-selected') === 'true'",
    )
    .await;
    // (The key down alone: CDP's separate `char` event would type the newline a real browser
    // leaves out once the key down is handled.)
    dash.press_key(&mut b, "Enter").await;
    let expected = format!("Hello Test Customer, {admin_name} here.");
    dash.wait_for(
        &mut b,
        "the expanded text inserted",
        &format!(
            "document.querySelector('#composer-input').value === {} && document.querySelector('#canned-picker').hidden",
            q(&expected)
        ),
    )
    .await;

    // Sent: it reaches the system behind the inbox as typed.
    dash.press_enter(&mut b).await;
    let sent = expected.clone();
    eventually("the reply at the callback", WAIT, || {
        let sent = sent.clone();
        let app = &app;
        async move {
            app.callbacks
                .calls_to("POST", CALLBACK_PATH)
                .iter()
                .any(|c| String::from_utf8_lossy(&c.body).contains(&sent))
                .then_some(())
        }
    })
    .await;
    let messages = app.messages(&token, &id).await;
    assert!(
        messages.iter().any(|m| m["text"] == json!(expected)),
        "{messages:?}"
    );
    dash.assert_no_console_errors(&mut b, "canned responses")
        .await;
}

#[actix_rt::test]
async fn canned_responses_in_the_composer_on_sqlite() {
    canned_responses_in_the_composer(Backend::Sqlite).await;
}
