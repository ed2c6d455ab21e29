//! Agent management in a real browser: an admin adds an agent on the Agents page and sees the
//! generated password once (it logs in), then deactivates another agent, whose open websocket
//! closes and whose token stops working at once; every agent renames themselves under Your
//! account. Both pages pass axe-core without a serious violation.

use std::time::Duration;

use serde_json::{json, Value};

use crate::{
    browser::{admin_dashboard, q, screenshot, ONE_BROWSER},
    browser_a11y::{axe_source, RUN_AXE},
    cdp::{browser_available, Browser, Page},
    helpers::{login, Backend, TestApp, WsClient},
};

use switchboard::domain::types::Role;

const AT_ONCE: Duration = Duration::from_secs(2);

async fn no_serious_violation(dash: &Page, b: &mut Browser, page: &str) {
    dash.eval(b, &format!("{}\n;0", axe_source())).await;
    let found: Value = dash.eval(b, RUN_AXE).await;
    assert_eq!(
        found,
        json!([]),
        "{page}: serious or critical accessibility violations:\n{}",
        serde_json::to_string_pretty(&found).unwrap_or_default()
    );
}

async fn admins_manage_agents_in_the_dashboard(backend: Backend) {
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn(backend).await;
    let (sam_id, sam) = app.agent("sam@test.local", Role::Agent).await;
    let mut sam_ws = WsClient::connect(&app.base, &sam, None).await;
    sam_ws
        .next_json(Duration::from_secs(5))
        .await
        .expect("hello");
    let mut b = Browser::launch().await;
    let dash = admin_dashboard(&mut b, &app.base).await;

    // The page, from the nav item only admins have.
    dash.click(&mut b, "#nav-agents").await;
    dash.wait_for(
        &mut b,
        "the Agents page with both agents",
        "!document.querySelector('#agents-page').hidden && document.querySelector('#inbox-panes').hidden && document.querySelectorAll('#agents-list tr').length === 2",
    )
    .await;
    // Below the list, the servers: this one runs alone (no table of nodes).
    dash.wait_for(
        &mut b,
        "the servers, single-node mode",
        "document.querySelector('#cluster-summary').textContent.includes('single-node mode') && document.querySelector('#cluster-table').hidden",
    )
    .await;

    // Add one: the name is markup, shown as text; the password is shown once.
    dash.type_text(&mut b, "#agent-name", "<b>Nia</b> New")
        .await;
    dash.type_text(&mut b, "#agent-email", "nia@test.local")
        .await;
    dash.eval(
        &mut b,
        "(() => { const s = document.querySelector('#agent-role'); s.value = 'supervisor'; s.dispatchEvent(new Event('change')); return 0; })()",
    )
    .await;
    dash.click(&mut b, "#agent-add").await;
    let password = dash
        .wait_for(
            &mut b,
            "the password shown",
            "!document.querySelector('#agent-password-box').hidden && document.querySelector('#agent-password').value",
        )
        .await;
    let password = password.as_str().expect("the password").to_owned();
    dash.wait_for(
        &mut b,
        "the new agent listed",
        "document.querySelectorAll('#agents-list tr').length === 3",
    )
    .await;
    let row = dash
        .eval(
            &mut b,
            "(() => { const r = [...document.querySelectorAll('#agents-list tr')].find((r) => r.textContent.includes('nia@test.local')); return [r.querySelector('bdi').textContent, r.querySelector('select').value, document.querySelectorAll('#agents-list b').length, document.querySelector('#agent-password-for').textContent]; })()",
        )
        .await;
    assert_eq!(
        row,
        json!([
            "<b>Nia</b> New",
            "supervisor",
            0,
            "Password for <b>Nia</b> New"
        ]),
        "names are text, never elements"
    );
    let nia = login(&app.client, &app.base, "nia@test.local", &password).await;
    let (s, me) = app.get(&nia, "/api/auth/me").await;
    assert_eq!((s, &me["agent"]["role"]), (200, &json!("supervisor")));
    no_serious_violation(&dash, &mut b, "the Agents page").await;
    dash.screenshot(&mut b, &screenshot("agents.png")).await;
    // Done forgets it: it cannot be shown again.
    dash.click(&mut b, "#agent-password-done").await;
    assert_eq!(
        dash.eval(
            &mut b,
            "[document.querySelector('#agent-password-box').hidden, document.querySelector('#agent-password').value]"
        )
        .await,
        json!([true, ""])
    );

    // Deactivate Sam: confirmed, and their socket and token end at once.
    let deactivate = format!(
        "#agents-list tr[data-id={}] [data-action=deactivate]",
        q(&sam_id)
    );
    dash.click(&mut b, &deactivate).await;
    dash.wait_for(
        &mut b,
        "the confirmation",
        "document.querySelector('#confirm-dialog').open",
    )
    .await;
    dash.click(&mut b, "#confirm-ok").await;
    assert_eq!(
        sam_ws.closed(AT_ONCE).await,
        Some((1008, "account deactivated".to_owned()))
    );
    let (s, _) = app.get(&sam, "/api/conversations").await;
    assert_eq!(s, 401);
    let status = format!(
        "document.querySelector('#agents-list tr[data-id={}] .agent-status').textContent === 'Deactivated' && !!document.querySelector('#agents-list tr[data-id={}] [data-action=reactivate]')",
        q(&sam_id),
        q(&sam_id)
    );
    dash.wait_for(&mut b, "Sam deactivated", &status).await;

    // Your account: my name, from the top bar.
    dash.click(&mut b, "#account-link").await;
    dash.wait_for(
        &mut b,
        "Your account",
        "!document.querySelector('#account-page').hidden && document.querySelector('#agents-page').hidden",
    )
    .await;
    no_serious_violation(&dash, &mut b, "Your account").await;
    dash.screenshot(&mut b, &screenshot("account.png")).await;
    dash.eval(
        &mut b,
        "(() => { document.querySelector('#account-name').value = ''; return 0; })()",
    )
    .await;
    dash.type_text(&mut b, "#account-name", "Ada Admin").await;
    dash.click(&mut b, "#account-name-save").await;
    dash.wait_for(
        &mut b,
        "the new name in the top bar",
        "document.querySelector('#me-name').textContent === 'Ada Admin'",
    )
    .await;
    dash.assert_no_console_errors(&mut b, "managing agents")
        .await;
}

#[actix_rt::test]
async fn admins_manage_agents_in_the_dashboard_on_sqlite() {
    admins_manage_agents_in_the_dashboard(Backend::Sqlite).await;
}
