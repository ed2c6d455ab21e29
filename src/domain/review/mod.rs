//! The offline reviewer: a summary, a quality score with its rubric and a suggested lead
//! stage, computed from a conversation's messages alone (no network, no model).
//!
//! Issue 14 asks for every conversation to be reviewed some minutes after its last
//! message. A language model may do it better, but the offline result is the default and
//! the fallback whenever the model fails, so it must be deterministic, cheap and
//! explainable: every point of the score comes from a rule a person can check against the
//! thread. This module is only that pure core; storing reviews, scheduling them and the
//! model path live elsewhere.
//!
//! # Summary (`../shared/AI.md` §8)
//!
//! Extractive, at most three lines, each a labelled "sentence":
//! 1. **Asked:** the intent, the first customer message with something in it besides
//!    greetings ("hi", "hola", "olá", "namaste", "how are you").
//! 2. **Details:** the one or two most central sentences of the thread, ranked by
//!    TextRank (PageRank over a word-overlap graph of sentences, on the same terms the
//!    knowledge base ranks with, [`super::terms::tokenize`]), with sentences carrying a
//!    number, an order id or a date weighted up: they are what an agent looks for.
//! 3. **Outcome:** the final state (closed, waiting for a person, a person answered,
//!    waiting for the customer) and the last reply of an agent or the assistant.
//!
//! Customer text is copied as text (the dashboard renders it as text), with whitespace
//! collapsed so that the three lines stay three lines, and each piece cut to
//! [`MAX_PIECE_CHARS`].
//!
//! # Rubric (`../shared/AI.md` §4, "Switchboard rubric")
//!
//! Six criteria whose weights add up to 100, each scored `0..=weight` with a one-sentence
//! note; the score is their sum. A criterion with nothing to judge (no handoff and no
//! customer message, no assistant answer) gets full marks, as an N/A would in a weighted
//! mean. A critical failure ([`CriticalFail`]: a handoff nobody answered, or an agent's
//! "I'll check" with no later agent turn) caps the score at [`CRITICAL_CAP`]. See each
//! [`CriterionName`] for its rule.
//!
//! # Lead stage (`../shared/AI.md` §8)
//!
//! From customer turns only, by phrase lists in English, Spanish, Portuguese and
//! Hinglish: see [`review`] for the order in which they are tried.
//!
//! Phrase lists are matched with [`HandoffPhrases`], the same whole-word, accent- and
//! case-insensitive matcher the handoff detector uses, so the lists read the way the
//! handoff ones do.

use std::{collections::HashSet, sync::OnceLock};

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

mod follow_up;
mod lead;
mod lexicon;
mod rubric;
mod summary;
#[cfg(test)]
mod tests;

pub use follow_up::{suggest_follow_up, FollowUpSuggestion};
use lead::*;
use lexicon::*;
use rubric::*;
use summary::*;

use super::handoff::{normalize, HandoffPhrases};
use super::terms::tokenize;
use super::types::{Author, LeadStage, Status};

/// The highest score a conversation with a critical failure can get (AI.md §4): a handoff
/// nobody answered or a broken promise outweighs any amount of polite wording.
pub const CRITICAL_CAP: u8 = 40;

/// The longest piece of message text the summary copies, in characters. Long enough for
/// an address or an order line, short enough for a list row's tooltip.
pub const MAX_PIECE_CHARS: usize = 160;

/// Hashed with the transcript, so changing the rules here (and this constant) has every
/// conversation reviewed again instead of keeping reviews made by the old rules.
const REVIEW_VERSION: &str = "switchboard-offline-review/2";

/// A first reply within this long gets full marks for responsiveness.
const FULL_WITHIN_SECS: i64 = 5 * 60;
/// A first reply after this long gets none; between the two the score falls linearly.
const ZERO_AFTER_SECS: i64 = 60 * 60;

/// At most this many sentences are ranked for the summary (the latest ones): TextRank
/// compares every pair, and a thread of thousands of sentences must not stall a review.
const MAX_RANKED_SENTENCES: usize = 200;

/// What the reviewer reads of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewMessage {
    pub author: Author,
    /// The message's text; empty for a file without a caption.
    pub text: String,
    pub at: NaiveDateTime,
}

