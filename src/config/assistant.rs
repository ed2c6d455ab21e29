//! The `[[assistant]]` tables: what every assistant has (id, name, knowledge base, the pause
//! before it answers, when it gives up), and a language model's own settings on the `llm`
//! kind only, so a key of the wrong kind is refused when the file is read.
//!
//! Without any `[[assistant]]` the built-in knowledge-base assistant answers every inbox. The
//! single `[assistant]` table of earlier versions is still read, as that built-in assistant
//! with its settings (`id = "default"`); a warning shows the new form (see
//! [`AssistantsSection`]).

use std::{
    collections::HashSet,
    num::{NonZeroU32, NonZeroU64},
    path::PathBuf,
};

use serde::Deserialize;

use super::{
    inbox::typed,
    invalid,
    values::{HttpUrl, NonBlank, Secret},
    ArrayEntry, ConfigError,
};
use crate::domain::AssistantId;

/// The id of the assistant used when the file names none (and of the old `[assistant]` table).
pub const DEFAULT_ASSISTANT: &str = "default";

/// One assistant.
#[derive(Debug, Clone)]
pub struct AssistantSettings {
    /// Named by inboxes (`assistant = "sales"`) and stored on the conversations it handled.
    pub id: AssistantId,
    /// Shown to agents; the id when absent.
    pub name: String,
    /// Question/answer entries (TOML); the built-in demo store when absent. An `llm` assistant
    /// puts the best entries for the customer's message into its prompt, and answers from
    /// them alone when the model fails.
    pub knowledge_base: Option<PathBuf>,
    /// The system prompt of an `llm` assistant: who it is, what it may promise, its tone.
    pub instructions: String,
    /// Pause before it answers, in milliseconds (a human-like typing delay).
    pub reply_delay_ms: u64,
    /// Hand the conversation to a person after this many answers in a row that found nothing
    /// (0 = never).
    pub handoff_after_misses: u32,
    /// How long to wait for more messages before answering, in milliseconds: a customer who
    /// writes three lines in two seconds gets one answer to all of them.
    pub debounce_ms: u64,
    pub kind: AssistantKind,
}

/// What answers.
#[derive(Debug, Clone)]
pub enum AssistantKind {
    /// Ranks the knowledge base with BM25; no network, no key.
    KnowledgeBase,
    /// A language model behind an OpenAI-compatible Chat Completions endpoint.
    Llm(LlmSettings),
}

/// How the model is asked for its fixed JSON answer; servers differ in what they support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum JsonMode {
    /// `response_format: json_schema` with `strict: true` (OpenAI, Ollama, vLLM, llama.cpp,
    /// LM Studio).
    #[default]
    JsonSchema,
    /// `response_format: json_object`: valid JSON, the shape only asked for in the prompt.
    JsonObject,
    /// No `response_format`: the shape is described in the prompt only.
    Prompt,
}

/// The name of the request field that caps the answer's length: OpenAI's newer models take
/// only `max_completion_tokens`, many compatible servers only `max_tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MaxTokensField {
    #[default]
    MaxTokens,
    MaxCompletionTokens,
}

impl MaxTokensField {
    pub fn as_str(self) -> &'static str {
        match self {
            MaxTokensField::MaxTokens => "max_tokens",
            MaxTokensField::MaxCompletionTokens => "max_completion_tokens",
        }
    }
}

/// A language model's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmSettings {
    /// The API's base, up to `/v1`: `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1`.
    pub base_url: HttpUrl,
    pub model: NonBlank,
    /// Sent as a bearer token (`SWITCHBOARD_ASSISTANT_<ID>_API_KEY`); local servers need none.
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// How long one call may take, in seconds, retries not included.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: NonZeroU32,
    /// The most tokens an answer may use.
    #[serde(default = "default_max_tokens")]
    pub max_tokens: NonZeroU32,
    #[serde(default)]
    pub max_tokens_field: MaxTokensField,
    /// 0 to 2; low keeps answers close to the knowledge base.
    #[serde(default = "default_temperature")]
    pub temperature: f32,
    #[serde(default)]
    pub json_mode: JsonMode,
    /// Tokens (prompt and answer) this assistant may use per UTC day; once spent, its
    /// conversations go to a person. No limit when absent.
    #[serde(default)]
    pub daily_token_budget: Option<NonZeroU64>,
    /// Tries after the first on a timeout, 429, 5xx or an answer off the schema.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// Tokens of recent messages the prompt may hold (older ones are left out).
    #[serde(default = "default_history_tokens")]
    pub history_tokens: NonZeroU32,
    /// Knowledge-base entries put into the prompt, the best for the customer's message first.
    #[serde(default = "default_knowledge_entries")]
    pub knowledge_entries: usize,
    /// Calls to this model at once, over all conversations; more wait their turn.
    #[serde(default = "default_concurrency")]
    pub concurrency: NonZeroU32,
    /// Calls that may wait for their turn; past it the model counts as unavailable (the
    /// knowledge base or a person answers), so a burst cannot queue without end.
    #[serde(default = "default_queue")]
    pub queue: NonZeroU32,
}

