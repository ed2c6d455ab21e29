//! Assistant transparency in a real browser: the line under an answer names its knowledge
//! entry and confidence; an agent marks it wrong with a reason (the line and the thread say
//! so, the server stored it) and takes the mark back; the Knowledge page lists the questions
//! the assistant could not answer, most asked first, and the answer marked wrong. Takes the
//! README's screenshot `docs/screenshots/knowledge.png`.

use serde_json::{json, Value};

use crate::{
    browser::{admin_dashboard, q, screenshot, ONE_BROWSER},
    cdp::{browser_available, Browser},
    helpers::{eventually, Backend, TestApp},
};

async fn assistant_answer(app: &TestApp, token: &str, id: &str) -> Value {
    eventually(
        "the assistant answers",
        std::time::Duration::from_secs(10),
        || async {
            app.messages(token, id)
                .await
                .into_iter()
                .find(|m| m["author"] == "assistant")
        },
    )
    .await
}

#[actix_rt::test]
async fn an_agent_sees_what_an_answer_rests_on_marks_it_wrong_and_reads_the_knowledge_page() {
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.login().await;
    for (contact, text) in [
        ("kbb-1", "Do you sell purple unicorn saddles?"),
        ("kbb-2", "purple unicorn saddles, do you sell them?"),
        ("kbb-3", "Is the zeppelin hangar open?"),
    ] {
        let id = app.customer_writes(contact, contact, text).await;
        assistant_answer(&app, &token, &id).await;
    }
    let id = app
        .customer_writes("kbb-4", "kbb-4", "Can I return an item?")
        .await;
    let answer = assistant_answer(&app, &token, &id).await;
    let percent = (answer["payload"]["confidence"]
        .as_f64()
        .expect("confidence")
        * 100.0)
        .round();

    let mut b = Browser::launch().await;
    let dash = admin_dashboard(&mut b, &app.base).await;
    dash.eval(
        &mut b,
        &format!("location.hash = {}", q(&format!("#/c/{id}"))),
    )
    .await;
    let line = dash
        .wait_for(
            &mut b,
            "the line under the answer",
            "document.querySelector('#thread-view .answer-basis .answer-source')?.textContent",
        )
        .await;
    assert_eq!(
        line,
        json!(format!(
            "From the knowledge base: “Can I return an item?” · {percent}% sure"
        ))
    );

    // Marked wrong with a reason, from the keyboard: the form takes the letters (they are not
    // shortcuts), Enter sends.
    dash.click(&mut b, "#thread-view .answer-mark").await;
    dash.wait_for(
        &mut b,
        "the reason field focused",
        "document.activeElement?.closest('.answer-mark-form') !== null",
    )
    .await;
    dash.type_text(&mut b, ".answer-mark-form input", "Returns are 14 days now")
        .await;
    dash.press_enter(&mut b).await;
    let marked = dash
        .wait_for(
            &mut b,
            "the answer marked and the note in the thread",
            "(() => { const m = document.querySelector('#thread-view .answer-basis .answer-marked'); \
              const n = document.querySelector('#thread-view .msg-system[data-event=answer_marked_wrong]'); \
              return m && n && [m.textContent, n.querySelector('.msg-text').textContent]; })()",
        )
        .await;
    assert_eq!(
        marked,
        json!([
            "Marked wrong by you: Returns are 14 days now",
            "You marked the assistant's answer wrong: Returns are 14 days now"
        ])
    );
    let note = app
        .messages(&token, &id)
        .await
        .into_iter()
        .find(|m| m["payload"]["event"] == "answer_marked_wrong")
        .expect("the note is stored");
    assert_eq!(note["payload"]["reason"], "Returns are 14 days now");

    // The Knowledge page: the question asked twice first, then the other; the wrong answer.
    dash.click(&mut b, "#nav-knowledge").await;
    let questions = dash
        .wait_for(
            &mut b,
            "the unanswered questions",
            "(() => { const rows = [...document.querySelectorAll('#kb-questions tr')]; \
              return rows.length === 2 && document.querySelector('#kb-loading').hidden \
                && rows.map((r) => [...r.children].slice(0, 2).map((c) => c.textContent)); })()",
        )
        .await;
    assert_eq!(
        questions,
        json!([
            ["purple unicorn saddles, do you sell them?", "2"],
            ["Is the zeppelin hangar open?", "1"],
        ])
    );
    let cards = dash
        .eval(
            &mut b,
            "Object.fromEntries([...document.querySelectorAll('#kb-cards .report-card')].map((c) => \
             [c.dataset.figure, c.querySelector('.report-card-value').textContent]))",
        )
        .await;
    assert_eq!(
        cards,
        json!({"answered": "1", "unanswered": "3", "unanswered_share": "75%", "marked_wrong": "1"})
    );
    let wrong = dash
        .eval(
            &mut b,
            "[...document.querySelectorAll('#kb-wrong tr')].map((r) => [...r.children].map((c) => c.textContent))",
        )
        .await;
    assert_eq!(wrong[0][0], "Can I return an item?", "{wrong}");
    assert_eq!(wrong[0][1], "1", "{wrong}");
    assert!(
        wrong[0][2]
            .as_str()
            .is_some_and(|t| t.starts_with("Can I return an item? — Returns are 14 days now")),
        "{wrong}"
    );
    dash.screenshot(&mut b, &screenshot("knowledge.png")).await;

    // Back in the conversation, Undo takes the mark back.
    dash.eval(
        &mut b,
        &format!("location.hash = {}", q(&format!("#/c/{id}"))),
    )
    .await;
    dash.wait_for(
        &mut b,
        "the marked answer",
        "!!document.querySelector('#thread-view .answer-basis .answer-marked')",
    )
    .await;
    dash.eval(
        &mut b,
        "[...document.querySelectorAll('#thread-view .answer-basis button')].find((x) => x.textContent === 'Undo').click(); true",
    )
    .await;
    dash.wait_for(
        &mut b,
        "the mark gone and the button back",
        "!document.querySelector('#thread-view .answer-basis .answer-marked') \
         && !!document.querySelector('#thread-view .answer-basis .answer-mark') \
         && !!document.querySelector('#thread-view .msg-system[data-event=answer_mark_cleared]')",
    )
    .await;
    dash.assert_no_console_errors(&mut b, "answers").await;
}
