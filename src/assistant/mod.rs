//! The built-in assistant that answers customers before (or instead of) a person.
//!
//! The default implementation, [`KnowledgeBaseAssistant`], ranks the entries of
//! a [`KnowledgeBase`] with BM25 and only answers when the best match is
//! convincing; otherwise it says it is unsure and offers a person. Being
//! confidently wrong is worse for a support inbox than handing off, so the
//! thresholds err on the side of [`AssistantReply::NoMatch`].
//!
//! Its rules are about how well a message matches, not about what it says:
//! complaints (a double charge, fraud, a broken delivery, anger) are recognised
//! before the assistant is asked, by
//! [`HandoffPhrases::complaints`](crate::domain::handoff::HandoffPhrases::complaints),
//! and go to a person. The rules are the safety net for those the phrase list
//! misses.
//!
//! It sits behind the [`Assistant`] trait beside the language-model assistant
//! ([`llm`]), which uses it to pick the knowledge it puts into its prompt and to
//! answer when the model fails; [`roster`] holds the configured assistants.

pub mod bm25;
pub mod knowledge;
pub mod llm;
pub mod roster;

use std::{future::Future, pin::Pin};

use self::bm25::Bm25Index;
use self::knowledge::KnowledgeBase;
use crate::domain::{
    answer::Confidence,
    memory::MemoryCandidate,
    types::{Author, LeadStage},
    MessageId,
};

/// A boxed, sendable future, so [`Assistant`] stays object-safe.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// One earlier message of the conversation, as the assistant sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub author: Author,
    /// Agents are named ("Bob"), so the model knows a person spoke.
    pub name: Option<String>,
    pub text: String,
}

/// What the assistant is asked.
#[derive(Debug, Clone, Default)]
pub struct AssistantRequest {
    /// The customer's turn: what they wrote since the last answer, oldest first, one line
    /// each.
    pub text: String,
    /// The messages before the turn, oldest first (customers, the assistant and agents; no
    /// notes or system events). Empty for the knowledge-base assistant, which reads none.
    pub history: Vec<Turn>,
    /// What is known about the contact, on every channel: `(kind, text)`.
    pub memories: Vec<(String, String)>,
    pub contact_name: Option<String>,
    /// The customer's latest message of the turn: what is learned is filed under it.
    pub source: Option<MessageId>,
}

impl AssistantRequest {
    /// Convenience for callers that only have the customer's text.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }
}

/// The assistant's decision for one customer turn.
#[derive(Debug, Clone, PartialEq)]
pub enum AssistantReply {
    /// A confident answer (from the knowledge base, or a language model).
    Answer {
        text: String,
        /// The knowledge-base entry, when the answer is one.
        entry_id: Option<String>,
        score: f64,
    },
    /// Nothing matched well: the reply says so and offers a person.
    NoMatch { text: String },
    /// A person should answer: the customer asked for one, or the assistant cannot help.
    /// `text` is what the customer is told meanwhile, if anything.
    Handoff {
        text: Option<String>,
        reason: String,
    },
}

impl AssistantReply {
    /// The text to send to the customer, if any.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Answer { text, .. } | Self::NoMatch { text } => Some(text),
            Self::Handoff { text, .. } => text.as_deref(),
        }
    }

    /// Whether the assistant had a confident answer (callers use this to decide whether to
    /// offer or trigger a handoff).
    pub fn is_match(&self) -> bool {
        matches!(self, Self::Answer { .. })
    }
}

/// Tokens a language model used for one answer (zero for the knowledge base).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub requests: u32,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }

    pub fn add(&mut self, other: Usage) {
        self.requests = self.requests.saturating_add(other.requests);
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
    }
}

/// Who produced an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerSource {
    KnowledgeBase,
    Model,
    /// The model failed; the knowledge base answered instead.
    KnowledgeBaseFallback,
}

impl AnswerSource {
    /// As stored with the answer (`answered_by` in the message's payload).
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerSource::KnowledgeBase => "knowledge_base",
            AnswerSource::Model => "model",
            AnswerSource::KnowledgeBaseFallback => "knowledge_base_fallback",
        }
    }
}

/// The assistant's answer and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Answered {
    pub reply: AssistantReply,
    pub source: AnswerSource,
    /// Tokens used, failed tries included.
    pub usage: Usage,
    /// Where the conversation stands as a lead, as the model judged it.
    pub lead_stage: Option<LeadStage>,
    /// What the assistant learned about the contact (a language model's `memories`), and
    /// the customer's message it learned it from.
    pub learned: Vec<MemoryCandidate>,
    pub learned_from: Option<MessageId>,
    /// What the answer rests on, shown to agents beside it.
    pub basis: Basis,
}

