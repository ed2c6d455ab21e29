//! The built-in assistant that answers customers before (or instead of) a person.
//!
//! The default implementation, [`KnowledgeBaseAssistant`], ranks the entries of
//! a [`KnowledgeBase`] with BM25 and only answers when the best match is
//! convincing; otherwise it says it is unsure and offers a person. Being
//! confidently wrong is worse for a support inbox than handing off, so the
//! thresholds err on the side of [`AssistantReply::NoMatch`].
//!
//! It sits behind the [`Assistant`] trait so an LLM-backed provider can be
//! added later without touching the conversation flow.

pub mod bm25;
pub mod knowledge;

use std::{future::Future, pin::Pin};

use self::bm25::Bm25Index;
use self::knowledge::KnowledgeBase;

/// A boxed, sendable future, so [`Assistant`] stays object-safe.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What the assistant is asked: the customer's latest text (history may be
/// added later for LLM providers).
#[derive(Debug, Clone)]
pub struct AssistantRequest {
    pub text: String,
}

impl AssistantRequest {
    /// Convenience for callers that only have the customer's text.
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into() }
    }
}

/// The assistant's decision for one customer message.
#[derive(Debug, Clone, PartialEq)]
pub enum AssistantReply {
    /// A confident answer from the knowledge base.
    Answer {
        text: String,
        entry_id: String,
        score: f64,
    },
    /// Nothing matched well: the reply says so and offers a person.
    NoMatch { text: String },
}

impl AssistantReply {
    /// The text to send to the customer, whichever kind of reply this is.
    pub fn text(&self) -> &str {
        match self {
            Self::Answer { text, .. } | Self::NoMatch { text } => text,
        }
    }

    /// Whether the knowledge base had a confident answer (callers use this to
    /// decide whether to offer or trigger a handoff).
    pub fn is_match(&self) -> bool {
        matches!(self, Self::Answer { .. })
    }
}

/// Why the assistant could not produce any reply (as opposed to a
/// [`AssistantReply::NoMatch`], which is a normal outcome).
#[derive(Debug, thiserror::Error)]
pub enum AssistantError {
    #[error("assistant unavailable: {0}")]
    Unavailable(String),
}

/// Behind a trait so an LLM provider can be plugged in later; the future is
/// `'static + Send` so the conversation actor can await it without blocking
/// its mailbox.
pub trait Assistant: Send + Sync + 'static {
    fn reply(&self, request: AssistantRequest)
        -> BoxFuture<Result<AssistantReply, AssistantError>>;
}

/// Weight of an entry's question in the index. Questions are written to look
/// like what customers ask, so they are the strongest signal.
pub const QUESTION_WEIGHT: f64 = 1.0;
/// Weight of an entry's keywords: curated synonyms, as trustworthy as the question.
pub const KEYWORDS_WEIGHT: f64 = 1.0;
/// Weight of an entry's answer text. Answers mention many incidental words
/// ("order", "days", "account"), so they only help break ties and recall rare
/// words (e.g. a brand only named in an answer); a term found only in an answer is worth roughly a
/// third of a question hit, so in a knowledge base the size of the demo it
/// cannot clear [`DEFAULT_MIN_SCORE`] on its own.
pub const ANSWER_WEIGHT: f64 = 0.25;

/// Minimum BM25 score of the best entry: roughly "one reasonably distinctive
/// word in the question or keywords". With ~10–50 entries such a word scores
/// ≈ 1.5–3.5, while a word shared by a third of the entries, or found only in
/// an answer, scores below 1.2.
///
/// BM25 scores grow with the number of entries (IDF), so for a knowledge base
/// of only a handful of entries lower this (e.g. to 0.5) with
/// [`KnowledgeBaseAssistant::with_thresholds`].
pub const DEFAULT_MIN_SCORE: f64 = 1.2;
/// Minimum share of the query's known terms (IDF-weighted) that the best entry
/// must contain: the entry has to explain most of what was asked, not just
/// one word of a longer question about something else.
pub const DEFAULT_MIN_COVERAGE: f64 = 0.5;

/// How well the best entry matched; exposed so decisions can be logged,
/// explained and benchmarked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Index into [`KnowledgeBase::entries`].
    pub entry_index: usize,
    /// BM25 score of the entry for the query.
    pub score: f64,
    /// IDF-weighted share of the query's known terms the entry contains.
    pub coverage: f64,
}