fn default_timeout_secs() -> NonZeroU32 {
    NonZeroU32::MIN.saturating_add(19)
}
fn default_max_tokens() -> NonZeroU32 {
    NonZeroU32::MIN.saturating_add(511)
}
fn default_temperature() -> f32 {
    0.2
}
fn default_max_retries() -> u32 {
    2
}
fn default_history_tokens() -> NonZeroU32 {
    NonZeroU32::MIN.saturating_add(2999)
}
fn default_knowledge_entries() -> usize {
    3
}
fn default_concurrency() -> NonZeroU32 {
    NonZeroU32::MIN.saturating_add(7)
}
fn default_queue() -> NonZeroU32 {
    NonZeroU32::MIN.saturating_add(499)
}

impl AssistantSettings {
    /// The built-in assistant: the demo knowledge base (or `knowledge_base`), no model.
    pub fn built_in(knowledge_base: Option<PathBuf>) -> AssistantSettings {
        AssistantSettings {
            id: AssistantId::from(DEFAULT_ASSISTANT),
            name: "Assistant".to_owned(),
            knowledge_base,
            instructions: String::new(),
            reply_delay_ms: 0,
            handoff_after_misses: 2,
            debounce_ms: 0,
            kind: AssistantKind::KnowledgeBase,
        }
    }

    pub fn llm(&self) -> Option<&LlmSettings> {
        match &self.kind {
            AssistantKind::Llm(llm) => Some(llm),
            AssistantKind::KnowledgeBase => None,
        }
    }

    /// `knowledge_base` or `llm`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            AssistantKind::KnowledgeBase => "knowledge_base",
            AssistantKind::Llm(_) => "llm",
        }
    }

    /// Reads one `[[assistant]]` table (the `index`-th), naming the key at fault on error.
    fn parse(index: usize, value: toml::Value) -> Result<AssistantSettings, ConfigError> {
        let (entry, common_keys, kind_keys) =
            ArrayEntry::split("assistant", index, value, Common::KEYS)?;
        let at = |path: &str| entry.at(path);
        let common: Common = typed(common_keys, "an assistant", &at)?;
        let article = match common.kind {
            KindName::Llm => "an",
            KindName::KnowledgeBase => "a",
        };
        let what = format!(
            "{article} {} assistant `{}`",
            common.kind.as_str(),
            common.id
        );
        let kind = match common.kind {
            KindName::KnowledgeBase => {
                typed::<NoKeys>(kind_keys, &what, &at)?;
                AssistantKind::KnowledgeBase
            }
            KindName::Llm => {
                let llm: LlmSettings = typed(kind_keys, &what, &at)?;
                if !(0.0..=2.0).contains(&llm.temperature) {
                    return Err(invalid(at("temperature"), "must be between 0 and 2"));
                }
                if llm.max_retries > 5 {
                    return Err(invalid(at("max_retries"), "must be 0-5"));
                }
                AssistantKind::Llm(llm)
            }
        };
        let id_ok = !common.id.is_empty()
            && common.id.len() <= 64
            && common
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !id_ok {
            return Err(invalid(
                at("id"),
                "must be 1-64 letters, digits, '-' or '_'",
            ));
        }
        if common.instructions.chars().count() > 20_000 {
            return Err(invalid(
                at("instructions"),
                "must be at most 20000 characters",
            ));
        }
        if common.debounce_ms.is_some_and(|ms| ms > 60_000) {
            return Err(invalid(
                at("debounce_ms"),
                "must be at most 60000 (a minute)",
            ));
        }
        // A model costs money and time per call, so by default it waits for a burst to end.
        let debounce_ms = common.debounce_ms.unwrap_or(match kind {
            AssistantKind::KnowledgeBase => 0,
            AssistantKind::Llm(_) => 1500,
        });
        Ok(AssistantSettings {
            name: common.name.unwrap_or_else(|| common.id.clone()),
            id: AssistantId::from(common.id),
            knowledge_base: common.knowledge_base,
            instructions: common.instructions,
            reply_delay_ms: common.reply_delay_ms,
            handoff_after_misses: common.handoff_after_misses,
            debounce_ms,
            kind,
        })
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum KindName {
    KnowledgeBase,
    Llm,
}

impl KindName {
    fn as_str(self) -> &'static str {
        match self {
            KindName::KnowledgeBase => "knowledge_base",
            KindName::Llm => "llm",
        }
    }
}

