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
const REVIEW_VERSION: &str = "switchboard-offline-review/1";

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// Weight 15. Offline there is nothing to check answers against, so only the assistant
    /// admitting it could not answer ("not sure", "no entendí", "não sei") counts: once is
    /// normal, twice costs 7, three times all.
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
        accuracy(&turns, lex),
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
// Phrase lists
// ---------------------------------------------------------------------------------------

/// Every phrase list the reviewer matches. The lists are constants, not settings, so they
/// are normalised once per process ([`Lexicon::get`]) rather than on every review: building
/// them cost more than the review itself.
struct Lexicon {
    greeting: HandoffPhrases,
    closing: HandoffPhrases,
    empathy: HandoffPhrases,
    promise: HandoffPhrases,
    no_match: HandoffPhrases,
    chaser: HandoffPhrases,
    complaint: HandoffPhrases,
    not_interested: HandoffPhrases,
    opportunity: HandoffPhrases,
    quote: HandoffPhrases,
    spam: HandoffPhrases,
}

impl Lexicon {
    fn get() -> &'static Lexicon {
        static LEXICON: OnceLock<Lexicon> = OnceLock::new();
        LEXICON.get_or_init(Lexicon::new)
    }

    fn new() -> Self {
        Self {
            greeting: HandoffPhrases::new(GREETINGS),
            closing: HandoffPhrases::new(CLOSINGS),
            empathy: HandoffPhrases::new(EMPATHY),
            promise: HandoffPhrases::new(PROMISES),
            no_match: HandoffPhrases::new(NO_MATCH),
            chaser: HandoffPhrases::new(CHASERS),
            complaint: HandoffPhrases::complaints(),
            not_interested: HandoffPhrases::new(NOT_INTERESTED),
            opportunity: HandoffPhrases::new(OPPORTUNITY),
            quote: HandoffPhrases::new(QUOTE),
            spam: HandoffPhrases::new(SPAM),
        }
    }
}

/// Greetings in our first replies (EN, ES, PT, Hinglish).
const GREETINGS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "good morning",
    "good afternoon",
    "good evening",
    "welcome",
    "thanks for reaching out",
    "thank you for reaching out",
    "thanks for contacting",
    "thank you for contacting",
    "thanks for writing",
    "hola",
    "buenos dias",
    "buenas tardes",
    "buenas noches",
    "buen dia",
    "bienvenido",
    "bienvenida",
    "gracias por escribir",
    "gracias por contactar",
    "olá",
    "oi",
    "bom dia",
    "boa tarde",
    "boa noite",
    "bem-vindo",
    "bem-vinda",
    "obrigado pelo contato",
    "obrigada pelo contato",
    "namaste",
    "namaskar",
];

/// Closings in our last replies: further help, thanks, a good day (EN, ES, PT, Hinglish).
const CLOSINGS: &[&str] = &[
    "anything else",
    "something else",
    "further help",
    "further assistance",
    "other questions",
    "any other question",
    "have a nice day",
    "have a great day",
    "have a good day",
    "have a good one",
    "glad i could help",
    "happy to help",
    "take care",
    "feel free to",
    "let us know",
    "let me know if",
    "thanks for contacting",
    "thank you for contacting",
    "goodbye",
    "bye",
    "algo más",
    "alguna otra",
    "otra consulta",
    "que tengas",
    "que tenga un",
    "buen día",
    "hasta luego",
    "saludos",
    "a la orden",
    "mais alguma coisa",
    "mais alguma dúvida",
    "algo mais",
    "tenha um bom dia",
    "tenha um ótimo dia",
    "até logo",
    "até mais",
    "à disposição",
    "aur kuch",
    "kuch aur",
    "aapka din shubh",
    "dhanyavaad",
    "shukriya",
    "alvida",
];

/// Apologies, thanks and empathy in our replies (EN, ES, PT, Hinglish).
const EMPATHY: &[&str] = &[
    "sorry",
    "apologize",
    "apologise",
    "apologies",
    "thank you",
    "thanks",
    "i understand",
    "understand how",
    "that must be",
    "appreciate",
    "happy to help",
    "glad to help",
    "my pleasure",
    "no worries",
    "lo siento",
    "lamento",
    "disculpa",
    "disculpe",
    "disculpas",
    "perdón",
    "perdona",
    "gracias",
    "entiendo",
    "comprendo",
    "con gusto",
    "un placer",
    "desculpe",
    "desculpa",
    "desculpas",
    "sinto muito",
    "obrigado",
    "obrigada",
    "entendo",
    "compreendo",
    "com prazer",
    "fico feliz",
    "por nada",
    "maaf",
    "maafi",
    "shukriya",
    "dhanyavaad",
    "dhanyawad",
    "samajh sakta",
    "samajh sakti",
    "koi baat nahi",
    "chinta mat",
];

/// An agent promising to check or come back: with no later agent turn, a broken promise.
const PROMISES: &[&str] = &[
    "i'll check",
    "i will check",
    "let me check",
    "i'll get back",
    "i will get back",
    "i'll let you know",
    "i will let you know",
    "i'll look into",
    "i will look into",
    "let me look into",
    "let me find out",
    "i'll find out",
    "i'll confirm",
    "let me confirm",
    "te aviso",
    "le aviso",
    "déjame revisar",
    "déjame verificar",
    "voy a revisar",
    "voy a verificar",
    "lo reviso",
    "lo verifico",
    "vou verificar",
    "vou checar",
    "deixa eu verificar",
    "deixa eu ver",
    "já te aviso",
    "te retorno",
    "check karke batata",
    "check karke batati",
    "main check karta",
    "main check karti",
    "dekh ke batata",
    "dekh ke batati",
    "pata karke batata",
    "pata karke batati",
];

/// The assistant admitting it has no answer (including the knowledge base's default
/// no-match reply, "I'm not sure I can answer that").
const NO_MATCH: &[&str] = &[
    "not sure",
    "i don't know",
    "i do not know",
    "couldn't find",
    "could not find",
    "can't find",
    "cannot find",
    "didn't understand",
    "did not understand",
    "don't understand",
    "don't have that information",
    "don't have information",
    "do not have information",
    "unable to answer",
    "can't answer",
    "cannot answer",
    "rephrase",
    "no estoy seguro",
    "no estoy segura",
    "no sé$",
    "no entendí",
    "no encontré",
    "no tengo esa información",
    "no tengo información",
    "no puedo responder",
    "não tenho certeza",
    "não sei",
    "não entendi",
    "não encontrei",
    "não tenho essa informação",
    "não consigo responder",
    "pata nahi",
    "nahi pata",
    "samajh nahi",
    "jaankari nahi",
];

/// A customer chasing an answer (EN, ES, PT, Hinglish).
const CHASERS: &[&str] = &[
    "still waiting",
    "waiting for a reply",
    "waiting for an answer",
    "waiting for a response",
    "any update",
    "any updates",
    "any news",
    "anyone there",
    "anybody there",
    "no one answered",
    "nobody answered",
    "no one is answering",
    "nobody is answering",
    "still no",
    "no reply yet",
    "no response yet",
    "hurry up",
    "sigo esperando",
    "todavía espero",
    "estoy esperando",
    "alguna novedad",
    "alguna actualización",
    "hay alguien",
    "alguien ahí",
    "nadie responde",
    "nadie contesta",
    "ainda estou esperando",
    "ainda aguardando",
    "estou esperando",
    "estou aguardando",
    "alguma novidade",
    "alguma atualização",
    "tem alguém aí",
    "alguém aí",
    "ninguém responde",
    "abhi tak",
    "kab tak",
    "koi update",
    "koi jawab nahi",
    "reply nahi",
    "kitna wait",
    "kitni der",
];

/// The customer turning the business down or opting out.
const NOT_INTERESTED: &[&str] = &[
    "not interested",
    "no longer interested",
    "stop$",
    "stop messaging",
    "stop sending",
    "stop texting",
    "stop contacting",
    "stop writing",
    "unsubscribe",
    "opt out",
    "remove me",
    "don't contact me",
    "don't message me",
    "no me interesa",
    "no estoy interesado",
    "no estoy interesada",
    "dejen de escribir",
    "dejen de enviar",
    "darme de baja",
    "baja$",
    "não tenho interesse",
    "não estou interessado",
    "não estou interessada",
    "parem de",
    "descadastrar",
    "sair$",
    "pare$",
    "interest nahi",
    "interested nahi",
    "nahi chahiye",
    "mat bhejo",
    "band karo",
];

/// The customer ready to buy, book or pay.
const OPPORTUNITY: &[&str] = &[
    "want to buy",
    "want to purchase",
    "like to buy",
    "like to purchase",
    "like to order",
    "want to order",
    "place an order",
    "ready to buy",
    "i'll take it",
    "how do i pay",
    "how can i pay",
    "how to pay",
    "payment link",
    "want to book",
    "like to book",
    "book a",
    "book an",
    "can i book",
    "make a booking",
    "make a reservation",
    "reserve a",
    "quiero comprar",
    "quisiera comprar",
    "me gustaría comprar",
    "quiero reservar",
    "quiero pedir",
    "quiero agendar",
    "cómo pago",
    "cómo puedo pagar",
    "link de pago",
    "quero comprar",
    "gostaria de comprar",
    "quero reservar",
    "quero agendar",
    "como faço para pagar",
    "como posso pagar",
    "link de pagamento",
    "chave pix",
    "kharidna hai",
    "kharidna chahta",
    "kharidna chahti",
    "book karna",
    "payment kaise",
    "order karna hai",
];

