//! Asking the conversation's assistant: once a burst of customer messages settles (the
//! assistant's debounce), with the history and memories a language model reads, without
//! holding the mailbox (a takeover can arrive meanwhile). What the model cost is recorded
//! whether or not its answer is kept.

use super::*;
use crate::{
    assistant::{roster::Configured, AssistantError, AssistantRequest, ContextLoader, Turn},
    domain::ContactId,
};

/// Messages read for a language model's prompt; the prompt keeps what fits its token budget.
const HISTORY_MESSAGES: i64 = 60;

impl ConversationActor {
    /// The assistant of this conversation's inbox.
    fn assistant(&self) -> Option<Arc<Configured>> {
        let id = self.loaded.as_ref().map(|l| &l.inbox.assistant);
        self.deps.assistants.get_or_default(id)
    }

    /// Asks for an answer to the customer's latest message (`text`), after the assistant's
    /// debounce: each message of a burst re-arms the wait, so the burst gets one answer. The
    /// actor stays up (counted in flight) until the answer is stored or a person has it.
    pub(super) fn ask_assistant(&mut self, text: String, ctx: &mut Context<Self>) {
        let Some(assistant) = self.assistant() else {
            return;
        };
        let debounce = assistant.debounce();
        if debounce.is_zero() {
            self.assistant_in_flight += 1;
            self.start_asking(assistant, text, ctx);
            return;
        }
        match self.debounce.take() {
            // The burst's first message counted it already.
            Some(pending) => {
                ctx.cancel_future(pending);
            }
            None => self.assistant_in_flight += 1,
        }
        self.debounce = Some(ctx.run_later(debounce, move |act, ctx| {
            act.debounce = None;
            act.start_asking(assistant, text, ctx);
        }));
    }

    fn start_asking(&mut self, assistant: Arc<Configured>, text: String, ctx: &mut Context<Self>) {
        let Some(l) = self.loaded.as_ref() else {
            self.assistant_done();
            return;
        };
        let (store, id) = (self.deps.store.clone(), self.id);
        let (contact, contact_name) = (l.contact.id, l.contact.name.clone());
        let names = self.deps.agent_names.clone();
        let engine = assistant.engine.clone();
        let assistant_id = assistant.id().clone();
        let delay = assistant.delay();
        let span = self.span.clone();
        let (reader, asked, warn_span) = (store.clone(), text.clone(), span.clone());
        let question = text.clone();
        // Read only when the model is about to be asked (see `Assistant::reply_to`).
        let load: ContextLoader = Box::new(move || {
            Box::pin(async move {
                match reader.read(move |c| context(c, id, contact)).await {
                    Ok((history, memories)) => {
                        request_from(history, memories, contact_name, &names, asked)
                    }
                    Err(e) => {
                        tracing::warn!(parent: &warn_span, error = %e, "cannot read the history; asking with the last message alone");
                        AssistantRequest::new(asked)
                    }
                }
            })
        });
        let fut = async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let result = engine.reply_to(text, load).await;
            let usage = match &result {
                Ok(answered) => answered.usage,
                Err(e) => e.usage(),
            };
            if usage.requests > 0 {
                let by = assistant_id.clone();
                let write =
                    store.write(move |c| queries::record_usage(c, id, &by, usage, clock::now()));
                if let Err(e) = write.await {
                    tracing::warn!(parent: &span, error = %e, "cannot record the tokens used");
                }
            }
            (result, assistant_id)
        };
        ctx.spawn(fut.into_actor(self).map(|(res, assistant), act, ctx| match res {
            Ok(answered) => ctx.notify(AssistantAnswered {
                answered,
                assistant,
                question,
                attempt: 1,
            }),
            Err(AssistantError::BudgetExhausted) => {
                tracing::info!(parent: &act.span, %assistant, "the assistant's daily budget is spent; handing the conversation to a person");
                ctx.notify(AssistantFailed {
                    attempt: 1,
                    reason: HandoffReason::AssistantBudgetExhausted,
                });
            }
            Err(e) => {
                tracing::warn!(parent: &act.span, error = %e, "the assistant failed; handing the conversation to a person");
                ctx.notify(AssistantFailed {
                    attempt: 1,
                    reason: HandoffReason::AssistantUnavailable,
                });
            }
        }));
    }
}

/// What a language model reads besides the customer's words: the latest messages (newest
/// first) and what is remembered about the person.
type Context_ = (Vec<queries::HistoryRow>, Vec<(String, String)>);

fn context(c: &mut DbConnection, id: ConversationId, contact: ContactId) -> AppResult<Context_> {
    let history = queries::assistant_history(c, id, HISTORY_MESSAGES)?;
    let memories = queries::person_memories(c, contact)?
        .into_iter()
        .map(|m| (m.kind.to_string(), m.text))
        .collect();
    Ok((history, memories))
}

/// The request: the customer's turn is every message of theirs after the last answer (a
/// burst is answered as one; its latest message is what anything learned is filed under),
/// the rest is history; `fallback` is the text that asked, used when the history holds no
/// customer turn (an answer owed after a restart, say).
fn request_from(
    newest_first: Vec<queries::HistoryRow>,
    memories: Vec<(String, String)>,
    contact_name: Option<String>,
    names: &crate::agent_names::AgentNames,
    fallback: String,
) -> AssistantRequest {
    let turn_len = newest_first
        .iter()
        .take_while(|(_, author, _, _)| *author == Author::Customer)
        .count();
    let latest = newest_first[..turn_len].first().map(|(id, ..)| *id);
    let mut turn: Vec<&str> = newest_first[..turn_len]
        .iter()
        .map(|(_, _, _, text)| text.as_str())
        .collect();
    turn.reverse();
    let text = if turn.is_empty() {
        fallback
    } else {
        turn.join("\n")
    };
    let history = newest_first[turn_len..]
        .iter()
        .rev()
        .map(|(_, author, agent, text)| Turn {
            author: *author,
            name: agent.and_then(|a| names.get(a)),
            text: text.clone(),
        })
        .collect();
    AssistantRequest {
        text,
        history,
        memories,
        contact_name,
        source: latest,
    }
}
