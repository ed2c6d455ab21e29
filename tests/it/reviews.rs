//! The AI review: every conversation is reviewed `[review] after_secs` after its latest
//! message (one second here) by the offline reviewer, or by the conversation's language model
//! (a stand-in OpenAI-compatible server) with the offline review as the fallback; the result
//! is stored on the conversation, pushed live, filterable and sortable.

use std::time::Duration;

use serde_json::{json, Value};
use switchboard::config::Settings;

use crate::{
    assistants::{completion, sales_assistant},
    both_backends,
    helpers::{eventually, Backend, FakeProvider, Reply, TestApp, WsClient},
};

const WAIT: Duration = Duration::from_secs(15);
const CHAT: &str = "/v1/chat/completions";

fn quick_reviews(s: &mut Settings) {
    s.review.after_secs = 1;
}

async fn reviewed(app: &TestApp, token: &str, id: &str, after: Option<&str>) -> Value {
    eventually("the conversation is reviewed", WAIT, || async {
        let c = app.conversation(token, id).await;
        let at = c["reviewed_at"].as_str()?;
        (after != Some(at)).then_some(c)
    })
    .await
}

/// Reviewed about a second after the latest message, with a summary, a score and its rubric,
/// pushed live; reviewed again after a new message; the review never held up the answer.
async fn a_conversation_is_reviewed_after_its_last_message_and_again_after_a_new_one(b: Backend) {
    let app = TestApp::spawn_with(b, quick_reviews).await;
    let token = app.login().await;
    let mut ws = WsClient::connect(&app.base, &token, None).await;
    let id = app
        .customer_writes("r-1", "rev-1", "Hi! How much does the premium plan cost?")
        .await;
    let first = reviewed(&app, &token, &id, None).await;
    assert_eq!(first["reviewed_by"], "offline");
    let score = first["quality_score"].as_i64().expect("a score");
    assert!((0..=100).contains(&score), "{first}");
    let rubric = first["quality_rubric"].as_array().expect("a rubric");
    assert_eq!(rubric.len(), 6, "{first}");
    let sum: i64 = rubric
        .iter()
        .map(|c| c["score"].as_i64().unwrap_or(-1))
        .sum();
    assert!(
        sum >= score,
        "the score is the rubric's sum (capped): {first}"
    );
    for c in rubric {
        assert!(c["score"].as_i64() <= c["weight"].as_i64(), "{c}");
        assert!(c["note"].as_str().is_some_and(|n| !n.is_empty()), "{c}");
    }
    let summary = first["summary"].as_str().expect("a summary");
    assert!(summary.starts_with("Asked:"), "{summary}");
    assert!(summary.contains("premium plan"), "{summary}");
    // Pushed to the dashboard as it happened.
    ws.until("the review pushed live", WAIT, |v| {
        v["type"] == "conversation.updated"
            && v["conversation_id"] == id.as_str()
            && !v["conversation"]["reviewed_at"].is_null()
    })
    .await;
    // The list carries it too.
    let (s, page) = app.get(&token, "/api/conversations?reviewed=true").await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["items"][0]["summary"], first["summary"]);

    let first_at = first["reviewed_at"].as_str().expect("time").to_owned();
    app.customer_writes("r-2", "rev-1", "And can I pay for a year with a card?")
        .await;
    let second = reviewed(&app, &token, &id, Some(&first_at)).await;
    assert!(
        second["summary"].as_str().is_some_and(|s| s != summary),
        "the new message changes the review: {second}"
    );
}

