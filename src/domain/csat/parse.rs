//! Reading a customer's answer to the satisfaction survey as a 1–5 score (see
//! [`parse_rating`]): the forms in priority order, and the vocabularies behind the words.

use super::CsatScore;
use crate::domain::handoff::normalize;

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
