//! The Reports page in a real browser, over the conversations `reports.rs` seeds (its module
//! doc works out every figure): the cards show them formatted, the chart has one bar group
//! per day, the per-agent table lists the agents, and the CSV downloads. Takes the README's
//! screenshot `docs/screenshots/reports.png`.

use serde_json::json;

use crate::{
    browser::{dashboard_of, screenshot, ONE_BROWSER},
    cdp::{browser_available, Browser},
    helpers::{Backend, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD},
    reports::seed,
};

async fn the_reports_page_shows_the_seeded_figures(backend: Backend) {
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn(backend).await;
    let s = seed(&app).await;
    let mut b = Browser::launch().await;
    let dash = dashboard_of(
        &mut b,
        &app.base,
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
        (1366, 1000),
        "UTC",
    )
    .await;

    dash.click(&mut b, "#nav-reports").await;
    dash.wait_for(
        &mut b,
        "the Reports page with the default period's report",
        "!document.querySelector('#reports-page').hidden && document.querySelector('#inbox-panes').hidden \
         && document.querySelectorAll('#rp-chart .report-day').length === 30",
    )
    .await;
    dash.eval(
        &mut b,
        "document.querySelector('#rp-from').value = '2026-11-02'; \
         document.querySelector('#rp-to').value = '2026-11-05'; true",
    )
    .await;
    dash.click(&mut b, "#rp-form button[type=submit]").await;
    dash.wait_for(
        &mut b,
        "the seeded period's report",
        "document.querySelectorAll('#rp-chart .report-day').length === 4 \
         && document.querySelector('#rp-loading').hidden",
    )
    .await;

    let cards = dash
        .eval(
            &mut b,
            "Object.fromEntries([...document.querySelectorAll('#rp-cards .report-card')].map((c) => \
             [c.dataset.figure, c.querySelector('.report-card-value').textContent + ' | ' \
              + c.querySelector('.report-card-detail').textContent]))",
        )
        .await;
    assert_eq!(
        cards,
        json!({
            "opened": "7 | conversations created",
            "resolved": "6 | resolutions",
            "first-response-median": "5 min | over 4 conversations",
            "first-response-p90": "20 min | over 4 conversations",
            "resolution-median": "40 min | over 6 resolutions",
            "resolution-p90": "5 d | over 6 resolutions",
            "handoff-rate": "71.4% | 5 of 7",
            "assistant-resolution-rate": "50% | 3 of 6",
        })
    );

    // One bar group per day, each titled; the chart is an image with a summary.
    let chart = dash
        .eval(
            &mut b,
            "(() => { const svg = document.querySelector('#rp-chart svg'); return { \
               role: svg.getAttribute('role'), label: svg.getAttribute('aria-label'), \
               days: [...svg.querySelectorAll('.report-day')].map((g) => g.dataset.date), \
               titles: [...svg.querySelectorAll('.report-day title')].map((t) => t.textContent), \
               rows: document.querySelectorAll('#rp-chart table tbody tr').length }; })()",
        )
        .await;
    assert_eq!(chart["role"], "img");
    assert_eq!(
        chart["label"],
        "Conversations per day from 2026-11-02 to 2026-11-05: 7 opened, 6 resolved."
    );
    assert_eq!(
        chart["days"],
        json!(["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"])
    );
    assert_eq!(chart["titles"][1], "2026-11-03: 2 opened, 2 resolved");
    assert_eq!(chart["rows"], 4);

    let agents = dash
        .eval(
            &mut b,
            "[...document.querySelectorAll('#rp-agents tr')].map((r) => [r.dataset.agent, \
             ...[...r.children].map((c) => c.textContent)])",
        )
        .await;
    assert_eq!(
        agents,
        json!([
            [s.alice, "alice@test.local", "3", "3", "5 min", "20 min"],
            [s.bob, "bob@test.local", "2", "0", "10 min", "10 min"],
        ])
    );
    let inboxes = dash
        .eval(
            &mut b,
            "[...document.querySelectorAll('#rp-inboxes tr')].map((r) => [...r.children].map((c) => c.textContent))",
        )
        .await;
    assert_eq!(
        inboxes,
        json!([
            ["support", "5", "4", "80% (4 of 5)"],
            ["Website", "2", "2", "50% (1 of 2)"],
        ])
    );
    dash.screenshot(&mut b, &screenshot("reports.png")).await;

    // Filtered by agent: the cards follow.
    dash.eval(
        &mut b,
        &format!(
            "document.querySelector('#rp-agent').value = {}; true",
            json!(s.alice)
        ),
    )
    .await;
    dash.click(&mut b, "#rp-form button[type=submit]").await;
    dash.wait_for(
        &mut b,
        "alice's report",
        "document.querySelector('[data-figure=opened] .report-card-value').textContent === '3' \
         && document.querySelector('[data-figure=resolution-median] .report-card-value').textContent === '1 d' \
         && document.querySelectorAll('#rp-agents tr').length === 1",
    )
    .await;

    // The CSV: fetched with the token and saved from a blob (the click must not fail).
    dash.eval(
        &mut b,
        "window.__saved = null; URL.__create = URL.createObjectURL; \
         URL.createObjectURL = (blob) => { blob.text().then((t) => { window.__saved = t; }); return URL.__create(blob); }; true",
    )
    .await;
    dash.click(&mut b, "#rp-csv").await;
    let csv = dash
        .wait_for(
            &mut b,
            "the CSV saved",
            "window.__saved && window.__saved.split('\\r\\n')[5]",
        )
        .await;
    assert_eq!(csv, "total,3,3,300,1200,3,86400,432000,3,1.0000,0,0.0000");
    assert!(
        dash.eval(&mut b, "document.querySelector('#rp-error').hidden")
            .await
            == json!(true)
    );
    dash.assert_no_console_errors(&mut b, "reports").await;
}

#[actix_rt::test]
async fn the_reports_page_shows_the_seeded_figures_on_sqlite() {
    the_reports_page_shows_the_seeded_figures(Backend::Sqlite).await;
}
