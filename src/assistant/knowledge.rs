//! Knowledge-base file format and loader.
//!
//! The knowledge base is a human-edited TOML file, so the loader is strict:
//! unknown keys are rejected (a typo such as `anwser` would otherwise silently
//! drop an answer) and every entry is validated up front, with errors naming the
//! offending entry, so mistakes surface at startup instead of as odd replies.
//!
//! ```toml
//! [assistant]            # optional, and so is every key in it
//! no_match_reply = "I'm not sure I can answer that. ..."
//! min_score = 1.2        # the best entry's BM25 score
//! min_coverage = 0.5     # share of the message's known terms (IDF-weighted) in the best entry
//! min_margin = 0.2       # (best - second-best score) / best
//! min_known_share = 0.5  # share of the message's words found anywhere in the knowledge base
//!
//! [[entry]]
//! id = "opening-hours"                    # optional, defaults to the entry's index ("0", "1", ...)
//! question = "What are your opening hours?"
//! keywords = ["hours", "open", "close"]   # optional, extra searchable words
//! answer = "We're open Monday to Friday, 9:00-18:00."
//! ```
//!
//! # When the assistant answers
//!
//! The four `min_*` keys are the [`Thresholds`] of
//! [`KnowledgeBaseAssistant`](super::KnowledgeBaseAssistant); the values above
//! are the defaults (`DEFAULT_MIN_SCORE`, `DEFAULT_MIN_COVERAGE`,
//! `DEFAULT_MIN_MARGIN` and `DEFAULT_MIN_KNOWN_SHARE` in [`super`], where each
//! is explained). The assistant answers with the best-ranked entry only when
//! all four hold; otherwise it sends `no_match_reply`. In short:
//!
//! - `min_known_share`: most of the message must be words this file uses
//!   somewhere; a complaint full of other words ("charged twice, this is
//!   fraud") or a message in another language is not answered because of one
//!   familiar word.
//! - `min_score`: the best entry matched at least one distinctive word. BM25
//!   scores grow with the number of entries, so a file of only a handful of
//!   entries may need a lower value (e.g. 0.5).
//! - `min_coverage`: the best entry explains most of what was asked, not one
//!   word of a question about several things.
//! - `min_margin`: no other entry scores almost as well; "My package arrived
//!   damaged" is as much about tracking as about the warranty.
//!
//! `min_score` must be at least 0; the other three are shares between 0 and 1.
//! All are inclusive, so 0 switches a rule off. Raise them to hand off more
//! often, lower them to guess more.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Thresholds;

/// Used when the file has no `[assistant] no_match_reply`. It names phrases the
/// default handoff detector recognises, so following its advice always works.
pub const DEFAULT_NO_MATCH_REPLY: &str =
    "I'm not sure I can answer that. Would you like to talk to a person? Just say \"agent\" or \"talk to a human\".";

/// A validated knowledge base: at least one entry, unique ids, and no empty
/// questions or answers.
///
/// Deserializing goes through the same validation as
/// [`KnowledgeBase::from_toml_str`], so a knowledge base embedded in a larger
/// config file is checked just as strictly.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawKnowledgeBase")]
pub struct KnowledgeBase {
    /// What the assistant says when nothing matches well.
    pub no_match_reply: String,
    /// When the assistant answers: the file's `[assistant]` thresholds, each
    /// defaulting to the matching `DEFAULT_*` constant of [`super`].
    pub thresholds: Thresholds,
    /// Entries in file order; the index into this vector is what the search
    /// index refers to.
    pub entries: Vec<Entry>,
}

/// One question/answer pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Stable identifier reported with answers (for analytics and debugging).
    pub id: String,
    /// The canonical question; searched with full weight.
    pub question: String,
    /// Extra searchable words and synonyms customers might use.
    pub keywords: Vec<String>,
    /// The reply sent to the customer.
    pub answer: String,
}

