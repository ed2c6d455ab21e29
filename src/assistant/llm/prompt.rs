//! The Chat Completions request for one customer turn, built without I/O so the exact prompt
//! is checked by a snapshot test (`golden_prompt.json` beside this file).
//!
//! Order matters for cost: providers cache an exact prefix (OpenAI from 1024 tokens), so the
//! fixed rules and the business's instructions come first, then what changes per turn (the
//! knowledge found for this message, the contact's memories), then the conversation.

use chrono::NaiveDate;
use serde_json::{json, Value};

use crate::{
    assistant::{knowledge::Entry, AssistantRequest, Turn},
    config::{JsonMode, LlmSettings},
    domain::types::{Author, LeadStage, MemoryKind},
};

/// Bumped whenever the wording or the shape of the prompt changes on purpose.
pub const PROMPT_VERSION: &str = "2026-12-01.1";

/// The `json_schema` name (`[A-Za-z0-9_-]{1,64}`).
pub const SCHEMA_NAME: &str = "assistant_reply";

/// What goes into one request besides the settings.
pub struct PromptInput<'a> {
    /// The business's system prompt for this assistant.
    pub instructions: &'a str,
    /// The best knowledge-base entries for the customer's message, best first.
    pub knowledge: Vec<&'a Entry>,
    pub request: &'a AssistantRequest,
    /// The date the model is told it is (memories and promises depend on it).
    pub today: NaiveDate,
}

/// The rules every assistant follows; the business's instructions come after them.
const RULES: &str = "You are the first assistant of a customer-support inbox and answer \
customers on behalf of the business.

Rules:
- Answer only from the knowledge given to you and from the conversation. Never invent prices, \
dates, stock, policies or promises. When you do not know, say so briefly and offer a person.
- Reply in the customer's language, in at most three short sentences of plain text (no \
markdown, no JSON in the reply).
- Set \"handoff\" to true when the customer asks for a person, complains or is upset, or when \
you cannot help with what they need. Then \"handoff_reason\" says why in a few words, and \
\"reply\" tells the customer that a person will take over (or is empty).
- \"lead_stage\" is where the customer stands as a sales lead: one of in_progress, opportunity, \
potential_customer, quote_request, follow_up, contacted, waiting_response, info_only, \
not_interested, spam; null when unclear.
- \"memories\" lists durable things the customer said about themselves in their latest \
messages (name, city, contact details, preferences, goals, past experiences with the business), \
each as {\"kind\": \"fact\" | \"preference\" | \"goal\" | \"experience\", \"text\": a short \
statement in the customer's language, \"slot\": what it is about when a new value replaces an \
old one (\"name\", \"city\", \"email\", \"phone\", \"employer\") or null}. Leave it empty when \
there is nothing new; never repeat what is already known.
- \"source\" is the id (in brackets) of the knowledge entry your reply rests on, or null when \
it rests on none; \"confidence\" is how sure you are that the reply is right, from 0 to 1.
- Answer with exactly one JSON object: {\"reply\": string, \"handoff\": boolean, \
\"handoff_reason\": string or null, \"lead_stage\": string or null, \"memories\": [...], \
\"source\": string or null, \"confidence\": number}.";

/// The strict JSON schema of the answer: every property required, none extra, optional ones
/// nullable (what OpenAI's strict mode accepts, and a subset the others enforce).
pub fn answer_schema() -> Value {
    let stages: Vec<Value> = LeadStage::ALL
        .iter()
        .map(|s| Value::from(s.as_str()))
        .chain([Value::Null])
        .collect();
    let kinds: Vec<&str> = MemoryKind::ALL.iter().map(|k| k.as_str()).collect();
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "reply": { "type": "string" },
            "handoff": { "type": "boolean" },
            "handoff_reason": { "type": ["string", "null"] },
            "lead_stage": { "type": ["string", "null"], "enum": stages },
            "memories": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "kind": { "type": "string", "enum": kinds },
                        "text": { "type": "string" },
                        "slot": { "type": ["string", "null"] },
                    },
                    "required": ["kind", "text", "slot"],
                },
            },
            "source": { "type": ["string", "null"] },
            "confidence": { "type": "number" },
        },
        "required": ["reply", "handoff", "handoff_reason", "lead_stage", "memories", "source", "confidence"],
    })
}

/// A rough token count (about four characters a token, plus the message's own overhead):
/// enough to keep the history within its budget without a tokenizer per model.
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4) + 4
}

