//! Customer satisfaction (CSAT): the 1–5 score, reading a customer's reply as a rating, the
//! survey's wording, and the report over many scores.
//!
//! When a conversation closes inside the customer's window, the customer is asked once for a
//! rating: an interactive list on WhatsApp (rows `csat_1`..`csat_5`, see
//! `providers::whatsapp::csat_list`), the text of [`survey_text`] on the other text channels,
//! five stars in the widget. Their next message goes through [`parse_rating`]: a rating is
//! stored as the conversation's score and does not reopen it; anything else is an ordinary
//! message and reopens it as usual. Everything here is pure; the actor decides when a reply
//! counts (only the first one, within the survey's window).
//!
//! # Reading a reply
//!
//! Customers answer in many shapes ("4", "4/5", "⭐⭐⭐⭐", "👍", "muy bueno", "accha nahi
//! tha"), and a wrong guess costs more than no guess: a real question read as a rating would
//! keep the conversation closed and unanswered. So the parser only says "rating" when the
//! whole message is about the rating. In priority order (AI.md §8):
//!
//! 1. the interactive id `csat_1`..`csat_5` of a tapped list row or button;
//! 2. an explicit number: `4`, `4/5`, `4 out of 5` (`4 de 5`, `5 mein se 4`), `4 stars`,
//!    `4⭐`, `4️⃣`, or a 10-point answer (`8/10` → ⌈8/2⌉ = 4);
//! 3. the count of filled stars ⭐ (U+2B50) and ★ (U+2605), at most 5; ☆ (U+2606) is empty;
//! 4. faces: 😡 😞 → 1, 🙁 → 2, 😐 → 3, 🙂 👍 → 4, 😀 😍 🤩 → 5 (and a few neighbours);
//! 5. words in English, Spanish, Portuguese and Hinglish, accents and case optional, where
//!    "very"/"muy"/"muito"/"bahut" strengthen and a negation flips ("not good" → 2, "no muy
//!    bueno" → 2, "accha nahi tha" → 2).
//!
//! What keeps ordinary messages out: every word must be one the parser knows (a rating word,
//! a negation, "very", or filler such as "the service was", "thanks", "gracias"), with a
//! small allowance for other words (none for a bare number, so "I ordered 3 items" is not a
//! 3; one beside rating words; two beside an explicit `4/5`, stars or a face). A message
//! with a question mark is a rating only in an explicit form with no other words ("4/5?",
//! "⭐⭐⭐⭐?", not "is 5 ok?" nor "the product is good but where is my refund?"), and one
//! longer than [`QUESTION_MAX_CHARS`] with a question never is. Rating words
//! that disagree by more than one point ("good but bad") give no rating: a person reads it.

use serde::{Deserialize, Serialize};
use utoipa::{
    openapi::{
        schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type},
        RefOr,
    },
    PartialSchema, ToSchema,
};

use super::handoff::normalize;

/// A customer's satisfaction rating, 1 (bad) to 5 (excellent); no other value can exist, so
/// storing, reporting and showing one never checks the range again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct CsatScore(u8);

/// A number outside 1..=5 offered as a [`CsatScore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a CSAT score is 1 to 5, not {0}")]
pub struct ScoreOutOfRange(pub u8);

impl CsatScore {
    /// Every score, lowest first.
    pub const ALL: [CsatScore; 5] = [
        CsatScore(1),
        CsatScore(2),
        CsatScore(3),
        CsatScore(4),
        CsatScore(5),
    ];

    /// The number, 1..=5.
    pub fn get(self) -> u8 {
        self.0
    }

    /// The id of this score's row or button in an interactive survey: `csat_4`.
    pub fn interactive_id(self) -> String {
        format!("{INTERACTIVE_ID_PREFIX}{}", self.0)
    }

    /// The score an interactive survey's id stands for: exactly `csat_1`..`csat_5` (spaces
    /// around it aside). Other ids belong to other interactive messages.
    pub fn from_interactive_id(id: &str) -> Option<CsatScore> {
        let digit = id.trim().strip_prefix(INTERACTIVE_ID_PREFIX)?;
        match digit.as_bytes() {
            [d @ b'1'..=b'5'] => Some(CsatScore(d - b'0')),
            _ => None,
        }
    }

    /// The title of this score's row in an interactive list: stars and a word,
    /// `⭐⭐⭐⭐ Good`. At most 21 characters, under WhatsApp's 24 for a row title; and it
    /// reads back as the same score through [`parse_rating`] even without the row's id.
    pub fn title(self, lang_hint: Option<&str>) -> String {
        let label = wording(lang(lang_hint)).labels[usize::from(self.0 - 1)];
        format!("{} {label}", "⭐".repeat(usize::from(self.0)))
    }
}

impl TryFrom<u8> for CsatScore {
    type Error = ScoreOutOfRange;

    fn try_from(n: u8) -> Result<CsatScore, ScoreOutOfRange> {
        if (1..=5).contains(&n) {
            Ok(CsatScore(n))
        } else {
            Err(ScoreOutOfRange(n))
        }
    }
}

impl From<CsatScore> for u8 {
    fn from(s: CsatScore) -> u8 {
        s.0
    }
}

/// Written by hand because the derive cannot put bounds on a newtype's number: clients see
/// `integer, minimum 1, maximum 5`.
impl PartialSchema for CsatScore {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Integer))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
            .minimum(Some(1))
            .maximum(Some(5))
            .description(Some(
                "A customer's satisfaction rating: 1 (bad) to 5 (excellent)",
            ))
            .into()
    }
}

