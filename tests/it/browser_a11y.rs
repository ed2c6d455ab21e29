//! Accessibility: axe-core (the pinned npm package `.ci/run` installs; `AXE_CORE_JS` names
//! another copy) run on the inbox with a conversation open finds no serious or critical
//! violation.

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::{
    browser::{admin_dashboard, ONE_BROWSER},
    cdp::{browser_available, Browser},
    helpers::{Backend, TestApp},
};

/// Where `.ci/run` installs axe-core (`npm install --prefix /opt/axe-core axe-core@4.10.3`).
const AXE_DEFAULT: &str = "/opt/axe-core/node_modules/axe-core/axe.min.js";

pub(crate) fn axe_source() -> String {
    let path =
        std::env::var("AXE_CORE_JS").map_or_else(|_| PathBuf::from(AXE_DEFAULT), PathBuf::from);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is required for the accessibility test ({}: {e}): \
             npm install --prefix /opt/axe-core axe-core@4.10.3 (.ci/run does), or set AXE_CORE_JS",
            path.display()
        )
    })
}

/// Serious and critical violations on the page as it is, with the first few elements each.
pub(crate) const RUN_AXE: &str = "axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations \
    .filter((v) => v.impact === 'serious' || v.impact === 'critical') \
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, \
                   nodes: v.nodes.slice(0, 12).map((n) => n.target.join(' ') + ' :: ' + n.failureSummary) })))";

#[actix_rt::test]
async fn the_inbox_has_no_serious_accessibility_violation() {
    if !browser_available() {
        return;
    }
    let source = axe_source();
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app
        .customer_writes("a-1", "a11y-1", "talk to a human")
        .await;
    app.customer_writes("a-2", "a11y-2", "what are your opening hours?")
        .await;
    let mut b = Browser::launch().await;
    let dash = admin_dashboard(&mut b, &app.base).await;
    let item = format!("#conv-list .conv-item[data-id={}]", json!(id));
    dash.click(&mut b, &item).await;
    dash.wait_for(
        &mut b,
        "the thread and the contact panel",
        "document.querySelectorAll('#thread .msg-customer').length >= 1",
    )
    .await;
    dash.eval(&mut b, &format!("{source}\n;0")).await;
    let found: Value = dash.eval(&mut b, RUN_AXE).await;
    assert_eq!(
        found,
        json!([]),
        "serious or critical accessibility violations:\n{}",
        serde_json::to_string_pretty(&found).unwrap_or_default()
    );
}