/// The request body for `POST {base_url}/chat/completions`.
pub fn chat_request(settings: &LlmSettings, input: &PromptInput<'_>) -> Value {
    let mut messages = vec![json!({ "role": "system", "content": system_text(input) })];
    messages.push(json!({ "role": "system", "content": context_text(input) }));
    let budget = settings.history_tokens.get() as usize;
    messages.extend(history(&input.request.history, budget));
    messages.push(json!({ "role": "user", "content": input.request.text }));
    let mut body = json!({
        "model": settings.model.as_str(),
        "messages": messages,
        "temperature": settings.temperature,
        "stream": false,
    });
    body[settings.max_tokens_field.as_str()] = json!(settings.max_tokens.get());
    match settings.json_mode {
        JsonMode::JsonSchema => {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": { "name": SCHEMA_NAME, "schema": answer_schema(), "strict": true },
            });
        }
        JsonMode::JsonObject => body["response_format"] = json!({ "type": "json_object" }),
        JsonMode::Prompt => {}
    }
    body
}

/// The fixed part: our rules, then the business's instructions.
fn system_text(input: &PromptInput<'_>) -> String {
    let instructions = input.instructions.trim();
    if instructions.is_empty() {
        RULES.to_owned()
    } else {
        format!("{RULES}\n\n## Instructions from the business\n{instructions}")
    }
}

/// What changes per turn: the knowledge found for this message, the contact, the date.
fn context_text(input: &PromptInput<'_>) -> String {
    let mut text = String::from("## Knowledge\n");
    if input.knowledge.is_empty() {
        text.push_str("(nothing in the knowledge base matches this message)\n");
    }
    for entry in &input.knowledge {
        text.push_str(&format!(
            "- [{}] Q: {}\n  A: {}\n",
            entry.id.trim(),
            entry.question.trim(),
            entry.answer.trim()
        ));
    }
    text.push_str("\n## About this customer\n");
    if let Some(name) = &input.request.contact_name {
        text.push_str(&format!("Name on the channel: {name}\n"));
    }
    if input.request.memories.is_empty() {
        text.push_str("(nothing remembered yet)\n");
    }
    for (kind, memory) in &input.request.memories {
        text.push_str(&format!("- ({kind}) {memory}\n"));
    }
    text.push_str(&format!("\nToday is {}.", input.today.format("%Y-%m-%d")));
    text
}