/// The customer asking what something costs.
const QUOTE: &[&str] = &[
    "price",
    "prices",
    "pricing",
    "quote",
    "quotation",
    "how much",
    "cost",
    "costs",
    "rates",
    "precio",
    "precios",
    "cotización",
    "cotizar",
    "cuánto cuesta",
    "cuánto vale",
    "cuánto sale",
    "presupuesto",
    "tarifa",
    "orçamento",
    "preço",
    "preços",
    "quanto custa",
    "quanto fica",
    "cotação",
    "kitne ka",
    "kitne ki",
    "kitna hai",
    "kitne mein",
    "price kya",
    "rate kya",
    "daam",
];

/// Known spam phrases (prizes, easy money, crypto, follower selling).
const SPAM: &[&str] = &[
    "click here",
    "click the link",
    "you have won",
    "you won",
    "congratulations you",
    "claim your prize",
    "free money",
    "earn money",
    "make money from home",
    "work from home",
    "crypto",
    "bitcoin",
    "forex",
    "investment opportunity",
    "double your",
    "seo services",
    "increase your followers",
    "buy followers",
    "lottery",
    "lucky winner",
    "jackpot",
    "ganhe dinheiro",
    "você ganhou",
    "parabéns você",
    "clique aqui",
    "gana dinero",
    "has ganado",
    "haz clic aquí",
    "ganaste",
];

/// Words that say nothing but hello (normalised: no accents, no apostrophes). A message
/// or clause made only of these is a greeting, not an intent.
const GREETING_WORDS: &[&str] = &[
    "hi",
    "hii",
    "hiii",
    "hello",
    "helo",
    "hey",
    "heya",
    "hola",
    "ola",
    "oi",
    "oii",
    "namaste",
    "namaskar",
    "namaskaar",
    "good",
    "morning",
    "afternoon",
    "evening",
    "day",
    "bom",
    "boa",
    "dia",
    "tarde",
    "noite",
    "buenos",
    "buenas",
    "buen",
    "dias",
    "tardes",
    "noches",
    "there",
    "team",
    "sir",
    "madam",
    "maam",
    "ji",
    "all",
    "everyone",
    "how",
    "are",
    "you",
    "u",
    "r",
    "como",
    "estas",
    "esta",
    "tudo",
    "bem",
    "vai",
    "kaise",
    "ho",
    "hain",
    "aap",
    "yo",
    "greetings",
    "saludos",
    "thanks",
    "thank",
    "thx",
    "ok",
    "okay",
    "gracias",
    "obrigado",
    "obrigada",
    "shukriya",
    "dhanyavaad",
];

/// First words that make a sentence a question even without a question mark.
const QUESTION_WORDS: &[&str] = &[
    "what", "where", "when", "why", "how", "which", "who", "can", "could", "do", "does", "is",
    "are", "will", "cual", "cuando", "donde", "cuanto", "cuanta", "que", "qual", "quando", "onde",
    "quanto", "quanta", "kya", "kab", "kahan", "kaise", "kyun", "kitna", "kitne", "kaun",
];

/// Words that date a sentence (besides digits), for the summary's preference.
const DATE_WORDS: &[&str] = &[
    "today",
    "tomorrow",
    "yesterday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "hoy",
    "manana",
    "ayer",
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
    "hoje",
    "amanha",
    "ontem",
    "janeiro",
    "fevereiro",
    "marco",
    "maio",
    "junho",
    "julho",
    "setembro",
    "outubro",
    "novembro",
    "dezembro",
    "aaj",
    "kal",
];

// ---------------------------------------------------------------------------------------
// Handoffs and critical failures
// ---------------------------------------------------------------------------------------

/// One handoff and the first agent turn at or after it.
#[derive(Debug, Clone, Copy)]
struct HandoffAnswer {
    at: NaiveDateTime,
    answered_at: Option<NaiveDateTime>,
}

fn handoff_answers(turns: &[&ReviewMessage], input: &ReviewInput) -> Vec<HandoffAnswer> {
    let mut handoffs = input.handoffs.clone();
    handoffs.sort();
    handoffs
        .into_iter()
        .map(|at| HandoffAnswer {
            at,
            answered_at: turns
                .iter()
                .find(|m| m.author == Author::Agent && m.at >= at)
                .map(|m| m.at),
        })
        .collect()
}

/// Whether the last agent turn promises to check or come back: an earlier promise followed
/// by any agent turn was kept or at least followed up.
fn broken_promise(turns: &[&ReviewMessage], lex: &Lexicon) -> bool {
    turns
        .iter()
        .rev()
        .find(|m| m.author == Author::Agent)
        .is_some_and(|m| lex.promise.matches(&m.text))
}

// ---------------------------------------------------------------------------------------
// The rubric
// ---------------------------------------------------------------------------------------

fn criterion(name: CriterionName, score: u8, note: impl Into<String>) -> Criterion {
    let weight = name.weight();
    Criterion {
        name,
        weight,
        score: score.min(weight),
        note: note.into(),
    }
}

fn is_ours(m: &ReviewMessage) -> bool {
    matches!(m.author, Author::Agent | Author::Assistant)
}

fn seconds(from: NaiveDateTime, to: NaiveDateTime) -> i64 {
    (to - from).num_seconds().max(0)
}

/// Full marks within [`FULL_WITHIN_SECS`], none from [`ZERO_AFTER_SECS`], linear (rounded)
/// between.
fn delay_score(weight: u8, secs: i64) -> u8 {
    if secs <= FULL_WITHIN_SECS {
        return weight;
    }
    if secs >= ZERO_AFTER_SECS {
        return 0;
    }
    let span = ZERO_AFTER_SECS - FULL_WITHIN_SECS;
    let scaled = (i64::from(weight) * (ZERO_AFTER_SECS - secs) + span / 2) / span;
    u8::try_from(scaled.clamp(0, i64::from(weight))).unwrap_or(0)
}