/// What the reviewer reads of one conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewInput {
    /// Every message of the conversation, private notes excluded. Order does not matter:
    /// they are read in time order (ties keep the given order). System messages are not
    /// part of the summary or the rubric, only of the hash.
    pub messages: Vec<ReviewMessage>,
    pub status: Status,
    /// When the conversation went to a person (each handoff from the assistant).
    pub handoffs: Vec<NaiveDateTime>,
    /// When it was last closed, if it was.
    pub resolved_at: Option<NaiveDateTime>,
    /// The review's clock: how long an unanswered customer or handoff has waited.
    pub now: NaiveDateTime,
    /// How many of the assistant's answers agents marked wrong (and did not take back).
    pub wrong_answers: usize,
}

/// The review of one conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Review {
    /// At most three lines: `Asked: …`, `Details: …`, `Outcome: …` (see the module docs).
    pub summary: String,
    /// 0–100: the rubric's sum, capped at [`CRITICAL_CAP`] when `critical` is not empty.
    pub quality_score: u8,
    /// Each criterion in [`CriterionName::ALL`] order, scored and explained.
    pub rubric: Vec<Criterion>,
    /// The critical failures found, in [`CriticalFail`] order; any one caps the score.
    pub critical: Vec<CriticalFail>,
    /// The suggested stage; `None` when nothing in the customer's words suggests one.
    pub lead_stage: Option<LeadStage>,
    /// Hex SHA-256 of everything the review reads except the clock: equal hashes mean a
    /// new review would judge the same thread, so it can be skipped.
    pub transcript_hash: String,
}

/// One scored criterion of the rubric (stored as JSON and shown in the dashboard).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = RubricCriterion)]
pub struct Criterion {
    pub name: CriterionName,
    /// The most this criterion gives; the weights of [`CriterionName::ALL`] add up to 100.
    pub weight: u8,
    /// `0..=weight`.
    pub score: u8,
    /// Why, in one short sentence.
    pub note: String,
}

/// The criteria of the Switchboard rubric (AI.md §4), named in snake_case in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CriterionName {
    /// Weight 25. The first reply of a person after each handoff (the slowest counts; an
    /// unanswered one is judged by its wait so far), or without a handoff the first reply
    /// to the customer's first message: full within 5 minutes, none after 60, linear
    /// between.
    Responsiveness,
    /// Weight 25. 15 for a closed conversation (10 when it is open but the customer is not
    /// waiting for us); 10 when the customer's last words before the close are neither a
    /// question nor a complaint (5 for a question that was answered but never confirmed);
    /// minus 5 for each chaser ("still waiting", "any update?") and each repeated question.
    Resolution,
    /// Weight 15. Offline there is nothing to check answers against but the agents: each
    /// answer an agent marked wrong costs
    /// [`POINTS_PER_WRONG_ANSWER`](crate::domain::answer::POINTS_PER_WRONG_ANSWER) (two cost
    /// all). Besides, the assistant admitting it could not answer ("not sure", "no entendí",
    /// "não sei"): once is normal, twice costs 7, three times all.
    Accuracy,
    /// Weight 15. Apologies, thanks and empathy in our replies: full when a reply has them
    /// (after a complaint, a reply after the complaint must), 8 for a neutral thread
    /// without any, 0 for a complaint nobody apologised for or acknowledged.
    Empathy,
    /// Weight 10. 5 for a greeting in our first two replies, 5 for a closing (further help,
    /// thanks, a good day) in our last two.
    GreetingClosing,
    /// Weight 10. The share of our text replies of a readable length: more than one word
    /// and at most 150 words (1,000 characters).
    Clarity,
}

impl CriterionName {
    /// Every criterion, in the order the rubric lists them.
    pub const ALL: &'static [CriterionName] = &[
        CriterionName::Responsiveness,
        CriterionName::Resolution,
        CriterionName::Accuracy,
        CriterionName::Empathy,
        CriterionName::GreetingClosing,
        CriterionName::Clarity,
    ];

    /// The stable name (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            CriterionName::Responsiveness => "responsiveness",
            CriterionName::Resolution => "resolution",
            CriterionName::Accuracy => "accuracy",
            CriterionName::Empathy => "empathy",
            CriterionName::GreetingClosing => "greeting_closing",
            CriterionName::Clarity => "clarity",
        }
    }

    /// The most points the criterion gives.
    pub fn weight(self) -> u8 {
        match self {
            CriterionName::Responsiveness | CriterionName::Resolution => 25,
            CriterionName::Accuracy | CriterionName::Empathy => 15,
            CriterionName::GreetingClosing | CriterionName::Clarity => 10,
        }
    }
}