/// What an answer rests on: the knowledge-base entry (for a miss, the closest one), the
/// model that wrote it, and how sure the assistant was. Stored with the message so agents
/// can tell a sure answer from a guess, and with the entry's question as it was then.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Basis {
    pub entry: Option<EntryRef>,
    pub model: Option<String>,
    pub confidence: Option<Confidence>,
}

/// A knowledge-base entry, named as agents know it.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryRef {
    pub id: String,
    pub question: String,
}

impl EntryRef {
    fn of(entry: &knowledge::Entry) -> EntryRef {
        EntryRef {
            id: entry.id.clone(),
            question: entry.question.clone(),
        }
    }
}

impl Answered {
    /// An answer that cost nothing and learned nothing.
    pub fn plain(reply: AssistantReply, source: AnswerSource) -> Answered {
        Answered {
            reply,
            source,
            usage: Usage::default(),
            lead_stage: None,
            learned: Vec::new(),
            learned_from: None,
            basis: Basis::default(),
        }
    }
}

/// Why the assistant could not produce any reply (as opposed to a
/// [`AssistantReply::NoMatch`], which is a normal outcome).
#[derive(Debug, thiserror::Error)]
pub enum AssistantError {
    #[error("assistant unavailable: {reason}")]
    Unavailable {
        reason: String,
        /// Tokens the failed tries used (they are billed all the same).
        usage: Usage,
    },
    #[error("the assistant's daily token budget is spent")]
    BudgetExhausted,
}

impl AssistantError {
    pub fn usage(&self) -> Usage {
        match self {
            AssistantError::Unavailable { usage, .. } => *usage,
            AssistantError::BudgetExhausted => Usage::default(),
        }
    }
}

/// Behind a trait so the conversation flow is the same whatever answers; the future is
/// `'static + Send` so the conversation actor can await it without blocking its mailbox.
pub trait Assistant: Send + Sync + 'static {
    fn reply(&self, request: AssistantRequest) -> BoxFuture<Result<Answered, AssistantError>>;

    /// Answers the customer's `text`. An assistant that reads the history and the memories
    /// (a language model) calls `load` for them once it is its turn to ask, so a request
    /// waiting for the model holds nothing but this; the knowledge base reads only `text`.
    fn reply_to(
        &self,
        text: String,
        load: ContextLoader,
    ) -> BoxFuture<Result<Answered, AssistantError>> {
        drop(load);
        self.reply(AssistantRequest::new(text))
    }
}

/// Reads the full request (history, memories, the customer's turn) from the store.
pub type ContextLoader = Box<dyn FnOnce() -> BoxFuture<AssistantRequest> + Send>;

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
/// `[assistant] min_score` in its file.
pub const DEFAULT_MIN_SCORE: f64 = 1.2;
/// Minimum share of the query's known terms (IDF-weighted) that the best entry
/// must contain: the entry has to explain most of what was asked, not just
/// one word of a longer question about something else.
pub const DEFAULT_MIN_COVERAGE: f64 = 0.5;
/// Minimum lead of the best entry over the runner-up, as a share of the best
/// score: `(best − second) / best`. At 0.2 the best entry must score at least
/// 25% more than any other. Below that, two entries explain the message about
/// equally well ("My package arrived damaged" is as much about tracking as
/// about the warranty), and picking one is a coin toss a person should make.
/// It is a ratio, so unlike [`DEFAULT_MIN_SCORE`] it does not depend on the
/// size of the knowledge base.
pub const DEFAULT_MIN_MARGIN: f64 = 0.2;
/// Minimum share of the message's words (distinct terms, numbers left out)
/// that the knowledge base uses anywhere, in a question, keywords or an answer.
///
/// Coverage ([`DEFAULT_MIN_COVERAGE`]) deliberately ignores words the knowledge
/// base never uses, so that "can I return my *shoes*?" is still about returns.
/// But when *most* of a message is foreign to the knowledge base, its one
/// familiar word is a coincidence: "I was charged twice, this is fraud!!" is
/// not a question about the shipping `charge`, and an Arabic message with an
/// English word or an order number in it is not written in the knowledge
/// base's language at all. A knowledge base knows the vocabulary of its own
/// domain, so a message that is mostly other words is about something it does
/// not cover. Half lets one unknown word through for each known one ("my
/// *blender* is broken").
pub const DEFAULT_MIN_KNOWN_SHARE: f64 = 0.5;

