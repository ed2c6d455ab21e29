//! The widget in the visitor's language and the visitor's typing, in a real browser: a page
//! embeds the widget with `data-lang="es"` and every string it shows is Spanish; the visitor
//! writes, then types again, and the agent's open thread shows "… is typing…" until the
//! visitor empties the field.

use serde_json::json;

use crate::{
    browser::{admin_dashboard, q, ONE_BROWSER},
    cdp::{browser_available, Browser},
    helpers::{Backend, FakeProvider, Reply, TestApp},
};

#[actix_rt::test]
async fn the_widget_speaks_spanish_and_the_agent_sees_the_visitor_typing() {
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::launch().await;
    let dash = admin_dashboard(&mut b, &app.base).await;

    // Another site's page embedding the widget in Spanish.
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><title>Tienda</title><link rel=\"icon\" href=\"data:,\"></head><body><h1>Tienda</h1>\
         <script src=\"{}/widget.js\" data-inbox=\"website\" data-lang=\"es\" data-open=\"true\"></script>\
         </body></html>",
        app.base
    );
    // Served from another origin, as a shop's own site would serve it (a `data:` page has no
    // storage for the widget to keep its session in).
    let site = FakeProvider::start().await;
    site.on(
        "GET",
        "/shop",
        Reply::bytes(200, "text/html; charset=utf-8", page),
    );
    let shop = b.open(&format!("{}/shop", site.url), 1024, 768).await;
    shop.wait_for(
        &mut b,
        "the widget, open",
        "document.querySelector('#sb-widget') && !document.querySelector('#sb-widget-panel').hidden",
    )
    .await;
    let strings = shop
        .eval(
            &mut b,
            "(() => { const $ = (s) => document.querySelector(s); return [\
             $('#sb-widget').lang, $('#sb-widget-title').textContent, $('#sb-widget-status').textContent,\
             $('#sb-widget-input').placeholder, $('#sb-widget-input').getAttribute('aria-label'),\
             $('#sb-widget-send').getAttribute('aria-label'), $('#sb-widget-close').getAttribute('aria-label'),\
             $('#sb-widget-bubble').getAttribute('aria-label'), $('.sb-welcome').textContent,\
             $('#sb-widget-typing').getAttribute('aria-label')]; })()",
        )
        .await;
    assert_eq!(
        strings,
        json!([
            "es",
            "Chatea con nosotros",
            "Nuestro asistente responde al instante",
            "Escribe un mensaje…",
            "Mensaje",
            "Enviar",
            "Cerrar el chat",
            "Cerrar el chat",
            "¡Hola! Pregúntanos lo que quieras. Nuestro asistente responde al instante y una persona puede unirse cuando lo pidas.",
            "El asistente está escribiendo",
        ])
    );

    // The visitor writes; the agent opens the conversation.
    shop.type_text(&mut b, "#sb-widget-input", "Hola, necesito ayuda")
        .await;
    shop.press_enter(&mut b).await;
    let id = dash
        .wait_for(
            &mut b,
            "the conversation in the list",
            "document.querySelector('#conv-list .conv-item')?.dataset.id",
        )
        .await;
    let id = id.as_str().expect("conversation id").to_owned();
    dash.click(
        &mut b,
        &format!("#conv-list .conv-item[data-id={}]", q(&id)),
    )
    .await;
    dash.wait_for(
        &mut b,
        "the thread",
        "[...document.querySelectorAll('#thread .msg-text')].some(e => e.textContent.includes('necesito ayuda'))",
    )
    .await;
    assert_eq!(
        dash.eval(&mut b, "document.querySelector('#typing').textContent")
            .await,
        json!("")
    );

    // The visitor types again: the agent sees it, as text.
    shop.type_text(&mut b, "#sb-widget-input", "¿Hacen envíos a")
        .await;
    let typing = dash
        .wait_for(
            &mut b,
            "the visitor typing in the thread",
            "(() => { const t = document.querySelector('#typing'); \
             return t.offsetParent && /^Visitor \\S{6} is typing…$/.test(t.textContent) && t.textContent; })()",
        )
        .await;
    assert!(typing.as_str().is_some_and(|t| t.ends_with("is typing…")));
    // They empty the field: it goes at once (well before the indicator would time out).
    shop.eval(
        &mut b,
        "(() => { const i = document.querySelector('#sb-widget-input'); i.value = ''; \
         i.dispatchEvent(new Event('input', { bubbles: true })); })()",
    )
    .await;
    dash.wait_for(
        &mut b,
        "the typing line cleared",
        "document.querySelector('#typing').textContent === ''",
    )
    .await;
    shop.assert_no_console_errors(&mut b, "the Spanish widget")
        .await;
    dash.assert_no_console_errors(&mut b, "the visitor typing")
        .await;
}