impl ToSchema for CsatScore {}

const INTERACTIVE_ID_PREFIX: &str = "csat_";

// ---------------------------------------------------------------------------------------
// The survey's wording

/// The languages the survey is worded in; the parser reads all of them whatever was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    En,
    Es,
    Pt,
    /// Hindi written in Latin letters, as customers in India type on WhatsApp.
    Hinglish,
}

/// The language of a hint such as `es`, `pt-BR`, `hi_IN`; English for anything else.
fn lang(hint: Option<&str>) -> Lang {
    let primary = hint
        .unwrap_or("")
        .trim()
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match primary.as_str() {
        "es" => Lang::Es,
        "pt" => Lang::Pt,
        "hi" => Lang::Hinglish,
        _ => Lang::En,
    }
}

struct Wording {
    question: &'static str,
    reply_hint: &'static str,
    /// The list's button and section title: at most 20 characters (WhatsApp's limit for the
    /// button).
    button: &'static str,
    /// Score 1 first. Each word reads back as a score near its own through the parser.
    labels: [&'static str; 5],
}

fn wording(lang: Lang) -> &'static Wording {
    match lang {
        Lang::En => &Wording {
            question: "How would you rate our help?",
            reply_hint: "Reply with a number from 1 (bad) to 5 (excellent).",
            button: "Rate us",
            labels: ["Terrible", "Bad", "OK", "Good", "Excellent"],
        },
        Lang::Es => &Wording {
            question: "¿Cómo calificarías nuestra ayuda?",
            reply_hint: "Responde con un número del 1 (malo) al 5 (excelente).",
            button: "Calificar",
            labels: ["Pésimo", "Malo", "Regular", "Bueno", "Excelente"],
        },
        Lang::Pt => &Wording {
            question: "Como você avalia a nossa ajuda?",
            reply_hint: "Responda com um número de 1 (ruim) a 5 (ótimo).",
            button: "Avaliar",
            labels: ["Péssimo", "Ruim", "Regular", "Bom", "Ótimo"],
        },
        Lang::Hinglish => &Wording {
            question: "Humari madad aapko kaisi lagi?",
            reply_hint: "1 (bekaar) se 5 (bahut accha) tak ek number bhejiye.",
            button: "Rating dein",
            labels: ["Bahut bekaar", "Bekaar", "Theek", "Accha", "Bahut accha"],
        },
    }
}

/// The survey sent as text (Messenger, Instagram, SMS, the API channel): the question and
/// how to answer, in the language of `lang_hint` (`es`, `pt-BR`, `hi`…; English otherwise).
pub fn survey_text(lang_hint: Option<&str>) -> String {
    let w = wording(lang(lang_hint));
    format!("{} {}", w.question, w.reply_hint)
}

/// The question alone, for surveys whose answers are shown (WhatsApp's list, the widget's
/// stars), where "reply with a number" would be noise.
pub fn survey_question(lang_hint: Option<&str>) -> &'static str {
    wording(lang(lang_hint)).question
}

/// The label of the button that opens the list of ratings (at most 20 characters).
pub fn survey_button(lang_hint: Option<&str>) -> &'static str {
    wording(lang(lang_hint)).button
}

// ---------------------------------------------------------------------------------------
// Reading a reply

/// A message with a question mark longer than this is a message, never a rating.
pub const QUESTION_MAX_CHARS: usize = 60;

/// Past this length a message is never a rating, whatever it holds; it also bounds the work
/// done on a huge message.
pub const REPLY_MAX_CHARS: usize = 500;

/// Reads a customer's reply to the survey as a score, or `None` when it is an ordinary
/// message (see the module docs for the forms and the order they are tried in).
///
/// `interactive_id` is the id of the row or button the customer tapped, when the reply was
/// one (WhatsApp `list_reply` / `button_reply`); `text` is what they typed, or the tapped
/// row's title. Never panics, whatever the input.
pub fn parse_rating(text: &str, interactive_id: Option<&str>) -> Option<CsatScore> {
    if let Some(score) = interactive_id.and_then(CsatScore::from_interactive_id) {
        return Some(score);
    }
    let text = text.trim();
    let chars = text.chars().take(REPLY_MAX_CHARS + 1).count();
    if text.is_empty() || chars > REPLY_MAX_CHARS {
        return None;
    }
    let question = text.contains(['?', '¿']);
    if question && chars > QUESTION_MAX_CHARS {
        return None;
    }
    let tokens = tokens(text);
    let items = classify(&tokens);
    let unknown = items.iter().filter(|i| **i == Item::Unknown).count();
    // How many words the parser does not know may stand beside a rating of each kind.
    let allowance = |beside: usize| if question { 0 } else { beside };

    if unknown <= allowance(2) {
        if let Some(s) = explicit_number(&tokens) {
            return CsatScore::try_from(s).ok();
        }
    }
    // A bare number or rating words with a question ("is 5 ok?") ask rather than answer.
    if unknown == 0 && !question {
        if let Some(s) = bare_number(&tokens) {
            return CsatScore::try_from(s).ok();
        }
    }
    if unknown <= allowance(2) {
        let stars = tokens.iter().filter(|t| **t == Token::Star).count();
        if stars > 0 {
            return CsatScore::try_from(u8::try_from(stars.min(5)).unwrap_or(5)).ok();
        }
        let faces: Vec<u8> = tokens
            .iter()
            .filter_map(|t| match t {
                Token::Face(s) => Some(*s),
                _ => None,
            })
            .collect();
        if !faces.is_empty() {
            return agreed(&faces).and_then(|s| CsatScore::try_from(s).ok());
        }
    }
    if unknown <= 1 && !question {
        let words = word_ratings(&items);
        if !words.is_empty() {
            return agreed(&words).and_then(|s| CsatScore::try_from(s).ok());
        }
    }
    None
}

