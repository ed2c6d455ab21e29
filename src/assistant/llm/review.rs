//! A language model's review of a conversation: one strict-JSON call, checked; the caller
//! keeps the offline review whenever it fails (`../shared/AI.md` §4 and §8).
//!
//! The model gets the rubric (criteria, weights, what each rewards), the transcript with
//! times, and what the offline reviewer measured: times are facts it cannot work out from
//! text alone, and a critical failure found offline (a handoff nobody answered, a broken
//! promise) still caps the model's score. It answers the summary, each criterion's score
//! and note, and a lead stage.

use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    answer::{completion_content, looks_like_json, strip_fences, usage_of},
    read_limited, LlmAssistant,
};
use crate::{
    assistant::Usage,
    clock,
    config::{JsonMode, LlmSettings},
    domain::{
        review::{Criterion, CriterionName, Review, ReviewInput, CRITICAL_CAP},
        types::{Author, LeadStage},
    },
    metrics::LlmResult,
};

/// The `json_schema` name of the review.
pub const REVIEW_SCHEMA_NAME: &str = "conversation_review";
/// The longest summary kept (three lines of a list row's tooltip, with room).
const MAX_SUMMARY_CHARS: usize = 1200;
/// The longest note kept per criterion.
const MAX_NOTE_CHARS: usize = 300;
/// The longest piece of one message put in the transcript.
const MAX_LINE_CHARS: usize = 1000;

const REVIEW_RULES: &str = "You review a customer-support conversation between a customer and \
a business (its assistant and its agents) and grade the business's side.

Score each criterion from 0 to its weight:
- responsiveness (25): how fast the first reply came, and a person's first reply after each \
handoff; full within 5 minutes, none after 60.
- resolution (25): whether what the customer needed was resolved or clearly settled, without \
the customer chasing or repeating themselves.
- accuracy (15): whether the answers were correct and consistent with each other; guessing or \
admitting not knowing costs points.
- empathy (15): apologies, thanks and care, above all after a complaint.
- greeting_closing (10): a greeting in the first replies, a closing (further help, thanks) at \
the end.
- clarity (10): replies of a readable length, clear and in the customer's language.

\"summary\" is at most three lines in English: \"Asked: ...\", \"Details: ...\", \
\"Outcome: ...\". \"lead_stage\" is one of in_progress, opportunity, potential_customer, \
quote_request, follow_up, contacted, waiting_response, info_only, not_interested, spam, or null \
when unclear. Each \"note\" says why in one short sentence. Answer with exactly one JSON \
object: {\"summary\": string, \"rubric\": [{\"name\": string, \"score\": integer, \"note\": \
string}], \"lead_stage\": string or null}.";

/// The model's review, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelReview {
    pub summary: String,
    pub rubric: Vec<Criterion>,
    pub quality_score: u8,
    pub lead_stage: Option<LeadStage>,
}

impl LlmAssistant {
    /// Asks the model for its review of `input` (one call, no retry: the offline review is
    /// there either way). Counts against the assistant's concurrency, queue and daily budget
    /// like an answer does. Returns the review or why there is none, with the tokens spent.
    pub async fn review(
        &self,
        input: &ReviewInput,
        offline: &Review,
    ) -> (Result<ModelReview, String>, Usage) {
        if !self.budget_left() {
            return (
                Err("the daily token budget is spent".to_owned()),
                Usage::default(),
            );
        }
        let _permit = match self.admit().await {
            Ok(p) => p,
            Err(e) => return (Err(e), Usage::default()),
        };
        let body = review_request(&self.settings, input, offline);
        let (result, usage) = self.call(&body).await;
        self.charge(usage, clock::now());
        let result = result.and_then(|content| parse_review(&content, offline));
        self.record(result.as_ref().map(|_| ()).map_err(String::as_str));
        (result, usage)
    }

    /// One HTTP call, counted in the metrics.
    async fn call(&self, body: &Value) -> (Result<String, String>, Usage) {
        let started = std::time::Instant::now();
        let (answer, usage, result) = self.review_call(body).await;
        self.metrics.call(result, started.elapsed().as_secs_f64());
        (answer, usage)
    }

    /// One HTTP call; the completion's text, or why there is none, and how it ended.
    async fn review_call(&self, body: &Value) -> (Result<String, String>, Usage, LlmResult) {
        let timeout = std::time::Duration::from_secs(u64::from(self.settings.timeout_secs.get()));
        let mut request = self.http.post(&self.url).timeout(timeout).json(body);
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key.expose());
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return (
                    Err("timed out".to_owned()),
                    Usage::default(),
                    LlmResult::retry,
                )
            }
            Err(e) => {
                let reason = format!("cannot reach the model: {}", e.without_url());
                return (Err(reason), Usage::default(), LlmResult::retry);
            }
        };
        let status = response.status().as_u16();
        let bytes = match read_limited(response, 1 << 20).await {
            Ok(b) => b,
            Err(e) => return (Err(e), Usage::default(), LlmResult::retry),
        };
        if !(200..300).contains(&status) {
            let result = match status {
                429 | 500.. => LlmResult::retry,
                _ => LlmResult::fatal,
            };
            let reason = format!("the model's server answered {status}");
            return (Err(reason), Usage::default(), result);
        }
        let content = completion_content(&bytes);
        let result = match content {
            Ok(_) => LlmResult::ok,
            Err(_) => LlmResult::retry,
        };
        (content, usage_of(&bytes), result)
    }
}

