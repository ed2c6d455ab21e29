//! Writing first, in a real browser: `c` opens the New dialog, which starts a WhatsApp
//! conversation with an approved template (its parameters filled in, previewed live); the
//! stand-in Graph API receives the template for the right number and the conversation opens
//! showing it. A number the server refuses shows its error next to the field and sends
//! nothing; Escape closes the dialog and the focus goes back. Inside the 24-hour window the
//! composer's Template button sends a template too.

use std::time::Duration;

use serde_json::{json, Value};

use crate::{
    browser::{admin_dashboard, q, ONE_BROWSER},
    cdp::{browser_available, Browser, Page},
    helpers::{eventually, Backend},
    whatsapp::{self, CUSTOMER, SEND_PATH},
};

const WAIT: Duration = Duration::from_secs(10);

/// Empties the field `selector` and types `text` into it, as a person would.
async fn retype(dash: &Page, b: &mut Browser, selector: &str, text: &str) {
    dash.eval(
        b,
        &format!(
            "(() => {{ const el = document.querySelector({}); el.value = ''; el.dispatchEvent(new Event('input', {{ bubbles: true }})); }})()",
            q(selector)
        ),
    )
    .await;
    dash.type_text(b, selector, text).await;
}

/// The Graph API's template request for `to`, `order_update` in `en_US` with `parameters`.
fn template_request(to: &str, parameters: &[&str]) -> Value {
    json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "template",
           "template": {"name": "order_update", "language": {"code": "en_US"},
                        "components": [{"type": "body", "parameters":
                            parameters.iter().map(|p| json!({"type": "text", "text": p})).collect::<Vec<_>>()}]}})
}

#[actix_rt::test]
async fn a_new_conversation_starts_with_a_template() {
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    // The `wa` inbox (default country code 1) sends to a stand-in Graph API.
    let (app, graph) = whatsapp::start(Backend::Sqlite, |_| {}).await;
    let token = app.login().await;
    let mut b = Browser::launch().await;
    let dash = admin_dashboard(&mut b, &app.base).await;
    dash.wait_for(
        &mut b,
        "the New button (the inboxes loaded)",
        "!document.querySelector('#new-conv-open').hidden",
    )
    .await;

    // The button opens the dialog; Escape closes it and the focus goes back to the button.
    dash.eval(&mut b, "document.querySelector('#new-conv-open').focus()")
        .await;
    dash.click(&mut b, "#new-conv-open").await;
    dash.wait_for(
        &mut b,
        "the dialog open, focus inside",
        "document.querySelector('#new-conv-dialog').open && document.querySelector('#new-conv-dialog').contains(document.activeElement)",
    )
    .await;
    dash.press_key(&mut b, "Escape").await;
    dash.wait_for(
        &mut b,
        "the dialog closed, focus back on New",
        "!document.querySelector('#new-conv-dialog').open && document.activeElement.id === 'new-conv-open'",
    )
    .await;
    dash.eval(&mut b, "document.activeElement.blur()").await;

    // `c` opens it from anywhere in the inbox, the channel select focused; it offers the
    // inboxes that can start a conversation (Messenger could not; these three can).
    dash.press_key(&mut b, "c").await;
    dash.wait_for(
        &mut b,
        "the dialog open on the channel",
        "document.querySelector('#new-conv-dialog').open && document.activeElement.id === 'nc-inbox'",
    )
    .await;
    let offered = dash
        .eval(
            &mut b,
            "[...document.querySelectorAll('#nc-inbox option')].map((o) => o.value).sort().join(',')",
        )
        .await;
    assert_eq!(offered, json!("support,wa,website"));
    dash.eval(
        &mut b,
        "(() => { const s = document.querySelector('#nc-inbox'); s.value = 'wa'; s.dispatchEvent(new Event('change')); })()",
    )
    .await;
    // WhatsApp writes first only with a template: no text field, the parameters named.
    dash.wait_for(
        &mut b,
        "the template picker with its parameters",
        "!document.querySelector('#nc-template-wrap').hidden && document.querySelector('#nc-text-wrap').hidden \
         && document.querySelector('#nc-email-wrap').hidden \
         && document.querySelectorAll('#nc-params input').length === 2 \
         && document.querySelector('#nc-params').textContent.includes('order number')",
    )
    .await;
    dash.type_text(&mut b, "#nc-name", "Ana").await;
    // A national number: the inbox's country code (1) makes it 6 digits, too few. Only the
    // server knows that code, so the dialog leaves the number to it.
    dash.type_text(&mut b, "#nc-phone", "555 12").await;
    dash.type_text(&mut b, "#nc-param-1", "#7").await;
    dash.type_text(&mut b, "#nc-param-2", "Friday").await;
    dash.wait_for(
        &mut b,
        "the live preview",
        "document.querySelector('#nc-preview').textContent === 'Your order #7 ships on Friday.'",
    )
    .await;
    dash.press_enter(&mut b).await;
    let error = dash
        .wait_for(
            &mut b,
            "the server's refusal next to the phone",
            "!document.querySelector('#nc-phone-error').hidden && document.querySelector('#nc-phone-error').textContent",
        )
        .await;
    assert_eq!(
        error,
        json!("`phone`: the phone number has 6 digits; at least 8 are needed"),
        "the server's words (it added the country code)"
    );
    dash.wait_for(
        &mut b,
        "the phone marked invalid and focused, the dialog still open",
        "document.querySelector('#nc-phone').getAttribute('aria-invalid') === 'true' && document.activeElement.id === 'nc-phone' && document.querySelector('#new-conv-dialog').open",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        graph.calls().is_empty(),
        "nothing sent: {:?}",
        graph.calls()
    );
    assert!(app.conversations(&token).await.is_empty(), "nothing stored");

    // A good number: Enter starts the conversation.
    retype(&dash, &mut b, "#nc-phone", "+34 600 111 222").await;
    dash.wait_for(
        &mut b,
        "the error gone, the number shown as it will be used",
        "document.querySelector('#nc-phone-error').hidden && document.querySelector('#nc-phone-hint').textContent.includes('+34600111222')",
    )
    .await;
    dash.press_enter(&mut b).await;
    let call = eventually("the template at the Graph API", WAIT, || async {
        graph.calls_to("POST", SEND_PATH).into_iter().next()
    })
    .await;
    assert_eq!(
        call.json(),
        template_request("34600111222", &["#7", "Friday"])
    );
    let list = app.conversations(&token).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let id = list[0]["id"].as_str().expect("id").to_owned();
    assert_eq!(list[0]["contact"]["name"], "Ana");
    assert_eq!(list[0]["contact"]["phone"], "+34600111222");
    dash.wait_for(
        &mut b,
        "the new conversation open, showing the template",
        &format!(
            "!document.querySelector('#new-conv-dialog').open && location.hash === {} \
             && document.querySelector('#thread').textContent.includes('Your order #7 ships on Friday.') \
             && document.querySelector('#thread-name').textContent.includes('Ana')",
            q(&format!("#/c/{id}"))
        ),
    )
    .await;
    // Outside the window the picker in the notice is the way to write; no Template button.
    dash.wait_for(
        &mut b,
        "the closed-window notice with its picker",
        "!document.querySelector('#window-closed').hidden && !document.querySelector('#template-picker').hidden \
         && document.querySelector('#composer-template-toggle').hidden",
    )
    .await;
    assert_eq!(graph.calls_to("POST", SEND_PATH).len(), 1, "sent once");
    // Only the refusal the test asked for (the stand-in Enter key presses twice: keydown
    // and char, so the refused form may have gone twice).
    let errors = dash.console_errors(&mut b).await;
    let asked = |e: &&String| e.contains("status of 422") && e.ends_with("/api/conversations)");
    assert!(
        !errors.is_empty() && errors.iter().all(|e| asked(&e)),
        "the page reported errors starting a conversation: {errors:?}"
    );
}