/// The keys every assistant has.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Common {
    id: String,
    #[serde(default = "knowledge_base_kind")]
    kind: KindName,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    knowledge_base: Option<PathBuf>,
    #[serde(default)]
    instructions: String,
    #[serde(default)]
    reply_delay_ms: u64,
    #[serde(default = "default_misses")]
    handoff_after_misses: u32,
    #[serde(default)]
    debounce_ms: Option<u64>,
}

impl Common {
    const KEYS: &'static [&'static str] = &[
        "id",
        "kind",
        "name",
        "knowledge_base",
        "instructions",
        "reply_delay_ms",
        "handoff_after_misses",
        "debounce_ms",
    ];
}

fn knowledge_base_kind() -> KindName {
    KindName::KnowledgeBase
}

fn default_misses() -> u32 {
    2
}

/// A kind with no keys of its own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoKeys {}

/// The old single `[assistant]` table, read as the built-in assistant.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct LegacyTable {
    knowledge_base: Option<PathBuf>,
    reply_delay_ms: u64,
    handoff_after_misses: u32,
}

impl Default for LegacyTable {
    fn default() -> Self {
        LegacyTable {
            knowledge_base: None,
            reply_delay_ms: 0,
            handoff_after_misses: 2,
        }
    }
}

/// What the file says about assistants.
#[derive(Debug, Clone, Default)]
pub struct AssistantsSection {
    /// In file order; empty means the built-in assistant alone.
    pub list: Vec<AssistantSettings>,
    /// The file used the single `[assistant]` table of earlier versions (read as the built-in
    /// assistant); the server logs the new form at start.
    pub legacy_table: bool,
}

/// How the old table is written now, for the warning.
pub const NEW_FORM: &str = "[[assistant]]\nid = \"default\"\nkind = \"knowledge_base\"\n\
                            knowledge_base = \"knowledge/demo.toml\"\n\n\
                            [[inbox]]\n# …\nassistant = \"default\"";

impl AssistantsSection {
    /// Reads the `assistant` key of the file: `[[assistant]]` tables, or the old `[assistant]`.
    pub(super) fn parse(value: Option<toml::Value>) -> Result<AssistantsSection, ConfigError> {
        match value {
            None => Ok(AssistantsSection::default()),
            Some(toml::Value::Array(list)) => Ok(AssistantsSection {
                list: list
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| AssistantSettings::parse(i, v))
                    .collect::<Result<_, _>>()?,
                legacy_table: false,
            }),
            Some(toml::Value::Table(table)) => {
                let at = |path: &str| format!("assistant.{path}");
                let old: LegacyTable = typed(table, "the [assistant] table", &at)?;
                let mut built_in = AssistantSettings::built_in(old.knowledge_base);
                built_in.reply_delay_ms = old.reply_delay_ms;
                built_in.handoff_after_misses = old.handoff_after_misses;
                Ok(AssistantsSection {
                    list: vec![built_in],
                    legacy_table: true,
                })
            }
            Some(_) => Err(invalid(
                "assistant",
                "must be written as [[assistant]] tables",
            )),
        }
    }

    /// Every assistant the server runs: the file's, or the built-in one.
    pub fn effective(&self) -> Vec<AssistantSettings> {
        if self.list.is_empty() {
            vec![AssistantSettings::built_in(None)]
        } else {
            self.list.clone()
        }
    }

    /// The assistant of inboxes that name none: the first in the file.
    pub fn default_id(&self) -> AssistantId {
        self.list
            .first()
            .map_or_else(|| AssistantId::from(DEFAULT_ASSISTANT), |a| a.id.clone())
    }

    /// `SWITCHBOARD_KNOWLEDGE_BASE`: the knowledge base of the first assistant (the built-in
    /// one when the file lists none).
    pub(super) fn set_first_knowledge_base(&mut self, path: PathBuf) {
        match self.list.first_mut() {
            Some(first) => first.knowledge_base = Some(path),
            None => self.list.push(AssistantSettings::built_in(Some(path))),
        }
    }

    pub fn get(&self, id: &AssistantId) -> Option<&AssistantSettings> {
        self.list.iter().find(|a| &a.id == id)
    }

    /// No two assistants share an id.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let mut seen = HashSet::new();
        for (i, a) in self.list.iter().enumerate() {
            if !seen.insert(a.id.as_str()) {
                return Err(invalid(
                    format!("assistant[{i}].id"),
                    format!("`{}` is used twice", a.id),
                ));
            }
        }
        Ok(())
    }
}

/// `SWITCHBOARD_ASSISTANT_<ID>_API_KEY`, the id upper-cased with `-` as `_`.
pub fn assistant_key_var(id: &str) -> String {
    format!("SWITCHBOARD_ASSISTANT_{}_API_KEY", super::env_id(id))
}