/// When the assistant answers; set per knowledge base in its file's
/// `[assistant]` table (see [`knowledge`]), with the `DEFAULT_*` constants of
/// this module as defaults.
///
/// All four must hold, and all are inclusive. Raising any of them makes the
/// assistant hand off more often; lowering them makes it guess more.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Minimum BM25 score of the best entry ([`DEFAULT_MIN_SCORE`]).
    pub min_score: f64,
    /// Minimum IDF-weighted share of the message's known terms found in the
    /// best entry ([`DEFAULT_MIN_COVERAGE`]).
    pub min_coverage: f64,
    /// Minimum `(best − second) / best` ([`DEFAULT_MIN_MARGIN`]).
    pub min_margin: f64,
    /// Minimum share of the message's words known to the knowledge base
    /// ([`DEFAULT_MIN_KNOWN_SHARE`]).
    pub min_known_share: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            min_score: DEFAULT_MIN_SCORE,
            min_coverage: DEFAULT_MIN_COVERAGE,
            min_margin: DEFAULT_MIN_MARGIN,
            min_known_share: DEFAULT_MIN_KNOWN_SHARE,
        }
    }
}

/// Which rule kept the assistant from answering, so a
/// [`AssistantReply::NoMatch`] can be logged and explained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsure {
    /// No entry shares a single term with the message (or the message is only
    /// a channel placeholder such as `[image]`, see [`customer_words`]).
    NothingMatched,
    /// Most of the message's words are unknown to the knowledge base.
    UnknownWords,
    /// The best entry's score is below `min_score`.
    LowScore,
    /// The best entry explains too little of the message.
    LowCoverage,
    /// Another entry scores almost as well as the best.
    Ambiguous,
}

impl Thresholds {
    /// Whether `candidate` is convincing enough to answer with; otherwise the
    /// first rule it fails, checked in the order of [`Unsure`]'s variants.
    pub fn check(&self, candidate: &Candidate) -> Result<(), Unsure> {
        if candidate.known_share < self.min_known_share {
            Err(Unsure::UnknownWords)
        } else if candidate.score < self.min_score {
            Err(Unsure::LowScore)
        } else if candidate.coverage < self.min_coverage {
            Err(Unsure::LowCoverage)
        } else if candidate.margin < self.min_margin {
            Err(Unsure::Ambiguous)
        } else {
            Ok(())
        }
    }
}

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
    /// The second-best entry, if any other entry matched at all.
    pub runner_up: Option<usize>,
    /// `(score − runner-up's score) / score`: 1 when no other entry matched,
    /// 0 on a tie.
    pub margin: f64,
    /// Share of the message's words the knowledge base knows (see
    /// [`bm25::Bm25Index::known_share`]).
    pub known_share: f64,
}

/// The part of a stored message body that the customer wrote, or `""` when
/// the message holds nothing to answer.
///
/// Messages that are not plain text reach the assistant as the one-line
/// summary the channels store for them
/// ([`crate::providers::normalized::Content::summary`]): `[image] caption`,
/// `[location 51.5, -0.12] Office`, `[unsupported: reaction]`. The bracketed
/// tag is ours, not the customer's, and ranking it misleads: `location` is a
/// keyword of the demo's showroom entry, so a shared map pin was answered
/// with the showroom address. So:
///
/// - a location or an unsupported item is not a question at all: `""`;
/// - a media tag (`[image]`, `[video]`, `[document]`, `[audio]`, `[voice]`,
///   `[sticker]`) is dropped and what follows it (the caption, or the file
///   name) is kept, since a caption is the customer's own words.
///
/// Anything else is returned unchanged.
pub fn customer_words(text: &str) -> &str {
    const MEDIA_TAGS: [&str; 6] = [
        "[image]",
        "[video]",
        "[document]",
        "[audio]",
        "[voice]",
        "[sticker]",
    ];
    let trimmed = text.trim_start();
    if trimmed.starts_with("[location ") || trimmed.starts_with("[unsupported: ") {
        return "";
    }
    MEDIA_TAGS
        .iter()
        .find_map(|tag| trimmed.strip_prefix(tag))
        .unwrap_or(text)
}

