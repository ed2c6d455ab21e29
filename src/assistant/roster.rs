//! The configured assistants as the server runs them: each one's engine (the knowledge base,
//! or a language model in front of it), its settings, and what it spent today.

use std::{collections::HashMap, sync::Arc, time::Duration};

use anyhow::Context as _;

use super::{
    knowledge::KnowledgeBase,
    llm::{LlmAssistant, ProviderHealth},
    Assistant, KnowledgeBaseAssistant,
};
use crate::{
    config::{AssistantKind, AssistantSettings, Settings},
    domain::AssistantId,
};

/// One assistant, ready to answer.
pub struct Configured {
    pub settings: AssistantSettings,
    pub engine: Arc<dyn Assistant>,
    /// The language model, when it is one (budget, health).
    pub llm: Option<Arc<LlmAssistant>>,
}

impl Configured {
    pub fn id(&self) -> &AssistantId {
        &self.settings.id
    }

    /// The human-like pause before it answers.
    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.settings.reply_delay_ms)
    }

    /// How long it waits for more of a burst before answering.
    pub fn debounce(&self) -> Duration {
        Duration::from_millis(self.settings.debounce_ms)
    }

    pub fn health(&self) -> Option<ProviderHealth> {
        self.llm.as_ref().map(|l| l.health())
    }
}

/// Every assistant, by id, and the one inboxes get when they name none.
pub struct Assistants {
    by_id: HashMap<AssistantId, Arc<Configured>>,
    /// In the file's order, for listings.
    order: Vec<AssistantId>,
    default: AssistantId,
}

impl Assistants {
    /// Loads each assistant's knowledge base and builds its engine; a file that cannot be
    /// read is refused at start naming the assistant.
    pub fn from_settings(
        settings: &Settings,
        http: &reqwest::Client,
        metrics: &crate::metrics::Metrics,
    ) -> anyhow::Result<Assistants> {
        let mut by_id = HashMap::new();
        let mut order = Vec::new();
        for (i, a) in settings.assistants.effective().into_iter().enumerate() {
            let key = if settings.assistants.legacy_table {
                "assistant.knowledge_base".to_owned()
            } else {
                format!("assistant[{i}].knowledge_base")
            };
            let kb = match &a.knowledge_base {
                Some(path) => KnowledgeBase::load(path)
                    .with_context(|| format!("invalid config: `{key}` (assistant `{}`)", a.id))?,
                None => KnowledgeBase::demo(),
            };
            let kb = Arc::new(KnowledgeBaseAssistant::new(kb));
            let (engine, llm): (Arc<dyn Assistant>, _) = match &a.kind {
                AssistantKind::KnowledgeBase => (kb, None),
                AssistantKind::Llm(llm) => {
                    let model = Arc::new(LlmAssistant::new(
                        llm.clone(),
                        a.instructions.clone(),
                        kb,
                        http.clone(),
                        metrics.llm(a.id.as_str()),
                    ));
                    (Arc::new(model.clone()), Some(model))
                }
            };
            order.push(a.id.clone());
            let configured = Configured {
                settings: a,
                engine,
                llm,
            };
            by_id.insert(configured.id().clone(), Arc::new(configured));
        }
        Ok(Assistants {
            by_id,
            order,
            default: settings.assistants.default_id(),
        })
    }

    /// The assistant with this id, or the default one (an inbox names only known ids; a
    /// conversation of a removed inbox gets the default).
    pub fn get_or_default(&self, id: Option<&AssistantId>) -> Option<Arc<Configured>> {
        id.and_then(|id| self.by_id.get(id))
            .or_else(|| self.by_id.get(&self.default))
            .cloned()
    }

    pub fn get(&self, id: &AssistantId) -> Option<&Arc<Configured>> {
        self.by_id.get(id)
    }

    /// In the file's order.
    pub fn all(&self) -> Vec<Arc<Configured>> {
        self.order
            .iter()
            .filter_map(|id| self.by_id.get(id).cloned())
            .collect()
    }

    pub fn default_id(&self) -> &AssistantId {
        &self.default
    }
}