/// The request body for the review (`POST {base_url}/chat/completions`).
pub fn review_request(settings: &LlmSettings, input: &ReviewInput, offline: &Review) -> Value {
    let transcript = transcript(input, settings.history_tokens.get() as usize);
    let measured: Vec<String> = offline
        .rubric
        .iter()
        .map(|c| format!("- {}: {}", c.name.as_str(), c.note))
        .collect();
    let context = format!(
        "Status: {}. Measured by the clock: \n{}",
        input.status,
        measured.join("\n")
    );
    let mut body = json!({
        "model": settings.model.as_str(),
        "messages": [
            { "role": "system", "content": REVIEW_RULES },
            { "role": "system", "content": context },
            { "role": "user", "content": transcript },
        ],
        "temperature": 0.0,
        "stream": false,
    });
    body[settings.max_tokens_field.as_str()] = json!(settings.max_tokens.get().max(600));
    match settings.json_mode {
        JsonMode::JsonSchema => {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {
                    "name": REVIEW_SCHEMA_NAME,
                    "schema": review_schema(),
                    "strict": true,
                },
            });
        }
        JsonMode::JsonObject => body["response_format"] = json!({ "type": "json_object" }),
        JsonMode::Prompt => {}
    }
    body
}

/// The strict schema of the review: every property required, none extra.
pub fn review_schema() -> Value {
    let names: Vec<&str> = CriterionName::ALL.iter().map(|c| c.as_str()).collect();
    let stages: Vec<Value> = LeadStage::ALL
        .iter()
        .map(|s| Value::from(s.as_str()))
        .chain([Value::Null])
        .collect();
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "summary": { "type": "string" },
            "rubric": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "name": { "type": "string", "enum": names },
                        "score": { "type": "integer" },
                        "note": { "type": "string" },
                    },
                    "required": ["name", "score", "note"],
                },
            },
            "lead_stage": { "type": ["string", "null"], "enum": stages },
        },
        "required": ["summary", "rubric", "lead_stage"],
    })
}

/// The latest messages that fit in `budget` tokens (about four characters a token), oldest
/// first, one line each: `[2026-11-30 10:00 customer] text`.
fn transcript(input: &ReviewInput, budget: usize) -> String {
    let mut ordered: Vec<_> = input.messages.iter().collect();
    ordered.sort_by_key(|m| m.at);
    let mut lines = Vec::new();
    let mut used = 0usize;
    for m in ordered.iter().rev() {
        let text: String = m
            .text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(MAX_LINE_CHARS)
            .collect();
        let line = format!("[{} {}] {text}", stamp(m.at), who(m.author));
        used += line.chars().count() / 4 + 4;
        if used > budget && !lines.is_empty() {
            break;
        }
        lines.push(line);
    }
    lines.reverse();
    lines.join("\n")
}

fn stamp(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn who(author: Author) -> &'static str {
    match author {
        Author::Customer => "customer",
        Author::Assistant => "assistant",
        Author::Agent => "agent",
        Author::System => "event",
    }
}

#[derive(Deserialize)]
struct Shape {
    summary: String,
    rubric: Vec<ShapeCriterion>,
    #[serde(default)]
    lead_stage: Option<String>,
}

#[derive(Deserialize)]
struct ShapeCriterion {
    name: String,
    score: i64,
    #[serde(default)]
    note: String,
}

