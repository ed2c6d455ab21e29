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

mod parse;

pub use parse::{parse_rating, QUESTION_MAX_CHARS, REPLY_MAX_CHARS};

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

/// How to answer a text survey ("Reply with a number from 1 (bad) to 5 (excellent).").
pub fn survey_reply_hint(lang_hint: Option<&str>) -> &'static str {
    wording(lang(lang_hint)).reply_hint
}

/// The question the widget shows above its stars: [`survey_question`], but Hindi in
/// Devanagari, as the widget around it speaks (text channels keep Hinglish, as customers
/// there type it).
pub fn widget_question(lang_hint: Option<&str>) -> &'static str {
    match lang(lang_hint) {
        Lang::Hinglish => "हमारी मदद आपको कैसी लगी?",
        other => wording(other).question,
    }
}

/// The label of the button that opens the list of ratings (at most 20 characters).
pub fn survey_button(lang_hint: Option<&str>) -> &'static str {
    wording(lang(lang_hint)).button
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
    report_from_counts(scores.into_iter().map(|s| (s, 1)))
}

/// The report from how many of each score there are (as a database counts them, `GROUP BY`);
/// a score may come more than once, its counts add up.
pub fn report_from_counts(counts: impl IntoIterator<Item = (CsatScore, u64)>) -> CsatReport {
    let mut distribution = [0_u32; 5];
    for (s, n) in counts {
        if let Some(slot) = distribution.get_mut(usize::from(s.get()) - 1) {
            *slot = slot.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
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
        // From a database's counts: the same report as from the scores one by one.
        let counted = report_from_counts([(score(5), 3), (score(4), 2), (score(1), 1)]);
        assert_eq!(counted, report([5, 4, 4, 1, 5, 5].map(score)));
        let huge = report_from_counts([(score(2), u64::MAX)]);
        assert_eq!(huge.count, u32::MAX);
        assert_eq!(huge.average, Some(2.0));
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
