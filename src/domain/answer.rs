//! The assistant's answers as agents see and judge them: what an answer rests on (a
//! knowledge-base entry or a model, with a confidence), whether it answered at all, an
//! agent's "this answer was wrong", and the key that groups the questions it could not
//! answer for the knowledge-base report.
//!
//! Pure rules, table-tested here; the assistant computes the inputs, the conversation actor
//! stores them with the message, and the reviewer and the report read them back.

use std::{collections::HashMap, fmt, str::FromStr};

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    terms::tokenize,
    types::{text_enum, UnknownName},
    AgentId, ConversationId, MessageId,
};

/// How sure the assistant was of an answer, from 0 (a guess) to 1 (certain).
///
/// For the knowledge base it is computed from the match ([`Confidence::of_match`]); a
/// language model reports its own ([`Confidence::reported`]), which is an opinion, not a
/// measurement, and the dashboard says which of the two it shows.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Confidence(f64);

impl Confidence {
    /// A knowledge-base match: how much of the question the entry explains (`coverage`,
    /// 0–1), discounted when another entry explains it almost as well (`margin`, 0–1: the
    /// best entry's lead over the runner-up as a share of its score). A full match with no
    /// rival is 1; the same match tied with another entry is 0.5, because then the answer
    /// is a coin toss between two entries.
    pub fn of_match(coverage: f64, margin: f64) -> Confidence {
        let coverage = unit(coverage);
        let margin = unit(margin);
        Confidence::round(coverage * (0.5 + 0.5 * margin))
    }

    /// A value a model reported: kept when it is a number in 0–1 (a percentage 1–100 is
    /// read as one, as models sometimes answer "85"); anything else is no confidence.
    pub fn reported(value: f64) -> Option<Confidence> {
        if !value.is_finite() || value < 0.0 {
            return None;
        }
        let v = if value > 1.0 && value <= 100.0 {
            value / 100.0
        } else {
            value
        };
        (v <= 1.0).then(|| Confidence::round(v))
    }

    /// As stored (two decimals, so equal answers compare equal after a round trip).
    pub fn get(self) -> f64 {
        self.0
    }

    /// Whole percent, for people.
    pub fn percent(self) -> u8 {
        // 0–1 by construction, so 0–100 fits.
        (self.0 * 100.0).round().clamp(0.0, 100.0) as u8
    }

    fn round(v: f64) -> Confidence {
        Confidence((unit(v) * 100.0).round() / 100.0)
    }
}

fn unit(v: f64) -> f64 {
    if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

text_enum!(
    /// Whether the assistant answered the customer's question or said it could not.
    AnswerOutcome, "answer outcome" {
        /// A confident answer (an entry, or the model's own words).
        Answered => "answered",
        /// Nothing matched well enough: the reply said so and offered a person.
        NoMatch => "no_match",
    }
);

/// The longest question stored with an answer, in characters: a customer's turn can be a
/// long paragraph, and the report needs only enough to recognise it.
pub const MAX_QUESTION_CHARS: usize = 500;
/// The longest reason an agent can give for marking an answer wrong, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// The question as stored: whitespace collapsed, cut to [`MAX_QUESTION_CHARS`].
pub fn stored_question(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.chars().take(MAX_QUESTION_CHARS).collect()
}

/// The key that groups questions asked in different words for the knowledge-base report:
/// the distinct terms the knowledge base ranks with (lower case, stemmed, function words
/// and numbers left out), sorted. "Where is my order?" and "where's my order??" share one;
/// an order number does not split a question in two. Empty when nothing is left (a bare
/// "hi" or an emoji): such turns are not questions the knowledge base could answer.
pub fn question_key(text: &str) -> String {
    let mut terms: Vec<String> = tokenize(text)
        .into_iter()
        .filter(|t| !t.chars().all(|c| c.is_ascii_digit()))
        .collect();
    terms.sort();
    terms.dedup();
    terms.join(" ")
}

/// An agent's reason for marking an answer wrong: trimmed, empty is none, and a 422 when
/// it is longer than [`MAX_REASON_CHARS`].
pub fn reason(text: Option<&str>) -> Result<Option<String>, String> {
    let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if t.chars().count() > MAX_REASON_CHARS {
        return Err(format!(
            "the reason is longer than {MAX_REASON_CHARS} characters"
        ));
    }
    Ok(Some(t.to_owned()))
}

/// Accuracy points an agent's mark costs: the reviewer cannot check answers itself, so a
/// person saying one was wrong is the strongest evidence it has. One wrong answer costs
/// most of the criterion's 15, two cost all of it.
pub const POINTS_PER_WRONG_ANSWER: u8 = 8;

/// How many conversations and examples one line of the knowledge-base report names.
pub const EXAMPLES: usize = 5;
/// How many lines each list of the report has at most.
pub const REPORT_LINES: usize = 100;

/// A knowledge-base entry as agents know it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, ToSchema)]
pub struct EntryView {
    pub id: String,
    pub question: String,
}

/// One "I could not answer" of the assistant, as the report reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Unanswered {
    pub key: String,
    pub question: String,
    pub at: NaiveDateTime,
    pub conversation: ConversationId,
    /// The closest entry, if any matched at all.
    pub closest: Option<EntryView>,
}

