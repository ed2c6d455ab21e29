//! What a Chat Completions server answered, judged without I/O: a usable answer, a failure
//! worth another try (and after how long), or one that no retry fixes.

use std::time::Duration;

use serde::Deserialize;

use crate::{
    assistant::{AssistantReply, Usage},
    domain::{
        answer::Confidence,
        memory::{MemoryCandidate, MAX_TEXT_CHARS},
        types::{LeadStage, MemoryKind},
    },
};

/// The longest reply sent to a customer; a longer one is off the schema (a model that
/// rambles, or repeats itself until `max_tokens`).
pub const MAX_REPLY_CHARS: usize = 4096;
/// `Retry-After` is honoured up to this long; a server asking for more is treated as down.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// One try's verdict.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    Answer(ModelAnswer),
    /// Worth trying again: after `after` when the server said so (`Retry-After`).
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// No retry helps (a wrong key, an exhausted quota, a model that does not exist).
    Fatal(String),
}

/// The model's answer, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelAnswer {
    pub reply: AssistantReply,
    pub lead_stage: Option<LeadStage>,
    pub learned: Vec<MemoryCandidate>,
    /// The knowledge entry the model says its reply rests on (checked by the caller against
    /// the entries it was given).
    pub source: Option<String>,
    /// How sure the model says it is (an opinion, see [`Confidence::reported`]).
    pub confidence: Option<Confidence>,
}

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<RawUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: Option<ChoiceMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct RawUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// The shape the model is asked for (see [`super::prompt::answer_schema`]). Lenient where the
/// JSON modes without a schema may differ: absent fields default.
#[derive(Deserialize)]
struct Shape {
    reply: String,
    #[serde(default)]
    handoff: bool,
    #[serde(default)]
    handoff_reason: Option<String>,
    #[serde(default)]
    lead_stage: Option<String>,
    #[serde(default)]
    memories: Vec<ShapeMemory>,
    #[serde(default)]
    source: Option<String>,
    /// Any JSON: a model that answers "high" or "85%" loses the confidence, not the answer.
    #[serde(default)]
    confidence: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ShapeMemory {
    kind: String,
    text: String,
    #[serde(default)]
    slot: Option<String>,
}

/// The tokens an answer reports, whatever else is wrong with it.
pub fn usage_of(body: &[u8]) -> Usage {
    let usage = serde_json::from_slice::<Completion>(body)
        .ok()
        .and_then(|c| c.usage);
    match usage {
        Some(u) => Usage {
            requests: 1,
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
        },
        None => Usage {
            requests: 1,
            ..Usage::default()
        },
    }
}

/// Judges one HTTP answer: `retry_after` is the header's value, if any.
pub fn judge(status: u16, retry_after: Option<&str>, body: &[u8]) -> Verdict {
    match status {
        200..=299 => match parse_completion(body) {
            Ok(answer) => Verdict::Answer(answer),
            Err(reason) => Verdict::Retry {
                reason,
                after: None,
            },
        },
        429 => {
            let (code, message) = error_of(body);
            if code.as_deref() == Some("insufficient_quota") {
                return Verdict::Fatal(format!("429 insufficient_quota: {message}"));
            }
            match retry_after.map(parse_retry_after) {
                Some(Some(after)) if after > MAX_RETRY_AFTER => Verdict::Fatal(format!(
                    "429: asked to wait {}s: {message}",
                    after.as_secs()
                )),
                after => Verdict::Retry {
                    reason: format!("429 rate limited: {message}"),
                    after: after.flatten(),
                },
            }
        }
        408 | 409 | 500..=599 => {
            let (_, message) = error_of(body);
            Verdict::Retry {
                reason: format!("{status}: {message}"),
                after: retry_after
                    .and_then(parse_retry_after)
                    .filter(|a| *a <= MAX_RETRY_AFTER),
            }
        }
        _ => {
            let (_, message) = error_of(body);
            Verdict::Fatal(format!("{status}: {message}"))
        }
    }
}

/// `Retry-After` in seconds (an HTTP date is taken as "soon": one second).
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    match value.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= 0.0 => Some(Duration::from_secs_f64(secs)),
        Ok(_) => None,
        Err(_) if !value.is_empty() => Some(Duration::from_secs(1)),
        Err(_) => None,
    }
}

/// The error's code and message, as far as the body says (never the whole body: it is the
/// provider's text and goes to the log).
fn error_of(body: &[u8]) -> (Option<String>, String) {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { error }) => {
            let code = error.code.map(|c| match c {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            });
            let message = error.message.unwrap_or_default();
            let message: String = message.chars().take(200).collect();
            let kind = error.kind.unwrap_or_default();
            (code.or(Some(kind).filter(|k| !k.is_empty())), message)
        }
        Err(_) => (None, "no error body".to_owned()),
    }
}

/// The answer inside a successful completion, or what is wrong with it.
fn parse_completion(body: &[u8]) -> Result<ModelAnswer, String> {
    parse_shape(&completion_content(body)?)
}