/// Answers from a knowledge base, or says it cannot.
///
/// The message is reduced to [`customer_words`] and ranked with BM25; the
/// best-ranked entry is the answer only when it passes every rule of the
/// knowledge base's [`Thresholds`]:
///
/// 1. **Known words** — at least `min_known_share` of the message's words
///    occur somewhere in the knowledge base (the message is in its language
///    and about its domain);
/// 2. **Score** — the best entry scores at least `min_score` (it matched at
///    least one distinctive word, not just a common one);
/// 3. **Coverage** — the best entry contains at least `min_coverage` of the
///    message's known terms, IDF-weighted (see [`bm25::Bm25Index::coverage`]);
///    it explains most of what was asked;
/// 4. **Margin** — the best entry leads the runner-up by at least
///    `min_margin` of its score; it is clearly *the* answer.
///
/// Every number is reported by [`KnowledgeBaseAssistant::best_candidate`]
/// and the failed rule by [`Thresholds::check`], so every decision can be
/// explained.
#[derive(Debug, Clone)]
pub struct KnowledgeBaseAssistant {
    kb: KnowledgeBase,
    index: Bm25Index,
    thresholds: Thresholds,
}

impl KnowledgeBaseAssistant {
    /// Indexes the knowledge base (question and keywords at full weight, answer
    /// at [`ANSWER_WEIGHT`]) with the thresholds from its file.
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
            thresholds: kb.thresholds,
            kb,
            index,
        }
    }

    /// Overrides the knowledge base's answer thresholds (see the type docs).
    pub fn with_thresholds(mut self, thresholds: Thresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// The thresholds in use.
    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }

    /// The knowledge base being served.
    pub fn knowledge_base(&self) -> &KnowledgeBase {
        &self.kb
    }

    /// The best-ranked entry for the [`customer_words`] of `text` and how well
    /// it matched, regardless of the thresholds; `None` when no entry shares a
    /// single term with them.
    pub fn best_candidate(&self, text: &str) -> Option<Candidate> {
        let text = customer_words(text);
        let hits = self.index.search(text);
        let &(entry_index, score) = hits.first()?;
        let runner_up = hits.get(1).copied();
        Some(Candidate {
            entry_index,
            score,
            coverage: self.index.coverage(text, entry_index),
            runner_up: runner_up.map(|(index, _)| index),
            margin: runner_up.map_or(1.0, |(_, second)| (score - second) / score),
            known_share: self.index.known_share(text),
        })
    }

    /// The `n` best-ranked entries for the [`customer_words`] of `text`, best
    /// first, whatever the thresholds: what a language model is given to answer
    /// from.
    pub fn top_entries(&self, text: &str, n: usize) -> Vec<&knowledge::Entry> {
        self.index
            .search(customer_words(text))
            .into_iter()
            .take(n)
            .filter_map(|(i, _)| self.kb.entries.get(i))
            .collect()
    }

    /// Why the assistant would not answer `text`, or `Ok` with the entry it
    /// would answer with.
    pub fn decide(&self, text: &str) -> Result<usize, Unsure> {
        let candidate = self.best_candidate(text).ok_or(Unsure::NothingMatched)?;
        self.thresholds.check(&candidate)?;
        Ok(candidate.entry_index)
    }

    /// Synchronous core, used by reply() and by benchmarks.
    pub fn answer(&self, text: &str) -> AssistantReply {
        self.answer_with_basis(text).0
    }

    /// The reply and what it rests on: the entry answered with (for a miss, the closest
    /// entry, if any matched at all) and the match's [`Confidence`].
    pub fn answer_with_basis(&self, text: &str) -> (AssistantReply, Basis) {
        let candidate = self.best_candidate(text);
        let basis = candidate
            .and_then(|c| {
                let entry = self.kb.entries.get(c.entry_index)?;
                Some(Basis {
                    entry: Some(EntryRef::of(entry)),
                    model: None,
                    confidence: Some(Confidence::of_match(c.coverage, c.margin)),
                })
            })
            .unwrap_or_default();
        let confident = candidate
            .filter(|c| self.thresholds.check(c).is_ok())
            .and_then(|c| Some((self.kb.entries.get(c.entry_index)?, c.score)));
        let reply = match confident {
            Some((entry, score)) => AssistantReply::Answer {
                text: entry.answer.clone(),
                entry_id: Some(entry.id.clone()),
                score,
            },
            None => AssistantReply::NoMatch {
                text: self.kb.no_match_reply.clone(),
            },
        };
        (reply, basis)
    }

    /// The entry with this id, as agents know it.
    pub fn entry(&self, id: &str) -> Option<EntryRef> {
        self.kb
            .entries
            .iter()
            .find(|e| e.id == id)
            .map(EntryRef::of)
    }
}