/// Answers from a knowledge base, or says it cannot.
///
/// An answer is given when the best-ranked entry has
/// `score >= min_score` **and** `coverage >= min_coverage` (see
/// [`bm25::Bm25Index::coverage`]); both numbers are reported by
/// [`KnowledgeBaseAssistant::best_candidate`] so every decision can be explained.
#[derive(Debug, Clone)]
pub struct KnowledgeBaseAssistant {
    kb: KnowledgeBase,
    index: Bm25Index,
    min_score: f64,
    min_coverage: f64,
}

impl KnowledgeBaseAssistant {
    /// Indexes the knowledge base (question and keywords at full weight, answer
    /// at [`ANSWER_WEIGHT`]) with the default thresholds.
    pub fn new(kb: KnowledgeBase) -> Self {
        let docs: Vec<Vec<(String, f64)>> = kb
            .entries
            .iter()
            .map(|entry| {
                vec![
                    (entry.question.clone(), QUESTION_WEIGHT),
                    (entry.keywords.join(" "), KEYWORDS_WEIGHT),
                    (entry.answer.clone(), ANSWER_WEIGHT),
                ]
            })
            .collect();
        let index = Bm25Index::build_weighted(&docs);
        Self {
            kb,
            index,
            min_score: DEFAULT_MIN_SCORE,
            min_coverage: DEFAULT_MIN_COVERAGE,
        }
    }

    /// Overrides the answer thresholds (see the type docs). Raising them makes
    /// the assistant hand off more often; lowering them makes it guess more.
    pub fn with_thresholds(mut self, min_score: f64, min_coverage: f64) -> Self {
        self.min_score = min_score;
        self.min_coverage = min_coverage;
        self
    }

    /// The thresholds in use, as `(min_score, min_coverage)`.
    pub fn thresholds(&self) -> (f64, f64) {
        (self.min_score, self.min_coverage)
    }

    /// The knowledge base being served.
    pub fn knowledge_base(&self) -> &KnowledgeBase {
        &self.kb
    }

    /// The best-ranked entry and how well it matched, regardless of the
    /// thresholds; `None` when no entry shares a single term with the text.
    pub fn best_candidate(&self, text: &str) -> Option<Candidate> {
        let (entry_index, score) = self.index.search(text).into_iter().next()?;
        Some(Candidate {
            entry_index,
            score,
            coverage: self.index.coverage(text, entry_index),
        })
    }

    /// Synchronous core, used by reply() and by benchmarks.
    pub fn answer(&self, text: &str) -> AssistantReply {
        let confident = self
            .best_candidate(text)
            .filter(|c| c.score >= self.min_score && c.coverage >= self.min_coverage)
            .and_then(|c| Some((self.kb.entries.get(c.entry_index)?, c.score)));
        match confident {
            Some((entry, score)) => AssistantReply::Answer {
                text: entry.answer.clone(),
                entry_id: entry.id.clone(),
                score,
            },
            None => AssistantReply::NoMatch {
                text: self.kb.no_match_reply.clone(),
            },
        }
    }
}