/// The text of the first choice of a successful completion, or why there is none usable
/// (cut off, filtered, refused, empty).
pub fn completion_content(body: &[u8]) -> Result<String, String> {
    let completion: Completion =
        serde_json::from_slice(body).map_err(|e| format!("not a chat completion: {e}"))?;
    let choice = completion
        .choices
        .into_iter()
        .next()
        .ok_or("no choices in the answer")?;
    match choice.finish_reason.as_deref() {
        Some("length") => return Err("the answer was cut off (finish_reason: length)".into()),
        Some("content_filter") => return Err("the answer was filtered".into()),
        _ => {}
    }
    let message = choice.message.ok_or("no message in the answer")?;
    if let Some(refusal) = message.refusal.filter(|r| !r.trim().is_empty()) {
        let refusal: String = refusal.chars().take(200).collect();
        return Err(format!("the model refused: {refusal}"));
    }
    message
        .content
        .ok_or_else(|| "no content in the answer".to_owned())
}

/// The model's JSON object, checked: a reply to send (plain text, not JSON, not too long)
/// unless it hands off, a known lead stage, memories of the known kinds.
fn parse_shape(content: &str) -> Result<ModelAnswer, String> {
    let json = strip_fences(content);
    let shape: Shape =
        serde_json::from_str(json).map_err(|e| format!("the answer is off the schema: {e}"))?;
    let reply = shape.reply.trim().to_owned();
    if reply.chars().count() > MAX_REPLY_CHARS {
        return Err(format!("the reply is over {MAX_REPLY_CHARS} characters"));
    }
    if looks_like_json(&reply) {
        return Err("the reply is JSON, not text for the customer".into());
    }
    let lead_stage = match shape.lead_stage.as_deref().map(str::trim) {
        None | Some("") | Some("null") => None,
        Some(stage) => Some(
            stage
                .parse::<LeadStage>()
                .map_err(|e| format!("the answer is off the schema: {e}"))?,
        ),
    };
    // Memories are a side matter: one of an unknown kind is dropped, not the answer.
    let learned = shape
        .memories
        .into_iter()
        .filter_map(|m| {
            let kind = m.kind.parse::<MemoryKind>().ok()?;
            let text: String = m.text.trim().chars().take(MAX_TEXT_CHARS).collect();
            let slot = m
                .slot
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty() && s.len() <= 40);
            (!text.is_empty()).then_some(MemoryCandidate { kind, text, slot })
        })
        .take(10)
        .collect();
    let reply = if shape.handoff {
        let reason = shape
            .handoff_reason
            .map(|r| r.trim().chars().take(200).collect::<String>())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "the assistant cannot help with this".to_owned());
        AssistantReply::Handoff {
            text: Some(reply).filter(|r| !r.is_empty()),
            reason,
        }
    } else if reply.is_empty() {
        return Err("the reply is empty".into());
    } else {
        AssistantReply::Answer {
            text: reply,
            entry_id: None,
            score: 1.0,
        }
    };
    let source = shape
        .source
        .map(|s| s.trim().trim_matches(['[', ']']).trim().to_owned())
        .filter(|s| !s.is_empty() && s.len() <= 200);
    let confidence = shape
        .confidence
        .as_ref()
        .and_then(serde_json::Value::as_f64)
        .and_then(Confidence::reported);
    Ok(ModelAnswer {
        reply,
        lead_stage,
        learned,
        source,
        confidence,
    })
}

/// Models asked for JSON without a schema often wrap it in a Markdown fence.
pub fn strip_fences(content: &str) -> &str {
    let t = content.trim();
    let Some(rest) = t.strip_prefix("```") else {
        return t;
    };
    let rest = rest.strip_prefix("json").unwrap_or(rest);
    rest.strip_suffix("```").unwrap_or(rest).trim()
}