impl Assistant for KnowledgeBaseAssistant {
    fn reply(&self, request: AssistantRequest) -> BoxFuture<Result<Answered, AssistantError>> {
        // Ranking a small in-memory index takes microseconds, so it is done
        // eagerly and the future is already complete; it borrows nothing.
        let (reply, basis) = self.answer_with_basis(&request.text);
        let mut answered = Answered::plain(reply, AnswerSource::KnowledgeBase);
        answered.basis = basis;
        Box::pin(std::future::ready(Ok(answered)))
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
            AssistantReply::Answer { entry_id, .. } => entry_id.as_deref(),
            AssistantReply::NoMatch { .. } | AssistantReply::Handoff { .. } => None,
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
        assert_eq!(
            reply.text(),
            Some(&*assistant.knowledge_base().no_match_reply)
        );
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

    /// Realistic ways customers ask each demo question, in their words rather
    /// than the entry's. Every demo entry has a row, so a new entry comes with
    /// its paraphrases (see `paraphrase_table_covers_every_demo_entry`).
    const DEMO_PARAPHRASES: &[(&str, &[&str])] = &[
        (
            "opening-hours",
            &[
                "When do you open on Saturday?",
                "are you open on sundays",
                "what time do you close today?",
                "Are you open on bank holidays?",
                "what time do you open tomorrow",
                "are you open at the weekend?",
                "what are your hours",
                "when are you open?",
                "until when are you open tonight?",
            ],
        ),
        (
            "shipping-times",
            &[
                "how long does delivery take",
                "how many days until my order arrives?",
                "how fast do you ship?",
                "when will you dispatch my order?",
                "when will my order ship?",
                "is express delivery available?",
            ],
        ),
        (
            "shipping-costs",
            &[
                "What does delivery cost?",
                "is shipping free?",
                "how much is shipping",
                "what's the postage fee",
                "Do you charge for delivery?",
                "Is there free shipping over a certain amount?",
                "what's the delivery price",
            ],
        ),
        (
            "international-shipping",
            &[
                "do you deliver to Canada? I live abroad",
                "Do you ship to other countries",
                "Can you send it overseas?",
                "do you ship worldwide",
                "will I pay customs if I order from outside the EU",
            ],
        ),
        (
            "returns",
            &[
                "can I return my shoes?",
                "how do I send something back?",
                "it's the wrong size, can I exchange it?",
                "the jacket doesn't fit",
                "I need a return label",
                "what is your return policy",
            ],
        ),
        (
            "refunds",
            &[
                "I want my money back",
                "how long does it take to get my refund",
                "I sent the item back last week, when will I be refunded?",
                "has my refund been processed?",
                "how long do refunds take",
            ],
        ),
        (
            "order-tracking",
            &[
                "where is my parcel",
                "where is my order",
                "I have not received my order",
                "what's my tracking number",
                "my package is late",
                "what's the status of my order?",
            ],
        ),
        (
            "payment-methods",
            &[
                "can I pay with PayPal?",
                "do you take visa",
                "Can I pay by card?",
                "Do you accept Apple Pay?",
                "can I pay later with Klarna?",
                "do you accept amex",
                "how can I pay",
            ],
        ),
        (
            "warranty",
            &[
                "my blender is broken",
                "is there a guarantee?",
                "the kettle stopped working",
                "it's defective, can you repair it?",
                "how long is the warranty",
                "my headphones are faulty",
            ],
        ),
        (
            "contact",
            &[
                "what's your phone number",
                "what's your email address?",
                "what's your email?",
                "can I call you?",
                "how do I reach you",
            ],
        ),
        (
            "store-location",
            &[
                "Where are you located?",
                "can I visit your shop?",
                "do you have a showroom?",
                "what is the address of your showroom",
                "can I pick up my order in person?",
                "can I collect my order from your shop",
            ],
        ),
        (
            "cancel-order",
            &[
                "I changed my mind, cancel please",
                "please cancel order 12345",
                "how do I cancel?",
                "I'd like to cancel my purchase",
            ],
        ),
        (
            "change-address",
            &[
                "I typed the wrong address",
                "I moved, can I update the shipping address?",
                "can I edit my address",
                "I need to change the address on my order",
                "change address",
            ],
        ),
        (
            "discounts",
            &[
                "any promo code?",
                "is there a sale on?",
                "do you have a coupon?",
                "any discounts for newsletter subscribers?",
                "where do I enter a voucher",
            ],
        ),
    ];

    #[test]
    fn paraphrases_are_answered() {
        let a = demo();
        for (expected, queries) in DEMO_PARAPHRASES {
            for query in *queries {
                assert_answers(&a, query, expected);
            }
        }
    }

    #[test]
    fn paraphrase_table_covers_every_demo_entry() {
        let a = demo();
        for entry in &a.knowledge_base().entries {
            let row = DEMO_PARAPHRASES.iter().find(|(id, _)| *id == entry.id);
            assert!(
                row.is_some_and(|(_, queries)| queries.len() >= 4),
                "demo entry {:?} needs at least 4 paraphrases",
                entry.id
            );
        }
    }

    #[track_caller]
    fn assert_unsure(assistant: &KnowledgeBaseAssistant, query: &str, why: Unsure) {
        assert_no_match(assistant, query);
        assert_eq!(
            assistant.decide(query),
            Err(why),
            "{query:?} (best: {:?})",
            assistant.best_candidate(query)
        );
    }

    /// The five inputs of finding D16, each confidently mis-answered before.
    #[test]
    fn complaints_foreign_text_and_placeholders_get_no_match() {
        let a = demo();
        for (query, why) in [
            // "charged" is a shipping-costs keyword ("do you charge for
            // delivery?"), but "twice" and "fraud" are words the knowledge
            // base never uses: 1 known word of 3.
            ("I was charged twice, this is fraud!!", Unsure::UnknownWords),
            // Tracking ("package", "arrived") and warranty ("damaged",
            // "arrives damaged") each explain a different half, and score
            // within a few percent of each other.
            ("My package arrived damaged", Unsure::Ambiguous),
            // Arabic: nothing in an English knowledge base...
            ("أريد استرداد أموالي", Unsure::NothingMatched),
            ("مرحبا، أين طلبي؟", Unsure::NothingMatched),
            // ...and a stray English word or order number does not make it English.
            ("أريد refund من فضلك", Unsure::UnknownWords),
            ("أين طلبي order 12345", Unsure::UnknownWords),
            // A shared map pin is not a question, whatever it is called.
            ("[location 51.5074, -0.1278] Office", Unsure::NothingMatched),
            (
                "[location 51.5074, -0.1278] Our showroom",
                Unsure::NothingMatched,
            ),
            // A photo without a caption, or with only its file name.
            ("[image]", Unsure::NothingMatched),
            ("[image] IMG_2041.jpg", Unsure::NothingMatched),
        ] {
            assert_unsure(&a, query, why);
        }
    }

    #[test]
    fn messages_mostly_in_other_words_get_no_match() {
        let a = demo();
        for query in [
            "I want to speak to your manager about the fraudulent charge",
            "order kab aayega",
            "mera order kahan hai",
            "¿Dónde está mi pedido? order 5521",
            "onde está meu pedido",
            "this is the worst service ever",
        ] {
            assert_no_match(&a, query);
            let best = a.best_candidate(query);
            assert!(
                best.is_none_or(|c| c.known_share < DEFAULT_MIN_KNOWN_SHARE),
                "{query:?}: {best:?}"
            );
        }
    }

    #[test]
    fn ambiguous_questions_get_no_match() {
        let a = demo();
        for query in [
            // Shipping times or shipping costs?
            "shipping",
            // Our showroom's address, or a change of the customer's own? The
            // pronoun that tells them apart is a stopword.
            "what's your address?",
        ] {
            let best = a.best_candidate(query).unwrap();
            assert!(best.score >= DEFAULT_MIN_SCORE, "{best:?}");
            assert!(best.coverage >= DEFAULT_MIN_COVERAGE, "{best:?}");
            assert_unsure(&a, query, Unsure::Ambiguous);
        }
    }

    #[test]
    fn captions_are_answered_like_text() {
        let a = demo();
        assert_answers(&a, "[image] is this covered by the warranty?", "warranty");
        assert_answers(&a, "[video] it stopped working", "warranty");
        assert_answers(&a, "  [document] can I return an item?", "returns");
    }

    #[test]
    fn customer_words_drop_the_channels_placeholders() {
        use crate::providers::normalized::{Content, MediaKind, MediaSource};
        let media = |kind, caption: Option<&str>, filename: Option<&str>| Content::Media {
            kind,
            source: MediaSource::Url("https://example.com/m".into()),
            mime_type: None,
            caption: caption.map(Into::into),
            filename: filename.map(Into::into),
        };
        let location = |name: Option<&str>, address: Option<&str>| Content::Location {
            latitude: 51.5074,
            longitude: -0.1278,
            name: name.map(Into::into),
            address: address.map(Into::into),
        };
        // Built with the channels' own summary, so a change of its format
        // fails here instead of silently reaching the ranking.
        for (content, expected) in [
            (media(MediaKind::Image, None, None), ""),
            (
                media(MediaKind::Image, Some("is this broken?"), None),
                " is this broken?",
            ),
            (media(MediaKind::Video, Some("look"), None), " look"),
            (
                media(MediaKind::Document, None, Some("invoice.pdf")),
                " invoice.pdf",
            ),
            (media(MediaKind::Audio, None, None), ""),
            (media(MediaKind::Voice, None, None), ""),
            (media(MediaKind::Sticker, None, None), ""),
            (location(None, None), ""),
            (location(Some("Office"), None), ""),
            (location(Some("Home"), Some("1 Main St")), ""),
            (
                Content::Unsupported {
                    kind: "reaction".into(),
                },
                "",
            ),
            (
                Content::Text {
                    body: "where is my order?".into(),
                },
                "where is my order?",
            ),
        ] {
            let summary = content.summary();
            assert_eq!(customer_words(&summary), expected, "{summary:?}");
        }
        // Brackets typed by a customer are left alone.
        assert_eq!(customer_words("[urgent] refund"), "[urgent] refund");
        assert_eq!(
            customer_words("my [image] is blurry"),
            "my [image] is blurry"
        );
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
                assert_eq!(entry_id.as_deref(), Some("order-tracking"));
                assert!(*score >= DEFAULT_MIN_SCORE);
            }
            other => panic!("expected an answer, got {other:?}"),
        }
        assert!(reply.is_match());
        assert_eq!(reply.text(), Some(&*entry.answer));
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
        // Only score and coverage are under test here.
        let only = |min_score, min_coverage| Thresholds {
            min_score,
            min_coverage,
            min_margin: 0.0,
            min_known_share: 0.0,
        };
        let lenient = KnowledgeBaseAssistant::new(kb.clone()).with_thresholds(only(0.0, 0.0));
        let query = "can I return my shoes";
        let best = lenient.best_candidate(query).unwrap();
        assert_eq!(best.entry_index, 0);
        assert!(
            (best.coverage - 1.0).abs() < 1e-12,
            "unknown 'shoes' is ignored"
        );
        assert!(lenient.answer(query).is_match());

