//! The customer's side: inbound messages, the assistant's answers (stored or retried), the
//! handoff when the assistant cannot answer, and answers owed after a restart.

use super::*;
use crate::{
    actors::messages::InboundPart,
    db::models::AnswerRow,
    domain::{
        answer::{self, AnswerOutcome},
        csat::{parse_rating, CsatScore},
        notes::Note,
        opt_out::{self, OptOut},
    },
};

impl Handler<DeliverInbound> for ConversationActor {
    type Result = Reply<InboundAccepted>;

    fn handle(&mut self, msg: DeliverInbound, _: &mut Self::Context) -> Self::Result {
        self.deps
            .mailbox_wait
            .observe(msg.queued_at.elapsed().as_secs_f64());
        let _g = self.span.clone().entered();
        let l = match self.loaded() {
            Ok(l) => l,
            Err(e) => return refused(e),
        };
        if msg.parts.is_empty() {
            return refused(AppError::Validation("a message needs content".to_owned()));
        }
        // Handoff phrases are looked for in everything the customer wrote or tapped.
        let text: Vec<&str> = msg.parts.iter().map(|p| p.body.as_str()).collect();
        let now = clock::now();
        let (sent_at, provider_sent_at) = believable_time(msg.sent_at, now);
        // Read as a rating only while a survey waits for one: ordinary messages pay nothing.
        let rating = match msg.parts.as_slice() {
            [part] if l.state.awaits_rating(now) => survey_answer(part),
            _ => None,
        };
        let event = Event::CustomerMessage {
            text: text.join("\n"),
            at: sent_at,
            rating,
        };
        let (state, mut effects) = match transition(&l.state, &event, now, l.policy()) {
            Ok(t) => t,
            Err(e) => return refused(e.into()),
        };
        if l.contact.blocked {
            // Kept for the record, never answered.
            effects.retain(|e| {
                !matches!(
                    e,
                    Effect::RequestAssistantReply | Effect::AcknowledgeHandoff(_)
                )
            });
        }
        // STOP / START as the whole message (or a template's opt-out button): recorded for the
        // whole person in the same transaction as the message (a no-op for contacts already
        // in that state), with a note in the thread when this contact's state changes. The
        // row in memory may miss a change made through another channel of the person (its
        // actor is not told): the write is then still right, only the note is left out.
        let opt_out = match msg.parts.as_slice() {
            [part] => keyword(part),
            _ => None,
        };
        let changes =
            |k: &OptOut| (*k == OptOut::Unsubscribe) == l.contact.unsubscribed_at.is_none();
        if let Some((kind, word)) = opt_out.as_ref().filter(|(k, _)| changes(k)) {
            let keyword = word.clone();
            effects.push(Effect::SystemNote(match kind {
                OptOut::Unsubscribe => Note::Unsubscribed { keyword },
                OptOut::Resubscribe => Note::Resubscribed { keyword },
            }));
        }
        let ids = part_ids(msg.external_id.as_deref(), msg.parts.len());
        let messages: Vec<MessageRow> = msg
            .parts
            .into_iter()
            .zip(&ids)
            .map(|(part, id)| self.customer_message(l, part, id.clone(), sent_at, provider_sent_at))
            .collect();
        let plan = Plan {
            messages,
            dedupe: match msg.external_id {
                Some(_) => Dedupe::External(ids.into_iter().flatten().collect()),
                None => Dedupe::None,
            },
            opt_out: opt_out.map(|(kind, _)| (l.contact.id, kind, now)),
            referral: msg.referral,
            ..Plan::state_only(state, effects)
        };
        let conversation_id = self.id;
        reply(self.commit(plan).map(move |res, act, ctx| {
            // Only a message stored now: a redelivered one was learned from the first time.
            if let Ok(Committed::Written(w)) = &res {
                act.learn_from(&w.messages, ctx);
            }
            accepted(res?, conversation_id)
        }))
    }
}

/// A message part read as an opt-out keyword, with the words that said it: a text that is one
/// of the keywords, or a template button whose payload is an opt-out.
fn keyword(part: &InboundPart) -> Option<(OptOut, String)> {
    match part.kind {
        MessageKind::Text => {
            opt_out::classify(&part.body).map(|k| (k, part.body.trim().to_owned()))
        }
        MessageKind::Button => {
            let payload = part
                .payload
                .as_ref()
                .and_then(|p| p.get("payload"))
                .and_then(serde_json::Value::as_str)?;
            opt_out::classify_button(payload).map(|k| (k, part.body.trim().to_owned()))
        }
        _ => None,
    }
}

/// A message part read as a 1–5 rating: a tapped survey row by its id, else its text.
fn survey_answer(part: &InboundPart) -> Option<CsatScore> {
    let id = match part.kind {
        MessageKind::Interactive => part
            .payload
            .as_ref()
            .and_then(|p| p.get("id"))
            .and_then(serde_json::Value::as_str),
        _ => None,
    };
    parse_rating(&part.body, id)
}

