//! The dashboard in Spanish, chosen the way a user does: a browser whose preferred language is
//! Spanish (es-ES) gets the Spanish catalogue. The sign-in page, the inbox, an open
//! conversation with its composer, the keyboard help sheet, the Reports and Knowledge pages show Spanish
//! labels and none of their English ones; the Language menu then switches back to English (the
//! choice is kept, over the browser's). Takes the README's `docs/screenshots/dashboard-es.png`.

use serde_json::{json, Value};

use crate::{
    browser::{q, screenshot, ONE_BROWSER},
    cdp::{browser_available, Browser, Page},
    helpers::{Backend, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD},
};

/// The text of the first element `selector` matches (its value for a field's placeholder).
async fn text(dash: &Page, b: &mut Browser, selector: &str) -> String {
    dash.wait_for(
        b,
        &format!("{selector} to exist"),
        &format!("!!document.querySelector({})", q(selector)),
    )
    .await;
    dash.text_of(b, selector).await.trim().to_owned()
}

/// Fails if any of `english` shows in the visible text of the elements `scope` matches.
async fn no_english_left(dash: &Page, b: &mut Browser, scope: &str, english: &[&str]) {
    let visible = dash
        .eval(
            b,
            &format!(
                "[...document.querySelectorAll({})].map((el) => el.innerText).join('\\n')",
                q(scope)
            ),
        )
        .await;
    let visible = visible.as_str().unwrap_or_default().to_owned();
    assert!(!visible.trim().is_empty(), "nothing visible in {scope}");
    let left: Vec<_> = english.iter().filter(|w| visible.contains(*w)).collect();
    assert!(
        left.is_empty(),
        "English left in {scope}: {left:?}\n---\n{visible}"
    );
}

