//! Knowledge-base file format and loader.
//!
//! The knowledge base is a human-edited TOML file, so the loader is strict:
//! unknown keys are rejected (a typo such as `anwser` would otherwise silently
//! drop an answer) and every entry is validated up front, with errors naming the
//! offending entry, so mistakes surface at startup instead of as odd replies.
//!
//! ```toml
//! [assistant]            # optional
//! no_match_reply = "I'm not sure I can answer that. ..."
//!
//! [[entry]]
//! id = "opening-hours"                    # optional, defaults to the entry's index ("0", "1", ...)
//! question = "What are your opening hours?"
//! keywords = ["hours", "open", "close"]   # optional, extra searchable words
//! answer = "We're open Monday to Friday, 9:00–18:00."
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

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