/// The provider ids of a message's parts: the first keeps the provider's id, the others get
/// `<id>#<n>`; none without a provider id.
fn part_ids(external_id: Option<&str>, parts: usize) -> Vec<Option<String>> {
    (0..parts)
        .map(|i| match (external_id, i) {
            (Some(ext), 0) => Some(ext.to_owned()),
            (Some(ext), i) => Some(format!("{ext}#{i}")),
            (None, _) => None,
        })
        .collect()
}

/// The answer to the webhook: the (first) message stored or found, whether it was a
/// duplicate, and the files still to download.
fn accepted(committed: Committed, conversation_id: ConversationId) -> AppResult<InboundAccepted> {
    let duplicate = matches!(committed, Committed::Duplicate(_));
    let messages = committed.messages();
    let first = messages
        .first()
        .ok_or_else(|| AppError::internal("message not written"))?;
    let downloads = messages
        .iter()
        .filter(|m| m.media_path.is_none())
        .filter_map(|m| {
            Some(MediaDownload {
                conversation_id,
                message_id: m.id,
                source: MediaSource::decode(m.media_source.as_deref()?)?,
                mime: m.media_mime.clone(),
            })
        })
        .collect();
    Ok(InboundAccepted {
        message_id: first.id,
        duplicate,
        downloads,
    })
}

impl ConversationActor {
    /// One part of a customer's message as the row to store.
    fn customer_message(
        &self,
        l: &Loaded,
        part: InboundPart,
        external_id: Option<String>,
        sent_at: NaiveDateTime,
        provider_sent_at: Option<NaiveDateTime>,
    ) -> MessageRow {
        let mut m = self.new_message(l, Direction::Inbound, Author::Customer, part.body, sent_at);
        m.provider_sent_at = provider_sent_at;
        m.external_id = external_id;
        m.kind = part.kind;
        m.media_source = part.media.as_ref().map(MediaSource::encode);
        m.media_mime = part.media_mime;
        m.media_filename = part.media_filename;
        m.payload = part.payload.map(|p| p.to_string());
        m
    }
}

impl ConversationActor {
    /// The rows and rules of storing the assistant's answer (or its handoff).
    fn assistant_plan(&self, msg: &AssistantAnswered) -> AppResult<Plan> {
        let l = self.loaded()?;
        // A block made while this answer was being thought up is seen here: the block
        // endpoint answers only after every actor of the person took the blocked row
        // (`ContactChanged`), so once a block is acknowledged no answer is written.
        if l.contact.blocked {
            return Err(AppError::Conflict {
                code: "contact_blocked",
                message: "the contact was blocked while the assistant thought".to_owned(),
            });
        }
        let now = clock::now();
        let answered = &msg.answered;
        let event = match &answered.reply {
            AssistantReply::Handoff { text, reason } => Event::AssistantHandedOff {
                assistant: msg.assistant.clone(),
                reason: reason.clone(),
                text: text.clone(),
            },
            reply => Event::AssistantReplied {
                matched: reply.is_match(),
                at: now,
                assistant: msg.assistant.clone(),
                lead_stage: answered.lead_stage,
            },
        };
        let (state, effects) = transition(&l.state, &event, now, l.policy())?;
        // A handoff's words go out as its acknowledgement (an effect), not as a reply.
        let text = match &answered.reply {
            AssistantReply::Handoff { .. } => None,
            reply => reply.text(),
        };
        let Some(text) = text else {
            return Ok(Plan::state_only(state, effects));
        };
        let (mut message, send) = self.outbound(l, Author::Assistant, text.to_owned(), now);
        // Which assistant answered, whether its model or its knowledge base did, and what the
        // answer rests on: agents (and reports) can tell a sure answer from a guess, and a
        // model's answer from the fallback.
        let basis = &answered.basis;
        let outcome = match answered.reply.is_match() {
            true => AnswerOutcome::Answered,
            false => AnswerOutcome::NoMatch,
        };
        let mut payload = json!({
            "assistant": msg.assistant,
            "answered_by": answered.source.as_str(),
            "outcome": outcome.as_str(),
        });
        if let Some(entry) = &basis.entry {
            payload["entry"] = json!({ "id": entry.id, "question": entry.question });
        }
        if let Some(model) = &basis.model {
            payload["model"] = json!(model);
        }
        if let Some(confidence) = basis.confidence {
            payload["confidence"] = json!(confidence.get());
        }
        message.payload = Some(payload.to_string());
        let answer = AnswerRow {
            message_id: message.id,
            conversation_id: self.id,
            inbox_id: l.row.inbox_id.clone(),
            assistant_id: msg.assistant.clone(),
            answered_by: answered.source.as_str().to_owned(),
            outcome,
            entry_id: basis.entry.as_ref().map(|e| e.id.clone()),
            entry_question: basis.entry.as_ref().map(|e| e.question.clone()),
            model: basis.model.clone(),
            confidence: basis.confidence.map(|c| c.get()),
            question: answer::stored_question(&msg.question),
            question_key: answer::question_key(&msg.question),
            created_at: now,
            wrong_at: None,
            wrong_by: None,
            wrong_reason: None,
        };
        Ok(Plan {
            messages: vec![message],
            send,
            answer: Some(answer),
            ..Plan::state_only(state, effects)
        })
    }
}