#[actix_rt::test]
async fn the_dashboard_in_spanish_and_back_to_english() {
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.customer_writes("es-1", "Lucía Pérez", "talk to a human")
        .await;
    let mut b = Browser::launch().await;
    let dash = b.open("about:blank", 1366, 860).await;
    dash.set_timezone(&mut b, "UTC").await;
    dash.set_language(&mut b, "es-ES").await;
    dash.goto(&mut b, &format!("{}/", app.base)).await;

    // Sign-in, in Spanish before anyone is known.
    dash.wait_for(
        &mut b,
        "the Spanish sign-in page",
        "document.documentElement.lang === 'es' && document.querySelector('#login-submit').textContent === 'Entrar'",
    )
    .await;
    assert_eq!(
        text(&dash, &mut b, ".login-title").await,
        "Entra en tu bandeja de entrada"
    );
    dash.type_text(&mut b, "#login-email", ADMIN_EMAIL).await;
    dash.type_text(&mut b, "#login-password", ADMIN_PASSWORD)
        .await;
    dash.click(&mut b, "#login-submit").await;
    dash.wait_for(
        &mut b,
        "the inbox with the conversation",
        "document.querySelectorAll('#conv-list .conv-item').length === 1",
    )
    .await;
    dash.assert_no_console_errors(&mut b, "signing in in Spanish")
        .await;

    // The inbox.
    assert_eq!(
        text(&dash, &mut b, "#nav-inbox .nav-label").await,
        "Bandeja de entrada"
    );
    assert_eq!(text(&dash, &mut b, ".list-title").await, "Conversaciones");
    assert_eq!(
        text(&dash, &mut b, "button[data-filter=all]").await,
        "Todas"
    );
    assert!(text(&dash, &mut b, "button[data-filter=waiting]")
        .await
        .starts_with("Sin responder"));
    assert_eq!(
        dash.eval(&mut b, "document.querySelector('#search').placeholder")
            .await,
        json!("Buscar nombre, teléfono o mensaje")
    );
    assert_eq!(
        text(&dash, &mut b, "#language option:checked").await,
        "Español"
    );
    no_english_left(
        &dash,
        &mut b,
        ".topbar, .list-head, #conv-list",
        &[
            "Inbox",
            "Needs reply",
            "Conversations",
            "Unread",
            "Mine",
            "Unassigned",
            "Snoozed",
            "Archived",
            "Select",
            "Online",
            "Waiting",
            "Closed",
        ],
    )
    .await;

    // An open conversation and its composer.
    dash.click(&mut b, "#conv-list .conv-item").await;
    dash.wait_for(
        &mut b,
        "the conversation open",
        "!document.querySelector('#thread-view').hidden && document.querySelectorAll('#thread .msg').length > 0",
    )
    .await;
    assert_eq!(
        text(&dash, &mut b, "#composer-send .send-label").await,
        "Enviar"
    );
    assert_eq!(text(&dash, &mut b, "#composer-note").await, "Nota");
    assert_eq!(
        text(&dash, &mut b, ".status-switch [data-status=human]").await,
        "Humano"
    );
    let placeholder = dash
        .eval(
            &mut b,
            "document.querySelector('#composer-input').placeholder",
        )
        .await;
    assert!(
        placeholder
            .as_str()
            .is_some_and(|p| p.starts_with("Responder a ")),
        "{placeholder}"
    );
    assert_eq!(
        text(&dash, &mut b, ".composer-hint").await,
        "Intro para enviar · Mayús+Intro para una línea nueva"
    );
    no_english_left(
        &dash,
        &mut b,
        ".thread-head, #composer, #contact-panel .contact-card, #contact-tabs, #tab-contact h3",
        &[
            "Send",
            "Note",
            "Take over",
            "Enter to send",
            "Reply to",
            "Phone",
            "Email",
            "Channel",
            "Started",
            "Files",
            "Activity",
            "Profile",
            "Tags",
            "Lead stage",
            "Follow-up",
            "Memories",
            "Closed",
        ],
    )
    .await;
    dash.screenshot(&mut b, &screenshot("dashboard-es.png"))
        .await;

    // The keyboard help sheet.
    dash.eval(&mut b, "document.activeElement.blur(); true")
        .await;
    dash.press_key(&mut b, "?").await;
    dash.wait_for(
        &mut b,
        "the shortcuts",
        "document.querySelector('#keys-dialog').open",
    )
    .await;
    assert_eq!(
        text(&dash, &mut b, "#keys-title").await,
        "Atajos de teclado"
    );
    let rows: Value = dash
        .eval(
            &mut b,
            "[...document.querySelectorAll('#keys-list dd')].map((d) => d.textContent)",
        )
        .await;
    assert!(
        rows.as_array()
            .is_some_and(|r| r.contains(&json!("Conversación siguiente (la abre)"))
                && r.contains(&json!("Asignármela"))),
        "{rows}"
    );
    no_english_left(
        &dash,
        &mut b,
        "#keys-dialog",
        &[
            "Keyboard shortcuts",
            "Next conversation",
            "Assign to me",
            "Search",
            "Close",
        ],
    )
    .await;
    dash.press_key(&mut b, "Escape").await;

    // The Reports page.
    dash.click(&mut b, "#nav-reports").await;
    dash.wait_for(
        &mut b,
        "the Reports page with its figures",
        "!document.querySelector('#reports-page').hidden && document.querySelectorAll('#rp-cards .report-card').length === 8",
    )
    .await;
    assert_eq!(text(&dash, &mut b, "#reports-page h1").await, "Informes");
    assert_eq!(
        text(&dash, &mut b, "[data-figure=opened] .report-card-label").await,
        "Abiertas"
    );
    assert_eq!(
        text(
            &dash,
            &mut b,
            "[data-figure=handoff-rate] .report-card-label"
        )
        .await,
        "Tasa de traspaso"
    );
    assert_eq!(text(&dash, &mut b, "#rp-csv").await, "Descargar CSV");
    no_english_left(
        &dash,
        &mut b,
        "#reports-page",
        &[
            "Reports",
            "Last 7 days",
            "Opened",
            "Resolved",
            "First response",
            "Handoff rate",
            "Per agent",
            "Per inbox",
            "Download CSV",
            "conversations created",
            "All agents",
        ],
    )
    .await;

    // The Knowledge page (nothing asked yet: its empty states speak Spanish too).
    dash.click(&mut b, "#nav-knowledge").await;
    dash.wait_for(
        &mut b,
        "the Knowledge page with its figures",
        "!document.querySelector('#knowledge-page').hidden && document.querySelectorAll('#kb-cards .report-card').length === 4",
    )
    .await;
    assert_eq!(
        text(&dash, &mut b, "#knowledge-page h1").await,
        "Base de conocimiento"
    );
    assert_eq!(
        text(&dash, &mut b, "[data-figure=unanswered] .report-card-label").await,
        "Sin respuesta"
    );
    no_english_left(
        &dash,
        &mut b,
        "#knowledge-page, #nav-knowledge",
        &[
            "Knowledge",
            "Answered",
            "Could not answer",
            "Marked wrong",
            "Questions the assistant",
            "Times asked",
            "Closest entry",
            "Every question",
            "No answer was marked",
            "Last 7 days",
        ],
    )
    .await;
    dash.assert_no_console_errors(&mut b, "using the dashboard in Spanish")
        .await;

    // Back to English from the Language menu: the page reloads in English, though the browser
    // still prefers Spanish.
    dash.eval(
        &mut b,
        "setTimeout(() => { const s = document.querySelector('#language'); s.value = 'en'; \
         s.dispatchEvent(new Event('change')); }, 0); true",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    dash.wait_for(
        &mut b,
        "the dashboard reloaded in English",
        "document.documentElement.lang === 'en' && document.querySelector('.list-title').textContent === 'Conversations' \
         && !document.querySelector('#app-view').hidden",
    )
    .await;
    assert_eq!(text(&dash, &mut b, "button[data-filter=all]").await, "All");
    assert_eq!(
        dash.eval(&mut b, "localStorage.getItem('switchboard.lang')")
            .await,
        json!("en")
    );
}