/// The newest earlier messages that fit in `budget` tokens, oldest first, as chat roles:
/// the customer is the user; the assistant and agents speak for the business (an agent's
/// message says who wrote it, so the model knows a person was involved).
fn history(turns: &[Turn], budget: usize) -> Vec<Value> {
    let mut kept = Vec::new();
    let mut used = 0usize;
    for turn in turns.iter().rev() {
        let content = match (turn.author, &turn.name) {
            (Author::Agent, Some(name)) => {
                format!("[{name}, a person from the team] {}", turn.text)
            }
            (Author::Agent, None) => format!("[a person from the team] {}", turn.text),
            _ => turn.text.clone(),
        };
        let cost = estimate_tokens(&content);
        if used + cost > budget {
            break;
        }
        used += cost;
        let role = match turn.author {
            Author::Customer => "user",
            _ => "assistant",
        };
        kept.push(json!({ "role": role, "content": content }));
    }
    kept.reverse();
    kept
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::config::Settings;

    fn settings(extra: &str) -> LlmSettings {
        let text = format!(
            "[[assistant]]\nid = \"sales\"\nkind = \"llm\"\nbase_url = \"http://127.0.0.1:9/v1\"\n\
             model = \"test-model\"\n{extra}"
        );
        let s = Settings::from_toml(&text).unwrap();
        s.assistants.list[0].llm().unwrap().clone()
    }

    fn turn(author: Author, name: Option<&str>, text: &str) -> Turn {
        Turn {
            author,
            name: name.map(str::to_owned),
            text: text.to_owned(),
        }
    }

    /// One fixed conversation: a returning customer with memories, an agent in the history,
    /// two knowledge entries found.
    fn golden_request() -> (LlmSettings, Value) {
        let s = settings("instructions = \"You work for Acme Bikes. Be warm and brief.\"");
        let kb = crate::assistant::KnowledgeBaseAssistant::new(
            crate::assistant::knowledge::KnowledgeBase::demo(),
        );
        let request = AssistantRequest {
            text: "Is it still possible to return them?\nI bought them 20 days ago".into(),
            history: vec![
                turn(
                    Author::Customer,
                    None,
                    "Hi, my name is Ana and I live in Porto",
                ),
                turn(Author::Assistant, None, "Hello Ana! How can I help?"),
                turn(Author::Customer, None, "The shoes I ordered are too small"),
                turn(
                    Author::Agent,
                    Some("Bob"),
                    "Sorry about that, Ana. Which size do you need?",
                ),
            ],
            memories: vec![
                ("fact".into(), "Name: Ana".into()),
                ("fact".into(), "Lives in Porto".into()),
            ],
            contact_name: Some("Ana Silva".into()),
            source: None,
        };
        let input = PromptInput {
            instructions: "You work for Acme Bikes. Be warm and brief.",
            knowledge: kb.top_entries(&request.text, 3),
            request: &request,
            today: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        };
        let body = chat_request(&s, &input);
        (s, body)
    }

    #[test]
    fn golden_prompt_matches_the_snapshot() {
        let (_, body) = golden_request();
        let rendered = serde_json::to_string_pretty(&body).unwrap() + "\n";
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/assistant/llm/golden_prompt.json");
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, &rendered).unwrap();
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            expected == rendered,
            "the prompt changed: bump PROMPT_VERSION if intended and run \
             `UPDATE_SNAPSHOTS=1 cargo test --lib golden_prompt`\n{rendered}"
        );
    }

    #[test]
    fn the_request_carries_instructions_knowledge_memories_and_history() {
        let (_, body) = golden_request();
        let messages = body["messages"].as_array().unwrap();
        let all = serde_json::to_string(messages).unwrap();
        assert!(all.contains("Acme Bikes"));
        assert!(all.contains("Lives in Porto"));
        assert!(all.contains("[Bob, a person from the team]"));
        assert_eq!(messages.last().unwrap()["role"], "user");
        assert_eq!(
            messages[2]["content"],
            "Hi, my name is Ana and I live in Porto"
        );
        assert_eq!(body["response_format"]["json_schema"]["strict"], true);
        assert_eq!(body["max_tokens"], 512);
    }

    #[test]
    fn json_modes_and_the_max_tokens_field_follow_the_settings() {
        let request = AssistantRequest::new("hi");
        let input = |_: ()| PromptInput {
            instructions: "",
            knowledge: vec![],
            request: &request,
            today: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        };
        let body = chat_request(&settings("json_mode = \"json_object\""), &input(()));
        assert_eq!(body["response_format"], json!({ "type": "json_object" }));
        let body = chat_request(
            &settings("json_mode = \"prompt\"\nmax_tokens_field = \"max_completion_tokens\""),
            &input(()),
        );
        assert!(body.get("response_format").is_none());
        assert!(body.get("max_tokens").is_none());
        assert_eq!(body["max_completion_tokens"], 512);
        // json_object needs the word JSON in the prompt; every mode describes the shape.
        assert!(body["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("JSON object"));
    }

    #[test]
    fn the_oldest_history_is_left_out_past_the_budget() {
        let turns: Vec<Turn> = (0..100)
            .map(|i| {
                turn(
                    Author::Customer,
                    None,
                    &format!("message number {i} {}", "x".repeat(80)),
                )
            })
            .collect();
        let kept = history(&turns, 300);
        assert!(!kept.is_empty() && kept.len() < 100);
        let last = kept.last().unwrap()["content"].as_str().unwrap().to_owned();
        assert!(last.starts_with("message number 99 "), "{last}");
        let total: usize = kept
            .iter()
            .map(|m| estimate_tokens(m["content"].as_str().unwrap()))
            .sum();
        assert!(total <= 300);
    }

    #[test]
    fn the_schema_is_strict_everywhere() {
        fn check(v: &Value) {
            if v["type"] == "object" {
                assert_eq!(v["additionalProperties"], false, "{v}");
                let props: Vec<&String> = v["properties"].as_object().unwrap().keys().collect();
                let required: Vec<&str> = v["required"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap())
                    .collect();
                for p in props {
                    assert!(required.contains(&p.as_str()), "{p} not required");
                    check(&v["properties"][p]);
                }
            }
            if let Some(items) = v.get("items") {
                check(items);
            }
        }
        check(&answer_schema());
    }
}