/// `reviewed=false` lists those not reviewed yet; `sort=score_asc|score_desc` orders the
/// reviewed ones by score, paging with the cursor; bad values are 400s.
async fn the_list_filters_and_sorts_by_review(b: Backend) {
    let app = TestApp::spawn_with(b, quick_reviews).await;
    let token = app.login().await;
    let mut ids = Vec::new();
    for (n, text) in [
        "Hello, what are your opening hours?",
        "I want to talk to a person about my broken order, this is unacceptable",
        "Thanks!",
    ]
    .iter()
    .enumerate()
    {
        ids.push(
            app.customer_writes(&format!("s-{n}"), &format!("sort-{n}"), text)
                .await,
        );
    }
    for id in &ids {
        reviewed(&app, &token, id, None).await;
    }
    let pending = app
        .customer_writes("s-new", "sort-new", "Is anyone there?")
        .await;
    let (s, page) = app.get(&token, "/api/conversations?reviewed=false").await;
    assert_eq!(s, 200, "{page}");
    let unreviewed: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(unreviewed, [pending.as_str()], "{page}");

    let scores = |page: &Value| -> Vec<i64> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|c| c["quality_score"].as_i64().expect("reviewed only"))
            .collect()
    };
    let (_, asc) = app
        .get(&token, "/api/conversations?sort=score_asc&reviewed=true")
        .await;
    let asc = scores(&asc);
    assert_eq!(asc.len(), 3);
    assert!(asc.windows(2).all(|w| w[0] <= w[1]), "{asc:?}");
    // Two per page, in order, the cursor continuing where the page stopped.
    let (_, p1) = app
        .get(
            &token,
            "/api/conversations?sort=score_desc&reviewed=true&limit=2",
        )
        .await;
    let cursor = p1["next_cursor"].as_str().expect("a next page").to_owned();
    let (_, p2) = app
        .get(
            &token,
            &format!("/api/conversations?sort=score_desc&reviewed=true&limit=2&cursor={cursor}"),
        )
        .await;
    let desc: Vec<i64> = scores(&p1).into_iter().chain(scores(&p2)).collect();
    let mut expected = asc.clone();
    expected.reverse();
    assert_eq!(desc, expected);
    for bad in ["sort=score", "reviewed=maybe"] {
        let (s, body) = app.get(&token, &format!("/api/conversations?{bad}")).await;
        assert_eq!(s, 400, "{bad}: {body}");
    }
}

