//! What the conversation learns about its customer: memories found in a customer's message
//! (by `domain::memory::extract`, or by the assistant) are reconciled with the person's known
//! memories and stored, off the actor.
//!
//! Remembering is a side matter of a message, never a condition of it: the write is spawned
//! after the message is committed and its failure is only logged, so an inbound message is
//! never slowed down or refused because of it.

use super::*;
use crate::domain::memory::MemoryCandidate;

impl ConversationActor {
    /// Stores `candidates` learned from `message_id` (a message of this conversation) for the
    /// conversation's contact: reconciled with the live memories of the same person (every
    /// contact with the same phone), duplicates dropped, a changed slot replaced, the cap kept.
    /// Fire-and-forget: spawned on the actor's context, errors logged.
    pub(super) fn remember(
        &self,
        message_id: MessageId,
        candidates: Vec<MemoryCandidate>,
        ctx: &mut Context<Self>,
    ) {
        let Some(l) = &self.loaded else { return };
        if candidates.is_empty() {
            return;
        }
        let contact_id = l.contact.id;
        let conversation_id = self.id;
        let store = self.deps.store.clone();
        let now = clock::now();
        let write = async move {
            store
                .write(move |c| {
                    queries::remember(
                        c,
                        contact_id,
                        Some(conversation_id),
                        Some(message_id),
                        &candidates,
                        now,
                    )
                })
                .await
        };
        ctx.spawn(write.into_actor(self).map(move |res, act, _| match res {
            Ok(changed) => {
                tracing::debug!(parent: &act.span, %message_id, changed, "memories reconciled")
            }
            Err(e) => {
                tracing::warn!(parent: &act.span, %message_id, error = %e, "could not store what was learned")
            }
        }));
    }

    /// Runs the offline extractor on the customer's messages just stored and remembers what
    /// it finds. Media tags (`[image]`) are ours, not the customer's: only their words count.
    pub(super) fn learn_from(&self, messages: &[MessageRow], ctx: &mut Context<Self>) {
        for m in messages.iter().filter(|m| m.author == Author::Customer) {
            let found = crate::domain::memory::extract(crate::assistant::customer_words(&m.body));
            if !found.is_empty() {
                self.remember(m.id, found, ctx);
            }
        }
    }
}
