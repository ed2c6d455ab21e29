//! Assistant transparency: each answer says what it rested on (the knowledge entry or the
//! model, with a confidence); agents mark answers wrong (a note in the thread, the review's
//! accuracy drops, the mark can be taken back); the knowledge-base report lists the
//! questions the assistant could not answer, most frequent first, and the wrong answers.

use std::time::Duration;

use serde_json::{json, Value};
use switchboard::{config::Settings, domain::types::Role};

use crate::{
    assistants::{completion, sales_assistant},
    both_backends,
    helpers::{eventually, Backend, FakeProvider, Reply, TestApp},
};

const WAIT: Duration = Duration::from_secs(15);

fn quick_reviews(s: &mut Settings) {
    s.review.after_secs = 1;
}

/// The assistant's message of the conversation (the first one).
async fn assistant_message(app: &TestApp, token: &str, id: &str) -> Value {
    eventually("the assistant answers", WAIT, || async {
        app.messages(token, id)
            .await
            .into_iter()
            .find(|m| m["author"] == "assistant")
    })
    .await
}

/// The review's accuracy criterion and score, once reviewed after `after` (a `reviewed_at`).
async fn review_after(app: &TestApp, token: &str, id: &str, after: Option<&str>) -> Value {
    eventually("the conversation is reviewed", WAIT, || async {
        let c = app.conversation(token, id).await;
        let at = c["reviewed_at"].as_str()?;
        (after != Some(at)).then_some(c)
    })
    .await
}

fn accuracy(c: &Value) -> (i64, String) {
    let criterion = c["quality_rubric"]
        .as_array()
        .and_then(|r| r.iter().find(|x| x["name"] == "accuracy"))
        .cloned()
        .unwrap_or_else(|| panic!("no accuracy criterion: {c}"));
    (
        criterion["score"].as_i64().unwrap_or(-1),
        criterion["note"].as_str().unwrap_or_default().to_owned(),
    )
}

fn wrong_path(id: &str, message: &str) -> String {
    format!("/api/conversations/{id}/messages/{message}/wrong")
}

