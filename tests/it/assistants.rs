//! Assistants backed by a language model: the real server asks a stand-in OpenAI-compatible
//! server (it records every request and plays scripted answers, rate limits, errors,
//! slowness and broken JSON), and the customer always gets an answer or a person.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use switchboard::{config::Settings, domain::types::Role};

use crate::{
    both_backends,
    helpers::{authors, eventually, Backend, Call, FakeProvider, Reply, TestApp},
    widget,
};

const WAIT: Duration = Duration::from_secs(15);
const CHAT: &str = "/v1/chat/completions";

/// The stand-in model server and the app whose first (default) assistant asks it.
struct Llm {
    app: TestApp,
    model: FakeProvider,
    token: String,
}

/// Settings of an `llm` assistant `sales` pointed at `url`, with `extra` keys set or
/// replacing the defaults below; then a knowledge-base assistant `faq`.
pub(crate) fn sales_assistant(
    url: &str,
    extra: &str,
) -> Vec<switchboard::config::AssistantSettings> {
    let defaults = [
        ("timeout_secs", "2".to_owned()),
        ("debounce_ms", "0".to_owned()),
        ("api_key", "\"sk-test-key\"".to_owned()),
        ("instructions", "\"You sell bikes for Acme.\"".to_owned()),
        ("model", "\"stand-in-model\"".to_owned()),
        ("base_url", format!("\"{url}/v1\"")),
    ];
    let mut text = "[[assistant]]\nid = \"sales\"\nname = \"Sales\"\nkind = \"llm\"\n".to_owned();
    for (key, value) in defaults {
        if !extra.lines().any(|l| l.starts_with(&format!("{key} "))) {
            text.push_str(&format!("{key} = {value}\n"));
        }
    }
    text.push_str(&format!(
        "{extra}\n[[assistant]]\nid = \"faq\"\nname = \"FAQ\"\n"
    ));
    Settings::from_toml(&text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
        .assistants
        .list
}

async fn with_llm(b: Backend, extra: &str) -> Llm {
    with_llm_and(b, extra, |_| {}).await
}

async fn with_llm_and(b: Backend, extra: &str, customize: impl FnOnce(&mut Settings)) -> Llm {
    let model = FakeProvider::start().await;
    model.on("GET", "/v1/models", Reply::json(200, json!({"data": []})));
    let assistants = sales_assistant(&model.url, extra);
    let app = TestApp::spawn_with(b, move |s| {
        s.assistants.list = assistants;
        customize(s);
    })
    .await;
    let token = app.login().await;
    Llm { app, model, token }
}

/// A Chat Completions answer whose content is `content` (a JSON object as the model wrote
/// it), reporting 120 prompt and 30 completion tokens.
pub(crate) fn completion(content: Value) -> Reply {
    completion_text(&content.to_string())
}

fn completion_text(content: &str) -> Reply {
    Reply::json(
        200,
        json!({
            "id": "chatcmpl-{seq}",
            "object": "chat.completion",
            "model": "stand-in-model",
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": content },
                "finish_reason": "stop",
            }],
            "usage": { "prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150 },
        }),
    )
}

fn says(reply: &str) -> Reply {
    completion(json!({
        "reply": reply, "handoff": false, "handoff_reason": null,
        "lead_stage": "info_only", "memories": [],
    }))
}

fn error(status: u16, code: &str) -> Reply {
    Reply::json(
        status,
        json!({"error": {"message": "stand-in error", "type": code, "param": null, "code": code}}),
    )
}