#[actix_rt::test]
async fn a_template_is_sent_inside_the_window_from_the_composer() {
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let (app, graph) = whatsapp::start(Backend::Sqlite, |_| {}).await;
    let token = app.login().await;
    // The customer just wrote: the window is open.
    whatsapp::notify(
        &app,
        &whatsapp::notification(
            vec![whatsapp::text("wamid.IN1", 5, whatsapp::HANDOFF)],
            vec![],
        ),
    )
    .await;
    let id = whatsapp::the_conversation(&app, &token).await;
    let mut b = Browser::launch().await;
    let dash = admin_dashboard(&mut b, &app.base).await;
    dash.eval(
        &mut b,
        &format!("location.hash = {}", q(&format!("#/c/{id}"))),
    )
    .await;
    dash.wait_for(
        &mut b,
        "the composer open for text, with a Template button",
        "!document.querySelector('#composer-input').disabled && !document.querySelector('#composer-template-toggle').hidden \
         && document.querySelector('#composer-template').hidden",
    )
    .await;
    dash.eval(
        &mut b,
        "document.querySelector('#composer-template-toggle').focus()",
    )
    .await;
    dash.press_enter(&mut b).await;
    dash.wait_for(
        &mut b,
        "the picker open above the text, its first parameter focused",
        "!document.querySelector('#composer-template').hidden && document.querySelector('#composer-template-toggle').getAttribute('aria-expanded') === 'true' \
         && document.activeElement.id === 'template-param-1' && document.querySelectorAll('#template-params input').length === 2",
    )
    .await;
    // Escape closes it, the focus back on the button; Enter opens it again.
    dash.press_key(&mut b, "Escape").await;
    dash.wait_for(
        &mut b,
        "the panel closed",
        "document.querySelector('#composer-template').hidden && document.activeElement.id === 'composer-template-toggle'",
    )
    .await;
    dash.press_enter(&mut b).await;
    dash.wait_for(
        &mut b,
        "the panel open again",
        "!document.querySelector('#composer-template').hidden && document.activeElement.id === 'template-param-1'",
    )
    .await;
    dash.type_text(&mut b, "#template-param-1", "#42").await;
    dash.type_text(&mut b, "#template-param-2", "Monday").await;
    dash.wait_for(
        &mut b,
        "the preview",
        "document.querySelector('#template-preview').textContent === 'Your order #42 ships on Monday.'",
    )
    .await;
    dash.click(&mut b, "#template-send").await;
    let call = eventually("the template at the Graph API", WAIT, || async {
        graph.calls_to("POST", SEND_PATH).into_iter().next()
    })
    .await;
    assert_eq!(call.json(), template_request(CUSTOMER, &["#42", "Monday"]));
    dash.wait_for(
        &mut b,
        "the template in the thread, the panel closed, back to the text",
        "document.querySelector('#thread').textContent.includes('Your order #42 ships on Monday.') \
         && document.querySelector('#composer-template').hidden && document.activeElement.id === 'composer-input'",
    )
    .await;
    let messages = app.messages(&token, &id).await;
    assert!(
        messages
            .iter()
            .any(|m| m["kind"] == "template" && m["text"] == "Your order #42 ships on Monday."),
        "{messages:?}"
    );
    dash.assert_no_console_errors(&mut b, "a template inside the window")
        .await;
}