/// The first of several readings when they agree within a point ("good, very good"), none
/// when they do not ("good… terrible"): such a message is for a person to read.
fn agreed(scores: &[u8]) -> Option<u8> {
    let first = *scores.first()?;
    let (min, max) = (scores.iter().min()?, scores.iter().max()?);
    (max - min <= 1).then_some(first)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A number in tenths (`4.5` is 45), saturating: a phone number is simply large.
    Num(u32),
    /// Lowercased, accents folded, apostrophes dropped (`Ótimo` → `otimo`, `isn't` → `isnt`).
    Word(String),
    Slash,
    /// A filled star, ⭐ or ★.
    Star,
    Face(u8),
    /// Punctuation that ends a phrase: a negation does not reach across it.
    Break,
}

fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(d) = digit(c) {
            let mut whole = d;
            while let Some(d) = chars.peek().copied().and_then(digit) {
                whole = whole.saturating_mul(10).saturating_add(d);
                chars.next();
            }
            let mut tenths = whole.saturating_mul(10);
            // `4.5` and `4,5`: a separator counts only with a digit right after it, so the
            // full stop of "I give it a 4." stays a full stop.
            if matches!(chars.peek(), Some('.' | ',')) {
                let mut ahead = chars.clone();
                ahead.next();
                if let Some(d) = ahead.next().and_then(digit) {
                    chars.next();
                    chars.next();
                    tenths = tenths.saturating_add(d);
                    while chars.peek().copied().and_then(digit).is_some() {
                        chars.next();
                    }
                }
            }
            out.push(Token::Num(tenths));
        } else if c.is_alphabetic() {
            let mut word = String::from(c);
            while let Some(&n) = chars.peek() {
                if n.is_alphabetic() || is_combining_mark(n) || is_apostrophe(n) {
                    word.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            let folded = normalize(&word);
            if !folded.is_empty() {
                out.push(Token::Word(folded));
            }
        } else if c == '/' {
            out.push(Token::Slash);
        } else if c == '\u{2B50}' || c == '\u{2605}' {
            out.push(Token::Star);
        } else if let Some(score) = face(c) {
            out.push(Token::Face(score));
        } else if matches!(
            c,
            ',' | '.' | '!' | '¡' | '?' | '¿' | ';' | ':' | '\n' | '(' | ')' | '-' | '–' | '—'
        ) {
            out.push(Token::Break);
        }
        // Anything else (spaces, other emoji, ☆, skin tones, variation selectors, the keycap
        // mark of 4️⃣) says nothing about the rating.
    }
    out
}

/// ASCII, fullwidth and Devanagari digits.
fn digit(c: char) -> Option<u32> {
    match c {
        '0'..='9' => c.to_digit(10),
        '\u{FF10}'..='\u{FF19}' => Some(u32::from(c) - 0xFF10),
        '\u{0966}'..='\u{096F}' => Some(u32::from(c) - 0x0966),
        _ => None,
    }
}

fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}')
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}')
}

/// AI.md §8's faces, and their close neighbours (😠 like 😡, ☹ like 🙁, 😊 like 🙂…).
fn face(c: char) -> Option<u8> {
    Some(match c {
        '😡' | '😠' | '🤬' | '😞' => 1,
        '🙁' | '☹' | '👎' => 2,
        '😐' | '😑' => 3,
        '🙂' | '👍' | '😊' => 4,
        '😀' | '😃' | '😄' | '😁' | '😍' | '🤩' | '🥰' => 5,
        _ => return None,
    })
}

/// A `n/d`, `n out of d`, `d mein se n` or `n stars`/`n⭐` anywhere in the message, as a
/// 1–5 score. Only `d` = 5 or 10 is a scale; `0/10` is the lowest score, not none.
fn explicit_number(tokens: &[Token]) -> Option<u8> {
    let num = |i: usize| match tokens.get(i) {
        Some(Token::Num(n)) => Some(*n),
        _ => None,
    };
    let word = |i: usize| match tokens.get(i) {
        Some(Token::Word(w)) => Some(w.as_str()),
        _ => None,
    };
    for i in 0..tokens.len() {
        let Some(n) = num(i) else { continue };
        // n / d
        if tokens.get(i + 1) == Some(&Token::Slash) {
            if let Some(s) = num(i + 2).and_then(|d| on_scale(n, d)) {
                return Some(s);
            }
        }
        // n out of d, n of d, n de d, n sobre d, n em d
        let after = match (word(i + 1), word(i + 2)) {
            (Some("out"), Some("of")) => Some(i + 3),
            (Some("of" | "de" | "sobre" | "em"), _) => Some(i + 2),
            _ => None,
        };
        if let Some(s) = after.and_then(num).and_then(|d| on_scale(n, d)) {
            return Some(s);
        }
        // Hinglish puts the scale first: "5 mein se 4".
        if matches!(word(i + 1), Some("mein" | "me" | "main")) && word(i + 2) == Some("se") {
            if let Some(s) = num(i + 3).and_then(|m| on_scale(m, n)) {
                return Some(s);
            }
        }
        // n stars, n⭐
        let stars = tokens.get(i + 1) == Some(&Token::Star)
            || word(i + 1).is_some_and(|w| STAR_WORDS.contains(&w));
        if stars && (5..=54).contains(&n) {
            return u8::try_from((n + 5) / 10).ok();
        }
    }
    None
}