/// A wait in words: "40 s", "12 min", "3 h 5 min".
fn wait(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 120 * 60 => format!("{} min", s / 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

fn responsiveness(
    turns: &[&ReviewMessage],
    handoffs: &[HandoffAnswer],
    input: &ReviewInput,
) -> Criterion {
    let name = CriterionName::Responsiveness;
    let weight = name.weight();
    if !handoffs.is_empty() {
        // The slowest handoff decides: a quick answer to the first does not excuse a
        // second one left waiting.
        let delays = handoffs.iter().map(|h| match h.answered_at {
            Some(reply) => (seconds(h.at, reply), true),
            None => (seconds(h.at, input.now), false),
        });
        let (secs, answered) = delays
            .max_by_key(|&(secs, answered)| (!answered, secs))
            .unwrap_or((0, true));
        let note = if !answered {
            format!("Nobody has answered the handoff after {}.", wait(secs))
        } else if handoffs.len() == 1 {
            format!("A person answered the handoff after {}.", wait(secs))
        } else {
            format!(
                "The slowest of {} handoffs was answered after {}.",
                handoffs.len(),
                wait(secs)
            )
        };
        return criterion(name, delay_score(weight, secs), note);
    }
    let Some(first) = turns.iter().position(|m| m.author == Author::Customer) else {
        return criterion(name, weight, "No customer message to answer.");
    };
    let asked = turns[first].at;
    match turns[first..].iter().find(|m| is_ours(m)) {
        Some(reply) => {
            let secs = seconds(asked, reply.at);
            let note = format!("The customer got a first reply after {}.", wait(secs));
            criterion(name, delay_score(weight, secs), note)
        }
        None => {
            let secs = seconds(asked, input.now);
            let note = format!("The customer has had no reply for {}.", wait(secs));
            criterion(name, delay_score(weight, secs), note)
        }
    }
}

fn resolution(turns: &[&ReviewMessage], input: &ReviewInput, lex: &Lexicon) -> Criterion {
    let name = CriterionName::Resolution;
    let customers: Vec<usize> = turns
        .iter()
        .enumerate()
        .filter(|(_, m)| m.author == Author::Customer)
        .map(|(i, _)| i)
        .collect();
    if customers.is_empty() {
        return criterion(name, name.weight(), "No customer message to resolve.");
    }
    let closed = input.status == Status::Closed;
    let customer_waiting = customer_waiting(turns, lex);

    let mut score: i32 = 0;
    let mut parts: Vec<String> = Vec::new();
    if closed {
        score += 15;
        parts.push("closed".into());
    } else if customer_waiting {
        parts.push("the customer is waiting for a reply".into());
    } else {
        score += 10;
        parts.push("answered but not closed".into());
    }

    // After a close the customer may still rate it (a rating does not reopen): the words
    // judged are the last ones before the close.
    let last_customer = customers
        .iter()
        .rev()
        .copied()
        .find(|&i| match (closed, input.resolved_at) {
            (true, Some(resolved)) => turns[i].at <= resolved,
            _ => true,
        })
        .or(customers.last().copied());
    if let Some(i) = last_customer {
        let text = &turns[i].text;
        let answered_after = turns[i + 1..].iter().any(|m| is_ours(m));
        if lex.complaint.matches(text) {
            parts.push("the customer's last words are a complaint".into());
        } else if is_question(text) {
            if answered_after {
                score += 5;
                parts.push("the customer's last question was answered, not confirmed".into());
            } else {
                parts.push("the customer's last question is unanswered".into());
            }
        } else {
            score += 10;
            parts.push("the customer's last words are neither a question nor a complaint".into());
        }
    }

    let chasers = count_chasers(turns, &customers, lex);
    let repeats = count_repeated_questions(turns, &customers, lex);
    if chasers > 0 {
        parts.push(format!("{chasers} chaser(s) like \"any update?\""));
    }
    if repeats > 0 {
        parts.push(format!("{repeats} repeated question(s)"));
    }
    let deduction = 5 * i32::try_from(chasers + repeats).unwrap_or(i32::MAX / 5);
    score = score.saturating_sub(deduction).max(0);
    criterion(
        name,
        u8::try_from(score).unwrap_or(0),
        sentence(&capitalize(&parts.join("; "))),
    )
}

/// Whether the customer is owed a reply: they wrote last, and not merely to acknowledge an
/// answer ("ok", "perfect, thanks" after a reply ends a thread; it does not ask for more).
fn customer_waiting(turns: &[&ReviewMessage], lex: &Lexicon) -> bool {
    let Some(last) = turns.last().filter(|m| m.author == Author::Customer) else {
        return false;
    };
    let acknowledgement = turns.iter().any(|m| is_ours(m))
        && !is_question(&last.text)
        && !lex.complaint.matches(&last.text)
        && !is_chaser(&last.text, lex);
    !acknowledgement
}

/// Customer turns after their first that chase an answer: a chaser phrase, or only
/// question marks ("??").
fn count_chasers(turns: &[&ReviewMessage], customers: &[usize], lex: &Lexicon) -> usize {
    customers
        .iter()
        .skip(1)
        .filter(|&&i| is_chaser(&turns[i].text, lex))
        .count()
}

fn is_chaser(text: &str, lex: &Lexicon) -> bool {
    lex.chaser.matches(text) || (normalize(text).is_empty() && text.contains('?'))
}

/// Customer questions that ask again what an earlier one asked: at least two terms, and
/// most of them (Jaccard ≥ 0.6) shared. Chasers are counted apart, not twice.
fn count_repeated_questions(turns: &[&ReviewMessage], customers: &[usize], lex: &Lexicon) -> usize {
    let mut seen: Vec<HashSet<String>> = Vec::new();
    let mut repeats = 0;
    for &i in customers {
        let text = &turns[i].text;
        if !is_question(text) || is_chaser(text, lex) {
            continue;
        }
        let terms: HashSet<String> = tokenize(text).into_iter().collect();
        if terms.len() < 2 {
            continue;
        }
        if seen.iter().any(|earlier| jaccard(earlier, &terms) >= 0.6) {
            repeats += 1;
        }
        seen.push(terms);
    }
    repeats
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

fn accuracy(turns: &[&ReviewMessage], lex: &Lexicon) -> Criterion {
    let name = CriterionName::Accuracy;
    let answers: Vec<&&ReviewMessage> = turns
        .iter()
        .filter(|m| m.author == Author::Assistant)
        .collect();
    if answers.is_empty() {
        return criterion(name, name.weight(), "No assistant answers to judge.");
    }
    let misses = answers
        .iter()
        .filter(|m| lex.no_match.matches(&m.text))
        .count();
    match misses {
        0 => criterion(name, 15, "The assistant never said it could not answer."),
        1 => criterion(
            name,
            15,
            "The assistant said once that it could not answer.",
        ),
        2 => criterion(
            name,
            8,
            "The assistant said twice that it could not answer.",
        ),
        n => criterion(
            name,
            0,
            format!("The assistant said {n} times that it could not answer."),
        ),
    }
}

fn empathy(turns: &[&ReviewMessage], lex: &Lexicon) -> Criterion {
    let name = CriterionName::Empathy;
    if !turns.iter().any(|m| is_ours(m)) {
        return criterion(name, 0, "No reply to judge.");
    }
    let complaint = turns
        .iter()
        .position(|m| m.author == Author::Customer && lex.complaint.matches(&m.text));
    let kind_after = |from: usize| {
        turns[from..]
            .iter()
            .any(|m| is_ours(m) && lex.empathy.matches(&m.text))
    };
    match complaint {
        Some(i) if kind_after(i) => criterion(
            name,
            15,
            "The complaint was met with an apology or empathy.",
        ),
        Some(_) => criterion(
            name,
            0,
            "The customer complained and no reply apologised or showed empathy.",
        ),
        None if kind_after(0) => {
            criterion(name, 15, "Our replies thanked or reassured the customer.")
        }
        None => criterion(
            name,
            8,
            "Neutral replies, with no thanks, apology or reassurance.",
        ),
    }
}

fn greeting_closing(turns: &[&ReviewMessage], lex: &Lexicon) -> Criterion {
    let name = CriterionName::GreetingClosing;
    let ours: Vec<&&ReviewMessage> = turns.iter().filter(|m| is_ours(m)).collect();
    if ours.is_empty() {
        return criterion(name, 0, "No reply to judge.");
    }
    let greeted = ours.iter().take(2).any(|m| lex.greeting.matches(&m.text));
    let closed = ours
        .iter()
        .rev()
        .take(2)
        .any(|m| lex.closing.matches(&m.text));
    let (score, note) = match (greeted, closed) {
        (true, true) => (10, "Our replies greeted the customer and closed politely."),
        (true, false) => (5, "Our replies greeted the customer but did not close."),
        (false, true) => (5, "Our replies closed politely but never greeted."),
        (false, false) => (0, "Our replies neither greeted nor closed."),
    };
    criterion(name, score, note)
}

/// A reply of one word says too little; past 150 words (or 1,000 characters, for scripts
/// without spaces) it is a wall of text on a phone.
fn readable_length(text: &str) -> bool {
    let words = text.split_whitespace().count();
    (2..=150).contains(&words) && text.chars().count() <= 1000
}

fn clarity(turns: &[&ReviewMessage]) -> Criterion {
    let name = CriterionName::Clarity;
    let texts: Vec<&str> = turns
        .iter()
        .filter(|m| is_ours(m) && !m.text.trim().is_empty())
        .map(|m| m.text.as_str())
        .collect();
    if texts.is_empty() {
        return criterion(name, 0, "No text reply to judge.");
    }
    let good = texts.iter().filter(|t| readable_length(t)).count();
    let weight = usize::from(name.weight());
    let score = (weight * good + texts.len() / 2) / texts.len();
    let note = if good == texts.len() {
        "Every reply was of a readable length.".to_owned()
    } else {
        format!(
            "{good} of {} replies were of a readable length (not one word, not a wall of text).",
            texts.len()
        )
    };
    criterion(name, u8::try_from(score).unwrap_or(0), note)
}

// ---------------------------------------------------------------------------------------
// Lead stage
// ---------------------------------------------------------------------------------------

fn lead_stage(turns: &[&ReviewMessage], lex: &Lexicon) -> Option<LeadStage> {
    let texts: Vec<&str> = turns
        .iter()
        .filter(|m| m.author == Author::Customer && !m.text.trim().is_empty())
        .map(|m| m.text.as_str())
        .collect();
    if texts.is_empty() {
        return None;
    }
    let spammy = |t: &&str| is_link_only(t) || lex.spam.matches(t);
    if texts.iter().any(spammy) && texts.iter().all(|t| spammy(t) || is_greeting_only(t)) {
        return Some(LeadStage::Spam);
    }
    for text in texts.iter().rev() {
        if lex.not_interested.matches(text) {
            return Some(LeadStage::NotInterested);
        }
        if lex.opportunity.matches(text) {
            return Some(LeadStage::Opportunity);
        }
        if lex.quote.matches(text) {
            return Some(LeadStage::QuoteRequest);
        }
    }
    let complained = texts.iter().any(|t| lex.complaint.matches(t));
    if !complained && texts.iter().any(|t| is_question(t)) {
        return Some(LeadStage::InfoOnly);
    }
    None
}

/// Nothing but links (`http://`, `https://`, `www.`), as spam often is.
fn is_link_only(text: &str) -> bool {
    let mut words = text.split_whitespace().peekable();
    words.peek().is_some()
        && words.all(|w| {
            let w = w
                .trim_matches(|c: char| matches!(c, '<' | '>' | '(' | ')' | '"' | '\'' | ',' | '.'))
                .to_lowercase();
            w.starts_with("http://") || w.starts_with("https://") || w.starts_with("www.")
        })
}

fn is_question(text: &str) -> bool {
    if text.contains('?') || text.contains('¿') {
        return true;
    }
    normalize(text)
        .split(' ')
        .next()
        .is_some_and(|first| QUESTION_WORDS.contains(&first))
}

/// Whether the text is only greetings and pleasantries ("Hi!", "olá, tudo bem?").
fn is_greeting_only(text: &str) -> bool {
    let normalized = normalize(text);
    !normalized.is_empty() && normalized.split(' ').all(|w| GREETING_WORDS.contains(&w))
}

// ---------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------

fn summary(
    turns: &[&ReviewMessage],
    input: &ReviewInput,
    handoffs: &[HandoffAnswer],
    lex: &Lexicon,
) -> String {
    if turns.is_empty() {
        return "No messages yet.".to_owned();
    }
    let mut lines = Vec::with_capacity(3);
    let intent = intent(turns);
    if let Some((_, text)) = &intent {
        lines.push(format!("Asked: {}", sentence(&cut(text))));
    }
    let last_reply = turns.iter().rposition(|m| is_ours(m));
    let details = central_sentences(turns, intent.as_ref().map(|(i, _)| *i), last_reply, lex);
    if !details.is_empty() {
        lines.push(format!("Details: {}", details.join(" ")));
    }
    lines.push(outcome(turns, input, handoffs, last_reply, lex));
    lines.join("\n")
}

/// The first customer message with more than greetings in it, its leading greetings cut
/// ("Hi! My order 123 …" → "My order 123 …"), with its turn's index.
fn intent(turns: &[&ReviewMessage]) -> Option<(usize, String)> {
    turns
        .iter()
        .enumerate()
        .filter(|(_, m)| m.author == Author::Customer)
        .find_map(|(i, m)| {
            let kept: Vec<String> = sentences(&m.text)
                .into_iter()
                .map(|s| strip_greeting_clause(&s))
                .skip_while(|s| s.is_empty() || is_greeting_only(s))
                .filter(|s| !s.is_empty())
                .collect();
            (!kept.is_empty()).then(|| (i, kept.join(" ")))
        })
}

/// Drops a greeting before the first comma or dash ("Hola, quiero …" → "quiero …").
fn strip_greeting_clause(sentence: &str) -> String {
    if let Some(pos) = sentence.find([',', '-', '–', '—']) {
        let (head, rest) = sentence.split_at(pos);
        if is_greeting_only(head) {
            let rest = rest.trim_start_matches([',', '-', '–', '—']).trim_start();
            return rest.to_owned();
        }
    }
    sentence.to_owned()
}

/// A sentence that can be ranked: who said it, its terms, whether it carries a fact.
struct Candidate {
    author: Author,
    text: String,
    terms: HashSet<String>,
    has_fact: bool,
}

/// The one or two most central sentences outside the intent and the last reply (both
/// shown already), in conversation order, each labelled with its author.
///
/// TextRank: edges weighted by shared terms over `ln(1 + |a|) + ln(1 + |b|)` (Mihalcea &
/// Tarau's overlap, shifted by one so one-word sentences do not divide by zero), PageRank
/// with damping 0.85 for 50 rounds; then ×1.5 for a sentence with a digit or a date word,
/// so order ids, amounts and dates win near-ties. A sentence linked to nothing and with no
/// fact is not central to anything and is never shown.
fn central_sentences(
    turns: &[&ReviewMessage],
    intent: Option<usize>,
    last_reply: Option<usize>,
    lex: &Lexicon,
) -> Vec<String> {
    let mut candidates: Vec<Candidate> = Vec::new();
    for (i, m) in turns.iter().enumerate() {
        if Some(i) == intent || Some(i) == last_reply {
            continue;
        }
        for s in sentences(&m.text) {
            let terms: HashSet<String> = tokenize(&s).into_iter().collect();
            let trivial = terms.len() < 2
                || is_greeting_only(&s)
                || (is_ours(m) && (lex.closing.matches(&s) || lex.no_match.matches(&s)));
            if trivial || candidates.iter().any(|c| c.terms == terms) {
                continue;
            }
            let has_fact = s.chars().any(|c| c.is_ascii_digit())
                || normalize(&s).split(' ').any(|w| DATE_WORDS.contains(&w));
            candidates.push(Candidate {
                author: m.author,
                text: s,
                terms,
                has_fact,
            });
        }
    }
    let skip = candidates.len().saturating_sub(MAX_RANKED_SENTENCES);
    let candidates: Vec<Candidate> = candidates.into_iter().skip(skip).collect();
    let (ranks, linked) = textrank(&candidates);

    let mut scored: Vec<(usize, f64)> = ranks
        .iter()
        .enumerate()
        .filter(|&(i, _)| linked[i] || candidates[i].has_fact)
        .map(|(i, &r)| (i, if candidates[i].has_fact { r * 1.5 } else { r }))
        .collect();
    // Best first; ties go to the earlier sentence.
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut picked: Vec<usize> = scored.iter().take(2).map(|&(i, _)| i).collect();
    picked.sort_unstable();
    picked
        .into_iter()
        .map(|i| {
            let c = &candidates[i];
            format!("{}: {}", label(c.author), sentence(&cut(&c.text)))
        })
        .collect()
}

/// PageRank over the overlap graph; also says which sentences share a term with another.
fn textrank(candidates: &[Candidate]) -> (Vec<f64>, Vec<bool>) {
    const DAMPING: f64 = 0.85;
    let n = candidates.len();
    let mut weights = vec![vec![0.0_f64; n]; n];
    for i in 0..n {
        for j in i + 1..n {
            let (a, b) = (&candidates[i].terms, &candidates[j].terms);
            let shared = a.intersection(b).count();
            if shared == 0 {
                continue;
            }
            let denominator = (1.0 + a.len() as f64).ln() + (1.0 + b.len() as f64).ln();
            let w = shared as f64 / denominator;
            weights[i][j] = w;
            weights[j][i] = w;
        }
    }
    let out: Vec<f64> = weights.iter().map(|row| row.iter().sum()).collect();
    let linked: Vec<bool> = out.iter().map(|&o| o > 0.0).collect();
    let mut rank = vec![1.0_f64; n];
    for _ in 0..50 {
        let next: Vec<f64> = (0..n)
            .map(|i| {
                let inflow: f64 = (0..n)
                    .filter(|&j| out[j] > 0.0)
                    .map(|j| weights[j][i] / out[j] * rank[j])
                    .sum();
                (1.0 - DAMPING) + DAMPING * inflow
            })
            .collect();
        rank = next;
    }
    (rank, linked)
}

/// The last line: where the conversation stands, then the last reply of ours.
fn outcome(
    turns: &[&ReviewMessage],
    input: &ReviewInput,
    handoffs: &[HandoffAnswer],
    last_reply: Option<usize>,
    lex: &Lexicon,
) -> String {
    let unanswered = handoffs.iter().find(|h| h.answered_at.is_none());
    let customer_waits = customer_waiting(turns, lex);
    let state = if input.status == Status::Closed {
        if handoffs.is_empty() {
            "Closed.".to_owned()
        } else if unanswered.is_some() {
            "Closed without a person answering the handoff.".to_owned()
        } else {
            "Closed after a person answered.".to_owned()
        }
    } else if let Some(h) = unanswered {
        format!(
            "Waiting for a person for {}.",
            wait(seconds(h.at, input.now))
        )
    } else if !handoffs.is_empty() {
        if customer_waits {
            "Handed to a person and answered; the customer is waiting again.".to_owned()
        } else {
            "Handed to a person and answered; waiting for the customer.".to_owned()
        }
    } else if customer_waits {
        "Waiting for a reply.".to_owned()
    } else {
        "Waiting for the customer.".to_owned()
    };
    let reply = match last_reply.and_then(|i| turns.get(i)) {
        Some(m) if !m.text.trim().is_empty() => {
            let first_two: Vec<String> = sentences(&m.text).into_iter().take(2).collect();
            format!(
                " Last reply ({}): {}",
                label(m.author).to_lowercase(),
                sentence(&cut(&first_two.join(" ")))
            )
        }
        Some(m) => format!(" Last reply ({}): a file.", label(m.author).to_lowercase()),
        None => " No reply yet.".to_owned(),
    };
    format!("Outcome: {state}{reply}")
}

fn label(author: Author) -> &'static str {
    match author {
        Author::Customer => "Customer",
        Author::Assistant => "Assistant",
        Author::Agent => "Agent",
        Author::System => "System",
    }
}

/// Splits text into sentences: after `.`, `!`, `?` or `…` followed by a space, and at line
/// breaks; each with its whitespace collapsed. A decimal ("45.90") or a URL stays whole.
fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let ends = matches!(c, '.' | '!' | '?' | '…')
            && chars.peek().is_none_or(|next| next.is_whitespace());
        if c == '\n' || c == '\r' {
            push_sentence(&mut out, &mut current);
            continue;
        }
        current.push(c);
        if ends {
            push_sentence(&mut out, &mut current);
        }
    }
    push_sentence(&mut out, &mut current);
    out
}