pub fn looks_like_json(text: &str) -> bool {
    let t = text.trim();
    (t.starts_with('{') || t.starts_with('['))
        && serde_json::from_str::<serde_json::Value>(t).is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use serde_json::json;

    fn completion(content: &str, finish: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": content },
                          "finish_reason": finish }],
            "usage": { "prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150 },
        }))
        .unwrap()
    }

    fn answer(shape: serde_json::Value) -> Verdict {
        judge(200, None, &completion(&shape.to_string(), "stop"))
    }

    #[test]
    fn a_good_answer_is_taken() {
        let v = answer(json!({
            "reply": "We open at 9.", "handoff": false, "handoff_reason": null,
            "lead_stage": "info_only",
            "memories": [{ "kind": "fact", "text": "Lives in Porto", "slot": "City" },
                         { "kind": "opinion", "text": "ignored", "slot": null }],
        }));
        let Verdict::Answer(a) = v else {
            panic!("{v:?}")
        };
        assert_eq!(a.reply.text(), Some("We open at 9."));
        assert_eq!(a.lead_stage, Some(LeadStage::InfoOnly));
        assert_eq!(
            a.learned,
            vec![MemoryCandidate {
                kind: MemoryKind::Fact,
                text: "Lives in Porto".into(),
                slot: Some("city".into())
            }]
        );
        assert_eq!(usage_of(&completion("{}", "stop")).total(), 150);
    }

    #[test]
    fn a_handoff_carries_its_reason_and_an_optional_text() {
        let v = answer(
            json!({ "reply": "", "handoff": true, "handoff_reason": "refund",
                               "lead_stage": null, "memories": [] }),
        );
        assert_eq!(
            v,
            Verdict::Answer(ModelAnswer {
                reply: AssistantReply::Handoff {
                    text: None,
                    reason: "refund".into()
                },
                lead_stage: None,
                learned: vec![],
                source: None,
                confidence: None,
            })
        );
    }

    #[test]
    fn the_source_and_confidence_are_read_and_checked() {
        let body = |content: &str| {
            serde_json::json!({
                "choices": [{ "message": { "content": content }, "finish_reason": "stop" }],
            })
            .to_string()
        };
        let answer = |content: &str| match judge(200, None, body(content).as_bytes()) {
            Verdict::Answer(a) => (a.source, a.confidence.map(|c| c.get())),
            other => panic!("{other:?}"),
        };
        let table = [
            (
                r#"{"reply":"Yes","handoff":false,"source":"returns","confidence":0.9}"#,
                (Some("returns"), Some(0.9)),
            ),
            (
                r#"{"reply":"Yes","handoff":false,"source":"[returns]","confidence":85}"#,
                (Some("returns"), Some(0.85)),
            ),
            (
                r#"{"reply":"Yes","handoff":false,"source":null,"confidence":"high"}"#,
                (None, None),
            ),
            (
                r#"{"reply":"Yes","handoff":false,"source":"  ","confidence":-1}"#,
                (None, None),
            ),
            (r#"{"reply":"Yes","handoff":false}"#, (None, None)),
        ];
        for (content, (source, confidence)) in table {
            let (s, c) = answer(content);
            assert_eq!((s.as_deref(), c), (source, confidence), "{content}");
        }
    }

    #[test]
    fn answers_that_cannot_be_sent_are_retried() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (completion("not json at all", "stop"), "off the schema"),
            (completion("{\"reply\": \"cut", "length"), "cut off"),
            (completion("{\"answer\": \"x\"}", "stop"), "off the schema"),
            (
                completion(&json!({"reply": "{\"reply\": \"x\"}"}).to_string(), "stop"),
                "is JSON",
            ),
            (
                completion(&json!({"reply": "  "}).to_string(), "stop"),
                "empty",
            ),
            (
                completion(
                    &json!({"reply": "ok", "lead_stage": "hot"}).to_string(),
                    "stop",
                ),
                "off the schema",
            ),
            (b"<html>502</html>".to_vec(), "not a chat completion"),
            (br#"{"choices": []}"#.to_vec(), "no choices"),
        ];
        for (body, expected) in cases {
            match judge(200, None, &body) {
                Verdict::Retry {
                    reason,
                    after: None,
                } => {
                    assert!(reason.contains(expected), "{reason} vs {expected}")
                }
                other => panic!("{expected}: {other:?}"),
            }
        }
    }

    #[test]
    fn fenced_json_is_read() {
        let content = "```json\n{\"reply\": \"Hi\", \"handoff\": false}\n```";
        assert!(matches!(
            judge(200, None, &completion(content, "stop")),
            Verdict::Answer(_)
        ));
    }

    #[test]
    fn errors_are_retried_or_not_as_the_provider_means_them() {
        let err = |code: &str| {
            serde_json::to_vec(&json!({"error": {"message": "m", "type": code, "code": code}}))
                .unwrap()
        };
        let table: Vec<(u16, Option<&str>, Vec<u8>, Verdict)> = vec![
            (
                429,
                Some("2"),
                err("rate_limit_exceeded"),
                Verdict::Retry {
                    reason: "429 rate limited: m".into(),
                    after: Some(Duration::from_secs(2)),
                },
            ),
            (
                429,
                None,
                err("insufficient_quota"),
                Verdict::Fatal("429 insufficient_quota: m".into()),
            ),
            (
                429,
                Some("120"),
                err("rate_limit_exceeded"),
                Verdict::Fatal("429: asked to wait 120s: m".into()),
            ),
            (
                503,
                None,
                err("overloaded"),
                Verdict::Retry {
                    reason: "503: m".into(),
                    after: None,
                },
            ),
            (
                401,
                None,
                err("invalid_api_key"),
                Verdict::Fatal("401: m".into()),
            ),
            (
                404,
                None,
                b"nope".to_vec(),
                Verdict::Fatal("404: no error body".into()),
            ),
        ];
        for (status, retry_after, body, expected) in table {
            assert_eq!(judge(status, retry_after, &body), expected, "{status}");
        }
    }
}