/// `n` out of `d` (both in tenths) as 1–5: a 5-point answer rounded half up, a 10-point one
/// halved and rounded up (`8/10` → 4, `9/10` → 5).
fn on_scale(n: u32, d: u32) -> Option<u8> {
    let score = match d {
        50 if n <= 50 => (n + 5) / 10,
        100 if n <= 100 => n.div_ceil(20),
        _ => return None,
    };
    u8::try_from(score.max(1)).ok()
}

/// The message's only number when it is a whole 1..=5 ("5", "Rating: 4", "4️⃣").
fn bare_number(tokens: &[Token]) -> Option<u8> {
    let mut numbers = tokens.iter().filter_map(|t| match t {
        Token::Num(n) => Some(*n),
        _ => None,
    });
    let n = numbers.next()?;
    if numbers.next().is_some() || tokens.contains(&Token::Slash) || n % 10 != 0 {
        return None;
    }
    u8::try_from(n / 10).ok().filter(|s| (1..=5).contains(s))
}

/// What a word (or a run of words) means to the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Rating(u8),
    /// "very", "muy", "bahut": 4 → 5, 2 → 1.
    Intensifier,
    /// "not", "no", "não": flips the rating that follows.
    NegationBefore,
    /// Hinglish "nahi": flips the rating before it ("accha nahi"), or after it.
    NegationAfter,
    /// Known words that carry no rating: "the service was", "thanks", numbers' words.
    Filler,
    Unknown,
    /// Punctuation, numbers and symbols: the end of a phrase.
    Break,
}

/// Runs of words that mean one rating; tried before single words.
const PHRASES: &[(&[&str], u8)] = &[
    (&["so", "so"], 3),
    (&["more", "or", "less"], 3),
    (&["mas", "o", "menos"], 3),
    (&["mais", "ou", "menos"], 3),
    (&["theek", "thaak"], 3),
    (&["thik", "thak"], 3),
    (&["thik", "thaak"], 3),
];

/// Rating words, accents folded. AI.md §8's list, and common synonyms of each.
const RATING_WORDS: &[(&str, u8)] = &[
    ("excellent", 5),
    ("excelent", 5),
    ("excellente", 5),
    ("excelente", 5),
    ("otimo", 5),
    ("otima", 5),
    ("perfect", 5),
    ("perfecto", 5),
    ("perfecta", 5),
    ("perfeito", 5),
    ("perfeita", 5),
    ("amazing", 5),
    ("awesome", 5),
    ("outstanding", 5),
    ("fantastic", 5),
    ("fantastico", 5),
    ("fantastica", 5),
    ("great", 5),
    ("superb", 5),
    ("best", 5),
    ("maravilloso", 5),
    ("maravillosa", 5),
    ("maravilhoso", 5),
    ("maravilhosa", 5),
    ("shandar", 5),
    ("shandaar", 5),
    ("zabardast", 5),
    ("badhiya", 5),
    ("badiya", 5),
    ("good", 4),
    ("nice", 4),
    ("bueno", 4),
    ("buena", 4),
    ("buen", 4),
    ("bien", 4),
    ("bom", 4),
    ("boa", 4),
    ("bem", 4),
    ("accha", 4),
    ("acha", 4),
    ("achha", 4),
    ("achcha", 4),
    ("achchha", 4),
    ("ok", 3),
    ("okay", 3),
    ("okey", 3),
    ("fine", 3),
    ("average", 3),
    ("regular", 3),
    ("normal", 3),
    ("meh", 3),
    ("theek", 3),
    ("thik", 3),
    ("bad", 2),
    ("poor", 2),
    ("malo", 2),
    ("mala", 2),
    ("mal", 2),
    ("ruim", 2),
    ("bekaar", 2),
    ("bekar", 2),
    ("kharab", 2),
    ("bura", 2),
    ("terrible", 1),
    ("horrible", 1),
    ("awful", 1),
    ("worst", 1),
    ("pesimo", 1),
    ("pesima", 1),
    ("pessimo", 1),
    ("pessima", 1),
    ("terrivel", 1),
    ("horrivel", 1),
    ("bakwas", 1),
    ("bakwaas", 1),
];

const INTENSIFIERS: &[&str] = &[
    "very",
    "really",
    "so",
    "super",
    "extremely",
    "truly",
    "muy",
    "muito",
    "muita",
    "bahut",
    "bohot",
    "bohat",
    "bahot",
    "bhut",
    "bilkul",
];

const NEGATIONS_BEFORE: &[&str] = &[
    "not", "no", "nao", "never", "nunca", "nada", "ni", "nem", "isnt", "wasnt", "werent", "arent",
    "dont", "didnt", "doesnt",
];

const NEGATIONS_AFTER: &[&str] = &["nahi", "nahin", "nhi", "nai", "nahee"];

const STAR_WORDS: &[&str] = &[
    "star",
    "stars",
    "estrella",
    "estrellas",
    "estrela",
    "estrelas",
    "sitara",
    "sitare",
    "tara",
    "tare",
    "taare",
];