/// A person's lead stage stays; the review's suggestion is shown beside it. Without one set,
/// the suggestion is taken.
async fn the_reviews_lead_stage_never_overwrites_a_persons(b: Backend) {
    let app = TestApp::spawn_with(b, quick_reviews).await;
    let token = app.login().await;
    let buying = "I want to buy three bikes, how do I pay?";
    let chosen = app.customer_writes("l-1", "lead-1", "Hello").await;
    let (s, body) = app
        .post(
            &token,
            &format!("/api/conversations/{chosen}/lead-stage"),
            &json!({"lead_stage": "contacted"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    app.customer_writes("l-2", "lead-1", buying).await;
    let free = app.customer_writes("l-3", "lead-2", buying).await;

    let c = eventually("the review suggests a stage", WAIT, || async {
        let c = app.conversation(&token, &chosen).await;
        (!c["suggested_lead_stage"].is_null()).then_some(c)
    })
    .await;
    assert_eq!(c["suggested_lead_stage"], "opportunity", "{c}");
    assert_eq!(c["lead_stage"], "contacted", "a person's choice stays: {c}");
    let c = eventually("the suggestion is taken", WAIT, || async {
        let c = app.conversation(&token, &free).await;
        (!c["lead_stage"].is_null()).then_some(c)
    })
    .await;
    assert_eq!(c["lead_stage"], "opportunity", "{c}");
}

/// The dashboard learns `[review] hide_unreviewed` and the delay, and the first-response
/// target, from `/api/auth/me`.
async fn the_dashboard_is_told_the_review_settings(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        s.review.after_secs = 42;
        s.review.hide_unreviewed = true;
        s.conversations.first_response_target_secs = 90;
    })
    .await;
    let token = app.login().await;
    let (s, me) = app.get(&token, "/api/auth/me").await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(
        me["dashboard"],
        json!({"hide_unreviewed": true, "review_after_secs": 42, "first_response_target_secs": 90})
    );
}

// ---------------------------------------------------------------------------------------
// The language model reviews

/// The app whose inbox's assistant is the stand-in model, with quick reviews.
async fn with_model(b: Backend) -> (TestApp, FakeProvider, String) {
    let model = FakeProvider::start().await;
    model.on("GET", "/v1/models", Reply::json(200, json!({"data": []})));
    let assistants = sales_assistant(&model.url, "");
    let app = TestApp::spawn_with(b, move |s| {
        s.assistants.list = assistants;
        quick_reviews(s);
    })
    .await;
    let token = app.login().await;
    (app, model, token)
}

fn model_review() -> Value {
    json!({
        "summary": "Asked: a refund for order 55.\nOutcome: an agent promised it today.",
        "rubric": [
            {"name": "responsiveness", "score": 20, "note": "A person answered within minutes."},
            {"name": "resolution", "score": 15, "note": "Promised, not yet done."},
            {"name": "accuracy", "score": 15, "note": "Nothing wrong was said."},
            {"name": "empathy", "score": 10, "note": "Polite."},
            {"name": "greeting_closing", "score": 5, "note": "A greeting only."},
            {"name": "clarity", "score": 10, "note": "Short and clear."},
        ],
        "lead_stage": null,
    })
}

/// A conversation handed to a person (so the model never answered it) and answered by an
/// agent: the model is asked only for the review.
async fn handed_off_and_answered(app: &TestApp, token: &str, n: &str) -> String {
    let id = app
        .customer_writes(
            &format!("m-{n}"),
            &format!("model-{n}"),
            "I want to talk to a person about a refund for order 55",
        )
        .await;
    let (s, body) = app
        .post(
            token,
            &format!("/api/conversations/{id}/messages"),
            &json!({"text": "Hello! I will process the refund for order 55 today."}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    id
}

/// The model's review is stored and says who made it; asked once, in strict JSON; an
/// unchanged conversation (a private note changes nothing the review reads) is not
/// reviewed again.
async fn the_model_reviews_and_an_unchanged_conversation_is_not_reviewed_twice(b: Backend) {
    let (app, model, token) = with_model(b).await;
    model.on("POST", CHAT, completion(model_review()));
    let id = handed_off_and_answered(&app, &token, "1").await;
    let c = reviewed(&app, &token, &id, None).await;
    assert_eq!(c["reviewed_by"], "sales", "{c}");
    assert_eq!(c["quality_score"], 75, "{c}");
    assert_eq!(c["summary"], model_review()["summary"]);
    assert_eq!(c["quality_rubric"][1]["note"], "Promised, not yet done.");
    let calls = model.calls_to("POST", CHAT);
    assert_eq!(calls.len(), 1, "one call for one review");
    let body = calls[0].json();
    assert_eq!(
        body["response_format"]["json_schema"]["name"],
        "conversation_review"
    );
    assert_eq!(body["response_format"]["json_schema"]["strict"], true);
    let transcript = body["messages"][2]["content"].as_str().expect("transcript");
    assert!(transcript.contains("refund for order 55"), "{transcript}");
    assert!(
        transcript.contains("agent] Hello! I will process"),
        "{transcript}"
    );
    // The tokens count for the conversation.
    let (_, usage) = app
        .get(&token, &format!("/api/conversations/{id}/usage"))
        .await;
    assert_eq!(usage["tokens"]["requests"], 1, "{usage}");

    let (s, body) = app
        .post(
            &token,
            &format!("/api/conversations/{id}/messages"),
            &json!({"text": "remember to check the bank details", "private": true}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(model.calls_to("POST", CHAT).len(), 1, "not reviewed twice");
    let again = app.conversation(&token, &id).await;
    assert_eq!(again["reviewed_at"], c["reviewed_at"]);
}

/// A model that fails (a 500, then an answer off the schema) leaves the offline review,
/// which says it is the offline one.
async fn a_failing_model_falls_back_to_the_offline_review(b: Backend) {
    let (app, model, token) = with_model(b).await;
    model.script(
        "POST",
        CHAT,
        [Reply::json(500, json!({"error": {"message": "boom"}}))],
    );
    let mut off_schema = model_review();
    off_schema["rubric"][0]["score"] = json!(99);
    model.on("POST", CHAT, completion(off_schema));
    for n in ["a", "b"] {
        let id = handed_off_and_answered(&app, &token, n).await;
        let c = reviewed(&app, &token, &id, None).await;
        assert_eq!(c["reviewed_by"], "offline", "{c}");
        assert!(
            c["summary"]
                .as_str()
                .is_some_and(|s| s.starts_with("Asked:")),
            "{c}"
        );
        assert_ne!(c["summary"], model_review()["summary"]);
    }
    assert_eq!(model.calls_to("POST", CHAT).len(), 2);
}

both_backends!(
    a_conversation_is_reviewed_after_its_last_message_and_again_after_a_new_one,
    the_list_filters_and_sorts_by_review,
    the_reviews_lead_stage_never_overwrites_a_persons,
    the_dashboard_is_told_the_review_settings,
    the_model_reviews_and_an_unchanged_conversation_is_not_reviewed_twice,
    a_failing_model_falls_back_to_the_offline_review,
);