/// The model's JSON, checked: a plain-text summary, each criterion of the rubric exactly
/// once with a score within its weight, a known lead stage. The score is the rubric's sum,
/// capped like the offline one when the offline reviewer found a critical failure.
pub fn parse_review(content: &str, offline: &Review) -> Result<ModelReview, String> {
    let shape: Shape = serde_json::from_str(strip_fences(content))
        .map_err(|e| format!("the review is off the schema: {e}"))?;
    let summary = shape.summary.trim().to_owned();
    if summary.is_empty()
        || summary.chars().count() > MAX_SUMMARY_CHARS
        || looks_like_json(&summary)
    {
        return Err("the review's summary is empty, too long or not text".to_owned());
    }
    let mut rubric = Vec::with_capacity(CriterionName::ALL.len());
    for name in CriterionName::ALL {
        let mut found = shape.rubric.iter().filter(|c| c.name == name.as_str());
        let (Some(c), None) = (found.next(), found.next()) else {
            return Err(format!(
                "the review must score `{}` exactly once",
                name.as_str()
            ));
        };
        let weight = name.weight();
        let score = u8::try_from(c.score)
            .ok()
            .filter(|s| *s <= weight)
            .ok_or_else(|| format!("`{}` must be scored 0-{weight}", name.as_str()))?;
        rubric.push(Criterion {
            name: *name,
            weight,
            score,
            note: c.note.trim().chars().take(MAX_NOTE_CHARS).collect(),
        });
    }
    if shape.rubric.len() != rubric.len() {
        return Err("the review scores an unknown criterion".to_owned());
    }
    let lead_stage = match shape.lead_stage.as_deref().map(str::trim) {
        None | Some("") | Some("null") => None,
        Some(stage) => Some(
            stage
                .parse::<LeadStage>()
                .map_err(|e| format!("the review is off the schema: {e}"))?,
        ),
    };
    let sum: u32 = rubric.iter().map(|c| u32::from(c.score)).sum();
    let cap = match offline.critical.is_empty() {
        true => 100,
        false => u32::from(CRITICAL_CAP),
    };
    Ok(ModelReview {
        summary,
        quality_score: u8::try_from(sum.min(cap)).unwrap_or(0),
        rubric,
        lead_stage,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::{review::review, types::Status};
    use chrono::NaiveDate;

    fn t(min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 30)
            .unwrap()
            .and_hms_opt(10, min, 0)
            .unwrap()
    }

    fn input() -> ReviewInput {
        use crate::domain::review::ReviewMessage;
        let m = |author, text: &str, at| ReviewMessage {
            author,
            text: text.to_owned(),
            at,
        };
        ReviewInput {
            wrong_answers: 0,
            messages: vec![
                m(Author::Customer, "Hi, where is my order 123?", t(0)),
                m(
                    Author::Assistant,
                    "Hello! It ships tomorrow. Anything else?",
                    t(1),
                ),
            ],
            status: Status::Bot,
            handoffs: vec![],
            resolved_at: None,
            now: t(30),
        }
    }

    fn good() -> Value {
        json!({
            "summary": "Asked: where order 123 is.\nOutcome: it ships tomorrow.",
            "rubric": [
                {"name": "responsiveness", "score": 25, "note": "Answered in a minute."},
                {"name": "resolution", "score": 20, "note": "Answered."},
                {"name": "accuracy", "score": 15, "note": "Consistent."},
                {"name": "empathy", "score": 8, "note": "Neutral."},
                {"name": "greeting_closing", "score": 10, "note": "Both."},
                {"name": "clarity", "score": 10, "note": "Short."},
            ],
            "lead_stage": "info_only",
        })
    }

    #[test]
    fn a_good_review_is_taken_and_summed() {
        let offline = review(&input());
        let r = parse_review(&good().to_string(), &offline).unwrap();
        assert_eq!(r.quality_score, 88);
        assert_eq!(r.rubric.len(), 6);
        assert_eq!(r.rubric[1].weight, 25);
        assert_eq!(r.lead_stage, Some(LeadStage::InfoOnly));
        // Fenced JSON is read too.
        let fenced = format!("```json\n{}\n```", good());
        assert!(parse_review(&fenced, &offline).is_ok());
    }

    #[test]
    fn reviews_off_the_schema_are_refused() {
        let offline = review(&input());
        type Edit = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(&str, Edit)> = vec![
            (
                "score over weight",
                Box::new(|v| v["rubric"][5]["score"] = json!(11)),
            ),
            (
                "negative",
                Box::new(|v| v["rubric"][0]["score"] = json!(-1)),
            ),
            (
                "missing criterion",
                Box::new(|v| {
                    v["rubric"].as_array_mut().unwrap().pop();
                }),
            ),
            (
                "twice",
                Box::new(|v| v["rubric"][5]["name"] = json!("accuracy")),
            ),
            (
                "unknown stage",
                Box::new(|v| v["lead_stage"] = json!("hot")),
            ),
            ("empty summary", Box::new(|v| v["summary"] = json!("  "))),
            (
                "json summary",
                Box::new(|v| v["summary"] = json!("{\"a\": 1}")),
            ),
            (
                "extra criterion",
                Box::new(|v| {
                    v["rubric"]
                        .as_array_mut()
                        .unwrap()
                        .push(json!({"name": "speed", "score": 1, "note": ""}));
                }),
            ),
        ];
        for (what, edit) in cases {
            let mut v = good();
            edit(&mut v);
            assert!(parse_review(&v.to_string(), &offline).is_err(), "{what}");
        }
        assert!(parse_review("not json", &offline).is_err());
    }

    #[test]
    fn an_offline_critical_failure_caps_the_models_score() {
        let mut offline = review(&input());
        offline
            .critical
            .push(crate::domain::review::CriticalFail::BrokenPromise);
        let r = parse_review(&good().to_string(), &offline).unwrap();
        assert_eq!(r.quality_score, CRITICAL_CAP);
    }

    #[test]
    fn the_transcript_keeps_the_latest_lines_within_the_budget() {
        let mut input = input();
        for i in 0..50 {
            input.messages.push(crate::domain::review::ReviewMessage {
                author: Author::Customer,
                text: format!("message number {i} with some words in it"),
                at: t(2) + chrono::Duration::seconds(i),
            });
        }
        let text = transcript(&input, 100);
        assert!(text.ends_with("message number 49 with some words in it"));
        assert!(!text.contains("where is my order"));
        assert!(text.lines().count() < 20);
    }
}