/// Words that stand around a rating without changing it, in the four languages: articles,
/// "the service was", thanks, the words of "4 out of 5" and "5 mein se 4".
const FILLERS: &[&str] = &[
    // English
    "the",
    "a",
    "an",
    "it",
    "its",
    "this",
    "that",
    "was",
    "is",
    "are",
    "were",
    "been",
    "be",
    "i",
    "id",
    "im",
    "ive",
    "would",
    "will",
    "give",
    "say",
    "rate",
    "rating",
    "my",
    "your",
    "you",
    "u",
    "our",
    "all",
    "at",
    "overall",
    "everything",
    "service",
    "support",
    "help",
    "experience",
    "chat",
    "agent",
    "team",
    "staff",
    "answer",
    "thanks",
    "thank",
    "thx",
    "ty",
    "much",
    "lot",
    "and",
    "too",
    "also",
    "just",
    "yes",
    "yeah",
    "hi",
    "hello",
    "sir",
    "out",
    "of",
    "points",
    "point",
    "score",
    // Spanish
    "el",
    "la",
    "los",
    "las",
    "lo",
    "un",
    "una",
    "es",
    "fue",
    "era",
    "esta",
    "ha",
    "sido",
    "de",
    "sobre",
    "gracias",
    "muchas",
    "servicio",
    "atencion",
    "ayuda",
    "soporte",
    "experiencia",
    "todo",
    "le",
    "doy",
    "daria",
    "si",
    "puntos",
    "calificacion",
    "nota",
    // Portuguese
    "o",
    "os",
    "as",
    "e",
    "foi",
    "ta",
    "tudo",
    "obrigado",
    "obrigada",
    "valeu",
    "atendimento",
    "ajuda",
    "suporte",
    "servico",
    "eu",
    "sim",
    "em",
    "pontos",
    "avaliacao",
    "dou",
    // Hinglish
    "hai",
    "hain",
    "tha",
    "thi",
    "ji",
    "bhai",
    "aap",
    "aapki",
    "aapka",
    "apki",
    "apka",
    "humari",
    "hamari",
    "madad",
    "shukriya",
    "dhanyavad",
    "dhanyawad",
    "thanku",
    "thankyou",
    "laga",
    "lagi",
    "raha",
    "rahi",
    "sab",
    "kuch",
    "ek",
    "number",
    "mein",
    "me",
    "main",
    "se",
    "haan",
];

fn classify(tokens: &[Token]) -> Vec<Item> {
    let mut items = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let Token::Word(w) = &tokens[i] else {
            items.push(Item::Break);
            i += 1;
            continue;
        };
        let phrase = PHRASES.iter().find(|(words, _)| {
            words
                .iter()
                .enumerate()
                .all(|(k, p)| matches!(tokens.get(i + k), Some(Token::Word(t)) if t == p))
        });
        if let Some((words, score)) = phrase {
            items.push(Item::Rating(*score));
            i += words.len();
            continue;
        }
        let w = w.as_str();
        items.push(
            if let Some((_, s)) = RATING_WORDS.iter().find(|(r, _)| *r == w) {
                Item::Rating(*s)
            } else if INTENSIFIERS.contains(&w) {
                Item::Intensifier
            } else if NEGATIONS_BEFORE.contains(&w) {
                Item::NegationBefore
            } else if NEGATIONS_AFTER.contains(&w) {
                Item::NegationAfter
            } else if FILLERS.contains(&w) || STAR_WORDS.contains(&w) {
                Item::Filler
            } else {
                Item::Unknown
            },
        );
        i += 1;
    }
    items
}

/// How far (in words) a negation reaches: "not *very* good", "no *fue* bueno",
/// "accha nahi *tha*".
const NEGATION_REACH: usize = 3;

/// The rating of each rating word, strengthened and flipped by the words around it.
fn word_ratings(items: &[Item]) -> Vec<u8> {
    let mut used = vec![false; items.len()];
    let mut ratings = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Item::Rating(mut score) = *item else {
            continue;
        };
        if i > 0 && items[i - 1] == Item::Intensifier {
            score = match score {
                4 => 5,
                2 => 1,
                s => s,
            };
        }
        // A Hinglish negation after the word ("accha nahi tha"), then any before it.
        let after = (i + 1..items.len().min(i + 1 + NEGATION_REACH))
            .take_while(|&k| matches!(items[k], Item::Filler | Item::NegationAfter))
            .find(|&k| items[k] == Item::NegationAfter && !used[k]);
        let before = (i.saturating_sub(NEGATION_REACH)..i)
            .rev()
            .take_while(|&k| {
                matches!(
                    items[k],
                    Item::Filler | Item::Intensifier | Item::NegationBefore | Item::NegationAfter
                )
            })
            .find(|&k| matches!(items[k], Item::NegationBefore | Item::NegationAfter) && !used[k]);
        if let Some(k) = after.or(before) {
            used[k] = true;
            score = negated(score);
        }
        ratings.push(score);
    }
    ratings
}

/// "not excellent", "not good", "not ok" → 2; "not bad" → 4; "not terrible" → 3. A plain
/// mirror (6 − n) would make "not terrible" a 5 and "not ok" a 3.
fn negated(score: u8) -> u8 {
    match score {
        1 => 3,
        2 => 4,
        _ => 2,
    }
}

// ---------------------------------------------------------------------------------------
// The report

/// The satisfaction report over a set of ratings (`GET /api/reports/csat`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CsatReport {
    /// The mean score; `null` when nothing was rated, which is not the same as a low score.
    pub average: Option<f64>,
    /// How many ratings.
    pub count: u32,
    /// How many of each score: `distribution[0]` counts the 1s, `distribution[4]` the 5s.
    #[schema(min_items = 5, max_items = 5)]
    pub distribution: [u32; 5],
}