/// A knowledge-base answer names its entry and confidence; marking it wrong writes a note,
/// lowers the review's accuracy by 8 (and the score with it), and taking the mark back
/// restores both. Double marks, other messages and bad input are refused and change nothing.
async fn an_answer_names_its_entry_and_a_wrong_mark_costs_the_review(b: Backend) {
    let app = TestApp::spawn_with(b, quick_reviews).await;
    let token = app.login().await;
    let id = app
        .customer_writes("ans-1", "answers-1", "Can I return an item?")
        .await;
    let answer = assistant_message(&app, &token, &id).await;
    let p = &answer["payload"];
    assert_eq!(p["outcome"], "answered", "{answer}");
    assert_eq!(p["answered_by"], "knowledge_base", "{answer}");
    assert_eq!(p["entry"]["id"], "returns", "{answer}");
    assert_eq!(p["entry"]["question"], "Can I return an item?", "{answer}");
    let confidence = p["confidence"].as_f64().expect("a confidence");
    assert!(confidence > 0.5 && confidence <= 1.0, "{answer}");
    let message = answer["id"].as_str().expect("id").to_owned();

    let first = review_after(&app, &token, &id, None).await;
    let (before, _) = accuracy(&first);
    assert_eq!(before, 15, "{first}");
    let score = first["quality_score"].as_i64().expect("score");

    // Refused, and nothing written: too long a reason, a customer's message, another
    // conversation's id, an unknown message, no token.
    for bad in ["not json", "{\"reason\": 5}", "{\"why\": \"x\"}", ""] {
        let resp = app
            .client
            .post(format!("{}{}", app.base, wrong_path(&id, &message)))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(bad)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status().as_u16(), 400, "{bad:?}");
    }
    let (s, body) = app
        .post(
            &token,
            &wrong_path(&id, &message),
            &json!({"reason": "x".repeat(501)}),
        )
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (422, Some("validation_failed")),
        "{body}"
    );
    let customer = app
        .messages(&token, &id)
        .await
        .into_iter()
        .find(|m| m["author"] == "customer")
        .expect("the customer's message");
    let customer_id = customer["id"].as_str().expect("id");
    let (s, body) = app
        .post(&token, &wrong_path(&id, customer_id), &json!({}))
        .await;
    assert_eq!(s, 404, "{body}");
    let other = app
        .customer_writes("ans-2", "answers-2", "How long does shipping take?")
        .await;
    let (s, body) = app
        .post(&token, &wrong_path(&other, &message), &json!({}))
        .await;
    assert_eq!(s, 404, "another conversation's answer: {body}");
    let (s, _) = app
        .post(&token, &wrong_path(&id, "not-a-message"), &json!({}))
        .await;
    assert_eq!(s, 404);
    let anonymous = app
        .client
        .post(format!("{}{}", app.base, wrong_path(&id, &message)))
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status().as_u16(), 401);
    let notes = |ms: &[Value]| {
        ms.iter()
            .filter(|m| {
                m["payload"]["event"]
                    .as_str()
                    .is_some_and(|e| e.starts_with("answer_mark"))
            })
            .count()
    };
    assert_eq!(notes(&app.messages(&token, &id).await), 0);

    // Marked: the note names the answer and the reason; a second mark is a 409.
    let (s, body) = app
        .post(
            &token,
            &wrong_path(&id, &message),
            &json!({"reason": "  Returns are 14 days now "}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body,
        json!({"message_id": message, "wrong": true, "reason": "Returns are 14 days now"})
    );
    let note = app
        .messages(&token, &id)
        .await
        .into_iter()
        .find(|m| m["payload"]["event"] == "answer_marked_wrong")
        .expect("a note");
    assert_eq!(note["payload"]["message_id"], message.as_str(), "{note}");
    assert_eq!(
        note["payload"]["reason"], "Returns are 14 days now",
        "{note}"
    );
    assert!(
        note["text"].as_str().is_some_and(
            |t| t.contains("marked the assistant's answer wrong: Returns are 14 days now")
        ),
        "{note}"
    );
    let (s, body) = app
        .post(&token, &wrong_path(&id, &message), &json!({}))
        .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (409, Some("answer_already_marked")),
        "{body}"
    );
    assert_eq!(
        notes(&app.messages(&token, &id).await),
        1,
        "a refused mark writes nothing"
    );

    // The review is due again and costs the answer 8 accuracy points.
    let marked = review_after(&app, &token, &id, first["reviewed_at"].as_str()).await;
    let (after, note) = accuracy(&marked);
    assert_eq!(after, 7, "{marked}");
    assert!(
        note.contains("marked one of the assistant's answers wrong"),
        "{note}"
    );
    assert_eq!(
        marked["quality_score"].as_i64(),
        Some(score - 8),
        "{marked}"
    );

    // Taken back: accuracy restored; taking it back again is a 409.
    let (s, body) = app.delete(&token, &wrong_path(&id, &message)).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["wrong"], false);
    let (s, body) = app.delete(&token, &wrong_path(&id, &message)).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (409, Some("answer_not_marked")),
        "{body}"
    );
    let cleared = review_after(&app, &token, &id, marked["reviewed_at"].as_str()).await;
    assert_eq!(accuracy(&cleared).0, 15, "{cleared}");
    assert_eq!(cleared["quality_score"].as_i64(), Some(score), "{cleared}");
    assert_eq!(notes(&app.messages(&token, &id).await), 2);
}