/// Why a knowledge base could not be loaded.
///
/// Every message is self-contained (it already includes the underlying cause),
/// so it can be logged or shown with a plain `{}`.
#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    /// The file could not be read.
    #[error("cannot read knowledge base {}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The file is not valid TOML or does not fit the format (e.g. an unknown key).
    #[error("invalid knowledge base: {0}")]
    Parse(Box<toml::de::Error>),
    /// The file parsed but contains no `[[entry]]`.
    #[error(
        "knowledge base has no entries: add at least one [[entry]] with a question and an answer"
    )]
    NoEntries,
    /// A required text field of an entry is empty or whitespace.
    #[error("knowledge base {entry}: `{field}` must not be empty")]
    EmptyField {
        /// Human-readable entry reference, e.g. `entry[3] (id "returns")`.
        entry: String,
        field: &'static str,
    },
    /// Two entries share an id, which would make reported answer ids ambiguous.
    #[error("knowledge base entry[{second}] reuses id {id:?} already used by entry[{first}]")]
    DuplicateId {
        id: String,
        first: usize,
        second: usize,
    },
    /// `[assistant] no_match_reply` is present but empty.
    #[error("knowledge base: `assistant.no_match_reply` must not be empty")]
    EmptyNoMatchReply,
    /// An `[assistant]` threshold is out of its range.
    #[error("knowledge base: `assistant.{key}` must be {range}, not {value}")]
    InvalidThreshold {
        key: &'static str,
        value: f64,
        /// The allowed range, in words (e.g. "between 0 and 1").
        range: &'static str,
    },
    /// Any of the above, for a file loaded from disk.
    #[error("knowledge base {}: {error}", path.display())]
    InFile {
        path: PathBuf,
        error: Box<KnowledgeError>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKnowledgeBase {
    #[serde(default)]
    assistant: Option<RawAssistant>,
    #[serde(default, rename = "entry")]
    entries: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAssistant {
    #[serde(default)]
    no_match_reply: Option<String>,
    #[serde(default)]
    min_score: Option<f64>,
    #[serde(default)]
    min_coverage: Option<f64>,
    #[serde(default)]
    min_margin: Option<f64>,
    #[serde(default)]
    min_known_share: Option<f64>,
}

impl RawAssistant {
    /// The thresholds the file sets, over the defaults; each is checked
    /// against its range so a typo such as `min_margin = 20` (meant as 20%)
    /// fails at startup instead of silencing the assistant.
    fn thresholds(&self) -> Result<Thresholds, KnowledgeError> {
        let defaults = Thresholds::default();
        let ratio = |key: &'static str, value: Option<f64>, default: f64| match value {
            None => Ok(default),
            Some(v) if (0.0..=1.0).contains(&v) => Ok(v),
            Some(value) => Err(KnowledgeError::InvalidThreshold {
                key,
                value,
                range: "between 0 and 1",
            }),
        };
        Ok(Thresholds {
            min_score: match self.min_score {
                None => defaults.min_score,
                Some(v) if v.is_finite() && v >= 0.0 => v,
                Some(value) => {
                    return Err(KnowledgeError::InvalidThreshold {
                        key: "min_score",
                        value,
                        range: "a number of at least 0",
                    })
                }
            },
            min_coverage: ratio("min_coverage", self.min_coverage, defaults.min_coverage)?,
            min_margin: ratio("min_margin", self.min_margin, defaults.min_margin)?,
            min_known_share: ratio(
                "min_known_share",
                self.min_known_share,
                defaults.min_known_share,
            )?,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[serde(default)]
    id: Option<String>,
    question: String,
    #[serde(default)]
    keywords: Vec<String>,
    answer: String,
}

impl TryFrom<RawKnowledgeBase> for KnowledgeBase {
    type Error = KnowledgeError;

    fn try_from(raw: RawKnowledgeBase) -> Result<Self, Self::Error> {
        let thresholds = match &raw.assistant {
            Some(assistant) => assistant.thresholds()?,
            None => Thresholds::default(),
        };
        let no_match_reply = match raw.assistant.and_then(|a| a.no_match_reply) {
            Some(reply) if reply.trim().is_empty() => {
                return Err(KnowledgeError::EmptyNoMatchReply)
            }
            Some(reply) => reply,
            None => DEFAULT_NO_MATCH_REPLY.to_owned(),
        };
        if raw.entries.is_empty() {
            return Err(KnowledgeError::NoEntries);
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut entries = Vec::with_capacity(raw.entries.len());
        for (index, raw_entry) in raw.entries.into_iter().enumerate() {
            let entry_ref = |id: Option<&str>| match id {
                Some(id) => format!("entry[{index}] (id {id:?})"),
                None => format!("entry[{index}]"),
            };
            let id = match raw_entry.id {
                Some(id) if id.trim().is_empty() => {
                    return Err(KnowledgeError::EmptyField {
                        entry: entry_ref(None),
                        field: "id",
                    })
                }
                Some(id) => id.trim().to_owned(),
                None => index.to_string(),
            };
            for (field, value) in [
                ("question", &raw_entry.question),
                ("answer", &raw_entry.answer),
            ] {
                if value.trim().is_empty() {
                    return Err(KnowledgeError::EmptyField {
                        entry: entry_ref(Some(&id)),
                        field,
                    });
                }
            }
            if let Some(&first) = seen.get(&id) {
                return Err(KnowledgeError::DuplicateId {
                    id,
                    first,
                    second: index,
                });
            }
            seen.insert(id.clone(), index);
            entries.push(Entry {
                id,
                question: raw_entry.question.trim().to_owned(),
                keywords: raw_entry
                    .keywords
                    .into_iter()
                    .map(|k| k.trim().to_owned())
                    .filter(|k| !k.is_empty())
                    .collect(),
                answer: raw_entry.answer.trim().to_owned(),
            });
        }
        Ok(Self {
            no_match_reply,
            thresholds,
            entries,
        })
    }
}

impl KnowledgeBase {
    /// Parses and validates a knowledge base from TOML text.
    pub fn from_toml_str(s: &str) -> Result<Self, KnowledgeError> {
        let raw: RawKnowledgeBase =
            toml::from_str(s).map_err(|e| KnowledgeError::Parse(Box::new(e)))?;
        Self::try_from(raw)
    }

    /// Reads, parses and validates a knowledge-base file; every error names the
    /// path so a misconfigured deployment is easy to diagnose from logs.
    pub fn load(path: &Path) -> Result<Self, KnowledgeError> {
        let text = std::fs::read_to_string(path).map_err(|error| KnowledgeError::Io {
            path: path.to_owned(),
            error,
        })?;
        Self::from_toml_str(&text).map_err(|error| KnowledgeError::InFile {
            path: path.to_owned(),
            error: Box::new(error),
        })
    }

    /// The bundled demo store knowledge base, so a fresh install has a working
    /// assistant without any configuration.
    ///
    /// The file is compiled in and covered by a unit test, so it cannot fail to
    /// parse at runtime; should that invariant ever break anyway, this degrades
    /// to a single entry pointing customers to a person rather than panicking.
    pub fn demo() -> Self {
        Self::from_toml_str(DEMO_TOML).unwrap_or_else(|_| Self {
            no_match_reply: DEFAULT_NO_MATCH_REPLY.to_owned(),
            thresholds: Thresholds::default(),
            entries: vec![Entry {
                id: "demo-unavailable".to_owned(),
                question: "Can I talk to a person?".to_owned(),
                keywords: Vec::new(),
                answer: DEFAULT_NO_MATCH_REPLY.to_owned(),
            }],
        })
    }

    /// Looks an entry up by id.
    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }
}

const DEMO_TOML: &str = include_str!("../../knowledge/demo.toml");

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn demo_knowledge_base_parses() {
        let kb = KnowledgeBase::from_toml_str(DEMO_TOML).unwrap();
        assert!(kb.entries.len() >= 12, "{} entries", kb.entries.len());
        assert_eq!(KnowledgeBase::demo(), kb);
        for id in [
            "opening-hours",
            "shipping-times",
            "shipping-costs",
            "international-shipping",
            "returns",
            "refunds",
            "order-tracking",
            "payment-methods",
            "warranty",
            "contact",
            "store-location",
            "cancel-order",
            "change-address",
            "discounts",
        ] {
            assert!(kb.entry(id).is_some(), "demo entry {id:?} missing");
        }
        assert!(!kb.no_match_reply.is_empty());
    }

    #[test]
    fn demo_texts_are_gsm7_so_sms_replies_cost_no_extra_segments() {
        use crate::providers::sms::{segments, Encoding};
        let kb = KnowledgeBase::demo();
        let texts = kb
            .entries
            .iter()
            .flat_map(|e| [&e.question, &e.answer])
            .map(String::as_str)
            .chain([kb.no_match_reply.as_str(), DEFAULT_NO_MATCH_REPLY]);
        for text in texts {
            let info = segments(text);
            let offending: String = text
                .chars()
                .filter(|c| !crate::providers::sms::is_gsm7(*c))
                .collect();
            assert_eq!(
                info.encoding,
                Encoding::Gsm7,
                "{text:?} has {offending:?}: write ASCII look-alikes in knowledge/demo.toml"
            );
        }
        // The reply from finding D18: 2 segments with its en dashes, 1 without.
        let hours = kb.entry("opening-hours").unwrap();
        assert_eq!(segments(&hours.answer).segments, 1);
    }

    #[test]
    fn minimal_file_uses_defaults() {
        let kb = KnowledgeBase::from_toml_str(
            r#"
            [[entry]]
            question = "Q1?"
            answer = "A1"

            [[entry]]
            id = "  second "
            question = "  Q2? "
            keywords = ["a", "  ", " b "]
            answer = " A2 "
            "#,
        )
        .unwrap();
        assert_eq!(kb.no_match_reply, DEFAULT_NO_MATCH_REPLY);
        assert_eq!(
            kb.entries,
            vec![
                Entry {
                    id: "0".into(),
                    question: "Q1?".into(),
                    keywords: vec![],
                    answer: "A1".into(),
                },
                Entry {
                    id: "second".into(),
                    question: "Q2?".into(),
                    keywords: vec!["a".into(), "b".into()],
                    answer: "A2".into(),
                },
            ]
        );
    }

    #[test]
    fn custom_no_match_reply() {
        let kb = KnowledgeBase::from_toml_str(
            r#"
            [assistant]
            no_match_reply = "Sorry!"
            [[entry]]
            question = "Q"
            answer = "A"
            "#,
        )
        .unwrap();
        assert_eq!(kb.no_match_reply, "Sorry!");
    }

    #[test]
    fn unknown_keys_are_rejected_and_named() {
        for (toml, key) in [
            ("[[entry]]\nquestion = \"Q\"\nanwser = \"A\"\n", "anwser"),
            (
                "[[entry]]\nquestion = \"Q\"\nanswer = \"A\"\nkeyword = [\"x\"]\n",
                "keyword",
            ),
            (
                "[assistant]\nno_match = \"x\"\n[[entry]]\nquestion = \"Q\"\nanswer = \"A\"\n",
                "no_match",
            ),
            ("[[entries]]\nquestion = \"Q\"\nanswer = \"A\"\n", "entries"),
        ] {
            let err = KnowledgeBase::from_toml_str(toml).unwrap_err();
            assert!(matches!(err, KnowledgeError::Parse(_)), "{err:?}");
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
    }

    #[test]
    fn missing_required_field_is_named() {
        let err = KnowledgeBase::from_toml_str("[[entry]]\nquestion = \"Q\"\n").unwrap_err();
        assert!(err.to_string().contains("answer"), "{err}");
    }

    #[test]
    fn invalid_toml_is_a_parse_error() {
        let err = KnowledgeBase::from_toml_str("[[entry]\nquestion = ").unwrap_err();
        assert!(matches!(err, KnowledgeError::Parse(_)), "{err:?}");
    }

    #[test]
    fn empty_answer_names_the_entry() {
        let err = KnowledgeBase::from_toml_str(
            r#"
            [[entry]]
            question = "Q"
            answer = "A"
            [[entry]]
            id = "returns"
            question = "Can I return it?"
            answer = "   "
            "#,
        )
        .unwrap_err();
        assert!(
            matches!(
                &err,
                KnowledgeError::EmptyField {
                    field: "answer",
                    ..
                }
            ),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains("entry[1]"), "{message}");
        assert!(message.contains("\"returns\""), "{message}");
        assert!(message.contains("answer"), "{message}");
    }

    #[test]
    fn empty_question_names_the_entry_index() {
        let err = KnowledgeBase::from_toml_str("[[entry]]\nquestion = \"\"\nanswer = \"A\"\n")
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("entry[0]"), "{message}");
        assert!(message.contains("question"), "{message}");
    }

    #[test]
    fn empty_id_is_rejected() {
        let err = KnowledgeBase::from_toml_str(
            "[[entry]]\nid = \" \"\nquestion = \"Q\"\nanswer = \"A\"\n",
        )
        .unwrap_err();
        assert!(
            matches!(err, KnowledgeError::EmptyField { field: "id", .. }),
            "{err:?}"
        );
    }

    #[test]
    fn no_entries_is_an_error() {
        for toml in [
            "",
            "# nothing here\n",
            "[assistant]\nno_match_reply = \"x\"\n",
            "entry = []\n",
        ] {
            let err = KnowledgeBase::from_toml_str(toml).unwrap_err();
            assert!(
                matches!(err, KnowledgeError::NoEntries),
                "{toml:?}: {err:?}"
            );
        }
    }

    #[test]
    fn duplicate_ids_are_rejected() {
        let err = KnowledgeBase::from_toml_str(
            r#"
            [[entry]]
            id = "x"
            question = "Q"
            answer = "A"
            [[entry]]
            question = "Q"
            answer = "A"
            [[entry]]
            id = "x"
            question = "Q"
            answer = "A"
            "#,
        )
        .unwrap_err();
        assert!(
            matches!(&err, KnowledgeError::DuplicateId { id, first: 0, second: 2 } if id == "x"),
            "{err:?}"
        );
    }

    #[test]
    fn explicit_id_colliding_with_default_index_id_is_rejected() {
        let err = KnowledgeBase::from_toml_str(
            "[[entry]]\nid = \"1\"\nquestion = \"Q\"\nanswer = \"A\"\n[[entry]]\nquestion = \"Q\"\nanswer = \"A\"\n",
        )
        .unwrap_err();
        assert!(matches!(err, KnowledgeError::DuplicateId { .. }), "{err:?}");
    }

    #[test]
    fn empty_no_match_reply_is_rejected() {
        let err = KnowledgeBase::from_toml_str(
            "[assistant]\nno_match_reply = \"\"\n[[entry]]\nquestion = \"Q\"\nanswer = \"A\"\n",
        )
        .unwrap_err();
        assert!(matches!(err, KnowledgeError::EmptyNoMatchReply), "{err:?}");
    }

    #[test]
    fn thresholds_default_and_can_be_set() {
        let kb =
            KnowledgeBase::from_toml_str("[[entry]]\nquestion = \"Q\"\nanswer = \"A\"\n").unwrap();
        assert_eq!(kb.thresholds, Thresholds::default());
        assert_eq!(KnowledgeBase::demo().thresholds, Thresholds::default());

        let kb = KnowledgeBase::from_toml_str(
            r#"
            [assistant]
            min_score = 0.5
            min_coverage = 0.6
            min_margin = 0.0
            min_known_share = 1
            [[entry]]
            question = "Q"
            answer = "A"
            "#,
        )
        .unwrap();
        assert_eq!(
            kb.thresholds,
            Thresholds {
                min_score: 0.5,
                min_coverage: 0.6,
                min_margin: 0.0,
                min_known_share: 1.0,
            }
        );
        // Only some keys: the others keep their defaults.
        let kb = KnowledgeBase::from_toml_str(
            "[assistant]\nmin_margin = 0.3\n[[entry]]\nquestion = \"Q\"\nanswer = \"A\"\n",
        )
        .unwrap();
        assert_eq!(
            kb.thresholds,
            Thresholds {
                min_margin: 0.3,
                ..Thresholds::default()
            }
        );
    }

    #[test]
    fn out_of_range_thresholds_are_rejected_and_named() {
        for (setting, key) in [
            ("min_score = -1", "min_score"),
            ("min_score = inf", "min_score"),
            ("min_score = nan", "min_score"),
            ("min_coverage = 1.5", "min_coverage"),
            ("min_margin = 20", "min_margin"),
            ("min_margin = -0.1", "min_margin"),
            ("min_known_share = nan", "min_known_share"),
        ] {
            let toml =
                format!("[assistant]\n{setting}\n[[entry]]\nquestion = \"Q\"\nanswer = \"A\"\n");
            let err = KnowledgeBase::from_toml_str(&toml).unwrap_err();
            assert!(
                matches!(&err, KnowledgeError::InvalidThreshold { key: k, .. } if *k == key),
                "{setting}: {err:?}"
            );
            assert!(
                err.to_string().contains(&format!("assistant.{key}")),
                "{err}"
            );
        }
        // A misspelt key is an unknown key, as everywhere in the file.
        let err = KnowledgeBase::from_toml_str(
            "[assistant]\nmin_margins = 0.3\n[[entry]]\nquestion = \"Q\"\nanswer = \"A\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("min_margins"), "{err}");
    }

    #[test]
    fn load_reports_the_path() {
        let dir = std::env::temp_dir().join(format!("switchboard-kb-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();

        let missing = dir.join("missing.toml");
        let err = KnowledgeBase::load(&missing).unwrap_err();
        assert!(matches!(err, KnowledgeError::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("missing.toml"), "{err}");

        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "[[entry]]\nquestion = \"Q\"\nanswer = \"\"\n").unwrap();
        let err = KnowledgeBase::load(&bad).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("bad.toml"), "{message}");
        assert!(message.contains("entry[0]"), "{message}");

        let good = dir.join("good.toml");
        std::fs::write(&good, DEMO_TOML).unwrap();
        assert_eq!(KnowledgeBase::load(&good).unwrap(), KnowledgeBase::demo());

        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn deserializing_validates_too() {
        #[derive(Debug, Deserialize)]
        struct Config {
            kb: KnowledgeBase,
        }
        let ok: Config =
            toml::from_str("[[kb.entry]]\nquestion = \"Q\"\nanswer = \"A\"\n").unwrap();
        assert_eq!(ok.kb.entries.len(), 1);
        let err = toml::from_str::<Config>("[kb]\nentry = []\n").unwrap_err();
        assert!(err.to_string().contains("no entries"), "{err}");
    }
}