/// A question the assistant could not answer, asked `count` times in the period.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct UnansweredQuestion {
    /// The latest wording of it.
    pub question: String,
    pub count: u64,
    /// RFC 3339, UTC.
    pub last_asked_at: String,
    /// The latest conversations it was asked in (at most 5).
    #[schema(value_type = Vec<String>)]
    pub conversations: Vec<ConversationId>,
    /// The entry that came closest most often: the one to improve, or none to write anew.
    pub closest_entry: Option<EntryView>,
}

/// Groups the misses (latest first) by [`question_key`]: most frequent first, then the most
/// recent; at most [`REPORT_LINES`]. Turns without a key (a bare "hi") are left out.
pub fn unanswered_questions(rows: &[Unanswered]) -> Vec<UnansweredQuestion> {
    struct Group<'a> {
        latest: &'a Unanswered,
        count: u64,
        conversations: Vec<ConversationId>,
        closest: HashMap<&'a EntryView, u64>,
    }
    let mut order: Vec<&str> = Vec::new();
    let mut groups: HashMap<&str, Group<'_>> = HashMap::new();
    for row in rows.iter().filter(|r| !r.key.is_empty()) {
        let g = groups.entry(&row.key).or_insert_with(|| {
            order.push(&row.key);
            Group {
                latest: row,
                count: 0,
                conversations: Vec::new(),
                closest: HashMap::new(),
            }
        });
        g.count += 1;
        if row.at > g.latest.at {
            g.latest = row;
        }
        if g.conversations.len() < EXAMPLES && !g.conversations.contains(&row.conversation) {
            g.conversations.push(row.conversation);
        }
        if let Some(e) = &row.closest {
            *g.closest.entry(e).or_default() += 1;
        }
    }
    let mut lines: Vec<UnansweredQuestion> = order
        .into_iter()
        .filter_map(|k| groups.remove(k))
        .map(|g| UnansweredQuestion {
            question: g.latest.question.clone(),
            count: g.count,
            last_asked_at: g.latest.at.and_utc().to_rfc3339(),
            conversations: g.conversations,
            closest_entry: g
                .closest
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.id.cmp(&a.0.id)))
                .map(|(e, _)| e.clone()),
        })
        .collect();
    // Stable: equal counts keep the latest first (RFC 3339 strings of one offset sort as
    // times).
    lines.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| b.last_asked_at.cmp(&a.last_asked_at))
    });
    lines.truncate(REPORT_LINES);
    lines
}

/// One answer an agent marked wrong, as the report reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Wrong {
    pub message: MessageId,
    pub conversation: ConversationId,
    pub entry: Option<EntryView>,
    /// The model, when one wrote it.
    pub model: Option<String>,
    pub question: String,
    pub reason: Option<String>,
    pub by: Option<AgentId>,
    pub at: NaiveDateTime,
}

/// An agent's mark, as an example in the report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WrongExample {
    pub question: String,
    pub reason: Option<String>,
    #[schema(value_type = String)]
    pub conversation_id: ConversationId,
    #[schema(value_type = String)]
    pub message_id: MessageId,
    #[schema(value_type = Option<String>)]
    pub marked_by: Option<AgentId>,
    /// RFC 3339, UTC.
    pub marked_at: String,
}

/// The answers marked wrong that rested on one entry (or, with no entry, on one model).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WrongAnswers {
    pub entry: Option<EntryView>,
    pub model: Option<String>,
    pub count: u64,
    /// The latest marks (at most 5).
    pub examples: Vec<WrongExample>,
}

