//! Agents' messages to the customer: replies and private notes, approved templates, files.

use super::*;

/// Refuses an agent's message to the customer that the reply policy does not allow, or that
/// goes to a blocked contact (their messages are kept, never answered; unblock to reply).
fn check_agent_may_send(l: &Loaded, agent: AgentId, only_assignee: bool) -> AppResult<()> {
    if l.contact.blocked {
        return Err(AppError::Conflict {
            code: "contact_blocked",
            message: "the contact is blocked; unblock it to reply".to_owned(),
        });
    }
    if only_assignee && l.state.assignee.is_some_and(|a| a != agent) {
        return Err(AppError::Conflict {
            code: "not_assignee",
            message: "only the assigned agent may reply to this conversation".to_owned(),
        });
    }
    Ok(())
}

/// Commits an agent's message and answers with its view (the stored one on a retry).
fn commit_agent_message(act: &mut ConversationActor, plan: AppResult<Plan>) -> Reply<MessageView> {
    match plan {
        Ok(plan) => reply(act.commit(plan).map(|res, _, _| {
            res.and_then(Committed::first_message)
                .map(|m| MessageView::from(&m))
        })),
        Err(e) => refused(e),
    }
}

impl Handler<SendAgentReply> for ConversationActor {
    type Result = Reply<MessageView>;

    fn handle(&mut self, msg: SendAgentReply, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        let plan = self.loaded().and_then(|l| {
            if !msg.private_note {
                check_agent_may_send(l, msg.agent, msg.only_assignee)?;
            }
            let now = clock::now();
            let event = if msg.private_note {
                Event::NoteAdded
            } else {
                Event::AgentReplied {
                    agent: msg.agent,
                    at: now,
                }
            };
            let (state, effects) = transition(&l.state, &event, now, l.policy())?;
            let (message, send) = if msg.private_note {
                let mut m =
                    self.new_message(l, Direction::Internal, Author::Agent, msg.text.clone(), now);
                m.private_note = true;
                (m, false)
            } else {
                self.outbound(l, Author::Agent, msg.text.clone(), now)
            };
            Ok(Plan::agent_message(
                state,
                effects,
                message,
                send,
                msg.agent,
                msg.client_id.clone(),
            ))
        });
        commit_agent_message(self, plan)
    }
}

impl Handler<SendTemplate> for ConversationActor {
    type Result = Reply<MessageView>;

    fn handle(&mut self, msg: SendTemplate, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        let plan = self.loaded().and_then(|l| {
            check_agent_may_send(l, msg.agent, msg.only_assignee)?;
            let template = l
                .inbox
                .settings
                .template(&msg.name, &msg.language)
                .ok_or_else(|| {
                    AppError::Validation(format!(
                        "inbox `{}` has no approved template `{}` in `{}`",
                        l.inbox.id, msg.name, msg.language
                    ))
                })?;
            template
                .check_parameters(&msg.parameters)
                .map_err(AppError::Validation)?;
            let now = clock::now();
            let event = Event::TemplateSent {
                agent: msg.agent,
                at: now,
            };
            let (state, effects) = transition(&l.state, &event, now, l.policy())?;
            let (mut message, send) =
                self.outbound(l, Author::Agent, template.render(&msg.parameters), now);
            message.kind = MessageKind::Template;
            message.payload = Some(
                json!({ "template": {
                    "name": template.name,
                    "language": template.language,
                    "parameters": msg.parameters,
                    "content_sid": template.content_sid,
                }})
                .to_string(),
            );
            Ok(Plan::agent_message(
                state,
                effects,
                message,
                send,
                msg.agent,
                msg.client_id.clone(),
            ))
        });
        commit_agent_message(self, plan)
    }
}

impl Handler<SendAttachment> for ConversationActor {
    type Result = Reply<MessageView>;

    fn handle(&mut self, msg: SendAttachment, _: &mut Self::Context) -> Self::Result {
        let _g = self.span.clone().entered();
        let plan = self.loaded().and_then(|l| {
            check_agent_may_send(l, msg.agent, msg.only_assignee)?;
            let now = clock::now();
            let event = Event::AgentReplied {
                agent: msg.agent,
                at: now,
            };
            let (state, effects) = transition(&l.state, &event, now, l.policy())?;
            let label = msg
                .caption
                .as_deref()
                .or(msg.filename.as_deref())
                .map(|c| format!("[{}] {c}", msg.kind))
                .unwrap_or_else(|| format!("[{}]", msg.kind));
            let (mut message, send) = self.outbound(l, Author::Agent, label, now);
            message.id = msg.message_id;
            message.kind = msg.kind;
            message.media_path = Some(msg.path.clone());
            message.media_mime = Some(msg.mime.clone());
            message.media_filename = msg.filename.clone();
            // An MMS is one message, whatever the label says.
            message.segments = None;
            message.payload = msg
                .caption
                .as_ref()
                .map(|c| json!({ "caption": c }).to_string());
            Ok(Plan::agent_message(
                state, effects, message, send, msg.agent, None,
            ))
        });
        commit_agent_message(self, plan)
    }
}