/// A failure that caps the score at [`CRITICAL_CAP`] whatever else went well.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CriticalFail {
    /// The conversation went to a person and no agent wrote after it.
    UnansweredHandoff,
    /// The last agent turn promises to check or come back ("I'll check", "te aviso", "vou
    /// verificar") and nothing followed it.
    BrokenPromise,
}

/// Reviews one conversation. Never fails: an empty or odd conversation gets a review too.
///
/// The lead stage is tried in this order:
/// 1. **Spam** when every customer message is a bare link, a known spam phrase or a
///    greeting, and at least one is not a greeting;
/// 2. otherwise the latest customer message with a sales intent decides (a customer who
///    asked a price and then said "stop" is not interested): **Not interested** ("not
///    interested", "stop", "unsubscribe"), then **Opportunity** ("want to buy", "book a",
///    "how do I pay"), then **Quote request** ("price", "cotización", "orçamento");
/// 3. **Info only** when the customer asked questions and did not complain (a complaint is
///    a support case, not a lead);
/// 4. otherwise none.
pub fn review(input: &ReviewInput) -> Review {
    let lex = Lexicon::get();
    let mut ordered: Vec<&ReviewMessage> = input.messages.iter().collect();
    // Stable: messages stored in the same second keep their given order.
    ordered.sort_by_key(|m| m.at);
    let turns: Vec<&ReviewMessage> = ordered
        .iter()
        .copied()
        .filter(|m| m.author != Author::System)
        .collect();

    let handoffs = handoff_answers(&turns, input);
    let mut critical = Vec::new();
    if handoffs.iter().any(|h| h.answered_at.is_none()) {
        critical.push(CriticalFail::UnansweredHandoff);
    }
    if broken_promise(&turns, lex) {
        critical.push(CriticalFail::BrokenPromise);
    }

    let rubric = vec![
        responsiveness(&turns, &handoffs, input),
        resolution(&turns, input, lex),
        accuracy(&turns, input.wrong_answers, lex),
        empathy(&turns, lex),
        greeting_closing(&turns, lex),
        clarity(&turns),
    ];
    let sum: u32 = rubric.iter().map(|c| u32::from(c.score)).sum();
    let cap = if critical.is_empty() {
        100
    } else {
        u32::from(CRITICAL_CAP)
    };
    let quality_score = u8::try_from(sum.min(cap)).unwrap_or(0);

    Review {
        summary: summary(&turns, input, &handoffs, lex),
        quality_score,
        rubric,
        critical,
        lead_stage: lead_stage(&turns, lex),
        transcript_hash: transcript_hash(&ordered, input),
    }
}

// ---------------------------------------------------------------------------------------
// Hash
// ---------------------------------------------------------------------------------------

/// SHA-256 over the rules' version, the status, the handoffs, the close and every message
/// (system ones too: a handoff or a close is a change worth a new review). Each field is
/// length-prefixed so that no two different inputs run together into the same bytes.
pub(super) fn transcript_hash(ordered: &[&ReviewMessage], input: &ReviewInput) -> String {
    fn field(hasher: &mut Sha256, bytes: &[u8]) {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    fn time(hasher: &mut Sha256, at: NaiveDateTime) {
        field(
            hasher,
            at.format("%Y-%m-%dT%H:%M:%S%.f").to_string().as_bytes(),
        );
    }
    let mut hasher = Sha256::new();
    field(&mut hasher, REVIEW_VERSION.as_bytes());
    field(&mut hasher, input.status.as_str().as_bytes());
    field(&mut hasher, &(input.wrong_answers as u64).to_le_bytes());
    let mut handoffs = input.handoffs.clone();
    handoffs.sort();
    field(&mut hasher, &(handoffs.len() as u64).to_le_bytes());
    for at in handoffs {
        time(&mut hasher, at);
    }
    match input.resolved_at {
        Some(at) => time(&mut hasher, at),
        None => field(&mut hasher, b""),
    }
    field(&mut hasher, &(ordered.len() as u64).to_le_bytes());
    for m in ordered {
        field(&mut hasher, m.author.as_str().as_bytes());
        time(&mut hasher, m.at);
        field(&mut hasher, m.text.as_bytes());
    }
    hex::encode(hasher.finalize())
}