/// Counts the scores and averages them. The average comes from the counts, so it is exact
/// for any number of scores; counts saturate at `u32::MAX` rather than wrap.
pub fn report(scores: impl IntoIterator<Item = CsatScore>) -> CsatReport {
    let mut distribution = [0_u32; 5];
    for s in scores {
        if let Some(slot) = distribution.get_mut(usize::from(s.get()) - 1) {
            *slot = slot.saturating_add(1);
        }
    }
    let count = distribution
        .iter()
        .fold(0_u32, |sum, n| sum.saturating_add(*n));
    let total: u64 = distribution
        .iter()
        .zip(1_u64..)
        .map(|(n, score)| u64::from(*n) * score)
        .sum();
    let rated: u64 = distribution.iter().map(|n| u64::from(*n)).sum();
    CsatReport {
        average: (rated > 0).then(|| total as f64 / rated as f64),
        count,
        distribution,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn score(n: u8) -> CsatScore {
        CsatScore::try_from(n).unwrap()
    }

    fn check(cases: &[(&str, Option<u8>)]) {
        let mut failures = Vec::new();
        for (text, want) in cases {
            let got = parse_rating(text, None).map(CsatScore::get);
            if got != *want {
                failures.push(format!("{text:?}: got {got:?}, want {want:?}"));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn score_is_one_to_five() {
        for n in 1..=5 {
            assert_eq!(score(n).get(), n);
        }
        assert_eq!(CsatScore::try_from(0), Err(ScoreOutOfRange(0)));
        assert_eq!(CsatScore::try_from(6), Err(ScoreOutOfRange(6)));
        assert_eq!(
            ScoreOutOfRange(9).to_string(),
            "a CSAT score is 1 to 5, not 9"
        );
        assert_eq!(
            CsatScore::ALL.map(CsatScore::get),
            [1, 2, 3, 4, 5],
            "lowest first"
        );
    }

    #[test]
    fn score_is_a_json_number_and_refuses_other_values() {
        assert_eq!(serde_json::to_string(&score(4)).unwrap(), "4");
        assert_eq!(serde_json::from_str::<CsatScore>("5").unwrap(), score(5));
        for bad in ["0", "6", "-1", "4.5", "\"4\"", "300", "null"] {
            assert!(
                serde_json::from_str::<CsatScore>(bad).is_err(),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn score_schema_is_a_bounded_integer() {
        let schema = serde_json::to_value(CsatScore::schema()).unwrap();
        assert_eq!(schema["type"], "integer");
        assert_eq!(schema["minimum"], 1);
        assert_eq!(schema["maximum"], 5);
        let report = serde_json::to_value(CsatReport::schema()).unwrap();
        assert_eq!(report["properties"]["distribution"]["minItems"], 5);
        assert_eq!(report["properties"]["distribution"]["maxItems"], 5);
    }

    #[test]
    fn interactive_ids_win_and_only_ours_count() {
        for s in CsatScore::ALL {
            assert_eq!(s.interactive_id(), format!("csat_{}", s.get()));
            assert_eq!(parse_rating("", Some(&s.interactive_id())), Some(s));
            // The id wins over whatever the title says.
            assert_eq!(
                parse_rating("⭐ Terrible", Some(&s.interactive_id())),
                Some(s)
            );
        }
        assert_eq!(parse_rating("x", Some(" csat_3 ")), Some(score(3)));
        for other in [
            "csat_0", "csat_6", "csat_45", "csat_", "csat_ 4", "CSAT_4", "csat_४", "slot_3pm", "",
        ] {
            assert_eq!(CsatScore::from_interactive_id(other), None, "{other}");
            assert_eq!(parse_rating("Yes", Some(other)), None, "{other}");
        }
        // Another interactive reply's title is still read as text.
        assert_eq!(parse_rating("Excellent", Some("menu_1")), Some(score(5)));
    }

    #[test]
    fn numbers() {
        check(&[
            ("5", Some(5)),
            (" 1 ", Some(1)),
            ("3.", Some(3)),
            ("4!!", Some(4)),
            ("4️⃣", Some(4)),
            ("５", Some(5)),
            ("४", Some(4)),
            ("Rating: 4", Some(4)),
            ("I'd give it a 4", Some(4)),
            ("5, thanks!", Some(5)),
            ("5 gracias", Some(5)),
            ("nota 5", Some(5)),
            ("5 hai", Some(5)),
            ("0", None),
            ("6", None),
            ("10", None),
            ("45", None),
            ("4.5", None),
            ("4/5", Some(4)),
            ("4 / 5", Some(4)),
            ("5/5 👍", Some(5)),
            ("4.5/5", Some(5)),
            ("3,4/5", Some(3)),
            ("0/5", Some(1)),
            ("6/5", None),
            ("3/4", None),
            ("4 out of 5", Some(4)),
            ("2 of 5", Some(2)),
            ("4 de 5", Some(4)),
            ("3 sobre 5", Some(3)),
            ("4 em 5", Some(4)),
            ("5 mein se 4", Some(4)),
            ("10 me se 9", Some(5)),
            ("4 stars", Some(4)),
            ("1 star", Some(1)),
            ("5 estrellas", Some(5)),
            ("3 estrelas", Some(3)),
            ("4 sitare", Some(4)),
            ("4⭐", Some(4)),
            ("5 ★", Some(5)),
            ("6 stars", None),
            ("8/10", Some(4)),
            ("9/10", Some(5)),
            ("10/10", Some(5)),
            ("7/10", Some(4)),
            ("5/10", Some(3)),
            ("3/10", Some(2)),
            ("1/10", Some(1)),
            ("0/10", Some(1)),
            ("7.5/10", Some(4)),
            ("8 out of 10", Some(4)),
            ("11/10", None),
            ("4/5 Maria helped", Some(4)),
        ]);
    }

    #[test]
    fn numbers_inside_sentences_are_not_ratings() {
        check(&[
            ("I ordered 3 items", None),
            ("3 items", None),
            ("order 4", None),
            ("room 5 please", None),
            ("call me at 5", None),
            ("my number is 5551234", None),
            ("+1 650 555 1234", None),
            ("12/5", None),
            ("I paid 4", None),
            ("4 or 5", None),
            ("2 3", None),
            ("is 5 ok?", None),
            ("4?", None),
            ("4/5?", Some(4)),
        ]);
    }

    #[test]
    fn stars() {
        check(&[
            ("⭐⭐⭐⭐⭐", Some(5)),
            ("⭐⭐⭐", Some(3)),
            ("⭐", Some(1)),
            ("★★★★☆", Some(4)),
            ("★☆☆☆☆", Some(1)),
            ("⭐⭐⭐⭐⭐⭐⭐⭐", Some(5)),
            ("⭐️⭐️⭐️⭐️", Some(4)),
            ("☆☆☆☆☆", None),
            ("⭐⭐⭐⭐ good", Some(4)),
            ("⭐⭐ Ana was late", Some(2)),
            ("⭐⭐ the delivery was very late again", None),
        ]);
    }

    #[test]
    fn faces() {
        check(&[
            ("😡", Some(1)),
            ("😞", Some(1)),
            ("🙁", Some(2)),
            ("😐", Some(3)),
            ("🙂", Some(4)),
            ("👍", Some(4)),
            ("👍🏽", Some(4)),
            ("😀", Some(5)),
            ("😍", Some(5)),
            ("🤩", Some(5)),
            ("🤩🤩🤩", Some(5)),
            ("🙂😀", Some(4)),
            ("😡😀", None),
            ("👍 thanks", Some(4)),
            ("🍕", None),
        ]);
    }

    #[test]
    fn english_words() {
        check(&[
            ("Excellent", Some(5)),
            ("excellent!", Some(5)),
            ("EXCELLENT", Some(5)),
            ("very good", Some(5)),
            ("Very good, thank you", Some(5)),
            ("good", Some(4)),
            ("Good service", Some(4)),
            ("it was good", Some(4)),
            ("ok", Some(3)),
            ("OK", Some(3)),
            ("so so", Some(3)),
            ("bad", Some(2)),
            ("very bad", Some(1)),
            ("terrible", Some(1)),
            ("The service was terrible", Some(1)),
            ("not good", Some(2)),
            ("not very good", Some(2)),
            ("not good at all", Some(2)),
            ("it wasn't good", Some(2)),
            ("not bad", Some(4)),
            ("not terrible", Some(3)),
            ("not ok", Some(2)),
            ("No, excellent", Some(5)),
            ("good, very good", Some(4)),
            ("good but bad", None),
            ("Ana was great", Some(5)),
        ]);
    }

    #[test]
    fn spanish_words() {
        check(&[
            ("Excelente", Some(5)),
            ("excelente servicio, gracias", Some(5)),
            ("muy bueno", Some(5)),
            ("Muy buena atención", Some(5)),
            ("bueno", Some(4)),
            ("fue bueno", Some(4)),
            ("regular", Some(3)),
            ("más o menos", Some(3)),
            ("malo", Some(2)),
            ("muy malo", Some(1)),
            ("pésimo", Some(1)),
            ("pesimo", Some(1)),
            ("PÉSIMO", Some(1)),
            ("no fue bueno", Some(2)),
            ("no muy bueno", Some(2)),
            ("nada bueno", Some(2)),
            ("no es malo", Some(4)),
        ]);
    }

    #[test]
    fn portuguese_words() {
        check(&[
            ("Ótimo", Some(5)),
            ("otimo", Some(5)),
            ("ótimo atendimento, obrigado!", Some(5)),
            ("Excelente", Some(5)),
            ("muito bom", Some(5)),
            ("bom", Some(4)),
            ("foi bom", Some(4)),
            ("regular", Some(3)),
            ("mais ou menos", Some(3)),
            ("ruim", Some(2)),
            ("muito ruim", Some(1)),
            ("péssimo", Some(1)),
            ("não foi bom", Some(2)),
            ("nao foi bom", Some(2)),
            ("não é ruim", Some(4)),
        ]);
    }

    #[test]
    fn hinglish_words() {
        check(&[
            ("bahut accha", Some(5)),
            ("Bahut acha", Some(5)),
            ("bohot achha tha", Some(5)),
            ("accha", Some(4)),
            ("accha tha", Some(4)),
            ("theek", Some(3)),
            ("theek thaak", Some(3)),
            ("thik hai", Some(3)),
            ("bekaar", Some(2)),
            ("bekar tha", Some(2)),
            ("bilkul bekaar", Some(1)),
            ("accha nahi tha", Some(2)),
            ("accha nahi", Some(2)),
            ("theek nahi hai", Some(2)),
            ("nahi accha", Some(2)),
            ("service accha thi, shukriya", Some(4)),
        ]);
    }

    #[test]
    fn ordinary_messages_are_not_ratings() {
        check(&[
            ("", None),
            ("   ", None),
            ("thanks", None),
            ("hello", None),
            ("the product is good but where is my refund?", None),
            ("Good morning, I still have not received my order", None),
            ("good, can you check my order?", None),
            ("ok?", None),
            ("good?", None),
            ("ok, but where is my refund", None),
            (
                "ok and when does the store open tomorrow morning? I need it before work",
                None,
            ),
            (
                "Excellent service but I have another problem with the invoice",
                None,
            ),
            ("excellent", Some(5)),
            ("i need help", None),
            ("no", None),
            ("not now", None),
            ("yes", None),
            ("mujhe refund chahiye", None),
            ("¿dónde está mi pedido?", None),
            ("cadê meu pedido?", None),
        ]);
        let long_praise = format!("excellent {}", "thanks ".repeat(80));
        assert_eq!(
            parse_rating(&long_praise, None),
            None,
            "past the length cap"
        );
    }

    #[test]
    fn priority_follows_the_documented_order() {
        // A number beats stars, stars beat faces, faces beat words.
        check(&[
            ("5 ⭐⭐⭐", Some(5)),
            ("⭐⭐⭐ 😀", Some(3)),
            ("😐 excellent", Some(3)),
            ("⭐⭐ terrible", Some(2)),
        ]);
    }

    #[test]
    fn survey_texts() {
        assert_eq!(
            survey_text(None),
            "How would you rate our help? Reply with a number from 1 (bad) to 5 (excellent)."
        );
        assert_eq!(survey_text(Some("fr")), survey_text(None));
        assert_eq!(survey_text(Some("")), survey_text(None));
        assert!(survey_text(Some("es-MX")).starts_with("¿Cómo calificarías"));
        assert!(survey_text(Some("pt_BR")).starts_with("Como você avalia"));
        assert!(survey_text(Some("HI")).starts_with("Humari madad"));
        assert_eq!(survey_question(Some("en")), "How would you rate our help?");
        for hint in [None, Some("es"), Some("pt"), Some("hi")] {
            assert!(survey_button(hint).chars().count() <= 20, "{hint:?}");
            for s in CsatScore::ALL {
                let title = s.title(hint);
                assert!(title.chars().count() <= 24, "{title}");
                // A title typed back (or a row tapped without its id) reads as its score.
                assert_eq!(parse_rating(&title, None), Some(s), "{title}");
            }
        }
        assert_eq!(score(4).title(None), "⭐⭐⭐⭐ Good");
    }

    #[test]
    fn reports() {
        let empty = report([]);
        assert_eq!(
            empty,
            CsatReport {
                average: None,
                count: 0,
                distribution: [0; 5]
            }
        );
        assert_eq!(
            serde_json::to_value(&empty).unwrap(),
            serde_json::json!({"average": null, "count": 0, "distribution": [0, 0, 0, 0, 0]})
        );
        let r = report([5, 4, 4, 1, 5, 5].map(score));
        assert_eq!(r.count, 6);
        assert_eq!(r.distribution, [1, 0, 0, 2, 3]);
        assert_eq!(r.average, Some(4.0));
        let r = report([1, 2].map(score));
        assert_eq!(r.average, Some(1.5));
        let r = report(std::iter::repeat_n(score(3), 100_000));
        assert_eq!((r.count, r.average), (100_000, Some(3.0)));
        assert_eq!(r.distribution, [0, 0, 100_000, 0, 0]);
    }

    /// Property-style: many generated strings, each parsed as text and as an interactive id;
    /// the answer is always `None` or 1..=5 and nothing panics.
    #[test]
    fn any_input_gives_none_or_one_to_five() {
        let pieces = [
            "",
            " ",
            "5",
            "4",
            "0",
            "10",
            "99999999999999999999999",
            "/",
            "//",
            ".",
            ",",
            "4.",
            ".5",
            "out",
            "of",
            "de",
            "mein",
            "se",
            "stars",
            "⭐",
            "★",
            "☆",
            "😀",
            "😡",
            "👍",
            "🏽",
            "\u{FE0F}",
            "\u{20E3}",
            "not",
            "nahi",
            "very",
            "bahut",
            "good",
            "malo",
            "ótimo",
            "e\u{301}",
            "?",
            "¿",
            "\u{0}",
            "\u{200B}",
            "\u{202E}",
            "\u{FFFF}",
            "\u{10FFFF}",
            "ß",
            "İ",
            "ﷺ",
            "𝟓",
            "５",
            "٤",
            "४",
            "\n",
            "\t",
            "'",
            "’",
            "csat_4",
            "ﾟ",
            "ǅ",
            "\u{0301}\u{0301}",
        ];
        let mut seen = 0_usize;
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let s = format!("{a}{b} {c}");
                    for id in [None, Some(a), Some(s.as_str())] {
                        if let Some(got) = parse_rating(&s, id) {
                            assert!((1..=5).contains(&got.get()), "{s:?} → {got:?}");
                        }
                    }
                    seen += 1;
                }
            }
        }
        assert_eq!(seen, pieces.len().pow(3));
        let huge = [
            "5".repeat(1_000_000),
            "⭐".repeat(200_000),
            "good ".repeat(200_000),
            "4/".repeat(300_000),
            "\u{0301}".repeat(200_000),
            format!("{}5", "9".repeat(100_000)),
        ];
        for s in &huge {
            assert_eq!(parse_rating(s, Some(s)), None);
        }
        // Under the length cap, big numbers saturate instead of overflowing.
        assert_eq!(parse_rating(&"9".repeat(400), None), None);
        assert_eq!(parse_rating(&format!("{}/10", "9".repeat(300)), None), None);
    }
}