impl Handler<AssistantAnswered> for ConversationActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: AssistantAnswered, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        let plan = match self.assistant_plan(&msg) {
            Ok(plan) => plan,
            Err(AppError::Transition(TransitionError::AssistantSilenced(status))) => {
                tracing::info!(parent: &self.span, %status, "assistant reply dropped: a person took over");
                self.assistant_done();
                return AtomicResponse::new(Box::pin(fut::ready(())));
            }
            Err(e) => {
                tracing::warn!(parent: &self.span, error = %e, "assistant reply dropped");
                self.assistant_done();
                return AtomicResponse::new(Box::pin(fut::ready(())));
            }
        };
        AtomicResponse::new(Box::pin(self.commit(plan).map(move |res, act, ctx| {
            match res {
                Ok(_) => {
                    act.assistant_done();
                    // What the model learned is filed under the message it answered.
                    if let Some(source) = msg.answered.learned_from {
                        act.remember(source, msg.answered.learned, ctx);
                    }
                }
                Err(e) if retryable(&e) && msg.attempt < ASSISTANT_STORE_ATTEMPTS => {
                    tracing::warn!(parent: &act.span, error = %e, attempt = msg.attempt, "could not store the assistant's reply; trying again");
                    let delay = retry_delay(msg.attempt);
                    let next = AssistantAnswered {
                        attempt: msg.attempt + 1,
                        ..msg
                    };
                    ctx.notify_later(next, delay);
                }
                Err(e) => {
                    tracing::error!(parent: &act.span, error = %e, attempt = msg.attempt, "could not store the assistant's reply; handing the conversation to a person");
                    ctx.notify(AssistantFailed {
                        attempt: 1,
                        reason: HandoffReason::AssistantUnavailable,
                    });
                }
            }
        })))
    }
}

impl Handler<AssistantFailed> for ConversationActor {
    type Result = AtomicResponse<Self, ()>;

    /// Hands the conversation to a person; tries until that is stored, so the customer's
    /// message never stays without anyone to answer it.
    fn handle(&mut self, msg: AssistantFailed, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        let event = Event::AssistantUnavailable(msg.reason.clone());
        let plan = match self.apply_event(&event) {
            Ok(plan) if plan.effects.is_empty() => {
                // A person has it already, or the customer was answered meanwhile.
                self.assistant_done();
                return AtomicResponse::new(Box::pin(fut::ready(())));
            }
            Ok(plan) => plan,
            Err(e) => {
                tracing::error!(parent: &self.span, error = %e, "cannot hand the conversation to a person");
                self.assistant_done();
                return AtomicResponse::new(Box::pin(fut::ready(())));
            }
        };
        AtomicResponse::new(Box::pin(self.commit(plan).map(move |res, act, ctx| {
            match res {
                Ok(_) => act.assistant_done(),
                Err(e) => {
                    tracing::error!(parent: &act.span, error = %e, attempt = msg.attempt, "could not store the handoff; trying again");
                    let delay = retry_delay(msg.attempt);
                    let next = AssistantFailed {
                        attempt: msg.attempt + 1,
                        ..msg
                    };
                    ctx.notify_later(next, delay);
                }
            }
        })))
    }
}

impl Handler<ResumeUnanswered> for ConversationActor {
    type Result = ();

    fn handle(&mut self, _: ResumeUnanswered, ctx: &mut Self::Context) {
        let waiting = self.loaded.as_ref().is_some_and(|l| {
            l.state.status == Status::Bot
                && l.state.last_message_author == Some(Author::Customer)
                && !l.contact.blocked
        });
        if !waiting || self.assistant_in_flight > 0 {
            return;
        }
        let _g = self.span.clone().entered();
        tracing::info!("answering a customer message left unanswered by the last stop");
        let store = self.deps.store.clone();
        let id = self.id;
        self.assistant_in_flight += 1;
        let read = async move {
            store
                .read(move |c| queries::last_customer_text(c, id))
                .await
        };
        ctx.spawn(read.into_actor(self).map(|res, act, ctx| {
            act.assistant_done();
            match res {
                Ok(Some(text)) => act.ask_assistant(text, ctx),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(parent: &act.span, error = %e, "cannot read the unanswered message; handing the conversation to a person");
                    act.assistant_in_flight += 1;
                    ctx.notify(AssistantFailed {
                        attempt: 1,
                        reason: HandoffReason::AssistantUnavailable,
                    });
                }
            }
        }));
    }
}