fn push_sentence(out: &mut Vec<String>, current: &mut String) {
    let collapsed = current.split_whitespace().collect::<Vec<_>>().join(" ");
    current.clear();
    if !collapsed.is_empty() {
        out.push(collapsed);
    }
}

/// At most [`MAX_PIECE_CHARS`] characters, cut at a word when one ends near the limit,
/// with "…" when anything was cut; whitespace collapsed to single spaces.
fn cut(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= MAX_PIECE_CHARS {
        return collapsed;
    }
    let hard: String = collapsed.chars().take(MAX_PIECE_CHARS - 1).collect();
    let soft = match hard.rfind(' ') {
        Some(pos) if hard[..pos].chars().count() >= MAX_PIECE_CHARS * 3 / 4 => &hard[..pos],
        _ => hard.as_str(),
    };
    format!("{}…", soft.trim_end())
}

/// Ends the text with a full stop unless it already ends a sentence, or ends with a link
/// (a full stop glued to it would break it for whoever copies or opens it).
fn sentence(text: &str) -> String {
    let trimmed = text.trim();
    let ends_with_link = trimmed
        .rsplit(' ')
        .next()
        .is_some_and(|w| w.contains("://") || w.starts_with("www."));
    if trimmed.is_empty() || ends_with_link || trimmed.ends_with(['.', '!', '?', '…']) {
        trimmed.to_owned()
    } else {
        format!("{trimmed}.")
    }
}