/// Groups the marks (latest first) by the entry the answer rested on, or by its model when
/// it rested on none: most marked first; at most [`REPORT_LINES`].
pub fn wrong_answers(rows: &[Wrong]) -> Vec<WrongAnswers> {
    let mut lines: Vec<WrongAnswers> = Vec::new();
    for row in rows {
        let same = |l: &&mut WrongAnswers| match (&l.entry, &row.entry) {
            (Some(a), Some(b)) => a.id == b.id,
            (None, None) => l.model == row.model,
            _ => false,
        };
        let line = match lines.iter_mut().find(|l| same(l)) {
            Some(line) => line,
            None => {
                lines.push(WrongAnswers {
                    entry: row.entry.clone(),
                    model: row.entry.is_none().then(|| row.model.clone()).flatten(),
                    count: 0,
                    examples: Vec::new(),
                });
                let last = lines.len() - 1;
                &mut lines[last]
            }
        };
        line.count += 1;
        if line.examples.len() < EXAMPLES {
            line.examples.push(WrongExample {
                question: row.question.clone(),
                reason: row.reason.clone(),
                conversation_id: row.conversation,
                message_id: row.message,
                marked_by: row.by,
                marked_at: row.at.and_utc().to_rfc3339(),
            });
        }
    }
    lines.sort_by_key(|l| std::cmp::Reverse(l.count));
    lines.truncate(REPORT_LINES);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_match_is_as_sure_as_its_coverage_and_its_lead() {
        // (coverage, margin, confidence)
        let table = [
            (1.0, 1.0, 1.0),
            (1.0, 0.0, 0.5),
            (0.8, 1.0, 0.8),
            (0.8, 0.5, 0.6),
            (0.5, 0.2, 0.3),
            (0.0, 1.0, 0.0),
            // Out of range or not a number: clamped, never above 1 or below 0.
            (1.7, 2.0, 1.0),
            (-1.0, 1.0, 0.0),
            (f64::NAN, 1.0, 0.0),
            (1.0, f64::INFINITY, 0.5),
        ];
        for (coverage, margin, expected) in table {
            let c = Confidence::of_match(coverage, margin);
            assert!(
                (c.get() - expected).abs() < 1e-9,
                "{coverage} {margin} -> {c:?}, expected {expected}"
            );
        }
        assert_eq!(Confidence::of_match(0.876, 1.0).get(), 0.88);
        assert_eq!(Confidence::of_match(0.876, 1.0).percent(), 88);
    }

    #[test]
    fn a_reported_confidence_is_kept_only_when_it_is_a_share_or_a_percentage() {
        let table = [
            (0.0, Some(0.0)),
            (0.85, Some(0.85)),
            (1.0, Some(1.0)),
            (85.0, Some(0.85)),
            (100.0, Some(1.0)),
            (100.5, None),
            (-0.1, None),
            (f64::NAN, None),
            (f64::INFINITY, None),
        ];
        for (value, expected) in table {
            assert_eq!(
                Confidence::reported(value).map(Confidence::get),
                expected,
                "{value}"
            );
        }
    }

    #[test]
    fn questions_in_different_words_share_a_key() {
        let same = [
            ("Where is my order?", "where's my order??"),
            ("WHERE IS MY ORDER", "  where   is my order  "),
            ("Where is my order 12345?", "where is my order 999"),
            ("Do you ship to Spain?", "do you ship to spain"),
        ];
        for (a, b) in same {
            assert_eq!(question_key(a), question_key(b), "{a:?} vs {b:?}");
            assert!(!question_key(a).is_empty(), "{a:?}");
        }
        let different = [
            ("Where is my order?", "Where is my refund?"),
            ("Do you ship to Spain?", "Do you ship to Italy?"),
        ];
        for (a, b) in different {
            assert_ne!(question_key(a), question_key(b), "{a:?} vs {b:?}");
        }
        for nothing in ["", "hi", "  ", "123", "thanks!"] {
            assert_eq!(question_key(nothing), "", "{nothing:?}");
        }
    }

    #[test]
    fn stored_questions_are_one_line_and_bounded() {
        assert_eq!(
            stored_question("  where\n is\tmy  order "),
            "where is my order"
        );
        let long = "é".repeat(MAX_QUESTION_CHARS + 10);
        assert_eq!(stored_question(&long).chars().count(), MAX_QUESTION_CHARS);
    }

    #[test]
    fn reasons_are_trimmed_optional_and_bounded() {
        assert_eq!(reason(None), Ok(None));
        assert_eq!(reason(Some("   ")), Ok(None));
        assert_eq!(
            reason(Some(" wrong price ")),
            Ok(Some("wrong price".to_owned()))
        );
        assert!(reason(Some(&"x".repeat(MAX_REASON_CHARS))).is_ok());
        assert!(reason(Some(&"x".repeat(MAX_REASON_CHARS + 1))).is_err());
    }

    #[test]
    fn outcomes_round_trip() {
        for o in AnswerOutcome::ALL {
            assert_eq!(o.as_str().parse::<AnswerOutcome>(), Ok(*o));
        }
        assert!("maybe".parse::<AnswerOutcome>().is_err());
    }

    fn at(minute: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
            .and_then(|d| d.and_hms_opt(10, minute, 0))
            .unwrap_or_default()
    }

    fn entry(id: &str) -> EntryView {
        EntryView {
            id: id.to_owned(),
            question: format!("About {id}?"),
        }
    }

    fn miss(
        q: &str,
        minute: u32,
        conversation: ConversationId,
        closest: Option<&str>,
    ) -> Unanswered {
        Unanswered {
            key: question_key(q),
            question: q.to_owned(),
            at: at(minute),
            conversation,
            closest: closest.map(entry),
        }
    }

    #[test]
    fn the_most_asked_question_comes_first_with_its_latest_wording() {
        let (a, b, c) = (
            ConversationId::new(),
            ConversationId::new(),
            ConversationId::new(),
        );
        // Latest first, as the query reads them.
        let rows = vec![
            miss("Do you ship to Spain?", 50, a, Some("shipping")),
            miss("hi", 45, b, None),
            miss("Can I pay with PayPal?", 40, b, None),
            miss("do you ship to spain", 30, b, Some("shipping")),
            miss("Do you ship to Spain??", 20, c, Some("returns")),
            miss("Do you ship to Spain", 10, a, Some("shipping")),
        ];
        let lines = unanswered_questions(&rows);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0].question, "Do you ship to Spain?");
        assert_eq!(lines[0].count, 4);
        assert_eq!(lines[0].conversations, vec![a, b, c]);
        assert_eq!(lines[0].closest_entry, Some(entry("shipping")));
        assert_eq!(lines[0].last_asked_at, "2026-12-01T10:50:00+00:00");
        assert_eq!(lines[1].question, "Can I pay with PayPal?");
        assert_eq!(lines[1].count, 1);
        assert_eq!(lines[1].closest_entry, None);
        assert!(unanswered_questions(&[]).is_empty());
    }

    #[test]
    fn equal_counts_put_the_latest_first_and_the_list_is_bounded() {
        let id = ConversationId::new();
        let rows = vec![
            miss("refund paypal", 5, id, None),
            miss("ship spain", 9, id, None),
        ];
        let lines = unanswered_questions(&rows);
        assert_eq!(lines[0].question, "ship spain");
        let many: Vec<Unanswered> = (0..REPORT_LINES + 20)
            .map(|i| Unanswered {
                key: format!("topic{i}"),
                question: format!("topic{i}"),
                at: at(0),
                conversation: id,
                closest: None,
            })
            .collect();
        assert_eq!(unanswered_questions(&many).len(), REPORT_LINES);
    }

    #[test]
    fn wrong_answers_group_by_entry_then_by_model() {
        let c = ConversationId::new();
        let wrong = |entry_id: Option<&str>, model: Option<&str>, minute: u32| Wrong {
            message: MessageId::new(),
            conversation: c,
            entry: entry_id.map(entry),
            model: model.map(str::to_owned),
            question: format!("q{minute}"),
            reason: Some("out of date".to_owned()),
            by: None,
            at: at(minute),
        };
        let rows = vec![
            wrong(Some("returns"), None, 50),
            wrong(None, Some("gpt-x"), 40),
            wrong(Some("returns"), Some("gpt-x"), 30),
            wrong(Some("shipping"), None, 20),
            wrong(None, Some("gpt-x"), 10),
            wrong(Some("returns"), None, 5),
        ];
        let lines = wrong_answers(&rows);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0].entry, Some(entry("returns")));
        assert_eq!(lines[0].count, 3);
        assert_eq!(lines[0].model, None);
        assert_eq!(lines[0].examples[0].question, "q50");
        assert_eq!(lines[1].entry, None);
        assert_eq!(lines[1].model.as_deref(), Some("gpt-x"));
        assert_eq!(lines[1].count, 2);
        assert_eq!(lines[2].entry, Some(entry("shipping")));
    }
}