        let strict_score =
            KnowledgeBaseAssistant::new(kb.clone()).with_thresholds(only(best.score + 0.01, 0.0));
        assert_eq!(strict_score.thresholds(), only(best.score + 0.01, 0.0));
        assert!(!strict_score.answer(query).is_match());
        let exact_score =
            KnowledgeBaseAssistant::new(kb.clone()).with_thresholds(only(best.score, 1.0));
        assert!(
            exact_score.answer(query).is_match(),
            "thresholds are inclusive"
        );

        // "return shipping": the best entry covers only part of the query.
        let mixed = "return shipping";
        let best = lenient.best_candidate(mixed).unwrap();
        assert!(best.coverage > 0.0 && best.coverage < 0.6, "{best:?}");
        assert!(lenient.answer(mixed).is_match());
        let strict_coverage = KnowledgeBaseAssistant::new(kb).with_thresholds(only(0.0, 0.6));
        assert!(!strict_coverage.answer(mixed).is_match());
    }

    /// Four entries, so IDFs are not degenerate; thresholds are set per test.
    fn small_kb() -> KnowledgeBase {
        KnowledgeBase::from_toml_str(
            r#"
            [[entry]]
            id = "hours"
            question = "When are you open?"
            keywords = ["opening hours"]
            answer = "9 to 5."
            [[entry]]
            id = "shipping-costs"
            question = "How much is shipping?"
            keywords = ["shipping price"]
            answer = "5 euros."
            [[entry]]
            id = "shipping-times"
            question = "How long is shipping?"
            keywords = ["shipping days"]
            answer = "2 days."
            [[entry]]
            id = "returns"
            question = "Can I return an item?"
            answer = "Within 30 days."
            "#,
        )
        .unwrap()
    }

    fn lenient() -> Thresholds {
        Thresholds {
            min_score: 0.0,
            min_coverage: 0.0,
            min_margin: 0.0,
            min_known_share: 0.0,
        }
    }

    #[test]
    fn margin_gates_near_ties() {
        let a = KnowledgeBaseAssistant::new(small_kb()).with_thresholds(lenient());
        // "shipping" alone: both shipping entries score the same.
        let tie = a.best_candidate("shipping").unwrap();
        assert_eq!(tie.margin, 0.0, "{tie:?}");
        assert_eq!(tie.runner_up, Some(2));
        // "shipping price": one entry leads.
        let clear = a.best_candidate("shipping price").unwrap();
        assert_eq!(clear.entry_index, 1);
        assert!(clear.margin > 0.3 && clear.margin < 1.0, "{clear:?}");
        // Only one entry matches at all: nothing to be confused with.
        let alone = a.best_candidate("opening hours").unwrap();
        assert_eq!((alone.margin, alone.runner_up), (1.0, None));

        let with_margin = |min_margin| {
            KnowledgeBaseAssistant::new(small_kb()).with_thresholds(Thresholds {
                min_margin,
                ..lenient()
            })
        };
        assert!(a.answer("shipping").is_match(), "no margin required");
        assert_eq!(with_margin(0.01).decide("shipping"), Err(Unsure::Ambiguous));
        assert_eq!(with_margin(clear.margin).decide("shipping price"), Ok(1));
        assert_eq!(
            with_margin(clear.margin + 0.01).decide("shipping price"),
            Err(Unsure::Ambiguous)
        );
        assert_eq!(with_margin(1.0).decide("opening hours"), Ok(0));
    }

    #[test]
    fn known_share_gates_mostly_foreign_messages() {
        let a = KnowledgeBaseAssistant::new(small_kb()).with_thresholds(lenient());
        let share = |q: &str| a.best_candidate(q).unwrap().known_share;
        assert_eq!(share("return item"), 1.0);
        // "shoes" is unknown: one of two words.
        assert_eq!(share("can I return my shoes?"), 0.5);
        // "fraud" and "twice" are unknown: one of three.
        assert!((share("return fraud twice") - 1.0 / 3.0).abs() < 1e-12);
        // Numbers do not count either way.
        assert_eq!(share("return item 12345 30"), 1.0);
        assert_eq!(share("return 30"), 1.0);

        let with_share = |min_known_share| {
            KnowledgeBaseAssistant::new(small_kb()).with_thresholds(Thresholds {
                min_known_share,
                ..lenient()
            })
        };
        assert_eq!(with_share(0.5).decide("can I return my shoes?"), Ok(3));
        assert_eq!(
            with_share(0.5).decide("return fraud twice"),
            Err(Unsure::UnknownWords)
        );
        assert_eq!(with_share(0.3).decide("return fraud twice"), Ok(3));
        assert_eq!(with_share(0.0).decide("xyzzy"), Err(Unsure::NothingMatched));
    }

    #[test]
    fn rules_are_checked_in_order_and_inclusive() {
        let c = Candidate {
            entry_index: 0,
            score: 2.0,
            coverage: 0.5,
            runner_up: Some(1),
            margin: 0.2,
            known_share: 0.5,
        };
        let t = Thresholds {
            min_score: 2.0,
            min_coverage: 0.5,
            min_margin: 0.2,
            min_known_share: 0.5,
        };
        assert_eq!(t.check(&c), Ok(()));
        let fails = |c: Candidate| t.check(&c).unwrap_err();
        assert_eq!(
            fails(Candidate {
                known_share: 0.4,
                score: 0.0,
                ..c
            }),
            Unsure::UnknownWords
        );
        assert_eq!(
            fails(Candidate {
                score: 1.9,
                coverage: 0.0,
                ..c
            }),
            Unsure::LowScore
        );
        assert_eq!(
            fails(Candidate {
                coverage: 0.4,
                margin: 0.0,
                ..c
            }),
            Unsure::LowCoverage
        );
        assert_eq!(fails(Candidate { margin: 0.1, ..c }), Unsure::Ambiguous);
    }

    #[test]
    fn thresholds_come_from_the_knowledge_base_file() {
        let kb = KnowledgeBase::from_toml_str(
            r#"
            [assistant]
            min_score = 0.5
            min_margin = 0.0
            [[entry]]
            question = "How much is shipping?"
            answer = "5 euros."
            "#,
        )
        .unwrap();
        let a = KnowledgeBaseAssistant::new(kb);
        assert_eq!(
            a.thresholds(),
            Thresholds {
                min_score: 0.5,
                min_margin: 0.0,
                ..Thresholds::default()
            }
        );
    }

    #[test]
    fn default_thresholds() {
        let a = demo();
        assert_eq!(a.thresholds(), Thresholds::default());
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
            Poll::Ready(Ok(answered)) => {
                assert_eq!(entry_id(&answered.reply), Some("opening-hours"));
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
        let err = AssistantError::Unavailable {
            reason: "provider timed out".into(),
            usage: Usage::default(),
        };
        assert_eq!(err.to_string(), "assistant unavailable: provider timed out");
    }
}
