//! The AI review and the AI follow-up in a real browser: with `[review] hide_unreviewed` a
//! new conversation appears in the list only once reviewed; the contact panel shows the
//! summary (customer text as text) and the score with its breakdown, the thread header and
//! the list row the score; the follow-up banner says when the AI follows up, and Cancel calls
//! it off. The README's screenshot of the review comes from here.

use std::{path::PathBuf, time::Duration};

use serde_json::json;
use switchboard::config::AutoFollowUps;

use crate::{
    browser::{dashboard_of, q, ONE_BROWSER},
    cdp::{browser_available, Browser},
    helpers::{eventually, Backend, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD},
};

async fn the_review_and_the_follow_up_in_the_dashboard(backend: Backend) {
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn_with(backend, |s| {
        s.review.after_secs = 3;
        s.review.hide_unreviewed = true;
        s.inboxes[0].follow_ups = AutoFollowUps {
            enabled: true,
            max: 2,
            template: None,
            after_secs: 23 * 3600,
        };
    })
    .await;
    let token = app.login().await;
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

    // A customer asks for a person, with markup in their words; an agent asks them something.
    let id = app
        .customer_writes(
            "b-1",
            "browser-1",
            "I want to talk to a person about a refund for order <b>55</b>",
        )
        .await;
    let (s, body) = app
        .post(
            &token,
            &format!("/api/conversations/{id}/messages"),
            &json!({"text": "Hello! Could you send me the photo of the damaged box?"}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let item = format!(".conv-item[data-id={}]", q(&id));
    // Not listed until reviewed (hide_unreviewed)…
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        dash.eval(&mut b, &format!("!!document.querySelector({})", q(&item)))
            .await,
        json!(false),
        "an unreviewed conversation is hidden"
    );
    // …then it appears by itself, with its score.
    dash.wait_for(
        &mut b,
        "the reviewed conversation in the list",
        &format!(
            "document.querySelector({})?.querySelector('.score-chip')",
            q(&item)
        ),
    )
    .await;
    let c = eventually(
        "reviewed with a follow-up",
        Duration::from_secs(15),
        || async {
            let c = app.conversation(&token, &id).await;
            (c["follow_up"]["source"] == "ai").then_some(c)
        },
    )
    .await;
    let score = c["quality_score"].as_i64().expect("score").to_string();

    dash.click(&mut b, &item).await;
    dash.click(&mut b, "#contact-toggle").await;
    dash.wait_for(
        &mut b,
        "the score in the contact panel",
        &format!(
            "document.querySelector('#review-body .score-chip')?.textContent === {}",
            q(&score)
        ),
    )
    .await;
    let summary = dash.text_of(&mut b, "#review-body .review-summary").await;
    assert!(summary.starts_with("Asked:"), "{summary}");
    assert!(
        summary.contains("<b>55</b>"),
        "customer text shown as text: {summary}"
    );
    assert_eq!(
        dash.eval(&mut b, "document.querySelectorAll('#review-body b').length")
            .await,
        json!(0),
        "customer text must never become elements"
    );
    // Three lines, kept as lines.
    let lines = dash
        .eval(
            &mut b,
            "document.querySelector('#review-body .review-summary').getClientRects().length && document.querySelector('#review-body .review-summary').innerText.split('\\n').length",
        )
        .await;
    assert!(lines.as_i64().unwrap_or(0) >= 2, "{lines}");
    dash.eval(
        &mut b,
        "document.querySelector('#review-body details').open = true",
    )
    .await;
    assert_eq!(
        dash.eval(
            &mut b,
            "document.querySelectorAll('#review-body .review-rubric li').length"
        )
        .await,
        json!(6)
    );
    assert_eq!(
        dash.text_of(&mut b, "#thread-score").await,
        format!("{score}/100")
    );

    // The follow-up banner, then Cancel.
    dash.wait_for(
        &mut b,
        "the follow-up banner",
        "!document.querySelector('#followup-banner').hidden && document.querySelector('#followup-banner-text').textContent.startsWith('AI follow-up in 23 hours')",
    )
    .await;
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join("screenshots");
    dash.screenshot(&mut b, &shots.join("review.png")).await;
    dash.click(&mut b, "#followup-banner-cancel").await;
    dash.wait_for(
        &mut b,
        "the banner gone",
        "document.querySelector('#followup-banner').hidden",
    )
    .await;
    assert!(app.conversation(&token, &id).await["follow_up"].is_null());
    dash.assert_no_console_errors(&mut b, "the review and the follow-up")
        .await;
}

#[actix_rt::test]
async fn the_review_and_the_follow_up_in_the_dashboard_on_sqlite() {
    the_review_and_the_follow_up_in_the_dashboard(Backend::Sqlite).await;
}