/// The text with its first letter in upper case, for notes assembled from pieces.
fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------
// Hash
// ---------------------------------------------------------------------------------------

/// SHA-256 over the rules' version, the status, the handoffs, the close and every message
/// (system ones too: a handoff or a close is a change worth a new review). Each field is
/// length-prefixed so that no two different inputs run together into the same bytes.
fn transcript_hash(ordered: &[&ReviewMessage], input: &ReviewInput) -> String {
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use chrono::{Duration, NaiveDate};

    use super::*;

    use Author::{Agent, Assistant, Customer, System};

    fn at(h: u32, m: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, 2)
            .and_then(|d| d.and_hms_opt(h, m, s))
            .unwrap()
    }

    fn msg(author: Author, at: NaiveDateTime, text: &str) -> ReviewMessage {
        ReviewMessage {
            author,
            text: text.to_owned(),
            at,
        }
    }

    /// Messages a minute apart from 10:00, in a conversation of the given status, reviewed
    /// ten minutes after the last one.
    fn thread(status: Status, turns: &[(Author, &str)]) -> ReviewInput {
        let messages: Vec<ReviewMessage> = turns
            .iter()
            .enumerate()
            .map(|(i, (a, t))| msg(*a, at(10, 0, 0) + Duration::minutes(i as i64), t))
            .collect();
        let now = messages.last().map_or(at(10, 0, 0), |m| m.at) + Duration::minutes(10);
        ReviewInput {
            messages,
            status,
            handoffs: Vec::new(),
            resolved_at: None,
            now,
        }
    }

    fn score(review: &Review, name: CriterionName) -> u8 {
        review
            .rubric
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.score)
            .unwrap()
    }

    fn note(review: &Review, name: CriterionName) -> String {
        review
            .rubric
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.note.clone())
            .unwrap()
    }

    fn rubric_sum(review: &Review) -> u32 {
        review.rubric.iter().map(|c| u32::from(c.score)).sum()
    }

    /// A conversation that does everything right, for tests that change one thing.
    fn model_thread() -> ReviewInput {
        thread(
            Status::Closed,
            &[
                (Customer, "Hi"),
                (Customer, "Where is my order 4521?"),
                (
                    Assistant,
                    "Hello! Thanks for reaching out. Order 4521 shipped on 3 March with DHL.",
                ),
                (Customer, "Great, thank you"),
                (
                    Assistant,
                    "Happy to help. Is there anything else I can do for you?",
                ),
            ],
        )
    }

    #[test]
    fn weights_add_up_to_100_and_names_are_snake_case() {
        let total: u32 = CriterionName::ALL
            .iter()
            .map(|c| u32::from(c.weight()))
            .sum();
        assert_eq!(total, 100);
        for name in CriterionName::ALL {
            let json = serde_json::to_value(name).unwrap();
            assert_eq!(json, serde_json::Value::String(name.as_str().to_owned()));
        }
        let review = review(&model_thread());
        let names: Vec<CriterionName> = review.rubric.iter().map(|c| c.name).collect();
        assert_eq!(names, CriterionName::ALL);
        let json = serde_json::to_value(&review).unwrap();
        assert_eq!(json["rubric"][4]["name"], "greeting_closing");
        assert_eq!(json["rubric"][4]["weight"], 10);
        assert!(json["rubric"][0]["note"].as_str().is_some());
        assert_eq!(json["critical"], serde_json::json!([]));
        assert_eq!(json["lead_stage"], "info_only");
    }

    #[test]
    fn a_model_conversation_scores_full_marks() {
        let review = review(&model_thread());
        for c in &review.rubric {
            assert_eq!(c.score, c.weight, "{c:?}");
        }
        assert_eq!(review.quality_score, 100);
        assert!(review.critical.is_empty());
    }

    #[test]
    fn responsiveness_after_a_handoff_falls_linearly_from_5_to_60_minutes() {
        // (minutes:seconds until a person answered, expected score)
        let cases = [
            (0, 25),
            (2 * 60, 25),
            (5 * 60, 25),
            (5 * 60 + 1, 25),   // 24.99… rounds to 25
            (20 * 60, 18),      // 25 × 40/55 = 18.2
            (32 * 60 + 30, 13), // 12.5 rounds up
            (50 * 60, 5),       // 4.5 rounds up
            (59 * 60, 0),       // 0.45 rounds down
            (60 * 60, 0),
            (3 * 3600, 0),
        ];
        for (secs, expected) in cases {
            let handoff = at(10, 0, 0);
            let mut input = thread(Status::Human, &[]);
            input.messages = vec![
                msg(Customer, handoff, "I want to talk to a person"),
                msg(
                    Agent,
                    handoff + Duration::seconds(secs),
                    "Hi, Ana here. How can I help?",
                ),
            ];
            input.handoffs = vec![handoff];
            input.now = handoff + Duration::hours(5);
            let review = review(&input);
            assert_eq!(
                score(&review, CriterionName::Responsiveness),
                expected,
                "answered after {secs} s"
            );
            assert!(review.critical.is_empty(), "answered after {secs} s");
        }
    }

    #[test]
    fn responsiveness_without_a_handoff_judges_the_first_reply_to_the_customer() {
        let mut input = thread(Status::Bot, &[]);
        input.messages = vec![
            msg(Customer, at(10, 0, 0), "Do you ship to Porto?"),
            msg(Assistant, at(10, 0, 4), "Yes, we ship to all of Portugal."),
        ];
        assert_eq!(score(&review(&input), CriterionName::Responsiveness), 25);

        input.messages[1].at = at(10, 20, 0);
        let r = review(&input);
        assert_eq!(score(&r, CriterionName::Responsiveness), 18);
        assert_eq!(
            note(&r, CriterionName::Responsiveness),
            "The customer got a first reply after 20 min."
        );

        // Nobody answered: the wait so far counts, and no handoff means no critical cap.
        input.messages.truncate(1);
        input.now = at(12, 0, 0);
        let r = review(&input);
        assert_eq!(score(&r, CriterionName::Responsiveness), 0);
        assert_eq!(
            note(&r, CriterionName::Responsiveness),
            "The customer has had no reply for 2 h 0 min."
        );
        assert!(r.critical.is_empty());

        // Nothing to answer is not a failure.
        let r = review(&thread(
            Status::Human,
            &[(Agent, "Your invoice is attached.")],
        ));
        assert_eq!(score(&r, CriterionName::Responsiveness), 25);
    }

    #[test]
    fn the_slowest_handoff_counts() {
        let mut input = thread(Status::Human, &[]);
        input.messages = vec![
            msg(Customer, at(10, 0, 0), "agent"),
            msg(Agent, at(10, 1, 0), "Hi! Ana here, how can I help?"),
            msg(Customer, at(11, 0, 0), "agent please, again"),
            msg(Agent, at(11, 20, 0), "Sorry for the wait, I'm back."),
        ];
        input.handoffs = vec![at(11, 0, 0), at(10, 0, 0)];
        input.now = at(12, 0, 0);
        let r = review(&input);
        assert_eq!(score(&r, CriterionName::Responsiveness), 18);
        assert_eq!(
            note(&r, CriterionName::Responsiveness),
            "The slowest of 2 handoffs was answered after 20 min."
        );
        // An assistant turn or a note after the handoff is not a person answering.
        input.messages.truncate(3);
        input
            .messages
            .push(msg(Assistant, at(11, 0, 5), "A person will answer soon."));
        input
            .messages
            .push(msg(System, at(11, 0, 6), "Handed off to a person."));
        let r = review(&input);
        assert_eq!(r.critical, vec![CriticalFail::UnansweredHandoff]);
        assert_eq!(score(&r, CriterionName::Responsiveness), 0);
        assert_eq!(
            note(&r, CriterionName::Responsiveness),
            "Nobody has answered the handoff after 60 min."
        );
    }

    #[test]
    fn an_unanswered_handoff_caps_the_score_at_40() {
        let mut input = model_thread();
        input.status = Status::Human;
        input.handoffs = vec![input.now - Duration::minutes(2)];
        let r = review(&input);
        assert_eq!(r.critical, vec![CriticalFail::UnansweredHandoff]);
        assert!(rubric_sum(&r) > u32::from(CRITICAL_CAP), "{:?}", r.rubric);
        assert_eq!(r.quality_score, CRITICAL_CAP);
    }

    #[test]
    fn a_broken_promise_caps_the_score_at_40_in_every_language() {
        for promise in [
            "Let me check with the warehouse and get back to you.",
            "I'll check the tracking for you.",
            "Déjame revisar y te aviso.",
            "Vou verificar com a transportadora.",
            "Main check karke batata hoon.",
        ] {
            let mut input = model_thread();
            input.messages.push(msg(Agent, input.now, promise));
            input.now += Duration::minutes(30);
            let r = review(&input);
            assert_eq!(r.critical, vec![CriticalFail::BrokenPromise], "{promise}");
            assert!(r.quality_score <= CRITICAL_CAP, "{promise}");

            // A later agent turn keeps it.
            input
                .messages
                .push(msg(Agent, input.now, "Found it: it arrives on Monday."));
            assert!(review(&input).critical.is_empty(), "{promise}");
        }
        // The assistant saying it is not a person's promise.
        let mut input = model_thread();
        input
            .messages
            .push(msg(Assistant, input.now, "Let me check that for you."));
        assert!(review(&input).critical.is_empty());
    }

    #[test]
    fn both_critical_failures_are_named() {
        let mut input = thread(
            Status::Human,
            &[
                (Customer, "agent"),
                (Agent, "Hi, let me check."),
                (Customer, "agent!!"),
            ],
        );
        input.handoffs = vec![at(10, 0, 0), at(10, 2, 0)];
        let r = review(&input);
        assert_eq!(
            r.critical,
            vec![CriticalFail::UnansweredHandoff, CriticalFail::BrokenPromise]
        );
        assert!(r.quality_score <= CRITICAL_CAP);
    }

    /// A thread as written in the tables: who said what, a minute apart.
    type Turns<'a> = &'a [(Author, &'a str)];

    #[test]
    fn resolution_rules() {
        let q = "Can I pay on delivery?";
        let a = "Yes, cash or card on delivery.";
        // (status, turns, expected resolution score)
        let cases: &[(Status, Turns<'_>, u8)] = &[
            // Closed and the customer ended content.
            (
                Status::Closed,
                &[(Customer, q), (Assistant, a), (Customer, "ok, thanks")],
                25,
            ),
            // Closed after an answered question the customer never confirmed.
            (Status::Closed, &[(Customer, q), (Assistant, a)], 20),
            // Closed on a complaint.
            (
                Status::Closed,
                &[
                    (Customer, q),
                    (Agent, a),
                    (Customer, "You charged me twice!"),
                ],
                15,
            ),
            // Open, answered, customer content: not closed.
            (
                Status::Bot,
                &[(Customer, q), (Assistant, a), (Customer, "perfect")],
                20,
            ),
            // Open and the customer's question is unanswered.
            (Status::Bot, &[(Customer, q)], 0),
            // Chasers cost 5 each.
            (
                Status::Human,
                &[
                    (Customer, q),
                    (Customer, "any update?"),
                    (Customer, "??"),
                    (Agent, a),
                    (Customer, "ok"),
                ],
                10,
            ),
            (
                Status::Human,
                &[
                    (Customer, q),
                    (Customer, "sigo esperando"),
                    (Agent, a),
                    (Customer, "ok"),
                ],
                15,
            ),
            // A repeated question costs 5 too, on top of being unanswered.
            (
                Status::Closed,
                &[
                    (Customer, "Can I pay on delivery?"),
                    (Agent, "One moment."),
                    (Customer, "can I pay on delivery??"),
                    (Agent, a),
                    (Customer, "thanks"),
                ],
                20,
            ),
            // Nothing can go below zero.
            (
                Status::Bot,
                &[
                    (Customer, q),
                    (Customer, "still waiting"),
                    (Customer, "any update?"),
                    (Customer, "hello?? anyone there?"),
                    (Customer, "alguma novidade?"),
                ],
                0,
            ),
            // Nothing to resolve.
            (Status::Human, &[(Agent, "Your invoice is attached.")], 25),
        ];
        for (status, turns, expected) in cases {
            let r = review(&thread(*status, turns));
            assert_eq!(
                score(&r, CriterionName::Resolution),
                *expected,
                "{turns:?}: {}",
                note(&r, CriterionName::Resolution)
            );
        }
    }

    #[test]
    fn resolution_notes_say_why_in_one_sentence() {
        let r = review(&thread(
            Status::Human,
            &[
                (Customer, "Can I pay on delivery?"),
                (Customer, "any update?"),
                (Agent, "Yes, cash or card."),
                (Customer, "Can I pay on delivery with a card?"),
            ],
        ));
        assert_eq!(
            note(&r, CriterionName::Resolution),
            "The customer is waiting for a reply; the customer's last question is unanswered; \
             1 chaser(s) like \"any update?\"; 1 repeated question(s)."
        );
        assert_eq!(score(&r, CriterionName::Resolution), 0);
    }

    #[test]
    fn resolution_judges_the_words_before_the_close() {
        // A rating after the close does not reopen the conversation; what counts is what the
        // customer said before it.
        let mut input = thread(
            Status::Closed,
            &[
                (Customer, "Can I pay on delivery?"),
                (Agent, "Yes, cash or card."),
                (Customer, "You charged me twice!"),
                (Agent, "Sorry, refunded now."),
                (Customer, "Good, thanks"),
                (Customer, "Why did it take so long?"),
            ],
        );
        input.resolved_at = Some(at(10, 4, 30));
        assert_eq!(score(&review(&input), CriterionName::Resolution), 25);
        input.resolved_at = Some(at(10, 5, 30));
        assert_eq!(score(&review(&input), CriterionName::Resolution), 15);
    }

    #[test]
    fn accuracy_counts_the_assistant_saying_it_cannot_answer() {
        let miss = "I'm not sure I can answer that. Would you like to talk to a person?";
        let cases: &[(&[&str], u8)] = &[
            (&["We open at 9."], 15),
            (&[miss, "We open at 9."], 15),
            (&[miss, "No entendí, ¿puedes reformular?"], 8),
            (
                &[
                    miss,
                    "Não sei responder isso.",
                    "Sorry, I could not find that.",
                ],
                0,
            ),
        ];
        for (answers, expected) in cases {
            let mut turns = Vec::new();
            for a in *answers {
                turns.push((Customer, "When do you open on Sunday?"));
                turns.push((Assistant, *a));
            }
            let r = review(&thread(Status::Bot, &turns));
            assert_eq!(score(&r, CriterionName::Accuracy), *expected, "{answers:?}");
        }
        // A person's "not sure" is not the assistant guessing.
        let r = review(&thread(
            Status::Human,
            &[
                (Customer, "When?"),
                (Agent, "Not sure yet."),
                (Agent, "Not sure, sorry."),
            ],
        ));
        assert_eq!(score(&r, CriterionName::Accuracy), 15);
    }

    #[test]
    fn empathy_in_four_languages() {
        let cases: &[(&str, &str, u8)] = &[
            (
                "You charged me twice!",
                "I'm sorry about that, the refund is on its way.",
                15,
            ),
            (
                "Me cobraron dos veces",
                "Lo siento mucho, ya lo corregimos.",
                15,
            ),
            (
                "Fui cobrado duas vezes",
                "Desculpe o transtorno, já estornamos.",
                15,
            ),
            (
                "Paisa kat gaya do baar",
                "Maaf kijiye, refund ho gaya hai.",
                15,
            ),
            ("You charged me twice!", "The refund is on its way.", 0),
            (
                "Do you ship to Pune?",
                "Yes, we ship to Pune. Thanks for asking!",
                15,
            ),
            ("¿Envían a Lima?", "Sí, con gusto enviamos a Lima.", 15),
            ("Do you ship to Pune?", "Yes, we ship to Pune.", 8),
        ];
        for (customer, reply, expected) in cases {
            let r = review(&thread(
                Status::Human,
                &[(Customer, customer), (Agent, reply)],
            ));
            assert_eq!(
                score(&r, CriterionName::Empathy),
                *expected,
                "{customer} → {reply}"
            );
        }
        // An apology before the complaint does not count for it.
        let r = review(&thread(
            Status::Human,
            &[
                (Customer, "Hi"),
                (Agent, "Sorry for the wait, how can I help?"),
                (Customer, "You charged me twice!"),
                (Agent, "The refund is on its way."),
            ],
        ));
        assert_eq!(score(&r, CriterionName::Empathy), 0);
        // No reply, nothing to judge.
        let r = review(&thread(Status::Bot, &[(Customer, "hello?")]));
        assert_eq!(score(&r, CriterionName::Empathy), 0);
    }

    #[test]
    fn greeting_and_closing_in_four_languages() {
        let cases: &[(&str, &str, u8)] = &[
            (
                "Hello! Yes, we deliver.",
                "Anything else I can help with?",
                10,
            ),
            (
                "¡Hola! Sí, enviamos.",
                "¿Algo más en que pueda ayudarte?",
                10,
            ),
            ("Olá! Sim, entregamos.", "Tenha um bom dia!", 10),
            (
                "Namaste! Haan, delivery hoti hai.",
                "Aur kuch madad chahiye?",
                10,
            ),
            ("Good morning, yes we deliver.", "It arrives Monday.", 5),
            ("Yes, we deliver.", "Have a great day!", 5),
            ("Yes, we deliver.", "It arrives Monday.", 0),
        ];
        for (first, last, expected) in cases {
            let r = review(&thread(
                Status::Human,
                &[
                    (Customer, "Do you deliver?"),
                    (Agent, first),
                    (Customer, "When?"),
                    (Agent, "Within three days."),
                    (Customer, "ok"),
                    (Agent, last),
                ],
            ));
            assert_eq!(
                score(&r, CriterionName::GreetingClosing),
                *expected,
                "{first} … {last}"
            );
        }
    }

    #[test]
    fn clarity_is_the_share_of_readable_replies() {
        let wall = "word ".repeat(200);
        let cases: &[(&[&str], u8)] = &[
            (&["We open at nine.", "Yes, on Sundays too."], 10),
            (&["Yes.", "We open at nine on Sundays too."], 5),
            (&["Yes.", "No.", "Ok", "We open at nine."], 3),
            (&[wall.as_str(), "We open at nine."], 5),
            (&["Yes."], 0),
        ];
        for (replies, expected) in cases {
            let mut turns = vec![(Customer, "When do you open?")];
            turns.extend(replies.iter().map(|r| (Agent, *r)));
            let r = review(&thread(Status::Human, &turns));
            assert_eq!(score(&r, CriterionName::Clarity), *expected, "{replies:?}");
        }
    }

    #[test]
    fn lead_stages_in_several_languages() {
        let cases: &[(&[&str], Option<LeadStage>)] = &[
            (
                &["What's the price of the blue sofa?"],
                Some(LeadStage::QuoteRequest),
            ),
            (
                &["Hola, necesito una cotización para 20 sillas"],
                Some(LeadStage::QuoteRequest),
            ),
            (&["Quanto custa o frete?"], Some(LeadStage::QuoteRequest)),
            (
                &["Pode me mandar um orçamento?"],
                Some(LeadStage::QuoteRequest),
            ),
            (&["ye sofa kitne ka hai?"], Some(LeadStage::QuoteRequest)),
            (&["I want to buy two of them"], Some(LeadStage::Opportunity)),
            (
                &["Can I book a table for 4 tonight?"],
                Some(LeadStage::Opportunity),
            ),
            (&["How do I pay?"], Some(LeadStage::Opportunity)),
            (
                &["Quiero comprar el modelo rojo"],
                Some(LeadStage::Opportunity),
            ),
            (
                &["Quero reservar para sábado"],
                Some(LeadStage::Opportunity),
            ),
            (&["Mujhe ye kharidna hai"], Some(LeadStage::Opportunity)),
            (&["Not interested, thanks"], Some(LeadStage::NotInterested)),
            (&["STOP"], Some(LeadStage::NotInterested)),
            (&["unsubscribe me please"], Some(LeadStage::NotInterested)),
            (&["No me interesa"], Some(LeadStage::NotInterested)),
            (&["Não tenho interesse"], Some(LeadStage::NotInterested)),
            (&["https://bit.ly/3xYz"], Some(LeadStage::Spam)),
            (&["hi", "www.cheap-pills.example"], Some(LeadStage::Spam)),
            (
                &["Congratulations you have won! Click here"],
                Some(LeadStage::Spam),
            ),
            (
                &["Ganhe dinheiro em casa, clique aqui"],
                Some(LeadStage::Spam),
            ),
            (&["What are your opening hours?"], Some(LeadStage::InfoOnly)),
            (&["¿Dónde están ubicados?"], Some(LeadStage::InfoOnly)),
            (&["Vocês abrem no domingo?"], Some(LeadStage::InfoOnly)),
            // The latest intent wins.
            (
                &["How much is it?", "not interested anymore"],
                Some(LeadStage::NotInterested),
            ),
            (
                &["stop", "actually, I want to buy it"],
                Some(LeadStage::Opportunity),
            ),
            (
                &["How much is it?", "ok I want to buy it"],
                Some(LeadStage::Opportunity),
            ),
            // A link with words around it is not link-only.
            (
                &["Is this yours? https://example.com/item/4"],
                Some(LeadStage::InfoOnly),
            ),
            // A complaint is support, not a lead.
            (&["You charged me twice, why?"], None),
            (&["My parcel arrived."], None),
            (&["hola"], None),
            (&[], None),
        ];
        for (texts, expected) in cases {
            let turns: Vec<(Author, &str)> = texts
                .iter()
                .flat_map(|t| [(Customer, *t), (Assistant, "Thanks for writing!")])
                .collect();
            let r = review(&thread(Status::Bot, &turns));
            assert_eq!(r.lead_stage, *expected, "{texts:?}");
        }
        // Our own words never set the stage.
        let r = review(&thread(
            Status::Human,
            &[
                (Customer, "My parcel arrived."),
                (Agent, "Great! Want to buy a second one? Our price is 20."),
            ],
        ));
        assert_eq!(r.lead_stage, None);
    }

    #[test]
    fn summary_intent_skips_greetings() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["hi", "Where is my order 4521?"],
                "Asked: Where is my order 4521?",
            ),
            (
                &["Hola!", "¿Dónde está mi pedido?"],
                "Asked: ¿Dónde está mi pedido?",
            ),
            (
                &["olá, tudo bem?", "Meu pedido não chegou"],
                "Asked: Meu pedido não chegou.",
            ),
            (
                &["Namaste ji", "mera order kab aayega"],
                "Asked: mera order kab aayega.",
            ),
            (
                &["Hi! My order 4521 never came."],
                "Asked: My order 4521 never came.",
            ),
            (
                &["Hola, quiero cambiar la talla"],
                "Asked: quiero cambiar la talla.",
            ),
            (
                &["Good morning", "hey", "Can I return shoes?"],
                "Asked: Can I return shoes?",
            ),
        ];
        for (texts, expected) in cases {
            let mut turns: Vec<(Author, &str)> = texts.iter().map(|t| (Customer, *t)).collect();
            turns.push((Agent, "Hello, checking now: it ships today."));
            let r = review(&thread(Status::Human, &turns));
            let first = r.summary.lines().next().unwrap();
            assert_eq!(first, *expected, "{texts:?}");
        }
        // Only greetings: no intent line.
        let r = review(&thread(
            Status::Bot,
            &[(Customer, "hi"), (Assistant, "Hello! How can I help?")],
        ));
        assert!(!r.summary.contains("Asked:"), "{}", r.summary);
    }

    #[test]
    fn summary_details_prefer_central_sentences_with_numbers() {
        let r = review(&thread(
            Status::Human,
            &[
                (Customer, "Hi, my parcel did not arrive."),
                (Agent, "Hello! Sorry about the parcel. Which address did you use?"),
                (Customer, "The parcel should go to Rua Augusta 120, Lisboa. The parcel is a gift."),
                (Agent, "Thanks. The parcel was sent to Rua Augusta 12, so the courier returned the parcel."),
                (Customer, "The parcel courier never called me either."),
                (Agent, "I re-sent the parcel to Rua Augusta 120; it arrives on 5 March. Anything else?"),
            ],
        ));
        let lines: Vec<&str> = r.summary.lines().collect();
        assert_eq!(lines.len(), 3, "{}", r.summary);
        assert_eq!(lines[0], "Asked: my parcel did not arrive.");
        // The sentences with the address numbers beat the equally central ones without.
        assert_eq!(
            lines[1],
            "Details: Customer: The parcel should go to Rua Augusta 120, Lisboa. \
             Agent: The parcel was sent to Rua Augusta 12, so the courier returned the parcel.",
        );
        assert_eq!(
            lines[2],
            "Outcome: Waiting for the customer. Last reply (agent): I re-sent the parcel to \
             Rua Augusta 120; it arrives on 5 March. Anything else?",
        );
    }

    #[test]
    fn summary_details_need_a_link_or_a_fact() {
        // Nothing connects these sentences and none carries a number: no details line.
        let r = review(&thread(
            Status::Bot,
            &[
                (Customer, "Do you sell umbrellas?"),
                (Assistant, "Yes, we sell umbrellas."),
                (Customer, "Nice colours though."),
                (Assistant, "We open at nine."),
            ],
        ));
        assert!(!r.summary.contains("Details:"), "{}", r.summary);
        assert_eq!(r.summary.lines().count(), 2);
    }

    #[test]
    fn summary_outcome_names_the_final_state() {
        let base = [
            (Customer, "Where is my order 4521?"),
            (Assistant, "Order 4521 is on its way."),
            (Customer, "agent"),
        ];
        // Waiting for a person.
        let mut input = thread(Status::Human, &base);
        input.handoffs = vec![at(10, 2, 0)];
        let r = review(&input);
        let last = r.summary.lines().last().unwrap();
        assert_eq!(
            last,
            "Outcome: Waiting for a person for 10 min. Last reply (assistant): Order 4521 is on its way."
        );
        // A person answered; waiting for the customer.
        input.messages.push(msg(
            Agent,
            at(10, 4, 0),
            "Hi, Ana here. It arrives tomorrow",
        ));
        let r = review(&input);
        assert_eq!(
            r.summary.lines().last().unwrap(),
            "Outcome: Handed to a person and answered; waiting for the customer. \
             Last reply (agent): Hi, Ana here. It arrives tomorrow."
        );
        // Closed.
        input.status = Status::Closed;
        let r = review(&input);
        assert!(
            r.summary
                .lines()
                .last()
                .unwrap()
                .starts_with("Outcome: Closed after a person answered. Last reply (agent):"),
            "{}",
            r.summary
        );
        // Waiting for a reply, no reply at all.
        let r = review(&thread(
            Status::Bot,
            &[(Customer, "Where is my order 4521?")],
        ));
        assert_eq!(
            r.summary,
            "Asked: Where is my order 4521?\nOutcome: Waiting for a reply. No reply yet."
        );
        assert_eq!(
            review(&thread(Status::Bot, &[])).summary,
            "No messages yet."
        );
    }

    #[test]
    fn summary_keeps_text_as_text_cut_and_on_three_lines() {
        let long = format!("<b>My order</b>\n\nhas {} problems", "many ".repeat(80));
        let r = review(&thread(
            Status::Bot,
            &[
                (Customer, &long),
                (Assistant, "Line one\nline two\r\nline three"),
            ],
        ));
        let lines: Vec<&str> = r.summary.lines().collect();
        assert_eq!(lines.len(), 2, "{}", r.summary);
        assert!(
            lines[0].starts_with("Asked: <b>My order</b> has many many"),
            "{}",
            lines[0]
        );
        assert!(lines[0].ends_with('…'));
        assert!(lines[0].chars().count() <= "Asked: ".len() + MAX_PIECE_CHARS);
        assert_eq!(
            lines[1],
            "Outcome: Waiting for the customer. Last reply (assistant): Line one line two."
        );
    }

    #[test]
    fn sentences_split_on_ends_and_lines_only() {
        assert_eq!(
            sentences("It costs 45.90 EUR. See https://shop.example/a.b?x=1 now!  Ok?\nBye"),
            vec![
                "It costs 45.90 EUR.",
                "See https://shop.example/a.b?x=1 now!",
                "Ok?",
                "Bye"
            ]
        );
        assert_eq!(sentences("   \n\n "), Vec::<String>::new());
        assert_eq!(
            sentence("Pay here: https://shop.example/pay"),
            "Pay here: https://shop.example/pay"
        );
        assert_eq!(sentence("  it ships today "), "it ships today.");
        assert_eq!(sentence("Done!"), "Done!");
        assert_eq!(capitalize("closed; ok"), "Closed; ok");
        assert_eq!(capitalize("ótimo"), "Ótimo");
        assert_eq!(cut("short"), "short");
        let cut_text = cut(&"ab ".repeat(100));
        assert!(cut_text.ends_with("ab…"), "{cut_text}");
        assert!(cut_text.chars().count() <= MAX_PIECE_CHARS);
        // No space to cut at: cut mid-word, on a character boundary.
        let cut_text = cut(&"é".repeat(500));
        assert_eq!(cut_text.chars().count(), MAX_PIECE_CHARS);
    }

    #[test]
    fn the_hash_is_stable_and_follows_the_transcript() {
        let input = model_thread();
        let hash = review(&input).transcript_hash;
        assert_eq!(hash.len(), 64);
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(review(&input.clone()).transcript_hash, hash);

        // The clock is not part of it; the order messages are given in is not either.
        let mut later = input.clone();
        later.now += Duration::days(3);
        assert_eq!(review(&later).transcript_hash, hash);
        let mut shuffled = input.clone();
        shuffled.messages.reverse();
        assert_eq!(review(&shuffled).transcript_hash, hash);

        let mut changes: Vec<ReviewInput> = Vec::new();
        let mut added = input.clone();
        added
            .messages
            .push(msg(Customer, input.now, "one more thing"));
        changes.push(added);
        let mut note = input.clone();
        note.messages.push(msg(System, input.now, "Closed by Ana"));
        changes.push(note);
        let mut edited = input.clone();
        edited.messages[1].text.push('!');
        changes.push(edited);
        let mut moved = input.clone();
        moved.messages[1].at += Duration::seconds(1);
        changes.push(moved);
        let mut reopened = input.clone();
        reopened.status = Status::Bot;
        changes.push(reopened);
        let mut handed = input.clone();
        handed.handoffs.push(at(10, 1, 0));
        changes.push(handed);
        let mut resolved = input.clone();
        resolved.resolved_at = Some(at(10, 5, 0));
        changes.push(resolved);
        // Text moved across a message boundary must not collide.
        let mut split = input.clone();
        split.messages[1].text = "Where is my".into();
        split.messages[2].text = format!("order 4521?{}", input.messages[2].text);
        changes.push(split);

        let mut seen = HashSet::from([hash]);
        for (i, changed) in changes.iter().enumerate() {
            assert!(
                seen.insert(review(changed).transcript_hash),
                "change {i} kept the hash or collided"
            );
        }
    }

    /// A small deterministic generator (64-bit LCG), so the property test needs no crate.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 33
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    #[test]
    fn any_conversation_scores_0_to_100_and_the_rubric_adds_up() {
        let wall = "a ".repeat(400);
        let pool: &[&str] = &[
            "",
            "hi",
            "hola",
            "olá, tudo bem?",
            "namaste",
            "Where is my order 4521?",
            "You charged me twice!",
            "any update?",
            "??",
            "still waiting",
            "ok thanks",
            "Let me check and get back to you.",
            "Vou verificar.",
            "te aviso",
            "I'm not sure I can answer that.",
            "Sorry about that! Anything else?",
            "Hello, welcome! It ships on 3 March.",
            "https://spam.example",
            "How much is it?",
            "I want to buy it",
            "stop",
            "Ok",
            wall.as_str(),
            "¿Cuánto cuesta?\n\nGracias.",
            "emoji 🎉 only 🙂",
            "\u{200b}",
            "....",
        ];
        let authors = [Customer, Assistant, Agent, System];
        let statuses = [Status::Bot, Status::Human, Status::Closed];
        let mut rng = Lcg(14);
        for case in 0..1000 {
            let start = at(9, 0, 0);
            let mut t = start;
            let mut messages = Vec::new();
            for _ in 0..rng.below(14) {
                t += Duration::seconds(rng.below(7200) as i64);
                messages.push(msg(
                    authors[rng.below(authors.len())],
                    t,
                    pool[rng.below(pool.len())],
                ));
            }
            let handoffs = (0..rng.below(3))
                .map(|_| start + Duration::seconds(rng.below(30_000) as i64))
                .collect();
            let resolved_at =
                (rng.below(2) == 0).then(|| start + Duration::seconds(rng.below(30_000) as i64));
            // Sometimes the clock is behind the messages: it must not matter.
            let now = start + Duration::seconds(rng.below(40_000) as i64);
            let input = ReviewInput {
                messages,
                status: statuses[rng.below(statuses.len())],
                handoffs,
                resolved_at,
                now,
            };
            let r = review(&input);
            assert!(r.quality_score <= 100, "case {case}: {input:?}");
            for c in &r.rubric {
                assert_eq!(c.weight, c.name.weight(), "case {case}");
                assert!(c.score <= c.weight, "case {case}: {c:?}");
                assert!(!c.note.is_empty(), "case {case}: {c:?}");
            }
            let sum = rubric_sum(&r);
            let expected = if r.critical.is_empty() {
                sum
            } else {
                sum.min(u32::from(CRITICAL_CAP))
            };
            assert_eq!(
                u32::from(r.quality_score),
                expected,
                "case {case}: {input:?}"
            );
            assert!(r.summary.lines().count() <= 3, "case {case}: {}", r.summary);
            assert!(!r.summary.is_empty(), "case {case}");
            assert_eq!(review(&input), r, "case {case}: not deterministic");
        }
    }
}
