//! Notifications in a real browser. The agent turns on browser notifications and sound in the
//! bell's panel (stored with their account); with the tab in the background a handoff and a
//! customer message in their conversation each raise a notification and a sound, while the
//! conversation open in the tab in front raises neither. The browser's `Notification` and the
//! tab's focus are stood in for (headless Chromium shows no notifications and has no focus to
//! lose); the sound is counted where it starts, at the oscillators.

use serde_json::{json, Value};

use crate::{
    browser::{admin_dashboard, ONE_BROWSER},
    cdp::{browser_available, Browser},
    helpers::{Backend, TestApp},
};

/// Records notifications and sounds; `window.__front` says whether the tab is in front.
const STAND_INS: &str = r#"
window.__notes = []; window.__sounds = 0; window.__front = false;
window.Notification = class { constructor(title, opts) { window.__notes.push({ title, body: opts?.body || '' }); } close() {} };
window.Notification.permission = 'granted';
window.Notification.requestPermission = async () => 'granted';
document.hasFocus = () => window.__front;
const osc = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () { window.__sounds += 1; return osc.call(this); };
true
"#;

#[actix_rt::test]
async fn notifications_and_sound_respect_the_tabs_focus() {
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.login().await;
    let mut b = Browser::launch().await;
    let dash = admin_dashboard(&mut b, &app.base).await;
    dash.eval(&mut b, STAND_INS).await;

    // Turn both on in the bell's panel.
    dash.click(&mut b, "#bell").await;
    dash.wait_for(&mut b, "the panel with the setting", "!document.querySelector('#bell-panel').hidden && !document.querySelector('#notify-desktop').checked").await;
    dash.click(&mut b, "#notify-desktop").await;
    dash.wait_for(
        &mut b,
        "desktop stored",
        "document.querySelector('#notify-desktop').checked",
    )
    .await;
    dash.click(&mut b, "#notify-sound").await;
    let stored = crate::helpers::eventually(
        "both stored",
        std::time::Duration::from_secs(10),
        || async {
            let (_, me) = app.get(&token, "/api/auth/me").await;
            (me["agent"]["notifications"] == json!({"desktop": true, "sound": true})).then_some(me)
        },
    )
    .await;
    assert_eq!(stored["agent"]["notifications"]["sound"], true);
    dash.wait_for(&mut b, "the sample sound", "window.__sounds >= 2")
        .await;
    dash.click(&mut b, "#bell").await;
    let sounds = |v: Value| v.as_i64().expect("a count");
    let before = sounds(dash.eval(&mut b, "window.__sounds").await);

    // In the background: a handoff rings and shows.
    let id = app
        .customer_writes("n-1", "notify-1", "talk to a human")
        .await;
    dash.wait_for(
        &mut b,
        "a notification for the handoff",
        "window.__notes.length === 1 && window.__notes[0].title.endsWith('wants to talk to a person')",
    )
    .await;
    assert!(sounds(dash.eval(&mut b, "window.__sounds").await) > before);

    // Mine now: the customer's next message rings and shows, with their words.
    let (s, _) = app
        .post(&token, &format!("/api/conversations/{id}/take"), &json!({}))
        .await;
    assert_eq!(s, 200);
    dash.wait_for(
        &mut b,
        "assigned to me in the list",
        &format!("document.querySelector('#conv-list .conv-item[data-id=\"{id}\"]') !== null"),
    )
    .await;
    app.customer_writes("n-2", "notify-1", "my order never came")
        .await;
    dash.wait_for(
        &mut b,
        "a notification for the message",
        "window.__notes.length === 2 && window.__notes[1].body === 'my order never came'",
    )
    .await;

    // In front, looking at that conversation: nothing rings, nothing shows.
    dash.eval(
        &mut b,
        &format!("window.__front = true; location.hash = '#/c/{id}'; true"),
    )
    .await;
    dash.wait_for(
        &mut b,
        "the conversation open",
        "!document.querySelector('#thread-view').hidden",
    )
    .await;
    let quiet = sounds(dash.eval(&mut b, "window.__sounds").await);
    app.customer_writes("n-3", "notify-1", "hello?").await;
    dash.wait_for(
        &mut b,
        "the message in the thread",
        "document.querySelector('#thread').textContent.includes('hello?')",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(dash.eval(&mut b, "window.__notes.length").await, json!(2));
    assert_eq!(sounds(dash.eval(&mut b, "window.__sounds").await), quiet);
    dash.assert_no_console_errors(&mut b, "notifications").await;
}