/// The report: the same question in other words counts once, most frequent first, with its
/// latest wording, conversations and closest entry; the wrong answers per entry with the
/// reason; the period and the inbox filter; a restricted agent counts only what they see.
async fn the_knowledge_report_puts_the_most_asked_unanswered_question_first(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        s.access.visibility = switchboard::config::Visibility::AssignedAndUnassigned;
    })
    .await;
    let token = app.login().await;
    let asked = [
        ("kb-1", "Do you sell purple unicorn saddles?"),
        ("kb-2", "do you sell PURPLE unicorn saddles??"),
        ("kb-3", "Purple unicorn saddles: do you sell them"),
        ("kb-4", "Is the zeppelin hangar open?"),
    ];
    let mut ids = Vec::new();
    for (contact, text) in asked {
        let id = app.customer_writes(contact, contact, text).await;
        let answer = assistant_message(&app, &token, &id).await;
        assert_eq!(answer["payload"]["outcome"], "no_match", "{text}: {answer}");
        ids.push(id);
    }
    let answered = app
        .customer_writes("kb-5", "kb-5", "Can I return an item?")
        .await;
    let answer = assistant_message(&app, &token, &answered).await;
    let message = answer["id"].as_str().expect("id");
    let (s, body) = app
        .post(
            &token,
            &wrong_path(&answered, message),
            &json!({"reason": "14 days now"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");

    let (s, r) = app.get(&token, "/api/reports/knowledge-base").await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["answered"], 1, "{r}");
    assert_eq!(r["unanswered"], 4, "{r}");
    assert_eq!(r["marked_wrong"], 1, "{r}");
    assert_eq!(r["truncated"], false, "{r}");
    let questions = r["questions"].as_array().expect("questions");
    assert_eq!(questions.len(), 2, "{r}");
    assert_eq!(questions[0]["count"], 3, "{r}");
    assert_eq!(
        questions[0]["question"], "Purple unicorn saddles: do you sell them",
        "the latest wording: {r}"
    );
    let mut conversations: Vec<&str> = questions[0]["conversations"]
        .as_array()
        .expect("conversations")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    conversations.sort_unstable();
    let mut expected: Vec<&str> = ids[..3].iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(conversations, expected);
    assert_eq!(questions[1]["question"], "Is the zeppelin hangar open?");
    assert_eq!(questions[1]["count"], 1);
    let wrong = r["wrong"].as_array().expect("wrong");
    assert_eq!(wrong.len(), 1, "{r}");
    assert_eq!(wrong[0]["entry"]["id"], "returns");
    assert_eq!(wrong[0]["count"], 1);
    assert_eq!(wrong[0]["examples"][0]["reason"], "14 days now");
    assert_eq!(wrong[0]["examples"][0]["question"], "Can I return an item?");
    assert_eq!(
        wrong[0]["examples"][0]["conversation_id"],
        answered.as_str()
    );

    // A restricted agent does not count a conversation assigned to someone else.
    let (admin_id, _) = app.agent("kb-admin@test.local", Role::Admin).await;
    let (s, body) = app
        .post(
            &token,
            &format!("/api/conversations/{}/assign", ids[0]),
            &json!({"agent_id": admin_id}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (_, alice) = app.agent("kb-alice@test.local", Role::Agent).await;
    let (s, mine) = app.get(&alice, "/api/reports/knowledge-base").await;
    assert_eq!(s, 200, "{mine}");
    assert_eq!(mine["unanswered"], 3, "{mine}");
    assert_eq!(mine["questions"][0]["count"], 2, "{mine}");

    // Filters: an inbox with no answers, a period before any, and bad input.
    let (s, none) = app
        .get(
            &token,
            "/api/reports/knowledge-base?from=2020-01-01&to=2020-01-31",
        )
        .await;
    assert_eq!(s, 200, "{none}");
    assert_eq!(
        (none["answered"].as_u64(), none["unanswered"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(none["questions"], json!([]));
    for (query, status) in [
        ("?inbox=nowhere", 422),
        ("?from=2026-02-01&to=2026-01-01", 422),
        ("?from=yesterday", 400),
        ("?colour=red", 400),
    ] {
        let (s, body) = app
            .get(&token, &format!("/api/reports/knowledge-base{query}"))
            .await;
        assert_eq!(s, status, "{query}: {body}");
    }
}

/// A model's answer names the model, the entry it says it used (only one it was shown) and
/// its own confidence; the prompt shows each entry's id.
async fn a_models_answer_names_the_model_its_entry_and_its_confidence(b: Backend) {
    let model = FakeProvider::start().await;
    model.on("GET", "/v1/models", Reply::json(200, json!({"data": []})));
    let assistants = sales_assistant(&model.url, "");
    let app = TestApp::spawn_with(b, move |s| s.assistants.list = assistants).await;
    let token = app.login().await;
    let chat = "/v1/chat/completions";
    model.script(
        "POST",
        chat,
        [
            completion(json!({
                "reply": "Yes, within 30 days.", "handoff": false, "handoff_reason": null,
                "lead_stage": null, "memories": [], "source": "returns", "confidence": 0.8,
            })),
            completion(json!({
                "reply": "We ship to the moon.", "handoff": false, "handoff_reason": null,
                "lead_stage": null, "memories": [], "source": "moon-shipping", "confidence": 2000,
            })),
        ],
    );
    let id = app
        .customer_writes("llm-1", "llm-ans-1", "Can I return an item?")
        .await;
    let answer = assistant_message(&app, &token, &id).await;
    let p = &answer["payload"];
    assert_eq!(p["answered_by"], "model", "{answer}");
    assert_eq!(p["model"], "stand-in-model", "{answer}");
    assert_eq!(p["entry"]["id"], "returns", "{answer}");
    assert_eq!(p["confidence"], 0.8, "{answer}");
    let prompt = model.calls_to("POST", chat)[0].json();
    let knowledge = prompt["messages"][1]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(
        knowledge.contains("- [returns] Q: Can I return an item?"),
        "{knowledge}"
    );

    let other = app
        .customer_writes("llm-2", "llm-ans-2", "Do you ship internationally?")
        .await;
    let answer = assistant_message(&app, &token, &other).await;
    let p = &answer["payload"];
    assert_eq!(p["answered_by"], "model", "{answer}");
    assert!(
        p.get("entry").is_none(),
        "an entry it was not shown: {answer}"
    );
    assert!(p.get("confidence").is_none(), "not a share: {answer}");
}

both_backends!(
    an_answer_names_its_entry_and_a_wrong_mark_costs_the_review,
    the_knowledge_report_puts_the_most_asked_unanswered_question_first,
    a_models_answer_names_the_model_its_entry_and_its_confidence,
);