impl Assistant for KnowledgeBaseAssistant {
    fn reply(
        &self,
        request: AssistantRequest,
    ) -> BoxFuture<Result<AssistantReply, AssistantError>> {
        // Ranking a small in-memory index takes microseconds, so it is done
        // eagerly and the future is already complete; it borrows nothing.
        Box::pin(std::future::ready(Ok(self.answer(&request.text))))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::{Context, Poll, Waker};

    fn demo() -> KnowledgeBaseAssistant {
        KnowledgeBaseAssistant::new(KnowledgeBase::demo())
    }

    fn entry_id(reply: &AssistantReply) -> Option<&str> {
        match reply {
            AssistantReply::Answer { entry_id, .. } => Some(entry_id),
            AssistantReply::NoMatch { .. } => None,
        }
    }

    #[track_caller]
    fn assert_answers(assistant: &KnowledgeBaseAssistant, query: &str, expected: &str) {
        let reply = assistant.answer(query);
        assert_eq!(
            entry_id(&reply),
            Some(expected),
            "{query:?} -> {reply:?} (best: {:?})",
            assistant.best_candidate(query)
        );
    }

    #[track_caller]
    fn assert_no_match(assistant: &KnowledgeBaseAssistant, query: &str) {
        let reply = assistant.answer(query);
        assert!(
            !reply.is_match(),
            "{query:?} -> {reply:?} (best: {:?})",
            assistant.best_candidate(query)
        );
        assert_eq!(reply.text(), assistant.knowledge_base().no_match_reply);
    }

    #[test]
    fn required_demo_questions_are_answered() {
        let a = demo();
        assert_answers(&a, "what are your opening hours?", "opening-hours");
        assert_answers(&a, "how long does shipping take", "shipping-times");
        assert_answers(&a, "can I return my shoes?", "returns");
        assert_answers(
            &a,
            "when will my order arrive, how do I track it",
            "order-tracking",
        );
    }

    #[test]
    fn every_demo_question_answers_itself() {
        let a = demo();
        for entry in &a.knowledge_base().entries {
            assert_answers(&a, &entry.question, &entry.id);
        }
    }

    #[test]
    fn paraphrases_are_answered() {
        let a = demo();
        for (query, expected) in [
            ("When do you open on Saturday?", "opening-hours"),
            ("are you open on sundays", "opening-hours"),
            ("What does delivery cost?", "shipping-costs"),
            ("is shipping free?", "shipping-costs"),
            (
                "do you deliver to Canada? I live abroad",
                "international-shipping",
            ),
            ("Do you ship to other countries", "international-shipping"),
            ("I want my money back", "refunds"),
            ("where is my parcel", "order-tracking"),
            ("can I pay with PayPal?", "payment-methods"),
            ("do you take visa", "payment-methods"),
            ("how long does it take to get my refund", "refunds"),
            ("I have not received my order", "order-tracking"),
            ("my blender is broken", "warranty"),
            ("what's your phone number", "contact"),
            ("Where are you located?", "store-location"),
            ("I changed my mind, cancel please", "cancel-order"),
            ("I typed the wrong address", "change-address"),
            ("any promo code?", "discounts"),
        ] {
            assert_answers(&a, query, expected);
        }
    }

    #[test]
    fn unrelated_or_empty_text_gets_no_match() {
        let a = demo();
        for query in [
            "xyzzy plugh",
            "what's the weather on Mars",
            "hello",
            "Hi!",
            "",
            "   ",
            "???",
            "thanks",
            "tell me a joke",
            "what is the meaning of life",
        ] {
            assert_no_match(&a, query);
        }
    }

    #[test]
    fn no_match_reply_offers_a_person() {
        let reply = demo().answer("xyzzy plugh");
        assert_eq!(
            reply,
            AssistantReply::NoMatch {
                text: knowledge::DEFAULT_NO_MATCH_REPLY.to_owned()
            }
        );
        // The reply's suggestions are recognised by the default handoff list.
        let phrases = crate::domain::handoff::HandoffPhrases::defaults();
        assert!(phrases.matches("agent"));
        assert!(phrases.matches("talk to a human"));
    }

    #[test]
    fn answer_carries_entry_text_id_and_score() {
        let a = demo();
        let reply = a.answer("How can I track my order?");
        let entry = a.knowledge_base().entry("order-tracking").unwrap();
        match &reply {
            AssistantReply::Answer {
                text,
                entry_id,
                score,
            } => {
                assert_eq!(text, &entry.answer);
                assert_eq!(entry_id, "order-tracking");
                assert!(*score >= DEFAULT_MIN_SCORE);
            }
            other => panic!("expected an answer, got {other:?}"),
        }
        assert!(reply.is_match());
        assert_eq!(reply.text(), entry.answer);
    }

    #[test]
    fn thresholds_gate_the_answer() {
        // A two-entry knowledge base: IDFs are tiny at this size, so the
        // default score threshold (calibrated for ~10+ entries) is replaced.
        let kb = KnowledgeBase::from_toml_str(
            r#"
            [[entry]]
            id = "returns"
            question = "Can I return an item?"
            answer = "Yes, within 30 days."
            [[entry]]
            id = "shipping"
            question = "How long does shipping take?"
            answer = "2-4 days."
            "#,
        )
        .unwrap();
        let lenient = KnowledgeBaseAssistant::new(kb.clone()).with_thresholds(0.0, 0.0);
        let query = "can I return my shoes";
        let best = lenient.best_candidate(query).unwrap();
        assert_eq!(best.entry_index, 0);
        assert!(
            (best.coverage - 1.0).abs() < 1e-12,
            "unknown 'shoes' is ignored"
        );
        assert!(lenient.answer(query).is_match());

        let strict_score =
            KnowledgeBaseAssistant::new(kb.clone()).with_thresholds(best.score + 0.01, 0.0);
        assert_eq!(strict_score.thresholds(), (best.score + 0.01, 0.0));
        assert!(!strict_score.answer(query).is_match());
        let exact_score = KnowledgeBaseAssistant::new(kb.clone()).with_thresholds(best.score, 1.0);
        assert!(
            exact_score.answer(query).is_match(),
            "thresholds are inclusive"
        );

        // "return shipping": the best entry covers only part of the query.
        let mixed = "return shipping";
        let best = lenient.best_candidate(mixed).unwrap();
        assert!(best.coverage > 0.0 && best.coverage < 0.6, "{best:?}");
        assert!(lenient.answer(mixed).is_match());
        let strict_coverage = KnowledgeBaseAssistant::new(kb).with_thresholds(0.0, 0.6);
        assert!(!strict_coverage.answer(mixed).is_match());
    }

    #[test]
    fn default_thresholds() {
        let a = demo();
        assert_eq!(a.thresholds(), (DEFAULT_MIN_SCORE, DEFAULT_MIN_COVERAGE));
        // A lone common word scores below the bar even though it is fully covered.
        let best = a.best_candidate("order").unwrap();
        assert!((best.coverage - 1.0).abs() < 1e-12);
        assert!(best.score < DEFAULT_MIN_SCORE, "{best:?}");
        assert_no_match(&a, "order");
        // A word that only appears in an answer is not enough either.
        let best = a.best_candidate("account").unwrap();
        assert!(best.score < DEFAULT_MIN_SCORE, "{best:?}");
        assert_no_match(&a, "account");
    }

    #[test]
    fn questions_spanning_several_entries_get_no_match() {
        let a = demo();
        // Each entry only covers a small share of the question, so none is
        // confidently "the" answer; a person handles it better.
        for query in [
            "what are your opening hours and how long does shipping take and can I get a refund",
            "opening hours, returns and payment methods",
        ] {
            let best = a.best_candidate(query).unwrap();
            assert!(best.score >= DEFAULT_MIN_SCORE, "{best:?}");
            assert!(best.coverage < DEFAULT_MIN_COVERAGE, "{best:?}");
            assert_no_match(&a, query);
        }
    }

    #[test]
    fn ranking_prefers_the_entry_covering_more_of_the_query() {
        let a = demo();
        // All three mention shipping; the extra words decide.
        assert_answers(&a, "how much does shipping cost", "shipping-costs");
        assert_answers(&a, "shipping time", "shipping-times");
        assert_answers(&a, "international shipping", "international-shipping");
        // "order" appears in several entries; "cancel" decides.
        assert_answers(&a, "cancel order", "cancel-order");
        assert_answers(&a, "change the address on my order", "change-address");
    }

    #[test]
    fn reply_future_resolves_immediately() {
        let assistant: Arc<dyn Assistant> = Arc::new(demo());
        let mut future = assistant.reply(AssistantRequest::new("what are your opening hours?"));
        drop(assistant); // the future must not borrow the assistant
        let mut cx = Context::from_waker(Waker::noop());
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(Ok(reply)) => {
                assert_eq!(entry_id(&reply), Some("opening-hours"));
            }
            other => panic!("expected a ready reply, got {other:?}"),
        }
    }

    #[test]
    fn assistant_types_are_thread_safe() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<KnowledgeBaseAssistant>();
        assert_send_sync::<AssistantReply>();
        assert_send_sync::<AssistantError>();
    }

    #[test]
    fn error_message() {
        let err = AssistantError::Unavailable("provider timed out".into());
        assert_eq!(err.to_string(), "assistant unavailable: provider timed out");
    }
}