impl Llm {
    async fn messages(&self, id: &str) -> Vec<Value> {
        let (s, body) = self
            .app
            .get(&self.token, &format!("/api/conversations/{id}/messages"))
            .await;
        assert_eq!(s, 200, "{body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }

    async fn conversation(&self, id: &str) -> Value {
        let (s, body) = self
            .app
            .get(&self.token, &format!("/api/conversations/{id}"))
            .await;
        assert_eq!(s, 200, "{body}");
        body
    }

    /// Waits until the thread's authors (system events left out) are `expected`.
    async fn until_authors(&self, id: &str, expected: &[&str]) -> Vec<Value> {
        eventually(&format!("authors {expected:?}"), WAIT, || async {
            let msgs = self.messages(id).await;
            let said: Vec<Value> = msgs
                .iter()
                .filter(|m| m["author"] != "system")
                .cloned()
                .collect();
            (authors(&said) == expected).then_some(msgs)
        })
        .await
    }

    fn chat_calls(&self) -> Vec<Call> {
        self.model.calls_to("POST", CHAT)
    }

    /// The texts the customer was sent through the API inbox's callback.
    fn sent_texts(&self) -> Vec<String> {
        self.app
            .callbacks
            .accepted()
            .iter()
            .map(|c| c.json()["text"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

fn system_texts(msgs: &[Value]) -> Vec<String> {
    msgs.iter()
        .filter(|m| m["author"] == "system")
        .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn a_model_answer_reaches_the_customer_with_what_it_was_told(b: Backend) {
    let llm = with_llm(b, "").await;
    llm.model
        .on("POST", CHAT, says("We open at 9 on weekdays."));
    let id = llm
        .app
        .customer_writes("m1", "c1", "What are your opening hours?")
        .await;
    let msgs = llm.until_authors(&id, &["customer", "assistant"]).await;
    let answer = msgs.iter().find(|m| m["author"] == "assistant").cloned();
    assert_eq!(
        answer.map(|m| m["payload"].clone()),
        Some(json!({
            "assistant": "sales", "answered_by": "model", "outcome": "answered",
            "model": "stand-in-model",
        }))
    );
    let sent = eventually("the reply sent", WAIT, || async {
        let sent = llm.sent_texts();
        (!sent.is_empty()).then_some(sent)
    })
    .await;
    assert_eq!(sent, ["We open at 9 on weekdays."]);

    // The request: the key, the model, the instructions, the knowledge found, the message.
    let calls = llm.chat_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].header("authorization"), Some("Bearer sk-test-key"));
    let body = calls[0].json();
    assert_eq!(body["model"], "stand-in-model");
    assert_eq!(body["response_format"]["type"], "json_schema");
    let messages = body["messages"].as_array().expect("messages");
    assert!(messages[0]["content"]
        .as_str()
        .unwrap_or_default()
        .contains("Acme"));
    let context = messages[1]["content"].as_str().unwrap_or_default();
    assert!(
        context.contains("Monday"),
        "the opening-hours entry: {context}"
    );
    assert_eq!(
        messages.last().expect("last")["content"],
        "What are your opening hours?"
    );

    // Recorded: which assistant answered, the lead stage it judged, the tokens.
    let c = llm.conversation(&id).await;
    assert_eq!(c["assistant_id"], "sales");
    assert_eq!(c["lead_stage"], "info_only");
    let (_, usage) = llm
        .app
        .get(&llm.token, &format!("/api/conversations/{id}/usage"))
        .await;
    assert_eq!(
        usage["tokens"],
        json!({"requests": 1, "prompt_tokens": 120, "completion_tokens": 30})
    );
    let (_, assistants) = llm.app.get(&llm.token, "/api/assistants").await;
    let sales = &assistants["items"][0];
    assert_eq!(
        (sales["id"].clone(), sales["kind"].clone()),
        (json!("sales"), json!("llm"))
    );
    assert_eq!(sales["today"]["prompt_tokens"], 120);
    assert_eq!(sales["health"]["reachable"], true);
    assert_eq!(assistants["items"][1]["kind"], "knowledge_base");

    // The list filters by assistant.
    let (_, mine) = llm
        .app
        .get(&llm.token, "/api/conversations?assistant=sales")
        .await;
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(1));
    let (_, other) = llm
        .app
        .get(&llm.token, "/api/conversations?assistant=faq")
        .await;
    assert_eq!(other["items"], json!([]));
    let (s, bad) = llm
        .app
        .get(&llm.token, "/api/conversations?assistant=a%20b")
        .await;
    assert_eq!(s, 422, "{bad}");
}

async fn the_history_goes_with_each_request(b: Backend) {
    let llm = with_llm(b, "").await;
    llm.model.script(
        "POST",
        CHAT,
        [says("Hi Ana! How can I help?"), says("Sure, size 42.")],
    );
    let id = llm.app.customer_writes("m1", "c1", "Hello, I am Ana").await;
    llm.until_authors(&id, &["customer", "assistant"]).await;
    llm.app
        .customer_writes("m2", "c1", "Do you have size 42?")
        .await;
    llm.until_authors(&id, &["customer", "assistant", "customer", "assistant"])
        .await;
    let second = llm.chat_calls()[1].json();
    let turns: Vec<(String, String)> = second["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .skip(2)
        .map(|m| {
            (
                m["role"].as_str().unwrap_or_default().to_owned(),
                m["content"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("user", "Hello, I am Ana"),
        ("assistant", "Hi Ana! How can I help?"),
        ("user", "Do you have size 42?"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(r, c)| ((*r).to_owned(), (*c).to_owned()))
        .collect();
    assert_eq!(turns, expected);
}

/// What is remembered about the customer goes into every request, and what the model learns
/// is kept with the rest (the offline rules learn too).
async fn memories_go_into_the_prompt_and_what_the_model_learns_is_kept(b: Backend) {
    let llm = with_llm(b, "").await;
    let learned = completion(json!({
        "reply": "Nice to meet you, Ana!", "handoff": false, "handoff_reason": null,
        "lead_stage": null,
        "memories": [{"kind": "preference", "text": "Prefers electric bikes", "slot": null},
                     {"kind": "mood", "text": "dropped: not a kind", "slot": null}],
    }));
    llm.model.script("POST", CHAT, [learned, says("Sure.")]);
    let id = llm
        .app
        .customer_writes("m1", "c1", "Hi, my name is Ana. I love electric bikes")
        .await;
    llm.until_authors(&id, &["customer", "assistant"]).await;
    let contact = llm.conversation(&id).await["contact"]["id"]
        .as_str()
        .expect("contact id")
        .to_owned();
    let memories = eventually("both memories", WAIT, || async {
        let (_, body) = llm
            .app
            .get(&llm.token, &format!("/api/contacts/{contact}/memories"))
            .await;
        let items = body["items"].as_array().cloned().unwrap_or_default();
        let texts: Vec<String> = items
            .iter()
            .map(|m| {
                format!(
                    "{}: {}",
                    m["kind"].as_str().unwrap_or(""),
                    m["text"].as_str().unwrap_or("")
                )
            })
            .collect();
        let has = |t: &str| texts.iter().any(|x| x == t);
        (has("preference: Prefers electric bikes") && has("fact: Name: Ana")).then_some(texts)
    })
    .await;
    assert!(
        !memories.iter().any(|m| m.contains("dropped")),
        "{memories:?}"
    );
    llm.app
        .customer_writes("m2", "c1", "Do you rent them?")
        .await;
    llm.until_authors(&id, &["customer", "assistant", "customer", "assistant"])
        .await;
    let context = llm.chat_calls()[1].json()["messages"][1]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(context.contains("(fact) Name: Ana"), "{context}");
    assert!(
        context.contains("(preference) Prefers electric bikes"),
        "{context}"
    );
}

async fn a_model_handoff_hands_over_and_the_assistant_falls_silent(b: Backend) {
    let llm = with_llm(b, "").await;
    llm.model.on(
        "POST",
        CHAT,
        completion(json!({
            "reply": "I'll get a colleague to sort out your refund.", "handoff": true,
            "handoff_reason": "refund request", "lead_stage": null, "memories": [],
        })),
    );
    let id = llm
        .app
        .customer_writes("m1", "c1", "I want my money back")
        .await;
    let msgs = llm.until_authors(&id, &["customer", "assistant"]).await;
    assert!(
        system_texts(&msgs)
            .iter()
            .any(|t| t.contains("by the assistant: refund request")),
        "{msgs:?}"
    );
    let c = llm.conversation(&id).await;
    assert_eq!(
        (c["status"].clone(), c["needs_reply"].clone()),
        (json!("human"), json!(true))
    );
    // The customer writes again: a person has it, the model is not asked.
    llm.app.customer_writes("m2", "c1", "hello?").await;
    llm.until_authors(&id, &["customer", "assistant", "customer"])
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(llm.chat_calls().len(), 1);
}

async fn a_takeover_during_a_slow_answer_wins(b: Backend) {
    let llm = with_llm(b, "timeout_secs = 5").await;
    llm.model.on(
        "POST",
        CHAT,
        says("Too late, a person has it").after(Duration::from_millis(3000)),
    );
    let id = llm
        .app
        .customer_writes("m1", "c1", "Can you help me?")
        .await;
    eventually("the model is asked", WAIT, || async {
        (!llm.chat_calls().is_empty()).then_some(())
    })
    .await;
    let (s, body) = llm
        .app
        .post(
            &llm.token,
            &format!("/api/conversations/{id}/status"),
            &json!({"status": "human"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let msgs = llm.messages(&id).await;
    assert!(
        !authors(&msgs).contains(&"assistant".to_owned()),
        "{msgs:?}"
    );
    assert!(llm.sent_texts().is_empty());
}

/// Every way the model can fail ends in the knowledge base's answer (when it has a confident
/// one) or a person: never silence, never the model's raw output.
async fn every_failure_ends_in_an_answer_or_a_person(b: Backend) {
    let broken = completion_text("{\"reply\": \"half an answ");
    let raw_json = completion(json!({"reply": "{\"reply\": \"x\"}", "handoff": false}));
    let cut = Reply::json(
        200,
        json!({"choices": [{"message": {"role": "assistant", "content": "{\"reply\": \"We"},
                           "finish_reason": "length"}],
               "usage": {"prompt_tokens": 100, "completion_tokens": 512}}),
    );
    let cases: Vec<(&str, Vec<Reply>, usize)> = vec![
        ("500 three times", vec![error(500, "server_error"); 3], 3),
        (
            "malformed JSON",
            vec![broken.clone(), broken.clone(), broken],
            3,
        ),
        (
            "JSON in the reply",
            vec![raw_json.clone(), raw_json.clone(), raw_json],
            3,
        ),
        ("cut off", vec![cut.clone(), cut.clone(), cut], 3),
        ("quota gone", vec![error(429, "insufficient_quota")], 1),
        ("bad key", vec![error(401, "invalid_api_key")], 1),
        (
            "too slow",
            vec![says("late").after(Duration::from_millis(2600)); 3],
            3,
        ),
    ];
    // One server for every case (a server per case would hold too many database connections):
    // each case's script is played to a new customer, one at a time.
    let llm = with_llm(b, "max_retries = 2").await;
    llm.model.on("POST", CHAT, says("never used"));
    for (n, (what, script, calls)) in cases.into_iter().enumerate() {
        // The knowledge base knows opening hours: it answers instead.
        let before = llm.chat_calls().len();
        llm.model.script("POST", CHAT, script.clone());
        let id = llm
            .app
            .customer_writes(
                &format!("k{n}"),
                &format!("kb{n}"),
                "What are your opening hours?",
            )
            .await;
        let msgs = llm.until_authors(&id, &["customer", "assistant"]).await;
        let answer = msgs[1..]
            .iter()
            .find(|m| m["author"] == "assistant")
            .cloned()
            .unwrap_or_default();
        let text = answer["text"].as_str().unwrap_or_default();
        assert!(text.contains("Monday"), "{what}: {text}");
        let p = &answer["payload"];
        assert_eq!(
            (
                &p["assistant"],
                &p["answered_by"],
                &p["outcome"],
                &p["entry"]["id"]
            ),
            (
                &json!("sales"),
                &json!("knowledge_base_fallback"),
                &json!("answered"),
                &json!("opening-hours")
            ),
            "{what}: {p}"
        );
        assert!(
            p["confidence"].as_f64().is_some_and(|c| c > 0.0),
            "{what}: {p}"
        );
        assert_eq!(llm.chat_calls().len() - before, calls, "{what}");

        // It knows nothing about penguins: a person answers.
        let before = llm.chat_calls().len();
        llm.model.script("POST", CHAT, script);
        let id = llm
            .app
            .customer_writes(
                &format!("p{n}"),
                &format!("person{n}"),
                "Tell me a joke about penguins",
            )
            .await;
        let c = eventually(&format!("{what}: a person has it"), WAIT, || async {
            let c = llm.conversation(&id).await;
            (c["status"] == "human").then_some(c)
        })
        .await;
        assert_eq!(c["needs_reply"], true, "{what}");
        let msgs = llm.messages(&id).await;
        assert!(
            system_texts(&msgs)
                .iter()
                .any(|t| t.contains("the assistant could not answer")),
            "{what}: {msgs:?}"
        );
        assert!(!authors(&msgs).contains(&"assistant".to_owned()), "{what}");
        assert_eq!(llm.chat_calls().len() - before, calls, "{what}");
    }
}

async fn a_rate_limit_is_waited_out_as_asked(b: Backend) {
    let llm = with_llm(b, "").await;
    llm.model.script(
        "POST",
        CHAT,
        [error(429, "rate_limit_exceeded").header("Retry-After", "1")],
    );
    llm.model.on("POST", CHAT, says("Here you go."));
    let id = llm.app.customer_writes("m1", "c1", "Hi there").await;
    llm.until_authors(&id, &["customer", "assistant"]).await;
    let calls = llm.chat_calls();
    assert_eq!(calls.len(), 2);
    let waited = calls[1].at.duration_since(calls[0].at);
    assert!(waited >= Duration::from_millis(950), "waited {waited:?}");
    let (_, usage) = llm
        .app
        .get(&llm.token, &format!("/api/conversations/{id}/usage"))
        .await;
    assert_eq!(
        usage["tokens"]["requests"], 1,
        "a refused call reports no tokens"
    );
}

async fn a_burst_gets_one_answer(b: Backend) {
    let llm = with_llm(b, "debounce_ms = 800").await;
    llm.model.on("POST", CHAT, says("Got all three."));
    let started = Instant::now();
    let id = llm.app.customer_writes("m1", "c1", "Hi").await;
    llm.app
        .customer_writes("m2", "c1", "I ordered a bike")
        .await;
    llm.app
        .customer_writes("m3", "c1", "when does it arrive?")
        .await;
    assert!(
        started.elapsed() < Duration::from_millis(800),
        "the burst was not quick"
    );
    llm.until_authors(&id, &["customer", "customer", "customer", "assistant"])
        .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let calls = llm.chat_calls();
    assert_eq!(calls.len(), 1);
    let body = calls[0].json();
    assert_eq!(
        body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .map(|m| m["content"].clone()),
        Some(json!("Hi\nI ordered a bike\nwhen does it arrive?"))
    );
    assert_eq!(llm.sent_texts(), ["Got all three."]);
}

/// At most `concurrency` calls run and `queue` wait; one more does not wait without end: the
/// knowledge base or a person answers it at once.
async fn a_full_queue_falls_back_at_once(b: Backend) {
    let llm = with_llm(b, "concurrency = 1\nqueue = 1\ntimeout_secs = 5").await;
    llm.model.on(
        "POST",
        CHAT,
        says("Answered in turn.").after(Duration::from_millis(3000)),
    );
    let started = Instant::now();
    let mut ids = Vec::new();
    for n in 0..3 {
        let id = llm
            .app
            .customer_writes(
                &format!("m{n}"),
                &format!("c{n}"),
                "Tell me a joke about penguins",
            )
            .await;
        ids.push(id);
    }
    let refused = eventually("one goes to a person at once", WAIT, || async {
        for id in &ids {
            if llm.conversation(id).await["status"] == "human" {
                return Some(id.clone());
            }
        }
        None
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_millis(2800),
        "it waited for the model"
    );
    for id in ids.iter().filter(|id| **id != refused) {
        llm.until_authors(id, &["customer", "assistant"]).await;
    }
    assert_eq!(llm.chat_calls().len(), 2);
}

async fn a_spent_budget_hands_over(b: Backend) {
    // One answer costs 150 tokens: the second message finds the budget spent.
    let llm = with_llm(b, "daily_token_budget = 100").await;
    llm.model.on("POST", CHAT, says("First and last."));
    let id = llm.app.customer_writes("m1", "c1", "Hi").await;
    llm.until_authors(&id, &["customer", "assistant"]).await;
    llm.app
        .customer_writes("m2", "c1", "And another question")
        .await;
    let c = eventually("a person has it", WAIT, || async {
        let c = llm.conversation(&id).await;
        (c["status"] == "human").then_some(c)
    })
    .await;
    assert_eq!(c["needs_reply"], true);
    let msgs = llm.messages(&id).await;
    assert!(
        system_texts(&msgs)
            .iter()
            .any(|t| t.contains("daily token budget is spent")),
        "{msgs:?}"
    );
    assert_eq!(llm.chat_calls().len(), 1);
    let (_, assistants) = llm.app.get(&llm.token, "/api/assistants").await;
    assert_eq!(assistants["items"][0]["daily_token_budget"], 100);
    assert_eq!(assistants["items"][0]["today"]["completion_tokens"], 30);
}

async fn a_model_answer_reaches_a_website_visitor(b: Backend) {
    let llm = with_llm(b, "").await;
    llm.model.on("POST", CHAT, says("Hello from the model!"));
    let session = widget::session(&llm.app, None).await;
    let token = session["visitor_token"].as_str().expect("token");
    let mut ws = widget::visitor(&llm.app, token).await;
    ws.send_json(&json!({"type": "message", "text": "hello?", "client_id": "k1"}))
        .await;
    let frames = ws
        .until("the model's answer", WAIT, |v| {
            v["type"] == "message" && v["message"]["author"] == "assistant"
        })
        .await;
    assert_eq!(
        frames.last().expect("frame")["message"]["text"],
        "Hello from the model!"
    );
}

/// Each inbox asks the assistant it names: the website's knowledge base, the API inbox's model.
async fn each_inbox_asks_its_own_assistant(b: Backend) {
    let llm = with_llm_and(b, "", |s| {
        for inbox in s.inboxes.iter_mut().filter(|i| i.id == "website") {
            inbox.assistant = Some("faq".into());
        }
    })
    .await;
    llm.model.on("POST", CHAT, says("From the model."));
    let session = widget::session(&llm.app, None).await;
    let token = session["visitor_token"].as_str().expect("token");
    let mut ws = widget::visitor(&llm.app, token).await;
    ws.send_json(
        &json!({"type": "message", "text": "What are your opening hours?", "client_id": "k1"}),
    )
    .await;
    let frames = ws
        .until("the knowledge base's answer", WAIT, |v| {
            v["type"] == "message" && v["message"]["author"] == "assistant"
        })
        .await;
    let answer = &frames.last().expect("frame")["message"];
    assert!(
        answer["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Monday"),
        "{answer}"
    );
    assert!(
        llm.chat_calls().is_empty(),
        "the website's assistant asked the model"
    );
    let (_, faq) = llm
        .app
        .get(&llm.token, "/api/conversations?assistant=faq")
        .await;
    assert_eq!(faq["items"].as_array().map(Vec::len), Some(1), "{faq}");

    let id = llm.app.customer_writes("m1", "c1", "Hello").await;
    llm.until_authors(&id, &["customer", "assistant"]).await;
    assert_eq!(llm.chat_calls().len(), 1);
    assert_eq!(llm.conversation(&id).await["assistant_id"], "sales");
}

async fn an_unreachable_model_is_reported_not_fatal(b: Backend) {
    // Nothing listens on port 9: the server starts, says so, and the customer is answered.
    let assistants = sales_assistant("http://127.0.0.1:9", "max_retries = 0");
    let app = TestApp::spawn_with(b, move |s| s.assistants.list = assistants).await;
    let health = eventually("the check ran", WAIT, || async {
        let v: Value = app
            .client
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (v["assistants"][0]["reachable"] == false).then_some(v)
    })
    .await;
    assert_eq!(health["status"], "ok");
    let token = app.login().await;
    let id = app
        .customer_writes("m1", "c1", "What are your opening hours?")
        .await;
    eventually("the knowledge base answers", WAIT, || async {
        let (_, body) = app
            .get(&token, &format!("/api/conversations/{id}/messages"))
            .await;
        let msgs = body["items"].as_array().cloned().unwrap_or_default();
        authors(&msgs)
            .contains(&"assistant".to_owned())
            .then_some(())
    })
    .await;
}

/// An agent may only see the usage of conversations they may see.
async fn usage_is_visible_only_with_the_conversation(b: Backend) {
    let llm = with_llm_and(b, "", |s| {
        s.access.visibility = switchboard::config::Visibility::AssignedAndUnassigned;
    })
    .await;
    llm.model.on("POST", CHAT, says("ok"));
    let id = llm.app.customer_writes("m1", "c1", "Hi").await;
    llm.until_authors(&id, &["customer", "assistant"]).await;
    let (sam, _) = llm.app.agent("sam@test.local", Role::Agent).await;
    let (_, kim_token) = llm.app.agent("kim@test.local", Role::Agent).await;
    let (s, _) = llm
        .app
        .post(
            &llm.token,
            &format!("/api/conversations/{id}/assign"),
            &json!({"agent_id": sam}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, body) = llm
        .app
        .get(&kim_token, &format!("/api/conversations/{id}/usage"))
        .await;
    assert_eq!(s, 404, "{body}");
}

both_backends!(
    a_model_answer_reaches_the_customer_with_what_it_was_told,
    the_history_goes_with_each_request,
    memories_go_into_the_prompt_and_what_the_model_learns_is_kept,
    a_model_handoff_hands_over_and_the_assistant_falls_silent,
    a_takeover_during_a_slow_answer_wins,
    every_failure_ends_in_an_answer_or_a_person,
    a_rate_limit_is_waited_out_as_asked,
    a_burst_gets_one_answer,
    a_spent_budget_hands_over,
    a_full_queue_falls_back_at_once,
    a_model_answer_reaches_a_website_visitor,
    an_unreachable_model_is_reported_not_fatal,
    each_inbox_asks_its_own_assistant,
    usage_is_visible_only_with_the_conversation,
);

/// The dashboard's assistant filter narrows the list, and the contact panel names the
/// assistant that answered.
#[actix_rt::test]
async fn the_dashboard_filters_by_assistant_and_names_it() {
    use crate::{
        browser::{dashboard_of, ONE_BROWSER},
        cdp::{browser_available, Browser},
        helpers::{ADMIN_EMAIL, ADMIN_PASSWORD},
    };
    if !browser_available() {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let llm = with_llm(Backend::Sqlite, "").await;
    llm.model.on("POST", CHAT, says("Hello!"));
    let id = llm.app.customer_writes("m1", "c1", "Hi").await;
    llm.until_authors(&id, &["customer", "assistant"]).await;

    let mut b = Browser::launch().await;
    let size = (1366, 800);
    let dash = dashboard_of(
        &mut b,
        &llm.app.base,
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
        size,
        "UTC",
    )
    .await;
    let item = format!("#conv-list .conv-item[data-id={}]", json!(id));
    let count = "document.querySelectorAll('#conv-list .conv-item').length";
    dash.wait_for(
        &mut b,
        "the conversation",
        &format!("!!document.querySelector('{item}')"),
    )
    .await;
    dash.wait_for(
        &mut b,
        "the assistant filter, with both assistants",
        "!document.querySelector('#assistant-filter-wrap').hidden \
         && document.querySelectorAll('#assistant-filter option').length === 3",
    )
    .await;
    let choose = |id: &str| {
        format!(
            "(() => {{ const s = document.querySelector('#assistant-filter'); s.value = '{id}'; \
             s.dispatchEvent(new Event('change')); }})()"
        )
    };
    dash.eval(&mut b, &choose("faq")).await;
    dash.wait_for(
        &mut b,
        "no conversation answered by faq",
        &format!("{count} === 0"),
    )
    .await;
    dash.eval(&mut b, &choose("sales")).await;
    dash.wait_for(&mut b, "the one sales answered", &format!("{count} === 1"))
        .await;
    dash.click(&mut b, &item).await;
    dash.wait_for(
        &mut b,
        "the contact panel names the assistant",
        "document.querySelector('#contact-assistant')?.textContent === 'Sales (stand-in-model)'",
    )
    .await;
    dash.wait_for(
        &mut b,
        "the answer names the assistant that gave it",
        "document.querySelector('.msg-assistant .msg-author')?.textContent === 'Sales'",
    )
    .await;
    dash.assert_no_console_errors(&mut b, "filtering by assistant")
        .await;
}
